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

Degenerate data give valid models: a component that receives no posterior mass
keeps its previous parameters (under a prior, it moves to the prior's mode), and with
no counts at all (all-zero multinomial rows) the probabilities are uniform, so the
log-likelihood never falls and every fit saves and loads. Counts are integers up to
2**53, and a categorical alphabet is refused when its emission table would exceed
256 MiB.

For scikit-learn's estimator checks these estimators declare non-negative,
integer ("categorical") input: the checks then feed them rounded non-negative
data, which is what counts and symbols are.
"""

from __future__ import annotations

from functools import partial

from emkit.estimators._base import shared_doc
from emkit.estimators._checks import (
    BERNOULLI_HYPERPARAMETERS,
    CATEGORICAL_HYPERPARAMETERS,
    MULTINOMIAL_HYPERPARAMETERS,
    POISSON_HYPERPARAMETERS,
    bernoulli_emissionprob,
    bernoulli_family,
    categorical_data_checks,
    categorical_emissionprob,
    categorical_family,
    family_check,
    multinomial_data_checks,
    multinomial_emissionprob,
    multinomial_family,
    poisson_family,
    poisson_rates,
)
from emkit.estimators._data import infer_nothing
from emkit.estimators._mixture_base import MixtureEstimator
from emkit.families import BernoulliParams, CategoricalParams, MultinomialParams, PoissonParams

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
    learn : sequence of str, optional
        The parameters EM updates ("weights" and the family's); default all.
    learning_decay, learning_offset : float, default=0.51, 0.0
        Step sizes ``(t + learning_offset) ** -learning_decay`` of :meth:`partial_fit`;
        the defaults forget the statistics of the first batches (computed under the
        initial parameters) fast (``benchmarks/bench_online.py``).
    weight_prior : float, default=0
        Dirichlet pseudo-counts per component on the weights (MAP); 0 is MLE.
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks: -1 every core, -2 all but one;
        None (emkit's default) is every core. The fit is bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array, the path of
        a ``.npy`` file (streamed) or a ``dask.array.Array``.
"""

_COMMON_ATTRIBUTES_DOC = """
    weights_ : ndarray of shape (n_components,)
        (Parameters are read-only views of ``params_``; assigning them, validated,
        changes the model, and on an unfitted estimator makes it usable without fit.)
    converged_, n_iter_, lower_bound_, lower_bounds_, log_likelihood_, trace_, n_features_in_
        As :class:`emkit.GaussianMixture`.
    params_ : :class:`emkit.models.MixtureParams`
"""


_mixture_doc = shared_doc(_COMMON_DOC, _COMMON_ATTRIBUTES_DOC)


class _CountMixture(MixtureEstimator):
    """Shared construction of the count mixtures: a subclass sets ``_make_family``
    (a function of the estimator and optional training rows)."""

    _make_family = staticmethod(poisson_family)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags

    def _family(self, X=None, sample_weight=None):
        return self._make_family(self, X)

    def _check_data(self, X):
        return self._family().check_data(X)

    def _data_checks(self, fitting):
        return partial(family_check, self._family()), infer_nothing

    # A count model gives a row probability zero under every component when it holds a
    # count of an outcome that no training row showed, or that the initial values give
    # probability zero: fit and prediction name the row.
    _impossible_row_hint = (
        "it holds a count, symbol or binary value that the parameters make impossible "
        "(no training row showed it, or the *_init values give it probability zero); fit "
        "with emissionprob_prior > 0 (or rate_prior_strength > 0) to keep every outcome "
        "possible, and give *_init values without zeros"
    )


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

    _hyperparameters = POISSON_HYPERPARAMETERS
    rates_ = poisson_rates("components")
    _component_type = PoissonParams
    _make_family = staticmethod(poisson_family)


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
        An alphabet whose emission table (n_components x n_features x n_symbols
        float64) would exceed 256 MiB is refused before anything is allocated:
        re-code sparse symbols to 0 .. n - 1.
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

    _hyperparameters = CATEGORICAL_HYPERPARAMETERS
    _saved_extras = ("n_symbols_",)
    emissionprob_ = categorical_emissionprob("components")
    _component_type = CategoricalParams
    _make_family = staticmethod(categorical_family)

    def _data_checks(self, fitting):
        return categorical_data_checks(self, fitting)


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
        total when they all share one (and is at least 1). When given, every
        training row must sum to it (an error names the first that does not).
    emissionprob_init : array-like of shape (n_components, n_features), optional
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected count (MAP); 0 is MLE.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
    n_trials_ : int or None
    """

    _hyperparameters = MULTINOMIAL_HYPERPARAMETERS
    _saved_extras = ("n_trials_",)
    emissionprob_ = multinomial_emissionprob("components")
    _component_type = MultinomialParams
    _make_family = staticmethod(multinomial_family)

    def _data_checks(self, fitting):
        return multinomial_data_checks(self, fitting)


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

    _hyperparameters = BERNOULLI_HYPERPARAMETERS
    emissionprob_ = bernoulli_emissionprob("components")
    _component_type = BernoulliParams
    _make_family = staticmethod(bernoulli_family)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # with a threshold any real data is accepted
        if self.binarize is not None:
            tags.input_tags.positive_only = False
            tags.input_tags.categorical = False
        return tags
