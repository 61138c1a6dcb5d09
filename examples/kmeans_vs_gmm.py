"""k-means and a Gaussian mixture on Old Faithful, side by side.

k-means is the hard-assignment limit of a Gaussian mixture with equal weights and one
shared spherical variance, fixed: it has centres and a partition, but no weights and no
covariances. Its figure shows the centres, the size of each cluster and the Voronoi
cells (the region every centre claims); the mixture's shows the weights, the 1σ / 2σ
ellipses and points coloured by their responsibilities. On the raw minutes k-means'
spherical cells are cut by the waiting time (its spread is ten times the eruption
length's), the mixture's elliptical components follow the data.

Run:  python examples/kmeans_vs_gmm.py [output.png]
"""

from __future__ import annotations

import sys

import numpy as np

import emkit
from emkit.plot import new_figure, plot_mixture_2d, save_figure

NAMES = ("eruption length (min)", "waiting time (min)")


def main(output: str = "docs/images/kmeans_vs_gmm.png") -> None:
    X = emkit.datasets.load_old_faithful().data
    kmeans = emkit.KMeans(2, random_state=0).fit(X)
    mixture = emkit.GaussianMixture(2, random_state=0).fit(X)
    agree = (kmeans.labels_ == mixture.predict(X)).mean()
    sizes = np.bincount(kmeans.labels_).tolist()
    print(f"k-means: inertia {kmeans.inertia_:.1f}, cluster sizes {sizes}")
    print(f"partitions agree on {max(agree, 1 - agree):.1%} of the eruptions")
    figure = new_figure((11.0, 4.6))
    left, right = figure.subplots(1, 2, sharex=True, sharey=True)
    plot_mixture_2d(kmeans, X, ax=left, feature_names=NAMES, title="k-means: centres and cells")
    plot_mixture_2d(
        mixture, X, ax=right, feature_names=NAMES, title="Gaussian mixture: weights and ellipses"
    )
    print("figure:", save_figure(figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:2])
