"""Gene-level sums and the transcript-to-gene map reader."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from emkit.bio.genes import gene_sums, read_gene_map


def test_gene_sums_in_order_of_first_appearance():
    genes, sums = gene_sums(
        [1.0, 2.0, 3.0, 4.0], list("abcd"), {"a": "Y", "b": "X", "c": "Y", "d": "X"}
    )
    assert genes == ["Y", "X"]
    np.testing.assert_allclose(sums, [4.0, 6.0])
    with pytest.raises(ValueError, match="need transcript names"):
        gene_sums([1.0], None, {})
    with pytest.raises(ValueError, match="the first is 'b'"):
        gene_sums([1.0, 2.0], ["a", "b"], {"a": "g"})


def test_read_gene_map(tmp_path):
    path = tmp_path / "t2g.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("# transcript\tgene\nt1\tg1\textra\nt2\tg1\n\nt3\tg2\n")
    assert read_gene_map(path) == {"t1": "g1", "t2": "g1", "t3": "g2"}
    bad = tmp_path / "bad.txt"
    bad.write_text("t1 g1\n")
    with pytest.raises(ValueError, match="line 1: expected 'transcript<TAB>gene'"):
        read_gene_map(bad)
    bad.write_text("t1\tg1\nt1\tg2\n")
    with pytest.raises(ValueError, match="mapped to both"):
        read_gene_map(bad)
    bad.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_gene_map(bad)
