"""Small real data sets shipped with emkit, each with a loader.

* :func:`load_old_faithful` — 272 eruptions of the Old Faithful geyser (eruption
  length and waiting time, minutes): the classic two-cluster Gaussian-mixture example.
* :func:`load_earthquakes` — yearly counts of major (magnitude 7+) earthquakes,
  1900–2006: the classic Poisson hidden Markov model example.
* :func:`load_nile` — annual flow of the Nile at Aswan (10^8 m^3), 1871–1970: the
  classic local-level state-space example.
* :func:`load_kjv_chapters` — the King James Bible (public domain) as a bag of words,
  one document per chapter (1,189 chapters): the topic-model example. Provenance and
  preprocessing are in ``KJV_CHAPTERS.md`` beside this module.
* :func:`load_crp` — 18 *E. coli* promoters (105 bp) and their 24 known CRP binding
  sites: the classic motif-discovery example (MEME's, from GLAM2's ``crp0.s``; see
  ``CRP0.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import scipy.sparse as sp

from emkit.corpora import read_uci_bow

__all__ = [
    "Corpus",
    "Dataset",
    "load_crp",
    "load_earthquakes",
    "load_kjv_chapters",
    "load_nile",
    "load_old_faithful",
]


@dataclass(frozen=True)
class Dataset:
    """data : ndarray of shape (n_samples, n_columns); columns : their names."""

    data: np.ndarray
    columns: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Corpus:
    """A document-term matrix of counts with the names of its rows and columns.

    Attributes
    ----------
    counts : scipy.sparse.csr_matrix of shape (n_documents, n_terms), int64
        ``counts[d, w]`` is how often term ``w`` occurs in document ``d``.
    vocabulary : tuple of str, length n_terms
        The term of every column.
    titles : tuple of str, length n_documents
        The title of every row.
    description : str
    """

    counts: sp.csr_matrix
    vocabulary: tuple[str, ...]
    titles: tuple[str, ...]
    description: str


def _load(filename: str, description: str) -> Dataset:
    text = resources.files(__name__).joinpath(filename).read_text()
    header, *rows = text.strip().splitlines()
    data = np.array([[float(cell) for cell in row.split(",")] for row in rows])
    return Dataset(data, tuple(header.split(",")), description)


def load_old_faithful() -> Dataset:
    """Old Faithful eruptions: columns (eruptions, waiting), shape (272, 2)."""
    return _load(
        "old_faithful.csv", "Old Faithful geyser: eruption length and waiting time (minutes)"
    )


def load_earthquakes() -> Dataset:
    """Major earthquakes per year: columns (year, count), shape (107, 2)."""
    return _load("earthquakes.csv", "Yearly counts of magnitude 7+ earthquakes, 1900-2006")


def load_nile() -> Dataset:
    """Nile flow at Aswan: columns (year, volume), shape (100, 2)."""
    return _load("nile.csv", "Annual flow of the Nile at Aswan, 1871-1970 (10^8 m^3)")


def load_kjv_chapters() -> Corpus:
    """The King James Bible, one bag-of-words document per chapter.

    1,189 chapters (Genesis 1 to Revelation 22) over 4,377 terms: lower-cased
    alphabetic words of two letters or more, possessive ``'s`` dropped, without
    scikit-learn's English stop words and the archaic function words of the KJV
    (thee, thou, unto, hath, shalt, ...), kept when they occur in at least 5
    chapters. 267,260 tokens in 148,242 non-zero counts. The text is Debian's
    ``bible-kjv-text`` 4.38 (public domain); ``KJV_CHAPTERS.md`` beside this module
    gives the provenance, the stop-word list and the command that rebuilds the files.

    The counts are read from the UCI bag-of-words files with
    :func:`emkit.corpora.read_uci_bow`, sparse throughout.

    Returns
    -------
    corpus : Corpus
        ``counts`` of shape (1189, 4377), int64 CSR; ``vocabulary`` in alphabetical
        order; ``titles`` such as ``"Genesis 1"`` in canonical order.
    """
    files = resources.files(__name__)
    with (
        resources.as_file(files.joinpath("kjv_chapters.docword.txt.gz")) as docword,
        resources.as_file(files.joinpath("kjv_chapters.vocab.txt")) as vocab,
    ):
        counts, words = read_uci_bow(docword, vocab)
    titles = files.joinpath("kjv_chapters.titles.txt").read_text(encoding="ascii").splitlines()
    if len(titles) != counts.shape[0]:  # a damaged installation, not a user error
        raise RuntimeError(
            f"kjv_chapters.titles.txt has {len(titles)} titles for {counts.shape[0]} "
            "documents; reinstall emkit or rebuild with tools/make_kjv_corpus.py"
        )
    return Corpus(
        counts,
        tuple(words),
        tuple(titles),
        "King James Bible (public domain; Debian bible-kjv-text 4.38), one document per "
        "chapter; stop words removed, terms in at least 5 chapters",
    )


def load_crp() -> tuple[list[tuple[str, str]], np.recarray]:
    """18 *Escherichia coli* promoters that bind CRP, and their 24 known sites.

    The sequences are ``crp0.fa`` (105 bp each, DNA), the sites ``crp0_sites.csv``
    (22 bp each; provenance and licence in ``CRP0.md`` beside this module).

    Returns
    -------
    sequences : list of (str, str)
        ``(name, letters)`` of every promoter, in file order.
    sites : numpy record array of shape (24,)
        Fields ``sequence`` (index into ``sequences``), ``name``, ``start`` (0-based,
        forward strand) and ``width`` (22).
    """
    files = resources.files(__name__)
    sequences: list[tuple[str, str]] = []
    for line in files.joinpath("crp0.fa").read_text(encoding="ascii").splitlines():
        if line.startswith(">"):
            sequences.append((line[1:].strip(), ""))
        elif line.strip():
            name, letters = sequences[-1]
            sequences[-1] = (name, letters + line.strip())
    header, *rows = files.joinpath("crp0_sites.csv").read_text(encoding="ascii").split()
    fields = [row.split(",") for row in rows]
    sites = np.rec.fromarrays(
        [
            np.array([int(f[0]) for f in fields]),
            np.array([f[1] for f in fields]),
            np.array([int(f[2]) for f in fields]),
            np.array([int(f[3]) for f in fields]),
        ],
        names=header.split(","),
    )
    return sequences, sites
