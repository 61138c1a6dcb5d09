"""NumPy twin of :mod:`emkit._kernels.mixture_regression` (tests only): the same
results, written with whole-array operations."""

from __future__ import annotations

import numpy as np

__all__ = ["gating_sums", "moments", "posterior"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def posterior(X, y, coef, intercept, noise_variance, log_pi):
    resid = y[:, None] - (X @ coef.T + intercept)
    log_joint = -0.5 * (_LOG_2PI + np.log(noise_variance) + resid**2 / noise_variance) + log_pi
    top = log_joint.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = np.exp(log_joint - np.where(np.isfinite(top), top, 0.0)[:, None])
        total = shifted.sum(axis=1)
        resp = shifted / total[:, None]
        log_norm = np.where(np.isfinite(top), top + np.log(total), top)
    resp[~np.isfinite(top)] = np.nan
    return log_norm, resp


def moments(X, y, resp):
    K, p = resp.shape[1], X.shape[1]
    sum_w = resp.sum(axis=0)
    safe = np.where(sum_w > 0, sum_w, 1.0)
    shift_x = (resp.T @ X) / safe[:, None]
    shift_y = (resp.T @ y) / safe
    sum_dx, sum_dy = np.empty((K, p)), np.empty(K)
    sum_dxx, sum_dxy, sum_dyy = np.empty((K, p, p)), np.empty((K, p)), np.empty(K)
    for k in range(K):
        r = resp[:, k]
        dx, dy = X - shift_x[k], y - shift_y[k]
        rdx = r[:, None] * dx
        sum_dx[k], sum_dy[k] = rdx.sum(axis=0), r @ dy
        sum_dxx[k], sum_dxy[k], sum_dyy[k] = rdx.T @ dx, rdx.T @ dy, r @ dy**2
    return sum_w, sum_dx, sum_dy, sum_dxx, sum_dxy, sum_dyy, shift_x, shift_y


def gating_sums(Z, resp, weight, log_pi):
    K = resp.shape[1]
    Zt = np.hstack([np.ones((Z.shape[0], 1)), Z])
    d = Zt.shape[1]
    pi = np.exp(log_pi)
    gradient = (resp[:, 1:] - weight[:, None] * pi[:, 1:]).T @ Zt
    hessian = np.zeros(((K - 1) * d, (K - 1) * d))
    for k in range(1, K):
        for l in range(1, K):
            c = weight * pi[:, k] * ((1.0 if k == l else 0.0) - pi[:, l])
            hessian[(k - 1) * d : k * d, (l - 1) * d : l * d] = (c[:, None] * Zt).T @ Zt
    sum_zz = (weight[:, None] * Zt).T @ Zt
    value = float(np.sum(np.where(resp > 0, resp * log_pi, 0.0)))
    if Z.shape[0]:
        z_min, z_max = Z.min(axis=0), Z.max(axis=0)
    else:
        z_min, z_max = np.full(Z.shape[1], np.inf), np.full(Z.shape[1], -np.inf)
    return gradient, hessian, sum_zz, value, z_min, z_max
