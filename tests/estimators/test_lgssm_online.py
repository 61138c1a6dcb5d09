"""Online EM (partial_fit) for the linear-Gaussian state-space model (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from _lgssm_testing import chunk_of, random_params, simulate
from emkit import LinearGaussianSSM
from emkit.core import ConvergenceWarning
from emkit.core.online import online_em_step
from emkit.models.lgssm import LGSSM, PARAM_NAMES, LGSSMChunk


def sequences(k, p, n_sequences, length, seed, m=0, missing=0.0):
    rng = np.random.RandomState(seed)
    truth = random_params(rng, k, p, m)
    lengths = np.full(n_sequences, length)
    X, U = simulate(truth, lengths, rng, missing=missing)
    return X, U, lengths


def batches(lengths, size):
    """(rows, sequences) slices of consecutive batches of ``size`` sequences."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for s in range(0, len(lengths), size):
        last = min(s + size, len(lengths))
        yield slice(offsets[s], offsets[last]), slice(s, last)


def relative_gap(model, reference, X, lengths):
    return (reference - model.score(X, lengths)) / abs(reference)


def test_passes_over_batches_reach_the_batch_log_likelihood():
    X, _, lengths = sequences(1, 3, 40, 50, seed=7)
    batch = LinearGaussianSSM(1, tol=1e-6, max_iter=1000, accelerate="squarem", random_state=0)
    best = batch.fit(X, lengths).score(X, lengths)
    online = LinearGaussianSSM(1, random_state=0)
    first_rows, first_sequences = next(batches(lengths, 2))
    online.partial_fit(X[first_rows], lengths[first_sequences])
    # measured: 2.4% below after the first batch, 0.2% after four passes
    assert relative_gap(online, best, X, lengths) > 0.01
    for _ in range(4):
        for rows, which in batches(lengths, 2):
            online.partial_fit(X[rows], lengths[which])
    assert online.n_iter_ == 1 + 4 * 20
    assert abs(relative_gap(online, best, X, lengths)) <= 0.005


def test_first_step_on_all_the_data_is_one_batch_em_iteration():
    X, U, lengths = sequences(2, 3, 6, 40, seed=1, m=1, missing=0.1)
    options = dict(learn="all", random_state=0)
    online = LinearGaussianSSM(2, **options).partial_fit(X, lengths, U)
    batch = LinearGaussianSSM(2, max_iter=1, tol=0, **options)
    with pytest.warns(ConvergenceWarning):  # one iteration does not converge
        batch.fit(X, lengths, U)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(
            getattr(online, f"{name}_"), getattr(batch, f"{name}_"), rtol=1e-10, atol=1e-13
        )
    assert online.learned_ == batch.learned_ == PARAM_NAMES


def test_steps_of_one_on_all_the_data_are_batch_em_iterations():
    # step 1 at every batch (kappa = 0): the running statistics are the last batch's
    # per-step statistics, and the M-step of their rescaling is EM's M-step
    X, _, lengths = sequences(2, 2, 5, 30, seed=2, missing=0.1)
    chunk = LGSSMChunk.from_arrays(X, None, lengths)
    model = LGSSM(2, 2, learn=PARAM_NAMES)
    params = model.init_params([chunk], np.random.RandomState(0))
    online, state = params, None
    for _ in range(4):
        online, state, _ = online_em_step(model, online, state, chunk, len(chunk), kappa=0.0)
        params = model.m_step(model.e_step(params, chunk)[0])
    assert state.n_batches == 4 and state.weight_seen == 4 * len(chunk)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(
            getattr(online, name), getattr(params, name), rtol=1e-9, atol=1e-12
        )


def test_m_step_depends_only_on_statistics_per_time_step():
    # online EM hands the M-step rescaled running averages; every parameter's M-step is
    # a ratio within its group (moments / counts), so any common scale gives the same
    X, U, lengths = sequences(2, 3, 4, 25, seed=3, m=2, missing=0.2)
    chunk = LGSSMChunk.from_arrays(X, U, lengths)
    model = LGSSM(2, 3, 2, learn=PARAM_NAMES, reg_covar=1e-3)
    stats, _ = model.e_step(model.init_params([chunk], np.random.RandomState(0)), chunk)
    reference = model.m_step(stats)
    for scale in (1.0 / len(chunk), 7.5):
        scaled = model.m_step(stats * scale)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(
                getattr(scaled, name), getattr(reference, name), rtol=1e-9, atol=1e-12
            )


def test_initial_state_statistics_count_sequences_not_time_steps():
    # two batches: one long sequence, then ten short ones; only m0 is learned, so the
    # running statistics after two steps give m0 as a ratio of averaged sums
    rng = np.random.RandomState(4)
    truth = random_params(rng, 1, 2)
    long, _ = simulate(truth, [100], rng)
    short, _ = simulate(truth, [10] * 10, rng)
    fixed = {f"{name}_init": getattr(truth, name) for name in PARAM_NAMES[:6]}
    # a schedule whose second step blends the batches (the default's replaces the first)
    online = LinearGaussianSSM(
        1, learn="initial_state_mean", learning_decay=0.6, learning_offset=2.0, **fixed
    )
    online.partial_fit(long)
    first_params = online.params_
    online.partial_fit(short, np.full(10, 10))
    rho = (1 + 2.0) ** -0.6
    model = online.model_
    start = model.init_params([chunk_of(long)], np.random.RandomState(0))
    a, _ = model.e_step(start, chunk_of(long))
    b, _ = model.e_step(first_params, chunk_of(short, lengths=[10] * 10))
    # every statistic per time step (100 in both batches), sequences counted alongside
    init_z = (1 - rho) * a.sum_z_first / 100 + rho * b.sum_z_first / 100
    n_sequences = (1 - rho) * 1 / 100 + rho * 10 / 100
    np.testing.assert_allclose(online.initial_state_mean_, init_z / n_sequences, rtol=1e-10)
    # not the average of the batches' initial means, which would count the long
    # sequence's one first state like the short batch's ten
    per_batch = (1 - rho) * a.sum_z_first / 1 + rho * b.sum_z_first / 10
    assert not np.allclose(online.initial_state_mean_, per_batch, rtol=1e-3)


def test_parameters_not_learned_stay_fixed():
    X, _, lengths = sequences(2, 3, 12, 30, seed=5)
    A0, Q0 = 0.5 * np.eye(2), np.array([[1.0, 0.2], [0.2, 0.5]])
    online = LinearGaussianSSM(
        2,
        learn=("observation_matrix", "observation_covariance", "initial_state_mean"),
        transition_matrix_init=A0,
        transition_covariance_init=Q0,
        random_state=0,
    )
    seen = []
    for rows, which in batches(lengths, 3):
        online.partial_fit(X[rows], lengths[which])
        seen.append(online.params_)
    # P0 has no *_init: it takes the data-driven value of the first batch, then stays
    P0 = seen[0].initial_state_covariance
    for params in seen:
        assert params.transition_matrix.tobytes() == A0.tobytes()
        assert params.transition_covariance.tobytes() == Q0.tobytes()
        assert params.initial_state_covariance.tobytes() == P0.tobytes()
    assert not np.array_equal(seen[0].observation_matrix, seen[-1].observation_matrix)
    assert online.learned_ == (
        "observation_matrix",
        "observation_covariance",
        "initial_state_mean",
    )


def test_controls_and_missing_values_in_batches():
    X, U, lengths = sequences(1, 2, 8, 40, seed=6, m=1, missing=0.15)
    online = LinearGaussianSSM(1, random_state=0)
    for rows, which in batches(lengths, 2):
        online.partial_fit(X[rows], lengths[which], U[rows])
    assert online.control_observation_matrix_.shape == (2, 1)
    assert np.isfinite(online.score(X, lengths, U))


def test_bad_batches_are_refused_clearly():
    X, U, lengths = sequences(1, 2, 4, 20, seed=8, m=1)
    online = LinearGaussianSSM(1, random_state=0).partial_fit(X[:40], lengths[:2], U[:40])
    with pytest.raises(ValueError, match="features"):
        online.partial_fit(np.hstack([X[40:], X[40:, :1]]), lengths[2:], U[40:])
    with pytest.raises(ValueError, match="2 columns but the model was fitted with 1"):
        online.partial_fit(X[40:], lengths[2:], np.hstack([U[40:], U[40:]]))
    with pytest.raises(ValueError, match="fitted with 1 control inputs; pass U"):
        online.partial_fit(X[40:], lengths[2:])
    with pytest.raises(ValueError, match="lengths"):
        online.partial_fit(X[40:], [30, 30], U[40:])
    assert online.n_iter_ == 1  # refused batches change nothing
    without = LinearGaussianSSM(1, random_state=0).partial_fit(X[:40], lengths[:2])
    with pytest.raises(ValueError, match="fitted with 0 controls"):
        without.partial_fit(X[40:], lengths[2:], U[40:])
    with pytest.raises(ValueError, match="length 1"):
        LinearGaussianSSM(1).partial_fit(X[:5], np.ones(5, dtype=int))
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        LinearGaussianSSM(1, learning_decay=0.3).partial_fit(X[:40], lengths[:2])


def test_a_batch_whose_update_the_filter_cannot_run_is_refused():
    # as in the fuzz corpus: a 1e12 outlier in the second batch gives R and Q of
    # 1e6 to 1e21, with which C P C' + R is no longer positive definite in float64
    rng = np.random.RandomState(3)
    first = rng.randn(40, 2)
    online = LinearGaussianSSM(2, random_state=0).partial_fit(first)
    before = {name: getattr(online, f"{name}_").copy() for name in PARAM_NAMES}
    state = online.online_state_
    outlier = rng.randn(40, 2)
    outlier[17] = 1e12
    with pytest.raises(ValueError, match="online M-step of batch 2 gave parameters"):
        online.partial_fit(outlier)
    assert online.n_iter_ == 1 and online.online_state_ is state
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(online, f"{name}_"), value)
    assert np.all(np.isfinite(online.filter(first)[0]))
    online.partial_fit(rng.randn(40, 2))  # a good batch is taken afterwards
    assert online.n_iter_ == 2


def test_check_params_filters_the_head_of_the_first_sequence_only(monkeypatch):
    X, _, lengths = sequences(1, 2, 3, 400, seed=3)
    model = LinearGaussianSSM(1, random_state=0).partial_fit(X, lengths).model_
    seen = []
    monkeypatch.setattr(model, "filter", lambda params, chunk: seen.append(chunk))
    model.check_params(None, LGSSMChunk.from_arrays(X, lengths=lengths))
    (head,) = seen
    assert len(head) == 256 and head.n_sequences == 1
    np.testing.assert_array_equal(head.X, X[:256])
