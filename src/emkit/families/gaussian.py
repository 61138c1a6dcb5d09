"""Multivariate Gaussian family with full, tied, diagonal or spherical covariances.

Statistics are accumulated as moments *shifted* by the component means of the
parameters that produced the responsibilities (the E-step's own means), which keeps
the covariance update free of the cancellation that raw moments suffer when the data
sit far from the origin. Statistics with different shifts are re-centred exactly when
added, so the additivity the engine relies on holds for any two chunks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from emkit.containers import ShiftedStatistics
from emkit.families._counts import EntryError
from emkit.families._covariance import COVARIANCE_TYPES, ComponentCollapseError
from emkit.families._expanded import ExpandedBlock
from emkit.families._missing import (
    MissingBlock,
    conditional_means,
    has_missing,
    missing_block,
    missing_log_prob,
    missing_moments,
)
from emkit.families.base import COUNT_FLOOR, Family

__all__ = [
    "ComponentCollapseError",
    "GaussianFamily",
    "GaussianParams",
    "GaussianPrior",
    "GaussianStats",
]

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class GaussianParams:
    """Component means and covariances with their precision Cholesky factors.

    means : ndarray of shape (K, D)
    covariances : (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical
    precisions_cholesky : same shape as ``covariances`` (scikit-learn's convention)

    Either field may be None in a *partial* container (user-given initial values).
    """

    means: np.ndarray | None
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class GaussianStats(ShiftedStatistics):
    """Weighted moments of the data, shifted by ``shift`` (the means of the E-step).

    Attributes
    ----------
    sum_w : (K,)   sum_i r_ik
    sum_dx : (K, D)   sum_i r_ik (x_i - shift_k)
    sum_dxx : sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T in the covariance type's
        shape (see ``emkit.families._covariance``)
    shift : (K, D)   reference point, not summed
    reference_precisions_cholesky : the E-step's precision Cholesky factors (None at
        initialisation), not summed: with ``shift`` they give Q at the E-step's
        parameters, which bounds what an inexact M-step can lose (``m_step_slack``)
    """

    sum_w: np.ndarray
    sum_dx: np.ndarray
    sum_dxx: np.ndarray
    shift: np.ndarray
    covariance_type: str
    reference_precisions_cholesky: np.ndarray | None = None

    reference_fields = ("shift", "covariance_type", "reference_precisions_cholesky")

    def recentred(self, shift: np.ndarray) -> GaussianStats:
        """The same statistics expressed about another shift (exact); the E-step's
        precision factors no longer belong to the shift, so they are dropped."""
        if shift is self.shift or np.array_equal(shift, self.shift):
            return self
        cov = COVARIANCE_TYPES[self.covariance_type]
        e = self.shift - shift
        sum_dxx = (
            self.sum_dxx
            + cov.outer(self.sum_dx, e)
            + cov.outer(e, self.sum_dx)
            + cov.outer(self.sum_w[:, None] * e, e)
        )
        return GaussianStats(
            self.sum_w,
            self.sum_dx + self.sum_w[:, None] * e,
            sum_dxx,
            shift,
            self.covariance_type,
        )


@dataclass(frozen=True)
class GaussianPrior:
    """Conjugate prior on component means and covariances, in pseudo-observations.

    log p(μ_k, Σ_k) = −(n0/2) (log|Σ_k| + tr(Σ0 Σ_k⁻¹)) − (κ0/2) (μ_k − m0)ᵀ Σ_k⁻¹ (μ_k − m0)

    (+ const): a normal-inverse-Wishart density with κ = κ0, ν = n0 − D − 2 and
    scale matrix Ψ = n0 Σ0. Its MAP update is the MLE with κ0 pseudo-observations at
    m0 added to the mean and n0 pseudo-observations of covariance Σ0 added to the
    covariance; κ0 = n0 = 0 is exactly maximum likelihood. For tied covariances the
    covariance term appears once; for diag and spherical Σ0 is (D,) or a scalar.

    mean_prior : (D,) m0          mean_strength : κ0 >= 0
    covariance_prior : Σ0 in the covariance type's per-component shape
    covariance_strength : n0 >= 0
    """

    mean_prior: np.ndarray
    mean_strength: float
    covariance_prior: np.ndarray
    covariance_strength: float


class GaussianFamily(Family):
    """Gaussian components N(μ_k, Σ_k).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Added to the diagonal of every covariance after the M-step (as scikit-learn),
        so that covariances stay positive definite.
    prior : GaussianPrior, optional
        Conjugate prior for MAP estimation; None for maximum likelihood.
    """

    param_names = ("means", "covariances")

    def __init__(self, covariance_type: str = "full", reg_covar: float = 1e-6, prior=None):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, "
                f"got {covariance_type!r}"
            )
        self.covariance_type = covariance_type
        self.reg_covar = float(reg_covar)
        self.prior = prior
        self._cov = COVARIANCE_TYPES[covariance_type]

    # -- parameters ---------------------------------------------------------------
    def make_params(self, means, covariances, counts=None) -> GaussianParams:
        """Validated parameters with their precision Cholesky factors.

        Raises ComponentCollapseError (naming the component) when a covariance is
        not positive definite; ``counts`` (K,) only improves that message.
        """
        prec_chol = self._cov.precision_cholesky(covariances, counts)
        return GaussianParams(means, covariances, prec_chol)

    def check_data(self, X):
        """X (n, D) unchanged, or a ValueError when its values are too large for the
        arithmetic of its dtype (see :func:`check_magnitude`) or, in float32, too far
        from the origin for their spread (see :func:`check_resolution`), or when a row
        is missing entirely (all NaN); the estimators have already checked that it is
        real and finite, or NaN where values are missing."""
        check_magnitude(X)
        check_resolution(X)
        check_observed_rows(X)
        return X

    # -- E-step -------------------------------------------------------------------
    def prepare(self, params: GaussianParams, X: np.ndarray):
        """One block of X (n, D) with the work that ``log_prob`` and ``statistics``
        share under these parameters: the quadratic features of full and tied
        covariances (an ExpandedBlock, (n, D (D + 1) / 2 + D) floats), X itself
        otherwise. Either method accepts the result in place of X.
        """
        if has_missing(X):  # NaN marks missing values: grouped by pattern once
            return missing_block(X, lambda rows: self._cov.prepare(rows, params.means))
        return self._cov.prepare(X, params.means)

    def log_prob(self, params: GaussianParams, X) -> np.ndarray:
        """log N(x_i | μ_k, Σ_k), shape (n, K); X is (n, D) or ``prepare``'s block.

        Raises a ValueError naming the rows whose log-density overflows under every
        component (see :func:`check_representable`).
        """
        return check_representable(self.log_prob_or_inf(params, X))

    def log_prob_or_inf(self, params: GaussianParams, X) -> np.ndarray:
        """:meth:`log_prob`, with -inf where a squared distance overflows float64
        (for callers that combine components further, such as a GMM-HMM state).

        NaN entries of X are missing values: a row's log-density is then the marginal
        one of its observed coordinates (see :mod:`emkit.families._missing`).
        """
        if isinstance(X, MissingBlock) or has_missing(X):
            block = X if isinstance(X, MissingBlock) else self.prepare(params, X)
            return missing_log_prob(
                block,
                params.means,
                self.full_covariances(params),
                lambda rows: self.log_prob_or_inf(params, rows),
                key=params,
            )
        points = X.X if isinstance(X, ExpandedBlock) else X
        D = points.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):  # far points: handled below
            maha = self._cov.mahalanobis(X, params.means, params.precisions_cholesky)
        bad = np.flatnonzero(~np.isfinite(maha).all(axis=1))
        if bad.size:
            # far points: the expanded form's products (inf - inf) or float32 overflowed;
            # the direct form in float64 is finite whenever the distance is representable
            rows = points[bad].astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                exact = self._cov.mahalanobis(rows, params.means, params.precisions_cholesky)
            maha = maha.astype(np.float64)
            maha[bad] = np.where(np.isnan(exact), np.inf, exact)
        log_det = self._cov.log_det(params.precisions_cholesky, D)
        return -0.5 * (D * _LOG_2PI + maha) + log_det

    def statistics(self, X, resp, reference: GaussianParams | None) -> GaussianStats:
        """Moments of X weighted by ``resp`` (n, K), shifted by ``reference.means``.

        X is (n, D) or ``prepare``'s block. Without a reference (initialisation) the
        shift is the weighted mean itself. X may be float32 (what is summed directly
        then runs in float32); the statistics are float64.

        NaN entries of X are missing values: their conditional expectations given the
        observed coordinates (first and second moments) under ``reference`` enter the
        moments (Ghahramani & Jordan 1994; see :mod:`emkit.families._missing`), which
        needs a reference.
        """
        if isinstance(X, MissingBlock) or has_missing(X):
            return self._missing_statistics(X, resp, reference)
        points = X.X if isinstance(X, ExpandedBlock) else X
        sum_w = resp.sum(axis=0, dtype=np.float64)
        if reference is None:
            shift = (resp.T @ points).astype(np.float64) / np.maximum(sum_w, COUNT_FLOOR)[:, None]
            prec_chol = None
        else:
            shift, prec_chol = reference.means, reference.precisions_cholesky
        # the shift actually used by X's dtype, so float32 statistics stay exact about it
        shift = shift.astype(points.dtype).astype(np.float64)
        sum_dx, sum_dxx = self._cov.scatter(X, resp, shift, prec_chol)
        return GaussianStats(sum_w, sum_dx, sum_dxx, shift, self.covariance_type, prec_chol)

    def mixture_e_step(self, params: GaussianParams, X, log_weights, row_weights=None):
        """The fused E-step of a mixture of full or tied Gaussians over X (n, D), one
        pass over the rows (``emkit._kernels.gaussian_blocks.posterior_scatter``); None
        for diag and spherical covariances (whose expanded form is already one
        product), for missing values, and for a block in which a distance overflows
        or a row has density 0 everywhere (the step-by-step path has the fallbacks and
        errors for those)."""
        fused = getattr(self._cov, "posterior_scatter", None)
        if fused is None or isinstance(X, (ExpandedBlock, MissingBlock)) or has_missing(X):
            return None
        # the shift of the statistics as X's dtype represents it (see statistics)
        shift = params.means.astype(X.dtype).astype(np.float64)
        result = fused(X, log_weights, shift, params.precisions_cholesky, row_weights)
        if result is None:
            return None
        log_norm, sum_w, sum_dx, sum_dxx = result
        stats = GaussianStats(
            sum_w, sum_dx, sum_dxx, shift, self.covariance_type, params.precisions_cholesky
        )
        return log_norm, stats

    def _missing_statistics(self, X, resp, reference: GaussianParams | None) -> GaussianStats:
        """:meth:`statistics` of rows with missing values: the complete rows' moments
        as usual plus the incomplete rows' expected ones, about the reference means."""
        if reference is None:
            raise ValueError(
                "the statistics of rows with missing values (NaN) need the parameters of "
                "the E-step (reference); start from data without NaN or from initial values"
            )
        block = X if isinstance(X, MissingBlock) else self.prepare(reference, X)
        shift, prec_chol = reference.means, reference.precisions_cholesky
        sum_w = resp.sum(axis=0, dtype=np.float64)
        first, second = missing_moments(
            block, resp, reference.means, self.full_covariances(reference), shift, key=reference
        )
        sum_dx, sum_dxx = first, self._from_full_scatter(second)
        if block.complete.size:
            dx, dxx = self._cov.scatter(
                block.complete_block, resp[block.complete], shift, prec_chol
            )
            sum_dx, sum_dxx = sum_dx + dx, sum_dxx + dxx
        return GaussianStats(sum_w, sum_dx, sum_dxx, shift, self.covariance_type, prec_chol)

    def _from_full_scatter(self, second: np.ndarray) -> np.ndarray:
        """Full (K, D, D) scatters in the covariance type's statistic shape."""
        if self.covariance_type == "full":
            return second
        if self.covariance_type == "tied":
            return second.sum(axis=0)
        diagonal = np.diagonal(second, axis1=1, axis2=2)
        return diagonal.copy() if self.covariance_type == "diag" else diagonal.sum(axis=1)

    def full_covariances(self, params: GaussianParams) -> np.ndarray:
        """Every component's covariance as a full matrix, shape (K, D, D)."""
        K = params.means.shape[0]
        return np.stack([self.component_covariance(params, k) for k in range(K)])

    def conditional_means(self, params: GaussianParams, X) -> np.ndarray:
        """Every row of X (n, D) completed under every component, shape (n, K, D): the
        observed values kept, the missing (NaN) ones at E[x_m | x_o, component k]."""
        block = X if isinstance(X, MissingBlock) else missing_block(X, lambda rows: None)
        return conditional_means(block, params.means, self.full_covariances(params))

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: GaussianStats, *, learn=frozenset(param_names), fixed=None):
        counts = stats.sum_w + COUNT_FLOOR
        K, D = stats.sum_dx.shape
        prior = self.prior
        kappa = prior.mean_strength if prior is not None else 0.0
        n0 = prior.covariance_strength if prior is not None else 0.0
        if "means" in learn:
            means = stats.shift + stats.sum_dx / counts[:, None]
            if kappa > 0:
                means = (counts[:, None] * means + kappa * prior.mean_prior) / (counts + kappa)[
                    :, None
                ]
        else:
            means = fixed.means
        if "covariances" in learn:
            scatter = stats.recentred(means).sum_dxx
            if kappa > 0:
                offset = means - prior.mean_prior
                scatter = scatter + kappa * self._cov.outer(offset, offset)
            if n0 > 0:
                scatter = scatter + n0 * self._cov.prior_scatter(prior.covariance_prior, K, D)
            covariances = self._cov.divide(scatter, self._cov.component_counts(counts, n0, D))
            covariances = self._cov.add_to_diagonal(covariances, self.reg_covar)
        else:
            covariances = fixed.covariances
        return self.make_params(means, covariances, counts)

    def m_step_slack(self, params: GaussianParams, stats: GaussianStats, learn) -> float:
        """How far Q (+ log prior) at ``params``, the M-step's result from ``stats``, may
        lie below its exact maximum, because ``reg_covar`` was added to the covariances.

        The covariance part of Q (+ log prior) is -(c/2)(log|Σ| + tr(Σ⁻¹ Σ*)) with c
        the (pseudo-)count and Σ* its maximiser; at Σ = Σ* + εI, with eigenvalues ν_j,
        it falls short by (c/2) Σ_j g(ε/ν_j), g(t) = −log(1 − t) − t ≈ t²/2 (exact,
        the same eigenvectors). EM's guarantee becomes "decreases by at most this";
        the engine allows for it instead of reporting a bug.

        That shortfall is measured from Q's maximiser and grows without bound as an
        eigenvalue ν_j falls below ``reg_covar``; the objective can only fall, though,
        by as much as Q (+ log prior) falls from the E-step's parameters to ``params``
        (the rest of Q, the weights' or transitions', is maximised exactly). The slack
        is the smaller of the two, so that it never excuses more than reg_covar can
        explain in this M-step.
        """
        if self.reg_covar == 0.0 or "covariances" not in learn:
            return 0.0
        D = stats.sum_dx.shape[1]
        n0 = self.prior.covariance_strength if self.prior is not None else 0.0
        counts = self._cov.component_counts(stats.sum_w + COUNT_FLOOR, n0, D)
        ratio = np.clip(self.reg_covar / self._cov.eigenvalues(params.covariances), 0.0, 1.0)
        with np.errstate(divide="ignore"):
            shortfall = -np.log1p(-ratio) - ratio
        per_count = shortfall.reshape(*np.shape(counts), -1).sum(axis=-1)
        slack = float(0.5 * np.sum(counts * per_count))
        if stats.reference_precisions_cholesky is None:
            return slack
        before = GaussianParams(stats.shift, None, stats.reference_precisions_cholesky)
        drop = (self.expected_log_prob(before, stats) + self.log_prior(before)) - (
            self.expected_log_prob(params, stats) + self.log_prior(params)
        )
        return min(slack, max(drop, 0.0))

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: GaussianParams, stats: GaussianStats) -> float:
        """sum_ik r_ik log N(x_i | μ_k, Σ_k) from the statistics."""
        D = stats.sum_dx.shape[1]
        scatter = stats.recentred(params.means).sum_dxx
        log_det = self._cov.log_det(params.precisions_cholesky, D)
        quad = self._cov.trace_with_precision(params.precisions_cholesky, scatter)
        return float(np.sum(stats.sum_w * (log_det - 0.5 * D * _LOG_2PI)) - 0.5 * np.sum(quad))

    def log_prior(self, params: GaussianParams) -> float:
        prior = self.prior
        if prior is None:
            return 0.0
        K, D = params.means.shape
        prec_chol = params.precisions_cholesky
        value = 0.0
        if prior.covariance_strength > 0:
            log_det_cov = -2.0 * np.sum(self._cov.log_det(prec_chol, D))
            pseudo = self._cov.prior_scatter(prior.covariance_prior, K, D)
            trace = np.sum(self._cov.trace_with_precision(prec_chol, pseudo))
            value -= 0.5 * prior.covariance_strength * (log_det_cov + trace)
        if prior.mean_strength > 0:
            offset = params.means - prior.mean_prior
            quad = np.sum(
                self._cov.trace_with_precision(prec_chol, self._cov.outer(offset, offset))
            )
            value -= 0.5 * prior.mean_strength * quad
        return float(value)

    # -- unconstrained parametrisation (for acceleration) --------------------------
    def pack(self, params: GaussianParams) -> np.ndarray:
        """Means and log-Cholesky (or log-variance) covariances as one 1-D vector."""
        return np.concatenate(
            [params.means.ravel(), self._cov.to_unconstrained(params.covariances)]
        )

    def unpack(self, vector: np.ndarray, like: GaussianParams) -> GaussianParams:
        """Inverse of :meth:`pack`; ``like`` gives the shapes."""
        K, D = like.means.shape
        means = vector[: K * D].reshape(K, D)
        covariances = self._cov.from_unconstrained(vector[K * D :], K, D)
        return self.make_params(means, covariances)

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features + self._cov.n_parameters(n_components, n_features)

    def component_covariance(self, params: GaussianParams, k: int) -> np.ndarray:
        """Full (D, D) covariance matrix of component k, whatever the type."""
        D = params.means.shape[1]
        return self._cov.component_covariance(params.covariances, k, D)

    def precisions(self, params: GaussianParams) -> np.ndarray:
        return self._cov.precisions(params.precisions_cholesky)

    def sample(self, params: GaussianParams, counts, rng) -> np.ndarray:
        D = params.means.shape[1]
        blocks = [
            self._cov.sample(rng, params.means[k], params.covariances, k, int(n))
            for k, n in enumerate(counts)
        ]
        return np.vstack(blocks) if blocks else np.empty((0, D))

    def default_prior(
        self,
        X,
        n_components,
        mean_strength,
        covariance_strength,
        mean_prior=None,
        covariance_prior=None,
        sample_weight=None,
    ) -> GaussianPrior:
        """A prior centred on the data: m0 = data mean, Σ0 = data covariance / K^(2/D).

        The scale of Σ0 follows Fraley & Raftery (2007), "Bayesian regularization for
        normal mixture estimation and model-based clustering", J. Classification 24.
        ``sample_weight`` (n,) counts as repetitions of the rows (the covariance has
        the n - 1 denominator of repeated rows, sum(w) - 1), so that weighted data and
        repeated rows get the same prior.
        """
        D = X.shape[1]
        weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
        if has_missing(X):
            # missing values: the observed means, and the covariance of the rows with
            # missing entries at those means (a scale for the prior, slightly shrunk)
            observed = ~np.isnan(X)
            column_means = (weights @ np.where(observed, X, 0.0)) / np.maximum(
                weights @ observed, np.finfo(float).tiny
            )
            X = np.where(observed, X, column_means)
        total = float(weights.sum())
        mean = (weights @ X) / total
        if mean_prior is None:
            mean_prior = mean
        if covariance_prior is None:
            centred = X - mean
            data_cov = (weights * centred.T) @ centred / (total - 1) if total > 1 else np.eye(D)
            covariance_prior = self._cov.project(data_cov / n_components ** (2.0 / D))
        return GaussianPrior(
            np.asarray(mean_prior, dtype=float),
            float(mean_strength),
            np.asarray(covariance_prior, dtype=float),
            float(covariance_strength),
        )


# -- limits of the arithmetic ----------------------------------------------------------
def magnitude_limit(dtype, n_features: int) -> float:
    """Largest |x| whose squared distances stay finite in ``dtype``: the difference of two
    such values, squared and summed over ``n_features``, is below the dtype's maximum."""
    return float(np.sqrt(np.finfo(dtype).max / max(n_features, 1)) / 2.0)


def check_magnitude(
    X: np.ndarray, name: str = "X", *, what: str = "Gaussian arithmetic", n_summed: float = 1
) -> None:
    """Raise a ValueError when a value of X (n, D), float32 or float64, is so large that
    squared distances overflow X's dtype: the Gaussian family squares differences of the
    values, and an overflow would surface later as a spurious "collapsed component".

    ``what`` names the computation in the message; ``n_summed`` is how many rows' squared
    distances a caller sums (k-means' inertia), which lowers the limit accordingly.
    """
    if X.size == 0 or X.dtype not in (np.float32, np.float64):
        return
    D = X.shape[1]
    limit = magnitude_limit(X.dtype, D * n_summed)
    magnitudes = np.abs(X)
    largest = float(magnitudes.max())
    if largest <= limit:
        return
    if np.isnan(largest):  # missing values (NaN): the largest observed one
        if np.isnan(magnitudes).all() or np.nanmax(magnitudes) <= limit:
            return
        magnitudes = np.where(np.isnan(magnitudes), 0.0, magnitudes)
        largest = float(magnitudes.max())
    row, col = np.unravel_index(int(np.argmax(magnitudes)), X.shape)
    summed = f" summed over up to {n_summed:.0e} rows" if n_summed > 1 else ""
    remedy = " or use dtype='float64'" if X.dtype == np.float32 else ""
    raise ValueError(
        f"{name} has values too large for {what} in {X.dtype}: the largest magnitude is "
        f"{largest:.3g} ({name}[{row}, {col}]), but squared distances{summed} overflow "
        f"{X.dtype} beyond {limit:.3g} with {D} features. Scale the data (e.g. "
        f"standardise every feature){remedy}."
    )


# Largest ulp of float32 data relative to a feature's spread: a value rounds by half an
# ulp, which moves a log-density by about that much over the spread, and float32 mode
# promises agreement with float64 to 1e-4.
_FLOAT32_RESOLUTION = 2e-4


def check_resolution(X: np.ndarray, dtype=None, name: str = "X") -> None:
    """Raise a ValueError when X (n, D), computed with in float32 (``dtype``, default X's
    own), lies so far from the origin, relative to its spread, that float32 cannot
    resolve it: data at 1e8 with unit spread round to multiples of 8, and a fit on them
    is silently wrong. Nothing to check in float64. X may be the float64 data before
    their cast (the only way to see a spread that the cast erases entirely)."""
    if np.dtype(X.dtype if dtype is None else dtype) != np.float32 or X.shape[0] < 2:
        return
    spread = X.std(axis=0, dtype=np.float64)
    largest = np.abs(X).max(axis=0).astype(np.float64)
    if np.isnan(spread).any():  # missing values (NaN): the observed ones'
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column without two values
            spread = np.nanstd(X, axis=0, dtype=np.float64)
            largest = np.nanmax(np.abs(X), axis=0).astype(np.float64)
    ulp = np.finfo(np.float32).eps * largest
    coarse = np.flatnonzero((spread > 0) & (ulp > _FLOAT32_RESOLUTION * spread))
    if coarse.size:
        j = int(coarse[0])
        raise ValueError(
            f"{name}'s feature {j} has values up to {largest[j]:.3g} in magnitude but a "
            f"spread (standard deviation) of only {spread[j]:.3g}: float32 rounds its "
            f"values to steps of about {ulp[j]:.3g}, too coarse for a faithful fit. "
            "Centre the data (subtract the mean of every feature) or use dtype='float64'."
        )


class MissingRowError(EntryError):
    """A row of X with no observed value (all NaN); ``index`` is (row,). An
    :class:`~emkit.families._counts.EntryError`, so that data checked block by block
    name the row in the whole data."""

    def _message(self) -> str:
        return (
            f"row {self.index[0]} of X is entirely missing (all NaN): {self.reason}; drop "
            "the rows without any observed value"
        )


def check_observed_rows(X: np.ndarray) -> None:
    """Raise a MissingRowError (a ValueError) naming the first row of X (n, D) whose
    entries are all NaN: missing values are marginalised, but a row with no observed
    value says nothing (its density would be 1 under every model)."""
    if not has_missing(X):
        return
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        row = int(np.argmax(empty))
        raise MissingRowError("a row needs at least one observed value", (row,), np.nan)


def check_representable(log_prob: np.ndarray) -> np.ndarray:
    """``log_prob`` (n, K) unchanged, or a ValueError naming the rows that are -inf under
    every component: their squared distances overflow float64, so neither their density
    nor their responsibilities can be computed (they would be NaN)."""
    bad = np.flatnonzero(np.isneginf(log_prob).all(axis=1)) if log_prob.shape[1] else []
    if len(bad):
        shown = ", ".join(str(int(i)) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise ValueError(
            f"X rows [{shown}] ({len(bad)} of {log_prob.shape[0]}) lie so far from every "
            "component that their squared Mahalanobis distances overflow float64, so their "
            "log-densities and responsibilities cannot be computed. Scale the data (e.g. "
            "standardise every feature) before fitting and predicting."
        )
    return log_prob


# What float32 mode promises: log-densities within 1e-4 (relative) of float64's.
_FLOAT32_AGREEMENT = 1e-4


def check_cast_fidelity(
    family: GaussianFamily, params: GaussianParams, log_weights, X: np.ndarray, name: str = "X"
) -> None:
    """Raise a ValueError when a model fitted in float32 does not describe the float64
    data X (n, D) it was fitted on, because the cast to float32 moved rows by more than
    the spread of the components that hold them can absorb.

    :func:`check_resolution` sees this before the fit when the data as a whole sit too
    far from the origin for their spread; a few far rows do not widen the data's spread
    enough to trip it, yet a component that collapses onto them (two values near 1e9,
    2 apart, both cast to 1e9) has a spread that float32 cannot resolve, and the fit's
    log-likelihood is then not that of X (-120 against -2.5e6). Only the fitted
    components say whose spread matters, so this runs after the fit: the mixture
    log-density of every row the cast changed, computed in float64 at the float64 row
    and at its float32 value, must agree within float32 mode's promise (1e-4 relative).

    family, params : the fitted Gaussian components
    log_weights : (K,) log mixture weights
    X : the data before the cast; nothing to check unless float64
    """
    if X.dtype != np.float64 or X.size == 0:
        return
    cast = X.astype(np.float32).astype(np.float64)
    moved = _moved_noticeably(family, params, X, cast)
    if not moved.size:
        return
    exact = _mixture_log_density(family, params, log_weights, X[moved])
    seen = _mixture_log_density(family, params, log_weights, cast[moved])
    with np.errstate(invalid="ignore"):  # -inf against -inf: both unrepresentable, agree
        gap = np.where(exact == seen, 0.0, np.abs(exact - seen))
    bad = np.flatnonzero(gap > _FLOAT32_AGREEMENT * np.maximum(1.0, np.abs(seen)))
    if not bad.size:
        return
    worst = bad[np.argmax(gap[bad])]
    rows = moved[bad]
    shown = ", ".join(str(int(i)) for i in rows[:5]) + (", ..." if rows.size > 5 else "")
    shift = float(np.abs(X[moved[worst]] - cast[moved[worst]]).max())
    raise ValueError(
        f"{name} cannot be fitted faithfully in float32: casting {name} to float32 moves "
        f"rows [{shown}] ({rows.size} of {X.shape[0]}) by up to {shift:.3g}, more than the "
        "spread of the fitted components that hold them, so the fit describes the cast "
        f"values, not {name} (row {int(moved[worst])}: log-density {seen[worst]:.6g} after "
        f"the cast, {exact[worst]:.6g} in {name} itself). Use dtype='float64', or centre "
        "and scale the data (remove or rescale far outliers)."
    )


def _moved_noticeably(family, params, X: np.ndarray, cast: np.ndarray) -> np.ndarray:
    """Indices of the rows of X (n, D) whose cast ``cast`` may change a component's
    log-density by more than float32 mode's promise; a cheap bound, O(n (D + K)).

    Moving x by δ changes log N(x | μ, Σ) by -(x - μ)ᵀ P δ - δᵀ P δ / 2 (P = Σ⁻¹), at
    most ‖P‖ ‖δ‖ (‖x‖ + ‖μ‖ + ‖δ‖ / 2) with ‖P‖ = 1 / λ_min(Σ); a mixture's log-density
    moves by no more than its components' largest change. A row under half the promise
    for every component (the exact test's tolerance is at least 1e-4) needs no exact
    comparison: nearly every row of data near the origin, whose cast error is tiny
    against the spread.
    """
    step = np.sqrt(np.square(X - cast).sum(axis=1))
    K = params.means.shape[0]
    eigenvalues = np.asarray(family._cov.eigenvalues(params.covariances))
    if family.covariance_type == "tied":
        smallest = np.full(K, eigenvalues.min())
    else:
        smallest = eigenvalues.min(axis=1) if eigenvalues.ndim == 2 else eigenvalues
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        precision_norm = 1.0 / smallest  # (K,)
        reach = np.sqrt(np.square(X).sum(axis=1))[:, None] + np.sqrt(
            np.square(params.means).sum(axis=1)
        )
        bound = (precision_norm * step[:, None] * (reach + 0.5 * step[:, None])).max(axis=1)
    # NaN (an infinite norm times a zero step) counts as noticeable: the exact test decides
    return np.flatnonzero((step > 0) & ~(bound <= 0.5 * _FLOAT32_AGREEMENT))


def _mixture_log_density(family, params, log_weights, X) -> np.ndarray:
    """log sum_k w_k N(x_i | μ_k, Σ_k) of float64 rows X (n, D), shape (n,); -inf where
    a squared distance overflows."""
    joint = family.log_prob_or_inf(params, X) + np.asarray(log_weights, dtype=np.float64)
    top = joint.max(axis=1)
    finite = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return finite + np.log(np.exp(joint - finite[:, None]).sum(axis=1))
