r"""Gaussian components with values missing at random (NaN), by pattern of missingness.

For a row with observed coordinates :math:`o` and missing ones :math:`m`, component
:math:`k` gives the marginal density of the observed part,

.. math::

    \log p(x_o \mid k) = \log \mathcal{N}(x_o \mid \mu_{k,o}, \Sigma_{k,oo}),

and, for the E-step (Ghahramani & Jordan 1994), the conditional distribution of the
missing part, :math:`x_m \mid x_o, k \sim \mathcal{N}(\hat x_{k,m}, C_k)` with

.. math::

    \hat x_{k,m} = \mu_{k,m} + \Sigma_{k,mo} \Sigma_{k,oo}^{-1} (x_o - \mu_{k,o}), \qquad
    C_k = \Sigma_{k,mm} - \Sigma_{k,mo} \Sigma_{k,oo}^{-1} \Sigma_{k,om}.

The expected statistics are then those of the completed row :math:`\hat x_k` plus
:math:`C_k` in the missing block of the second moment: still sums over rows, shifted
by the E-step's means as the complete-data statistics are, so they stay additive.
Rows are grouped by pattern, so that every pattern factorises each Σ_oo once. Fully
observed rows of a block take the family's usual path; a block without NaN never
comes here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class MissingBlock:
    """A block of rows some of which have NaN entries, grouped by pattern.

    X : (n, D) float64, NaN where missing
    complete : (n_complete,) indices of the fully observed rows
    complete_block : the family's prepared block of those rows (or None when none)
    patterns : tuple of (observed (D,) bool, rows (n_p,) int): the incomplete rows
    cache : the conditionals of every pattern under the last parameters asked for
        (the E-step's log-densities and statistics share them)
    """

    X: np.ndarray
    complete: np.ndarray
    complete_block: Any
    patterns: tuple
    cache: dict = field(default_factory=dict, compare=False, repr=False)


def has_missing(X) -> bool:
    """True when X is a float ndarray with a NaN entry. (``min`` propagates NaN without
    the (n, D) mask that ``isnan(X).any()`` allocates: a streamed fit's memory bound
    is checked, tests/cli/test_cli_large_files.py.)"""
    return (
        isinstance(X, np.ndarray) and X.dtype.kind == "f" and X.size > 0 and bool(np.isnan(X.min()))
    )


def missing_block(X: np.ndarray, prepare_complete) -> MissingBlock:
    """Group the rows of X (n, D) by their pattern of NaN entries.

    prepare_complete : callable, ``prepare_complete(rows) -> block`` for the fully
        observed rows (the family's ``prepare``).
    """
    X = np.asarray(X, dtype=np.float64)
    nan = np.isnan(X)
    incomplete = nan.any(axis=1)
    complete = np.flatnonzero(~incomplete)
    rows = np.flatnonzero(incomplete)
    patterns = []
    if rows.size:
        _, inverse = np.unique(np.packbits(nan[rows], axis=1), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")
        bounds = np.flatnonzero(np.diff(inverse[order])) + 1
        for group in np.split(rows[order], bounds):
            patterns.append((~nan[group[0]], group))
    block = prepare_complete(X[complete]) if complete.size else None
    return MissingBlock(X, complete, block, tuple(patterns))


def _conditionals(means, covariances, observed, rows):
    """For the rows (n_p, D) of one pattern, under every component (means (K, D), full
    covariances (K, D, D)): log N(x_o | μ_k,o, Σ_k,oo) of shape (K, n_p), the
    conditional means of the missing coordinates (K, n_p, |m|) and their conditional
    covariances (K, |m|, |m|)."""
    missing = ~observed
    n_obs = int(observed.sum())
    by_observed = covariances[:, observed]
    chol = np.linalg.cholesky(by_observed[:, :, observed])  # (K, |o|, |o|), lower
    diff = rows[None, :, observed] - means[:, None, observed]  # (K, n_p, |o|)
    z = np.linalg.solve(chol, np.swapaxes(diff, 1, 2))  # L⁻¹ (x_o - μ_o): (K, |o|, n_p)
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    log_prob = -0.5 * (n_obs * _LOG_2PI + np.einsum("kij,kij->kj", z, z) + log_det[:, None])
    a = np.linalg.solve(chol, by_observed[:, :, missing])  # L⁻¹ Σ_om: (K, |o|, |m|)
    fill = means[:, None, missing] + np.swapaxes(z, 1, 2) @ a
    conditional_cov = covariances[:, missing][:, :, missing] - np.swapaxes(a, 1, 2) @ a
    return log_prob, fill, conditional_cov


def _pattern_conditionals(block: MissingBlock, means, covariances, key):
    """:func:`_conditionals` of every pattern of the block, computed once per ``key``
    (the parameters they belong to; None: not kept)."""
    if key is not None and "values" in block.cache and block.cache["key"] is key:
        return block.cache["values"]
    values = [
        _conditionals(means, covariances, observed, block.X[rows])
        for observed, rows in block.patterns
    ]
    if key is not None:
        block.cache.update(key=key, values=values)
    return values


def missing_log_prob(
    block: MissingBlock, means, covariances, complete_log_prob, key=None
) -> np.ndarray:
    """log N(x_{i,o} | μ_k, Σ_k) of every row, shape (n, K): the observed coordinates'
    marginal. ``covariances`` are full (K, D, D); ``complete_log_prob(block)`` gives
    the fully observed rows' (the family's usual path); ``key`` identifies the
    parameters, so that :func:`missing_moments` reuses the conditionals."""
    K = means.shape[0]
    out = np.empty((block.X.shape[0], K))
    if block.complete.size:
        out[block.complete] = complete_log_prob(block.complete_block)
    conditionals = _pattern_conditionals(block, means, covariances, key)
    for (_, rows), (log_prob, _, _) in zip(block.patterns, conditionals, strict=True):
        out[rows] = log_prob.T
    return out


def missing_moments(block: MissingBlock, resp, means, covariances, shift, key=None):
    """The incomplete rows' expected moments about ``shift`` (K, D), in full shape:
    (sum_i r_ik E[x_i - s_k] of shape (K, D), sum_i r_ik E[(x_i - s_k)(x_i - s_k)ᵀ] of
    shape (K, D, D)), the expectations under the conditional distribution of the
    missing coordinates given the observed ones and component k."""
    K, D = means.shape
    first = np.zeros((K, D))
    second = np.zeros((K, D, D))
    conditionals = _pattern_conditionals(block, means, covariances, key)
    for (observed, rows), (_, fill, conditional_cov) in zip(
        block.patterns, conditionals, strict=True
    ):
        missing = ~observed
        X = block.X[rows]
        r = np.asarray(resp[rows], dtype=np.float64)  # (n_p, K)
        centred = X[None] - shift[:, None]  # (K, n_p, D), a new array
        centred[:, :, missing] = fill - shift[:, None, missing]
        weighted = centred * r.T[:, :, None]
        first += weighted.sum(axis=1)
        second += np.swapaxes(weighted, 1, 2) @ centred
        second[:, missing[:, None] & missing[None, :]] += r.sum(axis=0)[
            :, None
        ] * conditional_cov.reshape(K, -1)
    return first, second


def conditional_means(block: MissingBlock, means, covariances) -> np.ndarray:
    """Every row completed under every component, shape (n, K, D): observed values
    kept, missing ones at E[x_m | x_o, k]."""
    K = means.shape[0]
    out = np.repeat(block.X[:, None, :], K, axis=1)
    conditionals = _pattern_conditionals(block, means, covariances, None)
    for (observed, rows), (_, fill, _) in zip(block.patterns, conditionals, strict=True):
        out[np.ix_(rows, np.arange(K), np.flatnonzero(~observed))] = np.swapaxes(fill, 0, 1)
    return out
