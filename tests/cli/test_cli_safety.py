"""The command line never destroys data and never shows a traceback.

Outputs: never over an input (even with --force, through ./x, absolute paths, symlinks
and hard links, a memory-mapped .npy still being read, the model file, the lengths
file), never over an existing file without --force, and atomically (a failed write
keeps the old file and leaves no temporary). Errors: a table of hand-crafted bad inputs
for every subcommand, and a hypothesis strategy over CSV contents, each run in-process:
a non-zero exit, one ``emkit: error:`` line, no traceback, and no file changed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emkit.cli import main

# -- helpers --------------------------------------------------------------------------------


def run_main(argv) -> tuple[int, str]:
    """``emkit argv`` in-process: (exit status, standard output + standard error). An
    argparse error (SystemExit) is an exit status; any other exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue() + err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes (symlinks as their target's name)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            files[str(path)] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            files[str(path)] = path.read_bytes()
    return files


def assert_clean_error(argv, folder: Path, *fragments: str) -> str:
    """``emkit argv`` fails with one error line holding ``fragments`` and changes no file."""
    before = snapshot(folder)
    code, output = run_main(argv)
    assert code not in (0, None), output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines and lines[-1].startswith("emkit: error: "), output
    assert all(line.startswith("emkit: ") for line in lines), output
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    assert snapshot(folder) == before, "a failed command changed a file"
    return lines[-1]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A folder with data files and models fitted to them by ``emkit fit``: a Gaussian
    mixture (gmm.npz on data.csv / data.npy), an HMM with --lengths (hmm.npz), a
    categorical HMM (cat.npz) and a state-space model (ssm.npz)."""
    folder = tmp_path_factory.mktemp("safety")
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(6, 1, (30, 2))])
    np.savetxt(folder / "data.csv", X, delimiter=",", header="a,b", comments="")
    np.save(folder / "data.npy", X)
    (folder / "lengths.txt").write_text("20\n40\n")
    np.savetxt(folder / "symbols.csv", rng.integers(0, 3, (40, 1)), fmt="%d")
    np.savetxt(folder / "series.csv", np.cumsum(rng.standard_normal(40))[:, None])
    fits = {
        "gmm.npz": ["data.csv", "-k", "2"],
        "hmm.npz": ["data.csv", "--model", "hmm", "-k", "2", "--lengths", "lengths.txt"],
        "cat.npz": ["symbols.csv", "--model", "hmm", "--emission", "categorical", "-k", "2"],
        "ssm.npz": ["series.csv", "--model", "lgssm", "--state-dim", "1"],
    }
    with contextlib.chdir(folder):
        for name, argv in fits.items():
            argv = ["fit", *argv, "--max-iter", "5", "--random-state", "0", "-q", "-o", name]
            code, output = run_main(argv)
            assert code == 0, output
    return folder


@pytest.fixture
def work(made, tmp_path, monkeypatch):
    """A fresh copy of ``made`` as the working folder (relative paths resolve there)."""
    for path in made.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- outputs never overwrite an input ----------------------------------------------------------
OVER_AN_INPUT = {
    "predict over its data": ["predict", "gmm.npz", "data.csv", "-o", "data.csv"],
    "predict over ./data": ["predict", "gmm.npz", "data.csv", "-o", "./data.csv"],
    "predict over the model": ["predict", "gmm.npz", "data.csv", "-o", "gmm.npz"],
    "predict over a mapped .npy": ["predict", "gmm.npz", "data.npy", "-o", "data.npy"],
    "predict over its lengths": [
        "predict", "hmm.npz", "data.csv", "--lengths", "lengths.txt", "-o", "lengths.txt",
    ],
    "smooth over its data": ["smooth", "ssm.npz", "series.csv", "-o", "series.csv"],
    "sample over the model": ["sample", "gmm.npz", "-n", "5", "-o", "gmm.npz"],
    "sample over ./model": ["sample", "gmm.npz", "-n", "5", "-o", "./gmm.npz"],
}  # fmt: skip


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("argv", OVER_AN_INPUT.values(), ids=OVER_AN_INPUT.keys())
def test_an_output_never_overwrites_an_input_even_with_force(work, argv, force):
    argv = [*argv, "--force"] if force else argv
    assert_clean_error(argv, work, "of this command", "choose another path")


def test_an_absolute_path_a_symlink_or_a_hard_link_to_an_input_is_caught(work):
    (work / "link.csv").symlink_to(work / "data.csv")
    os.link(work / "data.npy", work / "hard.npy")
    for target in (work / "data.csv", "link.csv", "hard.npy", "sub/../data.csv"):
        (work / "sub").mkdir(exist_ok=True)
        data = "data.npy" if "hard" in str(target) else "data.csv"
        argv = ["predict", "gmm.npz", data, "-o", target, "--force"]
        assert_clean_error(argv, work, "is the data file of this command")


def test_fit_checks_the_model_file_it_writes_with_npz_appended(work):
    (work / "m").symlink_to(work / "data.csv")  # -o m writes m.npz: not the data, allowed
    code, output = run_main(["fit", "data.csv", "-k", "1", "-o", "m", "-q", "--max-iter", "2"])
    assert code == 0, output
    assert (work / "m.npz").exists() and (work / "m").is_symlink()


# -- an existing file needs --force -------------------------------------------------------------
EXISTING = {
    "predict": (["predict", "gmm.npz", "data.csv", "-o", "out.csv"], "output out.csv"),
    "predict .npy": (["predict", "gmm.npz", "data.csv", "-o", "out.npy"], "output out.npy"),
    "smooth": (["smooth", "ssm.npz", "series.csv", "-o", "out.csv"], "output out.csv"),
    "sample": (["sample", "gmm.npz", "-n", "4", "-o", "out.csv"], "output out.csv"),
    "fit -o": (["fit", "data.csv", "-k", "1", "-o", "out.npz", "-q"], "model file out.npz"),
    "fit -o without .npz": (
        ["fit", "data.csv", "-k", "1", "-o", "out", "-q"], "model file out.npz",
    ),
    "fit --plot": (["fit", "data.csv", "-k", "1", "--plot", "out.png", "-q"], "figure out.png"),
}  # fmt: skip


@pytest.mark.parametrize(("argv", "named"), EXISTING.values(), ids=EXISTING.keys())
def test_an_existing_file_is_overwritten_only_with_force(work, argv, named):
    target = work / named.split()[-1]
    target.write_bytes(b"precious\n")
    assert_clean_error(argv, work, named, "exists", "--force")
    code, output = run_main([*argv, "--force"])
    assert code == 0, output
    assert target.read_bytes() != b"precious\n"
    assert not [p for p in work.iterdir() if ".tmp" in p.name], "a temporary was left behind"


def test_force_writes_through_a_symlink_and_keeps_the_file_mode(work):
    (work / "real.csv").write_text("old\n")
    os.chmod(work / "real.csv", 0o640)
    (work / "alias.csv").symlink_to("real.csv")
    code, output = run_main(["sample", "gmm.npz", "-n", "3", "-o", "alias.csv", "--force"])
    assert code == 0, output
    assert (work / "alias.csv").is_symlink()
    assert len((work / "real.csv").read_text().splitlines()) == 3
    assert (os.stat(work / "real.csv").st_mode & 0o777) == 0o640


def test_a_new_output_gets_the_usual_permissions(work):
    umask = os.umask(0o022)
    try:
        assert run_main(["sample", "gmm.npz", "-n", "3", "-o", "new.csv"])[0] == 0
    finally:
        os.umask(umask)
    assert (os.stat(work / "new.csv").st_mode & 0o777) == 0o644


def test_demo_refuses_to_overwrite_its_figures_without_force(work):
    (work / "out").mkdir()
    (work / "out" / "loglik.png").write_bytes(b"precious")
    assert_clean_error(["demo", "--output", "out", "-q"], work, "out/loglik.png", "--force")


# -- atomic writes --------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_a_failed_write_keeps_the_old_file_and_no_temporary(work, monkeypatch, suffix):
    import emkit.cli.data

    def fill_the_disk(file, *args, **kwargs):
        with open(file, "w") as handle:
            handle.write("half a line")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(emkit.cli.data.np, "savetxt" if suffix == ".csv" else "save", fill_the_disk)
    target = work / f"labels{suffix}"
    target.write_bytes(b"the old labels\n")
    message = assert_clean_error(
        ["predict", "gmm.npz", "data.csv", "-o", target.name, "--force"], work
    )
    assert f"cannot write output labels{suffix}: No space left on device" in message
    assert "unchanged" in message


WRITES = {
    "sample": (["sample", "gmm.npz", "-n", "5000", "--random-state", "0"], "output"),
    "fit -o": (["fit", "data.csv", "-k", "2", "--max-iter", "2", "-q"], "model file"),
}


@pytest.mark.parametrize(("argv", "what"), WRITES.values(), ids=WRITES.keys())
def test_a_disk_full_write_keeps_the_old_file(work, argv, what):
    """A real failure: the file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stops the write."""
    resource = pytest.importorskip("resource")
    import signal

    name = "old.npz" if argv[0] == "fit" else "old.csv"
    (work / name).write_text("the old file\n")
    limit = 1024

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "emkit.cli", *argv, "-o", name, "--force"],
        cwd=work, capture_output=True, text=True, preexec_fn=limited, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"cannot write {what} {name}: File too large" in done.stderr
    assert (work / name).read_text() == "the old file\n"
    assert not [p for p in work.iterdir() if ".tmp" in p.name]


# -- clear errors: a table of bad inputs for every subcommand ------------------------------------
def _bad_files(folder: Path) -> None:
    """Write the hand-crafted bad files of :data:`BAD_INPUTS` into ``folder``."""
    (folder / "long_cell.csv").write_text('a,b\n1,2\n"' + "7" * 200_000 + '",3\n')
    (folder / "long_number.csv").write_text("1,2\n3," + "4" * 200_000 + "\n")
    (folder / "text.csv").write_text("a,b\n1,2\n3,hello\n")
    (folder / "complex.csv").write_text("1+2j,3\n4,5\n")
    (folder / "empty.csv").write_text("")
    (folder / "header_only.csv").write_text("a,b\n")
    (folder / "comments.csv").write_text("# nothing here\n\n")
    (folder / "binary.csv").write_bytes(b"\xff\xfe\x00\x01\x02")
    (folder / "nul.csv").write_bytes(b"1,2\n3,\x004\n")
    (folder / "ragged.csv").write_text("1,2\n3\n")
    np.save(folder / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    np.save(folder / "complex.npy", np.ones((3, 2), dtype=complex))
    np.save(folder / "strings.npy", np.array([["1", "x"]]))
    np.save(folder / "cube.npy", np.ones((2, 2, 2)))
    np.save(folder / "nothing.npy", np.ones((0, 2)))
    (folder / "empty.npy").write_bytes(b"")
    (folder / "truncated.npy").write_bytes((folder / "data.npy").read_bytes()[:200])
    (folder / "not.npy").write_text("1,2\n3,4\n")
    (folder / "huge_symbol.csv").write_text("0\n1\n100000000\n2\n")
    (folder / "huger_symbol.csv").write_text("0\n1\n1000000000000\n2\n")
    (folder / "counts.csv").write_text("a,b\n# a comment\n1,2\n3,2.5\n")
    np.save(folder / "counts.npy", np.array([[1.0, 2.0], [3.0, 2.5]]))
    (folder / "bad_lengths.txt").write_text("10\n")
    (folder / "a_folder").mkdir()
    (folder / "truncated.npz").write_bytes((folder / "gmm.npz").read_bytes()[:300])
    (folder / "empty.npz").write_bytes(b"")


BAD_INPUTS = {
    # (argv with DATA where the data file goes, fragments of the error line)
    "long CSV cell": (["fit", "long_cell.csv", "-k", "1"], ["long_cell.csv line 3", "longer"]),
    "number beyond float64": (["fit", "long_number.csv", "-k", "1"], ["line 2, column 2"]),
    "text in numbers": (["fit", "text.csv", "-k", "1"], ["line 3, column 2", "'hello'"]),
    "complex CSV": (["fit", "complex.csv", "-k", "1"], ["line 1, column 1", "'1+2j'"]),
    "empty CSV": (["fit", "empty.csv", "-k", "1"], ["empty.csv is empty"]),
    "header only": (["fit", "header_only.csv", "-k", "1"], ["no data rows"]),
    "comments only": (["fit", "comments.csv", "-k", "1"], ["comments.csv"]),
    "binary CSV": (["fit", "binary.csv", "-k", "1"], ["not a text file"]),
    "NUL in CSV": (["fit", "nul.csv", "-k", "1"], ["nul.csv line 2"]),
    "ragged CSV": (["fit", "ragged.csv", "-k", "1"], ["line 2 has 1 column"]),
    "object .npy": (["fit", "objects.npy", "-k", "1"], ["Python objects", "only numeric"]),
    "complex .npy": (["fit", "complex.npy", "-k", "1"], ["complex"]),
    "string .npy": (["fit", "strings.npy", "-k", "1"], ["numeric"]),
    "3-D .npy": (["fit", "cube.npy", "-k", "1"], ["shape (2, 2, 2)"]),
    "0-row .npy": (["fit", "nothing.npy", "-k", "1"], ["empty"]),
    "0-byte .npy": (["fit", "empty.npy", "-k", "1"], ["empty.npy is empty"]),
    "truncated .npy": (["fit", "truncated.npy", "-k", "1"], ["truncated", "shape (60, 2)"]),
    "text named .npy": (["fit", "not.npy", "-k", "1"], ["not.npy is not a .npy file"]),
    "model as data": (["fit", "gmm.npz", "-k", "1"], [".npz archive"]),
    "missing data": (["fit", "nowhere.csv", "-k", "1"], ["not found: nowhere.csv"]),
    "folder as data": (["fit", "a_folder", "-k", "1"], ["a_folder is a directory"]),
    "huge symbol 1e8": (
        ["fit", "huge_symbol.csv", "--model", "hmm", "--emission", "categorical", "-k", "2"],
        ["alphabet is too large", "100000001 symbols", "1.5 GiB", "recode"],
    ),
    "huge symbol 1e12": (
        ["fit", "huger_symbol.csv", "--model", "hmm", "--emission", "categorical", "-k", "2"],
        ["alphabet is too large", "14.6 TiB"],
    ),
    "huge --n-symbols": (
        ["fit", "symbols.csv", "--model", "hmm", "--emission", "categorical", "-k", "2",
         "--n-symbols", "1000000000000"],
        ["--n-symbols 1000000000000", "too large"],
    ),
    "symbol beyond a model's": (["predict", "cat.npz", "huger_symbol.csv"], ["1000000000000"]),
    "fractional count, CSV": (
        ["fit", "counts.csv", "--model", "hmm", "--emission", "poisson", "-k", "1"],
        ["counts.csv", "is counts.csv line 4, column 2 ('b')"],
    ),
    "fractional count, one column": (
        ["fit", "counts.csv", "--model", "hmm", "--emission", "poisson", "-k", "1",
         "--columns", "b"],
        ["is counts.csv line 4, column 2 ('b')"],
    ),
    "fractional count, .npy": (
        ["fit", "counts.npy", "--model", "hmm", "--emission", "poisson", "-k", "1"],
        ["is row 2, column 2 of counts.npy (counted from 1)"],
    ),
    "too few rows": (["fit", "counts.npy", "-k", "3"], ["counts.npy: X has 2 samples"]),
    "bad --columns index": (["fit", "data.csv", "-k", "1", "--columns", "7"], ["--columns 7"]),
    "bad --columns name": (["fit", "data.csv", "-k", "1", "--columns", "z"], ["no column 'z'"]),
    "empty --columns": (["fit", "data.csv", "-k", "1", "--columns", ","], ["--columns"]),
    "twice --columns": (["fit", "data.csv", "-k", "1", "--columns", "a,a"], ["twice"]),
    "bad lengths": (
        ["fit", "data.csv", "--model", "hmm", "-k", "1", "--lengths", "bad_lengths.txt"],
        ["sums to 10"],
    ),
    "object lengths": (
        ["fit", "data.csv", "--model", "hmm", "-k", "1", "--lengths", "objects.npy"],
        ["Python objects"],
    ),
    "missing lengths": (
        ["predict", "hmm.npz", "data.csv", "--lengths", "nowhere.txt"], ["nowhere.txt"],
    ),
    "bad figure type": (["fit", "data.csv", "-k", "1", "--plot", "f.xyz"], ["--plot f.xyz"]),
    "output folder missing": (
        ["predict", "gmm.npz", "data.csv", "-o", "no/where.csv"], ["does not exist"],
    ),
    "output is a folder": (["sample", "gmm.npz", "-n", "2", "-o", "a_folder"], ["a folder"]),
    "fit into a folder": (["fit", "data.csv", "-k", "1", "-o", "nope/m.npz"], ["nope"]),
    "truncated model": (["predict", "truncated.npz", "data.csv"], ["truncated.npz"]),
    "empty model": (["score", "empty.npz", "data.csv"], ["empty.npz", "empty"]),
    "CSV as model": (["info", "data.csv"], ["data.csv is not an emkit model file"]),
    "folder as model": (["sample", "a_folder", "-n", "2"], ["a_folder is a folder"]),
    "missing model": (["smooth", "nowhere.npz", "series.csv"], ["model file not found"]),
    "smooth a mixture": (["smooth", "gmm.npz", "data.csv"], ["state-space"]),
    "predict a state-space model": (["predict", "ssm.npz", "series.csv"], ["no labels"]),
    "score text": (["score", "gmm.npz", "text.csv"], ["'hello'"]),
    "score 1 column": (["score", "gmm.npz", "huge_symbol.csv"], ["column"]),
    "sample -n 1e12": (["sample", "gmm.npz", "-n", "1000000000000"], ["more than this machine"]),
    "sample -n 0": (["sample", "gmm.npz", "-n", "0"], ["--n-samples"]),
    "npy as model": (["sample", "truncated.npy", "-n", "2"], ["truncated.npy"]),
    "demo into a file": (["demo", "--output", "data.csv", "-q"], ["not a folder"]),
}  # fmt: skip


@pytest.mark.parametrize(("argv", "fragments"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_every_bad_input_is_one_clear_error_and_changes_nothing(work, argv, fragments):
    _bad_files(work)
    assert_clean_error(argv, work, *fragments)


def test_no_raw_library_message_in_the_errors_of_the_table(work):
    _bad_files(work)
    raw = ("pickle", "allow_pickle", "could not convert", "field limit", "Unable to allocate")
    for argv, _ in BAD_INPUTS.values():
        line = assert_clean_error(argv, work)
        assert not any(text in line for text in raw), line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_an_unreadable_file_is_named(work):
    os.chmod(work / "data.csv", 0)
    os.chmod(work / "gmm.npz", 0)
    assert_clean_error(["fit", "data.csv", "-k", "1"], work, "cannot read data file data.csv")
    assert_clean_error(["info", "gmm.npz"], work, "cannot read model file gmm.npz")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_read_error_is_named(work):
    """A file that exists but fails to read (/proc/self/mem: an I/O error at offset 0)."""
    mem = "/proc/self/mem"
    assert_clean_error(["fit", mem, "-k", "1"], work, f"cannot read data file {mem}")
    assert_clean_error(["info", mem], work, f"cannot read model file {mem}")
    argv = ["predict", "hmm.npz", "data.csv", "-o", "out.csv", "--lengths", mem]
    assert_clean_error(argv, work, f"cannot read lengths file {mem}")


def test_running_out_of_memory_is_one_line_with_the_size(work, monkeypatch):
    import emkit

    def exhausted(self, *args, **kwargs):
        raise MemoryError("Unable to allocate 3.00 TiB for an array with shape (10, 10)")

    monkeypatch.setattr(emkit.GaussianMixture, "predict", exhausted)
    line = assert_clean_error(["predict", "gmm.npz", "data.csv"], work, "out of memory")
    assert "an array of 3.00 TiB could not be allocated" in line and "shape" not in line


# -- a hypothesis strategy over CSV contents ----------------------------------------------------
_CELLS = st.one_of(
    st.sampled_from(["", "1", "-2.5", "1e400", "nan", "inf", "NA", "x", '"', "1,2", "0x1F"]),
    st.text(alphabet="0123456789.-+eE,;\t #\"'\x00é\r", max_size=8),
)
_CSV = st.lists(st.lists(_CELLS, min_size=0, max_size=4), min_size=0, max_size=6).map(
    lambda rows: "\n".join(",".join(row) for row in rows)
)


@settings(max_examples=60)
@given(text=_CSV, command=st.sampled_from(["fit", "predict", "score"]))
def test_any_csv_gives_a_result_or_one_clean_error(made, tmp_path_factory, text, command):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "model.npz").write_bytes((made / "gmm.npz").read_bytes())
    data = folder / "fuzz.csv"
    data.write_text(text, encoding="utf-8")
    argv = {
        "fit": ["fit", data, "-k", "1", "--max-iter", "3", "-q"],
        "predict": ["predict", folder / "model.npz", data],
        "score": ["score", folder / "model.npz", data],
    }[command]
    before = snapshot(folder)
    code, output = run_main(argv)
    assert "Traceback" not in output
    if code != 0:
        lines = output.strip().splitlines()
        assert lines[-1].startswith("emkit: error: "), output
    assert snapshot(folder) == before
