"""``emkit info``: what a model file holds (class, versions, columns, hyperparameters,
fitted parameters), as tables or as one JSON object."""

from __future__ import annotations

import numpy as np

from emkit.cli.common import matrix_text
from emkit.cli.inputs import SavedModel, load_model
from emkit.cli.report import add_json, console, print_json

__all__ = ["add_arguments", "run"]

#: (label, JSON key, fitted attribute) of the fit's scalars
_FIT_SCALARS = (
    ("features", "n_features", "n_features_in_"),
    ("converged", "converged", "converged_"),
    ("iterations", "n_iter", "n_iter_"),
    ("log-likelihood", "log_likelihood", "log_likelihood_"),
    ("lower bound / sample", "lower_bound", "lower_bound_"),
)


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit'")
    add_json(parser, "the class, versions, columns, hyperparameters and fitted parameters")


def _fit_scalars(estimator) -> list[tuple[str, str, object]]:
    from emkit.estimators._topic_base import TopicModel

    # a topic model's objective is per word (token), not per row
    per = "/ word" if isinstance(estimator, TopicModel) else "/ sample"
    return [
        (label.replace("/ sample", per), key, getattr(estimator, name))
        for label, key, name in _FIT_SCALARS
        if hasattr(estimator, name)
    ]


def _as_json(model: SavedModel) -> dict:
    metadata, estimator = model.metadata, model.estimator
    return {
        "path": model.path,
        "class": metadata["class"],
        "emkit_version": metadata["emkit_version"],
        "format": metadata["format"],
        "format_version": metadata["format_version"],
        "columns": model.columns,
        **{key: value for _, key, value in _fit_scalars(estimator)},
        "hyperparameters": estimator.get_params(deep=False),
        "parameters": {
            name.rstrip("_"): getattr(estimator, name)
            for name in model.kind.attributes(estimator)
            if hasattr(estimator, name)
        },
    }


def _print_tables(model: SavedModel) -> None:
    from rich.table import Table as RichTable

    metadata, estimator = model.metadata, model.estimator
    out = console()
    about = RichTable(title=model.path, show_header=False)
    about.add_column(style="bold")
    about.add_column()
    about.add_row("class", metadata["class"])
    about.add_row("written by", f"emkit {metadata['emkit_version']}")
    about.add_row("file format", f"{metadata['format']} v{metadata['format_version']}")
    if model.columns is not None:
        about.add_row("columns", ", ".join(model.columns))
    for label, _, value in _fit_scalars(estimator):
        about.add_row(label, f"{float(value):.10g}" if isinstance(value, float) else str(value))
    out.print(about)
    hyper = RichTable(title="hyperparameters")
    hyper.add_column("name", style="bold")
    hyper.add_column("value")
    for name, value in estimator.get_params(deep=False).items():
        hyper.add_row(name, matrix_text(value) if isinstance(value, np.ndarray) else repr(value))
    out.print(hyper)
    n_features = int(getattr(estimator, "n_features_in_", 0))
    names = model.columns or model.vocabulary or [f"x{j}" for j in range(n_features)]
    for renderable in model.kind.tables(estimator, list(names)):
        out.print(renderable)


def run(args) -> int:
    model = load_model(args.model)
    if args.json:
        print_json(_as_json(model))
    else:
        _print_tables(model)
    return 0
