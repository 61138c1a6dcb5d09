"""``emkit select``: the grid's table on standard output, the best model and the figure."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import emkit
from emkit.cli import main
from emkit.cli.select import component_range
from emkit.estimators.selection import select_model

OLD_FAITHFUL = resources.files("emkit.datasets").joinpath("old_faithful.csv")
GRID = ("-k", "1-3", "--covariance-type", "full,diag", "--random-state", "0")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    shutil.copy(OLD_FAITHFUL, tmp_path / "faithful.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def expected():
    X = emkit.datasets.load_old_faithful().data
    return select_model(X, n_components=[1, 2, 3], covariance_type=["full", "diag"], random_state=0)


def _run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out


def one_line_error(capsys, *argv) -> str:
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out = capsys.readouterr()
    assert code != 0, out.out
    assert "Traceback" not in out.err
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("emkit: error: ")
    assert out.out == ""
    return lines[0]


def test_the_table_goes_to_stdout_and_the_best_model_to_a_file(folder, capsys, expected):
    out = _run(capsys, "select", "faithful.csv", *GRID, "-o", "best", "--plot", "bic.png")
    lines = out.out.splitlines()
    assert lines[0].split() == ["K", "covariance", "log-lik", "params", "BIC", "AIC", "ICL", "iter"]
    assert lines[1 : 1 + 6] == expected.format_table().splitlines()[1:]
    assert "best:    K=2, full covariances (BIC 2322.1920, lower is better)" in out.out
    assert f"written: {folder / 'best.npz'}" in out.out or "written: best.npz" in out.out
    assert "figure:  bic.png" in out.out
    best = emkit.load(folder / "best.npz")
    np.testing.assert_array_equal(best.means_, expected.best_estimator_.means_)
    assert (best.n_components, best.covariance_type) == (2, "full")
    assert (folder / "bic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(folder.glob("*.tmp*"))


def test_json_holds_every_fit_and_the_best(folder, capsys, expected):
    out = _run(capsys, "select", "faithful.csv", *GRID, "--json", "--criterion", "icl")
    fields = json.loads(out.out)
    ranked = expected.rank_by("icl")
    assert fields["criterion"] == "icl"
    assert fields["best"] == {**ranked.best_params_, "icl": ranked.best_score_}
    assert [(f["n_components"], f["covariance_type"]) for f in fields["fits"]] == [
        (c.n_components, c.covariance_type) for c in expected.cells
    ]
    assert [f["bic"] for f in fields["fits"]] == list(expected.table["bic"])
    assert fields["n_failed"] == 0 and fields["written"] is None
    assert fields["data"]["n_samples"] == 272
    assert out.err == ""


def test_failed_fits_are_rows_of_the_table(folder, capsys):
    rows = np.vstack(
        [np.random.RandomState(0).standard_normal((50, 2)) * 3, np.tile([20.0, 20.0], (10, 1))]
    )
    np.savetxt(folder / "dup.csv", rows, delimiter=",")
    out = _run(capsys, "select", "dup.csv", "-k", "1-3", "--reg-covar", "0", "--random-state", "0")
    assert "failed: ComponentCollapseError" in out.out
    assert "failed:" in out.out.split("\n\n")[1]  # the summary counts them
    fields = json.loads(
        _run(
            capsys, "select", "dup.csv", "-k", "1-3", "--reg-covar", "0", "--random-state", "0",
            "--json",
        ).out
    )  # fmt: skip
    failed = [f for f in fields["fits"] if f["error"] is not None]
    assert fields["n_failed"] == len(failed) > 0
    assert all(f["bic"] is None for f in failed)


def test_columns_and_threads(folder, capsys, expected):
    one = _run(capsys, "select", "faithful.csv", *GRID, "--columns", "waiting", "--n-jobs", "1")
    two = _run(capsys, "select", "faithful.csv", *GRID, "--columns", "waiting", "--n-jobs", "2")
    assert one.out == two.out
    assert "272 samples x 1 features" in one.out


def test_component_range():
    assert component_range("1-9") == tuple(range(1, 10))
    assert component_range("2,3,5") == (2, 3, 5)
    assert component_range("1-3,6, 2") == (1, 2, 3, 6)
    for text in ("0-3", "3-1", "a", "1-", "", "1,,2"):
        with pytest.raises(argparse.ArgumentTypeError):
            component_range(text)


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["-k", "0-3"], ["-k", "1 <= low <= high"]),
        (["-k", "two"], ["-k", "1-9, 2,3,5 or 1-4,6"]),
        (["-k", "1-300"], ["-k 300", "272 rows", "up to 272"]),
        (["--covariance-type", "full,banded"], ["unknown covariance type 'banded'"]),
        (["--covariance-type", "full,full"], ["given twice"]),
        (["--criterion", "likelihood"], ["--criterion", "'likelihood'"]),
        (["--n-jobs", "0"], ["--n-jobs"]),
        (["-o", "missing/best"], ["cannot write model file", "does not exist"]),
        (["--plot", "fig.xyz"], ["cannot draw a .xyz file"]),
    ],
)
def test_bad_input_is_one_line(folder, capsys, argv, fragments):
    line = one_line_error(capsys, "select", "faithful.csv", *argv)
    for fragment in fragments:
        assert fragment in line, line


def test_existing_outputs_need_force(folder, capsys):
    (folder / "best.npz").write_bytes(b"keep")
    line = one_line_error(capsys, "select", "faithful.csv", "-k", "1-2", "-o", "best.npz")
    assert "exists" in line and "--force" in line
    assert (folder / "best.npz").read_bytes() == b"keep"
    _run(capsys, "select", "faithful.csv", "-k", "1-2", "-o", "best.npz", "--force")
    assert emkit.load(folder / "best.npz").n_components in (1, 2)


def test_a_missing_data_file(folder, capsys):
    line = one_line_error(capsys, "select", "nothing.csv")
    assert "nothing.csv" in line


def test_help_lists_select(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "select" in capsys.readouterr().out


@pytest.mark.slow
def test_select_in_a_subprocess(tmp_path, expected):
    shutil.copy(OLD_FAITHFUL, tmp_path / "faithful.csv")
    result = subprocess.run(
        [sys.executable, "-m", "emkit.cli", "select", "faithful.csv", *GRID, "-o", "best.npz"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:7] == expected.format_table().splitlines()[1:]
    best = emkit.load(tmp_path / "best.npz")
    np.testing.assert_array_equal(best.means_, expected.best_estimator_.means_)


def test_an_input_is_never_overwritten(folder, capsys):
    shutil.copy(folder / "faithful.csv", folder / "data.png")  # a CSV file with a figure's name
    before = (folder / "data.png").read_bytes()
    line = one_line_error(
        capsys, "select", "data.png", "-k", "1-2", "--plot", "data.png", "--force"
    )
    assert "--plot data.png is the data file" in line
    assert (folder / "data.png").read_bytes() == before


def test_when_every_fit_fails_the_error_is_one_line(folder, capsys):
    (folder / "const.csv").write_text("a,b\n1,2\n1,2\n1,2\n1,2\n")
    line = one_line_error(capsys, "select", "const.csv", "-k", "1", "--reg-covar", "0")
    assert "ComponentCollapseError" in line or "collapsed" in line
    (folder / "one.csv").write_text("a,b\n1,2\n")
    line = one_line_error(capsys, "select", "one.csv", "-k", "1-2")
    assert "one.csv has 1 row, and" in line
