"""scikit-learn compatible mixture of multivariate t distributions on the emkit engine."""

from __future__ import annotations

from functools import partial
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._checks import (
    family_check,
)
from emkit.estimators._data import infer_nothing
from emkit.estimators._mixture_base import MixtureEstimator
from emkit.estimators._parameters import Parameter
from emkit.estimators.gaussian_mixture import location_scale_parameters
from emkit.families.student import DEFAULT_DOF, StudentFamily, StudentParams, check_dof

__all__ = ["StudentMixture"]


def _dof_to_field(estimator, value, name):
    # one float is every component's ν
    return np.full(int(estimator.n_components), float(value)) if value.ndim == 0 else value


def _check_dof(array, name, estimator) -> None:
    check_dof(array, name)


class StudentMixture(MixtureEstimator):
    r"""Mixture of multivariate t distributions fitted by EM (Peel & McLachlan 2000).

    .. math::

        p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, t_{\nu_k}(x \mid \mu_k, \Sigma_k),
        \qquad
        t_\nu(x \mid \mu, \Sigma) = \frac{\Gamma(\frac{\nu + D}{2})}
        {\Gamma(\frac{\nu}{2}) (\nu\pi)^{D/2} |\Sigma|^{1/2}}
        \Big(1 + \frac{(x - \mu)^\top \Sigma^{-1} (x - \mu)}{\nu}\Big)^{-\frac{\nu + D}{2}}

    A t component is a Gaussian whose covariance Σ / u is scaled by a latent
    u ~ Gamma(ν/2, ν/2); EM estimates u with the component, and a point far from a
    component gets a small E[u] and counts for little in its mean and scale. Gross
    outliers therefore barely move the fit, where they drag a Gaussian mixture's means
    and inflate its covariances. As ν grows the components become Gaussian.

    The degrees of freedom ν_k are learned per component by default, each M-step
    solving the CM equation of Peel & McLachlan (the exact maximiser of the complete-
    data Q over ν, with ``scipy.optimize.brentq``; see :mod:`emkit.families.student`),
    so that the log-likelihood never decreases. Leave ``"dof"`` out of ``learn`` and
    give ``dof_init`` to fix them.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Structure of the scale matrices Σ_k.
    dof_init : float or array-like of shape (n_components,), optional
        Initial degrees of freedom ν_k > 0 (the fixed values when ``"dof"`` is not
        learned); default 10 for every component.
    tol : float, default=1e-3
        Convergence when the per-sample objective changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonals of the scale matrices after every M-step.
    max_iter : int, default=100
    n_init : int, default=1
        Restarts; the best is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
    weights_init : array-like of shape (n_components,), optional
    means_init : array-like of shape (n_components, n_features), optional
    precisions_init : array-like, optional
        Initial inverse scale matrices, in the covariance type's shape.
    random_state : int, RandomState or None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    assignment : {"soft", "hard"}, default="soft"
        "hard" fits by classification EM (one-hot responsibilities; u stays soft).
    learn : sequence of str, optional
        The parameters EM updates, among "weights", "means", "covariances" and "dof";
        default all. The others keep their ``*_init`` values (which they then need).
    weight_prior : float, default=0
        Dirichlet pseudo-counts per component on the weights (MAP); 0 is MLE.
    {accelerate}
    n_jobs : int or None, default=None
        Threads for the E-steps of different chunks: -1 every core, -2 all but one;
        None (emkit's default) is every core. The fit is bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array, the path of
        a ``.npy`` file (streamed) or a ``dask.array.Array``.
    learning_decay, learning_offset : float, default=0.51, 0.0
        Step sizes of :meth:`partial_fit`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
        The component centres (the means where ν > 1).
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Scale matrices Σ_k (the covariance of component k is ν Σ_k / (ν - 2) for
        ν > 2), their inverses and the inverses' Cholesky factors; shapes (K, D, D)
        full, (D, D) tied, (K, D) diag, (K,) spherical.
    dof_ : ndarray of shape (n_components,)
        Degrees of freedom ν_k.
    converged_, n_iter_, lower_bound_, lower_bounds_, log_likelihood_, trace_, n_features_in_
        As :class:`emkit.GaussianMixture`.
    params_ : :class:`emkit.models.MixtureParams` of :class:`emkit.families.student.StudentParams`
        The parameter attributes are read-only views of ``params_``, and assigning them
        (validated) changes the model.
    """

    _hyperparameters: dict = {
        "covariance_type": ("full", [StrOptions({"full", "tied", "diag", "spherical"})]),
        "dof_init": (None, ["array-like", Real, None]),
        "reg_covar": (1e-6, [Interval(Real, 0.0, None, closed="left")]),
        "means_init": (None, ["array-like", None]),
        "precisions_init": (None, ["array-like", None]),
    }

    means_, covariances_, precisions_, precisions_cholesky_ = location_scale_parameters()
    dof_ = Parameter(
        "components.dof", ("n_components",), _check_dof, init="dof_init", to_field=_dof_to_field
    )
    _component_type = StudentParams

    def _family(self, X=None, sample_weight=None) -> StudentFamily:
        return StudentFamily(self.covariance_type, self.reg_covar, DEFAULT_DOF)

    def _data_checks(self, fitting):
        return partial(family_check, StudentFamily(self.covariance_type)), infer_nothing

    def _validated(self, X):
        # rows to predict on: values whose squares overflow would give NaN, not an error
        return StudentFamily(self.covariance_type).check_data(super()._validated(X))

    def _n_parameters(self) -> int:
        # fixed degrees of freedom are not estimated: BIC and AIC do not count them
        count = super()._n_parameters()
        if self.learn is not None and "dof" not in {str(n) for n in np.ravel(self.learn)}:
            count -= self.n_components
        return count
