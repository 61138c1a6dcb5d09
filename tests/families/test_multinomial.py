"""Multinomial family: count vectors of varying totals, Dirichlet MAP, checks, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emkit.core import allclose
from emkit.families import DirichletPrior, MultinomialFamily, MultinomialParams

THETA = np.array([[0.5, 0.3, 0.2], [0.0, 0.5, 0.5]])


def data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = np.array([rng.multinomial(rng.randint(0, 12), [0.2, 0.4, 0.4]) for _ in range(n)])
    return X.astype(float), rng.dirichlet(np.ones(2), size=n)


def test_log_prob_matches_scipy_for_varying_totals_and_zero_probabilities():
    X, _ = data()
    logp = MultinomialFamily().log_prob(MultinomialParams(THETA), X)
    for i in range(0, 120, 7):
        for k in range(2):
            expected = scipy_stats.multinomial.logpmf(X[i], int(X[i].sum()), THETA[k])
            assert logp[i, k] == pytest.approx(expected, rel=1e-12) or (
                np.isneginf(logp[i, k]) and np.isneginf(expected)
            )


def test_statistics_m_step_and_objective():
    X, resp = data()
    family = MultinomialFamily()
    ref = MultinomialParams(np.array([[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]]))
    stats = family.statistics(X, resp, ref)
    assert allclose(
        stats, family.statistics(X[:50], resp[:50], ref) + family.statistics(X[50:], resp[50:], ref)
    )
    theta = family.m_step(stats).emissionprob
    weighted = resp.T @ X
    np.testing.assert_allclose(theta, weighted / weighted.sum(axis=1, keepdims=True), rtol=1e-12)
    q = family.expected_log_prob(ref, stats)
    assert q == pytest.approx(float(np.sum(resp * family.log_prob(ref, X))), rel=1e-12)
    prior = MultinomialFamily(prior=DirichletPrior(2.0))
    smoothed = prior.m_step(stats).emissionprob
    np.testing.assert_allclose(
        smoothed, (weighted + 2.0) / (weighted.sum(axis=1, keepdims=True) + 6.0), rtol=1e-12
    )


def test_checks_and_sampling():
    with pytest.raises(ValueError, match="multinomial counts must be >= 0"):
        MultinomialFamily().check_data(np.array([[1.0, -2.0]]))
    with pytest.raises(ValueError, match="n_trials"):
        MultinomialFamily().sample(MultinomialParams(THETA), np.array([1, 1]), np.random)
    X = MultinomialFamily(n_trials=20).sample(
        MultinomialParams(THETA), np.array([3000, 0]), np.random.RandomState(0)
    )
    np.testing.assert_array_equal(X.sum(axis=1), 20)
    np.testing.assert_allclose(X.mean(axis=0) / 20, THETA[0], atol=0.01)
    assert MultinomialFamily().n_free_parameters(2, 3) == 4
