"""Safe model files: a versioned ``.npz`` of arrays plus JSON metadata, never pickle.

``save(estimator, path)`` writes the estimator's hyperparameters (JSON; array-valued
ones as arrays), its fitted arrays and scalars. ``load(path)`` reads the file with
``allow_pickle=False``, rebuilds the estimator of the recorded class from emkit's
public namespace and restores its fitted state, so that predictions are identical.
"""

from __future__ import annotations

import json
from numbers import Integral, Real
from pathlib import Path

import numpy as np

FORMAT = "emkit-model"
FORMAT_VERSION = 1
_META_KEY = "__emkit_metadata__"
_COMMON_FITTED = (
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "log_likelihood_",
    "n_features_in_",
    "feature_names_in_",
)


class ModelFileError(ValueError):
    """The file is not an emkit model file, or not one this version can read."""


def _json_scalar(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    return value


def save(estimator, path, *, metadata: dict | None = None) -> Path:
    """Write a fitted emkit estimator to ``path`` (``.npz`` is appended if missing).

    ``metadata`` is the caller's own JSON-safe data (e.g. the column names of the
    data), kept in the file's JSON metadata under the key ``"user"``: ``read_metadata``
    returns it, ``load`` ignores it.

    Returns the path written: an estimator that was fitted, or whose parameters were all
    set by hand. Raises ValueError if the estimator is not fitted, a
    hyperparameter cannot be stored without pickle (e.g. a RandomState instance) or
    ``metadata`` is not a JSON-safe dict.
    """
    from emkit import __version__

    if not estimator.__sklearn_is_fitted__():
        raise ValueError(
            f"{type(estimator).__name__} is not fitted; call fit, or set all its "
            "parameters, before save"
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-safe ({exc})") from None
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays: dict[str, np.ndarray] = {}
    hyper: dict = {}
    for name, value in estimator.get_params(deep=False).items():
        if value is None or isinstance(value, (str, bool, Integral, Real)):
            hyper[name] = _json_scalar(value)
        elif isinstance(value, (list, tuple, np.ndarray)):
            arrays[f"hyper/{name}"] = np.asarray(value)
        else:
            raise ValueError(
                f"hyperparameter {name}={value!r} cannot be saved safely; "
                "use an int random_state (or None) before saving"
            )
    fitted: dict = {}
    for name in (*_COMMON_FITTED, *estimator._saved_attributes):
        if not hasattr(estimator, name):
            continue
        value = getattr(estimator, name)
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
            arrays[f"fitted/{name}"] = value
        else:
            fitted[name] = _json_scalar(value)
    for name, column in getattr(estimator, "trace_", {}).items():
        arrays[f"trace/{name}"] = column
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "emkit_version": __version__,
        "class": type(estimator).__name__,
        "hyperparameters": hyper,
        "fitted": fitted,
    }
    if metadata is not None:
        header["user"] = metadata
    with path.open("wb") as handle:
        np.savez_compressed(handle, **{_META_KEY: np.array(json.dumps(header))}, **arrays)
    return path


def read_metadata(path) -> dict:
    """The JSON metadata of a model file (class, versions, hyperparameters, scalars, and
    under ``"user"`` the ``metadata`` given to :func:`save`, if any)."""
    with _open(path) as data:
        return _metadata(data, path)


def load(path):
    """Read a model file written by :func:`save` and return the fitted estimator."""
    from sklearn.base import BaseEstimator

    import emkit

    with _open(path) as data:
        metadata = _metadata(data, path)
        cls = getattr(emkit, metadata["class"], None)
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ModelFileError(f"{path}: unknown estimator class {metadata['class']!r}")
        hyper = dict(metadata["hyperparameters"])
        fitted, trace = dict(metadata["fitted"]), {}
        groups = {"hyper": hyper, "fitted": fitted, "trace": trace}
        for key in data.files:
            group, _, name = key.partition("/")
            if group in groups:
                groups[group][name] = _read_array(data, key, path)
    try:
        estimator = cls(**hyper)
    except TypeError as exc:
        raise ModelFileError(f"{path}: hyperparameters this emkit does not know ({exc})") from None
    for name, value in fitted.items():
        setattr(estimator, name, value)
    estimator.trace_ = trace
    estimator._params_from_attributes()
    return estimator


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ModelFileError(f"{path} is not an emkit model file ({exc})") from None


def _read_array(data, key, path) -> np.ndarray:
    """One stored array; anything unreadable (a truncated or corrupt archive, an object
    array that would need pickle) is a ModelFileError, never an unpickling."""
    try:
        return data[key]
    except Exception as exc:
        raise ModelFileError(f"{path}: cannot read {key!r} ({exc})") from None


def _metadata(data, path) -> dict:
    if _META_KEY not in data.files:
        raise ModelFileError(f"{path} is not an emkit model file (no metadata)")
    try:
        metadata = json.loads(str(_read_array(data, _META_KEY, path)))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: malformed metadata ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an emkit model file")
    if metadata.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer emkit "
            f"(format {metadata['format_version']}); upgrade emkit"
        )
    missing = {"class", "hyperparameters", "fitted"} - metadata.keys()
    if missing:
        raise ModelFileError(f"{path}: metadata lacks {sorted(missing)}")
    return metadata
