"""MixtureOfFactorAnalyzers: its density against a Gaussian mixture with the same
covariances, one component = FactorAnalysis, clusters of real data, monotone EM,
chunked / weighted fits, hand-set parameters, save/load, scikit-learn's estimator
checks and clear errors for bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _ignore_y import ignoring_y
from sklearn.datasets import load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit.estimators.factor_analysis import FactorAnalysis
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.mixture_of_factor_analyzers import MixtureOfFactorAnalyzers
from emkit.io import load, save


@pytest.fixture(scope="module")
def wine():
    data = load_wine()
    return StandardScaler().fit_transform(data.data), data.target


@pytest.fixture(scope="module")
def fitted(wine):
    X, _ = wine
    return MixtureOfFactorAnalyzers(3, n_factors=2, random_state=0, tol=1e-6).fit(X)


def test_density_is_the_gaussian_mixture_with_low_rank_plus_diagonal_covariances(wine, fitted):
    X, _ = wine
    W, psi = fitted.components_, fitted.noise_variance_
    gmm = GaussianMixture(3)
    gmm.weights_ = fitted.weights_
    gmm.means_ = fitted.means_
    gmm.covariances_ = np.einsum("kqi,kqj->kij", W, W) + np.diag(psi)
    np.testing.assert_allclose(fitted.score_samples(X), gmm.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(fitted.predict_proba(X), gmm.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(fitted.predict(X), gmm.predict(X))


def test_wine_cultivars_are_recovered(wine, fitted):
    X, y = wine
    assert fitted.converged_
    assert adjusted_rand_score(y, fitted.predict(X)) > 0.85
    np.testing.assert_allclose(fitted.weights_.sum(), 1.0)
    assert fitted.components_.shape == (3, 2, 13)
    assert fitted.noise_variance_.shape == (13,)
    # fewer parameters than the full Gaussian mixture, and a better BIC on these data
    full = GaussianMixture(3, random_state=0).fit(X)
    assert fitted.bic(X) < full.bic(X)


def test_one_component_is_factor_analysis(wine):
    X, _ = wine
    mfa = MixtureOfFactorAnalyzers(1, n_factors=2, tol=0, max_iter=40).fit(X)
    fa = FactorAnalysis(2, tol=0, max_iter=40).fit(X)
    np.testing.assert_allclose(mfa.lower_bounds_, fa.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(mfa.score_samples(X), fa.score_samples(X), rtol=1e-10)


@pytest.mark.parametrize(
    ("noise", "shared"), list(itertools.product(["diagonal", "isotropic"], [True, False]))
)
def test_lower_bounds_never_decrease(wine, noise, shared):
    X, _ = wine
    mfa = MixtureOfFactorAnalyzers(
        3,
        n_factors=2,
        noise=noise,
        shared_noise=shared,
        init_params="random",
        random_state=0,
        tol=0,
        max_iter=60,
    )
    with pytest.warns(Warning):
        mfa.fit(X)
    diffs = np.diff(mfa.lower_bounds_)
    assert np.all(diffs >= -1e-12 * np.abs(mfa.lower_bounds_[1:]))
    shape = (13,) if shared else (3, 13)
    assert mfa.noise_variance_.shape == shape
    if noise == "isotropic":
        assert np.all(np.ptp(np.atleast_2d(mfa.noise_variance_), axis=1) == 0)


def test_chunked_fit_equals_the_in_memory_fit(wine):
    X, _ = wine
    kwargs = {"n_components": 2, "n_factors": 1, "random_state": 0, "tol": 0, "max_iter": 25}
    whole = MixtureOfFactorAnalyzers(**kwargs).fit(X)
    chunked = MixtureOfFactorAnalyzers(**kwargs, chunk_size=40, n_jobs=2).fit(X)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-9, atol=1e-12)


def test_sample_weights_count_as_repeated_rows_from_the_same_start(wine, fitted):
    X, _ = wine
    counts = np.random.RandomState(1).randint(0, 3, size=len(X))
    start = {
        "weights_init": fitted.weights_,
        "means_init": fitted.means_,
        "components_init": fitted.components_,
        "noise_variance_init": fitted.noise_variance_,
    }
    kwargs = {"n_components": 3, "n_factors": 2, "tol": 0, "max_iter": 10, **start}
    weighted = MixtureOfFactorAnalyzers(**kwargs).fit(X, sample_weight=counts)
    repeated = MixtureOfFactorAnalyzers(**kwargs).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, atol=1e-9)
    np.testing.assert_allclose(weighted.noise_variance_, repeated.noise_variance_, atol=1e-9)


def test_hard_assignment_and_sampling(wine):
    X, _ = wine
    mfa = MixtureOfFactorAnalyzers(3, n_factors=1, assignment="hard", random_state=0).fit(X)
    assert np.all(np.isin(np.unique(mfa.predict(X)), [0, 1, 2]))
    samples, labels = mfa.sample(50, random_state=0)
    assert samples.shape == (50, 13) and labels.shape == (50,)
    assert mfa.factor_means(X).shape == (178, 3, 1)


def test_hand_set_parameters_make_a_usable_model(wine, fitted):
    X, _ = wine
    mfa = MixtureOfFactorAnalyzers(3, n_factors=2)
    for name in ("weights_", "means_", "components_", "noise_variance_"):
        setattr(mfa, name, getattr(fitted, name))
    np.testing.assert_array_equal(mfa.score_samples(X), fitted.score_samples(X))
    with pytest.raises(ValueError, match=r"components_ must have shape \(3, 2, 13\)"):
        mfa.components_ = np.ones((3, 1, 13))


@pytest.mark.parametrize("shared", [True, False])
def test_save_load_round_trip(tmp_path, wine, shared):
    X, _ = wine
    mfa = MixtureOfFactorAnalyzers(
        2, n_factors=2, shared_noise=shared, random_state=0, max_iter=20, tol=1e-4
    ).fit(X)
    back = load(save(mfa, tmp_path / "mfa"))
    assert type(back) is MixtureOfFactorAnalyzers and back.shared_noise == shared
    np.testing.assert_array_equal(back.noise_variance_, mfa.noise_variance_)
    np.testing.assert_array_equal(back.predict_proba(X), mfa.predict_proba(X))
    assert back.bic(X) == mfa.bic(X)


def _expected_failures(estimator):
    if estimator.n_components == 1:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "k-means initialisation walks the rows in order: the weighted fit and the fit "
            "on shuffled repeated rows start from different points (equivalence at one "
            "start is tested separately)"
        )
    }


# y is the mixtures' partial labels; the checks pass class labels to ignore (_ignore_y.py)
@parametrize_with_checks(
    [
        ignoring_y(MixtureOfFactorAnalyzers()),
        ignoring_y(
            MixtureOfFactorAnalyzers(
                2, n_factors=1, noise="isotropic", shared_noise=False, max_iter=50, tol=1e-3
            )
        ),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_factors": 14}, "n_factors=14 is more than the 13 features"),
        ({"n_components": 200}, "n_components=200"),
        ({"weights_init": [0.5, 0.6, 0.1]}, "weights_init must sum to 1"),
        ({"noise_variance_init": np.ones((3, 13))}, r"noise_variance_init must have shape \(13,\)"),
        (
            {"shared_noise": False, "noise_variance_init": np.ones(13)},
            r"noise_variance_init must have shape \(3, 13\)",
        ),
        ({"noise_variance_init": np.zeros(13)}, "must be positive"),
        ({"learn": ["means", "loadings"]}, "unknown parameter names"),
        ({"learn": ["means"]}, "set weights_init"),
        ({"shared_noise": "yes"}, "shared_noise"),
    ],
)
def test_bad_input_gets_clear_errors(wine, kwargs, message):
    X, _ = wine
    kwargs = {"n_components": 3, "n_factors": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        MixtureOfFactorAnalyzers(**kwargs).fit(X)


def test_nan_rows_are_refused(wine):
    X = wine[0].copy()
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match=r"row 7, column 2"):
        MixtureOfFactorAnalyzers(2).fit(X)
