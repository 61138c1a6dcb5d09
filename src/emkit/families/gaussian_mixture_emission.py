r"""Gaussian-mixture family: every component (HMM state) is itself a mixture of M Gaussians.

.. math::

    p(x \mid k) = \sum_{m=1}^{M} w_{km} \, \mathcal{N}(x \mid \mu_{km}, \Sigma_{km})

This is the emission of a GMM-HMM. It is built on :class:`GaussianFamily` with M
components per state, so every covariance type, ``reg_covar``, the conjugate prior
and the shifted-moment statistics come from there. ``"tied"`` ties the covariance
of the M components *within* a state (one (D, D) matrix per state), as hmmlearn's
GMMHMM does.

Statistics of state k are the Gaussian statistics of its M components under the
joint responsibilities :math:`r_{ik} \, p(m \mid x_i, k)`; the M-step is a Gaussian
M-step per state plus :math:`w_{km} \propto \sum_i r_{ik} p(m \mid x_i, k)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from emkit.containers import Statistics
from emkit.families._counts import log_pack, softmax_unpack
from emkit.families._init import initial_responsibilities
from emkit.families.base import COUNT_FLOOR, Family
from emkit.families.gaussian import (
    GaussianFamily,
    GaussianParams,
    GaussianStats,
    check_magnitude,
    check_representable,
)

__all__ = ["GaussianMixtureEmission", "GaussianMixtureParams", "GaussianMixtureStats"]


@dataclass(frozen=True)
class GaussianMixtureParams:
    """Per-state mixture parameters, state index first.

    weights : (K, M)
    means : (K, M, D)
    covariances : (K, M, D, D) full, (K, D, D) tied, (K, M, D) diag, (K, M) spherical
    precisions_cholesky : same shape as ``covariances``

    Fields may be None in a partial container (user-given initial values).
    """

    weights: np.ndarray | None
    means: np.ndarray | None
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class GaussianMixtureStats(Statistics):
    """states : tuple of K :class:`GaussianStats`, each over the state's M components."""

    states: tuple[GaussianStats, ...]

    def __add__(self, other):
        if other == 0:
            return self
        if not isinstance(other, GaussianMixtureStats):
            return NotImplemented
        return GaussianMixtureStats(
            tuple(a + b for a, b in zip(self.states, other.states, strict=True))
        )

    __radd__ = __add__

    def __mul__(self, factor):
        if not np.isscalar(factor):
            return NotImplemented
        return GaussianMixtureStats(tuple(s * factor for s in self.states))

    __rmul__ = __mul__

    @property
    def sum_w(self) -> np.ndarray:
        """(K, M) expected counts of every state's components."""
        return np.array([s.sum_w for s in self.states])


class GaussianMixtureEmission(Family):
    """Mixture-of-Gaussians components (see the module docstring).

    Parameters
    ----------
    n_mix : int
        Gaussians per state, M.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Added to the covariance diagonals after every M-step.
    prior : GaussianPrior, optional
        Conjugate prior on every Gaussian (see :class:`GaussianFamily`).
    init : str
        How :meth:`initial_params` splits a state into its M Gaussians
        (one of emkit's mixture initialisations, default "kmeans").
    """

    param_names = ("weights", "means", "covariances")

    def __init__(
        self,
        n_mix: int,
        covariance_type: str = "diag",
        reg_covar: float = 1e-6,
        prior=None,
        init: str = "kmeans",
    ):
        if int(n_mix) < 1:
            raise ValueError(f"n_mix must be >= 1, got {n_mix}")
        self.n_mix = int(n_mix)
        self.gaussian = GaussianFamily(covariance_type, reg_covar, prior)
        self.covariance_type = covariance_type
        self.init = init

    # -- parameters ---------------------------------------------------------------
    def _state(self, params: GaussianMixtureParams, k: int) -> GaussianParams:
        return GaussianParams(params.means[k], params.covariances[k], params.precisions_cholesky[k])

    def make_params(self, weights, means, covariances) -> GaussianMixtureParams:
        """Validated parameters (raises ComponentCollapseError naming a bad covariance)."""
        weights = np.asarray(weights, dtype=float)
        if np.any(weights < 0) or not np.allclose(weights.sum(axis=1), 1.0):
            raise ValueError("mixture weights must be non-negative and sum to 1 in every state")
        means = np.asarray(means, dtype=float)
        covariances = np.asarray(covariances, dtype=float)
        prec_chol = np.array(
            [
                self.gaussian.make_params(means[k], covariances[k]).precisions_cholesky
                for k in range(means.shape[0])
            ]
        )
        return GaussianMixtureParams(weights, means, covariances, prec_chol)

    def check_data(self, X):
        """X (n, D) unchanged, or the Gaussian family's ValueError for values too large
        for its arithmetic (see :func:`emkit.families.gaussian.check_magnitude`)."""
        check_magnitude(X)
        return X

    # -- E-step -------------------------------------------------------------------
    def _joint(self, params, X, k):
        """log w_km + log N(x_i | μ_km, Σ_km), shape (n, M); -inf where a squared distance
        overflows (another state may still explain the point)."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights[k])
        return self.gaussian.log_prob_or_inf(self._state(params, k), X) + log_weights

    def log_prob(self, params: GaussianMixtureParams, X) -> np.ndarray:
        """log p(x_i | k) of shape (n, K); a ValueError names the rows that overflow
        under every state's Gaussians."""
        K = params.weights.shape[0]
        return check_representable(
            np.column_stack([_log_sum_exp(self._joint(params, X, k)) for k in range(K)])
        )

    def statistics(self, X, resp, reference: GaussianMixtureParams | None):
        """Gaussian statistics of every state under r_ik p(m | x_i, k).

        The split of a state into its Gaussians needs parameters: ``reference`` may
        only be None through :meth:`initial_params`.
        """
        if reference is None:
            raise ValueError(
                "GaussianMixtureEmission needs reference parameters to split states into "
                "their Gaussians; start from initial_params()"
            )
        states = []
        for k in range(resp.shape[1]):
            joint = self._joint(reference, X, k)
            total = _log_sum_exp(joint)
            # a row that state k cannot explain (-inf throughout) gets no mass, not NaN
            total[np.isneginf(total)] = 0.0
            inner = np.exp(joint - total[:, None]) * resp[:, k, None]
            states.append(self.gaussian.statistics(X, inner, self._state(reference, k)))
        return GaussianMixtureStats(tuple(states))

    def initial_params(self, X, resp, rng) -> GaussianMixtureParams:
        """Start from state responsibilities ``resp`` (n, K): split every state by ``init``.

        The points whose most probable state is k are split into M groups (a k-means
        partition by default), weighted by their responsibility for k.
        """
        M = self.n_mix
        labels = resp.argmax(axis=1)
        weights, means, covariances = [], [], []
        for k in range(resp.shape[1]):
            members = np.flatnonzero(labels == k)
            if members.size < M:  # too few points of its own: split all the data
                members = np.arange(X.shape[0])
            inner = initial_responsibilities(X[members], M, self.init, rng)
            joint = inner * resp[members, k, None]
            if not np.any(joint.sum(axis=0) > 0):
                joint = inner
            stats = self.gaussian.statistics(X[members], joint, None)
            gauss = self.gaussian.m_step(stats)
            weights.append(_mixing_weights(stats))
            means.append(gauss.means)
            covariances.append(gauss.covariances)
        return self.make_params(np.array(weights), np.array(means), np.array(covariances))

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: GaussianMixtureStats, *, learn=frozenset(param_names), fixed=None):
        gaussian_learn = learn & frozenset(("means", "covariances"))
        weights, means, covariances = [], [], []
        for k, state_stats in enumerate(stats.states):
            fixed_k = None if fixed is None else _state_fields(fixed, k)
            gauss = self.gaussian.m_step(state_stats, learn=gaussian_learn, fixed=fixed_k)
            if "weights" in learn:
                weights.append(_mixing_weights(state_stats))
            else:
                weights.append(fixed.weights[k])
            means.append(gauss.means)
            covariances.append(gauss.covariances)
        return self.make_params(np.array(weights), np.array(means), np.array(covariances))

    def m_step_slack(self, params: GaussianMixtureParams, stats: GaussianMixtureStats, learn):
        """What ``reg_covar`` may cost Q in this M-step: the Gaussian family's slack of
        every state's Gaussians (the mixture weights are maximised exactly)."""
        gaussian_learn = learn & frozenset(("means", "covariances"))
        return sum(
            self.gaussian.m_step_slack(self._state(params, k), state_stats, gaussian_learn)
            for k, state_stats in enumerate(stats.states)
        )

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: GaussianMixtureParams, stats: GaussianMixtureStats):
        """sum_ikm r_ikm (log w_km + log N(x_i | μ_km, Σ_km)), from the statistics."""
        total = 0.0
        for k, state_stats in enumerate(stats.states):
            with np.errstate(divide="ignore", invalid="ignore"):
                log_w = np.where(state_stats.sum_w > 0, np.log(params.weights[k]), 0.0)
            total += float(state_stats.sum_w @ log_w)
            total += self.gaussian.expected_log_prob(self._state(params, k), state_stats)
        return total

    def log_prior(self, params: GaussianMixtureParams) -> float:
        return sum(
            self.gaussian.log_prior(self._state(params, k)) for k in range(params.weights.shape[0])
        )

    # -- unconstrained parametrisation (for acceleration) ----------------------------
    def pack(self, params: GaussianMixtureParams) -> np.ndarray:
        """The parameters as one unconstrained 1-D vector (for SQUAREM).

        Layout: the log mixture weights, shape (K * M,), state by state; then, state by
        state, :meth:`GaussianFamily.pack` of the state's M Gaussians (means, then
        log-Cholesky or log-variance covariances), ``gaussian.n_free_parameters(M, D)``
        entries each. The log weights are unnormalised coordinates: :meth:`unpack`
        takes a softmax per state, so any vector maps to valid weights.

        The M-step floors every weight's expected count at ``COUNT_FLOOR``, so EM
        never makes a weight exactly 0 and the weights have no structural zeros to
        keep; a weight of exactly 0 (a user's initial value) is packed at the floor
        of :func:`emkit.families._counts.log_pack`.
        """
        K = params.weights.shape[0]
        return np.concatenate(
            [log_pack(params.weights)]
            + [self.gaussian.pack(self._state(params, k)) for k in range(K)]
        )

    def unpack(self, vector: np.ndarray, like: GaussianMixtureParams) -> GaussianMixtureParams:
        """Inverse of :meth:`pack`; ``like`` gives the shapes.

        Raises ComponentCollapseError (a ValueError) when a covariance from the vector
        is not usable, which SQUAREM takes as a rejected extrapolation.
        """
        K, M, D = like.means.shape
        per_state = self.gaussian.n_free_parameters(M, D)
        expected = K * M + K * per_state
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (expected,):
            raise ValueError(
                f"a packed GaussianMixtureEmission with K={K}, M={M}, D={D} and "
                f"covariance_type={self.covariance_type!r} has {expected} entries, "
                f"got shape {vector.shape}"
            )
        weights = softmax_unpack(vector[: K * M], (K, M))
        states = [
            self.gaussian.unpack(
                vector[K * M + k * per_state : K * M + (k + 1) * per_state], self._state(like, k)
            )
            for k in range(K)
        ]
        # the Gaussian family already computed the precision factors: no second Cholesky
        return GaussianMixtureParams(
            weights,
            np.array([s.means for s in states]),
            np.array([s.covariances for s in states]),
            np.array([s.precisions_cholesky for s in states]),
        )

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        per_state = self.n_mix - 1 + self.gaussian.n_free_parameters(self.n_mix, n_features)
        return n_components * per_state

    def sample(self, params: GaussianMixtureParams, counts, rng) -> np.ndarray:
        D = params.means.shape[2]
        blocks = []
        for k, n in enumerate(counts):
            inner = rng.multinomial(int(n), params.weights[k])
            X = self.gaussian.sample(self._state(params, k), inner, rng)
            blocks.append(X[rng.permutation(X.shape[0])])
        return np.vstack(blocks) if blocks else np.empty((0, D))


def _log_sum_exp(joint: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp of (n, M), -inf for a row that is -inf everywhere."""
    with np.errstate(divide="ignore"):
        return logsumexp(joint, axis=1)


def _mixing_weights(stats: GaussianStats) -> np.ndarray:
    """The weights (M,) of a state's Gaussians from their statistics (counts floored)."""
    counts = stats.sum_w + COUNT_FLOOR
    return counts / counts.sum()


def _state_fields(params: GaussianMixtureParams, k: int) -> GaussianParams:
    """State k of a (possibly partial) container, as Gaussian parameters."""
    means = None if params.means is None else params.means[k]
    covariances = None if params.covariances is None else params.covariances[k]
    return GaussianParams(means, covariances)
