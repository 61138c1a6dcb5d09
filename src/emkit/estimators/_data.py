"""Data sources of the mixture estimators: in-memory arrays, memory-mapped ``.npy``
files and Dask arrays, turned into the engine's chunks.

In memory, the chunks are row views of the validated array (threads run their
E-steps in parallel). A memory-mapped array (``np.memmap``, ``np.load(...,
mmap_mode="r")`` or the path of a ``.npy`` file) is never loaded whole: it is checked
and E-stepped ``chunk_size`` rows at a time, so memory is bounded by the chunk. A Dask
array is checked and E-stepped block by block on the current Dask scheduler. Every
source runs the same checks on every row, and what the data determine (the alphabet
of categorical data, the row total of multinomial counts) is inferred from all rows.
Initialisation (and the data-dependent default priors) use an in-memory sample: all
rows when the data are in memory, else evenly spaced rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from emkit.distributed.dask import is_dask_collection
from emkit.estimators._base import TrainingData, check_2d, check_sample_weight, numeric_array
from emkit.families._counts import EntryError
from emkit.io import NpyHeaderError, read_npy_header
from emkit.models import MixtureChunk

DEFAULT_CHUNK_ROWS = 65_536
INIT_SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class MixtureData:
    """chunks : for the engine; sample, sample_weight : in-memory rows for initialisation;
    n_samples : total weight of all rows; n_rows : number of rows; sample_labels : the
    known labels of the sample rows (-1 where unknown), or None."""

    chunks: Any
    sample: np.ndarray
    sample_weight: np.ndarray | None
    n_samples: float
    n_rows: int
    sample_labels: np.ndarray | None = None

    def training_data(self) -> TrainingData:
        """The fit template's view: the sample is the one initialisation chunk."""
        init_chunk = MixtureChunk(self.sample, self.sample_weight, labels=self.sample_labels)
        return TrainingData(
            self.chunks, [init_chunk], self.n_samples, self.n_rows, self.sample, self.sample_weight
        )


def no_check(rows) -> None:
    """The ``check_rows`` of data that need no checks beyond finiteness."""
    return None


def infer_nothing(summaries) -> None:
    """The ``infer`` of estimators that take nothing from the data's summaries."""


def prepare_mixture_data(
    estimator,
    X,
    sample_weight,
    *,
    reset,
    dtype,
    chunk_size,
    check_data,
    check_rows=no_check,
    infer=infer_nothing,
    y=None,
    check_labels=None,
    allow_nan=False,
):
    """Validate X (and sample weights, and labels) and cut them into chunks; see the
    module doc.

    Every row is checked the same way whatever the source: scikit-learn's
    validation, then :func:`check_block` with ``check_rows`` on every block of
    ``chunk_size`` rows (every row block of a Dask array, on its workers), then
    ``infer`` with the summaries of all blocks, then ``check_data`` on the in-memory
    rows.

    Parameters
    ----------
    estimator : the estimator being fitted (scikit-learn's validation sets its
        ``n_features_in_`` when ``reset``, else checks X against it).
    X : array-like, np.memmap, path of a ``.npy`` file or dask.array.Array
        of shape (n_samples, n_features).
    sample_weight : array-like of shape (n_samples,) or None
    reset : bool
    dtype : dtype the rows are checked and E-stepped in.
    chunk_size : int or None
        Rows per chunk (None: DEFAULT_CHUNK_ROWS); a Dask array keeps its row blocks.
    check_data : callable
        ``check_data(rows) -> rows`` checks and converts in-memory rows: the
        initialisation sample, and all of X when it is in memory (its chunks are
        views of the result). It may use what ``infer`` set.
    check_rows : callable, default=no_check
        ``check_rows(rows) -> summary`` raises a ValueError for rows (``dtype``,
        finite) that the model cannot take and returns a small summary of them; it
        runs on Dask workers, so it must be picklable.
    infer : callable, default=infer_nothing
        ``infer(summaries)`` gets the summaries of all blocks, in row order, and sets
        what depends on all rows (e.g. the alphabet of categorical data).
    y : array-like of shape (n_samples,), optional
        Known labels (-1 where unknown); they travel with the rows in every chunk.
    check_labels : callable, optional
        ``check_labels(y, n_rows) -> int64 labels or None``, required with ``y``.
    allow_nan : bool, default=False
        NaN marks missing values (infinity is refused either way).
    """
    chunk_size = DEFAULT_CHUNK_ROWS if chunk_size is None else int(chunk_size)
    if isinstance(X, (str, os.PathLike)):
        X = _open_npy(X)

    def labels_of(n_rows):
        if y is None:
            return None
        if is_dask_collection(y):
            return check_labels(np.asarray(y.compute()), n_rows)
        return check_labels(y, n_rows)

    if is_dask_collection(X):
        return _dask_data(
            estimator, X, sample_weight, reset, dtype, check_rows, infer, check_data,
            labels_of, allow_nan,
        )  # fmt: skip
    if isinstance(X, np.memmap):
        return _memmap_data(
            estimator, X, sample_weight, reset, dtype, chunk_size, check_rows, infer, check_data,
            labels_of, allow_nan,
        )  # fmt: skip
    # finiteness is left to the block checks below
    X = validated_rows(estimator, X, dtype=dtype, reset=reset, min_rows=2, check_finite=False)
    infer(
        check_blocks(
            check_rows, X, _block_starts(X.shape[0], chunk_size), dtype=dtype, allow_nan=allow_nan
        )
    )
    X = check_data(X)
    weights = check_sample_weight(sample_weight, X.shape[0])
    labels = labels_of(X.shape[0])
    chunks = _row_chunks(X, weights, chunk_size, labels)
    total = X.shape[0] if weights is None else float(weights.sum())
    return MixtureData(chunks, X, weights, total, X.shape[0], labels)


def check_block(check_rows, rows, first_row, *args, allow_nan=False):
    """Check one block of rows of X, whose first row is row ``first_row`` of X.

    Parameters
    ----------
    check_rows : callable
        ``check_rows(rows, *args) -> summary``; raises a ValueError for rows the
        model cannot take.
    rows : ndarray of shape (n_block_rows, n_features)
    first_row : int
    *args : further arguments of ``check_rows`` (e.g. the block's sequence offsets).
    allow_nan : bool, default=False
        NaN marks missing values (infinity is refused either way).

    Returns
    -------
    summary : what ``check_rows`` returned.

    Raises
    ------
    ValueError
        Naming the row in X (not in the block) of an entry that is not finite or
        that ``check_rows`` refuses with an :class:`~emkit.families._counts.EntryError`.
    """
    bad = np.isinf(rows) if allow_nan else ~np.isfinite(rows)
    if bad.any():
        raise ValueError(_non_finite_message(rows, bad, first_row, allow_nan))
    try:
        return check_rows(rows, *args)
    except EntryError as error:
        raise error.in_rows_from(first_row) from None


def _non_finite_message(rows, bad, first_row: int, allow_nan: bool) -> str:
    """Where the first non-finite entry of a block is, and what to do about it."""
    r, c = (int(i) for i in np.argwhere(bad)[0])
    value = rows[r, c]
    what = "infinity" if allow_nan else "NaN or infinity"
    remedy = (
        "NaN marks a missing value, but an infinity cannot be modelled: drop or replace it"
        if allow_nan
        else "drop or impute missing and infinite values"
    )
    if np.isinf(value) and rows.dtype == np.float32:
        remedy += "; values beyond float32's range (3.4e+38) become infinity: use float64"
    return (
        f"Input X contains {what} in row {first_row + r}, column {c} "
        f"(X[{first_row + r}, {c}] = {value}); {remedy}"
    )


def validated_rows(
    estimator,
    X,
    *,
    dtype=np.float64,
    reset: bool,
    min_rows: int = 1,
    allow_nan: bool = False,
    check_finite: bool = True,
):
    """In-memory X as a 2-D array of ``dtype``, validated as scikit-learn does (it sets
    or checks ``n_features_in_`` and the feature names), with emkit's messages: an
    entry that is not a number (named by row and column), complex data, a wrong
    shape, too few rows, and (unless ``check_finite`` is False) NaN or infinity.

    Parameters
    ----------
    estimator : the estimator X is for.
    X : array-like of shape (n_samples, n_features) (list, ndarray, DataFrame).
    dtype : dtype of the result.
    reset : bool
        Set ``n_features_in_`` (fit), rather than check X against it.
    min_rows : int, default=1
    allow_nan : bool, default=False
        NaN marks missing values (infinity is refused either way).
    check_finite : bool, default=True

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) and ``dtype``.
    """
    array = numeric_array(X, "X")
    check_2d(array, "X", min_rows)
    # a DataFrame keeps its column names for scikit-learn's feature-name checks
    source = X if getattr(X, "columns", None) is not None else array
    rows = validate_data(estimator, source, dtype=dtype, reset=reset, ensure_all_finite=False)
    if check_finite:
        check_block(no_check, rows, 0, allow_nan=allow_nan)
    return rows


def check_out_of_core_dtype(X) -> None:
    """A clear error unless a memory-mapped or Dask X holds real numbers (its entries
    are not read here)."""
    if X.dtype.kind not in "biuf":
        numeric_array(np.zeros(0, dtype=X.dtype), "X")  # its message for that dtype
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}; save it as float")


def check_blocks(check_rows, X, starts, block_args=None, *, dtype=np.float64, allow_nan=False):
    """:func:`check_block` on every block of rows ``starts[i]:starts[i + 1]`` of X.

    An in-memory or memory-mapped X is read one block at a time (memory is bounded by
    a block); a Dask X, whose row blocks must be exactly these, is checked one task
    per block on the current Dask scheduler.

    Parameters
    ----------
    check_rows : callable
        ``check_rows(rows, *block_args[i]) -> summary`` (picklable for Dask).
    X : ndarray, np.memmap or dask.array.Array of shape (n_rows, n_features)
        (a Dask array in one block of columns).
    starts : sequence of int of shape (n_blocks + 1,)
        Block boundaries, from 0 to n_rows.
    block_args : sequence of tuple, optional
        Further arguments of ``check_rows``, one tuple per block (default: none).
    dtype : dtype the rows of an in-memory or memory-mapped X are checked in.
    allow_nan : bool, default=False

    Returns
    -------
    summaries : list, what ``check_rows`` returned for every block, in order.
    """
    starts = [int(start) for start in starts]
    block_args = [()] * (len(starts) - 1) if block_args is None else block_args
    blocks = zip(starts[:-1], starts[1:], block_args, strict=True)
    if is_dask_collection(X):
        import dask

        checks = (
            dask.delayed(check_block)(check_rows, rows, a, *args, allow_nan=allow_nan)
            for rows, (a, _, args) in zip(X.to_delayed().ravel(), blocks, strict=True)
        )
        return list(dask.compute(*checks))
    return [
        check_block(check_rows, np.asarray(X[a:b], dtype=dtype), a, *args, allow_nan=allow_nan)
        for a, b, args in blocks
    ]


def check_out_of_core_shape(X) -> None:
    """A clear error unless a memory-mapped or Dask X is 2-D with known row blocks, of
    real numbers."""
    check_out_of_core_dtype(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array of shape (n_samples, n_features), got {X.shape}")
    if np.isnan(X.shape[0]):
        raise ValueError("the Dask array has unknown chunk sizes; call X.compute_chunk_sizes()")


def _block_starts(n_rows: int, chunk_size: int) -> np.ndarray:
    """Boundaries of the blocks of ``chunk_size`` rows (the last may be shorter)."""
    return np.append(np.arange(0, n_rows, chunk_size), n_rows)


def _row_chunks(X, weights, chunk_size, labels=None):
    """Row views of X (and of the weights and labels), ``chunk_size`` rows each."""
    return [
        MixtureChunk(
            X[i : i + chunk_size],
            None if weights is None else weights[i : i + chunk_size],
            first_row=i,
            labels=None if labels is None else labels[i : i + chunk_size],
        )
        for i in range(0, X.shape[0], chunk_size)
    ]


def _open_npy(path):
    path = Path(path)
    if path.suffix != ".npy" or not path.is_file():
        raise ValueError(f"X as a path must name an existing .npy file, got {str(path)!r}")
    remedy = "save the data as numbers, e.g. np.save(path, np.asarray(X, dtype=float))"
    try:
        with path.open("rb") as stream:
            read_npy_header(stream, path.stat().st_size)
    except NpyHeaderError as error:
        # an object array: loading it would unpickle (run) whatever it holds
        what = (
            "holds an object array (pickled Python objects), which emkit never loads"
            if error.reason == "objects"
            else f"is not a readable .npy file (it {error})"
        )
        raise ValueError(f"X: {str(path)!r} {what}; {remedy}") from None
    except OSError as error:
        raise ValueError(
            f"X: cannot read {str(path)!r} ({error.strerror or type(error).__name__}); "
            "check that the file is readable"
        ) from None
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise ValueError(f"X: {str(path)!r} is not a readable .npy file; {remedy}") from None


def _sample_rows(n_rows: int, limit: int | None = None) -> np.ndarray:
    """Evenly spaced row indices, at most ``limit`` (default INIT_SAMPLE_ROWS) of them."""
    limit = INIT_SAMPLE_ROWS if limit is None else limit
    return np.arange(0, n_rows, max(1, -(-n_rows // limit)))


def _out_of_core_sample(estimator, X, dtype, reset):
    """Check the shape of a memory-mapped or Dask X; its evenly spaced sample rows (their
    indices and the rows, validated by scikit-learn but not yet checked)."""
    check_out_of_core_shape(X)
    if X.shape[0] < 2:
        raise ValueError(f"at least 2 samples are needed, got {X.shape[0]}")
    rows = _sample_rows(X.shape[0])
    sample = X[rows]
    sample = sample.compute() if is_dask_collection(sample) else np.asarray(sample)
    # first, so that a wrong number of features is reported before the data are read;
    # finiteness is left to the block checks, whose errors name the row
    return rows, validate_data(estimator, sample, dtype=dtype, reset=reset, ensure_all_finite=False)


def _memmap_data(
    estimator,
    X,
    sample_weight,
    reset,
    dtype,
    chunk_size,
    check_rows,
    infer,
    check_data,
    labels_of,
    allow_nan,
):
    rows, sample = _out_of_core_sample(estimator, X, dtype, reset)
    # streams the file once
    infer(
        check_blocks(
            check_rows, X, _block_starts(X.shape[0], chunk_size), dtype=dtype, allow_nan=allow_nan
        )
    )
    sample = check_data(sample)
    weights = None
    if sample_weight is not None:  # only the number of rows of the second argument is used
        weights = check_sample_weight(sample_weight, X.shape[0])
    labels = labels_of(X.shape[0])
    chunks = _row_chunks(X, weights, chunk_size, labels)
    total = X.shape[0] if weights is None else float(weights.sum())
    sample_weights = None if weights is None else weights[rows]
    sample_labels = None if labels is None else labels[rows]
    return MixtureData(chunks, sample, sample_weights, total, X.shape[0], sample_labels)


def _dask_data(
    estimator, X, sample_weight, reset, dtype, check_rows, infer, check_data, labels_of, allow_nan
):
    import dask
    import dask.array as da

    from emkit.distributed import DaskChunks

    rows, sample = _out_of_core_sample(estimator, X, dtype, reset)
    n_rows = X.shape[0]
    # one block of columns, so that every check sees whole rows
    X = X.astype(dtype).rechunk({1: -1})
    infer(check_blocks(check_rows, X, np.cumsum((0, *X.chunks[0])), allow_nan=allow_nan))
    sample = check_data(sample)
    weights = None
    if sample_weight is not None:
        weights = da.asarray(sample_weight).astype(np.float64).rechunk((X.chunks[0],))
        if weights.shape != (n_rows,):
            raise ValueError(f"sample_weight must have shape ({n_rows},), got {weights.shape}")
        low, total = dask.compute(weights.min(), weights.sum())
        if not np.isfinite(total) or low < 0 or total <= 0:
            raise ValueError("sample_weight must be finite and non-negative with a positive sum")
    labels = labels_of(n_rows)
    chunks = DaskChunks([X, weights, labels], labelled_chunk)
    sample_weights = None if weights is None else weights[rows].compute()
    total = n_rows if weights is None else float(total)
    sample_labels = None if labels is None else labels[rows]
    return MixtureData(chunks, sample, sample_weights, total, n_rows, sample_labels)


def labelled_chunk(X, sample_weight=None, labels=None) -> MixtureChunk:
    """A MixtureChunk of one Dask row block (built on a worker; picklable)."""
    return MixtureChunk(X, sample_weight, labels=labels)
