"""Figures of an EM run: log-likelihood per iteration and the terms of the EM identity.

With ``q_t = p(z | x, θ_t)`` the posterior of the E-step of iteration t+1 and
``θ_{t+1}`` its M-step's result, the engine's trace (``estimator.trace_``) records

    log p(x | θ_{t+1}) = L(q_t, θ_{t+1}) + KL(q_t ‖ p(z | x, θ_{t+1})),
    L(q_t, θ) = Q(θ, θ_t) + H(q_t),

so the gain of one iteration splits into the M-step's gain of the bound,
L(q_t, θ_{t+1}) − L(q_t, θ_t) (with L(q_t, θ_t) = log p(x | θ_t)), and the KL gap that
the next E-step closes. See :mod:`emkit.core.trace`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from emkit.plot._figure import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["log_likelihood_path", "plot_convergence", "plot_em_decomposition", "plot_trace"]

# At a trace row: q is the E-step's posterior under θ_old, θ_new the M-step's result.
TRACE_LABELS = {
    "log_likelihood": r"$\log p(x \mid \theta_\mathrm{old})$",
    "log_prior": r"$\log p(\theta_\mathrm{old})$",
    "entropy": r"$H(q)$",
    "expected_log_joint": r"$Q(\theta_\mathrm{new}, \theta_\mathrm{old})$",
    "lower_bound": r"$\mathcal{L}(q, \theta_\mathrm{new})$",
    "kl": r"$\mathrm{KL}(q \,\|\, p(z \mid x, \theta_\mathrm{new}))$",
}


def _trace(estimator) -> dict:
    trace = getattr(estimator, "trace_", None)
    if trace is None:
        raise ValueError(f"{type(estimator).__name__} is not fitted; call fit before plotting it")
    if not trace or len(trace["log_likelihood"]) == 0:
        raise ValueError("the fit ran no EM iteration (max_iter=0): nothing to plot")
    return trace


def log_likelihood_path(estimator: Any) -> np.ndarray:
    """log p(x | θ_t) for t = 0 (start) ... n_iter (fitted), shape (n_iter + 1,).

    The trace holds the log-likelihood entering every iteration; the last value is
    that of the fitted parameters, ``estimator.log_likelihood_``.
    """
    trace = _trace(estimator)
    return np.append(trace["log_likelihood"], float(estimator.log_likelihood_))


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _is_hard(estimator) -> bool:
    from emkit.estimators import KMeans

    return isinstance(estimator, KMeans) or getattr(estimator, "assignment", "soft") == "hard"


def plot_convergence(
    estimator: Any,
    ax: Axes | None = None,
    *,
    lower_bound: bool = True,
    title: str | None = None,
) -> Axes:
    """Log-likelihood of the training data at every EM iteration.

    Parameters
    ----------
    estimator : fitted emkit estimator with ``trace_`` and ``log_likelihood_``
    ax : matplotlib Axes, optional
        Drawn on a new figure (Agg canvas) when None.
    lower_bound : bool
        Also draw the bound L(q_t, θ_{t+1}) reached by each M-step (where the model
        provides Q), at iteration t+1 just below the log-likelihood it bounds.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Line labelled ``"log-likelihood"`` with n_iter + 1 points (iteration 0 is
        the starting point), and ``"lower bound"`` when drawn.
    """
    trace = _trace(estimator)
    path = log_likelihood_path(estimator)
    ax = axes_or_new(ax)
    iterations = np.arange(path.size)
    name = "classification log-likelihood" if _is_hard(estimator) else "log-likelihood"
    ax.plot(iterations, path, marker="o", markersize=3.5, linewidth=1.8, label=name)
    bound = trace.get("lower_bound")
    if lower_bound and bound is not None and np.all(np.isfinite(bound)):
        ax.plot(
            iterations[1:],
            bound,
            marker="_",
            markersize=9,
            linestyle=":",
            linewidth=1.2,
            color="tab:orange",
            label=r"lower bound $\mathcal{L}(q_{t-1}, \theta_t)$",
        )
    ax.set_xlabel("EM iteration")
    _integer_ticks(ax)
    ax.set_ylabel(f"{name} (nats)")
    if title is None:
        status = "converged" if getattr(estimator, "converged_", False) else "not converged"
        title = f"{path.size - 1} iterations, {status}: {path[-1]:.6g}"
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_em_decomposition(
    estimator: Any, ax: Axes | None = None, *, title: str | None = None
) -> Axes:
    """The gain of every iteration, split into the M-step gain of the bound and the KL gap.

    ``log p(x|θ_{t+1}) − log p(x|θ_t)
    = [L(q_t, θ_{t+1}) − L(q_t, θ_t)] + KL(q_t ‖ p(z|x, θ_{t+1}))``,
    on a log scale (non-positive values, i.e. rounding noise at convergence or a
    MAP M-step that trades bound for prior, are left out).

    Parameters
    ----------
    estimator : fitted emkit estimator whose model provides Q (``trace_["lower_bound"]``)
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Three lines, labelled ``"total"``, ``"M-step"`` and ``"KL"``.
    """
    trace = _trace(estimator)
    if not np.all(np.isfinite(trace["lower_bound"])):
        raise ValueError(
            f"{type(estimator).__name__}'s model does not report Q, so the bound is unknown"
        )
    path = log_likelihood_path(estimator)
    iterations = np.arange(1, path.size)
    total = np.diff(path)
    m_step = trace["lower_bound"] - path[:-1]
    kl = trace["kl"]
    ax = axes_or_new(ax)
    for values, label, style in (
        (total, "total", dict(color="black", linewidth=2.0)),
        (m_step, "M-step", dict(color="tab:blue", linestyle="--")),
        (kl, "KL", dict(color="tab:red", linestyle="-.")),
    ):
        shown = np.where(values > 0, values, np.nan)
        ax.plot(iterations, shown, marker="o", markersize=3, label=label, **style)
    ax.set_yscale("log")
    ax.set_xlabel("EM iteration")
    _integer_ticks(ax)
    ax.set_ylabel("gain of log-likelihood (nats)")
    ax.set_title(title or r"gain = M-step gain of $\mathcal{L}$ + KL gap")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_trace(
    estimator: Any,
    names: str | Sequence[str] = ("entropy",),
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Axes:
    """Any columns of ``estimator.trace_`` against the iteration.

    Parameters
    ----------
    estimator : fitted emkit estimator
    names : sequence of str
        Keys of ``trace_``: "log_likelihood", "log_prior", "entropy",
        "expected_log_joint" (Q), "lower_bound", "kl".
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line per name, labelled with its symbol.
    """
    trace = _trace(estimator)
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in trace]
    if unknown:
        raise ValueError(f"unknown trace columns {unknown}; choose from {sorted(trace)}")
    ax = axes_or_new(ax)
    iterations = np.asarray(trace["iteration"])
    for name in names:
        ax.plot(
            iterations, trace[name], marker="o", markersize=3, label=TRACE_LABELS.get(name, name)
        )
    ax.set_xlabel("EM iteration")
    _integer_ticks(ax)
    ax.set_ylabel("nats")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax
