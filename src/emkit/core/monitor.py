"""Convergence monitoring and the check of EM's monotonicity theorem."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "ConvergenceMonitor",
    "ConvergenceWarning",
    "LikelihoodDecreaseWarning",
    "decrease_rtol_for",
]


def decrease_rtol_for(dtype) -> float:
    """Relative decrease of the objective still attributed to rounding, for a dtype.

    float64 arithmetic: 1e-9. float32 arithmetic (the E-step's products rounded to
    about 6e-8): 1e-5, which still catches any real bug while letting float32
    rounding of per-sample log-densities through.
    """
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-9


# A change of the per-sample objective this small (relative) is floating-point rounding:
# the last bits of parameters that no longer move. Real EM progress is far larger.
_ROUNDING = 64 * np.finfo(np.float64).eps


class LikelihoodDecreaseWarning(RuntimeWarning):
    """The objective (log-likelihood + log-prior) decreased between EM iterations.

    EM guarantees a non-decreasing objective; a decrease beyond rounding means a bug in
    a model's E- or M-step (or an M-step that does not maximise Q). Never expected.
    """


class ConvergenceMonitor:
    """Tracks the per-sample objective, decides convergence and checks monotonicity.

    Parameters
    ----------
    tol : float
        Convergence when the per-sample objective changes by less than ``tol``, or
        only by rounding (so that ``tol=0`` runs until a fixed point).
    max_iter : int
        Iteration budget.
    decrease_rtol : float
        Relative size of a decrease still attributed to floating-point rounding.
    """

    def __init__(self, tol: float, max_iter: int, decrease_rtol: float = 1e-9):
        self.tol = tol
        self.max_iter = max_iter
        self.decrease_rtol = decrease_rtol
        self.history: list[float] = []
        self.converged = False

    @property
    def n_iter(self) -> int:
        return len(self.history)

    def report(self, value: float, previous: float = -np.inf, allowance: float = 0.0) -> bool:
        """Record one iteration's objective; return True when converged.

        ``previous`` is the objective before the first recorded iteration (a warm
        start continues from the last fit's value). ``allowance`` is a decrease since
        the last value that the model declared possible (an M-step that deliberately
        does not maximise Q exactly, see ``EMModel.m_step_slack``), per sample.
        """
        if not np.isfinite(value):
            raise FloatingPointError(
                f"the log-likelihood became {value} at iteration {self.n_iter + 1}; "
                "check the data for extreme values, increase regularisation or scale the data"
            )
        last = self.history[-1] if self.history else previous
        self.history.append(float(value))
        if np.isfinite(last):
            slack = self.decrease_rtol * max(1.0, abs(last)) + allowance
            if value < last - slack:
                warnings.warn(
                    f"EM objective decreased at iteration {self.n_iter}: "
                    f"{last:.17g} -> {value:.17g} (by {last - value:.3g} per sample). "
                    "EM never decreases the log-likelihood; this indicates a bug in the "
                    "model's E- or M-step.",
                    LikelihoodDecreaseWarning,
                    stacklevel=3,
                )
        # A repeat up to rounding is a fixed point of the EM map: converged even with
        # tol=0 (k-means, hard EM), where iterating on could only move the last bits.
        change = abs(value - last)
        self.converged = change < self.tol or (
            np.isfinite(last) and change <= _ROUNDING * max(1.0, abs(last))
        )
        return self.converged
