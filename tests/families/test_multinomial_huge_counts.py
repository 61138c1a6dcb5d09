"""Multinomial log-probabilities of rows with huge totals are exact to rounding.

A row of 1e9 counts has ``x . log(theta)`` and its log multinomial coefficient of
about 3e9 each, cancelling to about -30: summed plainly, their rounding (1e-6) and
the excess of a float64 probability vector over 1 (N eps) looked like decreases of
the EM objective of 1e-8 relative, where the exact change was +1e-15.
"""

import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest

import emkit
from emkit.families.multinomial import _EXACT_TRIALS, MultinomialFamily, _log_coefficients


def _counts_with_a_huge_row(n, d, seed):
    """Poisson rows at mixed rates, one of them replaced by counts of 1e9."""
    rng = np.random.RandomState(seed)
    X = rng.poisson(rng.choice([0.5, 3.0, 20.0], size=(n, 1)), size=(n, d)).astype(float)
    X[rng.randint(n)] = 1e9
    return X


def _exact_parameter_term(X, theta):
    """sum_id x_id log(theta_d / sum theta), in 60 digits (the rest does not depend on theta)."""
    getcontext().prec = 60
    norm = sum(Decimal(float(t)) for t in theta).ln()
    return sum(
        Decimal(float(x)) * (Decimal(float(t)).ln() - norm)
        for row in X
        for x, t in zip(row, theta, strict=True)
        if x > 0
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda X, w: emkit.MultinomialMixture(1, max_iter=30, random_state=0).fit(
            X, sample_weight=w
        ),
        lambda X, w: emkit.MultinomialHMM(1, max_iter=30, random_state=0).fit(X),
    ],
    ids=["mixture", "hmm"],
)
@pytest.mark.parametrize("n, d, seed", [(7, 3, 6), (11, 4, 817)])
def test_huge_counts_never_decrease_the_objective(make, n, d, seed):
    X = _counts_with_a_huge_row(n, d, seed)
    rng = np.random.RandomState(seed + 1)
    w = rng.uniform(0.5, 2.0, n)
    w[rng.rand(n) < 0.4] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", emkit.LikelihoodDecreaseWarning)
        make(X, w)


def test_log_prob_of_a_huge_row_follows_the_exact_change():
    """Between two nearby parameter vectors, log_prob changes as 60-digit arithmetic says."""
    X = _counts_with_a_huge_row(11, 4, 817)
    family = MultinomialFamily()
    mle = X.sum(axis=0) / X.sum()
    rng = np.random.RandomState(0)
    for _ in range(5):  # a few ulps away: changes far below the plain sum's rounding
        nearby = mle * (1 + 1e-15 * rng.uniform(-1, 1, 4))
        logs = [family.log_prob(family.make_params(p[None]), X).sum() for p in (mle, nearby)]
        exact = float(_exact_parameter_term(X, nearby) - _exact_parameter_term(X, mle))
        assert abs((logs[1] - logs[0]) - exact) < 1e-9


def test_exact_path_agrees_with_the_plain_one_at_the_threshold():
    rng = np.random.RandomState(0)
    probs = rng.dirichlet(np.ones(5), size=3)
    X = rng.multinomial(int(_EXACT_TRIALS) + 1, [0.1, 0.2, 0.3, 0.4, 0.0], size=4).astype(float)
    family = MultinomialFamily()
    plain = X @ np.log(probs).T + _log_coefficients(X)[:, None]
    np.testing.assert_allclose(family.log_prob(family.make_params(probs), X), plain, rtol=1e-10)


def test_exact_path_keeps_impossible_rows_impossible():
    X = np.array([[1e9, 1.0, 0.0]])
    probs = np.array([[0.5, 0.0, 0.5], [0.4, 0.3, 0.3]])
    out = MultinomialFamily().log_prob(MultinomialFamily().make_params(probs), X)
    assert out[0, 0] == -np.inf and np.isfinite(out[0, 1])
