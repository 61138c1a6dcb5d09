"""Data sources of the sequence estimators (hidden Markov and state-space models):
concatenated sequences in memory, in a memory-mapped ``.npy`` file or in a Dask array,
cut into the engine's chunks of whole sequences.

Every source is cut the same way: :func:`emkit.models._sequences.sequence_groups`
packs whole sequences, in order, into groups of at most ``chunk_size`` rows (a longer
sequence is a group of its own), and every group becomes one chunk, built by the
estimator's ``make_chunk`` from the group's rows. Chunks are therefore the same,
array for array, whatever the source, and so is the fit, bit for bit.

* In memory (after scikit-learn's validation), the chunks are built once and
  E-stepped on ``n_jobs`` threads.
* A memory-mapped array (``np.memmap``, ``np.load(..., mmap_mode="r")`` or the path
  of a ``.npy`` file) is never loaded whole: it is checked group by group once, and
  every E-step reads, converts and E-steps one group at a time on each of ``n_jobs``
  threads, so memory is bounded by the groups in flight, not by the data.
* A Dask array is rechunked along its rows at sequence boundaries (groups of its own
  row-chunk size) and every E-step runs one task per group on the current Dask
  scheduler, with tree-reduced statistics (:class:`emkit.distributed.DaskChunks`);
  the checks also run on the workers.

Initialisation and the data-dependent defaults (priors, starting values) use an
in-memory sample: all rows in memory, else the leading groups of at most
``emkit.estimators._data.INIT_SAMPLE_ROWS`` rows in all (at least one group), so the
fit equals the in-memory fit whenever the data fit in that sample. Per-row arrays
(known states, control inputs) and per-sequence arrays (sequence weights) are
in-memory arrays, sliced alongside the rows.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from emkit.core.reduce import e_step_total, resolve_n_jobs
from emkit.distributed.dask import is_dask_collection
from emkit.estimators import _data
from emkit.models._sequences import sequence_groups, sequence_offsets

__all__ = ["LoadedChunks", "SequenceData", "checked_offsets", "prepare_sequences"]


@dataclass(frozen=True)
class SequenceData:
    """Validated concatenated sequences, cut into groups of whole sequences.

    X : ndarray, np.memmap or dask.array.Array of shape (n_rows, n_features)
        The rows (a Dask array already rechunked at the group boundaries).
    offsets : ndarray of int64 of shape (n_sequences + 1,)
        Sequence s is rows offsets[s]:offsets[s + 1].
    bounds : ndarray of int64 of shape (n_groups + 1,)
        Group g holds sequences bounds[g]:bounds[g + 1].
    n_sample_groups : int
        The leading groups that form the initialisation sample.
    sample : ndarray of shape (n_sample_rows, n_features), float64
        Their rows, validated by scikit-learn (all rows when X is in memory).
    summaries : list
        What ``check_rows`` returned for every group, in order.
    """

    X: Any
    offsets: np.ndarray
    bounds: np.ndarray
    n_sample_groups: int
    sample: np.ndarray
    summaries: list

    @property
    def n_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_sequences(self) -> int:
        return self.offsets.shape[0] - 1

    @property
    def n_groups(self) -> int:
        return self.bounds.shape[0] - 1

    @property
    def in_memory(self) -> bool:
        return type(self.X) is np.ndarray

    def group_rows(self, g: int) -> tuple[int, int]:
        """First and last + 1 row of group g."""
        return int(self.offsets[self.bounds[g]]), int(self.offsets[self.bounds[g + 1]])

    def group_offsets(self, g: int) -> np.ndarray:
        """Offsets of group g's sequences, relative to its first row."""
        first, last = self.bounds[g], self.bounds[g + 1]
        return self.offsets[first : last + 1] - self.offsets[first]

    def chunks(
        self, make_chunk: Callable[..., Any], rows=(), sequences=(), n_jobs=None, origin=False
    ):
        """The engine's chunks and the initialisation chunks: (chunks, init_chunks).

        Parameters
        ----------
        make_chunk : callable
            ``make_chunk(X_rows, *row_slices, offsets, *sequence_slices[, origin])
            -> chunk`` builds the model's chunk of one group from its rows (float64,
            checked), the group's slices of ``rows``, its sequence offsets (relative to
            its first row) and its slices of ``sequences``; it must be picklable for Dask.
        rows : sequence of ndarray or None
            Per-row arrays of shape (n_rows, ...), sliced alongside X (None stays None).
        sequences : sequence of ndarray or None
            Per-sequence arrays of shape (n_sequences, ...).
        n_jobs : int or None
            Threads of the E-steps of a memory-mapped X (see :class:`LoadedChunks`).
        origin : bool
            Also pass ``origin=(first row, first sequence)`` of the group in X, last,
            for the model's messages about rows and sequences.
        """
        piece = partial(self._piece, make_chunk, tuple(rows), tuple(sequences), origin)
        if self.in_memory:
            chunks = [piece(g) for g in range(self.n_groups)]
            return chunks, chunks
        init_chunks = [piece(g) for g in range(self.n_sample_groups)]
        if not is_dask_collection(self.X):
            return LoadedChunks(piece, self.n_groups, n_jobs), init_chunks
        from emkit.distributed import DaskChunks

        block_args = [self._group_args(g, sequences, origin) for g in range(self.n_groups)]
        return DaskChunks([self.X, *rows], make_chunk, block_args=block_args), init_chunks

    def _group_args(self, g, sequences, origin) -> tuple:
        """make_chunk's arguments of group g after its rows: offsets, sequence slices
        and, if asked for, the origin."""
        a, b = self.bounds[g], self.bounds[g + 1]
        return (
            self.group_offsets(g),
            *(None if s is None else s[a:b] for s in sequences),
            *([(self.group_rows(g)[0], int(a))] if origin else []),
        )

    def _piece(self, make_chunk, rows, sequences, origin, g):
        a, b = self.group_rows(g)
        return make_chunk(
            np.asarray(self.X[a:b], dtype=np.float64),
            *(None if r is None else r[a:b] for r in rows),
            *self._group_args(g, sequences, origin),
        )


def prepare_sequences(
    estimator,
    X,
    lengths,
    *,
    chunk_size: int,
    reset: bool,
    allow_nan: bool,
    check_rows: Callable[[np.ndarray, np.ndarray], Any],
) -> SequenceData:
    """Validate concatenated sequences and cut them into groups (see the module doc).

    Parameters
    ----------
    estimator : the estimator being fitted (scikit-learn's validation sets its
        ``n_features_in_`` when ``reset``, else checks X against it).
    X : array-like, np.memmap, path of a ``.npy`` file or dask.array.Array
        of shape (n_rows, n_features).
    lengths : array-like of int of shape (n_sequences,) or None (one sequence).
    chunk_size : int
        Rows per group for an in-memory or memory-mapped X (a Dask array's own
        row-chunk size is used for it).
    reset : bool
    allow_nan : bool
        NaN marks missing values (infinity is refused either way).
    check_rows : callable
        ``check_rows(rows, offsets) -> summary`` raises a ValueError for a group's
        rows that the model cannot take (``rows``: float64, finite unless NaN is
        allowed; ``offsets``: its sequences, relative to its first row) and returns
        a small summary of them (kept in ``SequenceData.summaries``). It runs on a
        Dask worker for a Dask array, so it must be picklable.
    """
    if isinstance(X, (str, os.PathLike)):
        X = _data._open_npy(X)
    out_of_core = isinstance(X, np.memmap) or is_dask_collection(X)
    if not out_of_core:
        # finiteness is left to the group checks below, whose errors name the row
        X = _data.validated_rows(estimator, X, reset=reset, check_finite=False)
    else:
        _data.check_out_of_core_shape(X)
    offsets = checked_offsets(lengths, X.shape[0])
    if is_dask_collection(X):
        rows = max(X.chunks[0]) if X.shape[0] else 1
        bounds = sequence_groups(offsets, rows)
        # one block per group, all columns in it
        X = X.astype(np.float64).rechunk({0: tuple(np.diff(offsets[bounds])), 1: -1})
    else:
        bounds = sequence_groups(offsets, int(chunk_size))
    if out_of_core:
        # the leading groups of at most INIT_SAMPLE_ROWS rows, at least one
        ends = offsets[bounds[1:]]
        n_sample_groups = max(1, int(np.searchsorted(ends, _data.INIT_SAMPLE_ROWS, "right")))
        # first, so that a wrong number of features is reported before the data are
        # read; finiteness is left to the group checks, whose errors name the row
        sample = validate_data(
            estimator,
            np.asarray(X[: ends[n_sample_groups - 1]], dtype=np.float64),
            reset=reset,
            ensure_all_finite=False,
        )
    else:
        n_sample_groups, sample = bounds.shape[0] - 1, X
    data = SequenceData(X, offsets, bounds, n_sample_groups, sample, [])
    # every group's checks (on the workers for Dask, whose blocks are the groups)
    summaries = _data.check_blocks(
        check_rows,
        X,
        offsets[bounds],
        [(data.group_offsets(g),) for g in range(data.n_groups)],
        allow_nan=allow_nan,
    )
    return dataclasses.replace(data, summaries=summaries)


def checked_offsets(lengths, n_rows: int) -> np.ndarray:
    """Sequence offsets of shape (n_sequences + 1,) from ``lengths`` (None: one
    sequence), with clear errors for lengths that are not numbers (named by entry),
    not positive integers or do not sum to ``n_rows``."""
    if lengths is not None:
        lengths = _data.numeric_array(lengths, "lengths")
    return sequence_offsets(lengths, n_rows)


class LoadedChunks:
    """Groups of whole sequences of a memory-mapped array, read when they are E-stepped.

    The engine's reduction hands the whole E-step to this object (its
    ``e_step_total`` method): every group is read, converted and E-stepped by a
    worker thread, at most ``n_jobs`` groups at a time, and the statistics are added
    in group order, exactly as the in-memory reduction adds those of the same chunks.

    Parameters
    ----------
    load : callable
        ``load(g) -> chunk`` builds group g's chunk.
    n_groups : int
    n_jobs : int or None
        Threads (None or -1: every core).
    """

    def __init__(self, load: Callable[[int], Any], n_groups: int, n_jobs=None):
        self.load = load
        self.n_groups = int(n_groups)
        self.n_jobs = n_jobs

    def __len__(self) -> int:
        return self.n_groups

    def e_step_total(self, model, params):
        n_threads = min(resolve_n_jobs(self.n_jobs), self.n_groups)
        if n_threads < 2:
            return e_step_total(model, params, map(self.load, range(self.n_groups)))
        from threadpoolctl import threadpool_limits

        # one BLAS thread per worker thread, as the in-memory reduction does
        with ThreadPoolExecutor(n_threads) as pool, threadpool_limits(limits=1, user_api="blas"):
            window = _LoadingWindow(pool, self.load, n_threads)
            return e_step_total(model, params, range(self.n_groups), window)


class _LoadingWindow:
    """An executor's ``map`` over group indices that loads each group in the worker
    that E-steps it and keeps at most ``size`` groups in flight (Executor.map submits
    them all at once); results come back in order."""

    def __init__(self, pool: ThreadPoolExecutor, load, size: int):
        self.pool, self.load, self.size = pool, load, size

    def map(self, fn, indices: Sequence[int]):
        pending: deque = deque()
        for g in indices:
            pending.append(self.pool.submit(lambda g=g: fn(self.load(g))))
            if len(pending) == self.size:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
