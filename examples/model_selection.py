"""Model selection on Old Faithful: BIC and ICL for K = 1..9 and the four covariance types.

Every cell of the grid (9 numbers of components x 4 covariance types) is a Gaussian
mixture fitted by EM, best of 10 k-means starts, on threads. BIC picks three components
with a shared ("tied") covariance, as R's ``Mclust(faithful)`` does (its model EEE,
BIC -2314.3 in mclust's sign); ICL, which also charges for overlapping clusters, picks
two full-covariance components (mclust's ``mclustICL``: VVV, 2). emkit's criteria are
lower-is-better, mclust's are their negatives.

``reg_covar=0`` as in mclust: the waiting times are whole minutes, and with diagonal
covariances a component can shrink onto one value (14 eruptions of exactly 83 minutes
at K=5); with the default ``reg_covar=1e-6`` that spurious maximum of the likelihood
would reach the best BIC, without it the fit fails with a ComponentCollapseError, and
the selection records the failure and carries on (a gap in the line).

Run:  python examples/model_selection.py [output.png]
"""

from __future__ import annotations

import sys
import time

import emkit
from emkit.plot import new_figure, plot_model_selection, save_figure


def main(output="docs/images/model_selection.png"):
    X = emkit.datasets.load_old_faithful().data
    start = time.perf_counter()
    selection = emkit.select_model(
        X,
        n_components=range(1, 10),
        estimator=emkit.GaussianMixture(n_init=10, tol=1e-6, max_iter=1000, reg_covar=0.0),
        random_state=0,
    )
    print(f"{len(selection.cells)} fits in {time.perf_counter() - start:.1f} s")
    print(selection)
    by_icl = selection.rank_by("icl")  # the same fits, ranked by ICL
    print("best by ICL:", by_icl.best_params_, f"ICL {by_icl.best_score_:.4f}")
    for cell in selection.failed_:
        print("failed:", cell.params, cell.error.split(":")[0])
    figure = new_figure(figsize=(11.0, 4.5))
    left, right = figure.subplots(1, 2)
    plot_model_selection(selection, ax=left, title="BIC: Old Faithful, 10 starts per fit")
    plot_model_selection(by_icl, ax=right, title="ICL (BIC + 2 x entropy) of the same fits")
    for ax in (left, right):
        ax.set_ylim(2290, 2700)  # spherical (BIC 2888 and up) is off the chart
    print("figure:", save_figure(figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:])
