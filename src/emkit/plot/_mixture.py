"""Figures of fitted mixtures: points coloured by responsibility, covariance ellipses.

k-means is drawn as what it is, a partition: its centres, the size of every cluster
and (with two features) its Voronoi cells, never mixture weights or ellipses, since
its equal weights and shared variance are fixed, not fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._figure import axes_or_new, component_colors, require_matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MixtureGeometry", "mixture_geometry", "plot_mixture_1d", "plot_mixture_2d"]

#: line styles of the contour levels: the first solid, then dashed, dotted, dash-dotted
LEVEL_STYLES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class MixtureGeometry:
    """What a figure needs from a mixture, in plain arrays.

    Attributes
    ----------
    weights : ndarray of shape (K,), or None when the model has no fitted weights
        (k-means: its weights are fixed at 1/K).
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D), or None when the model has no
        component covariances to draw (k-means: its fixed variance is not a fitted
        quantity).
    """

    weights: np.ndarray | None
    means: np.ndarray
    covariances: np.ndarray | None


def _is_kmeans(estimator) -> bool:
    from emkit.estimators import KMeans

    return isinstance(estimator, KMeans)


def _check_fitted(estimator):
    if not hasattr(estimator, "params_"):
        raise ValueError(f"{type(estimator).__name__} is not fitted; call fit before plotting it")


def mixture_geometry(estimator: Any, params: Any = None) -> MixtureGeometry:
    """Weights, means and full covariance matrices of a fitted mixture estimator.

    Parameters
    ----------
    estimator : fitted GaussianMixture or KMeans (or another mixture estimator whose
        family has ``component_covariance``)
    params : MixtureParams, optional
        Parameters to use instead of the fitted ``estimator.params_`` (for example
        the intermediate parameters of an EM run, as in :func:`animate_em`).
    """
    _check_fitted(estimator)
    params = estimator.params_ if params is None else params
    means = np.asarray(params.components.means, dtype=float)
    K = means.shape[0]
    if _is_kmeans(estimator):
        return MixtureGeometry(None, means, None)
    weights = np.full(K, 1.0 / K) if params.weights is None else np.asarray(params.weights)
    family = getattr(getattr(estimator, "model_", None), "family", None)
    covariances = None
    if hasattr(family, "component_covariance"):
        # the family knows its own storage (full, tied, diag, spherical); ask it
        covariances = np.stack(
            [family.component_covariance(params.components, k) for k in range(K)]
        )
    return MixtureGeometry(weights, means, covariances)


def responsibilities(estimator: Any, X: ArrayLike, params: Any = None) -> np.ndarray:
    """Posterior component probabilities, shape (n_samples, K); one-hot for k-means.

    ``params`` (optional) replaces the fitted parameters, as in :func:`mixture_geometry`.
    """
    _check_fitted(estimator)
    params = estimator.params_ if params is None else params
    X = np.asarray(X, dtype=float)
    if _is_kmeans(estimator):
        centres = np.asarray(params.components.means)
        return one_hot(nearest_centre(X, centres), centres.shape[0])
    return estimator.model_.posterior(params, X)[1]


def nearest_centre(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (Euclidean) of every row of X, shape (n_samples,)."""
    distances = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


def one_hot(labels: np.ndarray, n_components: int) -> np.ndarray:
    """(n_samples, n_components) indicator matrix of integer labels."""
    resp = np.zeros((labels.shape[0], n_components))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp


def _checked_data(X, n_features_needed: int, features) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features); got {X.shape}")
    for f in features:
        if not 0 <= f < X.shape[1]:
            raise ValueError(f"feature index {f} is out of range for X with {X.shape[1]} columns")
    if len(set(features)) != n_features_needed:
        raise ValueError(f"features must be {n_features_needed} distinct column indices")
    return X


def _geometry_for(estimator, params, X) -> MixtureGeometry:
    geometry = mixture_geometry(estimator, params)
    if geometry.means.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the model was fitted on {geometry.means.shape[1]}"
        )
    return geometry


def ellipse_geometry(covariance_2x2: np.ndarray, n_std: float) -> tuple[float, float, float]:
    """(width, height, angle in degrees) of the ``n_std`` contour of a 2-D Gaussian.

    The contour {x : (x-μ)ᵀ Σ⁻¹ (x-μ) = n_std²} is an ellipse whose axes are the
    eigenvectors of Σ, with half-lengths n_std √λ.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariance_2x2)
    eigenvalues = np.maximum(eigenvalues, 0.0)
    major = eigenvectors[:, 1]
    angle = float(np.degrees(np.arctan2(major[1], major[0])))
    return (
        float(2 * n_std * np.sqrt(eigenvalues[1])),
        float(2 * n_std * np.sqrt(eigenvalues[0])),
        angle,
    )


def component_labels(geometry: MixtureGeometry, resp: np.ndarray, name: str = "component"):
    """Legend entries: ``"component k (weight w)"``, or ``"cluster k (n points)"`` for k-means."""
    if geometry.weights is not None:
        return [f"{name} {k}  (weight {w:.2f})" for k, w in enumerate(geometry.weights)]
    sizes = np.bincount(resp.argmax(axis=1), minlength=geometry.means.shape[0])
    return [f"cluster {k}  ({n} points)" for k, n in enumerate(sizes)]


def _levels(n_std) -> tuple[float, ...]:
    levels = (float(n_std),) if np.isscalar(n_std) else tuple(float(n) for n in n_std)
    if not levels or any(not np.isfinite(n) or n <= 0 for n in levels):
        raise ValueError(f"n_std must be positive numbers of standard deviations, got {n_std!r}")
    return levels


def draw_mixture_2d(
    ax: Axes,
    geometry: MixtureGeometry,
    X: np.ndarray,
    resp: np.ndarray,
    *,
    features: Sequence[int] = (0, 1),
    n_std: float | Sequence[float] = (1.0, 2.0),
    color_by: str = "responsibility",
    point_size: float = 12.0,
    feature_names: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    sigma_legend: bool = True,
) -> Axes:
    """Draw points, ellipses and means on ``ax`` (the work of :func:`plot_mixture_2d`).

    ``labels`` name the component means in the legend (default
    :func:`component_labels`); with ``sigma_legend``, one grey legend line per
    contour level says which line style is which (``"1σ ellipse"``, ``"2σ ellipse"``).
    """
    require_matplotlib()
    from matplotlib.patches import Ellipse

    i, j = features
    K = geometry.means.shape[0]
    colors = component_colors(K)
    if color_by == "responsibility":
        # soft assignments blend the component colours: uncertain points look mixed
        point_colors = np.clip(resp @ colors, 0.0, 1.0)
    else:
        point_colors = colors[resp.argmax(axis=1)]
    ax.scatter(X[:, i], X[:, j], s=point_size, c=point_colors, alpha=0.75, linewidths=0)
    levels = _levels(n_std)
    labels = component_labels(geometry, resp) if labels is None else labels
    for k in range(K):
        mean = geometry.means[k, [i, j]]
        if geometry.covariances is not None:
            block = geometry.covariances[k][np.ix_([i, j], [i, j])]
            for level, n in enumerate(levels):
                width, height, angle = ellipse_geometry(block, n)
                ellipse = Ellipse(
                    tuple(mean),
                    width,
                    height,
                    angle=angle,
                    fill=False,
                    edgecolor=colors[k],
                    linewidth=2.0 if level == 0 else 1.3,
                    linestyle=LEVEL_STYLES[level % len(LEVEL_STYLES)],
                )
                ellipse.set_gid(f"ellipse-{k}-{n:g}")
                ax.add_patch(ellipse)
        ax.plot(
            *mean,
            marker="X",
            markersize=11,
            markerfacecolor=colors[k],
            markeredgecolor="black",
            linestyle="none",
            label=labels[k],
        )
    if sigma_legend and geometry.covariances is not None:
        # empty lines: legend entries for the line styles, nothing drawn
        for level, n in enumerate(levels):
            ax.plot(
                [],
                [],
                color="0.3",
                linewidth=2.0 if level == 0 else 1.3,
                linestyle=LEVEL_STYLES[level % len(LEVEL_STYLES)],
                label=f"{n:g}σ ellipse",
                gid=f"sigma-{n:g}",
            )
    names = feature_names or [f"feature {i}", f"feature {j}"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    return ax


def draw_voronoi_cells(ax: Axes, centres: np.ndarray, *, alpha: float = 0.12, resolution=300):
    """Shade the nearest-centre cell of every centre over the current axis limits.

    Exact only when the two plotted features are all the features of the centres.
    """
    colors = component_colors(centres.shape[0])
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    xx, yy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    cells = nearest_centre(np.column_stack([xx.ravel(), yy.ravel()]), centres)
    contour = ax.contourf(
        xx,
        yy,
        cells.reshape(xx.shape),
        levels=np.arange(centres.shape[0] + 1) - 0.5,
        colors=[tuple(c) for c in colors],
        alpha=alpha,
        zorder=0,
    )
    contour.set_gid("voronoi")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return contour


def default_title(estimator: Any, geometry: MixtureGeometry) -> str:
    K = geometry.means.shape[0]
    noun = "clusters" if geometry.weights is None else "components"
    return f"{type(estimator).__name__}: {K} {noun}"


def plot_mixture_2d(
    estimator: Any,
    X: ArrayLike,
    ax: Axes | None = None,
    *,
    features: Sequence[int] = (0, 1),
    n_std: float | Sequence[float] = (1.0, 2.0),
    color_by: str = "responsibility",
    feature_names: Sequence[str] | None = None,
    params: Any = None,
    title: str | None = None,
    legend: bool = True,
    regions: bool | None = None,
) -> Axes:
    """Scatter of the data with each component's mean and covariance ellipses.

    Parameters
    ----------
    estimator : fitted GaussianMixture or KMeans
        Any covariance type: the ellipses come from the family's full (D, D)
        covariance of every component. k-means draws its centres, labelled with
        the size of every cluster (it has no fitted weights), and no ellipses.
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, optional
        Drawn on a new figure (Agg canvas) when None.
    features : (int, int)
        The two columns to show; the ellipses are the marginal covariances of
        these features (exact for a Gaussian).
    n_std : float or sequence of float
        Contours drawn, in standard deviations (Mahalanobis radius); the first is
        solid, the next dashed, then dotted; the legend names each.
    color_by : {"responsibility", "label"}
        Blend the component colours by posterior probability, or colour every
        point by its most probable component.
    feature_names : (str, str), optional
        Axis labels.
    params : MixtureParams, optional
        Draw these parameters instead of the fitted ones.
    title : str, optional
    legend : bool
    regions : bool, optional
        Shade k-means' Voronoi cells (the region every centre claims). Default:
        for k-means on two features, where the cells in the plane are exact.

    Returns
    -------
    matplotlib.axes.Axes
        With one ``Ellipse`` patch per component and contour level (gid
        ``"ellipse-{k}-{n_std}"``), one marker line per component mean, and one
        empty legend line per contour level (gid ``"sigma-{n_std}"``).
    """
    if color_by not in ("responsibility", "label"):
        raise ValueError(f"color_by must be 'responsibility' or 'label', got {color_by!r}")
    features = tuple(int(f) for f in features)
    X = _checked_data(X, 2, features)
    geometry = _geometry_for(estimator, params, X)
    ax = axes_or_new(ax)
    resp = responsibilities(estimator, X, params)
    draw_mixture_2d(
        ax,
        geometry,
        X,
        resp,
        features=features,
        n_std=n_std,
        color_by=color_by,
        feature_names=feature_names,
    )
    if regions is None:
        regions = geometry.weights is None and X.shape[1] == 2
    if regions:
        if geometry.weights is not None:
            raise ValueError("regions are drawn for k-means only (a mixture's cells are soft)")
        ax.autoscale_view()
        draw_voronoi_cells(ax, geometry.means[:, list(features)])
    ax.set_title(default_title(estimator, geometry) if title is None else title)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax


def draw_mixture_1d(
    ax: Axes,
    geometry: MixtureGeometry,
    x: np.ndarray,
    feature: int,
    *,
    bins: int | str = "auto",
    labels: Sequence[str] | None = None,
    mixture_label: str = "mixture",
) -> Axes:
    """Histogram of ``x`` with the weighted component densities of ``feature`` and their sum.

    Without covariances (k-means) or without weights, vertical lines at the centres.
    """
    K = geometry.means.shape[0]
    colors = component_colors(K)
    names = [f"component {k}" for k in range(K)] if labels is None else labels
    ax.hist(x, bins=bins, density=True, color="0.8", edgecolor="white", label="data")
    span = x.max() - x.min() or 1.0
    grid = np.linspace(x.min() - 0.1 * span, x.max() + 0.1 * span, 400)
    if geometry.covariances is None or geometry.weights is None:
        for k, center in enumerate(geometry.means[:, feature]):
            ax.axvline(center, color=colors[k], linewidth=2, label=names[k])
        return ax
    total = np.zeros_like(grid)
    for k in range(K):
        variance = geometry.covariances[k][feature, feature]
        density = np.exp(-0.5 * (grid - geometry.means[k, feature]) ** 2 / variance)
        density *= geometry.weights[k] / np.sqrt(2 * np.pi * variance)
        total += density
        ax.plot(grid, density, color=colors[k], linewidth=1.8, label=names[k])
    ax.plot(grid, total, color="black", linewidth=1.2, linestyle="--", label=mixture_label)
    return ax


def plot_mixture_1d(
    estimator: Any,
    X: ArrayLike,
    ax: Axes | None = None,
    *,
    feature: int = 0,
    bins: int | str = "auto",
    feature_name: str | None = None,
    params: Any = None,
    title: str | None = None,
    legend: bool = True,
) -> Axes:
    """Histogram of one feature with the weighted component densities and their sum.

    Parameters
    ----------
    estimator : fitted GaussianMixture or KMeans
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, optional
    feature : int
        The column shown; the curves are the components' marginal densities
        π_k N(x | μ_k[f], Σ_k[f, f]) (k-means: vertical lines at the centres,
        labelled ``"cluster k"``).
    bins : int or str
        Passed to ``Axes.hist``.
    feature_name, params, title, legend : as in :func:`plot_mixture_2d`

    Returns
    -------
    matplotlib.axes.Axes
        With one line per component density (label ``"component k"``), plus the
        mixture density (label ``"mixture"``).
    """
    feature = int(feature)
    X = _checked_data(X, 1, (feature,))
    geometry = _geometry_for(estimator, params, X)
    ax = axes_or_new(ax)
    K = geometry.means.shape[0]
    noun = "component" if geometry.weights is not None else "cluster"
    draw_mixture_1d(
        ax, geometry, X[:, feature], feature, bins=bins, labels=[f"{noun} {k}" for k in range(K)]
    )
    ax.set_xlabel(feature_name or f"feature {feature}")
    ax.set_ylabel("density")
    ax.set_title(default_title(estimator, geometry) if title is None else title)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax
