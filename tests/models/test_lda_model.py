"""The LDA model on the engine: scikit-learn agreement, the priors' M-steps, monotone bound."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from scipy.special import digamma, polygamma
from sklearn.decomposition import LatentDirichletAllocation as SklearnLDA

from emkit.core import fit_em
from emkit.datasets import load_kjv_chapters
from emkit.estimators._documents import document_chunks
from emkit.models._dirichlet import (
    dirichlet_objective,
    fit_dirichlet,
    fit_polya,
    polya_objective,
)
from emkit.models.lda import LDA, LDAParams


@pytest.fixture(scope="module")
def kjv():
    """The first 150 chapters of the KJV (Genesis to Leviticus 7), float counts."""
    return load_kjv_chapters().counts[:150].astype(np.float64)


class _SklearnFromOnes(SklearnLDA):
    """scikit-learn's LDA with its training E-step started at γ = 1, as its transform and
    emkit start: its default random γ start reaches other local optima of some
    documents, so identical initialisation needs the same γ start too."""

    def _e_step(self, X, cal_sstats, random_init, parallel=None):
        return super()._e_step(X, cal_sstats, False, parallel)


def _model(K, V, **kwargs):
    priors = LDAParams(None, np.full(K, 1.0 / K), np.full(V, 1.0 / K))
    return LDA(K, V, initial=priors, **kwargs)


def test_batch_fit_matches_scikit_learn_at_identical_initialisation(kjv):
    K, V, n_iter = 5, kjv.shape[1], 4
    tight = {"mean_change_tol": 1e-10, "max_doc_update_iter": 10_000}
    theirs = _SklearnFromOnes(
        K, max_iter=n_iter, learning_method="batch", random_state=0, evaluate_every=-1, **tight
    ).fit(kjv)
    # scikit-learn restarts every document's γ at every E-step: so does this fit
    model = _model(K, V, doc_warm_start=False, **tight)
    chunks = document_chunks(kjv.tocsr(), K, 40)
    result = fit_em(
        model,
        chunks,
        n_samples=kjv.sum(),
        max_iter=n_iter,
        tol=0.0,
        random_state=0,
        warn_not_converged=False,
    )
    np.testing.assert_allclose(result.params.topic_word, theirs.components_, rtol=1e-6)
    ours = sum(model.bound(result.params, c) for c in chunks) + model.log_prior(result.params)
    np.testing.assert_allclose(ours, theirs.score(kjv), rtol=1e-6)


def _minka_fixed_point(mean_log, alpha, n_iter=20_000):
    """Minka (2000) eq. 9, ψ(α_k) = ψ(Σα) + m_k, iterated; ψ⁻¹ by Newton (his appendix C)."""
    for _ in range(n_iter):
        y = digamma(alpha.sum()) + mean_log
        x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y - digamma(1.0)))
        for _ in range(5):
            x = x - (digamma(x) - y) / polygamma(1, x)
        alpha = x
    return alpha


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_doc_topic_prior_matches_minkas_fixed_point(seed):
    rng = np.random.default_rng(seed)
    true_alpha = rng.uniform(0.05, 2.0, 6)
    theta = rng.dirichlet(true_alpha, 500)
    mean_log = np.log(theta).mean(axis=0)
    newton = fit_dirichlet(mean_log, np.full(6, 0.1), symmetric=False)
    np.testing.assert_allclose(newton, _minka_fixed_point(mean_log, np.ones(6)), rtol=1e-8)
    # the symmetric case is the 1-D maximum along α = a 1
    symmetric = fit_dirichlet(mean_log, np.full(6, 0.1), symmetric=True)
    best = scipy.optimize.minimize_scalar(
        lambda a: -dirichlet_objective(np.full(6, a), mean_log),
        bounds=(1e-4, 10),
        method="bounded",
        options={"xatol": 1e-12},
    )
    np.testing.assert_allclose(symmetric, best.x, rtol=1e-6)
    assert np.all(symmetric == symmetric[0])


@pytest.mark.parametrize("symmetric", [True, False])
def test_learned_topic_word_prior_maximises_the_polya_likelihood(symmetric):
    rng = np.random.default_rng(3)
    counts = rng.gamma(0.5, 4.0, (4, 12))
    eta = fit_polya(counts, np.full(12, 1.0), symmetric=symmetric)
    if symmetric:
        best = scipy.optimize.minimize_scalar(
            lambda b: -polya_objective(np.full(12, b), counts),
            bounds=(1e-4, 100),
            method="bounded",
            options={"xatol": 1e-12},
        )
        np.testing.assert_allclose(eta, best.x, rtol=1e-6)
    else:
        best = scipy.optimize.minimize(
            lambda u: -polya_objective(np.exp(u), counts),
            np.zeros(12),
            method="BFGS",
            options={"gtol": 1e-10},
        )
        np.testing.assert_allclose(eta, np.exp(best.x), rtol=1e-4)
    assert polya_objective(eta, counts) >= polya_objective(np.ones(12), counts)


def test_m_step_of_alpha_is_minkas_update_of_the_e_steps_statistics(kjv):
    K, V = 4, kjv.shape[1]
    model = _model(K, V, learn=("topics", "doc_topic_prior"), symmetric_doc_topic_prior=False)
    chunks = document_chunks(kjv.tocsr(), K, None)
    params = model.init_params(chunks, np.random.RandomState(0))
    stats = sum(model.e_step(params, c)[0] for c in chunks)
    new = model.m_step(stats)
    reference = _minka_fixed_point(stats.log_theta / stats.n_documents, np.ones(K))
    np.testing.assert_allclose(new.doc_topic_prior, reference, rtol=1e-8)
    np.testing.assert_allclose(new.topic_word, params.topic_word_prior + stats.topic_term)


@pytest.mark.parametrize(
    "learn",
    [("topics",), ("topics", "doc_topic_prior"), ("topics", "doc_topic_prior", "topic_word_prior")],
)
@pytest.mark.parametrize("symmetric", [True, False])
def test_bound_never_decreases_with_warm_started_documents(kjv, learn, symmetric):
    """The engine raises LikelihoodDecreaseWarning (an error in the tests) if it does."""
    K, V = 8, kjv.shape[1]
    model = _model(
        K,
        V,
        learn=learn,
        symmetric_doc_topic_prior=symmetric,
        symmetric_topic_word_prior=symmetric,
    )
    chunks = document_chunks(kjv.tocsr(), K, None)
    result = fit_em(
        model,
        chunks,
        n_samples=kjv.sum(),
        max_iter=25,
        tol=0.0,
        random_state=1,
        warn_not_converged=False,
    )
    assert np.all(np.diff(result.lower_bounds) >= 0)
    if "doc_topic_prior" in learn and not symmetric:
        assert np.ptp(result.params.doc_topic_prior) > 0


def test_pack_and_unpack_are_inverse_and_keep_fixed_fields(kjv):
    K, V = 3, kjv.shape[1]
    model = _model(K, V, learn=("topics", "doc_topic_prior"), symmetric_doc_topic_prior=True)
    params = model.init_params([], np.random.RandomState(0))
    vector = model.pack(params)
    assert vector.shape == (K * V + 1,)
    back = model.unpack(vector, params)
    np.testing.assert_allclose(back.topic_word, params.topic_word, rtol=1e-14)
    np.testing.assert_allclose(back.doc_topic_prior, params.doc_topic_prior, rtol=1e-14)
    assert back.topic_word_prior is params.topic_word_prior
    with pytest.raises(ValueError, match="topic_word"):
        model.unpack(np.full_like(vector, 1e6), params)


def test_unknown_learn_names_and_missing_fixed_topics_are_refused():
    with pytest.raises(ValueError, match="unknown names"):
        LDA(2, 5, learn=("topics", "alpha"))
    with pytest.raises(ValueError, match=r"initial\.topic_word"):
        LDA(2, 5, learn=("doc_topic_prior",), initial=LDAParams(None, np.ones(2), np.ones(5)))
