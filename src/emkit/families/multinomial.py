r"""Multinomial family: every sample is a vector of counts over D outcomes.

.. math::

    \log p(x \mid k) = \log \frac{N!}{\prod_d x_d!} + \sum_{d=1}^{D} x_d \log \theta_{kd},
    \qquad N = \sum_d x_d,\ \sum_d \theta_{kd} = 1

Rows may have different totals N (bag-of-words documents). Statistics are the
expected outcome counts :math:`\sum_i r_{ik} x_{id}` (and the weighted log
multinomial coefficients, for the objective only); the M-step normalises them, with
Dirichlet pseudo-counts under a :class:`~emkit.families.DirichletPrior`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from emkit.containers import Statistics
from emkit.families._counts import (
    add_pseudo_counts,
    check_integer_valued,
    check_probabilities,
    dirichlet_log_prior,
    log_pack,
    safe_xlogy_matmul,
    smoothed_ratio,
    softmax_unpack,
    xlogy_sum,
)
from emkit.families.base import Family
from emkit.families.categorical import DirichletPrior

__all__ = ["MultinomialFamily", "MultinomialParams", "MultinomialStats"]


@dataclass(frozen=True)
class MultinomialParams:
    """emissionprob : ndarray of shape (K, D), every row sums to 1."""

    emissionprob: np.ndarray | None


@dataclass(frozen=True, eq=False)
class MultinomialStats(Statistics):
    """sum_w : (K,) sum_i r_ik;  sum_x : (K, D) sum_i r_ik x_i;
    sum_log_coef : (K,) sum_i r_ik log(N_i! / prod_d x_id!);
    reference : (K, D) or None, the E-step's probabilities (not summed)."""

    sum_w: np.ndarray
    sum_x: np.ndarray
    sum_log_coef: np.ndarray
    reference: np.ndarray | None

    reference_fields = ("reference",)


def _log_coefficients(X):
    return gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1)


class MultinomialFamily(Family):
    """Multinomial components over D outcomes (see the module docstring).

    Parameters
    ----------
    n_trials : int, optional
        Total count of every sampled row (only :meth:`sample` needs it).
    prior : DirichletPrior, optional
        Conjugate prior for MAP estimation; None for maximum likelihood.
    """

    param_names = ("emissionprob",)

    def __init__(self, n_trials: int | None = None, prior: DirichletPrior | None = None):
        self.n_trials = n_trials
        self.prior = prior

    # -- parameters ---------------------------------------------------------------
    def make_params(self, emissionprob) -> MultinomialParams:
        probs = np.asarray(emissionprob, dtype=np.float64)
        check_probabilities(probs, "emission probabilities")
        return MultinomialParams(probs)

    def pack(self, params: MultinomialParams) -> np.ndarray:
        """Log-probabilities as a 1-D vector (unconstrained up to a shift per row)."""
        return log_pack(params.emissionprob)

    def unpack(self, vector, like: MultinomialParams) -> MultinomialParams:
        return self.make_params(softmax_unpack(vector, like.emissionprob.shape))

    def check_data(self, X):
        """X as float64 counts of shape (n, D); a clear error for negative or fractional counts."""
        check_integer_valued(X, "multinomial counts")
        return np.asarray(X, dtype=np.float64)

    # -- E-step -------------------------------------------------------------------
    def log_prob(self, params: MultinomialParams, X) -> np.ndarray:
        """log p(x_i | k) of shape (n, K)."""
        return safe_xlogy_matmul(X, params.emissionprob) + _log_coefficients(X)[:, None]

    def statistics(self, X, resp, reference: MultinomialParams | None) -> MultinomialStats:
        return MultinomialStats(
            resp.sum(axis=0),
            resp.T @ X,
            resp.T @ _log_coefficients(X),
            None if reference is None else reference.emissionprob,
        )

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: MultinomialStats, *, learn=frozenset(param_names), fixed=None):
        if "emissionprob" not in learn:
            return fixed
        counts = add_pseudo_counts(stats.sum_x, self.prior)
        probs = smoothed_ratio(
            counts, counts.sum(axis=1, keepdims=True), stats.reference, vague=1 / counts.shape[1]
        )
        return MultinomialParams(probs)

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: MultinomialParams, stats: MultinomialStats) -> float:
        return xlogy_sum(stats.sum_x, params.emissionprob) + float(stats.sum_log_coef.sum())

    def log_prior(self, params: MultinomialParams) -> float:
        return dirichlet_log_prior(params.emissionprob, self.prior)

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * (n_features - 1)

    def sample(self, params: MultinomialParams, counts, rng) -> np.ndarray:
        if self.n_trials is None:
            raise ValueError("sampling multinomial counts needs n_trials (the total of every row)")
        probs = params.emissionprob
        blocks = [
            rng.multinomial(self.n_trials, probs[k], size=int(n)) for k, n in enumerate(counts)
        ]
        return np.vstack(blocks).astype(np.float64) if blocks else np.empty((0, probs.shape[1]))
