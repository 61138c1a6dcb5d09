r"""Mixture of linear regressions (flexmix's ``FLXMRglm`` Gaussian model) on the engine."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import (
    EMEstimator,
    TrainingData,
    check_sample_weight,
    numeric_array,
)
from emkit.estimators._data import validated_rows
from emkit.estimators._parameters import Parameter, any_finite, probabilities
from emkit.models.mixture_regression import (
    INIT_METHODS,
    MixtureRegressionChunk,
    MixtureRegressionParams,
)
from emkit.models.mixture_regression import MixtureRegression as MixtureRegressionModel

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import EMCallback, RandomStateLike


__all__ = ["MixtureRegression"]

DEFAULT_CHUNK_ROWS = 65_536


def _positive(array, name, estimator) -> None:
    if np.any(array <= 0):
        raise ValueError(f"{name} must be positive (variances), got minimum {float(array.min())!r}")


def _reference_first(estimator, array, name):
    """Gating values relative to the first component (softmax is invariant to a shift
    common to all components, so the first is the reference with zeros)."""
    array = np.asarray(array, dtype=np.float64)
    return array - array[:1]


def _gating_shape(estimator):
    features = estimator.gating_features
    width = "n_features_in_" if features is None else len(np.ravel(features))
    return ("n_components", width)


class MixtureRegression(RegressorMixin, EMEstimator):
    r"""Mixture of K linear regressions fitted by EM (flexmix's Gaussian ``FLXMRglm``).

    .. math::

        p(y \mid x) = \sum_{k=1}^{K} \pi_k(x)\,
            \mathcal{N}\!\left(y \mid b_k + x^\top \beta_k,\ \sigma_k^2\right)

    Every component has its own intercept :math:`b_k` (``intercept_``), slopes
    :math:`\beta_k` (``coef_``) and noise variance :math:`\sigma_k^2`
    (``noise_variance_``). The mixing weights are constant (``gating="constant"``,
    ``weights_``) or a multinomial logit of covariates z, a subset of the columns of X
    (``gating="multinomial"``, flexmix's concomitant ``FLXPmultinom``):
    :math:`\pi_k(x) \propto \exp(c_k + z^\top \gamma_k)` with the first component the
    reference (:math:`c_1 = 0, \gamma_1 = 0`; ``gating_intercept_``,
    ``gating_coef_``). The M-step is weighted least squares per component; the gating
    takes one certified Newton (or Böhning-bound) step per iteration, a generalised
    EM that never decreases the log-likelihood (see
    :mod:`emkit.models.mixture_regression`).

    ``predict`` gives the expected response :math:`E[y \mid x] = \sum_k \pi_k(x) (b_k
    + x^\top\beta_k)`; ``predict_proba(X, y)`` the component posteriors;
    ``score`` is R² as for every scikit-learn regressor, and ``log_density(X, y)``
    the log-density :math:`\log p(y_i \mid x_i)`.

    Parameters
    ----------
    n_components : int, default=1
    gating : {"constant", "multinomial"}, default="constant"
    gating_features : array-like of int, optional
        Columns of X that enter the gating (default: all of them); only with
        ``gating="multinomial"``.
    reg_covar : float, default=1e-6
        Added to every noise variance after the M-step: a component that fits its
        points exactly keeps a positive variance (and the likelihood bounded). Set 0
        for exact maximum likelihood (as flexmix).
    init_params : {"random_partition", "kmeans", "k-means++", "random", "random_from_data"}
        "random_partition" (default): every row to a uniformly drawn component, as
        flexmix starts; the others are the mixtures' starts on the standardised
        joint data (x, y).
    coef_init : array-like of shape (n_components, n_features), optional
    intercept_init, noise_variance_init, weights_init : array-like of shape (n_components,)
    gating_coef_init : array-like of shape (n_components, n_gating_features), optional
    gating_intercept_init : array-like of shape (n_components,), optional
        Initial values (all of a group, replacing the data-driven start's); the values
        of the parameters left out of ``learn``.
    learn : sequence of str, optional
        Parameters EM updates, among "coef", "intercept", "noise_variance", "weights"
        (or "gating_coef", "gating_intercept"); default all. "coef" and "intercept"
        go together, as do the gating pair.
    tol : float, default=1e-3
        Convergence when the log-likelihood per sample changes by less than ``tol``.
    max_iter : int, default=100
    n_init : int, default=1
        Restarts; the one with the highest log-likelihood is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536); the fit equals the in-memory one up to rounding.
    verbose, verbose_interval : progress output, as the other estimators.
    learning_decay, learning_offset : the step sizes of :meth:`partial_fit`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_components, n_features)
    intercept_ : ndarray of shape (n_components,)
    noise_variance_ : ndarray of shape (n_components,)
    weights_ : ndarray of shape (n_components,)
        Constant gating only.
    gating_coef_ : ndarray of shape (n_components, n_gating_features)
    gating_intercept_ : ndarray of shape (n_components,)
        Multinomial gating only; the first rows are 0.
    converged_, n_iter_, lower_bound_, lower_bounds_, log_likelihood_, trace_
        As the other EM estimators (``lower_bound_`` is the log-likelihood per sample).
    n_features_in_, feature_names_in_
    params_ : :class:`emkit.models.mixture_regression.MixtureRegressionParams`
        The parameter attributes are read-only views of it; assigning one (validated)
        changes the model, and on an unfitted estimator setting all of them makes it
        usable without ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit.estimators.mixture_regression import MixtureRegression
    >>> rng = np.random.RandomState(0)
    >>> x = rng.uniform(0, 10, 400)
    >>> line = rng.randint(2, size=400)
    >>> y = np.where(line == 0, 1 + 2 * x, 20 - x) + 0.5 * rng.standard_normal(400)
    >>> model = MixtureRegression(2, n_init=5, random_state=0).fit(x[:, None], y)
    >>> np.round(np.sort(model.coef_.ravel()), 1)
    array([-1.,  2.])
    """

    _hyperparameters: dict = {
        "n_components": (1, [Interval(Integral, 1, None, closed="left")]),
        "gating": ("constant", [StrOptions({"constant", "multinomial"})]),
        "gating_features": (None, ["array-like", None]),
        "reg_covar": (1e-6, [Interval(Real, 0.0, None, closed="left")]),
        "init_params": ("random_partition", [StrOptions(set(INIT_METHODS))]),
        "coef_init": (None, ["array-like", None]),
        "intercept_init": (None, ["array-like", None]),
        "noise_variance_init": (None, ["array-like", None]),
        "weights_init": (None, ["array-like", None]),
        "gating_coef_init": (None, ["array-like", None]),
        "gating_intercept_init": (None, ["array-like", None]),
        "learn": (None, ["array-like", None]),
    }
    _positional = ("n_components",)

    coef_ = Parameter("coef", ("n_components", "n_features_in_"), any_finite, init="coef_init")
    intercept_ = Parameter("intercept", ("n_components",), any_finite, init="intercept_init")
    noise_variance_ = Parameter(
        "noise_variance", ("n_components",), _positive, init="noise_variance_init"
    )
    weights_ = Parameter("weights", ("n_components",), probabilities, init="weights_init")
    gating_coef_ = Parameter(
        "gating_coef", _gating_shape, any_finite, init="gating_coef_init", to_field=_reference_first
    )
    gating_intercept_ = Parameter(
        "gating_intercept",
        ("n_components",),
        any_finite,
        init="gating_intercept_init",
        to_field=_reference_first,
    )

    # -- fitting ------------------------------------------------------------------------
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        callback: EMCallback | None = None,
    ) -> Self:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: a row of weight 2 counts as two copies of it.
        callback : callable, optional
            ``callback(restart, iteration, params)`` (see :func:`emkit.core.fit_em`).

        Returns
        -------
        self
        """
        return self._fit(X, callback=callback, y=y, sample_weight=sample_weight)

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One online EM update from a batch (see :meth:`EMEstimator._partial_fit`).
        With multinomial gating the running statistics mix gating steps taken at
        different parameters: a stochastic approximation without the batch fit's
        monotonicity guarantee."""
        return self._partial_fit(X, y=y, sample_weight=sample_weight)

    def _validate_params(self):
        self._validate_learn()
        if self.gating == "constant":
            if self.gating_features is not None:
                raise ValueError(
                    "gating_features is set but gating='constant' ignores it: set "
                    "gating='multinomial' to use covariates in the mixing weights"
                )
            for name in ("gating_coef_init", "gating_intercept_init"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} needs gating='multinomial' (got gating='constant')")
        elif self.weights_init is not None:
            raise ValueError(
                "weights_init needs gating='constant'; with gating='multinomial' give "
                "gating_intercept_init (log-odds against the first component)"
            )

    def _gating_columns(self, n_features: int):
        """The validated gating columns (a tuple of int), or None for constant weights."""
        if self.gating == "constant":
            return None
        if self.gating_features is None:
            return tuple(range(n_features))
        columns = np.ravel(np.asarray(self.gating_features))
        if columns.dtype.kind not in "iu" and columns.size:
            raise ValueError(
                f"gating_features must hold column indices (integers), got {self.gating_features!r}"
            )
        bad = [int(c) for c in columns if not 0 <= int(c) < n_features]
        if bad:
            raise ValueError(
                f"gating_features has column {bad[0]}, but X has {n_features} column(s): "
                f"give indices in 0..{n_features - 1}"
            )
        if len(set(columns.tolist())) != columns.size:
            raise ValueError("gating_features lists a column twice; give each column once")
        return tuple(int(c) for c in columns)

    @property
    def _uniform_when_fixed(self):
        # the other gating's parameters are not part of the model: left out of learn,
        # they need no value
        if self.gating == "multinomial":
            return ("weights",)
        return ("gating_coef", "gating_intercept")

    def _required_fields(self):
        gating = (
            ("gating_coef", "gating_intercept") if self.gating == "multinomial" else ("weights",)
        )
        return ("coef", "intercept", "noise_variance", *gating)

    # -- data ---------------------------------------------------------------------------
    def _validated_y(self, y, n_rows: int) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "give the response of every row of X"
            )
        values = numeric_array(y, "y")
        if values.ndim == 2 and values.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
            values = values.ravel()
        if values.ndim != 1:
            raise ValueError(
                f"y should be a 1d array of shape (n_samples,), got an array of shape "
                f"{values.shape}: {type(self).__name__} models one response"
            )
        if values.shape[0] != n_rows:
            raise ValueError(
                f"y has {values.shape[0]} values but X has {n_rows} rows: give one "
                "response per row of X"
            )
        values = values.astype(np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"Input y contains NaN or infinity at index {i} (y[{i}] = {values[i]}); "
                "drop or impute missing and infinite responses"
            )
        return values

    def _chunks(self, X, y, weights):
        size = DEFAULT_CHUNK_ROWS if self.chunk_size is None else int(self.chunk_size)
        return [
            MixtureRegressionChunk(
                X[i : i + size],
                y[i : i + size],
                None if weights is None else weights[i : i + size],
                i,
            )
            for i in range(0, X.shape[0], size)
        ]

    def _prepare_data(self, X, *, warm, y=None, sample_weight=None) -> TrainingData:
        X = validated_rows(self, X, reset=not warm, min_rows=2)
        y = self._validated_y(y, X.shape[0])
        weights = check_sample_weight(sample_weight, X.shape[0])
        self._check_enough_rows(X.shape[0])
        chunks = self._chunks(X, y, weights)
        whole = MixtureRegressionChunk(X, y, weights)
        total = X.shape[0] if weights is None else float(weights.sum())
        return TrainingData(chunks, [whole], total, X.shape[0], X, weights)

    def _prepare_batch(self, X, *, first, y=None, sample_weight=None) -> TrainingData:
        X = validated_rows(self, X, reset=first)
        y = self._validated_y(y, X.shape[0])
        weights = check_sample_weight(sample_weight, X.shape[0])
        if first:
            self._check_enough_rows(X.shape[0], "the first batch of partial_fit has")
        chunk = MixtureRegressionChunk(X, y, weights)
        total = X.shape[0] if weights is None else float(weights.sum())
        return TrainingData([chunk], [chunk], total, X.shape[0], X, weights, batch=True)

    def _row_minimums(self) -> dict:
        return {"n_components": "components"}

    # -- models -------------------------------------------------------------------------
    def _make_model(self, n_features: int, initial=None, learn=None) -> MixtureRegressionModel:
        return MixtureRegressionModel(
            self.n_components,
            gating_columns=self._gating_columns(n_features),
            reg_covar=self.reg_covar,
            init=self.init_params,
            learn=learn,
            initial=initial,
        )

    def _build_model(self, data: TrainingData) -> MixtureRegressionModel:
        values = self._initial_values()
        initial = MixtureRegressionParams(
            **{name: values.get(name) for name in MixtureRegressionParams.__dataclass_fields__}
        )
        learn = None if self.learn is None else [str(n) for n in np.ravel(self.learn)]
        return self._make_model(int(self.n_features_in_), initial if values else None, learn)

    def _assemble(self, values):
        model = self.__dict__.get("model_")
        n_features = int(self.n_features_in_)
        if (
            model is None
            or model.n_components != self.n_components
            or model.gating_columns != self._gating_columns(n_features)
        ):
            model = self._make_model(n_features)
        fields = {name: values.get(name) for name in model.param_names}
        return model, MixtureRegressionParams(**fields)

    # -- prediction ---------------------------------------------------------------------
    def _validated(self, X):
        self._check_fitted()
        return validated_rows(self, X, reset=False)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Expected response E[y | x] = Σ_k π_k(x) (b_k + xᵀβ_k), shape (n_samples,)."""
        X = self._validated(X)
        return self.model_.predict_mean(self.params_, X)

    def predict_components(self, X: ArrayLike) -> np.ndarray:
        """Every component's regression line b_k + xᵀβ_k, shape (n_samples, n_components)."""
        X = self._validated(X)
        return self.model_.means(self.params_, X)

    def _posterior(self, X, y, method):
        X = self._validated(X)
        if y is None:
            raise ValueError(
                f"{method} needs the responses y as well as X: a component's posterior "
                "depends on the response (for the mixing weights before y is seen, use "
                "predict_proba(X))"
            )
        y = self._validated_y(y, X.shape[0])
        return self.model_.posterior(self.params_, X, y)

    def predict_proba(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        """Posterior component probabilities, shape (n_samples, n_components).

        With ``y`` (shape (n_samples,)): p(k | x_i, y_i), which component generated each
        response. Without: p(k | x_i) = π_k(x_i), the mixing weights before the response
        is seen (every row the same for constant weights).
        """
        if y is None:
            X = self._validated(X)
            log_pi = self.model_.log_weights(self.params_, X)
            return np.broadcast_to(np.exp(log_pi), (X.shape[0], self.n_components)).copy()
        return self._posterior(X, y, "predict_proba")[1]

    def log_density(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        """Log-density log p(y_i | x_i) of every row, shape (n_samples,); ``y`` is required."""
        return self._posterior(X, y, "log_density")[0]

    def sample(
        self, X: ArrayLike, random_state: RandomStateLike = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw responses for the rows X: (y of shape (n_samples,), labels of shape
        (n_samples,)). ``random_state`` defaults to the estimator's."""
        X = self._validated(X)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        return self.model_.sample(self.params_, X, rng)

    # -- model selection ----------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters(int(self.n_features_in_))

    def bic(self, X: ArrayLike, y: ArrayLike) -> float:
        """Bayesian information criterion on (X, y) (lower is better)."""
        log_density = self.log_density(X, y)
        return -2.0 * float(log_density.sum()) + self._n_parameters() * np.log(log_density.size)

    def aic(self, X: ArrayLike, y: ArrayLike) -> float:
        """Akaike information criterion on (X, y) (lower is better)."""
        return -2.0 * float(self.log_density(X, y).sum()) + 2.0 * self._n_parameters()
