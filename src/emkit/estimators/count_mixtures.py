r"""Mixtures of count, categorical and binary distributions, on the emkit engine.

.. math::

    p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, p(x \mid \theta_k)

with :math:`p(x \mid \theta_k)` a product of Poisson counts (:class:`PoissonMixture`),
of categorical symbols (:class:`CategoricalMixture`, the latent-class model), a
multinomial count vector (:class:`MultinomialMixture`, e.g. bags of words) or
independent binary features (:class:`BernoulliMixture`). They share everything with
:class:`emkit.GaussianMixture` (``n_init``, ``assignment="hard"``, ``weight_prior``,
``sample_weight``, ``trace_``, ``bic``/``aic``, save/load) and add a conjugate prior
on the component parameters.

For scikit-learn's estimator checks these estimators declare non-negative,
integer ("categorical") input: the checks then feed them rounded non-negative
data, which is what counts and symbols are.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from emkit.estimators._checks import (
    categorical_data_checks,
    categorical_probabilities,
    checked_probabilities,
    distinct_row_totals,
    family_check,
    infer_n_trials,
    poisson_prior,
)
from emkit.estimators._data import infer_nothing
from emkit.estimators._mixture_base import MixtureEstimator
from emkit.estimators.gaussian_mixture import _checked_array
from emkit.families import (
    BernoulliFamily,
    BernoulliParams,
    BetaPrior,
    CategoricalFamily,
    CategoricalParams,
    DirichletPrior,
    MultinomialFamily,
    MultinomialParams,
    PoissonFamily,
    PoissonParams,
)
from emkit.models import Mixture, MixtureParams

__all__ = ["BernoulliMixture", "CategoricalMixture", "MultinomialMixture", "PoissonMixture"]

_COMMON_DOC = """
    tol : float, default=1e-3
        Convergence when the per-sample objective changes by less than ``tol``.
    max_iter : int, default=100
    n_init : int, default=1
        Restarts; the best is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
        Initial responsibilities (then one M-step).
    weights_init : array-like of shape (n_components,), optional
    random_state : int, RandomState or None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    assignment : {"soft", "hard"}, default="soft"
        "hard" fits by classification EM.
    weight_prior : float, default=0
        Dirichlet pseudo-counts per component on the weights (MAP); 0 is MLE.
    accelerate : {None, "squarem"}, default=None
        SQUAREM extrapolation of the EM map, with its monotonicity safeguard.
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks (None: every core); the fit is
        bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array, the path of
        a ``.npy`` file (streamed) or a ``dask.array.Array``.
"""

_COMMON_ATTRIBUTES_DOC = """
    weights_ : ndarray of shape (n_components,)
    converged_, n_iter_, lower_bound_, lower_bounds_, log_likelihood_, trace_,
    n_features_in_, params_ (an :class:`emkit.models.MixtureParams`)
"""


def _mixture_doc(cls):
    """Insert the parameters and attributes that every count mixture shares."""
    cls.__doc__ = (
        cls.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n") + "\n").rstrip()
        + "\n"
        + _COMMON_ATTRIBUTES_DOC.strip("\n")
        + "\n    "
    )
    return cls


class _CountMixture(MixtureEstimator):
    """Shared construction of the count mixtures: a subclass names its family's
    parameter (``_param_name``, e.g. "rates") and builds the family."""

    _parameter_constraints: dict = {
        **MixtureEstimator._parameter_constraints,
        "weights_init": ["array-like", None],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    }
    _param_name: str = ""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags

    def _family(self, X=None):
        raise NotImplementedError

    def _component_initial(self, n_features):
        """Partial component parameters from the ``*_init`` argument, or None."""
        raise NotImplementedError

    def _check_data(self, X):
        return self._family().check_data(X)

    def _data_checks(self, fitting):
        return partial(family_check, self._family()), infer_nothing

    def _build_model(self, X, sample_weight):
        K = self.n_components
        weights = checked_probabilities(self.weights_init, "weights_init", (K,))
        components = self._component_initial(X.shape[1])
        initial = None
        if weights is not None or components is not None:
            family_params = components or self._empty_params()
            initial = MixtureParams(weights, family_params)
        return Mixture(
            self._family(X),
            K,
            assignment=self.assignment,
            initial=initial,
            init=self.init_params,
            weight_prior=self.weight_prior,
        )

    def _empty_params(self):
        raise NotImplementedError

    def _store_params(self):
        self.weights_ = self.params_.weights
        setattr(self, self._param_name + "_", getattr(self.params_.components, self._param_name))

    def _params_from_attributes(self):
        family = self._family()
        value = np.asarray(getattr(self, self._param_name + "_"), dtype=float)
        components = family.replace_fields(self._empty_params(), {self._param_name: value})
        self.model_ = Mixture(family, self.n_components, assignment=self.assignment)
        self.params_ = MixtureParams(np.asarray(self.weights_, dtype=float), components)
        self._store_params()


@_mixture_doc
class PoissonMixture(_CountMixture):
    r"""Mixture of Poisson distributions over D independent count features.

    .. math::

        p(x) = \sum_k \pi_k \prod_{d=1}^{D} \mathrm{Poisson}(x_d \mid \lambda_{kd})

    Parameters
    ----------
    n_components : int, default=1
    rates_init : array-like of shape (n_components, n_features), optional
    rate_prior : float or array-like of shape (n_features,), optional
        Prior mean λ0 of the rates (default: the mean count of every feature).
    rate_prior_strength : float, default=0
        n0 pseudo-observations at ``rate_prior`` (Gamma(1 + n0 λ0, n0) prior, MAP).
    {common}
    Attributes
    ----------
    rates_ : ndarray of shape (n_components, n_features)
    """

    _parameter_constraints: dict = {
        **_CountMixture._parameter_constraints,
        "rates_init": ["array-like", None],
        "rate_prior": ["array-like", Real, None],
        "rate_prior_strength": [Interval(Real, 0.0, None, closed="left")],
    }
    _param_name = "rates"
    _saved_attributes = ("weights_", "rates_")

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        rates_init=None,
        rate_prior=None,
        rate_prior_strength=0.0,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        assignment="soft",
        weight_prior=0.0,
        accelerate=None,
        n_jobs=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.rates_init = rates_init
        self.rate_prior = rate_prior
        self.rate_prior_strength = rate_prior_strength
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.assignment = assignment
        self.weight_prior = weight_prior
        self.accelerate = accelerate
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def _family(self, X=None):
        return PoissonFamily(poisson_prior(self, X))

    def _empty_params(self):
        return PoissonParams(None)

    def _component_initial(self, n_features):
        rates = _checked_array(self.rates_init, "rates_init", (self.n_components, n_features))
        if rates is None:
            return None
        if np.any(rates < 0):
            raise ValueError("rates_init must be non-negative")
        return PoissonParams(rates)


@_mixture_doc
class CategoricalMixture(_CountMixture):
    r"""Mixture of independent categorical features (latent class analysis).

    .. math::

        p(x) = \sum_k \pi_k \prod_{d=1}^{D} \theta_{k, d, x_d}

    ``X`` holds integer symbols 0 .. n_symbols - 1 in every column.

    Parameters
    ----------
    n_components : int, default=1
    n_symbols : int, optional
        Alphabet size; default: the largest symbol in the training data + 1.
    emissionprob_init : array-like, optional
        (n_components, n_symbols) for one column, (n_components, n_features, n_symbols)
        in general.
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected symbol count (MAP; 1 is
        Laplace smoothing); 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray
        p(symbol | component): (n_components, n_symbols) when X has one column,
        (n_components, n_features, n_symbols) otherwise.
    n_symbols_ : int
    """

    _parameter_constraints: dict = {
        **_CountMixture._parameter_constraints,
        "n_symbols": [Interval(Integral, 1, None, closed="left"), None],
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _param_name = "emissionprob"
    _saved_attributes = ("weights_", "emissionprob_", "n_symbols_")

    def __init__(
        self,
        n_components=1,
        *,
        n_symbols=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        emissionprob_init=None,
        emissionprob_prior=0.0,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        assignment="soft",
        weight_prior=0.0,
        accelerate=None,
        n_jobs=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.n_symbols = n_symbols
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.emissionprob_init = emissionprob_init
        self.emissionprob_prior = emissionprob_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.assignment = assignment
        self.weight_prior = weight_prior
        self.accelerate = accelerate
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def _data_checks(self, fitting):
        # partial_fit's first batch fixes an inferred alphabet: give n_symbols when it
        # may lack symbols
        return categorical_data_checks(self, fitting, partial(super()._data_checks, fitting))

    def _family(self, X=None):
        c = self.emissionprob_prior
        return CategoricalFamily(int(self.n_symbols_), DirichletPrior(c) if c > 0 else None)

    def _empty_params(self):
        return CategoricalParams(None)

    def _component_initial(self, n_features):
        probs = categorical_probabilities(
            self.emissionprob_init,
            "emissionprob_init",
            self.n_components,
            n_features,
            self.n_symbols_,
        )
        return None if probs is None else CategoricalParams(probs)

    def _store_params(self):
        self.weights_ = self.params_.weights
        probs = self.params_.components.emissionprob
        self.emissionprob_ = probs[:, 0, :] if probs.shape[1] == 1 else probs

    def _params_from_attributes(self):
        probs = np.asarray(self.emissionprob_, dtype=float)
        self.emissionprob_ = probs[:, None, :] if probs.ndim == 2 else probs
        super()._params_from_attributes()


@_mixture_doc
class MultinomialMixture(_CountMixture):
    r"""Mixture of multinomial distributions over count vectors (e.g. bags of words).

    .. math::

        p(x) = \sum_k \pi_k \frac{N!}{\prod_d x_d!} \prod_{d=1}^{D} \theta_{kd}^{x_d},
        \qquad N = \sum_d x_d

    Rows may have different totals N.

    Parameters
    ----------
    n_components : int, default=1
    n_trials : int, optional
        Row total of sampled rows (:meth:`sample`); default: the training rows'
        total when they all share one.
    emissionprob_init : array-like of shape (n_components, n_features), optional
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected count (MAP); 0 is MLE.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
    n_trials_ : int or None
    """

    _parameter_constraints: dict = {
        **_CountMixture._parameter_constraints,
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _param_name = "emissionprob"
    _saved_attributes = ("weights_", "emissionprob_", "n_trials_")

    def __init__(
        self,
        n_components=1,
        *,
        n_trials=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        emissionprob_init=None,
        emissionprob_prior=0.0,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        assignment="soft",
        weight_prior=0.0,
        accelerate=None,
        n_jobs=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.n_trials = n_trials
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.emissionprob_init = emissionprob_init
        self.emissionprob_prior = emissionprob_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.assignment = assignment
        self.weight_prior = weight_prior
        self.accelerate = accelerate
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def _data_checks(self, fitting):
        check_rows, infer = super()._data_checks(fitting)
        if not fitting:  # a warm start keeps its n_trials_
            return check_rows, infer
        # n_trials_: the row total shared by the rows of all blocks, if any
        return partial(distinct_row_totals, check_rows), self._infer_n_trials

    def _infer_n_trials(self, row_totals):
        # infer_n_trials sees every block's distinct totals as rows of one column
        totals = np.concatenate(row_totals)
        self.n_trials_ = infer_n_trials(self.n_trials, totals[:, None])

    def _family(self, X=None):
        c = self.emissionprob_prior
        n_trials = getattr(self, "n_trials_", None)
        return MultinomialFamily(
            None if n_trials is None else int(n_trials), DirichletPrior(c) if c > 0 else None
        )

    def _empty_params(self):
        return MultinomialParams(None)

    def _component_initial(self, n_features):
        probs = checked_probabilities(
            self.emissionprob_init, "emissionprob_init", (self.n_components, n_features)
        )
        return None if probs is None else MultinomialParams(probs)


@_mixture_doc
class BernoulliMixture(_CountMixture):
    r"""Mixture of independent Bernoulli features (binary data).

    .. math::

        p(x) = \sum_k \pi_k \prod_{d=1}^{D} \theta_{kd}^{x_d} (1 - \theta_{kd})^{1 - x_d}

    Parameters
    ----------
    n_components : int, default=1
    binarize : float, optional
        Threshold: features are mapped to ``x > binarize`` before fitting and
        predicting (as scikit-learn's ``BernoulliNB``). Default None: the data must
        already be 0 or 1, and anything else is an error.
    emissionprob_init : array-like of shape (n_components, n_features), optional
        p(x_d = 1 | component).
    emissionprob_prior : float, default=0
        Beta pseudo-count added to both the expected ones and zeros (Beta(1 + c, 1 + c)
        prior, MAP; 1 is Laplace smoothing); 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
        p(x_d = 1 | component).
    """

    _parameter_constraints: dict = {
        **_CountMixture._parameter_constraints,
        "binarize": [Real, None],
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _param_name = "emissionprob"
    _saved_attributes = ("weights_", "emissionprob_")

    def __init__(
        self,
        n_components=1,
        *,
        binarize=None,
        tol=1e-3,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        emissionprob_init=None,
        emissionprob_prior=0.0,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        assignment="soft",
        weight_prior=0.0,
        accelerate=None,
        n_jobs=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.binarize = binarize
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.emissionprob_init = emissionprob_init
        self.emissionprob_prior = emissionprob_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.assignment = assignment
        self.weight_prior = weight_prior
        self.accelerate = accelerate
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # with a threshold any real data is accepted
        if self.binarize is not None:
            tags.input_tags.positive_only = False
            tags.input_tags.categorical = False
        return tags

    def _family(self, X=None):
        c = self.emissionprob_prior
        return BernoulliFamily(BetaPrior(c, c) if c > 0 else None, binarize=self.binarize)

    def _empty_params(self):
        return BernoulliParams(None)

    def _component_initial(self, n_features):
        probs = _checked_array(
            self.emissionprob_init, "emissionprob_init", (self.n_components, n_features)
        )
        if probs is None:
            return None
        if np.any((probs < 0) | (probs > 1)):
            raise ValueError("emissionprob_init holds probabilities: every entry in [0, 1]")
        return BernoulliParams(probs)
