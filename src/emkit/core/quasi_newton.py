"""Quasi-Newton acceleration of the EM map, kept monotone.

Zhou, Alexander & Lange (2011), "A quasi-Newton acceleration for high-dimensional
optimization algorithms", Statistics and Computing 21:261-273. With ``x`` the model's
unconstrained vector (``pack``) and ``F`` the EM map, EM seeks a root of
``g(x) = x − F(x)``. Two EM steps from ``x`` give one secant pair,
``u = F(x) − x`` and ``v = F(F(x)) − F(x)``, for which ``dF · u ≈ v``. The ``order``
latest pairs, the columns of ``U`` and ``V``, define the smallest-norm Jacobian
``M = V (UᵀU)⁻¹ Uᵀ`` with ``M U = V``; Newton's step on ``g`` with ``dF`` replaced by
``M``, inverted by the Sherman-Morrison-Woodbury formula, is

    x' = x + (I − M)⁻¹ u = F(x) + V (UᵀU − UᵀV)⁻¹ Uᵀ u,

the fixed point of the EM map's secant model, reached in one step. Only a
``order × order`` system is solved, whatever the number of parameters.

Monotone as :class:`emkit.core.anderson.Daarem` is: ``x'`` is kept only when its
objective reaches the value that the two EM steps are guaranteed to reach (the lower
bound at ``F(F(x))``, or, for a model without ``expected_log_joint``, the objective at
``F(x)``); otherwise the step returns ``F(F(x))``. An iteration costs the E-steps at
``F(x)`` and at ``x'``; a kept ``x'``'s E-step is the next iteration's first, so an
accepted iteration costs two E-steps and a rejected one three.

Vector products are written without BLAS (``emkit.core.steps._dot``), so the step does
not depend on BLAS's thread count (the engine limits it when ``n_jobs`` > 1); the small
system is LAPACK's, far below any threading threshold.
"""

from __future__ import annotations

import numpy as np

from emkit.core._proposal import ProposalStepper, expanding_secants
from emkit.core.steps import Step, _dot, _em_substep, _length

__all__ = ["QuasiNewton"]


class QuasiNewton(ProposalStepper):
    """The quasi-Newton step of Zhou, Alexander & Lange (2011) on the model's vector.

    Parameters
    ----------
    model, reduce : as for :class:`emkit.core.steps.PlainEM`.
    order : int
        Secant pairs kept (the paper's ``q``), the most recent ones; at most the
        vector's length is used.
    accept : {"bound", "objective"}
        "bound" (when the model has ``expected_log_joint``): a proposal must reach the
        objective EM's second step is guaranteed to reach, the lower bound at
        ``F(F(x))`` plus its log-prior, so no iteration gains less than two EM steps
        would (and the convergence test never stops earlier than plain EM's would);
        "objective": it must reach the objective at ``F(x)``.
    expanding : {"squarem", "newton"}
        What to propose when the secant model expands (an eigenvalue of
        ``(UᵀU)⁻¹ UᵀV`` with real part at least 1, see
        :func:`emkit.core._proposal.expanding_secants`: the iterates leave a saddle
        point, and the Newton point lies back towards it): "squarem" (default),
        SQUAREM's S3 point ``x + 2αu + α²(v − u)``, ``α = ‖u‖ / ‖v − u‖`` capped by
        ``step_max``, from the same two EM steps; "newton", the Newton point all the
        same (the paper's method; 1,239 against 215 E-steps on bench_squarem's
        state-space fit at ``order`` 10 and 5).
    step_max, step_factor : float
        SQUAREM's step bound: it starts at ``step_max``, is multiplied by
        ``step_factor`` after a kept step at the bound and divided by it (not below
        the start) after a refused one.
    """

    def __init__(
        self,
        model,
        reduce,
        order: int = 5,
        accept: str = "bound",
        expanding: str = "squarem",
        step_max: float = 1.0,
        step_factor: float = 4.0,
    ):
        if expanding not in ("squarem", "newton"):
            raise ValueError(f"expanding must be 'squarem' or 'newton', got {expanding!r}")
        if int(order) < 1:
            raise ValueError(f"order must be at least 1, got {order!r}")
        super().__init__(
            model, reduce, "the quasi-Newton acceleration", accept, step_max, step_factor
        )
        self.order = int(order)
        self.expanding = expanding
        self.n_squarem = 0  # proposals made by SQUAREM's rule (expanding secants)
        self._u: list[np.ndarray] = []
        self._v: list[np.ndarray] = []

    def step(self, params, iteration: int = 1) -> Step:
        """One iteration from ``params``; ``iteration`` (1-based) names it in errors."""
        model = self.model
        _, loglik0, log_prior0, params1, record, slack1, n_e_steps = self._first_substep(
            params, iteration
        )
        bound = self.accept == "bound"
        loglik1, log_prior1, params2, record2, slack2 = _em_substep(
            model, params1, self.reduce, bound, iteration
        )
        record["kl"] = loglik1 - record["lower_bound"]
        # F(F(x)): two EM steps, each possibly an inexact M-step
        em_step = Step(loglik0, log_prior0, params2, record, n_e_steps + 1, slack1 + slack2)
        x = np.asarray(model.pack(params), dtype=np.float64)
        x1 = np.asarray(model.pack(params1), dtype=np.float64)
        x2 = np.asarray(model.pack(params2), dtype=np.float64)
        u, v = x1 - x, x2 - x1
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            self._u, self._v = [], []  # e.g. a weight at exactly 0 packs to -inf
            return em_step
        self._u = [*self._u, u][-self._memory(u.size) :]
        self._v = [*self._v, v][-self._memory(u.size) :]
        squarem = self.expanding == "squarem" and expanding_secants(self._u, self._v, 1.0)
        if squarem:
            vector, capped = self._squarem_point(x, u, v)
        else:
            vector = self._newton_point(x1, u)
        if vector is None:
            return em_step
        if bound:
            threshold = record2["lower_bound"] + model.log_prior(params2)
        else:
            threshold = loglik1 + log_prior1
        step, kept = self._propose(vector, params, threshold, em_step)
        if squarem:
            self.n_squarem += 1
            self._update_bound(kept, capped)
        return step

    def _memory(self, size: int) -> int:
        return max(1, min(self.order, size))

    def _squarem_point(self, x: np.ndarray, u: np.ndarray, v: np.ndarray):
        """SQUAREM's S3 point from the same two EM steps (``r = u``, ``v − u``), its
        step length capped by ``step_max``, and whether the cap bound; (None, False)
        when it does not extrapolate beyond ``F(F(x))``. SQUAREM's steps always go
        forwards, along EM's own direction, which is what a plateau needs."""
        r, w = u, v - u
        denominator = _length(w)
        if denominator == 0.0:
            return None, False
        alpha = _length(r) / denominator
        if not (np.isfinite(alpha) and alpha > 1.0):
            return None, False
        capped = alpha >= self.step_max
        alpha = min(alpha, self.step_max)
        if not alpha > 1.0:  # capped at 1: F(F(x)) itself, and a longer bound next time
            self.step_max *= self.step_factor
            return None, capped
        return x + 2 * alpha * r + alpha**2 * w, capped

    def _newton_point(self, x1: np.ndarray, u: np.ndarray) -> np.ndarray | None:
        """The quasi-Newton point ``F(x) + V (UᵀU − UᵀV)⁻¹ Uᵀ u``, None when the small
        system is not usable."""
        coefficients = self._coefficients(u)
        if coefficients is None:
            return None
        vector = x1
        for c, column in zip(coefficients, self._v, strict=True):
            vector = vector + c * column
        return vector

    def _coefficients(self, u: np.ndarray) -> np.ndarray | None:
        """``(UᵀU − UᵀV)⁻¹ Uᵀ u`` on the kept pairs, None when that system is not
        usable (not finite, or singular: e.g. EM at a fixed point)."""
        system = np.array(
            [[_dot(a, a_ - b) for a_, b in zip(self._u, self._v, strict=True)] for a in self._u]
        )
        rhs = np.array([_dot(a, u) for a in self._u])
        if not (np.all(np.isfinite(system)) and np.all(np.isfinite(rhs))):
            return None
        try:
            solution, _, rank, _ = np.linalg.lstsq(system, rhs, rcond=1e-12)
        except np.linalg.LinAlgError:
            return None
        if rank == 0 or not np.all(np.isfinite(solution)):
            return None
        return solution
