"""Figure plumbing shared by the plot functions: Agg canvases, colours, output files.

matplotlib is imported inside the functions, so ``import emkit`` never needs it.
Figures are created as :class:`matplotlib.figure.Figure` objects with an Agg
canvas rather than through pyplot: no global backend switch, no figure registry
to leak into, nothing ever shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure


def require_matplotlib():
    """Import matplotlib, or raise an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "emkit.plot needs matplotlib; install it with `pip install 'emkit[plot]'`"
        ) from exc
    return matplotlib


def new_figure(figsize: tuple[float, float] = (6.0, 4.5), *, agg_canvas: bool = True) -> Figure:
    """A pyplot-free figure with constrained layout.

    With ``agg_canvas`` it gets an Agg canvas (``figure.canvas.draw()`` renders and
    ``buffer_rgba()`` works); without, the base canvas, whose idle draws are free —
    animations use that, since their writer renders every frame itself.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    if agg_canvas:
        FigureCanvasAgg(figure)
    return figure


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.5)) -> Axes:
    """``ax`` itself, or the axes of a new figure when ``ax`` is None."""
    if ax is not None:
        return ax
    return new_figure(figsize).add_subplot()


def component_colors(n_components: int) -> np.ndarray:
    """RGB colours of shape (n_components, 3): tab10, then tab20, then a colormap."""
    require_matplotlib()
    from matplotlib import colormaps

    if n_components <= 10:
        colors = colormaps["tab10"].colors[:n_components]
    elif n_components <= 20:
        colors = colormaps["tab20"].colors[:n_components]
    else:
        colors = colormaps["turbo"](np.linspace(0.05, 0.95, n_components))[:, :3]
    return np.asarray(colors, dtype=float)[:, :3]


def save_figure(figure: Figure | SubFigure, path: str | Path, dpi: float = 110) -> Path:
    """Write ``figure`` to ``path`` (format from the suffix), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path
