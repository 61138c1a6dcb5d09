"""The command line's linear-Gaussian state-space model: ``emkit fit DATA --model lgssm``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emkit.cli.common import (
    LEARN,
    LENGTHS,
    CLIError,
    Inputs,
    ModelKind,
    Option,
    fit_criteria,
    given,
    matrix_text,
    positive_int,
    require,
)

__all__ = ["lgssm_kind"]

#: ``--param`` names and the symbols of the model equations
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


def _param_value(text: str) -> tuple[str, float]:
    """``"transition_matrix=1"`` -> ``("transition_matrix", 1.0)`` (an argparse type)."""
    name, equals, value = text.partition("=")
    name = name.strip().replace("-", "_")
    if not equals or name not in SYMBOLS:
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER with NAME one of {', '.join(SYMBOLS)}; got {text!r}"
        )
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number after {name}=, got {value!r}"
        ) from None
    if not np.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a finite number after {name}=, got {value!r}")
    return name, number


STATE_DIM = Option.of(
    "--state-dim", type=positive_int, metavar="K", help="dimension of the hidden state (required)"
)
CONTROLS = Option.of(
    "--controls",
    metavar="FILE",
    help="known control inputs U (CSV or .npy), one row per row of DATA",
)
TRANSITION_COVARIANCE_TYPE = Option.of(
    "--transition-covariance-type",
    choices=("full", "diag", "spherical"),
    help="structure of the state noise covariance Q (default full)",
)
OBSERVATION_COVARIANCE_TYPE = Option.of(
    "--observation-covariance-type",
    choices=("full", "diag", "spherical"),
    help="structure of the observation noise covariance R (default full)",
)
ACCELERATE = Option.of(
    "--accelerate", choices=("squarem",), help="SQUAREM extrapolation of the EM map"
)
PARAM = Option.of(
    "--param",
    action="append",
    type=_param_value,
    metavar="NAME=NUMBER",
    help="starting value of a parameter, kept fixed unless NAME is in --learn; a number "
    "is that multiple of the identity (square matrices) or a constant vector; repeatable. "
    f"NAME: {', '.join(f'{name} ({symbol})' for name, symbol in SYMBOLS.items())}",
)


def _build_lgssm(args):
    from emkit import LinearGaussianSSM

    require(args, "lgssm", "state_dim")
    initial = {f"{name}_init": value for name, value in args.param or ()}
    return LinearGaussianSSM(
        **given(
            args,
            state_dim="state_dim",
            learn="learn",
            transition_covariance_type="transition_covariance_type",
            observation_covariance_type="observation_covariance_type",
            accelerate="accelerate",
            max_iter="max_iter",
            tol="tol",
            n_init="n_init",
            random_state="random_state",
            chunk_size="chunk_size",
        ),
        **initial,
        verbose=args.verbose,
    )


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


def _lgssm_summary(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    eigenvalues = np.linalg.eigvals(estimator.transition_matrix_)
    return [
        *fit_criteria(estimator, inputs.X.shape[0], "time step"),
        ("learned", ", ".join(SYMBOLS[name] for name in estimator.learned_) or "nothing"),
        ("eigenvalues of A", matrix_text(eigenvalues)),
        ("state noise Q", matrix_text(estimator.transition_covariance_)),
        ("observation noise R", matrix_text(estimator.observation_covariance_)),
    ]


def _lgssm_score(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    n = inputs.X.shape[0]
    total = estimator.score(inputs.X, inputs.lengths, _controls(estimator, inputs))
    return [
        ("samples", str(n)),
        ("sequences", str(1 if inputs.lengths is None else len(inputs.lengths))),
        ("missing values", str(inputs.table.n_missing)),
        ("total log-likelihood", f"{total:.10g}"),
        ("mean log-likelihood per time step", f"{total / n:.10g}"),
    ]


def _lgssm_smooth(estimator, inputs: Inputs, filtered: bool):
    """Posterior means and variances of the states: (n_samples, 2 k) values and names."""
    method = estimator.filter if filtered else estimator.smooth
    means, covariances = method(inputs.X, inputs.lengths, _controls(estimator, inputs))
    k = means.shape[1]
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    names = (*(f"state_{i}" for i in range(1, k + 1)), *(f"var_{i}" for i in range(1, k + 1)))
    return np.hstack([means, variances]), names


def _lgssm_parameters(estimator, feature_names) -> list:
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
        parameters=_lgssm_parameters,
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
        fit=_fit_lgssm,
        predict=None,
        smooth=_lgssm_smooth,
        describe=lambda estimator: f"state dimension {_k(estimator)}",
        missing_values=True,
    )
