"""The Gaussian family: densities, shifted-moment statistics, M-steps, priors, collapse.

Every quantity is checked against an independent computation (SciPy densities, NumPy's
weighted covariance, brute-force sums over samples, numerical optimisation).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize, stats

from emkit.containers import replace
from emkit.core import allclose
from emkit.families import ComponentCollapseError, GaussianFamily, GaussianParams, GaussianPrior
from emkit.families._covariance import COVARIANCE_TYPES

TYPES = list(COVARIANCE_TYPES)
K, D = 3, 2


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, D)) @ np.array([[1.0, 0.4], [0.0, 0.7]]) + [50.0, -20.0]
    resp = rng.dirichlet(np.ones(K), size=40)
    return X, resp


def random_params(covariance_type, seed=1, offset=(50.0, -20.0)):
    """Valid parameters of every type (means near the data)."""
    rng = np.random.RandomState(seed)
    means = np.asarray(offset) + rng.standard_normal((K, D))
    A = rng.standard_normal((K, D, D))
    full = A @ np.transpose(A, (0, 2, 1)) + np.eye(D)
    cov = {
        "full": full,
        "tied": full[0],
        "diag": rng.uniform(0.5, 2.0, (K, D)),
        "spherical": rng.uniform(0.5, 2.0, K),
    }[covariance_type]
    return GaussianFamily(covariance_type).make_params(means, cov)


def component_cov(family, params, k):
    return family.component_covariance(params, k)


# -- densities ------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_log_prob_matches_scipy(data, covariance_type):
    X, _ = data
    family = GaussianFamily(covariance_type)
    params = random_params(covariance_type)
    expected = np.column_stack(
        [
            stats.multivariate_normal(params.means[k], component_cov(family, params, k)).logpdf(X)
            for k in range(K)
        ]
    )
    np.testing.assert_allclose(family.log_prob(params, X), expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_precisions_are_inverse_covariances(covariance_type):
    family = GaussianFamily(covariance_type)
    params = random_params(covariance_type)
    precisions = family.precisions(params)
    for k in range(K):
        cov = component_cov(family, params, k)
        prec = {
            "full": lambda p, k=k: p[k],
            "tied": lambda p, k=k: p,
            "diag": lambda p, k=k: np.diag(p[k]),
            "spherical": lambda p, k=k: p[k] * np.eye(D),
        }[covariance_type](precisions)
        np.testing.assert_allclose(prec @ cov, np.eye(D), atol=1e-12)


# -- statistics -----------------------------------------------------------------------
def reference_moments(X, resp, covariance_type):
    """Raw weighted moments straight from the samples: counts, means, scatter."""
    counts = resp.sum(axis=0)
    means = (resp.T @ X) / counts[:, None]
    scatter = np.array([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(K)])
    return counts, means, scatter


@pytest.mark.parametrize("covariance_type", TYPES)
def test_statistics_of_a_data_set_are_the_sum_over_chunks(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    reference = random_params(covariance_type)
    whole = family.statistics(X, resp, reference)
    cuts = [0, 3, 4, 21, 40]  # unequal chunks, one of a single row
    parts = [family.statistics(X[a:b], resp[a:b], reference) for a, b in itertools.pairwise(cuts)]
    assert allclose(sum(parts), whole, rtol=1e-12, atol=1e-10)
    assert allclose(parts[0] + parts[1], family.statistics(X[:4], resp[:4], reference))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunks_with_different_shifts_add_exactly(data, covariance_type):
    """Statistics computed about different shifts (different E-step parameters, or the
    data-driven shift at initialisation) are re-centred when added."""
    X, resp = data
    family = GaussianFamily(covariance_type)
    a = family.statistics(X[:15], resp[:15], random_params(covariance_type, seed=2))
    b = family.statistics(X[15:], resp[15:], random_params(covariance_type, seed=3))
    c = family.statistics(X[15:], resp[15:], None)
    assert not np.array_equal(a.shift, b.shift)
    whole = family.statistics(X, resp, random_params(covariance_type, seed=2))
    assert allclose(a + b, whole, rtol=1e-12, atol=1e-10)
    assert allclose(a + c, whole, rtol=1e-12, atol=1e-10)
    # b + a is expressed about b's shift; re-centred it is the same statistics
    assert allclose((b + a).recentred(whole.shift), moments(whole), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_recentred_equals_statistics_computed_about_the_new_shift(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    p, q = random_params(covariance_type, seed=4), random_params(covariance_type, seed=5)
    about_p = family.statistics(X, resp, p)
    about_q = family.statistics(X, resp, q)
    assert allclose(about_p.recentred(q.means), moments(about_q), rtol=1e-11, atol=1e-9)
    assert allclose(about_p.recentred(q.means).recentred(p.means), moments(about_p), atol=1e-9)
    assert about_p.recentred(p.means.copy()) is about_p


@pytest.mark.parametrize("covariance_type", TYPES)
def test_statistics_scale_linearly(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    reference = random_params(covariance_type)
    s = family.statistics(X, resp, reference)
    assert allclose(2.5 * s, family.statistics(X, 2.5 * resp, reference), rtol=1e-13)
    assert allclose(s * 2.0, s + s, rtol=0)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_empty_statistics_are_the_zero_element(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    s = family.statistics(X, resp, random_params(covariance_type))
    zero = family.statistics(np.zeros((0, D)), np.zeros((0, K)), None)  # an empty block
    assert np.all(zero.sum_w == 0)
    # adding nothing changes nothing, not even the shift the moments are taken about
    assert zero + s == s
    assert s + zero == s


@pytest.mark.parametrize("covariance_type", TYPES)
def test_statistics_are_the_shifted_weighted_moments(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    reference = random_params(covariance_type)
    s = family.statistics(X, resp, reference)
    counts, means, scatter = reference_moments(X, resp, covariance_type)
    np.testing.assert_allclose(s.sum_w, counts, rtol=1e-13)
    np.testing.assert_allclose(s.shift + s.sum_dx / s.sum_w[:, None], means, rtol=1e-12)
    about_means = s.recentred(means).sum_dxx
    expected = {
        "full": scatter,
        "tied": scatter.sum(axis=0),
        "diag": np.diagonal(scatter, axis1=1, axis2=2),
        "spherical": np.trace(scatter, axis1=1, axis2=2),
    }[covariance_type]
    np.testing.assert_allclose(about_means, expected, rtol=1e-10, atol=1e-10)


# -- M-step ---------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_m_step_matches_numpy_weighted_covariances(data, covariance_type):
    X, resp = data
    reg = 1e-3
    family = GaussianFamily(covariance_type, reg_covar=reg)
    params = family.m_step(family.statistics(X, resp, random_params(covariance_type)))
    counts = resp.sum(axis=0)
    means = (resp.T @ X) / counts[:, None]
    covs = np.array([np.cov(X.T, aweights=resp[:, k], bias=True) for k in range(K)])
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    expected = {
        "full": covs + reg * np.eye(D),
        "tied": np.einsum("k,kij->ij", counts, covs) / counts.sum() + reg * np.eye(D),
        "diag": np.diagonal(covs, axis1=1, axis2=2) + reg,
        "spherical": np.trace(covs, axis1=1, axis2=2) / D + reg,
    }[covariance_type]
    np.testing.assert_allclose(params.covariances, expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_m_step_keeps_fixed_fields(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    fixed = random_params(covariance_type, seed=7)
    s = family.statistics(X, resp, None)
    only_means = family.m_step(s, learn=frozenset({"means"}), fixed=fixed)
    assert only_means.covariances is fixed.covariances
    only_covs = family.m_step(s, learn=frozenset({"covariances"}), fixed=fixed)
    assert only_covs.means is fixed.means
    # covariances about the fixed means, not about the data means
    full = family.m_step(s)
    assert not np.allclose(only_covs.covariances, full.covariances)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_expected_log_prob_is_the_brute_force_sum(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type)
    p, q = random_params(covariance_type, seed=8), random_params(covariance_type, seed=9)
    s = family.statistics(X, resp, q)  # moments about other means than the evaluated ones
    brute = float(np.sum(resp * family.log_prob(p, X)))
    assert family.expected_log_prob(p, s) == pytest.approx(brute, rel=1e-12)


# -- priors (MAP) ---------------------------------------------------------------------
def prior_for(covariance_type, mean_strength, covariance_strength):
    cov0 = {
        "full": np.array([[1.5, 0.3], [0.3, 0.8]]),
        "tied": np.array([[1.5, 0.3], [0.3, 0.8]]),
        "diag": np.array([1.5, 0.8]),
        "spherical": np.array(1.2),
    }[covariance_type]
    return GaussianPrior(
        np.array([50.5, -19.5]), float(mean_strength), cov0, float(covariance_strength)
    )


def unpack(theta, covariance_type):
    """Unconstrained vector -> (means, covariances) in the type's shapes."""
    means = theta[: K * D].reshape(K, D)
    rest = theta[K * D :]

    def spd(v):
        L = np.array([[np.exp(v[0]), 0.0], [v[1], np.exp(v[2])]])
        return L @ L.T

    if covariance_type == "full":
        cov = np.array([spd(rest[3 * k : 3 * k + 3]) for k in range(K)])
    elif covariance_type == "tied":
        cov = spd(rest[:3])
    elif covariance_type == "diag":
        cov = np.exp(rest).reshape(K, D)
    else:
        cov = np.exp(rest)
    return means, cov


def pack(params, covariance_type):
    def chol(c):
        L = np.linalg.cholesky(c)
        return [np.log(L[0, 0]), L[1, 0], np.log(L[1, 1])]

    cov = params.covariances
    if covariance_type == "full":
        rest = np.concatenate([chol(c) for c in cov])
    elif covariance_type == "tied":
        rest = np.array(chol(cov))
    else:
        rest = np.log(cov).ravel()
    return np.concatenate([params.means.ravel(), rest])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_map_m_step_maximises_q_plus_log_prior_numerically(data, covariance_type):
    """The closed-form MAP update against BFGS on Q(θ) + log p(θ) (reg_covar = 0)."""
    X, resp = data
    family = GaussianFamily(covariance_type, reg_covar=0.0, prior=prior_for(covariance_type, 2, 3))
    s = family.statistics(X, resp, random_params(covariance_type))
    closed = family.m_step(s)

    def negative_objective(theta):
        params = family.make_params(*unpack(theta, covariance_type))
        return -(family.expected_log_prob(params, s) + family.log_prior(params))

    # start from the maximum-likelihood point of the same statistics (not the MAP answer)
    start = pack(GaussianFamily(covariance_type, reg_covar=0.0).m_step(s), covariance_type)
    assert np.abs(start - pack(closed, covariance_type)).max() > 0.05  # a real search
    found = optimize.minimize(negative_objective, start, method="BFGS", options={"gtol": 1e-9})
    means, cov = unpack(found.x, covariance_type)
    np.testing.assert_allclose(means, closed.means, atol=1e-5)
    np.testing.assert_allclose(cov, closed.covariances, atol=1e-5)
    # and the closed form is at least as good as the optimiser's point
    assert negative_objective(pack(closed, covariance_type)) <= found.fun + 1e-9


@pytest.mark.parametrize("covariance_type", TYPES)
def test_mle_m_step_maximises_q_numerically(data, covariance_type):
    X, resp = data
    family = GaussianFamily(covariance_type, reg_covar=0.0)
    s = family.statistics(X, resp, random_params(covariance_type))
    closed = family.m_step(s)
    best = family.expected_log_prob(closed, s)
    rng = np.random.RandomState(0)
    theta = pack(closed, covariance_type)
    for _ in range(20):
        moved = family.make_params(
            *unpack(theta + 1e-3 * rng.standard_normal(theta.size), covariance_type)
        )
        assert family.expected_log_prob(moved, s) < best


def test_log_prior_is_normal_inverse_wishart_up_to_a_constant():
    """For the full type, the documented density: κ = κ0, ν = n0 - D - 2, Ψ = n0 Σ0."""
    kappa, n0 = 2.0, 7.0
    prior = prior_for("full", kappa, n0)
    family = GaussianFamily("full", prior=prior)

    def niw(params):
        total = 0.0
        for k in range(K):
            cov = params.covariances[k]
            total += stats.invwishart(df=n0 - D - 2, scale=n0 * prior.covariance_prior).logpdf(cov)
            total += stats.multivariate_normal(prior.mean_prior, cov / kappa).logpdf(
                params.means[k]
            )
        return total

    p, q = random_params("full", seed=11), random_params("full", seed=12)
    assert family.log_prior(p) - family.log_prior(q) == pytest.approx(niw(p) - niw(q), rel=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_zero_strength_prior_is_exactly_maximum_likelihood(data, covariance_type):
    X, resp = data
    mle = GaussianFamily(covariance_type)
    map_ = GaussianFamily(covariance_type, prior=prior_for(covariance_type, 0, 0))
    s = mle.statistics(X, resp, random_params(covariance_type))
    a, b = mle.m_step(s), map_.m_step(s)
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.covariances, b.covariances)
    assert map_.log_prior(a) == 0.0


@pytest.mark.parametrize("covariance_type", TYPES)
def test_vanishing_prior_strength_converges_to_maximum_likelihood(data, covariance_type):
    X, resp = data
    s = GaussianFamily(covariance_type).statistics(X, resp, None)
    mle = GaussianFamily(covariance_type).m_step(s)
    errors = []
    for strength in (1e-1, 1e-3, 1e-5, 1e-7):
        family = GaussianFamily(
            covariance_type, prior=prior_for(covariance_type, strength, strength)
        )
        got = family.m_step(s)
        errors.append(
            max(
                np.abs(got.means - mle.means).max(),
                np.abs(got.covariances - mle.covariances).max(),
            )
        )
    assert errors[-1] < 1e-6
    # first-order in the strength: each factor 100 smaller gives ~100 times smaller errors
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios > 50)


# -- collapse -------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_singular_covariance_names_the_component_and_the_remedy(covariance_type):
    family = GaussianFamily(covariance_type)
    good = random_params(covariance_type).covariances.copy()
    bad = {
        "full": lambda c: c.__setitem__(1, np.zeros((D, D))),
        "tied": lambda c: c.__setitem__(Ellipsis, np.ones((D, D))),
        "diag": lambda c: c.__setitem__((1, 0), 0.0),
        "spherical": lambda c: c.__setitem__(1, -1.0),
    }[covariance_type]
    bad(good)
    with pytest.raises(ComponentCollapseError) as info:
        family.make_params(np.zeros((K, D)), good, counts=np.array([5.0, 1.0, 7.0]))
    message = str(info.value)
    if covariance_type == "tied":
        assert "shared (tied) covariance" in message
    else:
        assert "component 1 holding 1 effective samples" in message
    assert "Increase reg_covar" in message and "scale the data" in message


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_m_step_on_a_single_point_collapses_without_regularisation(data, covariance_type):
    X, _ = data
    resp = np.zeros((X.shape[0], K))
    resp[:, 0] = 1.0
    resp[5] = [0.0, 1.0, 0.0]  # component 1 owns exactly one point
    resp[6:9] = [0.0, 0.0, 1.0]
    resp[6:9, 0] = 0.0
    s = GaussianFamily(covariance_type, reg_covar=0.0).statistics(X, resp, None)
    with pytest.raises(ComponentCollapseError, match="component 1 holding 1 effective"):
        GaussianFamily(covariance_type, reg_covar=0.0).m_step(s)
    # with regularisation the same statistics give finite, valid parameters
    params = GaussianFamily(covariance_type, reg_covar=1e-6).m_step(s)
    assert np.all(np.isfinite(params.covariances))


def test_params_container_shapes():
    p = random_params("full")
    assert isinstance(p, GaussianParams)
    assert p.means.shape == (K, D) and p.precisions_cholesky.shape == (K, D, D)
    # scikit-learn's convention: precision = L Lᵀ with L upper triangular
    L = p.precisions_cholesky[0]
    assert np.allclose(L, np.triu(L))
    np.testing.assert_allclose(L @ L.T @ p.covariances[0], np.eye(D), atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_sample_has_the_component_moments(covariance_type):
    family = GaussianFamily(covariance_type)
    params = random_params(covariance_type)
    counts = np.array([20000, 0, 30000])
    X = family.sample(params, counts, np.random.RandomState(0))
    assert X.shape == (50000, D)
    first, third = X[:20000], X[20000:]
    for block, k in ((first, 0), (third, 2)):
        cov = component_cov(family, params, k)
        se = np.sqrt(np.diag(cov) / block.shape[0])
        assert np.all(np.abs(block.mean(axis=0) - params.means[k]) < 5 * se)
        np.testing.assert_allclose(np.cov(block.T), cov, rtol=0.05, atol=0.03)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("with_prior", [False, True], ids=["mle", "map"])
def test_m_step_slack_is_the_exact_shortfall_caused_by_reg_covar(data, covariance_type, with_prior):
    """Q (+ log prior) at the regularised M-step falls short of its maximum (the
    M-step without reg_covar) by exactly m_step_slack."""
    X, resp = data
    prior = prior_for(covariance_type, 1.5, 2.5) if with_prior else None
    exact = GaussianFamily(covariance_type, reg_covar=0.0, prior=prior)
    regularised = GaussianFamily(covariance_type, reg_covar=0.05, prior=prior)
    s = exact.statistics(X, resp, random_params(covariance_type))
    best, moved = exact.m_step(s), regularised.m_step(s)

    def objective(params):
        return exact.expected_log_prob(params, s) + exact.log_prior(params)

    shortfall = objective(best) - objective(moved)
    # without the E-step's parameters the slack is the shortfall from the maximiser ...
    slack = regularised.m_step_slack(moved, moments(s), frozenset({"means", "covariances"}))
    assert shortfall > 1e-4
    assert slack == pytest.approx(shortfall, rel=1e-8)
    # ... with them, no more than Q fell from those parameters
    before = GaussianParams(s.shift, None, s.reference_precisions_cholesky)
    drop = max(objective(before) - objective(moved), 0.0)
    tight = regularised.m_step_slack(moved, s, frozenset({"means", "covariances"}))
    assert tight == pytest.approx(min(shortfall, drop), rel=1e-8, abs=1e-12)
    assert exact.m_step_slack(best, s, frozenset({"means", "covariances"})) == 0.0
    assert regularised.m_step_slack(moved, s, frozenset({"means"})) == 0.0


def moments(stats):
    """``stats`` without the E-step's precision factors: the moments alone, to compare
    statistics computed under different parameters."""
    return replace(stats, reference_precisions_cholesky=None)
