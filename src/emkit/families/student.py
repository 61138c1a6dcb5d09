r"""Multivariate Student-t family with full, tied, diagonal or spherical scale matrices.

A t component is a Gaussian scale mixture (Peel & McLachlan 2000, "Robust mixture
modelling using the t distribution", Statistics and Computing 10):

.. math::

    u \sim \mathrm{Gamma}(\nu/2, \text{rate } \nu/2), \qquad
    x \mid u \sim \mathcal{N}(\mu, \Sigma / u), \qquad
    p(x) = \frac{\Gamma(\frac{\nu + D}{2})}{\Gamma(\frac{\nu}{2}) (\nu\pi)^{D/2}
    |\Sigma|^{1/2}} \Big(1 + \frac{\delta}{\nu}\Big)^{-\frac{\nu + D}{2}},

with :math:`\delta = (x - \mu)^\top \Sigma^{-1} (x - \mu)`. The latent scale ``u`` is
the second hidden variable of EM: given x and the component, it is
:math:`\mathrm{Gamma}((\nu + D)/2, \text{rate } (\nu + \delta)/2)`, so

.. math::

    E[u] = \frac{\nu + D}{\nu + \delta}, \qquad
    E[\log u] = \psi\Big(\frac{\nu + D}{2}\Big) - \log\frac{\nu + \delta}{2}.

A far point gets a small ``E[u]``: it counts for little in the mean and the scatter,
which is what makes the t mixture robust to outliers.

**Statistics.** Gaussian moments weighted by the responsibility times ``E[u]``
(:class:`~emkit.families.gaussian.GaussianStats`, shifted by the E-step's means and
re-centred exactly when chunks are added), the responsibilities' sum
:math:`c_k = \sum_i \tau_{ik}` (the scatter's divisor), and, for the degrees of
freedom, :math:`\sum_i \tau_{ik} (E[\log u_{ik}] - E[u_{ik}] + 1)`: the sum
:math:`\sum_i \tau_{ik} (E[\log u_{ik}] - E[u_{ik}])` of the CM equation plus
:math:`c_k`, accumulated in this form (each term is small and computed without
cancellation) so that a large ν does not drown in rounding.

**M-step.** Means :math:`\sum \tau u x / \sum \tau u`, scale matrices
:math:`\sum \tau u (x - \mu)(x - \mu)^\top / c_k` (plus ``reg_covar``), and every
learned ν the root of the CM equation

.. math::

    \log\frac{\nu}{2} - \psi\Big(\frac{\nu}{2}\Big) + 1
    + \frac{1}{c_k} \sum_i \tau_{ik} \big(E[\log u_{ik}] - E[u_{ik}]\big) = 0,

found by ``scipy.optimize.brentq`` in log ν. This is the exact maximiser of the
complete-data Q over ν (the ECM update of Liu & Rubin 1995, Peel & McLachlan 2000);
Q separates into a (μ, Σ) part and a ν part, so the whole M-step maximises Q and EM's
guarantee holds: the observed log-likelihood never decreases. (ECME instead maximises
the observed log-likelihood over ν, which converges in fewer iterations but needs a
pass over the data inside the M-step; an M-step of statistics cannot make one.) The ν
part of Q is strictly concave (its second derivative is
:math:`\frac{c}{2}(1/\nu - \psi'(\nu/2)/2) < 0`), so the root clipped to the search
interval :data:`DOF_BOUNDS` (widened to hold the previous ν) is the maximum over that
interval and never lowers Q.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, gammaln

from emkit.containers import Statistics
from emkit.families._covariance import COVARIANCE_TYPES
from emkit.families._expanded import ExpandedBlock
from emkit.families.base import COUNT_FLOOR, Family
from emkit.families.gaussian import GaussianStats, check_magnitude, check_representable

__all__ = [
    "DEFAULT_DOF",
    "DOF_BOUNDS",
    "StudentBlock",
    "StudentFamily",
    "StudentParams",
    "StudentStats",
    "check_dof",
    "solve_dof",
]

_LOG_2PI = np.log(2.0 * np.pi)
_LOG_PI = np.log(np.pi)

#: Interval searched for a learned ν. Below 1e-2 a component is so heavy-tailed that it
#: has no scale to speak of; above 1e6 it is a Gaussian to within ~1e-6 per sample.
#: A previous ν outside the interval (a user's start) widens it, so that the update
#: never lowers Q.
DOF_BOUNDS = (1e-2, 1e6)

#: Starting ν when none is given: heavy enough tails that gross outliers get small
#: weights in the first E-step, light enough that the start is close to a Gaussian's.
DEFAULT_DOF = 10.0


def check_dof(dof, name: str = "dof", n_components: int | None = None) -> np.ndarray:
    """``dof`` as a float array of shape (K,), or a ValueError naming ``name``.

    Degrees of freedom must be finite and positive (ν ≤ 0 is no distribution; use a
    large ν, e.g. 1e6, for a nearly Gaussian component).
    """
    array = np.asarray(dof, dtype=float)
    if n_components is not None and array.ndim == 0:
        array = np.full(n_components, float(array))
    if array.ndim != 1 or (n_components is not None and array.shape != (n_components,)):
        expected = "n_components" if n_components is None else str(n_components)
        raise ValueError(f"{name} must be a float or have shape ({expected},), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} contains NaN or infinity; give finite positive degrees of freedom"
        )
    bad = np.flatnonzero(array <= 0)
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"{name} must be positive (degrees of freedom of a t distribution); "
            f"{name}[{k}] = {array[k]:.6g}. Give values > 0 (large values, e.g. 1e6, "
            "make a component nearly Gaussian)"
        )
    return array


@dataclass(frozen=True)
class StudentParams:
    """Component means, scale matrices and degrees of freedom.

    Any of the first three may be None in a *partial* container (user-given values).

    Attributes
    ----------
    means : ndarray of shape (K, D)
    covariances : scale matrices Σ_k (not the t covariance ν Σ / (ν - 2)): (K, D, D)
        full, (D, D) tied, (K, D) diag, (K,) spherical
    dof : ndarray of shape (K,)   ν_k > 0
    precisions_cholesky : same shape as ``covariances`` (scikit-learn's convention)
    """

    means: np.ndarray | None
    covariances: np.ndarray | None
    dof: np.ndarray | None
    precisions_cholesky: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class StudentStats(Statistics):
    """Expected sufficient statistics of t components (see the module docstring).

    Attributes
    ----------
    scatter : GaussianStats of the data weighted by r_ik E[u_ik]: its ``sum_w`` is
        sum_i r_ik E[u_ik], its moments are shifted by the E-step's means
    sum_resp : (K,)   c_k = sum_i r_ik
    sum_scale_gap : (K,)   sum_i r_ik (E[log u_ik] - E[u_ik] + 1), <= 0
    reference_dof : (K,) the E-step's ν (None at initialisation, where u = 1), not summed
    """

    scatter: GaussianStats
    sum_resp: np.ndarray
    sum_scale_gap: np.ndarray
    reference_dof: np.ndarray | None = None

    reference_fields = ("reference_dof",)

    def __add__(self, other):
        if isinstance(other, StudentStats):
            # the zero element keeps the other operand's references (as GaussianStats does)
            if not np.any(other.sum_resp):
                return self
            if not np.any(self.sum_resp):
                return other
        return super().__add__(other)

    __radd__ = __add__


@dataclass(frozen=True, eq=False)
class StudentBlock:
    """A block of rows with what ``log_prob`` and ``statistics`` share under one set of
    parameters: the Gaussian family's prepared block (``inner``: the rows, or their
    quadratic features), the squared Mahalanobis distances δ (n, K) and
    log(1 + δ / ν) (n, K), the one transcendental function per entry of the E-step."""

    X: np.ndarray
    inner: object
    mahalanobis: np.ndarray
    log1p_ratio: np.ndarray
    params: StudentParams


class StudentFamily(Family):
    """Multivariate t components t_ν(μ_k, Σ_k) (see the module docstring).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
        Structure of the scale matrices Σ_k.
    reg_covar : float
        Added to the diagonal of every scale matrix after the M-step (as the Gaussian
        family does), so that they stay positive definite.
    dof_init : float
        ν of every component after the data-driven start, unless given otherwise.
    """

    param_names = ("means", "covariances", "dof")

    def __init__(
        self, covariance_type: str = "full", reg_covar: float = 1e-6, dof_init: float = DEFAULT_DOF
    ):
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, "
                f"got {covariance_type!r}"
            )
        self.covariance_type = covariance_type
        self.reg_covar = float(reg_covar)
        self.dof_init = float(check_dof([dof_init], "dof_init")[0])
        self._cov = COVARIANCE_TYPES[covariance_type]

    # -- parameters ---------------------------------------------------------------
    def make_params(self, means, covariances, dof, counts=None) -> StudentParams:
        """Validated parameters with their precision Cholesky factors.

        Raises ComponentCollapseError (naming the component) when a scale matrix is not
        positive definite, a ValueError when a ν is not positive; ``counts`` (K,) only
        improves the first message.
        """
        K = None if means is None else np.shape(means)[0]
        dof = check_dof(dof, "dof", K)
        prec_chol = self._cov.precision_cholesky(covariances, counts)
        return StudentParams(means, covariances, dof, prec_chol)

    def check_data(self, X):
        """X (n, D) unchanged, or a ValueError when its values are too large for squared
        distances in its dtype (see :func:`emkit.families.gaussian.check_magnitude`)."""
        check_magnitude(X, what="Student-t arithmetic")
        return X

    # -- E-step -------------------------------------------------------------------
    def prepare(self, params: StudentParams, X: np.ndarray) -> StudentBlock:
        """The block's squared distances under ``params`` (and the Gaussian family's
        prepared form of X), shared by :meth:`log_prob` and :meth:`statistics`."""
        inner = self._cov.prepare(X, params.means)
        maha = self._mahalanobis(params, inner, X)
        return StudentBlock(X, inner, maha, _log1p_ratio(maha, params.dof), params)

    def _mahalanobis(self, params: StudentParams, inner, points: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances (n, K), +inf where they overflow float64."""
        with np.errstate(over="ignore", invalid="ignore"):  # far points: handled below
            maha = self._cov.mahalanobis(inner, params.means, params.precisions_cholesky)
        if np.isfinite(maha).all():
            return maha
        bad = np.flatnonzero(~np.isfinite(maha).all(axis=1))
        # the expanded form's products can overflow (inf - inf) where the direct form in
        # float64 is still finite (as in the Gaussian family)
        rows = points[bad].astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            exact = self._cov.mahalanobis(rows, params.means, params.precisions_cholesky)
        maha = maha.astype(np.float64)
        maha[bad] = np.where(np.isnan(exact), np.inf, exact)
        return maha

    def _distances(self, params: StudentParams, X):
        """(δ, log(1 + δ / ν)) of X (rows or a block) under ``params``, each (n, K)."""
        if isinstance(X, StudentBlock) and X.params is params:
            return X.mahalanobis, X.log1p_ratio
        points = X.X if isinstance(X, (StudentBlock, ExpandedBlock)) else X
        maha = self._mahalanobis(params, points, points)
        return maha, _log1p_ratio(maha, params.dof)

    def log_prob(self, params: StudentParams, X) -> np.ndarray:
        """log t_ν(x_i | μ_k, Σ_k), shape (n, K); X is (n, D) or ``prepare``'s block.

        Raises a ValueError naming the rows whose squared distances overflow under
        every component.
        """
        _, log1p_ratio = self._distances(params, X)
        D = params.means.shape[1]
        nu = params.dof
        log_det = self._cov.log_det(params.precisions_cholesky, D)
        const = gammaln(0.5 * (nu + D)) - gammaln(0.5 * nu) - 0.5 * D * (np.log(nu) + _LOG_PI)
        return check_representable((const + log_det) - (0.5 * (nu + D)) * log1p_ratio)

    def latent_scale(self, params: StudentParams, X):
        """(E[u | x_i, k], E[log u | x_i, k] - E[u | x_i, k] + 1), each of shape (n, K).

        X is (n, D) or ``prepare``'s block. With a = (ν + D)/2 and r = E[u] =
        (ν + D)/(ν + δ), the second is [ψ(a) - log a] + [log r - (r - 1)]: r - 1 =
        (D - δ)/(ν + δ) is computed as such, and log r = log(1 + D/ν) - log(1 + δ/ν)
        reuses the log-density's logarithm, so each term is accurate to rounding in
        absolute terms. A row at infinite distance has E[u] = 0 and E[log u] = -inf.
        """
        maha, log1p_ratio = self._distances(params, X)
        D = params.means.shape[1]
        nu = params.dof
        a = 0.5 * (nu + D)
        with np.errstate(invalid="ignore"):  # inf / inf at infinite distance: below
            denominator = nu + maha
            expected_u = (nu + D) / denominator
            excess = (D - maha) / denominator  # E[u] - 1
            gap = (digamma(a) - np.log(a) + np.log1p(D / nu)) - log1p_ratio - excess
        if not np.isfinite(maha).all():
            gap = np.where(np.isfinite(maha), gap, -np.inf)
        return expected_u, gap

    def statistics(self, X, resp, reference: StudentParams | None) -> StudentStats:
        """u-weighted moments of X and the ν statistics under ``resp`` (n, K).

        X is (n, D) or ``prepare``'s block. Without a reference (initialisation) every
        E[u] is 1 (the Gaussian statistics) and the shift is the weighted mean.
        """
        points = X.X if isinstance(X, StudentBlock) else X
        inner = X.inner if isinstance(X, StudentBlock) else X
        resp = np.asarray(resp, dtype=np.float64)
        sum_resp = _column_sums(resp)
        if reference is None:
            weights = resp
            gap = np.zeros_like(sum_resp)
            sum_w = sum_resp
            shift = (resp.T @ points).astype(np.float64) / np.maximum(sum_w, COUNT_FLOOR)[:, None]
            prec_chol, dof = None, None
        else:
            expected_u, scale_gap = self.latent_scale(reference, X)
            weights = resp * expected_u
            if np.isfinite(scale_gap).all():
                gap = np.einsum("ik,ik->k", resp, scale_gap)
            else:
                with np.errstate(invalid="ignore"):  # 0 * -inf: a row the component never holds
                    gap = np.where(resp > 0, resp * scale_gap, 0.0).sum(axis=0)
            sum_w = _column_sums(weights)
            shift, prec_chol, dof = reference.means, reference.precisions_cholesky, reference.dof
        shift = np.asarray(shift, dtype=np.float64)
        sum_dx, sum_dxx = self._cov.scatter(inner, weights, shift, prec_chol)
        scatter = GaussianStats(sum_w, sum_dx, sum_dxx, shift, self.covariance_type, prec_chol)
        return StudentStats(scatter, sum_resp, gap, dof)

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: StudentStats, *, learn=frozenset(param_names), fixed=None):
        scatter = stats.scatter
        K, D = scatter.sum_dx.shape
        if "means" in learn:
            means = scatter.shift + scatter.sum_dx / (scatter.sum_w + COUNT_FLOOR)[:, None]
        else:
            means = fixed.means
        counts = stats.sum_resp + COUNT_FLOOR
        if "covariances" in learn:
            moments = scatter.recentred(means).sum_dxx
            covariances = self._cov.divide(moments, self._cov.component_counts(counts, 0.0, D))
            covariances = self._cov.add_to_diagonal(covariances, self.reg_covar)
        else:
            covariances = fixed.covariances
        if "dof" not in learn:
            dof = fixed.dof
        elif stats.reference_dof is None:  # the data-driven start: no E[u] yet
            dof = np.full(K, self.dof_init)
        else:
            dof = np.array(
                [
                    solve_dof(stats.sum_scale_gap[k], stats.sum_resp[k], stats.reference_dof[k])
                    for k in range(K)
                ]
            )
        return self.make_params(means, covariances, dof, counts)

    def m_step_slack(self, params: StudentParams, stats: StudentStats, learn) -> float:
        """How far Q at ``params`` may lie below its maximum because ``reg_covar`` was
        added to the scale matrices: the Gaussian family's bound (see
        :meth:`emkit.families.GaussianFamily.m_step_slack`) with the responsibilities'
        sums as the counts, capped by the fall of Q from the E-step's parameters."""
        if self.reg_covar == 0.0 or "covariances" not in learn:
            return 0.0
        D = stats.scatter.sum_dx.shape[1]
        counts = self._cov.component_counts(stats.sum_resp + COUNT_FLOOR, 0.0, D)
        ratio = np.clip(self.reg_covar / self._cov.eigenvalues(params.covariances), 0.0, 1.0)
        with np.errstate(divide="ignore"):
            shortfall = -np.log1p(-ratio) - ratio
        per_count = shortfall.reshape(*np.shape(counts), -1).sum(axis=-1)
        slack = float(0.5 * np.sum(counts * per_count))
        scatter = stats.scatter
        if scatter.reference_precisions_cholesky is None or stats.reference_dof is None:
            return slack
        before = StudentParams(
            scatter.shift, None, stats.reference_dof, scatter.reference_precisions_cholesky
        )
        drop = self.expected_log_prob(before, stats) - self.expected_log_prob(params, stats)
        return min(slack, max(drop, 0.0))

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: StudentParams, stats: StudentStats) -> float:
        """sum_ik r_ik E_u[log N(x_i | μ_k, Σ_k / u) + log Gamma(u | ν_k/2, ν_k/2)]: the
        complete-data Q of the components (u under the E-step's posterior), from the
        statistics."""
        scatter = stats.scatter
        D = scatter.sum_dx.shape[1]
        c = stats.sum_resp
        sum_u = scatter.sum_w
        sum_log_u = stats.sum_scale_gap + sum_u - c
        moments = scatter.recentred(params.means).sum_dxx
        log_det = self._cov.log_det(params.precisions_cholesky, D)
        quad = self._cov.trace_with_precision(params.precisions_cholesky, moments)
        half = 0.5 * params.dof
        gaussian = c * (log_det - 0.5 * D * _LOG_2PI) + 0.5 * D * sum_log_u
        gamma = c * (half * np.log(half) - gammaln(half)) + (half - 1.0) * sum_log_u - half * sum_u
        return float(np.sum(gaussian + gamma) - 0.5 * np.sum(quad))

    def log_prior(self, params: StudentParams) -> float:
        return 0.0

    # -- unconstrained parametrisation (for acceleration) --------------------------
    def pack(self, params: StudentParams) -> np.ndarray:
        """Means, log-Cholesky (or log-variance) scale matrices and log ν, 1-D."""
        return np.concatenate(
            [
                params.means.ravel(),
                self._cov.to_unconstrained(params.covariances),
                np.log(params.dof),
            ]
        )

    def unpack(self, vector: np.ndarray, like: StudentParams) -> StudentParams:
        """Inverse of :meth:`pack`; ``like`` gives the shapes."""
        K, D = like.means.shape
        means = vector[: K * D].reshape(K, D)
        with np.errstate(over="ignore"):
            dof = np.exp(vector[-K:])
        covariances = self._cov.from_unconstrained(vector[K * D : -K], K, D)
        return self.make_params(means, covariances, dof)

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        """Means, scale matrices and one ν per component."""
        return (
            n_components * n_features
            + self._cov.n_parameters(n_components, n_features)
            + n_components
        )

    def component_covariance(self, params: StudentParams, k: int) -> np.ndarray:
        """Full (D, D) scale matrix of component k, whatever the type."""
        D = params.means.shape[1]
        return self._cov.component_covariance(params.covariances, k, D)

    def precisions(self, params: StudentParams) -> np.ndarray:
        return self._cov.precisions(params.precisions_cholesky)

    def sample(self, params: StudentParams, counts, rng) -> np.ndarray:
        """x = μ + z / sqrt(u), z ~ N(0, Σ_k), u ~ Gamma(ν_k/2, rate ν_k/2)."""
        D = params.means.shape[1]
        blocks = []
        for k, n in enumerate(counts):
            n = int(n)
            z = self._cov.sample(rng, np.zeros(D), params.covariances, k, n)
            u = rng.gamma(0.5 * params.dof[k], 2.0 / params.dof[k], size=n)
            blocks.append(params.means[k] + z / np.sqrt(u)[:, None])
        return np.vstack(blocks) if blocks else np.empty((0, D))


def _log1p_ratio(maha: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """log(1 + δ / ν), (n, K): +inf where δ is."""
    return np.log1p(maha / dof)


def _column_sums(values: np.ndarray) -> np.ndarray:
    """Sums over the rows of (n, K), as one matrix-vector product (a strided reduction
    over axis 0 costs several times as much for few columns)."""
    return np.ones(values.shape[0]) @ values


def _log_minus_digamma(half_dof):
    """log(x) - ψ(x) for x = ν/2 > 0: positive, decreasing from +inf to 0 (~ 1/(2x))."""
    return np.log(half_dof) - digamma(half_dof)


def solve_dof(sum_scale_gap: float, sum_resp: float, reference: float) -> float:
    """The ν maximising the ν part of Q for one component (the CM equation's root).

    Parameters
    ----------
    sum_scale_gap : float
        sum_i r_i (E[log u_i] - E[u_i] + 1) (<= 0).
    sum_resp : float
        sum_i r_i.
    reference : float
        The E-step's ν: kept for a component without mass (Q does not depend on its ν),
        and inside the search interval (so that the result never lowers Q).

    Returns
    -------
    dof : float
        The root of log(ν/2) - ψ(ν/2) = -sum_scale_gap / sum_resp in the interval
        :data:`DOF_BOUNDS` widened to hold ``reference``, or the nearer end of it
        (the maximum over the interval, Q being concave in ν).
    """
    if not sum_resp > 0:
        return float(reference)
    target = max(-float(sum_scale_gap), 0.0) / (sum_resp + COUNT_FLOOR)
    low = min(DOF_BOUNDS[0], reference)
    high = max(DOF_BOUNDS[1], reference)
    if target >= _log_minus_digamma(0.5 * low):
        return float(low)
    if target <= _log_minus_digamma(0.5 * high):
        return float(high)
    root = brentq(
        lambda log_dof: _log_minus_digamma(0.5 * np.exp(log_dof)) - target,
        np.log(low),
        np.log(high),
        xtol=1e-12,
        rtol=4 * np.finfo(float).eps,
        maxiter=200,
    )
    return float(np.exp(root))
