"""The rows of a list of chunks as one array, for the models' data-driven starts.

Chunks (``MixtureChunk``, ``HMMChunk``) have ``X`` of shape (n, D) and ``row_weights``,
the weight of every row or None.
"""

from __future__ import annotations

import numpy as np

__all__ = ["concat_row_weights", "concat_rows", "filled_with_column_means"]


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


def filled_with_column_means(X: np.ndarray, weights) -> np.ndarray:
    """X (n, D) with every NaN replaced by the (weighted) mean of its column's observed
    values, for a data-driven start on data with missing values (a Gaussian family's
    E-step then replaces them by their conditional expectations); a ValueError naming
    a column without any."""
    observed = ~np.isnan(X)
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mass = w @ observed
    empty = np.flatnonzero(mass <= 0)
    if empty.size:
        raise ValueError(
            f"feature {int(empty[0])} of X has no observed value (all NaN) in the rows "
            "that start the fit: drop that column, or give values for it"
        )
    means = (w @ np.where(observed, X, 0.0)) / mass
    return np.where(observed, X, means.astype(X.dtype))
