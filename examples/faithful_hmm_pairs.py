"""A Gaussian HMM of Old Faithful's eruptions in time order, seen in every pair of features.

The 272 eruptions are consecutive, so eruption length and the following waiting time
form a 2-feature sequence. A 2-state full-covariance Gaussian HMM separates short and
long eruptions and learns how they alternate (the transition matrix is printed: short
eruptions are almost always followed by long ones). The pair plot colours every
eruption by its Viterbi state, with each state's mean and 1σ / 2σ ellipses; the
diagonal weights each state's density by its posterior share of the eruptions.

Run:  python examples/faithful_hmm_pairs.py [output.png]
"""

from __future__ import annotations

import sys

import numpy as np

import emkit
from emkit.plot import plot_hmm_pairs, save_figure


def main(output: str = "docs/images/faithful_hmm_pairs.png") -> None:
    X = emkit.datasets.load_old_faithful().data
    model = emkit.GaussianHMM(2, covariance_type="full", n_init=5, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    print(f"log-likelihood {model.log_likelihood_:.2f}, {model.n_iter_} iterations")
    print("state means (short, long):", model.means_[order].round(2).tolist())
    print("transition matrix:\n", model.transmat_[np.ix_(order, order)].round(3))
    axes = plot_hmm_pairs(
        model,
        X,
        feature_names=["eruption length (min)", "waiting time (min)"],
        title="Old Faithful in time order: 2-state Gaussian HMM",
    )
    print("figure:", save_figure(axes[0, 0].figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:2])
