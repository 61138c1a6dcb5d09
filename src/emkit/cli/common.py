"""What the command line's model kinds and commands share: errors, option types, ModelKind.

The command line is split by job: :mod:`emkit.cli.app` holds the parser, the commands
and ``main``; :mod:`emkit.cli.data` reads and writes data files; the model kinds live
in one module per family (:mod:`emkit.cli.mixture`, :mod:`emkit.cli.hmm`,
:mod:`emkit.cli.lgssm`) and are collected in :mod:`emkit.cli.models`. This module
is below all of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emkit.cli.data import Table

__all__ = [
    "CLIError",
    "Inputs",
    "ModelKind",
    "Option",
    "comma_list",
    "given",
    "matrix_text",
    "nonnegative_float",
    "nonnegative_int",
    "one_line",
    "positive_float",
    "positive_int",
    "reject",
    "require",
]


class CLIError(Exception):
    """A problem to report as one line on standard error (exit status 1)."""


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


# -- option types -----------------------------------------------------------------------
def _number_type(kind: type, minimum: float, *, strict: bool = False, what: str = ""):
    """An argparse ``type`` accepting ``kind`` values >= minimum (> when ``strict``)."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not np.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


positive_int = _number_type(int, 1, what="an integer >= 1")
nonnegative_int = _number_type(int, 0, what="an integer >= 0")
nonnegative_float = _number_type(float, 0.0, what="a number >= 0")
positive_float = _number_type(float, 0.0, strict=True, what="a number > 0")


def comma_list(text: str) -> tuple[str, ...]:
    """``"a,b"`` -> ``("a", "b")`` (an argparse ``type``; the estimator checks the names)."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


# -- reading the options of a kind ------------------------------------------------------
def given(args, **options) -> dict:
    """``{parameter: args.option}`` for the options the user gave (not None)."""
    return {
        param: getattr(args, option)
        for param, option in options.items()
        if getattr(args, option, None) is not None
    }


def flag(option: str) -> str:
    """The command-line spelling of an argparse destination: ``reg_covar`` -> ``--reg-covar``."""
    return "--" + option.replace("_", "-")


def reject(args, model: str, *options: str) -> None:
    """A CLIError for the first of ``options`` that the user gave: it does not apply."""
    for option in options:
        if getattr(args, option, None) is not None:
            raise CLIError(f"{flag(option)} does not apply to --model {model}")


def require(args, model: str, option: str) -> None:
    if getattr(args, option, None) is None:
        raise CLIError(f"{flag(option)} is required for --model {model}")


def matrix_text(values) -> str:
    return np.array2string(
        np.asarray(values), precision=4, suppress_small=True, threshold=25, edgeitems=2
    )


def fit_criteria(estimator, n_samples: int, per: str) -> list[tuple[str, str]]:
    """Log-likelihood, BIC and AIC lines of a fit summary, from the log-likelihood the
    fit already computed: a memory-mapped file larger than memory is not read again."""
    loglik = float(estimator.log_likelihood_)
    n_parameters = estimator._n_parameters()
    return [
        ("log-likelihood", f"{loglik:.6f} (per {per} {loglik / n_samples:.6f})"),
        ("BIC", f"{-2 * loglik + n_parameters * np.log(n_samples):.4f}"),
        ("AIC", f"{-2 * loglik + 2 * n_parameters:.4f}"),
    ]


# -- what a kind declares ------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Option:
    """One ``emkit fit`` option that some model kinds use: argparse flags and keywords.

    The same Option object may be listed by several kinds (``--lengths`` by hmm and
    lgssm); it is added to the parser once, and ``fit`` rejects it for the kinds
    that do not list it.
    """

    flags: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.flags[-1].lstrip("-").replace("-", "_")

    @classmethod
    def of(cls, *flags: str, **kwargs) -> Option:
        return cls(flags, kwargs)


@dataclass(frozen=True)
class Inputs:
    """A data file as a model reads it, with its sequence lengths and control inputs.

    table : the data (``table.X`` of shape (n_samples, n_features); NaN only where the
        model allows missing values)
    lengths : ndarray of int of shape (n_sequences,), or None (one sequence)
    controls : ndarray of shape (n_samples, n_controls), or None
    """

    table: Table
    lengths: np.ndarray | None = None
    controls: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        return self.table.X


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


@dataclass(frozen=True)
class ModelKind:
    """How the command line handles one kind of model (one value of ``fit --model``).

    Attributes
    ----------
    estimator : type
        The estimator class (or a base class); commands on saved models find the kind
        by ``isinstance``.
    build : callable
        ``build(args) -> estimator``, from the parsed ``fit`` options.
    help : str
        One line for ``emkit fit --help``.
    summary : callable
        ``summary(estimator, inputs) -> [(label, text)]`` printed after fitting.
    score : callable
        ``score(estimator, inputs) -> [(label, text)]`` printed by ``emkit score``.
    parameters : callable
        ``parameters(estimator, feature_names) -> [rich renderables]`` for
        ``emkit info``.
    plot : callable
        ``plot(estimator, inputs, path)`` for ``emkit fit --plot``.
    options : tuple of Option
        The ``emkit fit`` options this kind uses beyond the shared ones (``--max-iter``,
        ``--tol``, ``--n-init``, ``--random-state``); ``fit`` rejects the others. An
        Option with dest ``lengths`` or ``controls`` also enables ``--lengths`` /
        ``--controls`` of the commands on saved models.
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
    """

    estimator: type
    build: Callable
    help: str
    summary: Callable
    score: Callable
    parameters: Callable
    plot: Callable
    options: tuple[Option, ...] = ()
    fit: Callable = _fit_plain
    predict: Callable | None = _predict_plain
    smooth: Callable | None = None
    describe: Callable = _components
    missing_values: bool = False

    def accepts(self, option: str) -> bool:
        """Whether ``option`` (an argparse destination) is one of this kind's options."""
        return any(o.dest == option for o in self.options)


# -- options that several kinds share ----------------------------------------------------------
N_COMPONENTS = Option.of(
    "-k",
    "--n-components",
    type=positive_int,
    help="number of components (clusters for kmeans, hidden states for hmm)",
)
COVARIANCE_TYPE = Option.of(
    "--covariance-type",
    choices=("full", "tied", "diag", "spherical"),
    help="structure of the Gaussian covariances (default: full for gmm, diag for hmm)",
)
INIT = Option.of("--init", help="initialisation method (see --model)")
REG_COVAR = Option.of(
    "--reg-covar", type=nonnegative_float, help="added to the covariance diagonals (default 1e-6)"
)
LENGTHS = Option.of(
    "--lengths",
    metavar="FILE",
    help="sequence lengths, one integer per line (CSV or .npy), summing to the rows of "
    "DATA: the rows are several sequences end to end (default: one sequence)",
)
LEARN = Option.of(
    "--learn",
    type=comma_list,
    metavar="NAME,NAME",
    help="the parameters EM updates; the others keep their initial values. hmm: startprob, "
    "transmat and the emission's (means, covariances, weights, rates, emissionprob); "
    "lgssm: the --param names, or all (default: A, C, Q, R, m0)",
)
