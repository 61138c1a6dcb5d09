r"""Squared Mahalanobis distances and weighted scatters of full-covariance Gaussians, per
component and in tiles of rows, compiled with numba.

Both kernels work on each component's own centred rows :math:`d_i = x_i - \mu_k` (the
*direct* form), so nothing cancels however narrow a component is or however far it
lies from the others, and the cost does not depend on the components' conditioning:

* :func:`mahalanobis` — :math:`m_{ik} = \lVert d_i^\top U_k \rVert^2`, with
  :math:`U_k` the upper-triangular precision Cholesky factor
  (:math:`\Lambda_k = U_k U_k^\top`, scikit-learn's ``precisions_cholesky_``);
* :func:`scatter` — :math:`\sum_i r_{ik} d_i` and :math:`\sum_i r_{ik} d_i d_i^\top`
  about a given shift :math:`s_k` per component (the E-step's means);
* :func:`posterior_scatter` — a mixture's whole E-step over a block in one pass: the
  distances, the log-sum-exp over components, the responsibilities and their scatters,
  tile by tile, so that a tile's rows are read from memory once instead of once per
  component, and the (n, K) log-densities and responsibilities never exist.

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

from emkit._kernels._special import exp_parts

_LOG_2PI = float(np.log(2.0 * np.pi))

__all__ = [
    "FUSED_TILE_VALUES",
    "NEGLIGIBLE_LOG_RATIO",
    "NEGLIGIBLE_WEIGHT",
    "TILE_ROWS",
    "mahalanobis",
    "posterior_scatter",
    "scatter",
]

#: rows per tile: the tile's centred rows, their products and weights (3 x 256 x D
#: values) stay in the L1/L2 cache, and the BLAS call is long enough to run at speed
TILE_ROWS = 256

#: weights at or below this count as 0 in :func:`scatter`, per dtype (2^-900, ~1e-271,
#: in float64; 2^-100, ~8e-31, in float32): such a row moves a moment by less than 1e-250
#: (1e-26) of any count the M-step divides by (the count floor is 1e-15 and more), far
#: below rounding
NEGLIGIBLE_WEIGHT = {np.dtype(np.float64): 2.0**-900, np.dtype(np.float32): 2.0**-100}

#: values of the fused E-step's centred tiles (64k float64 values, 512 kB: in L2)
FUSED_TILE_VALUES = 1 << 16

#: a component whose log joint lies this far below the row's largest gets probability 0
#: (e^-700, 1e-304, moves no probability or log-likelihood by more than that; the same
#: rule as ``emkit.models.mixture.log_normalize``, which it must agree with)
NEGLIGIBLE_LOG_RATIO = -700.0


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
def _tile_distances(X, start, mean, factor, rows, projected, out):
    # out[t] = ‖(x_{start+t} − mean)ᵀ U‖² for the tile's rows: centred into ``rows``
    # (whose columns past D, if any, are left alone; the fused kernel's column of ones
    # meets a zero row of its padded factor), one BLAS product, sums of squares
    D = mean.shape[0]
    for t in range(rows.shape[0]):
        for i in range(D):
            rows[t, i] = X[start + t, i] - mean[i]
    np.dot(rows, factor, projected)
    for t in range(rows.shape[0]):
        out[t] = _sum_of_squares(projected[t])


@njit(cache=True, nogil=True)
def _mahalanobis_kernel(X, means, prec_chol, out, centred, product):
    n = X.shape[0]
    K = means.shape[0]
    tile = centred.shape[0]
    # tiles outer, components inner: the tile's rows stay in L1 while every
    # component's centred copy and product are formed from them
    for start in range(0, n, tile):
        m = min(tile, n - start)
        rows = centred[:m]
        projected = product[:m]
        for k in range(K):
            _tile_distances(X, start, means[k], prec_chol[k], rows, projected, out[start:, k])


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


@njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _tile_posteriors(joint, row_weights, start, resp, scale_bits, log_norm, sum_w):
    # For the tile's rows t (joint[t, k] = log π_k N(x_t | k)): log_norm[start + t], the
    # log-sum-exp; resp[t] the responsibilities times the row's weight (0 for a
    # component NEGLIGIBLE_LOG_RATIO or more below the row's largest), added to sum_w.
    # The exponential is exp_parts, so that the loops over k vectorise (a row's K
    # calls of math.exp took a fifth of the E-step); "contract" only, see exp_parts.
    # False when a row has no possible component (its largest is -inf).
    m, K = joint.shape
    scale = scale_bits.view(np.float64)
    weighted_rows = row_weights.shape[0] > 0
    for t in range(m):
        top = -np.inf
        for k in range(K):
            value = joint[t, k]
            top = value if value > top else top
        if not np.isfinite(top):
            return False
        for k in range(K):
            shifted = joint[t, k] - top
            ratio, scale_bits[t, k] = exp_parts(shifted)
            resp[t, k] = ratio if shifted > NEGLIGIBLE_LOG_RATIO else 0.0
        total = 0.0
        for k in range(K):
            resp[t, k] *= scale[t, k]
            total += resp[t, k]
        log_norm[start + t] = top + np.log(total)
        weight = 1.0 / total
        if weighted_rows:
            weight *= row_weights[start + t]
        for k in range(K):
            resp[t, k] *= weight
            sum_w[k] += resp[t, k]
    return True


@njit(cache=True, nogil=True)
def _posterior_scatter_kernel(
    X,
    log_const,
    means,
    padded_chol,
    row_weights,
    log_norm,
    sum_w,
    sum_dx,
    sum_dxx,
    centred,
    gathered,
    product,
    joint,
    resp,
    scale_bits,
    weighted,
    block,
    negligible,
):
    # Per tile: every component's centred rows [x - μ_k | 1] (kept, centred[k]), their
    # product with U_k (padded with a zero row for the column of ones) and sums of
    # squares; then per row the log-sum-exp and the responsibilities; then per
    # component the scatter, one product weightedᵀ [d | 1] = [Σ r d dᵀ | Σ r d]. A
    # component that weighs most rows of the tile takes them all (the negligible ones
    # weighted 0); one that weighs few has them gathered first, so that the product
    # skips the rest. Returns False, the outputs incomplete, as soon as a distance is
    # not finite or a row has no component at all: the caller then takes the
    # step-by-step path with its exact errors and fallbacks.
    n, D = X.shape
    K = means.shape[0]
    tile = centred.shape[1]
    for k in range(K):
        for t in range(tile):
            centred[k, t, D] = 1.0
    for t in range(tile):
        gathered[t, D] = 1.0
    for start in range(0, n, tile):
        m = min(tile, n - start)
        projected = product[:m]
        for k in range(K):
            distances = joint[:m, k]
            _tile_distances(
                X, start, means[k], padded_chol[k], centred[k, :m], projected, distances
            )
            for t in range(m):
                if not np.isfinite(distances[t]):
                    return False
                distances[t] = log_const[k] - 0.5 * distances[t]
        if not _tile_posteriors(joint[:m], row_weights, start, resp, scale_bits, log_norm, sum_w):
            return False
        for k in range(K):
            used = 0
            for t in range(m):
                if resp[t, k] > negligible:
                    used += 1
            if used == 0:
                continue
            rows = centred[k, :m]
            if 2 * used >= m:
                for t in range(m):
                    r = resp[t, k]
                    r = r if r > negligible else 0.0
                    for i in range(D):
                        weighted[t, i] = r * rows[t, i]
                _add_moments(weighted[:m], rows, block, sum_dx[k], sum_dxx[k])
                continue
            used = 0
            for t in range(m):
                r = resp[t, k]
                if not r > negligible:
                    continue
                for i in range(D):
                    gathered[used, i] = rows[t, i]
                    weighted[used, i] = r * rows[t, i]
                used += 1
            _add_moments(weighted[:used], gathered[:used], block, sum_dx[k], sum_dxx[k])
    return True


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


def posterior_scatter(
    X: np.ndarray,
    log_weights: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    row_weights: np.ndarray | None = None,
):
    """A full-covariance Gaussian mixture's E-step over X in one pass, or None.

    Parameters
    ----------
    X : ndarray of shape (n, D), float32 or float64 (the products run in its dtype)
    log_weights : ndarray of shape (K,), log π_k (-inf for a weight of 0)
    means : ndarray of shape (K, D), representable in X's dtype (the shift of the
        scatters as well as the centre of the distances)
    prec_chol : ndarray of shape (K, D, D), the factors U_k of :func:`mahalanobis`
    row_weights : ndarray of shape (n,), optional sample weights w_i

    Returns
    -------
    None when a squared distance is not finite in X's dtype, a row has density 0
    under every component, a log weight is NaN, or K (D + 1) exceeds
    ``FUSED_TILE_VALUES / 16`` (the caller then goes step by step, which handles
    these); otherwise ``(log_norm, sum_w, sum_dx, sum_dxx)``, float64:

    log_norm : (n,), log p(x_i) = log sum_k π_k N(x_i | μ_k, Σ_k)
    sum_w : (K,), sum_i w_i r_ik
    sum_dx : (K, D), sum_i w_i r_ik (x_i - μ_k)
    sum_dxx : (K, D, D), sum_i w_i r_ik (x_i - μ_k)(x_i - μ_k)ᵀ
    """
    dtype = X.dtype
    X = np.ascontiguousarray(X)
    n, D = X.shape
    K = means.shape[0]
    log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    log_const = np.asarray(log_weights, dtype=np.float64) + log_det - 0.5 * D * _LOG_2PI
    if np.isnan(log_const).any() or K * (D + 1) * 16 > FUSED_TILE_VALUES:
        # NaN would be lost in the row maxima; and so many components that even tiles
        # of 16 rows leave the cache are left to the step-by-step path
        return None
    # every component's centred tile is kept (K x tile x (D + 1) values): at most
    # FUSED_TILE_VALUES of them, so that they stay in the L2 cache with the tile
    tile = max(16, min(TILE_ROWS, FUSED_TILE_VALUES // max(K * (D + 1), 1)))
    tile = min(tile, max(n, 1))
    padded_chol = np.zeros((K, D + 1, D), dtype=dtype)
    padded_chol[:, :D] = prec_chol
    log_norm, sum_w = np.empty(n), np.zeros(K)
    sum_dx, sum_dxx = np.zeros((K, D)), np.zeros((K, D, D))
    complete = _posterior_scatter_kernel(
        X,
        log_const,
        np.ascontiguousarray(means, dtype=dtype),
        padded_chol,
        np.empty(0) if row_weights is None else np.ascontiguousarray(row_weights, np.float64),
        log_norm,
        sum_w,
        sum_dx,
        sum_dxx,
        np.empty((K, tile, D + 1), dtype=dtype),
        np.empty((tile, D + 1), dtype=dtype),
        np.empty((tile, D), dtype=dtype),
        np.empty((tile, K)),
        np.empty((tile, K)),
        np.empty((tile, K), dtype=np.int64),
        np.empty((tile, D), dtype=dtype),
        np.empty((D, D + 1), dtype=dtype),
        NEGLIGIBLE_WEIGHT[np.dtype(dtype)],
    )
    return (log_norm, sum_w, sum_dx, sum_dxx) if complete else None
