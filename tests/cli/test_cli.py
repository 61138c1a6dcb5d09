"""The emkit command line, end to end in subprocesses, plus its data reader in-process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import emkit
from emkit.cli import MODEL_KINDS, main
from emkit.cli.data import DataError, read_table

OLD_FAITHFUL = resources.files("emkit.datasets").joinpath("old_faithful.csv")


def run_cli(*args, cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emkit.cli", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("emkit: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


@pytest.fixture(scope="module")
def faithful(tmp_path_factory):
    """A folder with the bundled Old Faithful CSV and a model fitted to it by `emkit fit`."""
    folder = tmp_path_factory.mktemp("faithful")
    shutil.copy(OLD_FAITHFUL, folder / "faithful.csv")
    result = run_cli(
        "fit", "faithful.csv", "--model", "gmm", "-k", "2", "--random-state", "0",
        "--output", "model.npz", "--plot", "fit.png", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, result


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 2.0], [0.0, 8.0, -2.0]])
    return np.concatenate([c + rng.standard_normal((25, 3)) for c in centres])


# -- round trips -----------------------------------------------------------------------------
def test_fit_prints_a_summary_and_writes_a_model_and_figure(faithful):
    folder, result = faithful
    assert "Traceback" not in result.stderr
    for label in ("converged:", "log-likelihood:", "BIC:", "written:"):
        assert label in result.stdout
    model = emkit.load(folder / "model.npz")
    X = emkit.datasets.load_old_faithful().data
    reference = emkit.GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    assert f"{reference.bic(X):.4f}" in result.stdout
    assert model.verbose == 0  # the progress bar is not a property of the saved model
    assert (folder / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_gives_one_label_per_row_matching_the_library(faithful):
    folder, _ = faithful
    result = run_cli("predict", "model.npz", "faithful.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    X = emkit.datasets.load_old_faithful().data
    labels = np.array([int(line) for line in result.stdout.splitlines()])
    assert labels.shape == (X.shape[0],)
    np.testing.assert_array_equal(labels, emkit.load(folder / "model.npz").predict(X))


def test_predict_proba_gives_one_csv_row_per_input_row(faithful):
    folder, _ = faithful
    result = run_cli("predict", "model.npz", "faithful.csv", "--proba", cwd=folder)
    assert result.returncode == 0, result.stderr
    proba = np.loadtxt(result.stdout.splitlines(), delimiter=",")
    X = emkit.datasets.load_old_faithful().data
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba, emkit.load(folder / "model.npz").predict_proba(X), atol=1e-9)


def test_score_reports_mean_and_total_log_likelihood(faithful):
    folder, _ = faithful
    result = run_cli("score", "model.npz", "faithful.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    values = dict(line.split(":", 1) for line in result.stdout.splitlines())
    X = emkit.datasets.load_old_faithful().data
    model = emkit.load(folder / "model.npz")
    assert float(values["mean log-likelihood per sample"]) == pytest.approx(model.score(X), 1e-9)
    assert float(values["total log-likelihood"]) == pytest.approx(model.score(X) * len(X), 1e-9)


def test_sample_writes_csv_rows_and_is_reproducible(faithful):
    folder, _ = faithful
    first = run_cli("sample", "model.npz", "-n", "40", "--random-state", "7", cwd=folder)
    assert first.returncode == 0, first.stderr
    rows = np.loadtxt(first.stdout.splitlines(), delimiter=",")
    assert rows.shape == (40, 2)
    model = emkit.load(folder / "model.npz")
    model.random_state = 7
    np.testing.assert_allclose(rows, model.sample(40)[0], rtol=1e-9)


def test_info_describes_the_model(faithful):
    folder, _ = faithful
    result = run_cli("info", "model.npz", cwd=folder)
    assert result.returncode == 0, result.stderr
    for text in ("GaussianMixture", "emkit 0.1.0", "hyperparameters", "covariance_type", "weight"):
        assert text in result.stdout
    model = emkit.load(folder / "model.npz")
    assert f"{model.weights_[0]:.4f}" in result.stdout


@pytest.mark.parametrize("form", ["header", "no-header", "npy"])
def test_fit_and_predict_on_synthetic_data_in_every_format(tmp_path, blobs, form):
    if form == "npy":
        np.save(tmp_path / "data.npy", blobs)
        data = "data.npy"
    else:
        header = "a,b,c\n" if form == "header" else ""
        rows = "\n".join(",".join(repr(float(v)) for v in row) for row in blobs)
        (tmp_path / "data.csv").write_text(header + rows + "\n")
        data = "data.csv"
    fit = run_cli("fit", data, "-k", "3", "--random-state", "0", "-o", "m.npz", "-q", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert fit.stderr == ""  # --quiet: no progress bar
    assert f"{data}: 75 samples x 3 features" in fit.stdout
    model = emkit.load(tmp_path / "m.npz")
    reference = emkit.GaussianMixture(3, random_state=0).fit(blobs)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-12)
    predicted = run_cli("predict", "m.npz", data, "--output", "labels.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    labels = np.loadtxt(tmp_path / "labels.csv", dtype=int)
    np.testing.assert_array_equal(labels, model.predict(blobs))


def test_sample_pipes_into_predict_through_stdin(faithful):
    folder, _ = faithful
    sample = run_cli("sample", "model.npz", "-n", "25", "--random-state", "1", cwd=folder)
    result = run_cli("predict", "model.npz", "-", cwd=folder, stdin=sample.stdout)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 25


def test_demo_writes_the_three_figures(tmp_path):
    from PIL import Image

    result = run_cli("demo", "--output", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for text in ("weight", "covariance", "log-likelihood", "BIC", "clusters.png", "em.gif"):
        assert text in result.stdout
    out = tmp_path / "out"
    for name in ("clusters.png", "loglik.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(out / name) as image:
            assert image.size[0] > 300
    with Image.open(out / "em.gif") as gif:
        assert gif.format == "GIF"
        assert gif.n_frames > 5
    assert (out / "em.gif").stat().st_size < 1.5e6


# -- errors: one line on stderr, non-zero exit, no traceback ------------------------------------
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, faithful):
    folder = tmp_path_factory.mktemp("bad")
    shutil.copy(faithful[0] / "model.npz", folder / "model.npz")
    (folder / "cells.csv").write_text("x,y\n1.0,2.0\n3.0,abc\n")
    (folder / "nan.csv").write_text("1.0,2.0\n3.0,4.0\nnan,5.0\n")
    np.save(folder / "inf.npy", np.array([[1.0, 2.0], [3.0, np.inf], [5.0, 6.0]]))
    (folder / "three.csv").write_text("1,2,3\n4,5,6\n")
    (folder / "garbage.npz").write_text("this is not a model\n")
    return folder


ERROR_CASES = {
    "missing data file": (["fit", "nowhere.csv", "-k", "2", "-o", "m.npz"], ["nowhere.csv"]),
    "non-numeric cell": (
        ["fit", "cells.csv", "-k", "2", "-o", "m.npz"],
        ["cells.csv line 3, column 2", "'abc'"],
    ),
    "NaN": (["fit", "nan.csv", "-k", "2", "-o", "m.npz"], ["nan.csv line 3", "NaN"]),
    "inf in npy": (["fit", "inf.npy", "-k", "2", "-o", "m.npz"], ["inf.npy row index 1", "inf"]),
    "wrong columns": (["predict", "model.npz", "three.csv"], ["expected 2", "got 3"]),
    "unreadable model": (["predict", "garbage.npz", "nan.csv"], ["garbage.npz"]),
    "missing model": (["score", "nomodel.npz", "nan.csv"], ["nomodel.npz"]),
    "bad n-components": (["fit", "nan.csv", "-k", "zero", "-o", "m.npz"], ["--n-components"]),
    "bad covariance type": (
        ["fit", "nan.csv", "-k", "2", "-o", "m.npz", "--covariance-type", "round"],
        ["--covariance-type"],
    ),
    "bad init": (["fit", "three.csv", "-k", "1", "-o", "m.npz", "--init", "magic"], ["init"]),
    "bad sample size": (["sample", "model.npz", "-n", "-3"], ["--n-samples"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_is_one_line_on_stderr(bad_files, case):
    args, fragments = ERROR_CASES[case]
    assert_one_line_error(run_cli(*args, cwd=bad_files), *fragments)


# -- in-process: options and data handling in detail -------------------------------------------
def test_kmeans_through_the_command_line(tmp_path, blobs, capsys):
    np.save(tmp_path / "d.npy", blobs)
    model_path = tmp_path / "k.npz"
    code = main(
        ["fit", str(tmp_path / "d.npy"), "--model", "kmeans", "-k", "3", "--random-state", "0",
         "-o", str(model_path), "-q", "--plot", str(tmp_path / "k.png")]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "inertia:" in out.out
    model = emkit.load(model_path)
    assert isinstance(model, emkit.KMeans)
    assert main(["predict", str(model_path), str(tmp_path / "d.npy")]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    np.testing.assert_array_equal(labels, model.predict(blobs))
    assert main(["predict", str(model_path), str(tmp_path / "d.npy"), "--proba"]) == 1
    assert "--proba is not available for KMeans" in capsys.readouterr().err
    assert main(["sample", str(model_path), "-n", "3"]) == 1
    assert "cannot generate samples" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "d.npy"), "--model", "kmeans", "-k", "2", "-o",
                 str(model_path), "--covariance-type", "full"]) == 1  # fmt: skip
    assert "--covariance-type does not apply to --model kmeans" in capsys.readouterr().err


def test_predict_to_npy_and_warnings_as_one_line(tmp_path, blobs, capsys):
    np.save(tmp_path / "d.npy", blobs)
    model_path = str(tmp_path / "g.npz")
    args = ["fit", str(tmp_path / "d.npy"), "-k", "3", "--max-iter", "1", "-o", model_path, "-q"]
    assert main([*args, "--init", "random", "--random-state", "0", "--tol", "0"]) == 0
    out = capsys.readouterr()
    assert "converged:      no" in out.out
    assert out.err.startswith("emkit: warning: EM did not converge")
    assert len(out.err.splitlines()) == 1
    target = tmp_path / "proba.npy"
    assert main(["predict", model_path, str(tmp_path / "d.npy"), "--proba", "-o", str(target)]) == 0
    proba = np.load(target)
    np.testing.assert_allclose(proba, emkit.load(model_path).predict_proba(blobs))


def test_model_kinds_share_the_fit_options():
    assert {"gmm", "kmeans"} <= set(MODEL_KINDS)
    for kind in MODEL_KINDS.values():
        assert callable(kind.build)


def test_one_dimensional_data_is_fitted_and_plotted(tmp_path, capsys):
    x = np.concatenate([np.linspace(0, 1, 30), np.linspace(5, 6, 30)])
    (tmp_path / "x.csv").write_text("value\n" + "\n".join(map(str, x)) + "\n")
    code = main(["fit", str(tmp_path / "x.csv"), "-k", "2", "-o", str(tmp_path / "m.npz"),
                 "--plot", str(tmp_path / "m.png"), "-q", "--random-state", "0"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "m.png").stat().st_size > 1000


# -- the data reader ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, columns",
    [
        ("1,2\n3,4\n", None),
        ("x,y\n1,2\n3,4\n", ("x", "y")),
        ('"x","y"\n"1","2"\n3,4\n', ("x", "y")),
        ("x;y\n1;2\n3;4\n", ("x", "y")),
        ("1\t2\n3\t4\n", None),
        ("# comment\n\n  1  2\n3 4\n\n", None),
        ("\ufeffx,y\r\n1,2\r\n3,4\r\n", ("x", "y")),
    ],
)
def test_csv_dialects_and_header_detection(tmp_path, text, columns):
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    table = read_table(str(tmp_path / "d.csv"))
    np.testing.assert_array_equal(table.X, [[1.0, 2.0], [3.0, 4.0]])
    assert table.columns == columns


def test_one_column_files_and_npy_vectors(tmp_path):
    (tmp_path / "a.csv").write_text("1.5\n-2\n1e3\n")
    assert read_table(str(tmp_path / "a.csv")).X.shape == (3, 1)
    np.save(tmp_path / "v.npy", np.arange(4))
    table = read_table(str(tmp_path / "v.npy"))
    assert table.X.shape == (4, 1) and table.X.dtype == np.float64


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("ragged.csv", "1,2\n3\n", "line 2 has 1 column but line 1 has 2 columns"),
        ("empty-cell.csv", "a,b\n1,\n", "line 2, column 2 ('b'): an empty cell is not a number"),
        ("header-only.csv", "a,b\n", "has a header but no data rows"),
        ("empty.csv", "\n\n", "no data rows"),
        ("inf.csv", "1,2\n-inf,3\n", "line 2, column 1: -inf is not a finite number"),
        ("binary.csv", b"\xff\xfe\x00\x01", "not a text file"),
    ],
)
def test_bad_text_files_are_named_precisely(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(DataError) as info:
        read_table(str(path))
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((2, 2, 2)), "expected a 1-D or 2-D array"),
        (np.array(["a", "b"]), "expected a numeric array"),
        (np.zeros((0, 3)), "is empty"),
        (np.array([[1.0, np.nan]]), "row index 0 (0-based), column index 1: NaN"),
    ],
)
def test_bad_npy_files(tmp_path, array, message):
    np.save(tmp_path / "a.npy", array)
    with pytest.raises(DataError) as info:
        read_table(str(tmp_path / "a.npy"))
    assert message in str(info.value)


def test_the_reader_parses_only_the_selected_columns(tmp_path):
    (tmp_path / "d.csv").write_text("name,x,y\nfirst,1,2\nsecond,3,4\n")
    table = read_table(str(tmp_path / "d.csv"), select=lambda header, n, source: [2, 1])
    np.testing.assert_array_equal(table.X, [[2.0, 1.0], [4.0, 3.0]])
    assert table.columns == ("y", "x")
    (tmp_path / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    with pytest.raises(ValueError, match="line 3 has 4 columns but the header has 3"):
        read_table(str(tmp_path / "ragged.csv"), select=lambda header, n, source: [0])


def test_object_npy_and_directories_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="Python objects"):
        read_table(str(tmp_path / "o.npy"))
    with pytest.raises(DataError, match="is a directory"):
        read_table(str(tmp_path))
