"""Base class of the mixture estimators (Gaussian now; Poisson, categorical, ... later)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from emkit.estimators._base import (
    ENGINE_PARAMETER_CONSTRAINTS,
    EngineEstimatorMixin,
    check_sample_weight,
)
from emkit.estimators._data import infer_nothing, no_check, prepare_mixture_data
from emkit.models import MixtureChunk


class MixtureEstimator(EngineEstimatorMixin, DensityMixin, BaseEstimator):
    """Common API of emkit's mixture estimators.

    A subclass implements ``_build_model(X, sample_weight)`` returning an
    :class:`emkit.models.Mixture`, ``_store_params()`` that sets its public fitted
    attributes from ``self.params_``, and ``_params_from_attributes()`` (the
    inverse, for loading saved models); it may override ``_data_checks(fitting)``
    and ``_check_data(X)`` for its family's data checks. Everything else —
    validation, the engine run, prediction, scoring, sampling, information
    criteria — lives here.
    """

    _parameter_constraints: dict = {
        **ENGINE_PARAMETER_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "k-means++", "random", "random_from_data"})],
        "assignment": [StrOptions({"soft", "hard"})],
        "weight_prior": [Interval(Real, 0.0, None, closed="left")],
    }

    #: dtype the family's data must have
    _data_dtype = np.float64

    # -- fitting ------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None, *, callback=None):
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: a sample of weight 2 counts as two copies of it.
        callback : callable, optional
            ``callback(restart, iteration, params)``, called with the starting
            parameters (iteration 0) and after every M-step, ``params`` being a
            :class:`emkit.models.MixtureParams` (see :func:`emkit.core.fit_em`;
            used by :func:`emkit.plot.animate_em`).

        Returns
        -------
        self
        """
        self._validate_params()
        warm = self._is_warm()
        check_rows, infer = self._data_checks(fitting=not warm)
        data = prepare_mixture_data(
            self,
            X,
            sample_weight,
            reset=not warm,
            dtype=self._compute_dtype(),
            chunk_size=getattr(self, "chunk_size", None),
            check_data=self._check_data,
            check_rows=check_rows,
            infer=infer,
        )
        if data.n_rows < self.n_components:
            raise ValueError(
                f"X has {data.n_rows} samples but n_components={self.n_components}; "
                "a mixture needs at least as many samples as components"
            )
        model = self._build_model(data.sample, data.sample_weight)
        self._run_engine(
            model,
            data.chunks,
            data.n_samples,
            warm=warm,
            callback=callback,
            init_chunks=[MixtureChunk(data.sample, data.sample_weight)],
        )
        self._store_params()
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One online EM update from a batch of samples (mini-batch EM).

        The first call initialises the parameters from its batch; every call then
        moves the running sufficient statistics towards the batch's, with step
        ``(t + learning_offset) ** -learning_decay`` for the t-th batch (Cappé &
        Moulines 2009; see :mod:`emkit.core.online`), and runs the M-step.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), optional

        Returns
        -------
        self
        """
        first = not hasattr(self, "online_state_")
        if first:
            self._validate_params()
        X = validate_data(self, X, dtype=self._compute_dtype(), ensure_min_samples=1, reset=first)
        if first:  # the first batch sets what the data determine (e.g. the alphabet)
            check_rows, infer = self._data_checks(fitting=True)
            infer([check_rows(X)])
        X = self._check_data(X)
        weights = check_sample_weight(sample_weight, X)
        chunk = MixtureChunk(X, weights)
        if first and X.shape[0] < self.n_components:
            raise ValueError(
                f"the first batch has {X.shape[0]} samples; it initialises the mixture, so "
                f"it needs at least n_components={self.n_components}"
            )
        batch_weight = X.shape[0] if weights is None else float(weights.sum())
        self._online_step(chunk, batch_weight, lambda: self._build_model(X, weights))
        return self

    def _compute_dtype(self):
        return getattr(self, "dtype", None) or self._data_dtype

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most probable component of every sample, shape (n_samples,)."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- prediction -----------------------------------------------------------------
    def _validated(self, X):
        self._check_fitted()
        return self._check_data(validate_data(self, X, dtype=self._data_dtype, reset=False))

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

    def score_samples(self, X):
        """Log-density log p(x) of every sample, shape (n_samples,)."""
        X = self._validated(X)  # first: raises NotFittedError before model_ is touched
        return self.model_.log_density(self.params_, X)

    def score(self, X, y=None):
        """Mean log-likelihood per sample of ``X`` (float)."""
        return float(self.score_samples(X).mean())

    def predict(self, X):
        """Most probable component of every sample, shape (n_samples,)."""
        X = self._validated(X)
        return self.model_.log_joint(self.params_, X).argmax(axis=1)

    def predict_proba(self, X):
        """Posterior component probabilities, shape (n_samples, n_components)."""
        X = self._validated(X)
        log_joint = self.model_.log_joint(self.params_, X)
        log_joint -= log_joint.max(axis=1, keepdims=True)
        proba = np.exp(log_joint)
        return proba / proba.sum(axis=1, keepdims=True)

    def sample(self, n_samples=1):
        """Draw samples: (X of shape (n_samples, n_features), labels of shape (n_samples,))."""
        self._check_fitted()
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at "
                "least one sample."
            )
        return self.model_.sample(self.params_, n_samples, check_random_state(self.random_state))

    # -- model selection ------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters(self.n_features_in_)

    def bic(self, X):
        """Bayesian information criterion of the fitted model on X (lower is better)."""
        X = self._validated(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of the fitted model on X (lower is better)."""
        X = self._validated(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
