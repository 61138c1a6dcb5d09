"""Figures of linear-Gaussian state-space models: observations with the smoothed signal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from emkit.plot._figure import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_smoothed"]


def plot_smoothed(
    estimator: Any,
    X: ArrayLike,
    *,
    U: ArrayLike | None = None,
    time: ArrayLike | None = None,
    feature: int = 0,
    coverage: float = 0.9,
    ax: Axes | None = None,
    observed_label: str = "observed",
    signal_label: str = "smoothed level",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
) -> Axes:
    """Observations of one feature with the smoothed signal and its credible band.

    The signal of feature ``j`` is :math:`s_t = c_j^\\top z_t + d_j^\\top u_t` (the
    observation without its noise); its posterior given the whole sequence is
    Gaussian with mean :math:`c_j^\\top m_{t|T} + d_j^\\top u_t` and variance
    :math:`c_j^\\top P_{t|T} c_j`, from the Rauch-Tung-Striebel smoother. For the
    local-level model (A = C = 1) this is the smoothed level.

    Parameters
    ----------
    estimator : fitted :class:`emkit.LinearGaussianSSM`
    X : array-like of shape (n_samples, n_features)
        One sequence (NaN marks a missing value; the signal is drawn there too).
    U : array-like of shape (n_samples, n_controls), optional
    time : array-like of shape (n_samples,), optional
        x-axis values (e.g. years); default 0, 1, ...
    feature : int, default=0
        Which observed feature to draw.
    coverage : float, default=0.9
        Posterior probability of the shaded band (0.9: the 5% and 95% quantiles).
    ax : matplotlib Axes, optional
        Draw here; default: a new figure (Agg canvas, never shown).
    observed_label, signal_label, title : str
        Legend entries and title.
    xlabel, ylabel : str, optional
        Axis labels; default ``"time step"`` (``"time"`` when ``time`` is given) and
        ``"feature {feature}"``.
    legend : bool, default=True
        A legend with the credible band, the smoothed signal and the observations.

    Returns
    -------
    ax : matplotlib Axes
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
    X = np.asarray(X, dtype=float)
    means, covariances = estimator.smooth(X, U=U)
    n_features = estimator.n_features_in_
    if not 0 <= feature < n_features:
        raise ValueError(f"feature must be in [0, {n_features}), got {feature}")
    c = estimator.observation_matrix_[feature]
    signal = means @ c
    if U is not None:
        U = np.asarray(U, dtype=float).reshape(X.shape[0], -1)
        signal = signal + U @ estimator.control_observation_matrix_[feature]
    spread = np.sqrt(np.einsum("i,tij,j->t", c, covariances, c))
    half_width = norm.ppf(0.5 + coverage / 2) * spread
    if xlabel is None:
        xlabel = "time step" if time is None else "time"
    time = np.arange(X.shape[0]) if time is None else np.asarray(time)
    if time.shape != (X.shape[0],):
        raise ValueError(f"time must have shape ({X.shape[0]},), got {time.shape}")

    ax = axes_or_new(ax, figsize=(7.5, 4.0))
    ax.fill_between(
        time,
        signal - half_width,
        signal + half_width,
        color="tab:blue",
        alpha=0.25,
        linewidth=0,
        label=f"{coverage:.0%} credible band",
    )
    ax.plot(time, signal, color="tab:blue", linewidth=2, label=signal_label)
    ax.plot(
        time,
        X[:, feature],
        color="0.25",
        marker="o",
        markersize=3,
        linewidth=0.8,
        label=observed_label,
    )
    ax.set_xlim(time[0], time[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"feature {feature}" if ylabel is None else ylabel)
    if legend:
        ax.legend(loc="best", frameon=False)
    if title is not None:
        ax.set_title(title)
    return ax
