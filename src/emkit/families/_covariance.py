"""Covariance structures: full, tied, diag, spherical, for every model that has covariances.

The one place that knows which covariance types exist, their shapes, their numbers of
free parameters, their constraints and their unconstrained (log-Cholesky, log-variance)
form. The Gaussian family (mixtures, HMM emissions, the Gaussians of a GMM-HMM state)
stores covariances in scikit-learn's shapes and calls the structure classes of
:data:`COVARIANCE_TYPES`, so that the family itself has a single code path; the
linear-Gaussian state-space model stores each of its covariances as one full (n, n)
matrix with a structure, through the one-matrix functions at the end of this module
(:data:`MATRIX_COVARIANCE_TYPES`, :func:`matrix_size`, :func:`pack_matrix`,
:func:`unpack_matrix`, :func:`project_matrix`). Shapes, for K components in D
dimensions:

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

Besides the family's E- and M-step operations, every structure class has

* ``shape(K, D)`` and ``n_parameters(K, D)``: the shape of the covariances and their
  number of free parameters;
* ``to_unconstrained(cov)`` (1-D) and ``from_unconstrained(vector, K, D)``: the
  log-Cholesky factors of full and tied matrices (log of the diagonal), the
  log-variances of diag and spherical ones;
* ``project(matrix)``: the covariance of one component within the structure that
  maximises the Gaussian likelihood, given a full (D, D) covariance (the scatter over
  the count): the matrix itself, its diagonal, or its mean variance;
* ``as_matrix(entry, D)``: one component's covariance as a full (D, D) matrix, and
  ``component_covariance(cov, k, D)`` the same for component k of the covariances;
* ``from_matrix(matrix)``: the covariances of a single component (K = 1) whose full
  (D, D) matrix already has the structure.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from emkit._kernels import gaussian_blocks
from emkit.families._expanded import ExpandedBlock, expand

# Rows per block when distances of a whole array are asked for: the expanded features of
# a block, (rows, D (D + 1) / 2 + D) floats, stay within the cache.
_BLOCK_ROWS = 2048


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


def _overflow_message(component) -> str:
    where = "the shared (tied) covariance" if component is None else f"component {component}"
    return (
        f"{where} has a covariance with infinite or NaN entries: the squared deviations "
        "of the data from its mean overflowed float64. Scale the data (e.g. standardise "
        "every feature)."
    )


def _precision_cholesky(cov, component, count):
    """Upper-triangular L with L Lᵀ = cov⁻¹ (scikit-learn's convention), or a
    ComponentCollapseError naming ``component`` (None: the tied covariance)."""
    if not np.isfinite(cov).all():  # checked here once, so LAPACK need not check again
        raise ComponentCollapseError(_overflow_message(component))
    # LAPACK directly: scipy.linalg's wrappers cost ~10x the factorisations of the small
    # matrices here, which was a quarter of an EM iteration on small data
    cov_chol, info = lapack.dpotrf(cov, lower=1, clean=1)
    if info != 0:
        raise ComponentCollapseError(_collapse_message(component, count))
    inverse, info = lapack.dtrtri(cov_chol, lower=1)
    return inverse.T


def _symmetric(S):
    """(S + Sᵀ) / 2 over the last two axes: exactly symmetric, since float addition commutes."""
    return 0.5 * (S + np.swapaxes(S, -1, -2))


def _moments_about(offsets, counts, first, second, outer):
    """Moments about a centre c re-expressed about c + offsets[k], exactly, per component.

    offsets : (K, D); counts : (K,) sum_i r_ik; first : (K, D) sum_i r_ik (x_i - c);
    second : sum_i r_ik (x_i - c)(x_i - c)ᵀ in the covariance type's shape (``outer``
    builds that shape from two (K, D) arrays).
    """
    sum_dx = first - counts[:, None] * offsets
    second = second - outer(offsets, first) - outer(first, offsets)
    return sum_dx, second + outer(counts[:, None] * offsets, offsets)


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


def _gated_mahalanobis(cov, X, means, prec_chol):
    """Squared Mahalanobis distances (n, K), float64; X is (n, D) or an ExpandedBlock.

    The expanded form serves every component that it serves accurately (see
    ``emkit.families._expanded``); the others take the direct form of ``cov`` (diag,
    or spherical with its scalar factors broadcast to diag's shape; full and tied
    override this with the direct kernels of ``emkit._kernels.gaussian_blocks``).
    """
    if not isinstance(X, ExpandedBlock):
        blocks = [
            _gated_mahalanobis(
                cov, cov.prepare(X[start : start + _BLOCK_ROWS], means), means, prec_chol
            )
            for start in range(0, X.shape[0], _BLOCK_ROWS)
        ]
        return np.concatenate(blocks) if blocks else np.empty((0, means.shape[0]))
    precisions = cov.precisions(prec_chol)
    out = X.quadratic_forms(precisions, means)
    for k in np.flatnonzero(~X.accurate(precisions, means)):
        out[:, k] = cov.direct_mahalanobis(X.X, means[k], prec_chol[k])
    return out


def _gated_scatter(cov, X, resp, shift, prec_chol):
    """(sum_i r_ik (x_i - shift_k), scatter about shift_k), accumulated in float64.

    X is (n, D) or an ExpandedBlock. A component whose E-step precision Cholesky
    factor (``prec_chol``) passes the expanded form's accuracy gate takes its moments
    from the block's features. The others (all of them without ``prec_chol``) are
    summed directly, the products in X's dtype (float32 doubles the arithmetic rate)
    about ``shift``, which must then already be representable in that dtype.
    """
    if not isinstance(X, ExpandedBlock) and prec_chol is not None:
        parts = [
            _gated_scatter(
                cov,
                cov.prepare(X[start : start + _BLOCK_ROWS], shift),
                resp[start : start + _BLOCK_ROWS],
                shift,
                prec_chol,
            )
            for start in range(0, X.shape[0], _BLOCK_ROWS)
        ]
        if parts:
            return tuple(sum(values) for values in zip(*parts, strict=True))
    K, D = shift.shape
    sum_dx = np.empty((K, D))
    out = np.empty((K, D) if cov.diagonal else (K, D, D))
    direct = np.ones(K, dtype=bool)
    if isinstance(X, ExpandedBlock):
        if prec_chol is not None:
            direct = ~X.accurate(cov.precisions(prec_chol), shift)
        if not direct.all():
            first, second = X.moments(resp)
            counts = resp.sum(axis=0, dtype=np.float64)
            sum_dx[:], out[:] = _moments_about(shift - X.centre, counts, first, second, cov.outer)
        X = X.X
    resp, shift = resp.astype(X.dtype, copy=False), shift.astype(X.dtype, copy=False)
    for k in np.flatnonzero(direct):
        sum_dx[k], out[k] = cov.direct_scatter(X, resp[:, k], shift[k])
    return sum_dx, out


class _PerComponent:
    """What full and diag share: one covariance (and one prior count) per component,
    and the gated expanded form (the subclass supplies ``diagonal``, ``precisions``
    and the direct forms)."""

    diagonal: bool

    @classmethod
    def prepare(cls, X, means):
        return expand(X, means.mean(axis=0), diagonal=cls.diagonal)

    @classmethod
    def mahalanobis(cls, X, means, prec_chol):
        return _gated_mahalanobis(cls, X, means, prec_chol)

    @classmethod
    def scatter(cls, X, resp, shift, prec_chol=None):
        return _gated_scatter(cls, X, resp, shift, prec_chol)

    @staticmethod
    def component_counts(counts, prior_count, n_features):
        return counts + prior_count

    @staticmethod
    def prior_scatter(prior_cov, n_components, n_features):
        return np.broadcast_to(prior_cov, (n_components, *prior_cov.shape))

    @classmethod
    def component_covariance(cls, cov, k, n_features):
        return cls.as_matrix(cov[k], n_features)

    @classmethod
    def from_matrix(cls, matrix):
        return np.asarray(cls.project(matrix))[None]


class _Full(_PerComponent):
    """Full covariances: distances and scatters by the direct form of every component,
    in tiles of rows (``emkit._kernels.gaussian_blocks``). Exact at any conditioning,
    and as fast as the expanded form was where its gate let it serve, so no block of
    features is prepared and no gate is needed."""

    name = "full"

    @staticmethod
    def prepare(X, means):
        return X.X if isinstance(X, ExpandedBlock) else X

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        """(x_i - μ_k)ᵀ Λ_k (x_i - μ_k), shape (n, K) float64; products in X's dtype."""
        points = X.X if isinstance(X, ExpandedBlock) else X
        return gaussian_blocks.mahalanobis(points, means, prec_chol)

    @staticmethod
    def scatter(X, resp, shift, prec_chol=None):
        """(sum_i r_ik (x_i - shift_k), sum_i r_ik (x_i - shift_k)(x_i - shift_k)ᵀ), float64,
        the products in X's dtype about ``shift`` (already representable in it)."""
        points = X.X if isinstance(X, ExpandedBlock) else X
        return gaussian_blocks.scatter(points, resp, shift)

    @staticmethod
    def posterior_scatter(X, log_weights, means, prec_chol, row_weights=None):
        """A mixture's fused E-step (``gaussian_blocks.posterior_scatter``), or None."""
        return gaussian_blocks.posterior_scatter(X, log_weights, means, prec_chol, row_weights)

    @staticmethod
    def to_unconstrained(cov):
        return _log_cholesky(cov)

    @staticmethod
    def from_unconstrained(vector, n_components, n_features):
        return _from_log_cholesky(vector, n_components, n_features)

    @staticmethod
    def precision_cholesky(cov, counts=None):
        out = np.empty_like(cov)
        for k in range(cov.shape[0]):
            out[k] = _precision_cholesky(cov[k], k, None if counts is None else counts[k])
        return out

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)

    diagonal = False

    @staticmethod
    def direct_mahalanobis(X, mean, prec_chol):
        """(x_i - μ)ᵀ Λ (x_i - μ) of one component, (n,), in X's dtype."""
        y = (X - mean.astype(X.dtype)) @ prec_chol.astype(X.dtype)
        return np.einsum("ij,ij->i", y, y)

    @staticmethod
    def direct_scatter(X, resp, shift):
        """(sum_i r_i (x_i - s), sum_i r_i (x_i - s)(x_i - s)ᵀ) of one component."""
        centred = X - shift
        weighted = centred * resp[:, None]
        return weighted.sum(axis=0), weighted.T @ centred

    @staticmethod
    def outer(u, v):
        return u[:, :, None] * v[:, None, :]

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return np.einsum("kij,kij->k", S @ prec_chol, prec_chol)

    @staticmethod
    def divide(S, counts):
        # exactly symmetric: a scatter summed as weighted.T @ centred, recentred, or
        # blended across partial_fit batches is symmetric only up to rounding, which
        # next to a tiny variance (a constant batch) is far from negligible
        return _symmetric(S) / counts[:, None, None]

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
    def project(cov):
        return cov

    @staticmethod
    def as_matrix(entry, n_features):
        return entry

    @staticmethod
    def shape(K, D):
        return (K, D, D)

    @staticmethod
    def n_parameters(K, D):
        return K * D * (D + 1) // 2

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
    def precision_cholesky(cov, counts=None):
        return _precision_cholesky(cov, None, None)

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(np.diag(prec_chol)).sum()

    @staticmethod
    def mahalanobis(X, means, prec_chol):
        shared = np.broadcast_to(prec_chol, (means.shape[0], *prec_chol.shape))
        return _Full.mahalanobis(X, means, shared)

    @staticmethod
    def posterior_scatter(X, log_weights, means, prec_chol, row_weights=None):
        shared = np.broadcast_to(prec_chol, (means.shape[0], *prec_chol.shape))
        result = _Full.posterior_scatter(X, log_weights, means, shared, row_weights)
        if result is None:
            return None
        log_norm, sum_w, sum_dx, per_component = result
        return log_norm, sum_w, sum_dx, per_component.sum(axis=0)

    @staticmethod
    def scatter(X, resp, shift, prec_chol=None):
        if prec_chol is not None:
            prec_chol = np.broadcast_to(prec_chol, (shift.shape[0], *prec_chol.shape))
        sum_dx, per_component = _Full.scatter(X, resp, shift, prec_chol)
        return sum_dx, per_component.sum(axis=0)

    @staticmethod
    def outer(u, v):
        return u.T @ v

    @staticmethod
    def trace_with_precision(prec_chol, S):
        return np.einsum("ij,ij->", S @ prec_chol, prec_chol)

    @staticmethod
    def divide(S, counts):
        return _symmetric(S) / counts  # exactly symmetric, as for "full"

    @staticmethod
    def add_to_diagonal(cov, value):
        return cov + value * np.eye(cov.shape[0])

    @staticmethod
    def component_counts(counts, prior_count, n_features):
        return counts.sum() + prior_count

    @staticmethod
    def prior_scatter(prior_cov, n_components, n_features):
        return prior_cov

    @classmethod
    def component_covariance(cls, cov, k, n_features):
        return cls.as_matrix(cov, n_features)

    @staticmethod
    def from_matrix(matrix):
        return matrix

    @staticmethod
    def shape(K, D):
        return (D, D)

    @staticmethod
    def n_parameters(K, D):
        return D * (D + 1) // 2

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
    def precision_cholesky(cov, counts=None):
        overflowed = np.flatnonzero(~np.all(np.isfinite(cov), axis=-1))
        if overflowed.size:
            raise ComponentCollapseError(_overflow_message(int(overflowed[0])))
        bad = np.flatnonzero(np.any(cov <= 0.0, axis=-1))
        if bad.size:
            k = int(bad[0])
            raise ComponentCollapseError(
                _collapse_message(k, None if counts is None else counts[k])
            )
        return 1.0 / np.sqrt(cov)

    @staticmethod
    def log_det(prec_chol, n_features):
        return np.log(prec_chol).sum(axis=1)

    diagonal = True

    @staticmethod
    def direct_mahalanobis(X, mean, prec_chol):
        return (X - mean.astype(X.dtype)) ** 2 @ (prec_chol**2).astype(X.dtype)

    @staticmethod
    def direct_scatter(X, resp, shift):
        centred = X - shift
        weighted = centred * resp[:, None]
        return weighted.sum(axis=0), (weighted * centred).sum(axis=0)

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
    def project(cov):
        return np.diag(cov).copy()

    @staticmethod
    def as_matrix(entry, n_features):
        return np.diag(entry)

    @staticmethod
    def shape(K, D):
        return (K, D)

    @staticmethod
    def n_parameters(K, D):
        return K * D

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
    def scatter(X, resp, shift, prec_chol=None):
        if prec_chol is not None:
            prec_chol = np.repeat(prec_chol[:, None], shift.shape[1], axis=1)
        sum_dx, per_feature = _Diag.scatter(X, resp, shift, prec_chol)
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
    def project(cov):
        # the mean variance; max(.., 1): a 0 x 0 matrix (no states) projects to 0
        return float(np.trace(cov) / max(cov.shape[0], 1))

    @staticmethod
    def as_matrix(entry, n_features):
        return entry * np.eye(n_features)

    @staticmethod
    def from_matrix(matrix):
        return np.diag(matrix)[:1]

    @staticmethod
    def shape(K, D):
        return (K,)

    @staticmethod
    def n_parameters(K, D):
        return K

    @staticmethod
    def sample(rng, mean, cov, k, n):
        return mean + rng.standard_normal(size=(n, mean.shape[0])) * np.sqrt(cov[k])


COVARIANCE_TYPES = {cls.name: cls for cls in (_Full, _Tied, _Diag, _Spherical)}


# -- shapes and constraints, for every model that stores covariances ------------------
def covariance_shape(covariance_type: str, n_components: int, n_features: int) -> tuple:
    """Shape of the covariances of ``n_components`` Gaussians in ``n_features`` dimensions:
    (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical."""
    return COVARIANCE_TYPES[covariance_type].shape(n_components, n_features)


def check_covariances(array: np.ndarray, name: str, matrices: bool, unit: str = "component"):
    """Raise a ValueError naming ``name`` unless ``array`` holds valid covariances.

    ``matrices``: the trailing two axes are (D, D) matrices, each of which must be
    symmetric positive definite (full and tied types); otherwise every entry is a
    variance and must be positive (diag and spherical). The message names the
    offending matrix by its index along the leading axes (``unit`` says what an index
    is: "component", "state").
    """
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    if not matrices:
        bad = np.argwhere(np.atleast_1d(array) <= 0)
        if bad.size:
            value = np.atleast_1d(array)[tuple(bad[0])]
            where = f"[{', '.join(str(int(i)) for i in bad[0])}]" if np.ndim(array) else ""
            raise ValueError(
                f"{name} must be positive (variances of positive definite covariances); "
                f"{name}{where} = {value:.6g}"
            )
        return
    flat = array.reshape(-1, *array.shape[-2:])
    for index, matrix in enumerate(flat):
        position = ", ".join(str(int(i)) for i in np.unravel_index(index, array.shape[:-2]))
        where = f" of {unit} {position}" if array.ndim > 2 else ""
        if not np.allclose(matrix, matrix.T, rtol=1e-10, atol=0.0):
            raise ValueError(
                f"{name}{where} must be symmetric positive definite (it is not symmetric)"
            )
        smallest = np.linalg.eigvalsh(matrix)[0] if matrix.size else 1.0
        if smallest <= 0:
            raise ValueError(
                f"{name}{where} must be symmetric positive definite (its smallest "
                f"eigenvalue is {smallest:.3g})"
            )


# -- one covariance matrix with a structure (the state-space model's Q, R and P0) ----------
#: The structures of a single covariance matrix, stored as a full (n, n) matrix: "tied"
#: shares one matrix between components, so for a single matrix it is "full".
MATRIX_COVARIANCE_TYPES = tuple(name for name in COVARIANCE_TYPES if name != "tied")


def matrix_size(covariance_type: str, n: int) -> int:
    """Free parameters of one (n, n) covariance matrix with the structure: n (n + 1) / 2
    full, n diag, 1 spherical (the length of :func:`pack_matrix`'s vector)."""
    return COVARIANCE_TYPES[covariance_type].n_parameters(1, n)


def pack_matrix(matrix: np.ndarray, covariance_type: str) -> np.ndarray:
    """One covariance matrix (n, n) that has the structure as an unconstrained 1-D vector
    of :func:`matrix_size` entries: its log-Cholesky factor (full), its log-variances
    (diag) or its one log-variance (spherical), as the Gaussian family packs them."""
    structure = COVARIANCE_TYPES[covariance_type]
    return structure.to_unconstrained(structure.from_matrix(matrix))


def unpack_matrix(vector: np.ndarray, n: int, covariance_type: str) -> np.ndarray:
    """Inverse of :func:`pack_matrix`: the (n, n) covariance matrix, positive definite
    for any vector."""
    structure = COVARIANCE_TYPES[covariance_type]
    return structure.component_covariance(structure.from_unconstrained(vector, 1, n), 0, n)


def project_matrix(matrix: np.ndarray, covariance_type: str) -> np.ndarray:
    """The (n, n) covariance matrix within the structure that maximises the Gaussian
    likelihood, given a full covariance ``matrix`` (n, n) (a scatter over its count):
    ``matrix`` itself (full), its diagonal (diag), its mean variance times the identity
    (spherical)."""
    structure = COVARIANCE_TYPES[covariance_type]
    return structure.as_matrix(structure.project(matrix), matrix.shape[0])
