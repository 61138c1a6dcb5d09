"""Factor analysis, PPCA and the mixture of factor analysers as models: the Woodbury
E-step against the dense Gaussian, additive and recentrable statistics, the M-step
against the dense regression, PPCA's closed form, monotone EM, fixed parameters and
the SQUAREM parametrisation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emkit.core import allclose, e_step_total, fit_em
from emkit.models import EmptyComponentWarning, MixtureChunk
from emkit.models.factor_analysis import (
    FactorAnalysisModel,
    FactorAnalysisParams,
    factor_log_prob,
)
from emkit.models.mixture_of_factor_analyzers import MFAParams, MixtureOfFactorAnalyzersModel


@pytest.fixture(scope="module")
def X():
    """200 rows in 6 dimensions from 2 factors, far from the origin."""
    rng = np.random.RandomState(0)
    W = rng.standard_normal((2, 6))
    Z = rng.standard_normal((200, 2))
    noise = rng.uniform(0.2, 1.0, size=6)
    return 1e3 + Z @ W + rng.standard_normal((200, 6)) * np.sqrt(noise)


@pytest.fixture(scope="module")
def X_mix():
    """Three clusters of 60 rows in 5 dimensions, each from its own single factor."""
    rng = np.random.RandomState(1)
    blocks = []
    for k in range(3):
        W = 2.0 * rng.standard_normal((1, 5))
        blocks.append(
            6.0 * k + rng.standard_normal((60, 1)) @ W + 0.3 * rng.standard_normal((60, 5))
        )
    return np.vstack(blocks)


def random_params(rng, K, q, d, offset=0.0):
    means = offset + rng.standard_normal((K, d))
    comps = rng.standard_normal((K, q, d))
    noise = rng.uniform(0.1, 2.0, size=(K, d))
    return means, comps, noise


def dense_log_prob(means, comps, noise, X):
    return np.column_stack(
        [
            multivariate_normal(means[k], comps[k].T @ comps[k] + np.diag(noise[k])).logpdf(X)
            for k in range(means.shape[0])
        ]
    )


# -- the E-step against the dense Gaussian ---------------------------------------------------
@pytest.mark.parametrize(("K", "q", "d"), [(1, 1, 1), (1, 2, 5), (3, 2, 4), (2, 4, 4)])
def test_woodbury_log_density_equals_the_dense_gaussian(K, q, d):
    rng = np.random.RandomState(K * 10 + q)
    means, comps, noise = random_params(rng, K, q, d, offset=50.0)
    X = 50.0 + 2.0 * rng.standard_normal((30, d))
    np.testing.assert_allclose(
        factor_log_prob(means, comps, noise, X), dense_log_prob(means, comps, noise, X), rtol=1e-10
    )


def test_posterior_moments_equal_the_dense_conditional_gaussian(X):
    rng = np.random.RandomState(3)
    mean, comps, noise = (a[0] for a in random_params(rng, 1, 2, 6, offset=1e3))
    model = FactorAnalysisModel(2)
    params = FactorAnalysisParams(mean, comps, noise)
    C = comps.T @ comps + np.diag(noise)
    # z | x is Gaussian with mean W C⁻¹ (x − μ) and covariance I − W C⁻¹ Wᵀ
    gain = np.linalg.solve(C, comps.T).T  # (q, d)
    m = (X - mean) @ gain.T
    cov = np.eye(2) - gain @ comps.T
    np.testing.assert_allclose(model.transform(params, X), m, rtol=1e-9, atol=1e-9)
    stats, loglik = model.e_step(params, MixtureChunk(X))
    np.testing.assert_allclose(stats.sum_z[0], m.sum(axis=0), rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(stats.sum_zz[0], len(X) * cov + m.T @ m, rtol=1e-10)
    np.testing.assert_allclose(stats.sum_rz[0], (X - mean).T @ m, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(loglik, multivariate_normal(mean, C).logpdf(X).sum(), rtol=1e-11)


def test_mixture_log_density_and_responsibilities_equal_the_dense_mixture(X_mix):
    rng = np.random.RandomState(4)
    means, comps, noise = random_params(rng, 3, 2, 5)
    weights = np.array([0.2, 0.5, 0.3])
    model = MixtureOfFactorAnalyzersModel(3, 2, shared_noise=False)
    params = MFAParams(weights, means, comps, noise)
    log_joint = np.log(weights) + dense_log_prob(means, comps, noise, X_mix)
    np.testing.assert_allclose(model.log_joint(params, X_mix), log_joint, rtol=1e-10)
    dense = np.logaddexp.reduce(log_joint, axis=1)
    np.testing.assert_allclose(model.log_density(params, X_mix), dense, rtol=1e-10)
    stats, loglik = model.e_step(params, MixtureChunk(X_mix))
    np.testing.assert_allclose(stats.sum_w, np.exp(log_joint - dense[:, None]).sum(axis=0))
    np.testing.assert_allclose(loglik, dense.sum(), rtol=1e-12)


# -- additivity -----------------------------------------------------------------------------
@pytest.mark.parametrize("shared", [True, False])
def test_statistics_add_over_unequal_weighted_chunks(X_mix, shared):
    model = MixtureOfFactorAnalyzersModel(3, 2, shared_noise=shared, init="random")
    params = model.init_params([MixtureChunk(X_mix)], np.random.RandomState(0))
    weights = np.random.RandomState(1).uniform(0.0, 3.0, size=len(X_mix))
    whole, ll_whole = model.e_step(params, MixtureChunk(X_mix, weights))
    cuts = [0, 1, 17, 100, 180]
    chunks = [MixtureChunk(X_mix[a:b], weights[a:b]) for a, b in itertools.pairwise(cuts)]
    total, ll_total = e_step_total(model, params, chunks)
    assert allclose(total, whole, rtol=1e-11, atol=1e-9)
    assert ll_total == pytest.approx(ll_whole, rel=1e-12)
    assert whole + 0 is whole


def test_recentred_statistics_are_the_same_statistics(X):
    model = FactorAnalysisModel(2, init="random")
    params = model.init_params([MixtureChunk(X)], np.random.RandomState(0))
    stats, _ = model.e_step(params, MixtureChunk(X))
    moved = stats.recentred(stats.shift + 7.5)
    back = moved.recentred(stats.shift)
    assert allclose(back, stats, rtol=1e-9, atol=1e-7)
    # statistics of two chunks about different shifts add to those about one
    other = FactorAnalysisParams(params.mean + 1.0, params.components, params.noise_variance)
    a, _ = model.e_step(other, MixtureChunk(X[:50]))
    b, _ = model.e_step(other, MixtureChunk(X[50:]))
    merged = a + b.recentred(b.shift - 3.0)
    whole, _ = model.e_step(other, MixtureChunk(X))
    assert allclose(merged, whole, rtol=1e-9, atol=1e-6)
    # the M-step does not depend on the shift
    assert allclose(model.m_step(moved), model.m_step(stats), rtol=1e-9, atol=1e-9)


# -- the M-step against the dense regression --------------------------------------------------
def test_m_step_is_the_dense_regression_on_the_augmented_factors(X):
    rng = np.random.RandomState(5)
    mean, comps, noise = (a[0] for a in random_params(rng, 1, 2, 6, offset=1e3))
    model = FactorAnalysisModel(2)
    params = FactorAnalysisParams(mean, comps, noise)
    new = model.m_step(model.e_step(params, MixtureChunk(X))[0])
    C = comps.T @ comps + np.diag(noise)
    gain = np.linalg.solve(C, comps.T).T
    m = (X - mean) @ gain.T
    cov = np.eye(2) - gain @ comps.T
    n = len(X)
    Zt = np.column_stack([m, np.ones(n)])  # E[z̃] rows
    A = Zt.T @ Zt
    A[:2, :2] += n * cov
    coef = np.linalg.solve(A, Zt.T @ X).T  # (d, q + 1): [Wᵀ, μ]
    np.testing.assert_allclose(new.components, coef[:, :2].T, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(new.mean, coef[:, 2], rtol=1e-12)
    resid = (X * X).sum(axis=0) - 2 * (coef * (X.T @ Zt)).sum(axis=1)
    resid += np.einsum("jk,kl,jl->j", coef, A, coef)
    np.testing.assert_allclose(new.noise_variance, resid / n, rtol=1e-5)


def test_ppca_reaches_tipping_and_bishops_closed_form(X):
    q = 2
    model = FactorAnalysisModel(q, noise="isotropic", init="random")
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        tol=0,
        max_iter=300,
        random_state=0,
        accelerate="squarem",
        warn_not_converged=False,
    )
    n, d = X.shape
    S = np.cov(X.T, bias=True)
    values, vectors = np.linalg.eigh(S)
    values, vectors = values[::-1], vectors[:, ::-1]
    sigma2 = values[q:].mean()
    closed = (
        -0.5 * n * (d * np.log(2 * np.pi) + np.log(values[:q]).sum() + (d - q) * np.log(sigma2) + d)
    )
    assert result.log_likelihood == pytest.approx(closed, rel=1e-10)
    p = result.params
    np.testing.assert_allclose(p.noise_variance, sigma2, rtol=1e-7)
    U = vectors[:, :q]
    covariance = U @ np.diag(values[:q] - sigma2) @ U.T + sigma2 * np.eye(d)
    np.testing.assert_allclose(
        p.components.T @ p.components + np.diag(p.noise_variance), covariance, atol=1e-5
    )
    np.testing.assert_allclose(p.mean, X.mean(axis=0), rtol=1e-12)


# -- monotone EM ------------------------------------------------------------------------------
@pytest.mark.parametrize("noise", ["diagonal", "isotropic"])
def test_factor_analysis_em_never_decreases(X, noise):
    model = FactorAnalysisModel(3, noise=noise, init="random")
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        tol=0,
        max_iter=300,
        random_state=1,
        warn_not_converged=False,
    )
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))


@pytest.mark.parametrize(
    ("noise", "shared", "assignment"),
    list(itertools.product(["diagonal", "isotropic"], [True, False], ["soft", "hard"])),
)
def test_mixture_em_never_decreases(X_mix, noise, shared, assignment):
    model = MixtureOfFactorAnalyzersModel(
        3, 1, noise=noise, shared_noise=shared, assignment=assignment, init="random"
    )
    result = fit_em(
        model,
        [MixtureChunk(X_mix)],
        n_samples=len(X_mix),
        tol=0,
        max_iter=150,
        random_state=2,
        warn_not_converged=False,
    )
    diffs = np.diff(result.lower_bounds)
    assert np.all(diffs >= -1e-12 * np.abs(result.lower_bounds[1:]))
    assert result.lower_bounds[-1] > result.lower_bounds[0]


def test_heywood_case_approaches_the_floor_and_never_crosses_it():
    # the third feature is exactly 3 × the factor: its ML noise variance is 0
    rng = np.random.RandomState(6)
    Z = rng.standard_normal((300, 1))
    X = np.column_stack(
        [
            Z[:, 0] + 0.5 * rng.standard_normal(300),
            -Z[:, 0] + 0.5 * rng.standard_normal(300),
            3.0 * Z[:, 0],
        ]
    )
    floor = 1e-6 * X[:, 2].var()
    seen = []
    result = fit_em(
        FactorAnalysisModel(1, noise_floor=1e-6),
        [MixtureChunk(X)],
        n_samples=300,
        tol=0,
        max_iter=100,
        accelerate="squarem",
        warn_not_converged=False,
        callback=lambda restart, iteration, params: seen.append(params.noise_variance[2]),
    )
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))
    assert min(seen) >= floor * (1 - 1e-12)
    assert result.params.noise_variance[2] < 1e-2 * result.params.noise_variance[:2].min()
    # at the floor the M-step keeps it there exactly
    p = result.params
    at_floor = FactorAnalysisParams(p.mean, p.components, np.array([*p.noise_variance[:2], floor]))
    model = FactorAnalysisModel(1, noise_floor=1e-6)
    new = model.m_step(model.e_step(at_floor, MixtureChunk(X))[0])
    assert new.noise_variance[2] == pytest.approx(floor, rel=1e-9)


def test_one_component_mixture_is_factor_analysis(X):
    fa = fit_em(
        FactorAnalysisModel(2),
        [MixtureChunk(X)],
        n_samples=len(X),
        tol=0,
        max_iter=50,
        warn_not_converged=False,
    )
    mfa = fit_em(
        MixtureOfFactorAnalyzersModel(1, 2),
        [MixtureChunk(X)],
        n_samples=len(X),
        tol=0,
        max_iter=50,
        random_state=0,
        warn_not_converged=False,
    )
    np.testing.assert_allclose(mfa.lower_bounds, fa.lower_bounds, rtol=1e-10)
    np.testing.assert_allclose(mfa.params.components[0], fa.params.components, atol=1e-8)


# -- fixed parameters, empty components, SQUAREM -----------------------------------------------
def test_fixed_parameters_stay_and_the_others_are_learned(X):
    mean = X.mean(axis=0) + 0.5
    fixed = FactorAnalysisParams(mean, None, None)
    model = FactorAnalysisModel(2, learn=("components", "noise_variance"), initial=fixed)
    result = fit_em(
        model, [MixtureChunk(X)], n_samples=len(X), tol=0, max_iter=100, warn_not_converged=False
    )
    np.testing.assert_array_equal(result.params.mean, mean)
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))
    noise = np.full(6, 0.5)
    model = FactorAnalysisModel(
        2, learn=("mean", "components"), initial=FactorAnalysisParams(None, None, noise)
    )
    result = fit_em(
        model, [MixtureChunk(X)], n_samples=len(X), tol=0, max_iter=100, warn_not_converged=False
    )
    np.testing.assert_array_equal(result.params.noise_variance, noise)
    with pytest.raises(ValueError, match="'mean' is not learned"):
        FactorAnalysisModel(2, learn=("components", "noise_variance"))
    with pytest.raises(ValueError, match="unknown names"):
        FactorAnalysisModel(2, learn=("loadings",))


def test_an_empty_component_keeps_its_parameters(X_mix):
    rng = np.random.RandomState(7)
    means, comps, noise = random_params(rng, 2, 1, 5)
    means[1] = 1e3  # no row anywhere near
    model = MixtureOfFactorAnalyzersModel(2, 1, shared_noise=False)
    params = MFAParams(np.array([0.5, 0.5]), means, comps, noise)
    stats, _ = model.e_step(params, MixtureChunk(X_mix))
    with pytest.warns(EmptyComponentWarning, match="factor analyser 1"):
        new = model.m_step(stats)
    np.testing.assert_array_equal(new.means[1], means[1])
    np.testing.assert_array_equal(new.components[1], comps[1])
    np.testing.assert_array_equal(new.noise_variance[1], noise[1])


@pytest.mark.parametrize("noise", ["diagonal", "isotropic"])
def test_pack_unpack_round_trip_and_squarem(X_mix, noise):
    model = MixtureOfFactorAnalyzersModel(2, 2, noise=noise, init="random")
    params = model.init_params([MixtureChunk(X_mix)], np.random.RandomState(0))
    back = model.unpack(model.pack(params), params)
    assert allclose(back, params, rtol=1e-12, atol=1e-14)
    fa = FactorAnalysisModel(2, noise=noise)
    p = fa.init_params([MixtureChunk(X_mix)], np.random.RandomState(0))
    assert allclose(fa.unpack(fa.pack(p), p), p, rtol=1e-12)
    # SQUAREM gets further than plain EM in the same number of E-steps
    plain = fit_em(
        fa,
        [MixtureChunk(X_mix)],
        n_samples=len(X_mix),
        tol=0,
        max_iter=300,
        warn_not_converged=False,
    )
    fast = fit_em(
        fa,
        [MixtureChunk(X_mix)],
        n_samples=len(X_mix),
        tol=0,
        max_iter=100,
        accelerate="squarem",
        warn_not_converged=False,
    )
    assert fast.n_e_steps <= 300
    assert fast.log_likelihood >= plain.log_likelihood - 1e-9 * abs(plain.log_likelihood)
