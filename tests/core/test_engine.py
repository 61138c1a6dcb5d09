"""The model-agnostic EM loop, on toy models whose behaviour is known exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _toy_models import DampedMean, loglik

from emkit.core import (
    ConvergenceMonitor,
    ConvergenceWarning,
    EMModel,
    LikelihoodDecreaseWarning,
    RegularizationDecreaseWarning,
    fit_em,
)


@pytest.fixture
def x():
    return np.random.RandomState(3).normal(2.0, 1.0, size=50)


def test_toy_model_follows_the_protocol():
    assert isinstance(DampedMean(), EMModel)


def test_lower_bounds_are_the_per_sample_objective_of_each_iterate(x):
    result = fit_em(
        DampedMean(),
        [x],
        n_samples=x.size,
        max_iter=4,
        tol=0.0,
        start_params=-3.0,
        warn_not_converged=False,
    )
    iterates = [-3.0]
    for _ in range(4):
        iterates.append(iterates[-1] + 0.5 * (x.mean() - iterates[-1]))
    expected = [loglik(x, m) / x.size for m in iterates[:4]]
    np.testing.assert_allclose(result.lower_bounds, expected, rtol=1e-13)
    assert result.params == pytest.approx(iterates[4], rel=1e-13)
    assert result.lower_bound == result.lower_bounds[-1]
    assert result.log_likelihood == pytest.approx(loglik(x, iterates[4]), rel=1e-13)
    assert result.n_iter == 4
    assert np.all(np.diff(result.lower_bounds) > 0)


def test_convergence_by_tolerance(x):
    result = fit_em(DampedMean(), [x], n_samples=x.size, max_iter=500, tol=1e-6, start_params=0.0)
    assert result.converged
    assert result.n_iter < 500
    changes = np.diff(result.lower_bounds)
    assert abs(changes[-1]) < 1e-6 <= abs(changes[-2])
    assert result.params == pytest.approx(x.mean(), abs=1e-2)


def test_not_converged_warns_unless_told_not_to(x):
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        result = fit_em(DampedMean(), [x], n_samples=x.size, max_iter=3, tol=0.0, start_params=0.0)
    assert not result.converged and result.n_iter == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_em(
            DampedMean(),
            [x],
            n_samples=x.size,
            max_iter=3,
            tol=0.0,
            start_params=0.0,
            warn_not_converged=False,
        )


def test_a_broken_m_step_is_reported(x):
    """An M-step that moves away from the optimum decreases the likelihood: the
    engine must say so loudly (pyproject turns this warning into an error)."""
    with pytest.warns(LikelihoodDecreaseWarning, match="decreased at iteration") as record:
        fit_em(
            DampedMean(step=-0.5),
            [x],
            n_samples=x.size,
            max_iter=3,
            tol=0.0,
            start_params=1.0,
            warn_not_converged=False,
        )
    messages = [str(w.message) for w in record]
    assert [m.split(":")[0] for m in messages] == [
        "EM objective decreased at iteration 2",
        "EM objective decreased at iteration 3",
    ]
    assert "bug in the model" in messages[0]


class DeclaredShortfall(DampedMean):
    """A damped M-step that says how far below the maximum of Q it stops: Q(m) =
    -n/2 (m - mean)² + const, so the shortfall is n/2 (m - mean)² (times ``honesty``)."""

    def __init__(self, step, honesty=1.0):
        super().__init__(step)
        self.honesty = honesty

    def m_step_slack(self, mean, stats):
        return self.honesty * 0.5 * stats.count * (mean - stats.total / stats.count) ** 2


def test_a_declared_m_step_shortfall_is_reported_once_as_regularisation(x):
    """Overshooting (step 2.5) can decrease the likelihood; a model that declares its
    shortfall (m_step_slack) gets one RegularizationDecreaseWarning, not a bug report;
    one that under-declares it gets a LikelihoodDecreaseWarning."""
    kwargs = dict(n_samples=x.size, max_iter=6, tol=0.0, start_params=-5.0)
    kwargs.update(warn_not_converged=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_em(DeclaredShortfall(2.5), [x], **kwargs)
    assert np.sum(np.diff(result.lower_bounds) < -1e-3) >= 2  # it did decrease, twice
    assert [w.category for w in caught] == [RegularizationDecreaseWarning]
    with pytest.warns(LikelihoodDecreaseWarning):
        fit_em(DeclaredShortfall(2.5, honesty=0.5), [x], **kwargs)


def test_max_iter_zero_returns_the_start(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(DampedMean(), [x], n_samples=x.size, max_iter=0, start_params=1.5)
    assert result.params == 1.5 and result.n_iter == 0 and not result.converged
    assert result.log_likelihood == pytest.approx(loglik(x, 1.5), rel=1e-14)
    assert result.trace == ()
    with pytest.raises(ValueError, match="max_iter must be >= 0"):
        fit_em(DampedMean(), [x], n_samples=x.size, max_iter=-1)


def test_chunks_are_summed(x):
    whole = fit_em(
        DampedMean(),
        [x],
        n_samples=x.size,
        max_iter=5,
        tol=0,
        start_params=0.0,
        warn_not_converged=False,
    )
    parts = fit_em(
        DampedMean(),
        [x[:7], x[7:30], x[30:]],
        n_samples=x.size,
        max_iter=5,
        tol=0,
        start_params=0.0,
        warn_not_converged=False,
    )
    assert parts.params == pytest.approx(whole.params, rel=1e-13)
    np.testing.assert_allclose(parts.lower_bounds, whole.lower_bounds, rtol=1e-13)


def test_no_chunks_is_an_error():
    with pytest.raises(ValueError, match="no data"):
        fit_em(DampedMean(), [], n_samples=1, start_params=0.0)


def test_restarts_keep_the_best_and_draw_from_one_generator(x):
    """n_init restarts draw their starts from one generator in turn; the restart with
    the highest final objective wins."""
    model = DampedMean()
    result = fit_em(
        model,
        [x],
        n_samples=x.size,
        max_iter=2,
        tol=0.0,
        n_init=6,
        random_state=11,
        warn_not_converged=False,
    )
    assert model.init_calls == 6
    rng = np.random.RandomState(11)
    starts = [rng.uniform(-10, 10) for _ in range(6)]
    finals = []
    for start in starts:
        run = fit_em(
            DampedMean(),
            [x],
            n_samples=x.size,
            max_iter=2,
            tol=0.0,
            start_params=start,
            warn_not_converged=False,
        )
        finals.append((run.lower_bound, run.params))
    best_value, best_params = max(finals)
    assert result.lower_bound == best_value
    assert result.params == best_params
    # and the winner is not simply the first restart
    assert int(np.argmax([f[0] for f in finals])) != 0


def test_same_random_state_same_fit(x):
    kwargs = dict(n_samples=x.size, max_iter=3, tol=0.0, n_init=3, warn_not_converged=False)
    a = fit_em(DampedMean(), [x], random_state=5, **kwargs)
    b = fit_em(DampedMean(), [x], random_state=5, **kwargs)
    c = fit_em(DampedMean(), [x], random_state=6, **kwargs)
    assert a.params == b.params and np.array_equal(a.lower_bounds, b.lower_bounds)
    assert a.params != c.params


def test_warm_start_compares_with_the_previous_objective(x):
    """Continuing a converged fit converges at its first iteration, because the
    convergence test compares against the objective the previous fit ended with."""
    first = fit_em(DampedMean(step=1.0), [x], n_samples=x.size, tol=1e-8, start_params=0.0)
    assert first.converged
    again = fit_em(
        DampedMean(step=1.0),
        [x],
        n_samples=x.size,
        tol=1e-8,
        start_params=first.params,
        previous_lower_bound=first.lower_bound,
    )
    assert again.converged and again.n_iter == 1
    cold = fit_em(DampedMean(step=1.0), [x], n_samples=x.size, tol=1e-8, start_params=first.params)
    assert cold.n_iter == 2  # -inf -> value, then value -> value


def test_callback_sees_every_iterate_of_every_restart(x):
    calls = []
    fit_em(
        DampedMean(),
        [x],
        n_samples=x.size,
        max_iter=3,
        tol=0.0,
        n_init=2,
        random_state=0,
        warn_not_converged=False,
        callback=lambda restart, iteration, params: calls.append((restart, iteration, params)),
    )
    assert [(r, i) for r, i, _ in calls] == [(r, i) for r in range(2) for i in range(4)]
    first = calls[0][2]
    assert calls[1][2] == pytest.approx(first + 0.5 * (x.mean() - first))


def test_non_finite_objective_stops_with_a_clear_error(x):
    class Exploding(DampedMean):
        def e_step(self, mean, chunk):
            stats, _ = super().e_step(mean, chunk)
            return stats, -np.inf

    with pytest.raises(FloatingPointError, match="log-likelihood became -inf at iteration 1"):
        fit_em(Exploding(), [x], n_samples=x.size, start_params=0.0)


def test_trace_without_expected_log_joint_has_nan_bounds(x):
    result = fit_em(
        DampedMean(),
        [x],
        n_samples=x.size,
        max_iter=2,
        tol=0,
        start_params=0.0,
        warn_not_converged=False,
    )
    assert [r.iteration for r in result.trace] == [1, 2]
    assert result.trace[0].log_likelihood == pytest.approx(loglik(x, 0.0), rel=1e-14)
    assert np.isnan(result.trace[0].lower_bound) and np.isnan(result.trace[0].entropy)


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_progress_goes_to_stderr_and_changes_nothing(x, capsys, verbose):
    kwargs = dict(n_samples=x.size, max_iter=4, tol=0.0, n_init=2, random_state=1)
    kwargs.update(warn_not_converged=False)
    quiet = fit_em(DampedMean(), [x], **kwargs)
    capsys.readouterr()
    loud = fit_em(DampedMean(), [x], verbose=verbose, verbose_interval=2, **kwargs)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "restart 2/2" in captured.err
    assert ("iteration 4: objective" in captured.err) == (verbose == 2)
    assert loud.params == quiet.params
    np.testing.assert_array_equal(loud.lower_bounds, quiet.lower_bounds)


def test_monitor_converges_at_an_exact_fixed_point_even_with_zero_tolerance():
    monitor = ConvergenceMonitor(tol=0.0, max_iter=10)
    assert not monitor.report(-3.0)
    assert not monitor.report(-2.0)
    assert monitor.report(-2.0)
    assert ConvergenceMonitor(tol=0.5, max_iter=10).report(-1.0, previous=-1.4)
    # the last bits of a value that no longer moves are rounding, not progress
    rounding = ConvergenceMonitor(tol=0.0, max_iter=10)
    rounding.report(-4.0)
    assert rounding.report(np.nextafter(-4.0, 0.0))
    assert not ConvergenceMonitor(tol=0.0, max_iter=10).report(-4.0 + 1e-12, previous=-4.0)
