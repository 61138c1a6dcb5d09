"""emkit.plot.topics: the top-word panels and the document-topic figures show the numbers."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from emkit.plot import mean_by_label, plot_document_topics, plot_top_words
from emkit.plot._figure import new_figure
from emkit.topics import top_words

VOCABULARY = [f"word{i}" for i in range(12)]


class _Fitted:
    def __init__(self, components):
        self.components_ = components


@pytest.fixture(scope="module")
def components():
    return np.random.default_rng(0).gamma(0.5, 1.0, (7, 12))


def _bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_top_words_one_panel_per_topic_with_its_words_and_probabilities(components):
    fig = plot_top_words(_Fitted(components), VOCABULARY, n=4, n_cols=3, title="seven")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 7  # no empty panels in the 3 x 3 grid
    assert fig._suptitle.get_text() == "seven"
    expected = top_words(components, VOCABULARY, 4)
    for k, ax in enumerate(fig.axes):
        assert ax.get_title() == f"topic {k}"
        (bars,) = _bars(ax)
        assert {b.get_gid() for b in bars} == {f"topic-{k}"}
        np.testing.assert_allclose([b.get_width() for b in bars], [p for _, p in expected[k]])
        # the yticks carry the words, most probable on top (inverted y axis)
        assert [t.get_text() for t in ax.get_yticklabels()] == [w for w, _ in expected[k]]
        assert ax.yaxis_inverted()
        written = [t.get_text() for t in ax.texts]
        assert written == [f"{p:.3f}" for _, p in expected[k]]
    # the x label only under the panels with nothing below them (4, 5 and 6)
    labelled = [k for k, ax in enumerate(fig.axes) if ax.get_xlabel() == "probability"]
    assert labelled == [4, 5, 6]
    fig.canvas.draw()  # renders without error


def test_top_words_selected_topics_on_a_given_figure(components):
    fig = new_figure()
    returned = plot_top_words(
        components, VOCABULARY, n=3, topics=[5, 2], fig=fig, probability_format=None
    )
    assert returned is fig
    assert [ax.get_title() for ax in fig.axes] == ["topic 5", "topic 2"]
    assert all(not ax.texts for ax in fig.axes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"topics": [7]}, r"topic indices in 0 \.\. 6"),
        ({"topics": [True]}, r"topic indices in 0 \.\. 6"),
        ({"topics": []}, "topics is empty"),
        ({"n_cols": 0}, "n_cols .* integer >= 1"),
        ({"n": 13}, "only 12 terms"),
        ({"vocabulary": VOCABULARY[:5]}, "vocabulary has 5 words"),
    ],
)
def test_top_words_refuses_bad_input(components, kwargs, match):
    arguments = {"vocabulary": VOCABULARY} | kwargs
    vocabulary = arguments.pop("vocabulary")
    with pytest.raises(ValueError, match=match):
        plot_top_words(components, vocabulary, **arguments)


@pytest.fixture(scope="module")
def doc_topic():
    return np.random.default_rng(1).dirichlet(np.ones(4), size=9)


def test_mean_by_label_keeps_the_order_of_first_appearance(doc_topic):
    labels = ["Ruth"] * 4 + ["Job"] * 3 + ["Ruth"] + ["Amos"]
    groups, means = mean_by_label(doc_topic * 3.0, labels)  # rows are normalised first
    assert groups == ["Ruth", "Job", "Amos"]
    np.testing.assert_allclose(means[0], doc_topic[[0, 1, 2, 3, 7]].mean(axis=0))
    np.testing.assert_allclose(means[1], doc_topic[4:7].mean(axis=0))
    np.testing.assert_allclose(means[2], doc_topic[8])
    np.testing.assert_allclose(means.sum(axis=1), 1.0)


def test_document_topics_stacked_bars_per_document(doc_topic):
    ax = plot_document_topics(doc_topic, title="nine documents")
    containers = _bars(ax)
    assert [{b.get_gid() for b in c} for c in containers] == [{f"topic-{k}"} for k in range(4)]
    heights = np.array([[b.get_height() for b in c] for c in containers]).T
    np.testing.assert_allclose(heights, doc_topic)
    bottoms = np.array([[b.get_y() for b in c] for c in containers]).T
    np.testing.assert_allclose(bottoms[:, 1:], np.cumsum(doc_topic, axis=1)[:, :-1])
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(d) for d in range(9)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == [f"topic {k}" for k in range(4)]
    assert ax.get_title() == "nine documents"
    ax.figure.canvas.draw()


def test_document_topics_grouped_by_label(doc_topic):
    labels = ["Genesis"] * 5 + ["Exodus"] * 4
    names = ["a b", "c d", "e f", "g h"]
    ax = plot_document_topics(doc_topic, labels, topic_names=names, legend=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Genesis", "Exodus"]
    heights = np.array([[b.get_height() for b in c] for c in _bars(ax)]).T
    np.testing.assert_allclose(heights, mean_by_label(doc_topic, labels)[1])
    assert [c.get_label() for c in _bars(ax)] == names
    assert ax.get_legend() is None
    assert ax.get_ylabel() == "mean topic proportion"


def test_document_topics_heatmap(doc_topic):
    labels = ["A"] * 3 + ["B"] * 6
    ax = plot_document_topics(doc_topic, labels, kind="heatmap")
    (image,) = [a for a in ax.get_images() if isinstance(a, AxesImage)]
    assert image.get_gid() == "document-topics"
    np.testing.assert_allclose(image.get_array(), mean_by_label(doc_topic, labels)[1])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"topic {k}" for k in range(4)]
    assert len(ax.figure.axes) == 2  # the colour bar
    ax.figure.canvas.draw()


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((), {"kind": "pie"}, r"kind must be one of \('bar', 'heatmap'\)"),
        ((["x"] * 3,), {}, "labels has 3 entries but doc_topic has 9"),
        ((), {"topic_names": ["a"]}, "topic_names has 1 names but doc_topic has 4"),
    ],
)
def test_document_topics_refuses_bad_input(doc_topic, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_document_topics(doc_topic, *args, **kwargs)


@pytest.mark.parametrize(
    ("doc_topic", "match"),
    [
        (np.ones(3), r"shape \(n_documents, n_topics\)"),
        (np.array([[0.5, -0.5]]), "finite non-negative"),
        (np.array([[0.5, 0.5], [0.0, 0.0]]), "row 1 is all zero"),
    ],
)
def test_document_topics_refuses_bad_proportions(doc_topic, match):
    with pytest.raises(ValueError, match=match):
        plot_document_topics(doc_topic)
