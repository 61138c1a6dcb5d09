"""Animated GIF of EM converging, from the engine's per-iteration callback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._convergence import _integer_ticks, log_likelihood_path
from emkit.plot._figure import new_figure
from emkit.plot._mixture import (
    _checked_data,
    draw_mixture_2d,
    mixture_geometry,
    responsibilities,
)

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation

__all__ = ["animate_em", "record_em"]


def record_em(estimator: Any, X: ArrayLike, **fit_params: Any) -> list:
    """Fit ``estimator`` to ``X`` and return its parameters at every EM iteration.

    Parameters
    ----------
    estimator : GaussianMixture, KMeans or another estimator whose ``fit`` accepts
        ``callback(restart, iteration, params)``
    X : array-like of shape (n_samples, n_features)
    **fit_params : passed to ``fit`` (e.g. ``sample_weight``)

    Returns
    -------
    list of parameter containers, length ``estimator.n_iter_ + 1``
        The starting parameters, then those after every M-step, of the restart
        that was kept (the last one is ``estimator.params_``). The estimator is
        fitted in place.
    """
    runs: dict[int, list] = {}

    def record(restart, iteration, params):
        runs.setdefault(restart, []).append(params)

    estimator.fit(X, callback=record, **fit_params)
    for run in runs.values():
        if run[-1] is estimator.params_:
            return run
    return runs[max(runs)]  # pragma: no cover - the engine always returns a recorded object


def _gif_writer(fps: float, hold_last: float):
    """A movie writer for GIFs (Pillow) whose last frame stays ``hold_last`` seconds.

    matplotlib's PillowWriter gives every frame the same duration, so holding the
    final state would cost many identical, separately rendered frames.
    """
    from io import BytesIO

    from matplotlib.animation import AbstractMovieWriter
    from PIL import Image

    class HoldingGifWriter(AbstractMovieWriter):
        def setup(self, fig, outfile, dpi=None):
            super().setup(fig, outfile, dpi=dpi)
            self._images = []

        def grab_frame(self, **savefig_kwargs):
            buffer = BytesIO()
            self.fig.savefig(buffer, **{**savefig_kwargs, "format": "rgba", "dpi": self.dpi})
            image = Image.frombuffer(
                "RGBA", self.frame_size, buffer.getbuffer(), "raw", "RGBA", 0, 1
            )
            self._images.append(image.convert("RGB"))  # opaque: RGB quantises better

        def finish(self):
            if not self._images:  # saving failed before the first frame
                return
            step = round(1000 / self.fps)
            durations = [step] * (len(self._images) - 1) + [max(step, round(1000 * hold_last))]
            self._images[0].save(
                self.outfile,
                save_all=True,
                append_images=self._images[1:],
                duration=durations,
                loop=0,
                optimize=True,
            )

    return HoldingGifWriter(fps=fps)


def _frame_indices(n_snapshots: int, max_frames: int) -> np.ndarray:
    if n_snapshots <= max_frames:
        return np.arange(n_snapshots)
    return np.unique(np.linspace(0, n_snapshots - 1, max_frames).round().astype(int))


def animate_em(
    estimator: Any,
    X: ArrayLike,
    path: str | Path | None = None,
    *,
    features: Sequence[int] = (0, 1),
    feature_names: Sequence[str] | None = None,
    fps: float = 4.0,
    dpi: int = 80,
    max_frames: int = 60,
    hold_last: float = 2.0,
    figsize: tuple[float, float] = (9.0, 3.9),
    title: str | None = None,
    **fit_params: Any,
) -> FuncAnimation:
    """Fit ``estimator`` by EM and animate its iterations; optionally write a GIF.

    Every frame shows, on the left, the data coloured by the current
    responsibilities with each component's mean and 1σ/2σ covariance ellipses and,
    on the right, the log-likelihood so far. Start from a poor initialisation
    (e.g. ``means_init``) to see the components travel.

    Parameters
    ----------
    estimator : unfitted or fitted GaussianMixture / KMeans
        Fitted in place on ``X`` (its ``fit`` receives a recording callback).
    X : array-like of shape (n_samples, n_features), n_features >= 2
    path : str or Path, optional
        Where to write the animated GIF (Pillow). For other formats, call
        ``save`` on the returned animation with a writer of your choice.
    features : (int, int)
        The two columns shown.
    feature_names : (str, str), optional
    fps : float
        Frames per second of the GIF.
    dpi : int
        Resolution of the frames (the GIF's size grows with dpi²).
    max_frames : int
        Longer runs show this many evenly spaced iterations (first and last kept).
    hold_last : float
        Seconds the final frame is held before the GIF loops.
    figsize : (float, float)
        Inches.
    title : str, optional
        Prefix of the frame titles.
    **fit_params : passed to ``estimator.fit``

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Its ``frame_seq`` holds the iteration shown by every frame.
    """
    from matplotlib.animation import FuncAnimation

    features = tuple(int(f) for f in features)
    X = _checked_data(X, 2, features)
    if max_frames < 2:
        raise ValueError(f"max_frames must be >= 2, got {max_frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    snapshots = record_em(estimator, X, **fit_params)
    log_likelihood = log_likelihood_path(estimator)
    shown = _frame_indices(len(snapshots), max_frames)
    frames = list(shown)

    # base canvas: the animation's idle redraws are no-ops, the writer renders once a frame
    figure = new_figure(figsize, agg_canvas=False)
    data_ax, curve_ax = figure.subplots(1, 2, width_ratios=(1.35, 1.0))
    i, j = features
    margin = 0.08 * (X.max(axis=0) - X.min(axis=0))
    xlim = (X[:, i].min() - margin[i], X[:, i].max() + margin[i])
    ylim = (X[:, j].min() - margin[j], X[:, j].max() + margin[j])
    spread = log_likelihood[-1] - log_likelihood.min()
    curve_ylim = (log_likelihood.min() - 0.05 * spread, log_likelihood[-1] + 0.1 * spread + 1e-9)
    iterations = np.arange(log_likelihood.size)
    prefix = f"{title}: " if title else ""

    def draw(index):
        params = snapshots[index]
        data_ax.clear()
        draw_mixture_2d(
            data_ax,
            mixture_geometry(estimator, params),
            X,
            responsibilities(estimator, X, params),
            features=features,
            feature_names=feature_names,
            point_size=10,
        )
        data_ax.set_xlim(xlim)
        data_ax.set_ylim(ylim)
        data_ax.set_title(f"{prefix}EM iteration {index}")
        curve_ax.clear()
        curve_ax.plot(iterations, log_likelihood, color="0.85", linewidth=1.5)
        curve_ax.plot(iterations[: index + 1], log_likelihood[: index + 1], color="tab:blue")
        curve_ax.plot(index, log_likelihood[index], "o", color="tab:red", markersize=6)
        curve_ax.set_ylim(curve_ylim)
        curve_ax.set_xlabel("EM iteration")
        _integer_ticks(curve_ax)
        curve_ax.set_ylabel("log-likelihood (nats)")
        curve_ax.set_title(f"log p(x | θ) = {log_likelihood[index]:.2f}")
        curve_ax.grid(alpha=0.3)
        return []

    # every frame has the same limits and labels, so lay the figure out once, not per frame
    draw(frames[0])
    figure.draw_without_rendering()
    figure.set_layout_engine(None)
    animation = FuncAnimation(figure, draw, frames=frames, blit=False, cache_frame_data=False)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        animation.save(path, writer=_gif_writer(fps, hold_last), dpi=dpi)
    return animation
