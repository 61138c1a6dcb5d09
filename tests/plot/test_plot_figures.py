"""The figures users expect (issue 16): labels and legends, 1σ/2σ ellipses, k-means
without weights, pair plots of mixtures and HMMs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib
from matplotlib.contour import ContourSet
from matplotlib.patches import Ellipse

import emkit
from emkit.plot import (
    mixture_geometry,
    plot_decoded_states,
    plot_hmm_pairs,
    plot_mixture_1d,
    plot_mixture_2d,
    plot_mixture_pairs,
    plot_smoothed,
)

matplotlib.use("Agg")  # never a window, whatever the environment says (pyplot is not imported)


@pytest.fixture(scope="module")
def blobs4():
    """Three separated clusters in 4-D."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0, 0.0, 0.0], [5.0, 1.0, -2.0, 3.0], [1.0, 6.0, 3.0, -1.0]])
    return np.concatenate([c + rng.standard_normal((60, 4)) for c in centres])


@pytest.fixture(scope="module")
def mixture4(blobs4):
    return emkit.GaussianMixture(3, random_state=0).fit(blobs4)


@pytest.fixture(scope="module")
def kmeans4(blobs4):
    return emkit.KMeans(3, random_state=0).fit(blobs4)


def _legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def _ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def _rendered(fig):
    fig.canvas.draw()  # the Agg canvas renders without error
    return fig


# -- 1σ / 2σ legend ---------------------------------------------------------------


def test_ellipse_levels_have_legend_entries_with_their_line_styles(mixture4, blobs4):
    ax = plot_mixture_2d(mixture4, blobs4, n_std=(1.0, 2.0, 3.0))
    texts = _legend_texts(ax.get_legend())
    assert texts[3:] == ["1σ ellipse", "2σ ellipse", "3σ ellipse"]
    entries = {line.get_label(): line for line in ax.get_lines()}
    styles = [entries[f"{n}σ ellipse"].get_linestyle() for n in (1, 2, 3)]
    assert len(set(styles)) == 3
    # each legend line has the style of the ellipses of its level
    for n, style in zip((1, 2, 3), styles, strict=True):
        level = [e for e in _ellipses(ax) if e.get_gid().endswith(f"-{n}")]
        assert len(level) == 3
        assert {e.get_linestyle() for e in level} == {style}
    assert all(len(entries[f"{n}σ ellipse"].get_xdata()) == 0 for n in (1, 2, 3))


def test_bad_levels_are_refused(mixture4, blobs4):
    with pytest.raises(ValueError, match="n_std"):
        plot_mixture_2d(mixture4, blobs4, n_std=(1.0, -2.0))


# -- k-means without weights --------------------------------------------------------


def test_kmeans_plot_has_no_weights(kmeans4, blobs4):
    assert not hasattr(kmeans4, "weights_")
    assert mixture_geometry(kmeans4).weights is None
    ax = plot_mixture_2d(kmeans4, blobs4)
    texts = _legend_texts(ax.get_legend())
    assert len(texts) == 3
    assert not any("weight" in t or "σ" in t for t in texts)
    sizes = np.bincount(kmeans4.predict(blobs4), minlength=3)
    assert texts == [f"cluster {k}  ({n} points)" for k, n in enumerate(sizes)]
    assert ax.get_title() == "KMeans: 3 clusters"
    assert _ellipses(ax) == []
    # with 4 features a plane's Voronoi cells would be wrong: none by default
    assert not any(isinstance(c, ContourSet) for c in ax.collections)
    one = plot_mixture_1d(kmeans4, blobs4, feature=2)
    assert [t for t in _legend_texts(one.get_legend()) if t != "data"] == [
        "cluster 0",
        "cluster 1",
        "cluster 2",
    ]


def test_kmeans_on_two_features_shades_its_voronoi_cells():
    X = emkit.datasets.load_old_faithful().data
    model = emkit.KMeans(2, random_state=0).fit(X)
    ax = plot_mixture_2d(model, X)
    cells = [c for c in ax.collections if c.get_gid() == "voronoi"]
    assert len(cells) == 1
    # the shading keeps the data's view: every point stays inside the axes
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < X[:, 0].min() and X[:, 0].max() < x1
    assert y0 < X[:, 1].min() and X[:, 1].max() < y1
    assert plot_mixture_2d(model, X, regions=False).collections[-1].get_gid() != "voronoi"
    _rendered(ax.figure)
    mixture = emkit.GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="k-means only"):
        plot_mixture_2d(mixture, X, regions=True)


# -- pair plots ---------------------------------------------------------------------


def test_mixture_pairs_has_one_panel_per_pair_of_features(mixture4, blobs4):
    names = ["a", "b", "c", "d"]
    axes = plot_mixture_pairs(mixture4, blobs4, feature_names=names)
    fig = _rendered(axes[0, 0].figure)
    assert axes.shape == (4, 4)
    assert len(fig.axes) == 16
    for r in range(4):
        for c in range(4):
            ellipses = _ellipses(axes[r, c])
            if r == c:
                assert ellipses == []
                labels = [line.get_label() for line in axes[r, c].get_lines()]
                assert labels == ["component 0", "component 1", "component 2", "mixture"]
            else:
                assert len(ellipses) == 3 * 2
                # panel (r, c): feature c across, feature r up
                for e in ellipses:
                    k = int(e.get_gid().split("-")[1])
                    np.testing.assert_allclose(e.get_center(), mixture4.means_[k, [c, r]])
    assert [axes[3, c].get_xlabel() for c in range(4)] == names
    assert [axes[r, 0].get_ylabel() for r in range(4)] == names
    assert axes[1, 1].get_xlabel() == "" and axes[1, 2].get_ylabel() == ""
    texts = _legend_texts(fig.legends[0])
    assert texts[3:] == ["1σ ellipse", "2σ ellipse"]
    assert all("weight" in t for t in texts[:3])


def test_mixture_pairs_of_chosen_features_and_of_kmeans(mixture4, kmeans4, blobs4):
    axes = plot_mixture_pairs(mixture4, blobs4, features=(3, 0, 2))
    assert axes.shape == (3, 3)
    e = {el.get_gid(): el for el in _ellipses(axes[0, 1])}  # feature 0 across, 3 up
    np.testing.assert_allclose(e["ellipse-1-1"].get_center(), mixture4.means_[1, [0, 3]])
    axes = plot_mixture_pairs(kmeans4, blobs4)
    fig = _rendered(axes[0, 0].figure)
    assert axes.shape == (4, 4)
    assert all(_ellipses(ax) == [] for ax in axes.ravel())
    assert not any("weight" in t for t in _legend_texts(fig.legends[0]))
    assert fig.get_suptitle() == "KMeans: 3 clusters"


def test_pair_plot_input_errors(mixture4, blobs4):
    with pytest.raises(ValueError, match="at least 2 features"):
        plot_mixture_pairs(mixture4, blobs4, features=(1,))
    with pytest.raises(ValueError, match="feature_names"):
        plot_mixture_pairs(mixture4, blobs4, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="distinct"):
        plot_mixture_pairs(mixture4, blobs4, features=(1, 1))
    with pytest.raises(ValueError, match="fitted on 4"):
        plot_mixture_pairs(mixture4, blobs4[:, :3])


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_gaussian_hmm_pairs_draw_state_ellipses(blobs4, covariance_type):
    X = blobs4[:, :3]
    model = emkit.GaussianHMM(3, covariance_type=covariance_type, random_state=0).fit(X)
    axes = plot_hmm_pairs(model, X)
    fig = _rendered(axes[0, 0].figure)
    assert axes.shape == (3, 3) and len(fig.axes) == 9
    assert len(_ellipses(axes[2, 0])) == 3 * 2
    states = model.predict(X)
    sizes = np.bincount(states, minlength=3)
    texts = _legend_texts(fig.legends[0])
    assert texts == [f"state {k}  ({n} points)" for k, n in enumerate(sizes)] + [
        "1σ ellipse",
        "2σ ellipse",
    ]
    # points are coloured by their Viterbi state
    colors = axes[1, 0].collections[0].get_facecolors()[:, :3]
    for k in range(3):
        assert len(np.unique(colors[states == k].round(6), axis=0)) == 1


def test_poisson_hmm_pairs_mark_the_rates_without_ellipses():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.poisson([3, 20], (80, 2)), rng.poisson([15, 5], (80, 2))])
    model = emkit.PoissonHMM(2, random_state=0).fit(X)
    axes = plot_hmm_pairs(model, X, lengths=[100, 60], feature_names=["x", "y"])
    assert axes.shape == (2, 2)
    assert all(_ellipses(ax) == [] for ax in axes.ravel())
    markers = [line for line in axes[1, 0].get_lines() if line.get_marker() == "X"]
    centres = sorted(tuple(np.ravel(m.get_xydata())) for m in markers)
    np.testing.assert_allclose(centres, sorted(map(tuple, model.rates_)))


def test_hmm_pairs_errors():
    X = np.random.default_rng(0).integers(0, 3, (50, 1))
    model = emkit.CategoricalHMM(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="at least 2 features"):
        plot_hmm_pairs(model, X)
    Y = np.random.default_rng(0).poisson(4, (50, 2))
    with pytest.raises(ValueError, match="fitted on 2"):
        plot_hmm_pairs(emkit.PoissonHMM(2, random_state=0).fit(Y), np.hstack([Y, Y]))


# -- labels and legends of the sequence figures ----------------------------------------


def test_decoded_states_have_axis_labels_and_a_titled_legend():
    counts = emkit.datasets.load_earthquakes().data[:, 1:2]
    model = emkit.PoissonHMM(2, n_init=2, init_params="random", random_state=0).fit(counts)
    ax = plot_decoded_states(model, counts, lengths=[50, 57])
    assert ax.get_xlabel() == "time step"
    assert ax.get_ylabel() == "feature 0"
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "Viterbi state"
    texts = _legend_texts(legend)
    assert len(texts) == 3  # two states, one level line for both sequences
    assert texts[0].startswith("state") and texts[-1] == "level of the decoded state"
    years = emkit.datasets.load_earthquakes().data[:, 0]
    ax = plot_decoded_states(model, counts, time=years, ylabel="earthquakes", legend=False)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time", "earthquakes")
    assert ax.get_legend() is None
    _rendered(ax.figure)


def test_smoothed_signal_has_axis_labels_and_a_legend():
    rng = np.random.default_rng(0)
    level = np.cumsum(rng.normal(0, 1, 60))
    X = (level + rng.normal(0, 2, 60))[:, None]
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        learn=("transition_covariance", "observation_covariance"),
        max_iter=50,
    ).fit(X)
    ax = plot_smoothed(model, X)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time step", "feature 0")
    assert _legend_texts(ax.get_legend()) == ["90% credible band", "smoothed level", "observed"]
    ax = plot_smoothed(model, X, time=np.arange(60) + 1900, xlabel="year", ylabel="flow")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("year", "flow")
    with pytest.raises(ValueError, match="time must have shape"):
        plot_smoothed(model, X, time=np.arange(10))
    _rendered(ax.figure)
