"""Fitted parameters as views of ``params_``: one copy of the state.

An estimator's public parameter attributes (``means_``, ``transmat_``, ...) are
:class:`Parameter` descriptors over one field of its ``params_`` container. Reading
one returns a read-only view of that field, so an in-place edit is refused by NumPy;
assigning one validates the value (its shape from the estimator's dimensions, its
constraint: probabilities, positive definite covariances, ...) and rebuilds
``params_`` with it. What an attribute shows is therefore always what ``score``,
``predict`` and ``sample`` compute with, in memory and after save/load.

The same validation serves the ``*_init`` hyperparameters: ``means_init`` is checked
exactly as an assignment to ``means_`` is, and named as ``means_init`` in errors.

Dimensions are named in a parameter's shape by the estimator attribute that holds
them: hyperparameters (``"n_components"``, ``"n_mix"``, ``"state_dim"``) or fitted
dimensions (``"n_features_in_"``, ``"n_symbols_"``). A fitted dimension not yet known
(an estimator whose parameters are being set by hand) is read from the first value
that has it and recorded; ``None`` in a shape is an axis of any length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emkit.families._covariance import check_covariances


class Parameter:
    """A public fitted attribute that is one field of the estimator's ``params_``.

    Parameters
    ----------
    field : str
        Path of the field in ``params_``, e.g. ``"components.means"``.
    shape : tuple or callable
        Axis sizes of the stored value: ints, names of estimator attributes holding a
        dimension, or None (any length); or ``shape(estimator) -> tuple`` when the
        shape depends on a hyperparameter (a covariance type).
    check : callable
        ``check(array, name, estimator)`` raises a ValueError naming ``name`` for a
        value the model cannot take.
    init : str, optional
        The hyperparameter holding this parameter's initial value (``"means_init"``).
    to_field, from_field : callable, optional
        ``to_field(estimator, array, name) -> array`` converts an assigned (or initial)
        value to the stored form before the checks; ``from_field(estimator, array)``
        converts the stored form back for reading.
    saved : bool, default=True
        False for a different view of a field that another parameter holds
        (``precisions_`` of ``covariances_``): it is not written to model files.
    """

    def __init__(
        self,
        field: str,
        shape,
        check: Callable[[np.ndarray, str, Any], None],
        *,
        init: str | None = None,
        to_field: Callable | None = None,
        from_field: Callable | None = None,
        saved: bool = True,
    ):
        self.field = field
        self.shape = shape
        self.check = check
        self.init = init
        self.to_field = to_field
        self.from_field = from_field
        self.saved = saved
        self.name = ""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        value = estimator._parameter_value(self.field)
        if value is None:
            # an AttributeError, so that hasattr() and scikit-learn's checks see "unset"
            raise AttributeError(
                f"{type(estimator).__name__} has no {self.name} yet: fit it, or set "
                f"{self.name} (and the other parameters) to use known values"
            )
        if self.from_field is not None:
            value = self.from_field(estimator, value)
        view = np.asarray(value).view()
        view.flags.writeable = False
        return view

    def __set__(self, estimator, value):
        array = self.validated(estimator, value, self.name)
        check_consistent(estimator, self.name)
        estimator._set_parameter(self.field, array)

    def validated(self, estimator, value, name: str, *, record: bool = True) -> np.ndarray:
        """``value`` as the checked float array to store; ``name`` is used in errors.
        ``record``: set the estimator's unknown fitted dimensions from the value."""
        given = real_array(value, name)
        array = given
        if self.to_field is not None:
            try:
                array = self.to_field(estimator, given, name)
            except (ValueError, IndexError):
                pass  # a value of no form it converts: the shape check says what is wrong
        shape = self.shape(estimator) if callable(self.shape) else self.shape
        unknown = _check_shape(estimator, array, name, shape, given.shape)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity")
        self.check(array, name, estimator)
        if record:
            for dim, size in unknown.items():
                setattr(estimator, dim, size)
        return array


def real_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array, converted as the data are (:func:`numeric_array`,
    whose errors name ``name``), except that booleans and strings are refused too: a
    parameter given as True or "1.5" is a mistake, not a number."""
    # imported here: _base imports this module for Parameter
    from emkit.estimators._base import numeric_array

    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):
        kind = None  # ragged: numeric_array says how
    if kind in ("U", "S"):
        got = "string" if kind == "U" else "bytes"
        raise ValueError(
            f"{name} must hold real numbers (float or int), got {got} values; convert "
            "them to numbers first"
        )
    array = numeric_array(value, name)
    if array.dtype.kind == "b":
        raise ValueError(
            f"{name} must hold real numbers (float or int), got boolean values; give "
            "numbers (e.g. 0.0 and 1.0)"
        )
    return np.array(array, dtype=np.float64)


def check_consistent(estimator, assigned: str) -> None:
    """Refuse an assignment to ``assigned`` while another known parameter no longer fits
    the estimator's dimensions (``n_components`` changed with ``set_params`` since
    it was set): the model would combine parameters of different sizes."""
    for parameter in type(estimator)._parameter_attributes():
        value = estimator._parameter_value(parameter.field)
        if not parameter.saved or parameter.name == assigned or value is None:
            continue
        shape = parameter.shape(estimator) if callable(parameter.shape) else parameter.shape
        try:
            _check_shape(estimator, np.asarray(value), parameter.name, shape)
        except ValueError as exc:
            raise ValueError(
                f"cannot set {assigned}: the {parameter.name} already set does not fit the "
                f"current hyperparameters ({exc}); they changed since it was set, so "
                f"fit again, or set the parameters on a new {type(estimator).__name__}"
            ) from None


def resolved_sizes(estimator, shape) -> list:
    """Axis sizes of a symbolic ``shape``: a named dimension's value on the estimator,
    or None where it is not known yet (or the axis is free)."""
    return [getattr(estimator, axis, None) if isinstance(axis, str) else axis for axis in shape]


def _check_shape(estimator, array, name, shape, given=None) -> dict:
    """Compare ``array.shape`` with the symbolic ``shape``; return the unknown fitted
    dimensions it fixes ({attribute: size}). ``given``: the shape to report, that of
    the value before its conversion to the stored form."""
    sizes = resolved_sizes(estimator, shape)
    unknown: dict = {}
    matches = array.ndim == len(shape)
    for axis, size, actual in zip(shape, sizes, array.shape if matches else (), strict=False):
        if size is None and isinstance(axis, str):
            size = unknown.setdefault(axis, int(actual))
        matches = matches and (size is None or int(size) == actual)
    if not matches:
        expected = ", ".join(
            str(int(size)) if size is not None else (axis if isinstance(axis, str) else "any")
            for axis, size in zip(shape, sizes, strict=True)
        )
        comma = "," if len(shape) == 1 else ""
        got = array.shape if given is None else given
        raise ValueError(f"{name} must have shape ({expected}{comma}), got {got}")
    return unknown


# -- constraints -----------------------------------------------------------------------
def any_finite(array, name, estimator) -> None:
    """No constraint beyond finiteness (checked for every parameter)."""


def non_negative(array, name, estimator) -> None:
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative")


def unit_interval(array, name, estimator) -> None:
    if np.any((array < 0) | (array > 1)):
        raise ValueError(f"{name} holds probabilities: every entry in [0, 1]")


def probabilities(array, name, estimator) -> None:
    """Probability vectors along the last axis (e.g. the rows of a transition matrix)."""
    non_negative(array, name, estimator)
    sums = array.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
        if array.ndim == 1:
            raise ValueError(f"{name} must sum to 1, got sum {float(sums):.6g}")
        raise ValueError(f"{name} must sum to 1 in every row; got sums {np.round(sums, 6).ravel()}")


def gaussian_covariances(unit: str) -> Callable:
    """The check of covariances in a Gaussian family's covariance-type shapes (the
    estimator's ``covariance_type``); ``unit`` names what the leading index is."""

    def check(array, name, estimator) -> None:
        matrices = estimator.covariance_type in ("full", "tied")
        check_covariances(array, name, matrices, unit)

    return check
