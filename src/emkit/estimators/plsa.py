r"""Probabilistic latent semantic analysis by exact EM, on the emkit engine.

No maintained Python implementation of PLSA exists (scikit-learn #14345 asks for one);
this one fits it with the engine (chunked, threaded, Dask, SQUAREM, monitored), with
Hofmann's tempered EM and Dirichlet MAP priors as options.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import Interval

from emkit.estimators._parameters import probabilities
from emkit.estimators._topic_base import TopicModel
from emkit.models.plsa import PLSA as PLSAModel
from emkit.models.plsa import PLSAParams, check_concentration

if TYPE_CHECKING:
    from emkit._typing import Documents


__all__ = ["PLSA"]

_MODEL_DEFAULTS = inspect.signature(PLSAModel).parameters


class PLSA(TopicModel):
    r"""Probabilistic latent semantic analysis (Hofmann 1999), fitted by exact EM.

    A corpus of D documents over V terms with K topics: every word of document d comes
    from a topic drawn from the document's proportions :math:`\theta_d = P(z \mid d)`,
    then a term drawn from the topic's distribution :math:`\beta_k = P(w \mid z = k)`:

    .. math::

        \log p(X \mid \beta, \theta) = \sum_d \sum_v n_{dv} \log \sum_k \theta_{dk}
        \beta_{kv}.

    EM maximises it over the topics β (``components_``) with every document's θ_d
    maximised for the current topics inside the E-step (a concave problem, solved to a
    certified tolerance): the objective is the profile log-likelihood
    :math:`\ell(\beta) = \max_\theta \log p(X \mid \beta, \theta)`, which EM never
    decreases (the engine checks it). The M-step is
    :math:`\beta_{kv} \propto \sum_d n_{dv} q_{dvk}` with the posteriors
    :math:`q_{dvk} \propto \theta_{dk} \beta_{kv}` at the solved θ.

    **Tempered EM** (``tempering`` b < 1, Hofmann's β): the posteriors become
    :math:`q_{dvk} \propto (\theta_{dk} \beta_{kv})^b`, and EM then ascends the tempered
    objective :math:`\sum_{d} \frac{1}{b} \sum_v n_{dv} \log \sum_k \theta_{dk}^b
    \beta_{kv}^b` (the maximum over q of the tempered free energy; see
    :mod:`emkit.models.plsa` for the derivation), which is what ``lower_bound_``
    reports and the engine checks.

    **Dirichlet priors (MAP).** ``doc_topic_prior`` α on every θ_d and
    ``topic_word_prior`` η on every β_k add :math:`\sum_k (\alpha_k - 1) \log
    \theta_{dk}` and :math:`\sum_v (\eta_v - 1) \log \beta_{kv}` to the objective,
    i.e. pseudo-counts α − 1 and η − 1 to the expected counts. Both must be at least 1
    (1 is maximum likelihood).

    ``transform`` gives every document's θ solved for the fitted topics ("folding
    in"), with the same tempering and prior; ``score`` is the log-likelihood of X at
    those θ (the untempered :math:`\sum_{dv} n_{dv} \log \sum_k \theta_{dk}\beta_{kv}`,
    no prior terms), so ``perplexity`` is ``exp(-score / words)``. θ is fitted to the
    scored words themselves, so this is optimistic for held-out documents; for an
    honest held-out number use :func:`emkit.topics.completion_perplexity`. With
    maximum likelihood, a term that the training corpus never used has probability 0
    in every topic, so a document containing it scores -inf.

    Empty documents (rows without any count) are allowed: they add nothing to the
    statistics or the objective, and ``transform`` gives them the prior's mode
    (uniform when ``doc_topic_prior`` is 1). A corpus with no word at all is refused.

    Parameters
    ----------
    n_components : int, default=10
        Number of topics K.
    tempering : float in (0, 1], default=1.0
        b, the exponent of tempered EM's posteriors; 1 is plain EM.
    doc_topic_prior : float or array-like of shape (n_components,), default=1.0
        α ≥ 1, the Dirichlet prior of every document's topic proportions.
    topic_word_prior : float or array-like of shape (n_features,), default=1.0
        η ≥ 1, the Dirichlet prior of every topic's term distribution; above 1 it
        smooths the topics (every term gets η − 1 pseudo-counts in every topic).
    max_iter : int, default=200
        EM iterations at most. PLSA converges slowly (on the King James Bible's
        chapters with 20 topics, ``tol=1e-4`` is met after 78 iterations), so the
        default leaves ``tol`` to end the fit; scikit-learn's 10 (its LDA's) would stop
        far from it.
    tol : float, default=1e-4
        Convergence when the objective per word changes by less than ``tol`` between
        iterations (LatentDirichletAllocation's default, in the same units).
    doc_tol : float, default=1e-10
        Every document's θ is solved until its objective is certified (by the
        Frank-Wolfe gap of its concave problem) within ``doc_tol`` per word of its
        maximum: far below the relative 1e-9 at which the engine reports a decrease,
        so an inexact inner solve never sets off the monotonicity check.
    max_doc_update_iter : int, default=200
        At most this many inner iterations per document and E-step (about 20 are
        usual; a document that needs more gives a ConvergenceWarning).
    components_init : array-like of shape (n_components, n_features), optional
        The starting topics (rows summing to 1), instead of the random start (every
        row a uniform draw from the simplex, Dirichlet(1, ..., 1), from
        ``random_state``).
    n_init : int, default=1
        Restarts from random topics; the best objective is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
        Refit from the current topics.
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks (and for ``transform`` and
        ``score``): -1 every core, -2 all but one; None (emkit's default) is every
        core. The fit is identical for any value.
    chunk_size : int or None, default=None
        Documents per chunk (None: about 16,000 nonzeros a chunk). The fit does not
        depend on it beyond rounding.
    learning_decay, learning_offset : float
        The step ``(t + learning_offset) ** -learning_decay`` of ``partial_fit``'s
        online EM (defaults 0.51 and 0, the engine's).
    verbose : int, default=0
    verbose_interval : int, default=10

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The topics P(w | z), rows summing to 1. (A read-only view of ``params_``;
        assigning it, validated, changes the model, and on an unfitted estimator makes
        it usable without fit.)
    lower_bound_ : float
        The objective per word at the last iteration (the log-likelihood per word, for
        tempering 1 without priors).
    lower_bounds_ : ndarray of shape (n_iter,)
        That objective at every iteration; non-decreasing.
    log_likelihood_ : float
        The objective (total) of the fitted topics.
    n_iter_ : int
        EM iterations of fit, or batches of ``partial_fit``.
    converged_ : bool
    n_features_in_ : int
    params_ : :class:`emkit.models.plsa.PLSAParams`

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from emkit.estimators.plsa import PLSA
    >>> docs = ["apples and pears", "pears and plums", "cars and trucks", "trucks and vans"]
    >>> X = CountVectorizer().fit_transform(docs)
    >>> plsa = PLSA(2, random_state=0).fit(X)
    >>> plsa.components_.shape
    (2, 7)
    >>> plsa.transform(X).shape
    (4, 2)
    """

    _hyperparameters: dict = {
        "tempering": (1.0, [Interval(Real, 0.0, 1.0, closed="right")]),
        # values below 1 are refused by check_concentration, which says why
        "doc_topic_prior": (1.0, [Real, "array-like"]),
        "topic_word_prior": (1.0, [Real, "array-like"]),
        "doc_tol": (
            _MODEL_DEFAULTS["doc_tol"].default,
            [Interval(Real, 0.0, None, closed="left")],
        ),
        "max_doc_update_iter": (
            _MODEL_DEFAULTS["max_doc_update_iter"].default,
            [Interval(Integral, 1, None, closed="left")],
        ),
    }
    _default_overrides = {"max_iter": 200, "tol": 1e-4}

    # -- validation ---------------------------------------------------------------------
    def _validate_params(self):
        super()._validate_params()  # tempering: its Interval constraint
        check_concentration(self.doc_topic_prior, "doc_topic_prior", self.n_components, "topic")
        if np.ndim(self.topic_word_prior) == 0:
            # an array is checked against the vocabulary when the model is built
            check_concentration(self.topic_word_prior, "topic_word_prior", 1, "term")

    # -- hooks of the fit template --------------------------------------------------------
    def _make_model(self, n_terms: int, initial: PLSAParams | None) -> PLSAModel:
        return PLSAModel(
            self.n_components,
            n_terms,
            tempering=self.tempering,
            doc_topic_prior=self.doc_topic_prior,
            topic_word_prior=self.topic_word_prior,
            initial=initial,
            doc_tol=self.doc_tol,
            max_doc_update_iter=self.max_doc_update_iter,
        )

    def _build_model(self, data) -> PLSAModel:
        topics = self._initial_values().get("topic_word")
        initial = None if topics is None else PLSAParams(topics)
        return self._make_model(int(self.n_features_in_), initial)

    def _assemble(self, values):
        n_terms = int(self.n_features_in_)
        model = self.__dict__.get("model_")
        if model is None or model.n_components != self.n_components or model.n_terms != n_terms:
            model = self._make_model(n_terms, None)
        return model, PLSAParams(np.asarray(values["topic_word"], dtype=np.float64))

    def _check_components(self, array, name) -> None:
        probabilities(array, name, self)

    # -- scoring hooks ------------------------------------------------------------------------
    def _chunk_score(self, chunk) -> float:
        return float(self.model_.log_likelihood(self.params_, chunk))

    def score(self, X: Documents, y: object = None) -> float:
        """The log-likelihood of X (total, not per word) at every document's topic
        proportions solved for the fitted topics (with the fit's tempering and prior;
        the priors' own terms left out). -inf when a document has a term that every
        topic gives probability 0.

        Parameters
        ----------
        X : sparse matrix, array-like or dask.array.Array of shape (n_docs, n_terms)
        """
        return super().score(X)
