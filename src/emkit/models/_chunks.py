"""The rows of a list of chunks as one array, for the models' data-driven starts.

Chunks (``MixtureChunk``, ``HMMChunk``) have ``X`` of shape (n, D) and ``row_weights``,
the weight of every row or None.
"""

from __future__ import annotations

import numpy as np

__all__ = ["concat_row_weights", "concat_rows"]


def concat_rows(chunks) -> np.ndarray:
    """X of all chunks, shape (sum of n, D) (the chunk's own array when there is one)."""
    return np.concatenate([c.X for c in chunks]) if len(chunks) > 1 else chunks[0].X


def concat_row_weights(chunks) -> np.ndarray | None:
    """The row weights of all chunks, shape (sum of n,), 1 for a chunk without weights;
    None when no chunk has weights."""
    weights = [c.row_weights for c in chunks]
    if all(w is None for w in weights):
        return None
    return np.concatenate(
        [w if w is not None else np.ones(len(c)) for w, c in zip(weights, chunks, strict=True)]
    )
