"""FactorAnalysis (and PPCA as noise="isotropic"): agreement with scikit-learn's
FactorAnalysis and PCA on real data, PPCA's closed form, transform, chunked / weighted /
online fits, hand-set parameters, save/load, scikit-learn's estimator checks and clear
errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_diabetes, load_wine
from sklearn.decomposition import PCA
from sklearn.decomposition import FactorAnalysis as SklearnFactorAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit.estimators.factor_analysis import FactorAnalysis
from emkit.io import load, save


@pytest.fixture(scope="module")
def wine():
    return StandardScaler().fit_transform(load_wine().data)


@pytest.fixture(scope="module")
def fitted(wine):
    return FactorAnalysis(2, tol=1e-10, accelerate="squarem").fit(wine)


# -- agreement with scikit-learn ----------------------------------------------------------
def test_wine_log_likelihood_and_covariance_equal_scikit_learns(wine, fitted):
    reference = SklearnFactorAnalysis(2, tol=1e-10, max_iter=10_000).fit(wine)
    assert fitted.converged_
    assert fitted.score(wine) == pytest.approx(reference.score(wine), rel=1e-8)
    np.testing.assert_allclose(fitted.score_samples(wine), reference.score_samples(wine), atol=5e-3)
    # the loadings are identified up to a rotation: compare W^T W + Ψ and the subspace
    np.testing.assert_allclose(fitted.get_covariance(), reference.get_covariance(), atol=1e-3)
    np.testing.assert_allclose(fitted.noise_variance_, reference.noise_variance_, atol=1e-3)
    np.testing.assert_allclose(fitted.mean_, reference.mean_, atol=1e-12)
    projector = np.linalg.pinv(fitted.components_) @ fitted.components_
    projected = reference.components_ @ projector
    np.testing.assert_allclose(projected, reference.components_, atol=1e-3)
    # transform gives the posterior means: their reconstructions W^T E[z|x] agree
    np.testing.assert_allclose(
        fitted.transform(wine) @ fitted.components_,
        reference.transform(wine) @ reference.components_,
        atol=2e-3,
    )
    np.testing.assert_allclose(fitted.get_precision(), reference.get_precision(), atol=1e-2)
    np.testing.assert_allclose(
        fitted.get_precision() @ fitted.get_covariance(), np.eye(13), atol=1e-10
    )


def test_diabetes_reaches_scikit_learns_optimum_or_beyond():
    # a near-Heywood case: scikit-learn's SVD iterations stop early (some 50,000 are
    # needed to reach -11.4347860 per sample with tol=1e-10, measured); SQUAREM EM gets
    # to -11.4347711 in about a second
    X = StandardScaler().fit_transform(load_diabetes().data)
    reference = SklearnFactorAnalysis(2).fit(X)  # its defaults: tol=1e-2 (total)
    fa = FactorAnalysis(2, tol=1e-10, max_iter=2000, accelerate="squarem").fit(X)
    assert fa.score(X) >= reference.score(X)
    assert fa.score(X) == pytest.approx(-11.4347711, abs=1e-6)
    np.testing.assert_allclose(fa.get_covariance(), reference.get_covariance(), atol=2e-2)


def test_log_density_is_the_dense_gaussian(wine, fitted):
    dense = multivariate_normal(fitted.mean_, fitted.get_covariance()).logpdf(wine)
    np.testing.assert_allclose(fitted.score_samples(wine), dense, rtol=1e-11)
    assert fitted.log_likelihood_ == pytest.approx(dense.sum(), rel=1e-12)


def test_ppca_equals_the_closed_form_and_scikit_learns_pca(wine):
    q = 3
    ppca = FactorAnalysis(
        q,
        noise="isotropic",
        init_params="random",
        random_state=0,
        tol=1e-12,
        max_iter=5000,
        accelerate="squarem",
    ).fit(wine)
    n, d = wine.shape
    # Tipping & Bishop: σ² the mean of the d − q smallest eigenvalues of the ML covariance
    values = np.linalg.eigvalsh(np.cov(wine.T, bias=True))[::-1]
    sigma2 = values[q:].mean()
    closed = -0.5 * (
        d * np.log(2 * np.pi) + np.log(values[:q]).sum() + (d - q) * np.log(sigma2) + d
    )
    assert ppca.score(wine) == pytest.approx(closed, rel=1e-10)
    np.testing.assert_allclose(ppca.noise_variance_, sigma2, rtol=1e-7)
    # scikit-learn's PCA is the same solution of the covariance with divisor n − 1
    pca = PCA(q).fit(wine)
    ratio = (n - 1) / n
    np.testing.assert_allclose(ppca.noise_variance_, ratio * pca.noise_variance_, rtol=1e-7)
    np.testing.assert_allclose(ppca.get_covariance(), ratio * pca.get_covariance(), atol=1e-6)
    assert ppca.score(wine) > pca.score(wine)
    assert np.ptp(ppca.noise_variance_) == 0.0


def test_lower_bounds_never_decrease_and_match_the_final_log_likelihood(wine):
    fa = FactorAnalysis(3, init_params="random", random_state=0, tol=0, max_iter=200)
    with pytest.warns(Warning):  # not converged in 200 iterations
        fa.fit(wine)
    diffs = np.diff(fa.lower_bounds_)
    assert np.all(diffs >= -1e-12 * np.abs(fa.lower_bounds_[1:]))
    assert fa.score(wine) >= fa.lower_bounds_[-1]


# -- the engine's capabilities --------------------------------------------------------------
def test_chunked_threaded_and_memmap_fits_equal_the_in_memory_fit(wine, tmp_path):
    kwargs = {"n_components": 2, "tol": 0, "max_iter": 30}
    whole = FactorAnalysis(**kwargs).fit(wine)
    chunked = FactorAnalysis(**kwargs, chunk_size=37, n_jobs=2).fit(wine)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(chunked.components_, whole.components_, rtol=1e-9, atol=1e-12)
    path = tmp_path / "wine.npy"
    np.save(path, wine)
    streamed = FactorAnalysis(**kwargs, chunk_size=50).fit(str(path))
    np.testing.assert_allclose(streamed.noise_variance_, whole.noise_variance_, rtol=1e-9)


def test_dask_fit_equals_the_in_memory_fit(wine):
    da = pytest.importorskip("dask.array")
    kwargs = {"n_components": 2, "tol": 0, "max_iter": 20}
    whole = FactorAnalysis(**kwargs).fit(wine)
    with pytest.warns(Warning):  # not converged in 20 iterations
        blocks = FactorAnalysis(**kwargs).fit(da.from_array(wine, chunks=(60, 13)))
    np.testing.assert_allclose(blocks.components_, whole.components_, rtol=1e-9, atol=1e-12)


def test_sample_weights_count_as_repeated_rows(wine):
    counts = np.random.RandomState(0).randint(0, 4, size=len(wine))
    kwargs = {"n_components": 2, "tol": 0, "max_iter": 30}
    weighted = FactorAnalysis(**kwargs).fit(wine, sample_weight=counts)
    repeated = FactorAnalysis(**kwargs).fit(np.repeat(wine, counts, axis=0))
    np.testing.assert_allclose(weighted.get_covariance(), repeated.get_covariance(), atol=1e-10)
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, atol=1e-12)


def test_partial_fit_approaches_the_batch_fit(wine):
    batch = FactorAnalysis(2, tol=1e-8, accelerate="squarem").fit(wine)
    online = FactorAnalysis(2, random_state=0)
    rng = np.random.RandomState(0)
    for _ in range(40):
        online.partial_fit(wine[rng.permutation(len(wine))[:89]])
    assert online.n_iter_ == 40
    assert online.score(wine) > batch.score(wine) - 0.05


def test_warm_start_continues(wine):
    fa = FactorAnalysis(2, max_iter=5, tol=0, warm_start=True)
    with pytest.warns(Warning):
        fa.fit(wine)
    first = fa.score(wine)
    with pytest.warns(Warning):
        fa.fit(wine)
    assert fa.score(wine) >= first


# -- one copy of the state, save / load ----------------------------------------------------
def test_hand_set_parameters_make_a_usable_model(wine, fitted):
    fa = FactorAnalysis(2)
    fa.mean_ = fitted.mean_
    fa.components_ = fitted.components_
    with pytest.raises(NotFittedError, match="noise_variance_"):
        fa.score(wine)
    fa.noise_variance_ = fitted.noise_variance_
    np.testing.assert_array_equal(fa.score_samples(wine), fitted.score_samples(wine))
    np.testing.assert_array_equal(fa.transform(wine), fitted.transform(wine))
    assert fa.sample(5, random_state=0).shape == (5, 13)
    # assigning a fitted attribute changes what score computes with
    other = FactorAnalysis(2, tol=1e-10, accelerate="squarem").fit(wine)
    other.noise_variance_ = 2.0 * other.noise_variance_
    assert other.score(wine) < fitted.score(wine)
    with pytest.raises(ValueError, match="read-only"):
        other.components_[0, 0] = 1.0


@pytest.mark.parametrize("noise", ["diagonal", "isotropic"])
def test_save_load_round_trip(tmp_path, wine, noise):
    fa = FactorAnalysis(3, noise=noise, tol=1e-6).fit(wine)
    path = save(fa, tmp_path / "fa")
    back = load(path)
    assert type(back) is FactorAnalysis and back.noise == noise
    np.testing.assert_array_equal(back.components_, fa.components_)
    np.testing.assert_array_equal(back.score_samples(wine), fa.score_samples(wine))
    np.testing.assert_array_equal(back.transform(wine), fa.transform(wine))
    assert back.n_iter_ == fa.n_iter_ and back.lower_bound_ == fa.lower_bound_


# -- scikit-learn's estimator checks ----------------------------------------------------------
@parametrize_with_checks(
    [
        FactorAnalysis(),
        FactorAnalysis(2, noise="isotropic", init_params="random", accelerate="squarem"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# -- bad input ------------------------------------------------------------------------------
def test_more_factors_than_features_is_refused(wine):
    with pytest.raises(ValueError, match="n_components=14 is more than the 13 features"):
        FactorAnalysis(14).fit(wine)


def test_nan_and_too_few_rows_are_refused(wine):
    X = wine.copy()
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"row 3, column 4"):
        FactorAnalysis(2).fit(X)
    with pytest.raises(ValueError, match="1 sample"):
        FactorAnalysis(1).fit(wine[:1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise": "full"}, "noise"),
        ({"noise_floor": 0.0}, "noise_floor"),
        ({"n_components": 0}, "n_components"),
        ({"noise_variance_init": -np.ones(13)}, "noise_variance_init must be positive"),
        ({"noise_variance_init": np.ones(12)}, r"noise_variance_init must have shape \(13,\)"),
        (
            {"noise": "isotropic", "noise_variance_init": np.arange(1.0, 14.0)},
            "one value repeated",
        ),
        ({"components_init": np.ones((3, 13))}, r"components_init must have shape \(2, 13\)"),
        ({"learn": ["loadings"]}, "unknown parameter names"),
        ({"learn": ["components"]}, "set mean_init"),
        ({"learn": "components"}, "learn"),
    ],
)
def test_bad_hyperparameters_get_clear_errors(wine, kwargs, message):
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        FactorAnalysis(**kwargs).fit(wine)


def test_fixed_parameters_keep_their_initial_values(wine):
    mean = np.zeros(13) + 0.1
    fa = FactorAnalysis(2, learn=["components", "noise_variance"], mean_init=mean).fit(wine)
    np.testing.assert_array_equal(fa.mean_, mean)
    assert fa.score(wine) < FactorAnalysis(2).fit(wine).score(wine)


def test_transform_before_fit_and_with_wrong_features(wine, fitted):
    with pytest.raises(NotFittedError):
        FactorAnalysis(2).transform(wine)
    with pytest.raises(ValueError, match="13 features"):
        fitted.transform(wine[:, :5])
