"""Dask: the fit on a LocalCluster of worker processes equals the in-memory fit,
also when a worker is killed part-way (the engine on a mixture, the HMM estimators and
the state-space model)."""

import itertools
import os
import signal

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from emkit import CategoricalHMM, GaussianHMM, LinearGaussianSSM  # noqa: E402
from emkit.core import fit_em  # noqa: E402
from emkit.distributed import DaskChunks  # noqa: E402
from emkit.families import GaussianFamily  # noqa: E402
from emkit.models import Mixture, MixtureChunk  # noqa: E402
from emkit.models.lgssm import PARAM_NAMES  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def worker_killer(client, iteration):
    """(callback, killed): an engine callback that kills one worker process of ``client``
    with SIGKILL after M-step ``iteration``, and the list of the pids it killed. The
    engine calls it on the client between iterations, so the worker dies at a set
    iteration with E-steps still to run, whatever the machine's speed."""
    pids = sorted(client.run(os.getpid).values())
    killed = []

    def kill_one_worker(restart, at, params):
        if at == iteration and not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    return kill_one_worker, killed


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12000, 3)) + rng.integers(0, 3, size=(12000, 1)) * 2.5
    weights = rng.integers(1, 4, size=12000).astype(float)
    return X, weights


def in_memory_fit(model, X, weights, start):
    return fit_em(
        model, [MixtureChunk(X, weights)], n_samples=weights.sum(), tol=1e-8, start_params=start
    )


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_dask_fit_equals_in_memory(client, data, covariance_type):
    X, weights = data
    model = Mixture(GaussianFamily(covariance_type), 3)
    start = model.init_params([MixtureChunk(X)], np.random.RandomState(0))
    expected = in_memory_fit(model, X, weights, start)
    chunks = DaskChunks(
        [da.from_array(X, chunks=2500), da.from_array(weights, chunks=2500)],
        MixtureChunk,
        split_every=2,
    )
    assert len(chunks) == 5
    result = fit_em(model, chunks, n_samples=weights.sum(), tol=1e-8, start_params=start)
    assert result.n_iter == expected.n_iter
    assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)
    assert np.allclose(result.params.components.means, expected.params.components.means, rtol=1e-10)


def test_dask_fit_survives_a_killed_worker(client, data):
    X, weights = data
    model = Mixture(GaussianFamily("full"), 3)
    start = model.init_params([MixtureChunk(X)], np.random.RandomState(1))
    expected = in_memory_fit(model, X, weights, start)
    chunks = DaskChunks(
        [da.from_array(X, chunks=2000), da.from_array(weights, chunks=2000)], MixtureChunk
    )
    kill_one_worker, killed = worker_killer(client, iteration=2)
    result = fit_em(
        model,
        chunks,
        n_samples=weights.sum(),
        tol=1e-8,
        start_params=start,
        callback=kill_one_worker,
    )
    assert killed, "the worker was never killed"
    assert result.n_iter == expected.n_iter
    assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)


# -- HMM estimators: groups of whole sequences on the workers ---------------------------------
HMM_ROWS = 1500  # the Dask row-chunk size, hence the rows per group of whole sequences


@pytest.fixture(scope="module")
def sequences():
    """Gaussian rows and categorical symbols (0..4) of one 3-state chain, in 40 sequences."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(100, 500, 40)
    n = int(lengths.sum())
    switch, fresh = rng.uniform(size=n) > 0.95, rng.integers(3, size=n)
    z = np.empty(n, dtype=np.int64)
    z[0] = 0
    for t in range(1, n):
        z[t] = fresh[t] if switch[t] else z[t - 1]
    gaussian = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 3.0]])[z] + rng.normal(size=(n, 2))
    symbols = np.minimum(z[:, None] + rng.integers(0, 3, size=(n, 1)), 4)
    return {"gaussian": gaussian, "categorical": symbols}, lengths


def hmm(name, **options):
    base = dict(n_components=3, random_state=0, tol=1e-7, max_iter=10, **options)
    if name == "gaussian":
        return GaussianHMM(covariance_type="full", **base)
    return CategoricalHMM(**base)  # the alphabet is inferred on the workers


def assert_same_hmm_fit(result, expected):
    assert result.n_iter_ == expected.n_iter_
    assert result.log_likelihood_ == pytest.approx(expected.log_likelihood_, rel=1e-12)
    for name in ("startprob_", "transmat_", *expected._emission_attributes):
        np.testing.assert_allclose(
            getattr(result, name), getattr(expected, name), rtol=1e-9, atol=1e-12
        )


@pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")
@pytest.mark.parametrize("name", ["gaussian", "categorical"])
def test_hmm_dask_fit_equals_in_memory(client, sequences, name):
    columns, lengths = sequences
    X = columns[name]
    on_dask = hmm(name).fit(da.from_array(X, chunks=(HMM_ROWS, -1)), lengths)
    expected = hmm(name, chunk_size=HMM_ROWS).fit(X, lengths)
    assert_same_hmm_fit(on_dask, expected)
    if name == "categorical":
        assert on_dask.n_symbols_ == expected.n_symbols_ == 5


@pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")
def test_hmm_dask_fit_survives_a_killed_worker(client, sequences, monkeypatch):
    columns, lengths = sequences
    X = columns["gaussian"]
    expected = hmm("gaussian", chunk_size=HMM_ROWS).fit(X, lengths)
    assert expected.n_iter_ > 4  # iterations left after the kill
    kill_one_worker, killed = worker_killer(client, iteration=2)

    # HMM.fit takes no callback, so the engine call inside it gets one (a timer thread
    # could fire before the first E-step or after the last one)
    def fit_em_with_callback(*args, **kwargs):
        return fit_em(*args, **{**kwargs, "callback": kill_one_worker})

    monkeypatch.setattr("emkit.estimators._base.fit_em", fit_em_with_callback)
    result = hmm("gaussian").fit(da.from_array(X, chunks=(HMM_ROWS, -1)), lengths)
    assert killed, "the worker was never killed"
    assert_same_hmm_fit(result, expected)


# -- state-space model: missing values and controls on the workers ------------------------------
@pytest.fixture(scope="module")
def state_space_data():
    """A 2-state, 3-feature model with one control, 30 sequences, 20% of values missing."""
    rng = np.random.default_rng(2)
    lengths = rng.integers(100, 400, 30)
    A = np.array([[0.9, 0.2], [-0.1, 0.8]])
    C = rng.normal(size=(3, 2))
    U = rng.normal(size=(lengths.sum(), 1))
    X = np.empty((lengths.sum(), 3))
    for start, stop in itertools.pairwise(np.concatenate([[0], np.cumsum(lengths)])):
        z = rng.normal(size=2)
        for t in range(start, stop):
            z = A @ z + 0.5 * U[t] + 0.3 * rng.normal(size=2)
            X[t] = C @ z + 0.2 * rng.normal(size=3)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    return X, lengths, U


def state_space(**options):
    return LinearGaussianSSM(2, max_iter=8, tol=0.0, random_state=0, **options)


@pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")
def test_state_space_dask_fit_equals_in_memory_and_survives_a_killed_worker(
    client, state_space_data
):
    X, lengths, U = state_space_data
    expected = state_space(chunk_size=HMM_ROWS).fit(X, lengths, U)
    on_dask = state_space().fit(da.from_array(X, chunks=(HMM_ROWS, -1)), lengths, U)
    kill_one_worker, killed = worker_killer(client, iteration=3)
    survived = state_space().fit(
        da.from_array(X, chunks=(HMM_ROWS, -1)), lengths, U, callback=kill_one_worker
    )
    assert killed, "the worker was never killed"
    for result in (on_dask, survived):
        assert result.n_iter_ == expected.n_iter_
        assert result.log_likelihood_ == pytest.approx(expected.log_likelihood_, rel=1e-12)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(
                getattr(result, f"{name}_"), getattr(expected, f"{name}_"), rtol=1e-9, atol=1e-12
            )
