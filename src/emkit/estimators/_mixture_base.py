"""Base class of the mixture estimators (Gaussian, Poisson, categorical, multinomial, Bernoulli)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import DensityMixin
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import (
    EMEstimator,
    TrainingData,
    check_sample_weight,
    compose,
    partial_container,
)
from emkit.estimators._data import infer_nothing, no_check, prepare_mixture_data, validated_rows
from emkit.estimators._labels import check_labels
from emkit.estimators._parameters import Parameter, probabilities
from emkit.models import Mixture, MixtureChunk, MixtureParams
from emkit.models.mixture import IMPOSSIBLE_ROW_HINT, check_possible_rows, log_normalize

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import EMCallback, FitData, RandomStateLike


INIT_METHODS = {"kmeans", "k-means++", "random", "random_from_data"}


class MixtureEstimator(DensityMixin, EMEstimator):
    """Common API of emkit's mixture estimators.

    A subclass declares its family's hyperparameters and parameter attributes (fields
    ``"components.<name>"`` of :class:`emkit.models.MixtureParams`), names its
    family's parameter container (``_component_type``) and implements
    ``_family(X=None, sample_weight=None)``: the family, with its data-dependent prior
    when the training rows ``X`` are given. It may override ``_data_checks(fitting)``
    and ``_check_data(X)`` for its family's data checks. Everything else —
    validation, the engine run, prediction, scoring, sampling, information criteria —
    lives here and in :class:`emkit.estimators._base.EMEstimator`.
    """

    _hyperparameters: dict = {
        "n_components": (1, [Interval(Integral, 1, None, closed="left")]),
        "init_params": ("kmeans", [StrOptions(INIT_METHODS)]),
        "weights_init": (None, ["array-like", None]),
        "learn": (None, ["array-like", None]),
        "assignment": ("soft", [StrOptions({"soft", "hard"})]),
        "weight_prior": (0.0, [Interval(Real, 0.0, None, closed="left")]),
    }
    _positional = ("n_components",)

    weights_ = Parameter("weights", ("n_components",), probabilities, init="weights_init")

    #: the family's parameter container (e.g. GaussianParams)
    _component_type: type

    #: dtype the family's data must have
    _data_dtype = np.float64

    # -- fitting ------------------------------------------------------------------
    def fit(
        self,
        X: FitData,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        callback: EMCallback | None = None,
    ) -> Self:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), np.memmap, path or dask.array.Array
            A memory-mapped array (or the path of a ``.npy`` file) is streamed chunk by
            chunk; a Dask array is E-stepped per block on the current Dask client.
        y : array-like of int of shape (n_samples,), optional
            Partial labels for semi-supervised fitting, as in ``sklearn.semi_supervised``:
            the component of every row, -1 where unknown. A labelled row's
            responsibilities are clamped to one-hot at its label (the objective then
            counts log π_y p(x | θ_y) for it), and the start uses the labelled rows, so
            that component k is the class labelled k. None (or all -1) fits unsupervised.
            They travel with the rows, so chunked, threaded and Dask fits are unchanged.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: a sample of weight 2 counts as two copies of it.
            Weights whose sum overflows float64 are refused, not rescaled (a prior's
            pseudo-counts weigh against their total); divide them by their maximum,
            which leaves a fit without a prior unchanged.
        callback : callable, optional
            ``callback(restart, iteration, params)``, called with the starting
            parameters (iteration 0) and after every M-step, ``params`` being a
            :class:`emkit.models.MixtureParams` (see :func:`emkit.core.fit_em`;
            used by :func:`emkit.plot.animate_em`).

        Returns
        -------
        self
        """
        return self._fit(X, callback=callback, sample_weight=sample_weight, y=y)

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One online EM update from a batch of samples (mini-batch EM).

        The first call initialises the parameters from its batch; every call then
        moves the running sufficient statistics towards the batch's, with step
        ``(t + learning_offset) ** -learning_decay`` for the t-th batch (Cappé &
        Moulines 2009; see :mod:`emkit.core.online`), and runs the M-step.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : array-like of int of shape (n_batch,), optional
            Partial labels of the batch, -1 where unknown (see :meth:`fit`).
        sample_weight : array-like of shape (n_batch,), optional

        Returns
        -------
        self
        """
        return self._partial_fit(X, sample_weight=sample_weight, y=y)

    def fit_predict(
        self, X: FitData, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> np.ndarray:
        """Fit, then return the most probable component of every sample, shape (n_samples,).

        With partial labels ``y`` (see :meth:`fit`), a labelled row gets its label.
        """
        labels = self.fit(X, y, sample_weight=sample_weight).predict(X)
        known = self._checked_labels(y, labels.shape[0])
        if known is not None:
            labels = np.where(known >= 0, known, labels)
        return labels

    def _checked_labels(self, y, n_rows):
        """y as int64 (n_rows,) with -1 where unknown, or None (see :func:`check_labels`)."""
        return check_labels(y, n_rows, self.n_components)

    def _validate_params(self):
        self._validate_learn()

    # -- hooks of the fit template ---------------------------------------------------
    def _prepare_data(self, X, *, warm, sample_weight=None, y=None) -> TrainingData:
        check_rows, infer = self._data_checks(fitting=not warm)
        data = prepare_mixture_data(
            self,
            X,
            sample_weight,
            reset=not warm,
            dtype=self._compute_dtype(),
            chunk_size=self.chunk_size,
            check_data=self._check_data,
            check_rows=check_rows,
            infer=infer,
            y=y,
            check_labels=self._checked_labels,
            allow_nan=self._allows_nan(),
        )
        self._check_enough_rows(data.n_rows)
        return data.training_data()

    def _prepare_batch(self, X, *, first, sample_weight=None, y=None) -> TrainingData:
        X = validated_rows(
            self, X, dtype=self._compute_dtype(), reset=first, allow_nan=self._allows_nan()
        )
        # every batch is checked as training rows are (e.g. against a given n_trials);
        # the first also sets what the data determine (e.g. the alphabet)
        check_rows, infer = self._data_checks(fitting=first)
        infer([check_rows(X)])
        X = self._check_data(X)
        weights = check_sample_weight(sample_weight, X.shape[0])
        if first:  # it initialises the mixture
            self._check_enough_rows(X.shape[0], "the first batch of partial_fit has")
        labels = self._checked_labels(y, X.shape[0])
        n_samples = X.shape[0] if weights is None else float(weights.sum())
        chunk = MixtureChunk(X, weights, labels=labels)
        return TrainingData([chunk], [chunk], n_samples, X.shape[0], X, weights, batch=True)

    def _build_model(self, data: TrainingData) -> Mixture:
        family = self._family(data.sample, data.sample_weight)
        return Mixture(
            family,
            self.n_components,
            assignment=self.assignment,
            learn=self.learn,
            initial=self._initial_params(),
            init=self.init_params,
            weight_prior=self.weight_prior,
            dtype=np.dtype(self._compute_dtype()),
            impossible_hint=self._impossible_row_hint,
        )

    def _initial_params(self) -> MixtureParams | None:
        """The ``*_init`` values as a partial MixtureParams, or None."""
        values = self._initial_values()
        if not values:
            return None
        components = {p.split(".", 1)[1]: v for p, v in values.items() if "." in p}
        return MixtureParams(
            values.get("weights"), partial_container(self._component_type, components)
        )

    def _assemble(self, values):
        model = self.__dict__.get("model_")
        # the fitted model (its family keeps the data's prior) unless set_params changed K
        if model is None or model.n_components != self.n_components:
            model = Mixture(
                self._family(),
                self.n_components,
                assignment=self.assignment,
                impossible_hint=self._impossible_row_hint,
            )
        return model, compose(MixtureParams, values, "components", model.family.make_params)

    def _compute_dtype(self):
        return self._data_dtype

    def _allows_nan(self) -> bool:
        """Whether NaN in X marks missing values (the Gaussian mixture) rather than an error."""
        return False

    def _row_minimums(self) -> dict:
        return {"n_components": "components"}

    # -- family hooks ---------------------------------------------------------------
    def _family(self, X=None, sample_weight=None):
        raise NotImplementedError

    def _check_data(self, X):
        """Check and convert in-memory rows (n, n_features) for the model: the family's
        ``check_data``, once what the data determine is set."""
        return X

    def _data_checks(self, fitting: bool):
        """(check_rows, infer) for the training rows of fit and of partial_fit's first batch.

        ``check_rows(rows) -> summary`` checks rows of X (every block of them, on a
        Dask worker for a Dask array; picklable) and ``infer(summaries)`` sets the
        attributes that depend on all the rows; ``fitting`` is False for a warm
        start, whose attributes stay. Here: no checks beyond finiteness.
        """
        return no_check, infer_nothing

    # -- prediction -----------------------------------------------------------------
    def _validated(self, X):
        """Rows to predict or score, checked as training rows are (e.g. against a given
        n_trials) and converted for the model."""
        self._check_fitted()
        X = validated_rows(
            self, X, dtype=self._data_dtype, reset=False, allow_nan=self._allows_nan()
        )
        check_rows, _ = self._data_checks(fitting=False)
        check_rows(X)
        return self._check_data(X)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Log-density log p(x) of every sample, shape (n_samples,)."""
        X = self._validated(X)  # first: raises NotFittedError before model_ is touched
        return self.model_.log_density(self.params_, X)

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Mean log-likelihood per sample of ``X`` (float)."""
        return float(self.score_samples(X).mean())

    #: what makes a row impossible under every component, and the remedy (a family's
    #: estimators may say more): the error of fit's E-step and of prediction
    #: (:func:`emkit.models.mixture.check_possible_rows`)
    _impossible_row_hint = IMPOSSIBLE_ROW_HINT

    def _possible_log_joint(self, X):
        """log π_k + log p(x_i | θ_k) of the validated X, shape (n_samples, n_components).

        Raises an ImpossibleRowError (a ValueError) naming the first row that has
        probability zero under every component (its posterior would be 0/0, NaN), as
        fit does, or a ValueError for a non-finite log-density.
        """
        log_joint = self.model_.log_joint(self.params_, X)
        with np.errstate(invalid="ignore"):  # a NaN row is named below
            top = log_joint.max(axis=1)
        check_possible_rows(top, hint=self._impossible_row_hint)
        bad = ~np.isfinite(top)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"row {row} of X has a log-density of {top[row]} under the fitted parameters: "
                "they or the row are not usable in float64; check the row and the parameters"
            )
        return log_joint

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable component of every sample, shape (n_samples,); the same error as
        :meth:`predict_proba` for a row that is impossible under every component."""
        return self._possible_log_joint(self._validated(X)).argmax(axis=1)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Posterior component probabilities, shape (n_samples, n_components).

        Raises a ValueError naming the first row that has probability zero under every
        component (``score_samples`` is -inf there), instead of returning NaN.
        """
        return log_normalize(self._possible_log_joint(self._validated(X)))[1]

    def sample(
        self, n_samples: int = 1, random_state: RandomStateLike = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples: (X of shape (n_samples, n_features), labels of shape (n_samples,)).

        ``random_state`` defaults to the estimator's ``random_state``.
        """
        rng = self._sampling_rng(n_samples, random_state)
        return self.model_.sample(self.params_, n_samples, rng)

    # -- model selection ------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters(self.n_features_in_)

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion of the fitted model on X (lower is better)."""
        X = self._validated(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion of the fitted model on X (lower is better)."""
        X = self._validated(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    def icl(self, X: ArrayLike) -> float:
        r"""Integrated completed likelihood criterion of the fitted model on X (lower is better).

        .. math::

            \mathrm{ICL} = \mathrm{BIC} + 2 \, \mathrm{EN}(t), \qquad
            \mathrm{EN}(t) = -\sum_{i=1}^{n} \sum_{k=1}^{K} t_{ik} \log t_{ik} \ge 0,

        with :math:`t_{ik}` the responsibilities (:meth:`predict_proba`) and
        :math:`0 \log 0 = 0`: the BIC of :meth:`bic` plus twice the entropy of the
        classification (Biernacki, Celeux & Govaert 2000, in the entropy form of
        McLachlan & Peel 2000), in the same sign convention as :meth:`bic` and
        :meth:`aic`, so ``icl(X) >= bic(X)``, with equality when every row belongs to
        one component with certainty. The penalty favours well-separated components.
        R's mclust reports ``-ICL`` (higher is better) and uses the MAP classification,
        :math:`-\sum_i \log t_{i \hat z_i}`, which is at most the entropy.
        """
        from scipy.special import entr  # -t log t, 0 at t = 0

        entropy = float(entr(self.predict_proba(X)).sum())
        return self.bic(X) + 2.0 * entropy
