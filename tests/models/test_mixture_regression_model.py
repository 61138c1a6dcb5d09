"""The mixture-of-regressions model: statistics, M-step, gating step, monotone EM."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from emkit.containers import allclose
from emkit.core import fit_em
from emkit.models.mixture_regression import (
    MixtureRegression,
    MixtureRegressionChunk,
    MixtureRegressionParams,
    boehning_bound,
)


def _data(seed=0, n=240, gated=False):
    """Two regressions on x, x² (NPreg-like), labels from the gating when ``gated``."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0.0, 10.0, n)
    if gated:
        p1 = 1.0 / (1.0 + np.exp(-(x - 5.0)))
        labels = (rng.uniform(size=n) < p1).astype(int)
    else:
        labels = rng.randint(2, size=n)
    y = np.where(labels == 0, 5.0 * x, 40.0 - (x - 5.0) ** 2) + 3.0 * rng.standard_normal(n)
    return np.column_stack([x, x**2]), y, labels


def _params(gated):
    common = dict(
        coef=np.array([[4.0, 0.1], [9.0, -1.0]]),
        intercept=np.array([1.0, 15.0]),
        noise_variance=np.array([8.0, 10.0]),
    )
    if gated:
        return MixtureRegressionParams(
            **common, gating_coef=np.array([[0.0], [0.7]]), gating_intercept=np.array([0.0, -3.0])
        )
    return MixtureRegressionParams(**common, weights=np.array([0.4, 0.6]))


def _model(gated, **kwargs):
    return MixtureRegression(2, gating_columns=(0,) if gated else None, **kwargs)


def _brute_log_joint(params, X, y, gated):
    means = params.intercept + X @ params.coef.T
    log_normal = norm.logpdf(y[:, None], means, np.sqrt(params.noise_variance))
    if gated:
        eta = params.gating_intercept + X[:, :1] @ params.gating_coef.T
        log_pi = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
    else:
        log_pi = np.log(params.weights)
    return log_normal + log_pi


def _brute_q_gate(gamma, X, resp):
    """Q_g(γ) = Σ_ik r_ik log π_k(z_i) with γ of shape (K, 2) (intercept, slope)."""
    eta = np.column_stack([np.ones(len(X)), X[:, 0]]) @ gamma.T
    log_pi = eta - np.log(np.exp(eta).sum(axis=1, keepdims=True))
    return float((resp * log_pi).sum())


@pytest.mark.parametrize("gated", [False, True])
def test_log_likelihood_matches_brute_force(gated):
    X, y, _ = _data()
    model, params = _model(gated), _params(gated)
    _, loglik = model.e_step(params, MixtureRegressionChunk(X, y))
    brute = np.log(np.exp(_brute_log_joint(params, X, y, gated)).sum(axis=1)).sum()
    assert loglik == pytest.approx(brute, rel=1e-12)


def test_moments_are_the_weighted_central_moments():
    X, y, _ = _data()
    resp = np.random.RandomState(1).dirichlet([1.0, 1.0], size=len(y))
    central = _model(False).moments(X, y, resp).centred()
    for k in range(2):
        r = resp[:, k]
        mx, my = r @ X / r.sum(), r @ y / r.sum()
        np.testing.assert_allclose(central.shift_x[k], mx, rtol=1e-12)
        np.testing.assert_allclose(
            central.sum_dxx[k], (r[:, None] * (X - mx)).T @ (X - mx), rtol=1e-10
        )
        np.testing.assert_allclose(central.sum_dxy[k], (r * (y - my)) @ (X - mx), rtol=1e-10)
        assert central.sum_dyy[k] == pytest.approx(r @ (y - my) ** 2, rel=1e-12)


@pytest.mark.parametrize("gated", [False, True])
def test_statistics_are_additive(gated):
    X, y, _ = _data()
    model, params = _model(gated), _params(gated)
    whole, loglik = model.e_step(params, MixtureRegressionChunk(X, y))
    a, la = model.e_step(params, MixtureRegressionChunk(X[:77], y[:77]))
    b, lb = model.e_step(params, MixtureRegressionChunk(X[77:], y[77:], first_row=77))
    merged = a + b
    assert la + lb == pytest.approx(loglik, rel=1e-13)
    m = whole.moments
    assert allclose(merged.moments.recentred(m.shift_x, m.shift_y), m, rtol=1e-9, atol=1e-8)
    if gated:
        assert allclose(merged.gating, whole.gating, rtol=1e-10, atol=1e-10)
    # the same parameters follow from either, and from the statistics in any order
    assert allclose(model.m_step(merged), model.m_step(whole), rtol=1e-9)
    assert allclose(model.m_step(b + a), model.m_step(whole), rtol=1e-9)
    # the zero element and scaling
    assert allclose((0 + merged).moments, merged.moments)
    np.testing.assert_allclose((2.0 * whole).moments.sum_dxx, 2.0 * whole.moments.sum_dxx)


def test_moments_far_from_the_origin_keep_their_precision():
    X, y, _ = _data()
    resp = np.random.RandomState(2).dirichlet([1.0, 1.0], size=len(y))
    model = _model(False)
    offset_x, offset_y = 1e7, 1e8
    near = model.m_step(_stats(model, X, y, resp))
    Xf, yf = X + offset_x, y + offset_y
    parts = [
        _stats(model, Xf[i : i + 50], yf[i : i + 50], resp[i : i + 50]) for i in range(0, 240, 50)
    ]
    far = model.m_step(sum(parts[1:], parts[0]))
    np.testing.assert_allclose(far.coef, near.coef, rtol=1e-6)
    np.testing.assert_allclose(far.noise_variance, near.noise_variance, rtol=1e-6)


def _stats(model, X, y, resp):
    from emkit.models.mixture_regression import MixtureRegressionStats

    return MixtureRegressionStats(model.moments(X, y, resp))


def test_m_step_is_weighted_least_squares():
    X, y, _ = _data()
    resp = np.random.RandomState(3).dirichlet([1.0, 1.0], size=len(y))
    params = _model(False, reg_covar=0.0).m_step(_stats(_model(False), X, y, resp))
    design = np.column_stack([np.ones(len(y)), X])
    for k in range(2):
        r = resp[:, k]
        sol = np.linalg.lstsq(np.sqrt(r)[:, None] * design, np.sqrt(r) * y, rcond=None)[0]
        np.testing.assert_allclose(params.intercept[k], sol[0], rtol=1e-9)
        np.testing.assert_allclose(params.coef[k], sol[1:], rtol=1e-9)
        residual = y - design @ sol
        assert params.noise_variance[k] == pytest.approx(r @ residual**2 / r.sum(), rel=1e-9)
    np.testing.assert_allclose(params.weights, resp.mean(axis=0), rtol=1e-12)


def test_rank_deficient_design_gives_a_least_squares_solution():
    X, y, _ = _data()
    Xd = np.column_stack([X, X[:, 0], np.ones(len(y))])  # a duplicated and a constant column
    resp = np.random.RandomState(4).dirichlet([1.0, 1.0], size=len(y))
    model = _model(False, reg_covar=0.0)
    deficient = model.m_step(_stats(model, Xd, y, resp))
    full = model.m_step(_stats(model, X, y, resp))
    assert np.all(np.isfinite(deficient.coef))
    np.testing.assert_allclose(deficient.noise_variance, full.noise_variance, rtol=1e-8)
    np.testing.assert_allclose(
        Xd @ deficient.coef.T + deficient.intercept, X @ full.coef.T + full.intercept, rtol=1e-8
    )


def test_gating_gradient_and_hessian_match_finite_differences():
    X, y, _ = _data()
    model, params = _model(True), _params(True)
    stats, _ = model.e_step(params, MixtureRegressionChunk(X, y))
    resp = np.exp(_brute_log_joint(params, X, y, True))
    resp /= resp.sum(axis=1, keepdims=True)
    gamma0 = np.column_stack([params.gating_intercept, params.gating_coef])
    assert stats.gating.value == pytest.approx(_brute_q_gate(gamma0, X, resp), rel=1e-12)
    h = 1e-5
    grad = np.zeros(2)
    hess = np.zeros((2, 2))
    for j in range(2):
        e = np.zeros_like(gamma0)
        e[1, j] = h
        grad[j] = (_brute_q_gate(gamma0 + e, X, resp) - _brute_q_gate(gamma0 - e, X, resp)) / (
            2 * h
        )
        for i in range(2):
            f = np.zeros_like(gamma0)
            f[1, i] = h
            hess[i, j] = -(
                _brute_q_gate(gamma0 + e + f, X, resp)
                - _brute_q_gate(gamma0 + e - f, X, resp)
                - _brute_q_gate(gamma0 - e + f, X, resp)
                + _brute_q_gate(gamma0 - e - f, X, resp)
            ) / (4 * h * h)
    np.testing.assert_allclose(stats.gating.gradient.ravel(), grad, rtol=1e-6)
    np.testing.assert_allclose(stats.gating.hessian, hess, rtol=1e-4)


@pytest.mark.parametrize("K", [2, 3, 5])
def test_boehning_bound_dominates_the_hessian(K):
    rng = np.random.RandomState(K)
    Z = np.column_stack([np.ones(30), rng.standard_normal((30, 2))])
    sum_zz = Z.T @ Z
    bound = boehning_bound(K, sum_zz)
    for _ in range(20):
        pi = rng.dirichlet(np.full(K, 0.3), size=30)
        d = Z.shape[1]
        A = np.zeros(((K - 1) * d,) * 2)
        for i in range(30):
            core = np.diag(pi[i, 1:]) - np.outer(pi[i, 1:], pi[i, 1:])
            A += np.kron(core, np.outer(Z[i], Z[i]))
        assert np.linalg.eigvalsh(bound - A).min() > -1e-10


@pytest.mark.parametrize("start", [0.0, 3.0, -8.0, 25.0])
def test_gating_step_never_decreases_q_gate(start):
    """From near and far from the optimum (where the Newton step is not certified and the
    Böhning step is taken), Q_g at the M-step's gating is at least Q_g at the E-step's."""
    X, y, _ = _data(gated=True)
    model = _model(True)
    params = _params(True)
    params = MixtureRegressionParams(
        params.coef,
        params.intercept,
        params.noise_variance,
        gating_coef=np.array([[0.0], [start]]),
        gating_intercept=np.array([0.0, -start * 5.0]),
    )
    stats, _ = model.e_step(params, MixtureRegressionChunk(X, y))
    new = model.m_step(stats)
    resp = np.exp(_brute_log_joint(params, X, y, True))
    resp /= resp.sum(axis=1, keepdims=True)
    before = np.column_stack([params.gating_intercept, params.gating_coef])
    after = np.column_stack([new.gating_intercept, new.gating_coef])
    assert _brute_q_gate(after, X, resp) >= _brute_q_gate(before, X, resp) - 1e-9
    assert not np.array_equal(after, before)


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_log_likelihood_never_decreases(gated, accelerate):
    X, y, _ = _data(gated=gated)
    model = _model(gated)
    chunks = [MixtureRegressionChunk(X[:100], y[:100]), MixtureRegressionChunk(X[100:], y[100:])]
    # LikelihoodDecreaseWarning is an error in the tests
    result = fit_em(
        model,
        chunks,
        n_samples=len(y),
        max_iter=300,
        tol=0.0,
        random_state=0,
        accelerate=accelerate,
        warn_not_converged=False,
    )
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))
    assert result.converged


def test_gated_fit_recovers_the_gating():
    X, y, _ = _data(seed=5, n=3000, gated=True)
    model = _model(True)
    result = fit_em(
        model,
        [MixtureRegressionChunk(X, y)],
        n_samples=len(y),
        max_iter=500,
        tol=1e-10,
        n_init=3,
        random_state=0,
    )
    p = result.params
    order = np.argsort(p.intercept)  # component with intercept ~0 (the line 5x) first
    slope = p.gating_coef[order[1], 0] - p.gating_coef[order[0], 0]
    offset = p.gating_intercept[order[1]] - p.gating_intercept[order[0]]
    assert slope == pytest.approx(1.0, abs=0.15)
    assert offset == pytest.approx(-5.0, abs=0.8)
    np.testing.assert_allclose(p.coef[order[0]], [5.0, 0.0], atol=0.3)
    np.testing.assert_allclose(p.coef[order[1]], [10.0, -1.0], atol=0.3)


@pytest.mark.parametrize("gated", [False, True])
def test_pack_unpack_round_trip(gated):
    model, params = _model(gated), _params(gated)
    back = model.unpack(model.pack(params), params)
    assert allclose(back, params, rtol=1e-12)


def test_reg_covar_floor_is_declared_to_the_engine():
    """A component that fits its points exactly: the variance stays at the floor and the
    engine allows for what the floor costs (no LikelihoodDecreaseWarning)."""
    rng = np.random.RandomState(6)
    x = rng.uniform(0, 1, 60)
    y = np.where(np.arange(60) < 30, 2.0 * x + 1.0, -x + 0.1 * rng.standard_normal(60))
    X = x[:, None]
    model = MixtureRegression(2, reg_covar=1e-3)
    resp = np.eye(2)[(np.arange(60) >= 30).astype(int)]
    start = model.initial_from_responsibilities(X, y, resp)
    result = fit_em(
        model,
        [MixtureRegressionChunk(X, y)],
        n_samples=60,
        start_params=start,
        tol=0.0,
        max_iter=50,
        warn_not_converged=False,
    )
    assert result.params.noise_variance.min() == pytest.approx(1e-3, rel=1e-6)


def test_learn_keeps_fixed_parameters():
    X, y, _ = _data()
    initial = MixtureRegressionParams(
        None, None, np.array([9.0, 9.0]), weights=np.array([0.5, 0.5])
    )
    model = MixtureRegression(2, learn=("coef", "intercept"), initial=initial)
    result = fit_em(
        model,
        [MixtureRegressionChunk(X, y)],
        n_samples=len(y),
        random_state=0,
        max_iter=50,
        warn_not_converged=False,
    )
    np.testing.assert_array_equal(result.params.noise_variance, [9.0, 9.0])
    np.testing.assert_array_equal(result.params.weights, [0.5, 0.5])


def test_model_refuses_bad_options():
    with pytest.raises(ValueError, match="learn has unknown parameter names"):
        MixtureRegression(2, learn=("coef", "intercept", "means"))
    with pytest.raises(ValueError, match="both 'coef' and 'intercept'"):
        MixtureRegression(
            2,
            learn=("coef",),
            initial=MixtureRegressionParams(None, np.zeros(2), np.ones(2), np.ones(2) / 2),
        )
    with pytest.raises(ValueError, match="must be given in `initial`"):
        MixtureRegression(2, learn=("coef", "intercept"))
    with pytest.raises(ValueError, match="init must be one of"):
        MixtureRegression(2, init="nonsense")


@pytest.mark.parametrize("seed", range(6))
def test_self_concordance_bound_holds(seed):
    """Q_g(γ0 + tδ) ≥ Q_g(γ0) + t gᵀδ − t² δᵀAδ φ(t S) for random directions and steps."""
    from emkit.models.mixture_regression import _logit_spread, _phi

    rng = np.random.RandomState(seed)
    K, n = 3, 80
    X = rng.uniform(-2, 5, size=(n, 1))
    resp = rng.dirichlet(np.ones(K), size=n)
    model = MixtureRegression(K, gating_columns=(0,))
    gamma0 = rng.standard_normal((K, 2))
    gamma0[0] = 0.0
    params = MixtureRegressionParams(
        np.zeros((K, 1)),
        np.zeros(K),
        np.ones(K),
        gating_coef=gamma0[:, 1:],
        gating_intercept=gamma0[:, 0],
    )
    stats = model.gating_statistics(params, X, resp, None)
    g, A = stats.gradient.ravel(), stats.hessian
    q0 = _brute_q_gate(gamma0, X, resp)
    for _ in range(10):
        delta = rng.standard_normal((K - 1) * 2) * rng.uniform(0.01, 3.0)
        spread = _logit_spread(delta, stats.z_min, stats.z_max, K)
        for t in (0.01, 0.3, 1.0):
            gamma = gamma0.copy()
            gamma[1:] += t * delta.reshape(K - 1, 2)
            bound = q0 + t * g @ delta - t**2 * (delta @ A @ delta) * float(_phi(t * spread))
            assert _brute_q_gate(gamma, X, resp) >= bound - 1e-9 * abs(q0)
