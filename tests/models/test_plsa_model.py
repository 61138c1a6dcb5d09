"""The PLSA model on the engine: E-step and M-step against the dense definitions, the
tempered and MAP objectives, SQUAREM's parametrisation, and bad values."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from emkit._kernels import _reference_plsa as reference
from emkit.core import fit_em
from emkit.estimators._documents import document_chunks
from emkit.models._documents import DocumentChunk
from emkit.models.plsa import (
    PLSA,
    EmptyTopicWarning,
    ImpossibleDocumentError,
    PLSAParams,
    PLSAStats,
)


def corpus(seed, n_docs=30, n_terms=25, K=3, length=40):
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_terms, 0.3), K)
    theta = rng.dirichlet(np.full(K, 0.5), n_docs)
    X = np.array([rng.multinomial(length, t @ beta) for t in theta], dtype=np.float64)
    return X, beta


def chunk_of(X, first_row=0):
    return DocumentChunk.from_matrix(sp.csr_matrix(X), first_row)


@pytest.mark.parametrize(("tempering", "alpha", "eta"), [(1.0, 1.0, 1.0), (0.75, 1.5, 1.2)])
def test_e_step_m_step_and_log_prior_are_the_dense_definitions(tempering, alpha, eta):
    X, beta = corpus(0)
    model = PLSA(3, X.shape[1], tempering=tempering, doc_topic_prior=alpha, topic_word_prior=eta)
    params = PLSAParams(beta)
    stats, objective = model.e_step(params, chunk_of(X))
    theta = model.doc_topic(params, chunk_of(X))
    prior = np.full(3, alpha - 1.0)
    np.testing.assert_allclose(
        objective, reference.objectives(X, theta, beta, prior, tempering).sum(), rtol=1e-13
    )
    np.testing.assert_allclose(
        stats.topic_term, reference.expected_counts(X, theta, beta, tempering), rtol=1e-12
    )
    assert np.all(reference.frank_wolfe_gaps(X, theta, beta, prior, tempering) <= 1e-8)
    new = model.m_step(stats).topic_word
    counts = stats.topic_term + (eta - 1.0)
    np.testing.assert_allclose(new, counts / counts.sum(axis=1, keepdims=True), rtol=1e-14)
    expected_prior = (eta - 1.0) * np.log(beta).sum()
    np.testing.assert_allclose(model.log_prior(params), expected_prior, rtol=1e-14, atol=0)
    # score's log-likelihood: untempered, without prior terms, at the same θ
    np.testing.assert_allclose(
        model.log_likelihood(params, chunk_of(X)),
        reference.log_likelihoods(X, theta, beta).sum(),
        rtol=1e-13,
    )


def test_m_step_maximises_the_expected_complete_objective():
    """β = M(N) beats random perturbations on Σ_kv (N_kv + η − 1) log β_kv."""
    X, beta = corpus(1)
    model = PLSA(3, X.shape[1], topic_word_prior=1.3)
    stats, _ = model.e_step(PLSAParams(beta), chunk_of(X))
    best = model.m_step(stats).topic_word
    weights = stats.topic_term + 0.3

    def q(topics):
        return float((weights * np.log(topics)).sum())

    rng = np.random.default_rng(0)
    for _ in range(20):
        other = best * np.exp(0.05 * rng.standard_normal(best.shape))
        assert q(other / other.sum(axis=1, keepdims=True)) < q(best)


def test_fit_on_the_engine_is_the_dense_em_and_never_decreases():
    X, _ = corpus(2)
    model = PLSA(3, X.shape[1], tempering=0.9, doc_topic_prior=1.2, topic_word_prior=1.1)
    start = model.init_params([], np.random.RandomState(0))
    chunks = document_chunks(sp.csr_matrix(X), 3, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_em(
            model,
            chunks,
            n_samples=X.sum(),
            max_iter=15,
            tol=0.0,
            start_params=start,
            warn_not_converged=False,
        )
    beta, history = reference.fit(
        X,
        start.topic_word,
        n_iter=15,
        doc_prior=np.full(3, 0.2),
        topic_word_prior=1.1,
        tempering=0.9,
        tol=model.doc_tol,
    )
    np.testing.assert_allclose(result.params.topic_word, beta, rtol=1e-8, atol=1e-12)
    # both inner solves are certified within doc_tol per word (plus pseudo-count)
    words = X.sum() + X.shape[0] * 3 * 0.2
    np.testing.assert_allclose(
        result.lower_bounds * X.sum(), history, rtol=0, atol=2 * model.doc_tol * words
    )
    assert np.all(np.diff(result.lower_bounds) >= 0)


def test_init_params_draws_rows_of_the_simplex_or_takes_initial():
    model = PLSA(4, 9)
    a = model.init_params([], np.random.RandomState(3)).topic_word
    b = model.init_params([], np.random.RandomState(3)).topic_word
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 9) and np.all(a > 0)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    given = np.full((4, 9), 1 / 9)
    fixed = PLSA(4, 9, initial=PLSAParams(given), learn=())
    np.testing.assert_array_equal(fixed.init_params([], np.random.RandomState(0)).topic_word, given)
    # topics not learned stay: the M-step and unpack return them
    stats = PLSAStats(np.ones((4, 9)))
    np.testing.assert_array_equal(fixed.m_step(stats).topic_word, given)
    assert fixed.log_prior(PLSAParams(given)) == 0.0


def test_pack_and_unpack_are_inverse_also_with_zeros():
    X, beta = corpus(3)
    model = PLSA(3, X.shape[1])
    beta = beta.copy()
    beta[0, :3] = 0.0
    beta /= beta.sum(axis=1, keepdims=True)
    vector = model.pack(PLSAParams(beta))
    assert vector.shape == (beta.size,) and np.all(np.isfinite(vector))
    back = model.unpack(vector, PLSAParams(beta)).topic_word
    np.testing.assert_allclose(back, beta, rtol=1e-14, atol=1e-300)
    # any vector unpacks to topics (SQUAREM's extrapolations)
    shifted = model.unpack(
        vector + 3.0 * np.random.default_rng(0).standard_normal(vector.size), None
    )
    np.testing.assert_allclose(shifted.topic_word.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="not finite"):
        model.unpack(np.full(vector.size, np.nan), None)


def test_statistics_are_additive_and_the_model_pickles():
    X, beta = corpus(4)
    model = PLSA(3, X.shape[1], doc_topic_prior=2.0)
    params = PLSAParams(beta)
    whole, value = model.e_step(params, chunk_of(X))
    first, a = model.e_step(params, chunk_of(X[:11]))
    second, b = model.e_step(params, chunk_of(X[11:], 11))
    np.testing.assert_allclose((first + second).topic_term, whole.topic_term, rtol=1e-13)
    np.testing.assert_allclose(a + b, value, rtol=1e-13)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._tables_cache is None
    np.testing.assert_array_equal(copy.e_step(params, chunk_of(X))[0].topic_term, whole.topic_term)


def test_empty_documents_get_the_prior_mode():
    X, beta = corpus(5, n_docs=5)
    X[1] = 0
    uniform = PLSA(3, X.shape[1]).doc_topic(PLSAParams(beta), chunk_of(X))
    np.testing.assert_array_equal(uniform[1], np.full(3, 1 / 3))
    prior = PLSA(3, X.shape[1], doc_topic_prior=[1.0, 2.0, 4.0])
    np.testing.assert_allclose(prior.doc_topic(PLSAParams(beta), chunk_of(X))[1], [0, 0.25, 0.75])


def test_impossible_documents_and_empty_topics():
    X, beta = corpus(6, n_docs=8)
    beta = beta.copy()
    beta[:, 4] = 0.0
    beta /= beta.sum(axis=1, keepdims=True)
    X[:, 4] = 0
    X[5, 4] = 1
    model = PLSA(3, X.shape[1])
    with pytest.raises(ImpossibleDocumentError, match="document 105 has term 4"):
        model.e_step(PLSAParams(beta), chunk_of(X, first_row=100))
    assert model.log_likelihood(PLSAParams(beta), chunk_of(X)) == -np.inf
    assert np.all(np.isfinite(model.doc_topic(PLSAParams(beta), chunk_of(X))))
    counts = np.ones((3, X.shape[1]))
    counts[1] = 0.0
    with pytest.warns(EmptyTopicWarning, match=r"topics \[1\]"):
        topics = model.m_step(PLSAStats(counts)).topic_word
    np.testing.assert_allclose(topics[1], 1 / X.shape[1])


def test_too_few_inner_iterations_warn():
    X, beta = corpus(7)
    model = PLSA(3, X.shape[1], max_doc_update_iter=2)
    with pytest.warns(UserWarning, match="did not reach doc_tol"):
        model.e_step(PLSAParams(beta), chunk_of(X))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tempering": 0.0}, r"tempering must be in \(0, 1\]"),
        ({"tempering": 1.5}, r"tempering must be in \(0, 1\]"),
        ({"doc_topic_prior": 0.5}, "doc_topic_prior must be at least 1.*boundary"),
        ({"topic_word_prior": [1.0, 0.9, 1.0, 1.0, 1.0]}, "topic_word_prior must be at least 1"),
        ({"doc_topic_prior": [1.0, 2.0]}, r"one entry per topic, shape \(3,\)"),
        ({"topic_word_prior": np.nan}, "finite"),
        ({"learn": ("topics", "priors")}, "unknown"),
        ({"learn": ()}, "initial.topic_word must be given"),
        ({"doc_tol": -1.0}, "doc_tol"),
        ({"max_doc_update_iter": 0}, "max_doc_update_iter"),
    ],
)
def test_bad_values_are_refused_with_the_reason(options, message):
    with pytest.raises(ValueError, match=message):
        PLSA(3, 5, **options)
