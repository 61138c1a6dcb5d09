r"""What users ask of a fitted topic model: its top words, their coherence, held-out perplexity.

Every function takes a fitted topic model — emkit's ``LatentDirichletAllocation`` or
``PLSA``, scikit-learn's ``LatentDirichletAllocation``, or anything with a
``components_`` array of shape (n_topics, n_terms) — or, where no ``transform`` is
needed, that array itself. The topic-word distributions are the rows of
``components_`` normalised to sum to 1,

.. math:: \beta_{kw} = \lambda_{kw} / \textstyle\sum_v \lambda_{kv},

which is LDA's posterior mean under the variational Dirichlet λ and PLSA's P(w|z).

* :func:`top_words` — the ``n`` most probable words of every topic.
* :func:`coherence` — UMass (Mimno et al. 2011) or NPMI (Bouma 2009; Lau et al. 2014)
  coherence of every topic's top words, from document co-occurrences in a corpus.
* :func:`split_documents` — split every document's tokens at random into an observed
  and a held-out part.
* :func:`completion_perplexity` — held-out perplexity by document completion
  (Wallach et al. 2009): topic proportions from the observed part, perplexity of the
  held-out part.

Corpora are document-term matrices of counts, SciPy sparse or dense; a sparse one is
never densified (coherence slices the columns of the top words only).

This module imports numpy and scipy only, nothing from emkit's estimators: it works on
any object with ``components_`` (and ``transform``).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

__all__ = ["coherence", "completion_perplexity", "split_documents", "top_words"]

#: ``measure`` names of :func:`coherence`
COHERENCE_MEASURES = ("umass", "npmi")

#: NumPy's hypergeometric sampler takes fewer than this many good and bad items
_HYPERGEOMETRIC_LIMIT = 10**9

#: held-out entries per block in completion_perplexity: bounds the (entries, K) temporaries
_BLOCK_ENTRIES = 1 << 16


# ------------------------------------------------------------------------ inputs


def _components(model, name: str = "model") -> np.ndarray:
    """The (K, V) float64 ``components_`` of ``model`` (or ``model`` as an array), checked."""
    if isinstance(model, np.ndarray | list | tuple) or sp.issparse(model):
        components = model.toarray() if sp.issparse(model) else model
    else:
        try:
            components = model.components_
        except AttributeError as exc:  # sklearn's NotFittedError is an AttributeError too
            raise TypeError(
                f"{name} must be a fitted topic model with components_ (e.g. emkit's "
                "LatentDirichletAllocation or PLSA) or an array of shape (n_topics, "
                f"n_terms); the {type(model).__name__} given has no components_ "
                "(fit it first)"
            ) from exc
    try:
        components = np.asarray(components, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}'s components_ must be a numeric array of shape (n_topics, n_terms)"
        ) from exc
    if components.ndim != 2 or components.shape[0] < 1 or components.shape[1] < 1:
        raise ValueError(
            f"{name}'s components_ must have shape (n_topics, n_terms) with at least one "
            f"topic and one term, got shape {components.shape}"
        )
    if not np.all(np.isfinite(components)) or np.any(components < 0):
        raise ValueError(
            f"{name}'s components_ must be finite and non-negative (unnormalised "
            "topic-word weights): refit the model"
        )
    totals = components.sum(axis=1)
    if np.any(totals <= 0):
        topic = int(np.argmax(totals <= 0))
        raise ValueError(
            f"topic {topic} of {name} has no weight on any term (its row of components_ "
            "is all zero), so it has no word distribution: drop the row or refit"
        )
    return components


def _topic_word(model, name: str = "model") -> np.ndarray:
    """β, shape (K, V): the rows of components_ normalised to sum to 1."""
    components = _components(model, name)
    return components / components.sum(axis=1, keepdims=True)


def _check_n(n, n_terms: int) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n (words per topic) must be an integer >= 1, got {n!r}")
    if n > n_terms:
        raise ValueError(
            f"n={n} words per topic, but the model has only {n_terms} terms: use n <= {n_terms}"
        )
    return int(n)


def _check_fraction(fraction) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, Real) or not 0 < fraction < 1:
        raise ValueError(
            f"fraction (the share of each document's tokens held out) must be a number "
            f"strictly between 0 and 1, got {fraction!r}"
        )
    return float(fraction)


def _generator(random_state) -> np.random.Generator:
    """A Generator from None, an int seed, a Generator or a legacy RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # draw the seed from the RandomState so that its stream advances, as it would
        # if it drew the split itself
        return np.random.default_rng(random_state.randint(0, 2**32, size=4, dtype=np.uint64))
    if random_state is None or (
        isinstance(random_state, Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        "random_state must be None, an int seed, a numpy Generator or a RandomState, "
        f"got {random_state!r}"
    )


def _documents(X, n_terms: int | None, name: str = "X", integer: bool = False) -> sp.csr_matrix:
    """X as a canonical CSR matrix (duplicates summed, zeros dropped, indices sorted),
    checked: finite non-negative counts (integers with ``integer``), ``n_terms`` columns."""
    if sp.issparse(X):
        csr = sp.csr_matrix(X)  # shares the arrays of a CSR input
        shared = isinstance(getattr(X, "data", None), np.ndarray) and np.shares_memory(
            csr.data, X.data
        )
        if shared and not (csr.has_canonical_format and np.all(csr.data != 0)):
            csr = csr.copy()  # the caller's matrix is never changed in place
    else:
        array = np.asarray(X)
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == bool
        ):
            raise ValueError(
                f"{name} must be a numeric document-term matrix of counts, got an array "
                f"of dtype {array.dtype}"
            )
        if array.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D document-term matrix (n_documents, n_terms), got "
                f"shape {array.shape}"
            )
        csr = sp.csr_matrix(array)
    if csr.dtype == bool:
        csr = csr.astype(np.int64)
    csr.sum_duplicates()  # also sorts the indices
    csr.eliminate_zeros()
    data = csr.data
    problems = [(~np.isfinite(data), "is not finite"), (data < 0, "is negative")]
    if integer:
        problems.append((data != np.floor(data), "is not an integer"))
    for bad, problem in problems:
        if bad.any():
            position = int(np.argmax(bad))
            row = int(np.searchsorted(csr.indptr, position, side="right") - 1)
            raise ValueError(
                f"{name}[{row}, {csr.indices[position]}] = {data[position]!r} {problem}: a "
                "document-term matrix holds counts of words (non-negative integers); give "
                "raw counts (e.g. from sklearn's CountVectorizer), not tf-idf weights"
            )
    if n_terms is not None and csr.shape[1] != n_terms:
        raise ValueError(
            f"{name} has {csr.shape[1]} terms (columns) but the model has {n_terms}: give "
            "the documents over the vocabulary the model was fitted on"
        )
    return csr


def _top_indices(beta: np.ndarray, n: int) -> np.ndarray:
    """(K, n) term indices, most probable first; ties go to the lower index."""
    return np.argsort(-beta, axis=1, kind="stable")[:, :n]


# ------------------------------------------------------------------- top words


def top_words(model, vocabulary: Sequence[str], n: int = 10) -> list[list[tuple[str, float]]]:
    """The ``n`` most probable words of every topic, with their probabilities.

    Parameters
    ----------
    model : fitted topic model, or array-like of shape (n_topics, n_terms)
        An estimator with ``components_`` (emkit's ``LatentDirichletAllocation`` or
        ``PLSA``, scikit-learn's), or the non-negative topic-word weights themselves.
    vocabulary : sequence of str of length n_terms
        The word of every column (``CountVectorizer.get_feature_names_out()``, or
        ``load_kjv_chapters().vocabulary``).
    n : int, default=10
        Words per topic, at most n_terms.

    Returns
    -------
    topics : list of n_topics lists of n (word, probability) pairs
        Most probable first (ties in column order); the probabilities are the topic's
        normalised weights β_kw = components_[k, w] / components_[k].sum().

    Examples
    --------
    >>> top_words(np.array([[1.0, 3.0, 0.0], [2.0, 0.0, 2.0]]), ["a", "b", "c"], n=2)
    [[('b', 0.75), ('a', 0.25)], [('a', 0.5), ('c', 0.5)]]
    """
    beta = _topic_word(model)
    words = list(vocabulary) if not isinstance(vocabulary, str) else None
    if words is None:
        raise TypeError("vocabulary must be a sequence of words, not one string")
    if len(words) != beta.shape[1]:
        raise ValueError(
            f"vocabulary has {len(words)} words but the model has {beta.shape[1]} terms "
            "(columns of components_): give the vocabulary the model was fitted with"
        )
    n = _check_n(n, beta.shape[1])
    top = _top_indices(beta, n)
    return [[(str(words[w]), float(beta[k, w])) for w in top[k]] for k in range(beta.shape[0])]


# ------------------------------------------------------------------- coherence


def coherence(model, X, n: int = 10, measure: str = "umass") -> np.ndarray:
    r"""Coherence of every topic's ``n`` top words, from their co-occurrence in documents.

    With :math:`D(w)` the number of documents of ``X`` containing word :math:`w`,
    :math:`D(w, w')` the number containing both, :math:`N` the number of documents and
    :math:`w_1, \dots, w_n` a topic's top words, most probable first:

    * ``"umass"`` (Mimno et al. 2011, "Optimizing semantic coherence in topic models"):

      .. math:: C = \sum_{m=2}^{n} \sum_{l=1}^{m-1} \log \frac{D(w_m, w_l) + 1}{D(w_l)}

      the paper's sum over the n(n-1)/2 ordered pairs (each word against the more
      probable ones), with +1 smoothing. Higher is more coherent; it is negative
      unless the words nearly always occur together (the +1 can lift a pair found
      together wherever the better word is to log((D+1)/D) > 0). Divide by n(n-1)/2
      for the per-pair mean that gensim reports (gensim smooths with 1e-12, not 1).
    * ``"npmi"`` (Bouma 2009; Lau, Newman & Baldwin 2014), with the document as the
      co-occurrence window, :math:`P(w) = D(w)/N`, :math:`P(w, w') = D(w, w')/N`:

      .. math:: C = \binom{n}{2}^{-1} \sum_{i<j}
                \frac{\log \frac{P(w_i, w_j)}{P(w_i) P(w_j)}}{-\log P(w_i, w_j)}

      the mean normalised PMI over the pairs, in [-1, 1] (higher is more coherent).
      Limits define the edge cases: a pair that never co-occurs scores -1, a pair
      found in every document 1.

    Parameters
    ----------
    model : fitted topic model, or array-like of shape (n_topics, n_terms)
        As in :func:`top_words`.
    X : sparse matrix or array-like of shape (n_documents, n_terms)
        The reference corpus, usually the one the model was fitted on. Only whether a
        count is positive matters. Sparse input is never densified: only the columns
        of the top words are read.
    n : int, default=10
        Top words per topic, 2 <= n <= n_terms (one word has no pairs).
    measure : {"umass", "npmi"}, default="umass"

    Returns
    -------
    scores : ndarray of shape (n_topics,)

    Raises
    ------
    ValueError
        For an unknown ``measure``, an ``n`` out of range, a corpus over another
        vocabulary, or a top word that occurs in no document of ``X`` (its coherence is
        undefined: score topics on the corpus they were fitted on).
    """
    if measure not in COHERENCE_MEASURES:
        raise ValueError(f"measure must be one of {COHERENCE_MEASURES}, got {measure!r}")
    beta = _topic_word(model)
    n = _check_n(n, beta.shape[1])
    if n < 2:
        raise ValueError("coherence scores pairs of top words: n must be at least 2")
    csr = _documents(X, beta.shape[1])
    n_docs = csr.shape[0]
    top = _top_indices(beta, n)
    columns, position = np.unique(top, return_inverse=True)
    position = position.reshape(top.shape)
    # the binary (documents, distinct top words) incidence: a column slice of X only
    present = csr[:, columns].tocsc()
    present.data = np.ones_like(present.data, dtype=np.int64)
    doc_freq = np.asarray(present.sum(axis=0)).ravel()
    if np.any(doc_freq[position] == 0):
        k, i = np.argwhere(doc_freq[position] == 0)[0]
        raise ValueError(
            f"top word {i} of topic {k} (column {top[k, i]}) occurs in no document of X, "
            "so its coherence is undefined: compute coherence on the corpus the model "
            "was fitted on, or a larger one"
        )
    lower = np.tril_indices(n, k=-1)  # (m, l) with l < m: word m against a better one
    scores = np.empty(top.shape[0])
    for k in range(top.shape[0]):
        block = present[:, position[k]]
        co = (block.T @ block).toarray()  # (n, n) co-document counts, D(w) on the diagonal
        joint = co[lower].astype(np.float64)
        if measure == "umass":
            scores[k] = np.sum(np.log((joint + 1.0) / doc_freq[position[k]][lower[1]]))
        else:
            p_joint = joint / n_docs
            p_m = doc_freq[position[k]][lower[0]] / n_docs
            p_l = doc_freq[position[k]][lower[1]] / n_docs
            npmi = np.full(joint.shape, -1.0)  # never together: the limit -1
            npmi[p_joint == 1.0] = 1.0  # together in every document: the limit 1
            inside = (p_joint > 0) & (p_joint < 1)
            npmi[inside] = np.log(p_joint[inside] / (p_m[inside] * p_l[inside])) / -np.log(
                p_joint[inside]
            )
            scores[k] = npmi.mean()
    return scores


# ------------------------------------------------------- document completion


def split_documents(
    X, fraction: float = 0.5, random_state=None
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split every document's tokens at random into an observed and a held-out part.

    Document ``d`` with ``n_d`` tokens gives ``floor(fraction * n_d)`` of them, drawn
    uniformly without replacement, to ``held_out`` and the rest to ``observed``: its
    held-out counts are one multivariate hypergeometric draw from its counts. Tokens,
    not distinct terms, are split: a word seen 5 times can be 3 times observed and
    twice held out. Every document with a token keeps at least one observed token.

    The draw is vectorised over documents: one hypergeometric draw per stored entry,
    each entry conditioned on the ones before it in its row (a loop over the position
    in the row, never over tokens).

    Parameters
    ----------
    X : sparse matrix or array-like of shape (n_documents, n_terms)
        Counts (non-negative integers); never densified.
    fraction : float in (0, 1), default=0.5
        Share of each document's tokens held out.
    random_state : None, int, numpy Generator or RandomState
        Seed of the split; the same seed and X give the same split.

    Returns
    -------
    observed, held_out : scipy.sparse.csr_matrix of shape (n_documents, n_terms), int64
        Their sum is X; indices sorted, no stored zeros.
    """
    fraction = _check_fraction(fraction)
    rng = _generator(random_state)
    csr = _documents(X, None, integer=True)
    counts = csr.data.astype(np.int64)
    indptr = csr.indptr.astype(np.int64)
    row_nnz = np.diff(indptr)
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    row_tokens = cumulative[indptr[1:]] - cumulative[indptr[:-1]]
    if np.any(row_tokens >= _HYPERGEOMETRIC_LIMIT):
        row = int(np.argmax(row_tokens >= _HYPERGEOMETRIC_LIMIT))
        raise ValueError(
            f"X row {row} has {row_tokens[row]} tokens; split_documents draws with NumPy's "
            f"hypergeometric sampler, which takes documents of fewer than "
            f"{_HYPERGEOMETRIC_LIMIT} tokens: split that document into smaller ones"
        )
    still_to_draw = np.floor(fraction * row_tokens).astype(np.int64)
    tokens_left = row_tokens.copy()
    held = np.zeros_like(counts)
    # rows by decreasing number of entries: at position j the rows with an entry j are a
    # prefix, so the work over all positions is one draw per stored entry
    order = np.argsort(-row_nnz, kind="stable")
    sorted_nnz = row_nnz[order]
    for j in range(int(sorted_nnz[0]) if sorted_nnz.size else 0):
        rows = order[: np.searchsorted(-sorted_nnz, -j, side="left")]
        entries = indptr[rows] + j
        good = counts[entries]
        drawn = rng.hypergeometric(good, tokens_left[rows] - good, still_to_draw[rows])
        held[entries] = drawn
        still_to_draw[rows] -= drawn
        tokens_left[rows] -= good
    shape = csr.shape
    held_out = sp.csr_matrix((held, csr.indices.copy(), indptr.copy()), shape=shape)
    observed = sp.csr_matrix((counts - held, csr.indices.copy(), indptr.copy()), shape=shape)
    held_out.eliminate_zeros()
    observed.eliminate_zeros()
    return observed, held_out


def completion_perplexity(model, X, fraction: float = 0.5, random_state=None) -> float:
    r"""Held-out perplexity by document completion (Wallach et al. 2009).

    Every document's tokens are split (:func:`split_documents`) into an observed part
    and a held-out part. The topic proportions :math:`\theta_d` are estimated from the
    observed part alone (``model.transform``), and the held-out tokens are scored
    under the document's word distribution :math:`\sum_k \theta_{dk} \beta_{kw}`:

    .. math:: \exp\Big(-\frac{\sum_{d,w} n^{\text{held}}_{dw}
              \log \sum_k \theta_{dk}\beta_{kw}}{\sum_{d,w} n^{\text{held}}_{dw}}\Big)

    with β the rows of ``components_`` normalised to 1. Unlike an estimator's
    ``perplexity(X)``, no held-out token ever informs the θ that scores it, so the
    number compares models of any kind (LDA, PLSA, other K) on the same documents;
    lower is better. (Wallach et al. call this "document completion"; it is the
    plug-in point estimate of θ, not their left-to-right sampler.)

    Parameters
    ----------
    model : fitted topic model with ``components_`` and ``transform``
        ``transform(X)`` must return document-topic proportions of shape
        (n_documents, n_topics); rows are renormalised to sum to 1.
    X : sparse matrix or array-like of shape (n_documents, n_terms)
        Held-out documents (counts), never densified; not the training documents, for
        an honest number.
    fraction : float in (0, 1), default=0.5
        Share of each document's tokens held out.
    random_state : None, int, numpy Generator or RandomState
        Seed of the split.

    Returns
    -------
    perplexity : float
        ``inf`` when a held-out token has probability 0 under its document (a word
        with zero weight in every topic it could come from, as PLSA without a prior
        gives for words unseen in training).
    """
    components = _components(model)
    beta = components / components.sum(axis=1, keepdims=True)
    if not callable(getattr(model, "transform", None)):
        raise TypeError(
            "completion_perplexity needs a fitted topic model with transform (to infer "
            f"topic proportions from the observed tokens); {type(model).__name__} has none"
        )
    csr = _documents(X, beta.shape[1], integer=True)
    observed, held_out = split_documents(csr, fraction, random_state)
    n_held = int(held_out.sum())
    if n_held == 0:
        raise ValueError(
            f"no token is held out: every document of X has fewer than 1/{fraction:g} "
            "tokens; give longer documents or a larger fraction"
        )
    theta = np.asarray(model.transform(observed), dtype=np.float64)
    if theta.shape != (csr.shape[0], beta.shape[0]):
        raise ValueError(
            f"model.transform returned shape {theta.shape}, expected "
            f"({csr.shape[0]}, {beta.shape[0]}) document-topic proportions"
        )
    theta = theta / theta.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(held_out.shape[0]), np.diff(held_out.indptr))
    columns = held_out.indices
    counts = held_out.data.astype(np.float64)
    log_likelihood = 0.0
    beta_t = np.ascontiguousarray(beta.T)  # (V, K): rows gathered per held-out entry
    with np.errstate(divide="ignore"):
        for start in range(0, len(counts), _BLOCK_ENTRIES):
            stop = start + _BLOCK_ENTRIES
            probability = np.einsum(
                "ik,ik->i", theta[rows[start:stop]], beta_t[columns[start:stop]]
            )
            log_likelihood += float(counts[start:stop] @ np.log(probability))
    return float(np.exp(-log_likelihood / n_held))
