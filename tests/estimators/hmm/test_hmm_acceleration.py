"""SQUAREM for hidden Markov models (issue 5): fewer E-steps, never worse, zeros kept."""

import numpy as np
import pytest

import emkit
from emkit.families import GaussianMixtureEmission, PoissonFamily
from emkit.models.hmm import HMM, HMMParams


def overlapping_gaussian_sequence(T=3000, seed=0):
    """Two sticky states whose emissions overlap heavily: plain EM converges slowly."""
    rng = np.random.default_rng(seed)
    switches = rng.uniform(size=T) > 0.95
    states = np.cumsum(switches) % 2
    return rng.normal(np.where(states == 0, 0.0, 0.7), 1.0)[:, None]


@pytest.mark.parametrize("seed", [0, 1])
def test_squarem_fewer_e_steps_and_not_worse(seed):
    X = overlapping_gaussian_sequence(seed=seed)
    options = dict(covariance_type="diag", tol=1e-9, max_iter=5000, random_state=0)
    plain = emkit.GaussianHMM(2, **options).fit(X)
    fast = emkit.GaussianHMM(2, accelerate="squarem", **options).fit(X)
    assert plain.converged_ and fast.converged_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-7 * len(X)
    assert fast.n_e_steps_ < plain.n_e_steps_
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)


def test_squarem_keeps_structural_zeros():
    counts = emkit.datasets.load_earthquakes().data[:, 1:2].astype(int)
    transmat = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    model = emkit.PoissonHMM(
        3,
        transmat_init=transmat,
        startprob_init=[1.0, 0.0, 0.0],
        tol=1e-10,
        max_iter=2000,
        accelerate="squarem",
        random_state=0,
    ).fit(counts)
    assert np.all(model.transmat_[transmat == 0] == 0.0)
    assert np.all(model.startprob_[1:] == 0.0)


def test_pack_unpack_round_trip_and_fixed_parameters():
    transmat = np.array([[0.8, 0.2, 0.0], [0.1, 0.7, 0.2], [0.0, 0.5, 0.5]])
    rates = np.array([[2.0], [5.0], [9.0]])
    model = HMM(
        PoissonFamily(),
        3,
        learn=("transmat", "startprob"),
        initial=HMMParams(np.array([0.5, 0.5, 0.0]), transmat, PoissonFamily().make_params(rates)),
    )
    params = HMMParams(np.array([0.3, 0.7, 0.0]), transmat, PoissonFamily().make_params(rates))
    vector = model.pack(params)
    assert vector.ndim == 1 and vector.size == 2 + 7 + 3  # zeros are not in the vector
    restored = model.unpack(vector, params)
    np.testing.assert_allclose(restored.startprob, params.startprob, rtol=1e-12)
    np.testing.assert_allclose(restored.transmat, params.transmat, rtol=1e-12)
    assert restored.transmat[0, 2] == 0.0 and restored.startprob[2] == 0.0
    # rates are not learned: they come back exactly, even from a perturbed vector
    moved = model.unpack(vector + 0.1, params)
    assert np.array_equal(moved.emission.rates, rates)
    np.testing.assert_allclose(moved.transmat.sum(axis=1), 1.0)


def overlapping_gmm_sequence(T=800, seed=2):
    """Two sticky states, each a mixture of two Gaussians, all four overlapping."""
    rng = np.random.default_rng(seed)
    states = np.cumsum(rng.uniform(size=T) > 0.95) % 2
    inner = rng.integers(0, 2, size=T)
    centres = np.array([[0.0, 1.5], [0.8, 2.3]])
    return rng.normal(centres[states, inner], 0.7)[:, None]


def test_gmmhmm_squarem_fewer_e_steps_and_not_worse():
    X = overlapping_gmm_sequence()
    options = dict(n_mix=2, covariance_type="diag", tol=1e-7, max_iter=3000, random_state=0)
    plain = emkit.GMMHMM(2, **options).fit(X)
    fast = emkit.GMMHMM(2, accelerate="squarem", **options).fit(X)
    assert plain.converged_ and fast.converged_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-7 * len(X)
    # measured: 355 E-steps plain, 120 with SQUAREM
    assert fast.n_e_steps_ < 0.6 * plain.n_e_steps_
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)
    np.testing.assert_allclose(fast.weights_.sum(axis=1), 1.0)


def test_gmmhmm_pack_unpack_keeps_zeros_and_fixed_emission():
    family = GaussianMixtureEmission(2, "full")
    emission = family.make_params(
        [[0.3, 0.7], [0.6, 0.4]],
        np.arange(8.0).reshape(2, 2, 2),
        np.array([[[[2.0, 0.5], [0.5, 1.0]], np.eye(2)], [np.eye(2) * 3, np.eye(2) * 0.5]]),
    )
    transmat = np.array([[0.9, 0.1], [0.0, 1.0]])
    model = HMM(
        family,
        2,
        learn=("startprob", "transmat", "means", "covariances"),
        initial=HMMParams(np.array([1.0, 0.0]), transmat, emission),
    )
    params = HMMParams(np.array([1.0, 0.0]), transmat, emission)
    vector = model.pack(params)
    # 1 start + 3 transitions + 4 log weights + 2 states x (2 means x 2 + 2 x 3 Cholesky)
    assert vector.shape == (1 + 3 + 4 + 2 * (4 + 6),)
    restored = model.unpack(vector, params)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(
            getattr(restored.emission, name), getattr(emission, name), rtol=1e-12, atol=1e-14
        )
    moved = model.unpack(vector + 0.05, params)
    assert moved.transmat[1, 0] == 0.0 and moved.startprob[1] == 0.0
    # the weights are not learned: they come back exactly from a moved vector
    assert np.array_equal(moved.emission.weights, emission.weights)
    assert not np.allclose(moved.emission.means, emission.means)
