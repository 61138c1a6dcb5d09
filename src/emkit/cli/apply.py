"""The commands that apply a saved model: ``predict``, ``score``, ``smooth`` and ``sample``."""

from __future__ import annotations

from emkit._text import byte_size
from emkit.cli.columns import add_columns
from emkit.cli.common import CLIError, nonnegative_int, positive_int
from emkit.cli.data import write_rows
from emkit.cli.inputs import about_data, load_model, read_for_model
from emkit.cli.outputs import add_force, atomic_output, input_files, plan_output
from emkit.cli.report import add_json, note, print_report
from emkit.estimators._base import physical_memory

__all__ = [
    "add_predict_arguments",
    "add_sample_arguments",
    "add_score_arguments",
    "add_smooth_arguments",
    "run_predict",
    "run_sample",
    "run_score",
    "run_smooth",
]


def _add_model(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")


def _add_data(parser) -> None:
    _add_model(parser)
    parser.add_argument("data", metavar="DATA", help="CSV, .npy, or - for CSV on stdin")
    add_columns(
        parser,
        "those the model was fitted on, by name, from a file with a header; else every column",
    )
    parser.add_argument(
        "--lengths",
        metavar="FILE",
        help="sequence lengths of DATA, one integer per line (HMM and state-space models; "
        "default: one sequence)",
    )


def _add_controls(parser) -> None:
    parser.add_argument(
        "--controls",
        metavar="FILE",
        help="control inputs, one row per row of DATA (state-space models fitted with them; "
        "default: none)",
    )


def _add_output(parser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (CSV, or .npy if FILE ends in .npy); never over an input file, "
        "nor over an existing file without --force (default: standard output)",
    )
    add_force(parser)


def _planned_output(args):
    """The checked ``--output`` of ``args`` (see :func:`plan_output`), or None for
    standard output."""
    if not args.output:
        return None
    return plan_output(
        args.output,
        "output",
        "--output",
        inputs=input_files(args, "model", "data", "lengths", "controls"),
        force=args.force,
    )


def _write(values, output, **options) -> None:
    """``write_rows`` to standard output (``output`` None) or atomically to ``output``."""
    if output is None:
        write_rows(values, None, **options)
        return
    with atomic_output(output) as path:
        write_rows(values, str(path), **options)


# -- predict ------------------------------------------------------------------------------
def add_predict_arguments(parser) -> None:
    _add_data(parser)
    parser.add_argument(
        "--proba",
        action="store_true",
        help="posterior probabilities (of the hidden state, for HMMs) instead of labels",
    )
    _add_output(parser)


def run_predict(args) -> int:
    model = load_model(args.model)
    if model.kind.predict is None:
        hint = (
            "; 'emkit smooth' gives the posterior of its hidden states" if model.kind.smooth else ""
        )
        raise CLIError(f"{model.class_name} models have no labels to predict{hint}")
    output = _planned_output(args)
    inputs = read_for_model(model, args)
    with about_data(inputs):
        values = model.kind.predict(model.estimator, inputs, args.proba)
    _write(values, output)
    if args.output:
        what = "probability rows" if args.proba else "labels"
        note(args, f"wrote {values.shape[0]} {what} to {args.output}")
    return 0


# -- score --------------------------------------------------------------------------------
def add_score_arguments(parser) -> None:
    _add_data(parser)
    _add_controls(parser)
    add_json(parser)


def run_score(args) -> int:
    model = load_model(args.model)
    inputs = read_for_model(model, args)
    with about_data(inputs):
        report = model.kind.score(model.estimator, inputs)
    print_report(report, as_json=args.json)
    return 0


# -- smooth -------------------------------------------------------------------------------
def add_smooth_arguments(parser) -> None:
    _add_data(parser)
    _add_controls(parser)
    parser.add_argument(
        "--filter",
        action="store_true",
        help="filtered states p(z_t | x_1..x_t) instead of smoothed p(z_t | x_1..x_T)",
    )
    _add_output(parser)


def run_smooth(args) -> int:
    model = load_model(args.model)
    if model.kind.smooth is None:
        raise CLIError(
            f"{args.model} holds a {model.class_name}, which has no continuous hidden "
            "state to smooth; 'emkit smooth' takes a state-space model (fit --model lgssm)"
        )
    output = _planned_output(args)
    inputs = read_for_model(model, args)
    with about_data(inputs):
        values, names = model.kind.smooth(model.estimator, inputs, args.filter)
    _write(values, output, header=names)
    if args.output:
        note(args, f"wrote {values.shape[0]} rows ({', '.join(names)}) to {args.output}")
    return 0


# -- sample -------------------------------------------------------------------------------
def add_sample_arguments(parser) -> None:
    _add_model(parser)
    parser.add_argument(
        "-n", "--n-samples", type=positive_int, required=True, help="number of samples"
    )
    parser.add_argument(
        "--random-state",
        type=nonnegative_int,
        help="seed (default: the model's random_state; none: different samples every run)",
    )
    _add_output(parser)


def _check_sample_size(n_samples: int, n_features: int) -> None:
    """A CLIError for a ``-n`` whose samples (with their labels and the text they are
    formatted into) would not fit in the machine's memory, before NumPy tries."""
    need = 8.0 * n_samples * (n_features + 1) * 2
    memory = physical_memory()
    if memory is not None and need > memory:
        raise CLIError(
            f"-n {n_samples}: {n_samples} samples x {n_features} features need about "
            f"{byte_size(need)}, more than this machine's memory ({byte_size(memory)}); "
            "draw fewer samples per run (a different --random-state for each run)"
        )


def run_sample(args) -> int:
    model = load_model(args.model)
    estimator = model.estimator
    if not hasattr(estimator, "sample"):
        raise CLIError(
            f"{model.class_name} models cannot generate samples (no density); "
            "fit a Gaussian mixture (--model gmm) to sample"
        )
    _check_sample_size(args.n_samples, int(getattr(estimator, "n_features_in_", 1)))
    output = _planned_output(args)
    if args.random_state is not None:
        estimator.random_state = args.random_state
    X, _ = estimator.sample(args.n_samples)
    _write(X, output)
    return 0
