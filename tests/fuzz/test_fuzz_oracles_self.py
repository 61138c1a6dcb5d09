"""The fuzz oracles can fail: each one is shown the bug it exists to catch."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest
from _fuzz_oracles import (
    FuzzFailure,
    call,
    check_clear_error,
    check_monotone,
    check_parameters,
    check_probabilities,
    time_limit,
)

NAMES = ("X", "n_components")


def _raised(fn):
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def _chained():
    try:
        np.linalg.cholesky(-np.eye(2))
    except np.linalg.LinAlgError as exc:
        raise ValueError("X is not usable") from exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (TypeError("X must be an array"), "crash"),
        (FloatingPointError("X overflowed"), "unclear error"),
        (ValueError("could not convert string to float: 'abc'"), "unclear error"),
        (ValueError("something went wrong"), "unclear error"),
        (_raised(lambda: np.linalg.cholesky(-np.eye(2))), "unclear error"),
        (_raised(_chained), "unclear error"),
    ],
    ids=["type", "arithmetic", "raw-text", "unnamed", "raised-in-numpy", "chained"],
)
def test_unclear_errors_are_caught(exc, kind):
    with pytest.raises(FuzzFailure) as failure:
        check_clear_error(exc, NAMES, "case")
    assert failure.value.kind == kind


def test_a_clear_error_passes():
    check_clear_error(ValueError("X has 1 row but n_components=2; lower it"), NAMES, "c")
    check_clear_error(ValueError("row 3 holds NaN; remove it"), NAMES, "c")


def test_a_decrease_is_caught():
    with pytest.raises(FuzzFailure, match="decrease"):
        check_monotone(types.SimpleNamespace(lower_bounds_=[1.0, 1.1, 1.05]), "case")
    check_monotone(types.SimpleNamespace(lower_bounds_=[1.0, 1.1, 1.1 - 1e-12]), "case")


def test_invalid_parameters_are_caught():
    est = types.SimpleNamespace(weights_=np.array([0.5, np.nan]), log_likelihood_=0.0)
    with pytest.raises(FuzzFailure, match="silent NaN"):
        check_parameters(est, "case")
    est = types.SimpleNamespace(weights_=np.array([0.5, 0.49]), log_likelihood_=0.0)
    with pytest.raises(FuzzFailure, match="sums to"):
        check_parameters(est, "case")
    asymmetric = np.array([[[1.0, 0.5], [0.0, 1.0]]])
    est = types.SimpleNamespace(
        covariance_type="full", covariances_=asymmetric, log_likelihood_=0.0
    )
    with pytest.raises(FuzzFailure, match="not symmetric"):
        check_parameters(est, "case")


def test_predict_must_be_the_argmax():
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    check_probabilities(proba, np.array([0, 1]), "case", 2)
    with pytest.raises(FuzzFailure, match="argmax"):
        check_probabilities(proba, np.array([1, 1]), "case", 2)


def test_a_hang_is_reported():
    with pytest.raises(FuzzFailure, match="hang"):
        with time_limit(0.2, "loop"):
            while True:
                time.sleep(0.01)


def test_call_turns_a_decrease_warning_into_a_failure():
    import warnings

    import emkit

    def decreasing():
        warnings.warn("fell", emkit.LikelihoodDecreaseWarning, stacklevel=1)

    with pytest.raises(FuzzFailure, match="decrease"):
        call(decreasing, "case")
