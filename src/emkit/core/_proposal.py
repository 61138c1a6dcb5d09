"""What the monotone secant accelerations (DAAREM, quasi-Newton) share: the E-step of a
kept proposal reused as the next iteration's, a proposal's test against EM's own
guaranteed value and its bookkeeping, a step bound that grows with success, and the
test of whether the EM map expands along the secants (its iterates leaving a saddle
point)."""

from __future__ import annotations

import numpy as np

from emkit.core.steps import PlainEM, Step, _dot, _m_substep, _require_pack, evaluate_proposal

__all__ = ["ProposalStepper", "expanding_secants"]


def expanding_secants(steps, images, shift: float) -> bool:
    """Whether ``(SᵀS)⁻¹ SᵀY`` has an eigenvalue with real part at least ``shift``, for
    the columns ``S`` of ``steps`` and ``Y`` of ``images`` (lists of equal-length
    vectors): the matrix of the smallest secant model ``Y S⁺`` on span(S), in the
    coordinates of ``S``. False when it cannot be computed (not finite, singular).

    At a local maximum every eigenvalue of the EM map's Jacobian lies in [0, 1) (it is
    similar to ``I − I_complete⁻¹ I_observed``). One above 1 means that the iterates
    leave a saddle point, a repelling fixed point, along a plateau where EM's steps
    grow (measured on bench_squarem's state-space model, 1.0007-1.0025 for 1,400 of
    plain EM's 2,451 iterations, and its Gaussian HMM, 1.007-1.009 for 60 of 191): a
    step that seeks the fixed point of the secant model (Newton's, Anderson's) then
    jumps back towards the saddle, lowering the objective, and is refused every time.
    """
    gram = np.array([[_dot(a, b) for b in steps] for a in steps])
    cross = np.array([[_dot(a, b) for b in images] for a in steps])
    if not (np.all(np.isfinite(gram)) and np.all(np.isfinite(cross))):
        return False
    try:
        secant = np.linalg.lstsq(gram, cross, rcond=1e-12)[0]
        eigenvalues = np.linalg.eigvals(secant)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.isfinite(eigenvalues)) and np.max(eigenvalues.real) >= shift)


class ProposalStepper(PlainEM):
    """Base of :class:`emkit.core.anderson.Daarem` and
    :class:`emkit.core.quasi_newton.QuasiNewton`: an EM step from ``params`` (reusing
    the E-step of a kept proposal), then one proposal, kept only when it reaches a
    threshold (EM's guaranteed value), and a step bound ``step_max`` for forward
    steps, multiplied by ``step_factor`` after a success at the bound and divided by it
    (not below its start) after a refusal, as ``mstep`` in the R package SQUAREM."""

    def __init__(self, model, reduce, method, accept, step_max, step_factor):
        _require_pack(model, method)
        if accept not in ("bound", "objective"):
            raise ValueError(f"accept must be 'bound' or 'objective', got {accept!r}")
        super().__init__(model, reduce)
        self.accept = accept if self.has_q else "objective"
        self.initial_step_max = self.step_max = step_max
        self.step_factor = step_factor
        self.n_accepted = 0
        self.n_rejected = 0
        self._evaluated = None  # (params, stats, loglik) of a kept proposal

    def _first_substep(self, params, iteration):
        """``(stats, loglik, log_prior, M(E(params)), record, slack, n_e_steps)``, the
        E-step at ``params`` taken from the kept proposal when it is that one."""
        n_e_steps = 0
        if self._evaluated is not None and self._evaluated[0] is params:
            _, stats, loglik = self._evaluated
        else:
            stats, loglik = self.reduce(self.model, params)
            n_e_steps = 1
        self._evaluated = None
        log_prior, new_params, record, slack = _m_substep(
            self.model, params, stats, loglik, self.has_q, iteration
        )[1:]
        return stats, loglik, log_prior, new_params, record, slack, n_e_steps

    def _propose(self, vector, params, threshold, em_step: Step) -> tuple[Step, bool]:
        """The step to ``unpack(vector)`` when its objective reaches ``threshold`` (its
        E-step kept for the next iteration), else ``em_step``; one E-step either way;
        and whether the proposal was kept."""
        proposal = evaluate_proposal(self.model, self.reduce, vector, params, threshold)
        em_step.n_e_steps += 1
        if proposal is None:
            self.n_rejected += 1
            return em_step, False
        self.n_accepted += 1
        self._evaluated = proposal
        record = em_step.record
        return Step(
            em_step.log_likelihood,
            em_step.log_prior,
            proposal[0],
            record,
            em_step.n_e_steps,
            # the proposal reached EM's bound, which lies at most the EM steps' slack
            # below the objective at ``params`` (inexact M-steps)
            em_step.slack,
            em_next=False,
        ), True

    def _update_bound(self, kept: bool, capped: bool) -> None:
        if not kept:
            self.step_max = max(self.initial_step_max, self.step_max / self.step_factor)
        elif capped:
            self.step_max *= self.step_factor
