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
    tracemalloc.start()
    status = main(
        [
            "fit",
            str(path),
            "--model",
            "gmm",
            "-k",
            "2",
            "--covariance-type",
            "diag",
            "--max-iter",
            "5",
            "--random-state",
            "0",
            "--output",
            str(output),
            "-q",
        ]
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert status == 0
    assert peak < 0.3 * n_rows * n_features * 8, f"peak {peak / 1e6:.1f} MB"
    model = emkit.load(output)
    assert model.n_features_in_ == n_features
    printed = capsys.readouterr().out
    expected_bic = -2 * model.log_likelihood_ + model._n_parameters() * np.log(n_rows)
    assert f"{expected_bic:.4f}" in printed
