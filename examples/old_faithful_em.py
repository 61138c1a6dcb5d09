"""EM on Old Faithful from a deliberately poor start: the three figures of ``emkit demo``.

A two-component, full-covariance Gaussian mixture is fitted to the 272 eruptions
(eruption length and waiting time, minutes), starting with both means near the centre
of the data and broad covariances, so that the animation shows the components travel
apart. Writes, into the output folder:

* ``em.gif``: every EM iteration, responsibilities, means, 1σ / 2σ ellipses and the
  log-likelihood so far (:func:`emkit.plot.animate_em`);
* ``clusters.png``: the fitted mixture (:func:`emkit.plot.plot_mixture_2d`);
* ``loglik.png``: the log-likelihood and lower bound per iteration, the split of every
  iteration's gain into the M-step's gain and the KL gap, and the entropy of the
  posterior (:func:`plot_convergence`, :func:`plot_em_decomposition`, :func:`plot_trace`).

Run:  python examples/old_faithful_em.py [output-folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import emkit
from emkit.plot import (
    animate_em,
    new_figure,
    plot_convergence,
    plot_em_decomposition,
    plot_mixture_2d,
    plot_trace,
    save_figure,
)

NAMES = ("eruption length (min)", "waiting time (min)")


def poorly_started_mixture() -> emkit.GaussianMixture:
    """Both means near the centre of the data, variances (1, 150) min²: a long way to go."""
    return emkit.GaussianMixture(
        2,
        covariance_type="full",
        weights_init=[0.5, 0.5],
        means_init=np.array([[3.3, 70.0], [3.6, 72.0]]),
        precisions_init=np.array([np.diag([1.0, 1.0 / 150.0])] * 2),
        tol=1e-6,
        max_iter=200,
    )


def main(output: str = "docs/images") -> None:
    out = Path(output)
    X = emkit.datasets.load_old_faithful().data
    model = poorly_started_mixture()
    animate_em(model, X, out / "em.gif", feature_names=NAMES, title="Old Faithful")
    print(
        f"{model.n_iter_} iterations, converged {model.converged_}, "
        f"log-likelihood {model.log_likelihood_:.2f}, BIC {model.bic(X):.2f}"
    )
    print("weights", model.weights_.round(3), "means", model.means_.round(3).tolist())

    ax = plot_mixture_2d(
        model, X, feature_names=NAMES, title="Old Faithful: 2-component Gaussian mixture"
    )
    save_figure(ax.figure, out / "clusters.png")

    figure = new_figure((13.5, 4.0))
    left, middle, right = figure.subplots(1, 3)
    plot_convergence(model, left)
    plot_em_decomposition(model, middle)
    plot_trace(model, ["entropy"], right, title="entropy of the posterior q(z)")
    save_figure(figure, out / "loglik.png")
    print("figures:", ", ".join(str(out / n) for n in ("em.gif", "clusters.png", "loglik.png")))


if __name__ == "__main__":
    main(*sys.argv[1:2])
