"""Safe model files: a versioned ``.npz`` of arrays plus JSON metadata, never pickle.

``save(estimator, path)`` writes the estimator's hyperparameters (JSON; array-valued
ones as arrays), its fitted arrays and scalars, to a temporary file in the target's
folder that then replaces the target: a save that fails leaves the previous file.

``load(path)`` runs no code from the file and checks all of it before any of it is
used: the class against emkit's public estimators; every metadata field's JSON type;
every entry's name (each must be a hyperparameter, fitted attribute or trace column
of that class, so that nothing can shadow a method), its ``.npy`` header (no object
arrays, no pickle, read with ``allow_pickle=False``) and dtype; and every parameter's
shape and constraints against the hyperparameters and the other parameters, by
assigning them to a fresh estimator through their
:class:`~emkit.estimators._parameters.Parameter` descriptors. The estimator is
returned only when all of it is valid; otherwise one :class:`ModelFileError` names the
file, the entry and what is wrong with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import secrets
import stat
import zipfile
from collections.abc import Iterator
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emkit._text import one_line

if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from emkit._typing import PathLike


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
#: the top-level fields of the JSON metadata, and their JSON types
_METADATA_FIELDS = {
    "format": str,
    "format_version": int,
    "emkit_version": str,
    "class": str,
    "hyperparameters": dict,
    "fitted": dict,
    "user": dict,
}
_GROUPS = ("hyper", "fitted", "trace")


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


# -- save -------------------------------------------------------------------------------
def save(estimator: Any, path: PathLike, *, metadata: dict | None = None) -> Path:
    """Write a fitted emkit estimator to ``path`` (``.npz`` is appended if missing).

    ``metadata`` is the caller's own JSON-safe data (e.g. the column names of the
    data), kept in the file's JSON metadata under the key ``"user"``: ``read_metadata``
    returns it, ``load`` ignores it.

    The file is written to a temporary file in the same folder, which then replaces
    ``path`` in one step (``os.replace``): a save that fails part-way (a full disk)
    leaves any previous file at ``path`` as it was, and no temporary behind.

    Returns the path written: an estimator that was fitted, or whose parameters were all
    set by hand. Raises ValueError if the estimator is not fitted, a
    hyperparameter cannot be stored without pickle (e.g. a RandomState instance) or
    ``metadata`` is not a JSON-safe dict.
    """
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
    path = model_path(path)
    header, arrays = _contents(estimator, metadata)
    _check_loadable(estimator, header, arrays, path)
    with replacing(path) as temporary:
        np.savez_compressed(temporary, **{_META_KEY: np.array(json.dumps(header))}, **arrays)
    return path


def _check_loadable(estimator, header: dict, arrays: dict, path: Path) -> None:
    """Raise a ValueError, before anything is written, when ``load`` would refuse the
    file that ``header`` and ``arrays`` make: an estimator whose hyperparameters were
    changed after the fit (``set_params(n_components=3)`` on a 2-component fit) still
    predicts with its fitted parameters, but a file of it could never be read back,
    and saving it over a good file would lose that one."""
    try:
        _build(type(estimator), json.loads(json.dumps(header)), arrays, path)
    except ModelFileError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise ValueError(
            f"cannot save {type(estimator).__name__} to {path}: the file would not load "
            f"back ({reason}). A hyperparameter that sets a parameter's shape was probably "
            "changed after fit: refit, or restore it with set_params; nothing was written"
        ) from None


def _contents(estimator, metadata) -> tuple[dict, dict]:
    """The JSON metadata and the arrays ``{entry: array}`` of a model file."""
    from emkit import __version__

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
    return header, arrays


def model_path(path: PathLike) -> Path:
    """The file :func:`save` writes for ``path``: ``.npz`` is appended if missing."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


@contextlib.contextmanager
def replacing(path: PathLike) -> Iterator[Path]:
    """``with replacing(path) as temporary:`` write the new file at ``temporary``; on
    success it replaces ``path`` (atomic within one file system), on any failure it is
    removed and ``path`` is left as it was.

    The temporary lies next to the target, keeps its suffix (writers choose the format
    by the suffix) and gets the target's permissions, or a new file's (``0o666`` less
    the umask); through a symlink, the file it points to is replaced.
    """
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666
    while True:
        temporary = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            break
        except FileExistsError:  # pragma: no cover - a 32-bit name collision
            continue
    try:
        yield temporary
        with temporary.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# -- load -------------------------------------------------------------------------------
def read_metadata(path: PathLike) -> dict:
    """The JSON metadata of a model file (class, versions, hyperparameters, scalars, and
    under ``"user"`` the ``metadata`` given to :func:`save`, if any)."""
    with _Archive(path) as archive:
        return archive.metadata()


def load(path: PathLike) -> Any:
    """Read a model file written by :func:`save` and return the fitted estimator.

    Nothing in the file is used before all of it is checked (see the module
    docstring). Raises FileNotFoundError for a missing file, and ModelFileError,
    naming the file and the entry, for a file that is not a valid emkit model file.
    """
    return _load(path)[0]


def _load(path) -> tuple:
    """``(estimator, metadata)`` of the model file ``path`` (see :func:`load` and
    :func:`read_metadata`), from one opening of the file."""
    with _Archive(path) as archive:
        metadata = archive.metadata()
        cls = _estimator_class(metadata["class"], path)
        entries = archive.entries()
        _check_entry_names(cls, entries, metadata, path)
        arrays = {key: archive.array(key) for key in entries}
    return _build(cls, metadata, arrays, path), metadata


def _estimator_class(name: str, path):
    """The public emkit estimator class called ``name`` (the allow list: nothing else
    in emkit's namespace, such as ``load``, is a class a file may name)."""
    import emkit.estimators
    from emkit.estimators._base import EngineEstimator

    cls = getattr(emkit.estimators, name, None) if name in emkit.estimators.__all__ else None
    if not (isinstance(cls, type) and issubclass(cls, EngineEstimator)):
        raise ModelFileError(
            f"{path}: unknown estimator class {name!r}; a model file names one of "
            f"{', '.join(sorted(emkit.estimators.__all__))}"
        )
    return cls


def _fitted_names(cls) -> set:
    """Names a file may hold under ``fitted/`` (or in the metadata's ``fitted``)."""
    extras = {name for klass in cls.__mro__ for name in vars(klass).get("_saved_extras", ())}
    parameters = {p.name for p in cls._parameter_attributes() if p.saved}
    return {*_COMMON_FITTED, *extras, *parameters}


def _trace_names() -> tuple:
    from emkit.core.trace import TraceRecord

    return tuple(field.name for field in dataclasses.fields(TraceRecord))


def _check_entry_names(cls, entries: dict, metadata: dict, path) -> None:
    """Every entry ``group/name`` must be a hyperparameter, fitted attribute or trace
    column that ``cls`` has: nothing else is set on the estimator, so no entry can
    stand in for a method (``fitted/predict``) or an internal (``fitted/__dict__``)."""
    known = {
        "hyper": set(cls._get_param_names()),
        "fitted": _fitted_names(cls),
        "trace": set(_trace_names()),
    }
    for key in entries:
        group, _, name = key.partition("/")
        if group not in known or name not in known[group]:
            where = f"the group {group!r}" if group in known else "no known group"
            raise ModelFileError(
                f"{path}: unknown entry {key!r} ({where}); a {cls.__name__} file holds "
                f"only {', '.join(f'{g}/<name>' for g in _GROUPS)} entries of its own "
                "hyperparameters, fitted attributes and trace columns"
            )
    for group, section in (("hyper", "hyperparameters"), ("fitted", "fitted")):
        for name in metadata[section]:
            if name not in known[group]:
                raise ModelFileError(
                    f"{path}: metadata {section!r} has {name!r}, which is not a "
                    f"{'hyperparameter' if group == 'hyper' else 'fitted attribute'} "
                    f"of {cls.__name__}"
                )
            if f"{group}/{name}" in entries:
                raise ModelFileError(
                    f"{path}: {name!r} is both in the metadata and the entry {group}/{name}"
                )


#: the first bytes of every ``.npz`` (a zip archive)
ZIP_MAGIC = b"PK\x03\x04"
_WRITTEN_BY = "give a file written by emkit.save (or 'emkit fit -o')"


def _check_model_file(path: Path) -> None:
    """Refuse what is plainly not a model file (missing, a folder, unreadable, empty,
    not a zip archive) before it is opened as an archive: FileNotFoundError for a
    missing file, else ModelFileError."""
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file; {_WRITTEN_BY}")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file, so not a model file; {_WRITTEN_BY}")
    try:
        with path.open("rb") as stream:
            start = stream.read(len(ZIP_MAGIC))
    except OSError as exc:
        raise ModelFileError(
            f"cannot read model file {path}: {exc.strerror or type(exc).__name__}"
        ) from None
    if start != ZIP_MAGIC:
        what = "empty" if not start else "not an .npz archive"
        raise ModelFileError(f"{path} is not an emkit model file ({what}); {_WRITTEN_BY}")


class _Archive:
    """An open model file: its metadata, the headers of its entries, their arrays;
    every failure to read is a ModelFileError that names the file."""

    def __init__(self, path):
        self.path = Path(path)
        _check_model_file(self.path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ModelFileError(
                f"{self.path} is not an emkit model file ({one_line(exc)}); {_WRITTEN_BY}"
            ) from None
        self._headers: dict | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.zip.close()

    def headers(self) -> dict:
        """``{entry: (dtype, shape)}`` of every ``.npy`` member, read from its header
        alone: an object (pickled) array or a malformed header is refused here,
        before any data is read."""
        if self._headers is None:
            headers = {}
            for info in self.zip.infolist():
                if not info.filename.endswith(".npy") or info.filename[:-4] in headers:
                    raise ModelFileError(
                        f"{self.path}: unexpected member {info.filename!r} in the archive "
                        "(a model file holds only distinct .npy arrays)"
                    )
                headers[info.filename[:-4]] = self._header(info)
            self._headers = headers
        return self._headers

    def entries(self) -> dict:
        """The headers of the entries other than the metadata."""
        return {key: value for key, value in self.headers().items() if key != _META_KEY}

    def _header(self, info) -> tuple:
        key = info.filename[:-4]
        try:
            with self.zip.open(info) as stream:
                shape, dtype, _ = read_npy_header(stream, info.file_size, exact=True)
        except NpyHeaderError as exc:
            remedy = (
                "a model file holds plain arrays only and is never unpickled"
                if exc.reason == "objects"
                else "the file is truncated or corrupt"
            )
            raise ModelFileError(f"{self.path}: {key!r} {exc}; {remedy}") from None
        except Exception as exc:  # zipfile and zlib raise their own
            raise ModelFileError(
                f"{self.path}: cannot read the header of {key!r} ({one_line(exc)}); "
                "the file is truncated or corrupt"
            ) from None
        if dtype.fields is not None or dtype.subdtype is not None:
            raise ModelFileError(
                f"{self.path}: {key!r} holds records (dtype {dtype}); a model file holds "
                "plain arrays only"
            )
        return dtype, shape

    def array(self, key: str) -> np.ndarray:
        """One entry's array (its header already checked), read without pickle."""
        self.headers()
        try:
            with self.zip.open(key + ".npy") as stream:
                return np.lib.format.read_array(stream, allow_pickle=False)
        except MemoryError:
            raise ModelFileError(f"{self.path}: {key!r} is too large to read") from None
        except Exception as exc:  # zipfile, zlib and numpy each raise their own
            raise ModelFileError(
                f"{self.path}: cannot read {key!r} ({one_line(exc)}); the file is "
                "truncated or corrupt"
            ) from None

    def metadata(self) -> dict:
        """The JSON metadata, its fields' types checked."""
        path = self.path
        if _META_KEY not in self.headers():
            raise ModelFileError(f"{path} is not an emkit model file (no metadata)")
        dtype, shape = self.headers()[_META_KEY]
        if dtype.kind != "U" or shape != ():
            raise ModelFileError(f"{path}: the metadata is not a JSON string")
        try:
            metadata = json.loads(str(self.array(_META_KEY)))
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{path}: malformed metadata ({exc})") from None
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not an emkit model file")
        for name, value in metadata.items():
            expected = _METADATA_FIELDS.get(name)
            if expected is None:
                raise ModelFileError(f"{path}: unknown metadata field {name!r}")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ModelFileError(
                    f"{path}: metadata field {name!r} must be a JSON "
                    f"{_JSON_NAMES[expected]}, got {_json_type(value)} {value!r:.60}"
                )
        version = metadata.get("format_version", 0)
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was written by a newer emkit (format {version}); upgrade emkit"
            )
        if version < 1:
            raise ModelFileError(f"{path}: format_version must be at least 1, got {version}")
        missing = {"class", "hyperparameters", "fitted"} - metadata.keys()
        if missing:
            raise ModelFileError(f"{path}: metadata lacks {sorted(missing)}")
        return metadata


_JSON_NAMES = {str: "string", int: "integer", dict: "object"}


def _json_type(value) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "null" if value is None else names.get(type(value), "object")


# -- .npy headers ---------------------------------------------------------------------
class NpyHeaderError(ValueError):
    """What is wrong with a ``.npy`` header, without the file's name (the caller adds it,
    and its remedy): ``reason`` is ``"empty"`` (0 bytes), ``"header"`` (missing or
    damaged), ``"objects"`` (an object array, which only unpickling reads) or ``"size"``
    (the data are too short, or with ``exact`` not as long as the header says)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def read_npy_header(
    stream: BinaryIO, size: int, *, exact: bool = False
) -> tuple[tuple, np.dtype, int]:
    """``(shape, dtype, data_offset)`` from the header of the ``.npy`` data in the binary
    ``stream`` (at its start; ``size`` bytes long), read without its data, so that an
    object array is refused before NumPy is asked about pickles and a truncated file is
    named as such. Raises :class:`NpyHeaderError`."""
    if size == 0:
        raise NpyHeaderError("is empty (0 bytes)", "empty")
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version}, not one emkit reads")
        offset = stream.tell()
    except (ValueError, SyntaxError, EOFError, TypeError) as exc:
        raise NpyHeaderError(
            f"is not a .npy file: its header is missing or damaged ({one_line(exc)})", "header"
        ) from None
    if dtype.hasobject:
        raise NpyHeaderError(
            f"holds Python objects (dtype {dtype}), which only unpickling reads", "objects"
        )
    needed = offset + math.prod(shape) * dtype.itemsize
    if size < needed or (exact and size != needed):
        raise NpyHeaderError(
            f"has {size - offset} bytes of data where its header (shape {tuple(shape)}, "
            f"{dtype}) needs {needed - offset}",
            "size",
        )
    return tuple(shape), dtype, offset


# -- rebuilding -------------------------------------------------------------------------
def _build(cls, metadata: dict, arrays: dict, path):
    """The estimator of ``cls`` from checked metadata and arrays: hyperparameters,
    fitted scalars, parameters (each through its descriptor), the other fitted arrays
    and the trace, each checked in turn on a fresh instance that is returned only
    when all of it passed."""
    groups: dict = {group: {} for group in _GROUPS}
    for key, array in arrays.items():
        group, _, name = key.partition("/")
        groups[group][name] = array
    estimator = _with_hyperparameters(cls, {**metadata["hyperparameters"], **groups["hyper"]}, path)
    fitted = {**metadata["fitted"], **groups["fitted"]}
    parameters = {p.name: p for p in cls._parameter_attributes() if p.saved}
    checks = _fitted_checks(estimator)
    scalars = [name for name in fitted if name not in parameters and not checks[name][0]]
    for name in scalars:  # the fitted dimensions first: the parameters' shapes use them
        _set_checked(estimator, name, fitted[name], checks[name][1], path)
    required = set(estimator._required_fields())
    for name, parameter in parameters.items():
        if name not in fitted:
            if parameter.field in required:
                raise ModelFileError(f"{path}: the entry fitted/{name} is missing")
            continue
        _set_parameter(estimator, parameter, fitted[name], path)
    try:
        estimator._check_fitted()
    except ValueError as exc:
        raise ModelFileError(f"{path}: incomplete model ({one_line(exc)})") from None
    for name in fitted.keys() - set(scalars) - parameters.keys():
        _set_checked(estimator, name, fitted[name], checks[name][1], path)
    _check_initial_values(estimator, path)
    estimator.trace_ = _checked_trace(groups["trace"], path)
    return estimator


def _with_hyperparameters(cls, hyper: dict, path):
    """A fresh ``cls(**hyper)``, its hyperparameters validated as ``fit`` does; the
    dimensions (``n_components``, ...) must be true integers (JSON ``true`` is not 1)."""
    for name, value in hyper.items():
        if isinstance(value, np.ndarray) and value.dtype.kind not in "iufU":
            raise ModelFileError(
                f"{path}: hyper/{name} must hold real numbers or strings, got dtype {value.dtype}"
            )
        if isinstance(value, (list, dict)):
            raise ModelFileError(
                f"{path}: hyperparameter {name!r} is a JSON {_json_type(value)} in the "
                "metadata, where save writes a scalar (arrays are stored as hyper/ entries)"
            )
    estimator = cls(**hyper)
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise ModelFileError(f"{path}: invalid hyperparameter ({one_line(exc)})") from None
    except TypeError as exc:
        # scikit-learn's constraints passed (a JSON true is an Integral) and a class's own
        # checks then used a value as a size: name the dimension when it is one
        _check_dimensions(estimator, path)
        raise ModelFileError(f"{path}: invalid hyperparameter ({one_line(exc)})") from None
    _check_dimensions(estimator, path)
    return estimator


def _check_dimensions(estimator, path) -> None:
    """The hyperparameters that size parameters must be true integers; so must
    ``n_components`` where it may be None (as FactorAnalysis's, whose parameters are
    sized by the fitted ``n_components_``)."""
    sizing = _dimension_names(estimator)
    optional = {"n_components"} & set(estimator._get_param_names()) - sizing
    for name in sizing | optional:
        value = getattr(estimator, name)
        if name in optional and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ModelFileError(
                f"{path}: hyperparameter {name!r} must be an integer, got {value!r}"
            )


def _dimension_names(estimator) -> set:
    """The hyperparameters that size a parameter's axes."""
    hyper = set(estimator._get_param_names())
    names = set()
    for parameter in estimator._parameter_attributes():
        shape = parameter.shape(estimator) if callable(parameter.shape) else parameter.shape
        names.update(axis for axis in shape if isinstance(axis, str) and axis in hyper)
    return names


def _set_parameter(estimator, parameter, value, path) -> None:
    """Assign one parameter through its descriptor (dtype, shape, constraint)."""
    entry = f"fitted/{parameter.name}"
    if not isinstance(value, np.ndarray):
        raise ModelFileError(f"{path}: {parameter.name} must be stored as the array {entry}")
    try:
        setattr(estimator, parameter.name, value)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {entry}: {one_line(exc)}") from None
    # an assignment also takes shorter forms (a float for c·I, a diagonal); a file
    # holds the attribute as save writes it
    shape = getattr(estimator, parameter.name).shape
    if value.shape != shape:
        raise ModelFileError(f"{path}: {entry} must have shape {shape}, got {value.shape}")


def _set_checked(estimator, name: str, value, check, path) -> None:
    try:
        setattr(estimator, name, check(value, name, estimator))
    except ValueError as exc:
        raise ModelFileError(f"{path}: fitted {name}: {one_line(exc)}") from None


def _check_initial_values(estimator, path) -> None:
    """The ``*_init`` hyperparameters, checked as ``fit`` would check them."""
    try:
        estimator._initial_values()
    except ValueError as exc:
        raise ModelFileError(f"{path}: invalid hyperparameter ({one_line(exc)})") from None


def _checked_trace(columns: dict, path) -> dict:
    """Trace columns: real 1-D arrays of one length."""
    lengths = set()
    for name, column in columns.items():
        if column.ndim != 1 or column.dtype.kind not in "iuf":
            raise ModelFileError(
                f"{path}: trace/{name} must be a 1-D array of real numbers, got "
                f"shape {column.shape} and dtype {column.dtype}"
            )
        lengths.add(column.shape[0])
    if len(lengths) > 1:
        raise ModelFileError(f"{path}: the trace columns differ in length ({sorted(lengths)})")
    return columns


# -- checks of the fitted attributes that are not parameters ------------------------------
# ``check(value, name, estimator) -> value`` raises a ValueError saying what ``value``
# (a JSON value from the metadata, or an array) must be.
def _integer(minimum: int, *, optional: bool = False):
    def check(value, name, estimator):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer >= {minimum}, got {value!r:.60}")
        return value

    return check


def _real(*, minimum: float = -math.inf, allow_minus_inf: bool = False):
    def check(value, name, estimator):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {_json_type(value)} {value!r:.60}")
        finite = math.isfinite(value) or (allow_minus_inf and value == -math.inf)
        if not finite or value < minimum:
            floor = "" if minimum == -math.inf else f" >= {minimum}"
            raise ValueError(f"must be a finite number{floor}, got {value!r}")
        return float(value)

    return check


def _boolean(value, name, estimator):
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r:.60}")
    return value


def _parameter_names(value, name, estimator):
    """A list of the estimator's parameter fields (LinearGaussianSSM's ``learned_``)."""
    fields = {p.field for p in estimator._parameter_attributes()}
    if not isinstance(value, list) or not all(isinstance(v, str) and v in fields for v in value):
        raise ValueError(f"must be a list of parameter names among {sorted(fields)}")
    return tuple(value)


def _array(kind: str, length=None, values=None):
    """A 1-D array of dtype kind ``kind`` ("f" real, "i" integer, "U" string) of
    ``length(estimator)``, whose entries pass ``values(array, estimator)``."""
    kinds = {"f": "iuf", "i": "iu", "U": "U"}[kind]
    words = {"f": "real numbers", "i": "integers", "U": "strings"}[kind]

    def check(value, name, estimator):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds or value.ndim != 1:
            got = f"{value.dtype} of shape {value.shape}" if isinstance(value, np.ndarray) else ""
            raise ValueError(f"must be stored as a 1-D array of {words}, got {got or repr(value)}")
        expected = None if length is None else length(estimator)
        if expected is not None and value.shape[0] != expected:
            raise ValueError(f"must have {expected} entries, got {value.shape[0]}")
        if values is not None:
            values(value, estimator)
        return value.astype(np.float64) if kind == "f" else value

    return check


def _bounds_or_minus_inf(array, estimator):
    if np.any(np.isnan(array) | (array == np.inf)):
        raise ValueError("must hold finite numbers (or -inf)")


def _cluster_labels(array, estimator):
    n_clusters = estimator.cluster_centers_.shape[0]
    if np.any((array < 0) | (array >= n_clusters)):
        raise ValueError(f"must hold cluster indices 0 .. {n_clusters - 1}")


#: ``{name: (is_array, check)}`` of every saved fitted attribute that is not a parameter
_FITTED_CHECKS = {
    "converged_": (False, _boolean),
    "n_iter_": (False, _integer(0)),
    "lower_bound_": (False, _real(allow_minus_inf=True)),
    "log_likelihood_": (False, _real(allow_minus_inf=True)),
    "n_features_in_": (False, _integer(1)),
    "inertia_": (False, _real(minimum=0.0)),
    "n_symbols_": (False, _integer(1)),
    "n_trials_": (False, _integer(1, optional=True)),
    "n_controls_": (False, _integer(0)),
    "learned_": (False, _parameter_names),
    "lower_bounds_": (True, _array("f", values=_bounds_or_minus_inf)),
    "feature_names_in_": (True, _array("U", lambda e: getattr(e, "n_features_in_", None))),
    "labels_": (True, _array("i", values=_cluster_labels)),
}


def _fitted_checks(estimator) -> dict:
    """``{name: (is_array, check)}`` for the fitted attributes of ``estimator`` that
    are not parameters; one the table lacks cannot be checked, so cannot be loaded."""
    names = _fitted_names(type(estimator)) - {
        p.name for p in estimator._parameter_attributes() if p.saved
    }
    unchecked = names - _FITTED_CHECKS.keys()
    if unchecked:
        raise ModelFileError(
            f"emkit cannot check the fitted attributes {sorted(unchecked)} of "
            f"{type(estimator).__name__} (add them to emkit.io._FITTED_CHECKS)"
        )
    return {name: _FITTED_CHECKS[name] for name in names}
