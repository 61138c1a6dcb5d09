"""kallisto's files: pseudoalignment classes in, ``abundance.tsv`` in and out.

``kallisto pseudo`` (0.46-0.48) writes, in its output directory:

* ``pseudoalignments.ec``: one class a line, ``id<TAB>t1,t2,...`` (0-based transcript
  indices), and ``pseudoalignments.tsv``: ``id<TAB>count``;
* ``matrix.ec`` (the same classes) and ``matrix.tcc.mtx`` (Matrix Market, one row per
  sample or cell, one column per class: the counts), with ``matrix.cells``;
* ``transcripts.txt``: the transcript names, one a line, in index order.

Effective lengths come from a kallisto ``abundance.tsv`` (its ``eff_length`` column),
or from transcript lengths and a fragment-length mean and standard deviation, as
kallisto 0.48 computes them (:func:`kallisto_effective_lengths`).
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emkit.bio.classes import EquivalenceClasses

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from emkit._typing import PathLike


__all__ = [
    "kallisto_effective_lengths",
    "read_fasta_lengths",
    "read_kallisto",
    "read_kallisto_abundance",
    "read_kallisto_files",
    "write_kallisto_abundance",
]

#: kallisto's MAX_FRAG_LEN: the fragment-length distribution covers 0..999
MAX_FRAG_LEN = 1000


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _lines(path: Path, what: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {path} does not exist")
    with _open_text(path) as handle:
        lines = [line.rstrip("\n\r") for line in handle]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f"{what}: {path} is empty")
    return lines


def truncated_gaussian_means(mean: float, sd: float) -> np.ndarray:
    """kallisto's ``trunc_gaussian_fld(0, MAX_FRAG_LEN, mean, sd)``: entry ``i`` is the
    mean of a Gaussian fragment-length distribution truncated to lengths 0..i."""
    x = np.arange(MAX_FRAG_LEN, dtype=np.float64)
    density = np.exp(-0.5 * ((x - mean) / sd) ** 2) / sd
    mass = np.cumsum(density * x)
    total = np.cumsum(density)
    return np.where(mass > 0, mass / np.where(total > 0, total, 1.0), 0.0)


def kallisto_effective_lengths(
    lengths: ArrayLike, fragment_length: float, fragment_sd: float
) -> np.ndarray:
    """Effective lengths as kallisto 0.48 computes them without bias correction.

    For a transcript of length L, the mean μ_L of the Gaussian fragment-length
    distribution (mean ``fragment_length``, sd ``fragment_sd``) truncated to 0..L
    (to 0..999 for L ≥ 1000); ℓ̃ = L − μ_L + 1, or L when that is below 1.

    Parameters
    ----------
    lengths : array-like of shape (n_transcripts,)
    fragment_length, fragment_sd : float
        kallisto's ``-l`` and ``-s`` (for paired-end reads kallisto estimates the mean
        from the reads and its output's ``eff_length`` is the one to use).
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    if not (np.isfinite(fragment_length) and fragment_length > 0):
        raise ValueError(f"fragment_length must be positive, got {fragment_length!r}")
    if not (np.isfinite(fragment_sd) and fragment_sd > 0):
        raise ValueError(f"fragment_sd must be positive, got {fragment_sd!r}")
    if np.any(~np.isfinite(lengths) | (lengths <= 0)):
        raise ValueError("lengths must be positive transcript lengths")
    means = truncated_gaussian_means(float(fragment_length), float(fragment_sd))
    position = np.minimum(lengths.astype(np.int64), MAX_FRAG_LEN - 1)
    effective = lengths - means[position] + 1.0
    return np.where(effective < 1.0, lengths, effective)


def read_fasta_lengths(path: PathLike) -> tuple[list[str], np.ndarray]:
    """``(names, lengths)`` of the sequences of a FASTA file (plain or gzipped); a
    name is the header's first word."""
    path = Path(path)
    names: list[str] = []
    lengths: list[int] = []
    with _open_text(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                names.append(line[1:].split()[0] if line[1:].split() else "")
                lengths.append(0)
            elif line:
                if not names:
                    raise ValueError(f"{path} is not FASTA: sequence before the first '>'")
                lengths[-1] += len(line)
    if not names:
        raise ValueError(f"{path} is empty: no FASTA records")
    return names, np.asarray(lengths, dtype=np.float64)


def read_kallisto_abundance(path: PathLike) -> dict:
    """kallisto's ``abundance.tsv`` as ``{"target_id": list, "length", "eff_length",
    "est_counts", "tpm": ndarray}``."""
    path = Path(path)
    lines = _lines(path, "abundance")
    header = lines[0].split("\t")
    expected = ["target_id", "length", "eff_length", "est_counts", "tpm"]
    if header[:5] != expected:
        raise ValueError(
            f"{path} is not a kallisto abundance.tsv: its header is {header}, expected {expected}"
        )
    rows = [line.split("\t") for line in lines[1:]]
    if not rows:
        raise ValueError(f"{path} has a header but no transcripts")
    for number, row in enumerate(rows, start=2):
        if len(row) < 5:
            raise ValueError(f"{path}, line {number}: expected 5 columns, got {len(row)}")
    table = {"target_id": [row[0] for row in rows]}
    for column, name in enumerate(expected[1:], start=1):
        table[name] = np.array([float(row[column]) for row in rows])
    return table


def _read_ec(path: Path) -> list[np.ndarray]:
    members = []
    for number, line in enumerate(_lines(path, "classes"), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path}, line {number}: expected 'id<TAB>t1,t2,...', got {line!r}")
        if int(fields[0]) != number - 1:
            raise ValueError(
                f"{path}, line {number}: class ids must run 0, 1, 2, ...; got {fields[0]}"
            )
        try:
            members.append(np.array([int(t) for t in fields[1].split(",")], dtype=np.int64))
        except ValueError:
            raise ValueError(
                f"{path}, line {number}: transcript indices must be integers, got {fields[1]!r}"
            ) from None
    return members


def _read_tsv_counts(path: Path, n_classes: int) -> np.ndarray:
    counts = np.zeros(n_classes)
    for number, line in enumerate(_lines(path, "counts"), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path}, line {number}: expected 'id<TAB>count', got {line!r}")
        ec, count = int(fields[0]), float(fields[1])
        if not 0 <= ec < n_classes:
            raise ValueError(
                f"{path}, line {number}: class {ec} is not in the class file ({n_classes} "
                "classes): the files do not match each other"
            )
        counts[ec] += count
    return counts


def _read_mtx_counts(path: Path, n_classes: int, sample: int | None) -> np.ndarray:
    lines = [line for line in _lines(path, "counts") if not line.startswith("%")]
    n_rows, n_cols, _ = (int(v) for v in lines[0].split())
    if n_cols != n_classes:
        raise ValueError(
            f"{path} has {n_cols} columns but the class file has {n_classes} classes: the "
            "files do not match each other"
        )
    if sample is None:
        if n_rows != 1:
            raise ValueError(
                f"{path} has {n_rows} samples (rows): choose one with sample=0..{n_rows - 1}"
                if n_rows
                else f"{path} has no samples (0 rows): use pseudoalignments.tsv instead"
            )
        sample = 0
    if not 0 <= sample < n_rows:
        raise ValueError(f"sample must be in 0..{n_rows - 1}, got {sample}")
    counts = np.zeros(n_classes)
    for line in lines[1:]:
        row, col, value = line.split()
        if int(row) - 1 == sample:
            counts[int(col) - 1] += float(value)
    return counts


def read_kallisto(
    pseudo_dir: PathLike,
    *,
    abundance: PathLike | None = None,
    lengths: PathLike | ArrayLike | None = None,
    fragment_length: float | None = None,
    fragment_sd: float | None = None,
    sample: int | None = None,
) -> EquivalenceClasses:
    """The equivalence classes of a ``kallisto pseudo`` output directory.

    Parameters
    ----------
    pseudo_dir : path
        Holds ``transcripts.txt`` and either ``pseudoalignments.ec`` +
        ``pseudoalignments.tsv`` or ``matrix.ec`` + ``matrix.tcc.mtx``.
    abundance : path, optional
        A kallisto ``abundance.tsv`` of the same index: the effective and transcript
        lengths are taken from it (its transcripts must be ``transcripts.txt``'s). By
        default ``pseudo_dir/abundance.tsv`` when it exists.
    lengths : array-like or path, optional
        Transcript lengths (in ``transcripts.txt``'s order), or the FASTA of the
        transcriptome; with ``fragment_length`` and ``fragment_sd`` the effective
        lengths are kallisto's (:func:`kallisto_effective_lengths`).
    fragment_length, fragment_sd : float, optional
        kallisto's ``-l`` and ``-s``.
    sample : int, optional
        Row of ``matrix.tcc.mtx`` when it holds several samples.

    Without any of these the classes have no effective lengths (every entry weighs 1).

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or empty files, files that do not match each other (class ids, the
        number of transcripts, names), a class naming an unknown transcript.
    """
    root = Path(pseudo_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"pseudo_dir: {root} is not a directory")
    if (root / "pseudoalignments.ec").is_file():
        ec, counts = root / "pseudoalignments.ec", root / "pseudoalignments.tsv"
    elif (root / "matrix.ec").is_file():
        ec, counts = root / "matrix.ec", root / "matrix.tcc.mtx"
    else:
        raise FileNotFoundError(
            f"{root} has neither pseudoalignments.ec nor matrix.ec: is it the output "
            "directory of kallisto pseudo?"
        )
    if abundance is None and (root / "abundance.tsv").is_file():
        abundance = root / "abundance.tsv"
    return read_kallisto_files(
        ec,
        counts,
        root / "transcripts.txt",
        abundance=abundance,
        lengths=lengths,
        fragment_length=fragment_length,
        fragment_sd=fragment_sd,
        sample=sample,
    )


def read_kallisto_files(
    ec: PathLike,
    counts: PathLike,
    transcripts: PathLike,
    *,
    abundance: PathLike | None = None,
    lengths: PathLike | ArrayLike | None = None,
    fragment_length: float | None = None,
    fragment_sd: float | None = None,
    sample: int | None = None,
) -> EquivalenceClasses:
    """:func:`read_kallisto` from the files named one by one: the class file ``ec``
    (``id<TAB>t1,t2,...``), the counts (``id<TAB>count`` lines, or a Matrix Market
    ``.mtx`` with one row per sample) and ``transcripts`` (one name a line)."""
    ec, counts, transcripts = Path(ec), Path(counts), Path(transcripts)
    names = _lines(transcripts, "transcripts")
    members = _read_ec(ec)
    if counts.suffix == ".mtx":
        class_counts = _read_mtx_counts(counts, len(members), sample)
    else:
        class_counts = _read_tsv_counts(counts, len(members))
    effective = transcript_lengths = None
    if abundance is not None:
        table = read_kallisto_abundance(abundance)
        if table["target_id"] != names:
            raise ValueError(
                f"{abundance} lists {len(table['target_id'])} transcripts that are not "
                f"{transcripts.name}'s {len(names)} (in order): the files do not match each "
                "other (were they made with the same index?)"
            )
        effective, transcript_lengths = table["eff_length"], table["length"]
    if lengths is not None:
        if isinstance(lengths, (str, os.PathLike)):
            fasta_names, lengths = read_fasta_lengths(lengths)
            if fasta_names != names:
                raise ValueError(
                    f"the FASTA's {len(fasta_names)} sequences are not {transcripts.name}'s "
                    f"{len(names)} transcripts (in order): the files do not match each other"
                )
        transcript_lengths = np.asarray(lengths, dtype=np.float64)
        if transcript_lengths.shape != (len(names),):
            raise ValueError(
                f"lengths has {transcript_lengths.size} entries for {len(names)} transcripts"
            )
    if fragment_length is not None or fragment_sd is not None:
        if transcript_lengths is None or fragment_length is None or fragment_sd is None:
            raise ValueError(
                "effective lengths from the fragment-length distribution need lengths, "
                "fragment_length and fragment_sd together"
            )
        effective = kallisto_effective_lengths(transcript_lengths, fragment_length, fragment_sd)
    return EquivalenceClasses(
        members, class_counts, effective_lengths=effective, names=names, lengths=transcript_lengths
    )


def _g(value: float) -> str:
    """C++ ostream's default formatting (6 significant digits), as kallisto writes."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.6g}"


def write_kallisto_abundance(
    path: PathLike,
    names: Sequence[str],
    lengths: ArrayLike,
    effective_lengths: ArrayLike,
    est_counts: ArrayLike,
    tpm: ArrayLike,
    *,
    precise: bool = False,
) -> None:
    """Write kallisto's ``abundance.tsv``: target_id, length, eff_length, est_counts,
    tpm, tab-separated, numbers as kallisto prints them (6 significant digits; all
    17 with ``precise=True``)."""
    fmt = (lambda v: repr(float(v))) if precise else _g
    rows = ["target_id\tlength\teff_length\test_counts\ttpm"]
    for name, length, eff, count, t in zip(
        names, lengths, effective_lengths, est_counts, tpm, strict=True
    ):
        length_text = str(int(length)) if float(length).is_integer() else _g(length)
        rows.append(f"{name}\t{length_text}\t{fmt(eff)}\t{fmt(count)}\t{fmt(t)}")
    Path(path).write_text("\n".join(rows) + "\n")
