"""The figure of a model selection: a criterion against the number of components."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emkit.plot._figure import axes_or_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from emkit.estimators.selection import ModelSelection

__all__ = ["plot_model_selection"]

_NAMES = {"bic": "BIC", "aic": "AIC", "icl": "ICL"}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_model_selection(
    selection: ModelSelection,
    ax: Axes | None = None,
    *,
    criterion: str | None = None,
    mark_best: bool = True,
    title: str | None = None,
) -> Axes:
    """A criterion of every fit against K, one line per covariance type.

    The figure of R's ``plot(Mclust(...), what = "BIC")``, in emkit's sign convention:
    lower is better, so the best fit is the lowest point. A failed fit leaves a gap in
    its line.

    Parameters
    ----------
    selection : :class:`emkit.estimators.selection.ModelSelection`
        What :func:`emkit.estimators.selection.select_model` returned.
    ax : matplotlib Axes, optional
        Draw here; default: a new figure (Agg canvas, never shown).
    criterion : {"bic", "aic", "icl"}, optional
        Default: the criterion the selection ranked by.
    mark_best : bool, default=True
        Circle the lowest point of the criterion drawn (the best fit by it), with a
        legend entry naming it.
    title : str, optional
        Default: the estimator class and the best fit by the criterion drawn.

    Returns
    -------
    ax : matplotlib Axes
        One line per covariance type (label: the type, or the estimator class for a
        class without one), x = ``selection.n_components``, y = the criterion.
    """
    name = selection.criterion if criterion is None else str(criterion).lower()
    values = selection.grid(name)  # (n_types, n_K); validates the name
    ax = axes_or_new(ax)
    ks = np.asarray(selection.n_components)
    for row, kind in enumerate(selection.covariance_types):
        label = selection.estimator_name if kind is None else kind
        ax.plot(ks, values[row], marker=_MARKERS[row % len(_MARKERS)], label=label)
    if mark_best and np.isfinite(values).any():
        row, col = np.unravel_index(np.nanargmin(values), values.shape)
        kind = selection.covariance_types[row]
        which = f"K={ks[col]}" + ("" if kind is None else f", {kind}")
        ax.plot(
            ks[col],
            values[row, col],
            linestyle="none",
            marker="o",
            markersize=16,
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=1.5,
            label=f"best: {which}",
            gid="best",
        )
    label = _NAMES[name]
    ax.set_xlabel("number of components K")
    ax.set_ylabel(f"{label} (lower is better)")
    ax.set_xticks(ks)
    if title is None:
        ranked = selection.rank_by(name)
        parts = ", ".join(f"{key}={value}" for key, value in ranked.best_params_.items())
        title = f"{selection.estimator_name}: best by {label} is {parts}"
    ax.set_title(title)
    ax.legend(title="covariance type" if selection.covariance_types != (None,) else None)
    return ax
