"""Gene-level sums of transcript values, from a transcript-to-gene map."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike

    from emkit._typing import PathLike


__all__ = ["gene_sums", "read_gene_map"]


def read_gene_map(path: PathLike) -> dict[str, str]:
    """A transcript-to-gene map from a tab-separated file (plain or gzipped): the
    transcript in the first column, its gene in the second (kallisto's and tximport's
    ``t2g.txt``; further columns are ignored, ``#`` lines skipped).

    Raises ValueError for a line with fewer than two columns, a transcript listed twice
    with different genes, or an empty file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    mapping: dict[str, str] = {}
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n\r")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise ValueError(
                    f"{path}, line {number}: expected 'transcript<TAB>gene', got {line!r}"
                )
            transcript, gene = fields[0].strip(), fields[1].strip()
            if mapping.get(transcript, gene) != gene:
                raise ValueError(
                    f"{path}, line {number}: transcript {transcript!r} is mapped to both "
                    f"{mapping[transcript]!r} and {gene!r}"
                )
            mapping[transcript] = gene
    if not mapping:
        raise ValueError(f"{path} is empty: no transcript-to-gene lines")
    return mapping


def gene_sums(
    values: ArrayLike, names: Sequence[str], gene_map: dict
) -> tuple[list[str], np.ndarray]:
    """``(genes, sums)``: the genes in order of first appearance among ``names`` and the
    sum of ``values`` (n_transcripts,) over every gene's transcripts.

    Raises ValueError when the transcripts have no names, or a name is not in the map.
    """
    if names is None:
        raise ValueError(
            "gene-level sums need transcript names: read the classes with read_kallisto "
            "or read_salmon_eq_classes, or pass names= to EquivalenceClasses"
        )
    missing = [name for name in names if name not in gene_map]
    if missing:
        raise ValueError(
            f"{len(missing)} transcripts are not in the gene map (the first is "
            f"{missing[0]!r}): the map and the transcripts do not match"
        )
    genes: dict[str, int] = {}
    labels = np.array([genes.setdefault(gene_map[name], len(genes)) for name in names])
    sums = np.bincount(labels, weights=np.asarray(values, dtype=np.float64), minlength=len(genes))
    return list(genes), sums
