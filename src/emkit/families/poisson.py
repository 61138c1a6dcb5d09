r"""Poisson family: D independent count features per component.

.. math::

    \log p(x \mid k) = \sum_{d=1}^{D} \big( x_d \log \lambda_{kd} - \lambda_{kd}
    - \log x_d! \big)

Statistics are the expected number of samples per component and the weighted sums
of the counts (exact in floating point for integer data, so no shift is needed),
plus the weighted sum of :math:`\log x!` that only the objective uses. The M-step is
:math:`\lambda_{kd} = \sum_i r_{ik} x_{id} / \sum_i r_{ik}`; under the conjugate
:class:`GammaPrior` it adds pseudo-observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from emkit.containers import Statistics
from emkit.families._counts import (
    check_integer_valued,
    log_pack,
    safe_xlogy_matmul,
    smoothed_ratio,
    xlogy_sum,
)
from emkit.families.base import Family

__all__ = ["GammaPrior", "PoissonFamily", "PoissonParams", "PoissonStats"]


@dataclass(frozen=True)
class PoissonParams:
    """rates : ndarray of shape (K, D), the Poisson means λ_kd (None in a partial container)."""

    rates: np.ndarray | None


@dataclass(frozen=True, eq=False)
class PoissonStats(Statistics):
    """Expected sufficient statistics of the Poisson family.

    Attributes
    ----------
    sum_w : (K,)   sum_i r_ik
    sum_x : (K, D)   sum_i r_ik x_i
    sum_log_factorial : (K,)   sum_i r_ik sum_d log(x_id!)
    reference : (K, D) or None   rates of the E-step (value of an empty component),
        not summed
    """

    sum_w: np.ndarray
    sum_x: np.ndarray
    sum_log_factorial: np.ndarray
    reference: np.ndarray | None

    reference_fields = ("reference",)


@dataclass(frozen=True)
class GammaPrior:
    r"""Conjugate prior on every rate, in pseudo-observations.

    :math:`\lambda_{kd} \sim \mathrm{Gamma}(1 + n_0 \lambda_{0d},\ n_0)` (shape, rate),
    so :math:`\log p(\lambda) = n_0 (\lambda_{0d} \log \lambda - \lambda)` + const: the
    MAP update adds ``strength`` pseudo-observations with mean ``rate_prior``
    (``strength = 0`` is maximum likelihood).

    rate_prior : ndarray of shape (D,) or float, λ0 > 0
    strength : float, n0 >= 0
    """

    rate_prior: np.ndarray
    strength: float


class PoissonFamily(Family):
    """Poisson components with rates λ_kd (see the module docstring).

    Parameters
    ----------
    prior : GammaPrior, optional
        Conjugate prior for MAP estimation; None for maximum likelihood.
    """

    param_names = ("rates",)

    def __init__(self, prior: GammaPrior | None = None):
        self.prior = prior

    # -- parameters ---------------------------------------------------------------
    def make_params(self, rates) -> PoissonParams:
        """Validated parameters: rates must be finite and non-negative."""
        rates = np.asarray(rates, dtype=np.float64)
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError("Poisson rates must be finite and non-negative")
        return PoissonParams(rates)

    def pack(self, params: PoissonParams) -> np.ndarray:
        """Log-rates as a 1-D vector (unconstrained, for acceleration)."""
        return log_pack(params.rates)

    def unpack(self, vector, like: PoissonParams) -> PoissonParams:
        return self.make_params(np.exp(np.asarray(vector)).reshape(like.rates.shape))

    def check_data(self, X):
        """X as float64 counts of shape (n, D); a clear error for negative or fractional counts."""
        check_integer_valued(X, "Poisson counts")
        return np.asarray(X, dtype=np.float64)

    # -- E-step -------------------------------------------------------------------
    def log_prob(self, params: PoissonParams, X) -> np.ndarray:
        """log p(x_i | k) of shape (n, K)."""
        rates = params.rates
        return (
            safe_xlogy_matmul(X, rates) - rates.sum(axis=1) - gammaln(X + 1.0).sum(axis=1)[:, None]
        )

    def statistics(self, X, resp, reference: PoissonParams | None) -> PoissonStats:
        return PoissonStats(
            resp.sum(axis=0),
            resp.T @ X,
            resp.T @ gammaln(X + 1.0).sum(axis=1),
            None if reference is None else reference.rates,
        )

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: PoissonStats, *, learn=frozenset(param_names), fixed=None):
        if "rates" not in learn:
            return fixed
        numerator, denominator = stats.sum_x, stats.sum_w[:, None]
        if self.prior is not None and self.prior.strength > 0:
            numerator = numerator + self.prior.strength * np.asarray(self.prior.rate_prior)
            denominator = denominator + self.prior.strength
        return PoissonParams(smoothed_ratio(numerator, denominator, stats.reference, vague=1.0))

    # -- objective pieces ---------------------------------------------------------
    def expected_log_prob(self, params: PoissonParams, stats: PoissonStats) -> float:
        rates = params.rates
        return (
            xlogy_sum(stats.sum_x, rates)
            - float(stats.sum_w @ rates.sum(axis=1))
            - float(stats.sum_log_factorial.sum())
        )

    def log_prior(self, params: PoissonParams) -> float:
        prior = self.prior
        if prior is None or prior.strength == 0:
            return 0.0
        rates = params.rates
        pseudo = prior.strength * np.broadcast_to(prior.rate_prior, rates.shape)
        return xlogy_sum(pseudo, rates) - prior.strength * float(rates.sum())

    def default_prior(self, X, strength: float, rate_prior=None) -> GammaPrior:
        """A prior centred on the data: λ0 = the mean count of every feature."""
        if rate_prior is None:
            rate_prior = np.asarray(X, dtype=float).mean(axis=0)
        return GammaPrior(np.asarray(rate_prior, dtype=float), float(strength))

    # -- misc ---------------------------------------------------------------------
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def sample(self, params: PoissonParams, counts, rng) -> np.ndarray:
        D = params.rates.shape[1]
        blocks = [rng.poisson(params.rates[k], size=(int(n), D)) for k, n in enumerate(counts)]
        return np.vstack(blocks).astype(np.float64) if blocks else np.empty((0, D))
