"""scikit-learn compatible mixture of factor analysers on the emkit engine."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import TrainingData
from emkit.estimators._mixture_base import MixtureEstimator
from emkit.estimators._parameters import Parameter, any_finite
from emkit.estimators.factor_analysis import check_noise_variances
from emkit.families.gaussian import check_magnitude
from emkit.models.mixture_of_factor_analyzers import MFAParams, MixtureOfFactorAnalyzersModel

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


__all__ = ["MixtureOfFactorAnalyzers"]


def _noise_shape(estimator):
    if estimator.shared_noise:
        return ("n_features_in_",)
    return ("n_components", "n_features_in_")


class MixtureOfFactorAnalyzers(MixtureEstimator):
    r"""Mixture of factor analysers by EM (Ghahramani & Hinton 1996).

    .. math::

        p(x) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x \mid \mu_k, W_k^\top W_k + \Psi)

    A Gaussian mixture whose covariances are low rank plus diagonal: every component
    has its own mean μ_k and q factor loadings W_k (shape (q, d)), and the noise Ψ is
    diagonal (or σ² I, a mixture of probabilistic PCAs, ``noise="isotropic"``). As in
    Ghahramani & Hinton, Ψ is shared by the components by default; ``shared_noise=False``
    gives every component its own. A full-covariance Gaussian mixture has K d (d + 1) / 2
    covariance parameters; this one K (d q − q (q − 1) / 2) + d, and every E-step costs
    O(n K d q) (Woodbury's identity, no d × d inverse), so it fits where d is large.

    Parameters
    ----------
    n_components : int, default=1
        K, the number of factor analysers.
    n_factors : int, default=1
        q, the factors of every component (at most n_features).
    noise : {"diagonal", "isotropic"}, default="diagonal"
    shared_noise : bool, default=True
        One Ψ for all components (Ghahramani & Hinton), else one per component.
    noise_floor : float, default=1e-8
        Every noise variance is kept at least ``noise_floor`` times its feature's
        variance over all rows (a constraint of the exact M-step; EM stays monotone).
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        The responsibilities to start from; every component then starts from
        probabilistic PCA of its rows.
    weights_init : array-like of shape (n_components,), optional
    means_init : array-like of shape (n_components, n_features), optional
    components_init : array-like of shape (n_components, n_factors, n_features), optional
    noise_variance_init : array-like of shape (n_features,) or (n_components, n_features), optional
        (the latter with ``shared_noise=False``).
    learn : sequence of str, optional
        Among "weights", "means", "components", "noise_variance"; default all.
    assignment : {"soft", "hard"}, default="soft"
        "hard" fits by classification EM.
    weight_prior : float, default=0.0
        Dirichlet pseudo-counts on the weights (MAP); 0 is maximum likelihood.
    tol : float, default=1e-5
        Convergence when the log-likelihood per sample changes by less than ``tol``.
    max_iter : int, default=1000
    n_init, random_state, warm_start, accelerate, n_jobs, chunk_size
        As for :class:`emkit.GaussianMixture`.
    verbose, verbose_interval, learning_decay, learning_offset
        As for :class:`emkit.GaussianMixture`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    components_ : ndarray of shape (n_components, n_factors, n_features)
        Every component's loadings (rows are factors).
    noise_variance_ : ndarray of shape (n_features,) or (n_components, n_features)
    lower_bound_, lower_bounds_, log_likelihood_, n_iter_, converged_, n_features_in_
        As for :class:`emkit.GaussianMixture`.
    params_ : :class:`emkit.models.mixture_of_factor_analyzers.MFAParams`

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from emkit.estimators.mixture_of_factor_analyzers import MixtureOfFactorAnalyzers
    >>> X = StandardScaler().fit_transform(load_wine().data)
    >>> mfa = MixtureOfFactorAnalyzers(3, n_factors=2, random_state=0).fit(X)
    >>> mfa.predict(X).shape
    (178,)
    """

    _hyperparameters: dict = {
        "n_factors": (1, [Interval(Integral, 1, None, closed="left")]),
        "noise": ("diagonal", [StrOptions({"diagonal", "isotropic"})]),
        "shared_noise": (True, ["boolean"]),
        "noise_floor": (1e-8, [Interval(Real, 0.0, None, closed="neither")]),
        "means_init": (None, ["array-like", None]),
        "components_init": (None, ["array-like", None]),
        "noise_variance_init": (None, ["array-like", None]),
    }
    _default_overrides = {"tol": 1e-5, "max_iter": 1000}

    means_ = Parameter("means", ("n_components", "n_features_in_"), any_finite, init="means_init")
    components_ = Parameter(
        "components",
        ("n_components", "n_factors", "n_features_in_"),
        any_finite,
        init="components_init",
    )
    noise_variance_ = Parameter(
        "noise_variance", _noise_shape, check_noise_variances, init="noise_variance_init"
    )

    def _make_model(self, initial=None) -> MixtureOfFactorAnalyzersModel:
        return MixtureOfFactorAnalyzersModel(
            self.n_components,
            self.n_factors,
            noise=self.noise,
            shared_noise=self.shared_noise,
            noise_floor=self.noise_floor,
            assignment=self.assignment,
            learn=self.learn,
            initial=initial,
            init=self.init_params,
            weight_prior=self.weight_prior,
        )

    def _build_model(self, data: TrainingData) -> MixtureOfFactorAnalyzersModel:
        d = int(self.n_features_in_)
        if self.n_factors > d:
            raise ValueError(
                f"n_factors={self.n_factors} is more than the {d} features of X: a factor "
                f"analyser has at most as many factors as features; choose n_factors <= {d}"
            )
        values = self._initial_values()
        initial = None
        if values:
            initial = MFAParams(
                values.get("weights"),
                values.get("means"),
                values.get("components"),
                values.get("noise_variance"),
            )
        return self._make_model(initial)

    def _assemble(self, values):
        model = self.__dict__.get("model_")
        if (
            model is None
            or model.n_components != self.n_components
            or model.n_factors != self.n_factors
            or model.noise != self.noise
            or model.shared_noise != self.shared_noise
        ):
            model = self._make_model()
        params = MFAParams(
            *(
                np.asarray(values[name], dtype=np.float64)
                for name in ("weights", "means", "components", "noise_variance")
            )
        )
        return model, params

    def _check_data(self, X):
        check_magnitude(X, what="factor analysis")
        return X

    def factor_means(self, X: ArrayLike) -> np.ndarray:
        """Posterior factor means E[z | x_i, component k], shape (n_samples,
        n_components, n_factors); weigh them by :meth:`predict_proba` for the factors
        of the component that generated a row."""
        X = self._validated(X)
        return self.model_.factor_means(self.params_, X)

    def _sample_row_floats(self) -> int:
        return int(self.n_features_in_) + 1 + int(self.n_factors)
