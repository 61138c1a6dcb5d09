"""The Markov background model of motif discovery (MEME's ``-markov_order``).

An order-k background gives every letter a probability given the k letters before
it, estimated once from the sequences themselves (with their reverse complements
when sites are searched on both strands, as MEME does) with a pseudo-count per
(k+1)-mer. The first letters of a sequence, and the letters after an unknown one,
have fewer than k known letters before them: they use the model of the order they
have (every order 0..k is estimated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit._kernels.motifs import markov_counts, markov_log_probabilities
from emkit.bio.sequences import EncodedSequences

__all__ = ["MarkovBackground", "fit_background", "reverse_complement_codes"]


@dataclass(frozen=True)
class MarkovBackground:
    """order : k; tables : for o = 0..k the (A^o, A) array of P(letter | context),
    the context of o letters in base A, the latest letter the last digit."""

    order: int
    tables: tuple[np.ndarray, ...]

    @property
    def frequencies(self) -> np.ndarray:
        """(A,) the order-0 letter frequencies."""
        return self.tables[0][0]

    def _flat(self):
        offsets = np.concatenate([[0], np.cumsum([t.size for t in self.tables])])
        return np.concatenate([t.ravel() for t in self.tables]), offsets.astype(np.int64)

    def log_probabilities(self, codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(n_letters,) log P_bg(x_p | context) of every position (0 at unknown)."""
        flat, table_offsets = self._flat()
        out = np.empty(len(codes))
        markov_log_probabilities(
            np.ascontiguousarray(codes, dtype=np.int64),
            np.ascontiguousarray(offsets, dtype=np.int64),
            self.order,
            self.tables[0].shape[1],
            table_offsets,
            np.log(flat),
            out,
        )
        return out


def reverse_complement_codes(codes, offsets, complement) -> np.ndarray:
    """The codes of every sequence's reverse complement (same offsets)."""
    out = np.empty_like(codes)
    for i in range(len(offsets) - 1):
        piece = codes[offsets[i] : offsets[i + 1]][::-1]
        out[offsets[i] : offsets[i + 1]] = np.where(piece >= 0, complement[piece], -1)
    return out


def fit_background(
    sequences: EncodedSequences, order: int = 0, pseudocount: float = 1.0, revcomp: bool = True
) -> MarkovBackground:
    """An order-``order`` Markov background from the sequences' own letters (both
    strands when ``revcomp`` and the alphabet has a complement)."""
    order = int(order)
    if order < 0:
        raise ValueError(f"background_order must be >= 0, got {order}")
    if not (pseudocount > 0 and np.isfinite(pseudocount)):
        raise ValueError(f"background_pseudocount must be > 0, got {pseudocount!r}")
    A = sequences.alphabet.size
    sizes = [A ** (o + 1) for o in range(order + 1)]
    table_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    counts = np.zeros(table_offsets[-1])
    markov_counts(sequences.codes, sequences.offsets, order, A, table_offsets, counts)
    complement = sequences.alphabet.complement_codes
    if revcomp and complement is not None:
        rc = reverse_complement_codes(sequences.codes, sequences.offsets, complement)
        markov_counts(rc, sequences.offsets, order, A, table_offsets, counts)
    tables = []
    for o in range(order + 1):
        block = counts[table_offsets[o] : table_offsets[o + 1]].reshape(A**o, A) + pseudocount
        tables.append(block / block.sum(axis=1, keepdims=True))
    return MarkovBackground(order, tuple(tables))
