"""Kalman filter, RTS smoother and moment kernels against the dense joint Gaussian,
and against their NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _lgssm_testing import DensePosterior, random_params, simulate
from emkit._kernels import _reference_kalman as reference
from emkit._kernels import kalman


def _run(module, params, X, U, offsets):
    filtered = module.kalman_filter(X, U, offsets, *params.kernel_arguments())
    smoothed = module.rts_smoother(
        offsets, params.transition_matrix, params.transition_covariance, filtered
    )
    moments = module.expected_statistics(
        X,
        U,
        offsets,
        params.observation_matrix,
        params.control_observation_matrix,
        params.observation_covariance,
        smoothed,
    )
    return filtered, smoothed, moments


CASES = {
    # (k, p, m, fraction of missing entries, fraction of missing rows)
    "complete": (2, 3, 0, 0.0, 0.0),
    "partial-missing": (2, 3, 0, 0.35, 0.0),
    "rows-and-entries-missing-with-controls": (3, 2, 2, 0.25, 0.2),
    "scalar": (1, 1, 0, 0.0, 0.2),
    "more-states-than-features": (3, 1, 1, 0.0, 0.3),
}


@pytest.mark.parametrize("case", CASES)
def test_filter_smoother_and_moments_equal_dense_posterior(case):
    k, p, m, missing, missing_rows = CASES[case]
    rng = np.random.RandomState(len(case))
    params = random_params(rng, k, p, m)
    T = 6
    X, U = simulate(params, [T], rng, missing=missing, missing_rows=missing_rows)
    X[2, 0] = np.nan  # at least one missing coordinate
    offsets = np.array([0, T])
    filtered, smoothed, moments = _run(kalman, params, X, U, offsets)

    exact = DensePosterior(params, X, U)
    assert filtered.log_likelihoods[0] == pytest.approx(exact.log_likelihood, rel=1e-10)
    for t in range(T):
        z = exact.z(t)
        np.testing.assert_allclose(smoothed.smoothed_means[t], exact.mean[z], atol=1e-10)
        np.testing.assert_allclose(smoothed.smoothed_covariances[t], exact.cov[z, z], atol=1e-10)
        if t:
            np.testing.assert_allclose(
                smoothed.cross_covariances[t], exact.cov[z, exact.z(t - 1)], atol=1e-10
            )
        # filtering = conditioning on x_1..x_t only
        causal = DensePosterior(params, X, U, upto=t + 1)
        np.testing.assert_allclose(filtered.filtered_means[t], causal.mean[z], atol=1e-10)
        np.testing.assert_allclose(filtered.filtered_covariances[t], causal.cov[z, z], atol=1e-10)
        predictive = DensePosterior(params, X, U, upto=t)
        np.testing.assert_allclose(filtered.predicted_means[t], predictive.mean[z], atol=1e-10)
        np.testing.assert_allclose(
            filtered.predicted_covariances[t], predictive.cov[z, z], atol=1e-10
        )
    expected = exact.statistics(U)
    for name, value in moments.items():
        np.testing.assert_allclose(value, expected[name], atol=1e-9, err_msg=name)


def test_sequences_are_independent():
    rng = np.random.RandomState(7)
    params = random_params(rng, 2, 2, 1)
    lengths = [4, 1, 5]
    X, U = simulate(params, lengths, rng, missing=0.2)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    filtered, smoothed, _ = _run(kalman, params, X, U, offsets)
    for s in range(3):
        rows = slice(offsets[s], offsets[s + 1])
        exact = DensePosterior(params, X[rows], U[rows])
        assert filtered.log_likelihoods[s] == pytest.approx(exact.log_likelihood, rel=1e-10)
        for t in range(lengths[s]):
            np.testing.assert_allclose(
                smoothed.smoothed_means[offsets[s] + t], exact.mean[exact.z(t)], atol=1e-10
            )
        np.testing.assert_array_equal(smoothed.cross_covariances[offsets[s]], 0.0)


def test_kernels_equal_numpy_twin():
    rng = np.random.RandomState(3)
    params = random_params(rng, 3, 4, 2)
    lengths = [40, 1, 2, 57]
    X, U = simulate(params, lengths, rng, missing=0.3, missing_rows=0.1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    fast = _run(kalman, params, X, U, offsets)
    slow = _run(reference, params, X, U, offsets)
    for fast_part, slow_part in zip(fast[:2], slow[:2], strict=True):
        for a, b in zip(fast_part, slow_part, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    for name in fast[2]:
        np.testing.assert_allclose(fast[2][name], slow[2][name], rtol=1e-9, atol=1e-9)


def test_covariances_stay_positive_with_diffuse_prior_and_tiny_noise():
    # a diffuse prior (1e8) and almost noise-free observations: the textbook smoother
    # P + J (P_next - P_pred) J' loses positive semi-definiteness here (checked on the
    # NumPy twin, which uses it); the kernels' Joseph-type forms must not
    rng = np.random.RandomState(3)
    params = random_params(rng, 3, 3)
    params = type(params)(
        **{
            **params.__dict__,
            "initial_state_covariance": 1e8 * np.eye(3),
            "observation_covariance": 1e-6 * np.eye(3),
        }
    )
    X, U = simulate(params, [200], rng, missing=0.3)
    offsets = np.array([0, 200])
    filtered, smoothed, _ = _run(kalman, params, X, U, offsets)
    for covs in (filtered.filtered_covariances, smoothed.smoothed_covariances):
        np.testing.assert_array_equal(covs, np.transpose(covs, (0, 2, 1)))
        assert np.linalg.eigvalsh(covs).min() > 0
    _, textbook, _ = _run(reference, params, X, U, offsets)
    assert np.linalg.eigvalsh(textbook.smoothed_covariances).min() < 0


def test_non_positive_definite_innovation_is_reported_with_its_time_step():
    rng = np.random.RandomState(1)
    params = random_params(rng, 2, 2)
    bad = type(params)(**{**params.__dict__, "observation_covariance": -np.eye(2) * 1e3})
    X, U = simulate(params, [5], rng)
    with pytest.raises(np.linalg.LinAlgError, match="time step 0 of sequence 0"):
        kalman.kalman_filter(X, U, np.array([0, 5]), *bad.kernel_arguments())


@settings(max_examples=30)
@given(
    k=st.integers(1, 3),
    p=st.integers(1, 3),
    m=st.integers(0, 2),
    T=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    missing=st.floats(0.0, 0.8),
)
def test_property_log_likelihood_and_smoothed_moments_are_exact(k, p, m, T, seed, missing):
    rng = np.random.RandomState(seed)
    params = random_params(rng, k, p, m, stable=rng.uniform(0.1, 1.2))
    X, U = simulate(params, [T], rng, missing=missing)
    filtered, _, moments = _run(kalman, params, X, U, np.array([0, T]))
    exact = DensePosterior(params, X, U)
    assert filtered.log_likelihoods[0] == pytest.approx(exact.log_likelihood, rel=1e-9, abs=1e-9)
    expected = exact.statistics(U)
    for name, value in moments.items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-8, atol=1e-8, err_msg=name)


# -- the steady-state switch ----------------------------------------------------------------
def _local_level(q, r):
    """The Nile's local-level model (A = C = 1) with state and observation variances."""
    one = np.ones((1, 1))
    return type(random_params(np.random.RandomState(0), 1, 1))(
        one, one, q * one, r * one, np.zeros(1), 1e7 * one, np.zeros((1, 0)), np.zeros((1, 0))
    )


STEADY_CASES = {
    # name: (params, lengths, fraction of missing entries, fraction of missing rows)
    "four-states-eight-series": (random_params(np.random.RandomState(5), 4, 8), [3000], 0, 0),
    "several-sequences-controls": (
        random_params(np.random.RandomState(6), 3, 2, 2),
        [400] * 3,
        0,
        0,
    ),
    "missing-rows-and-entries": (
        random_params(np.random.RandomState(7), 3, 4),
        [3000],
        0.001,
        0.002,
    ),
    # slow contraction: the Nile's MLE variances, q / r ~ 0.1
    "nile-local-level": (_local_level(1469.1, 15099.0), [3000], 0, 0),
    "slow-local-level": (_local_level(1e-3, 1.0), [20000], 0, 0),
}


@pytest.mark.parametrize("case", STEADY_CASES)
def test_steady_state_switch_moves_the_log_likelihood_by_less_than_1e_12(case):
    params, lengths, missing, missing_rows = STEADY_CASES[case]
    rng = np.random.RandomState(11)
    X, U = simulate(params, lengths, rng, missing=missing, missing_rows=missing_rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    args = (offsets, params.transition_matrix, params.transition_covariance)
    fast = kalman.kalman_filter(X, U, offsets, *params.kernel_arguments())
    full = kalman.kalman_filter(X, U, offsets, *params.kernel_arguments(), steady_tol=0.0)
    # the switch engaged: covariances frozen (bit for bit) over most steps
    frozen = np.all(fast.predicted_covariances[1:] == fast.predicted_covariances[:-1], axis=(1, 2))
    assert frozen.mean() > 0.5
    loglik, exact = fast.log_likelihoods.sum(), full.log_likelihoods.sum()
    assert abs(loglik - exact) <= 1e-12 * abs(exact)
    for a, b in zip(fast, full, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.max(np.abs(b)))
    smooth_fast = kalman.rts_smoother(*args, fast)
    smooth_full = kalman.rts_smoother(*args, full, steady_tol=0.0)
    for a, b in zip(smooth_fast, smooth_full, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.max(np.abs(b)))
    moments = [
        kalman.expected_statistics(
            X,
            U,
            offsets,
            params.observation_matrix,
            params.control_observation_matrix,
            params.observation_covariance,
            smoothed,
        )
        for smoothed in (smooth_fast, smooth_full)
    ]
    for name, value in moments[0].items():
        np.testing.assert_allclose(value, moments[1][name], rtol=1e-10, atol=1e-9, err_msg=name)


def test_steady_state_ends_at_a_missing_value_and_resumes():
    params = random_params(np.random.RandomState(8), 2, 3)
    rng = np.random.RandomState(2)
    X, U = simulate(params, [300], rng)
    X[150, 1] = np.nan
    offsets = np.array([0, 300])
    fast = kalman.kalman_filter(X, U, offsets, *params.kernel_arguments())
    full = kalman.kalman_filter(X, U, offsets, *params.kernel_arguments(), steady_tol=0.0)
    P = fast.predicted_covariances
    frozen = np.all(P[1:] == P[:-1], axis=(1, 2))
    # P_{151|150} (after the gap) is the first to differ: frozen[i] compares P[i + 1], P[i]
    assert frozen[100:150].all() and not frozen[150:152].any() and frozen[250:].all()
    # the step after the gap is the full recursion's, not the frozen covariance
    np.testing.assert_allclose(P[151], full.predicted_covariances[151], rtol=1e-12)
    assert not np.allclose(P[151], P[140], rtol=1e-6)


@pytest.mark.parametrize("case", [*STEADY_CASES, "twin"])
def test_fused_e_step_equals_filter_smoother_and_moments(case):
    # smoothed_statistics (compressed filter, moments summed in the smoother's pass)
    # against the three kernels one after the other
    if case == "twin":
        params, lengths, missing, missing_rows = (
            random_params(np.random.RandomState(3), 3, 4, 2),
            [40, 1, 2, 57],
            0.3,
            0.1,
        )
    else:
        params, lengths, missing, missing_rows = STEADY_CASES[case]
    X, U = simulate(
        params, lengths, np.random.RandomState(11), missing=missing, missing_rows=missing_rows
    )
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    filtered, _, moments = _run(kalman, params, X, U, offsets)
    fused, log_likelihoods = kalman.smoothed_statistics(X, U, offsets, *params.kernel_arguments())
    np.testing.assert_array_equal(log_likelihoods, filtered.log_likelihoods)
    for name, value in moments.items():
        np.testing.assert_allclose(fused[name], value, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", STEADY_CASES)
def test_smoother_of_the_compressed_filter_equals_rts_smoother(case):
    params, lengths, missing, missing_rows = STEADY_CASES[case]
    X, U = simulate(
        params, lengths, np.random.RandomState(11), missing=missing, missing_rows=missing_rows
    )
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    _, smoothed, _ = _run(kalman, params, X, U, offsets)
    compressed = kalman.smoothed_states(X, U, offsets, *params.kernel_arguments())
    for a, b in zip(compressed, smoothed, strict=True):
        np.testing.assert_array_equal(a, b)
