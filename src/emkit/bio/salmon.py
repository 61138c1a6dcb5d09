"""salmon's files: ``aux_info/eq_classes.txt[.gz]`` in, ``quant.sf`` in and out.

``salmon quant --dumpEq`` writes (salmon 1.x) the number of transcripts, the number of
classes, the transcript names one a line, then one class a line: its size k, its k
transcript indices, with ``--dumpEqWeights`` its k weights, and its count, separated by
tabs. The weights are salmon's *combined* conditional weights (fragment-level
probabilities times 1/ℓ̃, normalised to sum to 1 within the class): salmon's EM uses
them in place of 1/ℓ̃, and so does :class:`emkit.bio.TranscriptQuantifier`. Without
weights, the entries weigh 1/ℓ̃ with the effective lengths of the run's ``quant.sf``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emkit.bio.classes import EquivalenceClasses

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from emkit._typing import PathLike


__all__ = ["read_salmon_eq_classes", "read_salmon_quant", "write_salmon_quant"]

QUANT_COLUMNS = ["Name", "Length", "EffectiveLength", "TPM", "NumReads"]


def _find(path: Path) -> tuple[Path, Path | None]:
    """(the eq_classes file, the run's quant.sf or None) for a salmon output folder, its
    aux_info folder or the file itself."""
    if path.is_dir():
        for folder in (path / "aux_info", path):
            for name in ("eq_classes.txt.gz", "eq_classes.txt"):
                if (folder / name).is_file():
                    return _find(folder / name)
        raise FileNotFoundError(
            f"{path} holds no aux_info/eq_classes.txt[.gz]: run salmon quant with --dumpEq"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    run = path.parent.parent if path.parent.name == "aux_info" else path.parent
    quant = run / "quant.sf"
    return path, quant if quant.is_file() else None


def read_salmon_quant(path: PathLike) -> dict:
    """salmon's ``quant.sf`` as ``{"Name": list, "Length", "EffectiveLength", "TPM",
    "NumReads": ndarray}``."""
    path = Path(path)
    with open(path) as handle:
        lines = [line.rstrip("\n\r") for line in handle if line.strip()]
    if not lines:
        raise ValueError(f"{path} is empty")
    header = lines[0].split("\t")
    if header[:5] != QUANT_COLUMNS:
        raise ValueError(
            f"{path} is not a salmon quant.sf: its header is {header}, expected {QUANT_COLUMNS}"
        )
    rows = [line.split("\t") for line in lines[1:]]
    if not rows:
        raise ValueError(f"{path} has a header but no transcripts")
    table = {"Name": [row[0] for row in rows]}
    for column, name in enumerate(QUANT_COLUMNS[1:], start=1):
        table[name] = np.array([float(row[column]) for row in rows])
    return table


def read_salmon_eq_classes(path: PathLike, *, quant: PathLike | None = None) -> EquivalenceClasses:
    """The equivalence classes salmon dumped (``--dumpEq``, with or without
    ``--dumpEqWeights``).

    Parameters
    ----------
    path : path
        A salmon output folder, its ``aux_info`` folder, or the
        ``eq_classes.txt[.gz]`` file itself.
    quant : path, optional
        The run's ``quant.sf``, for the effective and transcript lengths (by default
        the one of the output folder, when there is one). Its transcripts must be the
        file's, in order.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing or empty file, a truncated or malformed one, a class naming an
        unknown transcript, a ``quant.sf`` of other transcripts.
    """
    eq_path, found_quant = _find(Path(path))
    opener = gzip.open if eq_path.suffix == ".gz" else open
    with opener(eq_path, "rt") as handle:
        lines = [line.rstrip("\n\r") for line in handle]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"{eq_path} is empty")
    try:
        n_transcripts, n_classes = int(lines[0]), int(lines[1])
    except (ValueError, IndexError):
        raise ValueError(
            f"{eq_path} does not start with the numbers of transcripts and classes: is it "
            "salmon's eq_classes.txt?"
        ) from None
    if len(lines) != 2 + n_transcripts + n_classes:
        raise ValueError(
            f"{eq_path} announces {n_transcripts} transcripts and {n_classes} classes "
            f"({2 + n_transcripts + n_classes} lines) but has {len(lines)} lines: the file "
            "is truncated or not salmon's"
        )
    names = [line.strip() for line in lines[2 : 2 + n_transcripts]]
    members, weights, counts = [], [], []
    weighted = None
    for number, line in enumerate(lines[2 + n_transcripts :], start=3 + n_transcripts):
        fields = line.split()
        try:
            size = int(fields[0])
            has_weights = len(fields) == 2 + 2 * size
            if not has_weights and len(fields) != 2 + size:
                raise ValueError
            members.append([int(v) for v in fields[1 : 1 + size]])
            if has_weights:
                weights.append([float(v) for v in fields[1 + size : 1 + 2 * size]])
            counts.append(float(fields[-1]))
        except (ValueError, IndexError):
            raise ValueError(
                f"{eq_path}, line {number}: expected 'k t1..tk [w1..wk] count', got {line[:80]!r}"
            ) from None
        if weighted is None:
            weighted = has_weights
        elif weighted != has_weights:
            raise ValueError(f"{eq_path}, line {number}: some classes have weights, others not")
    effective = lengths = None
    quant = found_quant if quant is None else Path(quant)
    if quant is not None:
        table = read_salmon_quant(quant)
        if table["Name"] != names:
            raise ValueError(
                f"{quant} lists {len(table['Name'])} transcripts that are not the "
                f"{len(names)} of {eq_path} (in order): the files do not match each other"
            )
        # salmon's EM floors effective lengths at 1 (CollapsedEMOptimizer)
        effective = np.maximum(table["EffectiveLength"], 1.0)
        lengths = table["Length"]
    return EquivalenceClasses(
        members,
        counts,
        effective_lengths=effective,
        names=names,
        weights=weights if weighted else None,
        lengths=lengths,
        n_transcripts=n_transcripts,
    )


def write_salmon_quant(
    path: PathLike,
    names: Sequence[str],
    lengths: ArrayLike,
    effective_lengths: ArrayLike,
    tpm: ArrayLike,
    num_reads: ArrayLike,
) -> None:
    """Write salmon's ``quant.sf``: Name, Length, EffectiveLength (3 decimals), TPM (6),
    NumReads (3), tab-separated."""
    rows = ["\t".join(QUANT_COLUMNS)]
    for name, length, eff, t, reads in zip(
        names, lengths, effective_lengths, tpm, num_reads, strict=True
    ):
        length_text = str(int(length)) if float(length).is_integer() else f"{length:g}"
        rows.append(f"{name}\t{length_text}\t{eff:.3f}\t{t:.6f}\t{reads:.3f}")
    Path(path).write_text("\n".join(rows) + "\n")
