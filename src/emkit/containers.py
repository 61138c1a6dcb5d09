"""Small immutable containers for parameters and expected sufficient statistics.

Statistics are *additive*: the statistics of a data set are the sum of the statistics
of its chunks. Every generic capability of the engine (chunked, online, distributed
fitting) relies only on ``a + b`` and ``c * a`` of these containers.

This is the bottom layer of emkit: it imports nothing from emkit, and the families,
models and engine all build their containers on it (``emkit.core`` re-exports the
three public names).
"""

from __future__ import annotations

import dataclasses
from numbers import Real
from typing import Any

import numpy as np


class Statistics:
    """Mixin for frozen dataclasses of expected sufficient statistics.

    Every field is summed by ``+`` and scaled by ``*`` (a float). Fields may be NumPy
    arrays, floats or nested :class:`Statistics`. A subclass whose statistics carry a
    reference point (e.g. moments shifted by a centre) overrides ``__add__`` and
    ``__mul__`` and lists that field in ``reference_fields``.
    """

    reference_fields: tuple[str, ...] = ()

    # NumPy must not broadcast over a container: ``array * stats`` would otherwise give an
    # object array of scaled containers instead of an error.
    __array_ufunc__ = None

    def __add__(self, other: Any):
        if other == 0:  # lets sum() start from 0
            return self
        if type(other) is not type(self):
            return NotImplemented
        values = {}
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = a if f.name in self.reference_fields else a + b
        return type(self)(**values)

    __radd__ = __add__

    def __mul__(self, factor: float):
        if isinstance(factor, np.ndarray) and factor.ndim == 0:
            factor = factor.item()
        if not isinstance(factor, Real):
            return NotImplemented
        values = {}
        for f in dataclasses.fields(self):
            a = getattr(self, f.name)
            values[f.name] = a if f.name in self.reference_fields else a * factor
        return type(self)(**values)

    __rmul__ = __mul__

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return False
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)
        )

    __hash__ = None  # type: ignore[assignment]


class ShiftedStatistics(Statistics):
    """Statistics held about a reference point ``shift`` (moments of x − shift), with a
    ``sum_w`` field of masses and a ``recentred(shift)`` method that re-expresses them
    about another point. ``a + b`` re-expresses ``b`` about ``a``'s shift first. The
    zero element (no mass: every moment 0) adds nothing: the other operand is
    returned with its own shift, instead of being re-expressed about the empty
    statistics' arbitrary one."""

    def __add__(self, other: Any):
        if isinstance(other, type(self)):
            if not np.any(other.sum_w):
                return self
            if not np.any(self.sum_w):
                return other
            other = other.recentred(self.shift)
        return super().__add__(other)

    __radd__ = __add__


def replace(container, **changes):
    """Copy of a frozen dataclass container with some fields changed."""
    return dataclasses.replace(container, **changes)


def with_given(params, initial):
    """``params`` with every field that ``initial`` (a container of the same type, or
    None) gives, i.e. is not None, substituted as a float64 array: how a model applies
    the user's ``*_init`` values to its computed start."""
    if initial is None:
        return params
    given = {
        field.name: np.asarray(getattr(initial, field.name), dtype=np.float64)
        for field in dataclasses.fields(initial)
        if getattr(initial, field.name) is not None
    }
    return dataclasses.replace(params, **given)


def allclose(a, b, rtol: float = 1e-10, atol: float = 0.0) -> bool:
    """Field-by-field ``np.allclose`` of two containers of the same type (nested ok)."""
    if type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            if not allclose(x, y, rtol, atol):
                return False
        elif x is None or y is None:
            if x is not y:
                return False
        elif isinstance(x, str) or isinstance(y, str):  # labels such as a covariance type
            if x != y:
                return False
        elif not np.allclose(x, y, rtol=rtol, atol=atol):
            return False
    return True
