"""The user metadata of :func:`emkit.io.save`, which ``emkit fit`` uses to keep the column
names of the data in the model file."""

import numpy as np
import pytest

import emkit
from emkit.io import load, read_metadata, save


def test_save_keeps_user_metadata_that_load_ignores(tmp_path):
    faithful = emkit.datasets.load_old_faithful().data
    model = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    path = save(model, tmp_path / "m.npz", metadata={"columns": ["a", "b"], "note": 1})
    assert read_metadata(path)["user"] == {"columns": ["a", "b"], "note": 1}
    np.testing.assert_array_equal(load(path).means_, model.means_)
    assert "user" not in read_metadata(save(model, tmp_path / "plain.npz"))
    with pytest.raises(ValueError, match="JSON-safe"):
        save(model, tmp_path / "bad.npz", metadata={"x": object()})
    with pytest.raises(ValueError, match="JSON-safe"):
        save(model, tmp_path / "bad.npz", metadata={"x": float("nan")})
    with pytest.raises(ValueError, match="must be a dict"):
        save(model, tmp_path / "bad.npz", metadata=["a"])
    assert not (tmp_path / "bad.npz").exists()


def test_the_command_line_opens_a_model_file_once(tmp_path, monkeypatch):
    from emkit.cli.inputs import load_model

    X = emkit.datasets.load_old_faithful().data
    path = save(emkit.GaussianMixture(2, random_state=0).fit(X), tmp_path / "m.npz")
    opened = []
    original = emkit.io._Archive.__init__

    def counting(self, file):
        opened.append(file)
        original(self, file)

    monkeypatch.setattr(emkit.io._Archive, "__init__", counting)
    model = load_model(str(path))
    assert opened == [str(path)] and model.metadata["class"] == "GaussianMixture"
