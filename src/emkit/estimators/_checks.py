"""What the mixture and HMM estimators of one distribution family share.

A family's estimators (``PoissonMixture`` and ``PoissonHMM``, ...) take the same
hyperparameters, expose the same parameter attributes (under ``components.`` in a
mixture, ``emission.`` in an HMM), build the same family and check their data the same
way; each of those is written once here.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit._text import byte_size
from emkit.estimators._data import infer_nothing
from emkit.estimators._parameters import (
    Parameter,
    _check_shape,
    any_finite,
    gaussian_covariances,
    non_negative,
    probabilities,
    real_array,
    resolved_sizes,
    unit_interval,
)
from emkit.families import (
    BernoulliFamily,
    BetaPrior,
    CategoricalFamily,
    DirichletPrior,
    GaussianFamily,
    MultinomialFamily,
    PoissonFamily,
)
from emkit.families._counts import check_integer_valued, check_row_totals
from emkit.families._covariance import check_covariances, covariance_shape

_NON_NEGATIVE = Interval(Real, 0.0, None, closed="left")

# -- hyperparameters of each family -----------------------------------------------------
GAUSSIAN_HYPERPARAMETERS = {
    "covariance_type": ("full", [StrOptions({"full", "tied", "diag", "spherical"})]),
    "reg_covar": (1e-6, [_NON_NEGATIVE]),
    "means_init": (None, ["array-like", None]),
    "mean_prior": (None, ["array-like", None]),
    "mean_prior_strength": (0.0, [_NON_NEGATIVE]),
    "covariance_prior": (None, ["array-like", Real, None]),
    "covariance_prior_strength": (0.0, [_NON_NEGATIVE]),
}
POISSON_HYPERPARAMETERS = {
    "rates_init": (None, ["array-like", None]),
    "rate_prior": (None, ["array-like", Real, None]),
    "rate_prior_strength": (0.0, [_NON_NEGATIVE]),
}
CATEGORICAL_HYPERPARAMETERS = {
    "n_symbols": (None, [Interval(Integral, 1, None, closed="left"), None]),
    "emissionprob_init": (None, ["array-like", None]),
    "emissionprob_prior": (0.0, [_NON_NEGATIVE]),
}
MULTINOMIAL_HYPERPARAMETERS = {
    "n_trials": (None, [Interval(Integral, 1, None, closed="left"), None]),
    "emissionprob_init": (None, ["array-like", None]),
    "emissionprob_prior": (0.0, [_NON_NEGATIVE]),
}
BERNOULLI_HYPERPARAMETERS = {
    "binarize": (None, [Real, None]),
    "emissionprob_init": (None, ["array-like", None]),
    "emissionprob_prior": (0.0, [_NON_NEGATIVE]),
}


# -- parameter attributes of each family ------------------------------------------------
def gaussian_means(prefix: str, *leading: str) -> Parameter:
    """``means_`` of shape (n_components, *leading, n_features)."""
    return Parameter(
        f"{prefix}.means",
        ("n_components", *leading, "n_features_in_"),
        any_finite,
        init="means_init",
    )


def gaussian_covariances_parameter(prefix: str, unit: str, per_state=None, **options):
    """``covariances_`` in the covariance type's shape (see :func:`covariance_shape`) of
    the n_components Gaussians, or with ``per_state`` (a dimension name, "n_mix"), of
    ``per_state`` Gaussians in each of the n_components states."""

    def shape(estimator):
        kind, D = estimator.covariance_type, "n_features_in_"
        if per_state is None:
            return covariance_shape(kind, "n_components", D)
        return ("n_components", *covariance_shape(kind, per_state, D))

    return Parameter(f"{prefix}.covariances", shape, gaussian_covariances(unit), **options)


def poisson_rates(prefix: str) -> Parameter:
    return Parameter(
        f"{prefix}.rates", ("n_components", "n_features_in_"), non_negative, init="rates_init"
    )


def _one_column_to_field(estimator, array, name):
    # (K, n_symbols) is the one-feature form (as hmmlearn); stored as (K, 1, n_symbols)
    return array[:, None, :] if array.ndim == 2 else array


def _one_column_from_field(estimator, probs):
    return probs[:, 0, :] if probs.shape[1] == 1 else probs


class _CategoricalEmissionprob(Parameter):
    """A Parameter whose one-feature form (K, n_symbols) is checked in that form, so
    that a wrong shape is reported as the user gave it, not as the stored (K, 1, n_symbols)."""

    def validated(self, estimator, value, name: str, *, record: bool = True) -> np.ndarray:
        given = real_array(value, name)
        if given.ndim == 2:
            n_features = getattr(estimator, "n_features_in_", None)
            if n_features not in (None, 1):
                K, S = resolved_sizes(estimator, ("n_components", "n_symbols_"))
                raise ValueError(
                    f"{name} of shape {given.shape} is the one-feature form (n_components, "
                    f"n_symbols), but X has {n_features} features: give shape "
                    f"({K}, {n_features}, {'n_symbols' if S is None else S})"
                )
            _check_shape(estimator, given, name, ("n_components", "n_symbols_"))
        return super().validated(estimator, given, name, record=record)


def categorical_emissionprob(prefix: str) -> Parameter:
    """p(symbol | component): (K, n_symbols) for one feature, (K, D, n_symbols) in general."""
    return _CategoricalEmissionprob(
        f"{prefix}.emissionprob",
        ("n_components", "n_features_in_", "n_symbols_"),
        probabilities,
        init="emissionprob_init",
        to_field=_one_column_to_field,
        from_field=_one_column_from_field,
    )


def multinomial_emissionprob(prefix: str) -> Parameter:
    return Parameter(
        f"{prefix}.emissionprob",
        ("n_components", "n_features_in_"),
        probabilities,
        init="emissionprob_init",
    )


def bernoulli_emissionprob(prefix: str) -> Parameter:
    return Parameter(
        f"{prefix}.emissionprob",
        ("n_components", "n_features_in_"),
        unit_interval,
        init="emissionprob_init",
    )


# -- families -------------------------------------------------------------------------------
def checked_array(value, name, shape):
    """``value`` as a finite float array of ``shape``, or None; a clear error otherwise."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def checked_prior(value, name, shape):
    """Dirichlet pseudo-counts: a float, or an array of ``shape``."""
    array = np.asarray(value, dtype=float)
    if array.ndim and array.shape != tuple(shape):
        raise ValueError(f"{name} must be a float or an array of shape {tuple(shape)}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative (Dirichlet pseudo-counts)")
    return array


def gaussian_prior(estimator, X, n_gaussians, sample_weight=None):
    """The normal-inverse-Wishart prior of an estimator's Gaussians (``n_gaussians`` of
    them, for the default scale), or None when both strengths are 0 or no data."""
    if X is None or (
        estimator.mean_prior_strength <= 0 and estimator.covariance_prior_strength <= 0
    ):
        return None
    D = X.shape[1]
    kind = estimator.covariance_type
    # the scale of one Gaussian's covariance
    one = {"full": (D, D), "tied": (D, D), "diag": (D,), "spherical": ()}[kind]
    covariance_prior = checked_array(estimator.covariance_prior, "covariance_prior", one)
    if covariance_prior is not None:
        # a prior scale that is not positive definite would only surface later, as a
        # misleading "component collapsed" error
        check_covariances(covariance_prior, "covariance_prior", covariance_prior.ndim == 2)
    return GaussianFamily(kind).default_prior(
        X,
        n_gaussians,
        estimator.mean_prior_strength,
        estimator.covariance_prior_strength,
        mean_prior=checked_array(estimator.mean_prior, "mean_prior", (D,)),
        covariance_prior=covariance_prior,
        sample_weight=sample_weight,
    )


def poisson_family(estimator, X=None) -> PoissonFamily:
    """The Poisson family, with the Gamma prior when X is given and the strength > 0."""
    if X is None or estimator.rate_prior_strength <= 0:
        return PoissonFamily()
    rate_prior = estimator.rate_prior
    if rate_prior is not None:
        rate_prior = np.asarray(rate_prior, dtype=float)
        if rate_prior.ndim and rate_prior.shape != (X.shape[1],):
            raise ValueError(f"rate_prior must be a float or have shape ({X.shape[1]},)")
        if np.any(rate_prior <= 0) or not np.all(np.isfinite(rate_prior)):
            raise ValueError("rate_prior must be finite and positive")
    prior = PoissonFamily().default_prior(X, estimator.rate_prior_strength, rate_prior)
    return PoissonFamily(prior)


def _dirichlet(strength):
    return DirichletPrior(strength) if strength > 0 else None


def categorical_family(estimator, X=None) -> CategoricalFamily:
    return CategoricalFamily(int(estimator.n_symbols_), _dirichlet(estimator.emissionprob_prior))


def multinomial_family(estimator, X=None) -> MultinomialFamily:
    n_trials = estimator.__dict__.get("n_trials_")
    return MultinomialFamily(
        None if n_trials is None else int(n_trials), _dirichlet(estimator.emissionprob_prior)
    )


def bernoulli_family(estimator, X=None) -> BernoulliFamily:
    c = estimator.emissionprob_prior
    return BernoulliFamily(BetaPrior(c, c) if c > 0 else None, binarize=estimator.binarize)


# -- checks of the training rows, block by block ------------------------------------
# ``check_rows(rows, *context) -> summary`` functions for the estimators' data sources
# (see emkit.estimators._data.check_block): module-level, so that they pickle to Dask
# workers; the context (an HMM's sequence offsets) is ignored.


def family_check(family, rows, *context) -> None:
    """The family's data checks; the converted rows are not returned (they would travel
    back from a Dask worker)."""
    family.check_data(rows)


def largest_symbol(rows, *context) -> float:
    """Check categorical symbols (no upper bound yet: the alphabet is being inferred)
    and return the largest (0 for no rows)."""
    check_integer_valued(rows, "categorical symbols")
    return rows.max(initial=0.0)


def distinct_row_totals(check_rows, rows, *context) -> np.ndarray:
    """``check_rows(rows)``, then at most two distinct row totals of the rows: whether
    all rows of the data share one total needs no more."""
    check_rows(rows, *context)
    return np.unique(rows.sum(axis=1))[:2]


def row_totals_check(n_trials, check_rows, rows, *context) -> None:
    """``check_rows(rows)``, then a clear error for a row whose total is not ``n_trials``."""
    check_rows(rows, *context)
    check_row_totals(rows, n_trials)


#: The largest table of emission probabilities (n_components x n_features x
#: n_symbols float64) a categorical estimator builds; a fit holds several of them.
MAX_ALPHABET_BYTES = 2**28


def check_alphabet(estimator, n_symbols: int, source: str, n_features: int | None = None) -> int:
    """``n_symbols``, or a clear error before anything is allocated when its tables of
    emission probabilities would exceed :data:`MAX_ALPHABET_BYTES`.

    ``source`` says where the alphabet comes from ("n_symbols=..."), for the message;
    ``n_features`` defaults to the estimator's ``n_features_in_`` (1 before a fit).
    """
    if n_features is None:
        n_features = int(estimator.__dict__.get("n_features_in_", 1))
    n_bytes = 8.0 * estimator.n_components * n_features * n_symbols
    if n_bytes > MAX_ALPHABET_BYTES:
        raise ValueError(
            f"the alphabet is too large: with {source}, one table of emission "
            f"probabilities ({estimator.n_components} components x {n_features} "
            f"feature(s) x {n_symbols} symbols) would need "
            f"{byte_size(n_bytes)} (a fit holds several), over the limit of "
            f"{byte_size(MAX_ALPHABET_BYTES)}; recode the symbols to 0 .. n - 1 "
            "for the n distinct ones, e.g. with np.unique(X, return_inverse=True)"
        )
    return n_symbols


def categorical_data_checks(estimator, fitting: bool):
    """``(check_rows, infer)`` of a categorical estimator's training rows.

    A warm start (``fitting`` False) keeps its alphabet; a given ``n_symbols`` sets
    ``n_symbols_`` first. Both then use the family's own checks (which need
    ``n_symbols_``). Otherwise the alphabet is inferred: the largest symbol of all
    blocks + 1. partial_fit's first batch fixes an inferred alphabet: give n_symbols
    when it may lack symbols.
    """
    if fitting and estimator.n_symbols is not None:
        n_symbols = int(estimator.n_symbols)
        estimator.n_symbols_ = check_alphabet(estimator, n_symbols, f"n_symbols={n_symbols}")
    if not fitting or estimator.n_symbols is not None:
        return partial(family_check, categorical_family(estimator)), infer_nothing
    return largest_symbol, partial(_infer_alphabet, estimator)


def multinomial_data_checks(estimator, fitting: bool):
    """``(check_rows, infer)`` of a multinomial estimator's training rows: the family's
    checks, every row summing to ``n_trials`` when it is given, and ``n_trials_`` (the
    given ``n_trials``, or the row total >= 1 that all rows of all blocks share, else
    None: all-zero rows say nothing of how to sample). A warm start keeps its
    ``n_trials_``."""
    check_rows = partial(family_check, multinomial_family(estimator))
    if estimator.n_trials is not None:
        check_rows = partial(row_totals_check, int(estimator.n_trials), check_rows)
    if not fitting:
        return check_rows, infer_nothing
    return partial(distinct_row_totals, check_rows), partial(_infer_n_trials, estimator)


def _infer_alphabet(estimator, largest_symbols) -> None:
    largest = np.max(largest_symbols) if len(largest_symbols) else 0
    n_symbols = int(largest) + 1 if np.isfinite(largest) and largest >= 0 else 1
    source = f"n_symbols={n_symbols} (the largest symbol in X, plus one)"
    estimator.n_symbols_ = check_alphabet(estimator, n_symbols, source)


def _infer_n_trials(estimator, row_totals) -> None:
    if estimator.n_trials is not None:
        estimator.n_trials_ = int(estimator.n_trials)
        return
    totals = np.concatenate(row_totals)
    shared = totals.size and totals[0] >= 1 and np.all(totals == totals[0])
    estimator.n_trials_ = int(totals[0]) if shared else None
