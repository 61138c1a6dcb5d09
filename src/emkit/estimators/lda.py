r"""Latent Dirichlet allocation by variational EM, on the emkit engine.

scikit-learn's :class:`sklearn.decomposition.LatentDirichletAllocation`, with its
hyperparameters' names and defaults, fitted by the engine (chunked, threaded, Dask,
SQUAREM, monitored), and with the priors learned when asked (Minka's Newton updates).
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._migration import learn_string_error
from emkit.estimators._parameters import Parameter
from emkit.estimators._topic_base import TopicModel
from emkit.models.lda import LDA, LDAParams, exp_expected_log_topics

if TYPE_CHECKING:
    from emkit._typing import Documents


__all__ = ["LatentDirichletAllocation"]

#: what ``learn`` may name
LEARN_NAMES = ("topics", "doc_topic_prior", "topic_word_prior")

_MODEL_DEFAULTS = inspect.signature(LDA).parameters


def _positive(array, name, estimator) -> None:
    if np.any(array <= 0):
        raise ValueError(f"{name} must be positive in every entry, got minimum {array.min()!r}")


class LatentDirichletAllocation(TopicModel):
    r"""Latent Dirichlet allocation (Blei, Ng & Jordan 2003) by variational EM.

    The generative model of a corpus of D documents over a vocabulary of V terms with
    K topics:

    .. math::

        \beta_k \sim \mathrm{Dirichlet}(\eta), \quad
        \theta_d \sim \mathrm{Dirichlet}(\alpha), \quad
        z_{dn} \mid \theta_d \sim \mathrm{Categorical}(\theta_d), \quad
        w_{dn} \mid z_{dn}, \beta \sim \mathrm{Categorical}(\beta_{z_{dn}}).

    The posterior is approximated by :math:`q(\beta_k) = \mathrm{Dirichlet}(\lambda_k)`,
    :math:`q(\theta_d) = \mathrm{Dirichlet}(\gamma_d)` and
    :math:`q(z_{dn}) = \mathrm{Categorical}(\phi_{dn})`. The E-step solves every
    document's (γ, φ) for the current λ, to ``mean_change_tol``; the M-step sets
    :math:`\lambda_{kv} = \eta_v + \sum_d n_{dv} \phi_{dvk}` (and, when learned, α and η
    by Newton's method, Minka 2000). The objective is the evidence lower bound

    .. math::

        \mathcal{L} = \sum_d \Big( \mathbb{E}_q[\log p(w_d, z_d, \theta_d \mid \alpha,
        \beta)] - \mathbb{E}_q[\log q(z_d, \theta_d)] \Big)
        + \mathbb{E}_q[\log p(\beta \mid \eta)] - \mathbb{E}_q[\log q(\beta)],

    which batch EM never decreases (the engine checks it); ``lower_bound_`` is it per
    word. ``components_`` is λ, as in scikit-learn and gensim, so results compare one
    to one; topic-word probabilities are ``components_ / components_.sum(axis=1,
    keepdims=True)``.

    Empty documents (rows without any count) are allowed: they have no word to
    explain, so they add nothing to the statistics or the bound, and ``transform``
    gives them the prior's mean ``doc_topic_prior_ / doc_topic_prior_.sum()``. A
    corpus (or a ``partial_fit`` batch) with no word at all is refused.

    Parameters
    ----------
    n_components : int, default=10
        Number of topics K.
    doc_topic_prior : float, array-like of shape (n_components,) or None, default=None
        α. None is 1 / n_components (scikit-learn's default). Also the starting value
        when learned: a number (or None) is a symmetric prior and stays symmetric
        when learned (one concentration, all entries equal); an array is an
        asymmetric prior and is learned entry by entry.
    topic_word_prior : float, array-like of shape (n_features,) or None, default=None
        η, with the same rule: None is 1 / n_components, a number is symmetric
        (learned as one value), an array of one entry per term is asymmetric.
    learning_method : {"batch", "online"}, default="batch"
        "batch": variational EM on the whole corpus every iteration (the engine's
        loop: monotone, chunked, threaded, Dask, ``accelerate``). "online": online
        variational Bayes (Hoffman, Blei & Bach 2010): ``max_iter`` passes over
        mini-batches of ``batch_size`` documents in the order of the rows (not
        shuffled, as in scikit-learn: shuffle the rows of a sorted corpus first), the
        running statistics scaled to the corpus's number of documents.
    learning_decay : float in (0.5, 1], default=0.7
        κ of the online step ``(t + learning_offset) ** -learning_decay`` (online
        ``fit`` and ``partial_fit``).
    learning_offset : float, default=10.0
        t0 of that step; it down-weights the early batches.
    max_iter : int, default=100
        EM iterations (batch), or passes over the corpus (online). scikit-learn's 10 is
        far from converged on real corpora; with ``tol`` below the fit stops when it is.
    tol : float, default=1e-4
        Convergence when the bound per word changes by less than ``tol`` between
        iterations (online: between passes, on the pass's estimate of the bound). 1e-4
        is about scikit-learn's ``perp_tol=0.1`` on a perplexity of 1000; 0 runs to
        a fixed point (or ``max_iter``).
    batch_size : int, default=128
        Documents per mini-batch of online ``fit``.
    total_samples : float, optional
        Documents the running statistics of ``partial_fit`` stand for (scikit-learn's
        name). Default None: the documents seen so far, right for a stream of new
        documents each seen once; when passing over one corpus several times, give its
        number of documents. (scikit-learn's default, 1e6, is an arbitrary corpus size.)
    mean_change_tol : float, default=1e-3
        Each document's (γ, φ) iterations stop when γ changes by less than this on
        average (scikit-learn's rule and default).
    max_doc_update_iter : int, default=100
        At most this many (γ, φ) iterations per document per E-step.
    doc_warm_start : bool, default=True
        Start each document's γ at its value of the previous E-step of the fit (kept in
        memory, n_docs x n_components floats): every iteration is then coordinate
        ascent, so the bound never decreases, and the E-steps take several times fewer
        γ iterations. False starts every E-step at γ = 1 (scikit-learn restarts from
        random values): some documents' problems have several local optima, and a
        document can then land in a lower one, so the bound can fall. Fits of a Dask
        array rebuild their chunks on the workers and always start at 1, so equal an
        in-memory fit with ``doc_warm_start=False``.
    learn : sequence of str, default=("topics",)
        What EM updates, among "topics" (λ), "doc_topic_prior" (α) and
        "topic_word_prior" (η). Topics left out stay at ``components_init``, which must
        then be given.
    components_init : array-like of shape (n_components, n_features), optional
        The starting λ (positive), instead of scikit-learn's random start
        ``RandomState(random_state).gamma(100, 0.01, (K, V))`` (which emkit draws the
        same way, so the same ``random_state`` gives scikit-learn's start). Setting
        ``components_`` on an unfitted estimator and fitting with ``warm_start=True``
        does the same.
    n_init : int, default=1
        Restarts of batch EM from random λ; the best bound is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
        Refit from the current parameters.
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks (and for ``transform`` and
        ``score``): -1 every core, -2 all but one; None (emkit's default) is every
        core. The fit is identical for any value.
    chunk_size : int or None, default=None
        Documents per chunk (None: about 16,000 nonzeros a chunk). The fit does not
        depend on it beyond rounding.
    verbose : int, default=0
    verbose_interval : int, default=10

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        λ, the variational Dirichlet parameters of the topics. (Parameters are
        read-only views of ``params_``; assigning them, validated, changes the
        model, and on an unfitted estimator makes it usable without fit.)
    doc_topic_prior_ : ndarray of shape (n_components,)
        α (learned when "doc_topic_prior" is in ``learn``).
    topic_word_prior_ : ndarray of shape (n_features,)
        η (learned when "topic_word_prior" is in ``learn``).
    exp_dirichlet_component_ : ndarray of shape (n_components, n_features)
        :math:`\exp(\mathbb{E}_q[\log \beta])`, as in scikit-learn.
    lower_bound_ : float
        The bound per word at the last iteration (online: the last pass's estimate).
    lower_bounds_ : ndarray of shape (n_iter,)
    n_iter_ : int
        Iterations (batch) or passes (online) of fit; batches of ``partial_fit``.
    n_batch_iter_ : int
        EM updates made: iterations of batch fit, mini-batches of ``partial_fit``, and
        for online fit its mini-batches plus one for the random start, which counts as
        the first step (as in scikit-learn: the first batch moves λ from the start by
        ``(1 + learning_offset) ** -learning_decay``).
    converged_ : bool
    n_features_in_ : int
    params_ : :class:`emkit.models.lda.LDAParams`

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from emkit.estimators.lda import LatentDirichletAllocation
    >>> docs = ["apples and pears", "pears and plums", "cars and trucks", "trucks and vans"]
    >>> X = CountVectorizer().fit_transform(docs)
    >>> lda = LatentDirichletAllocation(2, random_state=0).fit(X)
    >>> lda.transform(X).shape
    (4, 2)
    """

    _hyperparameters: dict = {
        "doc_topic_prior": (
            None,
            [Interval(Real, 0.0, None, closed="neither"), "array-like", None],
        ),
        "topic_word_prior": (
            None,
            [Interval(Real, 0.0, None, closed="neither"), "array-like", None],
        ),
        "learning_method": ("batch", [StrOptions({"batch", "online"})]),
        "batch_size": (128, [Interval(Integral, 1, None, closed="left")]),
        "total_samples": (None, [Interval(Real, 0.0, None, closed="neither"), None]),
        "mean_change_tol": (
            _MODEL_DEFAULTS["mean_change_tol"].default,
            [Interval(Real, 0.0, None, closed="left")],
        ),
        "max_doc_update_iter": (
            _MODEL_DEFAULTS["max_doc_update_iter"].default,
            [Interval(Integral, 1, None, closed="left")],
        ),
        "doc_warm_start": (True, ["boolean"]),
        "learn": (("topics",), ["array-like"]),
    }
    _default_overrides = {
        "learning_decay": 0.7,
        "learning_offset": 10.0,
        "max_iter": 100,
        "tol": 1e-4,
    }

    doc_topic_prior_ = Parameter("doc_topic_prior", ("n_components",), _positive)
    topic_word_prior_ = Parameter("topic_word_prior", ("n_features_in_",), _positive)

    # -- validation ---------------------------------------------------------------------
    def _validate_params(self):
        if isinstance(self.learn, str):
            raise learn_string_error(self.learn)
        super()._validate_params()
        learned = self._learned()
        unknown = sorted(set(learned) - set(LEARN_NAMES))
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {unknown}; choose from {LEARN_NAMES}"
            )
        fixed_topics = "topics" not in learned and self.components_init is None
        if fixed_topics and not self._is_warm():
            raise ValueError(
                f"learn={sorted(learned)} leaves 'topics' fixed, so their value must be "
                "given: set components_init, or add 'topics' to learn"
            )
        self._prior("doc_topic_prior", self.n_components)

    def _learned(self) -> tuple[str, ...]:
        return tuple(str(name) for name in np.ravel(np.asarray(self.learn, dtype=object)))

    def _prior(self, name: str, size: int) -> np.ndarray:
        """The hyperparameter ``name`` as the (size,) starting prior: 1 / K for None,
        a number for every entry, or the checked array."""
        value = getattr(self, name)
        if value is None:
            return np.full(size, 1.0 / self.n_components)
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            array = np.full(size, float(array))
        per = "topic (n_components)" if name == "doc_topic_prior" else "term (n_features)"
        if array.shape != (size,):
            raise ValueError(
                f"{name} must be a positive number or an array of one entry per {per}, "
                f"shape ({size},); got shape {array.shape}"
            )
        if not np.all(np.isfinite(array)) or np.any(array <= 0):
            raise ValueError(
                f"{name} must be positive and finite in every entry (a Dirichlet "
                f"concentration); got minimum {np.nanmin(array)!r}"
                + (" and NaN or infinity" if not np.all(np.isfinite(array)) else "")
            )
        return array

    def _symmetric(self, name: str) -> bool:
        return getattr(self, name) is None or np.ndim(getattr(self, name)) == 0

    # -- hooks of the fit template --------------------------------------------------------
    def _fits_online(self) -> bool:
        return self.learning_method == "online"

    def _partial_fit_total_weight(self):
        return None if self.total_samples is None else float(self.total_samples)

    def _make_model(self, n_terms: int, initial: LDAParams | None) -> LDA:
        return LDA(
            self.n_components,
            n_terms,
            learn=self._learned(),
            symmetric_doc_topic_prior=self._symmetric("doc_topic_prior"),
            symmetric_topic_word_prior=self._symmetric("topic_word_prior"),
            initial=initial,
            mean_change_tol=self.mean_change_tol,
            max_doc_update_iter=self.max_doc_update_iter,
            doc_warm_start=self.doc_warm_start,
        )

    def _build_model(self, data) -> LDA:
        n_terms = int(self.n_features_in_)
        topics = self._initial_values().get("topic_word")
        initial = LDAParams(
            topic_word=topics,
            doc_topic_prior=self._prior("doc_topic_prior", self.n_components),
            topic_word_prior=self._prior("topic_word_prior", n_terms),
        )
        return self._make_model(n_terms, initial)

    def _required_fields(self) -> tuple[str, ...]:
        # topics set by hand make a usable model: the priors default to the
        # hyperparameters' values
        return ("topic_word",)

    def _assemble(self, values):
        n_terms = int(self.n_features_in_)
        alpha = values.get("doc_topic_prior")
        eta = values.get("topic_word_prior")
        params = LDAParams(
            topic_word=values["topic_word"],
            doc_topic_prior=self._prior("doc_topic_prior", self.n_components)
            if alpha is None
            else alpha,
            topic_word_prior=self._prior("topic_word_prior", n_terms) if eta is None else eta,
        )
        # the hand-set values are also the fixed ones of parameters that are not learned
        return self._make_model(n_terms, params), params

    def _after_fit(self, data) -> None:
        if not self._fits_online():
            self.n_batch_iter_ = self.n_iter_

    # -- scoring hooks ------------------------------------------------------------------------
    def _chunk_score(self, chunk) -> float:
        return float(self.model_.bound(self.params_, chunk))

    def _global_score(self) -> float:
        return float(self.model_.log_prior(self.params_))

    @property
    def exp_dirichlet_component_(self) -> np.ndarray:
        """exp(E_q[log β]), shape (n_components, n_features): exp(ψ(λ) − ψ(Σ_v λ))."""
        return exp_expected_log_topics(self.components_)

    def score(self, X: Documents, y: object = None) -> float:
        """scikit-learn's approximate variational bound of X (total, not per word): the
        documents' terms with their (γ, φ) solved for the fitted λ and α, plus the
        topics' term E_q[log p(β | η)] − E_q[log q(β)] once.

        Parameters
        ----------
        X : sparse matrix, array-like or dask.array.Array of shape (n_docs, n_terms)
        """
        return super().score(X)
