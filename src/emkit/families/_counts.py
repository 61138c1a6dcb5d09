"""Helpers shared by the count and categorical families (Poisson, categorical, ...).

Their M-steps are all ratios "weighted sum / weighted count" of the statistics,
optionally with conjugate pseudo-counts added. A component (or HMM state) that
received no posterior mass would make the ratio 0/0; :func:`smoothed_ratio` adds
``COUNT_FLOOR`` pseudo-observations at a reference value (the parameters of the
E-step that produced the statistics, or the pooled estimate at initialisation),
so that an empty component keeps its previous parameters and nothing is ever NaN,
while the estimate of every other component moves by O(1e-15) relative. Parameters
from initial statistics are smoothed towards the pooled estimate (INIT_SMOOTHING).
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from emkit.families.base import COUNT_FLOOR, floor_scale

#: Share of the pooled estimate in parameters from initial statistics (see smoothed_ratio).
INIT_SMOOTHING = 0.1
#: Share of the vague value in that pooled estimate (see smoothed_ratio).
INIT_VAGUE = 0.01
_TINY = np.finfo(np.float64).tiny
#: The largest count or symbol the families take (see check_integer_valued).
MAX_INTEGER = 2**53

__all__ = [
    "INIT_SMOOTHING",
    "MAX_INTEGER",
    "EntryError",
    "RowTotalError",
    "add_pseudo_counts",
    "check_integer_valued",
    "check_probabilities",
    "check_row_totals",
    "dirichlet_log_prior",
    "safe_xlogy_matmul",
    "smoothed_ratio",
    "sqrt_pack",
    "sqrt_unpack",
    "xlogy_sum",
]


def smoothed_ratio(numerator, denominator, reference=None, vague=None):
    """``(numerator + f * reference) / (denominator + f)`` with ``f = COUNT_FLOOR``.

    numerator : ndarray of shape (K, ...); denominator : broadcastable to it;
    reference : same shape as ``numerator`` (the value an empty component keeps);
    vague : float, a parameter value under which every outcome is possible (uniform
    probabilities, a rate of 1).

    ``reference=None`` marks *initial* statistics (responsibilities from an
    initialisation such as k-means, not from an E-step): the result is then blended
    ``INIT_SMOOTHING`` of the way towards the pooled estimate
    ``sum_k numerator / sum_k denominator``, itself blended ``INIT_VAGUE`` of the way
    towards ``vague``. A hard initial partition would otherwise give exact zeros (a
    symbol or a binary feature never seen in one cluster), and EM can never move a
    probability or rate away from exactly 0; an initialisation sample of data larger
    than memory may miss an outcome altogether, which the rest of the data then shows.

    Statistics of total weight ``t = sum_k denominator`` below one are divided by
    ``t`` first, so that ``f`` stays negligible next to them (sample weights of
    1e-300). A component with no mass keeps ``reference`` exactly; with no mass at all
    (``t = 0``, e.g. all-zero multinomial rows) initial statistics give ``vague``.
    Either way a probability vector in ``reference`` or ``vague`` gives one that sums
    to 1, and the result lies between the maximiser and the reference, so the
    expected log-likelihood (concave in these parameters) never falls. An entry with a
    positive numerator is at least the smallest normal float64, so that no outcome of
    the data becomes impossible by underflow.
    """
    total = np.broadcast_to(denominator, numerator.shape).sum(axis=0)
    # A total of zero (all-zero multinomial rows) has no pooled estimate: the vague one.
    scale = floor_scale(total)
    numerator, denominator, total = numerator / scale, denominator / scale, total / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(total > 0, numerator.sum(axis=0) / total, 0.0 if vague is None else vague)
    if reference is None and vague is not None:
        pooled = (1.0 - INIT_VAGUE) * pooled + INIT_VAGUE * vague
    ratio = (numerator + COUNT_FLOOR * (pooled if reference is None else reference)) / (
        denominator + COUNT_FLOOR
    )
    if reference is None:
        ratio = (1.0 - INIT_SMOOTHING) * ratio + INIT_SMOOTHING * pooled
    # An outcome seen with a weight far below the others' (1e-300 against 1e300) has a
    # ratio below float64's range: at 0 its rows would become impossible (NaN
    # responsibilities), so it keeps the smallest normal value instead.
    return np.where(numerator > 0, np.maximum(ratio, _TINY), ratio)


def safe_xlogy_matmul(X, P):
    """``sum_d X[i, d] log P[k, d]`` of shape (n, K), with ``0 log 0 = 0``.

    A plain ``X @ log(P).T`` would give NaN (0 * -inf) where a probability or rate is
    exactly zero and the count is zero; here such terms are 0, and a positive count
    of a zero-probability outcome gives ``-inf``, as it should.
    """
    zero = P <= 0.0
    with np.errstate(divide="ignore"):
        log_P = np.where(zero, 0.0, np.log(np.where(zero, 1.0, P)))
    out = X @ log_P.T
    if zero.any():
        impossible = (X > 0).astype(np.float64) @ zero.T.astype(np.float64)
        out[impossible > 0] = -np.inf
    return out


def xlogy_sum(x, y) -> float:
    """``sum x log y`` with ``0 log 0 = 0`` (for expected log-probabilities)."""
    return float(np.sum(xlogy(x, y)))


class EntryError(ValueError):
    """A ValueError about one entry ``X[index]`` of the data.

    Data checked in blocks of rows re-raise it with :meth:`in_rows_from`, so that the
    message names the entry's row in the whole data, not in the block.
    """

    def __init__(self, reason: str, index: tuple[int, ...], value):
        self.reason, self.index, self.value = reason, index, value
        super().__init__(self._message())

    def _message(self) -> str:
        return f"{self.reason}, but X[{', '.join(map(str, self.index))}] = {self.value!r}"

    def in_rows_from(self, first_row: int) -> EntryError:
        """The same error for a block whose first row is row ``first_row`` of the data."""
        index = (self.index[0] + first_row, *self.index[1:])
        return type(self)(self.reason, index, self.value)

    def __reduce__(self):
        # raised on a Dask worker, it is pickled back to the client; the default
        # (the message as the only argument) does not match __init__
        return type(self), (self.reason, self.index, self.value)


class RowTotalError(EntryError):
    """An :class:`EntryError` about the total of one row ``X[index]`` (index is (row,))."""

    def _message(self) -> str:
        return f"row {self.index[0]} of X sums to {self.value!r}, but {self.reason}"


def check_row_totals(X, n_trials: int) -> None:
    """Raise a :class:`RowTotalError` naming the first row of X whose total is not n_trials."""
    totals = np.asarray(X).sum(axis=1)
    bad = totals != n_trials
    if bad.any():
        row = int(np.argmax(bad))
        raise RowTotalError(
            f"n_trials={n_trials} says every row sums to {n_trials}; leave n_trials=None to "
            "allow rows of any total, or fix the data",
            (row,),
            totals[row].item(),
        )


def _entry_error(reason: str, X, mask) -> EntryError:
    index = tuple(int(v) for v in np.argwhere(mask)[0])
    return EntryError(reason, index, X[index].item())


def check_integer_valued(X, what: str, *, minimum: int = 0, maximum: int | None = None):
    """Raise a ValueError naming the first offending entry unless X holds integers in range.

    ``what`` names the data in the message (e.g. "Poisson counts"). Without
    ``maximum``, integers above :data:`MAX_INTEGER` are refused: float64 does not hold
    them exactly, and their log-factorials overflow long before float64's largest value.
    """
    X = np.asarray(X)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{what} contain NaN or infinity; give finite values")
    largest = (
        f"must be <= {maximum}"
        if maximum is not None
        else f"must be <= 2**53 = {MAX_INTEGER} (the largest integer float64 holds exactly)"
    )
    checks = (
        (X < minimum, f"must be >= {minimum}"),
        (X != np.round(X), "must be integers"),
        (X > (MAX_INTEGER if maximum is None else maximum), largest),
    )
    for mask, requirement in checks:
        if mask is not None and mask.any():
            # scikit-learn's wording for negative input, which its estimator checks expect
            negative = "Negative values in data: " if mask is checks[0][0] and minimum == 0 else ""
            raise _entry_error(f"{negative}{what} {requirement}", X, mask)


def check_probabilities(probs, what: str, n_outcomes: int | None = None) -> None:
    """Raise unless ``probs`` holds probability vectors along its last axis."""
    if n_outcomes is not None and (probs.ndim < 2 or probs.shape[-1] != n_outcomes):
        raise ValueError(
            f"{what} must have {n_outcomes} entries along the last axis, got shape {probs.shape}"
        )
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError(f"{what} must be finite and non-negative")
    sums = probs.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"{what} must sum to 1 over the last axis; sums are {sums.ravel()}")


def add_pseudo_counts(counts, prior):
    """``counts`` plus the prior's pseudo-counts (``prior`` has ``pseudo_counts`` or is None)."""
    if prior is None:
        return counts
    return counts + np.asarray(prior.pseudo_counts, dtype=float)


def dirichlet_log_prior(probs, prior) -> float:
    """sum c log θ over all probability vectors (Dirichlet(1 + c), up to a constant)."""
    if prior is None:
        return 0.0
    pseudo = np.broadcast_to(np.asarray(prior.pseudo_counts, dtype=float), probs.shape[1:])
    return xlogy_sum(np.broadcast_to(pseudo, probs.shape), probs)


# -- unconstrained parametrisation (for acceleration) -------------------------------
# Probabilities and rates of exactly 0 would be -inf in log space and stop SQUAREM's
# extrapolation; they are packed at this floor instead (the stabilising EM step after
# an extrapolation restores what the data say).
_PACK_FLOOR = 1e-300


def log_pack(values) -> np.ndarray:
    """log(values), floored, as a 1-D vector."""
    return np.log(np.maximum(values, _PACK_FLOOR)).ravel()


def softmax_unpack(vector, shape) -> np.ndarray:
    """Probabilities of ``shape`` whose last axis sums to 1, from packed logarithms."""
    logs = np.asarray(vector).reshape(shape)
    probs = np.exp(logs - logs.max(axis=-1, keepdims=True))
    return probs / probs.sum(axis=-1, keepdims=True)


# Probability vectors are packed as square roots, p = s² / Σ s², not as logarithms: an
# entry that EM drives geometrically towards 0 (a start probability of 1e-252) is a
# straight, ever-falling line in log space, which SQUAREM and DAAREM extrapolate far
# below its neighbours into points the likelihood refuses; its root shrinks towards 0
# instead, which stays a probability whatever the sign. Exact zeros stay exactly 0 (as
# under EM, which never moves them), so no floor is needed. benchmarks/bench_squarem.py,
# logs -> roots: Gaussian HMM (plain EM 191 E-steps) SQUAREM 75 -> 54, DAAREM 345 -> 98;
# PLSA (plain EM 778) SQUAREM 303 -> 234, DAAREM 1393 -> 136, auto 286 -> 226.


def sqrt_pack(probs) -> np.ndarray:
    """√probs as a 1-D vector: the packed form of probability vectors (see sqrt_unpack)."""
    return np.sqrt(np.asarray(probs, dtype=np.float64)).ravel()


def sqrt_unpack(vector, shape) -> np.ndarray:
    """Probabilities ``s² / Σ s²`` of ``shape`` (each last-axis row sums to 1) from
    :func:`sqrt_pack`'s roots ``s``, of any sign; a ValueError when a row is not
    finite or has no mass (an extrapolation the engine then refuses)."""
    roots = np.asarray(vector, dtype=np.float64).reshape(shape)
    # rows scaled by their largest root first, so that squaring never overflows
    scale = np.abs(roots).max(axis=-1, keepdims=True)
    if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ValueError("the extrapolated probabilities are not finite or have no mass")
    squares = np.square(roots / scale)
    return squares / squares.sum(axis=-1, keepdims=True)
