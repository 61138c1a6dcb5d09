"""Motif files: MEME minimal format, JASPAR PFM and the site list (formats, round trips),
and the sequence logo."""

from __future__ import annotations

import io

import numpy as np
import pytest

from emkit.bio.motif_files import (
    read_jaspar,
    read_meme,
    read_sites,
    write_jaspar,
    write_meme,
    write_sites,
)
from emkit.bio.motifs import MotifFinder
from emkit.datasets import load_crp


@pytest.fixture(scope="module")
def finder():
    sequences, _ = load_crp()
    return MotifFinder(width=16, model="zoops", n_motifs=2, random_state=0).fit(sequences)


def test_meme_minimal_format(finder, tmp_path):
    path = tmp_path / "crp.meme"
    write_meme(finder, path)
    text = path.read_text()
    lines = text.splitlines()
    # the header lines FIMO and Tomtom need, in order
    assert lines[0] == "MEME version 4"
    assert "ALPHABET= ACGT" in lines and "strands: + -" in lines
    i = lines.index("Background letter frequencies")
    freqs = dict(
        zip(lines[i + 1].split()[::2], map(float, lines[i + 1].split()[1::2]), strict=True)
    )
    assert set(freqs) == set("ACGT") and sum(freqs.values()) == pytest.approx(1.0, abs=1e-5)
    assert f"MOTIF 1 {finder.consensus_[0]}" in lines
    assert "letter-probability matrix: alength= 4 w= 16 nsites=" in text
    motifs = read_meme(path)
    assert len(motifs) == 2 and motifs[0].letters == "ACGT"
    for motif, pwm in zip(motifs, finder.motifs_, strict=True):
        np.testing.assert_allclose(motif.matrix, pwm, atol=5e-7)
        np.testing.assert_allclose(motif.matrix.sum(axis=1), 1.0, atol=1e-5)


def test_meme_file_reads_in_biopython(finder):
    motifs = pytest.importorskip("Bio.motifs")
    buffer = io.StringIO()
    write_meme(finder, buffer)
    buffer.seek(0)
    record = motifs.parse(buffer, "minimal")
    assert record[0].consensus == finder.consensus_[0]


def test_jaspar_round_trip(finder, tmp_path):
    path = tmp_path / "crp.jaspar"
    write_jaspar(finder, path)
    text = path.read_text().splitlines()
    assert text[0] == f">emkit.1 {finder.consensus_[0]}"
    assert [line[0] for line in text[1:5]] == list("ACGT")
    motifs = read_jaspar(path)
    n_sites = finder.sites_["probability"][finder.sites_["motif"] == 0].sum()
    np.testing.assert_allclose(motifs[0].matrix, finder.motifs_[0] * n_sites, atol=5e-4)
    np.testing.assert_allclose(motifs[0].matrix.sum(axis=1), n_sites, atol=5e-3)


def test_site_list_round_trip(finder, tmp_path):
    path = tmp_path / "sites.tsv"
    write_sites(finder, path)
    rows = read_sites(path)
    assert len(rows) == len(finder.sites_)
    for row, site in zip(rows, finder.sites_, strict=True):
        assert row["motif"] == site["motif"] + 1
        assert row["sequence"] == site["sequence"]
        assert row["sequence_name"] == finder.sequence_names_[site["sequence"]]
        assert (row["start"], row["strand"], row["site"]) == (
            site["start"], site["strand"], site["site"],
        )  # fmt: skip
        assert row["end"] - row["start"] == finder.widths_[site["motif"]]
        assert row["score"] == pytest.approx(site["score"], abs=1e-4)


def test_writers_refuse_an_unfitted_finder(tmp_path):
    with pytest.raises(ValueError, match="not fitted yet"):
        write_meme(MotifFinder(), tmp_path / "x.meme")


def test_logo_draws_with_matplotlib(finder, tmp_path):
    pytest.importorskip("matplotlib")
    from emkit.plot.logo import logo_heights, plot_logo

    ax = plot_logo(finder, index=0, use_logomaker=False)
    assert ax.get_title().endswith(finder.consensus_[0])
    assert len(ax.patches) >= 16  # at least one letter per column
    ax.figure.savefig(tmp_path / "logo.png")
    assert (tmp_path / "logo.png").stat().st_size > 1000
    heights = logo_heights(finder.motifs_[0])
    # a column's letters stack to its information content, at most 2 bits for DNA
    assert np.all(heights.sum(axis=1) <= 2.0 + 1e-12) and np.all(heights >= 0)
    assert logo_heights(np.full((3, 4), 0.25)).sum() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="letters"):
        plot_logo(np.full((3, 20), 0.05))


def test_logo_draws_with_logomaker(finder, tmp_path):
    pytest.importorskip("logomaker")
    from emkit.plot.logo import logo_heights, plot_logo

    ax = plot_logo(finder, index=0, use_logomaker=True)
    assert ax.get_title().endswith(finder.consensus_[0])
    ax.figure.savefig(tmp_path / "logo.png")
    assert (tmp_path / "logo.png").stat().st_size > 1000
    assert len(ax.patches) >= 16  # at least one glyph per column
    # the stacks reach the columns' information content, as in the fallback
    top = max(patch.get_extents().y1 for patch in ax.patches)
    assert top > 0
    assert ax.get_ylim()[1] >= logo_heights(finder.motifs_[0]).sum(axis=1).max() - 1e-9
