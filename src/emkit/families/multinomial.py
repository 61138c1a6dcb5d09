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

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

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


#: Rows with more trials than this get their log-probabilities from _log_prob_exact.
#: Below it, the rounding of ``x . log(theta)`` (about eps * N * |log theta|) stays under
#: 1e-11 for any probability of a realistic size, far below what the monitor attributes
#: to rounding; above it (counts of 1e9: terms of 1e10 that cancel to about -10) it would
#: pass for a decrease of the objective.
_EXACT_TRIALS = 2.0**14


def _log_coefficients(X):
    return gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1)


def _log_prob_exact(X, probs):
    """log p(x_i | k) of shape (m, K) for rows X (m, D) with many trials, to rounding.

    Written as ``s_i + sum_d x_id log(theta_kd / f_id)`` with the row's own frequencies
    ``f_i = x_i / N_i``: the saturated term ``s_i = log coef_i + sum_d x_id log f_id``
    is the same float every time (it does not depend on the parameters), and the
    second term, ``-N_i KL(f_i || theta_k)``, is small near a good fit, where
    ``log1p`` of the relative difference gives it to ``eps * |theta - f| / f`` instead
    of the ``eps * |log theta|`` of a plain logarithm times a count of 1e9. A float64
    row of probabilities sums to 1 only up to rounding, and N_i times that excess is a
    first-order change of the objective (2e-7 for 4e9 trials, more than EM's gain from
    the initial values): the vector evaluated is ``theta_k / sum_d theta_kd``, its
    normaliser summed exactly.
    """
    totals = X.sum(axis=1, keepdims=True)
    freq = X / totals
    saturated = _log_coefficients(X) + xlogy(X, freq).sum(axis=1)
    seen = X > 0
    divisor = np.where(seen, freq, 1.0)
    out = np.empty((X.shape[0], probs.shape[0]))
    # one component at a time: memory of X, not of (m, K, D)
    for k, theta in enumerate(probs):
        with np.errstate(divide="ignore"):
            # theta = 0 for a seen outcome gives log1p(-1) = -inf, as it should
            log_ratio = np.log1p(np.where(seen, (theta - freq) / divisor, 0.0))
        out[:, k] = np.where(seen, X * log_ratio, 0.0).sum(axis=1)
    excess = np.array([math.fsum([*theta, -1.0]) for theta in probs])
    return out - totals * np.log1p(excess) + saturated[:, None]


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
        """log p(x_i | k) of shape (n, K).

        Rows of more than ``_EXACT_TRIALS`` trials take :func:`_log_prob_exact`: for
        them the plain sum of two terms of order ``N log D`` rounds by more than
        the changes of the objective between EM iterations.
        """
        out = safe_xlogy_matmul(X, params.emissionprob) + _log_coefficients(X)[:, None]
        large = X.sum(axis=1) > _EXACT_TRIALS
        if large.any():
            out[large] = _log_prob_exact(X[large], params.emissionprob)
        return out

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
