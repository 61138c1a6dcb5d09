"""Reduction of the E-step over the chunks of a data set: statistics are additive.

Three ways to run the same sum, chosen by the data source and ``n_jobs``:

* serially over a sequence of chunks;
* on a pool of threads (NumPy's BLAS calls and ufuncs and emkit's numba kernels
  release the GIL), with BLAS limited to one thread inside the pool so the cores
  are not oversubscribed;
* by the data source itself, when it has an ``e_step_total(model, params)`` method
  (a Dask collection: per-block E-steps on the cluster, tree-reduced).

The statistics are always added in chunk order, so the result does not depend on the
number of threads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["Reducer", "e_step_total", "resolve_n_jobs"]


def e_step_total(model, params, chunks: Sequence[Any], executor=None):
    """E-step over all chunks: summed statistics and summed log-likelihood."""
    if hasattr(chunks, "e_step_total"):
        return chunks.e_step_total(model, params)
    if executor is None or len(chunks) < 2:
        results = (model.e_step(params, chunk) for chunk in chunks)
    else:
        results = executor.map(lambda chunk: model.e_step(params, chunk), chunks)
    total_stats, total_loglik = None, 0.0
    for stats, loglik in results:
        total_stats = stats if total_stats is None else total_stats + stats
        total_loglik += loglik
    if total_stats is None:
        raise ValueError("no data: the sequence of chunks is empty")
    return total_stats, total_loglik


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Number of threads for ``n_jobs``: None means every available core, -1 too."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if n_jobs is None or n_jobs == -1:
        return max(1, available or 1)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be None, -1 or a positive integer, got {n_jobs}")
    return int(n_jobs)


class Reducer(contextlib.AbstractContextManager):
    """``reducer(model, params) -> (stats, loglik)`` over fixed chunks, for one fit.

    Holds the thread pool (and the BLAS thread limit) for the duration of the fit.
    """

    def __init__(self, chunks: Sequence[Any], n_jobs: int | None = 1):
        self.chunks = chunks
        self.n_threads = 1 if hasattr(chunks, "e_step_total") else resolve_n_jobs(n_jobs)
        self._executor = None
        self._blas_limit = None

    def __enter__(self):
        if self.n_threads > 1 and len(self.chunks) > 1:
            from threadpoolctl import threadpool_limits

            self._blas_limit = threadpool_limits(limits=1, user_api="blas")
            self._executor = ThreadPoolExecutor(self.n_threads, thread_name_prefix="emkit-e-step")
        return self

    def __exit__(self, *exc):
        if self._executor is not None:
            self._executor.shutdown()
            self._blas_limit.restore_original_limits()
        return False

    def __call__(self, model, params):
        return e_step_total(model, params, self.chunks, self._executor)
