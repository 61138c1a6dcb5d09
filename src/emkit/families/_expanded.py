r"""Quadratic forms and moments of all Gaussian components at once, on expanded features.

The direct E-step computes :math:`m_k(x) = \lVert (x - \mu_k) L_k \rVert^2` with one small
matrix product per component, and the direct M-step one weighted scatter product per
component. About a common centre :math:`c`, with :math:`u = x - c` and
:math:`\nu_k = \mu_k - c`,

.. math:: m_k(x) = u^\top \Lambda_k u - 2 \nu_k^\top \Lambda_k u + \nu_k^\top \Lambda_k \nu_k

is linear in the features :math:`(u \otimes u, u)` of ``emkit._kernels.quadratic``
(upper triangle only), so the quadratic forms of all components are *one* product
``features @ weights`` of (n, P + D) by (P + D, K), and the moments
:math:`\sum_i r_{ik} u_i u_i^\top` of all components are one product
``resp.T @ features``. That is half the arithmetic of the direct form (the symmetry of
:math:`\Lambda_k` is used) in two well-shaped matrix products instead of 2K small ones.

The price is cancellation: the terms of the expansion are as large as
:math:`\lVert\Lambda_k\rVert (\lVert u \rVert + \lVert \nu_k \rVert)^2`, while the
result may be as small as D. Every use is therefore *gated*, per component: the
expanded form is used only where the bound

.. math:: g_k = \varepsilon \, \lVert \Lambda_k \rVert_F \,
          (\max_i \lVert u_i \rVert + \lVert \nu_k \rVert)^2

(ε the unit roundoff of the features' dtype) is at most the dtype's
:data:`ROUNDING_BUDGET`; the other components take the direct form. On standardised
data with well-conditioned components the gate passes for all of them; it fails for
components much narrower than their distance from the centre, where the direct form
is the accurate one.

Since issue 15 only the diagonal types (diag, spherical) use this module: full and tied
covariances take the direct form in tiles of rows (``emkit._kernels.gaussian_blocks``),
which is as fast, exact at any conditioning, and so needs no gate. For anisotropic
components the gate failed for exactly the sharp components that matter, and the cost
of an iteration then depended on the components' conditioning.

The features have the data's dtype: float32 data (``dtype="float32"`` on the
estimators) run both products at float32's doubled arithmetic rate, under a budget
set by what that mode promises (agreement with float64 to 1e-4 relative).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from emkit._kernels.quadratic import quadratic_features

__all__ = ["ROUNDING_BUDGET", "ExpandedBlock", "accurate_components", "expand"]

# Largest allowed g_k, per dtype. Measured against extended-precision sums on clusters
# of every scale and separation, the expanded form's absolute error in a squared
# distance was at most 2.7 g_k, and its error in a covariance (relative, in the
# precision's norm) at most 0.22 g_k. In float64 the budget keeps a log-density within
# well under 1e-9 and a covariance within 1e-10 relative, and a component is gated out
# only beyond ~500 of its standard deviations from the centre (in 16-D). In float32 a
# log-density stays within ~1e-3 (~1e-5 of a typical 16-D log-density) and a
# covariance within ~2e-4, inside the 1e-4 agreement float32 mode promises for the fit.
ROUNDING_BUDGET = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}


@dataclass(frozen=True, eq=False)
class ExpandedBlock:
    """A block of points with its quadratic features, for every component at once.

    X : ndarray of shape (n, D), the points as given (float32 or float64)
    centre : ndarray of shape (D,), float64
    features : ndarray of shape (n, P + D), X's dtype: P = D (D + 1) / 2 products,
        or P = D squares when ``diagonal``
    radius : float, max_i ||x_i - centre||
    diagonal : bool, whether the precisions are diagonal (diag, spherical)

    Precisions are given as (K, D, D) matrices Λ_k, or (K, D) diagonals when
    ``diagonal``.
    """

    X: np.ndarray
    centre: np.ndarray
    features: np.ndarray
    radius: float
    diagonal: bool

    def quadratic_forms(self, precisions: np.ndarray, means: np.ndarray) -> np.ndarray:
        """(x_i - μ_k)ᵀ Λ_k (x_i - μ_k) for all points and components, shape (n, K).

        precisions : (K, D, D) or (K, D) diagonals; means : (K, D).
        """
        offsets = means - self.centre
        if self.diagonal:
            quadratic, linear = precisions, precisions * offsets
        else:
            rows, cols = _upper_triangle(means.shape[1])
            # the upper triangle counts each off-diagonal product once: weight it twice
            quadratic = precisions[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
            linear = np.einsum("kij,kj->ki", precisions, offsets)
        weights = np.concatenate([quadratic, -2.0 * linear], axis=1)
        out = self.features @ weights.T.astype(self.features.dtype)
        out += np.einsum("ki,ki->k", offsets, linear).astype(out.dtype)
        np.maximum(out, 0.0, out=out)  # rounding must not make a squared distance negative
        return out

    def moments(self, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sum_i r_ik (x_i - c) of shape (K, D) and sum_i r_ik (x_i - c)(x_i - c)ᵀ,
        (K, D, D) or its diagonal (K, D), about the block's centre c; ``resp`` is (n, K)."""
        D = self.X.shape[1]
        features = self.features
        sums = (resp.T.astype(features.dtype, copy=False) @ features).astype(np.float64)
        first, products = sums[:, -D:], sums[:, :-D]
        if self.diagonal:
            return first, products
        rows, cols = _upper_triangle(D)
        second = np.empty((sums.shape[0], D, D))
        second[:, rows, cols] = products
        second[:, cols, rows] = products
        return first, second

    def accurate(self, precisions: np.ndarray, means: np.ndarray) -> np.ndarray:
        """Which components the expanded form serves accurately: (K,) bool."""
        norms = np.sqrt(np.sum(precisions**2, axis=tuple(range(1, precisions.ndim))))
        dtype = self.features.dtype
        return accurate_components(norms, means - self.centre, self.radius, dtype)


@functools.cache
def _upper_triangle(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    # the feature order of the kernel; cached, since NumPy's triu_indices costs more
    # than a whole E-step on a few hundred points
    return np.triu_indices(n_features)


def expand(X: np.ndarray, centre: np.ndarray, diagonal: bool = False) -> ExpandedBlock:
    """The quadratic features of X (n, D) about ``centre`` (D,)."""
    features, radius2 = quadratic_features(X, centre, diagonal)
    centre = np.asarray(centre, dtype=np.float64)
    return ExpandedBlock(X, centre, features, float(np.sqrt(radius2)), diagonal)


def accurate_components(precision_norms, offsets, radius, dtype=np.float64) -> np.ndarray:
    """The gate g_k <= ROUNDING_BUDGET[dtype] of the module docstring, shape (K,) bool.

    precision_norms : (K,) Frobenius norms of the precisions Λ_k
    offsets : (K, D) component means minus the centre
    radius : largest distance of a point from the centre
    dtype : the dtype the expanded products run in
    """
    dtype = np.dtype(dtype)
    reach = radius + np.sqrt(np.einsum("ki,ki->k", offsets, offsets))
    unit_roundoff = np.finfo(dtype).eps / 2
    return unit_roundoff * precision_norms * reach**2 <= ROUNDING_BUDGET[dtype]
