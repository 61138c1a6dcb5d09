r"""Detect a state-space EM fit that runs away to the boundary (no fixed point).

Two ways a :class:`emkit.models.lgssm.LGSSM` fit can have no maximiser:

* **A learned covariance collapses** (its ``reg_covar`` floor is 0): R (or Q, or P0)
  shrinks towards 0 while the model fits some observations exactly, and the
  likelihood grows without bound, as for a Gaussian mixture component collapsing onto
  a point. EM creeps towards that limit for ever (R falls like 1/t).
* **The state scale drifts** while P0 is fixed: the likelihood is invariant under
  :math:`z \to s z` (:math:`C \to C/s`, :math:`Q \to s^2 Q`, :math:`m_0 \to s m_0`)
  except through P0, so with P0 fixed a change of scale is the same as
  :math:`P_0 \to P_0 / s^2`. With one sequence the likelihood's supremum along that
  path often lies at :math:`C P_0 C^\top = 0`, and EM follows it: C shrinks, Q and m0
  grow, A, :math:`C Q C^\top` and :math:`C m_0` stay put.

:func:`state_scale_drift` watches the logarithm of each such positive quantity (the
smallest eigenvalue of a collapsing covariance; :math:`\log\det P_0 - \log\det Q`, the
initial covariance in the state's own units, for the scale). When one has fallen at
every one of the last :data:`WINDOW` iterations, it confirms the trend with one E-step:
the likelihood with the falling quantities shrunk by :data:`SHRINK` (P0 shrunk stands
for the scale change, by the invariance above). If that limit is better than the
current fit, EM is climbing towards a boundary where no finite parameter is the
maximiser, and the hook says so. At an interior maximum the shrunk parameters are
worse, so a healthy fit, slow or not, is never stopped. The confirmation costs one
E-step per :data:`WINDOW` iterations of a monotone trend, nothing otherwise.

Attach it to the model class with ``diverging = state_scale_drift`` (the engine's
optional ``diverging(previous, params, *, state, log_likelihood)`` hook, see
:func:`emkit.core.engine._divergence_check`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["SHRINK", "WINDOW", "falling_quantities", "state_scale_drift", "watched_quantities"]

#: iterations of uninterrupted decrease before a trend is tested (and between tests)
WINDOW = 20
#: factor applied to the falling quantities in the test of the boundary
SHRINK = 1e-6
# a decrease of a log-quantity below this is rounding, not a trend
_LOG_ROUNDING = 1e-12
# the boundary must beat the current fit by more than rounding of the log-likelihood
_GAIN_RTOL = 1e-9

_COVARIANCES = ("observation_covariance", "transition_covariance", "initial_state_covariance")
_SCALE = "state scale"


def _log_min_eigenvalue(cov) -> float:
    smallest = float(np.linalg.eigvalsh(np.asarray(cov, float))[0])
    return np.log(smallest) if smallest > 0 else -np.inf


def _log_det(cov) -> float:
    sign, value = np.linalg.slogdet(np.asarray(cov, float))
    return float(value) if sign > 0 else -np.inf


def watched_quantities(model, params) -> dict[str, float]:
    """name -> log of each positive quantity whose fall to 0 is a boundary of ``model``:
    every learned covariance without a floor (its smallest eigenvalue), and, when P0
    is fixed while C and Q are learned, the state scale (log det P0 - log det Q).
    Empty for a model where nothing can run away (e.g. every covariance floored)."""
    learn = model.learn
    values = {}
    for name in _COVARIANCES:
        if name in learn and not np.any(model.covariance_floors[name] > 0):
            values[name] = _log_min_eigenvalue(getattr(params, name))
    scale_free = {"observation_matrix", "transition_covariance"} <= learn
    if model.state_dim and scale_free and "initial_state_covariance" not in learn:
        values[_SCALE] = _log_det(params.initial_state_covariance) - _log_det(
            params.transition_covariance
        )
    return values


def falling_quantities(runs: dict[str, int], window: int = WINDOW) -> list[str]:
    """The names whose run of consecutive decreases has reached ``window``."""
    return sorted(name for name, run in runs.items() if run >= window)


def _update_runs(runs: dict[str, int], before: dict, after: dict) -> None:
    """Count, per quantity, the consecutive iterations at which it fell (in place)."""
    for name, value in after.items():
        fell = name in before and value < before[name] - _LOG_ROUNDING
        runs[name] = runs.get(name, 0) + 1 if fell else 0


def _shrunk(params, names):
    """``params`` with the named quantities multiplied by :data:`SHRINK` (the state
    scale by shrinking P0, which the invariance z -> s z makes the same likelihood)."""
    changes = {}
    for name in names:
        field = "initial_state_covariance" if name == _SCALE else name
        changes[field] = SHRINK * getattr(params, field)
    return dataclasses.replace(params, **changes)


def _message(names) -> str:
    parts = []
    if _SCALE in names:
        parts.append(
            "the state scale diverges: C shrinks while Q and the initial state mean grow, "
            "because initial_state_covariance is fixed and the likelihood's supremum lies "
            "at C P0 C^T = 0; learn initial_state_covariance (with reg_covar > 0), fix "
            "observation_matrix, or use tol > 0"
        )
    collapsing = [name for name in names if name != _SCALE]
    if collapsing:
        parts.append(
            f"{' and '.join(collapsing)} collapse{'s' if len(collapsing) == 1 else ''} "
            "towards 0 and the likelihood grows without bound (the model fits some "
            "observations exactly); set reg_covar > 0 (a floor on the learned "
            "covariances), give more data, or use tol > 0"
        )
    return "; ".join(parts)


def state_scale_drift(model, previous, params, *, state: dict, log_likelihood):
    """The engine's ``diverging`` hook for an LGSSM: a message when the fit runs away
    to a boundary (see the module docstring), else None.

    ``previous`` and ``params`` (LGSSMParams) enter and leave one accepted step;
    ``state`` (a dict owned by the restart) keeps ``runs`` (name -> consecutive
    decreases) and ``last`` (the watched values of ``previous``);
    ``log_likelihood(params) -> float`` is one E-step over the data.
    """
    runs = state.setdefault("runs", {})
    before = state.get("last")
    if before is None:
        before = watched_quantities(model, previous)
    after = watched_quantities(model, params)
    state["last"] = after
    if not after:
        return None
    _update_runs(runs, before, after)
    names = falling_quantities(runs)
    if not names:
        return None
    for name in names:  # the next test waits for another full window
        runs[name] = 0
    try:
        current = log_likelihood(params)
        limit = log_likelihood(_shrunk(params, names))
    except (ValueError, FloatingPointError, ArithmeticError, np.linalg.LinAlgError):
        return None  # the shrunk model is not computable: no evidence either way
    if not (np.isfinite(current) and np.isfinite(limit)):
        return None
    if limit > current + _GAIN_RTOL * max(1.0, abs(current)):
        return _message(names)
    return None
