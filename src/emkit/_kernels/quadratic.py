r"""Quadratic features of a block of points, compiled with numba.

For points :math:`x_i` and a centre :math:`c`, with :math:`u_i = x_i - c`, one row of
the features is

.. math:: (u_{i1} u_{i1}, u_{i1} u_{i2}, \dots, u_{i1} u_{iD}, u_{i2} u_{i2}, \dots,
          u_{iD} u_{iD}, u_{i1}, \dots, u_{iD}),

the upper triangle of :math:`u_i u_i^\top` row by row, then :math:`u_i` itself:
``P = D (D + 1) / 2`` products and ``D`` offsets (only the ``P = D`` squares for
diagonal matrices). Every Gaussian quadratic form
:math:`(x - \mu)^\top \Lambda (x - \mu)` is linear in these features, so the
quadratic forms of all components are one matrix product with them, and so are the
weighted second moments of all components (``resp.T @ features``).

NumPy builds the same array with ``D`` strided broadcasts per block, which took
four times as long as both matrix products together; one pass over each row here
writes it at memory speed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["quadratic_features"]


@njit(cache=True, nogil=True)
def _fill(X, centre, diagonal, out):
    n, d = X.shape
    n_products = d if diagonal else d * (d + 1) // 2
    largest = 0.0
    for row in range(n):
        norm2 = 0.0
        for i in range(d):
            value = X[row, i] - centre[i]
            out[row, n_products + i] = value
            norm2 += value * value
        largest = max(largest, norm2)
        if diagonal:
            for i in range(d):
                out[row, i] = out[row, n_products + i] * out[row, n_products + i]
            continue
        position = 0
        for i in range(d):
            left = out[row, n_products + i]
            for j in range(i, d):
                out[row, position] = left * out[row, n_products + j]
                position += 1
    return largest


def quadratic_features(
    X: np.ndarray, centre: np.ndarray, diagonal: bool = False
) -> tuple[np.ndarray, float]:
    """Features of the rows of X about ``centre`` and their largest squared distance.

    Parameters
    ----------
    X : ndarray of shape (n, D), float32 or float64 (the features have its dtype)
    centre : ndarray of shape (D,)
    diagonal : bool
        Only the squares u_i u_i, not every product (``P = D``): what quadratic forms
        with diagonal matrices need.

    Returns
    -------
    features : ndarray of shape (n, P + D), X's dtype, C-contiguous
    radius2 : float
        max_i ||x_i - centre||², which bounds the rounding error of products with
        the features (see ``emkit.families._expanded``).
    """
    n, d = X.shape
    out = np.empty((n, (d if diagonal else d * (d + 1) // 2) + d), dtype=X.dtype)
    radius2 = _fill(X, np.ascontiguousarray(centre, dtype=X.dtype), bool(diagonal), out)
    return out, float(radius2)
