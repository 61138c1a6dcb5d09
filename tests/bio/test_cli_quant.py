"""``emkit quant`` end to end: kallisto's and salmon's folders in, their files out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emkit.bio.kallisto import read_kallisto_abundance
from emkit.bio.salmon import read_salmon_quant
from emkit.cli import main

DATA = Path(__file__).parent / "data"
KALLISTO = DATA / "kallisto"
SALMON = DATA / "salmon"


def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emkit.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_kallisto_folder_to_abundance_tsv(tmp_path):
    result = run_cli(
        "quant",
        "--kallisto",
        KALLISTO / "pseudo",
        "--abundance",
        KALLISTO / "quant" / "abundance.tsv",
        "--stopping",
        "kallisto",
        "-b",
        "3",
        "-o",
        tmp_path / "out",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["n_iter"] == 53 and summary["n_reads"] == 9413
    got = read_kallisto_abundance(tmp_path / "out" / "abundance.tsv")
    reference = read_kallisto_abundance(KALLISTO / "quant" / "abundance.tsv")
    assert got["target_id"] == reference["target_id"]
    np.testing.assert_allclose(got["est_counts"], reference["est_counts"], rtol=1e-3)
    np.testing.assert_allclose(got["tpm"], reference["tpm"], rtol=1e-3)
    bootstraps = (tmp_path / "out" / "bootstraps.tsv").read_text().splitlines()
    assert bootstraps[0] == "target_id\tbs_0\tbs_1\tbs_2"
    assert len(bootstraps) == 15


def test_salmon_folder_to_quant_sf(tmp_path, capsys):
    gene_map = tmp_path / "t2g.tsv"
    names = read_salmon_quant(SALMON / "quant_vb" / "quant.sf")["Name"]
    gene_map.write_text("".join(f"{n}\tG{i % 2}\n" for i, n in enumerate(names)))
    out = tmp_path / "out"
    argv = ["quant", "--salmon", str(SALMON / "quant_vb"), "--vb", "-o", str(out)]
    assert main([*argv, "--gene-map", str(gene_map)]) == 0
    assert "log-likelihood" in capsys.readouterr().out
    got = read_salmon_quant(out / "quant.sf")
    reference = read_salmon_quant(SALMON / "quant_vb" / "quant.sf")
    scale = np.maximum(reference["NumReads"], 1.0)
    assert np.max(np.abs(got["NumReads"] - reference["NumReads"]) / scale) < 1e-3
    genes = (out / "genes.tsv").read_text().splitlines()
    assert genes[0] == "gene_id\test_counts\ttpm" and len(genes) == 3
    # an existing result is replaced only with --force
    assert main(argv) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


def test_outputs_never_overwrite_inputs(tmp_path, capsys):
    pseudo = tmp_path / "pseudo"
    shutil.copytree(KALLISTO / "pseudo", pseudo)
    shutil.copy(KALLISTO / "quant" / "abundance.tsv", pseudo / "abundance.tsv")
    before = (pseudo / "abundance.tsv").read_text()
    assert main(["quant", "--kallisto", str(pseudo), "-o", str(pseudo), "--force"]) == 1
    assert "input" in capsys.readouterr().err
    assert (pseudo / "abundance.tsv").read_text() == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--kallisto", "{tmp}/nothing"], "not a directory"),
        (["--salmon", str(KALLISTO / "pseudo")], "--dumpEq"),
        (["--salmon", str(SALMON / "quant_em"), "-l", "200"], "for --kallisto input"),
        (
            ["--kallisto", str(KALLISTO / "pseudo"), "--stopping", "kallisto", "--plain-em"],
            "--plain-em is for --stopping tol",
        ),
    ],
)
def test_bad_input_one_line_error(tmp_path, capsys, args, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["quant", *args, "-o", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines
