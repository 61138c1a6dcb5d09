"""Gaussian numerics at the edges of floating point: far points, huge values, float32."""

import warnings

import numpy as np
import pytest

import emkit
from emkit.families import GaussianFamily
from emkit.families.gaussian import check_cast_fidelity, check_magnitude, magnitude_limit

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).normal(size=(200, 2))
    return {
        ct: emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
        for ct in COVARIANCE_TYPES
    }


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
@pytest.mark.parametrize("distance", [1e6, 1e100, 1e150])
def test_far_points_have_finite_probabilities(fitted, ct, distance):
    # the squared distance (up to ~1e300) is representable: the answer must be exact
    g = fitted[ct]
    X = np.array([[distance, 0.0], [0.0, -distance], [0.1, 0.2]])
    proba = g.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    log_density = g.score_samples(X)
    assert np.isfinite(log_density).all()
    assert log_density[0] < -0.4 * distance**2 / g.covariances_.max()
    assert g.predict(X).shape == (3,)


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_unrepresentable_distance_is_a_clear_error(fitted, ct):
    # inside the magnitude limit, but a narrow component makes the squared distance
    # overflow float64 for every component: an error naming the row, never NaN
    g = fitted[ct]
    family = g.model_.family
    params = g.params_.components
    shrunk = family.make_params(params.means, params.covariances * 1e-12)
    X = np.array([[0.0, 0.0], [4e153, -4e153]])
    with pytest.raises(ValueError, match=r"rows \[1\].*overflow float64.*Scale the data"):
        family.log_prob(shrunk, X)
    # the same rows as -inf for callers that combine components further
    raw = family.log_prob_or_inf(shrunk, X)
    assert np.isfinite(raw[0]).all() and np.isneginf(raw[1]).all()


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_huge_query_values_are_refused_clearly(fitted, ct):
    with pytest.raises(ValueError, match=r"largest magnitude is 1e\+200 \(X\[0, 0\]\)"):
        fitted[ct].predict_proba([[1e200, 0.0]])


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_float32_far_points_use_float64(ct):
    # 1e18 squared overflows float32, not float64: the log-density is recomputed
    family = GaussianFamily(ct)
    means = np.array([[0.0, 0.0], [1.0, 1.0]])
    shapes = {"full": np.eye(2)[None].repeat(2, 0), "tied": np.eye(2)}
    cov = shapes.get(ct, np.ones((2, 2)) if ct == "diag" else np.ones(2))
    params = family.make_params(means, cov)
    X = np.array([[1e18, 0.0], [0.5, 0.5]], dtype=np.float32)
    out = family.log_prob(params, family.prepare(params, X))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], family.log_prob(params, X.astype(np.float64))[0], rtol=1e-6)


def test_huge_training_data_report_overflow_not_collapse():
    X = np.random.default_rng(0).normal(size=(50, 1)) * 1e300
    with pytest.raises(ValueError, match="too large for Gaussian arithmetic") as info:
        emkit.GaussianMixture(2).fit(X)
    assert "collapsed" not in str(info.value)
    assert "X[" in str(info.value) and "Scale the data" in str(info.value)


@pytest.mark.parametrize("estimator", ["GaussianHMM", "GMMHMM"])
def test_huge_hmm_data_report_overflow(estimator):
    X = np.random.default_rng(0).normal(size=(50, 1)) * 1e300
    with pytest.raises(ValueError, match="too large for Gaussian arithmetic"):
        getattr(emkit, estimator)(2, random_state=0).fit(X)


def test_float32_limit_is_float32s():
    X = np.array([[1e25, 0.0], [0.0, 1.0]])
    check_magnitude(X)  # fine in float64
    with pytest.raises(ValueError, match=r"in float32.*dtype='float64'"):
        check_magnitude(X.astype(np.float32))
    with pytest.raises(ValueError, match="float32"):
        emkit.GaussianMixture(1, dtype="float32").fit(X)
    assert magnitude_limit(np.float32, 1) == pytest.approx(np.sqrt(np.finfo(np.float32).max) / 2)


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_gmmhmm_far_point_of_one_state(ct):
    # a point that only one state can explain: the other state's Gaussians overflow
    X = np.random.default_rng(1).normal(size=(60, 2))
    model = emkit.GMMHMM(2, n_mix=2, covariance_type=ct, random_state=0, max_iter=3, tol=1e9).fit(X)
    family = model.model_.family
    p = model.params_.emission
    narrow = family.make_params(
        p.weights, p.means, np.concatenate([p.covariances[:1] * 1e-12, p.covariances[1:]])
    )
    out = family.log_prob(narrow, np.array([[3e153, 0.0]]))
    assert np.isneginf(out[0, 0]) and np.isfinite(out[0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resp = np.array([[0.5, 0.5]])
        stats = family.statistics(np.array([[3e153, 0.0]]), resp, narrow)
    assert all(np.isfinite(s.sum_w).all() for s in stats.states)


def test_float32_far_from_origin_is_refused_before_the_cast():
    # measured on the former main: log_likelihood_ +5989 against score * n = -4.8e8
    X = np.random.default_rng(0).normal(size=(500, 2)) + 1e8
    for fit in ("fit", "partial_fit"):
        with pytest.raises(ValueError, match=r"feature 0 .* spread .*Centre the data"):
            getattr(emkit.GaussianMixture(2, dtype="float32", random_state=0), fit)(X)


def test_float32_near_origin_agrees_with_score():
    X = np.random.default_rng(0).normal(size=(500, 2)) + 1e3
    g = emkit.GaussianMixture(2, dtype="float32", random_state=0).fit(X)
    assert g.log_likelihood_ == pytest.approx(g.score(X) * len(X), rel=1e-5)


def _with_far_pair():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 2)) + 5 * rng.standard_normal((3, 2))[rng.randint(3, size=30)]
    X[[5, 17]] += 1e9  # 2 apart, both cast to 1e9: float32 cannot resolve their spread
    return X


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_float32_fit_that_cast_outliers_distort_is_refused(ct):
    # measured on the former main (diag): log_likelihood_ -119.9, score_samples sum -2.55e6
    X = _with_far_pair()
    g = emkit.GaussianMixture(2, covariance_type=ct, dtype="float32", max_iter=30, random_state=0)
    with pytest.raises(
        ValueError, match=r"X cannot be fitted faithfully in float32.*rows \[5, 17\]"
    ):
        g.fit(X)
    assert not hasattr(g, "params_")  # the refused fit left the estimator as it was


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_float32_fit_of_resolved_data_passes_the_cast_check(ct):
    X = np.random.default_rng(0).normal(size=(500, 2)) + 1e3
    g = emkit.GaussianMixture(2, covariance_type=ct, dtype="float32", random_state=0).fit(X)
    check_cast_fidelity(g.model_.family, g.params_.components, np.log(g.weights_), X)


@pytest.mark.parametrize("ct", COVARIANCE_TYPES)
def test_slack_is_bounded_by_the_fall_of_q(ct):
    # variances (1e-8) far below reg_covar (1e-6): the shortfall from Q's maximiser is
    # ~3.6 per sample and feature, which would excuse a real bug; the fall of Q from the
    # E-step's parameters, near a fixed point, is ~0
    X = np.random.default_rng(0).normal(size=(500, 2)) * 1e-4 + 1e8
    g = emkit.GaussianMixture(2, covariance_type=ct, random_state=0, max_iter=20).fit(X)
    family, params = g.model_.family, g.params_.components
    resp = g.predict_proba(X)
    stats = family.statistics(X, resp, params)
    new = family.m_step(stats)
    learn = frozenset(("means", "covariances"))
    unreferenced = type(stats)(
        *[getattr(stats, f) for f in ("sum_w", "sum_dx", "sum_dxx")],
        stats.shift,
        stats.covariance_type,
    )
    loose = family.m_step_slack(new, unreferenced, learn)
    tight = family.m_step_slack(new, stats, learn)
    assert loose > 1.0 * len(X)
    assert 0.0 <= tight <= 1e-6 * len(X)


def test_gmmhmm_reports_its_reg_covar_slack():
    X = np.random.default_rng(0).normal(size=(40, 2)) * 1e-4
    m = emkit.GMMHMM(2, n_mix=2, covariance_type="diag", random_state=0, max_iter=2, tol=1e9)
    m.fit(X)
    family = m.model_.family
    stats = family.statistics(X, np.full((40, 2), 0.5), m.params_.emission)
    new = family.m_step(stats)
    unreferenced = type(stats)(
        tuple(
            type(s)(s.sum_w, s.sum_dx, s.sum_dxx, s.shift, s.covariance_type) for s in stats.states
        )
    )
    assert family.m_step_slack(new, unreferenced, frozenset(family.param_names)) > 0
