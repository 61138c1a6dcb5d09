"""Property tests (hypothesis) of GaussianMixture invariants on arbitrary small data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from emkit import EmptyComponentWarning, GaussianMixture, KMeans

TYPES = ["full", "tied", "diag", "spherical"]


@st.composite
def data_sets(draw, min_rows=4, max_rows=30):
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 3))
    values = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False, width=64)
    X = draw(arrays(np.float64, (n, d), elements=values))
    return X


def fit_quietly(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", EmptyComponentWarning)
        return model.fit(X, **kwargs)


def user_start(X, n_components, covariance_type):
    """A deterministic start that does not depend on the order of the rows."""
    d = X.shape[1]
    order = np.lexsort(X.T[::-1])
    rows = X[order[np.linspace(0, len(X) - 1, n_components).astype(int)]]
    scale = max(float(X.var(axis=0).mean()), 1.0)
    precisions = {
        "full": np.array([np.eye(d) / scale] * n_components),
        "tied": np.eye(d) / scale,
        "diag": np.full((n_components, d), 1 / scale),
        "spherical": np.full(n_components, 1 / scale),
    }[covariance_type]
    return dict(
        weights_init=np.full(n_components, 1 / n_components),
        means_init=rows + 1e-3 * np.arange(n_components)[:, None],
        precisions_init=precisions,
    )


@settings(max_examples=40)
@given(
    X=data_sets(),
    n_components=st.integers(1, 3),
    covariance_type=st.sampled_from(TYPES),
    seed=st.integers(0, 2**16),
)
def test_probabilities_are_distributions_and_densities_finite(
    X, n_components, covariance_type, seed
):
    model = fit_quietly(
        GaussianMixture(
            n_components, covariance_type=covariance_type, random_state=seed, max_iter=20
        ),
        X,
    )
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), n_components)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(model.score_samples(X)))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert model.weights_.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))


@settings(max_examples=30)
@given(
    X=data_sets(min_rows=6),
    covariance_type=st.sampled_from(TYPES),
    permutation_seed=st.integers(0, 2**16),
)
def test_fit_does_not_depend_on_the_order_of_the_rows(X, covariance_type, permutation_seed):
    start = user_start(X, 2, covariance_type)
    permutation = np.random.RandomState(permutation_seed).permutation(len(X))
    kwargs = dict(covariance_type=covariance_type, max_iter=15, tol=0.0, **start)
    a = fit_quietly(GaussianMixture(2, **kwargs), X)
    b = fit_quietly(GaussianMixture(2, **kwargs), X[permutation])
    scale = max(1.0, float(np.abs(X).max()))
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-6, atol=1e-8 * scale)
    np.testing.assert_allclose(b.weights_, a.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        b.predict_proba(X[permutation]), a.predict_proba(X)[permutation], atol=1e-6
    )


@settings(max_examples=30)
@given(
    X=data_sets(min_rows=6),
    covariance_type=st.sampled_from(TYPES),
    shift=arrays(np.float64, 3, elements=st.floats(-1e3, 1e3)),
)
def test_translating_the_data_translates_the_means(X, covariance_type, shift):
    shift = shift[: X.shape[1]]
    start = user_start(X, 2, covariance_type)
    moved_start = dict(start, means_init=start["means_init"] + shift)
    kwargs = dict(covariance_type=covariance_type, max_iter=15, tol=0.0)
    a = fit_quietly(GaussianMixture(2, **kwargs, **start), X)
    b = fit_quietly(GaussianMixture(2, **kwargs, **moved_start), X + shift)
    scale = max(1.0, float(np.abs(X).max()), float(np.abs(shift).max()))
    np.testing.assert_allclose(b.means_, a.means_ + shift, rtol=1e-7, atol=1e-7 * scale)
    np.testing.assert_allclose(b.weights_, a.weights_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        b.covariances_, a.covariances_, rtol=1e-5, atol=1e-6 * scale**2 * 1e-3
    )


@settings(max_examples=25)
@given(X=data_sets(min_rows=5), n_clusters=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_kmeans_labels_are_nearest_centres(X, n_clusters, seed):
    model = fit_quietly(KMeans(n_clusters, random_state=seed), X)
    distances = ((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(model.labels_, distances.argmin(axis=1))
    assert model.inertia_ == pytest.approx(distances.min(axis=1).sum(), rel=1e-9, abs=1e-9)


@settings(max_examples=25)
@given(
    X=data_sets(),
    row=st.integers(0, 3),
    column=st.integers(0, 2),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_any_non_finite_value_is_refused(X, row, column, bad):
    X = X.copy()
    X[row % len(X), column % X.shape[1]] = bad
    if not np.isnan(bad):  # NaN is a missing value for GaussianMixture
        with pytest.raises(ValueError, match=r"Input X contains infinity"):
            GaussianMixture(1).fit(X)
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        KMeans(1).fit(X)
