"""The README example: the local-level model of the Nile flow, fitted by EM."""

from __future__ import annotations

import numpy as np
import pytest

import emkit

LEARN = ("transition_covariance", "observation_covariance", "initial_state_mean")
DIFFUSE = 1e7  # fixed P0: a nearly diffuse prior on the 1871 level


@pytest.fixture(scope="module")
def nile():
    data = emkit.datasets.load_nile().data
    flow = data[:, 1:]
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        initial_state_covariance_init=DIFFUSE,
        learn=LEARN,
        tol=1e-12,
        max_iter=5000,
    ).fit(flow)
    return data[:, 0], flow, model


def test_em_reaches_the_classic_maximum_likelihood_estimates(nile):
    _, flow, model = nile
    assert model.converged_
    assert model.transition_matrix_[0, 0] == 1.0 and model.observation_matrix_[0, 0] == 1.0
    # Durbin & Koopman (2012), section 2.10: sigma_eps^2 = 15099, sigma_eta^2 = 1469.1
    assert model.observation_covariance_[0, 0] == pytest.approx(15099, rel=1e-3)
    assert model.transition_covariance_[0, 0] == pytest.approx(1469.1, rel=1e-3)
    # with a prior of variance P0 the first observation contributes
    # -log(2 pi (P0 + sigma_eps^2)) / 2 that the diffuse likelihood leaves out
    # (its diffuse log-likelihood at the MLE is -632.54)
    first = -0.5 * np.log(2 * np.pi * (DIFFUSE + model.observation_covariance_[0, 0]))
    assert model.score(flow) - first == pytest.approx(-632.54, abs=0.01)
    assert np.all(np.diff(model.trace_["log_likelihood"]) >= -1e-9)


def test_smoothed_level_agrees_with_statsmodels_exact_diffuse_smoother(nile):
    sm = pytest.importorskip("statsmodels.api")
    _, flow, model = nile
    level, variance = model.smooth(flow)
    # the learned m0 is E[z_1 | x], so the means match the exact diffuse smoother; the
    # variances differ by O(sigma_eps^2 / P0) near the start
    peer = sm.tsa.UnobservedComponents(flow[:, 0], level="local level", use_exact_diffuse=True)
    result = peer.smooth([model.observation_covariance_[0, 0], model.transition_covariance_[0, 0]])
    np.testing.assert_allclose(level[:, 0], result.smoothed_state[0], rtol=1e-8)
    np.testing.assert_allclose(variance[:, 0, 0], result.smoothed_state_cov[0, 0], rtol=1e-3)


def test_figure_of_the_smoothed_level(nile, tmp_path):
    pytest.importorskip("matplotlib")
    from emkit.plot import plot_smoothed, save_figure

    years, flow, model = nile
    ax = plot_smoothed(model, flow, time=years, coverage=0.9)
    level, variance = model.smooth(flow)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["smoothed level"].get_ydata(), level[:, 0])
    np.testing.assert_allclose(lines["observed"].get_ydata(), flow[:, 0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    half = 1.6448536269514722 * np.sqrt(variance[:, 0, 0])
    assert band.max() == pytest.approx(np.max(level[:, 0] + half))
    assert band.min() == pytest.approx(np.min(level[:, 0] - half))
    assert save_figure(ax.figure, tmp_path / "nile.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="coverage"):
        plot_smoothed(model, flow, coverage=1.5)


def test_squarem_reaches_the_same_maximum_in_fewer_e_steps(nile):
    _, flow, plain = nile
    fast = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        initial_state_covariance_init=DIFFUSE,
        learn=LEARN,
        tol=1e-12,
        max_iter=5000,
        accelerate="squarem",
    ).fit(flow)
    assert fast.converged_
    assert fast.n_e_steps_ < plain.n_e_steps_ / 2
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-6
    assert fast.observation_covariance_[0, 0] == pytest.approx(15099, rel=1e-3)
    assert fast.transition_covariance_[0, 0] == pytest.approx(1469.1, rel=1e-3)
