"""emkit.topics: top words, UMass/NPMI coherence, token splits, document-completion perplexity.

Every function is checked against a hand computation or a brute-force dense NumPy
reference on small matrices; coherence NPMI also against gensim's ``c_npmi``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from emkit.topics import coherence, completion_perplexity, split_documents, top_words


class FakeTopicModel:
    """components_ and a transform that folds documents in by a few EM steps of PLSA,
    recording what it was given (so tests can check it saw the observed part only)."""

    def __init__(self, components):
        self.components_ = np.asarray(components, dtype=float)
        self.seen = []

    def transform(self, X):
        self.seen.append(X.copy())
        beta = self.components_ / self.components_.sum(axis=1, keepdims=True)
        dense = (X.toarray() if sp.issparse(X) else np.asarray(X)).astype(float)
        theta = np.full((dense.shape[0], beta.shape[0]), 1.0 / beta.shape[0])
        for _ in range(20):
            mixture = theta @ beta
            ratio = np.divide(dense, mixture, out=np.zeros_like(dense), where=mixture > 0)
            theta = theta * (ratio @ beta.T) + 1e-12
            theta /= theta.sum(axis=1, keepdims=True)
        return theta


def _random_corpus(seed, n_docs=30, n_terms=12, density=0.4, empty_rows=()):
    rng = np.random.default_rng(seed)
    dense = rng.poisson(2.0, (n_docs, n_terms)) * (rng.random((n_docs, n_terms)) < density)
    dense[list(empty_rows)] = 0
    return sp.csr_matrix(dense.astype(np.int64))


# --------------------------------------------------------------------- top words


def test_top_words_by_hand():
    components = np.array([[1.0, 3.0, 0.0, 4.0], [2.0, 2.0, 2.0, 2.0]])
    result = top_words(components, ["a", "b", "c", "d"], n=3)
    assert result == [
        [("d", 0.5), ("b", 0.375), ("a", 0.125)],
        [("a", 0.25), ("b", 0.25), ("c", 0.25)],  # ties in column order
    ]
    assert all(isinstance(w, str) and isinstance(p, float) for t in result for w, p in t)


def test_top_words_of_a_fitted_object_and_numpy_vocabulary():
    rng = np.random.default_rng(1)
    model = FakeTopicModel(rng.gamma(1.0, 1.0, (4, 30)))
    vocabulary = np.array([f"w{i}" for i in range(30)])
    result = top_words(model, vocabulary, n=30)
    beta = model.components_ / model.components_.sum(axis=1, keepdims=True)
    for k, topic in enumerate(result):
        probabilities = [p for _, p in topic]
        assert probabilities == sorted(probabilities, reverse=True)
        np.testing.assert_allclose(sum(probabilities), 1.0)
        for word, p in topic:
            assert p == beta[k, int(word[1:])]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vocabulary": ["a", "b"]}, ValueError, "vocabulary has 2 words but the model has 3"),
        ({"vocabulary": "abc"}, TypeError, "not one string"),
        ({"n": 0}, ValueError, "n .* must be an integer >= 1"),
        ({"n": True}, ValueError, "n .* must be an integer >= 1"),
        ({"n": 2.0}, ValueError, "n .* must be an integer >= 1"),
        ({"n": 4}, ValueError, "only 3 terms: use n <= 3"),
        ({"model": object()}, TypeError, "has no components_"),
        ({"model": [[1.0, -1.0, 2.0]]}, ValueError, "finite and non-negative"),
        ({"model": [[1.0, np.nan, 2.0]]}, ValueError, "finite and non-negative"),
        ({"model": [[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]}, ValueError, "topic 1 .* all zero"),
        ({"model": [1.0, 2.0, 3.0]}, ValueError, r"shape \(n_topics, n_terms\)"),
    ],
)
def test_top_words_refuses_bad_input(kwargs, error, match):
    arguments = {"model": np.ones((2, 3)), "vocabulary": ["a", "b", "c"], "n": 2} | kwargs
    with pytest.raises(error, match=match):
        top_words(arguments["model"], arguments["vocabulary"], n=arguments["n"])


# --------------------------------------------------------------------- coherence

#: 4 documents over 4 words: D(w0)=3, D(w1)=2, D(w2)=2, D(w0,w1)=2, D(w0,w2)=1, D(w1,w2)=1
HAND_CORPUS = sp.csr_matrix(
    np.array([[1, 2, 0, 0], [3, 1, 1, 0], [2, 0, 0, 0], [0, 0, 4, 1]], dtype=np.int64)
)
HAND_TOPIC = np.array([[0.5, 0.3, 0.15, 0.05]])  # top 3: w0, w1, w2


def test_umass_by_hand():
    # log((D(w1,w0)+1)/D(w0)) + log((D(w2,w0)+1)/D(w0)) + log((D(w2,w1)+1)/D(w1))
    expected = math.log(3 / 3) + math.log(2 / 3) + math.log(2 / 2)
    np.testing.assert_allclose(coherence(HAND_TOPIC, HAND_CORPUS, n=3), [expected])


def test_npmi_by_hand():
    pairs = [
        math.log(0.5 / (0.75 * 0.5)) / -math.log(0.5),  # w0, w1
        math.log(0.25 / (0.75 * 0.5)) / -math.log(0.25),  # w0, w2
        math.log(0.25 / (0.5 * 0.5)) / -math.log(0.25),  # w1, w2: independent, 0
    ]
    result = coherence(HAND_TOPIC, HAND_CORPUS, n=3, measure="npmi")
    np.testing.assert_allclose(result, [np.mean(pairs)])


def test_npmi_limits_never_together_and_always_together():
    X = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]]))
    # w0 and w1 never co-occur: -1; w2 is in every document with w0/w1: P(w,w2)=P(w)
    np.testing.assert_allclose(coherence([[0.5, 0.4, 0.1]], X, n=2, measure="npmi"), [-1.0])
    Y = sp.csr_matrix(np.ones((3, 2)))
    np.testing.assert_allclose(coherence([[0.6, 0.4]], Y, n=2, measure="npmi"), [1.0])


def _dense_coherence(beta, X, n, measure):
    """Brute force: dense binary matrix, explicit loops over the pairs."""
    present = np.asarray(X.toarray() if sp.issparse(X) else X) > 0
    n_docs = present.shape[0]
    scores = []
    for row in beta:
        words = np.argsort(-row, kind="stable")[:n]
        total, pairs = 0.0, 0
        for m, l in itertools.combinations(range(n), 2):
            # combinations gives m < l: l is the less probable word
            better, worse = words[m], words[l]
            joint = np.sum(present[:, better] & present[:, worse])
            if measure == "umass":
                total += math.log((joint + 1) / present[:, better].sum())
            else:
                p_joint = joint / n_docs
                p_a, p_b = present[:, better].mean(), present[:, worse].mean()
                if p_joint == 0:
                    total += -1.0
                elif p_joint == 1:
                    total += 1.0
                else:
                    total += math.log(p_joint / (p_a * p_b)) / -math.log(p_joint)
            pairs += 1
        scores.append(total if measure == "umass" else total / pairs)
    return np.array(scores)


@pytest.mark.parametrize("measure", ["umass", "npmi"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coherence_matches_a_dense_brute_force(measure, seed):
    X = _random_corpus(seed, n_docs=40, n_terms=15, density=0.5)
    X = X + sp.csr_matrix(np.eye(40, 15, dtype=np.int64))  # every word in some document
    beta = np.random.default_rng(seed).dirichlet(np.full(15, 0.3), size=5)
    for n in (2, 5, 15):
        expected = _dense_coherence(beta, X, n, measure)
        np.testing.assert_allclose(coherence(beta, X, n=n, measure=measure), expected)
        # dense input gives the same numbers
        np.testing.assert_allclose(coherence(beta, X.toarray(), n=n, measure=measure), expected)


def test_npmi_matches_gensim_with_the_document_as_window():
    gensim = pytest.importorskip("gensim")
    from gensim.models.coherencemodel import CoherenceModel

    rng = np.random.default_rng(5)
    dense = rng.poisson(1.5, (25, 8))
    present = dense[:, :4] > 0
    co_documents = present.T.astype(int) @ present
    # every pair of top words co-occurs in some document but not in all (where gensim's
    # 1e-12 smoothing would decide: it gives -1 to a pair found in every document)
    assert 0 < co_documents.min() and co_documents.max() < 25
    beta = np.tile(np.array([8.0, 7, 6, 5, 1, 1, 1, 1]), (2, 1))
    beta[1, :4] = beta[1, :4][::-1]
    words = [f"w{i}" for i in range(8)]
    texts = [[words[w] for w in np.repeat(np.arange(8), row)] for row in dense]
    dictionary = gensim.corpora.Dictionary(texts)
    topics = [[words[w] for w in np.argsort(-b, kind="stable")[:4]] for b in beta]
    reference = CoherenceModel(
        topics=topics,
        texts=texts,
        dictionary=dictionary,
        coherence="c_npmi",
        topn=4,
        window_size=10 * dense.sum(axis=1).max(),  # one window per document
    ).get_coherence_per_topic()
    result = coherence(beta, sp.csr_matrix(dense), n=4, measure="npmi")
    np.testing.assert_allclose(result, reference, rtol=1e-9)


def test_coherence_reads_only_the_columns_of_the_top_words(monkeypatch):
    X = _random_corpus(3, n_docs=50, n_terms=20, density=0.6)
    X = X + sp.csr_matrix(np.eye(50, 20, dtype=np.int64))
    beta = np.random.default_rng(3).dirichlet(np.ones(20), size=3)
    expected = coherence(beta, X, n=4)

    def refuse(self, *args, **kwargs):
        if self.shape[0] == X.shape[0] and self.shape[1] > 4 * 3:
            raise AssertionError(f"densified a {self.shape} matrix")
        return original(self, *args, **kwargs)

    original = sp._base._spbase.toarray
    monkeypatch.setattr(sp._base._spbase, "toarray", refuse)
    monkeypatch.setattr(sp._base._spbase, "todense", refuse)
    np.testing.assert_allclose(coherence(beta, X, n=4), expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"measure": "cv"}, r"measure must be one of \('umass', 'npmi'\)"),
        ({"n": 1}, "n must be at least 2"),
        ({"n": 0}, "integer >= 1"),
        ({"n": 5}, "only 4 terms"),
        ({"X": HAND_CORPUS[:, :3]}, "X has 3 terms .* the model has 4"),
        ({"X": -HAND_CORPUS}, r"X\[0, 0\] = .* is negative"),
        ({"X": np.array(["a"])}, "numeric document-term matrix"),
        ({"X": np.ones(4)}, "2-D document-term matrix"),
        ({"X": HAND_CORPUS[[2]]}, "top word 1 of topic 0 .* occurs in no document"),
    ],
)
def test_coherence_refuses_bad_input(kwargs, match):
    arguments = {"X": HAND_CORPUS, "n": 3, "measure": "umass"} | kwargs
    with pytest.raises(ValueError, match=match):
        coherence(HAND_TOPIC, arguments["X"], n=arguments["n"], measure=arguments["measure"])


# ------------------------------------------------------------------------ split


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_split_preserves_every_count_and_holds_out_the_fraction(fraction):
    X = _random_corpus(0, empty_rows=(3, 29))  # an empty row inside and one at the end
    observed, held_out = split_documents(X, fraction, random_state=0)
    for part in (observed, held_out):
        assert isinstance(part, sp.csr_matrix)
        assert part.dtype == np.int64
        assert part.shape == X.shape
        assert part.has_sorted_indices
        assert part.data.min() > 0  # no stored zeros, nothing negative
    assert ((observed + held_out) != X).nnz == 0
    lengths = np.asarray(X.sum(axis=1)).ravel()
    held_lengths = np.asarray(held_out.sum(axis=1)).ravel()
    np.testing.assert_array_equal(held_lengths, np.floor(fraction * lengths))
    observed_lengths = np.asarray(observed.sum(axis=1)).ravel()
    assert np.all(observed_lengths[lengths > 0] >= 1)


def test_split_is_deterministic_per_seed():
    X = _random_corpus(1)
    first = split_documents(X, 0.5, random_state=7)
    again = split_documents(X, 0.5, random_state=7)
    other = split_documents(X, 0.5, random_state=8)
    for a, b in zip(first, again, strict=True):
        assert (a != b).nnz == 0
    assert (first[1] != other[1]).nnz > 0
    # a RandomState and a Generator are accepted; the RandomState's stream advances
    state = np.random.RandomState(3)
    one = split_documents(X, 0.5, random_state=state)[1]
    two = split_documents(X, 0.5, random_state=state)[1]
    assert (one != two).nnz > 0
    generated = split_documents(X, 0.5, random_state=np.random.default_rng(7))[1]
    assert (generated != first[1]).nnz == 0


def test_split_draws_tokens_not_distinct_terms():
    """The held-out counts have the multivariate hypergeometric's mean and variance."""
    counts = np.array([[6, 3, 1, 0, 10]])
    X = sp.csr_matrix(counts)
    rng = np.random.default_rng(0)
    draws = np.array([split_documents(X, 0.4, rng)[1].toarray()[0] for _ in range(4000)])
    total, held = counts.sum(), math.floor(0.4 * counts.sum())
    share = counts[0] / total
    mean = held * share
    variance = held * share * (1 - share) * (total - held) / (total - 1)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.08)
    np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.1, atol=1e-12)
    assert len(np.unique(draws[:, 0])) > 3  # a word's tokens split, not the whole term


def test_split_of_dense_and_float_input_and_of_an_empty_corpus():
    X = _random_corpus(2)
    sparse_split = split_documents(X, 0.3, random_state=1)
    dense_split = split_documents(X.toarray().astype(float), 0.3, random_state=1)
    for a, b in zip(sparse_split, dense_split, strict=True):
        assert (a != b).nnz == 0
    observed, held_out = split_documents(sp.csr_matrix((4, 6), dtype=np.int64), 0.5, 0)
    assert observed.shape == held_out.shape == (4, 6) and observed.nnz == held_out.nnz == 0


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        (HAND_CORPUS * 0.5, {}, r"X\[0, 0\] = .* is not an integer"),
        (sp.csr_matrix([[np.inf, 1.0]]), {}, "is not finite"),
        (HAND_CORPUS, {"fraction": 0.0}, "strictly between 0 and 1"),
        (HAND_CORPUS, {"fraction": 1.0}, "strictly between 0 and 1"),
        (HAND_CORPUS, {"fraction": True}, "strictly between 0 and 1"),
        (HAND_CORPUS, {"random_state": "seed"}, "random_state must be None, an int"),
    ],
)
def test_split_refuses_bad_input(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_documents(X, **({"fraction": 0.5} | kwargs))


# ----------------------------------------------------------- completion perplexity


def _dense_completion_perplexity(model, X, fraction, seed):
    observed, held_out = split_documents(X, fraction, random_state=seed)
    theta = model.transform(observed)
    beta = model.components_ / model.components_.sum(axis=1, keepdims=True)
    probability = theta @ beta
    held = held_out.toarray()
    return math.exp(-np.sum(held * np.log(np.where(held > 0, probability, 1.0))) / held.sum())


@pytest.mark.parametrize("fraction", [0.25, 0.5])
def test_completion_perplexity_matches_a_dense_computation(fraction):
    X = _random_corpus(4, n_docs=25, n_terms=10, density=0.7, empty_rows=(5,))
    model = FakeTopicModel(np.random.default_rng(4).gamma(2.0, 1.0, (3, 10)))
    result = completion_perplexity(model, X, fraction, random_state=11)
    expected = _dense_completion_perplexity(model, X, fraction, 11)
    np.testing.assert_allclose(result, expected, rtol=1e-12)
    # transform saw exactly the observed part of the split
    observed, _ = split_documents(X, fraction, random_state=11)
    assert (model.seen[0] != observed).nnz == 0
    assert 1.0 < result < np.inf


def test_completion_perplexity_of_a_known_model():
    """One topic: θ = 1 for every document, so the perplexity is exp(-mean log β) of the
    held-out tokens."""
    beta = np.array([[0.5, 0.25, 0.25]])
    model = FakeTopicModel(beta * 4)
    X = sp.csr_matrix(np.array([[4, 2, 2], [2, 0, 2]]))
    _, held_out = split_documents(X, 0.5, random_state=0)
    held = held_out.toarray()
    expected = math.exp(-np.sum(held * np.log(beta)) / held.sum())
    assert completion_perplexity(model, X, 0.5, random_state=0) == pytest.approx(expected)


def test_completion_perplexity_is_infinite_for_an_impossible_token():
    model = FakeTopicModel([[1.0, 1.0, 0.0]])  # the third word has probability 0
    X = sp.csr_matrix(np.array([[0, 2, 6]]))
    assert completion_perplexity(model, X, 0.5, random_state=0) == np.inf


class _WrongTransform(FakeTopicModel):
    def transform(self, X):
        return np.ones((X.shape[0], 5))


@pytest.mark.parametrize(
    ("model", "X", "error", "match"),
    [
        (np.ones((2, 4)), HAND_CORPUS, TypeError, "needs a fitted topic model with transform"),
        (FakeTopicModel(np.ones((2, 3))), HAND_CORPUS, ValueError, "X has 4 terms"),
        (_WrongTransform(np.ones((2, 4))), HAND_CORPUS, ValueError, r"returned shape \(4, 5\)"),
        (
            FakeTopicModel(np.ones((2, 4))),
            sp.csr_matrix(np.eye(3, 4)),
            ValueError,
            "no token is held out",
        ),
    ],
)
def test_completion_perplexity_refuses_bad_input(model, X, error, match):
    with pytest.raises(error, match=match):
        completion_perplexity(model, X, 0.5, random_state=0)


def test_inputs_are_never_changed_and_sparse_arrays_are_accepted():
    # duplicates and an explicit zero: the functions canonicalise a copy, not X
    X = sp.csr_matrix(
        (np.array([2, 1, 0, 3]), np.array([1, 1, 0, 2]), np.array([0, 3, 4])), shape=(2, 4)
    )
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    beta = np.array([[0.1, 0.5, 0.4, 0.0]])
    coherence(beta, X, n=2)
    observed, held_out = split_documents(X, 0.5, random_state=0)
    for array, original in zip((X.data, X.indices, X.indptr), before, strict=True):
        np.testing.assert_array_equal(array, original)
    assert ((observed + held_out) != sp.csr_matrix(X.toarray())).nnz == 0
    array_input = sp.csr_array(HAND_CORPUS)
    np.testing.assert_allclose(
        coherence(HAND_TOPIC, array_input, n=3), coherence(HAND_TOPIC, HAND_CORPUS, n=3)
    )
    for a, b in zip(
        split_documents(array_input, 0.5, 3), split_documents(HAND_CORPUS, 0.5, 3), strict=True
    ):
        assert (a != b).nnz == 0


def _topic_corpus(seed, n_docs=120, n_terms=40, n_topics=3, length=60):
    """Documents drawn from LDA's generative model with well-separated topics."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_terms, 0.05), size=n_topics)
    theta = rng.dirichlet(np.full(n_topics, 0.3), size=n_docs)
    counts = np.array([rng.multinomial(length, t @ beta) for t in theta])
    return sp.csr_matrix(counts), beta


def test_with_scikit_learns_lda():
    """A real estimator: completion perplexity ranks the fitted topics above random ones."""
    from sklearn.decomposition import LatentDirichletAllocation

    X, true_beta = _topic_corpus(0)
    train, test = X[:90], X[90:]
    model = LatentDirichletAllocation(3, max_iter=30, random_state=0).fit(train)
    fitted = completion_perplexity(model, test, 0.5, random_state=0)
    random_model = LatentDirichletAllocation(3, max_iter=1, random_state=0).fit(train)
    random_model.components_ = np.random.default_rng(1).gamma(1.0, 1.0, (3, 40))
    assert fitted < completion_perplexity(random_model, test, 0.5, random_state=0)
    # the true topics' perplexity is a floor the fit gets near
    truth = FakeTopicModel(true_beta)
    assert fitted < 1.15 * completion_perplexity(truth, test, 0.5, random_state=0)
    assert len(top_words(model, [f"w{i}" for i in range(40)], 5)) == 3
    scores = coherence(model, X, n=5, measure="npmi")
    assert scores.shape == (3,) and np.all((-1 <= scores) & (scores <= 1))


def test_split_of_the_kjv_corpus():
    from emkit.datasets import load_kjv_chapters

    X = load_kjv_chapters().counts
    observed, held_out = split_documents(X, 0.5, random_state=0)
    assert ((observed + held_out) != X).nnz == 0
    lengths = np.asarray(X.sum(axis=1)).ravel()
    np.testing.assert_array_equal(np.asarray(held_out.sum(axis=1)).ravel(), lengths // 2)


@pytest.mark.parametrize("estimator", ["LatentDirichletAllocation", "PLSA"])
def test_with_emkits_topic_models(estimator):
    """emkit's own estimators: the fitted topics beat random ones and come near the truth."""
    module = pytest.importorskip(
        "emkit.estimators.lda"
        if estimator == "LatentDirichletAllocation"
        else "emkit.estimators.plsa"
    )
    X, true_beta = _topic_corpus(0)
    train, test = X[:90], X[90:]
    # three restarts: one of them (random_state=0 for LDA) ends in a local optimum
    # that merges two topics, and EM keeps the best bound
    model = getattr(module, estimator)(n_components=3, max_iter=50, n_init=3, random_state=0)
    model.fit(train)
    fitted = completion_perplexity(model, test, 0.5, random_state=0)
    truth = completion_perplexity(FakeTopicModel(true_beta), test, 0.5, random_state=0)
    random_topics = FakeTopicModel(np.random.default_rng(1).gamma(1.0, 1.0, (3, 40)))
    assert (
        truth * 0.9
        < fitted
        < min(1.15 * truth, completion_perplexity(random_topics, test, 0.5, random_state=0))
    )
    vocabulary = [f"w{i}" for i in range(40)]
    assert [len(topic) for topic in top_words(model, vocabulary, 5)] == [5, 5, 5]
    for measure in ("umass", "npmi"):
        assert np.all(np.isfinite(coherence(model, X, n=5, measure=measure)))
