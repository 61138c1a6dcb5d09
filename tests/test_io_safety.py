"""Crafted model files cannot hurt: every bad variant of every estimator's file is one
ModelFileError that names the file; valid files load and predict identically; a save
that fails leaves the previous file; parameters that enter by assignment or ``*_init``
are checked as files are."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _model_files as corpus
import emkit
import emkit.estimators
from emkit.io import _FITTED_CHECKS, ModelFileError, _fitted_names

CASES = list(corpus._specs())
#: every crafted variant of these runs by default; of the others, in the slow run
FAST_CASES = {"GaussianMixture-full", "GaussianHMM-full", "KMeans", "LinearGaussianSSM-controls"}
CORPUS_CASES = [
    case if case in FAST_CASES else pytest.param(case, marks=pytest.mark.slow) for case in CASES
]
#: bad-looking variants that are valid files (and must load)
VALID_VARIANTS = {
    ("CategoricalHMM", "feature-names-wrong-length"),  # one feature: one name is right
    ("LinearGaussianSSM", "control_transition_matrix_-missing"),  # no controls: not needed
    ("LinearGaussianSSM", "control_observation_matrix_-missing"),
    # LDA's priors default to the hyperparameters', as when the topics are set by hand
    ("LatentDirichletAllocation", "doc_topic_prior_-missing"),
    ("LatentDirichletAllocation", "topic_word_prior_-missing"),
    # factor loadings may be zero or negative
    ("FactorAnalysis", "components_-zero"),
    ("FactorAnalysis", "components_-negative"),
    ("FactorAnalysis-isotropic", "components_-zero"),
    ("FactorAnalysis-isotropic", "components_-negative"),
    ("MixtureOfFactorAnalyzers", "components_-zero"),
    ("MixtureOfFactorAnalyzers", "components_-negative"),
}


@pytest.fixture(scope="module")
def models():
    return corpus.fitted_models()


@pytest.fixture(scope="module")
def files(models, tmp_path_factory):
    directory = tmp_path_factory.mktemp("models")
    return {
        case: emkit.save(model, directory / f"{case}.npz") for case, (model, _, _) in models.items()
    }


def test_the_corpus_covers_every_public_estimator(models):
    classes = {type(model).__name__ for model, _, _ in models.values()}
    assert classes == set(emkit.estimators.__all__)


@pytest.mark.parametrize("name", emkit.estimators.__all__)
def test_every_saved_attribute_is_checked_on_load(name):
    cls = getattr(emkit.estimators, name)
    parameters = {p.name for p in cls._parameter_attributes() if p.saved}
    assert _fitted_names(cls) - parameters <= _FITTED_CHECKS.keys()


@pytest.mark.parametrize("case", CASES)
def test_valid_files_load_and_predict_identically(models, files, case):
    model, X, keywords = models[case]
    loaded = emkit.load(files[case])
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    for a, b in zip(corpus.use(model, X, keywords), corpus.use(loaded, X, keywords), strict=True):
        for x, y in zip(*(v if isinstance(v, tuple) else (v,) for v in (a, b)), strict=True):
            np.testing.assert_array_equal(x, y)


def _outcome(path):
    """None when ``path`` loads, else the message of its ModelFileError."""
    try:
        emkit.load(path)
    except ModelFileError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_every_crafted_variant_is_one_clear_model_file_error(models, files, case):
    model, _, _ = models[case]
    problems = []
    for name, mutation in corpus.mutations(case, model).items():
        bad = corpus.write_variant(files[case], name, mutation)
        message = _outcome(bad)
        if (case, name) in VALID_VARIANTS:
            if message is not None:
                problems.append(f"{name}: a valid variant was refused: {message}")
        elif message is None:
            problems.append(f"{name}: loaded")
        elif str(bad) not in message or "\n" in message:
            problems.append(f"{name}: the message does not name the file on one line: {message}")
        elif "not supported between" in message or "Traceback" in message:
            problems.append(f"{name}: raw message: {message}")
    assert not problems, "\n".join(problems)


# the issue's cases, with what the message must say
ISSUE_TABLE = [
    ("GaussianHMM-diag", "three-states", r"fitted/startprob_.*shape \(2,\), got \(3,\)"),
    ("GaussianHMM-diag", "three-states-declared", r"fitted/means_.*shape \(3, 2\), got \(2, 2\)"),
    ("GaussianHMM-diag", "n_components-changed", r"must have shape \(3,\), got \(2,\)"),
    ("GaussianHMM-diag", "fitted-predict", r"unknown entry 'fitted/predict'"),
    ("KMeans", "fitted-params-from-attributes", r"unknown entry 'fitted/_params_from_attributes'"),
    ("GaussianMixture-full", "fitted-dict", r"unknown entry 'fitted/__dict__'"),
    ("GaussianMixture-full", "weights_-not-summing-to-one", r"weights_ must sum to 1"),
    ("GaussianHMM-full", "transmat_-not-summing-to-one", r"transmat_ must sum to 1 in every row"),
    ("GaussianHMM-full", "transmat_-negative", r"transmat_ must be non-negative"),
    ("PoissonHMM", "rates_-negative", r"rates_ must be non-negative"),
    ("CategoricalMixture", "emissionprob_-negative", r"emissionprob_ must be non-negative"),
    ("GaussianMixture-full", "means_-complex", r"means_ must hold real numbers.*complex"),
    ("GaussianMixture-diag", "means_-strings", r"means_ must hold real numbers.*string"),
    ("GaussianMixture-full", "covariances_-asymmetric", r"covariances_.*not symmetric"),
    ("LinearGaussianSSM", "observation_covariance_-asymmetric", r"not symmetric"),
    ("GaussianMixture-tied", "covariances_-not-positive-definite", r"positive definite"),
    ("GaussianMixture-full", "object-in-unknown-group", r"'junk/x' holds Python objects"),
    ("GaussianMixture-full", "object-in-fitted", r"never unpickled"),
    ("KMeans", "class-swapped", r"unknown entry 'fitted/labels_'.*GaussianHMM file"),
    ("GaussianHMM-diag", "class-swapped", r"GaussianMixture file"),
    ("KMeans", "class-load", r"unknown estimator class 'load'"),
    ("KMeans", "class-dunder", r"unknown estimator class '__class__'"),
    ("GaussianHMM-diag", "means_-missing", r"the entry fitted/means_ is missing"),
    ("GaussianMixture-full", "format-version-string", r"'format_version' must be a JSON integer"),
    ("GaussianMixture-full", "n-iter-string", r"n_iter_: must be an integer"),
    ("GaussianMixture-full", "n-features-float", r"n_features_in_: must be an integer"),
    ("GaussianMixture-full", "lower-bound-string", r"lower_bound_: must be a number"),
    ("GaussianMixture-full", "n_components-bool", r"'n_components' must be an integer"),
    ("GaussianMixture-full", "hyper-max-iter-string", r"'max_iter' parameter"),
    ("MultinomialHMM", "emissionprob_-not-summing-to-one", r"emissionprob_ must sum to 1"),
    ("BernoulliHMM", "emissionprob_-above-one", r"probabilities: every entry in \[0, 1\]"),
    ("LinearGaussianSSM", "transition_matrix_-extra-row", r"shape \(2, 2\), got \(3, 2\)"),
    ("LinearGaussianSSM", "learned-unknown", r"learned_: must be a list of parameter names"),
    ("LinearGaussianSSM-controls", "n-controls-changed", r"control_transition_matrix_"),
    ("CategoricalHMM", "n-symbols-changed", r"emissionprob_ must have shape"),
    ("KMeans", "labels-out-of-range", r"labels_: must hold cluster indices 0 \.\. 1"),
    ("GaussianMixture-full", "truncated-half", r"is not an emkit model file"),
    ("GaussianMixture-full", "structured-array", r"records"),
]


@pytest.mark.parametrize(("case", "mutation", "message"), ISSUE_TABLE)
def test_issue_cases(models, files, case, mutation, message):
    bad = corpus.write_variant(
        files[case], mutation, corpus.mutations(case, models[case][0])[mutation]
    )
    with pytest.raises(ModelFileError, match=message) as error:
        emkit.load(bad)
    assert str(error.value).startswith(str(bad))
    # no chained traceback
    assert error.value.__context__ is None or error.value.__suppress_context__


def test_a_huge_array_header_is_refused_before_reading(files, tmp_path):
    # a header claiming 10**12 entries, with 16 bytes of data: no allocation is tried
    metadata, arrays = corpus.read(files["GaussianMixture-full"])
    path = corpus.write(tmp_path / "huge.npz", metadata, arrays)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = members["fitted/weights_.npy"]
    members["fitted/weights_.npy"] = data.replace(b"(2,)", b"(1000000000000,)".ljust(4))
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match=r"fitted/weights_.*truncated or corrupt"):
        emkit.load(path)


# -- random mutations ----------------------------------------------------------------
_counter = itertools.count()
_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(0, 3), max_size=2),
)
_DTYPES = ["complex128", "U8", "bool", "int64", "float32", "int8"]


def _array_change(draw, array):
    kind = draw(st.sampled_from(["scale", "set", "dtype", "ravel", "transpose", "append", "cut"]))
    if kind == "scale":
        return array * draw(st.sampled_from([-1.0, 0.0, 0.5, 2.0, 1e300]))
    if kind == "set" and array.size:
        array = array.astype(float)
        index = draw(st.integers(0, array.size - 1))
        array.flat[index] = draw(st.floats(allow_nan=True, allow_infinity=True))
        return array
    if kind == "dtype":
        return array.astype(draw(st.sampled_from(_DTYPES)))
    if kind == "transpose":
        return array.T
    if kind == "append" and array.ndim:
        return np.concatenate([array, array[:1]])
    if kind == "cut" and array.ndim:
        return array[:-1]
    return np.ravel(array)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60)
@given(st.sampled_from(CASES), st.data())
def test_randomly_mutated_files_load_fully_or_fail_clearly(
    models, files, tmp_path_factory, case, data
):
    metadata, arrays = corpus.read(files[case])
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(["array", "fitted", "hyperparameters", "top", "rename"]))
        if target == "array":
            key = data.draw(st.sampled_from(sorted(arrays)))
            arrays[key] = _array_change(data.draw, arrays[key].copy())
        elif target == "rename":
            key = data.draw(st.sampled_from(sorted(arrays)))
            new = data.draw(st.sampled_from(["fitted/predict", "fitted/x_", "junk/a", "hyper/tol"]))
            arrays[new] = arrays.pop(key)
        elif target == "top":
            metadata[data.draw(st.sampled_from(sorted(metadata)))] = data.draw(_JSON)
        elif isinstance(metadata[target], dict):  # (not replaced by an earlier draw)
            section = metadata[target]
            name = data.draw(st.sampled_from(sorted(section) or ["x"]))
            section[name] = data.draw(_JSON)
    path = corpus.write(
        tmp_path_factory.mktemp("random") / f"{next(_counter)}.npz", metadata, arrays
    )
    _, X, keywords = models[case]
    try:
        loaded = emkit.load(path)
    except ModelFileError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    try:
        corpus.use(loaded, X, keywords)
    except ValueError as exc:  # a loaded model may refuse data, clearly (n_trials_)
        assert "Traceback" not in str(exc)


# -- atomic save ---------------------------------------------------------------------
def test_a_save_that_fails_part_way_leaves_the_previous_file(models, files, tmp_path):
    """A full disk, simulated with RLIMIT_FSIZE in a subprocess (SIGXFSZ ignored, so the
    write fails with EFBIG instead of killing the process)."""
    target = tmp_path / "model.npz"
    target.write_bytes(files["GaussianMixture-full"].read_bytes())
    before = target.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import numpy as np
        import emkit
        model = emkit.load({str(target)!r})
        padding = np.random.default_rng(0).bytes(300_000).hex()  # a large file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        try:
            emkit.save(model, {str(target)!r}, metadata={{"padding": padding}})
        except OSError as exc:
            print("failed:", exc.errno)
            sys.exit(0)
        sys.exit("the save did not fail")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "failed" in result.stdout
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    emkit.load(target).predict(models["GaussianMixture-full"][1])


def test_a_failed_save_leaves_no_temporary_and_no_target(models, tmp_path, monkeypatch):
    def failing(file, **arrays):
        Path(file).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", failing)
    with pytest.raises(OSError, match="No space left"):
        emkit.save(models["KMeans"][0], tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_save_replaces_the_previous_file(models, tmp_path):
    path = emkit.save(models["KMeans"][0], tmp_path / "m.npz")
    emkit.save(models["GaussianHMM-diag"][0], path)
    assert type(emkit.load(path)).__name__ == "GaussianHMM"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


# -- parameters entering by assignment and *_init --------------------------------------
def test_assignment_cannot_mix_sizes_after_a_hyperparameter_change(models, files):
    X = models["GaussianHMM-diag"][1]
    model = emkit.load(files["GaussianHMM-diag"])
    model.set_params(n_components=3)
    with pytest.raises(ValueError, match=r"cannot set startprob_: the transmat_ already set"):
        model.startprob_ = np.full(3, 1 / 3)
    np.testing.assert_array_equal(model.predict(X), models["GaussianHMM-diag"][0].predict(X))


def test_assignment_of_the_wrong_size_is_refused(files):
    model = emkit.load(files["GaussianHMM-diag"])
    with pytest.raises(ValueError, match=r"startprob_ must have shape \(2,\), got \(3,\)"):
        model.startprob_ = np.full(3, 1 / 3)


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (np.zeros((2, 2)) + 1j, "complex"),
        (np.array([["1", "2"], ["3", "4"]]), "string"),
        (np.ones((2, 2), dtype=bool), "boolean"),
    ],
)
def test_init_values_and_assignments_must_be_real_numbers(models, files, value, got):
    _, X, _ = models["GaussianHMM-diag"]
    with pytest.raises(ValueError, match=f"means_init must hold real numbers.*got {got}"):
        emkit.GaussianHMM(2, means_init=value).fit(X)
    model = emkit.load(files["GaussianHMM-diag"])
    with pytest.raises(ValueError, match=f"means_ must hold real numbers.*got {got}"):
        model.means_ = value


def test_a_file_with_an_invalid_init_hyperparameter_is_refused(files, tmp_path):
    metadata, arrays = corpus.read(files["GaussianHMM-diag"])
    del metadata["hyperparameters"]["means_init"]
    arrays["hyper/means_init"] = np.zeros((3, 2))
    path = corpus.write(tmp_path / "init.npz", metadata, arrays)
    with pytest.raises(ModelFileError, match=r"means_init must have shape \(2, 2\), got \(3, 2\)"):
        emkit.load(path)
    arrays["hyper/means_init"] = np.zeros((2, 2), dtype=complex)
    with pytest.raises(ModelFileError, match=r"hyper/means_init must hold real numbers"):
        emkit.load(corpus.write(tmp_path / "init2.npz", metadata, arrays))


def test_metadata_json_is_checked(files, tmp_path):
    _, arrays = corpus.read(files["KMeans"])
    path = corpus.write(tmp_path / "list.npz", json.dumps([1, 2]), arrays)
    with pytest.raises(ModelFileError, match="is not an emkit model file"):
        emkit.load(path)


def test_a_save_keeps_the_permissions_and_writes_through_a_symlink(models, tmp_path):
    real = emkit.save(models["KMeans"][0], tmp_path / "real.npz")
    real.chmod(0o640)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    emkit.save(models["GaussianHMM-diag"][0], link)
    assert link.is_symlink()
    assert type(emkit.load(real)).__name__ == "GaussianHMM"
    assert real.stat().st_mode & 0o777 == 0o640
    fresh = emkit.save(models["KMeans"][0], tmp_path / "fresh.npz")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("GaussianMixture-full", {"n_components": 3}),
        ("GaussianMixture-full", {"covariance_type": "spherical"}),
        ("GaussianHMM-diag", {"n_components": 3}),
        ("KMeans", {"n_clusters": 3}),
    ],
)
def test_a_save_that_could_not_load_back_is_refused_and_keeps_the_old_file(
    models, tmp_path, name, change
):
    # measured before: save wrote the file (over a good one) and load then refused it
    model = models[name][0]
    path = emkit.save(model, tmp_path / "m.npz")
    before = path.read_bytes()
    changed = copy.deepcopy(model).set_params(**change)
    with pytest.raises(ValueError, match=r"would not load back.*nothing was written"):
        emkit.save(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
