"""Equivalence classes of reads, stored flat (CSR-like) for the E-step kernel.

An equivalence class is a set of transcripts and the number of reads compatible with
exactly that set (kallisto's pseudoalignments, salmon's ``eq_classes.txt``). Class
``c``'s transcripts are ``indices[indptr[c]:indptr[c + 1]]``; salmon's per-entry
conditional weights, when given, are the same slice of ``weights``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from emkit.models.transcripts import ClassChunk

__all__ = ["EquivalenceClasses"]

#: entries per chunk when ``chunk_size`` is not given, at least: enough work per chunk
#: (a pass over its entries) to outweigh allocating and adding its (n_transcripts,)
#: statistics, which cost about as much as one entry per transcript (0.3 ms for
#: 200,000 transcripts, against about 6 ns an entry in the kernel)
MIN_CHUNK_ENTRIES = 1 << 18
MIN_ENTRIES_PER_TRANSCRIPT = 4
#: large sets are cut into this many chunks of equal entries (fewer when the floors
#: above bind), so 2, 4, 8 or 16 threads get equal work: 7 chunks of 16 entries per
#: transcript left one of 2 threads 4/7 of the work
N_CHUNKS = 16
#: classes whose smallest transcript lies in the same block of this many transcripts
#: are held together, by size (then by smallest transcript): the block's abundances
#: and expected counts (64 KB) stay in the cache, and the E-step's loops over a class's
#: entries run the same number of times class after class, which the branch predictor
#: learns (measured: 0.77-0.80 of the E-step's time in smallest-transcript order alone,
#: blocks of 1,024 to 8,192 alike)
LOCALITY_BLOCK = 4096


def _as_int_array(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        as_float = np.asarray(array, dtype=np.float64)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
            raise ValueError(f"{name} must hold integer transcript indices")
    return np.ascontiguousarray(array, dtype=np.int64).ravel()


class EquivalenceClasses:
    """Equivalence classes of reads over a set of transcripts.

    Parameters
    ----------
    members : sequence of array-like of int
        The transcript indices of every class (0-based), one array per class.
    counts : array-like of shape (n_classes,)
        Reads in every class (non-negative, finite; kallisto's and salmon's are
        integers, a bootstrap's or a user's need not be).
    effective_lengths : array-like of shape (n_transcripts,), optional
        ℓ̃ of every transcript (positive). The weight of an entry is then 1/ℓ̃; without
        them (and without ``weights``) every entry weighs 1 (lengths ignored).
    names : sequence of str, optional
        Transcript names (their order is the indices' order).
    weights : sequence of array-like of float, optional
        Per-entry conditional weights, shaped as ``members`` (salmon's
        ``--dumpEqWeights``); they replace 1/ℓ̃ in the E-step.
    lengths : array-like of shape (n_transcripts,), optional
        Transcript lengths (for the writers of ``abundance.tsv`` and ``quant.sf``).
    n_transcripts : int, optional
        Number of transcripts; by default the size of ``names``, ``effective_lengths``
        or ``lengths``, else one more than the largest index.

    Attributes
    ----------
    indptr : ndarray of shape (n_classes + 1,), int64
    indices : ndarray of shape (n_entries,), int64
    counts : ndarray of shape (n_classes,), float64
    weights : ndarray of shape (n_entries,) or None
    effective_lengths, lengths : ndarray of shape (n_transcripts,) or None
    names : list of str or None

    Raises
    ------
    ValueError
        One clear message per problem: a class naming an unknown transcript, an empty
        class, negative or non-finite counts, zero or negative effective lengths or
        weights, sizes that do not match.
    """

    def __init__(
        self,
        members: Sequence,
        counts,
        effective_lengths=None,
        names=None,
        weights=None,
        *,
        lengths=None,
        n_transcripts: int | None = None,
    ):
        members = [_as_int_array(m, "members") for m in members]
        sizes = np.array([m.size for m in members], dtype=np.int64)
        indptr = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        indices = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
        flat_weights = None
        if weights is not None:
            weights = [np.asarray(w, dtype=np.float64).ravel() for w in weights]
            if len(weights) != len(members):
                raise ValueError(
                    f"weights must have one array per class: got {len(weights)} for "
                    f"{len(members)} classes"
                )
            for c, (w, m) in enumerate(zip(weights, members, strict=True)):
                if w.size != m.size:
                    raise ValueError(
                        f"weights of class {c} has {w.size} entries for its {m.size} "
                        "transcripts: give one weight per member"
                    )
            flat_weights = np.concatenate(weights) if weights else np.zeros(0)
        self._set(
            indptr, indices, counts, flat_weights, effective_lengths, names, lengths, n_transcripts
        )

    @classmethod
    def from_arrays(
        cls,
        indptr,
        indices,
        counts,
        effective_lengths=None,
        names=None,
        weights=None,
        *,
        lengths=None,
        n_transcripts: int | None = None,
    ) -> EquivalenceClasses:
        """The classes from their flat arrays directly (no list of classes made):
        ``indptr`` (n_classes + 1,), ``indices`` and ``weights`` (n_entries,)."""
        self = cls.__new__(cls)
        indptr = np.ascontiguousarray(indptr, dtype=np.int64).ravel()
        if indptr.size == 0 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must start at 0 and never decrease")
        indices = _as_int_array(indices, "indices")
        if indices.size != indptr[-1]:
            raise ValueError(f"indices has {indices.size} entries but indptr ends at {indptr[-1]}")
        if weights is not None:
            weights = np.ascontiguousarray(weights, dtype=np.float64).ravel()
            if weights.size != indices.size:
                raise ValueError(f"weights has {weights.size} entries for {indices.size} indices")
        self._set(
            indptr, indices, counts, weights, effective_lengths, names, lengths, n_transcripts
        )
        return self

    # -- validation -------------------------------------------------------------------
    def _set(self, indptr, indices, counts, weights, effective_lengths, names, lengths, n):
        counts = np.ascontiguousarray(counts, dtype=np.float64).ravel()
        n_classes = indptr.size - 1
        if counts.size != n_classes:
            raise ValueError(f"counts has {counts.size} entries for {n_classes} classes")
        if not np.all(np.isfinite(counts)):
            c = int(np.flatnonzero(~np.isfinite(counts))[0])
            raise ValueError(f"counts must be finite: class {c} has {counts[c]}")
        if np.any(counts < 0):
            c = int(np.flatnonzero(counts < 0)[0])
            raise ValueError(f"counts must be non-negative: class {c} has {counts[c]:g} reads")
        empty = np.flatnonzero(np.diff(indptr) == 0)
        if empty.size:
            raise ValueError(
                f"equivalence class {int(empty[0])} has no transcripts ({empty.size} "
                "empty classes): every class needs at least one"
            )
        if names is not None:
            names = [str(name) for name in names]
        sized = {
            "names": None if names is None else len(names),
            "effective_lengths": None if effective_lengths is None else np.size(effective_lengths),
            "lengths": None if lengths is None else np.size(lengths),
        }
        given = {k: s for k, s in sized.items() if s is not None}
        if n is None and given:
            n = next(iter(given.values()))
        if n is None:
            n = int(indices.max()) + 1 if indices.size else 0
        n = int(n)
        for name, size in given.items():
            if size != n:
                raise ValueError(
                    f"{name} has {size} entries but there are {n} transcripts "
                    f"({', '.join(f'{k}: {s}' for k, s in given.items())}): the files do "
                    "not match each other"
                )
        if indices.size:
            bad = np.flatnonzero((indices < 0) | (indices >= n))
            if bad.size:
                c = int(np.searchsorted(indptr, bad[0], side="right") - 1)
                raise ValueError(
                    f"equivalence class {c} names transcript {int(indices[bad[0]])}, but "
                    f"there are only {n} transcripts (indices 0 to {n - 1}): the classes "
                    "and the transcript list do not match"
                )
        if effective_lengths is not None:
            effective_lengths = np.ascontiguousarray(effective_lengths, dtype=np.float64).ravel()
            bad = np.flatnonzero(~(np.isfinite(effective_lengths) & (effective_lengths > 0)))
            if bad.size:
                t = int(bad[0])
                label = f" ({names[t]})" if names is not None else ""
                raise ValueError(
                    f"effective_lengths must be positive and finite: transcript {t}{label} "
                    f"has {effective_lengths[t]:g} ({bad.size} such transcripts). Compute "
                    "them as kallisto does (length - mean fragment length + 1, or the "
                    "length when that is below 1)"
                )
        if lengths is not None:
            lengths = np.ascontiguousarray(lengths, dtype=np.float64).ravel()
            if not np.all(np.isfinite(lengths) & (lengths > 0)):
                t = int(np.flatnonzero(~(np.isfinite(lengths) & (lengths > 0)))[0])
                raise ValueError(f"lengths must be positive: transcript {t} has {lengths[t]:g}")
        if weights is not None:
            bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
            if bad.size:
                c = int(np.searchsorted(indptr, bad[0], side="right") - 1)
                raise ValueError(
                    f"weights must be non-negative and finite: class {c} has {weights[bad[0]]:g}"
                )
        self.indptr = indptr
        self.indices = indices
        self.counts = counts
        self.weights = weights
        self.effective_lengths = effective_lengths
        self.lengths = lengths
        self.names = names
        self.n_transcripts = n

    # -- views ------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return self.counts.size

    @property
    def n_entries(self) -> int:
        return self.indices.size

    @property
    def n_reads(self) -> float:
        return float(self.counts.sum())

    def __len__(self) -> int:
        return self.n_classes

    def __repr__(self) -> str:
        return (
            f"EquivalenceClasses({self.n_classes} classes, {self.n_transcripts} transcripts, "
            f"{self.n_entries} entries, {self.n_reads:g} reads"
            f"{', weighted' if self.weights is not None else ''})"
        )

    @property
    def members(self) -> list[np.ndarray]:
        """The transcripts of every class (views of ``indices``)."""
        return [self.indices[a:b] for a, b in itertools.pairwise(self.indptr)]

    def entry_weights(self) -> np.ndarray:
        """w_ct of every entry, shape (n_entries,): ``weights``, else 1/ℓ̃ of the
        entry's transcript, else 1."""
        if self.weights is not None:
            return self.weights
        cached = getattr(self, "_entry_weights", None)
        if cached is None:
            if self.effective_lengths is not None:
                cached = 1.0 / self.effective_lengths[self.indices]
            else:
                cached = np.ones(self.indices.size)
            # kept: a fit, its bootstraps and its final likelihood all use them (a pass
            # over every entry each time otherwise)
            self._entry_weights = cached
        return cached

    def with_counts(self, counts) -> EquivalenceClasses:
        """The same classes with other counts (a bootstrap sample)."""
        other = EquivalenceClasses.from_arrays(
            self.indptr,
            self.indices,
            counts,
            self.effective_lengths,
            self.names,
            self.weights,
            lengths=self.lengths,
            n_transcripts=self.n_transcripts,
        )
        other._entry_weights = getattr(self, "_entry_weights", None)
        other._kernel_indices = getattr(self, "_kernel_indices", None)
        other._locality = getattr(self, "_locality", None)
        other._transcript_weights = getattr(self, "_transcript_weights", None)
        return other

    def chunk_bounds(self, chunk_size: int | None = None) -> np.ndarray:
        """Class boundaries of the chunks in :meth:`locality_order`, shape (n_chunks +
        1,): ``chunk_size`` classes each, or N_CHUNKS blocks of equal entries, each of
        at least MIN_CHUNK_ENTRIES and MIN_ENTRIES_PER_TRANSCRIPT × n_transcripts
        entries (fewer, larger blocks when those bind). They depend only on the data
        and ``chunk_size``, never on the number of threads."""
        return self.locality_order().chunk_bounds(self, chunk_size)

    def kernel_indices(self) -> np.ndarray:
        """``indices`` as the E-step kernel reads them, shape (n_entries,): int32 when
        there are fewer than 2**31 transcripts (half the bytes per entry; kallisto's ids
        are 32-bit too), else int64. Made once and kept."""
        cached = getattr(self, "_kernel_indices", None)
        if cached is None:
            small = self.n_transcripts < 2**31
            cached = self.indices.astype(np.int32) if small else self.indices
            self._kernel_indices = cached
        return cached

    def locality_order(self) -> _LocalityOrder:
        """The classes ordered by their smallest transcript, as the chunks hold them:
        by its block of LOCALITY_BLOCK transcripts, then by size, then by smallest
        transcript.

        Consecutive classes then share transcripts (a gene's classes end up together),
        so the E-step's reads and writes of the per-transcript arrays hit the cache, and
        every chunk touches one band of transcripts. In the order of kallisto's files
        the classes jump all over the transcripts: on the simulated transcriptome of
        ``benchmarks/bench_quant.py`` (200,000 transcripts, 3,000,000 classes) an
        E-step over 16 chunks took 0.15 s in that order and 0.085 s in this one (one
        thread, machine at rest), before the blocks by size. Made once (a stable sort) and
        kept (ties in file order); the classes' own arrays are unchanged.
        """
        cached = getattr(self, "_locality", None)
        if cached is None:
            cached = _LocalityOrder.of(self)
            self._locality = cached
        return cached

    def chunks(self, chunk_size: int | None = None, weights=None) -> list[ClassChunk]:
        """The classes as the model's chunks, in :meth:`locality_order`.

        Chunk ``k`` holds consecutive classes of that order (``class_ids`` gives their
        numbers here). ``weights`` (n_entries,, in this object's entry order) replaces
        the classes' own per-entry weights. Without either, the chunks carry the
        per-transcript weights 1/ℓ̃ (or none: all 1), which the E-step folds into the
        abundances, so its kernel reads only the entries' transcript indices.
        """
        if weights is None:
            weights = self.weights
        local = self.locality_order()
        transcript_weights = None
        if weights is None:
            if self.effective_lengths is not None:
                transcript_weights = self.transcript_weights()
        else:
            weights = local.entry_values(self, np.asarray(weights, dtype=np.float64))
        counts = self.counts[local.order]
        bounds = local.chunk_bounds(self, chunk_size)
        return [
            ClassChunk(
                local.indptr[a : b + 1],
                local.indices,
                weights,
                counts[a:b],
                int(a),
                transcript_weights,
                local.order[a:b],
                (int(low), int(high)),
            )
            for a, b, low, high in zip(bounds[:-1], bounds[1:], *local.bands(bounds), strict=True)
            if b > a
        ]

    def transcript_weights(self) -> np.ndarray | None:
        """1/ℓ̃ of every transcript, shape (n_transcripts,), or None without effective
        lengths (the same reciprocals as :meth:`entry_weights`, so both E-step paths
        multiply the same numbers)."""
        if self.effective_lengths is None:
            return None
        cached = getattr(self, "_transcript_weights", None)
        if cached is None:
            cached = 1.0 / self.effective_lengths
            self._transcript_weights = cached
        return cached


class _LocalityOrder:
    """The classes sorted by their smallest transcript: ``order`` (n_classes,) the class
    numbers in that order, ``indptr`` and ``indices`` (the kernel's dtype) of the
    reordered entries, and ``entries`` (n_entries,) the original entry of each
    reordered one (to reorder per-entry weights; None while nobody asked)."""

    def __init__(self, order, indptr, indices, entries):
        self.order, self.indptr, self.indices = order, indptr, indices
        self._entries = entries
        self._values = {}

    @classmethod
    def of(cls, classes: EquivalenceClasses) -> _LocalityOrder:
        indptr, sizes = classes.indptr, np.diff(classes.indptr)
        if classes.n_classes == 0:
            return cls(np.zeros(0, dtype=np.int64), indptr, classes.kernel_indices(), None)
        smallest = np.minimum.reduceat(classes.indices, indptr[:-1])
        order = np.lexsort((smallest, sizes, smallest // LOCALITY_BLOCK))
        if np.array_equal(order, np.arange(order.size)):  # already in this order
            return cls(order, indptr, classes.kernel_indices(), None)
        new_indptr = np.zeros_like(indptr)
        np.cumsum(sizes[order], out=new_indptr[1:])
        entries = np.repeat(indptr[:-1][order] - new_indptr[:-1], sizes[order])
        entries += np.arange(entries.size)
        return cls(order, new_indptr, classes.kernel_indices()[entries], entries)

    def entry_values(self, classes: EquivalenceClasses, values: np.ndarray) -> np.ndarray:
        """Per-entry ``values`` (n_entries,) in this order (kept for the classes' own
        weights)."""
        if self._entries is None:
            return np.ascontiguousarray(values)
        own = values is classes.weights
        if own and "weights" in self._values:
            return self._values["weights"]
        reordered = np.ascontiguousarray(values[self._entries])
        if own:
            self._values["weights"] = reordered
        return reordered

    def chunk_bounds(self, classes: EquivalenceClasses, chunk_size: int | None) -> np.ndarray:
        n = classes.n_classes
        if chunk_size is not None:
            return np.append(np.arange(0, n, int(chunk_size)), n)
        n_entries = classes.n_entries
        target = max(
            MIN_CHUNK_ENTRIES,
            MIN_ENTRIES_PER_TRANSCRIPT * classes.n_transcripts,
            -(-n_entries // N_CHUNKS),
        )
        cuts = np.searchsorted(self.indptr, np.arange(target, n_entries, target))
        return np.unique(np.concatenate(([0], cuts, [n])))

    def bands(self, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For chunks between class ``bounds``: the smallest transcript of each and
        one more than its largest (empty chunks: 0, 0)."""
        starts = self.indptr[bounds]
        low = np.zeros(bounds.size - 1, dtype=np.int64)
        high = np.zeros(bounds.size - 1, dtype=np.int64)
        full = np.flatnonzero(starts[1:] > starts[:-1])
        if full.size:
            low[full] = np.minimum.reduceat(self.indices, starts[full])
            high[full] = np.maximum.reduceat(self.indices, starts[full]) + 1
        return low, high
