"""GaussianMixture with missing values (NaN), Ghahramani & Jordan (1994): a dense
brute-force reference EM, published maximum-likelihood estimates of classic incomplete
data, monotone EM, chunked = in-memory, marginal prediction, imputation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import logsumexp

from emkit import GaussianMixture
from emkit.datasets import load_old_faithful

TYPES = ("full", "tied", "diag", "spherical")
pytestmark = pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")


# -- a dense brute-force reference: one row, one component at a time --------------------
def _full(covariances, cov_type, K, D):
    if cov_type == "full":
        return np.asarray(covariances)
    if cov_type == "tied":
        return np.repeat(np.asarray(covariances)[None], K, axis=0)
    if cov_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([c * np.eye(D) for c in covariances])


def reference_em_step(X, weights, means, covariances, cov_type, reg_covar):
    """One EM step on X with NaN, written from the definitions with explicit inverses:
    (observed-data log-likelihood at the given parameters, new weights, means and
    covariances as full (K, D, D) matrices)."""
    n, D = X.shape
    K = len(weights)
    full = _full(covariances, cov_type, K, D)
    log_joint = np.empty((n, K))
    completed = np.empty((n, K, D))
    conditional = np.zeros((n, K, D, D))
    for i in range(n):
        o = ~np.isnan(X[i])
        m = ~o
        for k in range(K):
            S, mu = full[k], means[k]
            inverse = np.linalg.inv(S[np.ix_(o, o)])
            log_joint[i, k] = np.log(weights[k]) + sps.multivariate_normal(
                mu[o], S[np.ix_(o, o)]
            ).logpdf(X[i, o])
            completed[i, k, o] = X[i, o]
            completed[i, k, m] = mu[m] + S[np.ix_(m, o)] @ inverse @ (X[i, o] - mu[o])
            conditional[i, k][np.ix_(m, m)] = (
                S[np.ix_(m, m)] - S[np.ix_(m, o)] @ inverse @ S[np.ix_(o, m)]
            )
    log_norm = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - log_norm[:, None])
    counts = resp.sum(axis=0)
    new_means = np.einsum("nk,nkd->kd", resp, completed) / counts[:, None]
    centred = completed - new_means[None]
    second = np.einsum("nk,nkd,nke->kde", resp, centred, centred) + np.einsum(
        "nk,nkde->kde", resp, conditional
    )
    if cov_type == "full":
        new = second / counts[:, None, None] + reg_covar * np.eye(D)
    elif cov_type == "tied":
        new = np.repeat((second.sum(axis=0) / n + reg_covar * np.eye(D))[None], K, axis=0)
    elif cov_type == "diag":
        new = np.stack(
            [np.diag(np.diag(s) / c + reg_covar) for s, c in zip(second, counts, strict=True)]
        )
    else:
        new = np.stack(
            [
                (np.trace(s) / (D * c) + reg_covar) * np.eye(D)
                for s, c in zip(second, counts, strict=True)
            ]
        )
    return float(log_norm.sum()), counts / n, new_means, new


def _with_holes(X, fraction, seed):
    rng = np.random.RandomState(seed)
    holes = rng.rand(*X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # every row keeps an observed value
    out = X.astype(float).copy()
    out[holes] = np.nan
    return out


def _two_blobs(seed=0, n=60):
    rng = np.random.RandomState(seed)
    a = rng.multivariate_normal([0, 0, 0], [[1, 0.6, 0.2], [0.6, 1, 0.3], [0.2, 0.3, 1]], n)
    b = rng.multivariate_normal([4, 3, 1], [[1, -0.4, 0], [-0.4, 1.5, 0.2], [0, 0.2, 0.7]], n)
    return np.vstack([a, b])


def _start(cov_type):
    """Initial weights, means and covariances (in the type's shape) for two components
    in three dimensions."""
    means = np.array([[0.5, 0.2, 0.1], [3.0, 2.5, 0.8]])
    full = np.array([[[1.2, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.9]], np.eye(3) * 1.5])
    covariances = {
        "full": full,
        "tied": full[0],
        "diag": np.array([[1.2, 1.0, 0.9], [1.5, 1.4, 1.6]]),
        "spherical": np.array([1.1, 1.4]),
    }[cov_type]
    return np.array([0.4, 0.6]), means, covariances


def _precisions(covariances, cov_type):
    return np.linalg.inv(covariances) if cov_type in ("full", "tied") else 1.0 / covariances


@pytest.mark.parametrize("cov_type", TYPES)
def test_em_steps_agree_with_a_dense_reference(cov_type):
    X = _with_holes(_two_blobs(), 0.3, seed=1)
    weights, means, covariances = _start(cov_type)
    reg = 1e-6
    for n_steps in (1, 3):
        fitted = GaussianMixture(
            2,
            covariance_type=cov_type,
            weights_init=weights,
            means_init=means,
            precisions_init=_precisions(covariances, cov_type),
            max_iter=n_steps,
            tol=0,
            reg_covar=reg,
        ).fit(X)
        w, mu, cov = weights, means, covariances
        for _ in range(n_steps):
            _, w, mu, full = reference_em_step(X, w, mu, cov, cov_type, reg)
            cov = {
                "full": full,
                "tied": full[0],
                "diag": np.stack([np.diag(c) for c in full]),
                "spherical": full[:, 0, 0],
            }[cov_type]
        np.testing.assert_allclose(fitted.weights_, w, rtol=1e-10)
        np.testing.assert_allclose(fitted.means_, mu, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fitted.covariances_, cov, rtol=1e-10, atol=1e-12)
    # the objective the engine records is the observed-data log-likelihood
    np.testing.assert_allclose(
        fitted.score_samples(X).sum(),
        reference_em_step(X, fitted.weights_, fitted.means_, fitted.covariances_, cov_type, 0)[0],
        rtol=1e-12,
    )


# Murray (1977), in the discussion of Dempster, Laird & Rubin (1977), "Maximum likelihood
# from incomplete data via the EM algorithm", JRSS B 39, 1-38 (also McLachlan & Krishnan,
# "The EM Algorithm and Extensions", 2nd ed. 2008, section 3.6): twelve bivariate
# normal observations with known zero means, eight of them missing one coordinate. The
# likelihood has two maxima, rho = +1/2 and -1/2 with sigma_1^2 = sigma_2^2 = 8/3, and a
# saddle point at rho = 0 with sigma_1^2 = sigma_2^2 = 5/2, where EM started at rho = 0
# stays.
_ = np.nan
MURRAY = np.array(
    [
        *([1, 1], [1, -1], [-1, 1], [-1, -1]),
        *([2, _], [2, _], [-2, _], [-2, _]),
        *([_, 2], [_, 2], [_, -2], [_, -2]),
    ],
    dtype=float,
)


@pytest.mark.parametrize(
    ("rho_start", "rho", "variance"), [(0.3, 0.5, 8 / 3), (-0.3, -0.5, 8 / 3), (0.0, 0.0, 2.5)]
)
def test_murrays_incomplete_bivariate_data_give_the_published_estimates(rho_start, rho, variance):
    start = np.array([[1.0, rho_start], [rho_start, 1.0]])
    fitted = GaussianMixture(
        1,
        learn=("covariances",),
        means_init=[[0.0, 0.0]],
        weights_init=[1.0],
        precisions_init=np.linalg.inv(start)[None],
        tol=1e-14,
        max_iter=2000,
        reg_covar=0.0,
        accelerate="squarem",
    ).fit(MURRAY)
    cov = fitted.covariances_[0]
    np.testing.assert_allclose(np.diag(cov), [variance, variance], rtol=1e-6)
    np.testing.assert_allclose(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), rho, atol=1e-6)


def test_monotone_pattern_gives_andersons_closed_form_mle():
    # With y missing where x is observed (a monotone pattern), the MLE of a bivariate
    # normal has a closed form (Anderson 1957, JASA 52, 200-203; Little & Rubin,
    # "Statistical Analysis with Missing Data", section 7.2): the mean and variance of
    # x from all rows, the regression of y on x from the complete rows.
    X = load_old_faithful().data[:, [1, 0]].astype(float)  # x: waiting, y: eruption minutes
    X[np.arange(0, len(X), 3), 1] = np.nan  # a third of the eruption durations missing
    complete = ~np.isnan(X[:, 1])
    x, xc, yc = X[:, 0], X[complete, 0], X[complete, 1]
    s_xx_c = np.mean((xc - xc.mean()) ** 2)
    beta = np.mean((xc - xc.mean()) * (yc - yc.mean())) / s_xx_c
    residual = np.mean((yc - yc.mean() - beta * (xc - xc.mean())) ** 2)
    mu_x, s_xx = x.mean(), np.mean((x - x.mean()) ** 2)
    mu_y = yc.mean() + beta * (mu_x - xc.mean())
    s_xy, s_yy = beta * s_xx, residual + beta**2 * s_xx
    fitted = GaussianMixture(1, tol=1e-14, max_iter=5000, reg_covar=0.0, accelerate="squarem")
    fitted.fit(X)
    np.testing.assert_allclose(fitted.means_[0], [mu_x, mu_y], rtol=1e-8)
    np.testing.assert_allclose(fitted.covariances_[0], [[s_xx, s_xy], [s_xy, s_yy]], rtol=1e-6)


@pytest.mark.parametrize("cov_type", TYPES)
def test_the_log_likelihood_never_decreases_and_chunks_agree(cov_type):
    X = _with_holes(_two_blobs(), 0.25, seed=2)
    kwargs = {"covariance_type": cov_type, "random_state": 0, "tol": 0, "max_iter": 30}
    whole = GaussianMixture(2, **kwargs).fit(X)
    ll = whole.trace_["log_likelihood"]
    assert np.all(np.diff(ll) >= -1e-12 * np.abs(ll[1:]))
    chunked = GaussianMixture(2, **kwargs, chunk_size=17, n_jobs=2).fit(X)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(chunked.means_, whole.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(chunked.covariances_, whole.covariances_, rtol=1e-10)


def test_dask_memory_map_and_online_fits_take_missing_values(tmp_path):
    X = _with_holes(_two_blobs(), 0.25, seed=3)
    kwargs = {"random_state": 0, "tol": 0, "max_iter": 20}
    whole = GaussianMixture(2, **kwargs).fit(X)
    path = tmp_path / "X.npy"
    np.save(path, X)
    streamed = GaussianMixture(2, **kwargs, chunk_size=25).fit(str(path))
    np.testing.assert_allclose(streamed.means_, whole.means_, rtol=1e-10, atol=1e-12)
    da = pytest.importorskip("dask.array")
    blocks = GaussianMixture(2, **kwargs).fit(da.from_array(X, chunks=(40, 3)))
    np.testing.assert_allclose(blocks.means_, whole.means_, rtol=1e-10, atol=1e-12)
    online = GaussianMixture(2, random_state=0)
    for batch in np.array_split(np.random.RandomState(0).permutation(len(X)), 4):
        online.partial_fit(X[batch])
    assert np.all(np.isfinite(online.means_))


@pytest.mark.parametrize("cov_type", TYPES)
def test_prediction_marginalises_the_missing_coordinates(cov_type):
    X = _two_blobs()
    fitted = GaussianMixture(2, covariance_type=cov_type, random_state=0).fit(X)
    holes = _with_holes(X[:20], 0.4, seed=4)
    full = _full(fitted.covariances_, cov_type, 2, 3)
    expected = np.empty((20, 2))
    for i, row in enumerate(holes):
        o = ~np.isnan(row)
        for k in range(2):
            expected[i, k] = np.log(fitted.weights_[k]) + sps.multivariate_normal(
                fitted.means_[k, o], full[k][np.ix_(o, o)]
            ).logpdf(row[o])
    np.testing.assert_allclose(fitted.score_samples(holes), logsumexp(expected, axis=1))
    proba = np.exp(expected - logsumexp(expected, axis=1)[:, None])
    np.testing.assert_allclose(fitted.predict_proba(holes), proba, atol=1e-12)
    np.testing.assert_array_equal(fitted.predict(holes), proba.argmax(axis=1))
    # rows without NaN give exactly what they gave before
    np.testing.assert_array_equal(fitted.score_samples(X[20:]), fitted.score_samples(X)[20:])


def test_impute_gives_the_posterior_weighted_conditional_means():
    X = _two_blobs()
    fitted = GaussianMixture(2, random_state=0).fit(X)
    holes = _with_holes(X[:30], 0.4, seed=5)
    imputed = fitted.impute(holes)
    observed = ~np.isnan(holes)
    np.testing.assert_array_equal(imputed[observed], holes[observed])
    proba = fitted.predict_proba(holes)
    for i in np.flatnonzero((~observed).any(axis=1)):
        o, m = observed[i], ~observed[i]
        value = np.zeros(m.sum())
        for k in range(2):
            S, mu = fitted.covariances_[k], fitted.means_[k]
            gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
            value += proba[i, k] * (mu[m] + gain @ (holes[i, o] - mu[o]))
        np.testing.assert_allclose(imputed[i, m], value, rtol=1e-10)
    # on rows of both blobs, the conditional means beat the column means
    holes = _with_holes(X, 0.3, seed=7)
    missing = np.isnan(holes)
    column_means = np.broadcast_to(np.nanmean(holes, axis=0), X.shape)
    err_model = np.abs(fitted.impute(holes) - X)[missing].mean()
    err_mean = np.abs(column_means - X)[missing].mean()
    assert err_model < 0.6 * err_mean


# Recorded with the code before missing values existed (commit 71ebbb2): a fit on data
# without NaN must stay bit for bit the same. Full and tied re-recorded when their
# distances and scatters moved to the direct-form kernels (emkit._kernels.gaussian_blocks):
# they differ from the first record by at most 2 ulp (5e-16 relative). Tied re-recorded
# again for the fused mixture E-step (gaussian_blocks.posterior_scatter): 1 ulp.
BEFORE = {
    "full": (-5.452558256521368, 11.611006215209931, 8.929920698559961, 2),
    "tied": (-5.566873993304659, 11.66973877845176, 4.4550457905991205, 2),
    "diag": (-5.477960823092471, 11.539519258352115, 9.27165544211411, 3),
    "spherical": (-5.481669619161354, 11.540462529071101, 3.0913179944126674, 2),
}


@pytest.mark.parametrize("cov_type", TYPES)
def test_a_fit_without_nan_is_bit_for_bit_the_one_before(cov_type):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(4, 1.5, (60, 3))])
    gm = GaussianMixture(2, covariance_type=cov_type, random_state=0, chunk_size=50).fit(X)
    got = (
        float(gm.lower_bound_),
        float(gm.means_.sum()),
        float(np.sum(gm.covariances_)),
        gm.n_iter_,
    )
    assert got == BEFORE[cov_type]


def test_the_estimator_declares_allow_nan():
    assert GaussianMixture().__sklearn_tags__().input_tags.allow_nan


def test_missing_values_with_partial_labels():
    X = _with_holes(_two_blobs(), 0.2, seed=6)
    y = np.full(len(X), -1)
    y[[0, 1, 60, 61]] = [1, 1, 0, 0]  # the first blob is named 1
    fitted = GaussianMixture(2, random_state=0).fit(X, y)
    assert (fitted.predict(X)[:60] == 1).mean() > 0.9


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[np.nan, np.nan, np.nan]], r"row 3 of X is entirely missing \(all NaN\)"),
        ([[np.inf, 1.0, 1.0]], r"infinity"),
    ],
)
def test_bad_missing_values_get_clear_errors(rows, message):
    X = np.vstack([_two_blobs()[:3], rows, _two_blobs()[3:]])
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X)
    with pytest.raises(ValueError, match=message):  # the row in X, not in its chunk
        GaussianMixture(2, chunk_size=2).fit(X)
    fitted = GaussianMixture(2, random_state=0).fit(_two_blobs())
    with pytest.raises(ValueError, match=message):
        fitted.predict(X)
    with pytest.raises(ValueError, match=message):
        fitted.impute(X)


def test_a_column_without_any_observed_value_is_refused():
    X = _two_blobs()
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature 1 of X has no observed value"):
        GaussianMixture(2).fit(X)


# -- the HMMs' Gaussian emissions -------------------------------------------------------
def _hmm_data(seed=0, T=400):
    rng = np.random.RandomState(seed)
    z = np.zeros(T, dtype=int)
    for t in range(1, T):
        z[t] = z[t - 1] if rng.rand() < 0.95 else 1 - z[t - 1]
    X = rng.normal(size=(T, 2)) @ [[1.0, 0.5], [0.0, 1.0]] + np.array([[0, 0], [3, 3]])[z]
    return _with_holes(X, 0.2, seed + 1), z


@pytest.mark.parametrize("cov_type", TYPES)
def test_gaussian_hmm_fits_sequences_with_missing_values(cov_type):
    from emkit import GaussianHMM

    X, z = _hmm_data()
    fitted = GaussianHMM(2, covariance_type=cov_type, random_state=0).fit(X)
    ll = fitted.trace_["log_likelihood"]
    assert np.all(np.diff(ll) >= -1e-12 * np.abs(ll[1:]))
    accuracy = (fitted.predict(X) == z).mean()
    assert max(accuracy, 1 - accuracy) > 0.95


def test_gaussian_hmm_likelihood_marginalises_missing_values_over_every_path():
    import itertools

    from emkit import GaussianHMM

    X, _ = _hmm_data(seed=2, T=6)
    X[2] = [np.nan, 1.0]
    fitted = GaussianHMM(2, covariance_type="full", random_state=0).fit(_hmm_data()[0])
    total = []
    for path in itertools.product(range(2), repeat=len(X)):
        value = np.log(fitted.startprob_[path[0]])
        value += sum(np.log(fitted.transmat_[a, b]) for a, b in itertools.pairwise(path))
        for t, k in enumerate(path):
            o = ~np.isnan(X[t])
            S = fitted.covariances_[k][np.ix_(o, o)]
            value += sps.multivariate_normal(fitted.means_[k, o], S).logpdf(X[t, o])
        total.append(value)
    np.testing.assert_allclose(fitted.score(X), logsumexp(total), rtol=1e-10)


def test_gaussian_hmm_refuses_a_step_without_any_observed_value():
    from emkit import GaussianHMM

    X, _ = _hmm_data()
    X[5] = np.nan
    with pytest.raises(ValueError, match=r"row 5 of X is entirely missing"):
        GaussianHMM(2).fit(X)
