"""Poisson hidden Markov models of the yearly counts of major earthquakes, 1900-2006.

The classic example of Zucchini, MacDonald & Langrock, "Hidden Markov Models for Time
Series" (2nd ed., 2016): fit 2- and 3-state Poisson HMMs by EM with restarts, print
the maximum log-likelihoods and information criteria, and draw the counts coloured by
their Viterbi state with the decoded rate.

Run:  python examples/earthquakes_hmm.py [output.png]
"""

from __future__ import annotations

import sys

import numpy as np

import emkit
from emkit.plot import new_figure, save_figure
from emkit.plot.hmm import plot_decoded_states


def fit_earthquakes(n_states: int, n_init: int = 10, random_state: int = 0) -> emkit.PoissonHMM:
    """The maximum likelihood n-state Poisson HMM of the earthquake counts (best of restarts)."""
    counts = emkit.datasets.load_earthquakes().data[:, 1:2]
    return emkit.PoissonHMM(
        n_states,
        n_init=n_init,
        init_params="random",
        max_iter=1000,
        tol=1e-10,
        random_state=random_state,
    ).fit(counts)


def main(output="docs/images/earthquakes_hmm.png"):
    data = emkit.datasets.load_earthquakes().data
    years, counts = data[:, 0], data[:, 1:2]
    figure = new_figure(figsize=(9.0, 6.5))
    axes = figure.subplots(2, 1, sharex=True)
    for ax, n_states in zip(axes, (2, 3), strict=True):
        model = fit_earthquakes(n_states)
        order = np.argsort(model.rates_[:, 0])
        print(
            f"{n_states} states: log-likelihood {model.log_likelihood_:.4f}, "
            f"AIC {model.aic(counts):.2f}, BIC {model.bic(counts):.2f}"
        )
        print("  rates     ", np.round(model.rates_[order, 0], 3))
        print("  transmat\n", np.round(model.transmat_[np.ix_(order, order)], 3))
        plot_decoded_states(
            model,
            counts,
            time=years,
            ax=ax,
            xlabel="year" if ax is axes[-1] else "",  # the panels share the year axis
            ylabel="earthquakes (M ≥ 7)",
            title=f"{n_states}-state Poisson HMM, log-likelihood {model.log_likelihood_:.2f}",
        )
    print("figure:", save_figure(figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:])
