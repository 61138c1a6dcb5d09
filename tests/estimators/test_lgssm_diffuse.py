"""initial_state="diffuse": the exact diffuse filter, smoother and EM against statsmodels'
exact diffuse initialisation (the Nile, a multivariate model, a local linear trend) and
against the limit of a Gaussian start whose variance grows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import emkit
from _lgssm_testing import random_params, simulate
from emkit.models.lgssm import LGSSM, LGSSMChunk

sm = pytest.importorskip("statsmodels.api")
NILE_LEARN = ("transition_covariance", "observation_covariance")


@pytest.fixture(scope="module")
def flow():
    return emkit.datasets.load_nile().data[:, 1:]


def _local_level(**kwargs):
    return emkit.LinearGaussianSSM(
        1,
        initial_state="diffuse",
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        **kwargs,
    )


def test_nile_log_likelihood_equals_statsmodels_exact_diffuse(flow):
    # Durbin & Koopman's MLE variances, set by hand (no fit)
    model = _local_level(learn=NILE_LEARN)
    model.n_features_in_ = 1
    model.transition_matrix_ = np.ones((1, 1))
    model.observation_matrix_ = np.ones((1, 1))
    model.transition_covariance_ = np.array([[1469.1]])
    model.observation_covariance_ = np.array([[15099.0]])
    model.initial_state_mean_ = np.zeros(1)
    model.initial_state_covariance_ = np.eye(1)
    peer = sm.tsa.UnobservedComponents(flow[:, 0], "local level", use_exact_diffuse=True)
    result = peer.smooth([15099.0, 1469.1])
    assert model.score(flow) == pytest.approx(result.llf, rel=1e-12)
    level, variance = model.smooth(flow)
    np.testing.assert_allclose(level[:, 0], result.smoothed_state[0], rtol=1e-12)
    np.testing.assert_allclose(variance[:, 0, 0], result.smoothed_state_cov[0, 0], rtol=1e-10)


def test_nile_em_reaches_the_diffuse_maximum(flow):
    model = _local_level(learn=NILE_LEARN, tol=1e-12, max_iter=5000).fit(flow)
    assert model.converged_ and model.learned_ == NILE_LEARN
    assert np.all(np.diff(model.trace_["log_likelihood"]) >= -1e-9)
    r, q = model.observation_covariance_[0, 0], model.transition_covariance_[0, 0]
    peer = sm.tsa.UnobservedComponents(flow[:, 0], "local level", use_exact_diffuse=True)
    assert model.log_likelihood_ == pytest.approx(peer.loglike([r, q]), rel=1e-12)
    # at least as high as statsmodels' own maximisation (which stops a little short)
    assert model.log_likelihood_ >= peer.fit(disp=0).llf - 1e-9
    assert r == pytest.approx(15099, rel=1e-3) and q == pytest.approx(1469.1, rel=1e-3)


def test_default_learn_drops_the_initial_mean_and_refuses_it_when_named(flow):
    model = _local_level().fit(flow)
    assert "initial_state_mean" not in model.learned_
    with pytest.raises(ValueError, match="diffuse"):
        _local_level(learn=("initial_state_mean", "transition_covariance")).fit(flow)


def _statsmodels_smoother(params, X):
    from statsmodels.tsa.statespace.kalman_smoother import KalmanSmoother

    A, _, C, _, Q, R, _, _ = params.kernel_arguments()
    smoother = KalmanSmoother(
        k_endog=C.shape[0],
        k_states=A.shape[0],
        design=C,
        obs_cov=R,
        transition=A,
        selection=np.eye(A.shape[0]),
        state_cov=Q,
    )
    smoother.bind(np.asfortranarray(X.T))
    smoother.initialize_diffuse()
    return smoother.smooth()


CASES = {
    # (k, p, fraction missing): diffuse period of one step (p >= k), and of several
    "two-states-three-series": (2, 3, 0.0),
    "three-states-one-series": (3, 1, 0.0),
    "missing-values": (2, 2, 0.1),
}


@pytest.mark.parametrize("case", CASES)
def test_multivariate_filter_and_smoother_equal_statsmodels(case):
    k, p, missing = CASES[case]
    rng = np.random.RandomState(4)
    params = random_params(rng, k, p)
    params = dataclasses.replace(params, observation_covariance=np.diag(rng.uniform(0.3, 1, p)))
    X, U = simulate(params, [80], rng, missing=missing)
    X[:3, :] = np.where(np.isnan(X[:3]), 0.5, X[:3])  # the first steps observed
    chunk = LGSSMChunk.from_arrays(X)
    model = LGSSM(k, p, learn=(), initial=params, initial_state="diffuse")
    filtered, smoothed = model.smooth(params, chunk)
    peer = _statsmodels_smoother(params, X)
    assert filtered.log_likelihoods.sum() == pytest.approx(peer.llf_obs.sum(), rel=1e-10)
    np.testing.assert_allclose(smoothed.smoothed_means, peer.smoothed_state.T, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(
        smoothed.smoothed_covariances,
        np.transpose(peer.smoothed_state_cov, (2, 0, 1)),
        rtol=1e-8,
        atol=1e-8,
    )
    # the E-step's moments are those of this smoother, and its log-likelihood the filter's
    stats, loglik = model.e_step(params, chunk)
    assert loglik == pytest.approx(filtered.log_likelihoods.sum(), rel=1e-13)
    from emkit._kernels.kalman import expected_statistics

    moments = expected_statistics(
        X,
        U,
        chunk.offsets,
        params.observation_matrix,
        params.control_observation_matrix,
        params.observation_covariance,
        smoothed,
    )
    for name, value in moments.items():
        np.testing.assert_allclose(getattr(stats, name), value, rtol=1e-10, atol=1e-9)


def test_diffuse_is_the_limit_of_a_widening_gaussian_start():
    # full R (whitened before the univariate steps), controls, two sequences: the diffuse
    # E-step is the limit of the Gaussian one with P0 = kappa I, and the diffuse
    # log-likelihood that of log p(x) + (n_sequences k / 2) log kappa
    rng = np.random.RandomState(2)
    k, p, m, lengths = 2, 3, 1, [50, 30]
    params = random_params(rng, k, p, m)
    X, U = simulate(params, lengths, rng, missing=0.1)
    chunk = LGSSMChunk.from_arrays(X, U, lengths)
    stats, loglik = LGSSM(k, p, m, learn=(), initial=params, initial_state="diffuse").e_step(
        params, chunk
    )
    kappa = 1e8
    wide = dataclasses.replace(
        params, initial_state_mean=np.zeros(k), initial_state_covariance=kappa * np.eye(k)
    )
    limit, wide_loglik = LGSSM(k, p, m, learn=(), initial=wide).e_step(wide, chunk)
    assert loglik == pytest.approx(wide_loglik + len(lengths) * k / 2 * np.log(kappa), rel=1e-7)
    for name in ("sum_zz", "sum_zz_cross", "sum_zz_prev", "sum_zz_next", "sum_xz", "sum_zu_prev"):
        np.testing.assert_allclose(
            getattr(stats, name), getattr(limit, name), rtol=1e-5, err_msg=name
        )


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_multivariate_em_is_monotone_and_scores_as_statsmodels():
    rng = np.random.RandomState(9)
    params = random_params(rng, 2, 3)
    params = dataclasses.replace(params, observation_covariance=np.diag([0.4, 0.6, 0.5]))
    X, _ = simulate(params, [300], rng)
    model = emkit.LinearGaussianSSM(
        2, initial_state="diffuse", observation_covariance_type="diag", max_iter=30, tol=0
    ).fit(X)
    assert np.all(np.diff(model.trace_["log_likelihood"]) >= -1e-9)
    peer = _statsmodels_smoother(model.params_, X)
    assert model.score(X) == pytest.approx(peer.llf_obs.sum(), rel=1e-10)


def test_a_state_the_data_do_not_determine_is_refused():
    rng = np.random.RandomState(3)
    params = random_params(rng, 2, 1)
    # a random walk of two states of which only the first is ever observed
    params = dataclasses.replace(
        params, transition_matrix=np.eye(2), observation_matrix=np.array([[1.0, 0.0]])
    )
    X, _ = simulate(params, [20], rng)
    model = LGSSM(2, 1, learn=(), initial=params, initial_state="diffuse")
    with pytest.raises(ValueError, match="do not determine its initial state"):
        model.e_step(params, LGSSMChunk.from_arrays(X))
    # two series determine two states in one step, but not a sequence of length one
    params = random_params(rng, 2, 2)
    X, _ = simulate(params, [20], rng)
    model = emkit.LinearGaussianSSM(2, initial_state="diffuse", max_iter=2)
    with pytest.raises(ValueError, match="sequence 1"):
        model.fit(X, lengths=[19, 1])
