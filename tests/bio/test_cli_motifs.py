"""``emkit motifs``: end to end in a subprocess, and its errors in-process."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from importlib import resources

import pytest

from emkit.cli.app import main

FASTA = resources.files("emkit.datasets").joinpath("crp0.fa")


def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emkit.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_motifs_end_to_end_in_a_subprocess(tmp_path):
    fasta = tmp_path / "crp.fa.gz"
    fasta.write_bytes(gzip.compress(FASTA.read_bytes()))
    done = run_cli("motifs", fasta, "--width", "20", "--model", "zoops", "-o", "crp", "--json",
                   "--logo", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n_sequences"] == 18
    consensus = summary["motifs"][0]["consensus"]
    assert "TGTGA" in consensus and "TCACA" in consensus
    for name in ("crp.meme", "crp.jaspar", "crp.sites.tsv", "crp.logo.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_motifs_writes_the_motif_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fasta = tmp_path / "crp.fa"
    fasta.write_bytes(FASTA.read_bytes())
    assert main(["motifs", str(fasta), "--width", "20", "--model", "zoops", "-o", "crp"]) == 0
    out = capsys.readouterr().out
    assert "motif 1:" in out and "TCACA" in out
    for name in ("crp.meme", "crp.jaspar", "crp.sites.tsv"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "crp.meme").read_text().startswith("MEME version 4")
    assert not (tmp_path / "crp.logo.png").exists()
    # an existing output needs --force, checked before any fit
    assert main(["motifs", str(fasta), "--width", "20", "-o", "crp"]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main(["motifs", str(fasta), "--width", "16", "-n", "2", "-o", "crp", "--force"]) == 0
    assert "motif 2:" in capsys.readouterr().out
    assert "MOTIF 2 " in (tmp_path / "crp.meme").read_text()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", ("--width", "5"), "holds no sequences"),
        (">a\nACGTACGTAC\n>b\nACGZACGTAC\n", ("--width", "5"), "'Z' at position 4"),
        (">a\nACGTACGTAC\n>b\nACG\n", ("--width", "5"), "has 3 letters, fewer than"),
        (">a\nACGTACGTAC\n", ("--width", "x"), "expected a width >= 2"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, content, args, message):
    fasta = tmp_path / "in.fa"
    fasta.write_text(content)
    try:
        status = main(["motifs", str(fasta), *args])
    except SystemExit as exc:  # argparse's errors
        status = exc.code
    assert status in (1, 2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_output_never_over_the_input(tmp_path, capsys):
    fasta = tmp_path / "in.meme"
    fasta.write_text(">a\nACGTACGTAC\n>b\nACGTACGTAC\n")
    status = main(["motifs", str(fasta), "--width", "4", "-o", str(tmp_path / "in"), "--force"])
    assert status == 1 and "is the data file of this command" in capsys.readouterr().err
