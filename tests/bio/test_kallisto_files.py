"""kallisto's and salmon's files: readers, writers, mismatches, and kallisto itself."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emkit.bio.kallisto import (
    kallisto_effective_lengths,
    read_fasta_lengths,
    read_kallisto,
    read_kallisto_abundance,
    write_kallisto_abundance,
)
from emkit.bio.quantifier import TranscriptQuantifier
from emkit.bio.salmon import read_salmon_eq_classes, read_salmon_quant, write_salmon_quant

DATA = Path(__file__).parent / "data"
KALLISTO = DATA / "kallisto"
SALMON = DATA / "salmon"
KALLISTO_TEST = Path("/usr/share/doc/kallisto/test")


def copy_pseudo(tmp_path) -> Path:
    target = tmp_path / "pseudo"
    shutil.copytree(KALLISTO / "pseudo", target)
    return target


def test_read_kallisto_pseudoalignments():
    classes = read_kallisto(KALLISTO / "pseudo")
    assert classes.n_classes == 20 and classes.n_transcripts == 14
    assert classes.n_reads == 9413  # kallisto: "9,413 reads pseudoaligned"
    assert classes.names[0] == "ENST00000513300.5"
    assert classes.effective_lengths is None  # no abundance.tsv in that folder
    assert classes.members[15].tolist() == [0, 1, 2]


def test_tcc_matrix_gives_the_same_classes():
    tcc = read_kallisto(KALLISTO / "batch")
    plain = read_kallisto(KALLISTO / "pseudo")
    np.testing.assert_array_equal(tcc.counts, plain.counts)
    np.testing.assert_array_equal(tcc.indices, plain.indices)


def test_effective_lengths_as_kallisto_computes_them():
    reference = read_kallisto_abundance(KALLISTO / "quant_single" / "abundance.tsv")
    got = kallisto_effective_lengths(reference["length"], 200.0, 30.0)
    np.testing.assert_allclose(got, reference["eff_length"], rtol=1e-6)
    classes = read_kallisto(
        KALLISTO / "pseudo", lengths=reference["length"], fragment_length=200, fragment_sd=30
    )
    np.testing.assert_allclose(classes.effective_lengths, reference["eff_length"], rtol=1e-6)
    # a short transcript gets the mean of the distribution truncated to its length
    short = kallisto_effective_lengths([50.0, 150.0, 5000.0], 200.0, 30.0)
    assert 1.0 <= short[0] < 50.0
    assert 1.0 <= short[1] < 150.0
    assert short[2] == pytest.approx(5000.0 - 200.0 + 1.0, abs=0.01)
    with pytest.raises(ValueError, match="fragment_sd must be positive"):
        kallisto_effective_lengths([100.0], 200.0, 0.0)


def test_abundance_writer_round_trip(tmp_path):
    classes = read_kallisto(KALLISTO / "pseudo", abundance=KALLISTO / "quant" / "abundance.tsv")
    fit = TranscriptQuantifier("kallisto").fit(classes)
    path = tmp_path / "abundance.tsv"
    write_kallisto_abundance(
        path, classes.names, classes.lengths, classes.effective_lengths, fit.est_counts_, fit.tpm_
    )
    reference = (KALLISTO / "quant" / "abundance.tsv").read_text().splitlines()
    written = path.read_text().splitlines()
    assert written[0] == reference[0]
    # kallisto's own text, but for the last digit of at most a few numbers
    assert sum(a != b for a, b in zip(written, reference, strict=True)) <= 2
    again = read_kallisto_abundance(path)
    np.testing.assert_allclose(again["est_counts"], fit.est_counts_, rtol=1e-5)


def test_salmon_reader_with_and_without_weights():
    weighted = read_salmon_eq_classes(SALMON / "quant_em")
    plain = read_salmon_eq_classes(SALMON / "quant_em_plain" / "aux_info" / "eq_classes.txt.gz")
    assert weighted.n_transcripts == plain.n_transcripts == 15
    assert weighted.weights is not None and plain.weights is None
    assert weighted.n_reads == plain.n_reads == 10000
    # salmon's combined weights sum to 1 within every class
    sums = np.add.reduceat(weighted.weights, weighted.indptr[:-1])
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    # without weights, entries weigh 1/ℓ̃ from the run's quant.sf
    table = read_salmon_quant(SALMON / "quant_em_plain" / "quant.sf")
    np.testing.assert_allclose(plain.effective_lengths, table["EffectiveLength"])


def test_salmon_writer_round_trip(tmp_path):
    classes = read_salmon_eq_classes(SALMON / "quant_em")
    fit = TranscriptQuantifier().fit(classes)
    path = tmp_path / "quant.sf"
    write_salmon_quant(
        path, classes.names, classes.lengths, classes.effective_lengths, fit.tpm_, fit.est_counts_
    )
    again = read_salmon_quant(path)
    reference = read_salmon_quant(SALMON / "quant_em" / "quant.sf")
    assert again["Name"] == reference["Name"]
    np.testing.assert_array_equal(again["Length"], reference["Length"])
    np.testing.assert_allclose(again["EffectiveLength"], reference["EffectiveLength"])
    np.testing.assert_allclose(again["NumReads"], fit.est_counts_, atol=5e-4)


# -- bad files: one clear error each ----------------------------------------------------
def test_class_naming_an_unknown_transcript(tmp_path):
    root = copy_pseudo(tmp_path)
    lines = (root / "pseudoalignments.ec").read_text().splitlines()
    lines[-1] = "19\t1,14"
    (root / "pseudoalignments.ec").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="class 19 names transcript 14, but there are only 14"):
        read_kallisto(root)


def test_files_that_do_not_match(tmp_path):
    root = copy_pseudo(tmp_path)
    names = (root / "transcripts.txt").read_text().splitlines()
    (root / "transcripts.txt").write_text("\n".join(names[:-1]) + "\n")
    with pytest.raises(ValueError, match="transcript 13, but there are only 13"):
        read_kallisto(root)
    root = copy_pseudo(tmp_path / "b")
    with open(root / "pseudoalignments.tsv", "a") as handle:
        handle.write("20\t5\n")
    with pytest.raises(ValueError, match="class 20 is not in the class file"):
        read_kallisto(root)
    root = copy_pseudo(tmp_path / "c")
    abundance = tmp_path / "abundance.tsv"
    abundance.write_text((SALMON / "quant_em" / "quant.sf").read_text())
    with pytest.raises(ValueError, match=r"not a kallisto abundance\.tsv"):
        read_kallisto(root, abundance=abundance)
    fasta = tmp_path / "other.fa"
    fasta.write_text(">a\nACGT\n>b\nACGT\n")
    with pytest.raises(ValueError, match="do not match each other"):
        read_kallisto(root, lengths=fasta, fragment_length=200, fragment_sd=30)
    with pytest.raises(ValueError, match="3 entries for 14 transcripts"):
        read_kallisto(root, lengths=np.ones(3), fragment_length=200, fragment_sd=30)
    with pytest.raises(ValueError, match="together"):
        read_kallisto(root, fragment_length=200)


def test_abundance_of_other_transcripts(tmp_path):
    root = copy_pseudo(tmp_path)
    text = (KALLISTO / "quant" / "abundance.tsv").read_text().replace("ENST00000513300.5", "X")
    (root / "abundance.tsv").write_text(text)
    with pytest.raises(ValueError, match="do not match each other"):
        read_kallisto(root)


def test_negative_counts_and_zero_lengths(tmp_path):
    root = copy_pseudo(tmp_path)
    (root / "pseudoalignments.tsv").write_text("0\t-3\n")
    with pytest.raises(ValueError, match="non-negative: class 0 has -3"):
        read_kallisto(root)
    root = copy_pseudo(tmp_path / "b")
    text = (KALLISTO / "quant" / "abundance.tsv").read_text().replace("1746.98", "0")
    (root / "abundance.tsv").write_text(text)
    with pytest.raises(ValueError, match=r"transcript 0 \(ENST00000513300\.5\) has 0"):
        read_kallisto(root)


@pytest.mark.parametrize("name", ["pseudoalignments.ec", "pseudoalignments.tsv", "transcripts.txt"])
def test_empty_kallisto_file(tmp_path, name):
    root = copy_pseudo(tmp_path)
    (root / name).write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_kallisto(root)


def test_not_a_kallisto_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        read_kallisto(tmp_path / "nothing")
    (tmp_path / "transcripts.txt").write_text("a\n")
    with pytest.raises(FileNotFoundError, match=r"neither pseudoalignments\.ec nor matrix\.ec"):
        read_kallisto(tmp_path)


def test_bad_salmon_files(tmp_path):
    empty = tmp_path / "eq_classes.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        read_salmon_eq_classes(empty)
    lines = gzip.open(SALMON / "quant_em" / "aux_info" / "eq_classes.txt.gz", "rt").read()
    truncated = tmp_path / "truncated.txt"
    truncated.write_text("\n".join(lines.splitlines()[:-3]) + "\n")
    with pytest.raises(ValueError, match="truncated"):
        read_salmon_eq_classes(truncated)
    unknown = tmp_path / "unknown.txt"
    rows = lines.splitlines()
    rows[-1] = "2\t0\t15\t0.5\t0.5\t3"
    unknown.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match="names transcript 15, but there are only 15"):
        read_salmon_eq_classes(unknown)
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="--dumpEq"):
        read_salmon_eq_classes(folder)
    quant = tmp_path / "quant.sf"
    quant.write_text((SALMON / "quant_em" / "quant.sf").read_text().replace("NM_174914", "x"))
    eq_file = SALMON / "quant_em" / "aux_info" / "eq_classes.txt.gz"
    with pytest.raises(ValueError, match="do not match each other"):
        read_salmon_eq_classes(eq_file, quant=quant)
    with pytest.raises(ValueError, match=r"not a salmon quant\.sf"):
        read_salmon_eq_classes(eq_file, quant=KALLISTO / "quant" / "abundance.tsv")


def test_fasta_lengths(tmp_path):
    fasta = tmp_path / "t.fa"
    fasta.write_text(">a desc\nACGT\nAC\n>b\nA\n")
    names, lengths = read_fasta_lengths(fasta)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(lengths, [6, 1])
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_fasta_lengths(tmp_path / "empty.fa")


# -- kallisto itself, when installed ----------------------------------------------------
@pytest.mark.skipif(
    shutil.which("kallisto") is None or not KALLISTO_TEST.is_dir(),
    reason="needs the kallisto binary and kallisto-examples",
)
def test_against_a_fresh_kallisto_run(tmp_path):
    reads = [KALLISTO_TEST / "reads_1.fastq.gz", KALLISTO_TEST / "reads_2.fastq.gz"]
    fasta = KALLISTO_TEST / "transcripts.fasta.gz"

    def kallisto(*args):
        subprocess.run(["kallisto", *map(str, args)], check=True, capture_output=True)

    kallisto("index", "-i", tmp_path / "idx", fasta)
    kallisto("pseudo", "-i", tmp_path / "idx", "-o", tmp_path / "pseudo", *reads)
    kallisto("quant", "-i", tmp_path / "idx", "-o", tmp_path / "quant", *reads)
    classes = read_kallisto(tmp_path / "pseudo", abundance=tmp_path / "quant" / "abundance.tsv")
    reference = read_kallisto_abundance(tmp_path / "quant" / "abundance.tsv")
    fit = TranscriptQuantifier("kallisto").fit(classes)
    np.testing.assert_allclose(fit.est_counts_, reference["est_counts"], rtol=1e-3)
    np.testing.assert_allclose(fit.tpm_, reference["tpm"], rtol=1e-3)
    names, lengths = read_fasta_lengths(fasta)
    assert names == classes.names
    np.testing.assert_array_equal(lengths, reference["length"])


def test_quant_tcc_without_lengths_reproduced():
    """kallisto quant-tcc without an index weighs every entry 1: so do classes
    without effective lengths."""
    classes = read_kallisto(KALLISTO / "pseudo")
    reference = read_kallisto_abundance(KALLISTO / "tcc" / "abundance.tsv")
    np.testing.assert_array_equal(reference["eff_length"], 1.0)
    fit = TranscriptQuantifier("kallisto").fit(classes)
    np.testing.assert_allclose(fit.est_counts_, reference["est_counts"], rtol=1e-3)
    np.testing.assert_allclose(fit.tpm_, reference["tpm"], rtol=1e-3)


def test_shipped_example_is_kallistos_test_data():
    from emkit.bio.examples import load_kallisto_example

    classes = load_kallisto_example()
    reference = read_kallisto(KALLISTO / "pseudo", abundance=KALLISTO / "quant" / "abundance.tsv")
    np.testing.assert_array_equal(classes.counts, reference.counts)
    np.testing.assert_array_equal(classes.effective_lengths, reference.effective_lengths)
    assert classes.names == reference.names
