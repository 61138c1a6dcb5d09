"""``emkit select``: fit Gaussian mixtures for a range of K and covariance types, keep the best.

The command form of :func:`emkit.estimators.selection.select_model` (R's ``Mclust()``):
the table of BIC, AIC and ICL of every fit goes to standard output (one JSON object with
``--json``), the best model to ``-o BEST.npz`` and the criterion against K to
``--plot FIG.png``. Criteria are lower-is-better, as in ``emkit fit``'s summary.
"""

from __future__ import annotations

import argparse
import re

from emkit._text import one_line
from emkit.cli.columns import add_columns
from emkit.cli.common import (
    CLIError,
    comma_list,
    n_jobs,
    nonnegative_float,
    nonnegative_int,
    positive_int,
)
from emkit.cli.outputs import add_force, atomic_output, input_files, write_failures
from emkit.cli.report import Entry, add_json, print_json, print_report

__all__ = ["add_arguments", "component_range", "run"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
CRITERIA = ("bic", "aic", "icl")


def component_range(text: str) -> tuple[int, ...]:
    """``"1-9"``, ``"2,3,5"`` or ``"1-4,6"`` -> the sorted numbers (an argparse ``type``)."""
    values: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"expected numbers of components such as 1-9, 2,3,5 or 1-4,6; got {text!r}"
            )
        low = int(match[1])
        high = low if match[2] is None else int(match[2])
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"expected ranges low-high with 1 <= low <= high; got {part.strip()!r} in {text!r}"
            )
        values.update(range(low, high + 1))
    return tuple(sorted(values))


def _covariance_types(text: str) -> tuple[str, ...]:
    names = comma_list(text)
    unknown = [name for name in names if name not in COVARIANCE_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {unknown[0]!r}; give some of {','.join(COVARIANCE_TYPES)}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a covariance type is given twice in {text!r}")
    return names


def add_arguments(parser) -> None:
    parser.add_argument("data", metavar="DATA", help="CSV (header optional) or .npy file")
    parser.add_argument(
        "-k",
        "--n-components",
        type=component_range,
        default="1-9",  # argparse converts a string default with the type
        metavar="RANGE",
        help="numbers of components to try: 1-9, 2,3,5 or 1-4,6",
    )
    parser.add_argument(
        "--covariance-type",
        type=_covariance_types,
        default=",".join(COVARIANCE_TYPES),
        metavar="TYPE,TYPE",
        help="covariance types to try",
    )
    parser.add_argument(
        "--criterion",
        choices=CRITERIA,
        default="bic",
        help="what the best model minimises (all three are in the table; lower is better)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="BEST.npz",
        help="model file for the best model, .npz appended if missing (default: none)",
    )
    parser.add_argument(
        "--plot",
        metavar="FIG.png",
        help="also draw the criterion against K, one line per covariance type; the suffix "
        "is the format (default: no figure)",
    )
    add_force(parser, "an existing model file or figure")
    add_columns(parser, "every column")
    add_json(parser, "the table and the best model")
    group = parser.add_argument_group("fitting every model")
    group.add_argument("--n-init", type=positive_int, default=1, help="restarts per model")
    group.add_argument("--max-iter", type=positive_int, default=100, help="EM iterations")
    group.add_argument("--tol", type=nonnegative_float, default=1e-3, help="tolerance")
    group.add_argument(
        "--reg-covar",
        type=nonnegative_float,
        default=1e-6,
        help="added to the covariance diagonals; 0 (as in mclust) makes a component that "
        "collapses onto repeated values a failed fit instead of a spurious best",
    )
    group.add_argument(
        "--init",
        choices=("kmeans", "k-means++", "random", "random_from_data"),
        default="kmeans",
        help="initialisation method",
    )
    group.add_argument(
        "--random-state",
        type=nonnegative_int,
        help="seed of every fit (reproducible; default: fresh randomness)",
    )
    group.add_argument(
        "--n-jobs",
        type=n_jobs,
        metavar="N",
        help="threads fitting models side by side, -1 for every core; the result is the "
        "same for any N (default: every core)",
    )


def _row(cell) -> dict:
    """One fit as JSON fields (criteria None where it failed)."""
    return {
        "n_components": cell.n_components,
        "covariance_type": cell.covariance_type,
        "log_likelihood": cell.log_likelihood,
        "n_parameters": None if cell.failed else cell.n_parameters,
        "bic": cell.bic,
        "aic": cell.aic,
        "icl": cell.icl,
        "converged": None if cell.failed else cell.converged,
        "n_iter": None if cell.failed else cell.n_iter,
        "error": cell.error,
    }


def run(args) -> int:
    from sklearn.utils._param_validation import InvalidParameterError

    from emkit.cli.fit import planned_outputs
    from emkit.cli.inputs import about_data, read_inputs
    from emkit.cli.models import MODEL_KINDS
    from emkit.estimators.gaussian_mixture import GaussianMixture
    from emkit.estimators.selection import select_model
    from emkit.io import save

    model_file, figure = planned_outputs(args, input_files(args, "data"))
    inputs = read_inputs(MODEL_KINDS["gmm"], args, args.data)
    n_rows = inputs.X.shape[0]
    if max(args.n_components) > n_rows:
        raise CLIError(
            f"-k {max(args.n_components)}: {inputs.source} has {n_rows} "
            f"row{'' if n_rows == 1 else 's'}, and a mixture "
            f"needs at least as many rows as components; give -k up to {n_rows}"
        )
    template = GaussianMixture(
        n_init=args.n_init,
        max_iter=args.max_iter,
        tol=args.tol,
        reg_covar=args.reg_covar,
        init_params=args.init,
    )
    try:
        with about_data(inputs):
            selection = select_model(
                inputs.X,
                n_components=args.n_components,
                covariance_type=list(args.covariance_type),
                criterion=args.criterion,
                estimator=template,
                random_state=args.random_state,
                n_jobs=args.n_jobs,
            )
    except InvalidParameterError as exc:  # pragma: no cover - the options are checked
        raise CLIError(f"bad option value: {one_line(exc)}") from None
    best = selection.best_estimator_
    written = shown = None
    if model_file is not None:
        with write_failures(model_file):  # emkit.save itself writes atomically
            written = str(save(best, model_file.path, metadata=inputs.metadata()))
    if figure is not None:
        from emkit.plot import save_figure
        from emkit.plot.selection import plot_model_selection

        with atomic_output(figure) as path:
            save_figure(plot_model_selection(selection).figure, path)
        shown = str(figure.path)
    name = args.criterion.upper()
    cell = selection.best_cell_
    best_fields = {**cell.params, name.lower(): selection.best_score_}
    if args.json:
        fields: dict = {}
        fields.update(inputs.entry().values)
        fields.update(
            criterion=args.criterion,
            best=best_fields,
            fits=[_row(c) for c in selection.cells],
            n_failed=len(selection.failed_),
            written=written,
            figure=shown,
        )
        print_json(fields)
        return 0
    print(selection.format_table())
    print()
    failed = len(selection.failed_)
    print_report(
        [
            inputs.entry(),
            Entry(
                "best",
                f"K={cell.n_components}, {cell.covariance_type} covariances "
                f"({name} {selection.best_score_:.4f}, lower is better)",
            ),
            Entry("failed", f"{failed} of {len(selection.cells)} fits" if failed else None),
            Entry("written", written or "nothing (give -o BEST.npz to save the best model)"),
            Entry("figure", shown),
        ]
    )
    return 0
