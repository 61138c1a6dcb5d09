"""Categorical family: symbols per column, counts, Dirichlet MAP, checks, sampling."""

from __future__ import annotations

import numpy as np
import pytest

from emkit.core import allclose
from emkit.families import CategoricalFamily, CategoricalParams, DirichletPrior

M = 4


def probs(K=3, D=2, seed=0):
    return np.random.RandomState(seed).dirichlet(np.ones(M), size=(K, D))


def data(n=150, D=2, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randint(0, M, size=(n, D)), rng.dirichlet(np.ones(3), size=n)


def test_log_prob_is_the_sum_of_log_probabilities_of_the_symbols():
    X, _ = data()
    theta = probs()
    logp = CategoricalFamily(M).log_prob(CategoricalParams(theta), X)
    for i in (0, 17, 149):
        for k in range(3):
            assert logp[i, k] == pytest.approx(np.log(theta[k, 0, X[i, 0]] * theta[k, 1, X[i, 1]]))
    # symbols given as floats (as the mixture E-step passes them) work the same
    np.testing.assert_array_equal(
        CategoricalFamily(M).log_prob(CategoricalParams(theta), X.astype(float)), logp
    )


def test_statistics_are_weighted_symbol_counts_and_additive():
    X, resp = data()
    family = CategoricalFamily(M)
    ref = CategoricalParams(probs())
    stats = family.statistics(X, resp, ref)
    for k in range(3):
        for d in range(2):
            for m in range(M):
                assert stats.sum_onehot[k, d, m] == pytest.approx(resp[X[:, d] == m, k].sum())
    assert allclose(
        stats, family.statistics(X[:60], resp[:60], ref) + family.statistics(X[60:], resp[60:], ref)
    )
    theta = family.m_step(stats).emissionprob
    np.testing.assert_allclose(
        theta, stats.sum_onehot / resp.sum(axis=0)[:, None, None], rtol=1e-12
    )
    q = family.expected_log_prob(ref, stats)
    assert q == pytest.approx(float(np.sum(resp * family.log_prob(ref, X))), rel=1e-12)


def test_dirichlet_prior_adds_pseudo_counts():
    X, resp = data(40)
    family = CategoricalFamily(M, DirichletPrior(1.0))
    stats = family.statistics(X, resp, CategoricalParams(probs()))
    theta = family.m_step(stats).emissionprob
    expected = (stats.sum_onehot + 1.0) / (resp.sum(axis=0)[:, None, None] + M)
    np.testing.assert_allclose(theta, expected, rtol=1e-12)
    assert family.log_prior(CategoricalParams(theta)) == pytest.approx(np.log(theta).sum())


def test_initial_statistics_have_no_zero_probabilities_where_the_data_have_symbols():
    X, _ = data()
    hard = np.eye(3)[X[:, 0] % 3]  # component 0 only ever sees symbols 0 and 3 in column 0
    theta = CategoricalFamily(M).m_step(CategoricalFamily(M).statistics(X, hard, None))
    assert np.all(theta.emissionprob > 0)
    np.testing.assert_allclose(theta.emissionprob.sum(axis=2), 1.0)


@pytest.mark.parametrize(
    "X, message",
    [
        (
            [[0], [4]],
            r"categorical symbols \(0 \.\. 3 for n_symbols=4\) must be <= 3, but X\[1, 0\] = 4",
        ),
        ([[0], [-1]], "must be >= 0"),
        ([[0.5]], "must be integers"),
    ],
)
def test_check_data_rejects_symbols_out_of_range(X, message):
    with pytest.raises(ValueError, match=message):
        CategoricalFamily(M).check_data(np.asarray(X))


def test_parameters_are_validated_and_sampled():
    with pytest.raises(ValueError, match="sum to 1"):
        CategoricalFamily(M).make_params(np.full((2, 1, M), 0.3))
    theta = probs(K=2, D=1)
    X = CategoricalFamily(M).sample(
        CategoricalParams(theta), np.array([0, 20000]), np.random.RandomState(0)
    )
    np.testing.assert_allclose(np.bincount(X[:, 0], minlength=M) / 20000, theta[1, 0], atol=0.01)
    assert CategoricalFamily(M).n_free_parameters(2, 3) == 2 * 3 * (M - 1)
