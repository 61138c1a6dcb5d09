"""Figures of hidden Markov models: a sequence with its decoded states."""

from __future__ import annotations

import itertools

import numpy as np

from emkit.plot._figure import axes_or_new, component_colors

__all__ = ["plot_decoded_states", "state_levels"]


def state_levels(estimator, feature: int = 0):
    """The mean of ``feature`` in every state, shape (n_components,), or None.

    Poisson rates, Gaussian means, or the weighted mean of a GMM-HMM state's
    Gaussians; None for emissions without a mean level (categorical, ...).
    """
    if hasattr(estimator, "rates_"):
        return np.asarray(estimator.rates_)[:, feature]
    means = getattr(estimator, "means_", None)
    if means is None:
        return None
    means = np.asarray(means)
    if means.ndim == 3:  # GMM-HMM: (K, n_mix, D)
        return np.einsum("km,km->k", np.asarray(estimator.weights_), means[:, :, feature])
    return means[:, feature]


def plot_decoded_states(
    estimator,
    X,
    lengths=None,
    *,
    time=None,
    feature: int = 0,
    ax=None,
    title: str | None = None,
    ylabel: str | None = None,
    level_format: str = "{:.3g}",
):
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
    title, ylabel : str, optional
    level_format : str
        Format of the state levels in the legend.

    Returns
    -------
    ax : matplotlib Axes
    """
    X = np.asarray(X)
    if not 0 <= feature < X.shape[1]:
        raise ValueError(f"feature must be in 0 .. {X.shape[1] - 1}, got {feature}")
    states = estimator.predict(X, lengths)
    K = estimator.n_components
    time = np.arange(X.shape[0]) if time is None else np.asarray(time)
    if time.shape != (X.shape[0],):
        raise ValueError(f"time must have shape ({X.shape[0]},), got {time.shape}")
    ax = axes_or_new(ax, figsize=(8.0, 3.5))
    colors = component_colors(K)
    levels = state_levels(estimator, feature)
    offsets = np.concatenate([[0], np.cumsum(lengths if lengths is not None else [len(X)])])
    if levels is not None:
        for start, stop in itertools.pairwise(offsets):
            ax.step(
                time[start:stop],
                levels[states[start:stop]],
                where="mid",
                color="0.35",
                linewidth=1.2,
                zorder=1,
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
    ax.legend(loc="best", fontsize="small", frameon=False)
    if title is not None:
        ax.set_title(title)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax
