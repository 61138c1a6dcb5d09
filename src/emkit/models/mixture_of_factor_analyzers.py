r"""Mixture of factor analysers, fitted by EM (Ghahramani & Hinton 1996).

.. math::

    p(x) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x \mid \mu_k, W_k^\top W_k + \Psi_k)

with K components of q factors each: loadings W_k of shape (q, d), means μ_k and noise
Ψ_k diagonal (or σ² I, ``noise="isotropic"``). As in Ghahramani & Hinton, the noise is
shared by the components by default (``shared_noise=True``: one Ψ, which keeps a
component that explains few rows from shrinking its noise onto them); per-component
noise is an option.

The E-step computes every component's log-density with the matrix determinant lemma and
Woodbury's identity (O(n d q) per component, see :mod:`emkit.models.factor_analysis`),
the responsibilities r_ik by log-sum-exp, and the statistics of one factor analyser per
component under the weights w_i r_ik. The M-step sets π_k ∝ Σ_i w_i r_ik (Dirichlet
pseudo-counts ``weight_prior`` for MAP), and every component's μ_k, W_k jointly by the
regression of x on (z, 1); Ψ is the expected residual variance, pooled over the
components when shared. With ``assignment="hard"`` the responsibilities are one-hot
(classification EM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emkit.containers import with_given
from emkit.families._init import initial_responsibilities
from emkit.families.base import COUNT_FLOOR, floor_scale
from emkit.models._chunks import concat_row_weights, concat_rows
from emkit.models._labels import clamp_to_labels, concat_labels, labelled_start
from emkit.models.factor_analysis import (
    NOISE_TYPES,
    FactorStats,
    factor_log_prob,
    factor_posterior_means,
    factor_statistics,
    is_empty,
    noise_floors,
    pca_start,
    pooled_noise,
    regression_m_step,
    warn_empty,
)
from emkit.models.mixture import MixtureChunk, check_possible_rows, log_normalize

__all__ = ["MFAParams", "MFAStats", "MixtureOfFactorAnalyzersModel"]

LEARNABLE = ("weights", "means", "components", "noise_variance")
DEFAULT_BLOCK_ROWS = 4096


@dataclass(frozen=True)
class MFAParams:
    """weights : (K,); means : (K, d); components : (K, q, d) loadings; noise_variance :
    (d,) when shared, else (K, d). Fields may be None in a partial (initial) container."""

    weights: np.ndarray | None
    means: np.ndarray | None
    components: np.ndarray | None
    noise_variance: np.ndarray | None


#: the statistics: one factor analyser's per component (sum_w are the expected counts)
MFAStats = FactorStats


class MixtureOfFactorAnalyzersModel:
    """EM model of a mixture of K factor analysers with q factors each.

    Parameters
    ----------
    n_components : int
    n_factors : int
    noise : {"diagonal", "isotropic"}
    shared_noise : bool
        One Ψ for all components (Ghahramani & Hinton), else one per component.
    noise_floor : float
        Ψ_j ≥ noise_floor × var(x_j) over all rows (a constraint of the M-step).
    assignment : {"soft", "hard"}
    learn : iterable of str, optional
        Among "weights", "means", "components", "noise_variance"; default all.
    initial : MFAParams, optional
        Partial initial values; those of the parameters not learned are required.
    init : {"kmeans", "k-means++", "random", "random_from_data"}
        The responsibilities to start from (:func:`initial_responsibilities`); every
        component then starts from probabilistic PCA of its rows (a component with
        fewer than q + 2 rows' worth of mass from all rows, at its own mean).
    weight_prior : float
        Dirichlet pseudo-counts on the weights (0: maximum likelihood).
    block_rows : int
    """

    def __init__(
        self,
        n_components: int,
        n_factors: int,
        *,
        noise: str = "diagonal",
        shared_noise: bool = True,
        noise_floor: float = 1e-8,
        assignment: str = "soft",
        learn=None,
        initial: MFAParams | None = None,
        init: str = "kmeans",
        weight_prior: float = 0.0,
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ):
        if noise not in NOISE_TYPES:
            raise ValueError(f"noise must be one of {NOISE_TYPES}, got {noise!r}")
        if assignment not in ("soft", "hard"):
            raise ValueError(f"assignment must be 'soft' or 'hard', got {assignment!r}")
        learn = frozenset(LEARNABLE if learn is None else learn)
        unknown = learn - set(LEARNABLE)
        if unknown:
            raise ValueError(f"learn has unknown names {sorted(unknown)}; choose from {LEARNABLE}")
        for name in set(LEARNABLE) - learn:
            if initial is None or getattr(initial, name) is None:
                raise ValueError(f"{name!r} is not learned, so its value must be given")
        self.n_components = int(n_components)
        self.n_factors = int(n_factors)
        self.noise = noise
        self.shared_noise = bool(shared_noise)
        self.noise_floor = float(noise_floor)
        self.assignment = assignment
        self.learn = learn
        self.initial = initial
        self.init = init
        self.weight_prior = float(weight_prior)
        self.block_rows = int(block_rows)

    # -- initialisation --------------------------------------------------------------
    def init_params(self, chunks: Sequence[MixtureChunk], rng) -> MFAParams:
        X = np.asarray(concat_rows(chunks), dtype=np.float64)
        weights = concat_row_weights(chunks)
        resp = initial_responsibilities(X, self.n_components, self.init, rng, weights)
        labels = concat_labels(chunks)
        if labels is not None:
            resp = labelled_start(resp, labels, X, weights)
        w = np.ones(X.shape[0]) if weights is None else weights
        K, q, d = self.n_components, self.n_factors, X.shape[1]
        start = np.random.RandomState(rng.randint(2**31 - 1))  # for randomized SVD only
        _, W_all, psi_all = pca_start(X, w, q, self.noise, self.noise_floor, start)
        # the M-step's floors come from all rows: so must every component's start's
        floors = _floors_of(X, w, self.noise_floor)
        means, comps, noise = np.empty((K, d)), np.empty((K, q, d)), np.empty((K, d))
        counts = np.empty(K)
        for k in range(K):
            omega = resp[:, k] * w
            counts[k] = omega.sum()
            if counts[k] <= 0:  # nothing seeds it: the data's mean
                omega = w
            means[k] = omega @ X / omega.sum()
            rows = omega > 0
            if np.count_nonzero(rows) >= q + 2:
                _, comps[k], noise[k] = pca_start(
                    X[rows], omega[rows], q, self.noise, self.noise_floor, start, floors=floors
                )
            else:
                comps[k], noise[k] = W_all, psi_all
        pi = np.maximum(counts, 0.0) + COUNT_FLOOR
        pi = pi / pi.sum()
        if self.shared_noise:
            noise = (counts / counts.sum()) @ noise if counts.sum() > 0 else noise.mean(axis=0)
        return self.with_initial(MFAParams(pi, means, comps, noise))

    def with_initial(self, params: MFAParams) -> MFAParams:
        """``params`` with the user's ``initial`` values substituted."""
        return with_given(params, self.initial)

    # -- E-step --------------------------------------------------------------------
    def _noise(self, params: MFAParams) -> np.ndarray:
        """Ψ of every component, (K, d)."""
        psi = np.asarray(params.noise_variance, dtype=np.float64)
        if psi.ndim == 1:
            psi = np.broadcast_to(psi, (self.n_components, psi.shape[0]))
        return psi

    def log_joint(self, params: MFAParams, X) -> np.ndarray:
        """log π_k + log N(x_i | μ_k, W_kᵀ W_k + Ψ_k), shape (n, K)."""
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        return factor_log_prob(params.means, params.components, self._noise(params), X) + (
            log_weights
        )

    def log_density(self, params: MFAParams, X) -> np.ndarray:
        """log p(x_i), shape (n,)."""
        return log_normalize(self.log_joint(params, X))[0]

    def factor_means(self, params: MFAParams, X) -> np.ndarray:
        """E[z | x_i, component k], shape (n, K, q)."""
        X = np.asarray(X, dtype=np.float64)
        return factor_posterior_means(params.means, params.components, self._noise(params), X)

    def e_step(self, params: MFAParams, chunk: MixtureChunk):
        X, weight = chunk.X, chunk.sample_weight
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        noise = self._noise(params)
        stats, loglik = None, 0.0
        for start in range(0, max(X.shape[0], 1), self.block_rows):
            block = np.asarray(X[start : start + self.block_rows], dtype=np.float64)
            w = None if weight is None else weight[start : start + self.block_rows]
            first = chunk.first_row + start
            labels = None if chunk.labels is None else chunk.labels[start : start + self.block_rows]

            def weigh(log_prob, w=w, first=first, labels=labels):
                # rows of known component: one-hot there (see emkit.models._labels)
                log_norm, resp = self._posterior(clamp_to_labels(log_prob + log_weights, labels))
                check_possible_rows(log_norm, first_row=first, row_weights=w)
                if w is None:
                    return log_norm, resp
                resp[np.isneginf(log_norm)] = 0.0
                return np.where(w > 0, w * log_norm, 0.0), resp * w[:, None]

            part, value = factor_statistics(params.means, params.components, noise, block, weigh)
            loglik += value
            stats = part if stats is None else stats + part
        return stats, loglik

    def _posterior(self, log_joint):
        if self.assignment == "soft":
            return log_normalize(log_joint)
        labels = np.argmax(log_joint, axis=1)
        rows = np.arange(log_joint.shape[0])
        resp = np.zeros_like(log_joint)
        resp[rows, labels] = 1.0
        return log_joint[rows, labels], resp

    # -- M-step --------------------------------------------------------------------
    def m_step(self, stats: MFAStats) -> MFAParams:
        fixed = self.initial
        K = self.n_components
        counts = stats.sum_w
        means = stats.shift.copy()
        comps = stats.reference_components.copy()
        residuals = np.zeros_like(stats.sum_r)
        kept = np.ones(K, dtype=bool)
        for k in range(K):
            fixed_mean = None if fixed is None or fixed.means is None else fixed.means[k]
            fixed_w = None if fixed is None or fixed.components is None else fixed.components[k]
            if is_empty(counts, k):
                warn_empty(k)
                kept[k] = False
                if fixed_mean is not None and "means" not in self.learn:
                    means[k] = fixed_mean
                if fixed_w is not None and "components" not in self.learn:
                    comps[k] = fixed_w
                continue
            learn = {"components"} & self.learn
            if "means" in self.learn:
                learn = learn | {"mean"}
            means[k], comps[k], residuals[k] = regression_m_step(
                stats, k, learn, fixed_mean, fixed_w
            )
        if "noise_variance" in self.learn:
            noise = self._noise_m_step(stats, residuals, kept)
        else:
            noise = np.asarray(fixed.noise_variance, dtype=np.float64)
        if "weights" in self.learn:
            pseudo = counts + self.weight_prior
            pseudo = pseudo / floor_scale(pseudo.sum()) + COUNT_FLOOR
            weights = pseudo / pseudo.sum()
        else:
            weights = np.asarray(fixed.weights, dtype=np.float64)
        return MFAParams(weights, means, comps, noise)

    def _noise_m_step(self, stats, residuals, kept) -> np.ndarray:
        floors = noise_floors(stats, self.noise_floor)
        counts = stats.sum_w
        if self.shared_noise:
            psi = pooled_noise(residuals[kept], counts[kept], self.noise, True, floors)[0]
            return psi.copy()
        psi = stats.reference_noise.copy()
        psi[kept] = pooled_noise(residuals[kept], counts[kept], self.noise, False, floors)
        return psi

    def log_prior(self, params: MFAParams) -> float:
        if self.weight_prior > 0 and "weights" in self.learn:
            return self.weight_prior * float(np.sum(np.log(params.weights)))
        return 0.0

    # -- unconstrained parametrisation (SQUAREM) --------------------------------------
    def pack(self, params: MFAParams) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        log_noise = np.log(np.asarray(params.noise_variance))
        if self.noise == "isotropic":
            log_noise = log_noise[..., :1]
        return np.concatenate(
            [log_weights, params.means.ravel(), params.components.ravel(), log_noise.ravel()]
        )

    def unpack(self, vector: np.ndarray, like: MFAParams) -> MFAParams:
        K, q = self.n_components, self.n_factors
        d = like.means.shape[1]
        log_weights = vector[:K] - np.max(vector[:K])
        weights = np.exp(log_weights) / np.exp(log_weights).sum()
        at = K
        means = vector[at : at + K * d].reshape(K, d)
        at += K * d
        comps = vector[at : at + K * q * d].reshape(K, q, d)
        at += K * q * d
        shape = np.shape(like.noise_variance)
        reduced = (*shape[:-1], 1) if self.noise == "isotropic" else shape
        psi = np.exp(np.broadcast_to(vector[at:].reshape(reduced), shape)).copy()
        if not np.all(np.isfinite(psi)) or np.any(psi <= 0):
            raise ValueError("the noise variances left the positive reals")
        values = {"weights": weights, "means": means, "components": comps, "noise_variance": psi}
        for name in LEARNABLE:
            if name not in self.learn:
                values[name] = getattr(like, name)
        return MFAParams(**values)

    # -- sampling and model selection --------------------------------------------------
    def sample(self, params: MFAParams, n_samples: int, rng):
        """(X of shape (n_samples, d), component labels of shape (n_samples,))."""
        counts = rng.multinomial(n_samples, params.weights)
        noise = self._noise(params)
        blocks = []
        for k, count in enumerate(counts):
            z = rng.standard_normal((count, self.n_factors))
            eps = rng.standard_normal((count, noise.shape[1])) * np.sqrt(noise[k])
            blocks.append(params.means[k] + z @ params.components[k] + eps)
        labels = np.repeat(np.arange(self.n_components), counts)
        return np.concatenate(blocks), labels

    def n_free_parameters(self, n_features: int) -> int:
        """K − 1 weights, K d means, K (d q − q (q − 1) / 2) loadings, and the noise
        variances (d or 1, once or per component)."""
        K, q, d = self.n_components, self.n_factors, n_features
        per_noise = 1 if self.noise == "isotropic" else d
        n_noise = per_noise if self.shared_noise else K * per_noise
        return K - 1 + K * d + K * (d * q - q * (q - 1) // 2) + n_noise


def _floors_of(X, weights, noise_floor) -> np.ndarray:
    """The noise floors (d,) of weighted rows X (n, d), as ``noise_floors`` computes them
    from their statistics."""
    mean = weights @ X / weights.sum()
    var = weights @ (X - mean) ** 2 / weights.sum()
    mean_var = float(var.mean())
    return noise_floor * np.where(var > 0, var, mean_var if mean_var > 0 else 1.0)
