"""This machine's arithmetic ceiling, measured in the same run as the benchmarks.

Issue 15 asks each fast path to be within 2x of the ceiling for its operation count.
The ceiling is the rate of a large float64 matrix product (BLAS GEMM, the fastest
floating-point work NumPy can do here), measured on one thread and on every thread
the BLAS uses, best of a few repeats (the best, because load from other jobs only
ever slows it down).

Use: ``gflops = gemm_gflops(threads=1)``; an operation's share of the ceiling is
``flop_count / seconds / 1e9 / gflops``.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits


def gemm_gflops(threads: int | None = None, size: int = 1024, repeats: int = 5) -> float:
    """Best GFLOP/s of a ``size`` x ``size`` float64 matrix product.

    Parameters
    ----------
    threads : int or None
        BLAS threads (None: the BLAS default, every core).
    size : int
        Matrix order; 2 * size**3 floating-point operations per product.
    repeats : int
        Products timed; the fastest counts.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size))
    b = rng.standard_normal((size, size))
    out = np.empty((size, size))
    best = np.inf
    with threadpool_limits(limits=threads, user_api="blas"):
        np.matmul(a, b, out=out)  # warm-up: page in, spin up the BLAS threads
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def ceiling_report() -> dict:
    """GEMM GFLOP/s on one thread and on all, for a benchmark's results table."""
    return {"gemm_gflops_1_thread": gemm_gflops(threads=1), "gemm_gflops_all": gemm_gflops()}


if __name__ == "__main__":
    for key, value in ceiling_report().items():
        print(f"{key}: {value:.1f}")
