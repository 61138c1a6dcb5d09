r"""Factor analysis and probabilistic PCA, fitted by EM (Rubin & Thayer 1982; Tipping &
Bishop 1999).

.. math::

    x = \mu + W^\top z + \varepsilon, \qquad z \sim \mathcal{N}(0, I_q), \qquad
    \varepsilon \sim \mathcal{N}(0, \Psi)

with loadings W of shape (q, d) (scikit-learn's ``components_``), Ψ diagonal (factor
analysis) or σ² I (probabilistic PCA, ``noise="isotropic"``). Marginally
:math:`x \sim \mathcal{N}(\mu, W^\top W + \Psi)`.

**E-step.** The posterior of z given x is Gaussian with covariance
:math:`\Sigma_z = M^{-1}`, :math:`M = I_q + W \Psi^{-1} W^\top` (q × q), and mean
:math:`m = M^{-1} W \Psi^{-1} (x - \mu)`. The log-density uses the matrix determinant
lemma, :math:`\log|W^\top W + \Psi| = \log|\Psi| + \log|M|`, and Woodbury's identity in
its variational form :math:`r^\top C^{-1} r = \|r - W^\top m\|^2_{\Psi^{-1}} + \|m\|^2`
(a sum of two non-negative terms, so no cancellation): O(n d q) per E-step, no d × d
matrix is ever formed.

**Statistics** (fixed size, additive; :class:`FactorStats`), about the E-step's mean
``shift`` c so that data far from the origin lose no digits: Σ w, Σ w (x − c),
Σ w (x − c)² (diagonal only), Σ w E[z], Σ w (x − c) E[z]ᵀ and Σ w E[z zᵀ].

**M-step** (exact): the regression of x − c on the augmented factors (z, 1) gives W and
μ jointly, :math:`[W^\top, \mu - c] = B A^{-1}` with :math:`A = \sum E[\tilde z \tilde
z^\top]`, :math:`B = \sum (x - c) E[\tilde z]^\top`; then Ψ is the expected residual
variance of every feature (averaged over the features for PPCA). Ψ is kept at least
``noise_floor`` times the variance of its feature: Q is unimodal in every ψ_j, so the
clamped value is the constrained maximum and EM stays monotone.

The same functions, with a leading axis of K components, serve the mixture of factor
analysers (:mod:`emkit.models.mixture_of_factor_analyzers`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky

from emkit.containers import ShiftedStatistics, with_given
from emkit.models._chunks import concat_row_weights, concat_rows
from emkit.models.mixture import EmptyComponentWarning, MixtureChunk

__all__ = [
    "NOISE_TYPES",
    "FactorAnalysisModel",
    "FactorAnalysisParams",
    "FactorStats",
    "factor_log_prob",
]

NOISE_TYPES = ("diagonal", "isotropic")
LEARNABLE = ("mean", "components", "noise_variance")
_LOG_2PI = float(np.log(2.0 * np.pi))
DEFAULT_BLOCK_ROWS = 4096


@dataclass(frozen=True)
class FactorAnalysisParams:
    """mean : (d,); components : (q, d) loadings W; noise_variance : (d,) Ψ's diagonal
    (all entries equal for PPCA). Fields may be None in a partial (initial) container."""

    mean: np.ndarray | None
    components: np.ndarray | None
    noise_variance: np.ndarray | None


@dataclass(frozen=True, eq=False)
class FactorStats(ShiftedStatistics):
    """Expected sufficient statistics of K factor analysers (K = 1 for one), under the
    weights ω_ik = w_i r_ik (sample weight × responsibility).

    sum_w : (K,)        Σ_i ω_ik
    sum_r : (K, d)      Σ_i ω_ik (x_i − c_k)
    sum_rr : (K, d)     Σ_i ω_ik (x_i − c_k)²
    sum_z : (K, q)      Σ_i ω_ik E[z | x_i, k]
    sum_rz : (K, d, q)  Σ_i ω_ik (x_i − c_k) E[z | x_i, k]ᵀ
    sum_zz : (K, q, q)  Σ_i ω_ik E[z zᵀ | x_i, k]
    shift : (K, d)      c, the E-step's means (not summed)
    reference_components : (K, q, d), reference_noise : (K, d)
        The E-step's loadings and noise (not summed): an empty component keeps them.
    """

    sum_w: np.ndarray
    sum_r: np.ndarray
    sum_rr: np.ndarray
    sum_z: np.ndarray
    sum_rz: np.ndarray
    sum_zz: np.ndarray
    shift: np.ndarray
    reference_components: np.ndarray
    reference_noise: np.ndarray

    reference_fields = ("shift", "reference_components", "reference_noise")

    def recentred(self, shift: np.ndarray) -> FactorStats:
        """The same statistics about another shift (K, d), exactly."""
        if shift is self.shift or np.array_equal(shift, self.shift):
            return self
        e = self.shift - shift
        n = self.sum_w[:, None]
        return FactorStats(
            self.sum_w,
            self.sum_r + n * e,
            self.sum_rr + 2.0 * e * self.sum_r + n * e * e,
            self.sum_z,
            self.sum_rz + e[:, :, None] * self.sum_z[:, None, :],
            self.sum_zz,
            shift,
            self.reference_components,
            self.reference_noise,
        )


# -- the E-step's linear algebra, for K components -------------------------------------------
@dataclass(frozen=True)
class _Posterior:
    """What every row's posterior needs, computed once per E-step: scaled loadings
    W Ψ⁻¹ (K, q, d), the Cholesky factors of M = I + W Ψ⁻¹ Wᵀ (K, q, q), log|W^T W + Ψ|
    (K,) and the posterior covariances M⁻¹ (K, q, q)."""

    scaled: np.ndarray
    chol: np.ndarray
    log_det: np.ndarray
    cov_z: np.ndarray


def _posterior(components: np.ndarray, noise: np.ndarray) -> _Posterior:
    K, q, _ = components.shape
    scaled = components / noise[:, None, :]
    eye = np.eye(q)
    chol = np.empty((K, q, q))
    cov_z = np.empty((K, q, q))
    log_det = np.empty(K)
    for k in range(K):
        M = eye + scaled[k] @ components[k].T
        chol[k] = cholesky(M, lower=True)
        cov_z[k] = cho_solve((chol[k], True), eye)
        log_det[k] = np.log(noise[k]).sum() + 2.0 * np.log(np.diag(chol[k])).sum()
    return _Posterior(scaled, chol, log_det, cov_z)


def _component_moments(post: _Posterior, components, noise, means, X, k):
    """(log N(x_i | μ_k, W_kᵀW_k + Ψ_k) of shape (n,), residuals x − μ_k (n, d),
    posterior means E[z | x_i, k] (n, q))."""
    R = X - means[k]
    a = R @ post.scaled[k].T  # W Ψ⁻¹ r, (n, q)
    # M⁻¹ is q × q and symmetric: one small product (LAPACK's triangular solves with
    # n right-hand sides cost far more in overhead on short blocks)
    m = a @ post.cov_z[k]
    resid = R - m @ components[k]
    quad = np.einsum("ij,ij->i", resid, resid / noise[k]) + np.einsum("ij,ij->i", m, m)
    log_prob = -0.5 * (X.shape[1] * _LOG_2PI + post.log_det[k] + quad)
    return log_prob, R, m


def factor_log_prob(means, components, noise, X) -> np.ndarray:
    """log N(x_i | μ_k, W_kᵀ W_k + Ψ_k), shape (n, K), in O(n d q K).

    Parameters
    ----------
    means : ndarray of shape (K, d)
    components : ndarray of shape (K, q, d)
    noise : ndarray of shape (K, d)
    X : ndarray of shape (n, d)
    """
    post = _posterior(components, noise)
    out = np.empty((X.shape[0], means.shape[0]))
    for k in range(means.shape[0]):
        out[:, k] = _component_moments(post, components, noise, means, X, k)[0]
    return out


def factor_posterior_means(means, components, noise, X) -> np.ndarray:
    """E[z | x_i, k], shape (n, K, q)."""
    post = _posterior(components, noise)
    K, q, _ = components.shape
    out = np.empty((X.shape[0], K, q))
    for k in range(K):
        out[:, k] = _component_moments(post, components, noise, means, X, k)[2]
    return out


def factor_statistics(means, components, noise, X, log_weight_fn) -> tuple[FactorStats, float]:
    """Statistics of rows X (n, d) and their summed objective.

    ``log_weight_fn(log_prob) -> (objective per row (n,), weights ω (n, K))`` turns the
    component log-densities (n, K) into the rows' objective and their weights (the
    mixture's responsibilities times the sample weights; the sample weights alone for
    one factor analyser).
    """
    post = _posterior(components, noise)
    K, q, d = components.shape
    n = X.shape[0]
    log_prob = np.empty((n, K))
    residuals, factor_means = [], []
    for k in range(K):
        log_prob[:, k], R, m = _component_moments(post, components, noise, means, X, k)
        residuals.append(R)
        factor_means.append(m)
    objective, omega = log_weight_fn(log_prob)
    sum_w = omega.sum(axis=0)
    sum_r, sum_rr = np.empty((K, d)), np.empty((K, d))
    sum_z, sum_rz, sum_zz = np.empty((K, q)), np.empty((K, d, q)), np.empty((K, q, q))
    for k in range(K):
        R, m, w = residuals[k], factor_means[k], omega[:, k]
        wR = R * w[:, None]
        sum_r[k] = wR.sum(axis=0)
        sum_rr[k] = np.einsum("ij,ij->j", wR, R)
        sum_z[k] = w @ m
        sum_rz[k] = wR.T @ m
        sum_zz[k] = sum_w[k] * post.cov_z[k] + (m * w[:, None]).T @ m
    stats = FactorStats(
        sum_w, sum_r, sum_rr, sum_z, sum_rz, sum_zz, means, components, np.asarray(noise)
    )
    return stats, float(objective.sum())


# -- the M-step ----------------------------------------------------------------------------
def data_variances(stats: FactorStats) -> np.ndarray:
    """The variance of every feature of the data, (d,), pooled over the components."""
    total = stats.sum_w.sum()
    n = stats.sum_w[:, None]
    centre = (n * stats.shift + stats.sum_r).sum(axis=0) / total
    pooled = stats.recentred(np.broadcast_to(centre, stats.shift.shape))
    return np.maximum(pooled.sum_rr.sum(axis=0), 0.0) / total


def noise_floors(stats: FactorStats, noise_floor: float) -> np.ndarray:
    """Ψ's lower bound, (d,): ``noise_floor`` × each feature's variance (a constant
    feature gets the average variance's, all-constant data ``noise_floor`` itself)."""
    var = data_variances(stats)
    mean_var = float(var.mean())
    scale = np.where(var > 0, var, mean_var if mean_var > 0 else 1.0)
    return noise_floor * scale


def regression_m_step(stats: FactorStats, k: int, learn, fixed_mean, fixed_components):
    """(mean (d,), components (q, d), residual Σ ω E[(x − μ − Wᵀz)²] (d,)) of component
    k: the regression of x − c on (z, 1), over what ``learn`` names; the others stay at
    ``fixed_*`` (arrays of that component)."""
    q = stats.sum_z.shape[1]
    n = stats.sum_w[k]
    c = stats.shift[k]
    sum_r, sum_rr, sum_z = stats.sum_r[k], stats.sum_rr[k], stats.sum_z[k]
    sum_rz, sum_zz = stats.sum_rz[k], stats.sum_zz[k]
    learn_mean, learn_w = "mean" in learn, "components" in learn
    if learn_w and learn_mean:
        A = np.empty((q + 1, q + 1))
        A[:q, :q], A[:q, q], A[q, :q], A[q, q] = sum_zz, sum_z, sum_z, n
        B = np.concatenate([sum_rz, sum_r[:, None]], axis=1)
        coef = _solve_spd(A, B.T).T  # (d, q + 1)
        W, b = coef[:, :q].T, coef[:, q]
    elif learn_w:
        b = fixed_mean - c
        # the regression through the fixed mean: (x − μ) = (x − c) − b
        W = _solve_spd(sum_zz, (sum_rz - b[:, None] * sum_z[None, :]).T)
    elif learn_mean:
        W = fixed_components
        b = (sum_r - W.T @ sum_z) / n
    else:
        W, b = fixed_components, fixed_mean - c
    # Σ ω E[(r − Wᵀz − b)²] per feature, for any (W, b)
    L = np.concatenate([W.T, b[:, None]], axis=1)  # (d, q + 1)
    A = np.empty((q + 1, q + 1))
    A[:q, :q], A[:q, q], A[q, :q], A[q, q] = sum_zz, sum_z, sum_z, n
    B = np.concatenate([sum_rz, sum_r[:, None]], axis=1)
    residual = sum_rr - 2.0 * np.einsum("jk,jk->j", L, B) + np.einsum("jk,kl,jl->j", L, A, L)
    return c + b, W, np.maximum(residual, 0.0)


def _solve_spd(A, B):
    """A⁻¹ B for a symmetric positive definite A (Cholesky; least squares if singular)."""
    try:
        return cho_solve((cholesky(A, lower=True), True), B)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, B, rcond=None)[0]


def pooled_noise(residuals, counts, noise: str, shared: bool, floors) -> np.ndarray:
    """Ψ (K, d) from per-component residuals (K, d) and counts (K,): per component or
    shared, diagonal or isotropic, clamped at ``floors`` (d,)."""
    if shared:
        psi = residuals.sum(axis=0, keepdims=True) / counts.sum()
    else:
        psi = residuals / counts[:, None]
    if noise == "isotropic":
        psi = np.broadcast_to(psi.mean(axis=1, keepdims=True), psi.shape)
        # the floor of σ² is one number: the largest feature floor keeps every ψ_j ≥ its own
        return np.broadcast_to(np.maximum(psi, floors.max()), (residuals.shape[0], psi.shape[1]))
    return np.broadcast_to(np.maximum(psi, floors), residuals.shape)


def is_empty(counts: np.ndarray, k: int) -> bool:
    return bool(counts[k] < 1e-8 * counts.sum())


def warn_empty(k: int) -> None:
    warnings.warn(
        f"factor analyser {k} received no posterior mass: it keeps its parameters, which "
        "the data no longer inform. Lower n_components or choose other initial values.",
        EmptyComponentWarning,
        stacklevel=4,
    )


# -- the data-driven start --------------------------------------------------------------------
def pca_start(X, weights, n_factors, noise, noise_floor, rng, init="pca", floors=None):
    """(mean (d,), components (q, d), noise (d,)) from weighted rows X (n, d).

    "pca": probabilistic PCA's maximum-likelihood solution of the rows (Tipping &
    Bishop's closed form: the top q principal axes scaled by sqrt(λ − σ²), σ² the mean
    of the other eigenvalues), then Ψ = the residual variances (factor analysis);
    "random": standard normal loadings of the data's average scale, Ψ = the variances.
    ``floors`` (d,): Ψ's lower bounds (default: those of these rows, as
    :func:`noise_floors` computes them); the M-step's, so that the start lies in the
    set that the M-step maximises over.
    """
    w = np.ones(X.shape[0]) if weights is None else weights
    total = w.sum()
    mean = w @ X / total
    Xc = (X - mean) * np.sqrt(w / total)[:, None]
    var = np.einsum("ij,ij->j", Xc, Xc)
    d = X.shape[1]
    mean_var = float(var.mean())
    if floors is None:
        floors = noise_floor * np.where(var > 0, var, mean_var if mean_var > 0 else 1.0)
    q = n_factors
    if init == "random":
        scale = np.sqrt(max(mean_var, 1e-300) / q)
        W = scale * rng.standard_normal((q, d))
        psi = np.maximum(var, floors)
    else:
        values, vectors = _top_eigen(Xc, q, rng)
        rest = (var.sum() - values.sum()) / (d - q) if d > q else 0.0
        sigma2 = max(rest, float(floors.max()))
        W = (np.sqrt(np.maximum(values - sigma2, 0.0))[:, None]) * vectors
        if noise == "isotropic":
            psi = np.full(d, sigma2)
        else:
            psi = np.maximum(var - (W * W).sum(axis=0), floors)
    if noise == "isotropic":
        psi = np.full(d, psi.mean())
    return mean, W, psi


def _top_eigen(Xc, q, rng):
    """The q largest eigenvalues (q,) and eigenvectors (q, d) of Xcᵀ Xc."""
    n, d = Xc.shape
    if d <= 500 or q >= min(n, d) // 2:
        values, vectors = np.linalg.eigh(Xc.T @ Xc)
        order = np.argsort(values)[::-1][:q]
        return np.maximum(values[order], 0.0), vectors[:, order].T
    from sklearn.utils.extmath import randomized_svd

    _, s, Vt = randomized_svd(Xc, q, random_state=rng)
    return s * s, Vt


# -- one factor analyser ----------------------------------------------------------------------
class FactorAnalysisModel:
    """EM model of factor analysis (``noise="diagonal"``) or probabilistic PCA
    (``noise="isotropic"``); see the module docstring.

    Parameters
    ----------
    n_factors : int
        q, the number of latent factors.
    noise : {"diagonal", "isotropic"}
    noise_floor : float
        Ψ_j ≥ noise_floor × var(x_j) (an explicit constraint of the M-step).
    learn : iterable of str, optional
        Among "mean", "components", "noise_variance"; default all. The others stay at
        their values in ``initial``.
    initial : FactorAnalysisParams, optional
        Partial initial values (fields may be None), used by every restart.
    init : {"pca", "random"}
        Data-driven start (see :func:`pca_start`).
    block_rows : int
        Rows per block in the E-step.
    """

    def __init__(
        self,
        n_factors: int,
        *,
        noise: str = "diagonal",
        noise_floor: float = 1e-8,
        learn=None,
        initial: FactorAnalysisParams | None = None,
        init: str = "pca",
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ):
        if noise not in NOISE_TYPES:
            raise ValueError(f"noise must be one of {NOISE_TYPES}, got {noise!r}")
        learn = frozenset(LEARNABLE if learn is None else learn)
        unknown = learn - set(LEARNABLE)
        if unknown:
            raise ValueError(f"learn has unknown names {sorted(unknown)}; choose from {LEARNABLE}")
        for name in set(LEARNABLE) - learn:
            if initial is None or getattr(initial, name) is None:
                raise ValueError(f"{name!r} is not learned, so its value must be given")
        self.n_factors = int(n_factors)
        self.noise = noise
        self.noise_floor = float(noise_floor)
        self.learn = learn
        self.initial = initial
        self.init = init
        self.block_rows = int(block_rows)

    # -- initialisation --------------------------------------------------------------
    def init_params(self, chunks: Sequence[MixtureChunk], rng) -> FactorAnalysisParams:
        X = np.asarray(concat_rows(chunks), dtype=np.float64)
        mean, W, psi = pca_start(
            X,
            concat_row_weights(chunks),
            self.n_factors,
            self.noise,
            self.noise_floor,
            rng,
            self.init,
        )
        return self.with_initial(FactorAnalysisParams(mean, W, psi))

    def with_initial(self, params: FactorAnalysisParams) -> FactorAnalysisParams:
        """``params`` with the user's ``initial`` values substituted."""
        return with_given(params, self.initial)

    # -- E-step --------------------------------------------------------------------
    @staticmethod
    def _stacked(params: FactorAnalysisParams):
        return params.mean[None], params.components[None], params.noise_variance[None]

    def log_density(self, params: FactorAnalysisParams, X) -> np.ndarray:
        """log p(x_i), shape (n,)."""
        return factor_log_prob(*self._stacked(params), np.asarray(X, dtype=np.float64))[:, 0]

    def transform(self, params: FactorAnalysisParams, X) -> np.ndarray:
        """Posterior factor means E[z | x_i], shape (n, q)."""
        return factor_posterior_means(*self._stacked(params), np.asarray(X, dtype=np.float64))[:, 0]

    def e_step(self, params: FactorAnalysisParams, chunk: MixtureChunk):
        X, weight = chunk.X, chunk.sample_weight
        stats, loglik = None, 0.0
        for start in range(0, max(X.shape[0], 1), self.block_rows):
            block = np.asarray(X[start : start + self.block_rows], dtype=np.float64)
            w = None if weight is None else weight[start : start + self.block_rows]

            def weigh(log_prob, w=w):
                if w is None:
                    return log_prob[:, 0], np.ones_like(log_prob)
                return w * log_prob[:, 0], w[:, None] * np.ones_like(log_prob)

            part, value = factor_statistics(*self._stacked(params), block, weigh)
            loglik += value
            stats = part if stats is None else stats + part
        return stats, loglik

    # -- M-step --------------------------------------------------------------------
    def m_step(self, stats: FactorStats) -> FactorAnalysisParams:
        fixed = self.initial
        fixed_mean = None if fixed is None else fixed.mean
        fixed_w = None if fixed is None else fixed.components
        mean, W, residual = regression_m_step(stats, 0, self.learn, fixed_mean, fixed_w)
        if "noise_variance" in self.learn:
            floors = noise_floors(stats, self.noise_floor)
            psi = pooled_noise(residual[None], stats.sum_w, self.noise, True, floors)[0].copy()
        else:
            psi = np.asarray(fixed.noise_variance, dtype=np.float64)
        return FactorAnalysisParams(mean, W, psi)

    def log_prior(self, params) -> float:
        return 0.0

    # -- unconstrained parametrisation (SQUAREM) --------------------------------------
    def pack(self, params: FactorAnalysisParams) -> np.ndarray:
        log_noise = np.log(params.noise_variance)
        if self.noise == "isotropic":
            log_noise = log_noise[:1]
        return np.concatenate([params.mean, params.components.ravel(), log_noise])

    def unpack(self, vector: np.ndarray, like: FactorAnalysisParams) -> FactorAnalysisParams:
        d = like.mean.shape[0]
        q = self.n_factors
        mean = vector[:d]
        W = vector[d : d + q * d].reshape(q, d)
        log_noise = vector[d + q * d :]
        psi = np.exp(np.broadcast_to(log_noise, (d,))).copy()
        if "mean" not in self.learn:
            mean = like.mean
        if "components" not in self.learn:
            W = like.components
        if "noise_variance" not in self.learn:
            psi = like.noise_variance
        if not np.all(np.isfinite(psi)) or np.any(psi <= 0):
            raise ValueError("the noise variances left the positive reals")
        return FactorAnalysisParams(mean, W, psi)

    # -- sampling and model selection --------------------------------------------------
    def sample(self, params: FactorAnalysisParams, n_samples: int, rng) -> np.ndarray:
        """n_samples draws of x, shape (n_samples, d)."""
        q, d = params.components.shape
        z = rng.standard_normal((n_samples, q))
        eps = rng.standard_normal((n_samples, d)) * np.sqrt(params.noise_variance)
        return params.mean + z @ params.components + eps

    def n_free_parameters(self, n_features: int) -> int:
        """Free parameters: d means, d q − q (q − 1) / 2 loadings (rotations removed),
        and d noise variances (1 for PPCA)."""
        q = self.n_factors
        loadings = n_features * q - q * (q - 1) // 2
        return n_features + loadings + (1 if self.noise == "isotropic" else n_features)
