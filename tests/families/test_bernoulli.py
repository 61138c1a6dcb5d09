"""Bernoulli family: binary features, Beta MAP, checks, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emkit.core import allclose
from emkit.families import BernoulliFamily, BernoulliParams, BetaPrior

THETA = np.array([[0.9, 0.2, 0.0], [0.1, 0.5, 1.0]])


def data(n=150, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.uniform(size=(n, 3)) < 0.4).astype(float), rng.dirichlet(np.ones(2), size=n)


def test_log_prob_matches_scipy_with_certain_features():
    X, _ = data()
    logp = BernoulliFamily().log_prob(BernoulliParams(THETA), X)
    with np.errstate(divide="ignore"):
        expected = np.stack(
            [scipy_stats.bernoulli.logpmf(X, THETA[k]).sum(axis=1) for k in range(2)], axis=1
        )
    np.testing.assert_array_equal(np.isneginf(logp), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(logp[finite], expected[finite], rtol=1e-12)


def test_statistics_m_step_objective_and_prior():
    X, resp = data()
    family = BernoulliFamily()
    ref = BernoulliParams(np.array([[0.3, 0.3, 0.4], [0.2, 0.5, 0.3]]))
    stats = family.statistics(X, resp, ref)
    assert allclose(
        stats, family.statistics(X[:40], resp[:40], ref) + family.statistics(X[40:], resp[40:], ref)
    )
    theta = family.m_step(stats).emissionprob
    np.testing.assert_allclose(theta, (resp.T @ X) / resp.sum(axis=0)[:, None], rtol=1e-12)
    q = family.expected_log_prob(ref, stats)
    assert q == pytest.approx(float(np.sum(resp * family.log_prob(ref, X))), rel=1e-12)
    smoothed = BernoulliFamily(BetaPrior(1.0, 3.0)).m_step(stats).emissionprob
    np.testing.assert_allclose(
        smoothed, (resp.T @ X + 1.0) / (resp.sum(axis=0)[:, None] + 4.0), rtol=1e-12
    )


@pytest.mark.parametrize("X", [[[0.0, 2.0]], [[0.5, 1.0]], [[-1.0, 0.0]]])
def test_check_data_rejects_non_binary_values(X):
    with pytest.raises(ValueError, match="Bernoulli data"):
        BernoulliFamily().check_data(np.asarray(X))


def test_sampling_and_parameter_checks():
    X = BernoulliFamily().sample(
        BernoulliParams(THETA), np.array([5000, 5000]), np.random.RandomState(0)
    )
    np.testing.assert_allclose(X[:5000].mean(axis=0), THETA[0], atol=0.02)
    np.testing.assert_allclose(X[5000:].mean(axis=0), THETA[1], atol=0.02)
    with pytest.raises(ValueError, match=r"entries in \[0, 1\]"):
        BernoulliFamily().make_params(np.array([[1.5]]))


def test_threshold_reads_real_data_as_binary_in_every_method():
    rng = np.random.RandomState(2)
    X = rng.standard_normal((30, 3))
    binary = (X > 0.2).astype(float)
    resp = rng.dirichlet(np.ones(2), size=30)
    plain, thresholded = BernoulliFamily(), BernoulliFamily(binarize=0.2)
    params = BernoulliParams(np.array([[0.3, 0.6, 0.5], [0.8, 0.1, 0.4]]))
    np.testing.assert_array_equal(thresholded.log_prob(params, X), plain.log_prob(params, binary))
    assert allclose(thresholded.statistics(X, resp, params), plain.statistics(binary, resp, params))
    thresholded.check_data(X)  # real values are fine with a threshold
    with pytest.raises(ValueError, match="NaN"):
        thresholded.check_data(np.array([[np.nan, 0.0, 1.0]]))
