"""The command line streams a .npy file that need not fit in memory (issue 5)."""

import tracemalloc

import numpy as np

import emkit
from emkit._cli_data import read_table
from emkit.cli import main


def write_npy(path, n_rows, n_features, seed=0):
    rng = np.random.default_rng(seed)
    data = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n_rows, n_features))
    for start in range(0, n_rows, 50_000):
        block = rng.normal(size=(min(50_000, n_rows - start), n_features))
        data[start : start + len(block)] = block + rng.integers(0, 2, (len(block), 1)) * 5.0
    data.flush()


def warm_up(tmp_path, options):
    """Fit the same kind of model to a small file first: the imports and compilations of a
    first run would otherwise count in the traced peak."""
    small = tmp_path / "small.npy"
    write_npy(small, 2000, 4, seed=1)
    output = tmp_path / "small.npz"
    assert main(["fit", str(small), *options, "--max-iter", "2", "-o", str(output), "-q"]) == 0


def fit_traced(arguments):
    """Run ``emkit fit ARGUMENTS -q``; return its status and the traced peak memory."""
    tracemalloc.start()
    status = main(["fit", *arguments, "-q"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return status, peak


def test_npy_is_memory_mapped_not_loaded(tmp_path):
    path = tmp_path / "big.npy"
    write_npy(path, 1000, 3)
    table = read_table(str(path))
    assert isinstance(table.X, np.memmap)


def test_fit_streams_a_large_npy_file(tmp_path, monkeypatch, capsys):
    # a small initialisation sample, so the peak measured is the streaming's
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 10_000)
    n_rows, n_features = 300_000, 4  # 9.6 MB on disk
    path = tmp_path / "big.npy"
    write_npy(path, n_rows, n_features)
    output = tmp_path / "model.npz"
    options = ["--model", "gmm", "-k", "2", "--covariance-type", "diag"]
    warm_up(tmp_path, options)
    arguments = [str(path), *options, "--max-iter", "5", "--random-state", "0"]
    status, peak = fit_traced([*arguments, "--output", str(output)])
    assert status == 0
    assert peak < 0.3 * n_rows * n_features * 8, f"peak {peak / 1e6:.1f} MB"
    model = emkit.load(output)
    assert model.n_features_in_ == n_features
    printed = capsys.readouterr().out
    expected_bic = -2 * model.log_likelihood_ + model._n_parameters() * np.log(n_rows)
    assert f"{expected_bic:.4f}" in printed


def test_hmm_and_state_space_fits_stream_a_large_npy_file(tmp_path, monkeypatch, capsys):
    # sequences are streamed in groups of whole sequences; the summary's BIC comes from
    # the fit's own log-likelihood, so the file is not read again
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 10_000)
    n_rows, n_features = 300_000, 4  # 9.6 MB on disk
    path = tmp_path / "big.npy"
    write_npy(path, n_rows, n_features)
    lengths = tmp_path / "lengths.txt"
    lengths.write_text("\n".join(["1000"] * 300) + "\n")
    runs = {
        "hmm": ["--model", "hmm", "--emission", "gaussian", "-k", "2"],
        "lgssm": ["--model", "lgssm", "--state-dim", "1"],
    }
    for name, options in runs.items():
        output = tmp_path / f"{name}.npz"
        warm_up(tmp_path, options)
        arguments = [str(path), *options, "--lengths", str(lengths), "--chunk-size", "5000"]
        arguments += ["--max-iter", "2"]
        status, peak = fit_traced([*arguments, "--random-state", "0", "--output", str(output)])
        assert status == 0
        assert peak < 0.3 * n_rows * n_features * 8, f"{name}: peak {peak / 1e6:.1f} MB"
        model = emkit.load(output)
        bic = -2 * model.log_likelihood_ + model._n_parameters() * np.log(n_rows)
        assert f"{bic:.4f}" in capsys.readouterr().out
