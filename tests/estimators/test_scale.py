"""Issue 5 through the estimator: chunked, memory-mapped, Dask, online, float32, SQUAREM."""

import tracemalloc
import warnings

import numpy as np
import pytest

from emkit import GaussianMixture
from emkit.core import ConvergenceWarning

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20000, 3)) * [1.0, 2.0, 0.5] + rng.integers(0, 3, (20000, 1)) * 3.0


def fit(X, **options):
    base = dict(n_components=3, random_state=0, tol=1e-6, max_iter=300)
    return GaussianMixture(**{**base, **options}).fit(X)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunked_equals_in_memory(X, covariance_type):
    whole = fit(X, covariance_type=covariance_type, chunk_size=len(X))
    chunked = fit(X, covariance_type=covariance_type, chunk_size=1234)
    assert chunked.n_iter_ == whole.n_iter_
    assert chunked.log_likelihood_ == pytest.approx(whole.log_likelihood_, rel=1e-12)
    # entries to 1e-10 relative to the matrix's scale (an off-diagonal entry near 0 is
    # as exact as the others in absolute terms, not relative to itself)
    scale = np.abs(whole.covariances_).max()
    np.testing.assert_allclose(chunked.covariances_, whole.covariances_, atol=1e-10 * scale)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_memory_mapped_file_equals_in_memory(X, tmp_path, covariance_type):
    path = tmp_path / "X.npy"
    np.save(path, X)
    in_memory = fit(X, covariance_type=covariance_type, chunk_size=4000)
    from_path = fit(str(path), covariance_type=covariance_type, chunk_size=4000)
    mapped = fit(np.load(path, mmap_mode="r"), covariance_type=covariance_type, chunk_size=4000)
    for other in (from_path, mapped):
        assert other.n_iter_ == in_memory.n_iter_
        assert other.log_likelihood_ == in_memory.log_likelihood_  # same chunks: bit for bit
        np.testing.assert_array_equal(other.means_, in_memory.means_)


def test_memory_is_bounded_by_the_chunk(tmp_path, monkeypatch):
    # a smaller initialisation sample than the default 100,000 rows, so that the
    # bound measured is the streaming's, not the sample's
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 10_000)
    rng = np.random.default_rng(1)
    n, d = 400_000, 8  # 25.6 MB on disk
    path = tmp_path / "big.npy"
    data = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for start in range(0, n, 50_000):
        data[start : start + 50_000] = (
            rng.normal(size=(50_000, d)) + rng.integers(0, 2, (50_000, 1)) * 4
        )
    data.flush()
    del data
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GaussianMixture(
            2, covariance_type="diag", max_iter=3, chunk_size=10_000, n_jobs=1, random_state=0
        ).fit(str(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # data 25.6 MB; chunk and initialisation sample 0.64 MB each
    assert peak < 0.2 * n * d * 8, f"peak {peak / 1e6:.1f} MB"


def test_memory_mapped_bad_rows_are_named(tmp_path):
    X = np.ones((100, 2))
    X[57, 1] = np.inf  # NaN would be a missing value
    path = tmp_path / "bad.npy"
    np.save(path, X)
    with pytest.raises(ValueError, match="row 57"):
        GaussianMixture(2, chunk_size=10).fit(str(path))
    with pytest.raises(ValueError, match=r"\.npy"):
        GaussianMixture(2).fit(str(tmp_path / "missing.npy"))


def test_dask_array_equals_in_memory(X):
    da = pytest.importorskip("dask.array")
    import dask

    with dask.config.set(scheduler="threads"):
        chunks = da.from_array(X, chunks=(5000, 3))
        on_dask = fit(chunks)
    in_memory = fit(X, chunk_size=5000)
    assert on_dask.n_iter_ == in_memory.n_iter_
    assert on_dask.log_likelihood_ == pytest.approx(in_memory.log_likelihood_, rel=1e-12)
    np.testing.assert_allclose(on_dask.means_, in_memory.means_, rtol=1e-10)


def test_partial_fit_reaches_batch_log_likelihood(X):
    batch = fit(X)
    online = GaussianMixture(3, random_state=0)
    rng = np.random.default_rng(2)
    for _ in range(3):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 1000):
            online.partial_fit(X[order[start : start + 1000]])
    assert online.n_iter_ == 60
    assert abs(online.score(X) - batch.score(X)) <= 0.005 * abs(batch.score(X))
    with pytest.raises(ValueError, match="features"):
        online.partial_fit(X[:10, :2])


def test_partial_fit_first_batch_needs_n_components_rows(X):
    with pytest.raises(ValueError, match="first batch"):
        GaussianMixture(5).partial_fit(X[:3])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_agrees_with_float64(X, covariance_type):
    f64 = fit(X, covariance_type=covariance_type, max_iter=20, tol=0.0)
    f32 = fit(X, covariance_type=covariance_type, max_iter=20, tol=0.0, dtype="float32")
    assert f32.log_likelihood_ == pytest.approx(f64.log_likelihood_, rel=1e-4)
    assert f32.means_.dtype == np.float64


def test_squarem_through_the_estimator():
    # heavily overlapping components: plain EM is slow here (SQUAREM's use case; on
    # fits that converge in a few iterations its 2-3 E-steps per cycle can cost more)
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(0, 1, (400, 2)), rng.normal(0.8, 1.2, (400, 2))])
    plain = fit(X, n_components=2, tol=1e-9, max_iter=5000)
    fast = fit(X, n_components=2, tol=1e-9, max_iter=5000, accelerate="squarem")
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-9 * len(X)
    assert 2 * fast.n_e_steps_ < plain.n_e_steps_
    assert plain.n_e_steps_ == plain.n_iter_ and fast.n_e_steps_ > fast.n_iter_


def test_n_jobs_does_not_change_the_fit(X):
    one = fit(X, chunk_size=3000, n_jobs=1)
    two = fit(X, chunk_size=3000, n_jobs=2)
    assert one.log_likelihood_ == two.log_likelihood_
    np.testing.assert_array_equal(one.covariances_, two.covariances_)


def test_kmeans_chunked_threaded_and_memory_mapped(X, tmp_path):
    from emkit import KMeans

    whole = KMeans(3, random_state=0, chunk_size=len(X), n_jobs=1).fit(X)
    chunked = KMeans(3, random_state=0, chunk_size=999, n_jobs=2).fit(X)
    np.testing.assert_array_equal(chunked.labels_, whole.labels_)
    assert chunked.inertia_ == pytest.approx(whole.inertia_, rel=1e-12)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = KMeans(3, random_state=0, chunk_size=999).fit(str(path))
    np.testing.assert_array_equal(mapped.labels_, chunked.labels_)
    assert mapped.inertia_ == chunked.inertia_


def test_kmeans_refuses_dask_with_a_clear_error(X):
    da = pytest.importorskip("dask.array")
    from emkit import KMeans

    with pytest.raises(ValueError, match="Dask"):
        KMeans(3).fit(da.from_array(X, chunks=5000))
