"""Safe model files: round trips with identical predictions, no pickle, clear errors."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import emkit
from conftest import make_blobs
from emkit import GaussianMixture, KMeans, load, save
from emkit._text import byte_size, one_line
from emkit.io import FORMAT_VERSION, ModelFileError, NpyHeaderError, read_metadata, read_npy_header


@pytest.fixture(scope="module")
def X():
    return make_blobs(0, n_per=40, n_features=3)


def assert_same_predictions(a, b, X):
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(b.predict_proba(X), a.predict_proba(X))
        np.testing.assert_array_equal(b.score_samples(X), a.score_samples(X))
        assert b.bic(X) == a.bic(X) and b.aic(X) == a.aic(X)
    else:
        np.testing.assert_array_equal(b.transform(X), a.transform(X))
        assert b.score(X) == a.score(X)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_round_trip(tmp_path, X, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    path = save(model, tmp_path / "model")
    assert path.name == "model.npz"
    loaded = load(path)
    assert type(loaded) is GaussianMixture
    assert loaded.get_params() == model.get_params()
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    for name in ("converged_", "n_iter_", "lower_bound_", "log_likelihood_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(model, name), name
    np.testing.assert_array_equal(loaded.lower_bounds_, model.lower_bounds_)
    for name, column in model.trace_.items():
        np.testing.assert_array_equal(loaded.trace_[name], column, err_msg=name)
    assert_same_predictions(model, loaded, X)
    X_a, y_a = model.sample(20)
    X_b, y_b = loaded.sample(20)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)


def test_file_loads_without_pickle_and_carries_json_metadata(tmp_path, X):
    path = save(GaussianMixture(2, random_state=0).fit(X), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            assert data[key].dtype != object, key
        metadata = json.loads(str(data["__emkit_metadata__"]))
    assert metadata["format"] == "emkit-model"
    assert metadata["format_version"] == FORMAT_VERSION
    assert metadata["class"] == "GaussianMixture"
    assert metadata["emkit_version"] == emkit.__version__
    assert metadata["hyperparameters"]["n_components"] == 2
    assert read_metadata(path) == metadata


def test_kmeans_round_trip(tmp_path, X):
    model = KMeans(3, random_state=0).fit(X)
    loaded = load(save(model, tmp_path / "km.npz"))
    assert type(loaded) is KMeans
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)
    np.testing.assert_array_equal(loaded.labels_, model.labels_)
    assert loaded.inertia_ == model.inertia_
    assert_same_predictions(model, loaded, X)


def test_map_configured_estimator_round_trip(tmp_path, X):
    model = GaussianMixture(
        3,
        covariance_type="diag",
        weight_prior=1.0,
        mean_prior=np.zeros(3),
        mean_prior_strength=0.5,
        covariance_prior=np.ones(3),
        covariance_prior_strength=2.0,
        means_init=X[[0, 50, 100]],
        random_state=0,
    ).fit(X)
    loaded = load(save(model, tmp_path / "map.npz"))
    np.testing.assert_array_equal(loaded.mean_prior, model.mean_prior)
    np.testing.assert_array_equal(loaded.covariance_prior, model.covariance_prior)
    np.testing.assert_array_equal(loaded.means_init, model.means_init)
    assert loaded.mean_prior_strength == 0.5 and loaded.weight_prior == 1.0
    assert_same_predictions(model, loaded, X)
    # refitting the loaded estimator gives the original fit (same prior from the data)
    refit = loaded.set_params(warm_start=False).fit(X)
    np.testing.assert_allclose(refit.means_, model.means_, rtol=1e-12)


def test_warm_start_continues_after_loading(tmp_path, X):
    kwargs = dict(n_components=3, init_params="random", random_state=2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = GaussianMixture(max_iter=8, **kwargs).fit(X)
        first = GaussianMixture(max_iter=3, warm_start=True, **kwargs).fit(X)
        resumed = load(save(first, tmp_path / "warm.npz"))
        resumed.set_params(max_iter=5).fit(X)
    np.testing.assert_allclose(resumed.lower_bounds_, straight.lower_bounds_[3:], rtol=1e-12)
    np.testing.assert_allclose(resumed.means_, straight.means_, rtol=1e-10)


def test_feature_names_survive(tmp_path, X):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(X, columns=["a", "b", "c"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    loaded = load(save(model, tmp_path / "named.npz"))
    np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"a": "z"}))


# -- errors ---------------------------------------------------------------------------
def test_unfitted_estimator_cannot_be_saved(tmp_path):
    with pytest.raises(
        ValueError,
        match="GaussianMixture is not fitted; call fit, or set all its parameters, before save",
    ):
        save(GaussianMixture(2), tmp_path / "x.npz")


def test_random_state_instance_cannot_be_saved(tmp_path, X):
    model = GaussianMixture(2, random_state=np.random.RandomState(0)).fit(X)
    with pytest.raises(ValueError, match=r"random_state=.*cannot be saved safely; use an int"):
        save(model, tmp_path / "rs.npz")
    assert not (tmp_path / "rs.npz").exists()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda p: p.mkdir(), ["is a folder, not a model file", "emkit.save"]),
        (lambda p: p.write_bytes(b""), ["is not an emkit model file (empty)", "emkit.save"]),
        (lambda p: p.write_text("1,2\n"), ["(not an .npz archive)", "emkit.save"]),
    ],
    ids=["folder", "empty", "text"],
)
def test_what_is_plainly_not_a_model_file_is_named(tmp_path, make, fragments):
    path = tmp_path / "m.npz"
    make(path)
    with pytest.raises(ModelFileError) as error:
        load(path)
    assert str(path) in str(error.value) and all(f in str(error.value) for f in fragments)


def test_npy_header_reader_checks_objects_and_size(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((4, 2)))
    data = (tmp_path / "a.npy").read_bytes()
    with open(tmp_path / "a.npy", "rb") as stream:
        assert read_npy_header(stream, len(data))[:2] == ((4, 2), np.dtype(float))
    for size, exact, reason in [(len(data) - 8, False, "size"), (len(data) + 8, True, "size")]:
        with pytest.raises(NpyHeaderError, match="bytes of data where its header") as error:
            read_npy_header(io.BytesIO(data), size, exact=exact)
        assert error.value.reason == reason
    np.save(tmp_path / "o.npy", np.array([None]), allow_pickle=True)
    with pytest.raises(NpyHeaderError, match="Python objects") as error:
        read_npy_header(io.BytesIO((tmp_path / "o.npy").read_bytes()), 999)
    assert error.value.reason == "objects"
    with pytest.raises(NpyHeaderError, match="header is missing or damaged"):
        read_npy_header(io.BytesIO(b"1,2\n3,4\n"), 8)


def test_message_text_helpers():
    assert byte_size(1536) == "1.5 KiB" and byte_size(2**50 * 3) == "3.0 PiB"
    assert byte_size(100) == "100 bytes"
    assert one_line("a\n  b\tc") == "a b c" and one_line("") == ""
    assert one_line(KeyError()) == "KeyError"


def test_a_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="is not an emkit model file"):
        load(path)


def test_a_corrupt_file_is_refused(tmp_path, X):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ModelFileError, match="is not an emkit model file"):
        load(garbage)
    # a real model file cut in half
    good = save(GaussianMixture(2, random_state=0).fit(X), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError):
        load(truncated)


def test_malformed_metadata_is_refused(tmp_path):
    path = tmp_path / "bad_meta.npz"
    np.savez(path, __emkit_metadata__=np.array("{not json"))
    with pytest.raises(ModelFileError, match="metadata"):
        load(path)


def test_an_object_array_is_refused_not_unpickled(tmp_path):
    metadata = {
        "format": "emkit-model",
        "format_version": 1,
        "class": "KMeans",
        "hyperparameters": {},
        "fitted": {},
    }
    path = tmp_path / "pickled.npz"
    np.savez(
        path,
        __emkit_metadata__=np.array(json.dumps(metadata)),
        **{"fitted/cluster_centers_": np.array([object()], dtype=object)},
    )
    with pytest.raises(ModelFileError):
        load(path)


def test_a_future_format_version_is_refused(tmp_path, X):
    path = save(GaussianMixture(2, random_state=0).fit(X), tmp_path / "m.npz")
    future = tmp_path / "future.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    metadata = json.loads(str(arrays["__emkit_metadata__"]))
    metadata["format_version"] = FORMAT_VERSION + 1
    arrays["__emkit_metadata__"] = np.array(json.dumps(metadata))
    np.savez(future, **arrays)
    with pytest.raises(ModelFileError, match=r"newer emkit.*upgrade emkit"):
        load(future)


def test_an_unknown_class_is_refused(tmp_path, X):
    path = save(KMeans(2, random_state=0).fit(X), tmp_path / "k.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    metadata = json.loads(str(arrays["__emkit_metadata__"]))
    metadata["class"] = "os.system"
    arrays["__emkit_metadata__"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"unknown estimator class 'os\.system'"):
        load(tmp_path / "evil.npz")


def test_zip_entries_are_plain_npy(tmp_path, X):
    path = save(KMeans(2, random_state=0).fit(X), tmp_path / "k.npz")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert all(name.endswith(".npy") for name in names)
    assert "__emkit_metadata__.npy" in names
