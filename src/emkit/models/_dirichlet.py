r"""Maximum-likelihood Dirichlet and Pólya (Dirichlet-multinomial) parameters.

The M-steps of LDA's priors (Minka, "Estimating a Dirichlet distribution", 2000).

:func:`fit_dirichlet` maximises, over α > 0 (K,),

.. math::

    f(\alpha) = \log\Gamma(\textstyle\sum_k \alpha_k) - \sum_k \log\Gamma(\alpha_k)
    + \sum_k (\alpha_k - 1)\, \bar{m}_k,

the mean log-likelihood of Dirichlet observations whose mean log is
:math:`\bar m` (LDA: the documents' :math:`\mathbb{E}_q[\log\theta_d]`). f is concave;
Newton's method uses its Hessian diag(q) + z 1 1ᵀ, inverted in O(K) (Minka §3), halving
a step that leaves α > 0 or lowers f. The symmetric case α = a 1 is a 1-D Newton on a.

:func:`fit_polya` maximises, over η > 0 (V,), the Pólya log-likelihood of the rows of
a (K, V) matrix of (expected) counts N,

.. math::

    h(\eta) = \sum_k \Big( \log\Gamma(\textstyle\sum_v \eta_v)
    - \log\Gamma(\textstyle\sum_v \eta_v + N_k) + \sum_v \log\Gamma(\eta_v + N_{kv})
    - \log\Gamma(\eta_v) \Big),

which is LDA's bound as a function of η once λ = η + N is substituted (the profile
of the topics' term). Minka's fixed point (§5) never lowers h; the symmetric case
η = b 1 takes Newton steps in log b, and the fixed-point step where Newton would not
raise h.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, polygamma

__all__ = ["POLYA_FLOOR", "dirichlet_objective", "fit_dirichlet", "fit_polya", "polya_objective"]

_MAX_ITER = 100
_RTOL = 1e-12
#: the smallest entry of a learned asymmetric η
POLYA_FLOOR = 1e-10


def dirichlet_objective(alpha: np.ndarray, mean_log: np.ndarray) -> float:
    """f(α) above; alpha of shape (K,), mean_log of shape (K,)."""
    return float(gammaln(alpha.sum()) - gammaln(alpha).sum() + np.dot(alpha - 1.0, mean_log))


def fit_dirichlet(mean_log: np.ndarray, start: np.ndarray, *, symmetric: bool) -> np.ndarray:
    """The α (K,) maximising f, by Newton's method from ``start`` (K,).

    ``symmetric``: α stays a multiple of ones, its value maximising f on that line.
    """
    alpha = np.array(start, dtype=np.float64)
    K = alpha.shape[0]
    value = dirichlet_objective(alpha, mean_log)
    for _ in range(_MAX_ITER):
        total = alpha.sum()
        gradient = digamma(total) - digamma(alpha) + mean_log
        if symmetric:
            a = alpha[0]
            slope = gradient.sum()
            curvature = K * K * polygamma(1, total) - K * polygamma(1, a)
            step = np.full(K, -slope / curvature)
        else:
            q = -polygamma(1, alpha)
            z = polygamma(1, total)
            b = np.sum(gradient / q) / (1.0 / z + np.sum(1.0 / q))
            step = -(gradient - b) / q
        alpha, value, moved = _line_search(alpha, step, value, mean_log)
        if not moved or np.max(np.abs(step) / alpha) < _RTOL:
            break
    return alpha


def _line_search(alpha, step, value, mean_log):
    """Halve ``step`` until α + step > 0 and f does not fall; (α, f, moved)."""
    for _ in range(60):
        candidate = alpha + step
        if np.all(candidate > 0):
            new = dirichlet_objective(candidate, mean_log)
            if new >= value:
                return candidate, new, True
        step = step / 2.0
    return alpha, value, False


def polya_objective(eta: np.ndarray, counts: np.ndarray) -> float:
    """h(η) above; eta of shape (V,), counts of shape (K, V)."""
    total = eta.sum()
    K = counts.shape[0]
    return float(
        K * (gammaln(total) - gammaln(eta).sum())
        - gammaln(total + counts.sum(axis=1)).sum()
        + gammaln(eta[None, :] + counts).sum()
    )


def fit_polya(counts: np.ndarray, start: np.ndarray, *, symmetric: bool) -> np.ndarray:
    """An η (V,) that raises h from ``start`` (V,), iterated to h's maximum (or
    ``_MAX_ITER`` steps, each of which never lowers h)."""
    eta = np.array(start, dtype=np.float64)
    row_totals = counts.sum(axis=1)
    K, V = counts.shape
    value = polya_objective(eta, counts)
    for _ in range(_MAX_ITER):
        total = eta.sum()
        denominator = np.sum(digamma(total + row_totals) - digamma(total))
        if symmetric:
            b = eta[0]
            numerator = np.sum(digamma(counts + b)) - K * V * digamma(b)
            candidate = _symmetric_polya_newton(b, counts, row_totals, value)
            new_b = b * numerator / (V * denominator) if candidate is None else candidate
            new = np.full(V, new_b)
        else:
            numerator = np.sum(digamma(counts + eta[None, :]), axis=0) - K * digamma(eta)
            # a term without counts has its maximum at η_v = 0, outside the parameter
            # space: the floor keeps λ = η + N positive (the fixed point's bound is
            # separable over terms, so the clipped step still does not lower h)
            new = np.maximum(eta * numerator / denominator, POLYA_FLOOR)
        new_value = polya_objective(new, counts)
        if not new_value >= value:  # the fixed point cannot lower h but for rounding
            break
        converged = np.max(np.abs(new - eta) / eta) < _RTOL
        eta, value = new, new_value
        if converged:
            break
    return eta


def _symmetric_polya_newton(b, counts, row_totals, value):
    """A Newton step on log b for η = b 1 that raises h, or None."""
    K, V = counts.shape
    total = V * b
    # derivatives of h(b) with respect to b
    first = (
        np.sum(digamma(counts + b))
        - K * V * digamma(b)
        + K * V * digamma(total)
        - V * np.sum(digamma(total + row_totals))
    )
    second = (
        np.sum(polygamma(1, counts + b))
        - K * V * polygamma(1, b)
        + K * V * V * polygamma(1, total)
        - V * V * np.sum(polygamma(1, total + row_totals))
    )
    # in u = log b: h_u = b h_b, h_uu = b h_b + b² h_bb
    curvature = b * first + b * b * second
    if not curvature < 0:
        return None
    new_b = b * np.exp(-b * first / curvature)
    if polya_objective(np.full(V, new_b), counts) >= value:
        return float(new_b)
    return None
