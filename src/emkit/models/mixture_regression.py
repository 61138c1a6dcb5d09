r"""Mixture of linear regressions, with constant or covariate-dependent mixing weights.

.. math::

    p(y \mid x, \theta) = \sum_{k=1}^{K} \pi_k(z) \,
        \mathcal{N}\!\left(y \mid b_k + x^\top \beta_k, \sigma_k^2\right),
    \qquad
    \pi_k(z) = \frac{\exp(c_k + z^\top \gamma_k)}{\sum_l \exp(c_l + z^\top \gamma_l)}

with ``z`` a subset of the columns of ``x`` (flexmix's *concomitant* variables) and
:math:`c_1 = 0, \gamma_1 = 0` (the first component is the reference), or constant
weights :math:`\pi_k`.

**Statistics.** Per component the E-step returns the responsibility-weighted moments
of :math:`(x, y)` *about a shift* (the component's weighted means in that chunk), so
that merging chunks re-centres them exactly (Chan, Golub & LeVeque's pairwise update)
instead of subtracting large raw sums: ``sum_w`` :math:`\sum_i r_{ik}`, ``sum_dx``,
``sum_dy``, ``sum_dxx`` :math:`\sum_i r_{ik} (x_i - s_k)(x_i - s_k)^\top`, ``sum_dxy``
and ``sum_dyy``. The M-step is weighted least squares on the centred moments (a
minimum-norm solve on the equilibrated Gram matrix, so a rank-deficient design — a
constant or duplicated column — still gives an exact maximiser of Q) and
:math:`\sigma_k^2 = \mathrm{RSS}_k / N_k` plus the floor ``reg_covar``.

**Gating (generalised EM).** The gating part of Q,
:math:`Q_g(\gamma) = \sum_i \sum_k r_{ik} \log \pi_k(z_i; \gamma)`, has no closed-form
maximiser and needs every sample's :math:`z_i` and :math:`r_{ik}`. What one step
from the E-step's gating parameters :math:`\gamma_0` needs is fixed-size, though: the
gradient :math:`g` and negative Hessian :math:`A` of :math:`Q_g` at :math:`\gamma_0`,
:math:`\sum_i w_i \tilde z_i \tilde z_i^\top` (:math:`\tilde z = (1, z)`) and the
bounding box of the :math:`z_i` (merged by min/max), so the E-step returns them. Two
lower bounds on :math:`Q_g(\gamma_0 + \delta)` then certify a step:

- Böhning's (1992): :math:`A(\gamma) \preceq B = \tfrac12 (I_{K-1} - \mathbf 1
  \mathbf 1^\top / K) \otimes \sum_i w_i \tilde z_i \tilde z_i^\top` for every
  :math:`\gamma`, so :math:`Q_g(\gamma_0 + \delta) \ge Q_g(\gamma_0) + g^\top \delta
  - \tfrac12 \delta^\top B \delta`, maximised by :math:`\delta = B^{-1} g`.
- Self-concordance of the log-sum-exp (Bach 2010): along :math:`\delta` the curvature
  grows at most like :math:`e^{S t}`, with :math:`S` the largest spread
  :math:`\max_{k,l} |(\delta_k - \delta_l)^\top \tilde z|` over the box, so
  :math:`Q_g(\gamma_0 + t\delta) \ge Q_g(\gamma_0) + t g^\top \delta - t^2
  \delta^\top A \delta \, \varphi(tS)`, :math:`\varphi(s) = (e^s - 1 - s)/s^2`. On the
  Newton direction :math:`\delta = A^{-1} g` the M-step picks the damping
  :math:`t \in (0, 1]` that maximises this bound (near the optimum :math:`t = 1`:
  the full Newton step).

The M-step takes whichever step has the larger certified gain (both are
:math:`\ge 0`), so :math:`Q_g` never decreases while the regression part of Q is
maximised exactly: one GEM iteration per EM iteration, and the log-likelihood never
decreases (the engine checks it). At a fixed point :math:`g = 0`: the fixed points are
those of exact EM. For online EM (``partial_fit``) statistics of different gating
parameters are averaged, which is a stochastic approximation without that guarantee.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emkit._kernels import mixture_regression as kernels
from emkit.containers import Statistics, replace
from emkit.families._init import initial_responsibilities
from emkit.families.base import COUNT_FLOOR, floor_scale
from emkit.models.mixture import EmptyComponentWarning, check_possible_rows

__all__ = [
    "GatingStats",
    "MixtureRegression",
    "MixtureRegressionChunk",
    "MixtureRegressionParams",
    "MixtureRegressionStats",
    "RegressionMoments",
    "boehning_bound",
]

#: eigenvalues of an equilibrated Gram matrix below this fraction of the largest are
#: treated as zero (directions the data do not determine)
_RCOND = 1e-12
_LOG_2PI = float(np.log(2.0 * np.pi))
#: initialisations: the mixtures' (on the standardised joint data (x, y)) and a random
#: partition of the rows (flexmix's default start)
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "random_partition")
LEARNABLE = ("coef", "intercept", "noise_variance", "weights", "gating_coef", "gating_intercept")


@dataclass(frozen=True)
class MixtureRegressionParams:
    """Parameters of a K-component mixture of linear regressions.

    coef : (K, p) slopes; intercept : (K,); noise_variance : (K,) σ_k².
    weights : (K,) constant mixing weights, or None with gating.
    gating_coef : (K, q), gating_intercept : (K,): the multinomial-logit gating (row 0
        is the reference, zero), or None with constant weights.
    Any field may be None in a *partial* container of user-given initial values.
    """

    coef: np.ndarray | None
    intercept: np.ndarray | None
    noise_variance: np.ndarray | None
    weights: np.ndarray | None = None
    gating_coef: np.ndarray | None = None
    gating_intercept: np.ndarray | None = None


@dataclass(frozen=True)
class MixtureRegressionChunk:
    """One chunk: X (n, p), y (n,), optional sample weights (n,), index of its first row."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None = field(default=None)
    first_row: int = 0

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def row_weights(self) -> np.ndarray | None:
        return self.sample_weight


@dataclass(frozen=True, eq=False)
class RegressionMoments(Statistics):
    """Responsibility-weighted moments of (x, y) per component, about a shift.

    sum_w : (K,) Σ_i r_ik;  sum_dx : (K, p) Σ r (x - sx_k);  sum_dy : (K,) Σ r (y - sy_k)
    sum_dxx : (K, p, p);  sum_dxy : (K, p);  sum_dyy : (K,)  (products of the deviations)
    shift_x : (K, p), shift_y : (K,) the reference point, not summed.
    """

    sum_w: np.ndarray
    sum_dx: np.ndarray
    sum_dy: np.ndarray
    sum_dxx: np.ndarray
    sum_dxy: np.ndarray
    sum_dyy: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray

    reference_fields = ("shift_x", "shift_y")

    def recentred(self, shift_x: np.ndarray, shift_y: np.ndarray) -> RegressionMoments:
        """The same moments about another shift (exact)."""
        if np.array_equal(shift_x, self.shift_x) and np.array_equal(shift_y, self.shift_y):
            return self
        ex = self.shift_x - shift_x  # (K, p)
        ey = self.shift_y - shift_y  # (K,)
        n = self.sum_w
        sum_dxx = (
            self.sum_dxx
            + self.sum_dx[:, :, None] * ex[:, None, :]
            + ex[:, :, None] * self.sum_dx[:, None, :]
            + n[:, None, None] * ex[:, :, None] * ex[:, None, :]
        )
        sum_dxy = (
            self.sum_dxy
            + self.sum_dx * ey[:, None]
            + ex * self.sum_dy[:, None]
            + (n * ey)[:, None] * ex
        )
        sum_dyy = self.sum_dyy + 2.0 * self.sum_dy * ey + n * ey**2
        return RegressionMoments(
            n,
            self.sum_dx + n[:, None] * ex,
            self.sum_dy + n * ey,
            sum_dxx,
            sum_dxy,
            sum_dyy,
            shift_x,
            shift_y,
        )

    def centred(self) -> RegressionMoments:
        """The moments about every component's weighted means (sum_dx = sum_dy = 0)."""
        counts = np.maximum(self.sum_w, COUNT_FLOOR)
        return self.recentred(
            self.shift_x + self.sum_dx / counts[:, None], self.shift_y + self.sum_dy / counts
        )

    def __add__(self, other):
        if isinstance(other, RegressionMoments):
            # the zero element (no mass) adds nothing and keeps the other's shift
            if not np.any(other.sum_w):
                return self
            if not np.any(self.sum_w):
                return other
            other = other.recentred(self.shift_x, self.shift_y)
        return super().__add__(other)

    __radd__ = __add__


@dataclass(frozen=True, eq=False)
class GatingStats(Statistics):
    """Sums over samples for one Newton/minoriser step of the gating from ``reference``.

    gradient : (K-1, q+1) ∂Q_g/∂(c_k, γ_k) for k = 1..K-1 at the reference
    hessian : ((K-1)(q+1), (K-1)(q+1)) the negative Hessian A of Q_g there
    sum_zz : (q+1, q+1) Σ_i w_i z̃_i z̃_iᵀ (z̃ = (1, z))
    z_min, z_max : (q,) the bounding box of the rows' z, merged by min and max (a bound
        on how far a step moves the logits; not scaled by ``*``)
    value : float, Q_g at the reference
    reference : (K, q+1) the E-step's gating parameters (intercept first), not summed
    """

    gradient: np.ndarray
    hessian: np.ndarray
    sum_zz: np.ndarray
    value: float
    z_min: np.ndarray
    z_max: np.ndarray
    reference: np.ndarray

    reference_fields = ("z_min", "z_max", "reference")

    def __add__(self, other):
        if other == 0:
            return self
        if not isinstance(other, GatingStats):
            return NotImplemented
        summed = super().__add__(other)
        return replace(
            summed,
            z_min=np.minimum(self.z_min, other.z_min),
            z_max=np.maximum(self.z_max, other.z_max),
        )

    __radd__ = __add__


@dataclass(frozen=True, eq=False)
class MixtureRegressionStats(Statistics):
    """moments : RegressionMoments; gating : GatingStats or None (constant weights);
    reference : the E-step's parameters (None at initialisation), not summed: with the
    moments they give Q there, which bounds what ``reg_covar`` can cost."""

    moments: RegressionMoments
    gating: GatingStats | None = None
    reference: MixtureRegressionParams | None = None

    reference_fields = ("reference",)

    def __add__(self, other):
        if other == 0:
            return self
        if not isinstance(other, MixtureRegressionStats):
            return NotImplemented
        gating = None if self.gating is None else self.gating + other.gating
        return MixtureRegressionStats(self.moments + other.moments, gating, self.reference)

    __radd__ = __add__

    def __mul__(self, factor):
        if isinstance(factor, np.ndarray) and factor.ndim == 0:
            factor = factor.item()
        gating = None if self.gating is None else self.gating * factor
        return MixtureRegressionStats(self.moments * factor, gating, self.reference)

    __rmul__ = __mul__


def boehning_bound(n_components: int, sum_zz: np.ndarray) -> np.ndarray:
    """B = ½ (I − 11ᵀ/K) ⊗ Σ w z̃ z̃ᵀ, shape ((K-1)(q+1),)*2: bounds the negative Hessian
    of the multinomial-logit log-likelihood (reference class 0) at every parameter."""
    K = n_components
    core = 0.5 * (np.eye(K - 1) - np.full((K - 1, K - 1), 1.0 / K))
    return np.kron(core, sum_zz)


def _psd_solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of ``matrix @ x = rhs`` for symmetric PSD matrices, after
    equilibrating each by its diagonal (directions with eigenvalue below _RCOND of the
    largest are dropped): exact for a Gram matrix of any rank.

    matrix : (..., d, d), rhs : (..., d); returns (..., d) (a stack is solved at once).
    """
    diag = np.sqrt(np.clip(np.diagonal(matrix, axis1=-2, axis2=-1), 0.0, None))
    scale = np.where(diag > 0, diag, 1.0)
    scaled = matrix / scale[..., :, None] / scale[..., None, :]
    values, vectors = np.linalg.eigh(scaled)
    top = values.max(axis=-1, keepdims=True, initial=0.0)
    keep = (values > _RCOND * top) & (top > 0)
    inverse = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)
    projected = np.einsum("...ji,...j->...i", vectors, rhs / scale)
    return np.einsum("...ij,...j->...i", vectors, inverse * projected) / scale


def _logit_spread(step: np.ndarray, z_min, z_max, n_components: int) -> float:
    """S = max over the box [z_min, z_max] and pairs k, l of |(δ_k − δ_l)ᵀ z̃|, with
    δ_0 = 0: the most that the step changes a difference of two rows' logits."""
    d = z_min.size + 1
    delta = np.vstack([np.zeros(d), step.reshape(n_components - 1, d)])
    spread = 0.0
    for k in range(n_components):
        for l in range(k + 1, n_components):
            u = delta[k] - delta[l]
            slopes = u[1:]
            high = u[0] + np.sum(np.maximum(slopes * z_min, slopes * z_max))
            low = u[0] + np.sum(np.minimum(slopes * z_min, slopes * z_max))
            spread = max(spread, abs(high), abs(low))
    return float(spread)


def _phi(s: np.ndarray) -> np.ndarray:
    """(e^s − 1 − s) / s², its series near 0 (where the formula cancels)."""
    s = np.asarray(s, dtype=float)
    small = s < 1e-3
    safe = np.where(small, 1.0, np.minimum(s, 700.0))
    exact = (np.expm1(safe) - safe) / safe**2
    return np.where(small, 0.5 + s / 6.0 + s**2 / 24.0, exact)


def _damping(slope: float, curvature: float, spread: float) -> tuple[float, float]:
    """(t, certified gain) maximising t·slope − t²·curvature·φ(t·spread) over t in (0, 1]
    on a geometric grid refined once (the bound is smooth and unimodal in practice; any
    t with a positive value is a certified ascent step)."""
    grid = np.geomspace(1e-8, 1.0, 161)
    values = grid * slope - grid**2 * curvature * _phi(grid * spread)
    best = int(np.argmax(values))
    fine = np.linspace(grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)], 81)
    fine_values = fine * slope - fine**2 * curvature * _phi(fine * spread)
    i = int(np.argmax(fine_values))
    return float(fine[i]), float(fine_values[i])


def _log_softmax(eta: np.ndarray) -> np.ndarray:
    top = eta.max(axis=1, keepdims=True)
    return eta - top - np.log(np.exp(eta - top).sum(axis=1, keepdims=True))


class MixtureRegression:
    """EM model of a K-component mixture of linear regressions (see the module docstring).

    Parameters
    ----------
    n_components : int
    gating_columns : sequence of int or None
        Columns of X that are the gating covariates z (multinomial-logit gating); None
        for constant mixing weights. An empty sequence is a gating with intercepts
        only (the same model as constant weights, fitted by GEM).
    reg_covar : float
        Added to every noise variance after the M-step (a floor, as scikit-learn's
        ``reg_covar``): it keeps a component that fits its points exactly from a
        variance of 0 and an unbounded likelihood. Its cost to Q is declared to the
        engine (``m_step_slack``).
    init : str
        "random_partition" (every row to a uniformly drawn component, as flexmix),
        or a mixture initialisation ("kmeans", "k-means++", "random",
        "random_from_data") on the standardised joint data (x, y).
    learn : iterable of str, optional
        The parameters EM updates, among ``LEARNABLE``; "coef" and "intercept" go
        together, as do "gating_coef" and "gating_intercept". Default: all.
    initial : MixtureRegressionParams, optional
        Partial initial values; the values of the parameters not learned.
    block_rows : int
        Rows per block in the E-step.
    """

    def __init__(
        self,
        n_components: int,
        *,
        gating_columns=None,
        reg_covar: float = 1e-6,
        init: str = "random_partition",
        learn=None,
        initial: MixtureRegressionParams | None = None,
        block_rows: int = 8192,
    ):
        if init not in INIT_METHODS:
            raise ValueError(f"init must be one of {INIT_METHODS}, got {init!r}")
        self.n_components = int(n_components)
        self.gating_columns = (
            None if gating_columns is None else tuple(int(c) for c in gating_columns)
        )
        self.reg_covar = float(reg_covar)
        self.init = init
        names = self.param_names
        learn = frozenset(names if learn is None else learn)
        unknown = learn - set(names)
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {sorted(unknown)}; choose from {names}"
            )
        for pair in (("coef", "intercept"), ("gating_coef", "gating_intercept")):
            if pair[0] in names and (pair[0] in learn) != (pair[1] in learn):
                raise ValueError(f"learn must contain both {pair[0]!r} and {pair[1]!r} or neither")
        for name in set(names) - learn:
            if initial is None or getattr(initial, name) is None:
                raise ValueError(
                    f"{name!r} is not learned, so its value must be given in `initial`"
                )
        self.learn = learn
        self.initial = initial
        self.block_rows = int(block_rows)

    @property
    def gated(self) -> bool:
        return self.gating_columns is not None

    @property
    def param_names(self) -> tuple[str, ...]:
        gating = ("gating_coef", "gating_intercept") if self.gated else ("weights",)
        return ("coef", "intercept", "noise_variance", *gating)

    # -- pieces of the density --------------------------------------------------------
    def gating_design(self, X: np.ndarray) -> np.ndarray:
        """z̃ = (1, z) of every row, shape (n, q+1)."""
        Z = X[:, list(self.gating_columns)]
        return np.hstack([np.ones((X.shape[0], 1)), Z])

    def log_weights(self, params: MixtureRegressionParams, X: np.ndarray) -> np.ndarray:
        """log π_k(z_i), shape (n, K) (or (1, K) for constant weights)."""
        if not self.gated:
            with np.errstate(divide="ignore"):
                return np.log(params.weights)[None, :]
        gamma = np.column_stack([params.gating_intercept, params.gating_coef])
        return _log_softmax(self.gating_design(X) @ gamma.T)

    def means(self, params: MixtureRegressionParams, X: np.ndarray) -> np.ndarray:
        """b_k + x_iᵀβ_k, shape (n, K)."""
        return X @ params.coef.T + params.intercept

    def log_joint(self, params, X, y) -> np.ndarray:
        """log π_k(z_i) + log N(y_i | b_k + x_iᵀβ_k, σ_k²), shape (n, K)."""
        var = params.noise_variance
        resid = y[:, None] - self.means(params, X)
        log_normal = -0.5 * (_LOG_2PI + np.log(var) + resid**2 / var)
        return log_normal + self.log_weights(params, X)

    def posterior(self, params, X, y, log_pi=None):
        """(log p(y_i | x_i) of shape (n,), responsibilities of shape (n, K)); ``log_pi``:
        the rows' log mixing weights when already computed."""
        if log_pi is None:
            log_pi = self.log_weights(params, X)
        return kernels.posterior(X, y, params.coef, params.intercept, params.noise_variance, log_pi)

    def predict_mean(self, params, X) -> np.ndarray:
        """E[y | x] = Σ_k π_k(z) (b_k + xᵀβ_k), shape (n,)."""
        return (np.exp(self.log_weights(params, X)) * self.means(params, X)).sum(axis=1)

    # -- statistics -----------------------------------------------------------------
    def moments(self, X: np.ndarray, y: np.ndarray, resp: np.ndarray) -> RegressionMoments:
        """Moments of (x, y) weighted by ``resp`` (n, K), about each component's weighted
        means in these rows (a second pass, so the sums of deviations are ~0)."""
        return RegressionMoments(*kernels.moments(X, y, resp))

    def gating_statistics(self, params, X, resp, w, log_pi=None) -> GatingStats:
        """Gradient, negative Hessian and Σ w z̃z̃ᵀ of Q_g at ``params``' gating, from
        responsibilities ``resp`` (already multiplied by the row weights ``w``);
        ``log_pi``: the rows' log mixing weights when already computed."""
        if log_pi is None:
            log_pi = self.log_weights(params, X)
        weight = resp.sum(axis=1) if w is None else w
        Z = X[:, list(self.gating_columns)]
        sums = kernels.gating_sums(Z, resp, weight, log_pi)
        reference = np.column_stack([params.gating_intercept, params.gating_coef])
        return GatingStats(*sums, reference)

    # -- the protocol -----------------------------------------------------------------
    def init_params(self, chunks: Sequence[MixtureRegressionChunk], rng) -> MixtureRegressionParams:
        """Data-driven start (``init``) by one M-step, then ``initial`` on top."""
        X = np.concatenate([c.X for c in chunks])
        y = np.concatenate([c.y for c in chunks])
        weights = None
        if any(c.sample_weight is not None for c in chunks):
            weights = np.concatenate(
                [
                    c.sample_weight if c.sample_weight is not None else np.ones(len(c))
                    for c in chunks
                ]
            )
        K = self.n_components
        if self.init == "random_partition":
            resp = np.zeros((X.shape[0], K))
            resp[np.arange(X.shape[0]), rng.randint(K, size=X.shape[0])] = 1.0
        else:
            joint = np.column_stack([X, y])
            spread = joint.std(axis=0)
            joint = (joint - joint.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
            resp = initial_responsibilities(joint, K, self.init, rng, weights)
        if weights is not None:
            resp = resp * weights[:, None]
        return self.initial_from_responsibilities(X, y, resp)

    def initial_from_responsibilities(self, X, y, resp) -> MixtureRegressionParams:
        """One M-step from responsibilities (n, K) (rows already weighted), the gating
        starting at the intercepts log(N_k / N_0) with zero slopes; ``initial`` on top."""
        stats = MixtureRegressionStats(self.moments(X, y, resp))
        params = self._regression_m_step(stats.moments, None)
        counts = self._weights(stats.moments.sum_w)
        if self.gated:
            q = len(self.gating_columns)
            log_counts = np.log(counts)
            params = _replace(
                params,
                gating_coef=np.zeros((self.n_components, q)),
                gating_intercept=log_counts - log_counts[0],
            )
        else:
            params = _replace(params, weights=counts)
        return self.with_initial(params)

    def with_initial(self, params: MixtureRegressionParams) -> MixtureRegressionParams:
        """``params`` with the user's ``initial`` values substituted."""
        if self.initial is None:
            return params
        given = {
            name: np.asarray(getattr(self.initial, name), dtype=float)
            for name in self.param_names
            if getattr(self.initial, name) is not None
        }
        return _replace(params, **given)

    def e_step(self, params: MixtureRegressionParams, chunk: MixtureRegressionChunk):
        """(MixtureRegressionStats of ``chunk`` at ``params``, its summed log-likelihood)."""
        X, y, weight = chunk.X, chunk.y, chunk.sample_weight
        stats, loglik = None, 0.0
        for start in range(0, max(X.shape[0], 1), self.block_rows):
            stop = start + self.block_rows
            Xb, yb = X[start:stop], y[start:stop]
            w = None if weight is None else weight[start:stop]
            log_pi = self.log_weights(params, Xb)
            log_norm, resp = self.posterior(params, Xb, yb, log_pi)
            check_possible_rows(log_norm, first_row=chunk.first_row + start, row_weights=w)
            if w is not None:
                resp[np.isneginf(log_norm)] = 0.0
                resp *= w[:, None]
                loglik += float(w @ np.where(w > 0, log_norm, 0.0))
            else:
                loglik += float(log_norm.sum())
            gating = self.gating_statistics(params, Xb, resp, w, log_pi) if self.gated else None
            part = MixtureRegressionStats(self.moments(Xb, yb, resp), gating, params)
            stats = part if stats is None else stats + part
        return stats, loglik

    def m_step(self, stats: MixtureRegressionStats) -> MixtureRegressionParams:
        """Weighted least squares and noise variances per component; the weights from
        the counts, or one certified Newton/minoriser step of the gating."""
        moments = stats.moments
        counts = moments.sum_w
        for k in np.flatnonzero(counts < 1e-8 * counts.sum()):
            warnings.warn(
                f"mixture-regression component {k} received no posterior mass: its "
                "regression is no longer informed by the data. Lower n_components or "
                "choose other initial values.",
                EmptyComponentWarning,
                stacklevel=3,
            )
        fixed = self.initial
        params = self._regression_m_step(moments, stats.reference)
        if not self.gated:
            weights = self._weights(counts) if "weights" in self.learn else fixed.weights
            return _replace(params, weights=weights)
        if "gating_coef" in self.learn:
            gamma = self._gating_step(stats.gating)
            return _replace(params, gating_intercept=gamma[:, 0], gating_coef=gamma[:, 1:])
        return _replace(
            params, gating_intercept=fixed.gating_intercept, gating_coef=fixed.gating_coef
        )

    def _regression_m_step(self, moments: RegressionMoments, reference) -> MixtureRegressionParams:
        central = moments.centred()
        coef = _psd_solve(central.sum_dxx, central.sum_dxy)
        # the general form, right for the truncated solve of a rank-deficient design too
        rss = (
            central.sum_dyy
            - 2.0 * np.einsum("kp,kp->k", coef, central.sum_dxy)
            + np.einsum("kp,kpq,kq->k", coef, central.sum_dxx, coef)
        )
        intercept = central.shift_y - np.einsum("kp,kp->k", central.shift_x, coef)
        counts = central.sum_w / floor_scale(central.sum_w.sum()) + COUNT_FLOOR
        scaled_rss = np.clip(rss, 0.0, None) / floor_scale(central.sum_w.sum())
        noise = scaled_rss / counts + self.reg_covar
        fixed = self.initial
        if "coef" not in self.learn:
            coef, intercept = fixed.coef, fixed.intercept
        if "noise_variance" not in self.learn:
            noise = fixed.noise_variance
        return MixtureRegressionParams(
            np.asarray(coef, dtype=float),
            np.asarray(intercept, dtype=float),
            np.asarray(noise, dtype=float),
        )

    def _gating_step(self, gating: GatingStats) -> np.ndarray:
        """γ0 + δ: the damped Newton step or the Böhning step, whichever has the larger
        certified gain in Q_g (see the module docstring)."""
        K = self.n_components
        if K == 1:  # one component: its weight is 1 whatever the covariates
            return np.zeros_like(gating.reference)
        g = gating.gradient.ravel()
        boehning = _psd_solve(boehning_bound(K, gating.sum_zz), g)
        step, gain = boehning, 0.5 * float(g @ boehning)
        newton = _psd_solve(gating.hessian, g)
        curvature = float(newton @ gating.hessian @ newton)
        if curvature > 0:
            t, newton_gain = _damping(
                float(g @ newton), curvature, _logit_spread(newton, gating.z_min, gating.z_max, K)
            )
            if newton_gain > gain:
                step = t * newton
        gamma = gating.reference.copy()
        gamma[1:] += step.reshape(K - 1, -1)
        gamma[0] = 0.0
        return gamma

    def _weights(self, counts: np.ndarray) -> np.ndarray:
        pseudo = counts / floor_scale(counts.sum()) + COUNT_FLOOR
        return pseudo / pseudo.sum()

    def log_prior(self, params) -> float:
        return 0.0

    # -- objective pieces -------------------------------------------------------------
    def regression_q(self, params: MixtureRegressionParams, moments: RegressionMoments) -> float:
        """Σ_ik r_ik log N(y_i | b_k + x_iᵀβ_k, σ_k²), from the moments."""
        m = moments
        # residual y - b - xβ = dy - dx·β - c with c = b + sx·β - sy
        c = params.intercept + np.einsum("kp,kp->k", m.shift_x, params.coef) - m.shift_y
        beta = params.coef
        rss = (
            m.sum_dyy
            - 2.0 * np.einsum("kp,kp->k", beta, m.sum_dxy)
            + np.einsum("kp,kpq,kq->k", beta, m.sum_dxx, beta)
            - 2.0 * c * (m.sum_dy - np.einsum("kp,kp->k", beta, m.sum_dx))
            + m.sum_w * c**2
        )
        var = params.noise_variance
        return float(np.sum(-0.5 * (m.sum_w * (_LOG_2PI + np.log(var)) + rss / var)))

    @property
    def expected_log_joint(self):
        """Q(θ) from the statistics, for constant weights only: with gating, Q_g is known
        only at the E-step's own gating parameters, so the trace leaves Q out (the
        engine checks ``hasattr``)."""
        if self.gated:
            raise AttributeError("Q of a gated mixture of regressions is not available")
        return self._expected_log_joint

    def _expected_log_joint(self, params, stats) -> float:
        counts = stats.moments.sum_w
        with np.errstate(divide="ignore", invalid="ignore"):
            weight_term = np.where(counts > 0, counts * np.log(params.weights), 0.0)
        return float(weight_term.sum()) + self.regression_q(params, stats.moments)

    def m_step_slack(self, params, stats) -> float:
        """How far Q at ``params = m_step(stats)`` may lie below its maximum because
        ``reg_covar`` was added to the noise variances: the exact shortfall of the
        variance part, (N_k/2) g(ε/σ_k²) with g(t) = −log(1 − t) − t, capped by the drop
        of Q's regression part from the E-step's parameters (the rest of Q never falls)."""
        if self.reg_covar == 0.0 or "noise_variance" not in self.learn:
            return 0.0
        counts = stats.moments.sum_w + COUNT_FLOOR
        ratio = np.clip(self.reg_covar / params.noise_variance, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            shortfall = -np.log1p(-ratio) - ratio
        slack = float(0.5 * np.sum(counts * shortfall))
        # a slack this small excuses nothing beyond rounding: skip the two Q evaluations
        if stats.reference is None or slack <= 1e-9:
            return slack
        drop = self.regression_q(stats.reference, stats.moments) - self.regression_q(
            params, stats.moments
        )
        return min(slack, max(drop, 0.0))

    # -- unconstrained parametrisation (SQUAREM) ----------------------------------------
    def pack(self, params: MixtureRegressionParams) -> np.ndarray:
        parts = [params.coef.ravel(), params.intercept, np.log(params.noise_variance)]
        if self.gated:
            parts += [params.gating_intercept[1:], params.gating_coef[1:].ravel()]
        else:
            with np.errstate(divide="ignore"):
                parts.append(np.log(params.weights))
        return np.concatenate(parts)

    def unpack(self, vector: np.ndarray, like: MixtureRegressionParams) -> MixtureRegressionParams:
        K, p = like.coef.shape
        at = 0

        def take(size):
            nonlocal at
            out = vector[at : at + size]
            at += size
            return out

        coef = take(K * p).reshape(K, p)
        intercept = take(K).copy()
        noise = np.exp(take(K))
        values = {"coef": coef, "intercept": intercept, "noise_variance": noise}
        if self.gated:
            q = like.gating_coef.shape[1]
            values["gating_intercept"] = np.concatenate([[0.0], take(K - 1)])
            values["gating_coef"] = np.vstack(
                [np.zeros((1, q)), take((K - 1) * q).reshape(K - 1, q)]
            )
        else:
            log_w = take(K)
            log_w = log_w - np.max(log_w)
            values["weights"] = np.exp(log_w) / np.exp(log_w).sum()
        for name in set(self.param_names) - self.learn:
            values[name] = getattr(like, name)
        return _replace(like, **values)

    def n_free_parameters(self, n_features: int) -> int:
        K = self.n_components
        gating = (K - 1) * (len(self.gating_columns) + 1) if self.gated else K - 1
        return K * (n_features + 2) + gating

    def sample(self, params, X, rng):
        """(y of shape (n,), labels of shape (n,)) drawn given the rows X (n, p)."""
        pi = np.exp(self.log_weights(params, X))
        pi = np.broadcast_to(pi, (X.shape[0], self.n_components))
        cumulative = np.cumsum(pi, axis=1)
        u = rng.uniform(size=(X.shape[0], 1)) * cumulative[:, -1:]
        labels = np.minimum((u > cumulative).sum(axis=1), self.n_components - 1)
        rows = np.arange(X.shape[0])
        mean = self.means(params, X)[rows, labels]
        y = mean + np.sqrt(params.noise_variance[labels]) * rng.standard_normal(X.shape[0])
        return y, labels


def _replace(params: MixtureRegressionParams, **changes) -> MixtureRegressionParams:
    values = {name: getattr(params, name) for name in MixtureRegressionParams.__dataclass_fields__}
    values.update(changes)
    return MixtureRegressionParams(**values)
