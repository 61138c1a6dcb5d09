"""``emkit fit``: fit a model kind to a data file, print a summary, save it with ``-o``."""

from __future__ import annotations

import re
from pathlib import Path

from emkit._text import one_line
from emkit.cli.columns import add_columns
from emkit.cli.common import (
    CLIError,
    flag,
    given,
    reject,
    require,
    verbosity,
)
from emkit.cli.kind import ENGINE_OPTIONS, ModelKind, Option, default_help
from emkit.cli.models import MODEL_KINDS
from emkit.cli.outputs import (
    Output,
    add_force,
    atomic_output,
    input_files,
    plan_output,
    write_failures,
)
from emkit.cli.report import Entry, add_json, print_report
from emkit.io import model_path

__all__ = ["add_arguments", "run"]


def _kind_options() -> dict[str, tuple[Option, dict[str, ModelKind]]]:
    """Every option of the model kinds once: dest -> (Option, the kinds that use it)."""
    options: dict[str, tuple[Option, dict[str, ModelKind]]] = {}
    for name, kind in MODEL_KINDS.items():
        for option in kind.options:
            options.setdefault(option.dest, (option, {}))[1][name] = kind
    return options


def _add_option(parser, option: Option, kinds: dict[str, ModelKind], *, tag: bool) -> None:
    kwargs = dict(option.kwargs)
    names = f" [{', '.join(kinds)}]" if tag else ""
    kwargs["help"] = f"{kwargs.get('help', '')}{names}{default_help(option, kinds)}".lstrip()
    parser.add_argument(*option.flags, **kwargs)


def add_arguments(parser) -> None:
    parser.add_argument(
        "data",
        metavar="DATA",
        help="CSV (header optional) or .npy file; for lda and plsa a corpus file: .ldac, "
        ".mtx, UCI docword.*.txt[.gz] (vocab.*.txt beside it is read) or a CSV count "
        "matrix (header row = vocabulary)",
    )
    parser.add_argument(
        "--model",
        choices=tuple(MODEL_KINDS),
        default="gmm",
        help="; ".join(f"{name}: {kind.help}" for name, kind in MODEL_KINDS.items()),
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="MODEL.npz",
        help="model file to write, .npz appended if missing (default: none; the summary is "
        "printed and nothing is saved)",
    )
    parser.add_argument(
        "--plot",
        metavar="FIG.png",
        help="also draw the fitted model; the suffix is the format: .png, .pdf, .svg, ... "
        "(default: no figure)",
    )
    add_force(parser, "an existing model file or figure")
    add_columns(parser, "every column")
    add_json(parser)
    for option in ENGINE_OPTIONS:
        _add_option(parser, option, MODEL_KINDS, tag=False)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    group = parser.add_argument_group(
        "options of the models (in brackets: the models they apply to)"
    )
    for option, kinds in _kind_options().values():
        _add_option(group, option, kinds, tag=True)


def _build(kind: ModelKind, name: str, args):
    foreign = [dest for dest in _kind_options() if not kind.accepts(dest)]
    reject(args, name, *foreign)
    for option in kind.options:
        if option.required:
            require(args, name, option.dest)
    return kind.build(args, {**given(args, **kind.parameters), "verbose": verbosity(args)})


def _option_error(kind: ModelKind, exc: Exception) -> CLIError:
    """A scikit-learn parameter error, naming the option that set the parameter."""
    message = one_line(exc)
    match = re.search(r"The '(\w+)' parameter", message)
    option = kind.option_of(match.group(1)) if match else None
    which = f"bad value for {flag(option)}" if option else "bad option value"
    return CLIError(f"{which}: {message} (see 'emkit fit --help')")


def _converged_entry(estimator) -> Entry:
    n_iter = int(estimator.n_iter_)
    text = (
        f"yes, in {n_iter} iterations"
        if estimator.converged_
        else f"no, stopped after {n_iter} iterations (raise --max-iter or --tol)"
    )
    return Entry("converged", text, {"converged": bool(estimator.converged_), "n_iter": n_iter})


def _figure_path(path: str) -> Path:
    """The file matplotlib writes for ``path`` (``.png`` appended when it has no suffix);
    a CLIError for a suffix matplotlib cannot write, before the fit rather than after."""
    from matplotlib.figure import Figure

    path = Path(path)
    if not path.suffix:
        return path.with_name(path.name + ".png")
    formats = Figure().canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise CLIError(
            f"--plot {path}: cannot draw a {path.suffix} file; end the name in one of "
            f"{', '.join('.' + name for name in sorted(formats))}"
        )
    return path


def planned_outputs(args, inputs) -> tuple[Output | None, Output | None]:
    """The checked model file (``-o``) and figure (``--plot``) of ``args``, neither of
    them one of ``inputs`` (from :func:`input_files`); shared with ``emkit select``."""
    model = figure = None
    if args.output:
        model = plan_output(
            model_path(args.output), "model file", "-o", inputs=inputs, force=args.force
        )
    if args.plot:
        if model is not None:
            inputs = [*inputs, (str(model.path), "the model file (-o)")]
        figure = plan_output(
            _figure_path(args.plot), "figure", "--plot", inputs=inputs, force=args.force
        )
    return model, figure


def run(args) -> int:
    from sklearn.utils._param_validation import InvalidParameterError

    from emkit.cli.inputs import about_data, read_inputs
    from emkit.io import save

    kind = MODEL_KINDS[args.model]
    estimator = _build(kind, args.model, args)  # option errors first: they need no file
    model_file, figure = planned_outputs(
        args, input_files(args, "data", "lengths", "controls", "vocab")
    )
    inputs = read_inputs(kind, args, args.data)
    try:
        with about_data(inputs):
            kind.fit(estimator, inputs, args)
    except InvalidParameterError as exc:
        raise _option_error(kind, exc) from None
    estimator.verbose = 0  # a display preference of this run, not a property of the model
    written = None
    if model_file is not None:
        with write_failures(model_file):  # emkit.save itself writes atomically
            written = str(save(estimator, model_file.path, metadata=inputs.metadata()))
    if figure is not None:
        with atomic_output(figure) as path:
            kind.plot(estimator, inputs, path)
    cls = type(estimator).__name__
    shown = None if figure is None else str(figure.path)
    print_report(
        [
            Entry(
                "model", f"{cls}, {kind.describe(estimator)}", {"model": cls, "kind": args.model}
            ),
            inputs.entry(),
            _converged_entry(estimator),
            *kind.summary(estimator, inputs),
            Entry(
                "written",
                written or "nothing (give -o MODEL.npz to save the model)",
                {"written": written},
            ),
            Entry("figure", shown, {"figure": shown}),
        ],
        as_json=args.json,
    )
    return 0
