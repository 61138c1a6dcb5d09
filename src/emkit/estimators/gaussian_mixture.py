"""scikit-learn compatible Gaussian mixture on the emkit engine."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._mixture_base import MixtureEstimator
from emkit.families import GaussianFamily, GaussianParams
from emkit.models import Mixture, MixtureParams


class GaussianMixture(MixtureEstimator):
    r"""Gaussian mixture model fitted by EM: a drop-in replacement for scikit-learn's.

    .. math::

        p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x \mid \mu_k, \Sigma_k)

    Same constructor parameters, fitted attributes and methods as
    ``sklearn.mixture.GaussianMixture`` (a given ``random_state`` starts from the same
    point and reaches the same fit), plus ``sample_weight`` in :meth:`fit`, MAP
    estimation under conjugate priors, hard assignment (classification EM) and the
    per-iteration trace ``trace_``.

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
    accelerate : {None, "squarem"}, default=None
        "squarem" extrapolates the EM map (Varadhan & Roland 2008) with a monotonicity
        safeguard: far fewer E-steps on slowly converging problems. An iteration is
        then a SQUAREM cycle; ``n_e_steps_`` counts the E-steps.
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks (None: every core). The fit is
        bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array or the path
        of a ``.npy`` file, streamed chunk by chunk (memory bounded by the chunk), or a
        ``dask.array.Array``, E-stepped per block on the current Dask client.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the E-step's arithmetic; statistics are accumulated in float64.
    learning_decay, learning_offset : float, default=0.6, 2.0
        Step sizes ``(t + learning_offset) ** -learning_decay`` of :meth:`partial_fit`.

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
        The same parameters as emkit containers.
    """

    _parameter_constraints: dict = {
        **MixtureEstimator._parameter_constraints,
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "mean_prior": ["array-like", None],
        "mean_prior_strength": [Interval(Real, 0.0, None, closed="left")],
        "covariance_prior": ["array-like", Real, None],
        "covariance_prior_strength": [Interval(Real, 0.0, None, closed="left")],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float64", "float32"})],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        assignment="soft",
        weight_prior=0.0,
        mean_prior=None,
        mean_prior_strength=0.0,
        covariance_prior=None,
        covariance_prior_strength=0.0,
        accelerate=None,
        n_jobs=None,
        chunk_size=None,
        dtype="float64",
        learning_decay=0.6,
        learning_offset=2.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.assignment = assignment
        self.weight_prior = weight_prior
        self.mean_prior = mean_prior
        self.mean_prior_strength = mean_prior_strength
        self.covariance_prior = covariance_prior
        self.covariance_prior_strength = covariance_prior_strength
        self.accelerate = accelerate
        self.n_jobs = n_jobs
        self.chunk_size = chunk_size
        self.dtype = dtype
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # -- model construction -------------------------------------------------------
    def _family(self, X=None, sample_weight=None) -> GaussianFamily:
        prior = None
        if X is not None and (self.mean_prior_strength > 0 or self.covariance_prior_strength > 0):
            prior = GaussianFamily(self.covariance_type).default_prior(
                X,
                self.n_components,
                self.mean_prior_strength,
                self.covariance_prior_strength,
                mean_prior=_checked_array(self.mean_prior, "mean_prior", (X.shape[1],)),
                covariance_prior=self._checked_covariance_prior(X.shape[1]),
                sample_weight=sample_weight,
            )
        return GaussianFamily(self.covariance_type, self.reg_covar, prior)

    def _build_model(self, X, sample_weight):
        family = self._family(X, sample_weight)
        return Mixture(
            family,
            self.n_components,
            assignment=self.assignment,
            initial=self._initial_values(family, X.shape[1]),
            init=self.init_params,
            weight_prior=self.weight_prior,
            dtype=np.dtype(self.dtype),
        )

    def _initial_values(self, family, n_features):
        K, D = self.n_components, n_features
        weights = _checked_array(self.weights_init, "weights_init", (K,))
        if weights is not None:
            if np.any(weights < 0):
                raise ValueError(f"weights_init must be non-negative, got {weights}")
            if not np.isclose(weights.sum(), 1.0):
                raise ValueError(
                    f"weights_init must be non-negative and sum to 1, got sum {weights.sum():.6g}"
                )
        means = _checked_array(self.means_init, "means_init", (K, D))
        covariances = None
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}
            precisions = _checked_array(
                self.precisions_init, "precisions_init", shape[self.covariance_type]
            )
            covariances = _covariances_from_precisions(precisions, self.covariance_type)
        if weights is None and means is None and covariances is None:
            return None
        return MixtureParams(weights, GaussianParams(means, covariances))

    def _checked_covariance_prior(self, n_features):
        if self.covariance_prior is None:
            return None
        shape = {
            "full": (n_features, n_features),
            "tied": (n_features, n_features),
            "diag": (n_features,),
            "spherical": (),
        }[self.covariance_type]
        prior = _checked_array(self.covariance_prior, "covariance_prior", shape)
        # a prior scale that is not positive definite would only surface later, as a
        # misleading "component collapsed" error
        if prior.ndim == 2:
            positive = np.allclose(prior, prior.T) and np.all(np.linalg.eigvalsh(prior) > 0)
        else:
            positive = np.all(prior > 0)
        if not positive:
            kind = "symmetric positive definite" if prior.ndim == 2 else "positive"
            raise ValueError(f"covariance_prior must be {kind}")
        return prior

    # -- fitted attributes --------------------------------------------------------
    def _store_params(self):
        params = self.params_
        self.weights_ = params.weights
        self.means_ = params.components.means
        self.covariances_ = params.components.covariances
        self.precisions_cholesky_ = params.components.precisions_cholesky
        self.precisions_ = self.model_.family.precisions(params.components)

    def _params_from_attributes(self):
        family = self._family()
        components = family.make_params(np.asarray(self.means_), np.asarray(self.covariances_))
        self.model_ = Mixture(family, self.n_components, assignment=self.assignment)
        self.params_ = MixtureParams(np.asarray(self.weights_), components)
        self._store_params()

    _saved_attributes = ("weights_", "means_", "covariances_")


def _checked_array(value, name, shape):
    """``value`` as a finite float array of ``shape``, or None; a clear error otherwise."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def _covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError("precisions_init must be positive")
        return 1.0 / precisions
    matrices = precisions if covariance_type == "full" else precisions[None]
    covariances = []
    for k, precision in enumerate(matrices):
        if not np.allclose(precision, precision.T) or np.any(np.linalg.eigvalsh(precision) <= 0):
            which = "" if covariance_type == "tied" else f" of component {k}"
            raise ValueError(f"precisions_init{which} must be symmetric positive definite")
        covariances.append(np.linalg.inv(precision))
    covariances = np.array(covariances)
    return covariances if covariance_type == "full" else covariances[0]
