"""Standard errors of EM fits (emkit.estimators._inference) against an independent route.

The independent route: second differences of the log-likelihood that the estimator's
public ``score`` computes, with the parameters changed through their public attributes
(plain coordinates: a probability vector without its last entry, the lower triangle
of a covariance, every other entry), inverted, and carried to every entry by the delta
method. It shares nothing with the Fisher-identity computation but the estimator.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import emkit
from emkit.core.information import log_likelihood_hessian
from emkit.estimators._inference import (
    BoundaryWarning,
    InferenceWarning,
    Summary,
    fit_inference,
)


# -- the independent route ------------------------------------------------------------------
def _coordinates(name, value, kind):
    """[(flat indices, coefficients, scale)] of the plain free coordinates of a value."""
    out = []
    if kind == "simplex":
        last = value.shape[-1]
        for r, row in enumerate(value.reshape(-1, last)):
            positive = np.flatnonzero(row > 0)  # exact zeros stay zero
            dependent = positive[-1]
            for j in positive[:-1]:
                scale = min(row[j], row[dependent])
                idx = np.array([r * last + j, r * last + dependent])
                out.append((idx, np.array([1.0, -1.0]), scale))
    elif kind == "sym":
        D = value.shape[-1]
        for m, matrix in enumerate(value.reshape(-1, D, D)):
            for i in range(D):
                for j in range(i + 1):
                    idx = {m * D * D + i * D + j, m * D * D + j * D + i}
                    idx = np.array(sorted(idx))
                    out.append((idx, np.ones(idx.size), np.sqrt(matrix[i, i] * matrix[j, j])))
    elif kind in ("diagonal", "spherical"):  # of full matrices (a state-space model's)
        D = value.shape[-1]
        diagonal = np.arange(D) * (D + 1)
        if kind == "spherical":
            out.append((diagonal, np.ones(D), value[0, 0]))
        else:
            out.extend((diagonal[i : i + 1], np.ones(1), value[i, i]) for i in range(D))
    else:  # "free" (a step on the parameter's scale), "positive", "unit" (the entry's own)
        rms = float(np.sqrt(np.mean(value**2)))
        for i in range(value.size):
            v = abs(value.flat[i])
            scale = {"free": max(v, rms), "positive": v, "unit": min(v, 1 - v)}[kind]
            out.append((np.array([i]), np.array([1.0]), scale))
    return out


def hessian_standard_errors(estimator, loglik, spec, relative_step=1e-4):
    """Standard errors of the parameters in ``spec`` ({name: kind}) by the inverse of
    the negative Hessian of ``loglik(estimator)``, from second differences."""
    values = {name: np.array(getattr(estimator, name)) for name in spec}
    columns = [
        (name, idx, coef, scale)
        for name, kind in spec.items()
        for idx, coef, scale in _coordinates(name, values[name], kind)
    ]
    n = len(columns)
    steps = np.array([relative_step * c[3] for c in columns])

    def at(delta):
        model = copy.deepcopy(estimator)
        for name in spec:
            new = values[name].ravel().copy()
            for (col_name, idx, coef, _), d in zip(columns, delta, strict=True):
                if col_name == name:
                    new[idx] += coef * d
            setattr(model, name, new.reshape(values[name].shape))
        return loglik(model)

    centre = at(np.zeros(n))
    hessian = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = steps[i]
        hessian[i, i] = (at(e) - 2 * centre + at(-e)) / steps[i] ** 2
        for j in range(i):
            f = np.zeros(n)
            f[j] = steps[j]
            corners = at(e + f) - at(e - f) - at(f - e) + at(-e - f)
            hessian[i, j] = hessian[j, i] = corners / (4 * steps[i] * steps[j])
    covariance = np.linalg.inv(-hessian)
    errors = {}
    for name in spec:
        jac = np.zeros((values[name].size, n))
        for c, (col_name, idx, coef, _) in enumerate(columns):
            if col_name == name:
                jac[idx, c] = coef
        errors[name] = np.sqrt(np.einsum("ij,jk,ik->i", jac, covariance, jac)).reshape(
            values[name].shape
        )
    return errors


def assert_agree(errors, reference, rtol):
    assert set(errors) == set(reference)
    for name in reference:
        np.testing.assert_allclose(errors[name], reference[name], rtol=rtol, err_msg=name)


def mixture_loglik(X):
    return lambda model: float(model.score_samples(X).sum())


def sequence_loglik(X, lengths=None):
    return lambda model: float(model.score(X, lengths))


@pytest.fixture(scope="module")
def faithful():
    return emkit.datasets.load_old_faithful().data


GAUSSIAN_SPEC = {
    "full": "sym",
    "tied": "sym",
    "diag": "positive",
    "spherical": "positive",
}


# -- Gaussian mixtures ------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_agrees_with_the_hessian_of_the_log_likelihood(faithful, covariance_type):
    model = emkit.GaussianMixture(
        2, covariance_type=covariance_type, tol=1e-12, max_iter=5000, random_state=0
    ).fit(faithful)
    errors = model.standard_errors(faithful)
    spec = {"weights_": "simplex", "means_": "free", "covariances_": GAUSSIAN_SPEC[covariance_type]}
    reference = hessian_standard_errors(model, mixture_loglik(faithful), spec)
    assert_agree(errors, reference, rtol=2e-4)
    # both weights share one standard error (w_1 = 1 - w_0)
    assert errors["weights_"][0] == pytest.approx(errors["weights_"][1], rel=1e-9)
    for name in spec:
        assert errors[name].shape == getattr(model, name).shape


def test_the_generic_hessian_route_agrees_on_three_components(blobs):
    X = blobs(3, n_per=60)
    model = emkit.GaussianMixture(3, tol=1e-12, max_iter=5000, random_state=0).fit(X)
    inference = fit_inference(model, X)
    # the same free coordinates, second differences of the E-step's log-likelihood
    blocks_model = model.model_
    jac = inference.jacobian
    base = np.concatenate([np.ravel(v) for v in inference.estimates.values()])
    shapes = {k: v.shape for k, v in inference.estimates.items()}
    fields = {
        "weights_": "weights",
        "means_": "components.means",
        "covariances_": "components.covariances",
    }

    def make(u):
        natural, values, start = base + jac @ u, dict(model._parameter_values()), 0
        for name, shape in shapes.items():
            size = int(np.prod(shape))
            values[fields[name]] = natural[start : start + size].reshape(shape)
            start += size
        return model._assemble(values)[1]

    chunks = [emkit.models.MixtureChunk(X)]
    information = log_likelihood_hessian(blocks_model, chunks, make, jac.shape[1], step=1e-3)
    covariance = np.linalg.inv(information)
    direct = np.sqrt(np.einsum("ij,jk,ik->i", jac, covariance, jac))
    np.testing.assert_allclose(
        np.concatenate([v.ravel() for v in inference.standard_errors.values()]), direct, rtol=1e-3
    )


def test_learned_parameters_only(faithful):
    full = emkit.GaussianMixture(2, tol=1e-12, max_iter=5000, random_state=0).fit(faithful)
    means_only = emkit.GaussianMixture(
        2,
        learn=("means",),
        weights_init=full.weights_,
        precisions_init=full.precisions_,
        means_init=full.means_,
        tol=1e-12,
        random_state=0,
    ).fit(faithful)
    errors = means_only.standard_errors(faithful)
    assert set(errors) == {"means_"}
    reference = hessian_standard_errors(means_only, mixture_loglik(faithful), {"means_": "free"})
    assert_agree(errors, reference, rtol=2e-4)
    # fixing the other parameters can only shrink the uncertainty of the means
    assert np.all(errors["means_"] <= full.standard_errors(faithful)["means_"] * (1 + 1e-9))


def test_weighted_rows_count_as_repeated_rows(faithful):
    X = faithful[:60]
    weights = np.arange(60) % 3 + 1.0
    repeated = np.repeat(X, weights.astype(int), axis=0)
    a = emkit.GaussianMixture(2, tol=1e-12, max_iter=5000, random_state=0).fit(
        X, sample_weight=weights
    )
    errors = a.standard_errors(X, sample_weight=weights)
    b = copy.deepcopy(a)
    reference = b.standard_errors(repeated)
    assert_agree(errors, reference, rtol=1e-6)


# -- count mixtures ---------------------------------------------------------------------------
def _poisson_data():
    rng = np.random.RandomState(0)
    return np.vstack([rng.poisson([2.0, 9.0], (150, 2)), rng.poisson([8.0, 3.0], (100, 2))])


def _bernoulli_data():
    rng = np.random.RandomState(1)
    p = np.array([[0.9, 0.2, 0.7, 0.8, 0.1], [0.2, 0.8, 0.1, 0.3, 0.7]])
    return np.vstack([rng.binomial(1, p[0], (150, 5)), rng.binomial(1, p[1], (150, 5))])


def _categorical_data():
    rng = np.random.RandomState(2)
    a = rng.choice(3, size=(200, 3), p=[0.7, 0.2, 0.1])
    b = rng.choice(3, size=(200, 3), p=[0.1, 0.2, 0.7])
    return np.vstack([a, b])


def _multinomial_data():
    rng = np.random.RandomState(3)
    return np.vstack(
        [rng.multinomial(10, [0.5, 0.3, 0.2], 150), rng.multinomial(10, [0.1, 0.3, 0.6], 150)]
    )


@pytest.mark.parametrize(
    "make_model, data, spec",
    [
        (lambda: emkit.PoissonMixture(2), _poisson_data, {"rates_": "positive"}),
        (lambda: emkit.BernoulliMixture(2), _bernoulli_data, {"emissionprob_": "unit"}),
        (lambda: emkit.CategoricalMixture(2), _categorical_data, {"emissionprob_": "simplex"}),
        (lambda: emkit.MultinomialMixture(2), _multinomial_data, {"emissionprob_": "simplex"}),
    ],
    ids=["poisson", "bernoulli", "categorical", "multinomial"],
)
def test_count_mixtures_agree_with_the_hessian(make_model, data, spec):
    X = data()
    model = make_model().set_params(tol=1e-12, max_iter=5000, random_state=0).fit(X)
    errors = model.standard_errors(X)
    reference = hessian_standard_errors(model, mixture_loglik(X), {"weights_": "simplex", **spec})
    assert_agree(errors, reference, rtol=2e-4)


# -- hidden Markov models ---------------------------------------------------------------------
def test_poisson_hmm_on_the_earthquakes():
    counts = emkit.datasets.load_earthquakes().data[:, 1:]
    model = emkit.PoissonHMM(2, tol=1e-12, max_iter=5000, random_state=0).fit(counts)
    # the start probabilities converge to a vertex: one state starts the sequence
    start = model.startprob_
    assert start.min() < 1e-6
    with pytest.warns(BoundaryWarning, match="startprob_"):
        errors = model.standard_errors(counts)
    assert np.isnan(errors["startprob_"][np.argmin(start)])
    spec = {"transmat_": "simplex", "rates_": "positive"}
    reference = hessian_standard_errors(model, sequence_loglik(counts), spec)
    for name in spec:
        np.testing.assert_allclose(errors[name], reference[name], rtol=2e-4, err_msg=name)


def test_gaussian_hmm_with_several_sequences_and_a_forbidden_transition():
    transmat = np.array([[0.9, 0.1, 0.0], [0.0, 0.85, 0.15], [0.1, 0.0, 0.9]])
    truth = emkit.GaussianHMM(3, covariance_type="diag")
    truth.startprob_ = [0.5, 0.3, 0.2]
    truth.transmat_ = transmat
    truth.means_ = [[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]
    truth.covariances_ = [[1.0, 0.5], [0.8, 1.2], [0.6, 0.9]]
    parts = [truth.sample(150, random_state=s)[0] for s in range(4)]
    X, lengths = np.vstack(parts), [150] * 4
    model = emkit.GaussianHMM(
        3,
        covariance_type="diag",
        transmat_init=transmat,
        means_init=truth.means_,
        learn=("transmat", "means", "covariances"),
        startprob_init=[0.5, 0.3, 0.2],
        tol=1e-12,
        max_iter=5000,
        random_state=0,
    ).fit(X, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BoundaryWarning)  # exact zeros are structural
        errors = model.standard_errors(X, lengths)
    assert set(errors) == {"transmat_", "means_", "covariances_"}
    assert np.all(errors["transmat_"][transmat == 0] == 0)
    spec = {"transmat_": "simplex", "means_": "free", "covariances_": "positive"}
    reference = hessian_standard_errors(model, sequence_loglik(X, lengths), spec)
    assert_agree(errors, reference, rtol=5e-4)


def test_categorical_hmm_one_feature_form():
    rng = np.random.RandomState(5)
    truth = emkit.CategoricalHMM(2)
    truth.startprob_ = [0.6, 0.4]
    truth.transmat_ = [[0.8, 0.2], [0.3, 0.7]]
    truth.emissionprob_ = [[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]]
    X = truth.sample(400, random_state=rng)[0]
    model = emkit.CategoricalHMM(
        2,
        learn=("transmat", "emissionprob"),
        startprob_init=[0.6, 0.4],
        tol=1e-12,
        max_iter=5000,
        random_state=0,
    ).fit(X)
    errors = model.standard_errors(X)
    assert errors["emissionprob_"].shape == (2, 3)
    spec = {"transmat_": "simplex", "emissionprob_": "simplex"}
    reference = hessian_standard_errors(model, sequence_loglik(X), spec)
    assert_agree(errors, reference, rtol=2e-4)


def _two_regimes(make_rows):
    rng = np.random.RandomState(6)
    X = make_rows(rng, 0, 300)
    X[100:200] = make_rows(rng, 1, 100)
    return X


@pytest.mark.parametrize(
    "make_model, rows, spec",
    [
        (
            lambda: emkit.BernoulliHMM(2),
            lambda rng, k, n: rng.binomial(1, [0.3, 0.8][k], (n, 4)),
            {"emissionprob_": "unit"},
        ),
        (
            lambda: emkit.MultinomialHMM(2),
            lambda rng, k, n: rng.multinomial(8, [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]][k], n),
            {"emissionprob_": "simplex"},
        ),
        (
            lambda: emkit.GMMHMM(2, n_mix=2, covariance_type="diag"),
            lambda rng, k, n: np.where(
                rng.rand(n, 1) < 0.4,
                rng.normal([0, 5][k], 1, (n, 1)),
                rng.normal([-4, 9][k], 0.6, (n, 1)),
            ),
            {"weights_": "simplex", "means_": "free", "covariances_": "positive"},
        ),
    ],
    ids=["bernoulli", "multinomial", "gmm"],
)
def test_hmms_agree_with_the_hessian(make_model, rows, spec):
    X = _two_regimes(rows)
    model = make_model().set_params(tol=1e-12, max_iter=5000, random_state=0).fit(X)
    # one sequence: the start probabilities converge to a vertex (NaN, and the warning)
    with pytest.warns(BoundaryWarning, match="startprob_"):
        errors = model.standard_errors(X)
    assert np.all(np.isnan(errors.pop("startprob_")))
    spec = {"transmat_": "simplex", **spec}
    reference = hessian_standard_errors(model, sequence_loglik(X), spec)
    assert_agree(errors, reference, rtol=5e-4)


def test_gaussian_mixture_with_missing_values(faithful):
    X = faithful.copy()
    X[::7, 0] = np.nan
    model = emkit.GaussianMixture(2, tol=1e-12, max_iter=5000, random_state=0).fit(X)
    spec = {"weights_": "simplex", "means_": "free", "covariances_": "sym"}
    reference = hessian_standard_errors(model, mixture_loglik(X), spec)
    assert_agree(model.standard_errors(X), reference, rtol=2e-4)


# -- the Nile: statsmodels' standard errors ---------------------------------------------------
NILE_M0, NILE_P0 = 1120.0, 1e5


@pytest.fixture(scope="module")
def nile():
    flow = emkit.datasets.load_nile().data[:, 1:]
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        initial_state_mean_init=NILE_M0,
        initial_state_covariance_init=NILE_P0,
        learn=("transition_covariance", "observation_covariance"),
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(flow)
    return flow, model


def test_nile_agrees_with_statsmodels_approx_standard_errors(nile):
    sm = pytest.importorskip("statsmodels.api")
    flow, model = nile
    peer = sm.tsa.UnobservedComponents(flow[:, 0], level="local level")
    # the same likelihood: emkit's z_1 ~ N(m0, P0), and no observation left out
    peer.ssm.initialize_known(np.array([NILE_M0]), np.array([[NILE_P0]]))
    peer.ssm.loglikelihood_burn = 0
    params = [model.observation_covariance_[0, 0], model.transition_covariance_[0, 0]]
    result = peer.smooth(params, cov_type="approx")
    inference = fit_inference(model, flow)
    assert inference.log_likelihood == pytest.approx(result.llf, abs=1e-8)
    errors = inference.standard_errors
    assert set(errors) == {"transition_covariance_", "observation_covariance_"}
    np.testing.assert_allclose(
        [errors["observation_covariance_"][0, 0], errors["transition_covariance_"][0, 0]],
        result.bse,
        rtol=1e-5,
    )


def test_nile_with_an_exact_diffuse_start_agrees_with_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    if "initial_state" not in emkit.LinearGaussianSSM().get_params():
        pytest.skip("LinearGaussianSSM has no initial_state='diffuse' in this tree")
    flow = emkit.datasets.load_nile().data[:, 1:]
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        initial_state="diffuse",
        learn=("transition_covariance", "observation_covariance"),
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(flow)
    peer = sm.tsa.UnobservedComponents(flow[:, 0], level="local level", use_exact_diffuse=True)
    params = [model.observation_covariance_[0, 0], model.transition_covariance_[0, 0]]
    result = peer.smooth(params, cov_type="approx")
    inference = fit_inference(model, flow)
    assert inference.log_likelihood == pytest.approx(result.llf, abs=1e-8)
    errors = inference.standard_errors
    np.testing.assert_allclose(
        [errors["observation_covariance_"][0, 0], errors["transition_covariance_"][0, 0]],
        result.bse,
        rtol=1e-5,
    )


def test_nile_agrees_with_the_hessian(nile):
    flow, model = nile
    spec = {"transition_covariance_": "sym", "observation_covariance_": "sym"}
    reference = hessian_standard_errors(model, sequence_loglik(flow), spec, relative_step=1e-3)
    assert_agree(model.standard_errors(flow), reference, rtol=2e-4)


def test_state_space_model_with_a_learned_transition_and_initial_mean():
    rng = np.random.RandomState(0)
    z = np.zeros(300)
    for t in range(1, 300):
        z[t] = 0.8 * z[t - 1] + rng.normal()
    x = (z + rng.normal(0, 0.7, 300))[:, None]
    learn = ("transition_matrix", "transition_covariance", "observation_covariance")
    model = emkit.LinearGaussianSSM(
        1,
        observation_matrix_init=1.0,
        initial_state_covariance_init=1.0,
        learn=(*learn, "initial_state_mean"),
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(x)
    spec = {f"{name}_": "free" for name in (*learn, "initial_state_mean")}
    reference = hessian_standard_errors(model, sequence_loglik(x), spec, relative_step=1e-3)
    assert_agree(model.standard_errors(x), reference, rtol=2e-4)


def test_state_space_model_with_several_sequences_learning_the_first_state():
    rng = np.random.RandomState(3)
    levels = [np.cumsum(rng.normal(0, 0.5, 60)) + rng.normal(2, 1.0) for _ in range(30)]
    x = np.concatenate([level + rng.normal(0, 0.8, 60) for level in levels])[:, None]
    lengths = [60] * 30
    covariances = ("transition_covariance", "observation_covariance", "initial_state_covariance")
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=1.0,
        learn=(*covariances, "initial_state_mean"),
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(x, lengths)
    errors = model.standard_errors(x, lengths)
    spec = {**{f"{name}_": "sym" for name in covariances}, "initial_state_mean_": "free"}
    reference = hessian_standard_errors(
        model, sequence_loglik(x, lengths), spec, relative_step=1e-3
    )
    assert_agree(errors, reference, rtol=1e-5)


@pytest.mark.parametrize("kind", ["diag", "spherical"])
def test_state_space_model_with_structured_observation_noise(kind):
    rng = np.random.RandomState(1)
    z = np.cumsum(rng.normal(0, 0.5, 200))
    x = np.column_stack([z + rng.normal(0, 1.0, 200), 2 * z + rng.normal(0, 1.5, 200)])
    model = emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,
        observation_matrix_init=[[1.0], [2.0]],
        initial_state_mean_init=0.0,
        initial_state_covariance_init=1.0,
        observation_covariance_type=kind,
        learn=("transition_covariance", "observation_covariance"),
        tol=1e-12,
        max_iter=20000,
        random_state=0,
    ).fit(x)
    errors = model.standard_errors(x)
    assert errors["observation_covariance_"][0, 1] == 0  # not a parameter
    spec = {
        "transition_covariance_": "sym",
        "observation_covariance_": {"diag": "diagonal", "spherical": "spherical"}[kind],
    }
    reference = hessian_standard_errors(model, sequence_loglik(x), spec, relative_step=1e-3)
    assert_agree(errors, reference, rtol=2e-4)


def test_map_fit_has_the_curvature_of_the_log_posterior(faithful):
    model = emkit.GaussianMixture(
        2, weight_prior=5.0, mean_prior_strength=1.0, tol=1e-12, max_iter=5000, random_state=0
    ).fit(faithful)
    summary = str(model.summary(faithful))
    assert "log-posterior" in summary

    def log_posterior(m):
        return float(m.score_samples(faithful).sum()) + m.model_.log_prior(m.params_)

    spec = {"weights_": "simplex", "means_": "free", "covariances_": "sym"}
    reference = hessian_standard_errors(model, log_posterior, spec)
    assert_agree(model.standard_errors(faithful), reference, rtol=2e-4)


# -- intervals, summary, refusals ---------------------------------------------------------------
def test_confidence_intervals_and_summary(faithful):
    model = emkit.GaussianMixture(2, tol=1e-10, max_iter=5000, random_state=0).fit(faithful)
    errors = model.standard_errors(faithful)
    intervals = model.confidence_intervals(faithful, alpha=0.1)
    for name, se in errors.items():
        value = getattr(model, name)
        assert intervals[name].shape == (*value.shape, 2)
        np.testing.assert_allclose(intervals[name][..., 0], value - 1.6448536269514722 * se)
        np.testing.assert_allclose(intervals[name][..., 1], value + 1.6448536269514722 * se)
    summary = model.summary(faithful)
    assert isinstance(summary, Summary)
    text = str(summary)
    for piece in ("Log-likelihood:", "AIC:", "BIC:", "ICL:", "Iterations:", "Converged:", "[0.025"):
        assert piece in text
    assert f"{model.bic(faithful):.3f}" in text and f"{model.aic(faithful):.3f}" in text
    assert f"{model.icl(faithful):.3f}" in text
    labels = [row[0] for row in summary.rows]
    # symmetric matrices: the lower triangle only
    assert "covariances_[0, 1, 0]" in labels and "covariances_[0, 0, 1]" not in labels
    assert len(labels) == 2 + 4 + 6
    row = summary.rows[labels.index("means_[1, 1]")]
    assert row[3] == pytest.approx(row[1] / row[2])
    with pytest.raises(ValueError, match="alpha"):
        model.confidence_intervals(faithful, alpha=1.5)


def test_the_estimator_is_left_as_it_was(faithful):
    model = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    before = {k: copy.deepcopy(v) for k, v in model.__dict__.items()}
    model.summary(faithful)
    assert set(model.__dict__) == set(before)
    np.testing.assert_array_equal(model.means_, before["params_"].components.means)


@pytest.mark.filterwarnings("ignore::emkit.models.mixture.EmptyComponentWarning")
def test_boundary_weight_gives_nan_and_a_warning(faithful):
    model = emkit.GaussianMixture(
        2,
        learn=("weights", "means"),
        means_init=[[2.0, 54.0], [100.0, 300.0]],
        precisions_init=np.array([np.linalg.inv(np.cov(faithful.T)), np.eye(2)]),
        tol=1e-12,
        random_state=0,
    ).fit(faithful)
    assert model.weights_[1] < 1e-6
    # the empty component's mean is not informed by the data: no standard error either
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        errors = model.standard_errors(faithful)
    kinds = {type(w.message) for w in caught}
    assert kinds == {BoundaryWarning, InferenceWarning}
    # the other weight is one minus it: no standard error either
    assert "weights_ at [(0,), (1,)]" in str(
        next(w.message for w in caught if w.category is BoundaryWarning)
    )
    assert np.all(np.isnan(errors["weights_"])) and np.all(np.isnan(errors["means_"][1]))
    assert np.all(np.isfinite(errors["means_"][0]))


def test_not_at_a_maximum_warns(faithful):
    model = emkit.GaussianMixture(2, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(faithful)
    with pytest.warns(InferenceWarning, match="stationary"):
        model.standard_errors(faithful)


def test_refusals(faithful):
    with pytest.raises(ValueError, match="assignment"):
        emkit.GaussianMixture(2, assignment="hard", random_state=0).fit(faithful).standard_errors(
            faithful
        )
    with pytest.raises(NotImplementedError, match="StudentMixture"):
        emkit.StudentMixture(2, random_state=0, max_iter=5).fit(faithful).standard_errors(faithful)
    with pytest.raises(emkit.estimators._base.NotFittedError):
        emkit.GaussianMixture(2).standard_errors(faithful)


# -- the parametric bootstrap -----------------------------------------------------------------
@pytest.mark.slow
def test_parametric_bootstrap_on_a_small_mixture():
    rng = np.random.RandomState(0)
    truth = emkit.GaussianMixture(2, covariance_type="spherical")
    truth.weights_ = [0.4, 0.6]
    truth.means_ = [[0.0], [4.0]]
    truth.covariances_ = [1.0, 1.5]
    X = truth.sample(300, random_state=rng)[0]
    fit = emkit.GaussianMixture(
        2, covariance_type="spherical", tol=1e-10, max_iter=2000, random_state=0
    )
    model = copy.deepcopy(fit).fit(X)
    errors = model.standard_errors(X)
    order = np.argsort(model.means_[:, 0])
    draws = {name: [] for name in errors}
    for b in range(300):
        Xb = model.sample(300, random_state=1000 + b)[0]
        refit = (
            copy.deepcopy(fit)
            .set_params(weights_init=model.weights_, means_init=model.means_)
            .fit(Xb)
        )
        keep = np.argsort(refit.means_[:, 0])
        for name in errors:
            draws[name].append(np.asarray(getattr(refit, name))[keep])
    for name, se in errors.items():
        spread = np.std(np.array(draws[name]), axis=0, ddof=1)
        # 300 draws estimate a standard deviation to about 4%
        np.testing.assert_allclose(spread, se[order], rtol=0.15, err_msg=name)


class _WrongQ:
    """A model whose expected_log_joint is not its E-step's (a tenth too steep)."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def expected_log_joint(self, params, stats):
        return 1.1 * self._model.expected_log_joint(params, stats)


def test_a_model_whose_q_is_not_its_e_steps_is_flagged(faithful):
    model = emkit.GaussianMixture(2, tol=1e-10, random_state=0).fit(faithful)
    model.model_ = _WrongQ(model.model_)
    with pytest.warns(InferenceWarning, match="Fisher's identity does not hold"):
        model.standard_errors(faithful)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_covariance_at_the_reg_covar_floor(faithful, covariance_type):
    # six identical rows: their component's covariance is reg_covar * I
    X = np.vstack([faithful, np.tile([[10.0, 10.0]], (6, 1))])
    model = emkit.GaussianMixture(
        3,
        covariance_type=covariance_type,
        means_init=[[2, 54], [4.3, 80], [10, 10]],
        tol=1e-10,
        max_iter=2000,
        random_state=0,
    ).fit(X)
    with pytest.warns(BoundaryWarning, match=r"covariances_ at \[\(2, 0"):
        errors = model.standard_errors(X)
    assert np.all(np.isnan(errors["covariances_"][2]))
    assert np.all(np.isfinite(errors["covariances_"][:2]))
    # the collapsed component's mean, given its covariance: sqrt(reg_covar / 6)
    np.testing.assert_allclose(errors["means_"][2], np.sqrt(1e-6 / 6), rtol=1e-4)


def test_summary_of_diagonal_covariances_lists_every_variance(faithful):
    # (K, D) = (2, 2) is square, but holds variances, not a symmetric matrix
    model = emkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(faithful)
    labels = [row[0] for row in model.summary(faithful).rows]
    assert [label for label in labels if label.startswith("covariances_")] == [
        "covariances_[0, 0]",
        "covariances_[0, 1]",
        "covariances_[1, 0]",
        "covariances_[1, 1]",
    ]
