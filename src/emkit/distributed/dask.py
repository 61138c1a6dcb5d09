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

import numpy as np

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
    arrays : sequence of dask.array.Array, array-like or None
        Arrays with the same number of rows (e.g. X and sample weights); each is
        split into the row blocks of the first (columns are kept in one block). An
        entry None gives ``make_chunk`` None in its place for every block.
    make_chunk : callable
        ``make_chunk(*row_blocks, *block_args[b]) -> chunk`` builds the model's chunk
        of block b on a worker, e.g. ``MixtureChunk``.
    split_every : int
        Fan-in of the reduction tree.
    block_args : sequence of tuple, optional
        Further arguments of ``make_chunk``, one tuple per row block (e.g. where the
        sequences within the block start, and their weights). Default: none.
    """

    def __init__(
        self,
        arrays,
        make_chunk: Callable[..., Any],
        split_every: int = 8,
        block_args=None,
    ):
        import dask.array as da

        row_chunks = arrays[0].chunks[0]
        self.arrays = [
            None
            if a is None
            else da.asarray(a).rechunk({0: row_chunks, **{i: -1 for i in range(1, np.ndim(a))}})
            for a in arrays
        ]
        self.make_chunk = make_chunk
        self.split_every = int(split_every)
        n_blocks = len(row_chunks)
        self.blocks = [
            [None] * n_blocks if a is None else list(a.to_delayed().ravel()) for a in self.arrays
        ]
        self.block_args = [()] * n_blocks if block_args is None else [tuple(b) for b in block_args]
        if len(self.block_args) != n_blocks:
            raise ValueError(
                f"block_args has {len(self.block_args)} entries for {n_blocks} row blocks"
            )

    def __len__(self) -> int:
        return len(self.blocks[0])

    def e_step_total(self, model, params):
        import dask

        model_key = dask.delayed(model, pure=True)
        params_key = dask.delayed(params, pure=True)
        parts = [
            dask.delayed(_e_step, pure=True)(model_key, params_key, self.make_chunk, *blocks, *args)
            for *blocks, args in zip(*self.blocks, self.block_args, strict=True)
        ]
        while len(parts) > 1:
            parts = [
                dask.delayed(_add_all, pure=True)(*parts[i : i + self.split_every])
                for i in range(0, len(parts), self.split_every)
            ]
        (result,) = dask.compute(parts[0])
        return result
