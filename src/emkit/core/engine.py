"""The EM loop: generic over any model that follows :class:`emkit.core.EMModel`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from emkit.core.guards import compute_dtype, is_fixed_point, parameter_vector
from emkit.core.monitor import (
    ConvergenceMonitor,
    ConvergenceWarning,
    DivergenceWarning,
    decrease_rtol_for,
)
from emkit.core.progress import FitProgress
from emkit.core.reduce import Reducer
from emkit.core.steps import make_stepper
from emkit.core.trace import TraceRecord

__all__ = ["EMResult", "fit_em"]


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em` (the best restart).

    Attributes
    ----------
    params : the model's parameter container after the last M-step.
    lower_bound : float
        Per-sample objective, (log-likelihood + log-prior) / n_samples, at the last
        E-step (the value the convergence test used; scikit-learn's ``lower_bound_``).
    lower_bounds : ndarray of shape (n_iter,)
        That value at every iteration.
    n_iter : int
    converged : bool
    log_likelihood : float
        Total log-likelihood of the returned ``params`` (from one final E-step).
    n_e_steps : int
        E-steps of the kept restart's iterations (more than ``n_iter`` when accelerated).
    trace : tuple of TraceRecord
        The quantities of the EM derivation at every iteration (see emkit.core.trace).
    """

    params: Any
    lower_bound: float
    lower_bounds: np.ndarray
    n_iter: int
    converged: bool
    log_likelihood: float
    n_e_steps: int
    trace: tuple[TraceRecord, ...]


def _run_one(
    stepper, params, *, n_samples, max_iter, tol, previous, progress, callback, decrease_rtol, dtype
):
    """EM steps from ``params`` until convergence or ``max_iter``.

    Converged when the monitor says so, or, with ``tol=0``, when the parameters that
    entered this step equal, up to the rounding of ``dtype``, those that entered the
    previous one (a fixed point of the EM map: the objective can wobble in its last
    bits for ever while the parameters no longer change). Comparing the entering
    parameters, whose objectives the monitor compares, stops at the same iteration as
    an exact repeat of the objective does (scikit-learn's iteration count).

    Stopped, not converged, when the model's optional ``diverging`` hook returns a
    message after a step (see :func:`_divergence_check`); returns that message too
    (None otherwise).
    """
    monitor = ConvergenceMonitor(tol, max_iter, decrease_rtol)
    # only tol=0 needs it: with tol > 0 the monitor ends a run-away fit, whose gains
    # fade, by itself (and a healthy fit's result never depends on the hook)
    diverging = _divergence_check(stepper) if tol <= 0 else _never
    eps = float(np.finfo(dtype).eps)
    # the parameter fixed-point test is for tol=0 too: with tol > 0 the objective's
    # test ends the fit, since at a fixed point the objective moves only by rounding
    # (1.7e-13 per sample in tests/core/test_engine_guards.py; a tol below that runs
    # on, so a fixed-point run is tol=0), and packing every iteration costs 1-6% of a
    # small fit
    pack = partial(parameter_vector, stepper.model) if tol <= 0 else _no_vector
    trace: list[dict] = []
    n_e_steps = 0
    allowance = 0.0  # decrease the previous step's inexact M-steps can explain
    vector = None  # of the parameters that entered the previous step
    em_next = True  # the previous step returned its EM sub-step's parameters
    reason = None
    if callback is not None:
        callback(0, params)
    for _ in range(max_iter):
        entering = pack(params)
        fixed = is_fixed_point(vector, entering, eps)
        vector = entering
        step = stepper.step(params, monitor.n_iter + 1)
        n_e_steps += step.n_e_steps
        if trace and em_next and np.isnan(trace[-1]["kl"]):
            trace[-1]["kl"] = step.log_likelihood - trace[-1]["lower_bound"]
        em_next = step.em_next
        trace.append({"iteration": monitor.n_iter + 1, **step.record})
        previous_params, params = params, step.params
        if callback is not None:
            callback(monitor.n_iter + 1, params)
        objective = (step.log_likelihood + step.log_prior) / n_samples
        last = monitor.history[-1] if monitor.history else previous
        converged = monitor.report(objective, previous, allowance=allowance, fixed_point=fixed)
        allowance = step.slack / n_samples
        progress.iteration(monitor.n_iter, objective, objective - last)
        if converged:
            break
        reason = diverging(previous_params, params)
        if reason is not None:
            break
    # an extrapolated last step leaves its kl unknown: a NaN the caller must not fill
    return params, monitor, trace, n_e_steps, reason, em_next


def _never(previous, params):
    return None


def _no_vector(params):
    return None  # is_fixed_point(None, None) is False: the test is off


def _divergence_check(stepper):
    """``check(previous, params) -> str | None`` for the model's optional hook
    ``diverging(previous, params, *, state, log_likelihood)``.

    The hook sees the parameters before and after every accepted step (one EM
    iteration or SQUAREM cycle) and returns a message when the iterates run away
    (e.g. a variance collapsing to 0, or a direction along which the likelihood rises
    for ever), None otherwise. ``state`` is a dict owned by this restart, where the hook
    keeps what it needs between calls; ``log_likelihood(params) -> float`` is one
    E-step over the whole data, for a hook that must confirm a trend. A model without
    the hook never stops this way.
    """
    hook = getattr(stepper.model, "diverging", None)
    if hook is None:
        return _never
    state: dict = {}

    def log_likelihood(params) -> float:
        return float(stepper.reduce(stepper.model, params)[1])

    def check(previous, params):
        return hook(previous, params, state=state, log_likelihood=log_likelihood)

    return check


def fit_em(
    model,
    chunks: Sequence[Any],
    *,
    n_samples: float,
    max_iter: int = 100,
    tol: float = 1e-3,
    n_init: int = 1,
    random_state=None,
    start_params: Any = None,
    previous_lower_bound: float = -np.inf,
    verbose: int = 0,
    verbose_interval: int = 1,
    warn_not_converged: bool = True,
    callback=None,
    accelerate: str | None = None,
    n_jobs: int | None = 1,
    init_chunks: Sequence[Any] | None = None,
    decrease_rtol: float | None = None,
) -> EMResult:
    """Fit ``model`` to ``chunks`` by EM, keeping the best of ``n_init`` restarts.

    Parameters
    ----------
    model : EMModel
        Any object with ``init_params``, ``e_step``, ``m_step`` and ``log_prior``.
    chunks : sequence
        The data as a re-iterable sequence of chunks, each passed to ``model.e_step``;
        the statistics of all chunks are summed every iteration.
    n_samples : float
        Number (or total weight) of samples; the convergence test uses the
        objective divided by it, so ``tol`` does not depend on the data size.
    max_iter, tol : iteration budget and convergence tolerance.
    n_init : int
        Restarts from ``model.init_params``; the one with the highest final
        objective is kept. Ignored (1) when ``start_params`` is given.
    random_state : None, int or RandomState
        Seeds ``model.init_params`` (all restarts draw from one generator).
    start_params : parameter container, optional
        Start from these parameters instead of ``model.init_params`` (warm start).
        (``init_params`` is the model's data-driven start, and an estimator's
        ``init_params`` names how it is made: one meaning for one name.)
    previous_lower_bound : float
        Per-sample objective the warm start continues from (the convergence test of
        the first iteration compares against it).
    verbose : int
        0 silent, 1 progress bars, 2 also a line every ``verbose_interval``
        iterations (standard error).
    warn_not_converged : bool
        Issue a ConvergenceWarning when the best restart did not converge.
    callback : callable, optional
        ``callback(restart, iteration, params)``, called with iteration 0 for the
        starting parameters and after every step (for animations and diagnostics).
    accelerate : {None, "squarem", "daarem", "qn", "auto"} or callable
        Extrapolation of the EM fixed-point map, on ``model.pack``'s vector (needs
        ``pack`` / ``unpack``); every one keeps the objective non-decreasing, falling
        back to the EM step when an extrapolated point is worse. "squarem": SQUAREM
        (emkit.core.steps.Squarem), an iteration is one cycle of 2-3 E-steps.
        "daarem": damped Anderson acceleration with restarts
        (emkit.core.anderson.Daarem), 1 E-step per accepted iteration, 2 per rejected
        one. "qn": the quasi-Newton step of Zhou, Alexander & Lange (2011)
        (emkit.core.quasi_newton.QuasiNewton), 2 E-steps per accepted iteration, 3 per
        rejected one. "auto": DAAREM, switching to "qn" for the rest of the fit once
        its proposals keep failing (emkit.core.anderson.AutoAccelerate; within 2x of
        the best measured option on all but one fit of benchmarks/bench_squarem.py). A callable
        ``(model, reduce) -> stepper`` builds any other stepper (e.g.
        ``functools.partial(Squarem, scheme=1, step_max=np.inf)``). ``n_e_steps``
        counts the E-steps of all of them.
    n_jobs : int or None
        Threads running the E-steps of different chunks (None or -1: every core).
        The statistics are added in chunk order, so the fit does not depend on it.
    init_chunks : sequence, optional
        Chunks given to ``model.init_params`` instead of ``chunks`` (an in-memory
        sample when the data stream from disk or live on a cluster).
    decrease_rtol : float, optional
        Relative decrease of the objective between iterations that is still
        rounding; a larger decrease raises a LikelihoodDecreaseWarning. Default:
        ``decrease_rtol_for`` the model's compute dtype (its ``dtype`` attribute,
        float64 when it has none; see ``emkit.core.monitor``).

    Warns
    -----
    DivergenceWarning
        With ``tol=0``, when the model's ``diverging`` hook stops a fit that runs away
        to the boundary (no fixed point exists); ``converged`` is then False.
    ConvergenceWarning
        When the best restart did not converge in ``max_iter`` iterations.

    Raises
    ------
    FloatingPointError
        When an M-step gives non-finite parameters, or the objective becomes
        non-finite: the message names the parameter and the iteration. Nothing is
        returned, so a caller keeps the parameters it had.
    """
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    dtype = compute_dtype(model)
    if decrease_rtol is None:
        decrease_rtol = decrease_rtol_for(dtype)
    rng = check_random_state(random_state)
    warm = start_params is not None
    n_init = 1 if warm else n_init
    best = None
    with (
        Reducer(chunks, n_jobs) as reduce,
        FitProgress(verbose, max_iter, n_init, verbose_interval) as progress,
    ):
        for index in range(n_init):
            start = start_params if warm else model.init_params(init_chunks or chunks, rng)
            progress.start_restart(index)
            params, monitor, trace, n_e_steps, reason, em_next = _run_one(
                make_stepper(accelerate, model, reduce),
                start,
                n_samples=n_samples,
                max_iter=max_iter,
                tol=tol,
                previous=previous_lower_bound if warm else -np.inf,
                progress=progress,
                callback=None if callback is None else partial(callback, index),
                decrease_rtol=decrease_rtol,
                dtype=dtype,
            )
            progress.finish_restart(monitor.converged)
            value = monitor.history[-1] if monitor.history else -np.inf
            if best is None or value > best[0]:
                best = (value, params, monitor, trace, n_e_steps, reason, em_next)
        value, params, monitor, trace, n_e_steps, reason, em_next = best
        _, final_loglik = reduce(model, params)
    if reason is not None and warn_not_converged:
        warnings.warn(
            f"EM stopped after {monitor.n_iter} iterations without converging: {reason}",
            DivergenceWarning,
            stacklevel=2,
        )
    elif max_iter > 0 and not monitor.converged and warn_not_converged:
        warnings.warn(
            f"EM did not converge in {max_iter} iterations (best of {n_init} restarts): "
            "increase max_iter or tol, try other initial values, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=2,
        )
    if trace and em_next and np.isnan(trace[-1]["kl"]):
        trace[-1]["kl"] = final_loglik - trace[-1]["lower_bound"]
    return EMResult(
        params=params,
        lower_bound=value,
        lower_bounds=np.asarray(monitor.history),
        n_iter=monitor.n_iter,
        converged=monitor.converged,
        log_likelihood=final_loglik,
        n_e_steps=n_e_steps,
        trace=tuple(TraceRecord(**r) for r in trace),
    )
