"""Model kinds of the command line for mixtures: ``--model gmm`` and ``--model kmeans``."""

from __future__ import annotations

from pathlib import Path

from emkit.cli.common import (
    COVARIANCE_TYPE,
    INIT,
    N_COMPONENTS,
    REG_COVAR,
    Inputs,
    ModelKind,
    Option,
    fit_criteria,
    given,
    matrix_text,
    require,
)

__all__ = ["gmm_kind", "kmeans_kind", "mixture_parameters", "mixture_summary"]

ASSIGNMENT = Option.of(
    "--assignment", choices=("soft", "hard"), help="soft: EM (default); hard: classification EM"
)


# -- Gaussian mixture ---------------------------------------------------------------------
def _build_gmm(args):
    from emkit import GaussianMixture

    require(args, "gmm", "n_components")
    return GaussianMixture(
        **given(
            args,
            n_components="n_components",
            covariance_type="covariance_type",
            max_iter="max_iter",
            tol="tol",
            n_init="n_init",
            random_state="random_state",
            chunk_size="chunk_size",
            init_params="init",
            reg_covar="reg_covar",
            assignment="assignment",
        ),
        verbose=args.verbose,
    )


def mixture_summary(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    # no (n_samples, K) array is formed either
    return fit_criteria(estimator, inputs.X.shape[0], "sample")


def _density_score(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    log_density = estimator.score_samples(inputs.X)
    return [
        ("samples", str(inputs.X.shape[0])),
        ("mean log-likelihood per sample", f"{log_density.mean():.10g}"),
        ("total log-likelihood", f"{log_density.sum():.10g}"),
    ]


def mixture_parameters(estimator, feature_names) -> list:
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
        _build_gmm,
        "Gaussian mixture (init: kmeans, k-means++, random, random_from_data)",
        summary=mixture_summary,
        score=_density_score,
        parameters=mixture_parameters,
        plot=_plot_mixture,
        options=(N_COMPONENTS, COVARIANCE_TYPE, INIT, REG_COVAR, ASSIGNMENT),
    )


# -- k-means ------------------------------------------------------------------------------
def _build_kmeans(args):
    from emkit import KMeans

    require(args, "kmeans", "n_components")
    return KMeans(
        **given(
            args,
            n_clusters="n_components",
            max_iter="max_iter",
            tol="tol",
            n_init="n_init",
            random_state="random_state",
            chunk_size="chunk_size",
            init="init",
        ),
        verbose=args.verbose,
    )


def _kmeans_summary(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    return [
        ("inertia", f"{estimator.inertia_:.6g} (sum of squared distances to the centres)"),
        ("per sample", f"{estimator.inertia_ / inputs.X.shape[0]:.6g}"),
    ]


def _kmeans_score(estimator, inputs: Inputs) -> list[tuple[str, str]]:
    n = inputs.X.shape[0]
    inertia = -estimator.score(inputs.X)
    return [
        ("samples", str(n)),
        ("inertia", f"{inertia:.10g}"),
        ("mean squared distance per sample", f"{inertia / n:.10g}"),
    ]


def _kmeans_parameters(estimator, feature_names) -> list:
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
        _build_kmeans,
        "k-means, --n-components clusters (init: k-means++, random)",
        summary=_kmeans_summary,
        score=_kmeans_score,
        parameters=_kmeans_parameters,
        plot=_plot_mixture,
        options=(N_COMPONENTS, INIT),
        describe=lambda estimator: f"{estimator.n_clusters} clusters",
    )
