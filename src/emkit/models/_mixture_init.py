"""Initial responsibilities for mixtures, with scikit-learn's random-number usage.

The same ``RandomState`` consumed in the same order as scikit-learn's
GaussianMixture, so that a given ``random_state`` starts both from the same point.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def initial_responsibilities(X, n_components, method, rng, sample_weight=None):
    """Responsibilities of shape (n_samples, n_components) to start EM from.

    method : "kmeans" (a k-means partition), "k-means++" (one seed point per
        component, chosen by k-means++), "random" (uniform random soft
        assignments) or "random_from_data" (one random data point per component).
    """
    n = X.shape[0]
    if method == "kmeans":
        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=rng)
            .fit(X, sample_weight=sample_weight)
            .labels_
        )
        resp = np.zeros((n, n_components))
        resp[np.arange(n), labels] = 1.0
    elif method == "random":
        resp = rng.uniform(size=(n, n_components))
        resp /= resp.sum(axis=1)[:, np.newaxis]
    elif method == "random_from_data":
        resp = np.zeros((n, n_components))
        indices = rng.choice(n, size=n_components, replace=False)
        resp[indices, np.arange(n_components)] = 1.0
    elif method == "k-means++":
        resp = np.zeros((n, n_components))
        _, indices = kmeans_plusplus(X, n_components, random_state=rng, sample_weight=sample_weight)
        resp[indices, np.arange(n_components)] = 1.0
    else:
        raise ValueError(f"init must be one of {INIT_METHODS}, got {method!r}")
    return resp
