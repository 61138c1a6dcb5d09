"""Issue 5 for the state-space model: memory-mapped and Dask input (with missing values
and controls) give the in-memory fit; memory stays bounded by the chunk."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

from _lgssm_testing import random_params, simulate
from emkit import LinearGaussianSSM
from emkit.core import ConvergenceWarning
from emkit.models.lgssm import PARAM_NAMES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    """30 sequences of 100-400 steps, 3 features, 1 control, 20% of values missing."""
    rng = np.random.RandomState(0)
    truth = random_params(rng, 2, 3, 1)
    lengths = rng.randint(100, 400, size=30)
    X, U = simulate(truth, lengths, rng, missing=0.2)
    return X, lengths, U


def fit(X, lengths, U, **options):
    base = dict(state_dim=2, max_iter=12, tol=0.0, random_state=0)
    return LinearGaussianSSM(**{**base, **options}).fit(X, lengths, U)


def assert_same_fit(a, b, rtol=0.0):
    assert a.n_iter_ == b.n_iter_
    if rtol == 0.0:
        assert a.log_likelihood_ == b.log_likelihood_
    else:
        assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=rtol)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(getattr(a, f"{name}_"), getattr(b, f"{name}_"), rtol=rtol)


def test_memory_mapped_file_equals_in_memory(data, tmp_path):
    X, lengths, U = data
    path = tmp_path / "X.npy"
    np.save(path, X)
    in_memory = fit(X, lengths, U, chunk_size=1500)
    # same groups of whole sequences: bit for bit
    assert_same_fit(fit(str(path), lengths, U, chunk_size=1500), in_memory)
    assert_same_fit(fit(np.load(path, mmap_mode="r"), lengths, U, chunk_size=1500), in_memory)


def test_initialisation_sample_of_leading_sequences(data, tmp_path, monkeypatch):
    # the data-driven start comes from the leading groups; with the same start, the
    # streamed fit is still the in-memory fit E-step for E-step
    X, lengths, U = data
    path = tmp_path / "X.npy"
    np.save(path, X)
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 2000)
    streamed = fit(str(path), lengths, U, chunk_size=1000, max_iter=0)
    assert streamed.n_iter_ == 0
    start = {f"{name}_init": getattr(streamed, f"{name}_") for name in PARAM_NAMES}
    sampled = fit(str(path), lengths, U, chunk_size=1000, **start)
    in_memory = fit(X, lengths, U, chunk_size=1000, **start)
    assert_same_fit(sampled, in_memory)


def test_dask_array_equals_in_memory(data):
    da = pytest.importorskip("dask.array")
    import dask

    X, lengths, U = data
    with dask.config.set(scheduler="threads"):
        on_dask = fit(da.from_array(X, chunks=(1500, 3)), lengths, U)
        on_dask_controls = fit(
            da.from_array(X, chunks=(1500, 3)), lengths, da.from_array(U, chunks=700)
        )
    in_memory = fit(X, lengths, U, chunk_size=1500)
    assert_same_fit(on_dask, in_memory, rtol=1e-12)
    assert_same_fit(on_dask_controls, in_memory, rtol=1e-12)


def test_threads_over_a_memory_mapped_file_give_the_same_fit(data, tmp_path):
    X, lengths, U = data
    path = tmp_path / "X.npy"
    np.save(path, X)
    one = fit(str(path), lengths, U, chunk_size=1000, n_jobs=1)
    two = fit(str(path), lengths, U, chunk_size=1000, n_jobs=2)
    assert_same_fit(one, two)


def test_memory_is_bounded_by_the_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 5000)
    rng = np.random.RandomState(1)
    truth = random_params(rng, 2, 8)
    n_sequences, length = 400, 1000  # 400,000 rows x 8 features: 25.6 MB on disk
    path = tmp_path / "big.npy"
    out = np.lib.format.open_memmap(path, mode="w+", shape=(n_sequences * length, 8))
    for s in range(0, n_sequences, 50):
        X, _ = simulate(truth, [length] * 50, rng)
        out[s * length : (s + 50) * length] = X
    out.flush()
    del out
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LinearGaussianSSM(2, max_iter=2, chunk_size=5000, n_jobs=1, random_state=0).fit(
            str(path), [length] * n_sequences
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the smoother's per-step moments of a 5000-step chunk are ~1 MB; the data 25.6 MB
    assert peak < 0.2 * n_sequences * length * 8 * 8, f"peak {peak / 1e6:.1f} MB"


def test_out_of_core_bad_input_is_named(data, tmp_path):
    X, lengths, U = data
    starts = np.concatenate([[0], np.cumsum(lengths)])
    blank = X.copy()
    blank[starts[20] : starts[21]] = np.nan  # a late sequence, in a late group
    path = tmp_path / "blank.npy"
    np.save(path, blank)
    with pytest.raises(ValueError, match=f"sequence 20 \\(rows {starts[20]}:{starts[21]}\\)"):
        fit(str(path), lengths, U, chunk_size=500)
    unobserved = X.copy()
    unobserved[:, 2] = np.nan
    np.save(path, unobserved)
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] are never observed"):
        fit(str(path), lengths, U, chunk_size=500)
    infinite = X.copy()
    infinite[starts[25] + 3, 1] = np.inf
    np.save(path, infinite)
    with pytest.raises(ValueError, match=f"infinity in row {starts[25] + 3}"):
        fit(str(path), lengths, U, chunk_size=500)
    np.save(path, X)
    with pytest.raises(ValueError, match="lengths sum to"):
        fit(str(path), lengths[:-1], None)
    with pytest.raises(ValueError, match="U must have one row per row of X"):
        fit(np.load(path, mmap_mode="r"), lengths, U[:-1])
    with pytest.raises(ValueError, match=r"\.npy"):
        fit(str(tmp_path / "missing.npy"), lengths, U)


def test_dask_bad_input_is_named(data):
    da = pytest.importorskip("dask.array")
    import dask

    X, lengths, U = data
    starts = np.concatenate([[0], np.cumsum(lengths)])
    blank = X.copy()
    blank[starts[27] : starts[28]] = np.nan
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="sequence 27 "):
        fit(da.from_array(blank, chunks=1000), lengths, U)
