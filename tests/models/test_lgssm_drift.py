"""The LGSSM's run-away detector (emkit.models._lgssm_drift), attached by a subclass
hook until lgssm.py carries ``diverging = state_scale_drift``."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import emkit
from emkit import DivergenceWarning
from emkit.models import lgssm
from emkit.models._lgssm_drift import WINDOW, state_scale_drift

THREE = np.array([[0.1], [0.5], [0.2]])
NILE_LEARN = ("transition_covariance", "observation_covariance", "initial_state_mean")


@pytest.fixture
def attached():
    """The detector is the LGSSM's own hook (kept as a fixture: tests name it)."""
    assert lgssm.LGSSM.diverging is state_scale_drift


def _white_noise(n):
    return np.random.default_rng(0).standard_normal((n, 1))


def _fit(X, **kwargs):
    est = emkit.LinearGaussianSSM(1, tol=0, max_iter=5000, **kwargs)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    return est, time.perf_counter() - start, [w for w in caught if w.category is not None]


@pytest.mark.parametrize("X", [THREE, _white_noise(5), _white_noise(100)], ids=["3", "5", "100"])
def test_a_collapsing_observation_covariance_is_stopped_promptly(attached, X):
    est, seconds, caught = _fit(X)
    assert not est.converged_ and est.n_iter_ <= 3 * WINDOW and seconds < 2
    messages = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
    assert len(messages) == 1
    assert ("observation_covariance collapses" in messages[0] and "reg_covar" in messages[0]) or (
        "state scale diverges" in messages[0]
    )


@pytest.mark.parametrize("X", [THREE, _white_noise(5), _white_noise(100)], ids=["3", "5", "100"])
def test_a_drifting_state_scale_is_stopped_with_the_remedy(attached, X):
    est, seconds, caught = _fit(X, reg_covar=1e-3)
    assert not est.converged_ and est.n_iter_ <= 3 * WINDOW and seconds < 2
    (warning,) = [w for w in caught if issubclass(w.category, DivergenceWarning)]
    message = str(warning.message)
    assert "state scale diverges" in message and "initial_state_covariance" in message
    assert issubclass(warning.category, emkit.ConvergenceWarning)
    for name in ("observation_matrix_", "transition_covariance_", "initial_state_mean_"):
        assert np.all(np.isfinite(getattr(est, name)))


def test_without_the_hook_the_drift_runs_to_max_iter(monkeypatch):
    # the bug the detector fixes: no fixed point, so tol=0 never stops
    monkeypatch.delattr(lgssm.LGSSM, "diverging")
    est = emkit.LinearGaussianSSM(1, tol=0, max_iter=300, reg_covar=1e-3)
    with pytest.warns(emkit.ConvergenceWarning):
        est.fit(THREE)
    assert est.n_iter_ == 300


@pytest.mark.parametrize("tol", [0.0, 1e-12])
def test_the_nile_fit_is_unchanged(attached, monkeypatch, tol):
    flow = emkit.datasets.load_nile().data[:, 1:]

    def fit():
        return emkit.LinearGaussianSSM(
            1,
            transition_matrix_init=1.0,
            observation_matrix_init=1.0,
            initial_state_covariance_init=1e7,
            learn=NILE_LEARN,
            tol=tol,
            max_iter=5000,
        ).fit(flow)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hooked = fit()
    monkeypatch.delattr(lgssm.LGSSM, "diverging")
    plain = fit()
    assert hooked.converged_ and hooked.n_iter_ == plain.n_iter_
    np.testing.assert_array_equal(hooked.lower_bounds_, plain.lower_bounds_)
    np.testing.assert_array_equal(hooked.observation_covariance_, plain.observation_covariance_)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_healthy_fits_with_tol_above_zero_are_unchanged(attached, monkeypatch, seed, k):
    rng = np.random.default_rng(seed)
    A, C = np.diag(np.linspace(0.9, 0.5, k)), rng.standard_normal((2, k))
    z, rows = np.zeros(k), []
    for _ in range(300):
        z = A @ z + 0.5 * rng.standard_normal(k)
        rows.append(C @ z + 0.3 * rng.standard_normal(2))
    X = np.array(rows)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return emkit.LinearGaussianSSM(k, tol=1e-6, max_iter=200, random_state=0).fit(X)

    hooked = fit()
    monkeypatch.delattr(lgssm.LGSSM, "diverging")
    plain = fit()
    assert hooked.n_iter_ == plain.n_iter_ and hooked.converged_ == plain.converged_
    np.testing.assert_array_equal(hooked.lower_bounds_, plain.lower_bounds_)
