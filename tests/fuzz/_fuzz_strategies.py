"""Degenerate and extreme data for the fuzz corpus, as hypothesis strategies.

A strategy draws a small *spec* (a dict of a kind, a seed and sizes), and a builder
turns a spec into arrays with a seeded RandomState: the spec is what hypothesis
prints for a failing case, and ``build_*(spec)`` reproduces its data exactly.

Builders return ``(X, valid)``: ``valid`` is False for data that no estimator of the
kind may accept (NaN where missing values are not allowed, infinities, negative
counts, fractional symbols ...), so that the call must raise a clear error.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

#: fast (default run) and slow example counts per test
FAST, SLOW = 6, 60


def fuzz_settings(max_examples: int):
    """Reproducible settings without shrinking: a failure is reported as found, at once."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=("explicit", "generate"),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


# -- real-valued data (Gaussian mixtures, KMeans, Gaussian HMMs) ---------------------------
GAUSSIAN_KINDS = (
    "blobs",
    "constant_column",
    "all_constant",
    "duplicated",
    "few_rows",
    "one_row",
    "offset",
    "scale",
    "outliers",
    "integer",
    "nan",
    "inf",
)
SPREADS = (1e-4, 1e-2, 1.0)
SCALES = (1e-300, 1e-150, 1e-8, 1e8, 1e150, 1e300)


def _row_specs(kinds, max_rows: int, max_features: int, **extra):
    """Specs ``{"kind", "seed", "n", "d", **extra}`` of a data set of n rows, d features."""
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(kinds),
            "seed": st.integers(0, 2**16),
            "n": st.integers(2, max_rows),
            "d": st.integers(1, max_features),
            **extra,
        }
    )


def gaussian_specs(kinds=GAUSSIAN_KINDS):
    return _row_specs(kinds, 40, 3, spread=st.sampled_from(SPREADS), scale=st.sampled_from(SCALES))


def build_gaussian(spec, n_components=2):
    """(X of shape (n, d), valid) for a spec of ``gaussian_specs``."""
    rng = np.random.RandomState(spec["seed"])
    n, d, kind = spec["n"], spec["d"], spec["kind"]
    centres = 5.0 * rng.standard_normal((3, d))
    X = centres[rng.randint(3, size=n)] + rng.standard_normal((n, d))
    valid = True
    if kind == "constant_column":
        X[:, rng.randint(d)] = 3.5
    elif kind == "all_constant":
        X[:] = rng.standard_normal(d)
    elif kind == "duplicated":
        X = X[rng.randint(min(2, n), size=n)]
    elif kind == "few_rows":
        X = X[: max(1, min(n, n_components - 1 or 1))]
    elif kind == "one_row":
        X = X[:1]
    elif kind == "offset":
        X = 1e8 + spec["spread"] * X
    elif kind == "scale":
        X = spec["scale"] * X
    elif kind == "outliers":
        rows = rng.choice(n, size=min(2, n), replace=False)
        X[rows] += 10.0 ** rng.choice([6, 9, 12]) * rng.choice([-1, 1], size=(len(rows), d))
    elif kind == "integer":
        X = np.rint(X).astype(np.int64)
    elif kind in ("nan", "inf"):
        X[rng.randint(n), rng.randint(d)] = np.nan if kind == "nan" else -np.inf
        valid = False
    return X, valid


# -- sample weights -------------------------------------------------------------------------
WEIGHT_KINDS = ("none", "ones", "some_zeros", "tiny", "huge", "mixed", "all_zero", "negative")


def build_weights(kind, n, seed):
    """(sample_weight or None, valid) of length n."""
    rng = np.random.RandomState(seed + 1)
    if kind == "none":
        return None, True
    if kind == "ones":
        return np.ones(n), True
    if kind == "some_zeros":
        w = rng.uniform(0.5, 2.0, n)
        w[rng.rand(n) < 0.4] = 0.0
        return w, bool(np.any(w > 0))
    if kind == "tiny":
        return np.full(n, 1e-300), True
    if kind == "huge":
        return np.full(n, 1e300), True
    if kind == "mixed":
        return 10.0 ** rng.uniform(-300, 300, n), True
    if kind == "all_zero":
        return np.zeros(n), False
    return -rng.uniform(0.5, 2.0, n), False


# -- sequence lengths -----------------------------------------------------------------------
LENGTH_KINDS = ("none", "ones", "pairs", "random", "wrong_total", "with_zero")


def build_lengths(kind, n, seed):
    """(lengths or None, valid) for n rows."""
    rng = np.random.RandomState(seed + 2)
    if kind == "none":
        return None, True
    if kind == "ones":
        return np.ones(n, dtype=int), True
    if kind == "pairs":
        return np.array([2] * (n // 2) + [1] * (n % 2)), True
    if kind == "random":
        cuts = np.sort(
            rng.choice(np.arange(1, n), size=min(n - 1, rng.randint(0, 5)), replace=False)
        )
        return np.diff(np.concatenate([[0], cuts, [n]])), True
    if kind == "wrong_total":
        return np.array([n + 1]), False
    return np.array([0, n]), True  # an empty sequence: either fine or a clear error


# -- counts ---------------------------------------------------------------------------------
COUNT_KINDS = (
    "counts",
    "all_zero",
    "zero_rows",
    "huge_counts",
    "one_row",
    "constant",
    "fractional",
    "negative",
    "nan",
)


def count_specs(kinds=COUNT_KINDS):
    return _row_specs(kinds, 30, 4)


def build_counts(spec):
    """(non-negative integer counts of shape (n, d), valid) for a ``count_specs`` spec."""
    rng = np.random.RandomState(spec["seed"])
    n, d, kind = spec["n"], spec["d"], spec["kind"]
    X = rng.poisson(rng.choice([0.5, 3.0, 20.0], size=(n, 1)), size=(n, d)).astype(float)
    valid = True
    if kind == "all_zero":
        X[:] = 0
    elif kind == "zero_rows":
        X[rng.rand(n) < 0.5] = 0
    elif kind == "huge_counts":
        X[rng.randint(n)] = 1e9
    elif kind == "one_row":
        X = X[:1]
    elif kind == "constant":
        X[:] = 2
    elif kind == "fractional":
        X[rng.randint(n), rng.randint(d)] = 0.5
        valid = False
    elif kind == "negative":
        X[rng.randint(n), rng.randint(d)] = -1
        valid = False
    elif kind == "nan":
        X[rng.randint(n), rng.randint(d)] = np.nan
        valid = False
    return X, valid


SYMBOL_KINDS = (
    "symbols",
    "single_symbol",
    "one_row",
    "sparse_alphabet",
    "huge_symbol",
    "fractional",
    "negative",
    "nan",
)


def symbol_specs():
    return _row_specs(SYMBOL_KINDS, 30, 3)


def build_symbols(spec):
    """(integer symbols of shape (n, d), valid) for a ``symbol_specs`` spec.

    "huge_symbol" (1e8) is valid input that needs a huge alphabet: a fit may succeed
    or refuse it clearly, never fail with a bare MemoryError.
    """
    rng = np.random.RandomState(spec["seed"])
    n, d, kind = spec["n"], spec["d"], spec["kind"]
    X = rng.randint(0, 4, size=(n, d)).astype(float)
    valid = True
    if kind == "single_symbol":
        X[:] = 0
    elif kind == "one_row":
        X = X[:1]
    elif kind == "sparse_alphabet":
        X[X == 1] = 9  # symbols 1..8 never seen
    elif kind == "huge_symbol":
        X[rng.randint(n), rng.randint(d)] = 1e8
    elif kind == "fractional":
        X[rng.randint(n), rng.randint(d)] = 1.5
        valid = False
    elif kind == "negative":
        X[rng.randint(n), rng.randint(d)] = -1
        valid = False
    elif kind == "nan":
        X[rng.randint(n), rng.randint(d)] = np.nan
        valid = False
    return X, valid


# -- state-space series ---------------------------------------------------------------------
SERIES_KINDS = ("ar", "constant", "scale", "offset", "missing", "missing_rows", "short", "inf")


def series_specs():
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(SERIES_KINDS),
            "seed": st.integers(0, 2**16),
            "T": st.integers(2, 60),
            "p": st.integers(1, 2),
            "scale": st.sampled_from(SCALES),
        }
    )


def build_series(spec):
    """(observations of shape (T, p), valid) for a ``series_specs`` spec: an AR(1)
    state observed with noise, made degenerate as the kind says (NaN is missing, and
    valid; infinity is not)."""
    rng = np.random.RandomState(spec["seed"])
    T, p, kind = spec["T"], spec["p"], spec["kind"]
    z = np.zeros(T)
    for t in range(1, T):
        z[t] = 0.9 * z[t - 1] + 0.3 * rng.standard_normal()
    X = np.outer(z, rng.uniform(0.5, 1.5, p)) + 0.5 * rng.standard_normal((T, p))
    valid = True
    if kind == "constant":
        X[:] = 2.0
    elif kind == "scale":
        X *= spec["scale"]
    elif kind == "offset":
        X += 1e8
    elif kind == "missing":
        X[rng.rand(T, p) < 0.1] = np.nan
    elif kind == "missing_rows":
        X[rng.rand(T) < 0.3] = np.nan
    elif kind == "short":
        X = X[: rng.randint(1, 4)]
    elif kind == "inf":
        X[rng.randint(T), rng.randint(p)] = np.inf
        valid = False
    return X, valid


# -- well-behaved training rows, the base that the predict and partial_fit grids perturb
def real_rows(seed, n=40, d=2):
    """(n, d) floats: two well-separated unit-variance clusters."""
    rng = np.random.RandomState(seed)
    return rng.standard_normal((n, d)) + 6.0 * rng.randint(2, size=(n, 1))


def count_rows(seed, n=40, d=3):
    """(n, d) Poisson counts from two rates, as floats."""
    rng = np.random.RandomState(seed)
    return rng.poisson(rng.choice([1.0, 8.0], size=(n, 1)), size=(n, d)).astype(float)


def symbol_rows(seed, n=40, d=1):
    """(n, d) symbols 0..3, as floats."""
    return np.random.RandomState(seed).randint(0, 4, size=(n, d)).astype(float)


def fuzz_pair(check, fast=FAST, slow=SLOW, **strategies):
    """Two tests of ``check`` over ``strategies``: ``fast`` examples in the default run
    and ``slow`` examples marked slow. Assign them as ``test_x, test_x_slow = fuzz_pair(...)``."""
    import pytest
    from hypothesis import given

    fast_test = fuzz_settings(fast)(given(**strategies)(check))
    fast_test._fuzz_strategies = strategies  # for a survey of every failing example
    slow_test = pytest.mark.slow(fuzz_settings(slow)(given(**strategies)(check)))
    return fast_test, slow_test
