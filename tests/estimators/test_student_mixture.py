"""StudentMixture: densities against SciPy, monotone EM, chunked and threaded fits,
robustness to gross outliers (against GaussianMixture), dof recovery, the Gaussian
limit, save/load, scikit-learn's estimator checks and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _ignore_y import ignoring_y
from scipy import stats as sps
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
import emkit.estimators
from emkit import GaussianMixture
from emkit.core.monitor import RegularizationDecreaseWarning
from emkit.datasets import load_old_faithful
from emkit.estimators.student_mixture import StudentMixture
from emkit.families.student import StudentFamily

TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def faithful():
    return load_old_faithful().data


def planted_outliers(X, n_outliers=20, seed=0):
    """X with ``n_outliers`` gross outliers appended, uniform over eruptions 0-12 min
    and waiting 0-200 min (Old Faithful's own ranges are 1.6-5.1 and 43-96)."""
    rng = np.random.RandomState(seed)
    out = np.column_stack([rng.uniform(0, 12, n_outliers), rng.uniform(0, 200, n_outliers)])
    return np.vstack([X, out])


def _sorted_means(model):
    return model.means_[np.argsort(model.means_[:, 0])]


@pytest.mark.parametrize("kind", TYPES)
def test_fit_scores_match_scipy_and_never_decrease(faithful, kind):
    model = StudentMixture(2, covariance_type=kind, random_state=0, max_iter=300).fit(faithful)
    # the engine turns a likelihood decrease into an error (pyproject's filterwarnings);
    # checked here from the trace as well
    trace = model.trace_["log_likelihood"]
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    family = model.model_.family
    components = model.params_.components
    log_joint = np.column_stack(
        [
            np.log(model.weights_[k])
            + sps.multivariate_t(
                model.means_[k], family.component_covariance(components, k), df=model.dof_[k]
            ).logpdf(faithful)
            for k in range(2)
        ]
    )
    expected = logsumexp(log_joint, axis=1)
    np.testing.assert_allclose(model.score_samples(faithful), expected, rtol=1e-10)
    assert np.isclose(model.score(faithful) * len(faithful), model.log_likelihood_, rtol=1e-8)
    resp = np.exp(log_joint - expected[:, None])
    np.testing.assert_allclose(model.predict_proba(faithful), resp, atol=1e-10)
    np.testing.assert_array_equal(model.predict(faithful), resp.argmax(axis=1))
    assert model.dof_.shape == (2,) and np.all(model.dof_ > 0)
    assert model.precisions_cholesky_.shape == model.covariances_.shape


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("accelerate", (None, "squarem"))
def test_never_decreases_on_heavy_tailed_data(kind, accelerate):
    """Heavy tails, far rows, weights, three components: the engine's monotonicity check
    (a LikelihoodDecreaseWarning is an error in the tests) never fires."""
    rng = np.random.RandomState(len(kind))
    X = np.vstack([rng.standard_t(1.5, size=(60, 3)) * s + 8 * s for s in (0.5, 1.0, 3.0)])
    X[:5] *= 1e3
    weights = rng.uniform(0.0, 3.0, len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # SQUAREM visits components narrow enough that reg_covar costs a little: the
        # engine allows that (m_step_slack) with this warning; a decrease beyond it would
        # be a LikelihoodDecreaseWarning, an error here
        warnings.simplefilter("ignore", RegularizationDecreaseWarning)
        model = StudentMixture(
            3, covariance_type=kind, tol=1e-10, max_iter=150, accelerate=accelerate, random_state=0
        ).fit(X, sample_weight=weights)
    trace = model.trace_["log_likelihood"]
    assert np.all(np.isfinite(trace)) and trace[-1] > trace[0]


@pytest.mark.parametrize("kind", ("full", "diag"))
def test_chunked_and_threaded_fits_equal_in_memory(faithful, kind):
    options = dict(covariance_type=kind, random_state=0, max_iter=15, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached (tol=0): the same for all
        whole = StudentMixture(2, **options).fit(faithful)
        chunked = StudentMixture(2, chunk_size=37, n_jobs=2, **options).fit(faithful)
        single = StudentMixture(2, chunk_size=37, n_jobs=1, **options).fit(faithful)
    for name in ("weights_", "means_", "covariances_", "dof_"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-9)
        np.testing.assert_array_equal(getattr(chunked, name), getattr(single, name))
    assert np.isclose(chunked.log_likelihood_, whole.log_likelihood_, rtol=1e-12)


def test_robust_to_gross_outliers_where_gaussian_mixture_is_pulled(faithful):
    """20 gross outliers planted in Old Faithful: the t mixture's means stay within 0.5
    (minutes) of the clean Gaussian fit's, the Gaussian mixture's move by more than 1."""
    reference = _sorted_means(GaussianMixture(2, random_state=0).fit(faithful))
    X = planted_outliers(faithful)
    student = StudentMixture(2, random_state=0).fit(X)
    gaussian = GaussianMixture(2, random_state=0).fit(X)
    assert np.abs(_sorted_means(student) - reference).max() < 0.5  # measured 0.43
    assert np.abs(_sorted_means(gaussian) - reference).max() > 1.0  # measured 1.68
    # the planted rows get small weights E[u]: they are what the heavy tails absorb
    u, _ = student.model_.family.latent_scale(student.params_.components, X)
    held = (student.predict_proba(X) * u).sum(axis=1)
    assert held[len(faithful) :].mean() < 0.2 * held[: len(faithful)].mean()  # measured 0.095
    # and the t mixture describes the contaminated data far better
    assert student.score(X) > gaussian.score(X) + 0.5  # measured 0.91 per sample


@pytest.mark.slow
def test_gaussian_mixture_spends_a_component_on_outliers_over_restarts(faithful):
    """With the best of 10 restarts, the Gaussian mixture gives a component to the
    outliers and merges the two eruption types; the t mixture does not."""
    reference = _sorted_means(GaussianMixture(2, random_state=0).fit(faithful))
    X = planted_outliers(faithful)
    student = StudentMixture(2, n_init=10, random_state=0).fit(X)
    gaussian = GaussianMixture(2, n_init=10, random_state=0).fit(X)
    assert np.abs(_sorted_means(student) - reference).max() < 0.5  # measured 0.43
    assert np.abs(_sorted_means(gaussian) - reference).max() > 10.0  # measured 32.4
    assert student.score(X) > gaussian.score(X) + 0.3  # measured 0.44 per sample


@pytest.mark.slow
def test_dof_learned_close_to_truth_on_large_data():
    family = StudentFamily("full")
    truth = family.make_params(
        np.array([[0.0, 0.0], [8.0, 0.0]]),
        np.array([np.eye(2), [[1.0, 0.5], [0.5, 2.0]]]),
        np.array([3.0, 10.0]),
    )
    X = family.sample(truth, np.array([20000, 20000]), np.random.RandomState(1))
    model = StudentMixture(2, random_state=0, tol=1e-6, max_iter=1000).fit(X)
    order = np.argsort(model.means_[:, 0])
    # measured: dof [3.06, 9.48], means within 0.021, 34 iterations
    np.testing.assert_allclose(model.dof_[order], [3.0, 10.0], rtol=0.15)
    np.testing.assert_allclose(model.means_[order], truth.means, atol=0.05)


def test_dof_learned_on_moderate_data():
    family = StudentFamily("diag")
    truth = family.make_params(
        np.array([[0.0, 0.0], [10.0, 0.0]]), np.ones((2, 2)), np.array([2.0, 6.0])
    )
    X = family.sample(truth, np.array([3000, 3000]), np.random.RandomState(2))
    model = StudentMixture(2, covariance_type="diag", random_state=0, tol=1e-6).fit(X)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.dof_[order], [2.0, 6.0], rtol=0.25)  # measured 1.88, 5.86


@pytest.mark.parametrize("kind", TYPES)
def test_large_fixed_dof_approaches_the_gaussian_mixture(faithful, kind):
    options = dict(covariance_type=kind, random_state=0, tol=1e-8, max_iter=500)
    gaussian = GaussianMixture(2, **options).fit(faithful)
    student = StudentMixture(
        2, learn=("weights", "means", "covariances"), dof_init=1e8, **options
    ).fit(faithful)
    np.testing.assert_allclose(student.means_, gaussian.means_, rtol=1e-4)
    np.testing.assert_allclose(student.covariances_, gaussian.covariances_, rtol=1e-3)
    assert np.isclose(student.log_likelihood_, gaussian.log_likelihood_, rtol=1e-6)
    # fixed dof are not counted as free parameters
    assert student._n_parameters() == gaussian._n_parameters()


def test_learned_dof_beats_the_gaussian_fit_and_counts_in_bic(faithful):
    gaussian = GaussianMixture(2, random_state=0, tol=1e-8).fit(faithful)
    # the likelihood is flat in the dof here (one component is nearly Gaussian), where
    # ECM creeps: SQUAREM and a small tol reach the fit beyond the Gaussian's
    student = StudentMixture(2, random_state=0, tol=1e-7, accelerate="squarem").fit(faithful)
    # a superset of models: measured -1129.965 against -1130.264
    assert student.log_likelihood_ > gaussian.log_likelihood_ + 0.2
    assert student._n_parameters() == gaussian._n_parameters() + 2
    n = len(faithful)
    expected_bic = -2 * student.log_likelihood_ + student._n_parameters() * np.log(n)
    assert np.isclose(student.bic(faithful), expected_bic)
    assert np.isclose(
        student.aic(faithful), -2 * student.log_likelihood_ + 2 * student._n_parameters()
    )


def test_fixed_dof_stay_exactly(faithful):
    model = StudentMixture(
        2, learn=("weights", "means", "covariances"), dof_init=[3.0, 5.0], random_state=0
    ).fit(faithful)
    np.testing.assert_array_equal(model.dof_, [3.0, 5.0])
    only_dof = StudentMixture(2, dof_init=4.0, random_state=0).fit(faithful)
    assert not np.allclose(only_dof.dof_, 4.0)


def test_squarem_reaches_the_same_fit(faithful):
    plain = StudentMixture(2, random_state=0, tol=1e-5).fit(faithful)
    fast = StudentMixture(2, random_state=0, tol=1e-5, accelerate="squarem").fit(faithful)
    # measured: -1130.105 in 39 E-steps against -1130.245 in 94
    assert fast.log_likelihood_ >= plain.log_likelihood_
    assert fast.n_e_steps_ < plain.n_e_steps_


def test_partial_fit_runs_and_improves(faithful):
    model = StudentMixture(2, random_state=0)
    rng = np.random.RandomState(0)
    X = faithful[rng.permutation(len(faithful))]
    for batch in np.array_split(X, 4):
        model.partial_fit(batch)
    assert np.all(np.isfinite(model.means_)) and np.all(model.dof_ > 0)
    assert model.score(faithful) > GaussianMixture(1).fit(faithful).score(faithful)


def test_sample(faithful):
    model = StudentMixture(2, random_state=0).fit(faithful)
    X, labels = model.sample(500, random_state=3)
    assert X.shape == (500, 2) and labels.shape == (500,)
    X2, _ = model.sample(500, random_state=3)
    np.testing.assert_array_equal(X, X2)
    assert set(np.unique(labels)) <= {0, 1}


def test_parameters_set_by_hand_make_a_usable_model(faithful):
    fitted = StudentMixture(2, random_state=0).fit(faithful)
    by_hand = StudentMixture(2)
    by_hand.weights_ = fitted.weights_
    by_hand.means_ = fitted.means_
    by_hand.covariances_ = fitted.covariances_
    by_hand.dof_ = fitted.dof_
    np.testing.assert_allclose(by_hand.score_samples(faithful), fitted.score_samples(faithful))
    # editing dof_ changes what the model computes with
    by_hand.dof_ = 1e8
    assert np.all(by_hand.dof_ == 1e8)
    assert by_hand.score(faithful) != fitted.score(faithful)


@pytest.mark.parametrize("kind", TYPES)
def test_save_load_round_trip(faithful, tmp_path, kind):
    model = StudentMixture(2, covariance_type=kind, random_state=0).fit(faithful)
    loaded = emkit.load(emkit.save(model, tmp_path / f"t-{kind}"))
    assert type(loaded) is StudentMixture
    for name in ("weights_", "means_", "covariances_", "dof_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    np.testing.assert_array_equal(loaded.score_samples(faithful), model.score_samples(faithful))
    assert loaded.get_params() == model.get_params()


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, -2.0, [1.0, -1.0], [3.0, 0.0]])
def test_non_positive_dof_init_is_a_clear_error(faithful, bad):
    with pytest.raises(ValueError, match=r"dof_init.*must be positive"):
        StudentMixture(2, dof_init=bad).fit(faithful)


def test_bad_dof_values(faithful):
    with pytest.raises(ValueError, match="dof_init contains NaN or infinity"):
        StudentMixture(2, dof_init=np.inf).fit(faithful)
    with pytest.raises(ValueError, match=r"dof_init must have shape \(2,\)"):
        StudentMixture(2, dof_init=[1.0, 2.0, 3.0]).fit(faithful)
    model = StudentMixture(2, random_state=0).fit(faithful)
    with pytest.raises(ValueError, match="dof_ must be positive"):
        model.dof_ = [-1.0, 2.0]
    with pytest.raises(ValueError, match=r"dof_ must have shape \(2,\)"):
        model.dof_ = [1.0, 2.0, 3.0]


def test_fixed_dof_needs_dof_init(faithful):
    with pytest.raises(ValueError, match=r"leaves 'dof' fixed.*dof_init"):
        StudentMixture(2, learn=("weights", "means", "covariances")).fit(faithful)
    with pytest.raises(ValueError, match="unknown parameter names"):
        StudentMixture(2, learn=("weights", "degrees")).fit(faithful)


def test_other_bad_input(faithful):
    with pytest.raises(ValueError, match="covariance_type"):
        StudentMixture(2, covariance_type="banded").fit(faithful)
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        StudentMixture(2).fit(np.vstack([faithful, [[np.nan, 1.0]]]))
    model = StudentMixture(2, random_state=0).fit(faithful)
    with pytest.raises(ValueError, match="features"):
        model.predict(faithful[:, :1])
    with pytest.raises(ValueError, match="too large"):
        StudentMixture(2).fit(np.vstack([faithful, [[1e300, 1.0]]]))


# -- scikit-learn's estimator checks -------------------------------------------------------
RANDOM_INIT_REASON = (
    "random initialisation starts the weighted fit and the fit on shuffled repeated rows "
    "from different points (as for GaussianMixture, see test_estimator_checks.py)"
)


# y is the mixtures' partial labels; the checks pass class labels to ignore (_ignore_y.py)
@parametrize_with_checks(
    [
        ignoring_y(StudentMixture()),
        ignoring_y(StudentMixture(n_components=2, covariance_type="tied")),
        ignoring_y(StudentMixture(n_components=2, covariance_type="diag", assignment="hard")),
        ignoring_y(
            StudentMixture(
                n_components=2,
                covariance_type="spherical",
                learn=("weights", "means", "covariances"),
                dof_init=3.0,
                weight_prior=1.0,
            )
        ),
    ],
    expected_failed_checks=lambda estimator: (
        {}
        if estimator.n_components == 1
        else {"check_sample_weight_equivalence_on_dense_data": RANDOM_INIT_REASON}
    ),
)
def test_student_mixture_sklearn_checks(estimator, check):
    check(estimator)
