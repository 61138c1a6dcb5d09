"""Validation of the partial labels ``y`` of semi-supervised mixture fitting."""

from __future__ import annotations

import numpy as np

from emkit.estimators._base import numeric_array


def check_labels(y, n_rows: int, n_components: int, name: str = "y") -> np.ndarray | None:
    """``y`` as int64 of shape (n_rows,), -1 where unknown; None when ``y`` is None or
    no row is labelled (the fit is then exactly the unsupervised one).

    Labels follow ``sklearn.semi_supervised``: -1 marks an unlabelled row, ``k`` in
    ``0 .. n_components - 1`` a row known to come from component ``k``. Whole-valued
    floats (1.0) are accepted; anything else (fractions, NaN, strings, booleans, a
    label beyond ``n_components - 1``) is a ValueError that names the first offender.
    """
    if y is None:
        return None
    if isinstance(y, str):
        raise ValueError(
            f"{name} must be an array of integer component labels (-1 where unknown), "
            f"got the string {y!r}"
        )
    values = np.asarray(y)
    if values.dtype.kind in "OUS":
        try:
            values = numeric_array(values, name)
        except ValueError as error:
            raise ValueError(
                f"{error}; {name} holds integer component labels, -1 where unknown"
            ) from None
    if values.dtype.kind == "b":
        raise ValueError(
            f"{name} must hold integer component labels (-1 where unknown), got booleans; "
            f"pass {name}.astype(int) if they are labels 0 and 1"
        )
    if values.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must hold integer component labels (-1 where unknown), got dtype "
            f"{values.dtype}"
        )
    if values.ndim != 1 or values.shape[0] != n_rows:
        raise ValueError(
            f"{name} must hold one label per row of X (-1 where unknown): expected shape "
            f"({n_rows},), got {values.shape}"
        )
    if values.dtype.kind == "f":
        fractional = ~np.isfinite(values) | (values != np.round(values))
        if fractional.any():
            i = int(np.argmax(fractional))
            raise ValueError(
                f"{name}[{i}] = {float(values[i])!r} is not an integer label: {name} holds "
                f"component labels 0 .. {n_components - 1}, or -1 where unknown"
            )
    labels = values.astype(np.int64)
    bad = (labels < -1) | (labels >= n_components)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name}[{i}] = {labels[i]} is not a component: labels must be 0 .. "
            f"{n_components - 1} (n_components={n_components}), or -1 where the component "
            "is unknown"
        )
    if not np.any(labels >= 0):
        return None
    return np.ascontiguousarray(labels)
