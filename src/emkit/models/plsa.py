r"""Probabilistic latent semantic analysis (Hofmann 1999) as an EM model of the engine.

A corpus of D documents over V terms with K topics: a word of document d is drawn by
picking a topic from the document's proportions :math:`\theta_d` (K,) and a term from
that topic's distribution :math:`\beta_k` (V,),

.. math::

    \log p(X \mid \beta, \theta) = \sum_d \sum_v n_{dv} \log \sum_k \theta_{dk}
    \beta_{kv}.

The global parameters are the topics ``topic_word`` β (K, V), rows summing to 1. The
proportions θ_d are *local* (DESIGN.md): for the current topics, the E-step maximises
every document's objective over θ_d, a concave problem on the simplex, solved to a
certified tolerance (:func:`emkit._kernels.plsa.solve_documents`), and returns only
the fixed-size statistics ``topic_term`` (K, V), the expected counts
:math:`N_{kv} = \sum_d n_{dv} q_{dvk}` at the solved θ. The M-step is
:math:`\beta_{kv} \propto N_{kv} + \eta_v - 1`. So chunked, threaded, Dask, online
and SQUAREM fitting all come from the engine.

**The objective and its monotonicity.** With tempering b in (0, 1] (Hofmann's tempered
EM: posteriors :math:`q_{dvk} \propto (\theta_{dk}\beta_{kv})^b`) and Dirichlet priors
α on every θ_d and η on every β_k (concentrations ≥ 1), EM is coordinate ascent on
the tempered free energy

.. math::

    F(q, \theta, \beta) = \sum_{d,v} n_{dv} \sum_k q_{dvk} \Big(\log \theta_{dk}\beta_{kv}
    - \frac{1}{b} \log q_{dvk}\Big) + \sum_{d,k} (\alpha_k - 1) \log \theta_{dk}
    + \sum_{k,v} (\eta_v - 1) \log \beta_{kv}.

Maximising over q gives :math:`q \propto (\theta\beta)^b`, and its maximum over q is

.. math::

    \mathcal{F}(\theta, \beta) = \sum_d \underbrace{\Big(\frac{1}{b} \sum_v n_{dv}
    \log \sum_k \theta_{dk}^b \beta_{kv}^b + \sum_k (\alpha_k - 1) \log \theta_{dk}
    \Big)}_{f_d(\theta_d; \beta)} + \sum_{k,v} (\eta_v - 1) \log \beta_{kv},

the log-likelihood (plus log priors, without their normalising constants) when b = 1.
Each :math:`f_d` is concave in θ_d (θ ↦ θ^b is concave for b ≤ 1, a positive sum of
concave functions is concave and log is concave and increasing), so its maximum
:math:`\theta_d^*(\beta)` is what the E-step solves, and the profile objective
:math:`\ell(\beta) = \max_\theta \mathcal{F}(\theta, \beta)` is what EM monotonically
increases: with q at :math:`(\theta^*(\beta), \beta)`,
:math:`\ell(\beta') \ge \mathcal{F}(\theta^*(\beta), \beta') \ge F(q, \theta^*(\beta),
\beta') \ge F(q, \theta^*(\beta), \beta) = \ell(\beta)` for the M-step's β'. So
:meth:`PLSA.e_step` returns :math:`\sum_d f_d(\theta_d^*)` (the tempered
log-likelihood plus the doc-topic prior's terms) and :meth:`PLSA.log_prior` the
topic-word prior's term, and the engine's check of monotonicity holds for every b and
prior. The inner solve stops at a certificate (its Frank-Wolfe gap) that puts every
document's value within ``doc_tol`` per word (plus pseudo-count) of its maximum, far
below the engine's relative 1e-9; since an E-step keeps no state, every document
starts from the uniform θ (the previous E-step's θ, a better start, is not kept).

Concentrations below 1 are refused: the prior's density is then unbounded at the
boundary of the simplex, the MAP estimate can sit on the boundary with infinite
density, and the documents' problems are no longer concave. (For sparse priors, use
latent Dirichlet allocation.)

A document without words adds nothing; its θ is the prior's mode (uniform when α =
1). A term of a document that has probability 0 in every topic (possible with topics
given by hand) makes that document impossible: the E-step raises a ValueError naming
it; :meth:`PLSA.log_likelihood` gives -inf and :meth:`PLSA.doc_topic` leaves the term
out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emkit._kernels.plsa import solve_documents, word_topic_tables
from emkit.containers import Statistics
from emkit.families._counts import sqrt_pack, sqrt_unpack
from emkit.models._documents import DocumentChunk

__all__ = [
    "PLSA",
    "EmptyTopicWarning",
    "ImpossibleDocumentError",
    "PLSAParams",
    "PLSAStats",
    "check_concentration",
]

#: names ``learn`` may hold
LEARNABLE = ("topics",)

#: the inner solve's certificate, per word: the corpus's objective is within this of
#: its exact maximum per word, a tenth of the smallest decrease (1e-9 per word) that
#: the engine's monotonicity check reports
DEFAULT_DOC_TOL = 1e-10

#: inner iterations per document and E-step at most; about 20 reach the certificate
#: on real corpora (KJV chapters, 20 topics: at most 40)
DEFAULT_MAX_DOC_UPDATE_ITER = 200


class ImpossibleDocumentError(ValueError):
    """A document has a term that every topic gives probability 0."""


class EmptyTopicWarning(RuntimeWarning):
    """A topic received no words: no document uses it."""


@dataclass(frozen=True)
class PLSAParams:
    """topic_word : (K, V) β, rows summing to 1 (None in a partial ``initial``)."""

    topic_word: np.ndarray | None


@dataclass(frozen=True, eq=False)
class PLSAStats(Statistics):
    """topic_term : (K, V) expected counts Σ_d n_dv q_dvk at the solved proportions."""

    topic_term: np.ndarray


def check_concentration(value, name: str, size: int, per: str) -> np.ndarray:
    """A Dirichlet concentration (a number, or an array of ``size`` entries, one per
    ``per``) as a (size,) float array, or a ValueError naming ``name`` and saying why
    it must be at least 1."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(
            f"{name} must be a number or an array of one entry per {per}, shape "
            f"({size},); got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    if np.any(array < 1.0):
        raise ValueError(
            f"{name} must be at least 1 in every entry, got minimum {array.min()!r}: PLSA "
            "takes the MAP estimate, and a Dirichlet concentration below 1 has unbounded "
            "density at the boundary of the simplex (no concave problem, the maximum can "
            "be a corner). Use 1 for maximum likelihood, more to smooth; for sparse "
            "priors below 1 use LatentDirichletAllocation"
        )
    return array


def check_tempering(tempering) -> float:
    """Tempering as a float in (0, 1], or a ValueError saying why."""
    value = float(tempering)
    if not (0.0 < value <= 1.0):
        raise ValueError(
            f"tempering must be in (0, 1], got {tempering!r}: it is the exponent of the "
            "tempered posteriors (Hofmann's β), 1 for plain EM, smaller to smooth"
        )
    return value


class PLSA:
    """EM model of PLSA with K topics over V terms (see the module for the math).

    Parameters
    ----------
    n_components : int
        K.
    n_terms : int
        V, the vocabulary's size.
    tempering : float in (0, 1]
        b, the exponent of the tempered posteriors; 1 is plain EM.
    doc_topic_prior : float or array-like of shape (n_components,)
        α ≥ 1, the Dirichlet prior of every document's proportions (1: maximum
        likelihood); α − 1 are pseudo-counts added to every document's expected
        topic counts.
    topic_word_prior : float or array-like of shape (n_terms,)
        η ≥ 1, the Dirichlet prior of every topic (1: maximum likelihood); η − 1 are
        pseudo-counts added to every topic's expected term counts.
    learn : iterable of str
        What the M-step updates: "topics", or nothing (the topics stay at
        ``initial``'s, which must then be given).
    initial : PLSAParams, optional
        Starting topics (and the fixed ones when not learned); None draws them in
        :meth:`init_params`.
    doc_tol : float
        Every document's proportions are solved until its objective is certified
        within ``doc_tol`` times its words (plus pseudo-counts) of its maximum.
    max_doc_update_iter : int
        At most this many inner iterations per document and E-step (a document that
        reaches it without its certificate gives a ConvergenceWarning).
    """

    def __init__(
        self,
        n_components: int,
        n_terms: int,
        *,
        tempering: float = 1.0,
        doc_topic_prior=1.0,
        topic_word_prior=1.0,
        learn: Sequence[str] = ("topics",),
        initial: PLSAParams | None = None,
        doc_tol: float = DEFAULT_DOC_TOL,
        max_doc_update_iter: int = DEFAULT_MAX_DOC_UPDATE_ITER,
    ):
        learn = frozenset(learn)
        unknown = sorted(learn - set(LEARNABLE))
        if unknown:
            raise ValueError(f"learn has unknown names {unknown}; choose from {LEARNABLE}")
        if "topics" not in learn and (initial is None or initial.topic_word is None):
            raise ValueError("'topics' is not learned, so initial.topic_word must be given")
        self.n_components = int(n_components)
        self.n_terms = int(n_terms)
        self.tempering = check_tempering(tempering)
        K, V = self.n_components, self.n_terms
        self.doc_topic_prior = check_concentration(doc_topic_prior, "doc_topic_prior", K, "topic")
        self.topic_word_prior = check_concentration(topic_word_prior, "topic_word_prior", V, "term")
        self.learn = learn
        self.initial = initial
        if doc_tol < 0 or not np.isfinite(doc_tol):
            raise ValueError(f"doc_tol must be a finite number >= 0, got {doc_tol!r}")
        if int(max_doc_update_iter) < 1:
            raise ValueError(f"max_doc_update_iter must be >= 1, got {max_doc_update_iter!r}")
        self.doc_tol = float(doc_tol)
        self.max_doc_update_iter = int(max_doc_update_iter)
        # the kernel's (V, K) tables of the last topics seen: every chunk of an E-step
        # (every thread) shares one copy
        self._tables_cache: tuple | None = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_tables_cache"] = None  # not shipped to Dask workers or pickles
        return state

    @property
    def _doc_pseudo(self) -> np.ndarray:
        return self.doc_topic_prior - 1.0

    @property
    def _word_pseudo(self) -> np.ndarray:
        return self.topic_word_prior - 1.0

    # -- initialisation -------------------------------------------------------------
    def init_params(self, chunks: Sequence[DocumentChunk], rng) -> PLSAParams:
        """``initial``'s topics, or random ones: every row a Dirichlet(1, ..., 1) draw
        (uniform on the simplex; normalised exponential draws of ``rng``)."""
        if self.initial is not None and self.initial.topic_word is not None:
            return PLSAParams(np.array(self.initial.topic_word, dtype=np.float64))
        draws = rng.standard_exponential((self.n_components, self.n_terms))
        return PLSAParams(draws / draws.sum(axis=1, keepdims=True))

    # -- E-step -----------------------------------------------------------------------
    def _tables(self, params: PLSAParams):
        cached = self._tables_cache
        if cached is not None and cached[0] is params.topic_word:
            return cached[1]
        tables = word_topic_tables(params.topic_word, self.tempering)
        self._tables_cache = (params.topic_word, tables)
        return tables

    def _solve(self, params: PLSAParams, chunk: DocumentChunk, **what):
        return solve_documents(
            chunk.indptr,
            chunk.indices,
            chunk.counts,
            params.topic_word,
            self._doc_pseudo,
            tempering=self.tempering,
            tol=self.doc_tol,
            max_iter=self.max_doc_update_iter,
            tables=self._tables(params),
            **what,
        )

    def _warn_unsolved(self, solution, chunk: DocumentChunk) -> None:
        if solution.n_unsolved:
            unsolved = np.flatnonzero(solution.evaluations >= self.max_doc_update_iter)
            warnings.warn(
                f"{solution.n_unsolved} documents (the first is row "
                f"{chunk.first_row + int(unsolved[0])}) did not reach doc_tol={self.doc_tol:g} "
                f"in max_doc_update_iter={self.max_doc_update_iter} inner iterations: their topic "
                "proportions are not optimal, and EM's objective may then decrease. "
                "Increase max_doc_update_iter (or doc_tol)",
                ConvergenceWarning,
                stacklevel=3,
            )

    def e_step(self, params: PLSAParams, chunk: DocumentChunk) -> tuple[PLSAStats, float]:
        """Expected counts (K, V) of the chunk at every document's solved θ, and
        Σ_d f_d(θ_d) (the tempered log-likelihood plus the doc-topic prior's terms).

        Raises ImpossibleDocumentError for a document with a term that every topic
        gives probability 0.
        """
        solution = self._solve(params, chunk, want_stats=True)
        if solution.first_impossible >= 0:
            doc = solution.first_impossible
            start, stop = chunk.indptr[doc], chunk.indptr[doc + 1]
            terms = chunk.indices[start:stop]
            column = params.topic_word[:, terms].sum(axis=0)
            term = int(terms[np.argmax(column <= 0)])
            raise ImpossibleDocumentError(
                f"document {chunk.first_row + doc} has term {term}, which every topic gives "
                "probability 0: no topic proportions explain it. Such topics come from "
                "components_init or hand-set components_ with zeros, or from partial_fit "
                "batches that never had the term (maximum likelihood gives unseen terms "
                "probability 0): set topic_word_prior > 1 (e.g. 1.01), or give every term "
                "a positive probability in some topic"
            )
        self._warn_unsolved(solution, chunk)
        return PLSAStats(np.ascontiguousarray(solution.stats.T)), solution.objective

    def doc_topic(self, params: PLSAParams, chunk: DocumentChunk) -> np.ndarray:
        """The solved θ of the chunk's documents, shape (n_docs, K), rows summing to 1
        (the prior's mode for a document without words; a term that no topic explains
        is left out)."""
        return self._solve(params, chunk, want_stats=False).theta

    def log_likelihood(self, params: PLSAParams, chunk: DocumentChunk) -> float:
        """Σ_d Σ_v n_dv log Σ_k θ_dk β_kv at every document's solved θ (folding in:
        θ solved as in the E-step, with its tempering and prior; the priors' terms
        left out). -inf when a term has probability 0 in every topic."""
        solution = self._solve(params, chunk, want_stats=False, want_log_likelihood=True)
        return solution.log_likelihood

    def inner_iterations(self, params: PLSAParams, chunk: DocumentChunk) -> np.ndarray:
        """Inner iterations every document of the chunk takes, shape (n_docs,) (a
        diagnostic of ``doc_tol``)."""
        return self._solve(params, chunk, want_stats=False).evaluations

    # -- M-step -----------------------------------------------------------------------
    def m_step(self, stats: PLSAStats) -> PLSAParams:
        """β_kv ∝ N_kv + η_v − 1 (the initial topics when they are not learned).

        A topic with no words at all (possible only without a topic-word prior: no
        document uses it) becomes uniform, with an EmptyTopicWarning; that cannot
        lower the objective, since no document's solved θ gave it weight.
        """
        if "topics" not in self.learn:
            return PLSAParams(np.asarray(self.initial.topic_word, dtype=np.float64))
        counts = stats.topic_term + self._word_pseudo[None, :]
        totals = counts.sum(axis=1)
        empty = np.flatnonzero(~(totals > 0))
        if empty.size:
            warnings.warn(
                f"topics {empty.tolist()} received no words (no document uses them): they "
                "are reset to the uniform distribution. Lower n_components, or set "
                "topic_word_prior > 1",
                EmptyTopicWarning,
                stacklevel=3,
            )
            counts[empty] = 1.0
            totals[empty] = counts.shape[1]
        return PLSAParams(counts / totals[:, None])

    # -- objective ----------------------------------------------------------------------
    def log_prior(self, params: PLSAParams) -> float:
        """The topic-word prior's term Σ_kv (η_v − 1) log β_kv (the Dirichlet log density
        without its normalising constant; 0 for η = 1 or fixed topics). The doc-topic
        prior's terms are in :meth:`e_step`'s value, with every document's θ."""
        pseudo = self._word_pseudo
        if "topics" not in self.learn or not np.any(pseudo > 0):
            return 0.0
        with np.errstate(divide="ignore"):
            terms = np.where(pseudo > 0, pseudo * np.log(params.topic_word), 0.0)
        return float(terms.sum())

    # -- unconstrained parametrisation (SQUAREM) -----------------------------------------
    def pack(self, params: PLSAParams) -> np.ndarray:
        """√β, flattened (K·V,) (see :func:`emkit.families._counts.sqrt_pack`)."""
        return sqrt_pack(params.topic_word)

    def unpack(self, vector: np.ndarray, like: PLSAParams) -> PLSAParams:
        """Inverse of :meth:`pack`: every row's squares, normalised (``like``'s topics
        when fixed); a ValueError when they are not finite."""
        if "topics" not in self.learn:
            return like
        return PLSAParams(sqrt_unpack(vector, (self.n_components, self.n_terms)))
