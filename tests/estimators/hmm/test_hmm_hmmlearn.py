"""Agreement with hmmlearn 0.3 at identical initialisation.

Both libraries start from the same parameters and run 30 EM iterations (hmmlearn with
``init_params=""`` so it keeps ours, ``tol=-inf`` so it never stops early, and no
priors or covariance floors: ``covars_prior=0``, ``means_weight=0``, ``min_covar`` is
only used by its own initialisation). Then the total log-likelihoods agree to 1e-6
relative (in practice to ~1e-14), Viterbi paths are identical and posteriors and
parameters agree.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

from emkit import CategoricalHMM, GaussianHMM, PoissonHMM  # noqa: E402

logging.getLogger("hmmlearn").setLevel(logging.ERROR)

N_ITER = 30
K = 3
LENGTHS = [200, 150, 250]


def _gaussian_data():
    rng = np.random.RandomState(2)
    truth = hmmlearn_hmm.GaussianHMM(K, covariance_type="full", init_params="")
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    truth.means_ = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 3.0]])
    truth.covars_ = np.array([np.eye(2) * s for s in (1.0, 0.5, 2.0)])
    X, _ = truth.sample(sum(LENGTHS), random_state=rng)
    return X


def _start(rng):
    startprob = np.array([0.4, 0.35, 0.25])
    transmat = rng.dirichlet(5 * np.ones(K), size=K)
    return startprob, transmat


def _fit_both(ours, theirs, X):
    theirs.fit(X, LENGTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 30 iterations: expected
        ours.fit(X, LENGTHS)
    return ours, theirs


def _assert_agree(ours, theirs, X):
    ll_ours, ll_theirs = ours.score(X, LENGTHS), theirs.score(X, LENGTHS)
    assert ll_ours == pytest.approx(ll_theirs, rel=1e-6)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    np.testing.assert_allclose(
        ours.predict_proba(X, LENGTHS), theirs.predict_proba(X, LENGTHS), atol=1e-8
    )
    np.testing.assert_allclose(ours.startprob_, theirs.startprob_, atol=1e-8)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, atol=1e-8)
    # 30 iterations, or fewer when the objective repeats exactly (a fixed point of EM)
    assert ours.n_iter_ == N_ITER or ours.converged_
    return ll_ours, ll_theirs


@pytest.mark.parametrize("covariance_type", ["diag", "full", "spherical", "tied"])
def test_gaussian_hmm_agrees_with_hmmlearn(covariance_type):
    X = _gaussian_data()
    startprob, transmat = _start(np.random.RandomState(0))
    means = X[[5, 250, 500]] + 0.1
    covariances = {
        "diag": np.full((K, 2), 1.5),
        "full": np.array([np.eye(2) * 1.5] * K),
        "spherical": np.full(K, 1.5),
        "tied": np.eye(2) * 1.5,
    }[covariance_type]
    theirs = hmmlearn_hmm.GaussianHMM(
        K,
        covariance_type=covariance_type,
        n_iter=N_ITER,
        tol=-np.inf,
        init_params="",
        covars_prior=0.0,
        covars_weight=1.0,
        means_weight=0.0,
    )
    theirs.startprob_, theirs.transmat_, theirs.means_ = startprob, transmat, means
    theirs.covars_ = covariances
    ours = GaussianHMM(
        K,
        covariance_type=covariance_type,
        reg_covar=0.0,
        startprob_init=startprob,
        transmat_init=transmat,
        means_init=means,
        covariances_init=covariances,
        max_iter=N_ITER,
        tol=0.0,
    )
    _fit_both(ours, theirs, X)
    _assert_agree(ours, theirs, X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)
    # hmmlearn's covars_ are full matrices; its _covars_ has our shapes (spherical: tiled)
    their_covariances = theirs._covars_
    if covariance_type == "spherical":
        their_covariances = their_covariances.reshape(K, -1)[:, 0]
    np.testing.assert_allclose(ours.covariances_, their_covariances, rtol=1e-8)


def test_categorical_hmm_agrees_with_hmmlearn():
    rng = np.random.RandomState(3)
    emission = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.2, 0.6]])
    truth = hmmlearn_hmm.CategoricalHMM(K, init_params="")
    truth.startprob_ = np.full(K, 1 / K)
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    truth.emissionprob_ = emission
    X, _ = truth.sample(sum(LENGTHS), random_state=rng)
    startprob, transmat = _start(np.random.RandomState(1))
    emission0 = np.random.RandomState(4).dirichlet(np.ones(4), size=K)
    theirs = hmmlearn_hmm.CategoricalHMM(K, n_iter=N_ITER, tol=-np.inf, init_params="")
    theirs.startprob_, theirs.transmat_, theirs.emissionprob_ = startprob, transmat, emission0
    ours = CategoricalHMM(
        K,
        startprob_init=startprob,
        transmat_init=transmat,
        emissionprob_init=emission0,
        max_iter=N_ITER,
        tol=0.0,
    )
    _fit_both(ours, theirs, X)
    _assert_agree(ours, theirs, X)
    np.testing.assert_allclose(ours.emissionprob_, theirs.emissionprob_, atol=1e-8)


def test_poisson_hmm_agrees_with_hmmlearn():
    rng = np.random.RandomState(5)
    truth = hmmlearn_hmm.PoissonHMM(K, init_params="")
    truth.startprob_ = np.full(K, 1 / K)
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    truth.lambdas_ = np.array([[1.0, 8.0], [5.0, 2.0], [15.0, 15.0]])
    X, _ = truth.sample(sum(LENGTHS), random_state=rng)
    startprob, transmat = _start(np.random.RandomState(2))
    rates0 = np.array([[2.0, 5.0], [6.0, 3.0], [10.0, 10.0]])
    theirs = hmmlearn_hmm.PoissonHMM(K, n_iter=N_ITER, tol=-np.inf, init_params="")
    theirs.startprob_, theirs.transmat_, theirs.lambdas_ = startprob, transmat, rates0
    ours = PoissonHMM(
        K,
        startprob_init=startprob,
        transmat_init=transmat,
        rates_init=rates0,
        max_iter=N_ITER,
        tol=0.0,
    )
    _fit_both(ours, theirs, X)
    _assert_agree(ours, theirs, X)
    np.testing.assert_allclose(ours.rates_, theirs.lambdas_, rtol=1e-8)
