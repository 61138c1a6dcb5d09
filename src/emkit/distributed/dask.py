"""A Dask array as the data of an EM fit: per-block E-steps, tree-reduced statistics.

Every iteration submits one E-step task per row block of the array to the current
Dask scheduler (the active ``dask.distributed`` client when there is one, local or
remote), adds the statistics pairwise in a tree of ``split_every``-ary sums on the
workers, and brings only the final, fixed-size statistics back to the client, where
the engine runs the M-step. Dask recomputes the tasks of a lost worker, so a fit
survives losing workers part-way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DaskChunks", "is_dask_collection"]


def is_dask_collection(data) -> bool:
    """True for a Dask collection, without importing Dask when it is not one."""
    return type(data).__module__.startswith("dask.")


def _e_step(model, params, make_chunk, *blocks):
    return model.e_step(params, make_chunk(*blocks))


def _add_all(*parts):
    stats, loglik = parts[0]
    for more_stats, more_loglik in parts[1:]:
        stats, loglik = stats + more_stats, loglik + more_loglik
    return stats, loglik


class DaskChunks:
    """Row blocks of Dask arrays, as chunks the engine can reduce on a cluster.

    Parameters
    ----------
    arrays : sequence of dask.array.Array
        Arrays with the same number of rows (e.g. X and sample weights); each is
        split into the same row blocks (columns are kept in one block).
    make_chunk : callable
        ``make_chunk(*row_blocks) -> chunk`` builds the model's chunk on a worker,
        e.g. ``MixtureChunk``.
    split_every : int
        Fan-in of the reduction tree.
    """

    def __init__(self, arrays, make_chunk: Callable[..., Any], split_every: int = 8):
        import dask.array as da

        arrays = [a for a in arrays if a is not None]
        first = arrays[0]
        row_chunks = first.chunks[0]
        self.arrays = [
            da.asarray(a).rechunk({0: row_chunks, **{i: -1 for i in range(1, a.ndim)}})
            for a in arrays
        ]
        self.make_chunk = make_chunk
        self.split_every = int(split_every)
        self.blocks = [a.to_delayed().ravel() for a in self.arrays]

    def __len__(self) -> int:
        return len(self.blocks[0])

    def e_step_total(self, model, params):
        import dask

        model_key = dask.delayed(model, pure=True)
        params_key = dask.delayed(params, pure=True)
        parts = [
            dask.delayed(_e_step, pure=True)(model_key, params_key, self.make_chunk, *blocks)
            for blocks in zip(*self.blocks, strict=True)
        ]
        while len(parts) > 1:
            parts = [
                dask.delayed(_add_all, pure=True)(*parts[i : i + self.split_every])
                for i in range(0, len(parts), self.split_every)
            ]
        (result,) = dask.compute(parts[0])
        return result

    def head(self, n_rows: int):
        """The first ``n_rows`` rows of every array, computed (for initialisation)."""
        import dask

        return dask.compute(*[a[:n_rows] for a in self.arrays])
