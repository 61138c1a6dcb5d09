"""Degenerate data for every count estimator: a clear error, or a valid model that
``emkit.save`` writes and ``emkit.load`` reads back (issue 11).

Every count estimator (Poisson, categorical, multinomial and Bernoulli; mixtures and
HMMs) is fitted on all-zero rows, one row, a constant column, an outcome never seen,
uniform weights of 1e-300 and 1e300, weights of 1e-300 and 1e300 mixed, and more
components than distinct rows (components left empty). A fit must either raise a
ValueError whose message says what to do (no chained library error), or return
parameters that satisfy the constraints the estimator's own setters and ``load``
check, with a log-likelihood that never falls beyond rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit

MIXTURES = (
    emkit.PoissonMixture,
    emkit.CategoricalMixture,
    emkit.MultinomialMixture,
    emkit.BernoulliMixture,
)
HMMS = (emkit.PoissonHMM, emkit.CategoricalHMM, emkit.MultinomialHMM, emkit.BernoulliHMM)
ESTIMATORS = MIXTURES + HMMS


def _base_data(estimator_class, n=12, rng=None):
    """Data that the estimator's family takes, of shape (n, 3)."""
    rng = np.random.default_rng(0) if rng is None else rng
    counts = rng.poisson(2.0, (n, 3))
    if estimator_class in (emkit.BernoulliMixture, emkit.BernoulliHMM):
        return (counts > 1).astype(np.int64)
    if estimator_class in (emkit.CategoricalMixture, emkit.CategoricalHMM):
        return np.minimum(counts, 3)
    return counts


def _case(name, estimator_class):
    """(X, fit keyword arguments, n_components) of one degenerate case."""
    X = _base_data(estimator_class)
    n = X.shape[0]
    if name == "all zero rows":
        return np.zeros_like(X), {}, 2
    if name == "one row":
        return X[:1], {}, 1
    if name == "constant column":
        X = X.copy()
        X[:, 1] = 1
        return X, {}, 2
    if name == "outcome never seen":
        X = X.copy()
        X[:, 2] = 0  # a feature (or symbol 0 of a column) every row shares
        return X, {}, 3
    if name == "identical rows, empty components":
        return np.tile(X[:1], (6, 1)), {}, 4
    weights = {
        "weights 1e-300": np.full(n, 1e-300),
        "weights 1e300": np.full(n, 1e300),
        "weights 1e-300 and 1e300": np.where(np.arange(n) % 2, 1e-300, 1e300),
    }[name]
    if estimator_class in HMMS:  # one weight per sequence: four sequences of three rows
        return X, {"lengths": [3] * 4, "sample_weight": weights[:4]}, 2
    return X, {"sample_weight": weights}, 2


CASES = (
    "all zero rows",
    "one row",
    "constant column",
    "outcome never seen",
    "identical rows, empty components",
    "weights 1e-300",
    "weights 1e300",
    "weights 1e-300 and 1e300",
)


def _check_valid(model) -> None:
    """The constraints the parameter setters and ``load`` check, whatever the class."""
    for name in ("weights_", "startprob_"):
        if hasattr(model, name):
            values = getattr(model, name)
            assert np.all(np.isfinite(values)) and np.all(values >= 0), name
            np.testing.assert_allclose(values.sum(), 1.0, atol=1e-10, err_msg=name)
    if hasattr(model, "transmat_"):
        np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0, atol=1e-10)
    if hasattr(model, "rates_"):
        assert np.all(np.isfinite(model.rates_)) and np.all(model.rates_ >= 0)
    probs = getattr(model, "emissionprob_", None)
    if probs is not None:
        assert np.all(np.isfinite(probs)) and np.all((probs >= 0) & (probs <= 1))
        if not isinstance(model, (emkit.BernoulliMixture, emkit.BernoulliHMM)):
            np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-10)
    assert np.isfinite(model.log_likelihood_)
    bounds = np.asarray(model.lower_bounds_, dtype=float)
    rounding = 1e-12 * np.maximum(1.0, np.abs(bounds[1:]))
    assert np.all(np.diff(bounds) >= -rounding), np.diff(bounds).min()


def _check_clear_error(error: Exception) -> None:
    """A message that says what to do, and no library error chained under it."""
    message = str(error)
    assert error.__cause__ is None and len(message) > 30, message
    assert "could not" not in message and "Unable to allocate" not in message, message


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_degenerate_fit_is_valid_and_loadable(estimator_class, case, tmp_path):
    X, kwargs, n_components = _case(case, estimator_class)
    model = estimator_class(n_components, random_state=0, max_iter=50)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings are expected here
            model.fit(X, **kwargs)
    except ValueError as error:
        _check_clear_error(error)
        return
    _check_valid(model)
    path = tmp_path / "model.npz"
    emkit.save(model, path)
    loaded = emkit.load(path)
    np.testing.assert_array_equal(loaded.score_samples(X[:3])[0], model.score_samples(X[:3])[0])


@pytest.mark.parametrize("estimator_class", (emkit.MultinomialMixture, emkit.MultinomialHMM))
def test_all_zero_rows_give_uniform_rows_that_load(estimator_class, tmp_path):
    # the case: emission rows summed to 0.01, and load refused the file
    model = estimator_class(1).fit(np.zeros((2, 3), dtype=int))
    np.testing.assert_allclose(model.emissionprob_, 1 / 3)
    assert model.n_trials_ is None  # all-zero rows say nothing of how to sample
    emkit.save(model, tmp_path / "zero.npz")
    emkit.load(tmp_path / "zero.npz")


@pytest.mark.parametrize("estimator_class", MIXTURES, ids=lambda c: c.__name__)
def test_tiny_uniform_weights_fit_the_same_components(estimator_class):
    # weights of 1e-300 drowned in the M-step's absolute floor: the parameters stayed
    # where initialisation put them (and emission rows summed to 0.01)
    X = _base_data(estimator_class, n=40)
    fits = [
        estimator_class(2, random_state=0, tol=0, max_iter=5).fit(X, sample_weight=np.full(40, w))
        for w in (1.0, 1e-300)
    ]
    name = "rates_" if hasattr(fits[0], "rates_") else "emissionprob_"
    moved = [np.abs(getattr(f, name) - getattr(f, name).mean(axis=0)).max() for f in fits]
    assert moved[1] > 0.5 * moved[0]


@pytest.mark.parametrize("estimator_class", (emkit.MultinomialMixture, emkit.MultinomialHMM))
def test_rows_whose_total_is_not_n_trials_are_refused(estimator_class):
    X = np.array([[2, 3], [1, 4], [3, 3], [0, 5]])
    with pytest.raises(ValueError, match=r"row 2 of X sums to 6.*n_trials=5.*n_trials=None"):
        estimator_class(1, n_trials=5).fit(X)
    assert estimator_class(1, n_trials=5).fit(X[[0, 1, 3]]).n_trials_ == 5
    assert estimator_class(1).fit(X).n_trials_ is None


def test_row_total_error_names_the_row_in_the_whole_data():
    X = np.vstack([np.tile([[2, 3]], (7, 1)), [[1, 1]]])
    with pytest.raises(ValueError, match=r"row 7 of X sums to 2"):
        emkit.MultinomialMixture(1, n_trials=5, chunk_size=3).fit(X)


@pytest.mark.parametrize("estimator_class", (emkit.CategoricalMixture, emkit.CategoricalHMM))
@pytest.mark.parametrize(
    ("X", "n_symbols", "needs"),
    [
        (np.array([[0], [10**12]]), None, "14.6 TiB"),
        (np.array([[0.0], [1e8]]), None, "1.5 GiB"),
        (np.array([[0], [1]]), 10**12, "14.6 TiB"),
        (np.array([[0], [1]]), 10**8, "1.5 GiB"),
    ],
)
def test_huge_alphabet_is_refused_before_allocating(estimator_class, X, n_symbols, needs):
    with pytest.raises(ValueError, match="alphabet is too large") as caught:
        estimator_class(2, n_symbols=n_symbols).fit(X)
    message = str(caught.value)
    assert needs in message and "np.unique(X, return_inverse=True)" in message


@pytest.mark.parametrize("estimator_class", (emkit.CategoricalMixture, emkit.CategoricalHMM))
def test_huge_alphabet_is_refused_by_partial_fit(estimator_class):
    with pytest.raises(ValueError, match="alphabet is too large"):
        estimator_class(2).partial_fit(np.array([[0], [10**12]]))


@pytest.mark.parametrize("estimator_class", (emkit.CategoricalMixture, emkit.CategoricalHMM))
@pytest.mark.parametrize(
    ("value", "match"),
    [(-1, "must be >= 0"), (1.5, "must be integers"), (np.nan, "NaN"), (np.inf, "infinit")],
)
def test_bad_symbols_name_the_entry(estimator_class, value, match):
    X = np.array([[0.0], [value], [1.0]])
    with pytest.raises(ValueError, match=match) as caught:
        estimator_class(2).fit(X)
    assert "X[1, 0]" in str(caught.value) or "row 1" in str(caught.value)


@pytest.mark.parametrize("estimator_class", (emkit.CategoricalMixture, emkit.CategoricalHMM))
def test_boolean_symbols_are_symbols_0_and_1(estimator_class):
    model = estimator_class(1).fit(np.array([[True], [False], [True], [True]]))
    assert model.n_symbols_ == 2
    np.testing.assert_allclose(model.emissionprob_, [[0.25, 0.75]], atol=1e-12)


@pytest.mark.parametrize(
    "estimator_class", (emkit.PoissonMixture, emkit.MultinomialMixture, emkit.BernoulliMixture)
)
def test_row_impossible_under_every_component_is_an_error_not_nan(estimator_class):
    X = _base_data(estimator_class, n=30)
    X[:, 0] = 0 if estimator_class is not emkit.BernoulliMixture else 1
    model = estimator_class(2, random_state=0, max_iter=300, tol=0).fit(X)
    bad = X[:2].copy()
    bad[1, 0] = 5 if estimator_class is not emkit.BernoulliMixture else 0
    if np.isfinite(model.score_samples(bad)).all():
        pytest.skip("the fit kept a positive probability for the unseen outcome")
    for method in (model.predict_proba, model.predict):
        with pytest.raises(ValueError, match="row 1 of X has probability zero"):
            method(bad)


@pytest.mark.parametrize(
    "estimator_class",
    (emkit.PoissonMixture, emkit.MultinomialMixture, emkit.PoissonHMM, emkit.MultinomialHMM),
)
def test_counts_beyond_exact_float64_integers_are_refused(estimator_class):
    # a count of 1.7e308 overflowed the log-factorial: score was NaN, fits said
    # "probability zero" or "non-finite M-step"
    X = _base_data(estimator_class)
    model = estimator_class(2, random_state=0).fit(X)
    far = X[:2].astype(float)
    far[1, 0] = 1.7e308
    for method in (model.score, model.predict_proba, model.fit):
        with pytest.raises(ValueError, match=r"2\*\*53.*X\[1, 0\] = 1.7e\+308"):
            method(far)


@pytest.mark.parametrize("cls", [emkit.MultinomialMixture, emkit.MultinomialHMM])
def test_every_partial_fit_batch_is_checked_against_n_trials(cls):
    # measured before: only the first batch was; a later row of total 6 was accepted
    X = np.random.default_rng(0).multinomial(5, [0.2, 0.3, 0.5], size=50)
    model = cls(2, n_trials=5, random_state=0).partial_fit(X)
    before = model.params_
    bad = X.copy()
    bad[3, 0] += 1
    with pytest.raises(ValueError, match=r"row 3 of X sums to 6.*n_trials=5"):
        model.partial_fit(bad)
    assert model.params_ is before
