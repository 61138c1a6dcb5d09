r"""Categorical family: every feature is one symbol out of ``n_symbols``.

.. math::

    \log p(x \mid k) = \sum_{d=1}^{D} \log \theta_{k,d,x_d},
    \qquad \sum_{m=0}^{M-1} \theta_{k,d,m} = 1

With one feature (D = 1) this is the emission of hmmlearn's ``CategoricalHMM``
(one symbol per observation); with several it is the latent-class model
(independent categorical features given the component). Statistics are the expected
symbol counts :math:`\sum_i r_{ik} [x_{id} = m]`; the M-step normalises them, with
Dirichlet pseudo-counts under a :class:`DirichletPrior`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit.containers import Statistics
from emkit.families._counts import (
    add_pseudo_counts,
    check_integer_valued,
    check_probabilities,
    dirichlet_log_prior,
    log_pack,
    smoothed_ratio,
    softmax_unpack,
    xlogy_sum,
)
from emkit.families.base import Family

__all__ = ["CategoricalFamily", "CategoricalParams", "CategoricalStats", "DirichletPrior"]


@dataclass(frozen=True)
class CategoricalParams:
    """emissionprob : ndarray of shape (K, D, M), rows over the M symbols sum to 1."""

    emissionprob: np.ndarray | None


@dataclass(frozen=True, eq=False)
class CategoricalStats(Statistics):
    """Expected sufficient statistics of the categorical family.

    Attributes
    ----------
    sum_w : (K,)   sum_i r_ik
    sum_onehot : (K, D, M)   sum_i r_ik [x_id = m], the expected count of symbol m in
        feature d (the responsibility-weighted one-hot codes of the symbols)
    reference : (K, D, M) or None   the E-step's probabilities (value of an empty
        component), not summed
    """

    sum_w: np.ndarray
    sum_onehot: np.ndarray
    reference: np.ndarray | None

    reference_fields = ("reference",)


@dataclass(frozen=True)
class DirichletPrior:
    r"""Symmetric-or-not Dirichlet prior on every probability vector, as pseudo-counts.

    Every probability vector θ gets :math:`\mathrm{Dirichlet}(1 + c)`, so
    :math:`\log p(\theta) = \sum_m c_m \log \theta_m` + const and the MAP update adds
    ``c`` to the expected counts (``c = 0`` is maximum likelihood, ``c = 1`` is
    Laplace smoothing).

    pseudo_counts : float or ndarray broadcastable to one component's parameter shape,
        every entry >= 0
    """

    pseudo_counts: np.ndarray | float


class CategoricalFamily(Family):
    """Independent categorical features with ``n_symbols`` symbols each (see the module).

    Parameters
    ----------
    n_symbols : int
        Symbols are the integers 0 .. n_symbols - 1.
    prior : DirichletPrior, optional
        Conjugate prior for MAP estimation; None for maximum likelihood.
    """

    param_names = ("emissionprob",)

    def __init__(self, n_symbols: int, prior: DirichletPrior | None = None):
        if int(n_symbols) < 1:
            raise ValueError(f"n_symbols must be >= 1, got {n_symbols}")
        self.n_symbols = int(n_symbols)
        self.prior = prior

    # -- parameters ---------------------------------------------------------------
    def make_params(self, emissionprob) -> CategoricalParams:
        """Validated parameters of shape (K, D, n_symbols), rows summing to 1."""
        probs = np.asarray(emissionprob, dtype=np.float64)
        check_probabilities(probs, "emission probabilities", self.n_symbols)
        return CategoricalParams(probs)

    def pack(self, params: CategoricalParams) -> np.ndarray:
        """Log-probabilities as a 1-D vector (unconstrained up to a shift per row)."""
        return log_pack(params.emissionprob)

    def unpack(self, vector, like: CategoricalParams) -> CategoricalParams:
        return self.make_params(softmax_unpack(vector, like.emissionprob.shape))

    def check_data(self, X):
        """X as an integer array of shape (n, D); a clear error for symbols out of range."""
        check_integer_valued(
            X,
            f"categorical symbols (0 .. {self.n_symbols - 1} for n_symbols={self.n_symbols})",
            maximum=self.n_symbols - 1,
        )
        return np.asarray(X).astype(np.intp)

    # -- E-step -------------------------------------------------------------------
    def log_prob(self, params: CategoricalParams, X) -> np.ndarray:
        """log p(x_i | k) of shape (n, K)."""
        with np.errstate(divide="ignore"):
            log_probs = np.log(params.emissionprob)
        codes = _codes(X)
        out = np.zeros((X.shape[0], log_probs.shape[0]))
        for d in range(X.shape[1]):
            out += log_probs[:, d, codes[:, d]].T
        return out

    def statistics(self, X, resp, reference: CategoricalParams | None) -> CategoricalStats:
        n_components, (_, n_features) = resp.shape[1], X.shape
        codes = _codes(X)
        counts = np.empty((n_components, n_features, self.n_symbols))
        for d in range(n_features):
            for k in range(n_components):
                counts[k, d] = np.bincount(
                    codes[:, d], weights=resp[:, k], minlength=self.n_symbols
                )
        return CategoricalStats(
            resp.sum(axis=0), counts, None if reference is None else reference.emissionprob
        )

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: CategoricalStats, *, learn=frozenset(param_names), fixed=None):
        if "emissionprob" not in learn:
            return fixed
        counts = add_pseudo_counts(stats.sum_onehot, self.prior)
        probs = smoothed_ratio(
            counts, counts.sum(axis=2, keepdims=True), stats.reference, vague=1 / counts.shape[2]
        )
        return CategoricalParams(probs)

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: CategoricalParams, stats: CategoricalStats) -> float:
        return xlogy_sum(stats.sum_onehot, params.emissionprob)

    def log_prior(self, params: CategoricalParams) -> float:
        return dirichlet_log_prior(params.emissionprob, self.prior)

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (self.n_symbols - 1)

    def sample(self, params: CategoricalParams, counts, rng) -> np.ndarray:
        probs = params.emissionprob
        D = probs.shape[1]
        blocks = [
            np.column_stack(
                [rng.choice(self.n_symbols, size=int(n), p=probs[k, d]) for d in range(D)]
            )
            for k, n in enumerate(counts)
        ]
        return np.vstack(blocks).astype(np.int64) if blocks else np.empty((0, D), dtype=np.int64)


def _codes(X):
    """Symbols as indices (callers such as the mixture E-step may pass them as floats)."""
    return np.asarray(X).astype(np.intp, copy=False)
