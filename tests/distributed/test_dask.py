"""Dask: the fit on a LocalCluster of worker processes equals the in-memory fit,
also when a worker is killed part-way."""

import os
import signal

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from emkit.core import fit_em  # noqa: E402
from emkit.distributed import DaskChunks  # noqa: E402
from emkit.families import GaussianFamily  # noqa: E402
from emkit.models import Mixture, MixtureChunk  # noqa: E402


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


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12000, 3)) + rng.integers(0, 3, size=(12000, 1)) * 2.5
    weights = rng.integers(1, 4, size=12000).astype(float)
    return X, weights


def in_memory_fit(model, X, weights, start):
    return fit_em(
        model, [MixtureChunk(X, weights)], n_samples=weights.sum(), tol=1e-8, init_params=start
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
    result = fit_em(model, chunks, n_samples=weights.sum(), tol=1e-8, init_params=start)
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
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(restart, iteration, params):
        if iteration == 2 and not killed:
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    result = fit_em(
        model,
        chunks,
        n_samples=weights.sum(),
        tol=1e-8,
        init_params=start,
        callback=kill_one_worker,
    )
    assert killed, "the worker was never killed"
    assert result.n_iter == expected.n_iter
    assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)
