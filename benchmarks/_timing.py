"""Side-by-side timing helpers shared by the benchmarks.

The machine is shared and noisy, so the two implementations are timed *interleaved*
(emkit, peer, emkit, peer, ...) in one process and compared by the ratio of medians.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable


def interleaved_medians(first: Callable[[], object], second: Callable[[], object], repeats: int):
    """Median wall time (seconds) of ``first`` and of ``second``, run alternately."""
    times_first, times_second = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        first()
        times_first.append(time.perf_counter() - start)
        start = time.perf_counter()
        second()
        times_second.append(time.perf_counter() - start)
    return statistics.median(times_first), statistics.median(times_second)


def peak_memory_mb(function: Callable[[], object]) -> float:
    """Peak memory (MB) that ``function`` allocates through Python and NumPy (tracemalloc)."""
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A markdown table of ``rows`` (dicts) with the given ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
