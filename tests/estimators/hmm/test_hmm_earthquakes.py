"""The README example: Poisson HMMs of the yearly counts of major earthquakes, 1900-2006.

Zucchini, MacDonald & Langrock, "Hidden Markov Models for Time Series" (2nd ed.,
2016), section 3.7 report the maximum log-likelihoods -341.8787 (2 states) and
-328.5275 (3 states), with AIC 693.76 / 679.05 and BIC 707.12 / 708.46.
"""

from __future__ import annotations

import numpy as np
import pytest

import emkit

BOOK = {2: (-341.8787, 693.76, 707.12), 3: (-328.5275, 679.05, 708.46)}


@pytest.fixture(scope="module")
def counts():
    return emkit.datasets.load_earthquakes().data[:, 1:2]


@pytest.mark.parametrize("n_states", [2, 3])
def test_poisson_hmm_reaches_the_published_maximum(counts, n_states):
    model = emkit.PoissonHMM(
        n_states, n_init=10, init_params="random", max_iter=1000, tol=1e-10, random_state=0
    ).fit(counts)
    log_lik, aic, bic = BOOK[n_states]
    assert model.log_likelihood_ == pytest.approx(log_lik, abs=1e-3)
    assert model.aic(counts) == pytest.approx(aic, abs=0.01)
    assert model.bic(counts) == pytest.approx(bic, abs=0.01)
    rates = np.sort(model.rates_[:, 0])
    expected = {2: [15.420, 26.017], 3: [13.134, 19.713, 29.714]}[n_states]
    np.testing.assert_allclose(rates, expected, atol=0.01)


def test_decoded_states_figure(counts):
    pytest.importorskip("matplotlib")
    from emkit.plot import plot_decoded_states

    model = emkit.PoissonHMM(2, n_init=3, init_params="random", random_state=0).fit(counts)
    years = emkit.datasets.load_earthquakes().data[:, 0]
    ax = plot_decoded_states(model, counts, time=years, title="earthquakes")
    assert len(ax.collections) == 2  # one scatter per state
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("state") and "level 15.4" in labels[0]
    with pytest.raises(ValueError, match="feature"):
        plot_decoded_states(model, counts, feature=1)
