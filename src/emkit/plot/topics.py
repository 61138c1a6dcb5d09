"""Figures of topic models: the top words of every topic, and documents' topic proportions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from emkit.plot._figure import axes_or_new, component_colors, new_figure
from emkit.topics import top_words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["mean_by_label", "plot_document_topics", "plot_top_words"]

#: kinds of :func:`plot_document_topics`
DOCUMENT_TOPIC_KINDS = ("bar", "heatmap")


def plot_top_words(
    model: Any,
    vocabulary: Sequence[str],
    n: int = 10,
    topics: Sequence[int] | None = None,
    *,
    n_cols: int = 5,
    fig: Figure | SubFigure | None = None,
    title: str | None = None,
    probability_format: str | None = "{:.3f}",
) -> Figure | SubFigure:
    """A grid of horizontal bar charts: each topic's ``n`` top words and their probabilities.

    One panel per topic, titled ``topic k``, the most probable word on top; the bars
    are the topic-word probabilities β_kw (rows of ``components_`` normalised to 1,
    as :func:`emkit.topics.top_words` gives them), each panel on its own scale.

    Parameters
    ----------
    model : fitted topic model, or array-like of shape (n_topics, n_terms)
        An estimator with ``components_`` (emkit's ``LatentDirichletAllocation`` or
        ``PLSA``, scikit-learn's), or the topic-word weights.
    vocabulary : sequence of str of length n_terms
    n : int, default=10
        Words per topic.
    topics : sequence of int, optional
        Which topics to draw, in this order; default all.
    n_cols : int, default=5
        Panels per row (fewer when there are fewer topics).
    fig : matplotlib Figure, optional
        Draw here (it should be empty); default: a new figure sized for the grid
        (Agg canvas, never shown).
    title : str, optional
        Figure title.
    probability_format : str
        Format of the probabilities written at the end of the bars; None for none.

    Returns
    -------
    fig : matplotlib Figure
        ``fig.axes`` holds the panels, in the order of ``topics``.
    """
    words = top_words(model, vocabulary, n)
    n_topics = len(words)
    if topics is None:
        topics = list(range(n_topics))
    else:
        topics = [_topic_index(k, n_topics) for k in topics]
        if not topics:
            raise ValueError("topics is empty: give at least one topic index, or None for all")
    if isinstance(n_cols, bool) or not isinstance(n_cols, int) or n_cols < 1:
        raise ValueError(f"n_cols (panels per row) must be an integer >= 1, got {n_cols!r}")
    n_cols = min(n_cols, len(topics))
    n_rows = math.ceil(len(topics) / n_cols)
    if fig is None:
        fig = new_figure(figsize=(2.6 * n_cols, (0.22 * n + 0.7) * n_rows + 0.3))
    colors = component_colors(n_topics)
    for panel, k in enumerate(topics):
        ax = fig.add_subplot(n_rows, n_cols, panel + 1)
        labels = [w for w, _ in words[k]]
        values = np.array([p for _, p in words[k]])
        positions = np.arange(len(labels))
        bars = ax.barh(positions, values, color=colors[k], height=0.75)
        for bar in bars:
            bar.set_gid(f"topic-{k}")
        ax.set_yticks(positions, labels, fontsize="small")
        ax.invert_yaxis()  # the most probable word on top
        ax.set_title(f"topic {k}", fontsize="medium")
        ax.tick_params(axis="x", labelsize="x-small")
        ax.set_xlim(0, values.max() * (1.35 if probability_format else 1.05))
        if probability_format:
            ax.bar_label(
                bars, labels=[probability_format.format(v) for v in values], fontsize="x-small"
            )
        if panel + n_cols >= len(topics):  # nothing below this panel
            ax.set_xlabel("probability", fontsize="small")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if title is not None:
        fig.suptitle(title)
    return fig


def _topic_index(k, n_topics: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < n_topics:
        raise ValueError(
            f"topics must hold topic indices in 0 .. {n_topics - 1} (the model has "
            f"{n_topics} topics), got {k!r}"
        )
    return int(k)


def _proportions(doc_topic) -> np.ndarray:
    """doc_topic as float64 (n_documents, n_topics) rows summing to 1, checked."""
    array = np.asarray(doc_topic, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            "doc_topic must have shape (n_documents, n_topics), e.g. model.transform(X), "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError("doc_topic must hold finite non-negative topic proportions")
    totals = array.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        row = int(np.argmax(totals.ravel() <= 0))
        raise ValueError(f"doc_topic row {row} is all zero: it has no topic proportions")
    return array / totals


def mean_by_label(doc_topic: ArrayLike, labels: Sequence[Any]) -> tuple[list, np.ndarray]:
    """The mean topic proportions of the documents of every label.

    Labels keep the order of their first appearance (for the KJV's chapters, the
    order of the books), so groups of consecutive documents stay in order.

    Parameters
    ----------
    doc_topic : array-like of shape (n_documents, n_topics)
        Topic proportions (rows are normalised to sum to 1 first).
    labels : sequence of length n_documents
        The group of every document (e.g. the book of every chapter).

    Returns
    -------
    groups : list of the distinct labels, length n_groups
    means : ndarray of shape (n_groups, n_topics)
        Row g is the mean proportion of the documents labelled ``groups[g]``.
    """
    proportions = _proportions(doc_topic)
    labels = list(labels)
    if len(labels) != proportions.shape[0]:
        raise ValueError(
            f"labels has {len(labels)} entries but doc_topic has {proportions.shape[0]} "
            "documents (rows): give one label per document"
        )
    groups: dict = {}
    codes = np.array([groups.setdefault(label, len(groups)) for label in labels], dtype=np.int64)
    sizes = np.bincount(codes, minlength=len(groups)).astype(np.float64)
    sums = np.zeros((len(groups), proportions.shape[1]))
    np.add.at(sums, codes, proportions)
    return list(groups), sums / sizes[:, None]


def plot_document_topics(
    doc_topic: ArrayLike,
    labels: Sequence[Any] | None = None,
    *,
    kind: str = "bar",
    topic_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Axes:
    """Documents' topic proportions, as stacked bars or a heatmap.

    With ``labels`` the documents are grouped (:func:`mean_by_label`) and every group
    is drawn as the mean proportions of its documents: e.g. the chapters of the KJV
    grouped by book, one bar per book. Without, every document is one bar (row).

    Parameters
    ----------
    doc_topic : array-like of shape (n_documents, n_topics)
        Topic proportions, e.g. ``model.transform(X)``; rows are normalised to 1.
    labels : sequence of length n_documents, optional
        The group of every document; one bar per distinct label, in the order of first
        appearance. Without, the documents are numbered 0, 1, ...
    kind : {"bar", "heatmap"}, default="bar"
        ``"bar"``: one stacked bar per document or group, a colour per topic (the
        colours of :func:`plot_top_words`). ``"heatmap"``: topics across, documents or
        groups down, the proportion as colour, with a colour bar.
    topic_names : sequence of str of length n_topics, optional
        Legend or column names; default ``topic 0``, ``topic 1``, ... (a topic's top
        words make good names).
    ax : matplotlib Axes, optional
        Draw here; default: a new figure (Agg canvas, never shown).
    title : str, optional
    legend : bool, default=True
        Draw the topics' legend (bar chart only).

    Returns
    -------
    ax : matplotlib Axes
    """
    if kind not in DOCUMENT_TOPIC_KINDS:
        raise ValueError(f"kind must be one of {DOCUMENT_TOPIC_KINDS}, got {kind!r}")
    if labels is None:
        proportions = _proportions(doc_topic)
        names = [str(d) for d in range(proportions.shape[0])]
    else:
        groups, proportions = mean_by_label(doc_topic, labels)
        names = [str(g) for g in groups]
    n_rows, n_topics = proportions.shape
    if topic_names is None:
        topic_names = [f"topic {k}" for k in range(n_topics)]
    else:
        topic_names = [str(name) for name in topic_names]
        if len(topic_names) != n_topics:
            raise ValueError(
                f"topic_names has {len(topic_names)} names but doc_topic has {n_topics} "
                "topics (columns)"
            )
    small = "x-small" if n_rows > 30 else "small"
    if kind == "bar":
        ax = axes_or_new(ax, figsize=(max(6.0, 0.16 * n_rows + 2.5), 4.5))
        colors = component_colors(n_topics)
        positions = np.arange(n_rows)
        bottom = np.zeros(n_rows)
        for k in range(n_topics):
            bars = ax.bar(
                positions,
                proportions[:, k],
                bottom=bottom,
                width=0.85,
                color=colors[k],
                label=topic_names[k],
            )
            for bar in bars:
                bar.set_gid(f"topic-{k}")
            bottom += proportions[:, k]
        ax.set_xticks(positions, names, rotation=90, fontsize=small)
        ax.set_xlim(-0.6, n_rows - 0.4)
        ax.set_ylim(0, 1)
        ax.set_ylabel("mean topic proportion" if labels is not None else "topic proportion")
        if legend:
            ax.legend(
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
                fontsize="small",
                frameon=False,
                reverse=True,  # the legend reads top to bottom as the stack does
            )
    else:
        ax = axes_or_new(ax, figsize=(max(4.0, 0.5 * n_topics + 2.5), max(3.0, 0.14 * n_rows)))
        image = ax.imshow(
            proportions, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0
        )
        image.set_gid("document-topics")
        ax.set_xticks(np.arange(n_topics), topic_names, rotation=90, fontsize="small")
        ax.set_yticks(np.arange(n_rows), names, fontsize=small)
        label = "mean topic proportion" if labels is not None else "topic proportion"
        ax.figure.colorbar(image, ax=ax, label=label)
    if title is not None:
        ax.set_title(title)
    return ax
