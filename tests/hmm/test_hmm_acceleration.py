"""SQUAREM for hidden Markov models (issue 5): fewer E-steps, never worse, zeros kept."""

import numpy as np
import pytest

import emkit
from emkit.families import PoissonFamily
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


def test_gmm_emission_has_no_squarem():
    X = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(TypeError, match="SQUAREM"):
        emkit.GMMHMM(2, n_mix=2, accelerate="squarem", random_state=0).fit(X)
