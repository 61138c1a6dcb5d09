"""The HMM model on the engine protocol: additive statistics, monotone EM for every
emission family, structural zeros, empty states, clamped (known) states, weights."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from emkit.core import allclose, fit_em, replace
from emkit.families import (
    BernoulliFamily,
    CategoricalFamily,
    GaussianFamily,
    GaussianMixtureEmission,
    GaussianMixtureStats,
    GaussianParams,
    MultinomialFamily,
    PoissonFamily,
)
from emkit.models import HMM, EmptyStateWarning, HMMChunk, HMMParams, ImpossibleSequenceError
from emkit.models._sequences import sequence_offsets


def sticky_states(rng, n, K, stay=0.9):
    z = np.empty(n, dtype=int)
    z[0] = rng.randint(K)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.uniform() < stay else rng.randint(K)
    return z


def family_data(name, rng, n=240, K=3):
    """(family, X) with three well-separated hidden regimes."""
    z = sticky_states(rng, n, K)
    if name.startswith("gaussian"):
        X = np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 4.0]])[z] + rng.standard_normal((n, 2))
        if name == "gaussian-mixture":
            return GaussianMixtureEmission(2, "diag"), X
        return GaussianFamily(name.split("-")[1]), X
    if name == "poisson":
        return PoissonFamily(), rng.poisson(np.array([[1.0, 5.0], [6.0, 1.0], [12.0, 12.0]])[z])
    if name == "categorical":
        probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
        X = np.array([[rng.choice(4, p=probs[k]), rng.choice(4, p=probs[k])] for k in z])
        return CategoricalFamily(4), X
    if name == "multinomial":
        probs = np.array([[0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]])
        return MultinomialFamily(), np.array([rng.multinomial(8, probs[k]) for k in z])
    if name == "bernoulli":
        probs = np.array([[0.9, 0.1, 0.1, 0.5], [0.1, 0.9, 0.1, 0.5], [0.1, 0.1, 0.9, 0.5]])
        return BernoulliFamily(), (rng.uniform(size=(n, 4)) < probs[z]).astype(float)
    raise ValueError(name)


FAMILIES = [
    "gaussian-full",
    "gaussian-tied",
    "gaussian-diag",
    "gaussian-spherical",
    "gaussian-mixture",
    "poisson",
    "categorical",
    "multinomial",
    "bernoulli",
]


def chunk(X, lengths=None, **kwargs):
    return HMMChunk(X, sequence_offsets(lengths, X.shape[0]), **kwargs)


@pytest.mark.parametrize("name", FAMILIES)
def test_log_likelihood_never_decreases_and_trace_is_consistent(name):
    rng = np.random.RandomState(7)
    family, X = family_data(name, rng)
    X = family.check_data(X)
    model = HMM(family, 3, init="random", transmat_prior=0.5)
    # pytest turns LikelihoodDecreaseWarning into an error (pyproject.toml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        warnings.simplefilter("error", category=RuntimeWarning)
        result = fit_em(
            model,
            [chunk(X, [100, 60, 80])],
            n_samples=X.shape[0],
            max_iter=40,
            tol=0.0,
            random_state=0,
            warn_not_converged=False,
        )
    trace = {
        f: np.array([getattr(r, f) for r in result.trace])
        for f in result.trace[0].__dataclass_fields__
    }
    objective = trace["log_likelihood"] + trace["log_prior"]
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[1:]))
    # EM's identities: log p(x | θ_{t+1}) = ELBO_t + KL_t with KL >= 0, entropy >= 0
    np.testing.assert_allclose(
        trace["log_likelihood"][1:], (trace["lower_bound"] + trace["kl"])[:-1], rtol=1e-9
    )
    assert np.all(trace["kl"] >= -1e-7 * np.abs(trace["log_likelihood"]))
    assert np.all(trace["entropy"] >= -1e-7 * np.abs(trace["log_likelihood"]))


@pytest.mark.parametrize("name", ["gaussian-full", "gaussian-diag", "poisson"])
def test_m_step_slack_is_the_emission_family_s(name):
    rng = np.random.RandomState(3)
    family, X = family_data(name, rng)
    model = HMM(family, 3, init="random")
    data = chunk(family.check_data(X))
    stats, _ = model.e_step(model.init_params([data], rng), data)
    params = model.m_step(stats)
    expected = family.m_step_slack(params.emission, stats.emission, frozenset(family.param_names))
    assert model.m_step_slack(params, stats) == expected
    # reg_covar may cost some Q (at most what the M-step fell short of); nothing else does
    assert expected >= 0 and (expected == 0 or name.startswith("gaussian"))
    fixed = HMM(family, 3, learn=("startprob", "transmat"), initial=params)
    assert fixed.m_step_slack(params, stats) == 0.0


def _stats_close(a, b):
    if isinstance(a.emission, GaussianMixtureStats):  # a tuple of per-state statistics
        states = zip(a.emission.states, b.emission.states, strict=True)
        if not all(allclose(x, y, rtol=1e-10, atol=1e-10) for x, y in states):
            return False
        a, b = (replace(s, emission=None) for s in (a, b))
    return allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["gaussian-full", "poisson", "categorical", "gaussian-mixture"])
def test_statistics_of_sequences_are_the_sum_over_sequences(name):
    rng = np.random.RandomState(3)
    family, X = family_data(name, rng, n=150)
    X = family.check_data(X)
    model = HMM(family, 3, init="random")
    params = model.init_params([chunk(X)], np.random.RandomState(0))
    lengths = [40, 70, 25, 15]
    together, loglik = model.e_step(params, chunk(X, lengths))
    bounds = np.cumsum([0, *lengths])
    parts = [model.e_step(params, chunk(X[a:b])) for a, b in itertools.pairwise(bounds)]
    assert _stats_close(together, sum(p[0] for p in parts))
    assert loglik == pytest.approx(sum(p[1] for p in parts), rel=1e-12)
    # a chunk of sequences is the sum of chunks of sequences
    halves = (
        model.e_step(params, chunk(X[:110], lengths[:2])),
        model.e_step(params, chunk(X[110:], lengths[2:])),
    )
    assert _stats_close(together, halves[0][0] + halves[1][0])


def test_sequence_weight_two_equals_the_sequence_twice():
    rng = np.random.RandomState(4)
    family, X = family_data("poisson", rng, n=90)
    X = family.check_data(X)
    model = HMM(family, 3, init="random")
    params = model.init_params([chunk(X)], np.random.RandomState(1))
    weighted, ll_w = model.e_step(params, chunk(X, [50, 40], sample_weight=np.array([2.0, 1.0])))
    doubled, ll_d = model.e_step(params, chunk(np.vstack([X[:50], X]), [50, 50, 40]))
    assert _stats_close(weighted, doubled)
    assert ll_w == pytest.approx(ll_d, rel=1e-12)


def test_structural_zeros_of_a_left_right_model_stay_zero():
    rng = np.random.RandomState(5)
    means = np.array([[0.0], [3.0], [6.0]])
    X = np.vstack([means[k] + rng.standard_normal((30, 1)) for k in range(3)] * 4)
    transmat = np.array([[0.8, 0.2, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 1.0]])
    startprob = np.array([1.0, 0.0, 0.0])
    model = HMM(
        GaussianFamily("diag"),
        3,
        initial=HMMParams(startprob, transmat, GaussianParams(means, None)),
        transmat_prior=1.0,
        startprob_prior=1.0,
    )
    result = fit_em(model, [chunk(X, [90] * 4)], n_samples=X.shape[0], max_iter=50, random_state=0)
    np.testing.assert_array_equal(result.params.transmat[transmat == 0], 0.0)
    np.testing.assert_array_equal(result.params.startprob[1:], 0.0)
    np.testing.assert_allclose(result.params.transmat.sum(axis=1), 1.0)
    assert np.all(result.params.transmat[transmat > 0] > 0)
    assert model.n_free_parameters(1) == 2 + 0 + 3 * 2  # two free transitions, start fixed by zeros


def test_a_state_without_posterior_mass_is_reported_and_stays_valid():
    """State 2 cannot be entered (zero start and incoming probabilities): no mass ever."""
    rng = np.random.RandomState(6)
    X = rng.poisson(4.0, size=(60, 1)).astype(float)
    startprob = np.array([0.5, 0.5, 0.0])
    transmat = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.3, 0.3, 0.4]])
    model = HMM(PoissonFamily(), 3, initial=HMMParams(startprob, transmat, None), init="random")
    params = model.init_params([chunk(X)], np.random.RandomState(0))
    stats, _ = model.e_step(params, chunk(X))
    assert stats.sum_w[2] == 0.0
    with pytest.warns(EmptyStateWarning, match="hidden state 2"):
        new = model.m_step(stats)
    assert np.all(np.isfinite(new.transmat)) and np.all(np.isfinite(new.emission.rates))
    np.testing.assert_allclose(new.transmat[2], 1 / 3)  # no outgoing counts: uniform row
    np.testing.assert_array_equal(new.transmat[:2, 2], 0.0)  # structural zeros kept
    # an empty state keeps the emission parameters of the E-step that found it empty
    assert new.emission.rates[2, 0] == pytest.approx(params.emission.rates[2, 0], rel=1e-12)


def test_known_states_clamp_the_posterior():
    rng = np.random.RandomState(8)
    family, X = family_data("gaussian-diag", rng, n=60)
    model = HMM(family, 3, init="random")
    params = model.init_params([chunk(X)], np.random.RandomState(0))
    known = np.full(60, -1)
    known[[0, 10, 11, 40]] = [2, 0, 1, 1]
    _, gamma, _, _ = model.posterior(params, chunk(X, known_states=known))
    np.testing.assert_allclose(gamma[[0, 10, 11, 40]], np.eye(3)[[2, 0, 1, 1]], atol=1e-15)
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, rtol=1e-12)
    # the objective is log p(x, known states) <= log p(x)
    clamped = model.e_step(params, chunk(X, known_states=known))[1]
    assert clamped < model.e_step(params, chunk(X))[1]


def test_fully_labelled_sequences_give_the_supervised_estimates():
    """With every state known, one M-step is the count-based maximum likelihood fit."""
    rng = np.random.RandomState(9)
    z = sticky_states(rng, 300, 3, stay=0.8)
    X = np.array([[0.0], [5.0], [10.0]])[z] + rng.standard_normal((300, 1))
    model = HMM(GaussianFamily("diag", reg_covar=0.0), 3, init="random")
    params = model.init_params([chunk(X)], np.random.RandomState(0))
    stats, _ = model.e_step(params, chunk(X, [100, 200], known_states=z))
    fitted = model.m_step(stats)
    counts = np.zeros((3, 3))
    for a, b in ((0, 100), (100, 300)):
        np.add.at(counts, (z[a : b - 1], z[a + 1 : b]), 1.0)
    np.testing.assert_allclose(fitted.transmat, counts / counts.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(fitted.startprob, np.bincount(z[[0, 100]], minlength=3) / 2)
    for k in range(3):
        np.testing.assert_allclose(fitted.emission.means[k], X[z == k].mean(axis=0))
        np.testing.assert_allclose(fitted.emission.covariances[k], X[z == k].var(axis=0))


def test_impossible_sequence_is_a_clear_error():
    X = np.array([[0.0], [1.0], [3.0]])
    model = HMM(PoissonFamily(), 2)
    params = HMMParams(
        np.array([0.5, 0.5]), np.full((2, 2), 0.5), PoissonFamily().make_params([[0.0], [0.0]])
    )
    with pytest.raises(ImpossibleSequenceError, match=r"sequence 1 \(rows 1\.\.2\)"):
        model.e_step(params, chunk(X, [1, 2]))


@pytest.mark.parametrize(
    "lengths, message",
    [
        ([2, 2], "lengths sum to 4 but X has 5 rows"),
        ([5, 0], r"lengths\[1\] = 0"),
        ([[5]], "1-D"),
        ([2.5, 2.5], "integers"),
    ],
)
def test_bad_lengths_are_clear_errors(lengths, message):
    with pytest.raises(ValueError, match=message):
        sequence_offsets(lengths, 5)


def test_learn_keeps_the_other_parameters_fixed():
    rng = np.random.RandomState(10)
    family, X = family_data("poisson", rng, n=120)
    rates = np.array([[1.0, 5.0], [6.0, 1.0], [12.0, 12.0]])
    model = HMM(
        family, 3, learn=("transmat",), initial=HMMParams(None, None, family.make_params(rates))
    )
    result = fit_em(
        model, [chunk(family.check_data(X))], n_samples=120, max_iter=20, random_state=0
    )
    np.testing.assert_array_equal(result.params.emission.rates, rates)
    np.testing.assert_array_equal(result.params.startprob, np.full(3, 1 / 3))
    assert not np.allclose(result.params.transmat, 1 / 3)
    with pytest.raises(ValueError, match="'rates' is not learned"):
        HMM(family, 3, learn=("transmat",))
    with pytest.raises(ValueError, match="unknown parameter names"):
        HMM(family, 3, learn=("means",))


def test_sampling_follows_the_chain_and_the_emissions():
    rng = np.random.RandomState(11)
    family = PoissonFamily()
    transmat = np.array([[0.9, 0.1], [0.2, 0.8]])
    params = HMMParams(np.array([1.0, 0.0]), transmat, family.make_params([[2.0], [30.0]]))
    X, states = HMM(family, 2).sample(params, 20000, rng)
    assert states[0] == 0
    counts = np.zeros((2, 2))
    np.add.at(counts, (states[:-1], states[1:]), 1)
    np.testing.assert_allclose(counts / counts.sum(axis=1, keepdims=True), transmat, atol=0.02)
    assert X[states == 0].mean() == pytest.approx(2.0, rel=0.05)
    assert X[states == 1].mean() == pytest.approx(30.0, rel=0.02)


def test_dirichlet_priors_add_pseudo_counts_to_the_expected_counts():
    rng = np.random.RandomState(12)
    family, X = family_data("poisson", rng, n=80)
    X = family.check_data(X)
    model = HMM(family, 3, init="random", startprob_prior=2.0, transmat_prior=0.5)
    params = model.init_params([chunk(X)], np.random.RandomState(0))
    stats, _ = model.e_step(params, chunk(X, [40, 40]))
    new = model.m_step(stats)
    expected = (stats.sum_trans + 0.5) / (stats.sum_trans.sum(axis=1, keepdims=True) + 1.5)
    np.testing.assert_allclose(new.transmat, expected, rtol=1e-12)
    np.testing.assert_allclose(new.startprob, (stats.sum_start + 2.0) / (2.0 + 6.0), rtol=1e-12)
    # the log-prior is the Dirichlet(1 + c) density's kernel
    value = 2.0 * np.log(new.startprob).sum() + 0.5 * np.log(new.transmat).sum()
    assert model.log_prior(new) == pytest.approx(value, rel=1e-12)


def test_sequence_groups_cut_between_sequences_and_keep_the_statistics():
    from emkit.models._sequences import sequence_groups

    rng = np.random.RandomState(13)
    family, X = family_data("gaussian-diag", rng, n=200)
    lengths = [30, 50, 20, 60, 40]
    weights = rng.uniform(1, 2, size=5)
    whole = chunk(X, lengths, sample_weight=weights, known_states=np.full(200, -1))
    offsets = whole.offsets
    bounds = sequence_groups(offsets, 70)
    # at most 70 rows of whole sequences; the 60-row sequence fits alone
    assert bounds.tolist() == [0, 1, 3, 4, 5]
    assert sequence_groups(offsets, 45).tolist() == [0, 1, 2, 3, 4, 5]  # 50, 60 > 45: alone
    assert sequence_groups(offsets, 1000).tolist() == [0, 5]
    pieces = [
        chunk(
            X[offsets[a] : offsets[b]],
            lengths[a:b],
            sample_weight=weights[a:b],
            known_states=np.full(offsets[b] - offsets[a], -1),
        )
        for a, b in itertools.pairwise(bounds)
    ]
    model = HMM(family, 3, init="random")
    params = model.init_params([whole], np.random.RandomState(0))
    assert _stats_close(
        model.e_step(params, whole)[0], sum(model.e_step(params, p)[0] for p in pieces)
    )
