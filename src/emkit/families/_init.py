"""Initial responsibilities, with scikit-learn's random-number usage.

They start the mixtures (:class:`emkit.models.Mixture`), the hidden Markov models'
emissions (:class:`emkit.models.HMM`) and the split of every state into its Gaussians
(:class:`emkit.families.GaussianMixtureEmission`), so they live in the families layer,
below every model. The same ``RandomState`` is consumed in the same order as
scikit-learn's GaussianMixture, so that a given ``random_state`` starts both from the
same point.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def initial_responsibilities(X, n_components, method, rng, sample_weight=None):
    """Responsibilities to start EM from.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    method : {"kmeans", "k-means++", "random", "random_from_data"}
        "kmeans": a k-means partition (one-hot rows); "k-means++": one seed point per
        component, chosen by k-means++; "random": uniform random soft assignments;
        "random_from_data": one random data point per component.
    rng : numpy.random.RandomState
    sample_weight : ndarray of shape (n_samples,), optional
        Weights of the rows for the k-means methods.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        Rows are zero for the points that seed no component ("k-means++",
        "random_from_data").
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
