"""Covariance structures of the Gaussian family: full, tied, diag, spherical.

Each structure stores covariances in scikit-learn's shapes and knows the handful of
type-specific operations the Gaussian family needs, so that the family itself has a
single code path. Shapes, for K components in D dimensions:

=========  ================  ==========================================
type       covariances       "scatter" statistic (sum of r·(x-a)(x-a)ᵀ)
=========  ================  ==========================================
full       (K, D, D)         (K, D, D)
tied       (D, D)            (D, D)      summed over components
diag       (K, D)            (K, D)      diagonal only
spherical  (K,)              (K,)        trace only
=========  ================  ==========================================

Precision Cholesky factors follow scikit-learn: an upper-triangular ``L`` with
``precision = L Lᵀ`` (full, tied), or ``1 / sqrt(variance)`` (diag, spherical).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


class ComponentCollapseError(ValueError):
    """A component's covariance is not positive definite (it collapsed onto few points)."""


def _collapse_message(component, count) -> str:
    where = "the shared (tied) covariance" if component is None else f"component {component}"
    held = "" if count is None else f" holding {count:.3g} effective samples"
    return (
        f"{where}{held} has a covariance that is not positive definite: it collapsed "
        "onto too few distinct points. Increase reg_covar, lower n_components or "
        "scale the data."
    )


def _precision_cholesky(cov, component, count):
    """Upper-triangular L with L Lᵀ = cov⁻¹ (scikit-learn's convention), or a
    ComponentCollapseError naming ``component`` (None: the tied covariance)."""
    if not np.isfinite(cov).all():  # checked here once, so LAPACK need not check again
        raise ComponentCollapseError(_collapse_message(component, count))
    try:
        cov_chol = linalg.cholesky(cov, lower=True, check_finite=False)
    except linalg.LinAlgError:
        raise ComponentCollapseError(_collapse_message(component, count)) from None
    identity = np.eye(cov.shape[0])
    return linalg.solve_triangular(cov_chol, identity, lower=True, check_finite=False).T


def _log_cholesky(cov):
    """Lower Cholesky factor with the log of its diagonal, flattened (unconstrained)."""
    chol = np.linalg.cholesky(cov)
    idx = np.arange(cov.shape[-1])
    chol[..., idx, idx] = np.log(chol[..., idx, idx])
    rows, cols = np.tril_indices(cov.shape[-1])
    return chol[..., rows, cols].ravel()


def _from_log_cholesky(vector, n_matrices, n_features):
    rows, cols = np.tril_indices(n_features)
    chol = np.zeros((n_matrices, n_features, n_features))
    chol[:, rows, cols] = vector.reshape(n_matrices, rows.size)
    idx = np.arange(n_features)
    chol[:, idx, idx] = np.exp(chol[:, idx, idx])
    return chol @ np.transpose(chol, (0, 2, 1))


class _PerComponent:
    """What full and diag share: one covariance (and one prior count) per component."""

    @staticmethod
    def component_counts(counts, prior_count, n_features):
        return counts + prior_count

    @staticmethod
    def prior_scatter(prior_cov, n_components, n_features):
        return np.broadcast_to(prior_cov, (n_components, *prior_cov.shape))


class _Full(_PerComponent):
    name = "full"

    @staticmethod
    def to_unconstrained(cov):
        return _log_cholesky(cov)

    @staticmethod
    def from_unconstrained(vector, n_components, n_features):
        return _from_log_cholesky(vector, n_components, n_features)

    @staticmethod
    def n_unconstrained(n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    @staticmethod
    def precision_cholesky(cov, counts=None):
        out = np.empty_like(cov)
        for k in range(cov.shape[0]):
            out[k] = _precision_cholesky(cov[k], k, None if counts is None else counts[k])
        return out

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        means, prec_chol = means.astype(X.dtype, copy=False), prec_chol.astype(X.dtype, copy=False)
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k in range(means.shape[0]):
            y = (X - means[k]) @ prec_chol[k]
            out[:, k] = np.einsum("ij,ij->i", y, y)
        return out

    @staticmethod
    def scatter(X, resp, shift):
        """(sum_i r_ik (x_i - shift_k), scatter about shift_k), accumulated in float64.

        The products run in X's dtype (float32 doubles the arithmetic rate);
        ``shift`` must already be representable in that dtype.
        """
        K, D = shift.shape
        resp, shift = resp.astype(X.dtype, copy=False), shift.astype(X.dtype, copy=False)
        sum_dx, out = np.empty((K, D)), np.empty((K, D, D))
        for k in range(K):
            centred = X - shift[k]
            weighted = centred * resp[:, k, None]
            sum_dx[k] = weighted.sum(axis=0)
            out[k] = weighted.T @ centred
        return sum_dx, out

    @staticmethod
    def outer(u, v):
        return u[:, :, None] * v[:, None, :]

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return np.einsum("kij,kij->k", S @ prec_chol, prec_chol)

    @staticmethod
    def divide(S, counts):
        return S / counts[:, None, None]

    @staticmethod
    def add_to_diagonal(cov, value):
        cov = cov.copy()
        idx = np.arange(cov.shape[-1])
        cov[:, idx, idx] += value
        return cov

    @staticmethod
    def eigenvalues(cov):
        """Eigenvalues of every covariance matrix: (K, D), or (D,) when tied."""
        return np.linalg.eigvalsh(cov)

    @staticmethod
    def prior_from_covariance(cov):
        return cov

    @staticmethod
    def n_parameters(K, D):
        return K * D * (D + 1) // 2

    @staticmethod
    def component_covariance(cov, k, n_features):
        return cov[k]

    @staticmethod
    def precisions(prec_chol):
        return prec_chol @ np.transpose(prec_chol, (0, 2, 1))

    @staticmethod
    def sample(rng, mean, cov, k, n):
        return rng.multivariate_normal(mean, cov[k], n)


class _Tied(_Full):
    name = "tied"

    @staticmethod
    def from_unconstrained(vector, n_components, n_features):
        return _from_log_cholesky(vector, 1, n_features)[0]

    @staticmethod
    def n_unconstrained(n_components, n_features):
        return n_features * (n_features + 1) // 2

    @staticmethod
    def precision_cholesky(cov, counts=None):
        return _precision_cholesky(cov, None, None)

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(np.diag(prec_chol)).sum()

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        means, prec_chol = means.astype(X.dtype, copy=False), prec_chol.astype(X.dtype, copy=False)
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k in range(means.shape[0]):
            y = (X - means[k]) @ prec_chol
            out[:, k] = np.einsum("ij,ij->i", y, y)
        return out

    @staticmethod
    def scatter(X, resp, shift):
        sum_dx, per_component = _Full.scatter(X, resp, shift)
        return sum_dx, per_component.sum(axis=0)

    @staticmethod
    def outer(u, v):
        return u.T @ v

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return np.einsum("ij,ij->", S @ prec_chol, prec_chol)

    @staticmethod
    def divide(S, counts):
        return S / counts

    @staticmethod
    def add_to_diagonal(cov, value):
        return cov + value * np.eye(cov.shape[0])

    @staticmethod
    def component_counts(counts, prior_count, n_features):
        return counts.sum() + prior_count

    @staticmethod
    def prior_scatter(prior_cov, n_components, n_features):
        return prior_cov

    @staticmethod
    def n_parameters(K, D):
        return D * (D + 1) // 2

    @staticmethod
    def component_covariance(cov, k, n_features):
        return cov

    @staticmethod
    def precisions(prec_chol):
        return prec_chol @ prec_chol.T

    @staticmethod
    def sample(rng, mean, cov, k, n):
        return rng.multivariate_normal(mean, cov, n)


class _Diag(_PerComponent):
    name = "diag"

    @staticmethod
    def to_unconstrained(cov):
        return np.log(cov).ravel()

    @staticmethod
    def from_unconstrained(vector, n_components, n_features):
        return np.exp(vector).reshape(n_components, n_features)

    @staticmethod
    def n_unconstrained(n_components, n_features):
        return n_components * n_features

    @staticmethod
    def precision_cholesky(cov, counts=None):
        bad = np.flatnonzero(np.any(cov <= 0.0, axis=-1) | ~np.all(np.isfinite(cov), axis=-1))
        if bad.size:
            k = int(bad[0])
            raise ComponentCollapseError(
                _collapse_message(k, None if counts is None else counts[k])
            )
        return 1.0 / np.sqrt(cov)

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(prec_chol).sum(axis=1)

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        # all components at once: sum_d (x_d - μ_kd)² p_kd expanded into two GEMMs, about
        # a centre c (the mean of the means) that keeps the expansion's cancellation small
        centre = means.mean(axis=0)
        X = X - centre.astype(X.dtype)
        means = (means - centre).astype(X.dtype)
        precisions = (prec_chol**2).astype(X.dtype)
        out = (X * X) @ precisions.T
        out -= X @ (2.0 * means * precisions).T
        out += (means * means * precisions).sum(axis=1)
        np.maximum(out, 0.0, out=out)  # rounding must not make a squared distance negative
        return out

    @staticmethod
    def scatter(X, resp, shift):
        # first and second moments about the centre c for all components (two GEMMs),
        # then moved exactly to each component's shift in float64
        centre = shift.mean(axis=0).astype(X.dtype).astype(np.float64)
        X = X - centre.astype(X.dtype)
        resp = resp.astype(X.dtype, copy=False)
        first = (resp.T @ X).astype(np.float64)
        second = (resp.T @ (X * X)).astype(np.float64)
        counts = resp.sum(axis=0, dtype=np.float64)[:, None]
        offset = shift - centre
        sum_dx = first - counts * offset
        return sum_dx, second - 2.0 * offset * first + counts * offset * offset

    @staticmethod
    def outer(u, v):
        return u * v

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return (S * prec_chol**2).sum(axis=1)

    @staticmethod
    def divide(S, counts):
        return S / counts[:, None]

    @staticmethod
    def add_to_diagonal(cov, value):
        return cov + value

    @staticmethod
    def eigenvalues(cov):
        """The variances: (K, D) diag, or (K,) spherical (one per component)."""
        return cov

    @staticmethod
    def prior_from_covariance(cov):
        return np.diag(cov).copy()

    @staticmethod
    def n_parameters(K, D):
        return K * D

    @staticmethod
    def component_covariance(cov, k, n_features):
        return np.diag(cov[k])

    @staticmethod
    def precisions(prec_chol):
        return prec_chol**2

    @staticmethod
    def sample(rng, mean, cov, k, n):
        return mean + rng.standard_normal(size=(n, mean.shape[0])) * np.sqrt(cov[k])


class _Spherical(_Diag):
    name = "spherical"

    @staticmethod
    def from_unconstrained(vector, n_components, n_features):
        return np.exp(vector)

    @staticmethod
    def n_unconstrained(n_components, n_features):
        return n_components

    @staticmethod
    def log_det(prec_chol, n_features):
        # one variance per component, shared by its D dimensions
        return n_features * np.log(prec_chol)

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        D = means.shape[1]
        return _Diag.mahalanobis(X, means, np.repeat(prec_chol[:, None], D, axis=1))

    @staticmethod
    def precision_cholesky(cov, counts=None):
        return _Diag.precision_cholesky(cov[:, None], counts)[:, 0]

    @staticmethod
    def scatter(X, resp, shift):
        sum_dx, per_feature = _Diag.scatter(X, resp, shift)
        return sum_dx, per_feature.sum(axis=1)

    @staticmethod
    def outer(u, v):
        return (u * v).sum(axis=1)

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return S * prec_chol**2

    @staticmethod
    def divide(S, counts):
        return S / counts

    @staticmethod
    def component_counts(counts, prior_count, n_features):
        return n_features * (counts + prior_count)

    @staticmethod
    def prior_scatter(prior_cov, n_components, n_features):
        # the trace of s0·I: spherical statistics are traces of scatter matrices
        return np.full(n_components, n_features * float(prior_cov))

    @staticmethod
    def prior_from_covariance(cov):
        return float(np.mean(np.diag(cov)))

    @staticmethod
    def n_parameters(K, D):
        return K

    @staticmethod
    def component_covariance(cov, k, n_features):
        return cov[k] * np.eye(n_features)

    @staticmethod
    def sample(rng, mean, cov, k, n):
        return mean + rng.standard_normal(size=(n, mean.shape[0])) * np.sqrt(cov[k])


COVARIANCE_TYPES = {cls.name: cls for cls in (_Full, _Tied, _Diag, _Spherical)}
