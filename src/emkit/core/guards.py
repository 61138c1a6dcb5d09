"""Checks that an M-step's parameters are usable before the engine commits them.

Every stepper (plain EM, SQUAREM, online EM) calls :func:`check_finite_params` on the
parameters it is about to return, so that a NaN or an infinity never replaces good
parameters silently: the engine raises instead, and the caller still holds the
parameters from before the step.
"""

from __future__ import annotations

import dataclasses
from numbers import Number

import numpy as np

from emkit.errors import NumericalError

__all__ = ["check_finite_params", "non_finite_fields"]


def non_finite_fields(params, prefix: str = "") -> list[str]:
    """Dotted names of the numeric leaves of ``params`` holding NaN or an infinity.

    ``params`` is a (nested) frozen-dataclass container, a tuple or list of them, an
    array or a number; other leaves (strings, None, labels) are not numbers and are
    skipped.
    """
    return [
        name or "parameters"
        for name, values in _numeric_leaves(params, prefix)
        if values.dtype.kind in "fc" and not np.all(np.isfinite(values))
    ]


def check_finite_params(params, iteration: int, what: str = "M-step"):
    """Return ``params``, or raise NumericalError naming the non-finite fields.

    ``iteration`` (1-based) and ``what`` ("M-step", "online M-step of batch 3") go into
    the message; the caller keeps its previous parameters, since nothing is assigned
    before this check passes.
    """
    bad = non_finite_fields(params)
    if bad:
        raise NumericalError(
            f"the {what} at iteration {iteration} gave non-finite values (NaN or infinity) "
            f"in {', '.join(bad)}; the parameters from before this step are kept. The data "
            "probably hold extreme values (overflow) or a component lost all its weight: "
            "check the data for very large values, scale or centre them, or increase the "
            "regularisation (e.g. reg_covar)"
        )
    return params


def compute_dtype(model) -> np.dtype:
    """The floating dtype a model computes its E-step in: its ``dtype`` attribute when
    that is float32 or float64 (e.g. ``Mixture(dtype=np.float32)``), else float64."""
    try:
        dtype = np.dtype(getattr(model, "dtype", None) or np.float64)
    except TypeError:
        return np.dtype(np.float64)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def parameter_vector(model, params) -> np.ndarray | None:
    """The parameters as one float vector (``model.pack`` where the model has it, else
    the numeric leaves end to end), or None when they cannot be flattened."""
    try:
        if hasattr(model, "pack"):
            return np.asarray(model.pack(params), dtype=np.float64).ravel()
        leaves = [
            values.astype(np.float64).ravel()
            for _, values in _numeric_leaves(params)
            if values.dtype.kind in "fiu"
        ]
        return np.concatenate(leaves) if leaves else None
    except (ValueError, TypeError, ArithmeticError):
        return None


def _numeric_leaves(params, prefix: str = ""):
    """Yield ``(dotted name, array)`` for every numeric leaf of ``params`` (arrays and
    numbers, not bools), depth first in field order: a frozen-dataclass container's
    fields as ``prefix.field``, a tuple's or list's items as ``prefix[i]``."""
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        for f in dataclasses.fields(params):
            name = f"{prefix}.{f.name}" if prefix else f.name
            yield from _numeric_leaves(getattr(params, f.name), name)
    elif isinstance(params, (tuple, list)):
        for i, item in enumerate(params):
            yield from _numeric_leaves(item, f"{prefix}[{i}]")
    elif isinstance(params, (np.ndarray, Number, np.generic)) and not isinstance(params, bool):
        yield prefix, np.asarray(params)


def is_fixed_point(old: np.ndarray | None, new: np.ndarray | None, eps: float) -> bool:
    """Whether no parameter changed beyond rounding between two parameter vectors.

    ``eps`` is the compute dtype's machine epsilon. Each element may move by
    max(1e-12, 64 eps) relative to the larger of its own magnitude and the vector's
    mean magnitude (an element that is zero up to cancellation wobbles at the scale of
    its neighbours, not at its own): sums over many rows wobble by far more than one
    ulp. That is still far stricter than the objective's own fixed-point test, since
    near the optimum the objective changes by the square of a parameter change.
    """
    if old is None or new is None or old.shape != new.shape:
        return False
    rtol = max(1e-12, 64 * eps)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(old) & np.isfinite(new)
        floor = np.mean(np.abs(old[finite])) if finite.any() else 0.0
        scale = np.maximum(np.maximum(np.abs(old), np.abs(new)), floor)
        moved = np.abs(new - old) > rtol * scale
    return not np.any(moved[finite]) and bool(np.all((old == new) | finite))
