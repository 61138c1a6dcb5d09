"""Convergence monitoring and the check of EM's monotonicity theorem."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emkit.errors import NumericalError

__all__ = [
    "ConvergenceMonitor",
    "ConvergenceWarning",
    "DivergenceWarning",
    "LikelihoodDecreaseWarning",
    "RegularizationDecreaseWarning",
    "decrease_rtol_for",
]


def decrease_rtol_for(dtype) -> float:
    """Relative decrease of the objective still attributed to rounding, for a dtype.

    128 ulps of the compute dtype, and at least 1e-9: float32 arithmetic (ulp 1.2e-7,
    per-sample log-densities that wobble at about 1e-6 relative) gives 1.5e-5;
    float64 gives 1e-9, the floor for ill-conditioned covariances, which still
    catches any real bug.
    """
    return max(1e-9, 128 * float(np.finfo(_float_dtype(dtype)).eps))


# A change of the per-sample objective this small (relative) is floating-point rounding:
# the last bits of parameters that no longer move. Real EM progress is far larger. It is
# float64's even for a float32 model, whose float32 E-step still resolves changes of
# 1e-6: there the engine's test of the parameters (up to float32 rounding) stops EM.
_ROUNDING = 64 * np.finfo(np.float64).eps


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


class DivergenceWarning(ConvergenceWarning):
    """EM was stopped because its iterates run away to the boundary of the parameter
    space (a model's ``diverging`` hook said so): no fixed point exists to converge to,
    so iterating on (``tol=0``) would never end. The message names what runs away and
    the remedy."""


class LikelihoodDecreaseWarning(RuntimeWarning):
    """The objective (log-likelihood + log-prior) decreased between EM iterations.

    EM guarantees a non-decreasing objective; a decrease beyond rounding means a bug in
    a model's E- or M-step (or an M-step that does not maximise Q). Never expected.
    """


class RegularizationDecreaseWarning(UserWarning):
    """The objective decreased beyond rounding, but by no more than the model declared
    its regularised M-step may cost (``m_step_slack``; e.g. ``reg_covar`` added to
    covariances, as scikit-learn does). That happens only when the regularisation is
    large next to what the data give (a variance below ``reg_covar``): then EM no longer
    maximises the likelihood exactly. Issued once per fit, so no such decrease is silent.
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
        self._regularization_reported = False

    @property
    def n_iter(self) -> int:
        return len(self.history)

    def report(
        self,
        value: float,
        previous: float = -np.inf,
        allowance: float = 0.0,
        fixed_point: bool = False,
    ) -> bool:
        """Record one iteration's objective; return True when converged.

        ``previous`` is the objective before the first recorded iteration (a warm
        start continues from the last fit's value). ``allowance`` is a decrease since
        the last value that the model declared possible (an M-step that deliberately
        does not maximise Q exactly, see ``EMModel.m_step_slack``), per sample.
        ``fixed_point`` says that no parameter changed in the step (up to rounding):
        converged whatever ``tol``.
        """
        if not np.isfinite(value):
            raise NumericalError(
                f"the log-likelihood became {value} at iteration {self.n_iter + 1}; "
                "check the data for extreme values, increase regularisation or scale the data"
            )
        last = self.history[-1] if self.history else previous
        self.history.append(float(value))
        if np.isfinite(last):
            rounding = self.decrease_rtol * max(1.0, abs(last))
            if value < last - rounding - allowance:
                declared = (
                    f", beyond the {allowance:.3g} per sample that the model's "
                    "regularisation (m_step_slack) allows"
                    if allowance > 0
                    else ""
                )
                warnings.warn(
                    f"EM objective decreased at iteration {self.n_iter}: "
                    f"{last:.17g} -> {value:.17g} (by {last - value:.3g} per sample, "
                    f"{(last - value) / max(1.0, abs(last)):.3g} relative; rounding "
                    f"allows {self.decrease_rtol:.3g}{declared}). EM never decreases "
                    "the log-likelihood: this indicates a bug in the model's E- or "
                    "M-step, or data whose scale defeats the compute precision (centre "
                    "and scale them, or use float64).",
                    LikelihoodDecreaseWarning,
                    stacklevel=3,
                )
            elif value < last - rounding and not self._regularization_reported:
                self._regularization_reported = True
                warnings.warn(
                    f"EM objective decreased at iteration {self.n_iter} by "
                    f"{last - value:.3g} per sample, within the {allowance:.3g} that the "
                    "M-step's regularisation (reg_covar) may cost: reg_covar is large "
                    "next to the variance the data give, so EM no longer maximises the "
                    "likelihood exactly. Standardise the data or lower reg_covar.",
                    RegularizationDecreaseWarning,
                    stacklevel=3,
                )
        # A repeat up to rounding is a fixed point of the EM map: converged even with
        # tol=0 (k-means, hard EM), where iterating on could only move the last bits.
        change = abs(value - last)
        self.converged = (
            fixed_point
            or change < self.tol
            or (np.isfinite(last) and change <= _ROUNDING * max(1.0, abs(last)))
        )
        return self.converged
