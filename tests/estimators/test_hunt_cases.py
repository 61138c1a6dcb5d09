"""Cases from an independent bug hunt (issue 11): warm starts on new data, impossible
count rows, row totals at prediction, huge samples, parameters not learned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit
from emkit.core.monitor import LikelihoodDecreaseWarning


@pytest.fixture
def two_blobs():
    rng = np.random.default_rng(1)
    return np.r_[rng.normal(0, 1, (300, 1)), rng.normal(8, 1, (300, 1))]


# -- 1. a warm start on other data ------------------------------------------------------
def test_warm_refit_on_shifted_data_does_not_warn_of_a_decrease(two_blobs):
    model = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(two_blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        model.fit(two_blobs + 20)
    assert model.converged_


def test_warm_refit_does_not_stop_where_the_old_bound_happens_to_match(two_blobs):
    """New data scaled so that their first bound equals the old fit's bound: the warm
    refit still runs as a fit started from the same parameters with a fresh monitor,
    instead of stopping after one iteration as "converged"."""
    from scipy.optimize import brentq

    model = emkit.GaussianMixture(2, warm_start=True, random_state=0).fit(two_blobs)
    rng = np.random.default_rng(1)
    Z = np.r_[rng.normal(0, 1, (300, 1)), rng.normal(2.5, 0.5, (300, 1))]
    scale = brentq(lambda c: model.score(Z * c) - model.lower_bound_, 0.2, 0.5)
    new = Z * scale
    fresh = emkit.GaussianMixture(
        2,
        weights_init=model.weights_,
        means_init=model.means_,
        precisions_init=model.precisions_,
        random_state=0,
    )
    with warnings.catch_warnings():
        # one component empties on these data (both fits alike)
        warnings.simplefilter("ignore", emkit.EmptyComponentWarning)
        fresh.fit(new)
        model.fit(new)
    assert model.n_iter_ == fresh.n_iter_ > 1
    np.testing.assert_allclose(model.means_, fresh.means_, rtol=1e-12)
