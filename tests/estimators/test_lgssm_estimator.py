"""LinearGaussianSSM: agreement with pykalman, parameter recovery, fixed parameters,
sequences, controls, missing data, prediction, sampling, saving and bad input."""

from __future__ import annotations

import dataclasses
import warnings
from itertools import pairwise

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import emkit
from _lgssm_testing import chunk_of, random_params, simulate
from emkit import LinearGaussianSSM
from emkit.core import ConvergenceWarning, fit_em
from emkit.models._sequences import sequence_groups
from emkit.models.lgssm import LGSSM, PARAM_NAMES, LGSSMParams

PYKALMAN_NAMES = {
    "transition_matrix": "transition_matrices",
    "observation_matrix": "observation_matrices",
    "transition_covariance": "transition_covariance",
    "observation_covariance": "observation_covariance",
    "initial_state_mean": "initial_state_mean",
    "initial_state_covariance": "initial_state_covariance",
}


def _inits(params: LGSSMParams) -> dict:
    return {f"{name}_init": getattr(params, name) for name in PYKALMAN_NAMES}


def _start(k, p):
    """A fixed, deliberately poor starting point."""
    return LGSSMParams(
        transition_matrix=0.5 * np.eye(k),
        observation_matrix=np.ones((p, k)) + np.arange(p * k).reshape(p, k) / 10,
        transition_covariance=np.eye(k),
        observation_covariance=np.eye(p),
        initial_state_mean=np.zeros(k),
        initial_state_covariance=2 * np.eye(k),
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    truth = random_params(rng, 2, 3)
    X, _ = simulate(truth, [300], rng)
    return truth, X


# -- agreement with pykalman ---------------------------------------------------------------
@pytest.mark.parametrize(
    "learn",
    [
        tuple(PYKALMAN_NAMES),
        ("transition_matrix", "observation_matrix", "transition_covariance"),
        ("observation_covariance", "initial_state_mean"),
    ],
)
def test_em_agrees_with_pykalman_at_identical_initialisation(data, learn):
    pykalman = pytest.importorskip("pykalman")
    _, X = data
    start = _start(2, 3)
    ours = LinearGaussianSSM(2, learn=learn, max_iter=10, tol=0, **_inits(start))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X)
    theirs = pykalman.KalmanFilter(
        **{PYKALMAN_NAMES[name]: getattr(start, name) for name in PYKALMAN_NAMES}
    ).em(X, n_iter=10, em_vars=[PYKALMAN_NAMES[name] for name in learn])
    assert ours.score(X) == pytest.approx(theirs.loglikelihood(X), rel=1e-10)
    for name, their_name in PYKALMAN_NAMES.items():
        np.testing.assert_allclose(
            getattr(ours, f"{name}_"), getattr(theirs, their_name), rtol=1e-8, atol=1e-10
        )
    # the engine's trace records log p(x | θ) of every iteration's E-step
    assert ours.trace_["log_likelihood"][0] == pytest.approx(
        pykalman.KalmanFilter(
            **{PYKALMAN_NAMES[n]: getattr(start, n) for n in PYKALMAN_NAMES}
        ).loglikelihood(X),
        rel=1e-10,
    )


def test_filter_smoother_agree_with_pykalman_with_missing_rows(data):
    pykalman = pytest.importorskip("pykalman")
    truth, X = data
    X = X.copy()
    X[[3, 4, 50, 299]] = np.nan
    model = LinearGaussianSSM(2, learn=(), **_inits(truth)).fit(X)
    theirs = pykalman.KalmanFilter(**{PYKALMAN_NAMES[n]: getattr(truth, n) for n in PYKALMAN_NAMES})
    masked = np.ma.masked_invalid(X)
    for ours, (mean, cov) in (
        (model.filter(X), theirs.filter(masked)),
        (model.smooth(X), theirs.smooth(masked)),
    ):
        np.testing.assert_allclose(ours[0], mean, atol=1e-9)
        np.testing.assert_allclose(ours[1], cov, atol=1e-9)
    assert model.score(X) == pytest.approx(theirs.loglikelihood(masked), rel=1e-10)


# -- recovery of known parameters ---------------------------------------------------------
def _stationary_covariance(A, Q):
    from scipy.linalg import solve_discrete_lyapunov

    return solve_discrete_lyapunov(A, Q)


def _autocovariances(A, C, Q, R, lags=3):
    """Cov(x_{t+j}, x_t) of the stationary process: invariant under similarity transforms."""
    P = _stationary_covariance(A, Q)
    out = [C @ P @ C.T + R]
    for j in range(1, lags):
        out.append(C @ np.linalg.matrix_power(A, j) @ P @ C.T)
    return np.array(out)


def test_em_recovers_similarity_invariants_from_a_long_sequence():
    rng = np.random.RandomState(11)
    A = np.array([[0.8, 0.3], [-0.2, 0.7]])
    C = np.array([[1.0, 0.5], [-0.4, 1.2], [0.3, -0.8]])
    Q, R = np.diag([0.5, 0.3]), np.diag([0.2, 0.3, 0.25])
    truth = LGSSMParams(A, C, Q, R, np.zeros(2), _stationary_covariance(A, Q))
    truth = LGSSMParams(
        **{
            **truth.__dict__,
            "control_transition_matrix": np.zeros((2, 0)),
            "control_observation_matrix": np.zeros((3, 0)),
        }
    )
    X, _ = LGSSM(2, 3).sample(truth, 6000, rng)
    model = LinearGaussianSSM(
        2, observation_covariance_type="diag", tol=1e-7, max_iter=500, random_state=0
    ).fit(X)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(model.transition_matrix_)),
        np.sort_complex(np.linalg.eigvals(A)),
        atol=0.05,
    )
    fitted = _autocovariances(
        model.transition_matrix_,
        model.observation_matrix_,
        model.transition_covariance_,
        model.observation_covariance_,
    )
    expected = _autocovariances(A, C, Q, R)
    np.testing.assert_allclose(fitted, expected, atol=0.08 * np.abs(expected).max())
    np.testing.assert_allclose(np.diag(model.observation_covariance_), np.diag(R), atol=0.05)
    # the MLE is at least as likely as the truth
    truth_model = LinearGaussianSSM(2, learn=(), **_inits(truth)).fit(X)
    assert model.score(X) >= truth_model.score(X)


def test_em_recovers_controls_and_noise_with_known_dynamics():
    rng = np.random.RandomState(12)
    truth = dataclasses.replace(
        random_params(rng, 2, 2, 2),
        transition_matrix=np.array([[0.8, 0.2], [-0.1, 0.6]]),
        observation_matrix=np.array([[1.0, 0.3], [0.2, 1.0]]),
    )
    lengths = [1500, 1500]
    X, U = simulate(truth, lengths, rng, missing=0.1)
    fixed = {n: getattr(truth, n) for n in ("transition_matrix", "observation_matrix")}
    model = LinearGaussianSSM(
        2,
        learn=(
            "control_transition_matrix",
            "control_observation_matrix",
            "transition_covariance",
            "observation_covariance",
        ),
        tol=1e-7,
        max_iter=300,
        initial_state_mean_init=truth.initial_state_mean,
        initial_state_covariance_init=truth.initial_state_covariance,
        **{f"{n}_init": v for n, v in fixed.items()},
    ).fit(X, lengths=lengths, U=U)
    assert model.converged_
    for name in (
        "control_transition_matrix",
        "control_observation_matrix",
        "transition_covariance",
        "observation_covariance",
    ):
        expected = getattr(truth, name)
        np.testing.assert_allclose(
            getattr(model, f"{name}_"), expected, atol=0.1 * np.abs(expected).max(), err_msg=name
        )


# -- fixed parameters, sequences, chunks -----------------------------------------------------
def test_fixed_parameters_stay_exactly_fixed_at_every_iteration(data):
    _, X = data
    start = _start(2, 3)
    fixed = ("observation_matrix", "transition_covariance", "initial_state_covariance")
    learn = tuple(n for n in PYKALMAN_NAMES if n not in fixed)
    seen = []
    model = LinearGaussianSSM(2, learn=learn, max_iter=15, tol=0, **_inits(start))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, callback=lambda restart, iteration, params: seen.append(params))
    assert len(seen) == 16
    for params in seen:
        for name in fixed:
            np.testing.assert_array_equal(getattr(params, name), getattr(start, name))
    for name in fixed:
        assert getattr(model, f"{name}_").tobytes() == getattr(start, name).tobytes()
    assert not np.array_equal(model.transition_matrix_, start.transition_matrix)
    assert model.learned_ == learn


def test_multiple_sequences_equal_chunked_engine_run():
    rng = np.random.RandomState(3)
    truth = random_params(rng, 2, 2)
    lengths = [120, 80, 1]
    X, _ = simulate(truth, lengths, rng, missing=0.2)
    start = _start(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearGaussianSSM(2, max_iter=20, tol=0, **_inits(start)).fit(X, lengths)
        # the same fit from three chunks (one per sequence) summed by the engine
        learn = model.learned_
        given = LGSSMParams(
            initial_state_covariance=start.initial_state_covariance,
            control_transition_matrix=np.zeros((2, 0)),
            control_observation_matrix=np.zeros((2, 0)),
        )
        chunks = [chunk_of(X[:120]), chunk_of(X[120:200]), chunk_of(X[200:])]
        result = fit_em(
            LGSSM(2, 2, learn=learn, initial=given),
            chunks,
            n_samples=201,
            max_iter=20,
            tol=0,
            start_params=dataclasses.replace(
                start,
                control_transition_matrix=given.control_transition_matrix,
                control_observation_matrix=given.control_observation_matrix,
            ),
        )
    for name in PARAM_NAMES:
        np.testing.assert_allclose(
            getattr(model, f"{name}_"), getattr(result.params, name), rtol=1e-9, atol=1e-12
        )
    assert model.score(X, lengths) == pytest.approx(result.log_likelihood, rel=1e-12)
    assert model.score(X, lengths) != pytest.approx(model.score(X), rel=1e-6)


# -- prediction -----------------------------------------------------------------------------
def test_forecast_equals_filtering_of_missing_future_rows():
    rng = np.random.RandomState(4)
    truth = random_params(rng, 2, 3, 1)
    X, U = simulate(truth, [50], rng, missing=0.1)
    model = LinearGaussianSSM(
        2,
        learn=(),
        **_inits(truth),
        control_transition_matrix_init=truth.control_transition_matrix,
        control_observation_matrix_init=truth.control_observation_matrix,
    )
    model.fit(X, U=U)
    steps = 4
    U_future = rng.standard_normal((steps, 1))
    means, covs = model.forecast(X, steps, U=U, U_future=U_future)
    assert means.shape == (steps, 3) and covs.shape == (steps, 3, 3)
    # the predictive distribution of x_{T+h} is the filter's prediction for missing rows
    padded = np.vstack([X, np.full((steps, 3), np.nan)])
    filtered = model.model_.filter(model.params_, chunk_of(padded, np.vstack([U, U_future])))
    C, D, R = (
        truth.observation_matrix,
        truth.control_observation_matrix,
        truth.observation_covariance,
    )
    for h in range(steps):
        t = 50 + h
        np.testing.assert_allclose(
            means[h], C @ filtered.predicted_means[t] + D @ U_future[h], atol=1e-10
        )
        np.testing.assert_allclose(
            covs[h], C @ filtered.predicted_covariances[t] @ C.T + R, atol=1e-10
        )


def test_sample_is_reproducible_and_has_the_stationary_covariance():
    rng = np.random.RandomState(5)
    truth = random_params(rng, 2, 2, stable=0.7)
    P = _stationary_covariance(truth.transition_matrix, truth.transition_covariance)
    model = LinearGaussianSSM(
        2, learn=(), **{**_inits(truth), "initial_state_covariance_init": P}, random_state=1
    ).fit(simulate(truth, [20], rng)[0])
    X, states = model.sample(20000)
    assert X.shape == (20000, 2) and states.shape == (20000, 2)
    np.testing.assert_array_equal(model.sample(5)[0], model.sample(5)[0])
    C, R = truth.observation_matrix, truth.observation_covariance
    np.testing.assert_allclose(np.cov(X.T), C @ P @ C.T + R, rtol=0.1, atol=0.05)


def test_save_and_load_round_trip(tmp_path, data):
    _, X = data
    model = LinearGaussianSSM(2, observation_covariance_type="diag", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    path = emkit.save(model, tmp_path / "lgssm")
    loaded = emkit.load(path)
    assert isinstance(loaded, LinearGaussianSSM)
    for a, b in zip(model.smooth(X), loaded.smooth(X), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.score(X) == model.score(X)
    assert loaded.learned_ == model.learned_
    np.testing.assert_array_equal(loaded.trace_["log_likelihood"], model.trace_["log_likelihood"])


def test_warm_start_continues_and_restarts_are_deterministic(data):
    _, X = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearGaussianSSM(2, max_iter=3, warm_start=True, random_state=0).fit(X)
        first = model.log_likelihood_
        model.fit(X)
        assert model.log_likelihood_ >= first
        a = LinearGaussianSSM(2, n_init=3, max_iter=5, random_state=7).fit(X)
        b = LinearGaussianSSM(2, n_init=3, max_iter=5, random_state=7).fit(X)
    np.testing.assert_array_equal(a.transition_matrix_, b.transition_matrix_)


def test_information_criteria(data):
    _, X = data
    model = LinearGaussianSSM(2, learn="all", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    n_params = 4 + 6 + 3 + 6 + 2 + 3
    assert model.bic(X) == pytest.approx(-2 * model.score(X) + n_params * np.log(len(X)))
    assert model.aic(X) == pytest.approx(-2 * model.score(X) + 2 * n_params)


# -- bad input ------------------------------------------------------------------------------
X_SMALL = np.random.RandomState(0).standard_normal((30, 2))

BAD_INITS = {
    "shape": (dict(transition_matrix_init=np.eye(3)), "transition_matrix_init must have shape"),
    "obs-shape": (dict(observation_matrix_init=np.ones((3, 2))), "observation_matrix_init"),
    "not-pd": (dict(transition_covariance_init=[[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
    "negative-variance": (dict(observation_covariance_init=-1.0), "positive definite"),
    "not-symmetric": (dict(initial_state_covariance_init=[[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
    "not-diagonal": (
        dict(transition_covariance_type="diag", transition_covariance_init=[[1, 0.1], [0.1, 1]]),
        "must be diagonal",
    ),
    "not-spherical": (
        dict(observation_covariance_type="spherical", observation_covariance_init=[1.0, 2.0]),
        "multiple of the identity",
    ),
    "nan": (dict(initial_state_mean_init=[np.nan, 0.0]), "NaN or infinity"),
    "unknown-learn": (dict(learn=("transition_matrices",)), "unknown parameter names"),
    "controls-without-U": (dict(control_transition_matrix_init=np.ones((2, 1))), "no control"),
}


@pytest.mark.parametrize("case", BAD_INITS)
def test_bad_initial_values_are_refused_clearly(case):
    kwargs, message = BAD_INITS[case]
    with pytest.raises(ValueError, match=message):
        LinearGaussianSSM(2, **kwargs).fit(X_SMALL)


def test_bad_data_is_refused_clearly():
    model = LinearGaussianSSM(1)
    X = X_SMALL.copy()
    X[10:20] = np.nan
    with pytest.raises(ValueError, match=r"sequence 1 \(rows 10:20\) has no observed value"):
        model.fit(X, lengths=[10, 10, 10])
    X = X_SMALL.copy()
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\] are never observed"):
        model.fit(X)
    with pytest.raises(ValueError, match="lengths sum to 29 but X has 30 rows"):
        model.fit(X_SMALL, lengths=[10, 19])
    with pytest.raises(ValueError, match="lengths"):
        model.fit(X_SMALL, lengths=[10.5, 19.5])
    with pytest.raises(ValueError, match="one row per row of X"):
        model.fit(X_SMALL, U=np.ones((29, 1)))
    with pytest.raises(ValueError, match="U contains NaN"):
        model.fit(X_SMALL, U=np.full((30, 1), np.nan))
    with pytest.raises(ValueError, match="infinity"):
        model.fit(np.vstack([X_SMALL, [[np.inf, 0.0]]]))
    with pytest.raises(ValueError, match="every sequence has length 1"):
        model.fit(X_SMALL, lengths=[1] * 30)


def test_prediction_input_is_checked():
    model = LinearGaussianSSM(1, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_SMALL, U=np.ones((30, 1)))
    with pytest.raises(ValueError, match="fitted with 1 control inputs"):
        model.smooth(X_SMALL)
    with pytest.raises(ValueError, match="features"):
        model.filter(X_SMALL[:, :1], U=np.ones((30, 1)))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        model.forecast(X_SMALL, 0, U=np.ones((30, 1)))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        model.sample(0, U=np.ones((0, 1)))
    with pytest.raises(NotFittedError):
        LinearGaussianSSM(1).smooth(X_SMALL)


def test_squarem_fit_is_monotone_with_missing_data_and_controls():
    rng = np.random.RandomState(9)
    truth = random_params(rng, 2, 3, 1)
    X, U = simulate(truth, [150, 100], rng, missing=0.3)
    plain = LinearGaussianSSM(2, learn="all", tol=1e-6, max_iter=400, random_state=0)
    fast = LinearGaussianSSM(
        2, learn="all", tol=1e-6, max_iter=400, random_state=0, accelerate="squarem"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, [150, 100], U)
        fast.fit(X, [150, 100], U)
    history = fast.lower_bounds_
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert fast.n_e_steps_ < plain.n_e_steps_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 0.5


def test_threads_over_chunks_of_sequences_give_the_same_fit():
    rng = np.random.RandomState(10)
    truth = random_params(rng, 2, 2)
    lengths = [700] * 25  # 17500 rows: three chunks of whole sequences
    X, _ = simulate(truth, lengths, rng, missing=0.1)
    chunk = chunk_of(X, None, lengths)
    bounds = sequence_groups(chunk.offsets, 8192)
    pieces = [chunk_of(X[700 * a : 700 * b], None, lengths[a:b]) for a, b in pairwise(bounds)]
    assert [len(p) for p in pieces] == [7700, 7700, 2100]
    model = LGSSM(2, 2)
    whole, loglik = model.e_step(truth, chunk)
    parts = [model.e_step(truth, p) for p in pieces]
    assert emkit.core.allclose(whole, sum(s for s, _ in parts), rtol=1e-11)
    assert loglik == pytest.approx(sum(ll for _, ll in parts), rel=1e-12)
    fits = []
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(
                LinearGaussianSSM(2, max_iter=4, n_jobs=n_jobs, random_state=0).fit(X, lengths)
            )
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(fits[0], f"{name}_"), getattr(fits[1], f"{name}_"))
