"""PoissonMixture, CategoricalMixture, BernoulliMixture and MultinomialMixture."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _ignore_y import ignoring_y
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit import BernoulliMixture, CategoricalMixture, MultinomialMixture, PoissonMixture

RANDOM_INIT_REASON = (
    "random initialisation (k-means on the rows in their order) starts the weighted fit and "
    "the fit on shuffled repeated rows from different points; the equivalence holds at "
    "identical initialisation (test_sample_weight_is_repetition)"
)

REAL_DATA_REASON = (
    "this check feeds real-valued X whatever the input tags say, and counts and symbols "
    "must be integers (a clear error); the equivalence holds at identical initialisation "
    "(test_sample_weight_is_repetition)"
)


# y is the mixtures' partial labels; the checks pass class labels to ignore (_ignore_y.py)
@parametrize_with_checks(
    [
        ignoring_y(PoissonMixture(2, random_state=0)),
        ignoring_y(CategoricalMixture(2, random_state=0)),
        # the checks feed real-valued data: threshold it, as BernoulliNB does
        ignoring_y(BernoulliMixture(2, binarize=0.5, random_state=0)),
        ignoring_y(MultinomialMixture(2, random_state=0, emissionprob_prior=0.5)),
    ],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": (
            RANDOM_INIT_REASON if isinstance(estimator, BernoulliMixture) else REAL_DATA_REASON
        )
    },
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def labelled_agreement(a, b, K):
    return max(np.mean(np.array(p)[a] == b) for p in itertools.permutations(range(K)))


def poisson_data(rng, n=600):
    z = rng.randint(3, size=n)
    return rng.poisson(np.array([[1.0, 10.0], [8.0, 2.0], [20.0, 20.0]])[z]), z


def categorical_data(rng, n=600):
    z = rng.randint(2, size=n)
    probs = np.array([[[0.8, 0.1, 0.1], [0.7, 0.2, 0.1]], [[0.1, 0.1, 0.8], [0.1, 0.2, 0.7]]])
    probs = np.concatenate([probs, probs[:, ::-1]], axis=1)  # four columns
    X = np.array([[rng.choice(3, p=probs[k, d]) for d in range(4)] for k in z])
    return X, z


def bernoulli_data(rng, n=600):
    z = rng.randint(2, size=n)
    probs = np.array([[0.9, 0.9, 0.1, 0.1, 0.5], [0.1, 0.1, 0.9, 0.9, 0.5]])
    return (rng.uniform(size=(n, 5)) < probs[z]).astype(int), z


def multinomial_data(rng, n=600):
    z = rng.randint(2, size=n)
    probs = np.array([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])
    return np.array([rng.multinomial(rng.randint(5, 15), probs[k]) for k in z]), z


CASES = {
    "poisson": (PoissonMixture, 3, poisson_data, "rates_"),
    "categorical": (CategoricalMixture, 2, categorical_data, "emissionprob_"),
    "bernoulli": (BernoulliMixture, 2, bernoulli_data, "emissionprob_"),
    "multinomial": (MultinomialMixture, 2, multinomial_data, "emissionprob_"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fit_recovers_the_clusters_and_round_trips_through_a_file(name, tmp_path):
    cls, K, make, attribute = CASES[name]
    X, z = make(np.random.RandomState(0))
    model = cls(K, n_init=3, random_state=0).fit(X)
    assert labelled_agreement(model.predict(X), z, K) > 0.9
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    assert model.converged_
    loaded = emkit.load(emkit.save(model, tmp_path / name))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))
    sample, _ = model.sample(50) if name != "multinomial" else (None, None)
    if sample is not None:
        assert sample.shape == (50, X.shape[1]) and np.isfinite(model.score(sample))


@pytest.mark.parametrize("name", list(CASES))
def test_sample_weight_is_repetition(name):
    cls, K, make, attribute = CASES[name]
    X, _ = make(np.random.RandomState(1), n=80)
    rng = np.random.RandomState(2)
    weights = rng.randint(0, 3, size=80)
    start = cls(K, random_state=0, max_iter=1).fit(X)  # shared starting point
    init = {
        "weights_init": start.weights_,
        attribute.replace("_", "_init", 1)
        if attribute == "rates_"
        else "emissionprob_init": getattr(start, attribute),
        "max_iter": 10,
        "tol": 0.0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = cls(K, **init).fit(X, sample_weight=weights)
        repeated = cls(K, **init).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(
        getattr(weighted, attribute), getattr(repeated, attribute), rtol=1e-9
    )
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-9)


def test_categorical_attribute_shapes_and_alphabet():
    X, _ = categorical_data(np.random.RandomState(3))
    model = CategoricalMixture(2, random_state=0).fit(X)
    assert model.emissionprob_.shape == (2, 4, 3) and model.n_symbols_ == 3
    one = CategoricalMixture(2, n_symbols=5, random_state=0).fit(X[:, :1])
    assert one.emissionprob_.shape == (2, 5)
    with pytest.raises(ValueError, match=r"must be <= 4, but X\[0, 0\] = 5"):
        one.predict(np.array([[5]]))


def test_priors_smooth_the_estimates():
    X, _ = bernoulli_data(np.random.RandomState(4), n=40)
    X[:, 4] = 0
    plain = BernoulliMixture(2, random_state=0).fit(X)
    smoothed = BernoulliMixture(2, emissionprob_prior=1.0, random_state=0).fit(X)
    assert plain.emissionprob_[:, 4].max() < 1e-10
    assert smoothed.emissionprob_[:, 4].min() > 0.005
    counts, _ = poisson_data(np.random.RandomState(5), n=60)
    shrunk = PoissonMixture(3, rate_prior=5.0, rate_prior_strength=1e6, random_state=0).fit(counts)
    np.testing.assert_allclose(shrunk.rates_, 5.0, rtol=1e-3)


@pytest.mark.parametrize(
    "model, X, message",
    [
        (PoissonMixture(2), [[1, 2], [3, -1]], r"Poisson counts must be >= 0, but X\[1, 1\] = -1"),
        (PoissonMixture(2), [[1, 2], [3, 0.5]], "must be integers"),
        (BernoulliMixture(2), [[0, 1], [2, 1]], r"Bernoulli data .* must be <= 1, but X\[1, 0\]"),
        (MultinomialMixture(2), [[0, 1], [-2, 1]], "multinomial counts must be >= 0"),
        (CategoricalMixture(2), [[0], [1.5]], "must be integers"),
        (
            PoissonMixture(2, rates_init=[[1.0], [-2.0]]),
            [[1], [2]],
            "rates_init must be non-negative",
        ),
        (CategoricalMixture(2, emissionprob_init=[[0.5, 0.6], [0.5, 0.5]]), [[0], [1]], "sum to 1"),
    ],
)
def test_bad_input_gives_a_clear_error(model, X, message):
    with pytest.raises(ValueError, match=message):
        model.fit(np.asarray(X))


def test_bernoulli_threshold_binarizes_real_data():
    rng = np.random.RandomState(6)
    X = rng.standard_normal((100, 3))
    model = BernoulliMixture(2, binarize=0.0, random_state=0).fit(X)
    np.testing.assert_array_equal(model.predict(X), model.predict((X > 0).astype(float)))


def test_categorical_alphabet_is_inferred_from_every_block_of_a_memory_mapped_file(tmp_path):
    rng = np.random.RandomState(7)
    X = rng.randint(0, 3, size=(70_000, 1))
    X[-1, 0] = 5  # only in the second block of 65536 rows, not in the initial sample
    np.save(tmp_path / "symbols.npy", X)
    mapped = np.load(tmp_path / "symbols.npy", mmap_mode="r")
    model = CategoricalMixture(2, random_state=0, max_iter=5).fit(mapped)
    assert model.n_symbols_ == 6
    assert model.emissionprob_.shape == (2, 6)
    assert model.emissionprob_[:, 5].sum() > 0
