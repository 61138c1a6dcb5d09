"""Model selection (select_model, ModelSelection) and ICL on every mixture estimator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import xlogy

import emkit
from emkit.estimators.mixture_of_factor_analyzers import MixtureOfFactorAnalyzers
from emkit.estimators.selection import COLUMNS, ModelSelection, SelectionCell, select_model
from emkit.estimators.student_mixture import StudentMixture
from emkit.families import ComponentCollapseError


@pytest.fixture(scope="module")
def faithful():
    return emkit.datasets.load_old_faithful().data


@pytest.fixture(scope="module")
def separated():
    """Three far-apart round clusters of 60 points in 2-D."""
    rng = np.random.RandomState(3)
    centres = np.array([[0.0, 0.0], [12.0, 0.0], [0.0, 12.0]])
    return np.vstack([c + rng.standard_normal((60, 2)) for c in centres])


def _entropy(responsibilities):
    return -float(xlogy(responsibilities, responsibilities).sum())


# -- ICL ----------------------------------------------------------------------------------
def _count_data():
    rng = np.random.RandomState(0)
    return np.vstack([rng.poisson([2, 9], size=(60, 2)), rng.poisson([10, 1], size=(60, 2))])


@pytest.mark.parametrize(
    "make, data",
    [
        (lambda: emkit.GaussianMixture(3, covariance_type="full", random_state=0), "X"),
        (lambda: emkit.GaussianMixture(3, covariance_type="tied", random_state=0), "X"),
        (lambda: emkit.GaussianMixture(3, covariance_type="diag", random_state=0), "X"),
        (lambda: emkit.GaussianMixture(3, covariance_type="spherical", random_state=0), "X"),
        (lambda: StudentMixture(2, random_state=0), "X"),
        (lambda: MixtureOfFactorAnalyzers(2, n_factors=1, random_state=0), "X"),
        (lambda: emkit.PoissonMixture(2, random_state=0), "counts"),
        (lambda: emkit.BernoulliMixture(2, random_state=0), "binary"),
    ],
    ids=["full", "tied", "diag", "spherical", "student", "mfa", "poisson", "bernoulli"],
)
def test_icl_is_bic_plus_twice_the_entropy_of_the_responsibilities(make, data, X3):
    X = {"X": X3, "counts": _count_data(), "binary": (_count_data() > 4).astype(float)}[data]
    estimator = make().fit(X)
    t = estimator.predict_proba(X)
    log_density = estimator.score_samples(X)
    n = X.shape[0]
    bic = -2.0 * log_density.sum() + estimator._n_parameters() * np.log(n)
    entropy = _entropy(t)
    assert entropy > 0.0
    np.testing.assert_allclose(estimator.bic(X), bic, rtol=1e-12)
    np.testing.assert_allclose(estimator.icl(X), bic + 2.0 * entropy, rtol=1e-12)
    assert estimator.icl(X) >= estimator.bic(X)


def test_icl_equals_bic_for_one_component_and_for_certain_assignments(separated):
    one = emkit.GaussianMixture(1).fit(separated)
    assert one.icl(separated) == one.bic(separated)
    three = emkit.GaussianMixture(3, random_state=0).fit(separated)
    # clusters 12 standard deviations apart: every row is (numerically) certain
    assert 0.0 <= three.icl(separated) - three.bic(separated) < 1e-6


def test_icl_with_mclusts_map_classification_matches_mclust_on_old_faithful(faithful):
    """R 4 / mclust 6.0.0: ``mclustBIC(faithful)["2", "VVV"] = -2322.192`` and
    ``mclustICL(faithful)["2", "VVV"] = -2322.697``; mclust's ICL uses the MAP
    classification (-2 sum_i log max_k t_ik) where emkit's uses the entropy, which is
    larger, so emkit's ICL (lower is better) is larger than minus mclust's."""
    model = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    t = model.predict_proba(faithful)
    map_icl = model.bic(faithful) - 2.0 * np.log(t.max(axis=1)).sum()
    assert model.bic(faithful) == pytest.approx(2322.192, abs=1e-3)
    assert map_icl == pytest.approx(2322.697, abs=1e-3)
    assert model.icl(faithful) > map_icl


def test_icl_checks_its_input_like_bic(X3):
    model = emkit.GaussianMixture(2, random_state=0)
    with pytest.raises(Exception, match="not fitted"):
        model.icl(X3)
    model.fit(X3)
    with pytest.raises(ValueError, match="features"):
        model.icl(X3[:, :2])


# -- select_model -------------------------------------------------------------------------
def test_the_best_model_is_the_grid_fitted_by_hand(faithful):
    selection = select_model(
        faithful, n_components=[1, 2, 3], covariance_type=["full", "diag"], random_state=0
    )
    assert selection.n_components == (1, 2, 3)
    assert selection.covariance_types == ("full", "diag")
    by_hand = {}
    for k in (1, 2, 3):
        for kind in ("full", "diag"):
            model = emkit.GaussianMixture(k, covariance_type=kind, random_state=0).fit(faithful)
            by_hand[k, kind] = (model.bic(faithful), model.aic(faithful), model.icl(faithful))
    for cell in selection.cells:
        bic, aic, icl = by_hand[cell.n_components, cell.covariance_type]
        assert (cell.bic, cell.aic, cell.icl) == (bic, aic, icl)
        assert cell.log_likelihood == pytest.approx(cell.estimator.log_likelihood_, rel=1e-12)
        assert cell.n_parameters == cell.estimator._n_parameters()
    best = min(by_hand, key=lambda key: by_hand[key][0])
    assert best == (2, "full")
    assert selection.best_params_ == {"n_components": 2, "covariance_type": "full"}
    assert selection.best_score_ == by_hand[best][0]
    assert selection.best_estimator_ is selection.cells[selection.best_index_].estimator
    assert selection.best_estimator_.n_components == 2
    # each criterion ranks the same fits
    for name, column in (("aic", 1), ("icl", 2)):
        ranked = selection.rank_by(name)
        assert ranked.best_score_ == min(v[column] for v in by_hand.values())
        assert ranked.cells is selection.cells


def test_bic_picks_the_true_number_of_components_on_separated_clusters(separated):
    selection = select_model(separated, n_components=range(1, 6), random_state=0)
    assert selection.best_params_["n_components"] == 3
    for criterion in ("aic", "icl"):
        assert selection.rank_by(criterion).best_params_["n_components"] == 3


def test_threads_give_the_same_result_as_one_thread(faithful):
    grid = dict(n_components=range(1, 5), covariance_type=["full", "tied", "diag"])
    template = emkit.GaussianMixture(n_init=2)
    one = select_model(faithful, **grid, estimator=template, random_state=7, n_jobs=1)
    two = select_model(faithful, **grid, estimator=template, random_state=7, n_jobs=2)
    np.testing.assert_array_equal(one.grid(), two.grid())
    for a, b in zip(one.cells, two.cells, strict=True):
        np.testing.assert_array_equal(a.estimator.means_, b.estimator.means_)
        assert a.n_iter == b.n_iter
    assert one.best_params_ == two.best_params_
    # the template's own n_jobs and random_state are left alone
    assert template.n_jobs is None and template.random_state is None


def test_a_random_state_object_gives_every_cell_its_own_seed_reproducibly(separated):
    grid = dict(n_components=[2, 3], covariance_type=["full", "diag"], n_jobs=2)
    runs = [
        select_model(separated, **grid, random_state=np.random.RandomState(5)) for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].grid(), runs[1].grid())
    generator = select_model(separated, **grid, random_state=np.random.default_rng(5))
    assert generator.best_params_["n_components"] == 3


def test_the_estimators_random_state_is_used_when_none_is_given(faithful):
    grid = dict(n_components=[2, 3], covariance_type="full")
    a = select_model(faithful, **grid, estimator=emkit.GaussianMixture(random_state=3))
    b = select_model(faithful, **grid, random_state=3)
    np.testing.assert_array_equal(a.grid(), b.grid())


def _with_duplicates():
    """50 spread points and 10 copies of one point: with reg_covar=0, a component that
    takes the copies alone has a zero covariance."""
    rng = np.random.RandomState(0)
    return np.vstack([rng.standard_normal((50, 2)) * 3.0, np.tile([[20.0, 20.0]], (10, 1))])


def test_a_collapsing_component_is_recorded_and_the_others_are_kept():
    X = _with_duplicates()
    selection = select_model(
        X,
        n_components=[1, 2, 3],
        covariance_type=["full", "spherical"],
        estimator=emkit.GaussianMixture(reg_covar=0.0),
        random_state=0,
    )
    failed = selection.failed_
    assert failed, "the duplicated point should collapse a component"
    for cell in failed:
        assert cell.estimator is None and cell.failed
        assert cell.error.startswith("ComponentCollapseError: ")
        assert "collapsed" in cell.error
        assert np.isnan(cell.bic) and np.isnan(cell.icl)
    assert not selection.best_cell_.failed
    table = selection.table
    errors = table["error"]
    assert sum(e is not None for e in errors) == len(failed)
    grid = selection.grid()
    assert np.isnan(grid).sum() == len(failed)
    assert "failed: ComponentCollapseError" in selection.format_table()


class _FailsForTwo(emkit.GaussianMixture):
    """A Gaussian mixture whose fit with two components fails."""

    def fit(self, X, y=None, sample_weight=None, *, callback=None):
        if self.n_components == 2:
            raise ComponentCollapseError("component 1 collapsed (planted failure)")
        return super().fit(X, y, sample_weight, callback=callback)


class _AlwaysFails(emkit.GaussianMixture):
    def fit(self, X, y=None, sample_weight=None, *, callback=None):
        raise ComponentCollapseError(f"collapsed at K={self.n_components}")


def test_failed_cells_do_not_stop_the_grid(separated):
    selection = select_model(
        separated, n_components=[1, 2, 3], covariance_type="full", estimator=_FailsForTwo
    )
    assert [cell.failed for cell in selection.cells] == [False, True, False]
    assert selection.cells[1].error == (
        "ComponentCollapseError: component 1 collapsed (planted failure)"
    )
    assert selection.best_params_ == {"n_components": 3, "covariance_type": "full"}


def test_when_every_fit_fails_the_error_says_so(separated):
    with pytest.raises(ValueError, match=r"every fit of the grid failed.*K=1"):
        select_model(separated, n_components=[1, 2], covariance_type="full", estimator=_AlwaysFails)


def test_when_every_fit_fails_alike_that_error_is_raised(separated):
    X = separated.copy()
    X[4, 1] = np.inf
    with pytest.raises(ValueError, match="infinity") as info:
        select_model(X, n_components=[1, 2], covariance_type="full")
    assert "every fit" not in str(info.value)


def test_other_mixture_classes(X3):
    counts = _count_data()
    poisson = select_model(counts, n_components=range(1, 4), estimator=emkit.PoissonMixture)
    assert poisson.covariance_types == (None,)
    assert poisson.best_params_ == {"n_components": 2}
    assert "covariance_type" not in poisson.best_params_
    assert all(cell.covariance_type is None for cell in poisson.cells)
    student = select_model(
        X3, n_components=[2, 3], estimator=StudentMixture(max_iter=50), random_state=0
    )
    assert student.covariance_types == ("full", "tied", "diag", "spherical")
    assert isinstance(student.best_estimator_, StudentMixture)
    mfa = select_model(X3, n_components=[2, 3], estimator=MixtureOfFactorAnalyzers, random_state=0)
    assert mfa.best_params_ == {"n_components": 3}


def test_hyperparameters_of_the_template_are_kept(separated):
    template = emkit.GaussianMixture(reg_covar=1e-3, max_iter=7, tol=0.0)
    selection = select_model(
        separated, n_components=[2, 3], covariance_type="diag", estimator=template
    )
    for cell in selection.cells:
        params = cell.estimator.get_params()
        assert (params["reg_covar"], params["max_iter"], params["tol"]) == (1e-3, 7, 0.0)
        assert params["verbose"] == 0
        assert cell.n_iter <= 7
    assert template.n_components == 1  # the template itself is not fitted or changed
    assert not hasattr(template, "params_")


def test_table_frame_grid_and_text(faithful):
    selection = select_model(
        faithful, n_components=[1, 2], covariance_type=["full", "spherical"], random_state=0
    )
    table = selection.table
    assert tuple(table) == COLUMNS
    assert all(len(column) == 4 for column in table.values())
    assert table["n_components"].tolist() == [1, 1, 2, 2]
    assert table["covariance_type"].tolist() == ["full", "spherical", "full", "spherical"]
    assert table["n_components"].dtype == np.int64 and table["bic"].dtype == np.float64
    grid = selection.grid("aic")
    assert grid.shape == (2, 2)  # (covariance types, K)
    assert grid[1, 0] == selection.cells[1].aic  # spherical, K=1
    frame = pytest.importorskip("pandas") and selection.to_frame()
    assert list(frame.columns) == list(COLUMNS)
    assert frame["bic"].tolist() == table["bic"].tolist()
    text = str(selection)
    assert text.splitlines()[0].split() == [
        "K", "covariance", "log-lik", "params", "BIC", "AIC", "ICL", "iter"
    ]  # fmt: skip
    assert (
        "best by BIC (lower is better): GaussianMixture(n_components=2, covariance_type=full)"
        in text
    )
    starred = [line for line in text.splitlines() if line.startswith("*")]
    assert len(starred) == 1 and " full " in starred[0] and starred[0].split()[1] == "2"
    assert "ModelSelection(GaussianMixture, criterion='bic'" in repr(selection)


def test_a_single_number_and_a_single_type_are_a_grid_of_one(separated):
    selection = select_model(separated, n_components=3, covariance_type="tied", random_state=0)
    assert len(selection.cells) == 1
    assert selection.best_params_ == {"n_components": 3, "covariance_type": "tied"}


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_components": []}, "n_components is empty"),
        ({"n_components": range(1, 1)}, "n_components is empty"),
        ({"n_components": [0, 1]}, r"holds 0.*integer >= 1"),
        ({"n_components": [1.5]}, r"holds 1.5"),
        ({"n_components": [True]}, r"holds True"),
        ({"n_components": [2, 2]}, "repeats"),
        ({"n_components": [2, 200]}, r"holds 200, but X has 180 samples.*n_components <= 180"),
        ({"covariance_type": []}, "covariance_type is empty"),
        ({"covariance_type": ["full", "banded"]}, r"'banded'.*'full', 'tied', 'diag', 'spherical'"),
        ({"covariance_type": ["full", "full"]}, "repeats"),
        ({"criterion": "likelihood"}, r"criterion='likelihood'.*'bic', 'aic', 'icl'"),
        ({"criterion": None}, "criterion=None"),
        (
            {"covariance_type": "full", "estimator": emkit.PoissonMixture},
            "PoissonMixture has no covariance_type",
        ),
        ({"n_jobs": 0}, "n_jobs=0"),
    ],
)
def test_bad_arguments_get_clear_errors(separated, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_model(separated, **kwargs)


def test_bad_types_get_clear_errors(separated):
    with pytest.raises(TypeError, match="n_components='3'"):
        select_model(separated, n_components="3")
    with pytest.raises(TypeError, match="neither an estimator class nor an estimator"):
        select_model(separated, estimator="gmm")
    with pytest.raises(ValueError, match="2-D"):
        select_model(separated[:, 0])
    with pytest.raises(ValueError, match="no rows"):
        select_model(np.empty((0, 2)))


def test_an_estimator_without_the_criterion_is_refused(separated):
    from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

    with pytest.raises(ValueError, match="GaussianMixture has no icl"):
        select_model(separated, criterion="icl", estimator=SklearnGaussianMixture)
    # BIC and AIC it has: the ICL column is then NaN
    selection = select_model(
        separated, n_components=[2, 3], estimator=SklearnGaussianMixture, random_state=0
    )
    assert selection.best_params_["n_components"] == 3
    assert np.isnan(selection.table["icl"]).all()


def test_model_selection_checks_its_cells():
    cell = SelectionCell(1, None, None, error="ValueError: no")
    with pytest.raises(ValueError, match="finite BIC"):
        ModelSelection([cell], "bic", [1], [None], "X")
    with pytest.raises(ValueError, match="cells: got 1 for a grid of 2 x 1"):
        ModelSelection([cell], "bic", [1, 2], [None], "X")


def test_old_faithful_picks_mclusts_models(faithful):
    """R 4 / mclust 6.0.0, ``Mclust(faithful, G = 1:9)`` over VVV, EEE, VVI, VII (emkit's
    full, tied, diag, spherical): BIC's best is EEE with 3 components, BIC -2314.316
    (log-likelihood -1126.326); ``mclustICL``'s best is VVV with 2. emkit's criteria are
    minus mclust's; EM run to tol=1e-6 ends slightly higher than mclust's stop."""
    selection = select_model(
        faithful,
        n_components=[2, 3, 4],
        covariance_type=["full", "tied"],
        estimator=emkit.GaussianMixture(n_init=3, tol=1e-6, max_iter=1000),
        random_state=0,
    )
    assert selection.best_params_ == {"n_components": 3, "covariance_type": "tied"}
    assert selection.best_score_ == pytest.approx(2314.316, abs=0.05)
    assert selection.best_cell_.log_likelihood == pytest.approx(-1126.326, abs=0.02)
    assert selection.rank_by("icl").best_params_ == {"n_components": 2, "covariance_type": "full"}


class _InfiniteBicForTwo(emkit.GaussianMixture):
    def bic(self, X):
        return np.inf if self.n_components == 2 else super().bic(X)


def test_a_fit_with_a_non_finite_criterion_is_a_failed_cell(separated):
    selection = select_model(
        separated, n_components=[1, 2, 3], covariance_type="full", estimator=_InfiniteBicForTwo
    )
    assert selection.cells[1].error == (
        "FloatingPointError: the fitted model's bic is inf, icl is inf: the fit is not "
        "usable (scale the data or raise reg_covar)"
    )
    assert selection.best_params_["n_components"] == 3


def test_missing_values_go_through_to_the_gaussian_mixture(faithful):
    X = faithful.copy()
    rng = np.random.RandomState(0)
    hidden = rng.uniform(size=X.shape) < 0.1
    hidden[hidden.all(axis=1)] = False  # keep every row partly observed
    X[hidden] = np.nan
    selection = select_model(X, n_components=[1, 2, 3], covariance_type="full", random_state=0)
    assert not selection.failed_
    by_hand = emkit.GaussianMixture(2, random_state=0).fit(X)
    assert selection.cells[1].bic == by_hand.bic(X)
    t = by_hand.predict_proba(X)
    assert selection.cells[1].icl == pytest.approx(by_hand.bic(X) + 2 * _entropy(t), rel=1e-12)
