"""NumPy twin of :mod:`emkit._kernels.transcripts` (tests and benchmarks only).

Vectorised over the entries: the class masses by ``np.add.reduceat``, the expected
counts by ``np.bincount``. Same skipping rules as the kernel.
"""

from __future__ import annotations

import numpy as np

from emkit._kernels.transcripts import ClassEStep

__all__ = ["class_e_step"]


def class_e_step(indptr, indices, weights, counts, v, offset=0) -> ClassEStep:
    """Same as :func:`emkit._kernels.transcripts.class_e_step`, in NumPy."""
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    if weights is None:
        weights = np.ones(indices.size)
    weights = np.asarray(weights, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    start = indptr[0]
    local = indptr - start
    local_indices = indices[start : indptr[-1]] - offset
    entries = v[local_indices] * weights[start : indptr[-1]]
    sizes = np.diff(local)
    if entries.size:
        # reduceat needs valid start positions: every class here has at least one entry
        mass = np.add.reduceat(entries, local[:-1]) if sizes.size else np.zeros(0)
    else:
        mass = np.zeros(sizes.size)
    positive = counts > 0
    ok = positive & (mass > 0)
    impossible = np.flatnonzero(positive & ~(mass > 0))
    scale = np.zeros_like(mass)
    scale[ok] = counts[ok] / mass[ok]
    out = np.bincount(
        local_indices,
        weights=entries * np.repeat(scale, sizes),
        minlength=v.shape[0],
    ).astype(np.float64)
    log_mass = float(np.sum(counts[ok] * np.log(mass[ok])))
    first = int(impossible[0]) if impossible.size else -1
    return ClassEStep(out, log_mass, int(impossible.size), first)
