r"""The observed information of an EM fit, from the E-step's statistics.

By Fisher's identity the score of the log-likelihood is the gradient of EM's
:math:`Q`: for every :math:`\theta`,

.. math::

    \nabla \ell(\theta) = \nabla_{\theta'} Q(\theta' \mid \theta) \big|_{\theta' = \theta},
    \qquad Q(\theta' \mid \theta) = E_{p(z \mid x, \theta)}[\log p(x, z \mid \theta')],

so the score at any point needs one E-step (its statistics) and evaluations of the
model's ``expected_log_joint(params, stats)``, which need no pass over the data. The
observed information :math:`-\nabla^2 \ell(\hat\theta)` is the Jacobian of that
score, here by central differences: one E-step on either side of every coordinate.
This is the third route of Meng & Rubin (1991) and Louis (1982): it differentiates
the log-likelihood at the optimum, but only once numerically (the score is exact up
to the rounding of a difference of :math:`Q`, a smooth function of
:math:`\theta'` evaluated on fixed statistics), where second differences of
:math:`\ell` itself would lose twice as many digits.

Everything here is generic: a model's parameters are reached through ``make(u)``,
a map from a vector of free coordinates (``u = 0`` is the fitted point) to the
model's parameter container, which the caller builds (the estimators use the
linear free coordinates of :mod:`emkit.estimators._inference`). A prior, when the
model has one, is part of the objective: the result is then the curvature of the
log-posterior (a Laplace approximation), as the fit maximised it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.core.reduce import Reducer

__all__ = ["ObservedInformation", "log_likelihood_hessian", "observed_information"]

#: default central-difference step, in the caller's scaled coordinates
DEFAULT_STEP = 1e-4


@dataclass(frozen=True)
class ObservedInformation:
    """The observed information of a fit in the free coordinates ``u``.

    Attributes
    ----------
    information : ndarray of shape (n_free, n_free)
        :math:`-\\nabla^2 (\\ell + \\log p(\\theta))` at ``u = 0``, symmetrised.
    score : ndarray of shape (n_free,)
        The gradient at ``u = 0`` (zero at an exact stationary point).
    log_likelihood : float
        :math:`\\ell` at ``u = 0`` (summed over the chunks, without the prior).
    log_prior : float
    diagonal_check : ndarray of shape (n_free,)
        The same diagonal from second differences of :math:`\\ell` on the E-steps
        already run (no extra cost): an independent check of the model's
        ``expected_log_joint`` (NaN where not computed).
    n_e_steps : int
        Passes over the data.
    """

    information: np.ndarray
    score: np.ndarray
    log_likelihood: float
    log_prior: float
    diagonal_check: np.ndarray
    n_e_steps: int


def _objective(model, params, stats) -> float:
    return float(model.expected_log_joint(params, stats)) + float(model.log_prior(params))


def fisher_score(model, make: Callable, u: np.ndarray, stats, step: float) -> np.ndarray:
    """The gradient at ``u`` of ``Q(make(u') | stats) + log_prior(make(u'))`` in ``u'``,
    by central differences of step ``step`` (the score, when ``stats`` are the E-step's
    at ``make(u)``)."""
    n = u.shape[0]
    gradient = np.empty(n)
    for j in range(n):
        up, down = u.copy(), u.copy()
        up[j] += step
        down[j] -= step
        high = _objective(model, make(up), stats)
        low = _objective(model, make(down), stats)
        gradient[j] = (high - low) / (2.0 * step)
    return gradient


def observed_information(
    model,
    chunks: Sequence[Any],
    make: Callable[[np.ndarray], Any],
    n_free: int,
    *,
    step: float = DEFAULT_STEP,
    n_jobs: int | None = 1,
) -> ObservedInformation:
    """The observed information at ``make(0)`` by Fisher's identity (module docstring).

    Parameters
    ----------
    model : an EM model with ``e_step``, ``log_prior`` and ``expected_log_joint``
    chunks : sequence of the model's chunks (the data)
    make : callable
        ``make(u)`` -> the model's parameters at free coordinates ``u`` of shape
        (n_free,); ``make(zeros)`` is the point of interest. Coordinates should be
        scaled so that a change of ``step`` is small for every one of them.
    n_free : int
    step : float
        Central-difference step in ``u``, for the score's Jacobian and for the
        score itself. With coordinates scaled to the size of the parameters, 1e-4
        leaves truncation and rounding errors near 1e-8 relative.
    n_jobs : int or None
        Threads for the E-steps (see :class:`emkit.core.reduce.Reducer`).

    Returns
    -------
    ObservedInformation
    """
    if not hasattr(model, "expected_log_joint"):
        raise NotImplementedError(
            f"{type(model).__name__} has no expected_log_joint(params, stats): the score "
            "by Fisher's identity needs it; use log_likelihood_hessian instead"
        )
    with Reducer(chunks, n_jobs) as reduce:
        return _observed_information(model, reduce, make, n_free, step)


def _observed_information(model, reduce, make, n_free, step) -> ObservedInformation:
    zero = np.zeros(n_free)
    centre = make(zero)
    stats, log_likelihood = reduce(model, centre)
    score = fisher_score(model, make, zero, stats, step)
    jacobian = np.empty((n_free, n_free))
    check = np.full(n_free, np.nan)
    for j in range(n_free):
        sides = []
        for sign in (1.0, -1.0):
            u = zero.copy()
            u[j] = sign * step
            side_stats, side_loglik = reduce(model, make(u))
            sides.append((fisher_score(model, make, u, side_stats, step), side_loglik))
        (high, ll_high), (low, ll_low) = sides
        jacobian[:, j] = (high - low) / (2.0 * step)
        prior_second = _second_difference(lambda u: float(model.log_prior(make(u))), zero, j, step)
        check[j] = (ll_high - 2.0 * log_likelihood + ll_low) / step**2 + prior_second
    information = -0.5 * (jacobian + jacobian.T)
    return ObservedInformation(
        information,
        score,
        log_likelihood,
        float(model.log_prior(centre)),
        -check,
        1 + 2 * n_free,
    )


def _second_difference(function, u, j, step) -> float:
    up, down = u.copy(), u.copy()
    up[j] += step
    down[j] -= step
    return (function(up) - 2.0 * function(u) + function(down)) / step**2


def log_likelihood_hessian(
    model,
    chunks: Sequence[Any],
    make: Callable[[np.ndarray], Any],
    n_free: int,
    *,
    step: float = 1e-3,
    n_jobs: int | None = 1,
) -> np.ndarray:
    """-(Hessian of log-likelihood + log prior) at ``make(0)`` from second differences of
    the log-likelihood alone (``e_step``'s value; 2 n_free^2 + 1 passes over the data).

    The route for a model without ``expected_log_joint``, and an independent check of
    :func:`observed_information`; it loses about twice as many digits to rounding.
    """

    with Reducer(chunks, n_jobs) as reduce:

        def value(u):
            params = make(u)
            return reduce(model, params)[1] + float(model.log_prior(params))

        return _second_differences(value, n_free, step)


def _second_differences(value, n_free, step) -> np.ndarray:
    zero = np.zeros(n_free)
    centre = value(zero)
    hessian = np.empty((n_free, n_free))
    for i in range(n_free):
        up, down = zero.copy(), zero.copy()
        up[i], down[i] = step, -step
        hessian[i, i] = (value(up) - 2.0 * centre + value(down)) / step**2
        for j in range(i):
            corners = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                u = zero.copy()
                u[i] += si * step
                u[j] += sj * step
                corners.append(value(u))
            hessian[i, j] = hessian[j, i] = (corners[0] - corners[1] - corners[2] + corners[3]) / (
                4.0 * step**2
            )
    return -hessian
