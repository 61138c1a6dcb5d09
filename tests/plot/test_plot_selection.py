"""emkit.plot.selection: the criterion against K, one line per covariance type."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg

from emkit.estimators.selection import ModelSelection, SelectionCell, select_model
from emkit.plot._figure import new_figure
from emkit.plot.selection import plot_model_selection

TYPES = ("full", "diag")
KS = (1, 2, 3, 4)


def _selection(bic, icl=None, types=TYPES, failed=()):
    """A ModelSelection from criterion values of shape (n_types, n_K), no fitting."""
    icl = bic + 5.0 if icl is None else icl
    cells = []
    for j, k in enumerate(KS):
        for c, kind in enumerate(types):
            if (c, j) in failed:
                cells.append(SelectionCell(k, kind, None, error="ComponentCollapseError: x"))
            else:
                cells.append(
                    SelectionCell(k, kind, object(), bic=bic[c, j], aic=bic[c, j], icl=icl[c, j])
                )
    return ModelSelection(cells, "bic", KS, types, "GaussianMixture")


@pytest.fixture
def values():
    return np.array([[100.0, 80.0, 85.0, 90.0], [120.0, 95.0, 70.0, 75.0]])


def _criterion_lines(ax):
    return [line for line in ax.get_lines() if line.get_gid() != "best"]


def test_one_line_per_covariance_type_with_its_values(values):
    ax = plot_model_selection(_selection(values))
    lines = _criterion_lines(ax)
    assert [line.get_label() for line in lines] == list(TYPES)
    for c, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_xdata(), KS)
        np.testing.assert_array_equal(line.get_ydata(), values[c])
    assert ax.get_xlabel() == "number of components K"
    assert ax.get_ylabel() == "BIC (lower is better)"
    assert list(ax.get_xticks()) == list(KS)
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "covariance type"
    assert [t.get_text() for t in legend.get_texts()] == [*TYPES, "best: K=3, diag"]
    assert ax.get_title() == "GaussianMixture: best by BIC is n_components=3, covariance_type=diag"
    assert isinstance(ax.figure.canvas, FigureCanvasAgg)


def test_the_best_point_is_circled(values):
    ax = plot_model_selection(_selection(values))
    (best,) = [line for line in ax.get_lines() if line.get_gid() == "best"]
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (3, 70.0)
    ax = plot_model_selection(_selection(values), mark_best=False)
    assert not [line for line in ax.get_lines() if line.get_gid() == "best"]


def test_another_criterion_marks_its_own_best(values):
    icl = values.copy()
    icl[0, 1] = 10.0  # ICL prefers K=2, full
    ax = plot_model_selection(_selection(values, icl=icl), criterion="icl")
    np.testing.assert_array_equal(_criterion_lines(ax)[0].get_ydata(), icl[0])
    assert ax.get_ylabel() == "ICL (lower is better)"
    assert "best by ICL is n_components=2, covariance_type=full" in ax.get_title()
    (best,) = [line for line in ax.get_lines() if line.get_gid() == "best"]
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (2, 10.0)


def test_a_failed_fit_is_a_gap(values):
    ax = plot_model_selection(_selection(values, failed={(1, 2)}))
    diag = _criterion_lines(ax)[1].get_ydata()
    assert np.isnan(diag[2]) and np.isfinite(np.delete(diag, 2)).all()
    (best,) = [line for line in ax.get_lines() if line.get_gid() == "best"]
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (4, 75.0)


def test_draws_on_the_given_axes_with_the_given_title(values):
    figure = new_figure()
    ax = figure.add_subplot()
    assert plot_model_selection(_selection(values), ax=ax, title="mine") is ax
    assert ax.get_title() == "mine"


def test_a_class_without_covariance_types_is_one_line_named_after_it():
    rng = np.random.RandomState(0)
    counts = np.vstack([rng.poisson([2, 9], size=(40, 2)), rng.poisson([10, 1], size=(40, 2))])
    from emkit import PoissonMixture

    selection = select_model(counts, n_components=[1, 2, 3], estimator=PoissonMixture)
    ax = plot_model_selection(selection)
    (line,) = _criterion_lines(ax)
    assert line.get_label() == "PoissonMixture"
    np.testing.assert_array_equal(line.get_ydata(), selection.table["bic"])
    assert ax.get_legend().get_title().get_text() == ""


def test_an_unknown_criterion_is_refused(values):
    with pytest.raises(ValueError, match="criterion='likelihood'"):
        plot_model_selection(_selection(values), criterion="likelihood")
