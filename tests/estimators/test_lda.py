"""emkit.LatentDirichletAllocation: scikit-learn agreement, chunks/threads/Dask, online,
learned priors, bad input and scikit-learn's estimator checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import LatentDirichletAllocation as SklearnLDA
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit import LatentDirichletAllocation
from emkit.core.monitor import ConvergenceWarning
from emkit.datasets import load_kjv_chapters
from emkit.topics import completion_perplexity, split_documents


def topic_corpus(seed, n_docs=120, n_terms=50, K=3, length=60):
    """Documents drawn from LDA itself: (counts csr, true topic-word probabilities)."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_terms, 0.1), K)
    theta = rng.dirichlet(np.full(K, 0.3), n_docs)
    counts = np.vstack([rng.multinomial(length, t @ beta) for t in theta])
    return sp.csr_matrix(counts), beta


@pytest.fixture(scope="module")
def kjv():
    return load_kjv_chapters().counts[:200].astype(np.float64)


def quiet(estimator, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **kwargs)


class _SklearnFromOnes(SklearnLDA):
    """scikit-learn with γ started at 1 in training too (see tests/models/test_lda_model.py)."""

    def _e_step(self, X, cal_sstats, random_init, parallel=None):
        return super()._e_step(X, cal_sstats, False, parallel)


def test_matches_scikit_learn_batch_fit_bound_and_perplexity(kjv):
    tight = {"mean_change_tol": 1e-10, "max_doc_update_iter": 10_000}
    common = dict(n_components=6, max_iter=5, random_state=3, doc_topic_prior=0.2, **tight)
    theirs = _SklearnFromOnes(learning_method="batch", evaluate_every=-1, **common).fit(kjv)
    # scikit-learn restarts every document's γ at every E-step: so does this fit
    ours = quiet(LatentDirichletAllocation(tol=0.0, doc_warm_start=False, **common), kjv)
    # the same random start: the same draws from RandomState(random_state)
    np.testing.assert_allclose(ours.components_, theirs.components_, rtol=1e-6)
    np.testing.assert_allclose(ours.score(kjv), theirs.score(kjv), rtol=1e-6)
    np.testing.assert_allclose(ours.perplexity(kjv), theirs.perplexity(kjv), rtol=1e-6)
    np.testing.assert_allclose(ours.transform(kjv), theirs.transform(kjv), rtol=1e-6, atol=1e-9)
    # exp ψ(λ) of a tiny λ amplifies λ's relative difference about ten-fold
    np.testing.assert_allclose(
        ours.exp_dirichlet_component_, theirs.exp_dirichlet_component_, rtol=1e-5
    )


def test_bound_is_monotone_and_lower_bound_is_per_word(kjv):
    lda = quiet(LatentDirichletAllocation(5, max_iter=20, tol=0.0, random_state=0), kjv)
    assert lda.lower_bounds_.shape == (20,)
    assert np.all(np.diff(lda.lower_bounds_) >= 0)
    # the last iteration's objective, per token of the corpus
    per_word = (lda.score(kjv)) / kjv.sum()
    assert abs(per_word - lda.lower_bound_) < 1e-3 * abs(per_word)


def test_chunked_threaded_and_dask_fits_equal_the_in_memory_fit(kjv):
    da = pytest.importorskip("dask.array")
    base = dict(n_components=4, max_iter=8, tol=0.0, random_state=0)
    whole = quiet(LatentDirichletAllocation(chunk_size=10_000, n_jobs=1, **base), kjv)
    chunked = quiet(LatentDirichletAllocation(chunk_size=7, n_jobs=1, **base), kjv)
    threaded = quiet(LatentDirichletAllocation(chunk_size=13, n_jobs=2, **base), kjv)
    for other in (chunked, threaded):
        np.testing.assert_allclose(other.components_, whole.components_, rtol=1e-10)
        np.testing.assert_allclose(other.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    # Dask rebuilds its chunks on the workers, so their documents start cold
    blocks = da.from_array(kjv.toarray(), chunks=(45, -1)).map_blocks(sp.csr_matrix)
    dask_fit = quiet(LatentDirichletAllocation(**base), blocks)
    cold = quiet(LatentDirichletAllocation(doc_warm_start=False, n_jobs=1, **base), kjv)
    np.testing.assert_allclose(dask_fit.components_, cold.components_, rtol=1e-10)
    np.testing.assert_allclose(dask_fit.lower_bounds_, cold.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(dask_fit.transform(blocks), cold.transform(kjv), rtol=1e-10)
    np.testing.assert_allclose(dask_fit.score(blocks), cold.score(kjv), rtol=1e-12)
    # warm starts change the path only by the documents' local optima: the fits agree
    np.testing.assert_allclose(cold.lower_bound_, whole.lower_bound_, rtol=1e-3)


def test_online_fit_comes_within_a_few_percent_of_batch_held_out_perplexity():
    X, _ = topic_corpus(0, n_docs=1000, n_terms=80, K=4)
    train, test = X[:900], X[900:]
    batch = quiet(LatentDirichletAllocation(4, max_iter=100, random_state=0), train)
    online = quiet(
        LatentDirichletAllocation(
            4, learning_method="online", batch_size=64, max_iter=20, random_state=0
        ),
        train,
    )
    held = [completion_perplexity(m, test, 0.5, random_state=1) for m in (batch, online)]
    assert held[1] < 1.03 * held[0]
    # 900 / 64 -> 15 batches a pass, plus the start, counted as scikit-learn counts it
    assert online.n_batch_iter_ == online.n_iter_ * 15 + 1


def test_partial_fit_over_a_stream_learns_the_topics():
    X, _ = topic_corpus(1, n_docs=1000, n_terms=80, K=4)
    train, test = X[:900], X[900:]
    stream = LatentDirichletAllocation(4, random_state=0, total_samples=900)
    for _ in range(5):
        for start in range(0, 900, 100):
            stream.partial_fit(train[start : start + 100])
    batch = quiet(LatentDirichletAllocation(4, max_iter=100, random_state=0), train)
    held = [completion_perplexity(m, test, 0.5, random_state=1) for m in (batch, stream)]
    assert held[1] < 1.05 * held[0]
    assert stream.n_batch_iter_ == 45


@pytest.mark.parametrize("symmetric", [True, False])
def test_learned_doc_topic_prior_recovers_a_sparse_prior(symmetric):
    X, _ = topic_corpus(2, n_docs=600, n_terms=60, K=3, length=80)
    start = 1.0 if symmetric else np.full(3, 1.0)
    lda = quiet(
        LatentDirichletAllocation(
            3,
            doc_topic_prior=start,
            learn=("topics", "doc_topic_prior"),
            max_iter=150,
            random_state=0,
        ),
        X,
    )
    assert np.all(np.diff(lda.lower_bounds_) >= 0)
    # drawn with α = 0.3 per topic: learned from 1 down to near it
    assert np.all((0.15 < lda.doc_topic_prior_) & (lda.doc_topic_prior_ < 0.5))
    assert (np.ptp(lda.doc_topic_prior_) == 0) == symmetric


def test_learned_topic_word_prior_improves_the_bound(kjv):
    fixed = quiet(LatentDirichletAllocation(4, max_iter=15, random_state=0), kjv)
    learned = quiet(
        LatentDirichletAllocation(
            4, max_iter=15, random_state=0, learn=("topics", "topic_word_prior")
        ),
        kjv,
    )
    assert learned.lower_bound_ > fixed.lower_bound_
    assert learned.topic_word_prior_.shape == (kjv.shape[1],)
    assert not np.allclose(learned.topic_word_prior_, 0.25)


def test_squarem_reaches_the_plain_fit_with_fewer_e_steps():
    X, _ = topic_corpus(3)
    plain = quiet(LatentDirichletAllocation(3, max_iter=500, tol=1e-7, random_state=0), X)
    fast = quiet(
        LatentDirichletAllocation(3, max_iter=500, tol=1e-7, random_state=0, accelerate="squarem"),
        X,
    )
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-6
    assert fast.n_e_steps_ < plain.n_e_steps_


def test_empty_documents_add_nothing_and_get_the_prior_mean():
    X, _ = topic_corpus(4, n_docs=60)
    with_empty = sp.vstack([X[:30], sp.csr_matrix((3, X.shape[1])), X[30:]]).tocsr()
    a = quiet(LatentDirichletAllocation(3, max_iter=10, tol=0.0, random_state=0), X)
    b = quiet(LatentDirichletAllocation(3, max_iter=10, tol=0.0, random_state=0), with_empty)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-12)
    theta = b.transform(with_empty)
    np.testing.assert_allclose(theta[30:33], 1.0 / 3)
    np.testing.assert_allclose(b.score(with_empty), a.score(X), rtol=1e-12)


def test_dense_and_sparse_input_give_the_same_fit():
    X, _ = topic_corpus(5, n_docs=50)
    a = quiet(LatentDirichletAllocation(2, max_iter=5, random_state=0), X)
    b = quiet(LatentDirichletAllocation(2, max_iter=5, random_state=0), X.toarray())
    np.testing.assert_array_equal(a.components_, b.components_)


def test_bad_input_gets_clear_errors():
    X, _ = topic_corpus(6, n_docs=30)
    lda = quiet(LatentDirichletAllocation(2, max_iter=3, random_state=0), X)
    negative = X.toarray()
    negative[4, 2] = -1
    with pytest.raises(ValueError, match="negative"):
        LatentDirichletAllocation(2).fit(negative)
    with pytest.raises(ValueError, match="integer"):
        LatentDirichletAllocation(2).fit(X.toarray() + 0.5)
    with pytest.raises(ValueError, match="50"):
        lda.transform(X[:, :40])
    with pytest.raises(ValueError, match="no words"):
        LatentDirichletAllocation(2).fit(sp.csr_matrix((5, 10)))
    with pytest.raises(ValueError, match="doc_topic_prior"):
        LatentDirichletAllocation(2, doc_topic_prior=np.ones(3)).fit(X)
    with pytest.raises(ValueError, match="topic_word_prior"):
        LatentDirichletAllocation(2, topic_word_prior=-1.0).fit(X)
    with pytest.raises(ValueError, match="unknown"):
        LatentDirichletAllocation(2, learn=("topics", "alpha")).fit(X)
    with pytest.raises(ValueError, match="components_init"):
        LatentDirichletAllocation(2, learn=("doc_topic_prior",)).fit(X)


def test_components_init_and_fixed_topics():
    X, beta = topic_corpus(7)
    start = beta * 100 + 0.1
    lda = quiet(
        LatentDirichletAllocation(
            3, components_init=start, learn=("doc_topic_prior",), max_iter=5, random_state=0
        ),
        X,
    )
    np.testing.assert_array_equal(lda.components_, start)
    assert not np.allclose(lda.doc_topic_prior_, 1.0 / 3)


@parametrize_with_checks(
    [LatentDirichletAllocation(2, max_iter=5, random_state=0)],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_split_of_held_out_documents_is_what_completion_perplexity_scores():
    """completion_perplexity with emkit's LDA is finite and beats random topics."""
    X, _ = topic_corpus(8, n_docs=200)
    lda = quiet(LatentDirichletAllocation(3, max_iter=50, random_state=0), X[:180])
    observed, held_out = split_documents(X[180:], 0.5, random_state=0)
    assert held_out.sum() > 0 and observed.sum() > 0
    assert np.isfinite(completion_perplexity(lda, X[180:], 0.5, random_state=0))
