"""The ``emkit`` command line: fit, predict, score, smooth, sample, info and demo.

Run ``emkit --help`` or ``emkit COMMAND --help``. Data files are CSV (with or
without a header) or ``.npy``; model files are emkit's safe ``.npz`` (see
:mod:`emkit.io`). Results that other programs read (labels, probabilities,
samples, smoothed states) go to standard output; progress bars, warnings and errors
go to standard error, errors as one line ``emkit: error: ...`` with a non-zero exit
status.

This module holds the parser, the commands and ``main``; data files are read and
written by :mod:`emkit.cli.data`, and the models by their kinds (below).

Extending
---------
* A new kind of model for ``emkit fit --model NAME`` is one entry of
  :data:`MODEL_KINDS` (in :mod:`emkit.cli.models`): a :class:`ModelKind` with the
  estimator class, a builder ``build(args) -> estimator``, the hooks that print and
  draw it, and the options it uses (see :class:`emkit.cli.common.ModelKind`; the
  kinds of a family live in one module, e.g. :mod:`emkit.cli.hmm`). ``fit`` adds
  every kind's options to its parser once and rejects those the chosen kind does
  not use; the commands that take a saved model find the kind from the estimator's
  class.
* A new command is one entry of :data:`COMMANDS`: a function that adds its
  arguments to a parser and a function ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emkit.cli.common import (
    CLIError,
    Inputs,
    ModelKind,
    Option,
    flag,
    matrix_text,
    nonnegative_float,
    nonnegative_int,
    one_line,
    positive_int,
    reject,
)
from emkit.cli.data import DataError, Table, read_controls, read_lengths, read_table, write_rows
from emkit.cli.mixture import mixture_parameters, mixture_summary
from emkit.cli.models import MODEL_KINDS, kind_of, name_of

PROG = "emkit"

__all__ = ["COMMANDS", "MODEL_KINDS", "CLIError", "ModelKind", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on standard error (no usage block)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {one_line(message)} (see '{self.prog} --help')\n")


# -- helpers shared by the commands --------------------------------------------------------
def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _print_pairs(pairs) -> None:
    """``label: text`` lines, aligned; the lines of a multi-line text (a matrix) too."""
    width = max(len(label) for label, _ in pairs)
    for label, text in pairs:
        continued = "\n" + " " * (width + 2)
        print(f"{label + ':':<{width + 1}} {continued.join(str(text).splitlines())}")


def _load_model(path: str):
    from emkit.io import ModelFileError, load

    try:
        return load(path)
    except (FileNotFoundError, ModelFileError):
        raise
    except Exception as exc:  # any failure to rebuild means the file is unusable
        raise CLIError(f"{path} is not a readable emkit model file ({one_line(exc)})") from None


def _read_inputs(kind: ModelKind, args, path: str) -> Inputs:
    """The data file ``path`` with the ``--lengths`` and ``--controls`` files of ``args``."""
    table = read_table(path, missing=kind.missing_values)
    lengths, controls = getattr(args, "lengths", None), getattr(args, "controls", None)
    return Inputs(
        table,
        None if lengths is None else read_lengths(lengths, table),
        None if controls is None else read_controls(controls, table),
    )


def _read_for_model(estimator, kind: ModelKind, args) -> Inputs:
    """``args.data`` (and its lengths and controls) checked against a saved model."""
    for option in ("lengths", "controls"):
        if getattr(args, option, None) is not None and not kind.accepts(option):
            raise CLIError(
                f"{flag(option)} does not apply to {type(estimator).__name__} models "
                f"(--model {name_of(kind)})"
            )
    inputs = _read_inputs(kind, args, args.data)
    expected = getattr(estimator, "n_features_in_", None)
    got = inputs.X.shape[1]
    if expected is not None and got != int(expected):
        raise CLIError(
            f"wrong number of columns in {inputs.table.source}: expected {int(expected)} "
            f"(the model was fitted on {int(expected)} features), got {got}"
        )
    return inputs


def _check_writable(path, what: str) -> None:
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise CLIError(f"cannot write {what} {path}: folder {folder} does not exist")


def _verbosity(args) -> int:
    return 0 if getattr(args, "quiet", False) else 1


def _note(args, text: str) -> None:
    """A message for the user on standard error (standard output stays data)."""
    if not getattr(args, "quiet", False):
        print(f"{PROG}: {text}", file=sys.stderr)


# -- fit ---------------------------------------------------------------------------------
def _kind_options() -> dict[str, tuple[Option, list[str]]]:
    """Every option of the model kinds once: dest -> (Option, the kinds that use it)."""
    options: dict[str, tuple[Option, list[str]]] = {}
    for name, kind in MODEL_KINDS.items():
        for option in kind.options:
            options.setdefault(option.dest, (option, []))[1].append(name)
    return options


def _add_fit_arguments(parser) -> None:
    parser.add_argument("data", metavar="DATA", help="CSV (header optional) or .npy file")
    parser.add_argument(
        "--model",
        choices=tuple(MODEL_KINDS),
        default="gmm",
        help="; ".join(f"{name}: {kind.help}" for name, kind in MODEL_KINDS.items()),
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="MODEL.npz", help="model file to write"
    )
    parser.add_argument("--plot", metavar="FIG.png", help="also draw the fitted model")
    parser.add_argument("--max-iter", type=positive_int, help="EM iteration budget")
    parser.add_argument("--tol", type=nonnegative_float, help="convergence tolerance")
    parser.add_argument("--n-init", type=positive_int, help="restarts; the best is kept")
    parser.add_argument("--random-state", type=nonnegative_int, help="seed (reproducible fits)")
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        metavar="ROWS",
        help="rows per chunk of the E-step (whole sequences for hmm and lgssm); a .npy file "
        "is streamed chunk by chunk, so this bounds the memory of a fit",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    group = parser.add_argument_group(
        "options of the models (in brackets: the models they apply to)"
    )
    for option, names in _kind_options().values():
        kwargs = dict(option.kwargs)
        kwargs["help"] = f"{kwargs.get('help', '')} [{', '.join(names)}]".lstrip()
        group.add_argument(*option.flags, **kwargs)


def _data_text(inputs: Inputs) -> str:
    n, d = inputs.X.shape
    parts = [f"{inputs.table.source}: {n} samples x {d} features"]
    if inputs.lengths is not None and len(inputs.lengths) > 1:
        parts.append(f"{len(inputs.lengths)} sequences")
    n_missing = inputs.table.n_missing
    if n_missing:
        parts.append(f"{n_missing} missing values")
    if inputs.controls is not None:
        parts.append(f"{inputs.controls.shape[1]} control inputs")
    return ", ".join(parts)


def run_fit(args) -> int:
    from sklearn.utils._param_validation import InvalidParameterError

    from emkit.io import save

    kind = MODEL_KINDS[args.model]
    foreign = [dest for dest in _kind_options() if not kind.accepts(dest)]
    reject(args, args.model, *foreign)
    args.verbose = _verbosity(args)
    _check_writable(args.output, "model file")
    if args.plot:
        _check_writable(args.plot, "figure")
    inputs = _read_inputs(kind, args, args.data)
    try:
        estimator = kind.build(args)
        kind.fit(estimator, inputs, args)
    except InvalidParameterError as exc:
        # name the option, not only the estimator's parameter
        raise CLIError(f"bad option value (see 'emkit fit --help'): {one_line(exc)}") from None
    estimator.verbose = 0  # a display preference of this run, not a property of the model
    written = save(estimator, args.output)
    if args.plot:
        kind.plot(estimator, inputs, args.plot)
    converged = (
        f"yes, in {estimator.n_iter_} iterations"
        if estimator.converged_
        else f"no, stopped after {estimator.n_iter_} iterations (raise --max-iter or --tol)"
    )
    _print_pairs(
        [
            ("model", f"{type(estimator).__name__}, {kind.describe(estimator)}"),
            ("data", _data_text(inputs)),
            ("converged", converged),
            *kind.summary(estimator, inputs),
            ("written", str(written)),
            *([("figure", args.plot)] if args.plot else []),
        ]
    )
    return 0


# -- predict / score / smooth / sample / info ------------------------------------------------
def _add_model_and_data(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    parser.add_argument("data", metavar="DATA", help="CSV, .npy, or - for CSV on stdin")


def _add_lengths(parser) -> None:
    parser.add_argument(
        "--lengths",
        metavar="FILE",
        help="sequence lengths of DATA, one integer per line (HMM and state-space models)",
    )


def _add_controls(parser) -> None:
    parser.add_argument(
        "--controls",
        metavar="FILE",
        help="control inputs, one row per row of DATA (state-space models fitted with them)",
    )


def _add_output(parser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (CSV, or .npy) instead of stdout"
    )


def _add_predict_arguments(parser) -> None:
    _add_model_and_data(parser)
    _add_lengths(parser)
    parser.add_argument(
        "--proba",
        action="store_true",
        help="posterior probabilities (of the hidden state, for HMMs) instead of labels",
    )
    _add_output(parser)


def run_predict(args) -> int:
    estimator = _load_model(args.model)
    kind = kind_of(estimator)
    if kind.predict is None:
        hint = "; 'emkit smooth' gives the posterior of its hidden states" if kind.smooth else ""
        raise CLIError(f"{type(estimator).__name__} models have no labels to predict{hint}")
    inputs = _read_for_model(estimator, kind, args)
    if args.output:
        _check_writable(args.output, "output")
    values = kind.predict(estimator, inputs, args.proba)
    write_rows(values, args.output)
    if args.output:
        what = "probability rows" if args.proba else "labels"
        _note(args, f"wrote {values.shape[0]} {what} to {args.output}")
    return 0


def _add_score_arguments(parser) -> None:
    _add_model_and_data(parser)
    _add_lengths(parser)
    _add_controls(parser)


def run_score(args) -> int:
    estimator = _load_model(args.model)
    kind = kind_of(estimator)
    _print_pairs(kind.score(estimator, _read_for_model(estimator, kind, args)))
    return 0


def _add_smooth_arguments(parser) -> None:
    _add_model_and_data(parser)
    _add_lengths(parser)
    _add_controls(parser)
    parser.add_argument(
        "--filter",
        action="store_true",
        help="filtered states p(z_t | x_1..x_t) instead of smoothed p(z_t | x_1..x_T)",
    )
    _add_output(parser)


def run_smooth(args) -> int:
    estimator = _load_model(args.model)
    kind = kind_of(estimator)
    if kind.smooth is None:
        raise CLIError(
            f"{args.model} holds a {type(estimator).__name__}, which has no continuous hidden "
            "state to smooth; 'emkit smooth' takes a state-space model (fit --model lgssm)"
        )
    inputs = _read_for_model(estimator, kind, args)
    if args.output:
        _check_writable(args.output, "output")
    values, names = kind.smooth(estimator, inputs, args.filter)
    write_rows(values, args.output, header=names)
    if args.output:
        _note(args, f"wrote {values.shape[0]} rows ({', '.join(names)}) to {args.output}")
    return 0


def _add_sample_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    parser.add_argument(
        "-n", "--n-samples", type=positive_int, required=True, help="number of samples"
    )
    parser.add_argument("--random-state", type=nonnegative_int, help="seed")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (CSV, or .npy) instead of stdout"
    )


def run_sample(args) -> int:
    estimator = _load_model(args.model)
    if not hasattr(estimator, "sample"):
        raise CLIError(
            f"{type(estimator).__name__} models cannot generate samples (no density); "
            "fit a Gaussian mixture (--model gmm) to sample"
        )
    if args.output:
        _check_writable(args.output, "output")
    if args.random_state is not None:
        estimator.random_state = args.random_state
    X, _ = estimator.sample(args.n_samples)
    write_rows(X, args.output)
    return 0


def _add_info_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")


def run_info(args) -> int:
    from rich.table import Table as RichTable

    from emkit.io import read_metadata

    estimator = _load_model(args.model)
    metadata = read_metadata(args.model)
    console = _console()
    about = RichTable(title=f"{args.model}", show_header=False)
    about.add_column(style="bold")
    about.add_column()
    about.add_row("class", metadata["class"])
    about.add_row("written by", f"emkit {metadata['emkit_version']}")
    about.add_row("file format", f"{metadata['format']} v{metadata['format_version']}")
    for label, name in (
        ("features", "n_features_in_"),
        ("converged", "converged_"),
        ("iterations", "n_iter_"),
        ("log-likelihood", "log_likelihood_"),
        ("lower bound / sample", "lower_bound_"),
    ):
        if hasattr(estimator, name):
            value = getattr(estimator, name)
            about.add_row(label, f"{float(value):.10g}" if isinstance(value, float) else str(value))
    console.print(about)
    hyper = RichTable(title="hyperparameters")
    hyper.add_column("name", style="bold")
    hyper.add_column("value")
    for name, value in estimator.get_params(deep=False).items():
        text = matrix_text(value) if isinstance(value, np.ndarray) else repr(value)
        hyper.add_row(name, text)
    console.print(hyper)
    n_features = int(getattr(estimator, "n_features_in_", 0))
    names = [f"x{j}" for j in range(n_features)]
    for renderable in kind_of(estimator).parameters(estimator, names):
        console.print(renderable)
    return 0


# -- demo ----------------------------------------------------------------------------------
#: A deliberately poor start for the demo: both means near the centre of the data,
#: broad covariances, so that the animation shows the components travel and split.
DEMO_MEANS = ((3.3, 70.0), (3.6, 72.0))
DEMO_VARIANCES = (1.0, 150.0)


def _add_demo_arguments(parser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default="demo-output",
        help="folder for the figures (default: demo-output)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_demo(args) -> int:
    from emkit import GaussianMixture
    from emkit.datasets import load_old_faithful
    from emkit.plot import (
        animate_em,
        new_figure,
        plot_convergence,
        plot_em_decomposition,
        plot_mixture_2d,
        plot_trace,
        save_figure,
    )

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_old_faithful()
    X = dataset.data
    names = ("eruption length (min)", "waiting time (min)")
    precisions = np.array([np.diag(1.0 / np.array(DEMO_VARIANCES))] * 2)
    estimator = GaussianMixture(
        2,
        covariance_type="full",
        weights_init=[0.5, 0.5],
        means_init=np.array(DEMO_MEANS),
        precisions_init=precisions,
        tol=1e-6,
        max_iter=200,
        verbose=_verbosity(args),
    )
    gif = out / "em.gif"
    animate_em(estimator, X, gif, feature_names=names, title="Old Faithful")

    clusters = out / "clusters.png"
    ax = plot_mixture_2d(
        estimator, X, feature_names=names, title="Old Faithful: 2-component Gaussian mixture"
    )
    save_figure(ax.figure, clusters)

    loglik = out / "loglik.png"
    figure = new_figure((13.5, 4.0))
    left, middle, right = figure.subplots(1, 3)
    plot_convergence(estimator, left)
    plot_em_decomposition(estimator, middle)
    plot_trace(estimator, ["entropy"], right, title="entropy of the posterior q(z)")
    save_figure(figure, loglik)

    # the poor start is for the animation only: the usual k-means start finds the same fit
    reference = GaussianMixture(2, tol=1e-6, random_state=0).fit(X)
    console = _console()
    console.print(
        f"[bold]Old Faithful[/bold]: {X.shape[0]} eruptions x {X.shape[1]} features "
        f"({', '.join(dataset.columns)})"
    )
    console.print("Gaussian mixture, 2 components, full covariances, fitted by EM from a")
    console.print("deliberately poor start (both means near the centre of the data).")
    for table in mixture_parameters(estimator, list(dataset.columns)):
        console.print(table)
    status = "converged" if estimator.converged_ else "did not converge"
    _print_pairs(
        [
            ("EM", f"{status} in {estimator.n_iter_} iterations (tol 1e-6 per sample)"),
            *mixture_summary(estimator, Inputs(Table(X, dataset.columns, "old_faithful"))),
            (
                "check",
                f"from the default k-means start: {reference.log_likelihood_:.6f} "
                f"in {reference.n_iter_} iterations",
            ),
        ]
    )
    print("figures written:")
    for path, what in (
        (clusters, "clusters with 1- and 2-sigma covariance ellipses"),
        (loglik, "log-likelihood, lower bound, KL gap and entropy per iteration"),
        (gif, "animation of EM converging"),
    ):
        print(f"  {path}  ({what})")
    return 0


# -- the parser -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, how it adds its arguments, and what it runs."""

    help: str
    add_arguments: Callable
    run: Callable


#: ``emkit NAME`` -> Command. Add an entry to add a subcommand.
COMMANDS: dict[str, Command] = {
    "fit": Command("fit a model to a data file and save it", _add_fit_arguments, run_fit),
    "predict": Command(
        "most probable component of every row (an HMM's Viterbi path), or probabilities",
        _add_predict_arguments,
        run_predict,
    ),
    "score": Command(
        "log-likelihood of a data file under a model", _add_score_arguments, run_score
    ),
    "smooth": Command(
        "posterior means and variances of a state-space model's hidden states (CSV)",
        _add_smooth_arguments,
        run_smooth,
    ),
    "sample": Command("draw samples from a model (CSV)", _add_sample_arguments, run_sample),
    "info": Command("describe a model file", _add_info_arguments, run_info),
    "demo": Command(
        "fit Old Faithful and write figures and an animation", _add_demo_arguments, run_demo
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from emkit import __version__

    parser = _Parser(
        prog=PROG,
        description="Expectation-Maximization for latent-variable models.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


@contextlib.contextmanager
def _warnings_as_lines():
    """Show warnings as ``emkit: warning: ...`` lines on standard error."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Entry point of the ``emkit`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with _warnings_as_lines():
            return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `emkit sample ... | head`): not an error; point
        # stdout at /dev/null so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CLIError, DataError, ValueError, OSError, ImportError) as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return one_line(exc) or type(exc).__name__
