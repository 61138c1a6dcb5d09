"""One step of the EM loop: a plain EM iteration, or a SQUAREM cycle.

A stepper maps the current parameters θ to the next and reports what the engine
needs: the log-likelihood and log-prior *at θ* (the monitored objective), the E-step
count, and the trace record of the plain EM sub-step θ -> M(E(θ)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emkit.core.guards import check_finite_params, non_finite_fields

__all__ = ["PlainEM", "Squarem", "Step", "make_stepper"]


@dataclass
class Step:
    log_likelihood: float  # log p(x | θ), θ the parameters that entered the step
    log_prior: float  # log p(θ)
    params: Any  # the parameters after the step
    record: dict = field(default_factory=dict)  # trace of the EM sub-step from θ
    n_e_steps: int = 1
    # how much the objective at ``params`` may lie below that at θ without a bug: the
    # summed m_step_slack of the M-steps that produced ``params`` (0 for exact M-steps)
    slack: float = 0.0
    # whether ``params`` is the EM sub-step's M(E(θ)), so that the next step's
    # log-likelihood completes this record's kl (False after an extrapolation)
    em_next: bool = True


def m_step_slack(model, params, stats) -> float:
    """The model's ``m_step_slack`` (see EMModel), or 0.0 when it has none."""
    slack = getattr(model, "m_step_slack", None)
    return 0.0 if slack is None else float(slack(params, stats))


def _em_substep(model, params, reduce, has_q: bool, iteration: int):
    """E-step at ``params``, M-step, and the trace terms of that EM iteration.

    Raises FloatingPointError when the M-step's parameters are not finite (they are
    never returned, so the caller keeps ``params``).
    """
    stats, loglik = reduce(model, params)
    return _m_substep(model, params, stats, loglik, has_q, iteration)


def _m_substep(model, params, stats, loglik: float, has_q: bool, iteration: int):
    """:func:`_em_substep` given the E-step at ``params`` (its ``stats`` and ``loglik``)."""
    log_prior = model.log_prior(params)
    new_params = check_finite_params(model.m_step(stats), iteration)
    slack = m_step_slack(model, new_params, stats)
    record = {
        "log_likelihood": loglik,
        "log_prior": log_prior,
        "entropy": np.nan,
        "expected_log_joint": np.nan,
        "lower_bound": np.nan,
        "kl": np.nan,
    }
    if has_q:
        entropy = loglik - model.expected_log_joint(params, stats)
        q_new = model.expected_log_joint(new_params, stats)
        record.update(entropy=entropy, expected_log_joint=q_new, lower_bound=q_new + entropy)
    return loglik, log_prior, new_params, record, slack


class PlainEM:
    """θ -> M(E(θ)): one E-step per step."""

    def __init__(self, model, reduce):
        self.model, self.reduce = model, reduce
        self.has_q = hasattr(model, "expected_log_joint")

    def step(self, params, iteration: int = 1) -> Step:
        """One step from ``params``; ``iteration`` (1-based) names it in errors."""
        loglik, log_prior, new_params, record, slack = _em_substep(
            self.model, params, self.reduce, self.has_q, iteration
        )
        return Step(loglik, log_prior, new_params, record, 1, slack)


class Squarem(PlainEM):
    """SQUAREM (Varadhan & Roland 2008) on the model's unconstrained vector.

    From θ0: θ1 = M(E(θ0)), θ2 = M(E(θ1)), r = θ1 − θ0, v = θ2 − θ1 − r, a step
    length α ≥ 1 from ``scheme``, θ' = θ0 + 2αr + α²v, and the step returns the
    stabilised M(E(θ')). The schemes: 3 (S3, the default) α = ‖r‖/‖v‖; 1 (S1)
    α = −r·v / v·v; 2 (S2) α = −r·r / r·v. α is clipped to at most ``step_max``;
    an α ≤ 1 (no extrapolation beyond θ2) returns θ2. Safeguard: if θ' has a lower
    objective than θ0, or θ' or M(E(θ')) is invalid (non-finite, or refused by
    ``unpack``, the E-step or the M-step), the step returns θ2, two plain EM
    iterations, so the objective never decreases and a bad extrapolation never ends
    worse than plain EM. ``step_max`` starts at ``step_max`` and is multiplied by
    ``step_factor`` whenever the cap binds and the step is accepted, and divided by
    it (not below its start) after a rejection, as ``mstep`` in the R packages
    SQUAREM and turboEM. Needs ``model.pack(params) -> 1-D array`` and
    ``model.unpack(vector, like)``.
    """

    def __init__(
        self, model, reduce, step_max: float = 1.0, step_factor: float = 4.0, scheme: int = 3
    ):
        _require_pack(model, "SQUAREM")
        if scheme not in (1, 2, 3):
            raise ValueError(f"scheme must be 1, 2 or 3, got {scheme!r}")
        super().__init__(model, reduce)
        self.initial_step_max = step_max
        self.step_max = step_max
        self.step_factor = step_factor
        self.scheme = scheme

    def step(self, params, iteration: int = 1) -> Step:
        """One SQUAREM cycle from ``params``; ``iteration`` (1-based) names it in errors."""
        model = self.model
        loglik0, log_prior0, params1, record, slack1 = _em_substep(
            model, params, self.reduce, self.has_q, iteration
        )
        loglik1, _, params2, _, slack2 = _em_substep(model, params1, self.reduce, False, iteration)
        two_steps = slack1 + slack2  # θ2 is two (possibly inexact) M-steps from θ0
        record["kl"] = loglik1 - record["lower_bound"]
        p0, p1, p2 = model.pack(params), model.pack(params1), model.pack(params2)
        r, v = p1 - p0, p2 - 2 * p1 + p0
        alpha = self._step_length(r, v)
        if not alpha > 1.0:  # no extrapolation beyond θ2 is called for (or NaN)
            return Step(loglik0, log_prior0, params2, record, 2, two_steps)
        alpha = min(alpha, self.step_max)
        vector = p0 + 2 * alpha * r + alpha**2 * v
        final = self._extrapolated_step(vector, params, loglik0 + log_prior0)
        if final is None:
            self.step_max = max(self.initial_step_max, self.step_max / self.step_factor)
            return Step(loglik0, log_prior0, params2, record, 3, two_steps)
        if alpha == self.step_max:
            self.step_max *= self.step_factor
        final, stats = final
        # θ' is no worse than θ0 (checked); only the last M-step can fall short
        return Step(loglik0, log_prior0, final, record, 3, m_step_slack(model, final, stats))

    def _step_length(self, r: np.ndarray, v: np.ndarray) -> float:
        """α of the scheme (positive when it extrapolates; NaN when not finite, e.g.
        v = 0)."""
        if self.scheme == 3:
            numerator, denominator = _length(r), _length(v)
        elif self.scheme == 1:
            numerator, denominator = -_dot(r, v), _dot(v, v)
        else:
            numerator, denominator = -_dot(r, r), _dot(r, v)
        # Python floats: a zero denominator (EM at a fixed point, v = 0) raises rather
        # than giving inf, so it is caught here as "no extrapolation"
        if denominator == 0.0:
            return np.nan
        alpha = numerator / denominator
        return alpha if np.isfinite(alpha) else np.nan

    def _extrapolated_step(self, vector, like, objective0):
        """``(M(E(θ')), stats at θ')`` for θ' = unpack(vector), or None when θ' is not
        usable: non-finite, refused, or with an objective below ``objective0``."""
        evaluated = evaluate_proposal(self.model, self.reduce, vector, like, objective0)
        if evaluated is None:
            return None
        stats = evaluated[1]
        try:
            final = self.model.m_step(stats)
        except PROPOSAL_ERRORS:
            return None
        return None if non_finite_fields(final) else (final, stats)


#: what an unusable extrapolated point raises (e.g. a covariance that is not usable)
PROPOSAL_ERRORS = (ValueError, FloatingPointError, ArithmeticError, np.linalg.LinAlgError)


def evaluate_proposal(model, reduce, vector, like, threshold):
    """``(params, stats, loglik)`` at ``unpack(vector, like)``, or None when that point
    is not usable: non-finite, refused by ``unpack`` or the E-step, or with an
    objective (log-likelihood + log-prior) below ``threshold``."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # caught as non-finite
            proposal = model.unpack(vector, like)
        if non_finite_fields(proposal):
            return None
        stats, loglik = reduce(model, proposal)
        objective = loglik + model.log_prior(proposal)
    except PROPOSAL_ERRORS:
        return None
    # written so that a NaN threshold refuses too
    if not (np.isfinite(objective) and objective >= threshold):
        return None
    return proposal, stats, loglik


def make_stepper(accelerate, model, reduce):
    """The stepper for ``accelerate``: None or "none" (plain EM), "squarem", "daarem",
    "qn" (emkit.core.quasi_newton.QuasiNewton), "auto" (emkit.core.anderson.AutoAccelerate,
    the recommended one), or a callable ``(model, reduce) -> stepper`` (e.g.
    ``functools.partial(Squarem, scheme=1)``).

    ``reduce(model, params) -> (stats, loglik)`` is the E-step over the whole data.
    """
    if callable(accelerate):
        return accelerate(model, reduce)
    if accelerate in (None, "none"):
        return PlainEM(model, reduce)
    if accelerate == "squarem":
        return Squarem(model, reduce)
    if accelerate in ("daarem", "auto"):
        from emkit.core.anderson import AutoAccelerate, Daarem  # built on this module

        return (Daarem if accelerate == "daarem" else AutoAccelerate)(model, reduce)
    if accelerate == "qn":
        from emkit.core.quasi_newton import QuasiNewton  # built on this module

        return QuasiNewton(model, reduce)
    raise ValueError(
        f"accelerate must be None, 'squarem', 'daarem', 'qn' or 'auto', got {accelerate!r}"
    )


def _require_pack(model, method: str) -> None:
    if not (hasattr(model, "pack") and hasattr(model, "unpack")):
        raise TypeError(
            f"{type(model).__name__} has no pack/unpack methods, which {method} needs "
            "(an unconstrained vector form of the parameters); use accelerate=None"
        )


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """a · b without BLAS (see :func:`_length`)."""
    return float(np.sum(a * b))


def _length(vector: np.ndarray) -> float:
    """The Euclidean norm without BLAS: ``np.linalg.norm`` calls BLAS's dot, whose
    rounding depends on how many threads BLAS may use, and the engine limits those
    when ``n_jobs`` > 1; so the fit would depend on ``n_jobs`` (measured on the
    transcript model: 435 against 438 E-steps, different estimates)."""
    return float(np.sqrt(np.sum(vector * vector)))
