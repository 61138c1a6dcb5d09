"""Fuzz corpus, prediction: fitted estimators fed degenerate and invalid input.

Every estimator is fitted once on well-behaved data; the corpus then calls its
prediction methods on far points, extreme scales, wrong widths, NaN, strings, complex
numbers, unseen symbols and so on. Valid input must give finite probabilities that sum
to one (log-densities may underflow to -inf, never NaN); invalid input a clear error.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from _fuzz_oracles import (
    FuzzFailure,
    _stochastic,
    call,
    check_clear_error,
    check_probabilities,
    names_of,
)
from _fuzz_strategies import count_rows, fuzz_pair, real_rows, symbol_rows
from hypothesis import strategies as st

import emkit

#: input kinds: the rows given to the prediction methods
REAL_KINDS = (
    "same",
    "far",
    "huge",
    "tiny",
    "one_row",
    "integers",
    "nested_list",
    "empty",
    "nan",
    "inf",
    "wrong_width",
    "strings",
    "complex",
    "one_dimensional",
)
COUNT_KINDS = (
    "same",
    "huge_counts",
    "zero_rows",
    "one_row",
    "fractional",
    "negative",
    "nan",
    "wrong_width",
)
SYMBOL_KINDS = (
    "same",
    "one_row",
    "unseen",
    "huge_symbol",
    "fractional",
    "negative",
    "nan",
    "wrong_width",
)


#: name -> (factory, training data, input kinds)
ESTIMATORS = {
    "GaussianMixture-full": (lambda: emkit.GaussianMixture(2, random_state=0), real_rows),
    "GaussianMixture-tied": (
        lambda: emkit.GaussianMixture(2, covariance_type="tied", random_state=0),
        real_rows,
    ),
    "GaussianMixture-diag": (
        lambda: emkit.GaussianMixture(2, covariance_type="diag", random_state=0),
        real_rows,
    ),
    "GaussianMixture-spherical": (
        lambda: emkit.GaussianMixture(2, covariance_type="spherical", random_state=0),
        real_rows,
    ),
    "GaussianMixture-float32": (
        lambda: emkit.GaussianMixture(2, dtype="float32", random_state=0),
        real_rows,
    ),
    "KMeans": (lambda: emkit.KMeans(2, random_state=0), real_rows),
    "GaussianHMM": (lambda: emkit.GaussianHMM(2, random_state=0), real_rows),
    "GMMHMM": (lambda: emkit.GMMHMM(2, n_mix=2, random_state=0), real_rows),
    "LinearGaussianSSM": (lambda: emkit.LinearGaussianSSM(1, random_state=0), real_rows),
    "PoissonMixture": (lambda: emkit.PoissonMixture(2, random_state=0), count_rows),
    "MultinomialMixture": (lambda: emkit.MultinomialMixture(2, random_state=0), count_rows),
    "PoissonHMM": (lambda: emkit.PoissonHMM(2, random_state=0), count_rows),
    "MultinomialHMM": (lambda: emkit.MultinomialHMM(2, random_state=0), count_rows),
    "CategoricalMixture": (lambda: emkit.CategoricalMixture(2, random_state=0), symbol_rows),
    "CategoricalHMM": (lambda: emkit.CategoricalHMM(2, random_state=0), symbol_rows),
}


@functools.cache
def fitted(name):
    """(estimator, training data), fitted once per session."""
    make, data = ESTIMATORS[name]
    X = data(0)
    return make().fit(X), X


def _kinds_of(name):
    data = ESTIMATORS[name][1]
    return {real_rows: REAL_KINDS, count_rows: COUNT_KINDS, symbol_rows: SYMBOL_KINDS}[data]


def build_input(name, kind, seed):
    """(rows for the prediction methods, valid) of ``kind`` for estimator ``name``."""
    est, X = fitted(name)
    rng = np.random.RandomState(seed)
    Z = X[rng.randint(len(X), size=rng.randint(1, 8))].copy()
    # NaN marks a missing value there (a Gaussian mixture marginalises it)
    missing_ok = name in ("LinearGaussianSSM", "GaussianHMM") or name.startswith("GaussianMixture")
    if kind == "far":
        return Z + rng.choice([-1, 1], size=Z.shape) * 10.0 ** rng.randint(3, 150), True
    if kind == "huge":
        return Z * 1e300, True
    if kind == "tiny":
        return Z * 1e-300, True
    if kind == "one_row":
        return Z[:1], True
    if kind == "integers":
        return np.rint(Z).astype(np.int64), True
    if kind == "nested_list":
        return Z.tolist(), True
    if kind == "empty":
        return Z[:0], True  # empty outputs or a clear error
    if kind == "nan":
        Z[rng.randint(len(Z)), rng.randint(Z.shape[1])] = np.nan
        return Z, missing_ok
    if kind == "inf":
        Z[rng.randint(len(Z)), 0] = np.inf
        return Z, False
    if kind == "wrong_width":
        return np.hstack([Z, Z[:, :1]]), False
    if kind == "strings":
        out = Z.astype(object)
        out[0, 0] = "abc"
        return out, False
    if kind == "complex":
        return Z + 1j, False
    if kind == "one_dimensional":
        return Z[:, 0], False
    if kind == "huge_counts":
        Z[0] = 1e6
        return Z, True
    if kind == "zero_rows":
        Z[: max(1, len(Z) // 2)] = 0
        return Z, True
    if kind == "fractional":
        Z[0, 0] = 0.5
        return Z, False
    if kind == "negative":
        Z[0, 0] = -1
        return Z, False
    if kind == "unseen":
        Z[0, 0] = est.n_symbols_ + 3
        return Z, False
    if kind == "huge_symbol":
        Z[0, 0] = 1e12
        return Z, False
    return Z, True  # "same"


def _outputs(est, Z):
    """The prediction methods' outputs on Z, as (name, array) pairs."""
    name = type(est).__name__
    if name == "LinearGaussianSSM":
        means, _ = est.filter(Z)
        return [("filter means", means), ("score", est.score(Z))]
    if name == "KMeans":
        return [("predict", est.predict(Z)), ("transform", est.transform(Z))]
    if name.endswith("HMM"):
        return [("predict_proba", est.predict_proba(Z)), ("predict", est.predict(Z))]
    return [
        ("predict_proba", est.predict_proba(Z)),
        ("predict", est.predict(Z)),
        ("score_samples", est.score_samples(Z)),
    ]


def _check_outputs(est, Z, outputs, what):
    values = dict(outputs)
    n_rows = len(np.asarray(Z))
    for label, value in outputs:
        value = np.asarray(value)
        if value.dtype.kind == "f" and (np.any(np.isnan(value)) or np.any(value == np.inf)):
            raise FuzzFailure("silent NaN", f"{what}: {label} holds NaN or +inf: {value!r}"[:600])
    if "predict_proba" in values:
        if type(est).__name__.endswith("HMM"):
            _stochastic(values["predict_proba"], "predict_proba rows", what)
        else:
            check_probabilities(values["predict_proba"], values["predict"], what, n_rows)
    if "predict" in values:
        labels = np.asarray(values["predict"])
        k = getattr(est, "n_components", getattr(est, "n_clusters", None))
        if labels.shape != (n_rows,) or np.any((labels < 0) | (labels >= k)):
            raise FuzzFailure("silent wrong result", f"{what}: labels {labels}")
    if "filter means" in values and not np.all(np.isfinite(values["filter means"])):
        raise FuzzFailure("silent NaN", f"{what}: filtered means are not finite")


def _predict_case(name, kind, seed):
    est, _ = fitted(name)
    Z, valid = build_input(name, kind, seed)
    what = f"{name}: prediction methods on {kind!r} input (seed {seed})"
    outputs, exc = call(lambda: _outputs(est, Z), what)
    if exc is not None:
        check_clear_error(exc, names_of(est), what)
        return
    if not valid:
        raise FuzzFailure("silent wrong result", f"{what}: invalid input accepted")
    _check_outputs(est, Z, outputs, what)


@st.composite
def _cases(draw):
    name = draw(st.sampled_from(sorted(ESTIMATORS)))
    return name, draw(st.sampled_from(_kinds_of(name))), draw(st.integers(0, 2**16))


def _predict(case):
    _predict_case(*case)


#: every estimator with every input kind, in the default run
GRID = [(name, kind) for name in sorted(ESTIMATORS) for kind in _kinds_of(name)]


@pytest.mark.parametrize(("name", "kind"), GRID, ids=[f"{n}-{k}" for n, k in GRID])
def test_predict_grid(name, kind):
    _predict_case(name, kind, seed=0)


test_predict, test_predict_slow = fuzz_pair(_predict, fast=10, slow=400, case=_cases())
