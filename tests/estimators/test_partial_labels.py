"""Partially labelled mixtures: fit(X, y) with y = -1 for unlabelled rows."""

from __future__ import annotations

import numpy as np
import pytest

from emkit import (
    BernoulliMixture,
    CategoricalMixture,
    GaussianMixture,
    MixtureOfFactorAnalyzers,
    MultinomialMixture,
    PoissonMixture,
    StudentMixture,
)
from emkit.models import MixtureChunk


def _blobs(seed=0, n=100):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 6.0]])
    X = np.vstack([rng.normal(c, 1.0, (n, 2)) for c in centres])
    return X, np.repeat(np.arange(3), n)


def _few_labels(truth, n_labels, seed=0):
    rng = np.random.RandomState(seed)
    y = np.full(truth.shape, -1)
    for k in np.unique(truth):  # every class gets labels
        rows = rng.choice(np.flatnonzero(truth == k), n_labels, replace=False)
        y[rows] = k
    return y


def _count_data():
    rng = np.random.RandomState(0)
    rates = np.array([[1.0, 8.0], [8.0, 1.0]])
    truth = np.repeat([0, 1], 80)
    counts = rng.poisson(rates[truth])
    return counts, truth


# (estimator, X, truth) for every mixture estimator
def _cases():
    X, truth = _blobs()
    counts, count_truth = _count_data()
    binary = (counts > 3).astype(int)
    totals = counts + 1  # multinomial rows with varying totals: give them a fixed one
    multinomial = np.column_stack([totals[:, 0], 10 - np.minimum(totals[:, 0], 10)])
    return [
        (GaussianMixture(3, random_state=0), X, truth),
        (GaussianMixture(3, covariance_type="diag", assignment="hard", random_state=0), X, truth),
        (StudentMixture(3, random_state=0), X, truth),
        (
            MixtureOfFactorAnalyzers(3, n_factors=1, random_state=0),
            np.column_stack([X, X @ [1.0, -1.0]]),
            truth,
        ),
        (PoissonMixture(2, random_state=0), counts, count_truth),
        (BernoulliMixture(2, random_state=0), binary, count_truth),
        (CategoricalMixture(2, random_state=0), np.minimum(counts, 5), count_truth),
        (MultinomialMixture(2, random_state=0), multinomial, count_truth),
    ]


CASES = _cases()
IDS = [f"{type(e).__name__}-{getattr(e, 'covariance_type', '')}" for e, _, _ in CASES]


@pytest.mark.parametrize(("estimator", "X", "truth"), CASES, ids=IDS)
def test_labelled_rows_keep_their_labels_and_the_objective_never_decreases(estimator, X, truth):
    y = _few_labels(truth, 5)
    fitted = estimator.fit(X, y)
    known = y >= 0
    # fit_predict gives every labelled row its label
    assert np.array_equal(estimator.fit_predict(X, y)[known], y[known])
    # the E-step's responsibilities of the labelled rows are exactly one-hot
    chunk = MixtureChunk(np.asarray(X, dtype=float), labels=y)
    stats, _ = fitted.model_.e_step(fitted.params_, MixtureChunk(chunk.X[known], labels=y[known]))
    assert np.array_equal(stats.sum_w, np.bincount(y[known], minlength=len(stats.sum_w)))
    ll = fitted.trace_["log_likelihood"]
    assert np.all(np.diff(ll) >= -1e-10 * np.abs(ll[1:]))


def test_the_posterior_of_a_labelled_row_is_one_hot_even_against_the_data():
    X, truth = _blobs()
    model = GaussianMixture(3, random_state=0).fit(X, truth).model_
    params = GaussianMixture(3, random_state=0).fit(X, truth).params_
    far_labels = (truth + 1) % 3  # every label contradicts the row's own blob
    log_norm, resp = model.posterior(params, X, far_labels)
    assert np.array_equal(resp, np.eye(3)[far_labels])
    expected = model.log_joint(params, X)[np.arange(len(X)), far_labels]
    np.testing.assert_array_equal(log_norm, expected)


def test_few_labels_name_the_classes_where_unsupervised_em_permutes_them():
    X, truth = _blobs()
    unsupervised = GaussianMixture(3, random_state=1).fit(X).predict(X)
    assert (unsupervised == truth).mean() < 0.5  # right clusters, other names
    y = _few_labels(truth, 2)
    semi = GaussianMixture(3, random_state=1).fit(X, y)
    assert (semi.predict(X) == truth).mean() > 0.95
    np.testing.assert_allclose(semi.means_, [[0, 0], [4, 4], [0, 6]], atol=0.3)


def test_labels_of_only_some_classes_align_the_start_with_them():
    X, truth = _blobs()
    y = np.full(len(X), -1)
    y[np.flatnonzero(truth == 2)[:3]] = 2  # three labelled rows, all of class 2
    fitted = GaussianMixture(3, random_state=1).fit(X, y)
    assert (fitted.predict(X)[truth == 2] == 2).mean() > 0.9


def test_all_minus_one_is_exactly_the_unsupervised_fit():
    X, _ = _blobs()
    plain = GaussianMixture(3, random_state=0).fit(X)
    none = GaussianMixture(3, random_state=0).fit(X, np.full(len(X), -1))
    np.testing.assert_array_equal(plain.means_, none.means_)


@pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_chunked_threaded_and_dask_fits_equal_the_in_memory_fit(covariance_type):
    X, truth = _blobs()
    y = _few_labels(truth, 3)
    kwargs = {"n_components": 3, "covariance_type": covariance_type, "random_state": 0}
    kwargs.update(tol=0, max_iter=15)
    whole = GaussianMixture(**kwargs).fit(X, y)
    chunked = GaussianMixture(**kwargs, chunk_size=37, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-10, atol=1e-12)
    da = pytest.importorskip("dask.array")
    blocks = GaussianMixture(**kwargs).fit(
        da.from_array(X, chunks=(70, 2)), da.from_array(y, chunks=70)
    )
    np.testing.assert_allclose(blocks.means_, whole.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(blocks.lower_bounds_, whole.lower_bounds_, rtol=1e-12)


def test_a_memory_mapped_fit_carries_the_labels(tmp_path):
    X, truth = _blobs()
    y = _few_labels(truth, 3)
    path = tmp_path / "X.npy"
    np.save(path, X)
    kwargs = {"n_components": 3, "random_state": 0, "chunk_size": 50}
    streamed = GaussianMixture(**kwargs).fit(str(path), y)
    whole = GaussianMixture(**kwargs).fit(X, y)
    np.testing.assert_allclose(streamed.means_, whole.means_, rtol=1e-10, atol=1e-12)


def test_partial_fit_takes_the_labels_of_every_batch():
    X, truth = _blobs()
    y = _few_labels(truth, 4)
    order = np.random.RandomState(0).permutation(len(X))
    online = GaussianMixture(3, random_state=0)
    for batch in np.array_split(order, 5):
        online.partial_fit(X[batch], y[batch])
    assert (online.predict(X) == truth).mean() > 0.95


def test_fully_labelled_data_fit_the_class_conditional_gaussians():
    X, truth = _blobs()
    fitted = GaussianMixture(3, random_state=0, tol=0, max_iter=3, reg_covar=0).fit(X, truth)
    for k in range(3):
        np.testing.assert_allclose(fitted.means_[k], X[truth == k].mean(axis=0), rtol=1e-12)
        cov = np.cov(X[truth == k].T, bias=True)
        np.testing.assert_allclose(fitted.covariances_[k], cov, rtol=1e-10)
    np.testing.assert_allclose(fitted.weights_, [1 / 3] * 3, rtol=1e-6)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.full(10, 3), r"y\[0\] = 3 is not a component: labels must be 0 \.\. 2"),
        (np.full(10, -2), r"y\[0\] = -2 is not a component"),
        (np.zeros(9, dtype=int), r"one label per row of X.*\(10,\), got \(9,\)"),
        (np.zeros((10, 1), dtype=int), r"expected shape \(10,\), got \(10, 1\)"),
        (np.full(10, 0.5), r"y\[0\] = 0\.5 is not an integer label"),
        (np.full(10, np.nan), r"y\[0\] = nan is not an integer label"),
        (np.array(["a"] * 10), r"y\[0\] = 'a' is a string"),
        (np.ones(10, dtype=bool), r"got booleans"),
    ],
)
def test_bad_labels_get_clear_errors(y, message):
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3).fit(X, y)
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3).partial_fit(X, y)


def test_whole_valued_float_labels_are_accepted():
    X, truth = _blobs()
    y = _few_labels(truth, 3)
    as_int = GaussianMixture(3, random_state=0).fit(X, y)
    as_float = GaussianMixture(3, random_state=0).fit(X, y.astype(float))
    np.testing.assert_array_equal(as_int.means_, as_float.means_)


def test_kmeans_keeps_labelled_rows_in_their_clusters():
    from emkit import KMeans

    X, truth = _blobs()
    y = _few_labels(truth, 2)
    fitted = KMeans(3, random_state=0).fit(X, y)
    known = y >= 0
    assert np.array_equal(fitted.labels_[known], y[known])
    assert (fitted.labels_ == truth).mean() > 0.95  # the clusters are named as the labels
    assert np.array_equal(KMeans(3, random_state=0).fit_predict(X, y)[known], y[known])
    contradicting = np.where(known, (truth + 1) % 3, -1)  # labels against the geometry
    forced = KMeans(3, random_state=0).fit(X, contradicting)
    assert np.array_equal(forced.labels_[known], contradicting[known])
    with pytest.raises(ValueError, match=r"y\[0\] = 3 is not a component"):
        KMeans(3).fit(X, np.full(len(X), 3))
