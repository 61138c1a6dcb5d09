"""Fuzz corpus, fit: every estimator on degenerate and extreme data.

Each case either raises a clear error or fits a valid model (see _fuzz_oracles).
"""

from __future__ import annotations

import numpy as np
import pytest
from _fuzz_oracles import (
    check_hmm,
    check_kmeans,
    check_lgssm,
    check_mixture,
    expect_clear_error,
    expect_fit_or_clear_error,
    names_of,
)
from _fuzz_strategies import (
    COUNT_KINDS,
    COVARIANCE_TYPES,
    GAUSSIAN_KINDS,
    LENGTH_KINDS,
    SERIES_KINDS,
    SYMBOL_KINDS,
    WEIGHT_KINDS,
    build_counts,
    build_gaussian,
    build_lengths,
    build_series,
    build_symbols,
    build_weights,
    count_specs,
    fuzz_pair,
    gaussian_specs,
    series_specs,
    symbol_specs,
)
from hypothesis import strategies as st

import emkit

#: iterations per fit: enough to show a decrease, few enough for the default run
MAX_ITER = 30


def _fit_checked(make, X, valid, what, check, **fit_args):
    """Fit ``make()`` on X: a clear error for invalid data, otherwise ``check(est)``."""
    if not valid:
        est = make()
        expect_clear_error(lambda: est.fit(X, **fit_args), names_of(est), what)
        return
    est = expect_fit_or_clear_error(make, lambda est: est.fit(X, **fit_args), what)
    if est is not None:
        check(est)


def _gaussian_mixture(spec, n_components, covariance_type, dtype, weight_kind):
    X, valid = build_gaussian(spec, n_components)
    # NaN is a missing value for a Gaussian mixture (a row left with none: a clear error)
    valid = valid or spec["kind"] == "nan"
    weights, weights_valid = build_weights(weight_kind, len(X), spec["seed"])
    what = (
        f"GaussianMixture({n_components}, covariance_type={covariance_type!r}, "
        f"dtype={dtype!r}) on {spec}, sample_weight={weight_kind}"
    )
    _fit_checked(
        lambda: emkit.GaussianMixture(
            n_components,
            covariance_type=covariance_type,
            dtype=dtype,
            max_iter=MAX_ITER,
            random_state=0,
        ),
        X,
        valid and weights_valid,
        what,
        lambda est: check_mixture(est, X, what, sample_weight=weights),
        sample_weight=weights,
    )


test_gaussian_mixture, test_gaussian_mixture_slow = fuzz_pair(
    _gaussian_mixture,
    spec=gaussian_specs(),
    n_components=st.integers(1, 3),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    dtype=st.sampled_from(("float64", "float32")),
    weight_kind=st.sampled_from(WEIGHT_KINDS),
)


def _kmeans(spec, n_clusters, weight_kind):
    X, valid = build_gaussian(spec, n_clusters)
    weights, weights_valid = build_weights(weight_kind, len(X), spec["seed"])
    what = f"KMeans({n_clusters}) on {spec}, sample_weight={weight_kind}"
    _fit_checked(
        lambda: emkit.KMeans(n_clusters, max_iter=MAX_ITER, random_state=0),
        X,
        valid and weights_valid,
        what,
        lambda est: check_kmeans(est, X, what, sample_weight=weights),
        sample_weight=weights,
    )


test_kmeans, test_kmeans_slow = fuzz_pair(
    _kmeans,
    spec=gaussian_specs(),
    n_clusters=st.integers(1, 3),
    weight_kind=st.sampled_from(WEIGHT_KINDS),
)


_COUNT_MIXTURES = {
    "PoissonMixture": (emkit.PoissonMixture, build_counts),
    "MultinomialMixture": (emkit.MultinomialMixture, build_counts),
    "CategoricalMixture": (emkit.CategoricalMixture, build_symbols),
}


def _count_mixture(name, seed_spec, n_components, weight_kind):
    cls, build = _COUNT_MIXTURES[name]
    X, valid = build(seed_spec)
    weights, weights_valid = build_weights(weight_kind, len(X), seed_spec["seed"])
    what = f"{name}({n_components}) on {seed_spec}, sample_weight={weight_kind}"
    _fit_checked(
        lambda: cls(n_components, max_iter=MAX_ITER, random_state=0),
        X,
        valid and weights_valid,
        what,
        lambda est: check_mixture(
            est, X, what, sample_weight=weights, far=name == "PoissonMixture"
        ),
        sample_weight=weights,
    )


@st.composite
def _count_cases(draw):
    name = draw(st.sampled_from(sorted(_COUNT_MIXTURES)))
    spec = draw(symbol_specs() if name == "CategoricalMixture" else count_specs())
    return name, spec


def _count_mixture_case(case, n_components, weight_kind):
    _count_mixture(*case, n_components, weight_kind)


test_count_mixtures, test_count_mixtures_slow = fuzz_pair(
    _count_mixture_case,
    case=_count_cases(),
    n_components=st.integers(1, 3),
    weight_kind=st.sampled_from(WEIGHT_KINDS),
)


def _binary(spec):
    X, valid = build_counts(spec)
    return np.minimum(X, 1), valid


_HMMS = {
    "GaussianHMM": (emkit.GaussianHMM, build_gaussian),
    "GMMHMM": (emkit.GMMHMM, build_gaussian),
    "PoissonHMM": (emkit.PoissonHMM, build_counts),
    "MultinomialHMM": (emkit.MultinomialHMM, build_counts),
    "CategoricalHMM": (emkit.CategoricalHMM, build_symbols),
    "BernoulliHMM": (emkit.BernoulliHMM, _binary),
}


@st.composite
def _hmm_cases(draw):
    name = draw(st.sampled_from(sorted(_HMMS)))
    if name in ("GaussianHMM", "GMMHMM"):
        spec = draw(gaussian_specs())
    elif name == "CategoricalHMM":
        spec = draw(symbol_specs())
    else:
        spec = draw(count_specs())
    options = {}
    if name in ("GaussianHMM", "GMMHMM"):
        options["covariance_type"] = draw(st.sampled_from(COVARIANCE_TYPES))
    if name == "GMMHMM":
        options["n_mix"] = draw(st.integers(1, 2))
    return name, spec, options


def _hmm(case, n_components, length_kind):
    name, spec, options = case
    cls, build = _HMMS[name]
    X, valid = build(spec) if build is not build_gaussian else build(spec, n_components)
    # NaN is a missing value for Gaussian emissions (a step left with none: a clear error)
    valid = valid or (name == "GaussianHMM" and spec["kind"] == "nan")
    lengths, lengths_valid = build_lengths(length_kind, len(X), spec["seed"])
    what = f"{name}({n_components}, **{options}) on {spec}, lengths={length_kind}"
    _fit_checked(
        lambda: cls(n_components, max_iter=MAX_ITER, random_state=0, **options),
        X,
        valid and lengths_valid,
        what,
        lambda est: check_hmm(est, X, lengths, what, far=build is build_gaussian),
        lengths=lengths,
    )


test_hmms, test_hmms_slow = fuzz_pair(
    _hmm,
    case=_hmm_cases(),
    n_components=st.integers(1, 3),
    length_kind=st.sampled_from(LENGTH_KINDS),
)


def _lgssm(spec, state_dim, reg_covar, length_kind):
    X, valid = build_series(spec)
    lengths, lengths_valid = build_lengths(length_kind, len(X), spec["seed"])
    what = f"LinearGaussianSSM({state_dim}, reg_covar={reg_covar}) on {spec}, lengths={length_kind}"
    _fit_checked(
        lambda: emkit.LinearGaussianSSM(
            state_dim, reg_covar=reg_covar, max_iter=MAX_ITER, random_state=0
        ),
        X,
        valid and lengths_valid,
        what,
        lambda est: check_lgssm(est, X, lengths, what),
        lengths=lengths,
    )


test_lgssm, test_lgssm_slow = fuzz_pair(
    _lgssm,
    spec=series_specs(),
    state_dim=st.integers(1, 3),
    reg_covar=st.sampled_from((0.0, 1e-6)),
    length_kind=st.sampled_from(LENGTH_KINDS),
)


# -- the grid: every estimator with every kind of data, in the default run --------------------
def _spec(kind, **overrides):
    spec = {
        "kind": kind,
        "seed": 0,
        "n": 30,
        "d": 2,
        "spread": 1e-4,
        "scale": 1e300,
        "T": 40,
        "p": 2,
    }
    return {**spec, **overrides}


#: (label, spec) of the real-valued data kinds; offset and scale at their extremes
REAL_GRID = [
    *[(kind, _spec(kind)) for kind in GAUSSIAN_KINDS if kind not in ("offset", "scale")],
    *[(f"offset-spread{s:g}", _spec("offset", spread=s)) for s in (1e-4, 1.0)],
    *[(f"scale{s:g}", _spec("scale", scale=s)) for s in (1e-300, 1e-150, 1e150, 1e300)],
]
COUNT_GRID = [(kind, _spec(kind, d=3)) for kind in COUNT_KINDS]
SYMBOL_GRID = [(kind, _spec(kind, d=1)) for kind in SYMBOL_KINDS]
SERIES_GRID = [
    *[(kind, _spec(kind)) for kind in SERIES_KINDS if kind != "scale"],
    *[(f"scale{s:g}", _spec("scale", scale=s)) for s in (1e-300, 1e300)],
]


def _grid(configs, data):
    """pytest parameters: every (configuration, data kind) pair, with readable ids."""
    return pytest.mark.parametrize(
        ("config", "spec"),
        [(config, spec) for config in configs for _, spec in data],
        ids=[f"{config}-{label}" for config in configs for label, _ in data],
    )


@_grid([f"{c}-{t}" for c in COVARIANCE_TYPES for t in ("float64", "float32")], REAL_GRID)
def test_gaussian_mixture_grid(config, spec):
    covariance_type, dtype = config.split("-")
    _gaussian_mixture(spec, 2, covariance_type, dtype, "none")


@_grid(["KMeans"], REAL_GRID)
def test_kmeans_grid(config, spec):
    _kmeans(spec, 2, "none")


@_grid(["PoissonMixture", "MultinomialMixture"], COUNT_GRID)
def test_count_mixture_grid(config, spec):
    _count_mixture(config, spec, 2, "none")


@_grid(["CategoricalMixture"], SYMBOL_GRID)
def test_categorical_mixture_grid(config, spec):
    _count_mixture(config, spec, 2, "none")


_GAUSSIAN_HMMS = [
    *[f"GaussianHMM-{c}" for c in COVARIANCE_TYPES],
    *[f"GMMHMM-{c}" for c in ("full", "diag")],
]


@_grid(_GAUSSIAN_HMMS, REAL_GRID)
def test_gaussian_hmm_grid(config, spec):
    name, covariance_type = config.split("-")
    options = {"covariance_type": covariance_type, **({"n_mix": 2} if name == "GMMHMM" else {})}
    _hmm((name, spec, options), 2, "none")


@_grid(["PoissonHMM", "MultinomialHMM", "BernoulliHMM"], COUNT_GRID)
def test_count_hmm_grid(config, spec):
    _hmm((config, spec, {}), 2, "none")


@_grid(["CategoricalHMM"], SYMBOL_GRID)
def test_categorical_hmm_grid(config, spec):
    _hmm((config, spec, {}), 2, "none")


@_grid([f"{k}_{r:g}" for k in (1, 3) for r in (0.0, 1e-6)], SERIES_GRID)
def test_lgssm_grid(config, spec):
    state_dim, reg_covar = config.split("_")
    _lgssm(spec, int(state_dim), float(reg_covar), "none")


@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS)
@pytest.mark.parametrize(
    "name", ["GaussianMixture-full", "GaussianMixture-diag", "KMeans", *sorted(_COUNT_MIXTURES)]
)
def test_sample_weight_grid(name, weight_kind):
    if name.startswith("GaussianMixture"):
        _gaussian_mixture(_spec("blobs"), 2, name.split("-")[1], "float64", weight_kind)
    elif name == "KMeans":
        _kmeans(_spec("blobs"), 2, weight_kind)
    elif name == "CategoricalMixture":
        _count_mixture(name, _spec("symbols", d=1), 2, weight_kind)
    else:
        _count_mixture(name, _spec("counts", d=3), 2, weight_kind)


@pytest.mark.parametrize("length_kind", LENGTH_KINDS)
@pytest.mark.parametrize("name", sorted(_HMMS))
def test_lengths_grid(name, length_kind):
    if name in ("GaussianHMM", "GMMHMM"):
        spec = _spec("blobs")
    else:
        spec = _spec("symbols" if name == "CategoricalHMM" else "counts", d=2)
    _hmm((name, spec, {}), 2, length_kind)


@pytest.mark.parametrize("length_kind", LENGTH_KINDS)
def test_lgssm_lengths_grid(length_kind):
    _lgssm(_spec("ar"), 2, 0.0, length_kind)
