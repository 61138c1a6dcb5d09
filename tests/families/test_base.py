"""The family contract: every family subclasses Family, and the defaults of its optional
methods are what the models relied on before they were written down."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import emkit.families
from emkit.families import Family, GaussianFamily, GaussianParams, PoissonFamily


def test_every_exported_family_subclasses_the_base_class():
    families = [
        value
        for name, value in vars(emkit.families).items()
        if name.endswith(("Family", "Emission")) and name != "Family"
    ]
    assert len(families) == 7  # six for the mixtures and HMMs, and the Student t
    for cls in families:
        assert issubclass(cls, Family), cls.__name__
        assert cls.param_names, cls.__name__


def test_the_base_class_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        Family()


@dataclass(frozen=True)
class _Params:
    rates: np.ndarray | None


class _Minimal(Family):
    """Only the abstract methods: one exponential rate per component."""

    param_names = ("rates",)

    def make_params(self, rates):
        return _Params(np.asarray(rates, dtype=float))

    def check_data(self, X):
        return np.asarray(X, dtype=float)

    def log_prob(self, params, X):
        return np.log(params.rates) - X @ params.rates[None, :]

    def statistics(self, X, resp, reference):
        return (resp.sum(axis=0), resp.T @ X[:, 0])

    def m_step(self, stats, *, learn, fixed):
        counts, sums = stats
        return _Params(counts / sums) if "rates" in learn else fixed

    def expected_log_prob(self, params, stats):
        counts, sums = stats
        return float(counts @ np.log(params.rates) - sums @ params.rates)

    def log_prior(self, params):
        return 0.0

    def n_free_parameters(self, n_components, n_features):
        return n_components

    def sample(self, params, counts, rng):
        draws = [rng.exponential(1 / r, (n, 1)) for r, n in zip(params.rates, counts, strict=True)]
        return np.concatenate(draws)


def test_defaults_of_the_optional_methods():
    family = _Minimal()
    X = np.array([[1.0], [2.0], [4.0]])
    resp = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    params = family.make_params([1.0, 0.5])
    assert family.prepare(params, X) is X
    assert family.m_step_slack(params, family.statistics(X, resp, params), {"rates"}) == 0.0
    # the start of an HMM: one M-step of every parameter from the initial statistics
    start = family.initial_params(X, resp, np.random.RandomState(0))
    np.testing.assert_array_equal(start.rates, resp.sum(axis=0) / (resp.T @ X[:, 0]))
    np.testing.assert_array_equal(
        family.replace_fields(params, {"rates": [3.0, 4.0]}).rates, [3, 4]
    )
    with pytest.raises(TypeError, match="SQUAREM needs; use accelerate=None"):
        family.pack(params)
    with pytest.raises(TypeError, match="SQUAREM needs"):
        family.unpack(np.zeros(2), params)


def test_given_fields_of_partial_containers():
    gaussian = GaussianFamily("diag")
    means = np.zeros((2, 3))
    assert gaussian.given_fields(None) == {}
    assert gaussian.given_fields(GaussianParams(None, None)) == {}
    assert list(gaussian.given_fields(GaussianParams(means, None))) == ["means"]
    poisson = PoissonFamily()
    rates = np.ones((2, 1))
    assert poisson.given_fields(poisson.make_params(rates))["rates"] is not None


def test_replace_fields_validates_through_make_params():
    family = GaussianFamily("full")
    params = family.make_params(np.zeros((1, 2)), np.eye(2)[None])
    moved = family.replace_fields(params, {"means": np.ones((1, 2))})
    np.testing.assert_array_equal(moved.means, np.ones((1, 2)))
    assert moved.covariances is params.covariances
    np.testing.assert_array_equal(moved.precisions_cholesky, params.precisions_cholesky)
    with pytest.raises(ValueError, match="not positive definite"):
        family.replace_fields(params, {"covariances": -np.eye(2)[None]})
