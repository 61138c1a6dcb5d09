"""SQUAREM, DAAREM, quasi-Newton and "auto": never below plain EM, fewer E-steps,
monotone, the same fit for any n_jobs, and a clear error without pack."""

from functools import partial

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core._proposal import expanding_secants
from emkit.core.anderson import AutoAccelerate, Daarem
from emkit.core.quasi_newton import QuasiNewton
from emkit.core.steps import Squarem, make_stepper
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk, MixtureParams


def overlapping_mixture(seed, n=300):
    """Three heavily overlapping components: plain EM converges slowly."""
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.normal(0.0, 1.0, (n, 2)),
            rng.normal(0.8, 1.2, (n, 2)),
            rng.normal([1.5, -0.5], 0.9, (n, 2)),
        ]
    )


@pytest.mark.parametrize("method", ["squarem", "daarem", "qn", "auto"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_acceleration_not_worse_and_fewer_e_steps(seed, covariance_type, method):
    X = overlapping_mixture(seed)
    results = {}
    for accelerate in (None, method):
        model = Mixture(GaussianFamily(covariance_type), 3, init="random")
        results[accelerate] = fit_em(
            model,
            [MixtureChunk(X)],
            n_samples=len(X),
            tol=1e-8,
            max_iter=20000,
            random_state=seed,
            accelerate=accelerate,
        )
    plain, fast = results[None], results[method]
    assert plain.converged and fast.converged
    # same or higher log-likelihood (EM's tolerance is per sample: allow that slack)
    assert fast.log_likelihood >= plain.log_likelihood - 1e-6 * len(X)
    assert fast.n_e_steps < plain.n_e_steps
    assert plain.n_e_steps == plain.n_iter
    # the monitored objective never decreases (pytest turns the warning into an error)
    assert np.all(np.diff(fast.lower_bounds) >= -1e-12)


def test_squarem_cuts_e_steps_threefold_on_slow_problem():
    X = overlapping_mixture(0, n=600)
    steps = {}
    for accelerate in (None, "squarem"):
        model = Mixture(GaussianFamily("full"), 3, init="random")
        result = fit_em(
            model,
            [MixtureChunk(X)],
            n_samples=len(X),
            tol=1e-9,
            max_iter=20000,
            random_state=1,
            accelerate=accelerate,
        )
        steps[accelerate] = result.n_e_steps
    assert steps[None] >= 3 * steps["squarem"]


def test_squarem_keeps_fixed_parameters_exact():
    X = overlapping_mixture(1)
    weights = np.array([0.2, 0.3, 0.5])
    from emkit.families import GaussianParams

    model = Mixture(
        GaussianFamily("full"),
        3,
        init="random",
        learn=("means", "covariances"),
        initial=MixtureParams(weights, GaussianParams(None, None)),
    )
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        tol=1e-8,
        max_iter=500,
        random_state=0,
        accelerate="squarem",
    )
    assert np.array_equal(result.params.weights, weights)


def test_squarem_needs_pack_unpack():
    class NoPack:
        pass

    with pytest.raises(TypeError, match="pack/unpack"):
        make_stepper("squarem", NoPack(), None)
    with pytest.raises(ValueError, match="accelerate"):
        make_stepper("anderson", NoPack(), None)


def test_squarem_step_length_does_not_depend_on_blas_threads():
    # the engine limits BLAS to one thread when n_jobs > 1; SQUAREM's step length must
    # round the same either way, or the fit would depend on n_jobs
    from threadpoolctl import threadpool_limits

    from emkit.core.steps import _length

    vector = np.random.default_rng(0).standard_normal(400_000)
    free = _length(vector)
    with threadpool_limits(limits=1):
        limited = _length(vector)
    assert free == limited
    assert free == pytest.approx(np.sqrt(np.sum(vector.astype(np.longdouble) ** 2)), rel=1e-14)


def _fit(X, accelerate, chunks=1, n_jobs=1, tol=1e-9, seed=1, covariance_type="full"):
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    return fit_em(
        model,
        [MixtureChunk(part) for part in np.array_split(X, chunks)],
        n_samples=len(X),
        tol=tol,
        max_iter=20000,
        random_state=seed,
        accelerate=accelerate,
        n_jobs=n_jobs,
    )


@pytest.mark.parametrize("scheme", [1, 2, 3])
@pytest.mark.parametrize("step_max", [1.0, np.inf])
def test_squarem_schemes_and_step_bounds(scheme, step_max):
    X = overlapping_mixture(2)
    plain = _fit(X, None, tol=1e-8)
    fast = _fit(X, partial(Squarem, scheme=scheme, step_max=step_max), tol=1e-8)
    assert fast.converged
    assert fast.log_likelihood >= plain.log_likelihood - 1e-8 * len(X)
    assert fast.n_e_steps < plain.n_e_steps
    assert np.all(np.diff(fast.lower_bounds) >= -1e-12)


def test_squarem_refuses_unknown_scheme():
    with pytest.raises(ValueError, match="scheme"):
        Squarem(Mixture(GaussianFamily("full"), 3), None, scheme=4)


@pytest.mark.parametrize("method", ["daarem", "qn", "auto"])
def test_anderson_fit_does_not_depend_on_n_jobs(method):
    # the engine limits BLAS to one thread when n_jobs > 1: DAAREM's products and its
    # small eigenproblem must round the same either way
    X = overlapping_mixture(0)
    one = _fit(X, method, chunks=4, n_jobs=1, tol=1e-8)
    two = _fit(X, method, chunks=4, n_jobs=2, tol=1e-8)
    assert one.n_e_steps == two.n_e_steps
    assert one.log_likelihood == two.log_likelihood
    assert np.array_equal(one.params.components.means, two.params.components.means)


def test_daarem_trace_leaves_extrapolated_kl_unknown():
    X = overlapping_mixture(0)
    result = _fit(X, "daarem", tol=1e-8)
    kl = np.array([record.kl for record in result.trace])
    log_likelihood = np.array([record.log_likelihood for record in result.trace])
    lower_bound = np.array([record.lower_bound for record in result.trace])
    assert np.isnan(kl).any()  # accepted extrapolations: log p(x | M(E(θ))) not computed
    known = ~np.isnan(kl[:-1])
    assert known.any()  # EM steps (rejections) complete their record
    assert np.all(kl[:-1][known] >= -1e-9)
    # where the step was EM's, the identity of the trace holds
    assert np.allclose(
        log_likelihood[1:][known], lower_bound[:-1][known] + kl[:-1][known], rtol=1e-12
    )


def test_auto_cuts_e_steps_tenfold_on_factor_analysis():
    # the README's wine example (benchmarks/bench_squarem.py): 1,369 plain EM
    # iterations at tol 1e-10, 44 E-steps with DAAREM
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    from emkit import FactorAnalysis

    X = StandardScaler().fit_transform(load_wine().data)
    fits = {
        accelerate: FactorAnalysis(3, tol=1e-10, max_iter=20000, accelerate=accelerate).fit(X)
        for accelerate in (None, "auto")
    }
    plain, fast = fits[None], fits["auto"]
    assert plain.n_e_steps_ >= 10 * fast.n_e_steps_
    assert fast.log_likelihood_ >= plain.log_likelihood_


def test_accelerate_accepts_a_stepper_factory():
    X = overlapping_mixture(1)
    made = []

    def factory(model, reduce):
        made.append(Daarem(model, reduce, order=3))
        return made[-1]

    result = _fit(X, factory, tol=1e-6)
    assert len(made) == 1 and result.converged
    assert made[0].n_accepted > 0


def _slow_state_space(n=500):
    """bench_squarem's state-space fit (C known; A, Q, R diagonal and m0 learned): its
    EM iterates leave a saddle point along a plateau (the EM map's Jacobian has an
    eigenvalue of 1.0007-1.0025 for about 1,400 of plain EM's 2,451 iterations)."""
    from emkit import LinearGaussianSSM

    rng = np.random.default_rng(3)
    A = np.array([[0.9, 0.1], [0.0, 0.7]])
    C = rng.normal(size=(3, 2))
    x, X = np.zeros(2), np.empty((n, 3))
    for t in range(n):
        x = A @ x + rng.normal(0, 0.5, 2)
        X[t] = C @ x + rng.normal(0, 1.0, 3)
    make = partial(
        LinearGaussianSSM,
        state_dim=2,
        observation_matrix_init=C,
        learn=(
            "transition_matrix",
            "transition_covariance",
            "observation_covariance",
            "initial_state_mean",
        ),
        observation_covariance_type="diag",
        tol=1e-10,
        max_iter=20000,
        random_state=0,
    )
    return make, X


def _with_stepper(cls, **options):
    made = []

    def factory(model, reduce):
        made.append(cls(model, reduce, **options))
        return made[-1]

    return factory, made


def test_expanding_secants_reads_the_secant_models_eigenvalues():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    for top, expected in ((0.95, False), (1.002, True)):
        jacobian = basis @ np.diag([top, 0.5, 0.3, 0.2, 0.1, 0.05]) @ basis.T
        full = list(rng.standard_normal((6, 6)))  # secants spanning the whole space
        assert expanding_secants(full, [jacobian @ s for s in full], 1.0) is expected
        # secants spanning an invariant subspace (the two leading eigenvectors)
        mixed = [basis[:, 0] + basis[:, 1], basis[:, 0] - 2 * basis[:, 1]]
        assert expanding_secants(mixed, [jacobian @ s for s in mixed], 1.0) is expected
        # Anderson's form: differences of residuals, (J - I) S, against 0
        residuals = [(jacobian - np.eye(6)) @ s for s in full]
        assert expanding_secants(full, residuals, 0.0) is expected
    assert expanding_secants([np.full(3, np.nan)], [np.ones(3)], 1.0) is False


@pytest.mark.parametrize("method", ["qn", "auto"])
def test_quasi_newton_monotone_and_not_worse_on_several_models(method):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    from emkit import FactorAnalysis, GaussianHMM, StudentMixture

    rng = np.random.default_rng(2)
    states = np.zeros(1500, dtype=int)
    for t in range(1, states.size):
        states[t] = states[t - 1] if rng.random() < 0.9 else rng.integers(3)
    hmm_data = (np.array([0.0, 1.0, 2.0])[states] + rng.normal(size=states.size))[:, None]
    cases = [
        (partial(GaussianHMM, 3, tol=1e-8, max_iter=5000, random_state=0), hmm_data),
        (
            partial(FactorAnalysis, 3, tol=1e-8, max_iter=5000),
            StandardScaler().fit_transform(load_wine().data),
        ),
        (
            partial(StudentMixture, 3, tol=1e-8, max_iter=5000, random_state=0),
            overlapping_mixture(0, n=200),
        ),
    ]
    for make, X in cases:
        plain, fast = make().fit(X), make(accelerate=method).fit(X)
        assert fast.converged_
        assert fast.n_e_steps_ < plain.n_e_steps_
        assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-8 * len(X)
        assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)


def test_quasi_newton_steps_forwards_on_a_saddle_plateau():
    # Newton's step seeks the fixed point of the secant model, which on this plateau is
    # the saddle behind the iterates: refused nearly every time. SQUAREM's forward
    # step where the secants expand gets across (bench_squarem: 2,451 plain EM
    # E-steps, 1,239 pure Newton at order 10, 215 at the default order 5)
    make, X = _slow_state_space()
    plain = make().fit(X)
    forward, made = _with_stepper(QuasiNewton)
    fast = make(accelerate=forward).fit(X)
    newton = make(accelerate=_with_stepper(QuasiNewton, expanding="newton")[0]).fit(X)
    assert made[0].n_squarem > 0
    assert fast.n_e_steps_ * 10 <= plain.n_e_steps_
    assert fast.n_e_steps_ * 3 <= newton.n_e_steps_
    assert fast.log_likelihood_ >= plain.log_likelihood_
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)


def test_daarem_forward_rule_and_auto_cross_the_saddle_plateau():
    # plain DAAREM: 2,946 E-steps here, more than plain EM's 2,451
    make, X = _slow_state_space()
    plain = make().fit(X)
    forward, made = _with_stepper(Daarem, expanding="forward")
    fits = [make(accelerate=forward).fit(X), make(accelerate="auto").fit(X)]
    assert made[0].n_forward > 0
    for fit in fits:
        assert fit.n_e_steps_ * 5 <= plain.n_e_steps_
        assert fit.log_likelihood_ >= plain.log_likelihood_
        assert np.all(np.diff(fit.lower_bounds_) >= -1e-12)


def test_auto_falls_back_to_quasi_newton_or_squarem():
    X = overlapping_mixture(0)
    for fallback, kind in (("qn", QuasiNewton), ("squarem", Squarem)):
        factory, made = _with_stepper(AutoAccelerate, fallback=fallback)
        result = _fit(X, factory, tol=1e-8)
        assert result.converged and isinstance(made[0].squarem, kind)


def test_quasi_newton_refuses_bad_options():
    model = Mixture(GaussianFamily("full"), 3)
    with pytest.raises(ValueError, match="order"):
        QuasiNewton(model, None, order=0)
    with pytest.raises(ValueError, match="accept"):
        QuasiNewton(model, None, accept="any")
    with pytest.raises(ValueError, match="expanding"):
        QuasiNewton(model, None, expanding="back")
    with pytest.raises(ValueError, match="expanding"):
        Daarem(model, None, expanding="back")
    with pytest.raises(ValueError, match="fallback"):
        AutoAccelerate(model, None, fallback="em")
    with pytest.raises(TypeError, match="pack/unpack"):
        make_stepper("qn", object(), None)


def test_auto_hands_daarems_secants_and_kept_e_step_to_quasi_newton():
    model = Mixture(GaussianFamily("full"), 3)
    auto = AutoAccelerate(model, None)
    rng = np.random.default_rng(0)
    dx = [rng.standard_normal(8) for _ in range(7)]
    df = [rng.standard_normal(8) for _ in range(7)]
    auto.daarem._dx, auto.daarem._df = dx, df
    kept = (object(), "stats", -1.0)
    auto.daarem._evaluated = kept
    auto._hand_over()
    qn = auto.squarem
    # qn keeps its order (5) of pairs: G's secants (Δx, Δx + Δf), the latest ones
    assert len(qn._u) == len(qn._v) == 5
    for u, v, step_x, step_f in zip(qn._u, qn._v, dx[-5:], df[-5:], strict=True):
        assert np.array_equal(u, step_x)
        assert np.array_equal(v, step_x + step_f)
    assert qn._evaluated is kept and auto.daarem._evaluated is None


def test_auto_fallback_starts_from_daarems_secants_on_the_saddle_plateau():
    # bench_squarem's state-space fit: 394 E-steps when qn started without secants,
    # 334 with DAAREM's (plain EM: 2,451)
    make, X = _slow_state_space()
    factory, made = _with_stepper(AutoAccelerate)
    fit = make(accelerate=factory).fit(X)
    assert made[0].switched_at is not None
    assert made[0].squarem.n_accepted > 0
    assert fit.n_e_steps_ <= 350
    assert np.all(np.diff(fit.lower_bounds_) >= -1e-12)
