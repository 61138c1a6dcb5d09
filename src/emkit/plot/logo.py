"""Sequence logos of motifs (position weight matrices).

:func:`plot_logo` draws one motif as a logo: a stack of letters per column, each
letter as tall as its probability times the column's information content (bits,
``log2 A + Σ p log2 p``; Schneider & Stephens 1990, without the small-sample
correction), the most probable letter on top; or, with ``kind="probability"``, the
probabilities themselves (columns of height 1).

It uses logomaker when it is installed (an optional dependency), and else draws the
letters itself with matplotlib: every glyph a :class:`~matplotlib.textpath.TextPath`
stretched to its box. Both are imported only when the function runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._figure import axes_or_new, require_matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["LOGO_KINDS", "logo_heights", "plot_logo"]

LOGO_KINDS = ("information", "probability")

#: colours of DNA letters (the common scheme: A green, C blue, G orange, T red)
DNA_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


def logo_heights(pwm: ArrayLike, kind: str = "information") -> np.ndarray:
    """(W, A) heights of every letter of every column (see the module docstring)."""
    pwm = np.asarray(pwm, dtype=np.float64)
    if pwm.ndim != 2 or pwm.shape[1] < 2:
        raise ValueError(f"pwm must have shape (width, n_letters), got {pwm.shape}")
    if kind not in LOGO_KINDS:
        raise ValueError(f"kind must be one of {LOGO_KINDS}, got {kind!r}")
    pwm = pwm / pwm.sum(axis=1, keepdims=True)
    if kind == "probability":
        return pwm
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pwm > 0, pwm * np.log2(pwm), 0.0).sum(axis=1)
    information = np.log2(pwm.shape[1]) - entropy
    return pwm * information[:, None]


def _colors(letters: str) -> dict:
    if set(letters) == set(DNA_COLORS):
        return DNA_COLORS
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {a: cmap(i % 20) for i, a in enumerate(letters)}


def _draw_letter(ax, letter, x, y, width, height, color):
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    path = TextPath(
        (0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold")
    )
    box = path.get_extents()
    if box.width <= 0 or box.height <= 0:
        return
    transform = (
        Affine2D()
        .translate(-box.x0, -box.y0)
        .scale(0.9 * width / box.width, height / box.height)
        .translate(x - 0.45 * width, y)
    )
    ax.add_patch(PathPatch(transform.transform_path(path), facecolor=color, edgecolor="none"))


def plot_logo(
    motif: Any,
    letters: str | None = None,
    *,
    index: int = 0,
    kind: str = "information",
    ax: Axes | None = None,
    title: str | None = None,
    use_logomaker: bool | None = None,
) -> Axes:
    """Draw a sequence logo.

    Parameters
    ----------
    motif : array-like of shape (W, A), or a fitted MotifFinder
        A PWM (rows sum to 1), or a finder whose motif ``index`` is drawn.
    letters : str, optional
        The A letters of the columns (default: the finder's alphabet, or ACGT for
        four columns).
    index : int
        Which motif of a finder.
    kind : {"information", "probability"}
    ax : matplotlib Axes, optional
        Draw here; default a new figure (Agg canvas, never shown).
    title : str, optional
    use_logomaker : bool, optional
        None: logomaker when it imports, else matplotlib; False: always matplotlib;
        True: logomaker or an ImportError.

    Returns
    -------
    ax : matplotlib Axes
    """
    require_matplotlib()
    if hasattr(motif, "motifs_"):
        letters = letters or motif.alphabet_.letters
        if title is None:
            title = f"motif {index + 1}: {motif.consensus_[index]}"
        motif = motif.motifs_[index]
    pwm = np.asarray(motif, dtype=np.float64)
    heights = logo_heights(pwm, kind)
    if letters is None:
        if pwm.shape[1] != 4:
            raise ValueError("give the letters of the columns (letters=...) for a non-DNA PWM")
        letters = "ACGT"
    if len(letters) != pwm.shape[1]:
        raise ValueError(f"letters has {len(letters)} letters for a PWM of {pwm.shape[1]} columns")
    W = pwm.shape[0]
    ax = axes_or_new(ax, figsize=(max(3.0, 0.45 * W + 1.0), 2.4))
    logomaker = None
    if use_logomaker is not False:
        try:
            import logomaker
        except ImportError:
            if use_logomaker:
                raise ImportError(
                    "use_logomaker=True needs logomaker: pip install logomaker"
                ) from None
    if logomaker is not None:
        import pandas as pd

        frame = pd.DataFrame(heights, columns=list(letters))
        logomaker.Logo(frame, ax=ax, color_scheme=_colors(letters))
    else:
        colors = _colors(letters)
        for c in range(W):
            y = 0.0
            for a in np.argsort(heights[c], kind="stable"):
                h = heights[c, a]
                if h > 1e-4:
                    _draw_letter(ax, letters[a], c, y, 1.0, h, colors[letters[a]])
                    y += h
        ax.set_xlim(-0.5, W - 0.5)
    top = np.log2(len(letters)) if kind == "information" else 1.0
    ax.set_ylim(0, top)
    ax.set_xticks(range(W), [str(c + 1) for c in range(W)])
    ax.set_ylabel("bits" if kind == "information" else "probability")
    ax.set_xlabel("position")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax
