"""Readers for the standard corpus files, each returning a sparse document-term matrix.

- :func:`read_ldac`: LDA-C files, one document per line, ``N id:count id:count ...``
  (``N`` the number of distinct terms, ids 0-based).
- :func:`read_uci_bow`: the UCI bag-of-words format, ``docword.txt`` (three header lines
  ``D``, ``W``, ``NNZ``, then ``docID wordID count`` triples, 1-based) and ``vocab.txt``
  (one word per line).
- :func:`read_matrix_market`: Matrix Market files, read by :func:`scipy.io.mmread`.

Every reader returns a :class:`scipy.sparse.csr_matrix` of ``int64`` counts with one
row per document and one column per term; no array of the full shape is ever made.
Files ending in ``.gz`` (or starting with gzip's magic bytes) are decompressed
transparently. Every problem with a file is a :class:`ValueError` naming the file,
the line (where the format has lines to name) and what is wrong.

This module imports numpy and scipy only, nothing from emkit's models or estimators.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
from numbers import Integral
from pathlib import Path
from typing import IO

import numpy as np
import scipy.io
import scipy.sparse as sp

__all__ = ["read_ldac", "read_matrix_market", "read_uci_bow"]

_GZIP_MAGIC = b"\x1f\x8b"


def _open_text(path: str | os.PathLike) -> IO[str]:
    """Open *path* for reading text, through gzip when it is gzip-compressed."""
    path = Path(path)
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")  # the caller closes it


def _error(path, line: int | None, what: str) -> ValueError:
    where = f"{os.fspath(path)}" if line is None else f"{os.fspath(path)}, line {line}"
    return ValueError(f"{where}: {what}")


_INT64_MAX = np.iinfo(np.int64).max


def _natural(token: str) -> int | None:
    """The value of an unsigned decimal integer token that fits int64, or None."""
    if token.isascii() and token.isdigit():
        value = int(token)
        return value if value <= _INT64_MAX else None
    return None


def _check_n_terms(n_terms) -> int | None:
    if n_terms is None:
        return None
    if isinstance(n_terms, bool) or not isinstance(n_terms, Integral) or n_terms < 0:
        raise ValueError(f"n_terms must be a non-negative integer or None, got {n_terms!r}")
    return int(n_terms)


# --------------------------------------------------------------------------- LDA-C


def read_ldac(path: str | os.PathLike, n_terms: int | None = None) -> sp.csr_matrix:
    """Read an LDA-C file into a sparse ``(n_documents, n_terms)`` matrix of counts.

    Each line is one document, ``N id:count id:count ...``: ``N`` is the number of
    distinct terms in the document, the ids are 0-based non-negative integers, each at
    most once in a line, and the counts are positive integers. A line ``0`` is an empty
    document (a row of zeros); blank lines at the end of the file are ignored, blank
    lines elsewhere are an error.

    Parameters
    ----------
    path : path-like
        The file, optionally gzip-compressed.
    n_terms : int, optional
        The number of columns; by default the largest id + 1. A value smaller than
        that is an error naming the first line with an id beyond it.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``int64`` counts, sorted indices, no explicit zeros.

    Raises
    ------
    ValueError
        Naming the file, the 1-based line and what is wrong with it.
    """
    n_terms = _check_n_terms(n_terms)
    indptr = [0]
    indices: list[int] = []
    counts: list[int] = []
    row_lines: list[int] = []  # the file line of each document
    blank: int | None = None  # the first blank line of the latest run of blank lines
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            tokens = line.split()
            if not tokens:
                blank = number if blank is None else blank
                continue
            if blank is not None:
                raise _error(path, blank, "blank line; an empty document is written as 0")
            declared = _natural(tokens[0])
            if declared is None:
                raise _error(
                    path,
                    number,
                    f"expected the number of distinct terms, a non-negative integer, "
                    f"got {tokens[0]!r}",
                )
            pairs = tokens[1:]
            if declared != len(pairs):
                raise _error(
                    path,
                    number,
                    f"the line says {declared} distinct terms but has {len(pairs)} id:count pairs",
                )
            seen: set[int] = set()
            for pair in pairs:
                term, colon, count = pair.partition(":")
                if not colon:
                    raise _error(path, number, f"expected id:count, got {pair!r}")
                term_id = _natural(term)
                if term_id is None:
                    raise _error(
                        path, number, f"term id {term!r} is not a non-negative 64-bit integer"
                    )
                value = _natural(count)
                if value is None or value == 0:
                    raise _error(
                        path,
                        number,
                        f"count {count!r} of term {term_id} is not a positive 64-bit integer",
                    )
                if term_id in seen:
                    raise _error(path, number, f"term id {term_id} appears twice")
                seen.add(term_id)
                indices.append(term_id)
                counts.append(value)
            indptr.append(len(indices))
            row_lines.append(number)

    index_array = np.asarray(indices, dtype=np.int64)
    needed = int(index_array.max()) + 1 if index_array.size else 0
    if n_terms is None:
        n_terms = needed
    elif n_terms < needed:
        first = int(np.flatnonzero(index_array >= n_terms)[0])
        row = int(np.searchsorted(np.asarray(indptr), first, side="right")) - 1
        raise _error(
            path,
            row_lines[row],
            f"term id {indices[first]} is beyond n_terms={n_terms} "
            f"(the file needs at least {needed})",
        )
    matrix = sp.csr_matrix(
        (
            np.asarray(counts, dtype=np.int64),
            index_array,
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(row_lines), n_terms),
    )
    matrix.sort_indices()
    return matrix


# ------------------------------------------------------------------ UCI bag of words

_HEADER = ("D, the number of documents", "W, the number of words", "NNZ, the number of triples")


def _read_header(path, lines: IO[str]) -> tuple[int, int, int]:
    values = []
    for number, name in enumerate(_HEADER, start=1):
        line = lines.readline()
        if not line:
            raise _error(path, number, f"the file ends before the header line {name}")
        tokens = line.split()
        value = _natural(tokens[0]) if len(tokens) == 1 else None
        if value is None:
            raise _error(
                path,
                number,
                f"header line {name}, should be one non-negative integer, got {line.strip()!r}",
            )
        values.append(value)
    return values[0], values[1], values[2]


def _triple_problem(triple: list[str], n_docs: int, n_words: int) -> str | None:
    """What is wrong with one line of triples, or None."""
    if len(triple) != 3:
        return f"expected 'docID wordID count', got {' '.join(triple)!r}"
    names = ("docID", "wordID", "count")
    values = [_natural(token) for token in triple]
    for name, token, value in zip(names, triple, values, strict=True):
        if value is None:
            return f"{name} {token!r} is not a non-negative 64-bit integer"
    doc, word, count = values
    if not 1 <= doc <= n_docs:
        return f"docID {doc} is outside 1..{n_docs} (D)"
    if not 1 <= word <= n_words:
        return f"wordID {word} is outside 1..{n_words} (W)"
    if count == 0:
        return "count 0 is not a positive integer"
    return None


def _diagnose_triples(path, n_docs: int, n_words: int) -> ValueError:
    """Find, line by line, the first bad triple (only on the error path)."""
    seen: set[tuple[int, int]] = set()
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            if number <= len(_HEADER):
                continue
            triple = line.split()
            if not triple:
                continue
            problem = _triple_problem(triple, n_docs, n_words)
            if problem is not None:
                return _error(path, number, problem)
            key = (int(triple[0]), int(triple[1]))
            if key in seen:
                return _error(path, number, f"docID {key[0]}, wordID {key[1]} appears twice")
            seen.add(key)
    return _error(path, None, "the triples could not be read")


def _read_vocab(path, n_words: int) -> list[str]:
    words = []
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            word = line.strip()
            if not word:
                raise _error(path, number, "empty word")
            words.append(word)
    if len(words) != n_words:
        raise _error(
            path,
            None,
            f"the vocabulary has {len(words)} words but the docword header says W={n_words}",
        )
    return words


def read_uci_bow(
    docword: str | os.PathLike, vocab: str | os.PathLike | None = None
) -> tuple[sp.csr_matrix, list[str] | None]:
    """Read a UCI bag-of-words corpus into a sparse ``(D, W)`` matrix of counts.

    ``docword`` holds three header lines ``D``, ``W`` and ``NNZ``, then ``NNZ`` lines
    ``docID wordID count`` (1-based ids within ``D`` and ``W``, positive counts, each
    (docID, wordID) pair at most once); blank lines are ignored. The triples are read
    by numpy in one pass; only a file found wrong is reread line by line, to name the
    line at fault. ``vocab``, when given, holds the ``W`` words, one a line.

    Parameters
    ----------
    docword : path-like
        ``docword.txt``, optionally gzip-compressed (``docword.txt.gz``).
    vocab : path-like, optional
        ``vocab.txt``, optionally gzip-compressed.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix
        ``int64`` counts, shape ``(D, W)``, sorted indices.
    words : list of str or None
        The vocabulary, or None without ``vocab``.

    Raises
    ------
    ValueError
        Naming the file, the 1-based line (where there is one) and what is wrong.
    """
    with _open_text(docword) as lines:
        n_docs, n_words, nnz = _read_header(docword, lines)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ee]mpty input.*")
            warnings.filterwarnings("ignore", message=".*no data.*")
            try:
                triples = np.loadtxt(lines, dtype=np.int64, comments=None, ndmin=2)
            except (ValueError, OverflowError):
                triples = None
    if triples is None or (triples.size and triples.shape[1] != 3):
        raise _diagnose_triples(docword, n_docs, n_words)
    triples = triples.reshape(-1, 3)
    doc, word, count = triples[:, 0], triples[:, 1], triples[:, 2]
    bad = (doc < 1) | (doc > n_docs) | (word < 1) | (word > n_words) | (count < 1)
    if bad.any():
        raise _diagnose_triples(docword, n_docs, n_words)
    matrix = sp.coo_matrix((count, (doc - 1, word - 1)), shape=(n_docs, n_words)).tocsr()
    if matrix.nnz != len(triples):  # tocsr summed a repeated (docID, wordID) pair
        raise _diagnose_triples(docword, n_docs, n_words)
    if len(triples) != nnz:
        raise _error(
            docword,
            3,
            f"the header says NNZ={nnz} triples but the file has {len(triples)}",
        )
    matrix.data = matrix.data.astype(np.int64, copy=False)
    matrix.sort_indices()
    words = None if vocab is None else _read_vocab(vocab, n_words)
    return matrix, words


# ------------------------------------------------------------------- Matrix Market


def read_matrix_market(path: str | os.PathLike) -> sp.csr_matrix:
    """Read a Matrix Market file of counts with :func:`scipy.io.mmread`.

    Rows are documents, columns terms. The entries must be non-negative integers:
    an ``integer`` field, or a ``real`` one whose values are all whole numbers;
    ``complex`` and ``pattern`` files and negative or fractional entries are refused.
    Explicit zeros are dropped.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``int64`` counts, sorted indices.

    Raises
    ------
    ValueError
        Naming the file and what is wrong (with the entry's 1-based row and column).
    """
    try:
        rows, cols, _entries, _layout, field, _symmetry = scipy.io.mminfo(path)
        if field in ("complex", "pattern"):
            raise _error(
                path, None, f"the field is {field!r}; counts need an 'integer' or 'real' field"
            )
        loaded = scipy.io.mmread(path)
    except ValueError as exc:
        if str(exc).startswith(os.fspath(path)):
            raise
        raise _error(path, None, f"not a readable Matrix Market file ({exc})") from exc
    coo = sp.coo_matrix(loaded)  # a dense ("array") file stays dense only as loaded
    del loaded
    values = coo.data
    wrong = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if field == "real":
        wrong |= values >= 2.0**63
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise _error(
            path,
            None,
            f"entry ({int(coo.row[first]) + 1}, {int(coo.col[first]) + 1}) is "
            f"{values[first]!r}; counts must be non-negative integers",
        )
    matrix = sp.csr_matrix((values.astype(np.int64), (coo.row, coo.col)), shape=(rows, cols))
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix
