"""Concatenated sequences: validation of ``lengths`` shared by the sequence models
(hidden Markov models and linear-Gaussian state-space models)."""

from __future__ import annotations

import numpy as np

__all__ = ["sequence_groups", "sequence_offsets"]


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


def sequence_groups(offsets: np.ndarray, max_rows: int) -> np.ndarray:
    """Cut concatenated sequences into groups of whole sequences of at most ``max_rows`` rows.

    Groups are filled greedily in order; a sequence longer than ``max_rows`` is a group
    of its own (a sequence is never split). The models' statistics of the groups sum to
    those of all sequences, so the groups are the chunks of chunked and out-of-core fits.

    Parameters
    ----------
    offsets : ndarray of int of shape (n_sequences + 1,)
        Sequence s is rows offsets[s]:offsets[s + 1] (see :func:`sequence_offsets`).
    max_rows : int
        Rows per group (at least 1).

    Returns
    -------
    bounds : ndarray of int64 of shape (n_groups + 1,)
        Group g holds sequences bounds[g]:bounds[g + 1]; bounds[0] = 0 and
        bounds[-1] = n_sequences.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if max_rows < 1:
        raise ValueError(f"the rows per chunk must be a positive integer, got {max_rows}")
    bounds, first = [0], 0
    for s in range(1, offsets.shape[0] - 1):
        # close the group before sequence s when s would take it past max_rows
        if offsets[s + 1] - offsets[first] > max_rows:
            bounds.append(s)
            first = s
    bounds.append(offsets.shape[0] - 1)
    return np.asarray(bounds, dtype=np.int64)
