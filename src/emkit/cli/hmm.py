"""The command line's hidden Markov models: ``emkit fit DATA --model hmm --emission NAME``."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from emkit.cli.common import (
    CLIError,
    matrix_text,
    nonnegative_float,
    positive_int,
    reject,
)
from emkit.cli.kind import (
    ACCELERATE,
    COVARIANCE_TYPE,
    INIT,
    LEARN,
    LENGTHS,
    N_COMPONENTS,
    REG_COVAR,
    Inputs,
    ModelKind,
    Option,
    fit_criteria,
    sequence_score,
)
from emkit.cli.report import Entry, matrix_entry
from emkit.estimators._checks import check_alphabet

__all__ = ["EMISSIONS", "Emission", "hmm_kind"]


class Emission(NamedTuple):
    """One ``--emission``: its estimator class, the options only it uses and its fitted
    emission parameters."""

    class_name: str
    #: {estimator parameter: option dest}
    options: dict[str, str]
    #: public fitted attributes of the emission, per state
    attributes: tuple[str, ...]


EMISSIONS: dict[str, Emission] = {
    "gaussian": Emission(
        "GaussianHMM",
        {"covariance_type": "covariance_type", "reg_covar": "reg_covar"},
        ("means_", "covariances_"),
    ),
    "gmm": Emission(
        "GMMHMM",
        {"covariance_type": "covariance_type", "reg_covar": "reg_covar", "n_mix": "n_mix"},
        ("weights_", "means_", "covariances_"),
    ),
    "poisson": Emission("PoissonHMM", {}, ("rates_",)),
    "categorical": Emission(
        "CategoricalHMM",
        {"n_symbols": "n_symbols", "emissionprob_prior": "emissionprob_prior"},
        ("emissionprob_",),
    ),
    "multinomial": Emission(
        "MultinomialHMM", {"emissionprob_prior": "emissionprob_prior"}, ("emissionprob_",)
    ),
    "bernoulli": Emission(
        "BernoulliHMM", {"emissionprob_prior": "emissionprob_prior"}, ("emissionprob_",)
    ),
}

EMISSION = Option.of(
    "--emission",
    choices=tuple(EMISSIONS),
    help="emission distribution of every hidden state: gaussian, gmm (--n-mix Gaussians "
    "per state), poisson (counts), categorical (integer symbols 0 .. n-1), multinomial "
    "(count vectors), bernoulli (0/1 features)",
    default_text="gaussian",
)
N_MIX = Option.of("--n-mix", type=positive_int, help="Gaussians per state (--emission gmm)")
N_SYMBOLS = Option.of(
    "--n-symbols",
    type=positive_int,
    help="alphabet size (--emission categorical)",
    default_text="the largest symbol + 1",
)
STARTPROB_PRIOR = Option.of(
    "--startprob-prior",
    type=nonnegative_float,
    help="Dirichlet pseudo-count of the start state (0: maximum likelihood)",
)
TRANSMAT_PRIOR = Option.of(
    "--transmat-prior",
    type=nonnegative_float,
    help="Dirichlet pseudo-count of every transition (0: maximum likelihood)",
)
EMISSIONPROB_PRIOR = Option.of(
    "--emissionprob-prior",
    type=nonnegative_float,
    help="pseudo-count of every symbol / count / binary outcome (categorical, multinomial, "
    "bernoulli emissions)",
)
#: the options of every emission: {estimator parameter: option dest}
_EMISSION_OPTIONS = {
    param: option for emission in EMISSIONS.values() for param, option in emission.options.items()
}


def _build_hmm(args, parameters):
    import emkit

    name = args.emission or "gaussian"
    emission = EMISSIONS[name]
    foreign = set(_EMISSION_OPTIONS.values()) - set(emission.options.values())
    reject(args, f"hmm --emission {name}", *sorted(foreign))
    return getattr(emkit, emission.class_name)(**parameters)


def _emission_of(estimator) -> Emission | None:
    return next((e for e in EMISSIONS.values() if e.class_name == type(estimator).__name__), None)


def _hmm_attributes(estimator) -> tuple[str, ...]:
    emission = _emission_of(estimator)
    return ("startprob_", "transmat_", *(emission.attributes if emission else ()))


def _check_n_symbols(estimator, inputs: Inputs) -> None:
    """A CLIError naming ``--n-symbols`` when the alphabet it gives a categorical HMM is
    too large (see :func:`emkit.estimators._checks.check_alphabet`), where the fit's
    message would name the parameter ``n_symbols``. An alphabet inferred from the data
    is checked by the fit, whose message names X, so the file (:func:`about_data`)."""
    if estimator.n_symbols is None:
        return
    given = int(estimator.n_symbols)
    try:
        check_alphabet(estimator, given, f"--n-symbols {given}", n_features=inputs.X.shape[1])
    except ValueError as exc:
        raise CLIError(f"--emission categorical: {exc}") from None


def _fit_hmm(estimator, inputs: Inputs, args):
    from emkit.estimators import CategoricalHMM

    if isinstance(estimator, CategoricalHMM):
        _check_n_symbols(estimator, inputs)
    return estimator.fit(inputs.X, inputs.lengths)


def _predict_hmm(estimator, inputs: Inputs, proba: bool):
    if proba:
        return estimator.predict_proba(inputs.X, inputs.lengths)
    return estimator.predict(inputs.X, inputs.lengths)


def _state_means(estimator):
    """The mean of every feature in every state, shape (K, D) (or (K,) for one
    feature); None for emissions without a mean (categorical, ...)."""
    from emkit.plot.hmm import state_levels

    n_features = int(estimator.n_features_in_)
    levels = [state_levels(estimator, j) for j in range(n_features)]
    if levels[0] is None:
        return None
    return levels[0] if n_features == 1 else np.column_stack(levels)


def _hmm_summary(estimator, inputs: Inputs) -> list[Entry]:
    means = _state_means(estimator)
    emission = (
        matrix_entry("emission probabilities", "emissionprob", estimator.emissionprob_)
        if means is None
        else matrix_entry("state means", "state_means", means)
    )
    return [
        *fit_criteria(estimator, inputs.X.shape[0], "observation"),
        matrix_entry("start probabilities", "startprob", estimator.startprob_),
        matrix_entry("transition matrix", "transmat", estimator.transmat_),
        emission,
    ]


def _hmm_score(estimator, inputs: Inputs) -> list[Entry]:
    return sequence_score(inputs, estimator.score(inputs.X, inputs.lengths), "observation")


def _hmm_tables(estimator, feature_names) -> list:
    """Rich tables: every state's start probability and emission parameters, and the
    transition matrix."""
    from rich.table import Table as RichTable

    K = estimator.n_components
    emission = _emission_of(estimator)
    arrays = [
        name
        for name in (emission.attributes if emission else ())
        if np.ndim(getattr(estimator, name)) >= 1
    ]
    # a GaussianHMM's tied covariance (D, D) is one matrix for all states, even when D == K
    tied = getattr(estimator, "covariance_type", None) == "tied"
    shared = [
        name
        for name in arrays
        if tied and name == "covariances_" and np.ndim(getattr(estimator, name)) == 2
    ]
    per_state = [name for name in arrays if name not in shared]
    states = RichTable(title=f"{type(estimator).__name__}: {K} hidden states")
    states.add_column("state", justify="right")
    states.add_column("start", justify="right")
    for name in per_state:
        states.add_column(name.rstrip("_"))
    for k in range(K):
        cells = [matrix_text(getattr(estimator, name)[k]) for name in per_state]
        states.add_row(str(k), f"{estimator.startprob_[k]:.4f}", *cells)
    transitions = RichTable(title="transition probabilities")
    transitions.add_column("from \\ to", justify="right")
    for j in range(K):
        transitions.add_column(str(j), justify="right")
    for k in range(K):
        transitions.add_row(str(k), *(f"{p:.4f}" for p in estimator.transmat_[k]))
    tables = [states, transitions]
    for name in shared:
        table = RichTable(title=f"{name.rstrip('_')} (shared by the states)")
        table.add_column("value")
        table.add_row(matrix_text(getattr(estimator, name)))
        tables.append(table)
    return tables


def _plot_hmm(estimator, inputs: Inputs, path) -> None:
    from emkit.plot import plot_decoded_states, save_figure

    table = inputs.table
    ax = plot_decoded_states(
        estimator,
        table.X,
        inputs.lengths,
        title=f"{type(estimator).__name__} on {Path(table.source).name}: Viterbi states",
        ylabel=table.feature_names([0])[0],
    )
    save_figure(ax.figure, path)


def hmm_kind() -> ModelKind:
    import emkit
    from emkit.estimators.hmm import BaseHMM

    return ModelKind(
        BaseHMM,
        _build_hmm,
        "hidden Markov model, --n-components states (--emission NAME; several sequences "
        "with --lengths FILE; init: kmeans, k-means++, random, random_from_data)",
        summary=_hmm_summary,
        score=_hmm_score,
        tables=_hmm_tables,
        attributes=_hmm_attributes,
        plot=_plot_hmm,
        options=(
            N_COMPONENTS,
            EMISSION,
            LENGTHS,
            COVARIANCE_TYPE,
            REG_COVAR,
            N_MIX,
            N_SYMBOLS,
            INIT,
            LEARN,
            STARTPROB_PRIOR,
            TRANSMAT_PRIOR,
            EMISSIONPROB_PRIOR,
            ACCELERATE,
        ),
        hyperparameters={
            "n_components": "n_components",
            "init_params": "init",
            "learn": "learn",
            "startprob_prior": "startprob_prior",
            "transmat_prior": "transmat_prior",
            "accelerate": "accelerate",
            **_EMISSION_OPTIONS,
        },
        defaults_from=tuple(getattr(emkit, e.class_name) for e in EMISSIONS.values()),
        fit=_fit_hmm,
        predict=_predict_hmm,
        describe=lambda estimator: f"{estimator.n_components} hidden states",
    )
