"""SQUAREM, DAAREM and "auto": never below plain EM, fewer E-steps, monotone, the same fit
for any n_jobs, and a clear error without pack."""

from functools import partial

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core.anderson import Daarem
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


@pytest.mark.parametrize("method", ["squarem", "daarem", "auto"])
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


@pytest.mark.parametrize("method", ["daarem", "auto"])
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
