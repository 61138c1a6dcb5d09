"""Biological sequences for motif discovery: alphabets, FASTA reading, integer coding.

Letters are coded 0..A-1 in the alphabet's order (DNA: A C G T; protein: the 20
amino acids in alphabetical order of their one-letter codes), unknown letters −1.

**Case.** Lower-case letters (soft-masked repeats in genome FASTA files) are read as
the upper-case letter: they take part in the search like any other. To keep a region
out, replace it with N (or X).

**Unknown letters.** DNA's N and the IUPAC ambiguity codes (R Y K M S W B D H V), and
protein's X (and B Z J U O ``*``) are unknown: no motif site may contain one, and the
background sums them out (its Markov context restarts after one). Any other
character (digits, gaps ``-`` ``.``, other letters) is an error naming the sequence
and position. Whitespace inside sequence lines is ignored.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from emkit._typing import PathLike


__all__ = [
    "DNA",
    "PROTEIN",
    "Alphabet",
    "EncodedSequences",
    "encode_sequences",
    "get_alphabet",
    "read_fasta",
]


@dataclass(frozen=True)
class Alphabet:
    """letters : the A letters in code order; complement : the complement of every
    letter (same order), or None; unknown : the letters read as unknown (code −1)."""

    name: str
    letters: str
    complement: str | None
    unknown: str

    @property
    def size(self) -> int:
        return len(self.letters)

    @property
    def complement_codes(self) -> np.ndarray | None:
        """(A,) the code of every letter's complement, or None."""
        if self.complement is None:
            return None
        return np.array([self.letters.index(c) for c in self.complement], dtype=np.int64)

    def lookup(self) -> np.ndarray:
        """(256,) int64: the code of every byte (upper and lower case), −1 unknown,
        −2 not allowed."""
        table = np.full(256, -2, dtype=np.int64)
        for code, letter in enumerate(self.letters):
            table[ord(letter)] = table[ord(letter.lower())] = code
        for letter in self.unknown:
            table[ord(letter)] = table[ord(letter.lower())] = -1
        return table


DNA = Alphabet("dna", "ACGT", "TGCA", "NRYKMSWBDHV")
PROTEIN = Alphabet("protein", "ACDEFGHIKLMNPQRSTVWY", None, "XBZJUO*")
_ALPHABETS = {"dna": DNA, "protein": PROTEIN}


def get_alphabet(alphabet: str | Alphabet) -> Alphabet:
    """``"dna"``, ``"protein"`` or an :class:`Alphabet`."""
    if isinstance(alphabet, Alphabet):
        return alphabet
    if alphabet not in _ALPHABETS:
        raise ValueError(f"alphabet must be 'dna' or 'protein' (or an Alphabet), got {alphabet!r}")
    return _ALPHABETS[alphabet]


@dataclass(frozen=True)
class EncodedSequences:
    """Sequences coded flat.

    Attributes
    ----------
    codes : int64 array of shape (n_letters,), 0..A-1 and −1 for unknown letters
    offsets : int64 array of shape (n_sequences + 1,); sequence i is
        ``codes[offsets[i]:offsets[i + 1]]``
    names : tuple of str, one per sequence
    alphabet : Alphabet
    """

    codes: np.ndarray
    offsets: np.ndarray
    names: tuple[str, ...]
    alphabet: Alphabet

    @property
    def n_sequences(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def text(self, i: int, start: int, stop: int) -> str:
        """The letters of sequence i from ``start`` to ``stop`` (upper case, N or X for
        unknown)."""
        unknown = "N" if self.alphabet.name == "dna" else "X"
        codes = self.codes[self.offsets[i] + start : self.offsets[i] + stop]
        return "".join(self.alphabet.letters[c] if c >= 0 else unknown for c in codes)


def _open_text(path) -> io.TextIOBase:
    """A text stream of ``path``, gunzipped when it starts with gzip's magic bytes."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ascii", errors="replace")
    return open(path, encoding="ascii", errors="replace")


def read_fasta(path: PathLike) -> list[tuple[str, str]]:
    """``[(name, sequence)]`` of a FASTA file, plain or gzipped.

    The name is the first word after ``>``; lines starting with ``;`` are comments;
    whitespace in sequence lines is dropped. The letters are checked when they are
    encoded (:func:`encode_sequences`).

    Raises
    ------
    ValueError
        When the file holds no sequence (empty, or no ``>`` line), or has text before
        its first ``>`` line.
    """
    records: list[tuple[str, list[str]]] = []
    name = os.fspath(path)
    with _open_text(path) as stream:
        for number, line in enumerate(stream, 1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith(">"):
                words = line[1:].split()
                records.append((words[0] if words else f"sequence_{len(records) + 1}", []))
            elif not records:
                raise ValueError(
                    f"{name} is not a FASTA file: line {number} comes before the first "
                    "'>' header line; every sequence must start with a line '>name'"
                )
            else:
                records[-1][1].append("".join(line.split()))
    if not records:
        raise ValueError(
            f"{name} holds no sequences: a FASTA file needs '>name' lines, each followed "
            "by the letters of its sequence"
        )
    return [(n, "".join(parts)) for n, parts in records]


def encode_sequences(
    sequences: Iterable[str] | Iterable[tuple[str, str]], alphabet: str | Alphabet = "dna"
) -> EncodedSequences:
    """Code sequences (strings, or ``(name, string)`` pairs) into flat integer arrays.

    Raises
    ------
    ValueError
        For no sequences, or a character outside the alphabet (naming the sequence,
        the position and the character).
    """
    alphabet = get_alphabet(alphabet)
    table = alphabet.lookup()
    names, pieces = [], []
    for i, item in enumerate(sequences):
        if isinstance(item, tuple):
            name, text = item
        else:
            name, text = f"sequence_{i + 1}", item
        if not isinstance(text, str):
            raise TypeError(
                f"sequence {i} is a {type(text).__name__}; give strings of letters, "
                "(name, string) pairs or a FASTA path"
            )
        text = "".join(text.split())
        raw = np.frombuffer(text.encode("latin-1", errors="replace"), dtype=np.uint8)
        codes = table[raw]
        bad = np.flatnonzero(codes == -2)
        if bad.size:
            p = int(bad[0])
            raise ValueError(
                f"sequence {i} ({name!r}) has {text[p]!r} at position {p + 1}, which is not "
                f"in the {alphabet.name} alphabet ({alphabet.letters}, with "
                f"{' '.join(alphabet.unknown)} read as unknown; lower case is read as upper "
                "case); remove it, replace it with "
                f"{'N' if alphabet.name == 'dna' else 'X'}, or choose the other alphabet"
            )
        names.append(name)
        pieces.append(codes)
    if not pieces:
        raise ValueError("no sequences given: give at least one sequence")
    lengths = [len(p) for p in pieces]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EncodedSequences(np.concatenate(pieces), offsets, tuple(names), alphabet)
