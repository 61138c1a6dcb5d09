"""Damped Anderson acceleration of the EM map with restarts (DAAREM), kept monotone.

Henderson & Varadhan (2019), "Damped Anderson acceleration with restarts and
monotonicity control for accelerating EM and EM-like algorithms", J. Comput. Graph.
Stat. 28(4). With ``x`` the model's unconstrained vector (``pack``), ``G`` the EM map
and ``f(x) = G(x) − x`` its residual, Anderson acceleration keeps the differences of
the last iterates, ``ΔX`` (columns ``x_j+1 − x_j``) and ``ΔF`` (``f_j+1 − f_j``), and
proposes

    x' = x + f − (ΔX + ΔF) γ,   γ = argmin ‖f − ΔF γ‖² + λ ‖γ‖²,

a multisecant quasi-Newton step on ``f(x) = 0``. DAAREM's damping ``λ`` shrinks ``γ``
to a fraction ``δ = 1 / (1 + a^(κ − s))`` of its least-squares length, ``s`` counting
the accepted proposals, so it starts close to EM and trusts the secants more as they
succeed; the history is cleared every ``order`` iterations (the restarts).

Monotone here, unlike the R package's default tolerance: a proposal is kept only when
its objective is at least EM's own guaranteed value (see :class:`Daarem`), otherwise
the step is the EM step ``G(x)``. A kept proposal's E-step is the next step's E-step,
so an accepted iteration costs one E-step and a rejected one two.

All vector products are written without BLAS (see ``emkit.core.steps._length``): the
step must not depend on BLAS's thread count, which the engine limits when
``n_jobs`` > 1. The small (order × order) eigenproblem is LAPACK's, on a matrix far
below any threading threshold.
"""

from __future__ import annotations

import numpy as np

from emkit.core._proposal import ProposalStepper, expanding_secants
from emkit.core.quasi_newton import QuasiNewton
from emkit.core.steps import Squarem, Step, _dot

__all__ = ["AutoAccelerate", "Daarem"]


class Daarem(ProposalStepper):
    """DAAREM on the model's unconstrained vector, one E-step per accepted iteration.

    Parameters
    ----------
    model, reduce : as for :class:`emkit.core.steps.PlainEM`.
    order : int
        Most secant pairs kept (Anderson's memory ``m``); the history restarts after
        that many iterations. At most half the vector's length is used.
    kappa, shrink : float
        The damping schedule ``δ_s = 1 / (1 + shrink^(kappa − s))``, ``s`` the
        accepted proposals so far (the R package daarem's defaults); ``kappa=-inf``
        turns damping off.
    accept : {"bound", "objective"}
        "bound" (when the model has ``expected_log_joint``): a proposal must reach the
        objective EM's step is guaranteed to reach, ``Q(G(x)) + H(q) + log p(G(x))``
        (the trace's lower bound), so no iteration gains less than a guaranteed EM
        step, and the convergence test never stops earlier than plain EM's would;
        "objective": a proposal must not lower the objective at ``x``.
    expanding : {"anderson", "forward"}
        What to propose when the secant model of the EM map's Jacobian has an
        eigenvalue of at least 1 (the iterates leaving a saddle point, see
        :func:`emkit.core._proposal.expanding_secants`): "anderson", Anderson's step
        all the same (the R package's behaviour), which then points back at the saddle
        and is refused nearly every time (bench_squarem's state-space fit: 1,448 of
        1,496 proposals refused, more E-steps than plain EM); "forward", ``x + α f``
        along EM's own step, ``α`` starting at ``step_max`` and multiplied by
        ``step_factor`` after each success, divided by it (not below the start) after a
        refusal.
    step_max, step_factor : float
        The forward step's bounds (for ``expanding="forward"``).
    """

    def __init__(
        self,
        model,
        reduce,
        order: int = 10,
        kappa: float = 25.0,
        shrink: float = 1.2,
        accept: str = "bound",
        expanding: str = "anderson",
        step_max: float = 4.0,
        step_factor: float = 4.0,
    ):
        if expanding not in ("anderson", "forward"):
            raise ValueError(f"expanding must be 'anderson' or 'forward', got {expanding!r}")
        super().__init__(model, reduce, "DAAREM", accept, step_max, step_factor)
        self.expanding = expanding
        self.n_forward = 0  # proposals x + α f made on expanding secants
        self.order, self.kappa, self.shrink = int(order), kappa, shrink
        self._previous = None  # (x, f) of the last iterate
        self._dx: list[np.ndarray] = []
        self._df: list[np.ndarray] = []
        self._since_restart = 0

    def step(self, params, iteration: int = 1) -> Step:
        """One iteration from ``params``; ``iteration`` (1-based) names it in errors."""
        model = self.model
        _, loglik, log_prior, new_params, record, slack, n_e_steps = self._first_substep(
            params, iteration
        )
        em_step = Step(loglik, log_prior, new_params, record, n_e_steps, slack)
        x = np.asarray(model.pack(params), dtype=np.float64)
        f = np.asarray(model.pack(new_params), dtype=np.float64) - x
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(f))):
            self._forget()  # e.g. a weight at exactly 0 packs to -inf
            return em_step
        self._remember(x, f)
        dx, df = self._dx, self._df
        forward = self.expanding == "forward" and self._expanding()
        if forward:
            self._restart_if_due(f.size)
            vector = x + self.step_max * f
        else:
            gamma = self._coefficients(f)
            if gamma is None:
                return em_step
            vector = x + f
            for g, step_x, step_f in zip(gamma, dx, df, strict=True):
                vector = vector - g * (step_x + step_f)
        if self.accept == "bound":
            threshold = record["lower_bound"] + model.log_prior(new_params)
        else:
            threshold = loglik + log_prior
        step, kept = self._propose(vector, params, threshold, em_step)
        if forward:
            self.n_forward += 1
            self._update_bound(kept, capped=True)
        if kept:
            record["kl"] = np.nan  # log p(x | G(x)) was not computed
        return step

    # -- history -----------------------------------------------------------------------
    def _forget(self) -> None:
        self._previous, self._dx, self._df, self._since_restart = None, [], [], 0

    def _remember(self, x: np.ndarray, f: np.ndarray) -> None:
        if self._previous is not None:
            x0, f0 = self._previous
            self._dx.append(x - x0)
            self._df.append(f - f0)
            self._since_restart += 1
        self._previous = (x, f)

    def _expanding(self) -> bool:
        """Whether the secant model of the EM map's Jacobian on span(ΔX),
        ``I + (ΔXᵀΔX)⁻¹ ΔXᵀΔF``, has an eigenvalue with real part at least 1: the
        iterates leave a saddle point (see emkit.core.quasi_newton), where Anderson's
        step, which seeks the fixed point of the linear model, jumps back towards it."""
        if not self._dx:
            return False
        return expanding_secants(self._dx, self._df, shift=0.0)

    def _restart_if_due(self, size: int) -> None:
        if self._since_restart >= self._memory(size):
            self._dx, self._df, self._since_restart = [], [], 0

    def _memory(self, size: int) -> int:
        return max(1, min(self.order, (size + 1) // 2))

    def _coefficients(self, f: np.ndarray) -> np.ndarray | None:
        """Damped least-squares γ on the current history (None when it is empty), and
        the restart after ``order`` iterations."""
        if not self._dx:
            return None
        gram = np.array([[_dot(a, b) for b in self._df] for a in self._df])
        rhs = np.array([_dot(a, f) for a in self._df])
        self._restart_if_due(f.size)
        if not (np.all(np.isfinite(gram)) and np.all(np.isfinite(rhs))):
            return None
        eigenvalues, vectors = np.linalg.eigh(gram)
        keep = eigenvalues > 1e-14 * max(eigenvalues[-1], 0.0)
        if not np.any(keep):
            return None
        eigenvalues, vectors = eigenvalues[keep], vectors[:, keep]
        projected = vectors.T @ rhs
        damping = self._damping(eigenvalues, projected)
        return vectors @ (projected / (eigenvalues + damping))

    def _damping(self, eigenvalues: np.ndarray, projected: np.ndarray) -> float:
        """λ ≥ 0 with ‖γ(λ)‖² = δ ‖γ(0)‖² (bisection: the length falls as λ grows)."""
        with np.errstate(over="ignore"):
            target = 1.0 / (1.0 + self.shrink ** (self.kappa - self.n_accepted))
        if not target < 1.0:
            return 0.0

        def squared(damping):
            return float(np.sum((projected / (eigenvalues + damping)) ** 2))

        goal = target * squared(0.0)
        low, high = 0.0, float(np.sqrt(np.sum(projected**2) / goal))
        for _ in range(64):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if squared(middle) > goal else (low, middle)
        return high


class AutoAccelerate:
    """DAAREM while its proposals succeed, the quasi-Newton stepper once they keep failing.

    DAAREM's secant model is excellent where the EM map is close to linear along its
    path (mixtures, factor analysis, t mixtures: 10-30x fewer E-steps than plain EM in
    ``benchmarks/bench_squarem.py``), but along a curved valley, or with a coordinate
    that drifts without converging (the log of a probability going to 0), its long
    steps are rejected one after another, each costing an E-step in vain; and where
    the iterates leave a saddle point (the EM map expanding, as in the Gaussian HMM and
    state-space fits of the benchmark), its step points back at the saddle. So: DAAREM
    until ``max_rejected`` of its last ``window`` proposals were rejected, then, for
    the rest of the fit (a switch, never back, so the choice cannot oscillate), the
    ``fallback``: "qn" (:class:`emkit.core.quasi_newton.QuasiNewton`, the default:
    quasi-Newton steps where EM contracts, SQUAREM's forward steps with their growing
    bound where it expands) or "squarem" (:class:`emkit.core.steps.Squarem`, as
    before). At the switch the fallback gets what DAAREM knows (see
    :meth:`_hand_over`). Measured in ``benchmarks/bench_squarem.py``, E-steps with the
    "qn" / "squarem" fallback: state-space 334 / 530, GMM diag 397 / 1,091, slow Gaussian HMM
    128 / 254, PLSA 172 / 226, Gaussian HMM 66 / 73; on the slow PLSA 805 / 413 (where
    "squarem" stops 0.002 nats below plain EM and "qn" 0.0007 above); the same on the
    fits that never switch (mixtures, factor analysis).
    """

    def __init__(
        self, model, reduce, window: int = 10, max_rejected: int = 5, fallback: str = "qn"
    ):
        if fallback not in ("qn", "squarem"):
            raise ValueError(f"fallback must be 'qn' or 'squarem', got {fallback!r}")
        self.daarem = Daarem(model, reduce)
        self.squarem = (QuasiNewton if fallback == "qn" else Squarem)(model, reduce)
        self.model, self.reduce = model, reduce
        self.window, self.max_rejected = window, max_rejected
        self._outcomes: list[bool] = []  # rejected?, of DAAREM's recent proposals
        self.switched_at: int | None = None  # iteration of the switch to the fallback

    def step(self, params, iteration: int = 1) -> Step:
        """One DAAREM iteration, or one of the fallback's, from ``params``."""
        if self.switched_at is not None:
            return self.squarem.step(params, iteration)
        tried = self.daarem.n_accepted + self.daarem.n_rejected
        rejected = self.daarem.n_rejected
        step = self.daarem.step(params, iteration)
        if self.daarem.n_accepted + self.daarem.n_rejected > tried:
            self._outcomes = [*self._outcomes, self.daarem.n_rejected > rejected][-self.window :]
            if sum(self._outcomes) >= self.max_rejected:
                self.switched_at = iteration
                self._hand_over()
        return step

    def _hand_over(self) -> None:
        """What DAAREM knows that the fallback can use: the E-step of a kept proposal,
        and, for "qn", DAAREM's secant pairs. DAAREM's ``Δx`` and ``Δf = Δ(G(x) − x)``
        give ``G``'s secant pair ``(Δx, Δx + Δf)``, the same kind as qn's
        ``(u, v = F(F(x)) − F(x))``, so qn starts with a secant model rather than from
        nothing (bench_squarem's state-space fit: 334 E-steps against 394; the other
        fits unchanged or within 2)."""
        daarem, fallback = self.daarem, self.squarem
        if isinstance(fallback, ProposalStepper):
            fallback._evaluated, daarem._evaluated = daarem._evaluated, None
        if isinstance(fallback, QuasiNewton) and daarem._dx:
            keep = fallback._memory(daarem._dx[0].size)
            fallback._u = list(daarem._dx[-keep:])
            fallback._v = [dx + df for dx, df in zip(daarem._dx, daarem._df, strict=True)][-keep:]
