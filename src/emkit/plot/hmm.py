"""Figures of hidden Markov models: a sequence with its decoded states."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._figure import axes_or_new, component_colors

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_decoded_states", "state_covariances", "state_levels", "state_means"]


def state_means(estimator: Any) -> np.ndarray | None:
    """The mean emission of every state, shape (n_components, n_features), or None.

    Poisson rates, Gaussian means, the weighted mean of a GMM-HMM state's
    Gaussians, Bernoulli probabilities; None for emissions without a mean level
    (categorical, multinomial).
    """
    if hasattr(estimator, "rates_"):
        return np.asarray(estimator.rates_, dtype=float)
    means = getattr(estimator, "means_", None)
    if means is None:
        from emkit.estimators import BernoulliHMM

        if isinstance(estimator, BernoulliHMM):  # P(x_d = 1 | state) is the mean
            return np.asarray(estimator.emissionprob_, dtype=float)
        return None
    means = np.asarray(means, dtype=float)
    if means.ndim == 3:  # GMM-HMM: (K, n_mix, D)
        return np.einsum("km,kmd->kd", np.asarray(estimator.weights_), means)
    return means


def state_covariances(estimator: Any) -> np.ndarray | None:
    """Full (n_components, D, D) emission covariances of a Gaussian HMM, else None.

    Any covariance type, from the emission family's own storage. A GMM-HMM state is
    not one Gaussian, so it has none here.
    """
    family = getattr(getattr(estimator, "model_", None), "family", None)
    params = getattr(estimator, "params_", None)
    if params is None or not hasattr(family, "component_covariance"):
        return None
    return np.stack(
        [family.component_covariance(params.emission, k) for k in range(estimator.n_components)]
    )


def state_levels(estimator: Any, feature: int = 0) -> np.ndarray | None:
    """The mean of ``feature`` in every state, shape (n_components,), or None.

    A column of :func:`state_means`.
    """
    means = state_means(estimator)
    return None if means is None else means[:, feature]


def plot_decoded_states(
    estimator: Any,
    X: ArrayLike,
    lengths: ArrayLike | None = None,
    *,
    time: ArrayLike | None = None,
    feature: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    level_format: str = "{:.3g}",
    legend: bool = True,
) -> Axes:
    """Observations of one feature coloured by their Viterbi state, with the state levels.

    Every point is drawn in the colour of its state on the most probable path
    (``estimator.predict``); when the emission has a mean level (Poisson rates,
    Gaussian means) a step line follows the level of the decoded state, and colours
    and legend go from the lowest level to the highest.

    Parameters
    ----------
    estimator : fitted emkit HMM estimator (``GaussianHMM``, ``PoissonHMM``, ...)
    X : array-like of shape (n_samples, n_features)
    lengths : array-like of int, optional
        Sequence lengths, as in ``fit``; the level line breaks between sequences.
    time : array-like of shape (n_samples,), optional
        x-axis values (e.g. years); default 0, 1, ...
    feature : int, default=0
        Which feature to draw.
    ax : matplotlib Axes, optional
        Draw here; default: a new figure (Agg canvas, never shown).
    title : str, optional
    xlabel, ylabel : str, optional
        Axis labels; default ``"time step"`` (``"time"`` when ``time`` is given) and
        ``"feature {feature}"``.
    level_format : str
        Format of the state levels in the legend.
    legend : bool, default=True
        A legend titled "Viterbi state": one entry per state (its level and number
        of points), then the decoded level line.

    Returns
    -------
    ax : matplotlib Axes
    """
    X = np.asarray(X)
    if not 0 <= feature < X.shape[1]:
        raise ValueError(f"feature must be in 0 .. {X.shape[1] - 1}, got {feature}")
    states = estimator.predict(X, lengths)
    K = estimator.n_components
    if xlabel is None:
        xlabel = "time step" if time is None else "time"
    time = np.arange(X.shape[0]) if time is None else np.asarray(time)
    if time.shape != (X.shape[0],):
        raise ValueError(f"time must have shape ({X.shape[0]},), got {time.shape}")
    ax = axes_or_new(ax, figsize=(8.0, 3.5))
    colors = component_colors(K)
    levels = state_levels(estimator, feature)
    offsets = np.concatenate([[0], np.cumsum(lengths if lengths is not None else [len(X)])])
    if levels is not None:
        for n, (start, stop) in enumerate(itertools.pairwise(offsets)):
            ax.step(
                time[start:stop],
                levels[states[start:stop]],
                where="mid",
                color="0.35",
                linewidth=1.2,
                zorder=1,
                # one legend entry for all sequences; "_" labels are left out of legends
                label="level of the decoded state" if n == 0 else "_level",
            )
    # colours and legend follow the level (lowest first), so that figures of models
    # whose state numbers differ still agree
    order = np.arange(K) if levels is None else np.argsort(levels, kind="stable")
    colors = colors[np.argsort(order)]
    for k in order:
        on = states == k
        label = f"state {k}"
        if levels is not None:
            label += f" (level {level_format.format(levels[k])})"
        label += f", {on.sum()} points"
        ax.scatter(time[on], X[on, feature], s=16, color=colors[k], label=label, zorder=2)
    if legend:
        # the states first, then the level line
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda n: labels[n].startswith("level"))
        ax.legend(
            [handles[n] for n in order],
            [labels[n] for n in order],
            title="Viterbi state",
            loc="best",
            fontsize="small",
            title_fontsize="small",
            frameon=False,
        )
    if title is not None:
        ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"feature {feature}" if ylabel is None else ylabel)
    return ax
