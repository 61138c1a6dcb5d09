"""scikit-learn compatible factor analysis and probabilistic PCA on the emkit engine."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, DensityMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import EMEstimator, TrainingData, check_sample_weight
from emkit.estimators._data import prepare_mixture_data, validated_rows
from emkit.estimators._parameters import Parameter, any_finite
from emkit.families.gaussian import check_magnitude
from emkit.models.factor_analysis import FactorAnalysisModel, FactorAnalysisParams
from emkit.models.mixture import MixtureChunk

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import EMCallback, FitData, RandomStateLike


__all__ = ["FactorAnalysis"]


def check_noise_variances(array, name, estimator) -> None:
    """Positive noise variances; equal ones for ``noise="isotropic"`` (PPCA's σ²)."""
    if np.any(array <= 0):
        raise ValueError(f"{name} must be positive (variances of the noise), got {array.min():g}")
    if estimator.noise == "isotropic":
        flat = np.asarray(array).reshape(-1, array.shape[-1])
        if not np.allclose(flat, flat[:, :1], rtol=1e-12, atol=0.0):
            raise ValueError(
                f"{name} must hold one value repeated for noise='isotropic' (σ² I); give "
                "equal entries, or use noise='diagonal'"
            )


def _loadings_shape(estimator):
    q = estimator.n_components
    return (None if q is None else q, "n_features_in_")


class FactorAnalysis(ClassNamePrefixFeaturesOutMixin, TransformerMixin, DensityMixin, EMEstimator):
    r"""Factor analysis and probabilistic PCA by EM (Rubin & Thayer 1982; Tipping & Bishop
    1999).

    .. math::

        x = \mu + W^\top z + \varepsilon, \quad z \sim \mathcal{N}(0, I_q), \quad
        \varepsilon \sim \mathcal{N}(0, \Psi), \qquad
        x \sim \mathcal{N}(\mu, W^\top W + \Psi)

    with Ψ diagonal (factor analysis, ``noise="diagonal"``) or σ² I (probabilistic PCA,
    ``noise="isotropic"``). EM runs on the engine, so chunked, memory-mapped, Dask and
    online (``partial_fit``) fitting, sample weights, SQUAREM and restarts come with it.
    Every E-step costs O(n d q): the log-density uses the matrix determinant lemma and
    Woodbury's identity, never a d × d inverse. At the optimum, the log-likelihood is
    scikit-learn's ``FactorAnalysis`` (an SVD-based algorithm), and with
    ``noise="isotropic"`` it is Tipping & Bishop's closed form from the eigenvalues of
    the sample covariance.

    Parameters
    ----------
    n_components : int or None, default=None
        q, the number of factors; None: as many as features.
    noise : {"diagonal", "isotropic"}, default="diagonal"
        Ψ diagonal (factor analysis) or σ² I (probabilistic PCA).
    noise_floor : float, default=1e-8
        Every noise variance is kept at least ``noise_floor`` times its feature's
        variance. A feature that the factors explain entirely (a Heywood case) stops at
        that floor instead of a singular model; EM stays monotone (the floor is a
        constraint of the exact M-step).
    init_params : {"pca", "random"}, default="pca"
        "pca": start from probabilistic PCA's closed-form solution of the (in-memory
        sample of the) data; "random": standard normal loadings of the data's scale,
        drawn from ``random_state``.
    mean_init : array-like of shape (n_features,), optional
    components_init : array-like of shape (n_components, n_features), optional
    noise_variance_init : array-like of shape (n_features,), optional
        Initial values, replacing the data-driven start's.
    learn : sequence of str, optional
        The parameters EM updates, among "mean", "components" and "noise_variance";
        default all. The others stay at their ``*_init`` values (which they then need).
    tol : float, default=1e-5
        Convergence when the log-likelihood per sample changes by less than ``tol``.
    max_iter : int, default=1000
    n_init : int, default=1
        Restarts (useful with ``init_params="random"``); the best is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
    {accelerate}
    n_jobs, chunk_size, verbose, verbose_interval, learning_decay, learning_offset
        As for :class:`emkit.GaussianMixture`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The loadings W (rows are factors); determined up to a rotation of the factors.
    mean_ : ndarray of shape (n_features,)
    noise_variance_ : ndarray of shape (n_features,)
        Ψ's diagonal (one value repeated for ``noise="isotropic"``).
    n_components_ : int
        q of the fitted loadings.
    lower_bound_ : float
        Log-likelihood per sample at the last iteration.
    lower_bounds_ : ndarray of shape (n_iter,)
        That value at every iteration; non-decreasing.
    log_likelihood_ : float
        Total log-likelihood of the fitted parameters.
    n_iter_, converged_, n_features_in_, feature_names_in_
    params_ : :class:`emkit.models.factor_analysis.FactorAnalysisParams`

    The parameter attributes are read-only views of ``params_``; assigning one
    (validated) changes the model, and on an unfitted estimator, setting ``mean_``,
    ``components_`` and ``noise_variance_`` makes it usable without ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from emkit.estimators.factor_analysis import FactorAnalysis
    >>> X = StandardScaler().fit_transform(load_wine().data)
    >>> fa = FactorAnalysis(3, accelerate="squarem").fit(X)
    >>> fa.transform(X).shape
    (178, 3)
    """

    _hyperparameters: dict = {
        "n_components": (None, [Interval(Integral, 1, None, closed="left"), None]),
        "noise": ("diagonal", [StrOptions({"diagonal", "isotropic"})]),
        "noise_floor": (1e-8, [Interval(Real, 0.0, None, closed="neither")]),
        "init_params": ("pca", [StrOptions({"pca", "random"})]),
        "mean_init": (None, ["array-like", None]),
        "components_init": (None, ["array-like", None]),
        "noise_variance_init": (None, ["array-like", None]),
        "learn": (None, ["array-like", None]),
    }
    _positional = ("n_components",)
    _default_overrides = {"tol": 1e-5, "max_iter": 1000}

    mean_ = Parameter("mean", ("n_features_in_",), any_finite, init="mean_init")
    components_ = Parameter("components", _loadings_shape, any_finite, init="components_init")
    noise_variance_ = Parameter(
        "noise_variance", ("n_features_in_",), check_noise_variances, init="noise_variance_init"
    )

    # -- fitting ------------------------------------------------------------------
    def fit(
        self,
        X: FitData,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        *,
        callback: EMCallback | None = None,
    ) -> Self:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), np.memmap, path or dask.array.Array
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            A sample of weight 2 counts as two copies of it.
        callback : callable, optional
            ``callback(restart, iteration, params)`` (see :func:`emkit.core.fit_em`).

        Returns
        -------
        self
        """
        return self._fit(X, callback=callback, sample_weight=sample_weight)

    def partial_fit(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One online EM update from a batch (see :meth:`GaussianMixture.partial_fit`)."""
        return self._partial_fit(X, sample_weight=sample_weight)

    def _validate_params(self):
        self._validate_learn()

    def _n_factors(self, n_features: int) -> int:
        q = n_features if self.n_components is None else int(self.n_components)
        if q > n_features:
            raise ValueError(
                f"n_components={q} is more than the {n_features} features of X: a factor "
                f"model has at most as many factors as features; choose n_components <= "
                f"{n_features}"
            )
        return q

    def _prepare_data(self, X, *, warm, sample_weight=None) -> TrainingData:
        data = prepare_mixture_data(
            self,
            X,
            sample_weight,
            reset=not warm,
            dtype=np.float64,
            chunk_size=self.chunk_size,
            check_data=_checked,
            check_rows=_check_rows,
        )
        return data.training_data()

    def _prepare_batch(self, X, *, first, sample_weight=None) -> TrainingData:
        X = _checked(validated_rows(self, X, reset=first, min_rows=2 if first else 1))
        weights = check_sample_weight(sample_weight, X.shape[0])
        n_samples = X.shape[0] if weights is None else float(weights.sum())
        chunk = MixtureChunk(X, weights)
        return TrainingData([chunk], [chunk], n_samples, X.shape[0], X, weights, batch=True)

    def _make_model(self, q: int, initial=None) -> FactorAnalysisModel:
        return FactorAnalysisModel(
            q,
            noise=self.noise,
            noise_floor=self.noise_floor,
            learn=self.learn,
            initial=initial,
            init=self.init_params,
        )

    def _build_model(self, data: TrainingData) -> FactorAnalysisModel:
        q = self._n_factors(int(self.n_features_in_))
        values = self._initial_values()
        initial = None
        if values:
            initial = FactorAnalysisParams(
                values.get("mean"), values.get("components"), values.get("noise_variance")
            )
        return self._make_model(q, initial)

    def _assemble(self, values):
        components = np.asarray(values["components"], dtype=np.float64)
        model = self.__dict__.get("model_")
        if model is None or model.n_factors != components.shape[0] or model.noise != self.noise:
            model = self._make_model(components.shape[0])
        params = FactorAnalysisParams(
            np.asarray(values["mean"], dtype=np.float64),
            components,
            np.asarray(values["noise_variance"], dtype=np.float64),
        )
        return model, params

    # -- results --------------------------------------------------------------------
    @property
    def n_components_(self) -> int:
        """q, the number of factors of the fitted loadings."""
        return int(self.components_.shape[0])

    @property
    def _n_features_out(self) -> int:
        return self.n_components_

    def _validated(self, X):
        self._check_fitted()
        return _checked(validated_rows(self, X, reset=False))

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Posterior factor means E[z | x], shape (n_samples, n_components).

        :math:`E[z \\mid x] = M^{-1} W \\Psi^{-1} (x - \\mu)` with
        :math:`M = I + W \\Psi^{-1} W^\\top` (scikit-learn's ``transform``).
        """
        X = self._validated(X)
        return self.model_.transform(self.params_, X)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Log-density log N(x | μ, WᵀW + Ψ) of every sample, shape (n_samples,)."""
        X = self._validated(X)
        return self.model_.log_density(self.params_, X)

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Mean log-likelihood per sample of X (float)."""
        return float(self.score_samples(X).mean())

    def get_covariance(self) -> np.ndarray:
        """The model's covariance WᵀW + Ψ, shape (n_features, n_features)."""
        self._check_fitted()
        W = self.components_
        return W.T @ W + np.diag(self.noise_variance_)

    def get_precision(self) -> np.ndarray:
        """(WᵀW + Ψ)⁻¹ by Woodbury's identity, shape (n_features, n_features)."""
        self._check_fitted()
        W, psi = self.components_, self.noise_variance_
        scaled = W / psi
        M = np.eye(W.shape[0]) + scaled @ W.T
        return np.diag(1.0 / psi) - scaled.T @ np.linalg.solve(M, scaled)

    def sample(self, n_samples: int = 1, random_state: RandomStateLike = None) -> np.ndarray:
        """Draw samples from the fitted model, shape (n_samples, n_features)."""
        rng = self._sampling_rng(n_samples, random_state)
        return self.model_.sample(self.params_, n_samples, rng)

    def _sample_row_floats(self) -> int:
        return int(self.n_features_in_) + self.n_components_

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion on X (lower is better)."""
        X = self._validated(X)
        k = self.model_.n_free_parameters(X.shape[1])
        return -2.0 * self.score(X) * X.shape[0] + k * np.log(X.shape[0])

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion on X (lower is better)."""
        X = self._validated(X)
        k = self.model_.n_free_parameters(X.shape[1])
        return -2.0 * self.score(X) * X.shape[0] + 2.0 * k

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _check_rows(rows) -> None:
    check_magnitude(rows, what="factor analysis")


def _checked(X):
    check_magnitude(X, what="factor analysis")
    return X
