"""LGSSM model: statistics additivity, the M-step as the maximiser of Q, the
Q + entropy = log-likelihood identity, and monotone EM in every configuration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from _lgssm_testing import DensePosterior, chunk_of, random_params, simulate
from emkit.core import allclose, fit_em
from emkit.models.lgssm import (
    LGSSM,
    PARAM_NAMES,
    LGSSMParams,
    ObservedMoments,
    covariance_scales,
    data_driven_params,
    data_driven_start,
    start_state_scale,
)

ALL = frozenset(PARAM_NAMES)


def _model(params, learn=ALL, **kwargs):
    k, p = params.observation_matrix.shape[::-1]
    m = params.control_transition_matrix.shape[1]
    return LGSSM(k, p, m, learn=learn, initial=params, **kwargs)


def test_statistics_are_additive_across_sequences_and_chunks():
    rng = np.random.RandomState(0)
    params = random_params(rng, 2, 3, 1)
    lengths = [30, 1, 19]
    X, U = simulate(params, lengths, rng, missing=0.2, missing_rows=0.1)
    model = _model(params)
    whole, loglik = model.e_step(params, chunk_of(X, U, lengths))
    parts = [
        model.e_step(params, chunk_of(X[a:b], U[a:b])) for a, b in ((0, 30), (30, 31), (31, 50))
    ]
    assert allclose(whole, sum(s for s, _ in parts), rtol=1e-12, atol=1e-12)
    assert loglik == pytest.approx(sum(ll for _, ll in parts), rel=1e-12)
    assert whole.n_sequences == 3 and whole.n_steps == 50 and whole.n_transitions == 47


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_expected_log_joint_plus_entropy_is_the_log_likelihood(missing):
    # log p(x_o) = Q(θ) + H(q) at the E-step's θ: checks Q and the complete-data
    # moments (states and missing coordinates) against the dense posterior
    rng = np.random.RandomState(1)
    params = random_params(rng, 2, 3, 1)
    X, U = simulate(params, [7], rng, missing=missing)
    model = _model(params)
    stats, loglik = model.e_step(params, chunk_of(X, U))
    exact = DensePosterior(params, X, U)
    assert loglik == pytest.approx(exact.log_likelihood, rel=1e-10)
    assert model.expected_log_joint(params, stats) + exact.entropy() == pytest.approx(
        loglik, rel=1e-9
    )


LEARN_SETS = {
    "all": ALL,
    "dynamics": {"transition_matrix", "transition_covariance"},
    "observation": {"observation_matrix", "control_observation_matrix", "observation_covariance"},
    "controls-only": {"control_transition_matrix", "control_observation_matrix"},
    "A-and-D": {"transition_matrix", "control_observation_matrix", "initial_state_mean"},
}


@pytest.mark.parametrize("q_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("r_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("learn", LEARN_SETS)
def test_m_step_maximises_expected_log_joint(learn, q_type, r_type):
    rng = np.random.RandomState(2)
    params = random_params(rng, 2, 3, 1)
    X, U = simulate(params, [25, 15], rng, missing=0.25)
    start = dataclasses.replace(
        params,
        transition_covariance=_structured(params.transition_covariance, q_type),
        observation_covariance=_structured(params.observation_covariance, r_type),
    )
    model = _model(
        start,
        LEARN_SETS[learn],
        transition_covariance_type=q_type,
        observation_covariance_type=r_type,
    )
    stats, _ = model.e_step(start, chunk_of(X, U, [25, 15]))
    best = model.m_step(stats)
    q_best = model.expected_log_joint(best, stats)
    assert q_best >= model.expected_log_joint(start, stats)
    kinds = {"transition_covariance": q_type, "observation_covariance": r_type}
    for name in LEARN_SETS[learn]:
        value = getattr(best, name)
        for _ in range(3):
            step = 1e-3 * rng.standard_normal(value.shape)
            if name.endswith("covariance"):
                step = _structured(step + step.T, kinds.get(name, "full"))
            moved = dataclasses.replace(best, **{name: value + step})
            assert model.expected_log_joint(moved, stats) < q_best, name
    for name in ALL - LEARN_SETS[learn]:
        assert getattr(best, name) is getattr(start, name)


def _structured(S, kind):
    if kind == "diag":
        return np.diag(np.diag(S))
    if kind == "spherical":
        return np.eye(S.shape[0]) * np.trace(S) / S.shape[0]
    return S


MONOTONE_CASES = {
    "full-missing-entries": dict(k=2, p=3, m=0, missing=0.3, q="full", r="full"),
    "controls-and-missing-rows": dict(k=2, p=2, m=2, missing=0.15, q="full", r="full"),
    "diag": dict(k=3, p=4, m=1, missing=0.3, q="diag", r="diag"),
    "spherical": dict(k=2, p=3, m=0, missing=0.2, q="spherical", r="spherical"),
}


@pytest.mark.parametrize("case", MONOTONE_CASES)
def test_log_likelihood_never_decreases(case):
    c = MONOTONE_CASES[case]
    rng = np.random.RandomState(4)
    params = random_params(rng, c["k"], c["p"], c["m"])
    lengths = [60, 40, 1]
    X, U = simulate(params, lengths, rng, missing=c["missing"], missing_rows=0.1)
    chunk = chunk_of(X, U, lengths)
    model = LGSSM(
        c["k"],
        c["p"],
        c["m"],
        learn=ALL,
        transition_covariance_type=c["q"],
        observation_covariance_type=c["r"],
    )
    # pytest turns LikelihoodDecreaseWarning into an error (pyproject.toml)
    result = fit_em(
        model,
        [chunk],
        n_samples=len(chunk),
        max_iter=60,
        tol=0,
        random_state=0,
        warn_not_converged=False,
    )
    logliks = result.trace and np.array([r.log_likelihood for r in result.trace])
    assert np.all(np.diff(logliks) >= -1e-9 * np.abs(logliks[1:]))
    assert logliks[-1] > logliks[0]
    # the engine's bookkeeping: log p(x | θ_{t+1}) = ELBO_t + KL_t, with KL >= 0
    lower = np.array([r.lower_bound for r in result.trace])
    kl = np.array([r.kl for r in result.trace])
    np.testing.assert_allclose(logliks[1:], lower[:-1] + kl[:-1], rtol=1e-9)
    assert np.all(kl >= -1e-7 * np.abs(logliks))


def test_data_driven_start_respects_given_values_and_is_positive_definite():
    rng = np.random.RandomState(5)
    params = random_params(rng, 2, 4, 1)
    X, U = simulate(params, [80], rng, missing=0.1)
    C = params.observation_matrix
    start = data_driven_params([chunk_of(X, U)], 2, LGSSMParams(observation_matrix=C))
    assert start.observation_matrix is C
    for name in PARAM_NAMES:
        assert np.all(np.isfinite(getattr(start, name))), name
    for name in ("transition_covariance", "observation_covariance", "initial_state_covariance"):
        assert np.linalg.eigvalsh(getattr(start, name)).min() > 0, name
    # more states than features, one step per sequence: still a valid start
    start = data_driven_params([chunk_of(X[:, :1], U, [1] * 80)], 3)
    assert np.linalg.eigvalsh(start.transition_covariance).min() > 0


def test_the_start_reports_the_state_scale_of_its_own_projection():
    # the reg_covar floor's state scale comes with the start (no second pass over the
    # data): it must be the spread of the data projected on the start's C and D
    rng = np.random.RandomState(7)
    params = random_params(rng, 2, 4, 1)
    X, U = simulate(params, [60, 40], rng, missing=0.2)
    chunks = [chunk_of(X[:60], U[:60]), chunk_of(X[60:], U[60:])]
    moments = ObservedMoments.of(chunks)
    start, scale = data_driven_start(chunks, 2, rng=np.random.RandomState(0), moments=moments)
    alone = data_driven_params(chunks, 2, rng=np.random.RandomState(0))
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(start, name), getattr(alone, name), err_msg=name)
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    C, D = start.observation_matrix, start.control_observation_matrix
    states = (filled - U @ D.T) @ np.linalg.pinv(C).T
    assert scale == pytest.approx(np.mean(states.var(axis=0)), rel=1e-12)
    # given C and D: the same scale without the rest of the start
    given = LGSSMParams(observation_matrix=C, control_observation_matrix=D)
    assert start_state_scale(chunks, 2, given, moments=moments) == scale
    scales = covariance_scales(moments, scale, 2)
    np.testing.assert_array_equal(scales["observation_covariance"], np.nanvar(X, axis=0))
    np.testing.assert_array_equal(scales["transition_covariance"], [scale, scale])


def test_restart_perturbation_changes_only_free_learned_values():
    rng = np.random.RandomState(6)
    params = random_params(rng, 2, 3)
    X, _ = simulate(params, [50], rng)
    given = LGSSMParams(
        observation_matrix=params.observation_matrix,
        initial_state_covariance=params.initial_state_covariance,
        control_transition_matrix=np.zeros((2, 0)),
        control_observation_matrix=np.zeros((3, 0)),
    )
    learn = ALL - {"initial_state_covariance"}
    plain = LGSSM(2, 3, learn=learn, initial=given).init_params([chunk_of(X)], None)
    model = LGSSM(2, 3, learn=learn, initial=given, perturbation=0.3)
    shaken = model.init_params([chunk_of(X)], np.random.RandomState(0))
    assert shaken.observation_matrix is given.observation_matrix
    assert shaken.initial_state_covariance is given.initial_state_covariance
    assert not np.allclose(shaken.transition_matrix, plain.transition_matrix)
    assert np.linalg.eigvalsh(shaken.transition_covariance).min() > 0


def test_fixed_parameter_without_value_is_refused():
    with pytest.raises(ValueError, match="'transition_matrix' is not learned"):
        LGSSM(2, 2, learn=ALL - {"transition_matrix"})
    with pytest.raises(ValueError, match="unknown parameter names"):
        LGSSM(2, 2, learn={"transition_matrices"})


@pytest.mark.parametrize("kind", ["full", "diag", "spherical"])
def test_pack_unpack_round_trip_keeps_fixed_values(kind):
    rng = np.random.RandomState(7)
    params = random_params(rng, 3, 2, 1)
    params = dataclasses.replace(
        params,
        transition_covariance=_structured(params.transition_covariance, kind),
        observation_covariance=_structured(params.observation_covariance, kind),
    )
    learn = ALL - {"observation_matrix"}
    model = _model(params, learn, transition_covariance_type=kind, observation_covariance_type=kind)
    vector = model.pack(params)
    size = {"full": 6 + 3, "diag": 3 + 2, "spherical": 2}[kind] + 9 + 3 + 6 + 3 + 2
    assert vector.shape == (size,)
    back = model.unpack(vector, params)
    for name in learn:
        np.testing.assert_allclose(getattr(back, name), getattr(params, name), atol=1e-12)
    assert back.observation_matrix is params.observation_matrix
    # any vector is a valid parameter set: covariances come out positive definite
    other = model.unpack(rng.standard_normal(size), params)
    assert np.linalg.eigvalsh(other.transition_covariance).min() > 0


def test_singular_learned_covariance_is_a_clear_error():
    rng = np.random.RandomState(8)
    params = random_params(rng, 2, 2)
    X, U = simulate(params, [20], rng)
    model = _model(params, {"observation_covariance"})
    stats, _ = model.e_step(params, chunk_of(X, U))
    C = params.observation_matrix
    # observations explained exactly by the states: zero expected residual
    exact = dataclasses.replace(stats, sum_xx=C @ stats.sum_zz @ C.T, sum_xz=C @ stats.sum_zz)
    with pytest.raises(np.linalg.LinAlgError, match="observation_covariance is not positive"):
        model.m_step(exact)
    regularised = _model(params, {"observation_covariance"}, reg_covar=1e-6).m_step(exact)
    np.testing.assert_allclose(regularised.observation_covariance, 1e-6 * np.eye(2), atol=1e-12)
