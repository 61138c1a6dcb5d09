"""k-means as the hard-assignment limit of a Gaussian mixture, on the EM engine."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import ClusterMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.distributed.dask import is_dask_collection
from emkit.estimators._base import EngineEstimator, TrainingData, check_sample_weight
from emkit.estimators._data import prepare_mixture_data, validated_rows
from emkit.estimators._labels import check_labels
from emkit.estimators._migration import KMEANS_KEYWORDS
from emkit.estimators._parameters import Parameter, any_finite
from emkit.families import GaussianFamily, GaussianParams
from emkit.families.gaussian import check_magnitude
from emkit.models import Mixture, MixtureParams

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import EMCallback, FitData


#: rows whose squared distances could sum past float64 are refused (see check_squares_fit)
_MAX_ROWS_SUMMED = 1e12


def check_squares_fit(rows, *context) -> None:
    """Refuse rows (n, D) whose squared distances could overflow float64.

    The inertia sums up to ``_MAX_ROWS_SUMMED`` squared distances; beyond the limit
    the distances, the variance and the inertia would be infinite and every point
    nearest to centre 0. Module level: it runs on the blocks of X.
    """
    check_magnitude(np.asarray(rows), what="k-means", n_summed=_MAX_ROWS_SUMMED)


class KMeans(ClusterMixin, TransformerMixin, EngineEstimator):
    r"""k-means clustering as classification EM of a Gaussian mixture.

    The model is a mixture of K Gaussians with equal, fixed weights 1/K and one
    shared, fixed spherical covariance σ²I; only the means are learned, with hard
    (one-hot) responsibilities. Then the E-step assigns every point to its nearest
    centre and the M-step moves every centre to the mean of its points: Lloyd's
    algorithm. The engine's objective is the classification log-likelihood

    .. math::

        \sum_i \max_k \log \tfrac{1}{K} \mathcal{N}(x_i \mid \mu_k, \sigma^2 I)
        = \text{const} - \frac{\text{inertia}}{2 \sigma^2},

    and σ² is set to the mean per-feature variance of the data, so that ``tol``
    is scale free (a relative change of inertia). Letting the variance of a soft
    Gaussian mixture shrink to 0 gives the same partition (tested).

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features)
        "random" picks n_clusters distinct data points.
    n_init : int or "auto", default="auto"
        Restarts; "auto" is 1 for "k-means++" or an array, 10 for "random".
    max_iter : int, default=300
    tol : float, default=1e-4
        Convergence when the objective per sample, inertia / (2 σ² n), changes by
        less than ``tol``.
    verbose : int, default=0
    random_state : int, RandomState or None
    n_jobs : int or None, default=None
        Threads for the assignments of different chunks: -1 every core, -2 all but
        one; None (emkit's default) is every core. The fit is bit-identical for any
        value.
    chunk_size : int or None, default=None
        Rows per chunk (None: 65536). X may also be a memory-mapped array or the path
        of a ``.npy`` file, streamed chunk by chunk.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Sum of (weighted) squared distances of the samples to their centres.
    n_iter_, converged_, lower_bound_, lower_bounds_, trace_, n_features_in_

    ``cluster_centers_`` is a read-only view of ``params_``: assigning it (validated)
    moves the centres that ``predict``, ``transform`` and ``score`` use, and on an
    unfitted estimator makes it usable without ``fit``.
    """

    _hyperparameters: dict = {
        "n_clusters": (8, [Interval(Integral, 1, None, closed="left")]),
        "init": ("k-means++", [StrOptions({"k-means++", "random"}), "array-like"]),
        "n_init": ("auto", [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")]),
        "max_iter": (300, [Interval(Integral, 1, None, closed="left")]),
        "tol": (1e-4, [Interval(Real, 0.0, None, closed="left")]),
    }
    _positional = ("n_clusters",)
    _peer_keywords = KMEANS_KEYWORDS
    _saved_extras = ("labels_", "inertia_")

    cluster_centers_ = Parameter("components.means", ("n_clusters", "n_features_in_"), any_finite)

    def fit(
        self,
        X: FitData,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        *,
        callback: EMCallback | None = None,
    ) -> Self:
        """Cluster X. ``sample_weight`` (n_samples,) weights every point's pull on its centre.

        ``y`` (n_samples,) of int, optional: partial labels, the cluster of every row
        or -1 where unknown (seeded and constrained k-means, Basu, Banerjee & Mooney
        2002): a labelled row always belongs to its cluster, and the centres start at
        the labelled rows' means when every cluster has labels. ``callback(restart,
        iteration, params)`` is called with the starting centres and after every
        M-step (see :meth:`GaussianMixture.fit`).
        """
        return self._fit(X, callback=callback, sample_weight=sample_weight, y=y)

    def _prepare_data(self, X, *, warm, sample_weight=None, y=None) -> TrainingData:
        if is_dask_collection(X):
            raise ValueError(
                "KMeans does not take Dask arrays yet (labels_ would be a Dask array too); "
                "use GaussianMixture, or X.compute() when it fits in memory"
            )
        data = prepare_mixture_data(
            self,
            X,
            sample_weight,
            reset=True,
            dtype=np.float64,
            chunk_size=self.chunk_size,
            check_data=lambda block: block,
            check_rows=check_squares_fit,
            y=y,
            check_labels=lambda labels, n_rows: check_labels(labels, n_rows, self.n_clusters),
        )
        self._check_enough_rows(data.n_rows)
        return data.training_data()

    def _row_minimums(self) -> dict:
        return {"n_clusters": "clusters"}

    def _after_fit(self, data: TrainingData) -> None:
        # labels and inertia chunk by chunk: no (n_samples, n_clusters) array at once
        labels, inertia = [], 0.0
        for chunk in data.chunks:
            distances = self._squared_distances(np.asarray(chunk.X))
            chunk_labels = distances.argmin(axis=1)
            if chunk.labels is not None:  # a labelled row stays in its cluster
                chunk_labels = np.where(chunk.labels >= 0, chunk.labels, chunk_labels)
            closest = distances[np.arange(len(chunk_labels)), chunk_labels]
            weights = chunk.sample_weight
            inertia += float(closest.sum() if weights is None else weights @ closest)
            labels.append(chunk_labels)
        if not np.isfinite(inertia):
            raise ValueError(
                "the weighted inertia of the fit overflows float64: sample_weight times the "
                "squared distances to the centres exceeds 1.8e308. Scale the weights down "
                "(divide them by their maximum) or scale the data"
            )
        self.labels_ = np.concatenate(labels)
        self.inertia_ = inertia

    def _n_restarts(self):
        if self.n_init != "auto":
            return self.n_init
        return 10 if isinstance(self.init, str) and self.init == "random" else 1

    def _build_model(self, data: TrainingData):
        X = data.sample
        K, D = self.n_clusters, X.shape[1]
        variance = float(X.var(axis=0).mean()) or 1.0
        means = None
        if not isinstance(self.init, str):
            means = np.asarray(self.init, dtype=float)
            if means.shape != (K, D):
                raise ValueError(f"init array must have shape ({K}, {D}), got {means.shape}")
            if not np.all(np.isfinite(means)):
                raise ValueError("init array contains NaN or infinity; give finite centres")
        fixed = MixtureParams(np.full(K, 1.0 / K), GaussianParams(means, np.full(K, variance)))
        method = (
            "random_from_data"
            if isinstance(self.init, str) and self.init == "random"
            else "k-means++"
        )
        return Mixture(
            GaussianFamily("spherical", reg_covar=0.0),
            K,
            assignment="hard",
            learn=("means",),
            initial=fixed,
            init=method,
        )

    def _squared_distances(self, X):
        # one centre at a time: exact differences (the expansion ||x||² - 2x·c + ||c||²
        # loses digits near a centre) and no (n, K, D) temporary
        out = np.empty((X.shape[0], self.cluster_centers_.shape[0]))
        for k, centre in enumerate(self.cluster_centers_):
            diff = X - centre
            out[:, k] = np.einsum("ij,ij->i", diff, diff)
        return out

    def _validated(self, X):
        self._check_fitted()
        X = validated_rows(self, X, reset=False)
        check_squares_fit(X)
        return X

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the nearest centre, shape (n_samples,)."""
        return self._squared_distances(self._validated(X)).argmin(axis=1)

    def fit_predict(
        self, X: FitData, y: object = None, sample_weight: ArrayLike | None = None
    ) -> np.ndarray:
        return self.fit(X, y, sample_weight=sample_weight).labels_

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Euclidean distances to every centre, shape (n_samples, n_clusters)."""
        return np.sqrt(self._squared_distances(self._validated(X)))

    def fit_transform(
        self, X: FitData, y: object = None, sample_weight: ArrayLike | None = None
    ) -> np.ndarray:
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def score(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Opposite of the inertia of X under the fitted centres."""
        X = self._validated(X)
        closest = self._squared_distances(X).min(axis=1)
        weights = check_sample_weight(sample_weight, X.shape[0])
        return -float(closest.sum() if weights is None else weights @ closest)

    def _assemble(self, values):
        K = self.n_clusters
        means = values["components.means"]
        # the fixed weights and variance do not enter predict, transform or score; the
        # model is rebuilt, and the fitted (shared) variance repeated, when set_params
        # changed n_clusters
        model, fixed = self.__dict__.get("model_"), self.__dict__.get("params_")
        if model is None or model.n_components != K:
            model = Mixture(GaussianFamily("spherical", reg_covar=0.0), K, assignment="hard")
        variance = 1.0 if fixed is None else float(fixed.components.covariances[0])
        variances = np.full(K, variance)
        return model, MixtureParams(np.full(K, 1.0 / K), GaussianParams(means, variances))
