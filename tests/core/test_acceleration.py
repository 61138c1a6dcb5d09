"""SQUAREM: never below plain EM, fewer E-steps, monotone, and a clear error without pack."""

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core.steps import make_stepper
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk


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


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_squarem_not_worse_and_fewer_e_steps(seed, covariance_type):
    X = overlapping_mixture(seed)
    results = {}
    for accelerate in (None, "squarem"):
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
    plain, fast = results[None], results["squarem"]
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
    from emkit.models import MixtureParams

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
