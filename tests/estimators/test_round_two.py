"""Issue 11, round two: fixes in the mixture and HMM models and the estimator shell that
the first round found outside its files (each test fails before its fix)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import emkit
from emkit.cli.app import main as cli_main
from emkit.families import PoissonFamily
from emkit.models import (
    EmptyComponentWarning,
    ImpossibleSequenceError,
    Mixture,
    MixtureStats,
)


def _two_poisson_groups():
    rng = np.random.RandomState(0)
    return np.r_[rng.poisson(1.0, (20, 1)), rng.poisson(8.0, (30, 1))].astype(float)


def test_tiny_sample_weights_leave_mixing_weights_unchanged():
    # the absolute floor once swamped counts of total 1e-298: weights_ became [0.5, 0.5]
    X = _two_poisson_groups()
    reference = emkit.PoissonMixture(2, random_state=0).fit(X, sample_weight=np.ones(50))
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyComponentWarning)  # no component is empty
        tiny = emkit.PoissonMixture(2, random_state=0).fit(X, sample_weight=np.full(50, 1e-300))
    np.testing.assert_allclose(tiny.weights_, reference.weights_, rtol=1e-9)
    np.testing.assert_allclose(tiny.rates_, reference.rates_, rtol=1e-9)


def test_tiny_sequence_weights_leave_no_hmm_state_empty():
    X = _two_poisson_groups()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyComponentWarning)
        emkit.PoissonHMM(2, random_state=0, max_iter=5).fit(X, sample_weight=[1e-300])


def test_empty_component_warning_is_family_neutral():
    X = np.zeros((6, 1))
    model = Mixture(PoissonFamily(), 2)
    stats = MixtureStats(
        np.array([6.0, 0.0]),
        model.family.statistics(X, np.c_[np.ones(6), np.zeros(6)], None),
    )
    with pytest.warns(EmptyComponentWarning) as caught:
        model.m_step(stats)
    message = str(caught[0].message)
    assert "component 1" in message and "Gaussian" not in message and "reg_covar" not in message


def test_impossible_sequence_names_the_count_priors():
    model = emkit.PoissonHMM(2)
    model.startprob_, model.transmat_ = np.full(2, 0.5), np.full((2, 2), 0.5)
    model.rates_ = np.zeros((2, 1))  # a count of 3 is impossible in every state
    with pytest.raises(ImpossibleSequenceError) as caught:
        model.predict(np.array([[3.0]]))
    message = str(caught.value)
    assert "emissionprob_prior > 0" in message and "rate_prior_strength > 0" in message


@pytest.mark.parametrize("method", ("predict", "predict_proba"))
def test_row_impossible_under_every_component_is_named(method):
    # MixtureEstimator's check, with the count mixtures' remedy: no NaN, no label 0
    model = emkit.PoissonMixture(2)
    model.weights_, model.rates_ = np.full(2, 0.5), np.zeros((2, 1))  # every rate is 0
    with pytest.raises(ValueError, match=r"row 1 of X has probability zero under every comp"):
        getattr(model, method)(np.array([[0.0], [3.0]]))
    with pytest.raises(ValueError, match=r"rate_prior_strength > 0"):
        getattr(model, method)(np.array([[3.0]]))


def test_predict_proba_still_holds_at_any_distance():
    model = emkit.GaussianMixture(2, random_state=0).fit(np.r_[np.zeros((5, 1)), np.ones((5, 1))])
    proba = model.predict_proba(np.array([[1e6], [-1e6]]))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_count_mixture_has_no_prediction_override():
    from emkit.estimators.count_mixtures import _CountMixture

    assert "predict_proba" not in vars(_CountMixture) and "predict" not in vars(_CountMixture)


def test_kmeans_centres_for_a_new_n_clusters_rebuild_the_model():
    X = np.random.RandomState(0).randn(30, 2)
    model = emkit.KMeans(2, random_state=0).fit(X)
    model.set_params(n_clusters=3)
    model.cluster_centers_ = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 10.0]])
    assert model.model_.n_components == 3
    assert model.params_.components.covariances.shape == (3,)
    assert model.params_.weights.shape == (3,)
    assert list(model.predict(np.array([[10.0, 9.0], [4.0, 6.0]]))) == [2, 1]


def test_mixture_parameters_for_a_new_n_components_rebuild_the_model():
    X = np.random.RandomState(0).poisson(3.0, (20, 1)).astype(float)
    model = emkit.PoissonMixture(2, random_state=0).fit(X)
    fresh = emkit.PoissonMixture(3)
    fresh.model_ = model.model_  # a stale model, as a fitted estimator keeps one
    fresh.weights_ = np.full(3, 1 / 3)
    fresh.rates_ = np.array([[1.0], [3.0], [9.0]])
    assert fresh.model_.n_components == 3
    assert fresh.sample(30, random_state=0)[1].max() <= 2


def test_hmm_parameters_for_a_new_n_components_rebuild_the_model():
    X = np.random.RandomState(0).poisson(3.0, (20, 1)).astype(float)
    model = emkit.PoissonHMM(2, random_state=0).fit(X)
    fresh = emkit.PoissonHMM(3)
    fresh.model_ = model.model_
    fresh.startprob_ = np.full(3, 1 / 3)
    fresh.transmat_ = np.full((3, 3), 1 / 3)
    fresh.rates_ = np.array([[1.0], [3.0], [9.0]])
    assert fresh.model_.n_components == 3
    assert fresh.predict(X).max() <= 2


@pytest.mark.parametrize("estimator_class", (emkit.CategoricalMixture, emkit.CategoricalHMM))
def test_one_feature_emissionprob_shape_is_reported_in_the_given_form(estimator_class):
    X = np.array([[0], [1], [2], [5]])
    with pytest.raises(ValueError, match=r"must have shape \(2, 6\), got \(2, 5\)"):
        estimator_class(2, emissionprob_init=np.full((2, 5), 0.2)).fit(X)
    model = estimator_class(2, random_state=0).fit(np.c_[X, X])
    with pytest.raises(ValueError, match=r"one-feature form .* 2 features: give shape \(2, 2, 6\)"):
        model.emissionprob_ = np.full((2, 6), 1 / 6)


def test_cli_alphabet_check_is_the_estimators(tmp_path, capsys):
    data = tmp_path / "symbols.csv"
    data.write_text("0,0\n1,100000000\n")
    code = cli_main(["fit", str(data), "--model", "hmm", "--emission", "categorical", "-k", "2"])
    err = capsys.readouterr().err
    assert code != 0
    # 2 features: twice the single-feature size (the estimator's count, 2 x 2 x 1e8 x 8 B)
    assert "alphabet is too large" in err and "2 feature(s)" in err and "3.0 GiB" in err
    assert "symbols.csv" in err and "Traceback" not in err
