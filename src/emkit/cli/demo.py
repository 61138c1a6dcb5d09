"""``emkit demo``: fit Old Faithful from a poor start; write figures and an animation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emkit.cli.common import CLIError, verbosity
from emkit.cli.data import Table
from emkit.cli.kind import Inputs
from emkit.cli.mixture import mixture_summary, mixture_tables
from emkit.cli.outputs import add_force, atomic_output, plan_output
from emkit.cli.report import Entry, console, print_report

__all__ = ["add_arguments", "run"]

#: A deliberately poor start for the demo: both means near the centre of the data,
#: broad covariances, so that the animation shows the components travel and split.
DEMO_MEANS = ((3.3, 70.0), (3.6, 72.0))
DEMO_VARIANCES = (1.0, 150.0)


def add_arguments(parser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="DIR", default="demo-output", help="folder for the figures"
    )
    add_force(parser, "the figures already in DIR (clusters.png, loglik.png, em.gif)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
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
    gif, clusters, loglik = (
        plan_output(out / name, "figure", "--output", inputs=[], force=args.force)
        for name in ("em.gif", "clusters.png", "loglik.png")
    )
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
        verbose=verbosity(args),
    )
    with atomic_output(gif) as path:
        animate_em(estimator, X, path, feature_names=names, title="Old Faithful")

    ax = plot_mixture_2d(
        estimator, X, feature_names=names, title="Old Faithful: 2-component Gaussian mixture"
    )
    with atomic_output(clusters) as path:
        save_figure(ax.figure, path)

    figure = new_figure((13.5, 4.0))
    left, middle, right = figure.subplots(1, 3)
    plot_convergence(estimator, left)
    plot_em_decomposition(estimator, middle)
    plot_trace(estimator, ["entropy"], right, title="entropy of the posterior q(z)")
    with atomic_output(loglik) as path:
        save_figure(figure, path)

    # the poor start is for the animation only: the usual k-means start finds the same fit
    reference = GaussianMixture(2, tol=1e-6, random_state=0).fit(X)
    out_console = console()
    out_console.print(
        f"[bold]Old Faithful[/bold]: {X.shape[0]} eruptions x {X.shape[1]} features "
        f"({', '.join(dataset.columns)})"
    )
    out_console.print("Gaussian mixture, 2 components, full covariances, fitted by EM from a")
    out_console.print("deliberately poor start (both means near the centre of the data).")
    for table in mixture_tables(estimator, list(dataset.columns)):
        out_console.print(table)
    status = "converged" if estimator.converged_ else "did not converge"
    print_report(
        [
            Entry("EM", f"{status} in {estimator.n_iter_} iterations (tol 1e-6 per sample)"),
            *mixture_summary(estimator, Inputs(Table(X, dataset.columns, "old_faithful"))),
            Entry(
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
        print(f"  {path.path}  ({what})")
    return 0
