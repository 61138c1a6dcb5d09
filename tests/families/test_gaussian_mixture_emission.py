"""Gaussian-mixture family (GMM-HMM emission) on top of the Gaussian family."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emkit.families import GaussianMixtureEmission

K, M, D = 2, 3, 2


def params(family, covariance_type, seed=0):
    rng = np.random.RandomState(seed)
    weights = rng.dirichlet(np.ones(M), size=K)
    means = 3 * rng.standard_normal((K, M, D))
    covariances = {
        "full": np.array([[np.eye(D) * (1 + m) for m in range(M)] for _ in range(K)]),
        "tied": np.array([np.eye(D) * (1 + k) for k in range(K)]),
        "diag": rng.uniform(0.5, 2, size=(K, M, D)),
        "spherical": rng.uniform(0.5, 2, size=(K, M)),
    }[covariance_type]
    return family.make_params(weights, means, covariances)


def full_covariance(p, covariance_type, k, m):
    c = p.covariances
    return {
        "full": lambda: c[k, m],
        "tied": lambda: c[k],
        "diag": lambda: np.diag(c[k, m]),
        "spherical": lambda: c[k, m] * np.eye(D),
    }[covariance_type]()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_log_prob_is_the_log_of_the_mixture_density(covariance_type):
    family = GaussianMixtureEmission(M, covariance_type)
    p = params(family, covariance_type)
    X = np.random.RandomState(1).standard_normal((20, D)) * 3
    logp = family.log_prob(p, X)
    for k in range(K):
        density = sum(
            p.weights[k, m]
            * scipy_stats.multivariate_normal(
                p.means[k, m], full_covariance(p, covariance_type, k, m)
            ).pdf(X)
            for m in range(M)
        )
        np.testing.assert_allclose(logp[:, k], np.log(density), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_statistics_are_additive_and_the_m_step_increases_q(covariance_type):
    family = GaussianMixtureEmission(M, covariance_type, reg_covar=0.0)
    p = params(family, covariance_type)
    rng = np.random.RandomState(2)
    X = rng.standard_normal((300, D)) * 3
    resp = rng.dirichlet(np.ones(K), size=300)
    stats = family.statistics(X, resp, p)
    parts = family.statistics(X[:100], resp[:100], p) + family.statistics(X[100:], resp[100:], p)
    np.testing.assert_allclose(parts.sum_w, stats.sum_w, rtol=1e-12)
    np.testing.assert_allclose(stats.sum_w.sum(axis=1), resp.sum(axis=0), rtol=1e-12)
    new = family.m_step(stats)
    q_old, q_new = family.expected_log_prob(p, stats), family.expected_log_prob(new, stats)
    assert q_new > q_old
    np.testing.assert_allclose(new.weights.sum(axis=1), 1.0)
    # Q + entropy of the inner posterior = sum_ik r_ik log p(x_i | k) at the reference
    joint = np.stack([family._joint(p, X, k) for k in range(K)], axis=1)  # (n, K, M)
    inner = np.exp(joint - family.log_prob(p, X)[:, :, None])
    entropy = -np.sum(resp[:, :, None] * inner * np.log(inner))
    assert q_old + entropy == pytest.approx(float(np.sum(resp * family.log_prob(p, X))), rel=1e-10)


def test_initial_params_split_every_state_and_sampling_works():
    rng = np.random.RandomState(3)
    X = np.vstack([rng.standard_normal((100, D)) + c for c in ([0, 0], [6, 0], [0, 6], [6, 6])])
    resp = np.repeat(np.eye(2), 200, axis=0)
    family = GaussianMixtureEmission(2, "diag")
    p = family.initial_params(X, resp, rng)
    assert p.means.shape == (2, 2, D)
    np.testing.assert_allclose(np.sort(p.means[0, :, 0]), [0, 6], atol=0.5)
    np.testing.assert_allclose(np.sort(p.means[1, :, 0]), [0, 6], atol=0.5)
    sample = family.sample(p, np.array([50, 70]), rng)
    assert sample.shape == (120, D)
    assert family.n_free_parameters(2, D) == 2 * (1 + 2 * D + 2 * D)
    with pytest.raises(ValueError, match="reference parameters"):
        family.statistics(X, resp, None)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_pack_unpack_round_trip(covariance_type):
    family = GaussianMixtureEmission(M, covariance_type)
    p = params(family, covariance_type)
    vector = family.pack(p)
    assert vector.ndim == 1
    assert vector.size == K * M + K * family.gaussian.n_free_parameters(M, D)
    restored = family.unpack(vector, p)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(getattr(restored, name), getattr(p, name), rtol=1e-12)
    # any vector is a valid parameter: weights from a softmax, covariances from
    # log-Cholesky factors or log-variances
    rng = np.random.RandomState(4)
    other = family.unpack(vector + rng.standard_normal(vector.size), p)
    np.testing.assert_allclose(other.weights.sum(axis=1), 1.0)
    assert np.all(other.weights > 0)
    X = rng.standard_normal((10, D))
    assert np.all(np.isfinite(family.log_prob(other, X)))
    # adding a constant to a state's log weights changes nothing
    shifted = vector.copy()
    shifted[:M] += 7.0
    np.testing.assert_allclose(family.unpack(shifted, p).weights, p.weights, rtol=1e-12)
    with pytest.raises(ValueError, match="entries"):
        family.unpack(vector[:-1], p)
