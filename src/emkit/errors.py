"""Exceptions shared across emkit's layers (this module imports nothing from emkit)."""

from __future__ import annotations

__all__ = ["NumericalError"]


class NumericalError(ValueError, FloatingPointError):
    """EM's arithmetic left the range it can represent: a NaN or infinite objective or
    parameter, or expected moments that overflowed.

    It is a ValueError because its cause is almost always the data (extreme values, a
    scale that defeats the compute precision) and its remedy is to scale them or to
    regularise; it is also a FloatingPointError, so handlers of either catch it.
    """
