"""The shell shared by the topic-model estimators (LDA and PLSA).

A topic model explains a document-term matrix of counts ``X`` (n_docs, n_terms) by
``n_components`` topics, each a distribution over the vocabulary, and per-document
topic proportions. The per-document quantities are *local* parameters: the model's
E-step optimises them for the current topics and returns only fixed-size statistics
(DESIGN.md), so chunked, threaded, Dask, online and SQUAREM fitting all come from the
engine. :class:`TopicModel` writes once what both estimators share:

- the data: :func:`emkit.estimators._documents.prepare_documents` (never dense;
  counts checked; the vocabulary size fixed by ``fit`` and checked everywhere after);
  ``n_samples`` of the engine is the corpus's token count, so ``lower_bound_`` is the
  objective *per word* and ``tol`` does not depend on the corpus size;
- ``fit`` (batch EM on the engine, or online EM over mini-batches when the subclass
  says so), ``partial_fit`` (one online EM update per call), ``fit_transform``,
  ``transform`` (topic proportions, rows summing to 1), ``score`` and ``perplexity``,
  the prediction methods running over the chunks on ``n_jobs`` threads (and over the
  blocks of a Dask array on its scheduler);
- ``components_`` (n_components, n_features_in_), a view of the model's topic-word
  parameter (field ``topic_word``), with ``components_init`` its starting value;
- scikit-learn's tags (sparse, non-negative integer input) and feature names out.

Hooks a subclass fills
----------------------
``_build_model(data) -> model``
    The engine's model (``emkit.models.lda.LDA``, ``emkit.models.plsa.PLSA``) from the
    :class:`~emkit.estimators._base.TrainingData` and the hyperparameters.
``_assemble(values) -> (model, params)``
    A model and full parameters from hand-set attributes ``{field: array}``.
``_check_components(array, name)``
    The constraint on ``components_`` (a ValueError naming ``name``): positive for
    LDA's variational Dirichlet, rows summing to 1 for PLSA.
``_doc_topic(chunk) -> ndarray (n_docs_in_chunk, n_components)``
    Non-negative, unnormalised topic weights of a chunk's documents under the fitted
    parameters; ``transform`` normalises the rows. Default ``model_.doc_topic``.
``_chunk_score(chunk) -> float`` and ``_global_score() -> float``
    ``score(X)`` is the sum of the first over the chunks of X plus the second once
    (LDA: ``model_.bound`` and ``model_.log_prior``, scikit-learn's approximate
    bound; PLSA: ``model_.log_likelihood`` and 0).
``_fits_online() -> bool``
    True when ``fit`` runs online EM over mini-batches (LDA's
    ``learning_method="online"``): the subclass then also declares ``batch_size``.
``_partial_fit_total_weight() -> float or None``
    The number of documents the running statistics of ``partial_fit`` are scaled
    to (scikit-learn's ``total_samples``); None: the documents seen so far.

Online EM weighs documents: a batch's weight is its number of documents (empty ones
included: they are documents of the corpus that have no words), and the M-step
scales the running per-document statistics to the corpus's documents (Hoffman, Blei
& Bach 2010).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from emkit.core import trace_as_arrays
from emkit.core.online import OnlineState, fit_online, online_em_step
from emkit.distributed.dask import is_dask_collection
from emkit.estimators._base import EMEstimator, TrainingData
from emkit.estimators._documents import (
    _vocabulary_error,
    check_counts,
    document_chunks,
    prepare_documents,
    validated_documents,
)
from emkit.estimators._parameters import Parameter
from emkit.models._documents import DocumentChunk

if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import Documents, EMCallback


__all__ = ["TopicModel"]


def _check_components_hook(array, name, estimator) -> None:
    estimator._check_components(array, name)


def _no_words_error(what: str) -> ValueError:
    return ValueError(
        f"{what} has no words: every document is empty (all counts are 0); a topic "
        "model needs at least one word to learn from"
    )


class TopicModel(ClassNamePrefixFeaturesOutMixin, TransformerMixin, EMEstimator):
    """Base of emkit's topic-model estimators (see the module docstring for the hooks).

    Parameters shared by every topic model
    --------------------------------------
    n_components : int, default=10
        Number of topics.
    components_init : array-like of shape (n_components, n_features), optional
        Starting topics (the value of ``components_`` that EM starts from), instead of
        the model's random start. Setting ``components_`` on an unfitted estimator and
        fitting with ``warm_start=True`` does the same.
    """

    _hyperparameters: dict = {
        "n_components": (10, [Interval(Integral, 1, None, closed="left")]),
        "components_init": (None, ["array-like", None]),
    }
    _positional = ("n_components",)

    components_ = Parameter(
        "topic_word",
        ("n_components", "n_features_in_"),
        _check_components_hook,
        init="components_init",
    )

    # -- scikit-learn -------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        # counts are integers: scikit-learn's checks then give rounded data
        tags.input_tags.categorical = True
        return tags

    @property
    def _n_features_out(self) -> int:
        return self.components_.shape[0]

    # -- fitting --------------------------------------------------------------------------
    def fit(self, X: Documents, y: object = None, *, callback: EMCallback | None = None) -> Self:
        """Fit the topics to a corpus.

        Parameters
        ----------
        X : sparse matrix, array-like or dask.array.Array of shape (n_docs, n_terms)
            Counts of every term in every document (non-negative integers; e.g.
            ``CountVectorizer``'s output). Never made dense. A Dask array (of dense or
            sparse blocks) is E-stepped block by block on its scheduler.
        y : ignored
        callback : callable, optional
            ``callback(restart, iteration, params)`` after every EM iteration (batch
            EM; see :func:`emkit.core.fit_em`), or ``callback(pass, params)`` after
            every pass (online EM; see :func:`emkit.core.online.fit_online`).

        Returns
        -------
        self
        """
        if self._fits_online():
            self._fit_online(X, callback=callback)
        else:
            self._fit(X, callback=callback)
        # a fit starts partial_fit's schedule afresh (from the fitted parameters)
        self.__dict__.pop("online_state_", None)
        return self

    def partial_fit(self, X: Documents, y: object = None) -> Self:
        """One online EM update from a batch of documents (online variational Bayes).

        The first call starts from the fitted (or hand-set) parameters when there are
        any, otherwise from the model's start on this batch; the vocabulary is then
        fixed. Every call moves the running per-document statistics towards the
        batch's with step ``(t + learning_offset) ** -learning_decay`` for the t-th
        batch (the first batch sets them), and the M-step scales them to
        ``total_samples`` documents (default: the documents seen so far, which is
        right for a stream of new documents seen once; give the corpus's size when
        passing over one corpus several times). A batch with no word at all is
        refused. Sets ``online_state_`` and ``n_batch_iter_`` (batches seen).

        Parameters
        ----------
        X : sparse matrix or array-like of shape (n_batch_docs, n_terms)
        y : ignored

        Returns
        -------
        self
        """
        return self._partial_fit(X)

    def fit_transform(self, X: Documents, y: object = None, **fit_params: Any) -> np.ndarray:
        """Fit, then return the topic proportions of X, shape (n_docs, n_components)."""
        return self.fit(X, **fit_params).transform(X)

    # -- hooks of the fit template -----------------------------------------------------------
    def _prepare_data(self, X, *, warm) -> TrainingData:
        return prepare_documents(self, X, reset=not warm)

    def _prepare_batch(self, X, *, first) -> TrainingData:
        """One in-memory chunk of a partial_fit batch; ``n_samples`` is its number of
        documents (online EM weighs documents)."""
        if is_dask_collection(X):
            X = X.compute()  # a mini-batch is small by definition
        # the vocabulary is fixed by the first batch unless parameters already fix it
        reset = first and "params_" not in self.__dict__
        csr = validated_documents(self, X, reset=reset)
        if csr.nnz == 0:
            raise _no_words_error("this batch of partial_fit")
        chunk = DocumentChunk.from_matrix(csr)
        n_docs = csr.shape[0]
        return TrainingData([chunk], [chunk], float(n_docs), n_docs, csr, batch=True)

    def _partial_fit(self, X, **data_args):
        """The shell's online step with the running statistics scaled to
        ``_partial_fit_total_weight()`` documents, continuing from the fitted or
        hand-set parameters when there are any."""
        first = "online_state_" not in self.__dict__
        if first:
            self._validate_params()
        batch = self._prepare_batch(X, first=first, **data_args)
        # locals first: a refused batch leaves the fitted state as it was
        if not first:
            model, params, state = self.model_, self.params_, self.online_state_
            n_iter = self.n_batch_iter_
        elif "params_" in self.__dict__:
            model, params, state, n_iter = self.model_, self.params_, None, 0
        else:
            model = self._build_model(batch)
            params = model.init_params(batch.init_chunks, check_random_state(self.random_state))
            state, n_iter = None, 0
        params, state, _ = online_em_step(
            model,
            params,
            state,
            batch.init_chunks[0],
            batch.n_samples,
            kappa=self.learning_decay,
            t0=self.learning_offset,
            total_weight=self._partial_fit_total_weight(),
        )
        self.model_, self.params_, self.online_state_ = model, params, state
        self.n_batch_iter_ = n_iter + 1
        self.n_iter_ = self.n_batch_iter_
        self.__dict__.pop("_pending_parameters", None)
        return self

    def _fit_online(self, X, *, callback=None):
        """``fit`` by online EM: ``max_iter`` passes over mini-batches of
        ``batch_size`` documents in the rows' order."""
        self._validate_params()
        if is_dask_collection(X):
            raise ValueError(
                f"{type(self).__name__}(learning_method='online').fit needs X in memory; "
                "for a Dask array use learning_method='batch' (E-steps per block on the "
                "cluster), or call partial_fit on its blocks one at a time"
            )
        warm = self._is_warm()
        data = self._prepare_data(X, warm=warm)
        model = self._build_model(data)
        batches, weights = self._online_batches(data.sample)
        n_docs = float(data.n_rows)
        if warm:
            start = self.params_
        else:
            start = model.init_params(data.init_chunks, check_random_state(self.random_state))
        state = None
        if hasattr(model, "online_start_statistics"):
            # the start counts as the first step (see LDA.online_start_statistics)
            state = OnlineState(model.online_start_statistics(start, n_docs), 1, n_docs)
        result = fit_online(
            model,
            batches,
            batch_weights=weights,
            n_samples=data.n_samples,
            total_weight=n_docs,
            n_passes=self.max_iter,
            kappa=self.learning_decay,
            t0=self.learning_offset,
            tol=self.tol,
            start_params=start,
            start_state=state,
            n_jobs=self._n_threads(),
            callback=callback,
            verbose=self.verbose,
        )
        before = dict(self.__dict__)
        try:
            self.model_ = model
            self.params_ = result.params
            self.__dict__.pop("_pending_parameters", None)
            self.converged_ = result.converged
            self.n_iter_ = result.n_iter
            self.n_batch_iter_ = result.n_batches
            self.lower_bound_ = result.lower_bound
            self.lower_bounds_ = result.lower_bounds
            self.log_likelihood_ = result.log_likelihood
            self.n_e_steps_ = result.n_batches
            self.trace_ = trace_as_arrays([])
            self._after_fit(data)
            self._check_fit(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _online_batches(self, csr):
        """(batches, weights): consecutive rows, ``batch_size`` documents a batch, each
        cut into chunks of ``chunk_size`` documents for the threads; weights are the
        batches' document counts."""
        size = int(self.batch_size)
        batches, weights = [], []
        for start in range(0, csr.shape[0], size):
            rows = csr[start : start + size]
            chunks = document_chunks(rows, self.n_components, self.chunk_size)
            # rows numbered in the user's X in messages
            batches.append([replace(c, first_row=c.first_row + start) for c in chunks])
            weights.append(float(rows.shape[0]))
        return batches, weights

    # -- hooks for subclasses -----------------------------------------------------------------
    def _fits_online(self) -> bool:
        return False

    def _partial_fit_total_weight(self) -> float | None:
        return None

    def _check_components(self, array, name) -> None:
        if np.any(array <= 0):
            raise ValueError(f"{name} must be positive")

    def _doc_topic(self, chunk) -> np.ndarray:
        return self.model_.doc_topic(self.params_, chunk)

    def _chunk_score(self, chunk) -> float:
        raise NotImplementedError

    def _global_score(self) -> float:
        return 0.0

    # -- prediction ------------------------------------------------------------------------------
    def _map_chunks(self, function, X) -> list:
        """``[function(chunk) for chunk of X]``, X validated against the fitted vocabulary;
        in-memory chunks on ``n_jobs`` threads, Dask blocks on the Dask scheduler."""
        self._check_fitted()
        if is_dask_collection(X):
            return self._map_dask_blocks(function, X)
        csr = validated_documents(self, X, reset=False)
        chunks = document_chunks(csr, self.n_components, self.chunk_size)
        n_threads = self._n_threads()
        if n_threads < 2 or len(chunks) < 2:
            return [function(chunk) for chunk in chunks]
        from threadpoolctl import threadpool_limits

        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(n_threads, thread_name_prefix="emkit-topics") as pool,
        ):
            return list(pool.map(function, chunks))

    def _map_dask_blocks(self, function, X) -> list:
        import dask
        import scipy.sparse as sp

        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise _vocabulary_error(self, X.shape[-1])
        if any(np.isnan(size) for size in X.chunks[0]):
            raise ValueError("the Dask array has unknown chunk sizes; call X.compute_chunk_sizes()")
        starts = np.cumsum((0, *X.chunks[0]))
        blocks = X.rechunk({1: -1}).to_delayed().ravel()

        def run(block, first_row):
            csr = sp.csr_matrix(block, dtype=np.float64)
            check_counts(csr, "X", first_row)
            return function(DocumentChunk.from_matrix(csr, first_row))

        tasks = [dask.delayed(run)(b, int(s)) for b, s in zip(blocks, starts, strict=False)]
        return list(dask.compute(*tasks))

    def transform(self, X: Documents) -> np.ndarray:
        """Topic proportions of every document, shape (n_docs, n_components), rows
        summing to 1 (the normalised variational Dirichlet of LDA, P(z|d) of PLSA, with
        the topics fixed). An empty document gets the prior's mean (LDA) or mode (PLSA).

        Parameters
        ----------
        X : sparse matrix, array-like or dask.array.Array of shape (n_docs, n_terms)
            Counts over the vocabulary of ``fit``.
        """
        weights = np.vstack(self._map_chunks(self._doc_topic, X))
        return weights / weights.sum(axis=1, keepdims=True)

    def _chunk_score_and_words(self, chunk) -> tuple[float, float]:
        return self._chunk_score(chunk), chunk.n_words

    def score(self, X: Documents, y: object = None) -> float:
        """The objective of X under the fitted topics (total, not per word): see the
        estimator's class docstring (LDA: scikit-learn's approximate variational
        bound; PLSA: the log-likelihood with folded-in topic proportions)."""
        return float(sum(self._map_chunks(self._chunk_score, X)) + self._global_score())

    def perplexity(self, X: Documents) -> float:
        """``exp(-score(X) / words of X)``, as scikit-learn defines it (lower is better).

        Raises a ValueError when X has no word at all (its perplexity is undefined).
        """
        parts = self._map_chunks(self._chunk_score_and_words, X)
        words = float(sum(w for _, w in parts))
        if words <= 0:
            raise _no_words_error("X")
        total = float(sum(s for s, _ in parts)) + self._global_score()
        return float(np.exp(-total / words))
