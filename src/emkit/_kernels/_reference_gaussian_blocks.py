"""NumPy twin of :mod:`emkit._kernels.gaussian_blocks` (tests only): the same results,
one whole-array product per component."""

from __future__ import annotations

import numpy as np

__all__ = ["mahalanobis", "posterior_scatter", "scatter"]


def mahalanobis(X, means, prec_chol):
    columns = [
        np.sum(((X - mean.astype(X.dtype)) @ factor.astype(X.dtype)).astype(np.float64) ** 2, 1)
        for mean, factor in zip(means, prec_chol, strict=True)
    ]
    return np.stack(columns, axis=1) if columns else np.empty((X.shape[0], 0))


def scatter(X, resp, shift):
    K, D = shift.shape
    sum_dx, sum_dxx = np.zeros((K, D)), np.zeros((K, D, D))
    for k in range(K):
        centred = (X - shift[k].astype(X.dtype)).astype(np.float64)
        weighted = centred * resp[:, k, None].astype(X.dtype).astype(np.float64)
        sum_dx[k], sum_dxx[k] = weighted.sum(axis=0), weighted.T @ centred
    return sum_dx, sum_dxx


def posterior_scatter(X, log_weights, means, prec_chol, row_weights=None):
    D = X.shape[1]
    log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    joint = log_weights + log_det - 0.5 * (D * np.log(2 * np.pi) + mahalanobis(X, means, prec_chol))
    if not (np.isfinite(joint).any(axis=1).all() and not np.isposinf(joint).any()):
        return None
    top = joint.max(axis=1, keepdims=True)
    shifted = joint - top
    ratio = np.where(shifted > -700.0, np.exp(shifted), 0.0)
    log_norm = top[:, 0] + np.log(ratio.sum(axis=1))
    resp = ratio / ratio.sum(axis=1, keepdims=True)
    if row_weights is not None:
        resp = resp * row_weights[:, None]
    return (log_norm, resp.sum(axis=0), *scatter(X, resp, means))
