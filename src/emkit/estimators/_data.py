"""Data sources of the mixture estimators: in-memory arrays, memory-mapped ``.npy``
files and Dask arrays, turned into the engine's chunks.

In memory, the chunks are row views of the validated array (threads run their
E-steps in parallel). A memory-mapped array (``np.memmap``, ``np.load(...,
mmap_mode="r")`` or the path of a ``.npy`` file) is never loaded whole: it is checked
and E-stepped ``chunk_size`` rows at a time, so memory is bounded by the chunk. A Dask
array is E-stepped block by block on the current Dask scheduler. Initialisation (and
the data-dependent default priors) use an in-memory sample: all rows when the data
are in memory, else evenly spaced rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from emkit.distributed.dask import is_dask_collection
from emkit.estimators._base import check_sample_weight
from emkit.families._counts import EntryError
from emkit.models import MixtureChunk

DEFAULT_CHUNK_ROWS = 65_536
INIT_SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class MixtureData:
    """chunks : for the engine; sample, sample_weight : in-memory rows for initialisation;
    n_samples : total weight of all rows; n_rows : number of rows."""

    chunks: Any
    sample: np.ndarray
    sample_weight: np.ndarray | None
    n_samples: float
    n_rows: int


def is_out_of_core(X) -> bool:
    return isinstance(X, (np.memmap, str, os.PathLike)) or is_dask_collection(X)


def prepare_mixture_data(estimator, X, sample_weight, *, reset, dtype, chunk_size, check_data):
    """Validate X (and sample weights) and cut them into chunks; see the module doc."""
    chunk_size = DEFAULT_CHUNK_ROWS if chunk_size is None else int(chunk_size)
    if isinstance(X, (str, os.PathLike)):
        X = _open_npy(X)
    if is_dask_collection(X):
        return _dask_data(estimator, X, sample_weight, reset, dtype, check_data)
    if isinstance(X, np.memmap):
        return _memmap_data(estimator, X, sample_weight, reset, dtype, chunk_size, check_data)
    X = check_data(validate_data(estimator, X, dtype=dtype, ensure_min_samples=2, reset=reset))
    weights = check_sample_weight(sample_weight, X)
    chunks = _row_chunks(X, weights, chunk_size)
    total = X.shape[0] if weights is None else float(weights.sum())
    return MixtureData(chunks, X, weights, total, X.shape[0])


def _row_chunks(X, weights, chunk_size):
    """Row views of X (and of the weights), ``chunk_size`` rows each."""
    return [
        MixtureChunk(
            X[i : i + chunk_size], None if weights is None else weights[i : i + chunk_size]
        )
        for i in range(0, X.shape[0], chunk_size)
    ]


def _open_npy(path):
    path = Path(path)
    if path.suffix != ".npy" or not path.is_file():
        raise ValueError(f"X as a path must name an existing .npy file, got {str(path)!r}")
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _sample_rows(n_rows: int, limit: int | None = None) -> np.ndarray:
    """Evenly spaced row indices, at most ``limit`` (default INIT_SAMPLE_ROWS) of them."""
    limit = INIT_SAMPLE_ROWS if limit is None else limit
    return np.arange(0, n_rows, max(1, -(-n_rows // limit)))


def _memmap_data(estimator, X, sample_weight, reset, dtype, chunk_size, check_data):
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array of shape (n_samples, n_features), got {X.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"at least 2 samples are needed, got {X.shape[0]}")
    for start in range(0, X.shape[0], chunk_size):  # stream the whole file once
        block = np.asarray(X[start : start + chunk_size])
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise ValueError(f"X contains NaN or infinity in row {start + int(np.argmax(bad))}")
        try:
            check_data(block.astype(dtype, copy=False))
        except EntryError as error:  # name the row in the file, not in the block
            raise error.in_rows_from(start) from None
    rows = _sample_rows(X.shape[0])
    sample = check_data(validate_data(estimator, np.asarray(X[rows]), dtype=dtype, reset=reset))
    weights = None
    if sample_weight is not None:  # only the number of rows of the second argument is used
        weights = check_sample_weight(sample_weight, np.empty((X.shape[0], 0)))
    chunks = _row_chunks(X, weights, chunk_size)
    total = X.shape[0] if weights is None else float(weights.sum())
    sample_weights = None if weights is None else weights[rows]
    return MixtureData(chunks, sample, sample_weights, total, X.shape[0])


def _dask_data(estimator, X, sample_weight, reset, dtype, check_data):
    import dask
    import dask.array as da

    from emkit.distributed import DaskChunks

    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array of shape (n_samples, n_features), got {X.shape}")
    n_rows = X.shape[0]
    if np.isnan(n_rows):
        raise ValueError("the Dask array has unknown chunk sizes; call X.compute_chunk_sizes()")
    rows = _sample_rows(n_rows)
    sample = check_data(validate_data(estimator, X[rows].compute(), dtype=dtype, reset=reset))
    X = X.astype(dtype)
    (finite,) = dask.compute(da.isfinite(X).all())
    if not finite:
        raise ValueError("X contains NaN or infinity")
    weights = None
    if sample_weight is not None:
        weights = da.asarray(sample_weight).astype(np.float64).rechunk((X.chunks[0],))
        if weights.shape != (n_rows,):
            raise ValueError(f"sample_weight must have shape ({n_rows},), got {weights.shape}")
        low, total = dask.compute(weights.min(), weights.sum())
        if not np.isfinite(total) or low < 0 or total <= 0:
            raise ValueError("sample_weight must be finite and non-negative with a positive sum")
    chunks = DaskChunks([X, weights], MixtureChunk)
    sample_weights = None if weights is None else weights[rows].compute()
    total = n_rows if weights is None else float(total)
    return MixtureData(chunks, sample, sample_weights, total, n_rows)
