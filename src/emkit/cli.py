"""The ``emkit`` command line: fit, predict, score, sample, info and demo.

Run ``emkit --help`` or ``emkit COMMAND --help``. Data files are CSV (with or
without a header) or ``.npy``; model files are emkit's safe ``.npz`` (see
:mod:`emkit.io`). Results that other programs read (labels, probabilities,
samples) go to standard output; progress bars, warnings and errors go to standard
error, errors as one line ``emkit: error: ...`` with a non-zero exit status.

Extending
---------
* A new kind of model for ``emkit fit --model NAME`` is one entry of
  :data:`MODEL_KINDS`: a :class:`ModelKind` with the estimator class and a builder
  ``build(args) -> estimator``; its optional hooks (extra options, fit, summary,
  score, parameter table, plot) default to what suits any mixture estimator. The
  commands that take a saved model find the kind from the estimator's class.
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
from typing import Any

import numpy as np

from emkit._cli_data import DataError, Table, read_table, write_rows

PROG = "emkit"

__all__ = ["COMMANDS", "MODEL_KINDS", "CLIError", "ModelKind", "build_parser", "main"]


class CLIError(Exception):
    """A problem to report as one line on standard error (exit status 1)."""


def _one_line(text: Any) -> str:
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


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on standard error (no usage block)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


# -- model kinds ------------------------------------------------------------------------
def _given(args, **options) -> dict:
    """``{parameter: args.option}`` for the options the user gave (not None)."""
    return {
        param: getattr(args, option)
        for param, option in options.items()
        if getattr(args, option, None) is not None
    }


def _reject(args, model: str, *options: str) -> None:
    for option in options:
        if getattr(args, option, None) is not None:
            flag = "--" + option.replace("_", "-")
            raise CLIError(f"{flag} does not apply to --model {model}")


def _fit_plain(estimator, table: Table, args):
    return estimator.fit(table.X)


def _mixture_summary(estimator, X) -> list[tuple[str, str]]:
    n = X.shape[0]
    loglik = float(estimator.log_likelihood_)
    return [
        ("log-likelihood", f"{loglik:.6f} (per sample {loglik / n:.6f})"),
        ("BIC", f"{estimator.bic(X):.4f}"),
        ("AIC", f"{estimator.aic(X):.4f}"),
    ]


def _kmeans_summary(estimator, X) -> list[tuple[str, str]]:
    return [
        ("inertia", f"{estimator.inertia_:.6g} (sum of squared distances to the centres)"),
        ("per sample", f"{estimator.inertia_ / X.shape[0]:.6g}"),
    ]


def _density_score(estimator, X) -> list[tuple[str, str]]:
    log_density = estimator.score_samples(X)
    return [
        ("samples", str(X.shape[0])),
        ("mean log-likelihood per sample", f"{log_density.mean():.10g}"),
        ("total log-likelihood", f"{log_density.sum():.10g}"),
    ]


def _kmeans_score(estimator, X) -> list[tuple[str, str]]:
    inertia = -estimator.score(X)
    return [
        ("samples", str(X.shape[0])),
        ("inertia", f"{inertia:.10g}"),
        ("mean squared distance per sample", f"{inertia / X.shape[0]:.10g}"),
    ]


def _matrix_text(values) -> str:
    return np.array2string(
        np.asarray(values), precision=4, suppress_small=True, threshold=25, edgeitems=2
    )


def _mixture_parameters(estimator, feature_names) -> list:
    """Rich tables of a Gaussian mixture: weight, mean and covariance of every component."""
    from rich.table import Table as RichTable

    kind = estimator.covariance_type
    table = RichTable(title=f"{estimator.n_components} components, {kind} covariances")
    table.add_column("component", justify="right")
    table.add_column("weight", justify="right")
    table.add_column(f"mean ({', '.join(feature_names)})")
    if kind != "tied":
        table.add_column({"full": "covariance", "diag": "variances", "spherical": "variance"}[kind])
    for k in range(estimator.n_components):
        cells = [str(k), f"{estimator.weights_[k]:.4f}", _matrix_text(estimator.means_[k])]
        if kind != "tied":
            cells.append(_matrix_text(estimator.covariances_[k]))
        table.add_row(*cells)
    tables = [table]
    if kind == "tied":
        shared = RichTable(title="shared covariance")
        shared.add_column("covariance")
        shared.add_row(_matrix_text(estimator.covariances_))
        tables.append(shared)
    return tables


def _kmeans_parameters(estimator, feature_names) -> list:
    from rich.table import Table as RichTable

    table = RichTable(title=f"{estimator.n_clusters} cluster centres")
    table.add_column("cluster", justify="right")
    table.add_column(f"centre ({', '.join(feature_names)})")
    for k, centre in enumerate(estimator.cluster_centers_):
        table.add_row(str(k), _matrix_text(centre))
    return [table]


def _plot_mixture(estimator, table: Table, path) -> None:
    from emkit.plot import plot_mixture_1d, plot_mixture_2d, save_figure

    title = f"{type(estimator).__name__} on {Path(table.source).name}"
    if table.X.shape[1] == 1:
        ax = plot_mixture_1d(estimator, table.X, feature_name=table.feature_names([0])[0])
        ax.set_title(title)
    else:
        names = table.feature_names([0, 1])
        ax = plot_mixture_2d(estimator, table.X, feature_names=names, title=title)
    save_figure(ax.figure, path)


@dataclass(frozen=True)
class ModelKind:
    """How the command line handles one kind of model (one value of ``fit --model``).

    Attributes
    ----------
    estimator : type
        The estimator class; commands on saved models find the kind by it.
    build : callable
        ``build(args) -> estimator``, from the parsed ``fit`` options.
    help : str
        One line for ``emkit fit --help``.
    add_arguments : callable, optional
        ``add_arguments(group)`` adds the options only this kind uses (an argparse
        argument group of ``emkit fit``); the shared ones (``--n-components``,
        ``--covariance-type``, ``--max-iter``, ``--tol``, ``--n-init``,
        ``--random-state``, ``--init``) already exist.
    fit : callable
        ``fit(estimator, table, args) -> estimator``; default ``estimator.fit(table.X)``.
    summary : callable
        ``summary(estimator, X) -> [(label, text)]`` printed after fitting.
    score : callable
        ``score(estimator, X) -> [(label, text)]`` printed by ``emkit score``.
    parameters : callable
        ``parameters(estimator, feature_names) -> [rich renderables]`` for
        ``emkit info`` and the demo.
    plot : callable
        ``plot(estimator, table, path)`` for ``emkit fit --plot``.
    """

    estimator: type
    build: Callable
    help: str
    add_arguments: Callable | None = None
    fit: Callable = _fit_plain
    summary: Callable = _mixture_summary
    score: Callable = _density_score
    parameters: Callable = _mixture_parameters
    plot: Callable = _plot_mixture


def _build_gmm(args):
    from emkit import GaussianMixture

    return GaussianMixture(
        **_given(
            args,
            n_components="n_components",
            covariance_type="covariance_type",
            max_iter="max_iter",
            tol="tol",
            n_init="n_init",
            random_state="random_state",
            init_params="init",
            reg_covar="reg_covar",
            assignment="assignment",
        ),
        verbose=args.verbose,
    )


def _gmm_arguments(group) -> None:
    group.add_argument(
        "--reg-covar",
        type=nonnegative_float,
        help="added to the covariance diagonals (default 1e-6)",
    )
    group.add_argument(
        "--assignment",
        choices=("soft", "hard"),
        help="soft: EM (default); hard: classification EM",
    )


def _build_kmeans(args):
    from emkit import KMeans

    _reject(args, "kmeans", "covariance_type", "reg_covar", "assignment")
    return KMeans(
        **_given(
            args,
            n_clusters="n_components",
            max_iter="max_iter",
            tol="tol",
            n_init="n_init",
            random_state="random_state",
            init="init",
        ),
        verbose=args.verbose,
    )


def _model_kinds() -> dict[str, ModelKind]:
    from emkit import GaussianMixture, KMeans

    return {
        "gmm": ModelKind(
            GaussianMixture,
            _build_gmm,
            "Gaussian mixture (init: kmeans, k-means++, random, random_from_data)",
            add_arguments=_gmm_arguments,
        ),
        "kmeans": ModelKind(
            KMeans,
            _build_kmeans,
            "k-means, --n-components clusters (init: k-means++, random)",
            summary=_kmeans_summary,
            score=_kmeans_score,
            parameters=_kmeans_parameters,
        ),
    }


#: ``emkit fit --model NAME`` -> ModelKind. Add an entry to support a new model.
MODEL_KINDS: dict[str, ModelKind] = _model_kinds()


def kind_of(estimator) -> ModelKind:
    """The ModelKind of a (loaded) estimator, by its class."""
    for kind in MODEL_KINDS.values():
        if isinstance(estimator, kind.estimator):
            return kind
    raise CLIError(f"the command line does not handle {type(estimator).__name__} models")


# -- helpers shared by the commands --------------------------------------------------------
def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _print_pairs(pairs) -> None:
    width = max(len(label) for label, _ in pairs)
    for label, text in pairs:
        print(f"{label + ':':<{width + 1}} {text}")


def _load_model(path: str):
    from emkit.io import ModelFileError, load

    try:
        return load(path)
    except (FileNotFoundError, ModelFileError):
        raise
    except Exception as exc:  # any failure to rebuild means the file is unusable
        raise CLIError(f"{path} is not a readable emkit model file ({_one_line(exc)})") from None


def _read_for_model(estimator, path: str) -> Table:
    table = read_table(path)
    expected = getattr(estimator, "n_features_in_", None)
    got = table.X.shape[1]
    if expected is not None and got != int(expected):
        raise CLIError(
            f"wrong number of columns in {table.source}: expected {int(expected)} "
            f"(the model was fitted on {int(expected)} features), got {got}"
        )
    return table


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
def _add_fit_arguments(parser) -> None:
    parser.add_argument("data", metavar="DATA", help="CSV (header optional) or .npy file")
    parser.add_argument(
        "--model",
        choices=tuple(MODEL_KINDS),
        default="gmm",
        help="; ".join(f"{name}: {kind.help}" for name, kind in MODEL_KINDS.items()),
    )
    parser.add_argument(
        "-k",
        "--n-components",
        type=positive_int,
        required=True,
        help="number of components (clusters for kmeans)",
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="MODEL.npz", help="model file to write"
    )
    parser.add_argument("--plot", metavar="FIG.png", help="also draw the fitted model")
    parser.add_argument("--covariance-type", choices=("full", "tied", "diag", "spherical"))
    parser.add_argument("--max-iter", type=positive_int, help="EM iteration budget")
    parser.add_argument("--tol", type=nonnegative_float, help="convergence tolerance")
    parser.add_argument("--n-init", type=positive_int, help="restarts; the best is kept")
    parser.add_argument("--random-state", type=nonnegative_int, help="seed (reproducible fits)")
    parser.add_argument("--init", help="initialisation method (see --model)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    for name, kind in MODEL_KINDS.items():
        if kind.add_arguments is not None:
            kind.add_arguments(parser.add_argument_group(f"options of --model {name}"))


def run_fit(args) -> int:
    from sklearn.utils._param_validation import InvalidParameterError

    from emkit.io import save

    kind = MODEL_KINDS[args.model]
    args.verbose = _verbosity(args)
    _check_writable(args.output, "model file")
    if args.plot:
        _check_writable(args.plot, "figure")
    table = read_table(args.data)
    try:
        estimator = kind.build(args)
        kind.fit(estimator, table, args)
    except InvalidParameterError as exc:
        # name the option, not only the estimator's parameter
        raise CLIError(f"bad option value (see 'emkit fit --help'): {_one_line(exc)}") from None
    estimator.verbose = 0  # a display preference of this run, not a property of the model
    written = save(estimator, args.output)
    if args.plot:
        kind.plot(estimator, table, args.plot)
    n, d = table.X.shape
    converged = (
        f"yes, in {estimator.n_iter_} iterations"
        if estimator.converged_
        else f"no, stopped after {estimator.n_iter_} iterations (raise --max-iter or --tol)"
    )
    _print_pairs(
        [
            ("model", f"{type(estimator).__name__}, {args.n_components} components"),
            ("data", f"{table.source}: {n} samples x {d} features"),
            ("converged", converged),
            *kind.summary(estimator, table.X),
            ("written", str(written)),
            *([("figure", args.plot)] if args.plot else []),
        ]
    )
    return 0


# -- predict / score / sample / info -----------------------------------------------------------
def _add_predict_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    parser.add_argument("data", metavar="DATA", help="CSV, .npy, or - for CSV on stdin")
    parser.add_argument(
        "--proba", action="store_true", help="posterior probabilities instead of labels"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write here (CSV, or .npy) instead of stdout"
    )


def run_predict(args) -> int:
    estimator = _load_model(args.model)
    table = _read_for_model(estimator, args.data)
    if args.output:
        _check_writable(args.output, "output")
    if args.proba:
        if not hasattr(estimator, "predict_proba"):
            raise CLIError(
                f"--proba is not available for {type(estimator).__name__} models "
                "(hard assignments); fit a Gaussian mixture (--model gmm) for probabilities"
            )
        values = estimator.predict_proba(table.X)
    else:
        values = estimator.predict(table.X)
    write_rows(values, args.output)
    if args.output:
        what = "probability rows" if args.proba else "labels"
        _note(args, f"wrote {values.shape[0]} {what} to {args.output}")
    return 0


def _add_score_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    parser.add_argument("data", metavar="DATA", help="CSV, .npy, or - for CSV on stdin")


def run_score(args) -> int:
    estimator = _load_model(args.model)
    table = _read_for_model(estimator, args.data)
    _print_pairs(kind_of(estimator).score(estimator, table.X))
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
        text = _matrix_text(value) if isinstance(value, np.ndarray) else repr(value)
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
    for table in _mixture_parameters(estimator, list(dataset.columns)):
        console.print(table)
    status = "converged" if estimator.converged_ else "did not converge"
    _print_pairs(
        [
            ("EM", f"{status} in {estimator.n_iter_} iterations (tol 1e-6 per sample)"),
            *_mixture_summary(estimator, X),
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
        "most probable component (or probabilities) of every row",
        _add_predict_arguments,
        run_predict,
    ),
    "score": Command(
        "log-likelihood of a data file under a model", _add_score_arguments, run_score
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
        print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)

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
    return _one_line(exc) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
