r"""Latent Dirichlet allocation (Blei, Ng & Jordan 2003) as an EM model of the engine.

Variational EM: the parameters are the topics' variational Dirichlet λ (K, V) and the
priors α (K,) and η (V,). The documents' (γ, φ) are *local* variational parameters:
the E-step solves them for the current λ and α (:func:`emkit._kernels.lda.lda_documents`)
and returns fixed-size statistics only (DESIGN.md's rule for local parameters):

- ``topic_term`` (K, V): :math:`N_{kv} = \sum_d n_{dv} \phi_{dvk}`;
- ``log_theta`` (K,): :math:`\sum_d \mathbb{E}_q[\log \theta_{dk}]`;
- ``n_documents``: the non-empty documents.

The M-step is coordinate ascent on the evidence lower bound with q(z, θ) fixed:
:math:`\lambda = \eta + N` (exact); η, when learned, maximises the bound with λ
profiled out, which is the Pólya likelihood of N (:func:`~emkit.models._dirichlet.fit_polya`,
then λ = η_new + N); α, when learned, is the Dirichlet maximum-likelihood estimate
from the mean :math:`\mathbb{E}_q[\log\theta_d]` (Minka's Newton method,
:func:`~emkit.models._dirichlet.fit_dirichlet`). The objective the engine monitors
is the whole bound: the documents' terms (e-step's log-likelihood) plus
:meth:`LDA.log_prior`, the topics' :math:`\mathbb{E}_q[\log p(\beta \mid \eta)] -
\mathbb{E}_q[\log q(\beta \mid \lambda)]`. Batch EM never decreases it: every
document's γ starts from its value of the previous E-step (``doc_warm_start``), so an
iteration is coordinate ascent on the bound.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from emkit._kernels.lda import lda_documents
from emkit.containers import Statistics
from emkit.models._dirichlet import fit_dirichlet, fit_polya
from emkit.models._documents import DocumentChunk

__all__ = ["LDA", "LDAParams", "LDAStats", "exp_expected_log_topics", "expected_log_topics"]

#: names ``learn`` may hold
LEARNABLE = ("topics", "doc_topic_prior", "topic_word_prior")


@dataclass(frozen=True)
class LDAParams:
    """topic_word : (K, V) λ, positive; doc_topic_prior : (K,) α; topic_word_prior : (V,) η.

    Fields may be None in a partial ``initial`` given to :class:`LDA`.
    """

    topic_word: np.ndarray | None
    doc_topic_prior: np.ndarray | None
    topic_word_prior: np.ndarray | None


@dataclass(frozen=True, eq=False)
class LDAStats(Statistics):
    """topic_term : (K, V); log_theta : (K,); n_documents : float (see the module)."""

    topic_term: np.ndarray
    log_theta: np.ndarray
    n_documents: float


def expected_log_topics(topic_word: np.ndarray) -> np.ndarray:
    r""":math:`\mathbb{E}_q[\log \beta_{kv}] = \psi(\lambda_{kv}) - \psi(\sum_v
    \lambda_{kv})`, shape (K, V)."""
    return digamma(topic_word) - digamma(topic_word.sum(axis=1, keepdims=True))


def exp_expected_log_topics(topic_word: np.ndarray) -> np.ndarray:
    r""":math:`\exp \mathbb{E}_q[\log \beta_{kv}]`, shape (K, V)."""
    return np.exp(expected_log_topics(topic_word))


class LDA:
    """EM model of latent Dirichlet allocation with K topics over V terms.

    Parameters
    ----------
    n_components : int
        K.
    n_terms : int
        V, the vocabulary's size.
    learn : iterable of str
        What the M-step updates, among "topics" (λ), "doc_topic_prior" (α) and
        "topic_word_prior" (η). The others stay at their values in ``initial``.
    symmetric_doc_topic_prior, symmetric_topic_word_prior : bool
        A learned prior stays a multiple of ones (one concentration), or is learned
        entry by entry.
    initial : LDAParams, optional
        Starting values; α and η must be given (they are the fixed priors when not
        learned); λ, when None, is drawn by :meth:`init_params`.
    mean_change_tol : float
        The documents' γ iterations stop when γ changes by less than this on average.
        Default 1e-3, scikit-learn's. (With warm starts the bound is monotone at any
        tolerance; the statistics are those of the γ reached.)
    max_doc_update_iter : int
        At most this many γ iterations per document and E-step (default 100,
        scikit-learn's).
    doc_warm_start : bool
        In :meth:`e_step`, solve every document from γ = 1, and keep the result only
        if its bound is at least that of the document's γ of the previous E-step of
        the same chunk (a cache of the last values, as DESIGN.md allows; cleared by
        :meth:`init_params`); otherwise solve it from that γ. The bound then never
        decreases: each document's is at least its previous γ's, and from there
        every γ iteration is coordinate ascent (see :mod:`emkit._kernels.lda` for
        why this rule and not the higher of the two optima). False solves from
        γ = 1 only, as scikit-learn restarts its own (which it draws at random): a
        document can then fall into a lower local optimum and the bound decrease.
        The cache holds (n_docs, K) floats; E-steps run on Dask workers rebuild
        their chunks every time and so always start cold.
    """

    def __init__(
        self,
        n_components: int,
        n_terms: int,
        *,
        learn: Sequence[str] = ("topics",),
        symmetric_doc_topic_prior: bool = True,
        symmetric_topic_word_prior: bool = True,
        initial: LDAParams | None = None,
        mean_change_tol: float = 1e-3,
        max_doc_update_iter: int = 100,
        doc_warm_start: bool = True,
    ):
        learn = frozenset(learn)
        unknown = sorted(learn - set(LEARNABLE))
        if unknown:
            raise ValueError(f"learn has unknown names {unknown}; choose from {LEARNABLE}")
        self.n_components = int(n_components)
        self.n_terms = int(n_terms)
        self.learn = learn
        self.symmetric_doc_topic_prior = bool(symmetric_doc_topic_prior)
        self.symmetric_topic_word_prior = bool(symmetric_topic_word_prior)
        self.initial = initial
        if "topics" not in learn and (initial is None or initial.topic_word is None):
            raise ValueError("'topics' is not learned, so initial.topic_word must be given")
        self.mean_change_tol = float(mean_change_tol)
        self.max_doc_update_iter = int(max_doc_update_iter)
        self.doc_warm_start = bool(doc_warm_start)
        # (λ, E[log β], exp E[log β] transposed) of the last λ seen: every chunk of an
        # E-step, and the log prior of the same parameters, share them
        self._topics_cache: tuple | None = None
        # id(chunk.indptr) -> (weak reference to that array, γ of the chunk's documents)
        self._gamma_cache: dict = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        # caches are not shipped to Dask workers or pickles
        state["_topics_cache"], state["_gamma_cache"] = None, {}
        return state

    # -- initialisation -------------------------------------------------------------
    def init_params(self, chunks: Sequence[DocumentChunk], rng) -> LDAParams:
        """λ from ``initial`` or scikit-learn's random start ``rng.gamma(100, 0.01, (K,
        V))`` (the same draws for the same RandomState); α and η from ``initial``."""
        K, V = self.n_components, self.n_terms
        self._gamma_cache = {}  # a restart starts its documents afresh
        initial = self.initial or LDAParams(None, None, None)
        topics = initial.topic_word
        if topics is None:
            topics = rng.gamma(100.0, 0.01, (K, V))
        alpha = np.full(K, 1.0 / K) if initial.doc_topic_prior is None else initial.doc_topic_prior
        eta = np.full(V, 1.0 / K) if initial.topic_word_prior is None else initial.topic_word_prior
        return LDAParams(
            np.array(topics, dtype=np.float64),
            np.array(alpha, dtype=np.float64),
            np.array(eta, dtype=np.float64),
        )

    # -- E-step -----------------------------------------------------------------------
    def _expected_log_topics(self, topics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E[log β] (K, V) and exp E[log β] transposed (V, K) C-contiguous, cached for
        the current λ."""
        cached = self._topics_cache
        if cached is not None and cached[0] is topics:
            return cached[1], cached[2]
        expected_log = expected_log_topics(topics)
        table = np.ascontiguousarray(np.exp(expected_log).T)
        self._topics_cache = (topics, expected_log, table)
        return expected_log, table

    def _exp_log_beta_t(self, params: LDAParams) -> np.ndarray:
        """exp E[log β] transposed, (V, K) C-contiguous, cached for the current λ."""
        return self._expected_log_topics(params.topic_word)[1]

    def _solve(self, params, chunk, with_stats, start=None):
        if start is None:
            start = np.empty((0, self.n_components))
        return lda_documents(
            chunk.indptr,
            chunk.indices,
            chunk.counts,
            self._exp_log_beta_t(params),
            np.ascontiguousarray(params.doc_topic_prior, dtype=np.float64),
            self.mean_change_tol,
            self.max_doc_update_iter,
            with_stats,
            start,
        )

    def _cached_gamma(self, chunk: DocumentChunk):
        """The chunk's γ of the previous E-step, or None."""
        entry = self._gamma_cache.get(id(chunk.indptr))
        # the weak reference tells a live chunk from a new one at a recycled address
        if entry is not None and entry[0]() is chunk.indptr:
            return entry[1]
        return None

    def e_step(self, params: LDAParams, chunk: DocumentChunk) -> tuple[LDAStats, float]:
        """Statistics of the chunk's documents and the sum of their bounds."""
        start = self._cached_gamma(chunk) if self.doc_warm_start else None
        gamma, topic_term, log_theta, n_documents, bound, _ = self._solve(
            params, chunk, True, start
        )
        if self.doc_warm_start:
            cache, key = self._gamma_cache, id(chunk.indptr)
            # the entry goes when its chunk does (Dask rebuilds chunks every E-step)
            reference = weakref.ref(chunk.indptr, lambda _: cache.pop(key, None))
            cache[key] = (reference, gamma)
        return LDAStats(np.ascontiguousarray(topic_term.T), log_theta, n_documents), bound

    def bound(self, params: LDAParams, chunk: DocumentChunk) -> float:
        """The documents' part of the bound (scikit-learn's ``_approx_bound`` without the
        topics' term, which is :meth:`log_prior`)."""
        return float(self._solve(params, chunk, True)[4])

    def doc_topic(self, params: LDAParams, chunk: DocumentChunk) -> np.ndarray:
        """γ of the chunk's documents, shape (n_docs, K) (α for an empty document)."""
        return self._solve(params, chunk, False)[0]

    def inner_iterations(self, params: LDAParams, chunk: DocumentChunk) -> int:
        """γ iterations the chunk's documents take (a diagnostic of ``mean_change_tol``)."""
        return int(self._solve(params, chunk, False)[5])

    def online_start_statistics(self, params: LDAParams, n_documents: float) -> LDAStats:
        """Per-document statistics whose M-step, scaled to ``n_documents``, gives back
        ``params``' λ: online VB's running statistics before the first batch.

        Starting from them (and counting them as one step), the first batch moves λ
        from the random start by ``(1 + learning_offset) ** -learning_decay``, as
        scikit-learn's online update does, instead of replacing it by one batch's
        noisy estimate (measured on the KJV chapters, K = 20, 10 passes: held-out
        completion perplexity 873 with the replacement, see benchmarks/bench_lda.py).
        The prior's statistics start empty: they are ratios, which the first batch
        then sets.
        """
        K = self.n_components
        topic_term = (params.topic_word - params.topic_word_prior[None, :]) / n_documents
        return LDAStats(topic_term, np.zeros(K), 0.0)

    # -- M-step -----------------------------------------------------------------------
    def m_step(self, stats: LDAStats) -> LDAParams:
        """λ = η + N, with α and η re-estimated first when learned (see the module)."""
        fixed = self.initial
        alpha = np.asarray(fixed.doc_topic_prior, dtype=np.float64)
        eta = np.asarray(fixed.topic_word_prior, dtype=np.float64)
        if "doc_topic_prior" in self.learn and stats.n_documents > 0:
            mean_log = stats.log_theta / stats.n_documents
            alpha = fit_dirichlet(mean_log, alpha, symmetric=self.symmetric_doc_topic_prior)
        if "topics" in self.learn:
            if "topic_word_prior" in self.learn:
                eta = fit_polya(stats.topic_term, eta, symmetric=self.symmetric_topic_word_prior)
            topics = eta[None, :] + stats.topic_term
        else:
            topics = np.asarray(fixed.topic_word, dtype=np.float64)
            if "topic_word_prior" in self.learn:
                eta = self._topic_word_prior_for(topics, eta)
        return LDAParams(topics, alpha, eta)

    def _topic_word_prior_for(self, topics: np.ndarray, start: np.ndarray) -> np.ndarray:
        """η maximising the topics' term for fixed λ: a Dirichlet fit to E[log β]."""
        # not the log of exp_expected_log_topics: that underflows to -inf for tiny λ
        mean_log = expected_log_topics(topics).mean(axis=0)
        return fit_dirichlet(mean_log, start, symmetric=self.symmetric_topic_word_prior)

    # -- objective ----------------------------------------------------------------------
    def log_prior(self, params: LDAParams) -> float:
        r"""The topics' term of the bound, :math:`\sum_k \mathbb{E}_q[\log p(\beta_k \mid
        \eta)] - \mathbb{E}_q[\log q(\beta_k \mid \lambda_k)]` (scikit-learn's last term)."""
        topics, eta = params.topic_word, params.topic_word_prior
        expected_log = self._expected_log_topics(topics)[0]
        K = topics.shape[0]
        return float(
            np.sum((eta[None, :] - topics) * expected_log)
            + np.sum(gammaln(topics))
            - np.sum(gammaln(topics.sum(axis=1)))
            + K * (gammaln(eta.sum()) - np.sum(gammaln(eta)))
        )

    # -- unconstrained parametrisation (SQUAREM) -----------------------------------------
    def _packed_fields(self) -> list[tuple[str, bool]]:
        """(field, symmetric) of the learned parameters, in packing order."""
        fields = []
        if "topics" in self.learn:
            fields.append(("topic_word", False))
        if "doc_topic_prior" in self.learn:
            fields.append(("doc_topic_prior", self.symmetric_doc_topic_prior))
        if "topic_word_prior" in self.learn:
            fields.append(("topic_word_prior", self.symmetric_topic_word_prior))
        return fields

    def pack(self, params: LDAParams) -> np.ndarray:
        """Logs of the learned parameters (one value for a symmetric prior), 1-D."""
        parts = []
        for name, symmetric in self._packed_fields():
            value = np.asarray(getattr(params, name))
            parts.append(np.log(value[:1] if symmetric else value.ravel()))
        return np.concatenate(parts)

    def unpack(self, vector: np.ndarray, like: LDAParams) -> LDAParams:
        """Inverse of :meth:`pack`; fields not learned are ``like``'s."""
        values = {
            "topic_word": like.topic_word,
            "doc_topic_prior": like.doc_topic_prior,
            "topic_word_prior": like.topic_word_prior,
        }
        offset = 0
        for name, symmetric in self._packed_fields():
            shape = np.shape(values[name])
            size = 1 if symmetric else int(np.prod(shape))
            with np.errstate(over="ignore"):
                part = np.exp(vector[offset : offset + size])
            offset += size
            if not np.all(np.isfinite(part) & (part > 0)):
                raise ValueError(f"{name} would leave (0, inf) after the extrapolation")
            values[name] = np.broadcast_to(part, shape).copy() if symmetric else part.reshape(shape)
        return LDAParams(**values)
