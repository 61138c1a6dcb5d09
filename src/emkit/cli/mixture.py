"""Model kinds of the command line for mixtures: ``--model gmm`` and ``--model kmeans``."""

from __future__ import annotations

from pathlib import Path

from emkit.cli.common import matrix_text
from emkit.cli.kind import (
    ACCELERATE,
    COVARIANCE_TYPE,
    INIT,
    N_COMPONENTS,
    REG_COVAR,
    Inputs,
    ModelKind,
    Option,
    fit_criteria,
    plain_build,
)
from emkit.cli.report import Entry

__all__ = ["gmm_kind", "kmeans_kind", "mixture_summary", "mixture_tables"]

ASSIGNMENT = Option.of(
    "--assignment", choices=("soft", "hard"), help="soft: EM; hard: classification EM"
)


# -- Gaussian mixture ---------------------------------------------------------------------
def mixture_summary(estimator, inputs: Inputs) -> list[Entry]:
    # no (n_samples, K) array is formed either
    return fit_criteria(estimator, inputs.X.shape[0], "sample")


def _density_score(estimator, inputs: Inputs) -> list[Entry]:
    log_density = estimator.score_samples(inputs.X)
    mean, total = float(log_density.mean()), float(log_density.sum())
    return [
        Entry("samples", str(inputs.X.shape[0]), {"n_samples": inputs.X.shape[0]}),
        Entry("mean log-likelihood per sample", f"{mean:.10g}", {"mean_log_likelihood": mean}),
        Entry("total log-likelihood", f"{total:.10g}", {"total_log_likelihood": total}),
    ]


def mixture_tables(estimator, feature_names) -> list:
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
        cells = [str(k), f"{estimator.weights_[k]:.4f}", matrix_text(estimator.means_[k])]
        if kind != "tied":
            cells.append(matrix_text(estimator.covariances_[k]))
        table.add_row(*cells)
    tables = [table]
    if kind == "tied":
        shared = RichTable(title="shared covariance")
        shared.add_column("covariance")
        shared.add_row(matrix_text(estimator.covariances_))
        tables.append(shared)
    return tables


def _plot_mixture(estimator, inputs: Inputs, path) -> None:
    from emkit.plot import plot_mixture_1d, plot_mixture_2d, save_figure

    table = inputs.table
    title = f"{type(estimator).__name__} on {Path(table.source).name}"
    if table.X.shape[1] == 1:
        ax = plot_mixture_1d(estimator, table.X, feature_name=table.feature_names([0])[0])
        ax.set_title(title)
    else:
        names = table.feature_names([0, 1])
        ax = plot_mixture_2d(estimator, table.X, feature_names=names, title=title)
    save_figure(ax.figure, path)


def gmm_kind() -> ModelKind:
    from emkit import GaussianMixture

    return ModelKind(
        GaussianMixture,
        plain_build(GaussianMixture),
        "Gaussian mixture (init: kmeans, k-means++, random, random_from_data)",
        summary=mixture_summary,
        score=_density_score,
        tables=mixture_tables,
        attributes=lambda estimator: ("weights_", "means_", "covariances_"),
        plot=_plot_mixture,
        options=(N_COMPONENTS, COVARIANCE_TYPE, INIT, REG_COVAR, ASSIGNMENT, ACCELERATE),
        hyperparameters={
            "n_components": "n_components",
            "covariance_type": "covariance_type",
            "init_params": "init",
            "reg_covar": "reg_covar",
            "assignment": "assignment",
            "accelerate": "accelerate",
        },
    )


# -- k-means ------------------------------------------------------------------------------
def _kmeans_summary(estimator, inputs: Inputs) -> list[Entry]:
    inertia = float(estimator.inertia_)
    per_sample = inertia / inputs.X.shape[0]
    return [
        Entry(
            "inertia",
            f"{inertia:.6g} (sum of squared distances to the centres)",
            {"inertia": inertia},
        ),
        Entry("per sample", f"{per_sample:.6g}", {"mean_squared_distance": per_sample}),
    ]


def _kmeans_score(estimator, inputs: Inputs) -> list[Entry]:
    n = inputs.X.shape[0]
    inertia = float(-estimator.score(inputs.X))
    return [
        Entry("samples", str(n), {"n_samples": n}),
        Entry("inertia", f"{inertia:.10g}", {"inertia": inertia}),
        Entry(
            "mean squared distance per sample",
            f"{inertia / n:.10g}",
            {"mean_squared_distance": inertia / n},
        ),
    ]


def _kmeans_tables(estimator, feature_names) -> list:
    from rich.table import Table as RichTable

    table = RichTable(title=f"{estimator.n_clusters} cluster centres")
    table.add_column("cluster", justify="right")
    table.add_column(f"centre ({', '.join(feature_names)})")
    for k, centre in enumerate(estimator.cluster_centers_):
        table.add_row(str(k), matrix_text(centre))
    return [table]


def kmeans_kind() -> ModelKind:
    from emkit import KMeans

    return ModelKind(
        KMeans,
        plain_build(KMeans),
        "k-means, --n-components clusters (init: k-means++, random)",
        summary=_kmeans_summary,
        score=_kmeans_score,
        tables=_kmeans_tables,
        attributes=lambda estimator: ("cluster_centers_", "inertia_"),
        plot=_plot_mixture,
        options=(N_COMPONENTS, INIT),
        hyperparameters={"n_clusters": "n_components", "init": "init"},
        describe=lambda estimator: f"{estimator.n_clusters} clusters",
    )
