"""Cases from an independent bug hunt (issue 11): warm starts on new data, impossible
count rows, row totals at prediction, huge samples, parameters not learned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit
from emkit.core.monitor import LikelihoodDecreaseWarning


@pytest.fixture
def two_blobs():
    rng = np.random.default_rng(1)
    return np.r_[rng.normal(0, 1, (300, 1)), rng.normal(8, 1, (300, 1))]


# -- 1. a warm start on other data ------------------------------------------------------
def test_warm_refit_on_shifted_data_does_not_warn_of_a_decrease(two_blobs):
    model = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(two_blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        model.fit(two_blobs + 20)
    assert model.converged_


def test_warm_refit_does_not_stop_where_the_old_bound_happens_to_match(two_blobs):
    """New data scaled so that their first bound equals the old fit's bound: the warm
    refit still runs as a fit started from the same parameters with a fresh monitor,
    instead of stopping after one iteration as "converged"."""
    from scipy.optimize import brentq

    model = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(two_blobs)
    rng = np.random.default_rng(1)
    Z = np.r_[rng.normal(0, 1, (300, 1)), rng.normal(2.5, 0.5, (300, 1))]
    scale = brentq(lambda c: model.score(Z * c) - model.lower_bound_, 0.2, 0.5)
    new = Z * scale
    fresh = emkit.GaussianMixture(
        2,
        weights_init=model.weights_,
        means_init=model.means_,
        precisions_init=model.precisions_,
        random_state=0,
    )
    with warnings.catch_warnings():
        # one component empties on these data (both fits alike)
        warnings.simplefilter("ignore", emkit.EmptyComponentWarning)
        fresh.fit(new)
        model.fit(new)
    assert model.n_iter_ == fresh.n_iter_ > 1
    np.testing.assert_allclose(model.means_, fresh.means_, rtol=1e-12)


# -- 2. a count row impossible under every component during fit ---------------------------
SYMBOLS = np.array([[0], [1], [2], [0], [1], [1]])
IMPOSSIBLE_FITS = {
    "categorical": (
        lambda **kw: emkit.CategoricalMixture(
            2, emissionprob_init=[[1, 0, 0], [0, 1, 0]], random_state=0, **kw
        ),
        SYMBOLS,
        2,
    ),
    "multinomial": (
        lambda **kw: emkit.MultinomialMixture(
            2, emissionprob_init=[[1, 0], [0, 1]], random_state=0, **kw
        ),
        np.array([[2, 0], [0, 2], [1, 1]]),
        2,
    ),
    "bernoulli": (
        lambda **kw: emkit.BernoulliMixture(
            2, emissionprob_init=np.ones((2, 2)), random_state=0, **kw
        ),
        np.array([[1, 1], [0, 1], [1, 0]]),
        1,
    ),
}


@pytest.mark.parametrize("learn", [None, ["weights"]])
@pytest.mark.parametrize("case", sorted(IMPOSSIBLE_FITS))
def test_fit_names_a_row_impossible_under_every_component(case, learn):
    make, X, row = IMPOSSIBLE_FITS[case]
    with pytest.raises(emkit.models.mixture.ImpossibleRowError) as info:
        make(learn=learn).fit(X)
    message = str(info.value)
    assert f"row {row} of X has probability zero under every component" in message
    assert "emissionprob_prior > 0" in message and "*_init" in message
    assert info.value.__cause__ is None and "reg_covar" not in message


def test_impossible_row_of_weight_zero_counts_for_nothing():
    weights = np.ones(len(SYMBOLS))
    weights[2] = 0
    model = IMPOSSIBLE_FITS["categorical"][0]().fit(SYMBOLS, sample_weight=weights)
    np.testing.assert_allclose(model.weights_, [0.4, 0.6])
    assert np.isfinite(model.lower_bound_)


def test_fit_and_predict_give_the_same_impossible_row_error():
    X = np.array([[0.0], [3.0]])
    rates = np.zeros((2, 1))  # a count of 3 is impossible under every component
    with pytest.raises(emkit.models.mixture.ImpossibleRowError) as fitting:
        emkit.PoissonMixture(2, weights_init=[0.5, 0.5], rates_init=rates).fit(X)
    model = emkit.PoissonMixture(2)
    model.weights_, model.rates_ = np.full(2, 0.5), rates
    with pytest.raises(emkit.models.mixture.ImpossibleRowError) as predicting:
        model.predict(X)
    assert str(fitting.value) == str(predicting.value)
    assert "row 1 of X" in str(fitting.value)


def test_impossible_row_is_named_in_the_users_numbering_across_chunks():
    X = np.r_[np.zeros((5, 1), int), np.ones((5, 1), int), [[2]]]
    model = emkit.CategoricalMixture(
        2, emissionprob_init=[[1, 0, 0], [0, 1, 0]], chunk_size=4, random_state=0
    )
    with pytest.raises(emkit.models.mixture.ImpossibleRowError, match="row 10 of X"):
        model.fit(X)


# -- 3. row totals checked at prediction as in fit ------------------------------------------
@pytest.fixture(scope="module")
def five_trials():
    return np.random.default_rng(0).multinomial(5, [0.2, 0.3, 0.5], size=50)


MIXTURE_METHODS = ("score_samples", "score", "predict", "predict_proba", "bic")
HMM_METHODS = ("score", "score_samples", "predict", "predict_proba", "decode")


@pytest.mark.parametrize(
    "estimator, methods",
    [(emkit.MultinomialMixture, MIXTURE_METHODS), (emkit.MultinomialHMM, HMM_METHODS)],
)
def test_prediction_refuses_rows_whose_total_is_not_n_trials(five_trials, estimator, methods):
    from emkit.families._counts import RowTotalError

    model = estimator(2, n_trials=5, random_state=0).fit(five_trials)
    for method in methods:
        with pytest.raises(RowTotalError, match=r"row 1 of X sums to 7\.0, but n_trials=5"):
            getattr(model, method)([[1, 1, 3], [7, 0, 0]])


def test_prediction_without_n_trials_takes_any_total(five_trials):
    model = emkit.MultinomialMixture(2, random_state=0).fit(five_trials)
    assert np.isfinite(model.score_samples([[7, 0, 0]])).all()


# -- 4. a sample too large for memory is refused before NumPy allocates ---------------------
@pytest.mark.parametrize(
    "estimator", [emkit.GaussianMixture, emkit.GaussianHMM, emkit.PoissonMixture]
)
def test_sample_larger_than_memory_is_refused_with_its_size(estimator):
    X = np.abs(np.random.default_rng(0).normal(size=(60, 2))).round()
    model = estimator(2, random_state=0, max_iter=5).fit(X)
    with pytest.raises(
        MemoryError, match=r"n_samples=1000000000000: .* need about 43\.7 TiB"
    ) as info:
        model.sample(10**12)
    assert isinstance(info.value, ValueError)  # a clear error, named argument
    assert model.sample(3)[0].shape == (3, 2)


# -- 5. parameters not learned need their *_init; learn as one string ------------------------
@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(0).normal(size=(60, 2))


def test_fixed_parameter_without_its_init_names_the_init(points):
    with pytest.raises(ValueError, match=r"leaves 'means' fixed.*set means_init") as info:
        emkit.GaussianMixture(2, learn=["weights"]).fit(points)
    assert "initial" not in str(info.value)
    with pytest.raises(ValueError, match=r"leaves 'covariances' fixed.*set precisions_init"):
        emkit.GaussianMixture(2, learn=["weights"], means_init=[[0, 0], [1, 1]]).fit(points)
    with pytest.raises(ValueError, match=r"leaves 'means' fixed.*set means_init"):
        emkit.GaussianHMM(2, learn=["startprob", "covariances", "transmat"]).fit(points)


def test_fixed_parameters_given_fit(points):
    means = [[-1.0, 0.0], [1.0, 0.0]]
    model = emkit.GaussianMixture(
        2, learn=["weights"], means_init=means, precisions_init=np.array([np.eye(2)] * 2)
    ).fit(points)
    np.testing.assert_array_equal(model.means_, means)


@pytest.mark.parametrize(
    "estimator, codes, names",
    [
        (emkit.GaussianHMM, "st", "('startprob', 'transmat')"),
        (emkit.GaussianMixture, "wm", "('weights', 'means')"),
    ],
)
def test_learn_as_letter_codes_is_translated(points, estimator, codes, names):
    with pytest.raises(ValueError, match=r"hmmlearn's letter codes") as info:
        estimator(2, learn=codes).fit(points)
    assert f"learn={names}" in str(info.value)


def test_learn_as_one_name_asks_for_a_list(points):
    with pytest.raises(ValueError, match=r"learn='means' is one string.*learn=\['means'\]"):
        emkit.GaussianMixture(2, learn="means").fit(points)


def test_a_forecast_or_sample_too_large_for_memory_is_refused_before_allocating():
    # measured before: NumPy's bare MemoryError from inside forecast
    X = np.random.default_rng(0).normal(size=(50, 2))
    model = emkit.LinearGaussianSSM(1, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"steps=1000000000: .*forecast fewer steps"):
        model.forecast(X[:3], 10**9)
    with pytest.raises(ValueError, match=r"n_samples=1000000000000: .* 3 values"):
        model.sample(10**12)  # two observed features and one state per step
