"""The one estimator shell: hyperparameters declared once, the peers' names answered
with emkit's (issue 10, defect 3), n_jobs as in scikit-learn (defect 4)."""

from __future__ import annotations

import inspect

import joblib
import numpy as np
import pytest
from sklearn.base import clone

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
from emkit.estimators._base import effective_n_jobs

EM_ESTIMATORS = [
    GMMHMM,
    BernoulliHMM,
    BernoulliMixture,
    CategoricalHMM,
    CategoricalMixture,
    GaussianHMM,
    GaussianMixture,
    LinearGaussianSSM,
    MultinomialHMM,
    MultinomialMixture,
    PoissonHMM,
    PoissonMixture,
]


@pytest.mark.parametrize("cls", [*EM_ESTIMATORS, KMeans])
def test_signature_lists_every_hyperparameter_with_its_default(cls):
    signature = inspect.signature(cls)
    estimator = cls()
    assert set(signature.parameters) == set(estimator.get_params())
    for name, parameter in signature.parameters.items():
        assert getattr(estimator, name) is parameter.default or (
            getattr(estimator, name) == parameter.default
        )
    assert set(cls._parameter_constraints) == set(signature.parameters)
    clone(estimator)


@pytest.mark.parametrize("cls", EM_ESTIMATORS)
def test_online_em_step_sizes_are_constructor_parameters(cls):
    estimator = cls(learning_decay=0.9, learning_offset=5.0)
    assert estimator.get_params()["learning_decay"] == 0.9
    assert estimator.get_params()["learning_offset"] == 5.0


def test_learn_names_what_a_gaussian_mixture_updates():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (80, 2)), rng.normal(4, 1, (20, 2))])
    means = np.array([[0.0, 0.0], [4.0, 4.0]])
    model = GaussianMixture(
        2, learn=("weights",), means_init=means, precisions_init=np.stack([np.eye(2)] * 2)
    ).fit(X)
    np.testing.assert_array_equal(model.means_, means)
    np.testing.assert_array_equal(model.covariances_, np.stack([np.eye(2)] * 2))
    assert model.weights_[0] == pytest.approx(0.8, abs=0.05)


def test_learn_names_what_a_count_mixture_updates():
    X = np.random.default_rng(0).poisson(3.0, (100, 2))
    rates = np.array([[1.0, 1.0], [5.0, 5.0]])
    model = PoissonMixture(2, learn=("weights",), rates_init=rates).fit(X)
    np.testing.assert_array_equal(model.rates_, rates)


@pytest.mark.parametrize(
    ("cls", "keyword", "message"),
    [
        (GaussianHMM, "n_iter", "hmmlearn's name; emkit's is max_iter"),
        (GaussianHMM, "params", "hmmlearn's name; emkit's is learn"),
        (GaussianHMM, "min_covar", "emkit's is reg_covar"),
        (CategoricalHMM, "n_features", "emkit's is n_symbols"),
        (
            LinearGaussianSSM,
            "transition_matrices",
            "pykalman's name; emkit's is transition_matrix_init",
        ),
        (LinearGaussianSSM, "transition_covariance", "emkit's is transition_covariance_init"),
        (LinearGaussianSSM, "em_vars", "emkit's is learn"),
        (LinearGaussianSSM, "n_dim_state", "emkit's is state_dim"),
        (KMeans, "algorithm", "emkit's KMeans runs Lloyd's algorithm"),
        (KMeans, "warm_start", "unexpected keyword argument 'warm_start'$"),
    ],
)
def test_peer_keywords_give_a_one_line_type_error_naming_emkits(cls, keyword, message):
    with pytest.raises(TypeError, match=message) as caught:
        cls(**{keyword: 1})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("model", "name", "message"),
    [
        (GaussianHMM(), "covars_", "emkit's is covariances_"),
        (GaussianHMM(), "monitor_", "converged_, n_iter_"),
        (PoissonHMM(), "lambdas_", "emkit's is rates_"),
        (LinearGaussianSSM(), "em", "fit"),
        (LinearGaussianSSM(), "loglikelihood", "score"),
    ],
)
def test_peer_attributes_give_an_attribute_error_naming_emkits(model, name, message):
    with pytest.raises(AttributeError, match=message):
        getattr(model, name)
    assert not hasattr(model, name)


def test_setting_a_peers_attribute_is_refused_not_ignored():
    model = GaussianHMM(2)
    with pytest.raises(AttributeError, match="covariances_"):
        model.covars_ = np.ones((2, 1))


def test_hmmlearn_letter_codes_for_init_params_are_explained():
    with pytest.raises(ValueError, match="hmmlearn's letter codes"):
        GaussianHMM(2, init_params="stmc").fit(np.zeros((10, 1)))


def test_n_jobs_follows_scikit_learn():
    cores = joblib.cpu_count()
    assert effective_n_jobs(-1) == cores
    assert effective_n_jobs(-2) == max(cores - 1, 1)
    assert effective_n_jobs(None) == cores  # emkit's default: every core
    assert effective_n_jobs(3) == 3
    with pytest.raises(ValueError, match="n_jobs=0"):
        effective_n_jobs(0)


@pytest.mark.parametrize("n_jobs", [-2, -1, 1, 2])
def test_fits_take_negative_n_jobs_and_do_not_depend_on_it(n_jobs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    reference = GaussianHMM(2, random_state=0, chunk_size=50, n_jobs=1, max_iter=5).fit(X, [50] * 8)
    model = GaussianHMM(2, random_state=0, chunk_size=50, n_jobs=n_jobs, max_iter=5).fit(
        X, [50] * 8
    )
    assert model.score(X) == reference.score(X)
    mixture = GaussianMixture(2, random_state=0, n_jobs=n_jobs, chunk_size=100).fit(X)
    assert mixture.score(X) == GaussianMixture(2, random_state=0, chunk_size=100).fit(X).score(X)
