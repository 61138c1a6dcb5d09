"""One copy of the state: the public parameter attributes are the parameters the model
computes with (issue 10, defect 1), and editing them is validated."""

from __future__ import annotations

import numpy as np
import pytest

import emkit
from emkit import (
    GMMHMM,
    BernoulliHMM,
    BernoulliMixture,
    CategoricalHMM,
    CategoricalMixture,
    GaussianHMM,
    GaussianMixture,
    KMeans,
    LinearGaussianSSM,
    MultinomialHMM,
    MultinomialMixture,
    PoissonHMM,
    PoissonMixture,
)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(0, 1, (90, 2)), rng.normal(4, 1.5, (30, 2))])


def _round_trip(model, tmp_path):
    return emkit.load(emkit.save(model, tmp_path / "model.npz"))


def test_edited_means_change_score_exactly_as_after_save_load(blobs, tmp_path):
    # the defect: score ignored the edit in memory, but the saved file used it
    model = GaussianMixture(2, random_state=0).fit(blobs)
    before = model.score(blobs)
    model.means_ = model.means_[::-1]
    edited = model.score(blobs)
    assert edited < before - 0.1
    assert _round_trip(model, tmp_path).score(blobs) == edited
    np.testing.assert_array_equal(model.params_.components.means, model.means_)


@pytest.mark.parametrize("attribute", ["means_", "covariances_", "weights_"])
def test_in_place_edits_are_refused(blobs, attribute):
    model = GaussianMixture(2, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match="read-only"):
        getattr(model, attribute)[0] = 0.5


def test_hmm_edits_change_score_and_the_saved_model(blobs, tmp_path):
    model = GaussianHMM(2, covariance_type="full", random_state=0).fit(blobs)
    before = model.score(blobs)
    model.transmat_ = np.array([[0.5, 0.5], [0.5, 0.5]])
    model.means_ = model.means_[::-1]
    edited = model.score(blobs)
    assert edited != before
    assert _round_trip(model, tmp_path).score(blobs) == edited
    np.testing.assert_array_equal(model.params_.transmat, [[0.5, 0.5], [0.5, 0.5]])


def test_state_space_edits_change_score_and_the_saved_model(tmp_path):
    flow = emkit.datasets.load_nile().data[:, 1:]
    model = LinearGaussianSSM(1, max_iter=5, tol=0).fit(flow - flow.mean())
    before = model.score(flow - flow.mean())
    model.observation_covariance_ = 4 * model.observation_covariance_
    edited = model.score(flow - flow.mean())
    assert edited != before
    assert _round_trip(model, tmp_path).score(flow - flow.mean()) == edited


def test_kmeans_centres_edit_moves_predictions(blobs):
    model = KMeans(2, random_state=0).fit(blobs)
    labels = model.predict(blobs)
    model.cluster_centers_ = model.cluster_centers_[::-1]
    np.testing.assert_array_equal(model.predict(blobs), 1 - labels)


@pytest.mark.parametrize(
    ("model", "attribute", "value", "message"),
    [
        (
            GaussianMixture(2),
            "means_",
            np.zeros((3, 2)),
            r"means_ must have shape \(2, n_features_in_\), got \(3, 2\)",
        ),
        (GaussianMixture(2), "weights_", [0.3, 0.3], "weights_ must sum to 1"),
        (
            GaussianMixture(2),
            "covariances_",
            np.stack([np.eye(2), -np.eye(2)]),
            "covariances_ of component 1 must be symmetric positive definite",
        ),
        (
            GaussianMixture(2, covariance_type="diag"),
            "covariances_",
            [[1.0, 1.0], [1.0, 0.0]],
            "covariances_ must be positive",
        ),
        (GaussianHMM(2), "transmat_", [[0.5, 0.4], [0.5, 0.5]], "transmat_ must sum to 1"),
        (GaussianHMM(2), "startprob_", [-0.5, 1.5], "startprob_ must be non-negative"),
        (GaussianHMM(2), "means_", [[np.nan, 0.0], [0.0, 0.0]], "means_ contains NaN"),
        (PoissonHMM(2), "rates_", [[-1.0], [1.0]], "rates_ must be non-negative"),
        (BernoulliHMM(2), "emissionprob_", [[1.5], [0.5]], r"emissionprob_ holds probabilities"),
        (
            LinearGaussianSSM(1),
            "transition_covariance_",
            [[-1.0]],
            "transition_covariance_ must be symmetric positive definite",
        ),
        (
            LinearGaussianSSM(2, transition_covariance_type="diag"),
            "transition_covariance_",
            [[1.0, 0.1], [0.1, 1.0]],
            "transition_covariance_ must be diagonal",
        ),
    ],
)
def test_invalid_values_are_refused_naming_the_attribute(model, attribute, value, message):
    with pytest.raises(ValueError, match=message):
        setattr(model, attribute, value)
    assert not hasattr(model, attribute)


def test_a_refused_edit_leaves_the_fitted_model_unchanged(blobs):
    model = GaussianMixture(2, random_state=0).fit(blobs)
    means, score = model.means_.copy(), model.score(blobs)
    with pytest.raises(ValueError, match="means_ must have shape"):
        model.means_ = np.zeros((2, 3))
    np.testing.assert_array_equal(model.means_, means)
    assert model.score(blobs) == score


def test_precisions_views_agree_and_set_the_covariances(blobs):
    model = GaussianMixture(2, random_state=0).fit(blobs)
    np.testing.assert_allclose(model.precisions_, np.linalg.inv(model.covariances_), rtol=1e-10)
    chol = model.precisions_cholesky_
    np.testing.assert_allclose(chol @ np.swapaxes(chol, 1, 2), model.precisions_, rtol=1e-10)
    other = GaussianMixture(2)
    other.weights_ = model.weights_
    other.means_ = model.means_
    other.precisions_cholesky_ = model.precisions_cholesky_  # scikit-learn users set this
    assert other.score(blobs) == pytest.approx(model.score(blobs), rel=1e-12)


@pytest.mark.parametrize(
    ("model", "X"),
    [
        (PoissonMixture(2, random_state=0), np.random.default_rng(1).poisson(3, (80, 2))),
        (CategoricalMixture(2, random_state=0), np.random.default_rng(1).integers(0, 3, (80, 2))),
        (
            MultinomialMixture(2, random_state=0),
            np.random.default_rng(1).multinomial(5, [0.2, 0.8], 80),
        ),
        (BernoulliMixture(2, random_state=0), np.random.default_rng(1).integers(0, 2, (80, 3))),
        (CategoricalHMM(2, random_state=0), np.random.default_rng(1).integers(0, 3, (80, 1))),
        (
            MultinomialHMM(2, random_state=0),
            np.random.default_rng(1).multinomial(5, [0.2, 0.8], 80),
        ),
        (GMMHMM(2, n_mix=2, random_state=0), np.random.default_rng(1).normal(size=(80, 2))),
    ],
)
def test_every_estimator_round_trips_exactly_what_is_in_memory(model, X, tmp_path):
    model.fit(X)
    loaded = _round_trip(model, tmp_path)
    for p in type(model)._parameter_attributes():
        np.testing.assert_array_equal(getattr(loaded, p.name), getattr(model, p.name))
    assert loaded.score(X) == model.score(X)
