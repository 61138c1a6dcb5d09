"""emkit's PLSA estimator: the dense reference EM, monotone objectives (plain,
tempered, MAP), chunks/threads/Dask, SQUAREM, partial_fit, empty documents, bad input
and scikit-learn's estimator checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit._kernels import _reference_plsa as reference
from emkit.core.monitor import ConvergenceWarning
from emkit.datasets import load_kjv_chapters
from emkit.estimators.plsa import PLSA
from emkit.models.plsa import EmptyTopicWarning


def topic_corpus(seed, n_docs=80, n_terms=40, K=3, length=50):
    """Documents drawn from PLSA's generative model with sparse proportions."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_terms, 0.2), K)
    theta = rng.dirichlet(np.full(K, 0.4), n_docs)
    counts = np.vstack([rng.multinomial(length, t @ beta) for t in theta])
    return sp.csr_matrix(counts), beta


@pytest.fixture(scope="module")
def kjv():
    """The first 150 chapters of the King James Bible (Genesis to Leviticus 7)."""
    return load_kjv_chapters().counts[:150].astype(np.float64)


def quiet(estimator, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **kwargs)


@pytest.mark.parametrize(
    ("tempering", "alpha", "eta"), [(1.0, 1.0, 1.0), (0.8, 1.0, 1.0), (1.0, 1.5, 1.2)]
)
def test_fit_matches_a_dense_numpy_em_from_the_same_start(tempering, alpha, eta):
    X, _ = topic_corpus(0, n_docs=30)
    start = np.random.default_rng(1).dirichlet(np.ones(X.shape[1]), 3)
    options = dict(tempering=tempering, doc_topic_prior=alpha, topic_word_prior=eta)
    # a tight inner tolerance for both: the reference's plain EM stops just inside it,
    # the kernel's Newton steps at rounding level
    options["doc_tol"] = 1e-12
    plsa = quiet(PLSA(3, components_init=start, max_iter=12, tol=0.0, **options), X)
    dense, doc_prior = X.toarray().astype(float), np.full(3, alpha - 1.0)
    beta, history = reference.fit(
        dense,
        start,
        n_iter=12,
        doc_prior=doc_prior,
        topic_word_prior=eta,
        tempering=tempering,
        tol=plsa.doc_tol,
    )
    np.testing.assert_allclose(plsa.components_, beta, rtol=1e-8, atol=1e-12)
    # the objectives: at topics equal to 1e-8, each within doc_tol of its maximum
    np.testing.assert_allclose(plsa.lower_bounds_ * X.sum(), history, rtol=1e-11)
    # log_likelihood_: the E-step's part (the documents' terms) at the fitted topics
    theta, _ = reference.solve_documents(dense, beta, doc_prior, tempering, plsa.doc_tol)
    final = reference.objectives(dense, theta, beta, doc_prior, tempering).sum()
    np.testing.assert_allclose(plsa.log_likelihood_, final, rtol=1e-11)
    assert np.all(np.diff(plsa.lower_bounds_) >= 0)


@pytest.mark.parametrize(
    "options",
    [{}, {"tempering": 0.6}, {"doc_topic_prior": 2.0, "topic_word_prior": 1.5}, {"n_init": 2}],
)
def test_objective_never_decreases(kjv, options):
    # LikelihoodDecreaseWarning is an error in the tests: the engine checks every step
    plsa = quiet(PLSA(8, max_iter=25, tol=0.0, random_state=0, **options), kjv)
    assert np.all(np.diff(plsa.lower_bounds_) >= 0)
    assert plsa.lower_bounds_[-1] > plsa.lower_bounds_[0]


def test_lower_bound_is_the_log_likelihood_per_word_and_score_agrees(kjv):
    plsa = quiet(PLSA(5, max_iter=10, tol=0.0, random_state=0), kjv)
    # ML without tempering: the objective is the log-likelihood at the solved θ
    np.testing.assert_allclose(plsa.score(kjv), plsa.log_likelihood_, rtol=1e-12)
    np.testing.assert_allclose(plsa.perplexity(kjv), np.exp(-plsa.log_likelihood_ / kjv.sum()))
    theta = plsa.transform(kjv)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    dense = reference.log_likelihoods(kjv.toarray(), theta, plsa.components_).sum()
    np.testing.assert_allclose(plsa.score(kjv), dense, rtol=1e-12)


def test_chunked_threaded_and_dask_fits_equal_the_in_memory_fit(kjv):
    da = pytest.importorskip("dask.array")
    base = dict(n_components=4, max_iter=8, tol=0.0, random_state=0, tempering=0.9)
    whole = quiet(PLSA(chunk_size=10_000, n_jobs=1, **base), kjv)
    chunked = quiet(PLSA(chunk_size=7, n_jobs=1, **base), kjv)
    threaded = quiet(PLSA(chunk_size=13, n_jobs=2, **base), kjv)
    same_chunks = quiet(PLSA(chunk_size=7, n_jobs=2, **base), kjv)
    blocks = da.from_array(kjv.toarray(), chunks=(45, -1)).map_blocks(sp.csr_matrix)
    on_dask = quiet(PLSA(**base), blocks)
    for other in (chunked, threaded, on_dask):
        # the chunks' statistics are added in another grouping: rounding only
        np.testing.assert_allclose(other.components_, whole.components_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(other.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.transform(blocks), whole.transform(kjv), atol=1e-9)
    np.testing.assert_allclose(on_dask.score(blocks), whole.score(kjv), rtol=1e-12)
    # the same chunks on any number of threads: the same numbers
    np.testing.assert_array_equal(same_chunks.components_, chunked.components_)
    np.testing.assert_array_equal(same_chunks.transform(kjv), chunked.transform(kjv))


def test_squarem_reaches_at_least_the_plain_fit():
    X, _ = topic_corpus(3)
    plain = quiet(PLSA(3, max_iter=40, tol=0.0, random_state=0), X)
    fast = quiet(PLSA(3, max_iter=40, tol=0.0, random_state=0, accelerate="squarem"), X)
    # a SQUAREM iteration is at least two EM steps, safeguarded never to fall below them
    assert fast.lower_bound_ >= plain.lower_bound_
    assert fast.n_e_steps_ > plain.n_e_steps_
    assert np.all(np.diff(fast.lower_bounds_) >= 0)


def test_tempering_changes_the_fit_and_its_objective():
    X, _ = topic_corpus(4)
    plain = quiet(PLSA(3, max_iter=30, random_state=0), X)
    tempered = quiet(PLSA(3, max_iter=30, random_state=0, tempering=0.7), X)
    assert np.all(np.diff(tempered.lower_bounds_) >= 0)
    # (1/b) log Σ x^b ≥ log Σ x for b < 1: the tempered objective lies above
    assert tempered.lower_bound_ > plain.lower_bound_
    # but the tempered topics explain the words less well
    assert tempered.score(X) < plain.score(X)
    assert not np.allclose(tempered.components_, plain.components_, atol=1e-3)


def test_map_priors_smooth_topics_and_proportions():
    X, _ = topic_corpus(5)
    ml = quiet(PLSA(3, max_iter=30, random_state=0), X)
    smooth = quiet(PLSA(3, max_iter=30, random_state=0, topic_word_prior=2.0), X)
    # maximum likelihood leaves topics with exact zeros, the prior none
    assert np.any(ml.components_ == 0) and np.all(smooth.components_ > 0)
    assert smooth.components_.min() > ml.components_.min()
    theta_ml = ml.transform(X)
    theta_map = quiet(PLSA(3, max_iter=30, random_state=0, doc_topic_prior=3.0), X).transform(X)
    assert np.any(theta_ml == 0) and np.all(theta_map > 0)

    def entropy(theta):
        return -np.sum(theta * np.log(np.where(theta > 0, theta, 1.0)), axis=1)

    assert entropy(theta_map).mean() > entropy(theta_ml).mean()
    # a word unseen in training: probability 0 under ML topics, positive with the prior
    unseen = sp.csr_matrix(X.toarray()[:, :-1])
    fitted = quiet(PLSA(3, max_iter=5, random_state=0), sp.hstack([unseen, sp.csr_matrix((80, 1))]))
    document = np.zeros((1, X.shape[1]))
    document[0, -1] = 1
    assert fitted.score(document) == -np.inf
    assert np.isfinite(smooth.score(document))


def test_empty_documents_add_nothing_and_get_the_prior_mode():
    X, _ = topic_corpus(6, n_docs=50)
    with_empty = sp.vstack([X[:20], sp.csr_matrix((3, X.shape[1])), X[20:]]).tocsr()
    a = quiet(PLSA(3, max_iter=10, tol=0.0, random_state=0), X)
    b = quiet(PLSA(3, max_iter=10, tol=0.0, random_state=0), with_empty)
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(b.transform(with_empty)[20:23], 1.0 / 3)
    np.testing.assert_allclose(b.score(with_empty), a.score(X), rtol=1e-12)
    prior = quiet(PLSA(3, max_iter=2, random_state=0, doc_topic_prior=[1.0, 2.0, 3.0]), X)
    np.testing.assert_allclose(prior.transform(with_empty)[20], [0.0, 1 / 3, 2 / 3])


def test_partial_fit_runs_online_em_and_improves():
    X, _ = topic_corpus(7, n_docs=400)
    # a topic-word prior: terms that the first batches lack keep a positive probability
    plsa = PLSA(3, random_state=0, topic_word_prior=1.01)
    scores = []
    for start in range(0, 400, 50):
        plsa.partial_fit(X[start : start + 50])
        scores.append(plsa.score(X[:100]))
    assert plsa.n_batch_iter_ == 8 and plsa.components_.shape == (3, 40)
    assert scores[-1] > scores[0]
    np.testing.assert_allclose(plsa.components_.sum(axis=1), 1.0)
    # without one, a later batch with a new term is impossible: a clear error
    first = sp.csr_matrix(np.array([[3, 1, 0], [0, 2, 0]]))
    ml = PLSA(2, random_state=0).partial_fit(first)
    with pytest.raises(ValueError, match=r"term 2.*topic_word_prior > 1"):
        ml.partial_fit(sp.csr_matrix(np.array([[0, 1, 4]])))


def test_hand_set_topics_make_a_usable_model_and_warm_start_continues():
    X, beta = topic_corpus(8)
    plsa = PLSA(3)
    plsa.components_ = beta
    theta = plsa.transform(X)
    assert theta.shape == (80, 3) and np.isfinite(plsa.score(X))
    first = quiet(PLSA(3, max_iter=5, tol=0.0, random_state=0, warm_start=True), X)
    before = first.lower_bound_
    quiet(first, X)
    assert first.lower_bounds_[0] >= before - 1e-12
    np.testing.assert_allclose(
        quiet(PLSA(3, max_iter=4, random_state=0), X).fit_transform(X),
        quiet(PLSA(3, max_iter=4, random_state=0), X).transform(X),
    )


def test_a_topic_no_document_uses_is_reported():
    X = sp.csr_matrix(np.array([[5, 0, 0], [0, 4, 0], [6, 0, 0]]))
    start = np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]])
    with pytest.warns(EmptyTopicWarning, match="no document uses"):
        quiet(PLSA(3, components_init=start, max_iter=3), X)


def test_bad_input_gets_clear_errors():
    X, _ = topic_corpus(9, n_docs=30)
    plsa = quiet(PLSA(2, max_iter=3, random_state=0), X)
    negative = X.toarray()
    negative[4, 2] = -1
    with pytest.raises(ValueError, match="negative"):
        PLSA(2).fit(negative)
    with pytest.raises(ValueError, match="integer"):
        PLSA(2).fit(X.toarray() + 0.5)
    with pytest.raises(ValueError, match="40"):
        plsa.transform(X[:, :30])
    with pytest.raises(ValueError, match="no words"):
        PLSA(2).fit(sp.csr_matrix((5, 10)))
    for value in (0.0, 1.5, -1.0):
        with pytest.raises(ValueError, match="tempering"):
            PLSA(2, tempering=value).fit(X)
    with pytest.raises(ValueError, match="doc_topic_prior must be at least 1"):
        PLSA(2, doc_topic_prior=0.5).fit(X)
    with pytest.raises(ValueError, match="topic_word_prior must be at least 1"):
        PLSA(2, topic_word_prior=0.1).fit(X)
    with pytest.raises(ValueError, match=r"topic_word_prior must be a number or an array"):
        PLSA(2, topic_word_prior=np.ones(3)).fit(X)
    with pytest.raises(ValueError, match=r"doc_topic_prior must be a number or an array"):
        PLSA(2, doc_topic_prior=np.ones(3)).fit(X)
    with pytest.raises(ValueError, match="sum to 1"):
        PLSA(2, components_init=np.ones((2, 40))).fit(X)
    with pytest.raises(ValueError, match="components_ must have shape"):
        plsa.components_ = np.full((3, 40), 1 / 40)


@pytest.mark.slow
def test_kjv_twenty_topics_converges_monotonically_with_few_inner_iterations():
    X = load_kjv_chapters().counts
    plsa = PLSA(20, random_state=0).fit(X)  # every decrease would be an error here
    assert plsa.converged_ and plsa.n_iter_ < 150
    assert np.all(np.diff(plsa.lower_bounds_) >= 0)
    from emkit.models._documents import DocumentChunk

    inner = plsa.model_.inner_iterations(plsa.params_, DocumentChunk.from_matrix(X))
    assert inner.max() < plsa.max_doc_update_iter / 2


@parametrize_with_checks(
    [PLSA(2, max_iter=5, random_state=0)],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", EmptyTopicWarning)
        check(estimator)
