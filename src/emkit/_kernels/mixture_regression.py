r"""The mixture-of-regressions E-step, compiled with numba.

Three kernels over the rows of one block, each a single loop that NumPy would need
several passes and (n, K, p) temporaries for:

* :func:`posterior` — the log joint :math:`\log \pi_{ik} + \log \mathcal N(y_i \mid
  b_k + x_i^\top \beta_k, \sigma_k^2)`, its log-sum-exp and the responsibilities.
* :func:`moments` — per component the responsibility-weighted moments of (x, y) about
  the component's weighted means in the block (two passes over the rows: the means,
  then the deviations, so nothing cancels), as
  :class:`emkit.models.mixture_regression.RegressionMoments` holds them.
* :func:`gating_sums` — the gradient and negative Hessian of the gating part of Q at
  the E-step's gating, :math:`\sum_i w_i \tilde z_i \tilde z_i^\top`, :math:`Q_g`
  itself and the bounding box of z.

The NumPy twin (tests only) is :mod:`emkit._kernels._reference_mixture_regression`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["gating_sums", "moments", "posterior"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@njit(cache=True, nogil=True)
def _posterior_kernel(X, y, coef, intercept, log_var, inv_var, log_pi, resp, log_norm):
    n, p = X.shape
    K = coef.shape[0]
    per_row = log_pi.shape[0] > 1
    for i in range(n):
        row = i if per_row else 0
        top = -np.inf
        for k in range(K):
            mean = intercept[k]
            for j in range(p):
                mean += X[i, j] * coef[k, j]
            r = y[i] - mean
            value = -0.5 * (_LOG_2PI + log_var[k] + r * r * inv_var[k]) + log_pi[row, k]
            resp[i, k] = value
            if value > top:
                top = value
        if not np.isfinite(top):
            # -inf everywhere: probability zero under every component (the caller names
            # the row); NaN or +inf are passed on as NumPy's log-sum-exp would
            for k in range(K):
                resp[i, k] = np.nan
            log_norm[i] = top
            continue
        total = 0.0
        for k in range(K):
            e = np.exp(resp[i, k] - top)
            resp[i, k] = e
            total += e
        for k in range(K):
            resp[i, k] /= total
        log_norm[i] = top + np.log(total)


def posterior(X, y, coef, intercept, noise_variance, log_pi):
    """(log p(y_i | x_i) of shape (n,), responsibilities of shape (n, K)).

    X : (n, p), y : (n,), coef : (K, p), intercept, noise_variance : (K,), log_pi :
    (n, K) or (1, K) log mixing weights. A row with density 0 under every component
    has log-density -inf and NaN responsibilities.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, K = X.shape[0], coef.shape[0]
    resp = np.empty((n, K))
    log_norm = np.empty(n)
    var = np.ascontiguousarray(noise_variance, dtype=np.float64)
    _posterior_kernel(
        X,
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(coef, dtype=np.float64),
        np.ascontiguousarray(intercept, dtype=np.float64),
        np.log(var),
        1.0 / var,
        np.ascontiguousarray(log_pi, dtype=np.float64),
        resp,
        log_norm,
    )
    return log_norm, resp


@njit(cache=True, nogil=True)
def _moments_kernel(X, y, resp, sum_w, shift_x, shift_y, sum_dx, sum_dy, sum_dxx, sum_dxy, sum_dyy):
    n, p = X.shape
    K = resp.shape[1]
    for i in range(n):  # pass 1: the weighted means (the shifts)
        for k in range(K):
            r = resp[i, k]
            sum_w[k] += r
            shift_y[k] += r * y[i]
            for j in range(p):
                shift_x[k, j] += r * X[i, j]
    for k in range(K):
        scale = 1.0 / sum_w[k] if sum_w[k] > 0 else 1.0
        shift_y[k] *= scale
        for j in range(p):
            shift_x[k, j] *= scale
    dx = np.empty(p)
    for i in range(n):  # pass 2: the moments of the deviations
        for k in range(K):
            r = resp[i, k]
            if r == 0.0:
                continue
            dy = y[i] - shift_y[k]
            for j in range(p):
                dx[j] = X[i, j] - shift_x[k, j]
            sum_dy[k] += r * dy
            sum_dyy[k] += r * dy * dy
            for a in range(p):
                rdx = r * dx[a]
                sum_dx[k, a] += rdx
                sum_dxy[k, a] += rdx * dy
                for b in range(a, p):
                    sum_dxx[k, a, b] += rdx * dx[b]
    for k in range(K):
        for a in range(p):
            for b in range(a + 1, p):
                sum_dxx[k, b, a] = sum_dxx[k, a, b]


def moments(X, y, resp):
    """Responsibility-weighted moments about each component's weighted means.

    X : (n, p), y : (n,), resp : (n, K) (row weights already applied).

    Returns
    -------
    sum_w (K,), sum_dx (K, p), sum_dy (K,), sum_dxx (K, p, p), sum_dxy (K, p),
    sum_dyy (K,), shift_x (K, p), shift_y (K,)
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    resp = np.ascontiguousarray(resp, dtype=np.float64)
    p, K = X.shape[1], resp.shape[1]
    out = (
        np.zeros(K),
        np.zeros((K, p)),
        np.zeros(K),
        np.zeros((K, p, p)),
        np.zeros((K, p)),
        np.zeros(K),
        np.zeros((K, p)),
        np.zeros(K),
    )
    sum_w, sum_dx, sum_dy, sum_dxx, sum_dxy, sum_dyy, shift_x, shift_y = out
    _moments_kernel(
        X,
        np.ascontiguousarray(y, dtype=np.float64),
        resp,
        sum_w,
        shift_x,
        shift_y,
        sum_dx,
        sum_dy,
        sum_dxx,
        sum_dxy,
        sum_dyy,
    )
    return out


@njit(cache=True, nogil=True)
def _gating_kernel(Z, resp, weight, log_pi, gradient, hessian, sum_zz, value, z_min, z_max):
    n, q = Z.shape
    K = resp.shape[1]
    d = q + 1
    zt = np.empty(d)
    pi = np.empty(K)
    zt[0] = 1.0
    for i in range(n):
        w = weight[i]
        for j in range(q):
            zt[j + 1] = Z[i, j]
            if Z[i, j] < z_min[j]:
                z_min[j] = Z[i, j]
            if Z[i, j] > z_max[j]:
                z_max[j] = Z[i, j]
        for k in range(K):
            pi[k] = np.exp(log_pi[i, k])
            if resp[i, k] > 0:
                value[0] += resp[i, k] * log_pi[i, k]
        for a in range(d):
            wa = w * zt[a]
            for b in range(d):
                sum_zz[a, b] += wa * zt[b]
        for k in range(1, K):
            c = resp[i, k] - w * pi[k]
            for a in range(d):
                gradient[k - 1, a] += c * zt[a]
            for l in range(k, K):
                h = w * pi[k] * ((1.0 if k == l else 0.0) - pi[l])
                if h == 0.0:
                    continue
                row0, col0 = (k - 1) * d, (l - 1) * d
                for a in range(d):
                    ha = h * zt[a]
                    for b in range(d):
                        hessian[row0 + a, col0 + b] += ha * zt[b]
    for k in range(1, K):  # the blocks below the diagonal mirror those above
        for l in range(k + 1, K):
            row0, col0 = (k - 1) * d, (l - 1) * d
            for a in range(d):
                for b in range(d):
                    hessian[col0 + b, row0 + a] = hessian[row0 + a, col0 + b]


def gating_sums(Z, resp, weight, log_pi):
    """Sums over the rows for the gating step.

    Z : (n, q) gating covariates, resp : (n, K) responsibilities times the row weights,
    weight : (n,) the row weights (Σ_k resp without weights), log_pi : (n, K) the
    E-step's log mixing weights.

    Returns
    -------
    gradient ((K-1), q+1), hessian ((K-1)(q+1),)*2 (the negative Hessian of Q_g),
    sum_zz (q+1, q+1), value (float, Q_g), z_min, z_max (q,) (±inf when no rows).
    """
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    K, q = resp.shape[1], Z.shape[1]
    d = q + 1
    gradient = np.zeros((K - 1, d))
    hessian = np.zeros(((K - 1) * d, (K - 1) * d))
    sum_zz = np.zeros((d, d))
    value = np.zeros(1)
    z_min, z_max = np.full(q, np.inf), np.full(q, -np.inf)
    _gating_kernel(
        Z,
        np.ascontiguousarray(resp, dtype=np.float64),
        np.ascontiguousarray(weight, dtype=np.float64),
        np.ascontiguousarray(log_pi, dtype=np.float64),
        gradient,
        hessian,
        sum_zz,
        value,
        z_min,
        z_max,
    )
    return gradient, hessian, sum_zz, float(value[0]), z_min, z_max
