"""Expanded quadratic forms: the features kernel, the forms and moments of all
components at once, and the accuracy gate that sends components to the direct form.

Checked against brute force (explicit products and per-component sums), against SciPy
densities, and against scikit-learn on data where the gate must act.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from emkit import GaussianMixture
from emkit._kernels.quadratic import quadratic_features
from emkit.families import GaussianFamily, _expanded
from emkit.families._covariance import COVARIANCE_TYPES
from emkit.families._expanded import ExpandedBlock, expand

TYPES = list(COVARIANCE_TYPES)
# the types whose blocks are expanded features; full and tied take the direct form
EXPANDED_TYPES = ("diag", "spherical")


def random_precisions(rng, K, D):
    A = rng.standard_normal((K, D, D))
    return A @ np.transpose(A, (0, 2, 1)) + np.eye(D)


# -- the features kernel ------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("diagonal", [False, True])
def test_features_are_the_products_and_offsets(dtype, diagonal):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(37, 5)).astype(dtype)
    centre = rng.normal(size=5)
    features, radius2 = quadratic_features(X, centre, diagonal)
    u = X - centre.astype(dtype)
    rows, cols = (np.arange(5), np.arange(5)) if diagonal else np.triu_indices(5)
    expected = np.hstack([u[:, rows] * u[:, cols], u])
    assert features.dtype == dtype and features.flags.c_contiguous
    np.testing.assert_array_equal(features, expected)
    assert radius2 == pytest.approx(np.max(np.sum(u * u, axis=1, dtype=float)), rel=1e-6)


def test_features_of_no_rows():
    features, radius2 = quadratic_features(np.empty((0, 3)), np.zeros(3))
    assert features.shape == (0, 9) and radius2 == 0.0


# -- forms and moments --------------------------------------------------------------
@pytest.mark.parametrize("diagonal", [False, True])
def test_quadratic_forms_match_the_direct_sum(diagonal):
    rng = np.random.default_rng(1)
    K, D = 4, 6
    X = rng.normal(size=(50, D))
    means = rng.normal(size=(K, D))
    precisions = random_precisions(rng, K, D)
    if diagonal:
        precisions = np.diagonal(precisions, axis1=1, axis2=2).copy()
    block = expand(X, means.mean(axis=0), diagonal)
    full = precisions if not diagonal else np.stack([np.diag(p) for p in precisions])
    expected = np.stack(
        [np.einsum("ni,ij,nj->n", X - means[k], full[k], X - means[k]) for k in range(K)], axis=1
    )
    np.testing.assert_allclose(block.quadratic_forms(precisions, means), expected, rtol=1e-12)


@pytest.mark.parametrize("diagonal", [False, True])
def test_moments_are_the_weighted_sums_about_the_centre(diagonal):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 4))
    resp = rng.dirichlet(np.ones(3), size=60)
    centre = rng.normal(size=4)
    first, second = expand(X, centre, diagonal).moments(resp)
    u = X - centre
    np.testing.assert_allclose(first, resp.T @ u, rtol=1e-13)
    outer = np.einsum("nk,ni,nj->kij", resp, u, u)
    expected = np.diagonal(outer, axis1=1, axis2=2) if diagonal else outer
    np.testing.assert_allclose(second, expected, rtol=1e-13)


# -- the gate -----------------------------------------------------------------------
def far_apart_narrow(n_per=40, seed=3):
    """Three unit-variance clusters 10,000 standard deviations apart: the expanded form's
    rounding bound there is ~1e-7, so the gate must send every component to the direct
    form."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [1e4, 0.0, 0.0], [0.0, 2e4, 0.0]])
    return np.vstack([c + rng.normal(size=(n_per, 3)) for c in centres]), centres


def unit_covariances(covariance_type):
    """Identity covariances of three 3-D components (also their precisions)."""
    return {
        "full": np.tile(np.eye(3), (3, 1, 1)),
        "tied": np.eye(3),
        "diag": np.ones((3, 3)),
        "spherical": np.ones(3),
    }[covariance_type]


def test_the_gate_passes_ordinary_data_and_stops_far_narrow_components():
    X, centres = far_apart_narrow()
    eye = np.tile(np.eye(3), (3, 1, 1))
    block = expand(X, centres.mean(axis=0))
    assert not block.accurate(eye, centres).any()
    near = expand(X[:40], centres[0])
    assert near.accurate(eye[:1], centres[:1]).all()


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gated_densities_stay_exact_where_the_expansion_would_not(monkeypatch, covariance_type):
    """Full and tied take the direct form always (``emkit._kernels.gaussian_blocks``):
    exact with the gate open as well; diag and spherical need the gate."""
    X, centres = far_apart_narrow()
    family = GaussianFamily(covariance_type)
    params = family.make_params(centres, unit_covariances(covariance_type))
    expected = np.column_stack([stats.multivariate_normal(c, np.eye(3)).logpdf(X) for c in centres])
    gated = family.log_prob(params, family.prepare(params, X))
    np.testing.assert_allclose(gated, expected, rtol=1e-13)
    # the same with the gate open: the expansion's cancellation shows (the gate matters)
    monkeypatch.setitem(_expanded.ROUNDING_BUDGET, np.dtype(np.float64), np.inf)
    ungated = family.log_prob(params, family.prepare(params, X))
    if covariance_type in EXPANDED_TYPES:
        assert np.max(np.abs(ungated - expected)) > 1e-9
    else:
        np.testing.assert_allclose(ungated, expected, rtol=1e-13)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("far", [False, True])
def test_prepared_blocks_give_the_statistics_of_the_plain_array(covariance_type, far):
    rng = np.random.default_rng(4)
    X = far_apart_narrow()[0] if far else rng.normal(size=(120, 3))
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    family = GaussianFamily(covariance_type)
    reference = family.m_step(family.statistics(X, resp, None))
    plain = family.statistics(X, resp, reference)
    prepared = family.statistics(family.prepare(reference, X), resp, reference)
    expanded = isinstance(family.prepare(reference, X), ExpandedBlock)
    assert expanded == (covariance_type in EXPANDED_TYPES)
    for name in ("sum_w", "sum_dx", "sum_dxx"):
        a, b = getattr(plain, name), getattr(prepared, name)
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10 * np.abs(a).max(), err_msg=name)
    np.testing.assert_allclose(
        family.log_prob(reference, family.prepare(reference, X)),
        family.log_prob(reference, X),
        rtol=1e-12,
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fits_stay_exact_where_the_gate_acts(covariance_type):
    X, centres = far_apart_narrow(n_per=60)
    kwargs = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-10,
        weights_init=[0.2, 0.3, 0.5],
        means_init=centres + 0.5,
        precisions_init=unit_covariances(covariance_type),
    )
    ours = GaussianMixture(**kwargs).fit(X)
    theirs = SkGaussianMixture(**kwargs).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    # the score is the exact mixture density of the fitted parameters (SciPy's)...
    log_joint = np.column_stack(
        [
            np.log(ours.weights_[k])
            + stats.multivariate_normal(ours.means_[k], ours_covariance(ours, k)).logpdf(X)
            for k in range(3)
        ]
    )
    assert ours.score(X) == pytest.approx(np.mean(logsumexp(log_joint, axis=1)), rel=1e-14)
    # ...and the fit is scikit-learn's: to rounding for full, to the ~1e-9 that its own
    # expansions about the origin (diag, spherical) and raw moments (tied) lose here
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-8)
    rtol = 1e-12 if covariance_type == "full" else 1e-6
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=rtol)


def ours_covariance(estimator, k):
    return GaussianFamily(estimator.covariance_type).component_covariance(
        estimator.params_.components, k
    )


def test_float32_blocks_run_in_float32_within_their_budget():
    rng = np.random.default_rng(5)
    K, D = 4, 8
    X = rng.normal(size=(500, D)) * 2.0
    means = rng.normal(size=(K, D))
    precisions = random_precisions(rng, K, D) / D
    block = expand(X.astype(np.float32), means.mean(axis=0))
    assert block.features.dtype == np.float32
    assert block.accurate(precisions, means).all()
    exact = expand(X, means.mean(axis=0)).quadratic_forms(precisions, means)
    error = np.abs(block.quadratic_forms(precisions, means) - exact).max()
    # within the float32 budget (the gate's bound times the measured factor of 2.7)
    assert error <= 2.7 * _expanded.ROUNDING_BUDGET[np.dtype(np.float32)]
    assert error > 1e-9  # and really computed in float32
