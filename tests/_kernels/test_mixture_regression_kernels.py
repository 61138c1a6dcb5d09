"""The mixture-of-regressions kernels against their NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

from emkit._kernels import _reference_mixture_regression as twin
from emkit._kernels import mixture_regression as kernels


def _case(seed, n=157, p=3, K=3, q=2):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, p)) * [1.0, 10.0, 1e-3][:p] + [0.0, 1e4, -5.0][:p]
    y = rng.standard_normal(n) * 3 + 100
    coef = rng.standard_normal((K, p))
    intercept = rng.standard_normal(K) * 100
    var = rng.uniform(0.5, 50.0, K)
    eta = rng.standard_normal((n, K))
    log_pi = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
    resp = rng.dirichlet(np.ones(K), size=n) * rng.uniform(0, 3, size=(n, 1))
    resp[::7, 1] = 0.0
    return X, y, coef, intercept, var, log_pi, resp, X[:, :q]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("per_row", [True, False])
def test_posterior_matches_twin(seed, per_row):
    X, y, coef, intercept, var, log_pi, _, _ = _case(seed)
    if not per_row:
        log_pi = log_pi[:1]
    for got, want in zip(
        kernels.posterior(X, y, coef, intercept, var, log_pi),
        twin.posterior(X, y, coef, intercept, var, log_pi),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_posterior_of_an_impossible_row():
    X = np.zeros((2, 1))
    y = np.zeros(2)
    log_pi = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    log_norm, resp = kernels.posterior(X, y, np.zeros((2, 1)), np.zeros(2), np.ones(2), log_pi)
    assert np.isneginf(log_norm[0]) and np.isnan(resp[0]).all()
    np.testing.assert_array_equal(resp[1], [1.0, 0.0])


@pytest.mark.parametrize("seed", range(4))
def test_moments_match_twin(seed):
    X, y, _, _, _, _, resp, _ = _case(seed)
    resp[:, 2] = 0.0  # an empty component
    for got, want in zip(kernels.moments(X, y, resp), twin.moments(X, y, resp), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_gating_sums_match_twin(seed):
    _, _, _, _, _, log_pi, resp, Z = _case(seed)
    weight = resp.sum(axis=1) * 1.5
    for got, want in zip(
        kernels.gating_sums(Z, resp, weight, log_pi),
        twin.gating_sums(Z, resp, weight, log_pi),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_gating_sums_of_no_rows():
    gradient, hessian, _, value, z_min, z_max = kernels.gating_sums(
        np.zeros((0, 2)), np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3))
    )
    assert not gradient.any() and not hessian.any() and value == 0.0
    assert np.isposinf(z_min).all() and np.isneginf(z_max).all()
