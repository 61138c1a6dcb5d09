"""Fuzz corpus, online EM: ``partial_fit`` batches that are degenerate or extreme.

A first well-behaved batch starts the model; a second batch of some kind follows (a
rescaled copy, a far offset, one row, a constant, NaN, a wrong width, zero weights).
After every call the model is valid: the call either succeeds with finite parameters
inside their constraints, or raises a clear error and leaves a valid model behind.
"""

from __future__ import annotations

import numpy as np
import pytest
from _fuzz_oracles import (
    FuzzFailure,
    _stochastic,
    call,
    check_clear_error,
    check_parameters,
    names_of,
)
from _fuzz_strategies import count_rows, fuzz_pair, real_rows, symbol_rows
from hypothesis import strategies as st

import emkit

#: second-batch kinds; the value says whether the batch is valid input
BATCH_KINDS = {
    "same": True,
    "scale1e200": True,
    "scale1e-200": True,
    "offset1e8": True,
    "one_row": True,
    "constant": True,
    "far_outlier": True,
    "nan": False,
    "wrong_width": False,
}


#: name -> (factory, batch data, whether the model takes real-valued data)
ONLINE = {
    "GaussianMixture-full": (lambda: emkit.GaussianMixture(2, random_state=0), real_rows),
    "GaussianMixture-diag": (
        lambda: emkit.GaussianMixture(2, covariance_type="diag", random_state=0),
        real_rows,
    ),
    "GaussianMixture-spherical-float32": (
        lambda: emkit.GaussianMixture(
            2, covariance_type="spherical", dtype="float32", random_state=0
        ),
        real_rows,
    ),
    "GaussianHMM": (lambda: emkit.GaussianHMM(2, random_state=0), real_rows),
    "GMMHMM": (lambda: emkit.GMMHMM(2, n_mix=2, random_state=0), real_rows),
    "LinearGaussianSSM": (lambda: emkit.LinearGaussianSSM(1, random_state=0), real_rows),
    "LinearGaussianSSM-2": (lambda: emkit.LinearGaussianSSM(2, random_state=0), real_rows),
    "PoissonMixture": (lambda: emkit.PoissonMixture(2, random_state=0), count_rows),
    "MultinomialMixture": (lambda: emkit.MultinomialMixture(2, random_state=0), count_rows),
    "PoissonHMM": (lambda: emkit.PoissonHMM(2, random_state=0), count_rows),
    "MultinomialHMM": (lambda: emkit.MultinomialHMM(2, random_state=0), count_rows),
    "CategoricalMixture": (lambda: emkit.CategoricalMixture(2, random_state=0), symbol_rows),
    "CategoricalHMM": (lambda: emkit.CategoricalHMM(2, random_state=0), symbol_rows),
}


def second_batch(data, kind, seed):
    """(the second batch, valid): real-valued kinds become counts for count models
    (rounded magnitudes), so that "scale1e200" means huge counts there."""
    X = data(seed + 1)
    rng = np.random.RandomState(seed)
    if kind == "scale1e200":
        X = 1e200 * X
    elif kind == "scale1e-200":
        X = 1e-200 * X
    elif kind == "offset1e8":
        X = X + 1e8
    elif kind == "one_row":
        X = X[:1]
    elif kind == "constant":
        X = np.repeat(X[:1], len(X), axis=0)
    elif kind == "far_outlier":
        X[rng.randint(len(X))] = 1e12
    elif kind == "nan":
        X[rng.randint(len(X)), 0] = np.nan
    elif kind == "wrong_width":
        X = np.hstack([X, X[:, :1]])
    if data is not real_rows:
        X = np.where(np.isnan(X), np.nan, np.rint(np.abs(X)))
        if data is symbol_rows and kind in ("scale1e200", "offset1e8", "far_outlier"):
            return X, False  # symbols beyond the alphabet learned from the first batch
    return X, BATCH_KINDS[kind]


def _online_case(name, kind, seed, n_batches=3):
    make, data = ONLINE[name]
    est = make()
    first = data(seed)
    what = f"{name}.partial_fit: batch of kind {kind!r} after a good one (seed {seed})"
    _, exc = call(lambda: est.partial_fit(first), f"{what}: first batch")
    if exc is not None:
        raise FuzzFailure("crash", f"{what}: the well-behaved first batch failed: {exc!r}")
    X, valid = second_batch(data, kind, seed)
    missing_ok = ("LinearGaussianSSM", "GaussianMixture", "GaussianHMM")
    if name.startswith(missing_ok) and kind == "nan":
        valid = True  # NaN marks a missing observation there
    for _ in range(n_batches):
        _, exc = call(lambda: est.partial_fit(X), what)
        if exc is not None:
            check_clear_error(exc, names_of(est), what)
            break
        if not valid:
            raise FuzzFailure("silent wrong result", f"{what}: invalid batch accepted")
    check_parameters(est, what, fitted_by_em=False)
    _check_predictions(est, first, what)


def _check_predictions(est, X, what):
    name = type(est).__name__
    if name == "LinearGaussianSSM":
        means, _ = est.filter(X)
        if not np.all(np.isfinite(means)) or not np.isfinite(est.score(X)):
            raise FuzzFailure("silent NaN", f"{what}: filter or score not finite afterwards")
        return
    proba, exc = call(lambda: est.predict_proba(X), f"{what}: predict_proba afterwards")
    if exc is not None:
        raise FuzzFailure("crash", f"{what}: predict_proba on the first batch fails: {exc!r}")
    _stochastic(proba, "predict_proba rows after the batches", what)


GRID = [(name, kind) for name in sorted(ONLINE) for kind in BATCH_KINDS]


@pytest.mark.parametrize(("name", "kind"), GRID, ids=[f"{n}-{k}" for n, k in GRID])
def test_partial_fit_grid(name, kind):
    _online_case(name, kind, seed=0)


def _partial_fit(name, kind, seed):
    _online_case(name, kind, seed)


test_partial_fit, test_partial_fit_slow = fuzz_pair(
    _partial_fit,
    fast=5,
    slow=150,
    name=st.sampled_from(sorted(ONLINE)),
    kind=st.sampled_from(sorted(BATCH_KINDS)),
    seed=st.integers(0, 2**16),
)
