"""Pair plots: every pair of features of a mixture or an HMM, with the marginals on the diagonal.

Panel (r, c) off the diagonal shows feature c (x) against feature r (y): the points
coloured by component or state, the means, and for Gaussian components the 1σ / 2σ
ellipses of the marginal covariance of the two features (exact for a Gaussian, so
every panel is a true projection of the fitted model). Diagonal panel (f, f) is the
histogram of feature f with the weighted component densities and their sum, or
vertical lines at the centres where the model has no covariances (k-means, Poisson).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._figure import new_figure
from emkit.plot._mixture import (
    MixtureGeometry,
    _checked_data,
    _geometry_for,
    component_labels,
    default_title,
    draw_mixture_1d,
    draw_mixture_2d,
    one_hot,
    responsibilities,
)
from emkit.plot.hmm import state_covariances, state_means

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_hmm_pairs", "plot_mixture_pairs"]


def _pair_features(X: np.ndarray, features) -> tuple[int, ...]:
    features = tuple(range(X.shape[1])) if features is None else tuple(int(f) for f in features)
    if len(features) < 2:
        raise ValueError(
            f"a pair plot needs at least 2 features, got {len(features)}; "
            "use plot_mixture_1d or plot_decoded_states for one feature"
        )
    _checked_data(X, len(features), features)  # range and distinctness
    return features


def draw_pair_grid(
    fig: Figure | SubFigure,
    geometry: MixtureGeometry,
    X: np.ndarray,
    resp: np.ndarray,
    features: Sequence[int],
    *,
    feature_names: Sequence[str] | None,
    labels: Sequence[str],
    density_labels: Sequence[str],
    mixture_label: str,
    color_by: str,
    n_std: float | Sequence[float],
    bins: int | str,
    point_size: float,
    legend: bool,
) -> np.ndarray:
    """Draw the (p, p) grid of :func:`plot_mixture_pairs` on ``fig``; return its axes."""
    p = len(features)
    names = [f"feature {f}" for f in features] if feature_names is None else list(feature_names)
    if len(names) != p:
        raise ValueError(f"feature_names must name the {p} features shown, got {len(names)}")
    axes = fig.subplots(p, p, squeeze=False)
    margin = 0.05 * (X.max(axis=0) - X.min(axis=0) + 1e-12)
    limits = [(X[:, f].min() - margin[f], X[:, f].max() + margin[f]) for f in range(X.shape[1])]
    for r, row_feature in enumerate(features):
        for c, column_feature in enumerate(features):
            ax = axes[r, c]
            if r == c:
                draw_mixture_1d(
                    ax,
                    geometry,
                    X[:, column_feature],
                    column_feature,
                    bins=bins,
                    labels=density_labels,
                    mixture_label=mixture_label,
                )
                ax.set_yticks([])  # a density scale, unlike the row's other panels
            else:
                draw_mixture_2d(
                    ax,
                    geometry,
                    X,
                    resp,
                    features=(column_feature, row_feature),
                    n_std=n_std,
                    color_by=color_by,
                    point_size=point_size,
                    labels=labels,
                )
                ax.set_ylim(limits[row_feature])
            ax.set_xlim(limits[column_feature])
            # names on the outer panels only, as in every scatter-plot matrix
            ax.set_xlabel(names[c] if r == p - 1 else "")
            ax.set_ylabel(names[r] if c == 0 else "")
            if r != p - 1:
                ax.tick_params(labelbottom=False)
            if c != 0 and r != c:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize="small")
    _label_first_row(axes, limits[features[0]])
    if legend:
        handles, texts = axes[1, 0].get_legend_handles_labels()
        fig.legend(handles, texts, loc="outside right center", fontsize="small", frameon=False)
    return axes


def _label_first_row(axes: np.ndarray, limits: tuple[float, float]) -> None:
    """Give the top-left (density) panel the y ticks of the first feature.

    The first row's scale is only readable at the left edge, which is a diagonal
    panel: ticks there are placed where the first feature's values would lie on the
    row's shared scale, and the other panels of the row get the same ticks.
    """
    from matplotlib.ticker import MaxNLocator

    low, high = limits
    ticks = MaxNLocator(nbins=5).tick_values(low, high)
    ticks = ticks[(ticks >= low) & (ticks <= high)]
    for ax in axes[0, 1:]:
        ax.set_yticks(ticks)
    bottom, top = axes[0, 0].get_ylim()
    positions = bottom + (ticks - low) / (high - low) * (top - bottom)
    axes[0, 0].set_yticks(positions, [f"{t:g}" for t in ticks])


def _grid_figure(fig, p: int):
    return new_figure(figsize=(2.2 * p + 2.2, 2.2 * p)) if fig is None else fig


def plot_mixture_pairs(
    estimator: Any,
    X: ArrayLike,
    *,
    features: Sequence[int] | None = None,
    feature_names: Sequence[str] | None = None,
    n_std: float | Sequence[float] = (1.0, 2.0),
    color_by: str = "responsibility",
    bins: int | str = "auto",
    params: Any = None,
    fig: Figure | SubFigure | None = None,
    title: str | None = None,
    legend: bool = True,
    point_size: float = 8.0,
) -> np.ndarray:
    """A scatter-plot matrix of a fitted mixture: every pair of features, and the marginals.

    The view of a mixture with more than two features (see the module docstring);
    with two it is :func:`plot_mixture_2d` plus the two marginals.

    Parameters
    ----------
    estimator : fitted GaussianMixture, StudentMixture or KMeans
        Any covariance type. k-means shows its centres and cluster sizes, with no
        ellipses and no weights (it has none).
    X : array-like of shape (n_samples, n_features)
    features : sequence of int, optional
        The columns shown, in this order (at least 2); default all.
    feature_names : sequence of str, optional
        One name per shown feature (axis labels of the outer panels).
    n_std : float or sequence of float
        Ellipse levels, in standard deviations, as in :func:`plot_mixture_2d`.
    color_by : {"responsibility", "label"}
    bins : int or str
        Histogram bins of the diagonal panels.
    params : MixtureParams, optional
        Draw these parameters instead of the fitted ones.
    fig : matplotlib Figure or SubFigure, optional
        Draw here (it should be empty); default: a new figure sized for the grid
        (Agg canvas, never shown).
    title : str, optional
        Figure title; default the estimator class and its number of components.
    legend : bool
        One figure legend: the components (weights, or k-means' cluster sizes) and
        the ellipse levels.
    point_size : float

    Returns
    -------
    axes : ndarray of matplotlib Axes, shape (p, p)
        ``axes[r, c]`` shows feature ``features[c]`` against ``features[r]``; the
        figure is ``axes[0, 0].figure``.
    """
    if color_by not in ("responsibility", "label"):
        raise ValueError(f"color_by must be 'responsibility' or 'label', got {color_by!r}")
    X = _checked_data(X, 0, ())
    features = _pair_features(X, features)
    geometry = _geometry_for(estimator, params, X)
    resp = responsibilities(estimator, X, params)
    fig = _grid_figure(fig, len(features))
    noun = "component" if geometry.weights is not None else "cluster"
    K = geometry.means.shape[0]
    axes = draw_pair_grid(
        fig,
        geometry,
        X,
        resp,
        features,
        feature_names=feature_names,
        labels=component_labels(geometry, resp),
        density_labels=[f"{noun} {k}" for k in range(K)],
        mixture_label="mixture",
        color_by=color_by,
        n_std=n_std,
        bins=bins,
        point_size=point_size,
        legend=legend,
    )
    fig.suptitle(default_title(estimator, geometry) if title is None else title)
    return axes


def plot_hmm_pairs(
    estimator: Any,
    X: ArrayLike,
    lengths: ArrayLike | None = None,
    *,
    features: Sequence[int] | None = None,
    feature_names: Sequence[str] | None = None,
    n_std: float | Sequence[float] = (1.0, 2.0),
    bins: int | str = "auto",
    fig: Figure | SubFigure | None = None,
    title: str | None = None,
    legend: bool = True,
    point_size: float = 8.0,
) -> np.ndarray:
    """A scatter-plot matrix of an HMM's observations, coloured by their Viterbi state.

    What :func:`plot_decoded_states` shows of one feature over time, this shows of
    every pair of features, ignoring time: each state's mean emission (marker) and,
    for a :class:`~emkit.GaussianHMM` of any covariance type, its 1σ / 2σ
    ellipses. The diagonal panels weight every state's density by its share of the
    posterior state probabilities, (1/T) Σ_t P(z_t = k | x), so their sum is the
    model's marginal density of one observation.

    Parameters
    ----------
    estimator : fitted GaussianHMM, GMMHMM, PoissonHMM or BernoulliHMM
        (states need a mean emission; a GMM-HMM state is drawn by its mean only).
    X : array-like of shape (n_samples, n_features), n_features >= 2
    lengths : array-like of int, optional
        Sequence lengths, as in ``fit``.
    features, feature_names, n_std, bins, fig, title, legend, point_size :
        As in :func:`plot_mixture_pairs`.

    Returns
    -------
    axes : ndarray of matplotlib Axes, shape (p, p)
        ``axes[r, c]`` shows feature ``features[c]`` against ``features[r]``.
    """
    X = _checked_data(X, 0, ())
    features = _pair_features(X, features)
    means = state_means(estimator)
    if means is None:
        raise ValueError(
            f"{type(estimator).__name__}'s states have no mean emission to draw in a pair plot"
        )
    if means.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the model was fitted on {means.shape[1]}"
        )
    states = estimator.predict(X, lengths)
    occupancy = estimator.predict_proba(X, lengths).mean(axis=0)
    geometry = MixtureGeometry(occupancy, means, state_covariances(estimator))
    K = means.shape[0]
    resp = one_hot(states, K)
    sizes = np.bincount(states, minlength=K)
    fig = _grid_figure(fig, len(features))
    axes = draw_pair_grid(
        fig,
        geometry,
        X,
        resp,
        features,
        feature_names=feature_names,
        labels=[f"state {k}  ({n} points)" for k, n in enumerate(sizes)],
        density_labels=[f"state {k}" for k in range(K)],
        mixture_label="all states",
        color_by="label",
        n_std=n_std,
        bins=bins,
        point_size=point_size,
        legend=legend,
    )
    if title is None:
        title = f"{type(estimator).__name__}: {K} states, points by Viterbi state"
    fig.suptitle(title)
    return axes
