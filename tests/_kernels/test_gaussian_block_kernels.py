"""The full-covariance block kernels (distances, scatters) against their NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

from emkit._kernels import _reference_gaussian_blocks as twin
from emkit._kernels import gaussian_blocks as kernels


def _case(seed, n, K=3, D=4, far=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D)) * rng.uniform(0.1, 10, D)
    means = rng.standard_normal((K, D)) * 3
    if far:  # narrow components far apart: no common centre would do
        X, means = X * 1e-3 + 1e4, means * 1e-3 + 1e4
    A = rng.standard_normal((K, D, D))
    cov = A @ np.transpose(A, (0, 2, 1)) + 0.1 * np.eye(D)
    if far:
        cov *= 1e-6
    prec_chol = np.stack([np.linalg.inv(np.linalg.cholesky(c)).T for c in cov])
    resp = rng.dirichlet(np.ones(K), size=n)
    resp[::5, 0] = 0.0
    return X, means, prec_chol, resp


# rows around the tile length: shorter, exactly one, one plus a remainder, several
@pytest.mark.parametrize("n", [0, 1, 7, kernels.TILE_ROWS, kernels.TILE_ROWS + 3, 1000])
@pytest.mark.parametrize("far", [False, True])
def test_mahalanobis_matches_twin(n, far):
    X, means, prec_chol, _ = _case(n, n, far=far)
    got = kernels.mahalanobis(X, means, prec_chol)
    assert got.shape == (n, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, twin.mahalanobis(X, means, prec_chol), rtol=1e-12)


@pytest.mark.parametrize("n", [0, 1, 7, kernels.TILE_ROWS, kernels.TILE_ROWS + 3, 1000])
@pytest.mark.parametrize("far", [False, True])
def test_scatter_matches_twin(n, far):
    X, means, _, resp = _case(n + 1, n, far=far)
    shift = means + 0.01
    for got, want in zip(
        kernels.scatter(X, resp, shift), twin.scatter(X, resp, shift), strict=True
    ):
        scale = max(np.abs(want).max(initial=0.0), 1e-300)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13 * scale)


def test_float32_runs_in_float32_and_returns_float64():
    X, means, prec_chol, resp = _case(9, 600, D=6)
    X32 = X.astype(np.float32)
    maha = kernels.mahalanobis(X32, means, prec_chol)
    sum_dx, sum_dxx = kernels.scatter(X32, resp, means.astype(np.float32).astype(np.float64))
    assert maha.dtype == sum_dx.dtype == sum_dxx.dtype == np.float64
    np.testing.assert_allclose(maha, twin.mahalanobis(X32, means, prec_chol), rtol=1e-4)
    exact = kernels.mahalanobis(X32.astype(np.float64), means, prec_chol)
    assert 0 < np.abs(maha - exact).max() <= 1e-3 * exact.max()


def test_results_do_not_depend_on_the_call():
    X, means, prec_chol, resp = _case(10, 3000, K=5, D=7)
    first = kernels.scatter(X, resp, means)
    again = kernels.scatter(X, resp, means)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        kernels.mahalanobis(X, means, prec_chol), kernels.mahalanobis(X, means, prec_chol)
    )


def test_negligible_weights_count_as_zero():
    X, means, _, resp = _case(11, 700)
    resp[::2] *= 1e-305  # subnormal and tiny weights, as far components give
    resp[1::4, 1] = 5e-324
    got = kernels.scatter(X, resp, means)
    kept = np.where(resp > kernels.NEGLIGIBLE_WEIGHT[np.dtype(np.float64)], resp, 0.0)
    for a, b in zip(got, twin.scatter(X, kept, means), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13 * np.abs(b).max())
    for a, b in zip(got, twin.scatter(X, resp, means), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-250)


def _assert_fused_matches_twin(got, want):
    assert got is not None and want is not None
    for value, expected in zip(got, want, strict=True):
        assert value.dtype == np.float64
        scale = max(np.abs(expected).max(initial=0.0), 1e-300)
        np.testing.assert_allclose(value, expected, rtol=1e-11, atol=1e-12 * scale)


@pytest.mark.parametrize("n", [0, 1, 7, kernels.TILE_ROWS, kernels.TILE_ROWS + 3, 1000])
@pytest.mark.parametrize("far", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_posterior_scatter_matches_twin(n, far, weighted):
    # the whole fused E-step (distances, log-sum-exp, responsibilities, scatters)
    X, means, prec_chol, _ = _case(n + 2, n, far=far)
    log_weights = np.log(np.array([0.5, 0.3, 0.2]))
    row_weights = np.random.default_rng(n).uniform(0, 2, n) if weighted else None
    got = kernels.posterior_scatter(X, log_weights, means, prec_chol, row_weights)
    _assert_fused_matches_twin(
        got, twin.posterior_scatter(X, log_weights, means, prec_chol, row_weights)
    )


def test_posterior_scatter_with_negligible_components_and_float32():
    # components so far apart that most responsibilities are 0 or below e^-700 of
    # their row's largest; and float32 rows, whose products run in float32
    X, means, prec_chol, _ = _case(3, 900, D=5)
    means = means * 40
    X = np.concatenate([X + mean for mean in means])
    log_weights = np.log(np.array([0.2, 0.3, 0.5]))
    got = kernels.posterior_scatter(X, log_weights, means, prec_chol)
    _assert_fused_matches_twin(got, twin.posterior_scatter(X, log_weights, means, prec_chol))
    assert np.count_nonzero(got[1] < 1e-300) == 0 and got[0].shape == (2700,)
    X32, shift = X.astype(np.float32), means.astype(np.float32).astype(np.float64)
    got32 = kernels.posterior_scatter(X32, log_weights, shift, prec_chol)
    want32 = twin.posterior_scatter(X32, log_weights, shift, prec_chol)
    for value, expected in zip(got32, want32, strict=True):
        np.testing.assert_allclose(value, expected, rtol=2e-4, atol=1e-4 * np.abs(expected).max())


def test_posterior_scatter_declines_what_the_step_by_step_path_handles():
    # None (the caller goes step by step) for a row of density 0 under every component
    # and for a distance that overflows; a weight of 0 alone is fine
    X, means, prec_chol, _ = _case(4, 50)
    with np.errstate(divide="ignore"):
        log_weights = np.log([0.5, 0.5, 0.0])
    assert kernels.posterior_scatter(X, log_weights, means, prec_chol) is not None
    assert kernels.posterior_scatter(X, np.full(3, -np.inf), means, prec_chol) is None
    far = X.copy()
    far[7] = 1e200
    assert kernels.posterior_scatter(far, np.log([0.5, 0.3, 0.2]), means, prec_chol) is None


def test_posterior_scatter_declines_nan_weights_and_too_many_components():
    X, means, prec_chol, _ = _case(5, 40)
    assert kernels.posterior_scatter(X, np.array([0.0, np.nan, 0.0]), means, prec_chol) is None
    K, D = 300, 16  # K (D + 1) 16 > FUSED_TILE_VALUES: tiles would not stay in cache
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((10, D))
    factors = np.tile(np.eye(D), (K, 1, 1))
    assert (
        kernels.posterior_scatter(wide, np.zeros(K), rng.standard_normal((K, D)), factors) is None
    )
