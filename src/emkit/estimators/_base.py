"""Shared machinery of emkit's scikit-learn estimators: running the engine, storing results."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from emkit.core import fit_em, trace_as_arrays
from emkit.core.monitor import decrease_rtol_for
from emkit.core.online import DEFAULT_KAPPA, DEFAULT_T0, online_em_step

ENGINE_RESULT_ATTRIBUTES = (
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "log_likelihood_",
)


#: Constraints of the engine's own hyperparameters, for the estimators that expose all
#: of them (mixtures, HMMs, state-space models); each class adds its own model's table.
ENGINE_PARAMETER_CONSTRAINTS: dict = {
    "tol": [Interval(Real, 0.0, None, closed="left")],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    "n_jobs": [Integral, None],
    "accelerate": [StrOptions({"squarem"}), None],
}


def check_sample_weight(sample_weight, X):
    """Validated sample weights of shape (n_samples,), or None when not given.

    Weights must be finite and non-negative with a positive sum.
    """
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity; give finite non-negative weights")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to 0; at least one sample needs a positive weight")
    return weights


class EngineEstimatorMixin:
    """Runs :func:`emkit.core.fit_em` for an estimator and stores the common results.

    Subclasses provide ``_build_model(...)`` and store their own parameters from
    ``self.params_``. The common fitted attributes set here are ``params_``,
    ``converged_``, ``n_iter_``, ``lower_bound_`` (per-sample objective at the last
    iteration, as scikit-learn), ``lower_bounds_`` (its history), ``log_likelihood_``
    (total log-likelihood of the training data under the fitted parameters),
    ``n_e_steps_`` (E-steps used; more than ``n_iter_`` under acceleration) and
    ``trace_`` (dict of per-iteration arrays; see :mod:`emkit.core.trace`).
    Optional estimator attributes read here: ``accelerate``, ``n_jobs``.
    """

    def _run_engine(
        self,
        model,
        chunks,
        n_samples,
        *,
        warm: bool,
        callback=None,
        init_chunks=None,
        n_init=None,
    ):
        """Run the engine; ``n_init`` overrides ``self.n_init`` (e.g. a resolved "auto")."""
        result = fit_em(
            model,
            chunks,
            n_samples=n_samples,
            max_iter=self.max_iter,
            tol=self.tol,
            n_init=self.n_init if n_init is None else n_init,
            random_state=self.random_state,
            init_params=self.params_ if warm else None,
            previous_lower_bound=self.lower_bound_ if warm else -np.inf,
            verbose=self.verbose,
            verbose_interval=getattr(self, "verbose_interval", 1),
            callback=callback,
            accelerate=getattr(self, "accelerate", None),
            n_jobs=getattr(self, "n_jobs", 1),
            init_chunks=init_chunks,
            decrease_rtol=decrease_rtol_for(getattr(self, "dtype", "float64")),
        )
        self.model_ = model
        self.params_ = result.params
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = result.lower_bounds
        self.log_likelihood_ = result.log_likelihood
        self.n_e_steps_ = result.n_e_steps
        self.trace_ = trace_as_arrays(list(result.trace))
        return result

    def _online_step(self, chunk, batch_weight: float, build_model) -> None:
        """One online EM update from ``chunk`` (see :mod:`emkit.core.online`).

        On the first batch, ``build_model()`` makes the model and the batch initialises
        the parameters. Step sizes come from the optional ``learning_decay`` and
        ``learning_offset`` attributes. Sets ``online_state_``, ``n_iter_`` (batches
        seen) and the estimator's parameters.
        """
        if not hasattr(self, "online_state_"):
            self.model_ = build_model()
            self.params_ = self.model_.init_params([chunk], check_random_state(self.random_state))
            self.online_state_ = None
            self.n_iter_ = 0
        self.params_, self.online_state_, _ = online_em_step(
            self.model_,
            self.params_,
            self.online_state_,
            chunk,
            batch_weight,
            kappa=getattr(self, "learning_decay", DEFAULT_KAPPA),
            t0=getattr(self, "learning_offset", DEFAULT_T0),
        )
        self.n_iter_ += 1
        self._store_params()

    def _is_warm(self) -> bool:
        return bool(getattr(self, "warm_start", False)) and hasattr(self, "converged_")

    def _check_fitted(self):
        check_is_fitted(self, "params_")
