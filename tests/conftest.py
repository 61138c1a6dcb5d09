"""Shared test configuration and data fixtures.

Test directories are not packages, so test module basenames must be unique across
``tests/`` (pytest's default import mode). Shared helpers live here as fixtures.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Property tests: reproducible (derandomized) and without per-example deadlines, which
# are meaningless on a shared 2-core machine; each test sets its own max_examples.
settings.register_profile(
    "emkit",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("emkit")


def make_blobs(seed: int, n_per: int = 40, n_features: int = 2, n_clusters: int = 3):
    """Well-separated Gaussian clusters with random scales and anisotropy.

    Returns X of shape (n_per * n_clusters, n_features), rows grouped by cluster.
    """
    rng = np.random.RandomState(seed)
    blocks = []
    for k in range(n_clusters):
        centre = 6.0 * rng.standard_normal(n_features) + 4.0 * k
        mixing = rng.uniform(0.4, 1.6, size=(n_features, n_features))
        blocks.append(centre + rng.standard_normal((n_per, n_features)) @ mixing)
    return np.vstack(blocks)


@pytest.fixture(scope="session")
def blobs():
    """The ``make_blobs`` factory, for tests that need several data sets."""
    return make_blobs


@pytest.fixture(scope="session")
def X3():
    """150 x 3 data from three clusters (seed 0)."""
    return make_blobs(0, n_per=50, n_features=3)


def precisions_for(covariance_type: str, n_components: int, n_features: int):
    """Distinct, well-conditioned precisions in the covariance type's shape."""
    rng = np.random.RandomState(1234)
    if covariance_type == "full":
        out = []
        for _ in range(n_components):
            A = rng.standard_normal((n_features, n_features))
            out.append(A @ A.T + n_features * np.eye(n_features))
        return np.array(out) / n_features
    if covariance_type == "tied":
        A = rng.standard_normal((n_features, n_features))
        return (A @ A.T + n_features * np.eye(n_features)) / n_features
    if covariance_type == "diag":
        return rng.uniform(0.3, 2.0, size=(n_components, n_features))
    return rng.uniform(0.3, 2.0, size=n_components)


@pytest.fixture(scope="session")
def initial_values():
    """``initial_values(X, covariance_type, n_components)`` -> dict of *_init arguments.

    Means are spread data points (rows n * k / K, nudged), weights uneven, precisions
    from ``precisions_for``: a user initialisation shared by emkit and scikit-learn.
    """

    def make(X, covariance_type, n_components):
        n = X.shape[0]
        rows = [(n * k) // n_components + 1 for k in range(n_components)]
        weights = np.arange(1.0, n_components + 1.0)
        return dict(
            weights_init=weights / weights.sum(),
            means_init=X[rows] + 0.25,
            precisions_init=precisions_for(covariance_type, n_components, X.shape[1]),
        )

    return make
