"""Online EM: step sizes, first batch = batch EM statistics, passes approach the batch fit."""

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core.online import online_em_step, step_size
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk


def test_step_size_schedule():
    assert step_size(0) == 1.0
    steps = [step_size(t) for t in range(1, 50)]
    assert all(0 < s <= 1 for s in steps)
    assert np.all(np.diff(steps) < 0)
    assert step_size(1, kappa=1.0, t0=1.0) == pytest.approx(0.5)
    assert step_size(3) == pytest.approx(3**-0.51)  # the default κ = 0.51, t0 = 0


def test_default_schedule_forgets_the_initial_parameters_statistics():
    """The first batch's statistics come from the initial parameters, which are poor:
    the default schedule (ρ_1 = 1) replaces them with the second batch's, computed
    under the parameters of the first update. (The old default, κ = 0.6 and t0 = 2,
    kept 48% of them, the main cause of its gap to the batch fit.)"""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2)) + rng.integers(0, 2, size=(400, 1)) * 3.0
    first, second = MixtureChunk(X[:200]), MixtureChunk(X[200:])
    model = Mixture(GaussianFamily("full"), 2)
    start = model.init_params([first], np.random.RandomState(0))
    params, state, _ = online_em_step(model, start, None, first, 200.0)
    _, state, _ = online_em_step(model, params, state, second, 200.0)
    expected, _ = model.e_step(params, second)
    assert state.stats == expected * (1.0 / 200.0)


def test_one_batch_with_rho_one_is_an_em_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2)) + rng.integers(0, 2, size=(500, 1)) * 3.0
    model = Mixture(GaussianFamily("full"), 2)
    params = model.init_params([MixtureChunk(X)], np.random.RandomState(0))
    online, state, _ = online_em_step(model, params, None, MixtureChunk(X), len(X))
    stats, _ = model.e_step(params, MixtureChunk(X))
    batch = model.m_step(stats)
    assert np.allclose(online.components.means, batch.components.means, rtol=1e-12)
    assert np.allclose(online.components.covariances, batch.components.covariances, rtol=1e-12)
    assert np.allclose(online.weights, batch.weights, rtol=1e-12)
    assert state.n_batches == 1 and state.weight_seen == len(X)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_passes_reach_batch_log_likelihood(covariance_type):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8000, 3)) + rng.integers(0, 3, size=(8000, 1)) * 2.5
    model = Mixture(GaussianFamily(covariance_type), 3)
    batch = fit_em(model, [MixtureChunk(X)], n_samples=len(X), tol=1e-8, random_state=0)
    params = model.init_params([MixtureChunk(X)], np.random.RandomState(3))
    state = None
    for _ in range(3):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 500):
            rows = X[order[start : start + 500]]
            params, state, _ = online_em_step(model, params, state, MixtureChunk(rows), len(rows))
    online_loglik = model.log_density(params, X).sum()
    assert abs(online_loglik - batch.log_likelihood) <= 0.005 * abs(batch.log_likelihood)


def test_empty_batch_is_refused():
    model = Mixture(GaussianFamily("full"), 2)
    with pytest.raises(ValueError, match="positive weight"):
        online_em_step(model, None, None, MixtureChunk(np.zeros((0, 2))), 0.0)
