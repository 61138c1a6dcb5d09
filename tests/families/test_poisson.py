"""Poisson family: log-probabilities, additive statistics, (MAP) M-step, checks, sampling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import stats as scipy_stats

from emkit.core import allclose
from emkit.families import GammaPrior, PoissonFamily, PoissonParams
from emkit.families._counts import EntryError

RATES = np.array([[0.5, 3.0], [7.0, 0.0], [20.0, 11.0]])


def data(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.poisson(4.0, size=(n, 2)).astype(float)
    resp = rng.dirichlet(np.ones(3), size=n)
    return X, resp


def test_log_prob_matches_scipy_including_zero_rates():
    X, _ = data()
    logp = PoissonFamily().log_prob(PoissonParams(RATES), X)
    expected = np.stack(
        [scipy_stats.poisson.logpmf(X, RATES[k]).sum(axis=1) for k in range(3)], axis=1
    )
    np.testing.assert_allclose(logp, expected, rtol=1e-12)
    assert np.isneginf(logp[X[:, 1] > 0, 1]).all() and np.isfinite(logp[X[:, 1] == 0, 1]).all()


def test_statistics_are_additive_and_give_the_weighted_mean():
    X, resp = data()
    family = PoissonFamily()
    ref = PoissonParams(RATES + 1.0)
    whole = family.statistics(X, resp, ref)
    assert allclose(
        whole, family.statistics(X[:70], resp[:70], ref) + family.statistics(X[70:], resp[70:], ref)
    )
    rates = family.m_step(whole).rates
    np.testing.assert_allclose(rates, (resp.T @ X) / resp.sum(axis=0)[:, None], rtol=1e-12)
    # Q from the statistics equals the sum over samples
    q = family.expected_log_prob(PoissonParams(RATES + 1.0), whole)
    assert q == pytest.approx(float(np.sum(resp * family.log_prob(ref, X))), rel=1e-12)


def test_gamma_prior_gives_the_map_estimate():
    X, resp = data(50)
    prior = GammaPrior(np.array([2.0, 9.0]), 5.0)
    family = PoissonFamily(prior)
    stats = family.statistics(X, resp, PoissonParams(RATES))
    rates = family.m_step(stats).rates
    expected = (resp.T @ X + 5.0 * np.array([2.0, 9.0])) / (resp.sum(axis=0)[:, None] + 5.0)
    np.testing.assert_allclose(rates, expected, rtol=1e-12)

    def objective(r):
        params = PoissonParams(r)
        return family.expected_log_prob(params, stats) + family.log_prior(params)

    best = objective(rates)
    for delta in (1e-3, -1e-3):
        assert objective(rates * (1 + delta)) < best
    # the log-prior is log Gamma(1 + n0 λ0, n0) up to a constant
    shift = family.log_prior(PoissonParams(rates)) - family.log_prior(PoissonParams(rates * 2))
    dens = scipy_stats.gamma(1 + 5.0 * np.array([2.0, 9.0]), scale=1 / 5.0)
    np.testing.assert_allclose(
        shift, (dens.logpdf(rates) - dens.logpdf(rates * 2)).sum(), rtol=1e-10
    )


def test_empty_component_keeps_its_rates_and_initial_rates_are_not_zero():
    X, resp = data()
    resp[:, 1] = 0.0
    family = PoissonFamily()
    rates = family.m_step(family.statistics(X, resp, PoissonParams(RATES))).rates
    np.testing.assert_allclose(rates[1], RATES[1])
    hard = np.eye(3)[np.where(X[:, 0] == 0, 0, 1 + (X[:, 0] > 4))]
    initial = family.m_step(family.statistics(X, hard, None)).rates
    assert np.all(initial > 0)  # cluster 0 has only zeros in feature 0, smoothed to > 0


@pytest.mark.parametrize(
    "X, message",
    [
        ([[1.0], [-1.0]], r"Negative values in data: Poisson counts must be >= 0, but X\[1, 0\]"),
        ([[1.0], [0.5]], r"Poisson counts must be integers, but X\[1, 0\] = 0.5"),
        ([[1.0], [np.nan]], "NaN"),
    ],
)
def test_check_data_rejects_what_is_not_counts(X, message):
    with pytest.raises(ValueError, match=message):
        PoissonFamily().check_data(np.asarray(X))


def test_entry_error_survives_pickling():
    # raised on a Dask worker in another process, it travels back to the client pickled
    with pytest.raises(EntryError) as raised:
        PoissonFamily().check_data(np.array([[1.0, 2.0], [3.0, -1.0]]))
    error = pickle.loads(pickle.dumps(raised.value.in_rows_from(10)))
    assert isinstance(error, EntryError) and error.index == (11, 1)
    assert str(error) == "Negative values in data: Poisson counts must be >= 0, but X[11, 1] = -1.0"


def test_sample_has_the_right_means_and_order():
    rng = np.random.RandomState(1)
    X = PoissonFamily().sample(PoissonParams(RATES), np.array([4000, 0, 3000]), rng)
    assert X.shape == (7000, 2)
    np.testing.assert_allclose(X[:4000].mean(axis=0), RATES[0], rtol=0.05)
    np.testing.assert_allclose(X[4000:].mean(axis=0), RATES[2], rtol=0.03)
    assert PoissonFamily().n_free_parameters(3, 2) == 6
