"""The generic Mixture model: additive E-step over chunks, the EM identities of the
trace checked by brute force, hard assignment, fixed parameters and the k-means limit."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from emkit import KMeans
from emkit.core import allclose, e_step_total, fit_em
from emkit.families import GaussianFamily, GaussianParams
from emkit.families._covariance import COVARIANCE_TYPES
from emkit.models import EmptyComponentWarning, Mixture, MixtureChunk, MixtureParams

TYPES = list(COVARIANCE_TYPES)


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])
    return np.vstack([c + rng.standard_normal((30, 2)) for c in centres]) + np.array([100.0, -40.0])


def fitted_params(model, X, seed=0):
    """Parameters a few EM iterations into a fit (not a special point)."""
    return fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        max_iter=3,
        tol=0,
        random_state=seed,
        warn_not_converged=False,
    ).params


def brute_force_posterior(model, params, X):
    """log p(x_i), r_ik from the densities directly (no statistics)."""
    family = model.family
    log_joint = np.log(params.weights) + family.log_prob(params.components, X)
    log_px = logsumexp(log_joint, axis=1)
    return log_px, np.exp(log_joint - log_px[:, None]), log_joint


# -- additivity -----------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_e_step_statistics_are_summed_over_unequal_weighted_chunks(X, covariance_type):
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    params = fitted_params(model, X)
    weights = np.random.RandomState(1).uniform(0.0, 3.0, size=len(X))
    whole, ll_whole = model.e_step(params, MixtureChunk(X, weights))
    cuts = [0, 1, 17, 60, 90]
    chunks = [MixtureChunk(X[a:b], weights[a:b]) for a, b in itertools.pairwise(cuts)]
    total, ll_total = e_step_total(model, params, chunks)
    assert allclose(total, whole, rtol=1e-12, atol=1e-9)
    assert ll_total == pytest.approx(ll_whole, rel=1e-13)
    log_px, _, _ = brute_force_posterior(model, params, X)
    assert ll_whole == pytest.approx(weights @ log_px, rel=1e-13)


class _StepByStep(GaussianFamily):
    """The Gaussian family without its fused mixture E-step."""

    def mixture_e_step(self, params, X, log_weights, row_weights=None):
        return None


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_e_step_equals_the_step_by_step_one(X, covariance_type, weighted, dtype):
    # the family's one-pass kernel against log_prob, the log-sum-exp and statistics
    fused = Mixture(GaussianFamily(covariance_type), 3, init="random", dtype=dtype)
    params = fitted_params(fused, X)
    assert fused.family.mixture_e_step(params.components, X, np.log(params.weights)) is not None
    step_by_step = Mixture(_StepByStep(covariance_type), 3, dtype=dtype)
    weights = np.random.RandomState(2).uniform(0.0, 3.0, len(X)) if weighted else None
    chunk = MixtureChunk(X, weights)
    (a, la), (b, lb) = fused.e_step(params, chunk), step_by_step.e_step(params, chunk)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert allclose(a, b, rtol=rtol, atol=rtol * 1e3) and la == pytest.approx(lb, rel=rtol)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunk_statistics_about_different_shifts_still_add_up(X, covariance_type):
    """A chunk's component statistics re-expressed about another shift (as the
    statistics of an earlier E-step would be) sum to the same total."""
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    params = fitted_params(model, X)
    whole, _ = model.e_step(params, MixtureChunk(X))
    a, _ = model.e_step(params, MixtureChunk(X[:40]))
    b, _ = model.e_step(params, MixtureChunk(X[40:]))
    moved = type(b)(b.sum_w, b.components.recentred(b.components.shift + np.array([3.0, -7.0])))
    assert not np.array_equal(moved.components.shift, a.components.shift)
    assert allclose(a + moved, whole, rtol=1e-12, atol=1e-9)
    assert model.m_step(a + moved).components.means == pytest.approx(
        model.m_step(whole).components.means, rel=1e-13
    )


def test_block_rows_do_not_change_the_e_step(X):
    params = fitted_params(Mixture(GaussianFamily("full"), 3, init="random"), X)
    small = Mixture(GaussianFamily("full"), 3, block_rows=7)
    large = Mixture(GaussianFamily("full"), 3)
    s1, l1 = small.e_step(params, MixtureChunk(X))
    s2, l2 = large.e_step(params, MixtureChunk(X))
    assert allclose(s1, s2, rtol=1e-12, atol=1e-9) and l1 == pytest.approx(l2, rel=1e-14)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fit_on_chunks_equals_fit_in_memory(X, covariance_type):
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    kwargs = dict(n_samples=len(X), max_iter=15, tol=0, random_state=3, warn_not_converged=False)
    memory = fit_em(model, [MixtureChunk(X)], **kwargs)
    chunked = fit_em(
        model, [MixtureChunk(X[:25]), MixtureChunk(X[25:26]), MixtureChunk(X[26:])], **kwargs
    )
    np.testing.assert_allclose(chunked.lower_bounds, memory.lower_bounds, rtol=1e-12)
    np.testing.assert_allclose(chunked.params.weights, memory.params.weights, rtol=1e-10)
    np.testing.assert_allclose(
        chunked.params.components.means, memory.params.components.means, rtol=1e-10
    )
    np.testing.assert_allclose(
        chunked.params.components.covariances,
        memory.params.components.covariances,
        rtol=1e-9,
    )


# -- the EM identities, by brute force ------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_expected_log_joint_is_the_brute_force_q(X, covariance_type):
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    old = fitted_params(model, X, seed=0)
    new = fitted_params(model, X, seed=5)
    stats, _ = model.e_step(old, MixtureChunk(X))
    _, resp, _ = brute_force_posterior(model, old, X)
    _, _, log_joint_new = brute_force_posterior(model, new, X)
    assert model.expected_log_joint(new, stats) == pytest.approx(
        np.sum(resp * log_joint_new), rel=1e-12
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_trace_quantities_match_their_definitions(X, covariance_type):
    """log p(x|θ_t) = L(q_t, θ_t); L(q_t, θ_{t+1}) = Q(θ_{t+1}) + H(q_t);
    KL(q_t ‖ p(z|x, θ_{t+1})) >= 0 and log p(x|θ_{t+1}) = L + KL — every term
    computed here from densities and posteriors, not from the statistics."""
    model = Mixture(GaussianFamily(covariance_type), 3, init="random")
    iterates = []
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        max_iter=8,
        tol=0,
        random_state=7,
        warn_not_converged=False,
        callback=lambda restart, it, params: iterates.append(params),
    )
    trace = result.trace
    assert len(trace) == 8 and len(iterates) == 9
    for t, record in enumerate(trace):
        log_px, q, _ = brute_force_posterior(model, iterates[t], X)
        log_px_next, q_next, log_joint_next = brute_force_posterior(model, iterates[t + 1], X)
        entropy = -np.sum(q * np.log(q))
        q_value = np.sum(q * log_joint_next)
        kl = np.sum(q * (np.log(q) - np.log(q_next)))
        assert record.log_likelihood == pytest.approx(log_px.sum(), rel=1e-12)
        assert record.entropy == pytest.approx(entropy, rel=1e-9, abs=1e-9)
        assert record.expected_log_joint == pytest.approx(q_value, rel=1e-12)
        assert record.lower_bound == pytest.approx(q_value + entropy, rel=1e-12)
        assert record.kl == pytest.approx(kl, rel=1e-7, abs=1e-9)
        assert record.kl >= -1e-9
        assert log_px_next.sum() == pytest.approx(record.lower_bound + record.kl, rel=1e-12)
        # the ELBO at the E-step's own parameters is the log-likelihood (KL = 0 there)
        assert np.sum(q * brute_force_posterior(model, iterates[t], X)[2]) + entropy == (
            pytest.approx(log_px.sum(), rel=1e-12)
        )
    ll = np.array([r.log_likelihood for r in trace])
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    assert result.log_likelihood == pytest.approx(
        brute_force_posterior(model, iterates[-1], X)[0].sum(), rel=1e-12
    )


# -- hard assignment ------------------------------------------------------------------
def test_hard_assignment_is_one_hot_with_the_classification_likelihood(X):
    soft = Mixture(GaussianFamily("full"), 3, init="random")
    hard = Mixture(GaussianFamily("full"), 3, assignment="hard")
    params = fitted_params(soft, X)
    log_norm, resp = hard.posterior(params, X)
    _, _, log_joint = brute_force_posterior(soft, params, X)
    np.testing.assert_array_equal(resp.sum(axis=1), 1.0)
    np.testing.assert_array_equal(resp.argmax(axis=1), log_joint.argmax(axis=1))
    np.testing.assert_allclose(log_norm, log_joint.max(axis=1), rtol=1e-14)
    # log_density is the mixture density whatever the assignment
    np.testing.assert_allclose(hard.log_density(params, X), logsumexp(log_joint, axis=1))


def test_hard_assignment_trace_has_zero_entropy(X):
    model = Mixture(GaussianFamily("diag"), 3, assignment="hard")
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        max_iter=5,
        tol=0,
        random_state=0,
        warn_not_converged=False,
    )
    entropy = np.array([r.entropy for r in result.trace])
    np.testing.assert_allclose(entropy, 0.0, atol=1e-9)
    assert np.all(np.diff(result.lower_bounds) >= -1e-12)


# -- fixed parameters and priors ------------------------------------------------------
def test_learn_validation():
    family = GaussianFamily("full")
    with pytest.raises(ValueError, match=r"unknown parameter names \['mean'\]"):
        Mixture(family, 2, learn=("mean",))
    with pytest.raises(ValueError, match="'weights' is not learned, so its value must be given"):
        Mixture(family, 2, learn=("means", "covariances"))
    with pytest.raises(ValueError, match="assignment must be 'soft' or 'hard'"):
        Mixture(family, 2, assignment="medium")


def test_fixed_parameters_stay_exactly_fixed(X):
    weights = np.array([0.2, 0.3, 0.5])
    covs = np.array([1.5, 2.0, 0.7])
    model = Mixture(
        GaussianFamily("spherical"),
        3,
        learn=("means",),
        initial=MixtureParams(weights, GaussianParams(None, covs)),
    )
    result = fit_em(
        model,
        [MixtureChunk(X)],
        n_samples=len(X),
        max_iter=10,
        random_state=0,
        warn_not_converged=False,
    )
    np.testing.assert_array_equal(result.params.weights, weights)
    np.testing.assert_array_equal(result.params.components.covariances, covs)
    assert result.params.components.means.shape == (3, 2)


def test_weight_prior_gives_dirichlet_map_weights(X):
    model = Mixture(GaussianFamily("full"), 3, weight_prior=4.0, init="random")
    params = fitted_params(model, X)
    stats, _ = model.e_step(params, MixtureChunk(X))
    new = model.m_step(stats)
    counts = stats.sum_w
    np.testing.assert_allclose(new.weights, (counts + 4.0) / (counts.sum() + 12.0), rtol=1e-12)
    assert model.log_prior(new) == pytest.approx(
        4.0 * np.log(new.weights).sum() + model.family.log_prior(new.components)
    )


def test_empty_component_warns_and_stays_finite(X):
    far = np.vstack([X.mean(axis=0), X.mean(axis=0) + 1.0, [1e4, 1e4]])
    model = Mixture(
        GaussianFamily("full"),
        3,
        initial=MixtureParams(np.full(3, 1 / 3), GaussianParams(far, np.array([np.eye(2)] * 3))),
    )
    with pytest.warns(EmptyComponentWarning, match="mixture component 2 received no posterior"):
        result = fit_em(
            model,
            [MixtureChunk(X)],
            n_samples=len(X),
            max_iter=5,
            tol=0,
            random_state=0,
            warn_not_converged=False,
        )
    params = result.params
    assert params.weights[2] < 1e-12
    assert np.all(np.isfinite(params.components.means))
    assert np.all(np.isfinite(params.components.covariances))
    assert np.all(np.isfinite(params.components.precisions_cholesky))


# -- the k-means limit ----------------------------------------------------------------
def test_soft_mixture_with_vanishing_shared_variance_is_kmeans(X):
    """Equal fixed weights, one fixed spherical variance s² for all components, only
    the means learned: as s² -> 0 the soft EM fixed point is the k-means partition and
    its centres (from the same initial centres)."""
    start = X[[0, 1, 2]] + 0.1  # three starting centres inside the first cluster
    km = KMeans(3, init=start, tol=0.0, max_iter=300).fit(X)
    scale = X.var(axis=0).mean()
    gaps = []
    for s2 in (0.3, 0.1, 0.03, 1e-3):
        model = Mixture(
            GaussianFamily("spherical", reg_covar=0.0),
            3,
            learn=("means",),
            initial=MixtureParams(np.full(3, 1 / 3), GaussianParams(start, np.full(3, s2 * scale))),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmptyComponentWarning)
            result = fit_em(
                model,
                [MixtureChunk(X)],
                n_samples=len(X),
                max_iter=500,
                tol=1e-12,
                random_state=0,
            )
        means = result.params.components.means
        labels = model.log_joint(result.params, X).argmax(axis=1)
        gaps.append(np.abs(means - km.cluster_centers_).max())
    assert km.converged_
    np.testing.assert_array_equal(labels, km.labels_)
    assert gaps[0] > 1e-2  # at s² = 0.3 x the data variance the soft fit is visibly different
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-8
    assert gaps[-1] < 1e-12
