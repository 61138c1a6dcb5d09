"""Count and categorical families at the extremes of their statistics (issue 11).

The M-step of every count family must give valid parameters (probability rows that
sum to one, probabilities in [0, 1], finite non-negative rates) and must not lower
the expected log-likelihood, whatever the statistics: no mass at all (all-zero
multinomial rows), a component with no mass, total weights from 1e-300 to 1e300, and
outcomes seen only with weights 1e300 times smaller than the others.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emkit.families import (
    BernoulliFamily,
    BetaPrior,
    CategoricalFamily,
    DirichletPrior,
    GammaPrior,
    MultinomialFamily,
    PoissonFamily,
)
from emkit.families._counts import INIT_VAGUE, RowTotalError, check_row_totals, smoothed_ratio

FAMILIES = {
    "poisson": lambda: PoissonFamily(),
    "poisson MAP": lambda: PoissonFamily(GammaPrior(np.array([2.0, 1.0, 0.5]), 1.0)),
    "multinomial": lambda: MultinomialFamily(),
    "multinomial MAP": lambda: MultinomialFamily(prior=DirichletPrior(0.5)),
    "categorical": lambda: CategoricalFamily(4),
    "categorical MAP": lambda: CategoricalFamily(4, DirichletPrior(1.0)),
    "bernoulli": lambda: BernoulliFamily(),
    "bernoulli MAP": lambda: BernoulliFamily(BetaPrior(1.0, 1.0)),
}


def _data(name, rng, n):
    counts = rng.poisson(1.5, (n, 3)).astype(float)
    if name.startswith("bernoulli"):
        return (counts > 1).astype(float)
    if name.startswith("categorical"):
        return np.minimum(counts, 3)
    return counts


def _params(family, name, rng, K):
    """Valid parameters of K components (a reference for the M-step)."""
    if name.startswith("poisson"):
        return family.make_params(rng.uniform(0.5, 3.0, (K, 3)))
    if name.startswith("bernoulli"):
        return family.make_params(rng.uniform(0.1, 0.9, (K, 3)))
    shape = (K, 3, 4) if name.startswith("categorical") else (K, 3)
    return family.make_params(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))


def _check_valid(family, name, params):
    (values,) = (getattr(params, p) for p in family.param_names)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    if name.startswith("bernoulli"):
        assert np.all(values <= 1)
    elif not name.startswith("poisson"):
        np.testing.assert_allclose(values.sum(axis=-1), 1.0, atol=1e-12)
    family.make_params(values)  # the family's own check


def _objective(family, params, stats):
    return family.expected_log_prob(params, stats) + family.log_prior(params)


@settings(max_examples=60)
@given(
    name=st.sampled_from(sorted(FAMILIES)),
    seed=st.integers(0, 2**16),
    log_scale=st.sampled_from([-300.0, -150.0, -20.0, 0.0, 20.0, 150.0, 290.0]),
    mixed=st.booleans(),
    empty=st.booleans(),
    zero_rows=st.booleans(),
)
def test_m_step_is_valid_and_does_not_lower_the_objective(
    name, seed, log_scale, mixed, empty, zero_rows
):
    rng = np.random.default_rng(seed)
    family, K, n = FAMILIES[name](), 3, 20
    X = _data(name, rng, n)
    if zero_rows and not name.startswith("bernoulli"):
        X[: n // 2] = 0.0
    weights = np.full(n, 10.0**log_scale)
    if mixed:  # every other row 1e300 times lighter than the rest
        weights[::2] *= 1e-300 if log_scale > 0 else 1.0
        weights[1::2] *= 1.0 if log_scale > 0 else 1e300
    resp = rng.dirichlet(np.ones(K), size=n)
    if empty:
        resp[:, 0] = 0.0
        resp /= resp.sum(axis=1, keepdims=True)
    reference = _params(family, name, rng, K)
    stats = family.statistics(X, resp * weights[:, None], reference)
    new = family.m_step(stats)
    _check_valid(family, name, new)
    before, after = _objective(family, reference, stats), _objective(family, new, stats)
    assert after >= before - 1e-12 * max(1.0, abs(before)), (before, after)
    if empty and not name.endswith("MAP"):  # no mass and no prior: parameters stay
        (new_values, ref_values) = (getattr(p, family.param_names[0]) for p in (new, reference))
        np.testing.assert_allclose(new_values[0], ref_values[0], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("weight", [0.0, 1e-300, 1.0, 1e300])
def test_initial_statistics_give_valid_parameters(name, weight):
    # reference=None: statistics from an initialisation (k-means), smoothed to the
    # pooled estimate; with no mass at all the pooled estimate is the vague value
    rng = np.random.default_rng(1)
    family = FAMILIES[name]()
    X = _data(name, rng, 10)
    resp = np.eye(2)[rng.integers(0, 2, 10)] * weight
    _check_valid(family, name, family.m_step(family.statistics(X, resp, None)))


def test_multinomial_all_zero_rows_give_uniform_rows():
    family = MultinomialFamily()
    stats = family.statistics(np.zeros((4, 5)), np.full((4, 2), 0.5), None)
    np.testing.assert_allclose(family.m_step(stats).emissionprob, 0.2)


def test_tiny_weights_give_the_unit_weight_estimate():
    # before: statistics of total weight 1e-300 drowned in the absolute floor
    rng = np.random.default_rng(2)
    X, resp = rng.poisson(2.0, (30, 4)).astype(float), rng.dirichlet(np.ones(2), size=30)
    references = (rng.dirichlet(np.ones(4), size=2), rng.uniform(0.5, 3.0, (2, 4)))
    for family, values in zip((MultinomialFamily(), PoissonFamily()), references, strict=True):
        ref = family.make_params(values)
        (unit, tiny) = (
            getattr(family.m_step(family.statistics(X, resp * w, ref)), family.param_names[0])
            for w in (1.0, 1e-300)
        )
        np.testing.assert_allclose(tiny, unit, rtol=1e-12)


def test_outcome_seen_only_with_tiny_weight_stays_possible():
    # its ratio, 1e-600, is below float64's range: at 0 the row would be impossible
    family = CategoricalFamily(3)
    X = np.array([[0.0], [1.0], [2.0]])
    resp = np.array([[1.0], [1.0], [1.0]]) * np.array([[1e300], [1e300], [1e-300]])
    ref = family.make_params(np.full((1, 1, 3), 1 / 3))
    new = family.m_step(family.statistics(X, resp, ref))
    assert new.emissionprob[0, 0, 2] > 0
    assert np.all(np.isfinite(family.log_prob(new, X)))


def test_smoothed_ratio_with_no_mass_is_the_reference_or_the_vague_value():
    reference = np.array([[0.2, 0.8], [0.6, 0.4]])
    zeros = np.zeros((2, 2))
    np.testing.assert_array_equal(smoothed_ratio(zeros, zeros, reference), reference)
    np.testing.assert_allclose(smoothed_ratio(zeros, zeros, None, vague=0.5), 0.5)
    assert INIT_VAGUE < 1  # the vague value is blended in, not the whole estimate


def test_row_totals_error_names_row_total_and_remedy():
    X = np.array([[1, 2], [3, 0], [2, 2]])
    check_row_totals(X[:2], 3)
    with pytest.raises(RowTotalError, match=r"row 2 of X sums to 4, but n_trials=3") as caught:
        check_row_totals(X, 3)
    assert "n_trials=None" in str(caught.value)
    shifted = caught.value.in_rows_from(10)
    assert isinstance(shifted, RowTotalError) and "row 12 of X" in str(shifted)


def test_zero_seen_only_with_tiny_weight_stays_possible():
    # sum_w - sum_x loses a zero of weight 1e-300 next to ones of weight 1e300
    family = BernoulliFamily()
    X = np.array([[1.0], [1.0], [0.0]])
    resp = np.array([[1e300], [1e300], [1e-300]])
    ref = family.make_params(np.array([[0.5]]))
    new = family.m_step(family.statistics(X, resp, ref))
    assert new.emissionprob[0, 0] < 1
    assert np.all(np.isfinite(family.log_prob(new, X)))
