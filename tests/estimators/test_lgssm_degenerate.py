"""Issue 11 for the state-space model: degenerate data and starts give a clear error
or a correct fit with a monotone log-likelihood, never a crash many iterations in,
silent NaN or a raw NumPy message."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from emkit import LinearGaussianSSM
from emkit.core import LikelihoodDecreaseWarning
from emkit.models.lgssm import floored_covariance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def three_state_data(seed, T, missing_rows=True):
    """AR-like 3-D states (noise sd 0.3), 2-D observations (noise sd 0.5), 10% missing."""
    rng = np.random.RandomState(seed)
    A = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.1], [0.0, 0.0, 0.7]])
    C = rng.standard_normal((2, 3))
    z, X = np.zeros(3), np.empty((T, 2))
    for t in range(T):
        z = A @ z + 0.3 * rng.standard_normal(3)
        X[t] = C @ z + 0.5 * rng.standard_normal(2)
    if missing_rows:
        X[rng.rand(T) < 0.1] = np.nan
    else:
        X[rng.rand(T, 2) < 0.1] = np.nan
    return X


def fit_strict(model, X):
    """Fit with any decrease of the objective turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        return model.fit(X)


@pytest.mark.parametrize(
    "seed, T, missing_rows", [(2, 300, True), (7, 100, False), (6, 100, True), (7, 1000, False)]
)
def test_more_states_than_features_fits_without_filter_failure(seed, T, missing_rows):
    # these data made the start's Q and P0 singular (eigenvalue ~6e-7): EM drifted
    # into explosive dynamics and the filter failed tens of iterations in
    model = fit_strict(
        LinearGaussianSSM(3, random_state=0), three_state_data(seed, T, missing_rows)
    )
    assert np.isfinite(model.log_likelihood_)
    assert np.linalg.eigvalsh(model.initial_state_covariance_)[0] > 1e-3


def test_partial_fit_refuses_overflowing_batch_and_keeps_the_model():
    X = np.random.RandomState(0).standard_normal((100, 2))
    model = LinearGaussianSSM(1).partial_fit(X)
    before = {
        name: getattr(model, name).copy()
        for name in ("transition_matrix_", "observation_covariance_")
    }
    with pytest.raises(ValueError, match=r"too large for the Kalman filter.*Scale X"):
        model.partial_fit(X * 1e200)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    assert model.n_iter_ == 1


@pytest.mark.parametrize(
    "scale, word", [(1e300, "too large"), (1e160, "too large"), (1e-300, "too small")]
)
def test_extreme_scales_name_x_and_the_remedy(scale, word):
    X = np.random.RandomState(1).standard_normal((50, 1)) * scale
    with pytest.raises(ValueError, match=rf"X has values {word}.*Scale X") as info:
        LinearGaussianSSM(1).fit(X)
    assert info.value.__cause__ is None and info.value.__suppress_context__ in (True, False)


def test_overflowing_data_in_score_is_a_clear_error():
    X = np.random.RandomState(2).standard_normal((40, 1))
    model = LinearGaussianSSM(1).fit(X)
    with pytest.raises(ValueError, match="too large for the Kalman filter"):
        model.score(X * 1e300)


def test_constant_series_with_reg_covar_is_monotone():
    # reg_covar used to be added after the M-step: on a constant series Q and R
    # collapse onto it and the objective fell by 0.19 per step
    model = fit_strict(LinearGaussianSSM(1, reg_covar=1e-3, max_iter=200), np.ones((20, 1)))
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)
    assert np.isfinite(model.log_likelihood_)


def test_constant_series_without_reg_covar_names_the_remedy():
    with pytest.raises(np.linalg.LinAlgError, match=r"not positive definite.*Set reg_covar > 0"):
        LinearGaussianSSM(1).fit(np.ones((20, 1)))


@pytest.mark.parametrize("kind", ["full", "diag", "spherical"])
def test_floored_covariance_is_the_constrained_maximiser(kind):
    # -(log|Σ| + tr(Σ⁻¹ S)) at the floored Σ beats every feasible perturbation
    rng = np.random.RandomState(3)
    B = rng.standard_normal((3, 3))
    S = B @ np.diag([1e-4, 0.5, 2.0]) @ B.T
    S = {"full": S, "diag": np.diag(np.diag(S)), "spherical": np.mean(np.diag(S)) * np.eye(3)}[kind]
    floor = np.array([0.3, 0.2, 0.6]) if kind != "spherical" else np.full(3, 0.4)

    def objective(sigma):
        return -(np.linalg.slogdet(sigma)[1] + np.trace(np.linalg.solve(sigma, S)))

    best = floored_covariance(S, floor, kind)
    assert np.linalg.eigvalsh(best - np.diag(floor))[0] >= -1e-12
    for _ in range(200):
        E = 0.05 * rng.standard_normal((3, 3))
        E = {
            "full": E @ E.T,
            "diag": np.diag(np.abs(np.diag(E))),
            "spherical": abs(E[0, 0]) * np.eye(3),
        }[kind]
        candidate = best + E  # still feasible
        assert objective(candidate) <= objective(best) + 1e-12
    # no floor binding: the very same array
    assert floored_covariance(S + 10 * np.eye(3), floor, kind) is not S
    unbound = S + 10 * np.eye(3)
    assert floored_covariance(unbound, floor, kind) is unbound


def test_non_binding_reg_covar_changes_nothing():
    X = three_state_data(0, 200)
    plain = LinearGaussianSSM(2, max_iter=20, tol=0, random_state=0).fit(X)
    floored = LinearGaussianSSM(2, max_iter=20, tol=0, random_state=0, reg_covar=1e-12).fit(X)
    assert plain.log_likelihood_ == floored.log_likelihood_


@pytest.mark.parametrize(
    "options, match",
    [
        ({"transition_matrix_init": np.eye(3)}, "transition_matrix_init must have shape"),
        ({"observation_matrix_init": np.ones((3, 2))}, "observation_matrix_init must have shape"),
        ({"initial_state_mean_init": np.zeros(3)}, "initial_state_mean_init must have shape"),
        (
            {"transition_covariance_init": -np.eye(2)},
            "transition_covariance_init must be symmetric",
        ),
        ({"observation_covariance_init": [[1.0, 2.0], [2.0, 1.0]]}, "observation_covariance_init"),
        ({"observation_covariance_init": [[np.nan, 0], [0, 1]]}, "NaN or infinity"),
        ({"observation_matrix_init": np.full((2, 2), np.nan)}, "NaN or infinity"),
        ({"initial_state_covariance_init": np.ones((2, 3))}, "initial_state_covariance_init"),
    ],
)
def test_bad_init_arrays_are_refused_before_any_kernel(options, match):
    X = np.random.RandomState(4).standard_normal((30, 2))
    with pytest.raises(ValueError, match=match):
        LinearGaussianSSM(2, **options).fit(X)


def test_wrong_shaped_parameters_never_reach_the_kernels():
    from emkit._kernels.kalman import kalman_filter

    X = np.zeros((5, 2))
    k = 2
    A, C, Q, R = np.eye(k), np.ones((2, k)), np.eye(k), np.eye(2)
    with pytest.raises(ValueError, match="observation_matrix must have shape"):
        kalman_filter(
            X,
            np.zeros((5, 0)),
            np.array([0, 5]),
            A,
            np.zeros((k, 0)),
            np.ones((3, k)),
            np.zeros((2, 0)),
            Q,
            R,
            np.zeros(k),
            np.eye(k),
        )
    with pytest.raises(ValueError, match="offsets"):
        kalman_filter(
            X,
            np.zeros((5, 0)),
            np.array([0, 9]),
            A,
            np.zeros((k, 0)),
            C,
            np.zeros((2, 0)),
            Q,
            R,
            np.zeros(k),
            np.eye(k),
        )


@pytest.mark.parametrize(
    "X, lengths",
    [
        (np.random.RandomState(5).standard_normal((3, 2)), None),  # shorter than the state
        (np.r_[np.random.RandomState(6).standard_normal((10, 2)), np.full((5, 2), np.nan)], None),
    ],
)
def test_short_or_partly_missing_series_fit_or_fail_clearly(X, lengths):
    try:
        model = fit_strict(LinearGaussianSSM(3, max_iter=50, random_state=0), X)
    except (ValueError, np.linalg.LinAlgError) as error:
        message = str(error)
        assert "reg_covar" in message or "X" in message
        assert error.__cause__ is None
    else:
        assert np.isfinite(model.log_likelihood_)
        assert np.all(np.diff(model.lower_bounds_) >= -1e-9 * np.abs(model.lower_bounds_[1:]))


def test_all_missing_column_or_sequence_is_refused():
    X = np.random.RandomState(7).standard_normal((30, 2))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\] are never observed"):
        LinearGaussianSSM(1).fit(X)
    X = np.random.RandomState(7).standard_normal((30, 2))
    X[10:20] = np.nan
    with pytest.raises(ValueError, match=r"sequence 1 .* has no observed value"):
        LinearGaussianSSM(1).fit(X, lengths=[10, 10, 10])


@pytest.mark.parametrize("shape", [(2, 3), (3, 2), (1, 4)])
@pytest.mark.parametrize(
    "field", ["transition_covariance_", "observation_covariance_", "initial_state_covariance_"]
)
def test_non_square_covariance_is_refused_by_the_shape_check(field, shape):
    # symmetrising ran np.allclose(a, a.T) first: NumPy's broadcast message
    model = LinearGaussianSSM(2, max_iter=5).fit(np.random.RandomState(8).standard_normal((30, 2)))
    expected = re.escape(f"{field} must have shape (2, 2), got {shape}")
    with pytest.raises(ValueError, match=expected):
        setattr(model, field, np.ones(shape))


@pytest.mark.parametrize(
    "scale, word", [(1e300, "too large"), (1e200, "too large"), (1e-300, "too small")]
)
def test_extreme_controls_name_u_and_the_remedy(scale, word):
    # U was checked only for being finite: 1e300 gave a LinAlgError from NumPy, 1e-300
    # lost the control's effect without a word (its squares underflow to 0)
    rng = np.random.RandomState(9)
    X, U = rng.standard_normal((100, 2)), rng.standard_normal((100, 1)) * scale
    with pytest.raises(ValueError, match=rf"U has values {word}.*control 0.*Scale U"):
        LinearGaussianSSM(2).fit(X, U=U)
    model = LinearGaussianSSM(2, max_iter=5).fit(X, U=U / scale)
    with pytest.raises(ValueError, match=rf"U has values {word}"):
        model.score(X, U=U)


def test_controls_that_are_not_numbers_are_named():
    X = np.random.RandomState(10).standard_normal((20, 1))
    U = np.ones((20, 1), dtype=object)
    U[4, 0] = "on"
    with pytest.raises(ValueError, match=r"U\[4, 0\] = 'on' is a string"):
        LinearGaussianSSM(1).fit(X, U=U)


def test_huge_data_is_refused_before_the_start_s_svd():
    # X * 1e200 reached the data-driven start's SVD ("SVD did not converge")
    X = np.random.RandomState(11).standard_normal((100, 2)) * 1e200
    with pytest.raises(ValueError, match=r"X has values too large.*Scale X"):
        LinearGaussianSSM(2).fit(X)


# -- round 3: offset data, rounding-level state scales, online M-steps ----------------------
def test_offset_data_is_refused_naming_the_remedy():
    # at offset 1e8 the raw moments keep none of the spread's digits: the bound fell
    # from -3.09 to -342792 in one step
    rng = np.random.RandomState(0)
    z = np.zeros(40)
    for t in range(1, 40):
        z[t] = 0.9 * z[t - 1] + 0.3 * rng.standard_normal()
    X = 1e8 + np.outer(z, rng.uniform(0.5, 1.5, 2)) + 0.5 * rng.standard_normal((40, 2))
    model = LinearGaussianSSM(1, reg_covar=1e-6, max_iter=30, random_state=0)
    with pytest.raises(ValueError, match=r"feature 0 has mean 1e\+08.*Centre X"):
        model.fit(X)
    # centred, the same data fit monotonically
    fit_strict(model, X - X.mean(axis=0))


def test_offset_batch_is_refused_and_keeps_the_model():
    X = np.random.RandomState(0).standard_normal((40, 2))
    model = LinearGaussianSSM(1, random_state=0).partial_fit(X)
    before = model.params_
    with pytest.raises(ValueError, match="Centre X"):
        model.partial_fit(X + 1e8)
    assert model.params_ is before and model.n_iter_ == 1


def test_constant_series_floor_binds_on_q_with_many_states():
    # the states projected from a constant series have a variance of rounding noise
    # (4e-33): a floor relative to it was 4e-39 and Q came out singular
    model = LinearGaussianSSM(3, reg_covar=1e-6, max_iter=30, random_state=0)
    model.fit(np.full((3, 1), 2.0), lengths=[2, 1])
    for name in ("transition_covariance_", "initial_state_covariance_"):
        assert np.linalg.eigvalsh(getattr(model, name))[0] > 1e-9, name


def test_constant_two_feature_series_with_reg_covar_is_monotone():
    # fell by 1.01e-9 relative: Q's floor was at rounding level, so Q's eigenvalues
    # (1e-17) were the rounding of the raw state moments, amplified by log|Q|
    model = fit_strict(
        LinearGaussianSSM(3, reg_covar=1e-6, max_iter=30, random_state=0), np.full((40, 2), 2.0)
    )
    assert np.all(np.diff(model.lower_bounds_) >= 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_row_batches_are_refused_or_leave_a_usable_model(seed):
    # with a step that forgets the first batch the one-row batch's statistics held no
    # transition (A and Q were left unset) and a rank-one R passed Cholesky on rounding
    rng = np.random.RandomState(seed)
    first = rng.standard_normal((40, 2)) + 6.0 * rng.randint(2, size=(40, 1))
    model = LinearGaussianSSM(random_state=0).partial_fit(first)
    row = rng.standard_normal((1, 2))
    for _ in range(3):
        before = model.params_
        try:
            model.partial_fit(row)
        except ValueError as error:
            assert re.search(r"reg_covar|length 2 or more", str(error)), error
            assert model.params_ is before
    means, _ = model.filter(first)
    assert np.all(np.isfinite(means)) and np.isfinite(model.score(first))


def test_constant_batch_without_reg_covar_is_refused_before_commit():
    model = LinearGaussianSSM(1, random_state=0)
    with pytest.raises(np.linalg.LinAlgError, match=r"observation_covariance.*reg_covar"):
        model.partial_fit(np.full((10, 2), 3.0))
    assert "params_" not in model.__dict__
