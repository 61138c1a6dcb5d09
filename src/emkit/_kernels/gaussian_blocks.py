r"""Squared Mahalanobis distances and weighted scatters of full-covariance Gaussians, per
component and in tiles of rows, compiled with numba.

Both kernels work on each component's own centred rows :math:`d_i = x_i - \mu_k` (the
*direct* form), so nothing cancels however narrow a component is or however far it
lies from the others, and the cost does not depend on the components' conditioning:

* :func:`mahalanobis` — :math:`m_{ik} = \lVert d_i^\top U_k \rVert^2`, with
  :math:`U_k` the upper-triangular precision Cholesky factor
  (:math:`\Lambda_k = U_k U_k^\top`, scikit-learn's ``precisions_cholesky_``);
* :func:`scatter` — :math:`\sum_i r_{ik} d_i` and :math:`\sum_i r_{ik} d_i d_i^\top`
  about a given shift :math:`s_k` per component (the E-step's means).

A tile of ``TILE_ROWS`` centred rows (a few tens of kB) stays in the L1/L2 cache; the
products with it are BLAS calls made from compiled code (``np.dot`` inside numba: a
16 x 16 factor times a 256 x 16 tile runs at the rate of a large matrix product, and
the call costs well under a microsecond, where NumPy's dispatch costs several). The
centring, the sums of squares and the weighting are single passes over the tile.

Rows and factors are in the data's dtype (float32 data run the products at float32's
doubled rate); sums of squares and every accumulation across tiles are float64.

The NumPy twin (tests only) is :mod:`emkit._kernels._reference_gaussian_blocks`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["NEGLIGIBLE_WEIGHT", "TILE_ROWS", "mahalanobis", "scatter"]

#: rows per tile: the tile's centred rows, their products and weights (3 x 256 x D
#: values) stay in the L1/L2 cache, and the BLAS call is long enough to run at speed
TILE_ROWS = 256

#: weights at or below this count as 0 in :func:`scatter`, per dtype (2^-900, ~1e-271,
#: in float64; 2^-100, ~8e-31, in float32): such a row moves a moment by less than 1e-250
#: (1e-26) of any count the M-step divides by (the count floor is 1e-15 and more), far
#: below rounding
NEGLIGIBLE_WEIGHT = {np.dtype(np.float64): 2.0**-900, np.dtype(np.float32): 2.0**-100}


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _sum_of_squares(values):
    # reassociated, so that the D additions of a row vectorise; the order is still
    # fixed by the code, so the result is the same on every call
    total = 0.0
    for j in range(values.shape[0]):
        value = np.float64(values[j])
        total += value * value
    return total


@njit(cache=True, nogil=True)
def _mahalanobis_kernel(X, means, prec_chol, out, centred, product):
    n, D = X.shape
    K = means.shape[0]
    tile = centred.shape[0]
    # tiles outer, components inner: the tile's rows stay in L1 while every
    # component's centred copy and product are formed from them
    for start in range(0, n, tile):
        m = min(tile, n - start)
        rows = centred[:m]
        projected = product[:m]
        for k in range(K):
            for t in range(m):
                for i in range(D):
                    rows[t, i] = X[start + t, i] - means[k, i]
            np.dot(rows, prec_chol[k], projected)
            for t in range(m):
                out[start + t, k] = _sum_of_squares(projected[t])


@njit(cache=True, nogil=True)
def _scatter_kernel(X, resp, shift, sum_dx, sum_dxx, centred, weighted, block, negligible):
    # centred has a last column of ones, so that one product gives both moments:
    # weightedᵀ [d | 1] = [sum r d dᵀ | sum r d]. Only the rows whose weight is above
    # ``negligible`` enter the tile: with well-separated components most weights are
    # 0 or subnormal, and subnormal products cost a hundred times a normal one.
    n, D = X.shape
    K = shift.shape[0]
    tile = centred.shape[0]
    for t in range(tile):
        centred[t, D] = 1.0
    for k in range(K):
        used = 0
        for row in range(n):
            r = resp[row, k]
            if not r > negligible:
                continue
            for i in range(D):
                centred[used, i] = X[row, i] - shift[k, i]
            for i in range(D):
                weighted[used, i] = r * centred[used, i]
            used += 1
            if used == tile:
                _add_moments(weighted[:used], centred[:used], block, sum_dx[k], sum_dxx[k])
                used = 0
        if used:
            _add_moments(weighted[:used], centred[:used], block, sum_dx[k], sum_dxx[k])


@njit(cache=True, nogil=True)
def _add_moments(weighted, centred, block, sum_dx, sum_dxx):
    D = weighted.shape[1]
    np.dot(weighted.T, centred, block)
    for i in range(D):
        sum_dx[i] += np.float64(block[i, D])
        for j in range(D):
            sum_dxx[i, j] += np.float64(block[i, j])


def mahalanobis(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances of the rows of X to every component, (n, K) float64.

    Parameters
    ----------
    X : ndarray of shape (n, D), float32 or float64 (the products run in its dtype)
    means : ndarray of shape (K, D)
    prec_chol : ndarray of shape (K, D, D)
        Precision Cholesky factors U_k (upper triangular, U_k U_kᵀ = Σ_k⁻¹).
    """
    dtype = X.dtype
    X = np.ascontiguousarray(X)
    K, D = means.shape
    out = np.empty((X.shape[0], K))
    tile = min(TILE_ROWS, max(X.shape[0], 1))
    _mahalanobis_kernel(
        X,
        np.ascontiguousarray(means, dtype=dtype),
        np.ascontiguousarray(prec_chol, dtype=dtype),
        out,
        np.empty((tile, D), dtype=dtype),
        np.empty((tile, D), dtype=dtype),
    )
    return out


def scatter(X: np.ndarray, resp: np.ndarray, shift: np.ndarray):
    """Weighted first and second moments of X about ``shift``, per component.

    Parameters
    ----------
    X : ndarray of shape (n, D), float32 or float64 (the products run in its dtype)
    resp : ndarray of shape (n, K), weights r_ik
    shift : ndarray of shape (K, D), the point s_k every component's moments are about

    Returns
    -------
    sum_dx : ndarray of shape (K, D), float64: sum_i r_ik (x_i - s_k)
    sum_dxx : ndarray of shape (K, D, D), float64: sum_i r_ik (x_i - s_k)(x_i - s_k)ᵀ
    """
    dtype = X.dtype
    X = np.ascontiguousarray(X)
    K, D = shift.shape
    sum_dx = np.zeros((K, D))
    sum_dxx = np.zeros((K, D, D))
    tile = min(TILE_ROWS, max(X.shape[0], 1))
    _scatter_kernel(
        X,
        np.ascontiguousarray(resp, dtype=dtype),
        np.ascontiguousarray(shift, dtype=dtype),
        sum_dx,
        sum_dxx,
        np.zeros((tile, D + 1), dtype=dtype),
        np.empty((tile, D), dtype=dtype),
        np.empty((D, D + 1), dtype=dtype),
        NEGLIGIBLE_WEIGHT[np.dtype(dtype)],
    )
    return sum_dx, sum_dxx
