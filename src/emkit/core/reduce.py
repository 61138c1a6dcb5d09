"""Reduction of the E-step over the chunks of a data set: statistics are additive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["e_step_total"]


def e_step_total(model, params, chunks: Sequence[Any]):
    """E-step over all chunks: summed statistics and summed log-likelihood."""
    total_stats, total_loglik = None, 0.0
    for chunk in chunks:
        stats, loglik = model.e_step(params, chunk)
        total_stats = stats if total_stats is None else total_stats + stats
        total_loglik += loglik
    if total_stats is None:
        raise ValueError("no data: the sequence of chunks is empty")
    return total_stats, total_loglik
