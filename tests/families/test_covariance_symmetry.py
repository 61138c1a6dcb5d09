"""Covariance matrices from the M-step are exactly symmetric, whatever the statistics.

A scatter summed as ``weighted.T @ centred``, recentred about new means, or blended
across ``partial_fit`` batches is symmetric only up to rounding; next to the tiny
variances of a constant batch that rounding was a relative asymmetry of 5e-9.
"""

import numpy as np
import pytest

import emkit
from emkit.families._covariance import COVARIANCE_TYPES


def _two_clusters(seed, n=40, d=2):
    rng = np.random.RandomState(seed)
    return rng.standard_normal((n, d)) + 6.0 * rng.randint(2, size=(n, 1))


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_divide_gives_an_exactly_symmetric_matrix(covariance_type):
    cov = COVARIANCE_TYPES[covariance_type]
    rng = np.random.RandomState(0)
    S = rng.standard_normal((2, 3, 3) if covariance_type == "full" else (3, 3))
    S = S @ np.swapaxes(S, -1, -2)
    S[..., 0, 1] += 1e-12  # the rounding of an asymmetric sum
    counts = np.array([2.0, 3.0]) if covariance_type == "full" else 5.0
    out = cov.divide(S, counts)
    np.testing.assert_array_equal(out, np.swapaxes(out, -1, -2))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_partial_fit_on_a_constant_batch_keeps_covariances_symmetric(covariance_type):
    est = emkit.GaussianMixture(2, covariance_type=covariance_type, random_state=0)
    est.partial_fit(_two_clusters(2615))
    constant = np.repeat(_two_clusters(2616)[:1], 40, axis=0)
    for _ in range(3):
        est.partial_fit(constant)
    cov = np.asarray(est.covariances_)
    assert np.all(np.isfinite(cov))
    if covariance_type in ("full", "tied"):
        np.testing.assert_array_equal(cov, np.swapaxes(cov, -1, -2))
        # positive definite: the Cholesky factor exists
        np.linalg.cholesky(cov)
