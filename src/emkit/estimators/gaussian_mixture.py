"""scikit-learn compatible Gaussian mixture on the emkit engine."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import StrOptions

from emkit.estimators._checks import (
    GAUSSIAN_HYPERPARAMETERS,
    family_check,
    gaussian_covariances_parameter,
    gaussian_means,
    gaussian_prior,
)
from emkit.estimators._data import infer_nothing
from emkit.estimators._mixture_base import MixtureEstimator
from emkit.families import GaussianFamily, GaussianParams
from emkit.families._covariance import check_covariances
from emkit.families.gaussian import check_cast_fidelity, check_resolution
from emkit.models.mixture import log_normalize

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def location_scale_parameters():
    """The descriptors ``means_``, ``covariances_``, ``precisions_`` and
    ``precisions_cholesky_`` of the components' fields ``means`` and ``covariances``
    (the precisions are views, not saved): shared by the mixtures whose components are
    located and scaled like a Gaussian's (``GaussianMixture``, ``StudentMixture``)."""
    means = gaussian_means("components")
    covariances = gaussian_covariances_parameter("components", "component")
    precisions = gaussian_covariances_parameter(
        "components",
        "component",
        init="precisions_init",
        to_field=lambda est, precisions, name: _covariances_of(est, precisions, name),
        from_field=lambda est, covariances: _precisions_of(est, covariances),
        saved=False,
    )
    precisions_cholesky = gaussian_covariances_parameter(
        "components",
        "component",
        to_field=lambda est, chol, name: _covariances_of(
            est, _precisions_from_cholesky(est, chol), name
        ),
        from_field=lambda est, covariances: _cholesky_of(est, covariances),
        saved=False,
    )
    return means, covariances, precisions, precisions_cholesky


class GaussianMixture(MixtureEstimator):
    r"""Gaussian mixture model fitted by EM: a drop-in replacement for scikit-learn's.

    .. math::

        p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x \mid \mu_k, \Sigma_k)

    Same constructor parameters, fitted attributes and methods as
    ``sklearn.mixture.GaussianMixture`` (a given ``random_state`` starts from the same
    point and reaches the same fit), plus ``sample_weight`` in :meth:`fit`, MAP
    estimation under conjugate priors, hard assignment (classification EM), the
    per-iteration trace ``trace_``, partial labels (``fit(X, y)`` with ``y = -1`` where
    unknown) and missing values.

    **Missing values.** NaN entries of X are missing at random (Ghahramani & Jordan
    1994): the E-step takes the conditional expectations of the missing coordinates
    and of their second moments given the observed ones, for every pattern of
    missingness, so EM maximises the likelihood of the observed values; chunked,
    online and Dask fits work unchanged. :meth:`score_samples`, :meth:`predict` and
    :meth:`predict_proba` marginalise the missing coordinates, and :meth:`impute`
    fills them with their conditional means. A row must have at least one observed
    value. Data without NaN take exactly the complete-data path.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Convergence when the per-sample objective changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the covariance diagonals after every M-step.
    max_iter : int, default=100
    n_init : int, default=1
        Restarts; the best is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
    weights_init : array-like of shape (n_components,), optional
    means_init : array-like of shape (n_components, n_features), optional
    precisions_init : array-like, optional
        Initial precision matrices, in the covariance type's shape.
    random_state : int, RandomState or None
    warm_start : bool, default=False
        Continue from the last fit's parameters.
    verbose : int, default=0
        1 shows a progress bar, 2 also prints the objective every ``verbose_interval``
        iterations (on standard error).
    verbose_interval : int, default=10
    assignment : {"soft", "hard"}, default="soft"
        "hard" fits by classification EM (one-hot responsibilities).
    learn : sequence of str, optional
        The parameters EM updates, among "weights", "means" and "covariances"; default
        all. The others keep their ``*_init`` values (which they then need).
    weight_prior : float, default=0
        Dirichlet pseudo-counts per component on the weights (MAP); 0 is MLE.
    mean_prior : array-like of shape (n_features,), optional
        Prior mean m0 of the component means (default: the data mean).
    mean_prior_strength : float, default=0
        κ0: pseudo-observations at ``mean_prior`` added to every component; 0 is MLE.
    covariance_prior : array-like, optional
        Σ0, in a single component's covariance shape ((D, D), (D,) or scalar).
        Default: the data covariance / n_components^(2/D) (Fraley & Raftery 2007).
    covariance_prior_strength : float, default=0
        n0: pseudo-observations of covariance ``covariance_prior``; 0 is MLE.
        With κ0 and n0 the prior is normal-inverse-Wishart (see
        :class:`emkit.families.GaussianPrior`).
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks, as in scikit-learn: -1 every core,
        -2 all but one; None (emkit's default) is every core. The fit is bit-identical
        for any value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array or the path
        of a ``.npy`` file, streamed chunk by chunk (memory bounded by the chunk), or a
        ``dask.array.Array``, E-stepped per block on the current Dask client.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the E-step's arithmetic; statistics are accumulated in float64.
    learning_decay, learning_offset : float, default=0.51, 0.0
        Step sizes ``(t + learning_offset) ** -learning_decay`` of :meth:`partial_fit`;
        the defaults forget the statistics of the first batches (computed under the
        initial parameters) fast (``benchmarks/bench_online.py``).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Shapes (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    converged_, n_iter_, lower_bound_, lower_bounds_ : as scikit-learn
    log_likelihood_ : float
        Total log-likelihood of the training data under the fitted parameters.
    trace_ : dict of ndarray
        Per-iteration log_likelihood, log_prior, entropy, expected_log_joint
        (Q), lower_bound (ELBO) and kl; ``log_likelihood[t+1] = lower_bound[t] + kl[t]``.
    n_features_in_, feature_names_in_
    params_ : MixtureParams
        The same parameters as emkit containers. ``weights_``, ``means_``,
        ``covariances_``, ``precisions_`` and ``precisions_cholesky_`` are read-only
        views of it; assigning one (validated) changes what the model computes with,
        and on an unfitted estimator, setting ``weights_``, ``means_`` and
        ``covariances_`` (or the precisions) makes it usable without ``fit``.
    """

    _hyperparameters: dict = {
        **GAUSSIAN_HYPERPARAMETERS,
        "precisions_init": (None, ["array-like", None]),
        "dtype": ("float64", [StrOptions({"float64", "float32"})]),
    }

    means_, covariances_, precisions_, precisions_cholesky_ = location_scale_parameters()
    _component_type = GaussianParams

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values, marginalised
        return tags

    def _allows_nan(self) -> bool:
        return True

    def impute(self, X: ArrayLike) -> np.ndarray:
        """X with every missing (NaN) entry replaced by its conditional mean.

        The conditional mean of a row's missing coordinates given its observed ones is
        sum_k p(k | x_o) E[x_m | x_o, k], the components' conditional means weighted
        by the posteriors of the observed values. Observed entries are returned as
        they are.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features), float64
        """
        X = np.asarray(self._validated(X), dtype=np.float64)
        missing = np.isnan(X)
        if not missing.any():
            return X.copy()
        resp = log_normalize(self._possible_log_joint(X))[1]
        completed = self.model_.family.conditional_means(self.params_.components, X)
        return np.where(missing, np.einsum("nk,nkd->nd", resp, completed), X)

    def _family(self, X=None, sample_weight=None) -> GaussianFamily:
        prior = gaussian_prior(self, X, self.n_components, sample_weight)
        return GaussianFamily(self.covariance_type, self.reg_covar, prior)

    def _compute_dtype(self):
        return np.dtype(self.dtype)

    def _check_data(self, X):
        # The training rows passed the family's checks block by block (_data_checks);
        # over all of X only the float32 resolution remains, whose spread is X's.
        check_resolution(X)
        return X

    def _data_checks(self, fitting):
        return partial(family_check, GaussianFamily(self.covariance_type)), infer_nothing

    def _validated(self, X):
        # rows to predict on: values whose squares overflow would give NaN, not an error
        return GaussianFamily(self.covariance_type).check_data(super()._validated(X))

    def _check_fit(self, X):
        # A few far rows that the cast merges can give a component a spread float32
        # cannot resolve, which only the fitted components show (check_cast_fidelity)
        values = _float32_source(self, X)
        if values is not None:
            check_cast_fidelity(
                self.model_.family, self.params_.components, np.log(self.weights_), values
            )

    def _prepare_data(self, X, *, warm, sample_weight=None, y=None):
        _check_float32_resolution(self, X)
        return super()._prepare_data(X, warm=warm, sample_weight=sample_weight, y=y)

    def _prepare_batch(self, X, *, first, sample_weight=None, y=None):
        _check_float32_resolution(self, X)
        return super()._prepare_batch(X, first=first, sample_weight=sample_weight, y=y)


def _float32_source(estimator, X):
    """The in-memory float64 data X (n, D) that float32 mode will cast, or None (float64
    mode; a file, memory map or Dask array, left to the usual checks). Not checked for
    finiteness: before the fit the caller does that, after it the fit has."""
    if np.dtype(estimator.dtype) != np.float32 or not isinstance(X, (np.ndarray, list, tuple)):
        return None
    values = np.asarray(X)
    if values.ndim == 2 and values.dtype.kind == "f":
        return values
    return None


def _check_float32_resolution(estimator, X) -> None:
    """In float32 mode, refuse in-memory float64 data that float32 cannot resolve (see
    ``check_resolution``) before they are cast: the cast can erase their spread entirely,
    and the fit would then be silently wrong. Non-finite data are left to the usual
    checks, which name the entry."""
    values = _float32_source(estimator, X)
    if values is not None and np.isfinite(values).all():
        check_resolution(values, np.float32)


# -- the precision views of the covariances -------------------------------------------------
def _cholesky_of(estimator, covariances):
    """Precision Cholesky factors of ``covariances``, as the family computes them."""
    return (
        GaussianFamily(estimator.covariance_type).make_params(None, covariances).precisions_cholesky
    )


def _precisions_of(estimator, covariances):
    family = GaussianFamily(estimator.covariance_type)
    return family.precisions(family.make_params(None, covariances))


def _precisions_from_cholesky(estimator, chol):
    if estimator.covariance_type in ("diag", "spherical"):
        return chol**2
    return chol @ np.swapaxes(chol, -1, -2)


def _covariances_of(estimator, precisions, name):
    """Covariances from precisions (checked positive definite first, so that the error
    names the precisions)."""
    matrices = estimator.covariance_type in ("full", "tied")
    check_covariances(precisions, name, matrices, "component")
    return np.linalg.inv(precisions) if matrices else 1.0 / precisions
