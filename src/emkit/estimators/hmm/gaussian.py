"""Hidden Markov models with Gaussian and Gaussian-mixture emissions."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import Interval

from emkit.estimators._checks import (
    GAUSSIAN_HYPERPARAMETERS,
    gaussian_covariances_parameter,
    gaussian_means,
    gaussian_prior,
)
from emkit.estimators._parameters import Parameter, probabilities
from emkit.estimators.hmm._base import BaseHMM, hmm_doc
from emkit.families import (
    GaussianFamily,
    GaussianMixtureEmission,
    GaussianMixtureParams,
    GaussianParams,
)

__all__ = ["GMMHMM", "GaussianHMM"]


@hmm_doc
class GaussianHMM(BaseHMM):
    r"""Hidden Markov model with Gaussian emissions.

    .. math::

        x_t \mid z_t = k \sim \mathcal{N}(\mu_k, \Sigma_k)

    **Missing values.** NaN entries of X are missing at random, as in
    :class:`emkit.GaussianMixture`: emission densities marginalise them and the M-step
    takes their conditional expectations given the observed coordinates of the same
    step. A step with no observed value at all is refused (drop it, or split the
    sequence there).

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
    reg_covar : float, default=1e-6
        Added to the covariance diagonals after every M-step (hmmlearn applies no
        such floor in its M-step; use 0 to reproduce it).
    means_init : array-like of shape (n_components, n_features), optional
    covariances_init : array-like, optional
        In the covariance type's shape: (K, D, D) full, (D, D) tied, (K, D) diag,
        (K,) spherical.
    mean_prior, mean_prior_strength, covariance_prior, covariance_prior_strength :
        Conjugate normal-inverse-Wishart prior on the state means and covariances
        (MAP), exactly as in :class:`emkit.GaussianMixture`; strengths 0 are MLE.
    {common}
    Attributes
    ----------
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, in the covariance type's shape
    """

    _hyperparameters = {
        **GAUSSIAN_HYPERPARAMETERS,
        "covariances_init": (None, ["array-like", None]),
    }
    _default_overrides = {"covariance_type": "diag"}

    means_ = gaussian_means("emission")
    covariances_ = gaussian_covariances_parameter("emission", "state", init="covariances_init")
    _emission_type = GaussianParams

    def _family(self, X=None):
        prior = gaussian_prior(self, X, self.n_components)
        return GaussianFamily(self.covariance_type, self.reg_covar, prior)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values, marginalised
        return tags

    def _allows_nan(self) -> bool:
        return True


@hmm_doc
class GMMHMM(BaseHMM):
    r"""Hidden Markov model with Gaussian-mixture emissions.

    .. math::

        p(x_t \mid z_t = k) = \sum_{m=1}^{M} w_{km} \, \mathcal{N}(x_t \mid \mu_{km}, \Sigma_{km})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states K.
    n_mix : int, default=1
        Gaussians per state M.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
        "tied": the M Gaussians of a state share one covariance (as hmmlearn).
    reg_covar : float, default=1e-6
    weights_init : array-like of shape (n_components, n_mix), optional
    means_init : array-like of shape (n_components, n_mix, n_features), optional
    covariances_init : array-like, optional
        (K, M, D, D) full, (K, D, D) tied, (K, M, D) diag, (K, M) spherical.
    mean_prior, mean_prior_strength, covariance_prior, covariance_prior_strength :
        Conjugate prior on every Gaussian (see :class:`GaussianHMM`).
    {common}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covariances_ : ndarray, shapes as ``covariances_init``
    """

    _hyperparameters = {
        "n_mix": (1, [Interval(Integral, 1, None, closed="left")]),
        **GAUSSIAN_HYPERPARAMETERS,
        "weights_init": (None, ["array-like", None]),
        "covariances_init": (None, ["array-like", None]),
    }
    _default_overrides = {"covariance_type": "diag"}

    weights_ = Parameter(
        "emission.weights", ("n_components", "n_mix"), probabilities, init="weights_init"
    )
    means_ = gaussian_means("emission", "n_mix")
    covariances_ = gaussian_covariances_parameter(
        "emission", "state", per_state="n_mix", init="covariances_init"
    )
    _emission_type = GaussianMixtureParams

    def _row_minimums(self) -> dict:
        # the data-driven start splits a state's rows (or all rows) into n_mix groups
        return {**super()._row_minimums(), "n_mix": "Gaussians per state"}

    def _family(self, X=None):
        prior = gaussian_prior(self, X, self.n_components * self.n_mix)
        return GaussianMixtureEmission(
            self.n_mix, self.covariance_type, self.reg_covar, prior, init="kmeans"
        )
