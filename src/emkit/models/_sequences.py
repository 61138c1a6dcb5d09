"""Concatenated sequences: validation of ``lengths`` shared by the sequence models
(hidden Markov models and linear-Gaussian state-space models)."""

from __future__ import annotations

import numpy as np

__all__ = ["sequence_offsets"]


def sequence_offsets(lengths, n_samples: int) -> np.ndarray:
    """Offsets (S + 1,) from ``lengths``, with a clear error when they do not fit the data.

    ``lengths=None`` means one sequence of all ``n_samples`` rows.
    """
    if lengths is None:
        return np.array([0, n_samples], dtype=np.int64)
    lengths_array = np.asarray(lengths)
    if lengths_array.ndim != 1 or lengths_array.size == 0:
        raise ValueError(
            f"lengths must be a non-empty 1-D list of sequence lengths, got shape "
            f"{lengths_array.shape}"
        )
    if not np.issubdtype(lengths_array.dtype, np.number) or np.any(
        lengths_array != np.round(lengths_array)
    ):
        raise ValueError("lengths must hold integers (the number of rows of every sequence)")
    lengths_array = lengths_array.astype(np.int64)
    if np.any(lengths_array < 1):
        s = int(np.flatnonzero(lengths_array < 1)[0])
        raise ValueError(
            f"every sequence needs at least one row, but lengths[{s}] = {lengths_array[s]}"
        )
    total = int(lengths_array.sum())
    if total != n_samples:
        raise ValueError(
            f"lengths sum to {total} but X has {n_samples} rows; lengths must give the "
            "number of rows of every sequence in X, in order"
        )
    return np.concatenate([[0], np.cumsum(lengths_array)]).astype(np.int64)
