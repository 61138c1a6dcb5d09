"""The Student-t family: log-densities against SciPy, the latent scale's moments, additive
statistics, an exact M-step (Q maximised over means, scale matrices and ν), the dof root
search, sampling, the Gaussian limit and bad values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import digamma, gammaln

from emkit.containers import allclose
from emkit.families import GaussianFamily
from emkit.families.student import (
    DOF_BOUNDS,
    StudentBlock,
    StudentFamily,
    StudentStats,
    check_dof,
    solve_dof,
)

TYPES = ("full", "tied", "diag", "spherical")
K, D = 3, 3


def _covariances(kind, rng):
    if kind == "full":
        out = []
        for _ in range(K):
            A = rng.standard_normal((D, D))
            out.append(A @ A.T + 0.5 * np.eye(D))
        return np.array(out)
    if kind == "tied":
        A = rng.standard_normal((D, D))
        return A @ A.T + 0.5 * np.eye(D)
    if kind == "diag":
        return rng.uniform(0.3, 2.0, size=(K, D))
    return rng.uniform(0.3, 2.0, size=K)


def _params(kind, seed=0, dof=(1.5, 4.0, 30.0)):
    rng = np.random.RandomState(seed)
    family = StudentFamily(kind)
    means = 3.0 * rng.standard_normal((K, D))
    return family, family.make_params(means, _covariances(kind, rng), np.array(dof))


def _data(seed=1, n=200):
    rng = np.random.RandomState(seed)
    return 3.0 * rng.standard_normal((n, D)) + rng.standard_t(2.0, size=(n, D))


@pytest.mark.parametrize("kind", TYPES)
def test_log_prob_matches_scipy_multivariate_t(kind):
    family, params = _params(kind)
    X = _data()
    expected = np.column_stack(
        [
            sps.multivariate_t(
                params.means[k], family.component_covariance(params, k), df=params.dof[k]
            ).logpdf(X)
            for k in range(K)
        ]
    )
    np.testing.assert_allclose(family.log_prob(params, X), expected, rtol=1e-10, atol=1e-10)
    # the prepared block (quadratic features for full and tied) gives the same densities
    block = family.prepare(params, X)
    assert isinstance(block, StudentBlock)
    np.testing.assert_allclose(family.log_prob(params, block), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", TYPES)
def test_latent_scale_moments(kind):
    """E[u] and E[log u] - E[u] + 1 under Gamma((ν + D)/2, rate (ν + δ)/2)."""
    family, params = _params(kind)
    X = _data(n=50)
    expected_u, gap = family.latent_scale(params, X)
    for k in range(K):
        cov = family.component_covariance(params, k)
        diff = X - params.means[k]
        delta = np.einsum("ij,ij->i", diff @ np.linalg.inv(cov), diff)
        a, b = 0.5 * (params.dof[k] + D), 0.5 * (params.dof[k] + delta)
        np.testing.assert_allclose(expected_u[:, k], a / b, rtol=1e-12)
        np.testing.assert_allclose(gap[:, k], digamma(a) - np.log(b) - a / b + 1, atol=1e-12)
        # against the Gamma distribution itself, for one row
        u = sps.gamma(a, scale=1 / b[0])
        assert np.isclose(u.mean(), expected_u[0, k])
        assert np.isclose(u.expect(np.log) - u.mean() + 1, gap[0, k], atol=1e-8)
    assert np.all(gap <= 0)


@pytest.mark.parametrize("kind", TYPES)
def test_statistics_are_additive(kind):
    family, params = _params(kind)
    X = _data()
    resp = np.random.RandomState(2).dirichlet(np.ones(K), size=X.shape[0])
    whole = family.statistics(family.prepare(params, X), resp, params)
    parts = family.statistics(X[:70], resp[:70], params) + family.statistics(
        X[70:], resp[70:], params
    )
    assert isinstance(parts, StudentStats)
    assert allclose(whole, parts, rtol=1e-10, atol=1e-10)
    # the zero element and scaling
    empty = family.statistics(X[:0], resp[:0], params)
    assert allclose(empty + whole, whole) and allclose(whole + empty, whole)
    assert allclose(whole * 2.0, whole + whole, rtol=1e-12, atol=1e-12)


def _brute_q(family, new, old, X, resp):
    """sum_ik r_ik E_u[log N(x | μ, Σ/u) + log Gamma(u | ν/2, ν/2)], u ~ p(u | x, k, old),
    sample by sample."""
    expected_u, gap = family.latent_scale(old, X)
    log_u = gap + expected_u - 1
    total = 0.0
    for k in range(K):
        cov = family.component_covariance(new, k)
        diff = X - new.means[k]
        delta = np.einsum("ij,ij->i", diff @ np.linalg.inv(cov), diff)
        _, logdet = np.linalg.slogdet(cov)
        h = 0.5 * new.dof[k]
        per_row = (
            -0.5 * D * np.log(2 * np.pi)
            + 0.5 * D * log_u[:, k]
            - 0.5 * logdet
            - 0.5 * expected_u[:, k] * delta
            + h * np.log(h)
            - gammaln(h)
            + (h - 1) * log_u[:, k]
            - h * expected_u[:, k]
        )
        total += float(resp[:, k] @ per_row)
    return total


@pytest.mark.parametrize("kind", TYPES)
def test_expected_log_prob_is_the_complete_data_q(kind):
    family, old = _params(kind)
    _, new = _params(kind, seed=5, dof=(2.5, 7.0, 0.8))
    X = _data()
    resp = np.random.RandomState(3).dirichlet(np.ones(K), size=X.shape[0])
    stats = family.statistics(X, resp, old)
    assert np.isclose(
        family.expected_log_prob(new, stats), _brute_q(family, new, old, X, resp), rtol=1e-10
    )


@pytest.mark.parametrize("kind", TYPES)
def test_m_step_maximises_q(kind):
    """Q at the M-step's parameters beats Q at every nearby perturbation of any field."""
    family = StudentFamily(kind, reg_covar=0.0)
    _, old = _params(kind)
    X = _data(n=400)
    resp = np.random.RandomState(4).dirichlet(np.ones(K), size=X.shape[0])
    stats = family.statistics(X, resp, old)
    best = family.m_step(stats)
    q_best = family.expected_log_prob(best, stats)
    rng = np.random.RandomState(6)
    for _ in range(10):
        means = best.means + 0.01 * rng.standard_normal(best.means.shape)
        scale = np.exp(0.01 * rng.standard_normal(np.shape(best.covariances)))
        covariances = best.covariances * (scale if kind in ("diag", "spherical") else 1.0)
        if kind in ("full", "tied"):
            A = np.eye(D) + 0.01 * rng.standard_normal((D, D))
            covariances = A @ covariances @ np.swapaxes(A, -1, -2)
        dof = best.dof * np.exp(0.01 * rng.standard_normal(K))
        for changed in (
            family.make_params(means, best.covariances, best.dof),
            family.make_params(best.means, covariances, best.dof),
            family.make_params(best.means, best.covariances, dof),
        ):
            assert family.expected_log_prob(changed, stats) < q_best
    # ν solves the CM equation of every component
    c = stats.sum_resp
    residual = np.log(best.dof / 2) - digamma(best.dof / 2) + stats.sum_scale_gap / c
    np.testing.assert_allclose(residual, 0.0, atol=1e-10)


def test_m_step_keeps_fixed_fields_and_starts_at_dof_init():
    family, params = _params("full")
    X = _data()
    resp = np.random.RandomState(4).dirichlet(np.ones(K), size=X.shape[0])
    stats = family.statistics(X, resp, params)
    fixed = family.m_step(stats, learn=frozenset({"means", "covariances"}), fixed=params)
    np.testing.assert_array_equal(fixed.dof, params.dof)
    only_dof = family.m_step(stats, learn=frozenset({"dof"}), fixed=params)
    np.testing.assert_array_equal(only_dof.means, params.means)
    np.testing.assert_array_equal(only_dof.covariances, params.covariances)
    # at initialisation (no E-step yet) every ν starts at dof_init
    initial = StudentFamily("full").statistics(X, resp, None)
    start = StudentFamily("full", dof_init=7.0).m_step(initial)
    np.testing.assert_array_equal(start.dof, 7.0)


def test_solve_dof_roots_bounds_and_reference():
    # a root: log(ν/2) - ψ(ν/2) = t
    nu = 5.0
    t = np.log(nu / 2) - digamma(nu / 2)
    assert np.isclose(solve_dof(-t * 100.0, 100.0, 1.0), nu, rtol=1e-10)
    # Gaussian data (gap 0): the upper bound; extreme tails: the lower bound
    assert solve_dof(0.0, 100.0, 3.0) == DOF_BOUNDS[1]
    assert solve_dof(-1e9, 1.0, 3.0) == DOF_BOUNDS[0]
    # a previous ν outside the interval widens it (the update never lowers Q)
    assert solve_dof(0.0, 100.0, 1e9) == 1e9
    assert solve_dof(-1e9, 1.0, 1e-4) == 1e-4
    # a component without mass keeps its ν
    assert solve_dof(0.0, 0.0, 3.5) == 3.5


@pytest.mark.parametrize("kind", TYPES)
def test_sample_has_the_t_moments(kind):
    family, params = _params(kind, dof=(5.0, 8.0, 30.0))
    rng = np.random.RandomState(0)
    X = family.sample(params, np.array([0, 40000, 0]), rng)
    assert X.shape == (40000, D)
    np.testing.assert_allclose(X.mean(axis=0), params.means[1], atol=0.05)
    expected_cov = 8.0 / 6.0 * family.component_covariance(params, 1)
    np.testing.assert_allclose(np.cov(X.T), expected_cov, atol=0.1 * np.abs(expected_cov).max())
    # the draws follow the t density: a Kolmogorov-Smirnov test of the first coordinate
    scale = np.sqrt(family.component_covariance(params, 1)[0, 0])
    result = sps.kstest((X[:, 0] - params.means[1, 0]) / scale, sps.t(8.0).cdf)
    assert result.pvalue > 1e-3


@pytest.mark.parametrize("kind", TYPES)
def test_large_dof_is_gaussian(kind):
    family, params = _params(kind, dof=(1e9, 1e9, 1e9))
    X = _data()
    gaussian = GaussianFamily(kind)
    gparams = gaussian.make_params(params.means, params.covariances)
    np.testing.assert_allclose(
        family.log_prob(params, X), gaussian.log_prob(gparams, X), rtol=1e-6, atol=1e-5
    )


@pytest.mark.parametrize("kind", TYPES)
def test_pack_unpack_round_trip(kind):
    family, params = _params(kind)
    back = family.unpack(family.pack(params), params)
    assert allclose(back, params, rtol=1e-10, atol=1e-12)
    n_free = family.n_free_parameters(K, D)
    assert n_free == GaussianFamily(kind).n_free_parameters(K, D) + K


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_bad_dof_is_a_clear_error(bad):
    family, params = _params("diag")
    with pytest.raises(ValueError, match="dof"):
        family.make_params(params.means, params.covariances, np.array([1.0, bad, 2.0]))
    with pytest.raises(ValueError, match="dof_init"):
        StudentFamily("full", dof_init=bad)


def test_check_dof_shapes():
    np.testing.assert_array_equal(check_dof(3.0, n_components=2), [3.0, 3.0])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        check_dof([1.0, 2.0, 3.0], n_components=2)
    with pytest.raises(ValueError, match="covariance_type"):
        StudentFamily("banded")


def test_far_rows_get_no_weight_and_finite_statistics():
    """A row 1e150 away: E[u] = 0 and its log-density is finite (t tails are polynomial)."""
    family, params = _params("full")
    X = np.vstack([_data(n=20), np.full((1, D), 1e150)])
    log_prob = family.log_prob(params, X)
    assert np.all(np.isfinite(log_prob))
    expected_u, _ = family.latent_scale(params, X)
    assert np.all(expected_u[-1] < 1e-290)
    resp = np.full((X.shape[0], K), 1.0 / K)
    stats = family.statistics(X, resp, params)
    assert np.all(np.isfinite(stats.scatter.sum_dxx)) and np.all(np.isfinite(stats.sum_scale_gap))


def test_family_serves_hidden_markov_models_too():
    """The family contract is all an HMM needs: t emissions fit, monotone, on the engine."""
    from emkit.core import fit_em
    from emkit.models.hmm import HMM, HMMChunk

    rng = np.random.RandomState(0)
    states = np.repeat([0, 1, 0, 1], 200)
    X = np.where(states[:, None] == 0, 0.0, 5.0) + rng.standard_t(3.0, size=(800, 2))
    model = HMM(StudentFamily("diag"), 2)
    result = fit_em(
        model,
        [HMMChunk(X, np.array([0, 800]))],
        n_samples=800,
        max_iter=100,
        tol=1e-6,
        random_state=0,
    )
    means = result.params.emission.means
    np.testing.assert_allclose(means[np.argsort(means[:, 0])], [[0, 0], [5, 5]], atol=0.15)
    assert np.all((result.params.emission.dof > 2) & (result.params.emission.dof < 6))
