"""Small example class sets shipped in :mod:`emkit.datasets` (see ``KALLISTO_TEST.md``)."""

from __future__ import annotations

from importlib import resources

from emkit.bio.classes import EquivalenceClasses
from emkit.bio.kallisto import read_kallisto_files

__all__ = ["load_kallisto_example"]


def load_kallisto_example() -> EquivalenceClasses:
    """kallisto's test data as equivalence classes: 14 human transcripts, 20 classes,
    9,413 pseudoaligned read pairs, with kallisto 0.48's effective lengths (its
    ``abundance.tsv`` of the same reads is ``kallisto_test.abundance.tsv`` beside it)."""
    root = resources.files("emkit.datasets")
    with (
        resources.as_file(root / "kallisto_test.ec") as ec,
        resources.as_file(root / "kallisto_test.counts.tsv") as counts,
        resources.as_file(root / "kallisto_test.transcripts.txt") as transcripts,
        resources.as_file(root / "kallisto_test.abundance.tsv") as abundance,
    ):
        return read_kallisto_files(ec, counts, transcripts, abundance=abundance)
