r"""Bernoulli family: D independent binary features per component.

.. math::

    \log p(x \mid k) = \sum_{d=1}^{D} \big( x_d \log \theta_{kd}
    + (1 - x_d) \log (1 - \theta_{kd}) \big), \qquad x_d \in \{0, 1\}

Statistics are the expected number of samples per component and the weighted sums
of the features; the M-step is their ratio, with Beta pseudo-counts under a
:class:`BetaPrior`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit.containers import Statistics
from emkit.families._counts import (
    check_integer_valued,
    log_pack,
    safe_xlogy_matmul,
    smoothed_ratio,
    xlogy_sum,
)
from emkit.families.base import Family

__all__ = ["BernoulliFamily", "BernoulliParams", "BernoulliStats", "BetaPrior"]

_BELOW_ONE = np.nextafter(1.0, 0.0)


@dataclass(frozen=True)
class BernoulliParams:
    """emissionprob : ndarray of shape (K, D), θ_kd = p(x_d = 1 | k)."""

    emissionprob: np.ndarray | None


@dataclass(frozen=True, eq=False)
class BernoulliStats(Statistics):
    """Expected sufficient statistics of the Bernoulli family.

    Attributes
    ----------
    sum_w : (K,)
        sum_i r_ik
    sum_x : (K, D)
        sum_i r_ik x_i
    sum_zeros : (K, D)
        sum_i r_ik (1 - x_i), kept apart from sum_w - sum_x, in which zeros of weight
        1e-300 next to ones of weight 1e300 are lost
    reference : (K, D) or None
        The E-step's probabilities (not summed).
    """

    sum_w: np.ndarray
    sum_x: np.ndarray
    sum_zeros: np.ndarray
    reference: np.ndarray | None

    reference_fields = ("reference",)


@dataclass(frozen=True)
class BetaPrior:
    r"""Conjugate prior on every θ_kd, as pseudo-counts of ones and zeros.

    :math:`\theta \sim \mathrm{Beta}(1 + a, 1 + b)`, so
    :math:`\log p(\theta) = a \log \theta + b \log(1 - \theta)` + const and the MAP
    update is :math:`(\sum_i r_{ik} x_{id} + a) / (\sum_i r_{ik} + a + b)`
    (``a = b = 0`` is maximum likelihood, ``a = b = 1`` is Laplace smoothing).

    ones, zeros : float or ndarray of shape (D,), >= 0
    """

    ones: np.ndarray | float
    zeros: np.ndarray | float


class BernoulliFamily(Family):
    """Independent Bernoulli features (see the module docstring).

    Parameters
    ----------
    prior : BetaPrior, optional
        Conjugate prior for MAP estimation; None for maximum likelihood.
    binarize : float, optional
        Threshold: real-valued data are read as ``x > binarize`` (as scikit-learn's
        ``BernoulliNB``), in every method, so that any data path (in memory, chunked,
        memory-mapped) sees the same binary features. None: data must be 0 or 1.
    """

    param_names = ("emissionprob",)

    def __init__(self, prior: BetaPrior | None = None, binarize: float | None = None):
        self.prior = prior
        self.binarize = binarize

    def _binary(self, X):
        if self.binarize is None:
            return X
        return (np.asarray(X) > self.binarize).astype(np.float64)

    # -- parameters ---------------------------------------------------------------
    def make_params(self, emissionprob) -> BernoulliParams:
        probs = np.asarray(emissionprob, dtype=np.float64)
        if probs.ndim != 2 or not np.all((probs >= 0) & (probs <= 1)):
            raise ValueError(
                "Bernoulli emission probabilities must be an array of shape "
                f"(n_components, n_features) with entries in [0, 1], got shape {probs.shape}"
            )
        return BernoulliParams(probs)

    def pack(self, params: BernoulliParams) -> np.ndarray:
        """Log-odds as a 1-D vector (unconstrained, for acceleration)."""
        probs = params.emissionprob
        return log_pack(probs) - log_pack(1.0 - probs)

    def unpack(self, vector, like: BernoulliParams) -> BernoulliParams:
        probs = 1.0 / (1.0 + np.exp(-np.asarray(vector)))
        return self.make_params(probs.reshape(like.emissionprob.shape))

    def check_data(self, X):
        """X as float64 of shape (n, D); a clear error unless every entry is 0 or 1
        (or, with ``binarize``, finite)."""
        if self.binarize is not None:
            if not np.all(np.isfinite(X)):
                raise ValueError("Bernoulli data contain NaN or infinity; give finite values")
        else:
            check_integer_valued(X, "Bernoulli data (binary features)", maximum=1)
        return np.asarray(X, dtype=np.float64)

    # -- E-step -------------------------------------------------------------------
    def log_prob(self, params: BernoulliParams, X) -> np.ndarray:
        """log p(x_i | k) of shape (n, K)."""
        probs = params.emissionprob
        X = self._binary(X)
        return safe_xlogy_matmul(X, probs) + safe_xlogy_matmul(1.0 - X, 1.0 - probs)

    def statistics(self, X, resp, reference: BernoulliParams | None) -> BernoulliStats:
        X = self._binary(X)
        return BernoulliStats(
            resp.sum(axis=0),
            resp.T @ X,
            resp.T @ (1.0 - X),
            None if reference is None else reference.emissionprob,
        )

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: BernoulliStats, *, learn=frozenset(param_names), fixed=None):
        if "emissionprob" not in learn:
            return fixed
        ones, trials = stats.sum_x, stats.sum_w[:, None]
        if self.prior is not None:
            a = np.asarray(self.prior.ones, dtype=float)
            b = np.asarray(self.prior.zeros, dtype=float)
            ones, trials = ones + a, trials + a + b
        probs = np.clip(smoothed_ratio(ones, trials, stats.reference, vague=0.5), 0.0, 1.0)
        # a zero that the data show keeps 1 - θ > 0 (smoothed_ratio keeps θ > 0 for a one)
        return BernoulliParams(np.where(stats.sum_zeros > 0, np.minimum(probs, _BELOW_ONE), probs))

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: BernoulliParams, stats: BernoulliStats) -> float:
        probs = params.emissionprob
        return xlogy_sum(stats.sum_x, probs) + xlogy_sum(stats.sum_zeros, 1.0 - probs)

    def log_prior(self, params: BernoulliParams) -> float:
        if self.prior is None:
            return 0.0
        probs = params.emissionprob
        a = np.broadcast_to(np.asarray(self.prior.ones, dtype=float), probs.shape)
        b = np.broadcast_to(np.asarray(self.prior.zeros, dtype=float), probs.shape)
        return xlogy_sum(a, probs) + xlogy_sum(b, 1.0 - probs)

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def sample(self, params: BernoulliParams, counts, rng) -> np.ndarray:
        probs = params.emissionprob
        blocks = [
            (rng.uniform(size=(int(n), probs.shape[1])) < probs[k]).astype(np.float64)
            for k, n in enumerate(counts)
        ]
        return np.vstack(blocks) if blocks else np.empty((0, probs.shape[1]))
