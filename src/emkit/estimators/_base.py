"""The one estimator shell: hyperparameters, the fit template and the fitted state.

Every emkit estimator derives from :class:`EngineEstimator` (k-means) or
:class:`EMEstimator` (every soft-EM estimator). What they share is written here once:

- **Hyperparameters.** Each class declares only its own, with their defaults and
  constraints, in one table (``_hyperparameters``); the shared ones are declared once,
  here. ``__init__`` is made from the tables of every level
  (:meth:`EngineEstimator.__init_subclass__`): its signature lists every
  hyperparameter (scikit-learn's ``get_params``, ``clone`` and ``help()`` read it),
  and it stores each one unchanged, as scikit-learn requires. A keyword that no level
  takes is a one-line TypeError that names emkit's equivalent when it is a peer
  library's name (:mod:`emkit.estimators._migration`).
- **The fit template.** :meth:`EngineEstimator._fit` and :meth:`EMEstimator._partial_fit`
  validate, call the hooks ``_prepare_data`` / ``_prepare_batch`` (validated data as
  :class:`TrainingData`), ``_build_model`` (a model from the data and the ``*_init``
  values, which ``_initial_values`` reads), run the engine or one online EM step, store
  the results, and call ``_after_fit``.
- **One copy of the state.** ``params_`` (a model's parameter container) and
  ``model_`` are the state; the public parameter attributes are
  :class:`~emkit.estimators._parameters.Parameter` views of ``params_``. Assigning
  them on an unfitted estimator collects them until every parameter is known; then the
  hook ``_assemble`` builds the model and ``params_``, and the estimator samples,
  predicts and scores without ``fit`` (as hmmlearn's and pykalman's users expect).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from numbers import Integral, Real
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from emkit._text import byte_size
from emkit.core import fit_em, trace_as_arrays
from emkit.core.monitor import decrease_rtol_for
from emkit.core.online import online_em_step
from emkit.estimators._migration import (
    ATTRIBUTES,
    learn_string_error,
    peer_attribute_error,
    unexpected_keywords,
)
from emkit.estimators._parameters import Parameter


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Validated training data, as the hooks ``_prepare_data`` and ``_prepare_batch``
    return it.

    chunks : the engine's chunks (a list, or a lazy sequence for out-of-core data)
    init_chunks : list of in-memory chunks for the data-driven start
    n_samples : float
        Total weight of the data (the rows, or the sum of their weights).
    n_rows : int
    sample : ndarray of shape (n_sample_rows, n_features)
        In-memory rows for data-dependent priors (all rows when X is in memory).
    sample_weight : ndarray of shape (n_sample_rows,) or None
        Their weights (mixtures).
    n_sequences : int or None
        Number of sequences (sequence models).
    batch : bool
        True for a batch of :meth:`EMEstimator.partial_fit`.
    """

    chunks: Any
    init_chunks: list
    n_samples: float
    n_rows: int
    sample: np.ndarray
    sample_weight: np.ndarray | None = None
    n_sequences: int | None = None
    batch: bool = False


def check_sample_weight(sample_weight, n_weights: int, *, per: str = "row of X"):
    """Validated weights as float64 of shape (n_weights,), or None when not given.

    A scalar is every row's weight. Weights must be finite and non-negative, with a
    positive sum that float64 can hold; every error names the first offending weight
    and what to do. They are refused, not rescaled: a weight counts as repeated
    samples, so scaling them all changes a fit with a prior (and the total weight).

    Parameters
    ----------
    sample_weight : array-like of shape (n_weights,), scalar or None
    n_weights : int
    per : str
        What one weight belongs to, for the messages ("row of X", "sequence").
    """
    if sample_weight is None:
        return None
    weights = numeric_array(sample_weight, "sample_weight").astype(np.float64)
    if weights.ndim == 0:
        weights = np.full(n_weights, float(weights))
    if weights.shape != (n_weights,):
        raise ValueError(
            f"sample_weight must hold one weight per {per}: expected shape ({n_weights},), "
            f"got {weights.shape}"
        )
    for bad, problem in ((~np.isfinite(weights), "is not finite"), (weights < 0, "is negative")):
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"sample_weight[{i}] = {float(weights[i])!r} {problem}; give finite "
                "non-negative weights"
            )
    with np.errstate(over="ignore"):
        total = weights.sum()
    if total <= 0:
        raise ValueError(f"sample_weight sums to zero; at least one {per} needs a positive weight")
    if not np.isfinite(total):
        raise ValueError(
            f"sample_weight sums to more than float64 holds (largest weight "
            f"{weights.max():.3g}); a weight counts as repeated samples, so rescale them "
            "(e.g. sample_weight / sample_weight.max()), which leaves a fit without a "
            "prior unchanged"
        )
    return weights


# -- values that are not arrays of real numbers ---------------------------------------------
def numeric_array(value, name: str) -> np.ndarray:
    """``value`` as an ndarray of real numbers (its dtype kept when numeric or bool;
    object and string arrays whose entries all parse become float64), or a one-line
    ValueError that names ``name``, the first offending entry (0-based index, and the
    column label of a DataFrame) and what to do: strings, None, nested or ragged rows,
    complex numbers, dates, duplicated DataFrame column names. Shapes are not checked.
    """
    columns = _frame_columns(value, name)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise ValueError(_ragged_message(value, name)) from None
    kind = array.dtype.kind
    if kind in "biuf":
        return array
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} must hold real numbers, got complex "
            f"values; pass {name}.real (or np.abs({name})) if that is what you mean"
        )
    if kind in "OUS":
        return _parsed_entries(array, name, columns)
    raise ValueError(
        f"{name} must hold numbers, got dtype {array.dtype}; convert it to float first"
    )


def _frame_columns(value, name: str):
    """The column labels of a DataFrame (refusing duplicated ones), else None."""
    columns = getattr(value, "columns", None)
    if columns is None or not hasattr(value, "dtypes"):
        return None
    labels = list(columns)
    duplicated = sorted({repr(c) for c in labels if labels.count(c) > 1})
    if duplicated:
        raise ValueError(
            f"{name} has duplicated column names ({', '.join(duplicated)}); give every "
            "column a unique name"
        )
    return labels


def _ragged_message(value, name: str) -> str:
    """What is wrong with a nested sequence that NumPy cannot make an array of."""
    try:
        sizes = [len(row) for row in value]
    except TypeError:
        sizes = []
    for i, size in enumerate(sizes[1:], start=1):
        if size != sizes[0]:
            return (
                f"{name} is ragged: row 0 has {sizes[0]} entries but row {i} has {size}; "
                "every row needs one entry per feature"
            )
    return f"{name} must be a rectangular array of numbers (rows of equal length, no nesting)"


class NotANumberError(ValueError, TypeError):
    """An entry of the data is an object that is no number at all (a dict, a list):
    a ValueError for emkit's callers, and the TypeError that NumPy and scikit-learn
    raise for it."""


def _entry_problem(entry) -> str | None:
    """Why one entry of an object or string array is not a real number, or None."""
    if entry is None or type(entry).__name__ in ("NAType", "NaTType"):
        return (
            "is a missing value; drop or impute missing values (np.nan where the model allows it)"
        )
    if isinstance(entry, (complex, np.complexfloating)):
        return "is complex: Complex data not supported; pass the real part if that is meant"
    if isinstance(entry, (Real, np.bool_)):
        return None
    if isinstance(entry, (str, bytes, np.str_, np.bytes_)):
        try:
            float(entry)
            return None
        except ValueError:
            return "is a string, not a number; convert or drop the non-numeric entries"
    return (
        f"is an object of type {type(entry).__name__}: each entry of the argument must be "
        "a number or a numeric string; give a flat array of numbers"
    )


def _parsed_entries(array: np.ndarray, name: str, columns) -> np.ndarray:
    """An object or string array as float64, or an error naming its first bad entry."""
    try:
        converted = array.astype(np.float64)
    except (ValueError, TypeError):
        converted = None
    # NumPy turns None into NaN: when the conversion succeeds, only NaN entries are
    # suspects (a large numeric object array is not walked in Python)
    suspects = (
        np.ndindex(array.shape)
        if converted is None
        else (tuple(i) for i in np.argwhere(np.isnan(converted)))
    )
    for index in suspects:
        entry = array[index]
        entry = entry.item() if isinstance(entry, np.generic) else entry
        problem = _entry_problem(entry)
        if problem is not None:
            where = f"{name}[{', '.join(map(str, index))}]"
            if columns is not None and len(index) == 2:
                where += f" (row {index[0]}, column {columns[index[1]]!r})"
            # a string or a missing value is a ValueError (as in NumPy); an object of
            # another type also the TypeError that scikit-learn's checks expect
            error = NotANumberError if problem.startswith("is an object") else ValueError
            raise error(f"{where} = {repr(entry)[:40]} {problem}")
    if converted is None:
        raise ValueError(f"{name} must hold numbers; convert it to float first")
    return converted


def check_2d(array: np.ndarray, name: str = "X", min_rows: int = 1) -> None:
    """A one-line ValueError unless ``array`` has shape (n_samples >= min_rows,
    n_features >= 1)."""
    shape = array.shape
    if array.ndim != 2:
        got = "a scalar" if array.ndim == 0 else f"a {array.ndim}-D array of shape {shape}"
        hint = (
            f"Reshape your data with {name}.reshape(-1, 1) if it has one feature, or "
            f"{name}.reshape(1, -1) if it is one sample"
            if array.ndim == 1
            else f"Reshape your data to 2-D (e.g. {name}.reshape(len({name}), -1))"
        )
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got {got}. {hint}"
        )
    if shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={shape}) while a minimum of 1 is required: "
            "give at least one column"
        )
    if shape[0] < min_rows:
        raise ValueError(
            f"{name} has {shape[0]} sample(s) (shape={shape}) while a minimum of "
            f"{min_rows} is required: give more rows"
        )


def physical_memory() -> int | None:
    """The machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not POSIX, or the name is unknown
        return None


class OutputSizeError(ValueError, MemoryError):
    """An output would not fit in memory: a ValueError naming the argument for emkit's
    callers, and the MemoryError that NumPy would raise after trying."""


def check_output_memory(argument: str, n_rows: int, floats_per_row: float, remedy: str) -> None:
    """A one-line OutputSizeError, before NumPy tries to allocate, when an output of
    ``n_rows`` rows of ``floats_per_row`` float64 values each (with its temporaries)
    would not fit in the machine's memory.

    ``argument`` names what asked for the rows (``"n_samples=10**12"``), ``remedy``
    says what to do instead.
    """
    # the draws and their transform exist at once: twice the output
    need = 2.0 * 8.0 * float(n_rows) * float(floats_per_row)
    memory = physical_memory()
    if memory is not None and need > memory:
        raise OutputSizeError(
            f"{argument}: {n_rows} rows of {floats_per_row:g} values need about "
            f"{byte_size(need)}, more than this machine's memory ({byte_size(memory)}); "
            f"{remedy}"
        )


def effective_n_jobs(n_jobs) -> int:
    """Threads for ``n_jobs`` as in scikit-learn and joblib: a positive count, -1 every
    core, -2 all but one, ...; emkit's default None is every core."""
    if n_jobs == 0:
        raise ValueError(
            "n_jobs=0 is not a number of threads: give a positive count, -1 for every "
            "core or -2 for all but one"
        )
    return int(joblib.effective_n_jobs(-1 if n_jobs is None else n_jobs))


def _hyperparameter_table(cls) -> dict:
    """``{name: (default, constraints)}`` of every level of ``cls``, bases first; a
    class's ``_default_overrides`` changes only defaults."""
    table: dict = {}
    for klass in reversed(cls.__mro__):
        table.update(klass.__dict__.get("_hyperparameters", {}))
        for name, default in klass.__dict__.get("_default_overrides", {}).items():
            table[name] = (default, table[name][1])
    return table


def _init_signature(cls, table: dict) -> inspect.Signature:
    """``__init__(self, <positional>, *, <own keywords>, <each base's keywords>)``."""
    P = inspect.Parameter
    positional = [n for n in cls._positional if n in table]
    keywords: list = []
    for klass in cls.__mro__:  # the class's own first, then each base's, in their order
        for name in klass.__dict__.get("_hyperparameters", {}):
            if name not in positional and name not in keywords:
                keywords.append(name)
    return inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD)]
        + [P(n, P.POSITIONAL_OR_KEYWORD, default=table[n][0]) for n in positional]
        + [P(n, P.KEYWORD_ONLY, default=table[n][0]) for n in keywords]
    )


def _store_hyperparameters(estimator, signature: inspect.Signature, args, kwargs) -> None:
    """What every generated ``__init__`` does: store each hyperparameter as given."""
    unknown = set(kwargs) - set(signature.parameters)
    if unknown:
        raise unexpected_keywords(type(estimator).__name__, unknown, estimator._peer_keywords)
    bound = signature.bind(estimator, *args, **kwargs)
    bound.apply_defaults()
    for name, value in list(bound.arguments.items())[1:]:
        setattr(estimator, name, value)


def _parameter_descriptors(cls) -> tuple[Parameter, ...]:
    """Every Parameter descriptor of ``cls``, in definition order (bases first)."""
    seen, found = set(), []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Parameter) and name not in seen:
                seen.add(name)
                found.append(getattr(cls, name))
    return tuple(found)


#: The ``accelerate`` entry of every estimator's Parameters: a class docstring's line
#: ``    {accelerate}`` becomes this text (EMEstimator.__init_subclass__, shared_doc).
ACCELERATE_DOC = """    accelerate : {None, "squarem", "daarem", "qn", "auto"} or callable, \
default=None
        None: plain EM steps. "squarem": SQUAREM's extrapolation of the EM map (Varadhan &
        Roland 2008); "daarem": damped Anderson acceleration with restarts (Henderson &
        Varadhan 2019); "qn": the quasi-Newton step on the EM map (Zhou, Alexander &
        Lange 2011), with SQUAREM's forward step where EM leaves a saddle point; "auto":
        DAAREM, switching to "qn" when its proposals keep failing. An extrapolated point
        is kept only when it is at least as good as EM's step, so the log-likelihood
        still never decreases; slow fits need far fewer E-steps (``n_e_steps_`` counts
        them). A callable ``(model, reduce) -> stepper`` builds the stepper itself
        (``partial(emkit.core.steps.Squarem, scheme=1)``).
"""


def _shared_entries(doc: str | None) -> str | None:
    """``doc`` with its ``    {accelerate}`` line replaced by :data:`ACCELERATE_DOC`."""
    return doc.replace("    {accelerate}\n", ACCELERATE_DOC) if doc else doc


class EngineEstimator(BaseEstimator):
    """Base of every emkit estimator: the engine's hyperparameters, the fit template and
    the fitted state (see the module docstring).

    A subclass implements the hooks ``_prepare_data(X, warm, **data_args) ->
    TrainingData``, ``_build_model(data) -> model`` and ``_assemble(values) -> (model,
    params)`` (the model and full parameters from the values of every parameter
    attribute, ``{field: array}``), and may override ``_after_fit(data)``,
    ``_n_restarts()``, ``_compute_dtype()`` and ``_required_fields()``.
    """

    #: this level's hyperparameters: {name: (default, scikit-learn constraints)}. Each
    #: class declares only its own; ``__init__`` (which stores them all, as scikit-learn
    #: requires) and ``_parameter_constraints`` are made from every level's tables.
    _hyperparameters: dict = {
        "tol": (1e-3, [Interval(Real, 0.0, None, closed="left")]),
        "max_iter": (100, [Interval(Integral, 0, None, closed="left")]),
        "n_init": (1, [Interval(Integral, 1, None, closed="left")]),
        "random_state": (None, ["random_state"]),
        "verbose": (0, ["verbose"]),
        "n_jobs": (None, [Integral, None]),
        "chunk_size": (None, [Interval(Integral, 1, None, closed="left"), None]),
    }
    #: hyperparameters that may be passed by position, in order
    _positional: tuple[str, ...] = ()

    #: the estimator's own peer keywords for the TypeError (see _migration.KEYWORDS)
    _peer_keywords: dict = {}

    #: fitted attributes that are not parameters but are saved with them
    _saved_extras: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__doc__ = _shared_entries(cls.__doc__)
        table = _hyperparameter_table(cls)
        cls._parameter_constraints = {name: rule for name, (_, rule) in table.items()}
        cls._parameters_found = _parameter_descriptors(cls)
        signature = _init_signature(cls, table)

        def __init__(self, *args, **kwargs):
            _store_hyperparameters(self, signature, args, kwargs)

        __init__.__signature__ = signature
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__doc__ = f"Store the hyperparameters (see :class:`{cls.__name__}`)."
        cls.__init__ = __init__

    # -- the fit template -------------------------------------------------------------
    def _fit(self, X, *, callback=None, **data_args):
        """Validate, prepare the data, build the model, run the engine, store the results."""
        self._validate_params()
        warm = self._is_warm()
        data = self._prepare_data(X, warm=warm, **data_args)
        model = self._build_model(data)
        result = fit_em(
            model,
            data.chunks,
            n_samples=data.n_samples,
            max_iter=self.max_iter,
            tol=self.tol,
            n_init=self._n_restarts(),
            random_state=self.random_state,
            # a warm start's first iteration is not compared with lower_bound_: that bound
            # was computed on the previous fit's data, which need not be these (a false
            # decrease warning, or a stop after one iteration when they happen to agree)
            start_params=self.params_ if warm else None,
            verbose=self.verbose,
            callback=callback,
            n_jobs=self._n_threads(),
            init_chunks=data.init_chunks,
            decrease_rtol=decrease_rtol_for(self._compute_dtype()),
            **self._engine_options(),
        )
        # a fit refused after EM (by _after_fit or _check_fit) leaves the state it found
        before = dict(self.__dict__)
        try:
            self.model_ = model
            self.params_ = result.params
            self.__dict__.pop("_pending_parameters", None)
            self.converged_ = result.converged
            self.n_iter_ = result.n_iter
            self.lower_bound_ = result.lower_bound
            self.lower_bounds_ = result.lower_bounds
            self.log_likelihood_ = result.log_likelihood
            self.n_e_steps_ = result.n_e_steps
            self.trace_ = trace_as_arrays(list(result.trace))
            self._after_fit(data)
            self._check_fit(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _check_fit(self, X) -> None:
        """Refuse a finished fit that does not describe ``X`` (a ValueError); the
        estimator then keeps the state it had before ``fit``."""

    def _is_warm(self) -> bool:
        return False

    def _engine_options(self) -> dict:
        """Engine keywords beyond the shared ones (verbose_interval, accelerate)."""
        return {}

    def _n_restarts(self) -> int:
        return self.n_init

    def _n_threads(self) -> int:
        return effective_n_jobs(self.n_jobs)

    def _compute_dtype(self):
        return np.float64

    def _after_fit(self, data: TrainingData) -> None:
        """Fitted attributes beyond the parameters (k-means' labels and inertia)."""

    # -- enough rows to start from -----------------------------------------------------
    def _row_minimums(self) -> dict:
        """``{hyperparameter: what needs that many rows}``: the data-driven start needs at
        least as many rows as each value (e.g. ``{"n_components": "components"}``)."""
        return {}

    def _check_enough_rows(self, n_rows: int, whose: str = "X has") -> None:
        """A clear error when ``n_rows`` training rows cannot initialise the model;
        ``whose`` says which rows ("X has", "the first batch of partial_fit has")."""
        samples = "sample" if n_rows == 1 else "samples"
        for name, what in self._row_minimums().items():
            needed = int(getattr(self, name))
            if n_rows < needed:
                raise ValueError(
                    f"{whose} {n_rows} {samples} but {name}={needed}: a {type(self).__name__} "
                    f"needs at least as many observations as {what}, so n_samples={n_rows} "
                    f"should be >= {name}={needed}: give more rows or lower {name}"
                )

    # -- initial values ---------------------------------------------------------------
    @classmethod
    def _parameter_attributes(cls) -> tuple[Parameter, ...]:
        """Every Parameter descriptor of the class, in definition order (bases first);
        found once per class, when it is defined."""
        return cls.__dict__["_parameters_found"]

    def _initial_values(self) -> dict:
        """``{field: array}`` of the ``*_init`` hyperparameters that are set, checked as
        an assignment to their attribute is (errors name the hyperparameter)."""
        return {
            p.field: p.validated(self, getattr(self, p.init), p.init, record=False)
            for p in self._parameter_attributes()
            if p.init is not None and getattr(self, p.init) is not None
        }

    # -- the fitted state -------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return "params_" in self.__dict__

    def _check_fitted(self) -> None:
        if "params_" in self.__dict__:
            return
        values = self.__dict__.get("_pending_parameters", {})
        missing = [
            p.name
            for p in self._parameter_attributes()
            if p.saved and p.field in self._required_fields() and values.get(p.field) is None
        ]
        raise NotFittedError(
            f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator, or set its parameters "
            f"({', '.join(missing)}) to use known values"
        )

    def _required_fields(self) -> tuple[str, ...]:
        """Fields that must be known before the estimator can be used."""
        return tuple(p.field for p in self._parameter_attributes() if p.saved)

    def _parameter_value(self, field: str):
        """The value of one parameter field, or None where it is not known yet."""
        if "params_" in self.__dict__:
            return _field(self.params_, field)
        return self.__dict__.get("_pending_parameters", {}).get(field)

    def _parameter_values(self) -> dict:
        """``{field: array}`` of every parameter attribute (None where unknown)."""
        if "params_" not in self.__dict__:
            return dict(self.__dict__.get("_pending_parameters", {}))
        return {
            p.field: _field(self.params_, p.field) for p in self._parameter_attributes() if p.saved
        }

    def _set_parameter(self, field: str, value: np.ndarray) -> None:
        """Store an assigned (validated) parameter: rebuild params_ (and, the first time
        every parameter is known, the model), or keep it until the others are set."""
        values = self._parameter_values()
        values[field] = value
        if any(values.get(f) is None for f in self._required_fields()):
            self._pending_parameters = values
            return
        self.model_, self.params_ = self._assemble(values)
        self.__dict__.pop("_pending_parameters", None)

    @property
    def _saved_attributes(self) -> tuple[str, ...]:
        """What a model file stores beyond the engine's results: the fitted dimensions and
        extras first (parameter checks need them), then every parameter."""
        return (*self._saved_extras, *(p.name for p in self._parameter_attributes() if p.saved))

    def _params_from_attributes(self) -> None:
        """After loading: the saved parameters were assigned, so the state is complete."""
        self._check_fitted()

    # -- peers' names -------------------------------------------------------------------
    def __getattr__(self, name):
        # reached when normal lookup fails, including an unset Parameter
        descriptor = getattr(type(self), name, None)
        if isinstance(descriptor, Parameter):
            descriptor.__get__(self)  # raises its own AttributeError
        error = peer_attribute_error(type(self).__name__, name)
        if error is not None:
            raise error
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        # a peer's attribute set by hand would be silently ignored: refuse it
        if name in ATTRIBUTES and not hasattr(type(self), name):
            raise peer_attribute_error(type(self).__name__, name)
        super().__setattr__(name, value)

    # -- shared helpers -----------------------------------------------------------------
    def _sampling_rng(self, n_samples, random_state=None):
        """The generator for ``sample`` (``random_state``, default the estimator's), once
        ``n_samples`` is known to be a positive count whose samples fit in memory."""
        self._check_fitted()
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at "
                "least one sample: n_samples must be a positive integer."
            )
        check_output_memory(
            f"n_samples={n_samples}",
            int(n_samples),
            self._sample_row_floats(),
            "draw fewer samples per call (a different random_state for each call)",
        )
        return check_random_state(self.random_state if random_state is None else random_state)

    def _sample_row_floats(self) -> int:
        """Values ``sample`` returns per sample: the features and a label."""
        return int(self.n_features_in_) + 1


class EMEstimator(EngineEstimator):
    """Base of the soft-EM estimators: warm starts, SQUAREM, progress reporting and
    online EM (:meth:`_partial_fit`) on top of :class:`EngineEstimator`.

    A subclass also implements ``_prepare_batch(X, first, **data_args) -> TrainingData``
    (one in-memory chunk, as ``init_chunks[0]``).
    """

    _hyperparameters: dict = {
        "warm_start": (False, ["boolean"]),
        "verbose_interval": (10, [Interval(Integral, 1, None, closed="left")]),
        "accelerate": (None, [StrOptions({"squarem", "daarem", "qn", "auto"}), callable, None]),
        "learning_decay": (0.51, [Interval(Real, 0.5, 1.0, closed="right")]),
        "learning_offset": (0.0, [Interval(Real, 0.0, None, closed="left")]),
    }

    def _is_warm(self) -> bool:
        return bool(self.warm_start) and self.__sklearn_is_fitted__()

    #: parameters that, left out of ``learn`` without a ``*_init``, stay uniform
    _uniform_when_fixed: tuple[str, ...] = ()

    def _validate_learn(self) -> None:
        """For estimators whose ``learn`` lists what EM updates, every other parameter
        staying at its ``*_init`` value: the hyperparameters' validation, with clear
        errors for ``learn`` as one string (hmmlearn's letter codes) and for a fixed
        parameter whose ``*_init`` is not given, before any model is built."""
        if isinstance(self.learn, str):
            raise learn_string_error(self.learn)
        super()._validate_params()
        if self.learn is None:
            return
        learned = {str(name) for name in np.ravel(np.asarray(self.learn, dtype=object))}
        inits: dict = {}  # learn name -> the *_init hyperparameters that give its value
        for p in self._parameter_attributes():
            names = inits.setdefault(p.field.rsplit(".", 1)[-1], [])
            if p.init is not None:
                names.append(p.init)
        unknown = learned - set(inits)
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {sorted(unknown)}; choose from {tuple(inits)}"
            )
        for name, names in inits.items():
            if name in learned or not names or name in self._uniform_when_fixed:
                continue
            if all(getattr(self, init) is None for init in names):
                raise ValueError(
                    f"learn={sorted(learned)} leaves {name!r} fixed, so its value must be "
                    f"given: set {' or '.join(names)}, or add {name!r} to learn"
                )

    def _engine_options(self) -> dict:
        return {"verbose_interval": self.verbose_interval, "accelerate": self.accelerate}

    def _partial_fit(self, X, **data_args):
        """One online EM update from a batch (see :mod:`emkit.core.online`).

        The first call validates the hyperparameters, builds the model and initialises
        the parameters from its batch; every call then moves the running statistics
        towards the batch's with step ``(t + learning_offset) ** -learning_decay`` and
        runs the M-step. Sets ``online_state_`` and ``n_iter_`` (batches seen).
        """
        first = "online_state_" not in self.__dict__
        if first:
            self._validate_params()
        batch = self._prepare_batch(X, first=first, **data_args)
        # everything into locals first: a batch that is refused (by its checks, or by
        # the step's non-finite guard) leaves the fitted state as it was
        if first:
            model = self._build_model(batch)
            params = model.init_params(batch.init_chunks, check_random_state(self.random_state))
            state, n_iter = None, 0
        else:
            model, params, state, n_iter = (
                self.model_,
                self.params_,
                self.online_state_,
                self.n_iter_,
            )
        params, state, _ = online_em_step(
            model,
            params,
            state,
            batch.init_chunks[0],
            batch.n_samples,
            kappa=self.learning_decay,
            t0=self.learning_offset,
        )
        self.model_, self.params_, self.online_state_, self.n_iter_ = (
            model,
            params,
            state,
            n_iter + 1,
        )
        self.__dict__.pop("_pending_parameters", None)
        return self

    # -- statistical inference (emkit.estimators._inference) ---------------------------
    def standard_errors(self, X, *args, **kwargs) -> dict:
        """Standard errors of the learned parameters from the observed information.

        Parameters
        ----------
        X, *args, **kwargs
            The training data, as given to ``fit`` (``lengths``, ``sample_weight``,
            ``y``, ``U``, ...). Keywords ``step`` (central-difference step, default
            1e-4) and ``boundary_tol`` (default 1e-6) tune the computation.

        Returns
        -------
        dict of ndarray
            ``{"weights_": array, "means_": array, ...}``, each of its attribute's
            shape; parameters that are not learned are absent. NaN for a parameter on
            a boundary of its space (a :class:`BoundaryWarning` names it). The method
            (Fisher's identity and central differences of the EM score, in linear free
            coordinates) is described in :mod:`emkit.estimators._inference`.
        """
        from emkit.estimators._inference import fit_inference

        return fit_inference(self, X, *args, **kwargs).standard_errors

    def confidence_intervals(self, X, *args, alpha=0.05, **kwargs) -> dict:
        """Wald confidence intervals ``estimate ± z_{1-alpha/2} se`` of the learned
        parameters: ``{name: array of shape (*attribute_shape, 2)}`` with (lower,
        upper) on the last axis. Arguments as :meth:`standard_errors`. Not clipped to
        the parameter space: a probability's interval may leave [0, 1]."""
        from emkit.estimators._inference import fit_inference

        return fit_inference(self, X, *args, **kwargs).confidence_intervals(alpha)

    def summary(self, X, *args, alpha=0.05, **kwargs):
        """A printable summary in the style of statsmodels: log-likelihood, AIC, BIC,
        ICL (mixtures), iterations, convergence, and a table of every learned parameter
        entry with its estimate, standard error, z, P>|z| and ``1 - alpha`` interval.
        Arguments as :meth:`standard_errors`; ``print(model.summary(X))``."""
        from emkit.estimators._inference import fit_inference

        return fit_inference(self, X, *args, **kwargs).summary(alpha)


def shared_doc(parameters: str, attributes: str):
    """A class decorator: the class docstring's ``    {common}`` line becomes the
    parameters that a group of estimators shares, and ``attributes`` is appended."""

    def insert(cls):
        cls.__doc__ = (
            cls.__doc__.replace(
                "    {common}\n", _shared_entries(parameters).lstrip("\n") + "\n"
            ).rstrip()
            + "\n"
            + attributes.strip("\n")
            + "\n    "
        )
        return cls

    return insert


def _field(container, path: str):
    """The field at dotted ``path`` of a nested container."""
    for name in path.split("."):
        container = getattr(container, name)
    return container


def compose(container_type, values: dict, subcontainer: str | None = None, make=None):
    """A (nested) container from ``{path: value}``: fields ``"<subcontainer>.<name>"``
    go to ``make(**fields)`` (a family's ``make_params``), the others to
    ``container_type`` directly."""
    top = {path: value for path, value in values.items() if "." not in path}
    if subcontainer is not None:
        prefix = subcontainer + "."
        inner = {p[len(prefix) :]: v for p, v in values.items() if p.startswith(prefix)}
        top[subcontainer] = make(**inner)
    return container_type(**top)


def partial_container(container_type, values: dict):
    """A container of ``container_type`` with the given fields and None elsewhere."""
    fields = {f.name: values.get(f.name) for f in dataclasses.fields(container_type) if f.init}
    return container_type(**fields)
