r"""The E-step of transcript abundance over equivalence classes, compiled with numba.

A class ``c`` (a set of transcripts that the same reads are compatible with) has a
count :math:`n_c` and entries :math:`(t, w_{ct})`: the transcripts and the probability
of the class's fragment given each of them (:math:`1/\tilde\ell_t` for kallisto,
salmon's conditional weights). For a vector :math:`v \ge 0` over transcripts (the
abundances α for EM, :math:`e^{E[\log\theta]}` for variational Bayes), the E-step is

.. math::

    N_t = \sum_{c \ni t} n_c \frac{v_t w_{ct}}{\sum_{t' \in c} v_{t'} w_{ct'}},
    \qquad s = \sum_c n_c \log \sum_{t \in c} v_t w_{ct},

the expected number of reads of every transcript and the classes' summed log-mass
(the log-likelihood up to the normalisation of v, which the model adds).

The classes are flat CSR arrays (``indptr``, ``indices``, ``weights``, ``counts``), so
the kernel is one pass over the entries with no Python loop over classes. It runs
serially and releases the GIL: the engine's threads run it on chunks of classes
(consecutive slices of the same arrays), every chunk with its own output, which the
engine adds in chunk order, so the numbers never depend on the number of threads.

**Two paths.** When every entry of a transcript has the same weight (kallisto's
:math:`w_{ct} = 1/\tilde\ell_t`), the caller folds it into v once per E-step
(:math:`\beta_t = v_t w_t`, T products) and passes ``weights=None``: the kernel then
streams only the transcript indices. Salmon's per-entry weights keep the weighted path.
The products are the same floating-point numbers either way, so both paths give the
same bits.

**Index width.** ``indices`` may be int32 (kallisto itself uses 32-bit transcript ids);
:class:`emkit.bio.EquivalenceClasses` hands the kernel an int32 copy when there are
fewer than 2**31 transcripts, an exception to emkit's int64 kernels that halves the
bytes per entry. Memory bandwidth is *not* what bounds this kernel, though (measured
on the 2-core development machine, 200,000 transcripts, 21.5M entries in 3M classes,
load average 1.4): the int32 indices alone stream in 5 ms, the unweighted E-step over
them takes 0.11 s (0.12 s for the weighted path with int64 indices), of which about
25 ms are the log of every class's mass and about 25 ms the scattered gathers of
v and the output (classes in kallisto's order touch transcripts all over the arrays;
the same classes ordered by their first transcript take 0.08 s). Folding the weights
and the narrower indices are a modest gain (and one under load, where the memory
system is shared: 0.21 s against 0.12 s at load average 2-3).

A class whose mass :math:`\sum v w` is 0 (all its transcripts at 0) cannot be
explained by v: it is skipped (as kallisto and salmon do), counted, and its first
position reported, so the model can say which class it was.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["ClassEStep", "class_e_step"]


class ClassEStep(NamedTuple):
    """Result of :func:`class_e_step`.

    expected_counts : ndarray of shape (n_transcripts,)
        N_t over the classes given.
    log_mass : float
        s = Σ_c n_c log Σ_t v_t w_ct over the classes with positive mass.
    n_impossible : int
        Classes with a positive count and zero mass (skipped).
    first_impossible : int
        The first of them (position in the arrays given), -1 when there is none.
    """

    expected_counts: np.ndarray
    log_mass: float
    n_impossible: int
    first_impossible: int


@njit(cache=True, nogil=True)
def _e_step(indptr, indices, weights, counts, v, offset, out):  # pragma: no cover - compiled
    log_mass = 0.0
    n_impossible = 0
    first = -1
    # v_t w_ct of the class's entries, kept from the first pass for the second (one
    # gather of v per entry instead of two: about 30% faster on 20M entries)
    scratch = np.empty(64)
    for c in range(indptr.shape[0] - 1):
        n = counts[c]
        if n == 0.0:
            continue
        start = indptr[c]
        stop = indptr[c + 1]
        if stop - start > scratch.shape[0]:
            scratch = np.empty(2 * (stop - start))
        mass = 0.0
        for e in range(start, stop):
            p = v[indices[e] - offset] * weights[e]
            scratch[e - start] = p
            mass += p
        if mass > 0.0:
            # a class of one transcript gets its count whatever the abundance (as in
            # kallisto and salmon), which agrees with this whenever v_t > 0
            scale = n / mass
            for e in range(start, stop):
                out[indices[e] - offset] += scratch[e - start] * scale
            log_mass += n * np.log(mass)
        else:
            if first < 0:
                first = c
            n_impossible += 1
    return log_mass, n_impossible, first


@njit(cache=True, nogil=True)
def _e_step_unweighted(indptr, indices, counts, beta, offset, out):  # pragma: no cover - compiled
    # every entry weighs 1: beta = v w already holds the weights, so each entry is one
    # index read and a gather from beta (which, of size n_transcripts, stays in cache)
    log_mass = 0.0
    n_impossible = 0
    first = -1
    for c in range(indptr.shape[0] - 1):
        n = counts[c]
        if n == 0.0:
            continue
        start = indptr[c]
        stop = indptr[c + 1]
        mass = 0.0
        for e in range(start, stop):
            mass += beta[indices[e] - offset]
        if mass > 0.0:
            scale = n / mass
            for e in range(start, stop):
                t = indices[e] - offset
                out[t] += beta[t] * scale
            log_mass += n * np.log(mass)
        else:
            if first < 0:
                first = c
            n_impossible += 1
    return log_mass, n_impossible, first


def _index_array(indices: np.ndarray) -> np.ndarray:
    """int32 or int64 indices as they are (both compiled); anything else as int64."""
    if isinstance(indices, np.ndarray) and indices.dtype in (np.int32, np.int64):
        return np.ascontiguousarray(indices)
    return np.ascontiguousarray(indices, dtype=np.int64)


def class_e_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray | None,
    counts: np.ndarray,
    v: np.ndarray,
    offset: int = 0,
) -> ClassEStep:
    """Expected counts per transcript and the log-mass of a block of classes.

    Parameters
    ----------
    indptr : ndarray of shape (n_classes + 1,), int64
        Class ``c``'s entries are ``indptr[c]:indptr[c + 1]`` (``indptr[0]`` may be
        nonzero: a chunk is a slice of the whole arrays).
    indices : ndarray of shape (n_entries,), int32 or int64
        Transcript of every entry, in ``[0, len(v))``.
    weights : ndarray of shape (n_entries,), float64, or None
        w_ct of every entry (positive); None: every entry weighs 1 (pass v·w as ``v``
        when the weights are per transcript).
    counts : ndarray of shape (n_classes,), float64
        n_c (non-negative; a class with count 0 is skipped).
    v : ndarray of shape (n_values,), float64
        The abundances (non-negative), or exp(E[log θ]) for variational Bayes, of
        transcripts ``offset`` to ``offset + n_values - 1``.
    offset : int
        The first transcript of ``v`` (a block of classes ordered by transcript covers
        a band of them); every index must lie in ``[offset, offset + n_values)``.

    Returns
    -------
    ClassEStep
        ``expected_counts`` of shape (n_values,), of the same transcripts as ``v``.
    """
    out = np.zeros(v.shape[0], dtype=np.float64)
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = _index_array(indices)
    counts = np.ascontiguousarray(counts, dtype=np.float64)
    v = np.ascontiguousarray(v, dtype=np.float64)
    if weights is None:
        log_mass, n_impossible, first = _e_step_unweighted(indptr, indices, counts, v, offset, out)
    else:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        log_mass, n_impossible, first = _e_step(indptr, indices, weights, counts, v, offset, out)
    return ClassEStep(out, float(log_mass), int(n_impossible), int(first))
