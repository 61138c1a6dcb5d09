"""Validation of the initial values and priors of the HMM and count-mixture estimators."""

from __future__ import annotations

from functools import partial

import numpy as np

from emkit.estimators.gaussian_mixture import _checked_array
from emkit.families import ComponentCollapseError, GaussianFamily, PoissonFamily
from emkit.families._counts import check_integer_valued


def checked_probabilities(value, name, shape):
    """Probability vectors along the last axis of ``shape``, or None; a clear error otherwise."""
    array = _checked_array(value, name, shape)
    if array is None:
        return None
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative")
    sums = array.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
        where = "" if array.ndim == 1 else " in every row"
        raise ValueError(f"{name} must sum to 1{where}; got sums {np.round(sums, 6).ravel()}")
    return array


def checked_prior(value, name, shape):
    array = np.asarray(value, dtype=float)
    if array.ndim and array.shape != tuple(shape):
        raise ValueError(f"{name} must be a float or an array of shape {tuple(shape)}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative (Dirichlet pseudo-counts)")
    return array


def checked_covariances(value, covariance_type, shape, family=None, where=""):
    """Covariances of ``shape`` that are positive definite, or None."""
    array = _checked_array(value, "covariances_init", shape)
    if array is None:
        return None
    family = family or GaussianFamily(covariance_type)
    try:
        family.make_params(None, array)
    except ComponentCollapseError:
        raise ValueError(
            f"covariances_init{where} must be positive definite (every matrix symmetric with "
            "positive eigenvalues, every variance > 0)"
        ) from None
    return array


def categorical_probabilities(value, name, n_components, n_features, n_symbols):
    """emissionprob_init as (K, D, M): accepts (K, M) when there is one feature."""
    if value is None:
        return None
    array = np.asarray(value, dtype=float)
    if array.ndim == 2 and n_features == 1:
        array = array[:, None, :]
    return checked_probabilities(array, name, (n_components, n_features, n_symbols))


def infer_n_symbols(n_symbols, X) -> int:
    """The alphabet size: given, or the largest symbol + 1 (symbols are checked later)."""
    if n_symbols is not None:
        return int(n_symbols)
    largest = np.max(X) if X.size else 0
    return int(largest) + 1 if np.isfinite(largest) and largest >= 0 else 1


def infer_n_trials(n_trials, X) -> int | None:
    """The given row total, or the training rows' common total (None when they differ)."""
    if n_trials is not None:
        return int(n_trials)
    totals = np.asarray(X).sum(axis=1)
    return int(totals[0]) if totals.size and np.all(totals == totals[0]) else None


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


def categorical_data_checks(estimator, fitting: bool, alphabet_known_checks):
    """``(check_rows, infer)`` of a categorical estimator's training rows.

    A warm start (``fitting`` False) keeps its alphabet; a given ``n_symbols`` sets
    ``n_symbols_`` first. Both then use ``alphabet_known_checks()``, the family's own
    checks (which need ``n_symbols_``). Otherwise the alphabet is inferred: the largest
    symbol of all blocks + 1.
    """
    if fitting and estimator.n_symbols is not None:
        estimator.n_symbols_ = int(estimator.n_symbols)
    if not fitting or estimator.n_symbols is not None:
        return alphabet_known_checks()
    return largest_symbol, partial(_infer_alphabet, estimator)


def _infer_alphabet(estimator, largest_symbols) -> None:
    estimator.n_symbols_ = infer_n_symbols(None, np.asarray(largest_symbols))


def distinct_row_totals(check_rows, rows, *context) -> np.ndarray:
    """``check_rows(rows)``, then at most two distinct row totals of the rows: whether
    all rows of the data share one total needs no more."""
    check_rows(rows, *context)
    return np.unique(rows.sum(axis=1))[:2]


def gaussian_prior(estimator, X, n_gaussians):
    """The normal-inverse-Wishart prior of an estimator's Gaussian emissions, or None."""
    if X is None or (
        estimator.mean_prior_strength <= 0 and estimator.covariance_prior_strength <= 0
    ):
        return None
    D = X.shape[1]
    covariance_shape = {
        "full": (D, D),
        "tied": (D, D),
        "diag": (D,),
        "spherical": (),
    }[estimator.covariance_type]
    return GaussianFamily(estimator.covariance_type).default_prior(
        X,
        n_gaussians,
        estimator.mean_prior_strength,
        estimator.covariance_prior_strength,
        mean_prior=_checked_array(estimator.mean_prior, "mean_prior", (D,)),
        covariance_prior=_checked_array(
            estimator.covariance_prior, "covariance_prior", covariance_shape
        ),
    )


def poisson_prior(estimator, X):
    if X is None or estimator.rate_prior_strength <= 0:
        return None
    rate_prior = estimator.rate_prior
    if rate_prior is not None:
        rate_prior = np.asarray(rate_prior, dtype=float)
        if rate_prior.ndim and rate_prior.shape != (X.shape[1],):
            raise ValueError(f"rate_prior must be a float or have shape ({X.shape[1]},)")
        if np.any(rate_prior <= 0) or not np.all(np.isfinite(rate_prior)):
            raise ValueError("rate_prior must be finite and positive")
    return PoissonFamily().default_prior(X, estimator.rate_prior_strength, rate_prior)
