"""emkit.plot: the figures draw what the fitted models say, on every covariance type."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.animation import FuncAnimation
from matplotlib.patches import Ellipse
from PIL import Image

from emkit import GaussianMixture, KMeans
from emkit.plot import (
    animate_em,
    ellipse_geometry,
    log_likelihood_path,
    mixture_geometry,
    plot_convergence,
    plot_em_decomposition,
    plot_mixture_1d,
    plot_mixture_2d,
    plot_trace,
    record_em,
    responsibilities,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def blobs():
    """Three separated, differently shaped clusters in 3-D (the plots show 2 of the features)."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [1.0, 7.0, 3.0]])
    scales = np.array([[1.0, 0.4, 0.7], [0.5, 1.5, 1.0], [1.2, 0.8, 0.3]])
    return np.concatenate(
        [c + s * rng.standard_normal((70, 3)) for c, s in zip(centres, scales, strict=True)]
    )


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def fitted(request, blobs):
    return GaussianMixture(3, covariance_type=request.param, random_state=0).fit(blobs)


def _ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def test_mixture_2d_draws_one_ellipse_per_component_and_level(fitted, blobs):
    ax = plot_mixture_2d(fitted, blobs, n_std=(1.0, 2.0))
    ellipses = _ellipses(ax)
    assert len(ellipses) == 3 * 2
    gids = sorted(e.get_gid() for e in ellipses)
    assert gids == sorted(f"ellipse-{k}-{n}" for k in range(3) for n in ("1", "2"))
    for e in ellipses:
        k = int(e.get_gid().split("-")[1])
        np.testing.assert_allclose(e.get_center(), fitted.means_[k, :2])
    assert len(ax.collections) == 1  # the scatter
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == 3 + 2 and texts[3:] == ["1σ ellipse", "2σ ellipse"]


def test_ellipse_sizes_follow_the_component_covariance(fitted, blobs):
    """The n-sigma ellipse of component k has axes 2 n sqrt(eigenvalues of Σ_k[:2, :2])."""
    ax = plot_mixture_2d(fitted, blobs, n_std=2.0, features=(0, 2))
    geometry = mixture_geometry(fitted)
    ellipses = {e.get_gid(): e for e in _ellipses(ax)}
    assert len(ellipses) == 3
    for k in range(3):
        block = geometry.covariances[k][np.ix_([0, 2], [0, 2])]
        eigenvalues = np.linalg.eigvalsh(block)
        e = ellipses[f"ellipse-{k}-2"]
        np.testing.assert_allclose(
            sorted([e.width, e.height]), 2 * 2 * np.sqrt(eigenvalues), rtol=1e-10
        )
        np.testing.assert_allclose(e.get_center(), fitted.means_[k, [0, 2]])


def test_mixture_geometry_is_the_full_covariance_of_every_type(fitted):
    geometry = mixture_geometry(fitted)
    assert geometry.covariances.shape == (3, 3, 3)
    cov = fitted.covariances_
    expected = {
        "full": lambda: cov,
        "tied": lambda: np.stack([cov] * 3),
        "diag": lambda: np.stack([np.diag(c) for c in cov]),
        "spherical": lambda: cov[:, None, None] * np.eye(3),
    }[fitted.covariance_type]()
    np.testing.assert_allclose(geometry.covariances, expected)
    np.testing.assert_allclose(geometry.weights, fitted.weights_)


def test_ellipse_geometry_points_lie_on_the_mahalanobis_contour():
    cov = np.array([[2.0, 1.2], [1.2, 1.5]])
    width, height, angle = ellipse_geometry(cov, 1.5)
    t = np.linspace(0, 2 * np.pi, 50)
    theta = np.radians(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    points = rotation @ np.vstack([width / 2 * np.cos(t), height / 2 * np.sin(t)])
    mahalanobis = np.einsum("in,ij,jn->n", points, np.linalg.inv(cov), points)
    np.testing.assert_allclose(mahalanobis, 1.5**2, rtol=1e-10)


def test_responsibilities_match_predict_proba(fitted, blobs):
    np.testing.assert_allclose(responsibilities(fitted, blobs), fitted.predict_proba(blobs))


def test_mixture_1d_draws_every_component_density_and_the_mixture(fitted, blobs):
    ax = plot_mixture_1d(fitted, blobs, feature=1)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["component 0", "component 1", "component 2", "mixture"]
    grid, total = ax.get_lines()[-1].get_data()
    # the drawn mixture density is a density: it integrates to ~1 over the data range
    assert 0.9 < np.trapezoid(total, grid) <= 1.0 + 1e-9


def test_kmeans_shows_centres_without_ellipses(blobs):
    model = KMeans(3, random_state=0).fit(blobs)
    ax = plot_mixture_2d(model, blobs)
    assert _ellipses(ax) == []
    markers = [line for line in ax.get_lines() if line.get_marker() == "X"]
    assert len(markers) == 3
    resp = responsibilities(model, blobs)
    np.testing.assert_array_equal(resp.argmax(axis=1), model.predict(blobs))
    assert plot_mixture_1d(model, blobs).get_lines()  # vertical lines at the centres


def test_convergence_plots_the_rising_log_likelihood(blobs):
    model = GaussianMixture(3, init_params="random", tol=1e-8, random_state=1).fit(blobs)
    path = log_likelihood_path(model)
    assert path.size == model.n_iter_ + 1
    assert path[-1] == pytest.approx(model.log_likelihood_)
    assert np.all(np.diff(path) >= -1e-9 * abs(path[-1]))
    ax = plot_convergence(model)
    lines = {line.get_label(): line for line in ax.get_lines()}
    x, y = lines["log-likelihood"].get_data()
    np.testing.assert_array_equal(x, np.arange(model.n_iter_ + 1))
    np.testing.assert_allclose(y, path)
    # the bound reached by each M-step sits below the log-likelihood it bounds
    bound = next(line for label, line in lines.items() if "lower bound" in label)
    assert np.all(bound.get_ydata() <= path[1:] + 1e-9)


def test_em_decomposition_total_is_m_step_plus_kl(blobs):
    model = GaussianMixture(3, init_params="random", tol=1e-8, random_state=1).fit(blobs)
    ax = plot_em_decomposition(model)
    lines = {line.get_label(): np.asarray(line.get_ydata()) for line in ax.get_lines()}
    assert set(lines) == {"total", "M-step", "KL"}
    both = np.isfinite(lines["total"]) & np.isfinite(lines["M-step"]) & np.isfinite(lines["KL"])
    assert both.sum() >= 3
    np.testing.assert_allclose(
        lines["total"][both], lines["M-step"][both] + lines["KL"][both], rtol=1e-6
    )
    assert ax.get_yscale() == "log"


def test_plot_trace_columns_and_errors(blobs):
    model = GaussianMixture(2, random_state=0).fit(blobs)
    ax = plot_trace(model, ["entropy", "expected_log_joint"])
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), model.trace_["entropy"])
    with pytest.raises(ValueError, match="unknown trace columns"):
        plot_trace(model, ["nope"])


def test_bad_inputs_are_clear_errors(blobs):
    with pytest.raises(ValueError, match="not fitted"):
        plot_mixture_2d(GaussianMixture(2), blobs)
    model = GaussianMixture(2, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match="out of range"):
        plot_mixture_2d(model, blobs, features=(0, 5))
    with pytest.raises(ValueError, match="distinct"):
        plot_mixture_2d(model, blobs, features=(1, 1))
    with pytest.raises(ValueError, match="fitted on 3"):
        plot_mixture_2d(model, blobs[:, :2])
    with pytest.raises(ValueError, match="fitted on 3"):
        plot_mixture_1d(model, blobs[:, :1])
    with pytest.raises(ValueError, match="color_by"):
        plot_mixture_2d(model, blobs, color_by="nope")
    with pytest.raises(ValueError, match="no EM iteration"):
        plot_convergence(GaussianMixture(2, max_iter=0).fit(blobs))


def test_record_em_returns_every_iteration_of_the_kept_restart(blobs):
    model = GaussianMixture(3, n_init=3, init_params="random", random_state=2)
    snapshots = record_em(model, blobs)
    assert len(snapshots) == model.n_iter_ + 1
    assert snapshots[-1] is model.params_
    # replaying the recorded parameters gives the recorded log-likelihood path
    replay = [model.model_.log_density(p, blobs).sum() for p in snapshots]
    np.testing.assert_allclose(replay, log_likelihood_path(model), rtol=1e-10)


def test_animate_em_writes_a_gif_with_one_frame_per_iteration(tmp_path, blobs):
    start = np.array([[3.0, 3.0, 0.0], [3.5, 3.2, 0.5], [2.5, 3.5, 0.2]])
    model = GaussianMixture(3, means_init=start, tol=1e-6, random_state=0)
    path = tmp_path / "sub" / "em.gif"
    animation = animate_em(model, blobs, path, max_frames=8, fps=5, hold_last=1.0, dpi=40)
    assert isinstance(animation, FuncAnimation)
    assert model.n_iter_ + 1 > 8  # the poor start needs more iterations than frames
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 8
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert durations[:-1] == [200] * 7 and durations[-1] == 1000


def test_figures_never_touch_pyplot(blobs):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    model = GaussianMixture(2, random_state=0).fit(blobs)
    plot_mixture_2d(model, blobs)
    plot_convergence(model)
    assert plt.get_fignums() == before
