"""emkit.KMeans (classification EM of a fixed-variance Gaussian mixture) against
scikit-learn's KMeans, and its own API."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.metrics import adjusted_rand_score

from conftest import make_blobs
from emkit import KMeans


@pytest.fixture(scope="module")
def X():
    return make_blobs(2, n_per=40, n_clusters=4)


def test_agrees_with_sklearn_from_the_same_initial_centres(X):
    rng = np.random.RandomState(0)
    for _ in range(5):
        init = X[rng.choice(len(X), 4, replace=False)]
        ours = KMeans(4, init=init, tol=0.0).fit(X)
        theirs = SkKMeans(4, init=init, n_init=1, tol=0.0, algorithm="lloyd").fit(X)
        assert ours.converged_
        # the same start keeps the component order: labels equal, not just up to permutation
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-12)


def test_same_random_state_same_k_means_plus_plus_start_as_sklearn(X):
    for seed in range(3):
        ours = KMeans(4, random_state=seed).fit(X)
        theirs = SkKMeans(4, random_state=seed, n_init=1).fit(X)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-12)


def test_random_init_with_restarts_finds_the_same_partition_as_sklearn(X):
    ours = KMeans(4, init="random", random_state=0).fit(X)
    theirs = SkKMeans(4, init="random", random_state=0, n_init=10).fit(X)
    assert adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-12)


def test_inertia_never_increases_and_the_objective_is_its_scaled_negative(X):
    init = X[:4] + 0.01  # all four starts in one cluster: many iterations
    model = KMeans(4, init=init, tol=0.0).fit(X)
    assert model.n_iter_ > 3
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)
    # lower_bound_ = const - inertia / (2 σ² n), σ² = mean per-feature variance
    variance = X.var(axis=0).mean()
    n, d = X.shape
    const = np.log(1 / 4) - 0.5 * d * np.log(2 * np.pi * variance)
    assert model.lower_bound_ == pytest.approx(
        const - model.inertia_ / (2 * variance * n), rel=1e-12
    )


def test_integer_weights_equal_repeated_rows(X):
    weights = np.random.RandomState(1).randint(0, 4, size=len(X))
    init = X[[0, 50, 90, 130]]
    weighted = KMeans(4, init=init, tol=0.0).fit(X, sample_weight=weights)
    repeated = KMeans(4, init=init, tol=0.0).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)
    np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))
    # and the same as scikit-learn's weighted k-means
    theirs = SkKMeans(4, init=init, n_init=1, tol=0.0).fit(X, sample_weight=weights)
    np.testing.assert_allclose(weighted.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)


def test_zero_weights_equal_dropping_rows(X):
    weights = np.ones(len(X))
    weights[1::3] = 0.0
    init = X[[0, 45, 90, 135]]
    weighted = KMeans(4, init=init).fit(X, sample_weight=weights)
    dropped = KMeans(4, init=init).fit(X[weights > 0])
    np.testing.assert_allclose(weighted.cluster_centers_, dropped.cluster_centers_, rtol=1e-12)
    assert weighted.inertia_ == pytest.approx(dropped.inertia_, rel=1e-12)


def test_transform_predict_score(X):
    model = KMeans(4, random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(model.predict(X), labels)
    distances = model.fit_transform(X)
    assert distances.shape == (len(X), 4)
    expected = np.linalg.norm(X[:, None, :] - model.cluster_centers_[None], axis=2)
    np.testing.assert_allclose(distances, expected, rtol=1e-12)
    np.testing.assert_array_equal(distances.argmin(axis=1), labels)
    assert model.score(X) == pytest.approx(-model.inertia_, rel=1e-12)
    weights = np.linspace(0.5, 2.0, len(X))
    assert model.score(X, sample_weight=weights) == pytest.approx(
        -float(weights @ distances.min(axis=1) ** 2), rel=1e-12
    )


def test_n_init_auto_and_determinism(X):
    a = KMeans(4, init="random", random_state=3).fit(X)
    b = KMeans(4, init="random", random_state=3).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.n_init == "auto"  # the hyperparameter is not overwritten by fitting


def test_k_means_is_exactly_the_hard_limit_of_the_mixture_engine(X):
    """The fitted KMeans is a Mixture with fixed equal weights and a fixed shared
    spherical variance, learning only the means, with hard assignment."""
    model = KMeans(4, random_state=0).fit(X)
    mixture = model.model_
    assert mixture.assignment == "hard" and mixture.learn == frozenset({"means"})
    np.testing.assert_array_equal(model.params_.weights, np.full(4, 0.25))
    np.testing.assert_array_equal(
        model.params_.components.covariances, np.full(4, X.var(axis=0).mean())
    )


def test_an_overflowing_weighted_inertia_is_refused_and_the_state_kept():
    # measured before: inertia_ = inf, silently
    model = KMeans(1, random_state=0)
    with pytest.raises(ValueError, match=r"weighted inertia of the fit overflows.*sample_weight"):
        model.fit([[-1e6], [1e6]], sample_weight=[1e300, 1e300])
    assert not hasattr(model, "cluster_centers_")
