"""MixtureRegression: recovery, flexmix's numbers, chunking, weights, save/load, bad input."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emkit import io
from emkit.estimators.mixture_regression import MixtureRegression
from emkit.models.mixture_regression import MixtureRegression as MixtureRegressionModel

DATA = Path(__file__).parent / "data"


def _npreg():
    """npreg.csv: X = (x, x²), y = yn, the starting partition (0-based)."""
    d = np.genfromtxt(DATA / "npreg.csv", delimiter=",", names=True)
    X = np.column_stack([d["x"], d["x"] ** 2])
    return X, d["yn"], d["start"].astype(int) - 1


def _flexmix(path=DATA / "flexmix_npreg.csv"):
    """{(fit, quantity, component): value} of the flexmix reference file."""
    with open(path) as stream:
        rows = csv.DictReader(line for line in stream if not line.startswith("#"))
        return {(r["fit"], r["quantity"], int(r["component"])): float(r["value"]) for r in rows}


def _start(X, y, start, gating):
    """The *_init values of one M-step from the partition ``start`` (flexmix's cluster=)."""
    model = MixtureRegressionModel(2, gating_columns=(0,) if gating == "multinomial" else None)
    p = model.initial_from_responsibilities(X, y, np.eye(2)[start])
    init = dict(coef_init=p.coef, intercept_init=p.intercept, noise_variance_init=p.noise_variance)
    if gating == "multinomial":
        init.update(gating_coef_init=p.gating_coef, gating_intercept_init=p.gating_intercept)
    else:
        init.update(weights_init=p.weights)
    return init


def _two_lines(seed=0, n=400, noise=0.5):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 10, n)
    labels = rng.randint(2, size=n)
    y = np.where(labels == 0, 1.0 + 2.0 * x, 20.0 - x) + noise * rng.standard_normal(n)
    return x[:, None], y, labels


# -- recovery -----------------------------------------------------------------------------
def test_recovers_the_generating_regressions():
    X, y, _ = _two_lines(n=2000)
    est = MixtureRegression(2, n_init=3, random_state=0).fit(X, y)
    order = np.argsort(est.coef_[:, 0])
    np.testing.assert_allclose(est.coef_[order, 0], [-1.0, 2.0], atol=0.02)
    np.testing.assert_allclose(est.intercept_[order], [20.0, 1.0], atol=0.1)
    np.testing.assert_allclose(est.noise_variance_, 0.25, rtol=0.15)
    np.testing.assert_allclose(est.weights_, 0.5, atol=0.04)
    assert est.converged_
    # predict is the weighted mean of the lines; predict_proba(X) the weights
    lines = est.predict_components(X)
    np.testing.assert_allclose(est.predict(X), lines @ est.weights_)
    np.testing.assert_allclose(est.predict_proba(X), np.tile(est.weights_, (len(X), 1)))
    posterior = est.predict_proba(X, y)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)
    assert est.log_density(X, y).sum() == pytest.approx(est.log_likelihood_, rel=1e-12)


def test_multinomial_gating_recovers_covariate_weights():
    rng = np.random.RandomState(1)
    n = 3000
    x = rng.uniform(0, 10, n)
    second = rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(1.5 * x - 7.5)))
    y = np.where(second, 20.0 - x, 1.0 + 2.0 * x) + 0.5 * rng.standard_normal(n)
    est = MixtureRegression(2, gating="multinomial", n_init=3, random_state=0, tol=1e-8)
    est.fit(x[:, None], y)
    sign = 1.0 if est.coef_[1, 0] < 0 else -1.0  # component 1 is the falling line
    assert sign * est.gating_coef_[1, 0] == pytest.approx(1.5, rel=0.15)
    assert sign * est.gating_intercept_[1] == pytest.approx(-7.5, rel=0.15)
    np.testing.assert_array_equal(est.gating_coef_[0], 0.0)
    pi = est.predict_proba(x[:, None])
    assert pi[np.argmin(x)].max() > 0.99 and pi[np.argmax(x)].max() > 0.99


# -- flexmix ----------------------------------------------------------------------------
@pytest.mark.parametrize(("fit", "gating"), [("mle", "constant"), ("mle_gating", "multinomial")])
def test_agrees_with_flexmix_from_the_same_start(fit, gating):
    X, y, start = _npreg()
    ref = _flexmix()
    est = MixtureRegression(
        2,
        gating=gating,
        gating_features=[0] if gating == "multinomial" else None,
        reg_covar=0.0,
        tol=0.0,
        max_iter=1000,
        **_start(X, y, start, gating),
    ).fit(X, y)
    assert est.log_likelihood_ == pytest.approx(ref[fit, "loglik", 0], rel=1e-10)
    for k in range(2):
        expected = [
            ref[fit, "intercept", k + 1],
            ref[fit, "coef_x", k + 1],
            ref[fit, "coef_x2", k + 1],
        ]
        got = [est.intercept_[k], *est.coef_[k]]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
        assert np.sqrt(est.noise_variance_[k]) == pytest.approx(ref[fit, "sigma", k + 1], rel=1e-6)
    if gating == "multinomial":
        np.testing.assert_allclose(
            est.gating_intercept_, [0.0, ref[fit, "gating_intercept", 2]], atol=5e-6
        )
        np.testing.assert_allclose(
            est.gating_coef_[:, 0], [0.0, ref[fit, "gating_x", 2]], atol=5e-6
        )
    else:
        np.testing.assert_allclose(
            est.weights_, [ref[fit, "prior", 1], ref[fit, "prior", 2]], rtol=1e-6
        )


def test_log_likelihood_at_flexmix_stock_parameters():
    """flexmix's own fit uses a degrees-of-freedom-corrected sigma (not EM's M-step); at
    its parameters emkit's log-likelihood is flexmix's, and EM's optimum is higher."""
    X, y, _ = _npreg()
    ref = _flexmix()
    est = MixtureRegression(2)
    est.n_features_in_ = 2
    est.coef_ = [[ref["stock", "coef_x", k], ref["stock", "coef_x2", k]] for k in (1, 2)]
    est.intercept_ = [ref["stock", "intercept", k] for k in (1, 2)]
    est.noise_variance_ = [ref["stock", "sigma", k] ** 2 for k in (1, 2)]
    est.weights_ = [ref["stock", "prior", 1], ref["stock", "prior", 2]]
    assert est.log_density(X, y).sum() == pytest.approx(ref["stock", "loglik", 0], rel=1e-12)
    assert ref["mle", "loglik", 0] > ref["stock", "loglik", 0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R (Rscript) is not installed")
def test_flexmix_reference_file_is_reproducible(tmp_path):
    check = subprocess.run(
        ["Rscript", "-e", "library(flexmix)"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        pytest.skip("the R package flexmix is not installed (apt-get install r-cran-flexmix)")
    for name in ("npreg.csv", "flexmix_npreg.R"):
        shutil.copy(DATA / name, tmp_path / name)
    subprocess.run(["Rscript", "flexmix_npreg.R"], cwd=tmp_path, check=True, capture_output=True)
    fresh, shipped = _flexmix(tmp_path / "flexmix_npreg.csv"), _flexmix()
    assert fresh.keys() == shipped.keys()
    for key, value in shipped.items():
        assert fresh[key] == pytest.approx(value, rel=1e-8, abs=1e-10), key


# -- the engine's capabilities -----------------------------------------------------------------
@pytest.mark.parametrize("gating", ["constant", "multinomial"])
def test_chunked_fit_equals_in_memory(gating):
    X, y, start = _npreg()
    kwargs = dict(gating=gating, tol=0.0, max_iter=40, **_start(X, y, start, gating))
    if gating == "multinomial":
        kwargs["gating_features"] = [0]
    whole = MixtureRegression(2, **kwargs).fit(X, y)
    chunked = MixtureRegression(2, chunk_size=37, n_jobs=2, **kwargs).fit(X, y)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-9)
    np.testing.assert_allclose(chunked.noise_variance_, whole.noise_variance_, rtol=1e-9)
    np.testing.assert_allclose(chunked.lower_bounds_, whole.lower_bounds_, rtol=1e-12)


def test_sample_weight_equals_repeated_rows():
    X, y, start = _npreg()
    counts = np.random.RandomState(3).randint(0, 4, size=len(y))
    init = _start(X, y, start, "constant")
    weighted = MixtureRegression(2, tol=0.0, max_iter=60, **init).fit(X, y, sample_weight=counts)
    repeated = MixtureRegression(2, tol=0.0, max_iter=60, **init).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8)
    np.testing.assert_allclose(weighted.log_likelihood_, repeated.log_likelihood_, rtol=1e-10)


def test_squarem_reaches_the_same_optimum():
    X, y, start = _npreg()
    init = _start(X, y, start, "constant")
    plain = MixtureRegression(2, tol=1e-10, max_iter=500, **init).fit(X, y)
    fast = MixtureRegression(2, tol=1e-10, max_iter=500, accelerate="squarem", **init).fit(X, y)
    assert fast.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-9)


def test_monotone_and_deterministic():
    X, y, _ = _npreg()
    a = MixtureRegression(2, gating="multinomial", n_init=3, random_state=7, tol=0.0, max_iter=200)
    b = MixtureRegression(2, gating="multinomial", n_init=3, random_state=7, tol=0.0, max_iter=200)
    a.fit(X, y)
    b.fit(X, y)
    assert np.all(np.diff(a.lower_bounds_) >= -1e-12)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_partial_fit_approaches_the_batch_fit():
    X, y, _ = _two_lines(n=4000)
    batch = MixtureRegression(2, n_init=3, random_state=0).fit(X, y)
    online = MixtureRegression(2, random_state=0)
    online.partial_fit(X[:1000], y[:1000])
    online.coef_, online.intercept_ = batch.coef_ + 0.1, batch.intercept_  # near the optimum
    for _ in range(3):
        for start in range(0, 4000, 500):
            online.partial_fit(X[start : start + 500], y[start : start + 500])
    np.testing.assert_allclose(online.coef_, batch.coef_, atol=0.05)


def test_information_criteria():
    X, y, _ = _npreg()
    est = MixtureRegression(2, random_state=0).fit(X, y)
    loglik = est.log_density(X, y).sum()
    n_parameters = 2 * (2 + 2) + 1  # per component 3 coefficients and a variance; a weight
    assert est.bic(X, y) == pytest.approx(-2 * loglik + n_parameters * np.log(len(y)))
    assert est.aic(X, y) == pytest.approx(-2 * loglik + 2 * n_parameters)
    gated = MixtureRegression(2, gating="multinomial", random_state=0).fit(X, y)
    assert gated.aic(X, y) == pytest.approx(-2 * gated.log_density(X, y).sum() + 2 * (8 + 3))


def test_learn_fixes_parameters():
    X, y, _ = _npreg()
    est = MixtureRegression(
        2, learn=["coef", "intercept", "weights"], noise_variance_init=[9.0, 9.0], random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(est.noise_variance_, [9.0, 9.0])


# -- state ------------------------------------------------------------------------------------
def test_parameters_set_by_hand_make_a_usable_model():
    est = MixtureRegression(2, gating="multinomial", gating_features=[0])
    est.n_features_in_ = 2
    est.coef_ = [[1.0, 0.0], [0.0, 1.0]]
    est.intercept_ = [0.0, 1.0]
    est.noise_variance_ = [1.0, 2.0]
    est.gating_coef_ = [[2.0], [3.0]]  # stored relative to the first component
    est.gating_intercept_ = [1.0, 0.0]
    np.testing.assert_array_equal(est.gating_coef_, [[0.0], [1.0]])
    np.testing.assert_array_equal(est.gating_intercept_, [0.0, -1.0])
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    pi1 = 1.0 / (1.0 + np.exp(-(X[:, 0] - 1.0)))
    np.testing.assert_allclose(est.predict(X), (1 - pi1) * X[:, 0] + pi1 * (1.0 + X[:, 1]))
    with pytest.raises(ValueError, match="must be positive"):
        est.noise_variance_ = [1.0, 0.0]
    with pytest.raises(ValueError, match="must have shape"):
        est.coef_ = [[1.0, 0.0, 2.0]]


@pytest.mark.parametrize("gating", ["constant", "multinomial"])
def test_save_load_round_trip(tmp_path, gating):
    X, y, _ = _npreg()
    est = MixtureRegression(2, gating=gating, random_state=0).fit(X, y)
    path = io.save(est, tmp_path / "model")
    back = io.load(path)
    assert type(back) is MixtureRegression
    for name in ("coef_", "intercept_", "noise_variance_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(est, name))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X, y), est.predict_proba(X, y))
    assert back.n_iter_ == est.n_iter_ and back.lower_bound_ == est.lower_bound_


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros(199), "y has 199 values but X has 200 rows"),
        (np.zeros((200, 2)), "y should be a 1d array"),
        (None, "requires y to be passed"),
        (np.r_[np.zeros(5), np.nan, np.zeros(194)], r"y contains NaN or infinity at index 5"),
        (np.r_[np.inf, np.zeros(199)], r"y\[0\] = inf"),
        (["a"] * 200, "is a string"),
    ],
)
def test_bad_y(y, message):
    X, _, _ = _npreg()
    with pytest.raises(ValueError, match=message):
        MixtureRegression(2).fit(X, y)


def test_bad_x_and_options():
    X, y, _ = _npreg()
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity in row 3, column 1"):
        MixtureRegression(2).fit(Xn, y)
    with pytest.raises(ValueError, match="gating_features has column 5, but X has 2"):
        MixtureRegression(2, gating="multinomial", gating_features=[5]).fit(X, y)
    with pytest.raises(ValueError, match="lists a column twice"):
        MixtureRegression(2, gating="multinomial", gating_features=[0, 0]).fit(X, y)
    with pytest.raises(ValueError, match="gating='constant' ignores it"):
        MixtureRegression(2, gating_features=[0]).fit(X, y)
    with pytest.raises(ValueError, match="weights_init needs gating='constant'"):
        MixtureRegression(2, gating="multinomial", weights_init=[0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="noise_variance_init must be positive"):
        MixtureRegression(2, noise_variance_init=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match=r"coef_init must have shape \(2, 2\)"):
        MixtureRegression(2, coef_init=np.zeros((2, 3))).fit(X, y)
    with pytest.raises(ValueError, match="'noise_variance' fixed, so its value must be given"):
        MixtureRegression(2, learn=["coef", "intercept", "weights"]).fit(X, y)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_components=4"):
        MixtureRegression(4).fit(X[:3], y[:3])
    est = MixtureRegression(2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="y has 3 values but X has 200 rows"):
        est.predict_proba(X, y[:3])
    with pytest.raises(ValueError, match="log_density needs the responses y"):
        est.log_density(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        est.predict(np.zeros((2, 3)))


@pytest.mark.slow
@pytest.mark.parametrize(("fit", "gating"), [("constant", "constant"), ("gating", "multinomial")])
def test_old_faithful_reaches_flexmix_optimum(fit, gating):
    """waiting ~ eruptions on Old Faithful (R's faithful): emkit's best of 10 starts
    reaches flexmix's best of 20, log-likelihood and BIC."""
    from emkit.datasets import load_old_faithful

    data = load_old_faithful().data
    X, y = data[:, [0]], data[:, 1]
    ref = _flexmix(DATA / "flexmix_faithful.csv")
    est = MixtureRegression(
        2,
        gating=gating,
        n_init=10,
        random_state=0,
        tol=1e-12,
        max_iter=5000,
        accelerate="squarem",
        reg_covar=0.0,
    ).fit(X, y)
    assert est.log_likelihood_ == pytest.approx(ref[fit, "loglik", 0], rel=1e-10)
    assert est.bic(X, y) == pytest.approx(ref[fit, "bic", 0], rel=1e-10)
    expected = sorted(ref[fit, "coef_eruptions", k] for k in (1, 2))
    np.testing.assert_allclose(np.sort(est.coef_[:, 0]), expected, rtol=1e-5)


def test_sample_draws_from_the_fitted_lines():
    X, y, _ = _two_lines(n=4000)
    est = MixtureRegression(2, n_init=3, random_state=0).fit(X, y)
    drawn, labels = est.sample(X, random_state=1)
    assert drawn.shape == (4000,) and set(np.unique(labels)) == {0, 1}
    np.testing.assert_allclose(np.bincount(labels) / 4000, est.weights_, atol=0.03)
    lines = est.predict_components(X)[np.arange(4000), labels]
    residual = drawn - lines
    for k in range(2):
        assert residual[labels == k].var() == pytest.approx(est.noise_variance_[k], rel=0.1)
    np.testing.assert_array_equal(est.sample(X, random_state=1)[0], drawn)


def test_warm_start_continues_from_the_fit():
    X, y, start = _npreg()
    init = _start(X, y, start, "multinomial")
    est = MixtureRegression(2, gating="multinomial", gating_features=[0], max_iter=5, **init)
    with pytest.warns(Warning, match="did not converge"):
        est.fit(X, y)
    first = est.log_likelihood_
    est.set_params(warm_start=True, max_iter=200, tol=1e-10)
    est.fit(X, y)
    assert est.log_likelihood_ >= first
    cold = MixtureRegression(
        2, gating="multinomial", gating_features=[0], tol=1e-10, max_iter=300, **init
    )
    assert est.log_likelihood_ == pytest.approx(cold.fit(X, y).log_likelihood_, rel=1e-9)


def test_partial_fit_with_gating_runs():
    X, y, _ = _two_lines(n=2000)
    est = MixtureRegression(2, gating="multinomial", random_state=0)
    for start in range(0, 2000, 250):
        est.partial_fit(X[start : start + 250], y[start : start + 250])
    assert est.n_iter_ == 8 and np.all(np.isfinite(est.coef_))
    with pytest.raises(ValueError, match="y has 3 values but X has 250 rows"):
        est.partial_fit(X[:250], y[:3])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.r_[1.0, -2.0, np.ones(18)], r"sample_weight\[1\] = -2.0 is negative"),
        (np.r_[np.nan, np.ones(19)], r"sample_weight\[0\] = nan is not finite"),
        (np.zeros(20), "sample_weight sums to zero"),
        (np.ones(21), r"expected shape \(20,\), got \(21,\)"),
    ],
)
def test_bad_sample_weight_is_one_clear_error(weights, message):
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    with pytest.raises(ValueError, match=message):
        MixtureRegression(2, random_state=0, max_iter=5).fit(X, y, sample_weight=weights)
