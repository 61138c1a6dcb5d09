"""Motif files: MEME's minimal motif format, JASPAR's PFM, and the site list.

* :func:`write_meme` — the MEME Suite's *minimal motif format* (version 4), which
  FIMO, Tomtom, MAST and the other MEME Suite tools read: the alphabet, the strands,
  the background letter frequencies, and per motif a ``letter-probability matrix``
  (rows are motif columns, the letters in alphabetical order). No E-value is written
  (emkit computes none; the field is optional).
* :func:`write_jaspar` — JASPAR's ``.jaspar`` PFM: ``>ID name`` and one row
  ``A [ counts ]`` per letter, the counts the expected site counts (θ times the
  expected number of sites, 3 decimals; JASPAR's own files hold integers).
* :func:`write_sites` — one tab-separated row per site of ``sites_``: motif, its
  consensus, the sequence's name and index, ``start`` (0-based) and ``end``
  (exclusive) on the forward strand, as in BED, the strand (``+``/``-``), the score
  (log-odds, bits), the posterior probability and the site's letters on its strand.

Every writer takes a fitted :class:`emkit.bio.motifs.MotifFinder` and a path (or a
text stream); :func:`read_meme`, :func:`read_jaspar` and :func:`read_sites` read the
files back.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from typing import TextIO

    from emkit._typing import PathLike
    from emkit.bio.motifs import MotifFinder


__all__ = [
    "FileMotif",
    "read_jaspar",
    "read_meme",
    "read_sites",
    "write_jaspar",
    "write_meme",
    "write_sites",
]

#: the columns of :func:`write_sites`
SITE_COLUMNS = (
    "motif",
    "consensus",
    "sequence_name",
    "sequence",
    "start",
    "end",
    "strand",
    "score",
    "probability",
    "site",
)


@dataclass(frozen=True)
class FileMotif:
    """A motif read from a file: ``name``, ``matrix`` (W, A) (probabilities from MEME
    files, counts from JASPAR files), ``letters`` (the A letters of the columns) and
    ``n_sites`` (MEME's ``nsites``, None when absent)."""

    name: str
    matrix: np.ndarray
    letters: str
    n_sites: float | None = None


@contextlib.contextmanager
def _text_out(target):
    if isinstance(target, (str, os.PathLike)):
        with open(target, "w", encoding="ascii", newline="\n") as stream:
            yield stream
    else:
        yield target


def _text_in(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="ascii") as stream:
            return stream.read()
    return source.read()


def _check_fitted(finder) -> None:
    if not hasattr(finder, "motifs_"):
        raise ValueError("this MotifFinder is not fitted yet; call fit(sequences) first")


def _expected_sites(finder, k: int) -> np.ndarray:
    sites = finder.sites_[finder.sites_["motif"] == k]
    return float(sites["probability"].sum())


def write_meme(finder: MotifFinder, target: PathLike | TextIO) -> None:
    """Write every motif of a fitted MotifFinder in MEME's minimal motif format."""
    _check_fitted(finder)
    alphabet = finder.alphabet_
    strands = "+ -" if alphabet.complement is not None and finder.revcomp else "+"
    frequencies = finder.background_.frequencies
    with _text_out(target) as out:
        out.write("MEME version 4\n\n")
        out.write(f"ALPHABET= {alphabet.letters}\n\n")
        if alphabet.complement is not None:
            out.write(f"strands: {strands}\n\n")
        out.write("Background letter frequencies\n")
        out.write(
            " ".join(f"{a} {p:.6f}" for a, p in zip(alphabet.letters, frequencies, strict=True))
            + "\n\n"
        )
        for k, pwm in enumerate(finder.motifs_):
            n_sites = max(round(_expected_sites(finder, k)), 1)
            out.write(f"MOTIF {k + 1} {finder.consensus_[k]}\n")
            out.write(
                f"letter-probability matrix: alength= {alphabet.size} w= {pwm.shape[0]} "
                f"nsites= {n_sites}\n"
            )
            for row in pwm:
                out.write(" " + "  ".join(f"{p:.6f}" for p in row) + "\n")
            out.write("\n")


def read_meme(source: PathLike | TextIO) -> list[FileMotif]:
    """The motifs of a MEME minimal-format file (probabilities, rows as columns)."""
    text = _text_in(source)
    letters_match = re.search(r"^ALPHABET=\s*(\S+)", text, re.MULTILINE)
    if letters_match is None:
        raise ValueError("not a MEME motif file: no 'ALPHABET=' line")
    letters = letters_match.group(1)
    motifs = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("MOTIF"):
            words = line.split()
            name = " ".join(words[1:])
            while not lines[i].startswith("letter-probability matrix"):
                i += 1
            header = dict(re.findall(r"(\w+)=\s*(\S+)", lines[i]))
            width = int(header["w"])
            rows = [[float(v) for v in lines[i + 1 + r].split()] for r in range(width)]
            n_sites = float(header["nsites"]) if "nsites" in header else None
            motifs.append(FileMotif(name, np.array(rows), letters, n_sites))
            i += width
        i += 1
    return motifs


def write_jaspar(finder: MotifFinder, target: PathLike | TextIO) -> None:
    """Write every motif as a JASPAR PFM (expected site counts, 3 decimals)."""
    _check_fitted(finder)
    letters = finder.alphabet_.letters
    with _text_out(target) as out:
        for k, pwm in enumerate(finder.motifs_):
            counts = pwm * _expected_sites(finder, k)
            out.write(f">emkit.{k + 1} {finder.consensus_[k]}\n")
            for a, letter in enumerate(letters):
                out.write(f"{letter} [ " + " ".join(f"{c:.3f}" for c in counts[:, a]) + " ]\n")


def read_jaspar(source: PathLike | TextIO) -> list[FileMotif]:
    """The motifs of a JASPAR PFM file (counts, shape (W, A))."""
    motifs = []
    name, rows, letters = None, [], ""
    for line in [*_text_in(source).splitlines(), ">"]:
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            if name is not None:
                motifs.append(FileMotif(name, np.array(rows).T, letters))
            name, rows, letters = line[1:].strip(), [], ""
            continue
        match = re.match(r"([A-Za-z])\s*\[\s*(.*?)\s*\]$", line)
        if match is None:
            raise ValueError(f"not a JASPAR PFM row: {line!r}")
        letters += match.group(1).upper()
        rows.append([float(v) for v in match.group(2).split()])
    return motifs


def write_sites(finder: MotifFinder, target: PathLike | TextIO) -> None:
    """Write ``finder.sites_`` as a tab-separated table (see the module docstring)."""
    _check_fitted(finder)
    with _text_out(target) as out:
        out.write("\t".join(SITE_COLUMNS) + "\n")
        for row in finder.sites_:
            k = int(row["motif"])
            start = int(row["start"])
            cells = (
                str(k + 1),
                finder.consensus_[k],
                finder.sequence_names_[int(row["sequence"])],
                str(int(row["sequence"])),
                str(start),
                str(start + finder.widths_[k]),
                "+" if row["strand"] > 0 else "-",
                f"{row['score']:.4f}",
                f"{row['probability']:.6g}",
                str(row["site"]),
            )
            out.write("\t".join(cells) + "\n")


def read_sites(source: PathLike | TextIO) -> list[dict]:
    """The rows of a :func:`write_sites` table as dicts (numbers converted; ``motif``
    1-based as written, ``strand`` +1/−1)."""
    lines = _text_in(source).splitlines()
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        values = dict(zip(header, line.split("\t"), strict=True))
        for name in ("motif", "sequence", "start", "end"):
            values[name] = int(values[name])
        for name in ("score", "probability"):
            values[name] = float(values[name])
        values["strand"] = 1 if values["strand"] == "+" else -1
        rows.append(values)
    return rows


def meme_text(finder: MotifFinder) -> str:
    """:func:`write_meme`'s text, as a string."""
    buffer = io.StringIO()
    write_meme(finder, buffer)
    return buffer.getvalue()
