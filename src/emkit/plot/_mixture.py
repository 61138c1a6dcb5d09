"""Figures of fitted mixtures: points coloured by responsibility, covariance ellipses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit.plot._figure import axes_or_new, component_colors, require_matplotlib

__all__ = ["MixtureGeometry", "mixture_geometry", "plot_mixture_1d", "plot_mixture_2d"]


@dataclass(frozen=True)
class MixtureGeometry:
    """What a figure needs from a mixture, in plain arrays.

    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D), or None when the model has no
        component covariances to draw (k-means: its fixed variance is not a fitted
        quantity).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None


def _is_kmeans(estimator) -> bool:
    from emkit.estimators import KMeans

    return isinstance(estimator, KMeans)


def _check_fitted(estimator):
    if not hasattr(estimator, "params_"):
        raise ValueError(f"{type(estimator).__name__} is not fitted; call fit before plotting it")


def mixture_geometry(estimator, params=None) -> MixtureGeometry:
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
    weights = np.full(K, 1.0 / K) if params.weights is None else np.asarray(params.weights)
    family = getattr(getattr(estimator, "model_", None), "family", None)
    covariances = None
    if not _is_kmeans(estimator) and hasattr(family, "component_covariance"):
        # the family knows its own storage (full, tied, diag, spherical); ask it
        covariances = np.stack(
            [family.component_covariance(params.components, k) for k in range(K)]
        )
    return MixtureGeometry(weights, means, covariances)


def responsibilities(estimator, X, params=None) -> np.ndarray:
    """Posterior component probabilities, shape (n_samples, K); one-hot for k-means.

    ``params`` (optional) replaces the fitted parameters, as in :func:`mixture_geometry`.
    """
    _check_fitted(estimator)
    params = estimator.params_ if params is None else params
    if _is_kmeans(estimator):
        means = np.asarray(params.components.means)
        distances = ((X[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
        resp = np.zeros_like(distances)
        resp[np.arange(X.shape[0]), distances.argmin(axis=1)] = 1.0
        return resp
    return estimator.model_.posterior(params, X)[1]


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


def draw_mixture_2d(
    ax,
    geometry: MixtureGeometry,
    X: np.ndarray,
    resp: np.ndarray,
    *,
    features=(0, 1),
    n_std=(1.0, 2.0),
    color_by: str = "responsibility",
    point_size: float = 12.0,
    feature_names=None,
):
    """Draw points, ellipses and means on ``ax`` (the work of :func:`plot_mixture_2d`)."""
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
    n_std = (n_std,) if np.isscalar(n_std) else tuple(n_std)
    for k in range(K):
        mean = geometry.means[k, [i, j]]
        if geometry.covariances is not None:
            block = geometry.covariances[k][np.ix_([i, j], [i, j])]
            for level, n in enumerate(n_std):
                width, height, angle = ellipse_geometry(block, n)
                ellipse = Ellipse(
                    tuple(mean),
                    width,
                    height,
                    angle=angle,
                    fill=False,
                    edgecolor=colors[k],
                    linewidth=2.0 if level == 0 else 1.3,
                    linestyle="-" if level == 0 else "--",
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
            label=f"component {k}  (weight {geometry.weights[k]:.2f})",
        )
    names = feature_names or [f"feature {i}", f"feature {j}"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    return ax


def plot_mixture_2d(
    estimator,
    X,
    ax=None,
    *,
    features=(0, 1),
    n_std=(1.0, 2.0),
    color_by: str = "responsibility",
    feature_names=None,
    params=None,
    title: str | None = None,
    legend: bool = True,
):
    """Scatter of the data with each component's mean and covariance ellipses.

    Parameters
    ----------
    estimator : fitted GaussianMixture or KMeans
        Any covariance type: the ellipses come from the family's full (D, D)
        covariance of every component (k-means draws centres only).
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, optional
        Drawn on a new figure (Agg canvas) when None.
    features : (int, int)
        The two columns to show; the ellipses are the marginal covariances of
        these features (exact for a Gaussian).
    n_std : float or sequence of float
        Contours drawn, in standard deviations (Mahalanobis radius); the first is
        solid, the others dashed.
    color_by : {"responsibility", "label"}
        Blend the component colours by posterior probability, or colour every
        point by its most probable component.
    feature_names : (str, str), optional
        Axis labels.
    params : MixtureParams, optional
        Draw these parameters instead of the fitted ones.
    title : str, optional
    legend : bool

    Returns
    -------
    matplotlib.axes.Axes
        With one ``Ellipse`` patch per component and contour level (gid
        ``"ellipse-{k}-{n_std}"``) and one marker line per component mean.
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
    if title is None:
        title = f"{type(estimator).__name__}: {geometry.means.shape[0]} components"
    ax.set_title(title)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax


def plot_mixture_1d(
    estimator,
    X,
    ax=None,
    *,
    feature: int = 0,
    bins="auto",
    feature_name: str | None = None,
    params=None,
    title: str | None = None,
    legend: bool = True,
):
    """Histogram of one feature with the weighted component densities and their sum.

    Parameters
    ----------
    estimator : fitted GaussianMixture or KMeans
    X : array-like of shape (n_samples, n_features)
    ax : matplotlib Axes, optional
    feature : int
        The column shown; the curves are the components' marginal densities
        π_k N(x | μ_k[f], Σ_k[f, f]) (k-means: vertical lines at the centres).
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
    x = X[:, feature]
    colors = component_colors(geometry.means.shape[0])
    ax.hist(x, bins=bins, density=True, color="0.8", edgecolor="white", label="data")
    span = x.max() - x.min() or 1.0
    grid = np.linspace(x.min() - 0.1 * span, x.max() + 0.1 * span, 400)
    if geometry.covariances is None:
        for k, center in enumerate(geometry.means[:, feature]):
            ax.axvline(center, color=colors[k], linewidth=2, label=f"component {k}")
    else:
        total = np.zeros_like(grid)
        for k in range(geometry.means.shape[0]):
            variance = geometry.covariances[k][feature, feature]
            density = np.exp(-0.5 * (grid - geometry.means[k, feature]) ** 2 / variance)
            density *= geometry.weights[k] / np.sqrt(2 * np.pi * variance)
            total += density
            ax.plot(grid, density, color=colors[k], linewidth=1.8, label=f"component {k}")
        ax.plot(grid, total, color="black", linewidth=1.2, linestyle="--", label="mixture")
    ax.set_xlabel(feature_name or f"feature {feature}")
    ax.set_ylabel("density")
    ax.set_title(title or f"{type(estimator).__name__}: {geometry.means.shape[0]} components")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax
