"""What a model kind of the command line is (one value of ``emkit fit --model``), and the
options and summary lines that several kinds share.

The kinds live in one module per family (:mod:`emkit.cli.mixture`,
:mod:`emkit.cli.hmm`, :mod:`emkit.cli.lgssm`, :mod:`emkit.cli.topic_models`) and are
collected in :mod:`emkit.cli.models`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emkit.cli.columns import COLUMNS_KEY
from emkit.cli.common import (
    CLIError,
    comma_list,
    n_jobs,
    nonnegative_float,
    nonnegative_int,
    positive_int,
)
from emkit.cli.data import Table
from emkit.cli.report import Entry

__all__ = [
    "ACCELERATE",
    "COVARIANCE_TYPE",
    "ENGINE_OPTIONS",
    "INIT",
    "LEARN",
    "LENGTHS",
    "N_COMPONENTS",
    "REG_COVAR",
    "Inputs",
    "ModelKind",
    "Option",
    "default_help",
    "fit_criteria",
    "plain_build",
    "sequence_score",
]


@dataclass(frozen=True, eq=False)
class Option:
    """One ``emkit fit`` option: argparse flags and keywords, and how ``--help`` shows
    its default.

    The same Option object may be listed by several kinds (``--lengths`` by hmm and
    lgssm); it is added to the parser once, and ``fit`` rejects it for the kinds
    that do not list it. ``required``: every kind that lists it needs it.
    ``default_text``: the default to show in ``--help``; without it ``--help`` shows
    the default of the estimator parameter that the option sets, for every kind.
    """

    flags: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    required: bool = False
    default_text: str | None = None

    @property
    def dest(self) -> str:
        return self.flags[-1].lstrip("-").replace("-", "_")

    @classmethod
    def of(
        cls, *flags: str, required: bool = False, default_text: str | None = None, **kwargs
    ) -> Option:
        return cls(flags, kwargs, required, default_text)


@dataclass(frozen=True)
class Inputs:
    """A data file as a model reads it, with its sequence lengths and control inputs.

    table : the data (``table.X`` of shape (n_samples, n_features); NaN only where the
        model allows missing values; ``table.columns``: the names of its columns)
    lengths : ndarray of int of shape (n_sequences,), or None (one sequence)
    controls : ndarray of shape (n_samples, n_controls), or None

    What the commands use of any kind's inputs (the topic models read theirs with
    :class:`emkit.cli.corpus.Documents`, which has the same): ``X``, ``source``,
    ``where(row, col)``, ``entry()`` and ``metadata()``.
    """

    table: Table
    lengths: np.ndarray | None = None
    controls: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        return self.table.X

    @property
    def source(self) -> str:
        """How messages name the data file."""
        return self.table.source

    def where(self, row: int, col: int) -> str:
        """Where the cell ``X[row, col]`` is in the file, as a user counts."""
        return self.table.where(row, col)

    def entry(self) -> Entry:
        """The ``data`` line of the fit summary."""
        table = self.table
        n, d = self.X.shape
        n_sequences = 1 if self.lengths is None else len(self.lengths)
        n_missing = table.n_missing
        n_controls = 0 if self.controls is None else self.controls.shape[1]
        parts = [f"{table.source}: {n} samples x {d} features"]
        if n_sequences > 1:
            parts.append(f"{n_sequences} sequences")
        if n_missing:
            parts.append(f"{n_missing} missing values")
        if n_controls:
            parts.append(f"{n_controls} control inputs")
        data = {
            "path": table.source,
            "n_samples": n,
            "n_features": d,
            "columns": table.columns,
            "n_sequences": n_sequences,
            "n_missing": n_missing,
            "n_controls": n_controls,
        }
        return Entry("data", ", ".join(parts), {"data": data})

    def metadata(self) -> dict:
        """What ``emkit fit`` keeps in the model file about its data: the column names."""
        columns = self.table.columns
        return {} if columns is None else {COLUMNS_KEY: list(columns)}


def _fit_plain(estimator, inputs: Inputs, args):
    return estimator.fit(inputs.X)


def _predict_plain(estimator, inputs: Inputs, proba: bool):
    if proba:
        if not hasattr(estimator, "predict_proba"):
            raise CLIError(
                f"--proba is not available for {type(estimator).__name__} models "
                "(hard assignments); fit a Gaussian mixture (--model gmm) for probabilities"
            )
        return estimator.predict_proba(inputs.X)
    return estimator.predict(inputs.X)


def _components(estimator) -> str:
    return f"{estimator.n_components} components"


def plain_build(cls: type) -> Callable:
    """The ``build`` of a kind whose options all go to the estimator ``cls`` as they are."""

    def build(args, parameters: dict):
        return cls(**parameters)

    return build


#: the options of the EM loop that every kind takes; each sets the estimator parameter
#: of its name
ENGINE_OPTIONS = (
    Option.of("--max-iter", type=positive_int, help="EM iteration budget"),
    Option.of("--tol", type=nonnegative_float, help="convergence tolerance"),
    Option.of("--n-init", type=positive_int, help="restarts; the best is kept"),
    Option.of(
        "--random-state",
        type=nonnegative_int,
        help="seed (reproducible fits)",
        default_text="fresh randomness, a different fit every run",
    ),
    Option.of(
        "--chunk-size",
        type=positive_int,
        metavar="ROWS",
        help="rows per chunk of the E-step (whole sequences for hmm and lgssm); a .npy file "
        "is streamed chunk by chunk, so this bounds the memory of a fit",
        default_text="the estimator's",
    ),
    Option.of(
        "--n-jobs",
        type=n_jobs,
        metavar="N",
        help="threads for the E-steps of different chunks, -1 for every core; the fit is "
        "the same for any N",
        default_text="every core",
    ),
)
_ENGINE_PARAMETERS = {option.dest: option.dest for option in ENGINE_OPTIONS}


@dataclass(frozen=True)
class ModelKind:
    """How the command line handles one kind of model (one value of ``fit --model``).

    Attributes
    ----------
    estimator : type
        The estimator class (or a base class); commands on saved models find the kind
        by ``isinstance``.
    build : callable
        ``build(args, parameters) -> estimator``, from the parsed ``fit`` options:
        ``parameters`` holds the estimator parameters set by the options the user gave
        (the :data:`ENGINE_OPTIONS` and ``hyperparameters``) and ``verbose``;
        ``plain_build(cls)`` when they are all there is to it.
    help : str
        One line for ``emkit fit --help``.
    summary : callable
        ``summary(estimator, inputs) -> [Entry]`` printed after fitting.
    score : callable
        ``score(estimator, inputs) -> [Entry]`` printed by ``emkit score``.
    tables : callable
        ``tables(estimator, feature_names) -> [rich renderables]`` for ``emkit info``.
    attributes : callable
        ``attributes(estimator) -> (name, ...)``: the public fitted attributes that
        ``emkit info --json`` writes.
    plot : callable
        ``plot(estimator, inputs, path)`` for ``emkit fit --plot``.
    options : tuple of Option
        The ``emkit fit`` options this kind uses beyond the :data:`ENGINE_OPTIONS`;
        ``fit`` rejects the others. An Option with dest ``lengths`` or ``controls`` also
        enables ``--lengths`` / ``--controls`` of the commands on saved models.
    hyperparameters : mapping
        ``{estimator parameter: option dest}`` of the options passed to the estimator
        as they are (given to ``build`` in ``parameters``; their defaults are shown by
        ``--help``).
    defaults_from : tuple of type
        The classes whose constructor defaults ``--help`` shows (the first that has the
        parameter); default: ``(estimator,)``.
    fit : callable
        ``fit(estimator, inputs, args) -> estimator``; default ``estimator.fit(X)``.
    predict : callable or None
        ``predict(estimator, inputs, proba) -> ndarray`` for ``emkit predict``; None:
        the kind has no labels to predict. Default: ``predict`` / ``predict_proba``.
    smooth : callable or None
        ``smooth(estimator, inputs, filtered) -> (values, column_names)`` for ``emkit
        smooth``; None (default): the kind has no continuous hidden state.
    describe : callable
        ``describe(estimator) -> str``, the size of the model ("3 components").
    missing_values : bool
        Whether NaN cells of a data file are missing observations (else an error).
    read : callable or None
        ``read(args, path, model) -> inputs`` for a kind whose data files are not tables
        (the topic models' corpus files): ``model`` is the
        :class:`~emkit.cli.inputs.SavedModel` the data are for (``predict``, ``score``)
        or None (``fit``); the inputs have what :class:`Inputs` has for the commands.
        None (default): a CSV or .npy table with ``--columns``, ``--lengths`` and
        ``--controls`` (:func:`emkit.cli.inputs.read_inputs`).
    """

    estimator: type
    build: Callable
    help: str
    summary: Callable
    score: Callable
    tables: Callable
    attributes: Callable
    plot: Callable
    options: tuple[Option, ...] = ()
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    defaults_from: tuple[type, ...] = ()
    fit: Callable = _fit_plain
    predict: Callable | None = _predict_plain
    smooth: Callable | None = None
    describe: Callable = _components
    missing_values: bool = False
    read: Callable | None = None

    def accepts(self, option: str) -> bool:
        """Whether ``option`` (an argparse destination) is one of this kind's options."""
        return any(o.dest == option for o in self.options)

    @property
    def parameters(self) -> dict[str, str]:
        """``{estimator parameter: option dest}`` of every option passed on as it is."""
        return {**_ENGINE_PARAMETERS, **self.hyperparameters}

    def option_of(self, parameter: str) -> str | None:
        """The option dest that sets the estimator ``parameter``, or None."""
        return self.parameters.get(parameter)

    def default(self, option: str):
        """``(True, value)``: the estimator's default for what ``option`` sets;
        ``(False, None)`` when the option sets no estimator parameter."""
        names = [param for param, dest in self.parameters.items() if dest == option]
        for cls in self.defaults_from or (self.estimator,):
            signature = inspect.signature(cls).parameters
            for name in names:
                if name in signature and signature[name].default is not inspect.Parameter.empty:
                    return True, signature[name].default
        return False, None


def default_help(option: Option, kinds: Mapping[str, ModelKind]) -> str:
    """`` (default: ...)`` for ``option`` of the ``kinds`` (name -> kind) that use it."""
    if option.required:
        return " (required)"
    if option.default_text is not None:
        return f" (default: {option.default_text})"
    names_of: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        known, value = kind.default(option.dest)
        if known:
            names_of.setdefault(str(value), []).append(name)
    if not names_of:
        return ""
    if len(names_of) == 1:
        return f" (default: {next(iter(names_of))})"
    parts = [f"{value} for {', '.join(names)}" for value, names in names_of.items()]
    return f" (default: {'; '.join(parts)})"


def fit_criteria(estimator, n_samples: int, per: str) -> list[Entry]:
    """Log-likelihood, BIC and AIC lines of a fit summary, from the log-likelihood the
    fit already computed: a memory-mapped file larger than memory is not read again."""
    loglik = float(estimator.log_likelihood_)
    n_parameters = int(estimator._n_parameters())
    bic = -2 * loglik + n_parameters * np.log(n_samples)
    aic = -2 * loglik + 2 * n_parameters
    return [
        Entry(
            "log-likelihood",
            f"{loglik:.6f} (per {per} {loglik / n_samples:.6f})",
            {"log_likelihood": loglik, "mean_log_likelihood": loglik / n_samples},
        ),
        Entry("BIC", f"{bic:.4f}", {"bic": bic, "n_parameters": n_parameters}),
        Entry("AIC", f"{aic:.4f}", {"aic": aic}),
    ]


def sequence_score(inputs: Inputs, total: float, per: str, *extra: Entry) -> list[Entry]:
    """The lines of ``emkit score`` for sequences whose total log-likelihood is ``total``
    (``extra`` lines after the number of sequences)."""
    n = inputs.X.shape[0]
    n_sequences = 1 if inputs.lengths is None else len(inputs.lengths)
    total = float(total)
    return [
        Entry("samples", str(n), {"n_samples": n}),
        Entry("sequences", str(n_sequences), {"n_sequences": n_sequences}),
        *extra,
        Entry("total log-likelihood", f"{total:.10g}", {"total_log_likelihood": total}),
        Entry(
            f"mean log-likelihood per {per}",
            f"{total / n:.10g}",
            {"mean_log_likelihood": total / n},
        ),
    ]


# -- options that several kinds share ----------------------------------------------------------
N_COMPONENTS = Option.of(
    "-k",
    "--n-components",
    type=positive_int,
    required=True,
    help="number of components (clusters for kmeans, hidden states for hmm, topics for lda "
    "and plsa)",
)
COVARIANCE_TYPE = Option.of(
    "--covariance-type",
    choices=("full", "tied", "diag", "spherical"),
    help="structure of the Gaussian covariances",
)
INIT = Option.of("--init", help="initialisation method (see --model)")
REG_COVAR = Option.of(
    "--reg-covar", type=nonnegative_float, help="added to the covariance diagonals"
)
ACCELERATE = Option.of(
    "--accelerate",
    choices=("squarem", "daarem", "qn", "auto"),
    help="extrapolate the EM map: squarem (SQUAREM), daarem (damped Anderson acceleration "
    "with restarts), qn (quasi-Newton) or auto (DAAREM, switching to qn when its proposals "
    "keep failing); "
    "far fewer E-steps on slow fits, and the log-likelihood still never decreases",
    default_text="plain EM",
)
LENGTHS = Option.of(
    "--lengths",
    metavar="FILE",
    help="sequence lengths, one integer per line (CSV or .npy), summing to the rows of "
    "DATA: the rows are several sequences end to end",
    default_text="one sequence",
)
LEARN = Option.of(
    "--learn",
    type=comma_list,
    metavar="NAME,NAME",
    help="the parameters EM updates; the others keep their initial values. hmm: startprob, "
    "transmat and the emission's (means, covariances, weights, rates, emissionprob); "
    "lgssm: the --param names or their short names (A, C, Q, R, m0, P0, B, D), or all; "
    "lda: topics, doc_topic_prior, topic_word_prior",
    default_text="every parameter for hmm; A, C, Q, R, m0 (and B, D with --controls) for "
    "lgssm; topics for lda",
)
