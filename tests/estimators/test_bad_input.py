"""Bad input to GaussianMixture and KMeans: every error says what is wrong and where;
collapsing and empty components are reported, never turned into NaN parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from emkit import ComponentCollapseError, EmptyComponentWarning, GaussianMixture, KMeans


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).standard_normal((30, 2))


ESTIMATORS = [GaussianMixture(2), KMeans(2)]
IDS = ["GaussianMixture", "KMeans"]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, r"Input X contains NaN or infinity in row 3, column 1 \(X\[3, 1\] = nan\)"),
        (np.inf, r"Input X contains NaN or infinity in row 3, column 1 \(X\[3, 1\] = inf\)"),
    ],
)
def test_non_finite_data(X, estimator, value, message):
    bad = X.copy()
    bad[3, 1] = value
    if isinstance(estimator, GaussianMixture):
        # NaN marks a missing value there (test_missing_values.py); infinity is refused
        if np.isnan(value):
            return
        message = r"Input X contains infinity in row 3, column 1 \(X\[3, 1\] = inf\)"
    with pytest.raises(ValueError, match=message):
        estimator.fit(bad)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_one_dimensional_data(X, estimator):
    with pytest.raises(
        ValueError, match=r"X must be a 2-D array .* got a 1-D array of shape \(30,\)"
    ):
        estimator.fit(X[:, 0])


def test_fewer_samples_than_components(X):
    with pytest.raises(ValueError, match="X has 3 samples but n_components=5"):
        GaussianMixture(5).fit(X[:3])
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=5: give more rows"):
        KMeans(5).fit(X[:3])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights_init": [1.0]}, r"weights_init must have shape \(2,\), got \(1,\)"),
        ({"weights_init": [0.2, 0.2]}, "weights_init must .*sum to 1, got sum 0.4"),
        ({"weights_init": [1.2, -0.2]}, "weights_init must be non-negative"),
        ({"weights_init": [np.nan, 1.0]}, "weights_init contains NaN or infinity"),
        ({"means_init": np.zeros((3, 2))}, r"means_init must have shape \(2, 2\), got \(3, 2\)"),
        ({"means_init": np.zeros(2)}, r"means_init must have shape \(2, 2\)"),
        (
            {"precisions_init": np.eye(2)},
            r"precisions_init must have shape \(2, 2, 2\), got \(2, 2\)",
        ),
        (
            {"precisions_init": np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])},
            "precisions_init of component 1 must be symmetric positive definite",
        ),
        (
            {"precisions_init": np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])},
            "precisions_init of component 1 must be symmetric positive definite",
        ),
        (
            {"covariance_type": "tied", "precisions_init": [[1.0, 2.0], [2.0, 1.0]]},
            "precisions_init must be symmetric positive definite",
        ),
        (
            {"covariance_type": "diag", "precisions_init": -np.ones((2, 2))},
            "precisions_init must be positive",
        ),
        (
            {"covariance_type": "spherical", "precisions_init": [1.0, 0.0]},
            "precisions_init must be positive",
        ),
        (
            {"mean_prior": [0.0, 0.0, 0.0], "mean_prior_strength": 1.0},
            r"mean_prior must have shape \(2,\), got \(3,\)",
        ),
        (
            {"covariance_prior": np.eye(3), "covariance_prior_strength": 1.0},
            r"covariance_prior must have shape \(2, 2\), got \(3, 3\)",
        ),
        (
            {"covariance_prior": -np.eye(2), "covariance_prior_strength": 1.0},
            "covariance_prior must be symmetric positive definite",
        ),
        (
            {
                "covariance_type": "spherical",
                "covariance_prior": -1.0,
                "covariance_prior_strength": 5.0,
            },
            "covariance_prior must be positive",
        ),
    ],
)
def test_wrong_initial_values_and_priors(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, **kwargs).fit(X)


def test_wrong_kmeans_init_array(X):
    with pytest.raises(ValueError, match=r"init array must have shape \(2, 2\), got \(3, 2\)"):
        KMeans(2, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(ValueError, match="init array contains NaN or infinity"):
        KMeans(2, init=np.array([[np.nan, 0.0], [0.0, 0.0]])).fit(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-np.ones(30), r"sample_weight\[0\] = -1.0 is negative"),
        (np.r_[np.nan, np.ones(29)], r"sample_weight\[0\] = nan is not finite"),
        (np.r_[np.ones(29), np.inf], r"sample_weight\[29\] = inf is not finite"),
        (np.zeros(30), "sample_weight sums to zero; at least one row of X needs a positive weight"),
        (np.ones(3), r"one weight per row of X: expected shape \(30,\), got \(3,\)"),
    ],
)
def test_bad_sample_weight(X, estimator, weights, message):
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, sample_weight=weights)


@pytest.mark.parametrize(
    ("estimator", "parameter"),
    [
        (GaussianMixture(0), "n_components"),
        (GaussianMixture(2, covariance_type="foo"), "covariance_type"),
        (GaussianMixture(2, reg_covar=-1.0), "reg_covar"),
        (GaussianMixture(2, tol=-1.0), "tol"),
        (GaussianMixture(2, max_iter=-1), "max_iter"),
        (GaussianMixture(2, n_init=0), "n_init"),
        (GaussianMixture(2, init_params="x"), "init_params"),
        (GaussianMixture(2, assignment="medium"), "assignment"),
        (GaussianMixture(2, weight_prior=-1.0), "weight_prior"),
        (GaussianMixture(2, mean_prior_strength=-1.0), "mean_prior_strength"),
        (GaussianMixture(2, covariance_prior_strength=-1.0), "covariance_prior_strength"),
        (GaussianMixture(2, random_state="seed"), "random_state"),
        (KMeans(0), "n_clusters"),
        (KMeans(2, init="farthest"), "init"),
        (KMeans(2, n_init=0), "n_init"),
        (KMeans(2, max_iter=0), "max_iter"),
    ],
)
def test_invalid_hyperparameters(X, estimator, parameter):
    name = type(estimator).__name__
    with pytest.raises(InvalidParameterError, match=f"The '{parameter}' parameter of {name}"):
        estimator.fit(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_predicting_with_another_number_of_features(X, estimator):
    estimator.fit(X)
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=f"X has 3 features, but {name} is expecting 2 features"):
        estimator.predict(np.zeros((4, 3)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "score_samples", "bic"])
def test_using_an_unfitted_mixture(X, method):
    with pytest.raises(NotFittedError, match="This GaussianMixture instance is not fitted"):
        getattr(GaussianMixture(2), method)(X)
    with pytest.raises(NotFittedError):
        GaussianMixture(2).sample(3)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_using_unfitted_kmeans(X, method):
    with pytest.raises(NotFittedError, match="This KMeans instance is not fitted"):
        getattr(KMeans(2), method)(X)


# -- collapse and empty components ----------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_collapse_onto_one_point_names_the_component_and_the_remedy(X, covariance_type):
    """Component 1 starts on an isolated point; without reg_covar its covariance
    collapses to zero: an error, not NaN or infinite parameters."""
    data = np.vstack([X, [[10.0, 10.0]]])
    precisions = {
        "full": np.array([np.eye(2)] * 2),
        "diag": np.ones((2, 2)),
        "spherical": np.ones(2),
    }[covariance_type]
    model = GaussianMixture(
        2,
        covariance_type=covariance_type,
        reg_covar=0.0,
        weights_init=[0.5, 0.5],
        means_init=[[0.0, 0.0], [10.0, 10.0]],
        precisions_init=precisions,
    )
    with pytest.raises(ComponentCollapseError) as info:
        model.fit(data)
    message = str(info.value)
    assert "component 1 holding 1 effective samples" in message
    assert "Increase reg_covar, lower n_components or scale the data" in message
    assert not hasattr(model, "means_")
    # the remedy works
    model.set_params(reg_covar=1e-6).fit(data)
    assert np.all(np.isfinite(model.covariances_)) and np.all(np.isfinite(model.means_))


def test_collapse_onto_duplicated_points(X):
    data = np.vstack([X, np.tile([[5.0, 5.0]], (4, 1))])
    model = GaussianMixture(
        2,
        reg_covar=0.0,
        weights_init=[0.5, 0.5],
        means_init=[[0.0, 0.0], [5.0, 5.0]],
        precisions_init=np.array([np.eye(2)] * 2),
    )
    with pytest.raises(ComponentCollapseError, match="component 1 holding 4 effective samples"):
        model.fit(data)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_empty_component_warns_and_keeps_finite_parameters(X, covariance_type):
    precisions = {
        "full": np.array([np.eye(2)] * 3),
        "tied": np.eye(2),
        "diag": np.ones((3, 2)),
        "spherical": np.ones(3),
    }[covariance_type]
    model = GaussianMixture(
        3,
        covariance_type=covariance_type,
        means_init=[[-1.0, 0.0], [1.0, 0.0], [1e3, 1e3]],
        precisions_init=precisions,
        max_iter=10,
    )
    with pytest.warns(EmptyComponentWarning, match="mixture component 2 received no posterior"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model.fit(X)
    assert model.weights_[2] < 1e-10
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
