"""The command line's linear-Gaussian state-space model: ``emkit fit DATA --model lgssm``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emkit.cli.common import CLIError, matrix_text, positive_int
from emkit.cli.kind import (
    ACCELERATE,
    LEARN,
    LENGTHS,
    Inputs,
    ModelKind,
    Option,
    fit_criteria,
    sequence_score,
)
from emkit.cli.report import Entry, matrix_entry

__all__ = ["SYMBOLS", "lgssm_kind", "parameter_name"]

#: the parameter names of the estimator and their symbols in the model equations (the
#: short names that the summaries print); the command line takes either
SYMBOLS = {
    "transition_matrix": "A",
    "observation_matrix": "C",
    "transition_covariance": "Q",
    "observation_covariance": "R",
    "initial_state_mean": "m0",
    "initial_state_covariance": "P0",
    "control_transition_matrix": "B",
    "control_observation_matrix": "D",
}


_BY_SYMBOL = {symbol.lower(): name for name, symbol in SYMBOLS.items()}
_NAMES_TEXT = ", ".join(f"{symbol} ({name})" for name, symbol in SYMBOLS.items())


def parameter_name(text: str) -> str | None:
    """The estimator's name of a parameter given by name or by symbol (``Q``, ``m0``; in
    any case), or None."""
    name = text.strip().replace("-", "_")
    return name if name in SYMBOLS else _BY_SYMBOL.get(name.lower())


def _param_value(text: str) -> tuple[str, float]:
    """``"transition_matrix=1"`` or ``"A=1"`` -> ``("transition_matrix", 1.0)`` (an
    argparse type)."""
    given_name, equals, value = text.partition("=")
    name = parameter_name(given_name)
    if not equals or name is None:
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER with NAME one of {_NAMES_TEXT}; got {text!r}"
        )
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number after {given_name}=, got {value!r}"
        ) from None
    if not np.isfinite(number):
        raise argparse.ArgumentTypeError(
            f"expected a finite number after {given_name}=, got {value!r}"
        )
    return name, number


STATE_DIM = Option.of(
    "--state-dim",
    type=positive_int,
    metavar="K",
    required=True,
    help="dimension of the hidden state",
)
CONTROLS = Option.of(
    "--controls",
    metavar="FILE",
    help="known control inputs U (CSV or .npy), one row per row of DATA",
    default_text="none",
)
TRANSITION_COVARIANCE_TYPE = Option.of(
    "--transition-covariance-type",
    choices=("full", "diag", "spherical"),
    help="structure of the state noise covariance Q",
)
OBSERVATION_COVARIANCE_TYPE = Option.of(
    "--observation-covariance-type",
    choices=("full", "diag", "spherical"),
    help="structure of the observation noise covariance R",
)
PARAM = Option.of(
    "--param",
    action="append",
    type=_param_value,
    metavar="NAME=NUMBER",
    help="starting value of a parameter, kept fixed unless NAME is in --learn; a number "
    "is that multiple of the identity (square matrices) or a constant vector; repeatable. "
    f"NAME: {_NAMES_TEXT}",
    default_text="a start from the data",
)


def _learn(names):
    """``--learn`` names (or symbols, or ``all``) as the estimator's parameter names."""
    if names is None or tuple(names) == ("all",):
        return names
    unknown = [name for name in names if parameter_name(name) is None]
    if unknown:
        raise CLIError(
            f"--learn has unknown parameter names {unknown}; choose from {_NAMES_TEXT}, or all"
        )
    return tuple(parameter_name(name) for name in names)


def _build_lgssm(args, parameters):
    from emkit import LinearGaussianSSM

    if "learn" in parameters:
        parameters["learn"] = _learn(parameters["learn"])
    initial = {f"{name}_init": value for name, value in args.param or ()}
    return LinearGaussianSSM(**parameters, **initial)


def _controls(estimator, inputs: Inputs):
    """``inputs.controls``, checked against the controls the model was fitted with."""
    expected = int(estimator.control_transition_matrix_.shape[1])
    if inputs.controls is None and expected:
        raise CLIError(
            f"the model was fitted with {expected} control input(s): give them with "
            "--controls FILE (one row per data row)"
        )
    if inputs.controls is not None and inputs.controls.shape[1] != expected:
        what = "without control inputs" if not expected else f"with {expected} control inputs"
        raise CLIError(
            f"the model was fitted {what}, but the controls file has "
            f"{inputs.controls.shape[1]} column(s)"
        )
    return inputs.controls


def _fit_lgssm(estimator, inputs: Inputs, args):
    return estimator.fit(inputs.X, inputs.lengths, inputs.controls)


def _lgssm_summary(estimator, inputs: Inputs) -> list[Entry]:
    eigenvalues = np.linalg.eigvals(estimator.transition_matrix_)
    learned = [str(name) for name in estimator.learned_]
    return [
        *fit_criteria(estimator, inputs.X.shape[0], "time step"),
        Entry(
            "learned",
            ", ".join(SYMBOLS[name] for name in learned) or "nothing",
            {"learned": learned},
        ),
        Entry(
            "eigenvalues of A",
            matrix_text(eigenvalues),
            # complex for every model: --json always writes {"real": [...], "imag": [...]}
            {"transition_eigenvalues": eigenvalues.astype(complex)},
        ),
        matrix_entry("state noise Q", "transition_covariance", estimator.transition_covariance_),
        matrix_entry(
            "observation noise R", "observation_covariance", estimator.observation_covariance_
        ),
    ]


def _lgssm_score(estimator, inputs: Inputs) -> list[Entry]:
    total = estimator.score(inputs.X, inputs.lengths, _controls(estimator, inputs))
    n_missing = inputs.table.n_missing
    missing = Entry("missing values", str(n_missing), {"n_missing": n_missing})
    return sequence_score(inputs, total, "time step", missing)


def _lgssm_smooth(estimator, inputs: Inputs, filtered: bool):
    """Posterior means and variances of the states: (n_samples, 2 k) values and names."""
    method = estimator.filter if filtered else estimator.smooth
    means, covariances = method(inputs.X, inputs.lengths, _controls(estimator, inputs))
    k = means.shape[1]
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    names = (*(f"state_{i}" for i in range(1, k + 1)), *(f"var_{i}" for i in range(1, k + 1)))
    return np.hstack([means, variances]), names


def _lgssm_tables(estimator, feature_names) -> list:
    from rich.table import Table as RichTable

    table = RichTable(title=f"linear-Gaussian state-space model, state dimension {_k(estimator)}")
    table.add_column("parameter")
    table.add_column("value")
    table.add_column("learned")
    for name, symbol in SYMBOLS.items():
        value = getattr(estimator, f"{name}_")
        if value.size == 0:  # no control inputs: B and D have no columns
            continue
        learned = "yes" if name in estimator.learned_ else "no (fixed)"
        table.add_row(f"{symbol}  {name}", matrix_text(value), learned)
    return [table]


def _plot_lgssm(estimator, inputs: Inputs, path) -> None:
    from emkit.plot import plot_smoothed, save_figure

    table = inputs.table
    # the figure shows one sequence: the first when there are several
    stop = table.X.shape[0] if inputs.lengths is None else int(inputs.lengths[0])
    first = "" if inputs.lengths is None or len(inputs.lengths) == 1 else ", first sequence"
    U = None if inputs.controls is None else inputs.controls[:stop]
    ax = plot_smoothed(
        estimator,
        table.X[:stop],
        U=U,
        observed_label=table.feature_names([0])[0],
        signal_label="smoothed signal",
        title=f"{type(estimator).__name__} on {Path(table.source).name}{first}",
    )
    save_figure(ax.figure, path)


def _k(estimator) -> int:
    return int(estimator.transition_matrix_.shape[0])


def lgssm_kind() -> ModelKind:
    from emkit import LinearGaussianSSM

    return ModelKind(
        LinearGaussianSSM,
        _build_lgssm,
        "linear-Gaussian state-space model (Kalman), --state-dim K; NaN cells are missing "
        "observations; several sequences with --lengths FILE",
        summary=_lgssm_summary,
        score=_lgssm_score,
        tables=_lgssm_tables,
        attributes=lambda estimator: (*(f"{name}_" for name in SYMBOLS), "learned_"),
        plot=_plot_lgssm,
        options=(
            STATE_DIM,
            LENGTHS,
            CONTROLS,
            LEARN,
            PARAM,
            TRANSITION_COVARIANCE_TYPE,
            OBSERVATION_COVARIANCE_TYPE,
            ACCELERATE,
        ),
        hyperparameters={
            "state_dim": "state_dim",
            "learn": "learn",
            "transition_covariance_type": "transition_covariance_type",
            "observation_covariance_type": "observation_covariance_type",
            "accelerate": "accelerate",
        },
        fit=_fit_lgssm,
        predict=None,
        smooth=_lgssm_smooth,
        describe=lambda estimator: f"state dimension {_k(estimator)}",
        missing_values=True,
    )
