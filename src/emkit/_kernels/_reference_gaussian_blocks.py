"""NumPy twin of :mod:`emkit._kernels.gaussian_blocks` (tests only): the same results,
one whole-array product per component."""

from __future__ import annotations

import numpy as np

__all__ = ["mahalanobis", "scatter"]


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
