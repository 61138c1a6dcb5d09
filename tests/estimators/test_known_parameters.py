"""Models from known parameters: every estimator is usable without fit once its
parameters are set, as hmmlearn's and pykalman's users expect (issue 10, defect 2)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import emkit
from emkit import GaussianHMM, GaussianMixture, KMeans, LinearGaussianSSM, PoissonHMM

# hmmlearn's tutorial model ("Building HMM and generating samples")
STARTPROB = np.array([0.6, 0.3, 0.1, 0.0])
TRANSMAT = np.array(
    [[0.7, 0.2, 0.0, 0.1], [0.3, 0.5, 0.2, 0.0], [0.0, 0.3, 0.5, 0.2], [0.2, 0.0, 0.2, 0.6]]
)
MEANS = np.array([[0.0, 0.0], [0.0, 11.0], [9.0, 10.0], [11.0, -1.0]])
COVARS = 0.5 * np.tile(np.identity(2), (4, 1, 1))


def _tutorial_model():
    model = GaussianHMM(n_components=4, covariance_type="full", random_state=0)
    model.startprob_ = STARTPROB
    model.transmat_ = TRANSMAT
    model.means_ = MEANS
    model.covariances_ = COVARS
    return model


def test_gaussian_hmm_from_hmmlearns_tutorial_parameters_gives_hmmlearns_results():
    hmm = pytest.importorskip("hmmlearn.hmm")
    theirs = hmm.GaussianHMM(n_components=4, covariance_type="full")
    theirs.startprob_, theirs.transmat_, theirs.means_, theirs.covars_ = (
        STARTPROB,
        TRANSMAT,
        MEANS,
        COVARS,
    )
    X, _ = theirs.sample(500, random_state=1)
    ours = _tutorial_model()
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    their_log_prob, their_path = theirs.decode(X)
    our_log_prob, our_path = ours.decode(X)
    np.testing.assert_array_equal(our_path, their_path)
    assert our_log_prob == pytest.approx(their_log_prob, rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)


def test_a_model_from_known_parameters_samples_and_saves(tmp_path):
    model = _tutorial_model()
    X, states = model.sample(200)
    assert X.shape == (200, 2) and states.shape == (200,)
    assert model.n_features_in_ == 2
    loaded = emkit.load(emkit.save(model, tmp_path / "tutorial.npz"))
    assert loaded.score(X) == model.score(X)
    # a model from known parameters warm-starts fit from them
    model.set_params(warm_start=True, max_iter=3, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        model.fit(X)
    assert model.score(X) >= loaded.score(X)


def test_until_every_parameter_is_set_the_error_names_the_missing_ones():
    model = GaussianHMM(n_components=4, covariance_type="full")
    model.startprob_ = STARTPROB
    model.means_ = MEANS
    with pytest.raises(NotFittedError, match=r"transmat_, covariances_"):
        model.sample(10)
    assert not hasattr(model, "transmat_")
    np.testing.assert_array_equal(model.means_, MEANS)


def test_state_space_model_from_known_matrices_filters_as_pykalman_and_statsmodels():
    pykalman = pytest.importorskip("pykalman")
    sm = pytest.importorskip("statsmodels.api")
    flow = emkit.datasets.load_nile().data[:, 1:]
    sigma_eps, sigma_eta, m0, p0 = 15099.0, 1469.1, 1120.0, 1e4
    model = LinearGaussianSSM(1)
    model.transition_matrix_ = [[1.0]]
    model.observation_matrix_ = [[1.0]]
    model.transition_covariance_ = [[sigma_eta]]
    model.observation_covariance_ = [[sigma_eps]]
    model.initial_state_mean_ = [m0]
    model.initial_state_covariance_ = [[p0]]
    theirs = pykalman.KalmanFilter(
        transition_matrices=[[1.0]],
        observation_matrices=[[1.0]],
        transition_covariance=[[sigma_eta]],
        observation_covariance=[[sigma_eps]],
        initial_state_mean=[m0],
        initial_state_covariance=[[p0]],
    )
    for ours, (mean, cov) in (
        (model.filter(flow), theirs.filter(flow)),
        (model.smooth(flow), theirs.smooth(flow)),
    ):
        np.testing.assert_allclose(ours[0], mean, rtol=1e-10)
        np.testing.assert_allclose(ours[1], cov, rtol=1e-10)
    assert model.score(flow) == pytest.approx(theirs.loglikelihood(flow), rel=1e-10)
    # statsmodels' local-level model with the same known start
    # (its default burn-in would leave the first observation out of the likelihood)
    peer = sm.tsa.UnobservedComponents(flow[:, 0], level="local level", loglikelihood_burn=0)
    peer.ssm.initialize_known(np.array([m0]), np.array([[p0]]))
    result = peer.smooth([sigma_eps, sigma_eta])
    np.testing.assert_allclose(model.filter(flow)[0][:, 0], result.filtered_state[0], rtol=1e-9)
    np.testing.assert_allclose(model.smooth(flow)[0][:, 0], result.smoothed_state[0], rtol=1e-9)
    assert model.score(flow) == pytest.approx(result.llf, rel=1e-10)
    means, _ = model.forecast(flow, 3)
    np.testing.assert_allclose(means[:, 0], model.filter(flow)[0][-1, 0], rtol=1e-12)


def test_gaussian_mixture_scores_with_hand_set_parameters():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [5.0, 5.0]])
    model = GaussianMixture(2)
    model.weights_ = [0.25, 0.75]
    model.means_ = [[0.0, 0.0], [5.0, 5.0]]
    model.covariances_ = np.stack([np.eye(2), 2 * np.eye(2)])
    from scipy.stats import multivariate_normal

    expected = np.log(
        0.25 * multivariate_normal([0, 0], np.eye(2)).pdf(X)
        + 0.75 * multivariate_normal([5, 5], 2 * np.eye(2)).pdf(X)
    )
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-12)
    assert model.predict(X).tolist() == [0, 0, 1]
    assert model.sample(5)[0].shape == (5, 2)


def test_kmeans_and_count_models_from_known_parameters():
    centres = KMeans(2)
    centres.cluster_centers_ = [[0.0, 0.0], [10.0, 10.0]]
    assert centres.predict([[1.0, 1.0], [9.0, 8.0]]).tolist() == [0, 1]
    poisson = PoissonHMM(2)
    poisson.startprob_ = [0.5, 0.5]
    poisson.transmat_ = [[0.9, 0.1], [0.1, 0.9]]
    poisson.rates_ = [[1.0], [20.0]]
    counts, states = poisson.sample(100)
    assert poisson.predict(counts).tolist() == states.tolist()


def test_unfitted_estimators_still_raise_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GaussianHMM(2).score(np.zeros((3, 1)))
    with pytest.raises(NotFittedError, match="transition_matrix_"):
        LinearGaussianSSM(1).filter(np.zeros((3, 1)))
