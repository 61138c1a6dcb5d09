"""HMM estimators: API, validation with clear errors, save/load, weights, known states."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import emkit
from emkit import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    MultinomialHMM,
    PoissonHMM,
)
from emkit.models import EmptyStateWarning


def regimes(seed=0, n=300, K=3, stay=0.95):
    rng = np.random.RandomState(seed)
    z = np.empty(n, dtype=int)
    z[0] = 0
    for t in range(1, n):
        z[t] = z[t - 1] if rng.uniform() < stay else rng.randint(K)
    return rng, z


def gaussian_data(seed=0, n=300):
    rng, z = regimes(seed, n)
    return np.array([[0.0, 0.0], [5.0, 1.0], [-4.0, 5.0]])[z] + rng.standard_normal((n, 2)), z


def poisson_data(seed=0, n=300):
    rng, z = regimes(seed, n)
    return rng.poisson(np.array([[2.0], [10.0], [25.0]])[z]).astype(float), z


def categorical_data(seed=0, n=300):
    rng, z = regimes(seed, n)
    probs = np.array([[0.8, 0.1, 0.05, 0.05], [0.05, 0.8, 0.1, 0.05], [0.05, 0.05, 0.1, 0.8]])
    return np.array([[rng.choice(4, p=probs[k])] for k in z]), z


def multinomial_data(seed=0, n=300):
    rng, z = regimes(seed, n)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]])
    return np.array([rng.multinomial(10, probs[k]) for k in z]).astype(float), z


def bernoulli_data(seed=0, n=300):
    rng, z = regimes(seed, n)
    probs = np.array([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9]])
    return (rng.uniform(size=(n, 3)) < probs[z]).astype(float), z


CASES = {
    "gaussian": (lambda: GaussianHMM(3, covariance_type="full", random_state=0), gaussian_data),
    "gmm": (lambda: GMMHMM(3, n_mix=2, random_state=0), gaussian_data),
    "poisson": (lambda: PoissonHMM(3, random_state=0), poisson_data),
    "categorical": (lambda: CategoricalHMM(3, random_state=0, n_init=3), categorical_data),
    "multinomial": (lambda: MultinomialHMM(3, random_state=0, n_init=3), multinomial_data),
    "bernoulli": (lambda: BernoulliHMM(3, random_state=0, n_init=3), bernoulli_data),
}
LENGTHS = [100, 120, 80]


def fitted(name):
    make, data = CASES[name]
    X, z = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make().fit(X, LENGTHS), X, z


def agreement(a, b, K=3):
    """Fraction of labels equal up to the best permutation of the states."""
    from itertools import permutations

    return max(np.mean(np.array(p)[a] == b) for p in permutations(range(K)))


@pytest.mark.parametrize("name", list(CASES))
def test_fit_recovers_the_regimes_and_the_api_is_consistent(name):
    model, X, z = fitted(name)
    states = model.predict(X, LENGTHS)
    assert states.shape == (X.shape[0],)
    assert agreement(states, z) > 0.9
    proba = model.predict_proba(X, LENGTHS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    total = model.score(X, LENGTHS)
    assert total == pytest.approx(model.log_likelihood_, rel=1e-12)
    assert model.score_sequences(X, LENGTHS).sum() == pytest.approx(total, rel=1e-12)
    log_prob, path = model.decode(X, LENGTHS)
    np.testing.assert_array_equal(path, states)
    assert log_prob <= total  # the best path is one of the paths
    _, map_states = model.decode(X, LENGTHS, algorithm="map")
    np.testing.assert_array_equal(map_states, proba.argmax(axis=1))
    assert model.score_samples(X, LENGTHS)[0] == pytest.approx(total)
    np.testing.assert_allclose(model.startprob_.sum(), 1.0)
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    assert np.isfinite(model.bic(X, LENGTHS)) and np.isfinite(model.aic(X, LENGTHS))
    assert set(model.trace_) >= {"log_likelihood", "lower_bound", "kl"}


@pytest.mark.parametrize("name", list(CASES))
def test_save_load_round_trip(name, tmp_path):
    model, X, _ = fitted(name)
    loaded = emkit.load(emkit.save(model, tmp_path / name))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X, LENGTHS), model.predict(X, LENGTHS))
    np.testing.assert_array_equal(loaded.predict_proba(X, LENGTHS), model.predict_proba(X, LENGTHS))
    assert loaded.score(X, LENGTHS) == model.score(X, LENGTHS)
    for attribute in ("startprob_", "transmat_", *model._emission_attributes):
        np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))


@pytest.mark.parametrize("name", list(CASES))
def test_sample_draws_one_sequence(name):
    model, X, _ = fitted(name)
    if name == "multinomial":
        assert model.n_trials_ == 10
    sample, states = model.sample(500, random_state=1)
    assert sample.shape == (500, X.shape[1]) and states.shape == (500,)
    assert set(np.unique(states)) <= {0, 1, 2}
    again, _ = model.sample(500, random_state=1)
    np.testing.assert_array_equal(sample, again)
    # the samples are data the model accepts
    assert np.isfinite(model.score(sample))


def test_gmmhmm_with_one_gaussian_per_state_is_a_gaussian_hmm():
    X, _ = gaussian_data(3)
    rng = np.random.RandomState(0)
    start = dict(
        startprob_init=np.full(3, 1 / 3),
        transmat_init=rng.dirichlet(np.ones(3) * 4, size=3),
        max_iter=15,
        tol=0.0,
    )
    means = X[[0, 100, 200]]
    for covariance_type, covariances in [
        ("full", np.array([np.eye(2)] * 3)),
        ("diag", np.ones((3, 2))),
        ("spherical", np.ones(3)),
    ]:
        gauss = GaussianHMM(
            3,
            covariance_type=covariance_type,
            means_init=means,
            covariances_init=covariances,
            **start,
        ).fit(X, LENGTHS)
        gmm = GMMHMM(
            3,
            n_mix=1,
            covariance_type=covariance_type,
            weights_init=np.ones((3, 1)),
            means_init=means[:, None, :],
            covariances_init=covariances[:, None],
            **start,
        ).fit(X, LENGTHS)
        assert gmm.log_likelihood_ == pytest.approx(gauss.log_likelihood_, rel=1e-12)
        np.testing.assert_allclose(gmm.means_[:, 0], gauss.means_, rtol=1e-10)
        np.testing.assert_allclose(gmm.transmat_, gauss.transmat_, rtol=1e-10)


def test_sequence_weights_equal_repeated_sequences():
    X, _ = poisson_data(4)
    init = dict(
        rates_init=[[1.0], [8.0], [20.0]],
        startprob_init=np.full(3, 1 / 3),
        transmat_init=np.full((3, 3), 1 / 3),
        max_iter=20,
        tol=0.0,
    )
    weighted = PoissonHMM(3, **init).fit(X, LENGTHS, sample_weight=[2.0, 1.0, 0.0])
    repeated = PoissonHMM(3, **init).fit(np.vstack([X[:100], X[:220]]), [100, 100, 120])
    np.testing.assert_allclose(weighted.rates_, repeated.rates_, rtol=1e-10)
    np.testing.assert_allclose(weighted.transmat_, repeated.transmat_, rtol=1e-10)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-10)


def test_known_states_are_respected_when_fitting_and_predicting():
    X, z = gaussian_data(5)
    known = np.full(X.shape[0], -1)
    labelled = np.arange(0, X.shape[0], 10)
    known[labelled] = z[labelled]
    model = GaussianHMM(3, random_state=0).fit(X, LENGTHS, known_states=known)
    # with labels the states are identified: no permutation needed
    states = model.predict(X, LENGTHS, known_states=known)
    np.testing.assert_array_equal(states[labelled], z[labelled])
    assert np.mean(model.predict(X, LENGTHS) == z) > 0.95


def test_left_right_structure_is_kept():
    X, _ = gaussian_data(6)
    transmat = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    model = GaussianHMM(
        3,
        startprob_init=[1.0, 0.0, 0.0],
        transmat_init=transmat,
        transmat_prior=1.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyStateWarning)
        model.fit(X, LENGTHS)
    np.testing.assert_array_equal(model.transmat_[transmat == 0], 0.0)
    np.testing.assert_array_equal(model.startprob_, [1.0, 0.0, 0.0])


def test_learn_names_the_parameters_em_updates():
    X, _ = poisson_data(7)
    rates = np.array([[2.0], [10.0], [25.0]])
    model = PoissonHMM(3, learn=["transmat"], rates_init=rates, random_state=0).fit(X, LENGTHS)
    np.testing.assert_array_equal(model.rates_, rates)
    np.testing.assert_array_equal(model.startprob_, np.full(3, 1 / 3))
    assert model._n_parameters() == 3 * 2


def test_n_init_keeps_the_best_restart_and_random_state_is_deterministic():
    X, _ = categorical_data(8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        singles = [
            CategoricalHMM(3, random_state=seed, max_iter=30).fit(X).log_likelihood_
            for seed in range(3)
        ]
        best = CategoricalHMM(3, n_init=5, random_state=0, max_iter=30).fit(X)
        again = CategoricalHMM(3, n_init=5, random_state=0, max_iter=30).fit(X)
    assert best.log_likelihood_ >= min(singles)
    np.testing.assert_array_equal(best.emissionprob_, again.emissionprob_)


def test_warm_start_continues_from_the_last_fit():
    X, _ = gaussian_data(9)
    model = GaussianHMM(3, max_iter=2, warm_start=True, random_state=0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.fit(X).log_likelihood_
        second = model.fit(X).log_likelihood_
    assert second >= first


def test_categorical_with_several_columns_and_given_alphabet():
    rng = np.random.RandomState(10)
    X = rng.randint(0, 3, size=(200, 2))
    model = CategoricalHMM(2, n_symbols=5, random_state=0).fit(X)
    assert model.emissionprob_.shape == (2, 2, 5)
    np.testing.assert_allclose(model.emissionprob_.sum(axis=2), 1.0)
    assert model.emissionprob_[..., 3:].max() < 1e-12  # symbols never seen: probability ~0
    # under maximum likelihood an unseen symbol is (all but) impossible; a prior smooths
    assert model.score(np.array([[4, 4]])) < -100
    smoothed = CategoricalHMM(2, n_symbols=5, emissionprob_prior=1.0, random_state=0).fit(X)
    assert smoothed.emissionprob_[..., 3:].min() > 1e-3
    assert smoothed.score(np.array([[4, 4]])) > -20


def test_priors_are_pseudo_counts():
    X, _ = poisson_data(11, n=60)
    init = dict(rates_init=[[2.0], [10.0], [25.0]], max_iter=1, tol=0.0)
    plain = PoissonHMM(3, **init).fit(X)
    smoothed = PoissonHMM(3, transmat_prior=5.0, **init).fit(X)
    # one M-step from the same E-step: 5 pseudo-counts per entry pull rows to uniform
    assert np.all(np.abs(smoothed.transmat_ - 1 / 3) <= np.abs(plain.transmat_ - 1 / 3) + 1e-12)
    assert smoothed.transmat_.min() > plain.transmat_.min()
    rate_map = PoissonHMM(3, rate_prior=100.0, rate_prior_strength=1e6, **init).fit(X)
    np.testing.assert_allclose(rate_map.rates_, 100.0, rtol=1e-3)


NEGATIVE = np.array([[1.0], [-2.0], [3.0]])


@pytest.mark.parametrize(
    "model, X, kwargs, message",
    [
        (PoissonHMM(1), NEGATIVE, {}, r"Poisson counts must be >= 0, but X\[1, 0\] = -2.0"),
        (PoissonHMM(1), np.array([[1.0], [2.5]]), {}, r"must be integers, but X\[1, 0\] = 2.5"),
        (
            CategoricalHMM(1, n_symbols=3),
            np.array([[0], [3]]),
            {},
            r"must be <= 2, but X\[1, 0\] = 3",
        ),
        (BernoulliHMM(1), np.array([[0.0], [2.0]]), {}, "Bernoulli data .* must be <= 1"),
        (MultinomialHMM(1), np.array([[1.0, -1.0]]), {}, "multinomial counts must be >= 0"),
        (GaussianHMM(1), np.array([[0.0], [np.nan]]), {}, "NaN"),
        (GaussianHMM(1), np.zeros((5, 1)), {"lengths": [2, 2]}, "lengths sum to 4 but X has 5"),
        (
            GaussianHMM(1),
            np.zeros((5, 1)),
            {"sample_weight": [1.0, 2.0]},
            r"one weight per sequence: expected shape \(1,\)",
        ),
        (
            GaussianHMM(2),
            np.zeros((5, 1)),
            {"known_states": [0, 1, 2, -1, -1]},
            r"known_states\[2\] = 2",
        ),
        (
            GaussianHMM(2, startprob_init=[0.5, 0.6]),
            np.zeros((5, 1)),
            {},
            "startprob_init must sum to 1",
        ),
        (
            GaussianHMM(2, transmat_init=np.eye(3)),
            np.zeros((5, 1)),
            {},
            r"transmat_init must have shape \(2, 2\)",
        ),
        (GaussianHMM(1, covariances_init=[[-1.0]]), np.zeros((5, 1)), {}, "positive definite"),
        (GaussianHMM(1, learn=["weights"]), np.zeros((5, 1)), {}, "unknown parameter names"),
        (GaussianHMM(6), np.zeros((5, 1)), {}, "at least as many observations as states"),
    ],
)
def test_bad_input_gives_a_clear_error(model, X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.fit(X, **kwargs)


def test_prediction_checks_the_data_against_the_fitted_model():
    model, X, _ = fitted("categorical")
    with pytest.raises(ValueError, match=r"must be <= 3, but X\[0, 0\] = 7"):
        model.predict(np.array([[7]]))
    with pytest.raises(ValueError, match="lengths sum to 5"):
        model.score(X, [5])
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="algorithm"):
        model.decode(X, algorithm="beam")


def test_estimators_clone_and_are_unfitted_until_fit():
    from sklearn.exceptions import NotFittedError

    for make, _ in CASES.values():
        model = clone(make())
        with pytest.raises(NotFittedError):
            model.predict(np.zeros((2, 1)))


def test_threads_give_a_bit_identical_fit():
    rng = np.random.RandomState(12)
    X = rng.poisson(np.repeat([[3.0], [9.0]], 45_000, axis=0)).astype(float)
    lengths = [40_000, 40_000, 10_000]  # two chunks of sequences
    fits = [
        PoissonHMM(2, max_iter=3, tol=0.0, n_jobs=n_jobs, random_state=0).fit(X, lengths)
        for n_jobs in (1, 2)
    ]
    np.testing.assert_array_equal(fits[0].rates_, fits[1].rates_)
    np.testing.assert_array_equal(fits[0].transmat_, fits[1].transmat_)
    assert fits[0].log_likelihood_ == fits[1].log_likelihood_


@pytest.fixture(scope="module")
def fitted_poisson():
    return fitted("poisson")


@given(cuts=st.lists(st.integers(1, 299), max_size=6, unique=True))
@settings(max_examples=25)
def test_any_split_into_sequences_scores_as_the_sum_of_its_sequences(fitted_poisson, cuts):
    model, X, _ = fitted_poisson
    bounds = [0, *sorted(cuts), X.shape[0]]
    lengths = np.diff(bounds)
    per_sequence = [model.score(X[a:b]) for a, b in itertools.pairwise(bounds)]
    assert model.score(X, lengths) == pytest.approx(sum(per_sequence), rel=1e-12)
    np.testing.assert_allclose(model.score_sequences(X, lengths), per_sequence, rtol=1e-12)
    proba = model.predict_proba(X, lengths)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(proba >= 0)
