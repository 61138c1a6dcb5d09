"""Model files of the topic models: exact round trips (topics, priors, transform, score),
the vocabulary kept as user metadata, warm refits after loading, and tampered files
refused as for every estimator (the crafted-file corpus of ``_model_files``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import _model_files as corpus
import emkit
import test_io_safety as safety
from emkit.estimators.lda import LatentDirichletAllocation
from emkit.estimators.plsa import PLSA
from emkit.io import ModelFileError, read_metadata

#: the topic models' cases of the crafted-file corpus (in the slow run of test_io_safety)
TOPIC_CASES = ["LatentDirichletAllocation", "PLSA"]


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(2)
    topics = np.array([[0.3, 0.3, 0.2, 0.1, 0.05, 0.05], [0.05, 0.05, 0.1, 0.2, 0.3, 0.3]])
    rows = [rng.multinomial(25, topics[d % 2]) for d in range(40)]
    return sp.csr_matrix(np.vstack([*rows, np.zeros(6, dtype=int)]))


def fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few iterations: not converged is expected
        return estimator.fit(X)


def assert_same_topic_model(a, b, X) -> None:
    assert type(b) is type(a)
    for name in ("components_", "doc_topic_prior_", "topic_word_prior_"):
        if hasattr(a, name):  # LDA's priors are parameters, PLSA's hyperparameters
            np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    for name in ("n_iter_", "converged_", "lower_bound_", "n_features_in_"):
        assert getattr(b, name) == getattr(a, name), name
    np.testing.assert_array_equal(b.lower_bounds_, a.lower_bounds_)
    np.testing.assert_array_equal(b.transform(X), a.transform(X))
    assert b.score(X) == a.score(X) and b.perplexity(X) == a.perplexity(X)
    params_a, params_b = a.get_params(), b.get_params()
    assert params_a.keys() == params_b.keys()
    for name, value in params_a.items():
        np.testing.assert_array_equal(np.asarray(params_b[name]), np.asarray(value), name)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"learn": ("topics", "doc_topic_prior"), "doc_topic_prior": [0.2, 0.6]},
        {"learn": ("topics", "doc_topic_prior", "topic_word_prior"), "topic_word_prior": 0.3},
        {"learning_method": "online", "batch_size": 8},
    ],
    ids=["default", "asymmetric-alpha-learned", "priors-learned", "online"],
)
def test_lda_round_trip_is_exact(tmp_path, X, options):
    model = fit_quietly(LatentDirichletAllocation(2, max_iter=20, random_state=0, **options), X)
    loaded = emkit.load(emkit.save(model, tmp_path / "lda"))
    assert_same_topic_model(model, loaded, X)


@pytest.mark.parametrize(
    "options",
    [{}, {"tempering": 0.8, "doc_topic_prior": [1.5, 1.1], "topic_word_prior": 1.3}],
    ids=["default", "tempered-map"],
)
def test_plsa_round_trip_is_exact(tmp_path, X, options):
    model = fit_quietly(PLSA(2, max_iter=20, random_state=0, **options), X)
    loaded = emkit.load(emkit.save(model, tmp_path / "plsa"))
    assert_same_topic_model(model, loaded, X)


def test_hand_set_topics_are_saved_with_the_default_priors(tmp_path, X):
    model = LatentDirichletAllocation(2, doc_topic_prior=0.4)
    model.components_ = np.arange(1.0, 13.0).reshape(2, 6)
    loaded = emkit.load(emkit.save(model, tmp_path / "hand.npz"))
    np.testing.assert_array_equal(loaded.components_, model.components_)
    np.testing.assert_array_equal(loaded.doc_topic_prior_, [0.4, 0.4])
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_a_warm_refit_continues_after_loading(tmp_path, X):
    """Loading changes nothing a warm refit uses: it gives the refit of the fitted
    estimator itself, bit for bit."""
    kwargs = dict(n_components=2, random_state=3, tol=0.0, warm_start=True)
    first = fit_quietly(LatentDirichletAllocation(max_iter=3, **kwargs), X)
    resumed = emkit.load(emkit.save(first, tmp_path / "warm.npz"))
    fit_quietly(resumed.set_params(max_iter=5), X)
    fit_quietly(first.set_params(max_iter=5), X)
    assert_same_topic_model(first, resumed, X)


def test_the_vocabulary_is_kept_as_user_metadata(tmp_path, X):
    words = ["apple", "pear", "plum", "car", "bus", "van"]
    model = fit_quietly(LatentDirichletAllocation(2, random_state=0), X)
    path = emkit.save(model, tmp_path / "words.npz", metadata={"vocabulary": words})
    assert read_metadata(path)["user"] == {"vocabulary": words}
    assert_same_topic_model(model, emkit.load(path), X)


# -- tampered files ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models():
    return corpus.fitted_models(TOPIC_CASES)


@pytest.fixture(scope="module")
def files(models, tmp_path_factory):
    directory = tmp_path_factory.mktemp("topic-models")
    return {
        case: emkit.save(model, directory / f"{case}.npz") for case, (model, _, _) in models.items()
    }


@pytest.mark.parametrize("case", TOPIC_CASES)
def test_every_crafted_variant_of_a_topic_model_file_is_refused(models, files, case):
    """The crafted-file corpus on the topic models, in the default run."""
    safety.test_valid_files_load_and_predict_identically(models, files, case)
    safety.test_every_crafted_variant_is_one_clear_model_file_error(models, files, case)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (corpus._array("fitted/components_", lambda a: a * 0.5), "components_ must sum to 1"),
        (corpus._meta(lambda m: m["hyperparameters"].update({"tempering": 1.5})), "tempering"),
        (corpus._meta(lambda m: m["hyperparameters"].update({"doc_topic_prior": 0.5})),
         "doc_topic_prior must be at least 1"),
    ],
    ids=["topics-not-summing-to-one", "tempering", "prior-below-one"],
)  # fmt: skip
def test_what_a_tampered_plsa_file_says(files, tmp_path, mutation, message):
    good = files["PLSA"]
    bad = corpus.write(tmp_path / "bad.npz", *mutation(*corpus.read(good)))
    with pytest.raises(ModelFileError, match=message) as error:
        emkit.load(bad)
    assert str(bad) in str(error.value)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (corpus._array("fitted/components_", corpus._set_at(-1.0)), "components_ must be positive"),
        (corpus._array("fitted/doc_topic_prior_", corpus._set_at(0.0)),
         "doc_topic_prior_ must be positive"),
        (corpus._array("fitted/topic_word_prior_", lambda a: a[:-1]), r"topic_word_prior_.*\(5,\)"),
        (corpus._meta(lambda m: m["hyperparameters"].update({"n_components": True})),
         "hyperparameter 'n_components' must be an integer, got True"),
        (corpus._meta(lambda m: m["hyperparameters"].update({"learning_method": "gibbs"})),
         "learning_method"),
        (corpus._add("hyper/learn", np.array(["topics", "predict"])), "unknown parameter names"),
    ],
    ids=["negative-topic", "zero-alpha", "short-eta", "n-components-bool", "method", "learn"],
)  # fmt: skip
def test_what_a_tampered_lda_file_says(files, tmp_path, mutation, message):
    good = files["LatentDirichletAllocation"]
    bad = corpus.write(tmp_path / "bad.npz", *mutation(*corpus.read(good)))
    with pytest.raises(ModelFileError, match=message) as error:
        emkit.load(bad)
    assert str(bad) in str(error.value)
