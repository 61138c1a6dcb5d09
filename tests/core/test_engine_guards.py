"""Engine guards: non-finite M-steps are never committed, SQUAREM falls back to plain EM
on a bad extrapolation, tol=0 stops at a parameter fixed point, and the rounding
allowance follows the model's compute dtype."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _toy_models import DampedMean

import emkit
from emkit.core import LikelihoodDecreaseWarning, fit_em
from emkit.core.guards import non_finite_fields
from emkit.core.monitor import ConvergenceMonitor, decrease_rtol_for
from emkit.core.online import online_em_step
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk


class BreaksAt(DampedMean):
    """A damped mean whose M-step gives NaN from its ``bad``-th call on."""

    def __init__(self, bad, step=0.5):
        super().__init__(step)
        self.bad, self.calls = bad, 0

    def m_step(self, stats):
        self.calls += 1
        return np.nan if self.calls >= self.bad else super().m_step(stats)


@pytest.fixture
def x():
    return np.random.RandomState(3).normal(2.0, 1.0, size=50)


def test_a_non_finite_m_step_raises_naming_the_iteration(x):
    with pytest.raises(FloatingPointError, match=r"iteration 3 .*NaN or infinity.*are kept"):
        fit_em(BreaksAt(3), [x], n_samples=x.size, tol=0.0, start_params=0.0, max_iter=10)


def test_non_finite_fields_name_nested_leaves():
    model = Mixture(GaussianFamily("diag"), 2)
    X = np.random.default_rng(0).normal(size=(40, 2))
    params = model.init_params([MixtureChunk(X)], np.random.RandomState(0))
    assert non_finite_fields(params) == []
    means = params.components.means.copy()
    means[1, 0] = np.inf
    broken = type(params)(
        params.weights, type(params.components)(means, params.components.covariances)
    )
    assert non_finite_fields(broken) == ["components.means"]


def test_a_failed_online_step_changes_nothing(x):
    model = BreaksAt(2)
    params, state, _ = online_em_step(model, 0.0, None, x[:25], 25.0)
    with pytest.raises(FloatingPointError, match="online M-step of batch 2"):
        online_em_step(model, params, state, x[25:], 25.0)
    assert state.n_batches == 1 and np.isfinite(params)


class Packed(DampedMean):
    """A damped mean with pack/unpack whose M-step gives NaN from a mean above
    ``limit``, which only SQUAREM's extrapolation reaches in the test's cycles."""

    limit = 1.5

    def pack(self, mean):
        return np.array([mean])

    def unpack(self, vector, like):
        return float(vector[0])

    def m_step(self, stats):
        return np.nan if stats.start > self.limit else super().m_step(stats)


def test_squarem_falls_back_to_plain_em_on_a_non_finite_extrapolation(x):
    # cycle 1 is capped at θ2 (then M(E(θ2))); cycle 2 extrapolates to the optimum,
    # above the limit: its M-step is NaN, so the cycle returns θ2, two plain steps
    options = dict(n_samples=x.size, tol=0.0, start_params=-5.0, warn_not_converged=False)
    fast = fit_em(Packed(step=0.3), [x], **options, max_iter=2, accelerate="squarem")
    plain = fit_em(Packed(step=0.3), [x], **options, max_iter=5)
    assert fast.n_e_steps == 6
    assert np.isfinite(fast.params) and fast.params == pytest.approx(plain.params, rel=1e-12)
    assert fast.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-12)


class Wobbling(DampedMean):
    """Already at its fixed point (step 0), but the E-step's log-likelihood wobbles in
    its last bits, as a float32 or multithreaded E-step's does: the objective alone
    never repeats."""

    def __init__(self):
        super().__init__(step=0.0)
        self.calls = 0

    def e_step(self, mean, chunk):
        stats, loglik = super().e_step(mean, chunk)
        self.calls += 1
        return stats, loglik * (1.0 + 1e-13 * (self.calls % 2))


def test_tol_zero_stops_at_a_parameter_fixed_point(x):
    result = fit_em(Wobbling(), [x], n_samples=x.size, tol=0.0, start_params=1.0, max_iter=1000)
    assert result.converged and result.n_iter == 2  # θ1 == θ0 is seen at iteration 2


def test_tol_zero_stops_on_a_small_mixture():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(4, 1, (30, 2))])
    model = Mixture(GaussianFamily("full"), 2)
    result = fit_em(
        model, [MixtureChunk(X)], n_samples=len(X), tol=0.0, max_iter=100_000, random_state=0
    )
    assert result.converged and result.n_iter < 5000


def test_rounding_allowance_follows_the_compute_dtype():
    assert decrease_rtol_for(np.float64) == 1e-9
    assert decrease_rtol_for(np.float32) == pytest.approx(128 * np.finfo(np.float32).eps)
    # a float32 wobble of 2e-6 relative is rounding for float32, not for float64
    for dtype, warns in ((np.float32, False), (np.float64, True)):
        monitor = ConvergenceMonitor(0.0, 10, decrease_rtol_for(dtype))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor.report(-2.0)
            monitor.report(-2.0 * (1 + 2e-6))
        assert any(issubclass(w.category, LikelihoodDecreaseWarning) for w in caught) == warns


def test_fit_em_reads_the_models_dtype(x):
    class Float32Falling(DampedMean):
        dtype = np.float32

    # step -1e-4 falls by about 1e-7 relative per iteration: float32 rounding, no warning
    fit_em(
        Float32Falling(step=-1e-4),
        [x],
        n_samples=x.size,
        tol=0.0,
        start_params=2.0,
        max_iter=3,
        warn_not_converged=False,
    )
    with pytest.raises(LikelihoodDecreaseWarning, match=r"by .* per sample, .* relative"):
        fit_em(
            DampedMean(step=-1e-4),
            [x],
            n_samples=x.size,
            tol=0.0,
            start_params=2.0,
            max_iter=3,
            warn_not_converged=False,
        )


def test_numerical_errors_are_value_errors_too():
    # a numerical failure is caused by the data, and handlers of bad input (ValueError)
    # as well as of arithmetic (FloatingPointError) catch it
    assert issubclass(emkit.NumericalError, ValueError)
    assert issubclass(emkit.NumericalError, FloatingPointError)
