"""Hidden Markov models with count, categorical and binary emissions.

Their emission M-steps are those of the count mixtures (see
:mod:`emkit.estimators.count_mixtures`): a state that receives no posterior mass keeps
its emission parameters, all-zero multinomial rows give uniform probabilities, and a
categorical alphabet is refused before its emission table exceeds 256 MiB.
"""

from __future__ import annotations

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
    multinomial_data_checks,
    multinomial_emissionprob,
    multinomial_family,
    poisson_family,
    poisson_rates,
)
from emkit.estimators.hmm._base import BaseHMM, hmm_doc
from emkit.families import BernoulliParams, CategoricalParams, MultinomialParams, PoissonParams

__all__ = ["BernoulliHMM", "CategoricalHMM", "MultinomialHMM", "PoissonHMM"]


class _CountHMM(BaseHMM):
    """Shared base of the count HMMs: their input is non-negative integers (as the
    count mixtures', see ``_CountMixture``)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags


@hmm_doc
class PoissonHMM(_CountHMM):
    r"""Hidden Markov model with Poisson emissions (independent count features).

    .. math::

        x_{td} \mid z_t = k \sim \mathrm{Poisson}(\lambda_{kd})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    rates_init : array-like of shape (n_components, n_features), optional
    rate_prior : float or array-like of shape (n_features,), optional
        Prior mean λ0 of the rates (default: the mean count of every feature).
    rate_prior_strength : float, default=0
        n0: pseudo-observations at ``rate_prior`` (Gamma(1 + n0 λ0, n0) prior, MAP);
        0 is maximum likelihood.
    {common}
    Attributes
    ----------
    rates_ : ndarray of shape (n_components, n_features)
    """

    _hyperparameters = POISSON_HYPERPARAMETERS
    _peer_keywords = {"lambdas_init": ("hmmlearn", "rates_init")}
    rates_ = poisson_rates("emission")
    _emission_type = PoissonParams

    def _family(self, X=None):
        return poisson_family(self, X)


@hmm_doc
class CategoricalHMM(_CountHMM):
    r"""Hidden Markov model with categorical emissions: one symbol per observation and feature.

    .. math::

        p(x_t \mid z_t = k) = \prod_{d=1}^{D} \theta_{k, d, x_{td}}

    ``X`` holds integer symbols 0 .. n_symbols - 1, one column (as hmmlearn) or
    several independent ones.

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    n_symbols : int, optional
        Size of the alphabet; default: the largest symbol in the training data + 1.
        An alphabet whose emission table (n_components x n_features x n_symbols
        float64) would exceed 256 MiB is refused before anything is allocated:
        re-code sparse symbols to 0 .. n - 1.
    emissionprob_init : array-like, optional
        (n_components, n_symbols) for one column, (n_components, n_features,
        n_symbols) in general; every row sums to 1.
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected symbol count (Dirichlet(1 + c)
        prior, MAP; 1 is Laplace smoothing); 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray
        p(symbol | state): (n_components, n_symbols) when X has one column (as
        hmmlearn), (n_components, n_features, n_symbols) otherwise.
    n_symbols_ : int
    """

    _hyperparameters = CATEGORICAL_HYPERPARAMETERS
    _saved_extras = ("n_symbols_",)
    emissionprob_ = categorical_emissionprob("emission")
    _emission_type = CategoricalParams

    def _data_checks(self, fitting):
        return categorical_data_checks(self, fitting)

    def _family(self, X=None):
        return categorical_family(self, X)


@hmm_doc
class MultinomialHMM(_CountHMM):
    r"""Hidden Markov model with multinomial emissions: every observation is a count vector.

    .. math::

        p(x_t \mid z_t = k) = \frac{N_t!}{\prod_d x_{td}!} \prod_{d=1}^{D} \theta_{kd}^{x_{td}},
        \qquad N_t = \sum_d x_{td}

    Rows may have different totals N_t (unlike hmmlearn, which fixes ``n_trials``).

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    n_trials : int, optional
        Row total of sampled observations (:meth:`sample`); default: the training
        rows' total when they all share one (and is at least 1). When given, every
        training row must sum to it (an error names the first that does not).
    emissionprob_init : array-like of shape (n_components, n_features), optional
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected count; 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
    n_trials_ : int or None
    """

    _hyperparameters = MULTINOMIAL_HYPERPARAMETERS
    _saved_extras = ("n_trials_",)
    emissionprob_ = multinomial_emissionprob("emission")
    _emission_type = MultinomialParams

    def _data_checks(self, fitting):
        return multinomial_data_checks(self, fitting)

    def _family(self, X=None):
        return multinomial_family(self, X)


@hmm_doc
class BernoulliHMM(_CountHMM):
    r"""Hidden Markov model with independent binary features.

    .. math::

        x_{td} \mid z_t = k \sim \mathrm{Bernoulli}(\theta_{kd})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    emissionprob_init : array-like of shape (n_components, n_features), optional
        p(x_d = 1 | state).
    binarize, emissionprob_prior :
        The threshold applied to X and the Beta pseudo-count of the emission
        probabilities, as in :class:`emkit.BernoulliMixture`.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
        p(x_d = 1 | state).
    """

    _hyperparameters = BERNOULLI_HYPERPARAMETERS
    emissionprob_ = bernoulli_emissionprob("emission")
    _emission_type = BernoulliParams

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # with a threshold any real data is accepted
        if self.binarize is not None:
            tags.input_tags.positive_only = False
            tags.input_tags.categorical = False
        return tags

    def _family(self, X=None):
        return bernoulli_family(self, X)
