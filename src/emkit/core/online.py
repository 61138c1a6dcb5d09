"""Online (mini-batch) EM: stochastic approximation on the sufficient statistics.

Cappé & Moulines, "On-line expectation-maximization algorithm for latent data
models", JRSS-B 71 (2009). After each batch, the running per-sample statistics move
towards the batch's per-sample statistics computed under the current parameters,

    s_t = (1 − ρ_t) s_{t−1} + ρ_t ŝ_t,      ρ_t = (t + t0)^(−κ),  ρ_0 = 1,

and the M-step maps them (scaled to the total weight seen) to new parameters. With
κ in (0.5, 1] the steps satisfy the Robbins-Monro conditions.

The schedule (benchmarks/bench_online.py): the early batches' statistics were
computed under poor parameters, and what limits five passes over the data is how fast
they are forgotten, far more than the noise of the late batches. κ = 0.51 and t0 = 0
(ρ_1 = 1: the second batch replaces the statistics of the first, which the
initial parameters computed) forget fastest; κ = 0.6, t0 = 2 kept early statistics
long enough to end 1-11% below the batch fit on overlapping mixtures. Polyak-Ruppert
averaging of the statistics was measured too: it removes the last 0.01% of noise on
small batches, but its lag costs more on the slowly converging problems, so it is
not used.

Scaling to the corpus size (Hoffman, Blei & Bach, "Online learning for latent
Dirichlet allocation", NIPS 2010): when the data are a fixed corpus of known total
weight D passed over several times (topic models: D documents), the M-step maps the
running per-sample statistics times D, ``total_weight``, not times the weight seen so
far, which after p passes would be p·D and count every document p times.
:func:`fit_online` is the loop over passes and mini-batches; it belongs to the
engine, as every iteration loop does.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from emkit.core.guards import check_finite_params
from emkit.core.monitor import ConvergenceWarning
from emkit.core.progress import FitProgress
from emkit.core.reduce import e_step_total, resolve_n_jobs
from emkit.errors import NumericalError

__all__ = ["OnlineResult", "OnlineState", "fit_online", "online_em_step", "step_size"]

DEFAULT_KAPPA = 0.51
DEFAULT_T0 = 0.0


def step_size(t: int, kappa: float = DEFAULT_KAPPA, t0: float = DEFAULT_T0) -> float:
    """ρ_t for the t-th batch (t = 0 is the first batch, which sets the statistics)."""
    if t == 0:
        return 1.0
    return float((t + t0) ** (-kappa))


@dataclass(frozen=True)
class OnlineState:
    """Running per-sample statistics, batches seen and the total weight seen."""

    stats: Any
    n_batches: int
    weight_seen: float


def online_em_step(
    model,
    params,
    state: OnlineState | None,
    chunk,
    batch_weight: float,
    kappa: float = DEFAULT_KAPPA,
    t0: float = DEFAULT_T0,
    *,
    total_weight: float | None = None,
):
    """One online EM update from a batch.

    Parameters
    ----------
    model : EMModel
    params : the current parameters (they compute the batch's E-step).
    state : OnlineState or None (first batch).
    chunk : the batch, in the model's chunk form.
    batch_weight : float
        Number (or total weight) of samples in the batch.
    kappa, t0 : the step schedule ρ_t = (t + t0)^(−κ).
    total_weight : float, optional
        Weight of the whole data set the batches are drawn from (a corpus's D
        documents): the M-step maps the running per-sample statistics times it.
        Default: times the weight seen so far (the right scale for a stream of new
        samples, each seen once).

    Returns
    -------
    (new_params, new_state, batch_log_likelihood)

    Raises NumericalError (a ValueError and a FloatingPointError), before anything is
    returned, when the M-step gives non-finite parameters, or parameters that the
    model's ``check_params`` finds its E-step cannot run on: the caller's parameters and
    state stay as they were.
    """
    if batch_weight <= 0:
        raise ValueError("a batch needs at least one sample of positive weight")
    stats, loglik = model.e_step(params, chunk)
    new_params, new_state = _online_update(
        model, stats, state, batch_weight, kappa, t0, total_weight
    )
    _check_usable(model, new_params, chunk, new_state.n_batches)
    return new_params, new_state, loglik


def _check_usable(model, params, chunk, batch: int) -> None:
    """Raise NumericalError when the model's ``check_params`` (optional) finds that its
    E-step cannot run on ``params``, the online M-step's output for batch ``batch``."""
    check = getattr(model, "check_params", None)
    if check is None:
        return
    try:
        check(params, chunk)
    except np.linalg.LinAlgError as error:
        raise NumericalError(
            f"the online M-step of batch {batch} gave parameters that the E-step cannot "
            f"use ({error}); the parameters from before this batch are kept. The batch "
            "probably holds values far outside the scale of the earlier ones: check it "
            "for outliers, or scale the data"
        ) from None


def _online_update(model, stats, state, batch_weight, kappa, t0, total_weight):
    """The stochastic-approximation step on a batch's statistics, then the M-step."""
    per_sample = stats * (1.0 / batch_weight)
    t = 0 if state is None else state.n_batches
    rho = step_size(t, kappa, t0)
    running = per_sample if state is None else state.stats * (1.0 - rho) + per_sample * rho
    weight_seen = batch_weight + (0.0 if state is None else state.weight_seen)
    scale = weight_seen if total_weight is None else float(total_weight)
    new_params = check_finite_params(
        model.m_step(running * scale), t + 1, f"online M-step of batch {t + 1}"
    )
    return new_params, OnlineState(running, t + 1, weight_seen)


@dataclass(frozen=True)
class OnlineResult:
    """Outcome of :func:`fit_online`.

    Attributes
    ----------
    params : the model's parameters after the last batch.
    state : OnlineState
        The running statistics (to continue with :func:`online_em_step`).
    lower_bound : float
        The last pass's objective per sample (see :func:`fit_online`).
    lower_bounds : ndarray of shape (n_passes_run,)
        That objective after every pass.
    n_iter : int
        Passes run.
    n_batches : int
        Online EM updates made (passes × batches).
    converged : bool
        Whether the objective changed by less than ``tol`` between two passes.
    log_likelihood : float
        The last pass's summed E-step terms (each batch's under the parameters it met).
    """

    params: Any
    state: OnlineState
    lower_bound: float
    lower_bounds: np.ndarray
    n_iter: int
    n_batches: int
    converged: bool
    log_likelihood: float


@contextlib.contextmanager
def _thread_pool(n_jobs, needed: bool):
    """A pool of E-step threads (BLAS held to one thread inside it), or None."""
    n_threads = resolve_n_jobs(n_jobs)
    if n_threads < 2 or not needed:
        yield None
        return
    from threadpoolctl import threadpool_limits

    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(n_threads, thread_name_prefix="emkit-online") as pool,
    ):
        yield pool


def fit_online(
    model,
    batches: Sequence[Sequence[Any]],
    *,
    batch_weights: Sequence[float],
    n_samples: float,
    total_weight: float | None = None,
    n_passes: int = 1,
    kappa: float = DEFAULT_KAPPA,
    t0: float = DEFAULT_T0,
    tol: float = 0.0,
    random_state=None,
    start_params: Any = None,
    start_state: OnlineState | None = None,
    init_chunks: Sequence[Any] | None = None,
    n_jobs: int | None = 1,
    callback=None,
    verbose: int = 0,
    warn_not_converged: bool = True,
) -> OnlineResult:
    """Online EM over a fixed data set: ``n_passes`` passes over mini-batches in order.

    Every batch makes one :func:`online_em_step` (the E-step of its chunks at the
    current parameters, summed in chunk order; the running statistics move towards the
    batch's with step ρ_t = (t + t0)^(−κ); the M-step on them times ``total_weight``).
    The batches are visited in the order given, every pass: a caller that wants them
    shuffled shuffles the rows it cuts them from (the fit is then still reproducible).

    The objective of a pass is the sum of its batches' E-step terms, each computed
    under the parameters that batch met, plus ``model.log_prior`` of the parameters at
    the end of the pass, divided by ``n_samples``: an estimate of the objective that
    costs no extra pass over the data. It need not increase (online EM is a stochastic
    approximation), so it is recorded, not checked.

    Parameters
    ----------
    model : EMModel
    batches : sequence of sequences of chunks
        The mini-batches; a batch's chunks are E-stepped on ``n_jobs`` threads.
    batch_weights : sequence of float
        Weight (number of samples, documents for a topic model) of each batch.
    n_samples : float
        What the objective is divided by (e.g. the corpus's tokens, for an objective
        per word).
    total_weight : float, optional
        Weight of the whole data set (default: the sum of ``batch_weights``); the
        M-step scales the running per-sample statistics to it (Hoffman et al. 2010).
    n_passes : int
        Passes over the batches (at most: see ``tol``).
    kappa, t0 : float
        The step schedule.
    tol : float
        Stop after a pass whose objective differs from the previous pass's by less
        than ``tol``; 0 runs every pass.
    random_state : None, int or RandomState
        Seeds ``model.init_params`` (not used with ``start_params``).
    start_params : parameter container, optional
        Start from these parameters instead of ``model.init_params``.
    start_state : OnlineState, optional
        Continue from these running statistics (and their step count).
    init_chunks : sequence, optional
        Chunks for ``model.init_params`` (default: every batch's chunks).
    n_jobs : int or None
        Threads for the chunks of one batch (None or -1: every core). The fit does not
        depend on it.
    callback : callable, optional
        ``callback(pass, params)``, with pass 0 for the start and after every pass.
    verbose : int
        As :func:`emkit.core.fit_em` (a bar over the passes).
    warn_not_converged : bool
        A ConvergenceWarning when ``tol > 0`` and no pass met it.

    Returns
    -------
    OnlineResult
    """
    if n_passes < 0:
        raise ValueError(f"n_passes must be >= 0, got {n_passes}")
    if len(batches) == 0 or len(batches) != len(batch_weights):
        raise ValueError(
            f"fit_online needs one weight per batch and at least one batch; got "
            f"{len(batches)} batches and {len(batch_weights)} weights"
        )
    weights = [float(w) for w in batch_weights]
    if min(weights) <= 0:
        raise ValueError(
            f"batch {int(np.argmin(weights))} has weight {min(weights)!r}: every batch "
            "needs at least one sample of positive weight"
        )
    if total_weight is None:
        total_weight = float(sum(weights))
    if start_params is None:
        starting = init_chunks if init_chunks is not None else [c for b in batches for c in b]
        params = model.init_params(starting, check_random_state(random_state))
    else:
        params = start_params
    state = start_state
    history: list[float] = []
    converged = False
    loglik = 0.0
    needs_pool = any(len(batch) > 1 for batch in batches)
    with (
        _thread_pool(n_jobs, needs_pool) as pool,
        FitProgress(verbose, n_passes, 1) as progress,
    ):
        progress.start_restart(0)
        if callback is not None:
            callback(0, params)
        for n_pass in range(1, n_passes + 1):
            loglik = 0.0
            for batch, weight in zip(batches, weights, strict=True):
                stats, batch_loglik = e_step_total(model, params, batch, pool)
                params, state = _online_update(model, stats, state, weight, kappa, t0, total_weight)
                loglik += float(batch_loglik)
            objective = (loglik + float(model.log_prior(params))) / n_samples
            if not np.isfinite(objective):
                raise FloatingPointError(
                    f"the objective of online pass {n_pass} is not finite ({objective}); "
                    "check the data for extreme values"
                )
            change = objective - history[-1] if history else np.inf
            history.append(objective)
            progress.iteration(n_pass, objective, change)
            if callback is not None:
                callback(n_pass, params)
            if tol > 0 and abs(change) < tol:
                converged = True
                break
        progress.finish_restart(converged)
    if tol > 0 and not converged and n_passes > 0 and warn_not_converged:
        warnings.warn(
            f"online EM did not converge in {n_passes} passes (the objective changed by "
            f"{abs(history[-1] - history[-2]) if len(history) > 1 else np.inf:.3g} per "
            "sample in the last pass): increase max_iter or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    return OnlineResult(
        params=params,
        state=state,
        lower_bound=history[-1] if history else -np.inf,
        lower_bounds=np.asarray(history),
        n_iter=len(history),
        n_batches=0 if state is None else state.n_batches,
        converged=converged,
        log_likelihood=loglik,
    )
