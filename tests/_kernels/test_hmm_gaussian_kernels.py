"""The fused Gaussian-HMM E-step kernel against its NumPy twin, brute-force enumeration
of the state paths, and the general path of :class:`emkit.models.HMM`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emkit._kernels import _reference_hmm as reference
from emkit._kernels import hmm_gaussian as fused
from emkit.families import GaussianFamily
from emkit.models import HMM, HMMChunk, HMMParams
from emkit.models import hmm as hmm_module


def random_gaussian_hmm(rng, K, D, full, zeros=0):
    means = rng.normal(scale=2.0, size=(K, D))
    if full:
        prec = np.empty((K, D, D))
        for k in range(K):
            M = rng.normal(size=(D, D))
            cov = M @ M.T + 0.5 * np.eye(D)
            prec[k] = np.linalg.inv(np.linalg.cholesky(cov)).T
    else:
        prec = rng.uniform(0.4, 2.0, size=(K, D))
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    for _ in range(zeros):  # structural zeros, keeping every row usable
        i, j = rng.integers(K, size=2)
        if i != j:
            transmat[i, j] = 0.0
    transmat /= transmat.sum(axis=1, keepdims=True)
    return means, prec, startprob, transmat


def brute_force(X, offsets, startprob, transmat, means, prec, full, weights):
    """Evidence and moments by summing over every state path (no recursion)."""
    K = means.shape[0]
    log_density = np.empty((X.shape[0], K))
    for k in range(K):
        L = prec[k] if full else np.diag(prec[k])
        log_density[:, k] = multivariate_normal(means[k], np.linalg.inv(L @ L.T)).logpdf(X)
    with np.errstate(divide="ignore"):
        log_pi, log_A = np.log(startprob), np.log(transmat)
    log_lik, gamma = [], np.zeros((X.shape[0], K))
    start, trans = np.zeros(K), np.zeros((K, K))
    for s in range(len(offsets) - 1):
        lp = log_density[offsets[s] : offsets[s + 1]]
        T = lp.shape[0]
        paths = np.array(list(itertools.product(range(K), repeat=T)))
        log_joint = log_pi[paths[:, 0]] + lp[np.arange(T), paths].sum(axis=1)
        for t in range(1, T):
            log_joint += log_A[paths[:, t - 1], paths[:, t]]
        evidence = np.logaddexp.reduce(log_joint)
        log_lik.append(evidence)
        post = weights[s] * np.exp(log_joint - evidence)
        for t in range(T):
            np.add.at(gamma[offsets[s] + t], paths[:, t], post)
            if t:
                np.add.at(trans, (paths[:, t - 1], paths[:, t]), post)
        start += gamma[offsets[s]]
    centred = X[:, None, :] - means[None]
    sum_dx = np.einsum("nk,nkd->kd", gamma, centred)
    if full:
        sum_dxx = np.einsum("nk,nkd,nke->kde", gamma, centred, centred)
    else:
        sum_dxx = np.einsum("nk,nkd->kd", gamma, centred**2)
    return np.array(log_lik), start, trans, gamma.sum(axis=0), sum_dx, sum_dxx


def assert_outputs_close(got, expected, rtol=1e-10):
    for a, b in zip(got, expected, strict=True):
        scale = max(np.max(np.abs(b)), 1e-300)
        np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("K, lengths, zeros", [(1, [3], 0), (2, [4, 1, 3], 0), (3, [5, 2], 2)])
def test_kernel_and_twin_match_enumeration(full, K, lengths, zeros):
    rng = np.random.default_rng(K + 10 * full)
    D = 2
    means, prec, startprob, transmat = random_gaussian_hmm(rng, K, D, full, zeros)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    X = rng.normal(scale=2.0, size=(offsets[-1], D))
    weights = rng.uniform(0.5, 2.0, size=len(lengths))
    expected = brute_force(X, offsets, startprob, transmat, means, prec, full, weights)
    for impl in (fused, reference):
        got = impl.gaussian_e_step(X, offsets, startprob, transmat, means, prec, full, weights)
        assert_outputs_close(got, expected)


# K = 8 takes the register path (P = 8), K = 3 pads to it, K = 11 takes the loops (P = 12);
# lengths cross blocks; structural zeros take the step-by-step reachability
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("K", [3, 8, 11])
@pytest.mark.parametrize("zeros", [0, 5])
def test_kernel_matches_its_twin_across_blocks(full, K, zeros):
    rng = np.random.default_rng(K * 7 + zeros + full)
    D = 3
    means, prec, startprob, transmat = random_gaussian_hmm(rng, K, D, full, zeros)
    lengths = [1, fused.BLOCK - 1, fused.BLOCK, 2 * fused.BLOCK + 17, 5]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    X = rng.normal(scale=3.0, size=(offsets[-1], D))
    weights = rng.uniform(0.0, 2.0, size=len(lengths))
    got = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, full, weights)
    expected = reference.gaussian_e_step(
        X, offsets, startprob, transmat, means, prec, full, weights
    )
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    assert_outputs_close(got[1:], expected[1:])
    if full:  # exactly symmetric scatters
        np.testing.assert_array_equal(got[5], np.transpose(got[5], (0, 2, 1)))


def test_left_right_model_with_a_better_unreachable_state():
    """A state that explains x_t best but cannot be reached yet scales nothing away."""
    means = np.array([[0.0], [50.0]])
    prec = np.ones((2, 1))
    startprob = np.array([1.0, 0.0])
    transmat = np.array([[0.9, 0.1], [0.0, 1.0]])
    X = np.array([[48.0], [0.5], [50.0], [49.0]])
    offsets = np.array([0, 4])
    got = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, False)
    expected = reference.gaussian_e_step(X, offsets, startprob, transmat, means, prec, False)
    assert np.isfinite(got[0][0])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    assert_outputs_close(got[1:], expected[1:])


def test_vectorised_exponential_is_within_an_ulp_of_numpy():
    x = np.concatenate(
        [
            -np.linspace(0.0, 760.0, 200_001),
            [0.0, -0.0, -1e-300, -708.39, -708.4, -745.13, -745.14, -np.inf],
        ]
    )
    values = x.copy()
    bits = np.empty(x.size, dtype=np.int64)
    fused._exp_nonpositive(values, x.size, bits, bits.copy())
    exact = np.exp(x)
    normal = exact >= np.finfo(float).tiny
    np.testing.assert_allclose(values[normal], exact[normal], rtol=2.5e-16, atol=0)
    np.testing.assert_allclose(values[~normal], exact[~normal], rtol=0, atol=1e-323)
    assert values[x == 0.0].tolist() == [1.0, 1.0, 1.0] and values[-1] == 0.0


def _chunk_and_params(rng, covariance_type, weights):
    family = GaussianFamily(covariance_type, reg_covar=0.0)
    K, D = 3, 2
    lengths = [40, 1, 300]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    X = rng.normal(scale=2.0, size=(offsets[-1], D))
    resp = rng.dirichlet(np.ones(K), size=X.shape[0])
    emission = family.m_step(family.statistics(X, resp, None))
    params = HMMParams(rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K), emission)
    sample_weight = rng.uniform(0.5, 2.0, size=len(lengths)) if weights else None
    return HMM(family, K), HMMChunk(X, offsets, sample_weight), params


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("weights", [False, True])
def test_model_e_step_fused_equals_the_general_path(covariance_type, weights, monkeypatch):
    model, chunk, params = _chunk_and_params(np.random.default_rng(3), covariance_type, weights)
    assert hmm_module._fused_gaussian_e_step(model.family, params, chunk) is not None
    stats, total = model.e_step(params, chunk)
    monkeypatch.setattr(hmm_module, "_fused_gaussian_e_step", lambda *args: None)
    general, general_total = model.e_step(params, chunk)
    assert total == pytest.approx(general_total, rel=1e-13)
    for name in ("sum_start", "sum_trans", "sum_w"):
        assert_outputs_close([getattr(stats, name)], [getattr(general, name)], 1e-12)
    for name in ("sum_w", "sum_dx", "sum_dxx", "shift"):
        assert_outputs_close(
            [getattr(stats.emission, name)], [getattr(general.emission, name)], 1e-12
        )
    assert stats.emission.covariance_type == covariance_type
    # the M-steps agree too
    ours, theirs = model.m_step(stats), model.m_step(general)
    np.testing.assert_allclose(ours.emission.covariances, theirs.emission.covariances, rtol=1e-11)


def test_fused_path_steps_aside_where_it_does_not_apply():
    rng = np.random.default_rng(4)
    model, chunk, params = _chunk_and_params(rng, "diag", False)
    missing = chunk.X.copy()
    missing[5, 1] = np.nan
    labelled = np.full(chunk.X.shape[0], -1)
    labelled[3] = 1
    for other in (
        HMMChunk(missing, chunk.offsets),
        HMMChunk(chunk.X.astype(np.float32), chunk.offsets),
        HMMChunk(chunk.X, chunk.offsets, known_states=labelled),
        HMMChunk(chunk.X * 1e160, chunk.offsets),  # log-densities overflow
    ):
        assert hmm_module._fused_gaussian_e_step(model.family, params, other) is None


def test_tiny_transition_probabilities_take_one_logarithm_per_step():
    """Probabilities below 1e-38 could underflow a product of eight normalisers: the
    log-likelihood then sums one logarithm per step, and still matches the twin."""
    rng = np.random.default_rng(5)
    means, prec, startprob, transmat = random_gaussian_hmm(rng, 4, 2, False)
    transmat[:, 0] = 1e-45
    transmat /= transmat.sum(axis=1, keepdims=True)
    offsets = np.array([0, 700])
    X = rng.normal(scale=3.0, size=(700, 2))
    got = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, False)
    expected = reference.gaussian_e_step(X, offsets, startprob, transmat, means, prec, False)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
    assert_outputs_close(got[1:], expected[1:])


def test_a_missing_value_stops_the_kernel_and_reused_memory_changes_nothing():
    rng = np.random.default_rng(6)
    means, prec, startprob, transmat = random_gaussian_hmm(rng, 3, 2, True)
    offsets = np.array([0, 300, 310, 900])
    X = rng.normal(size=(900, 2))
    first = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, True)
    # a longer call in between reuses (and overwrites) the same work memory
    fused.gaussian_e_step(np.tile(X, (3, 1)), offsets * 3, startprob, transmat, means, prec, True)
    again = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, True)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    X[305, 1] = np.nan
    log_lik = fused.gaussian_e_step(X, offsets, startprob, transmat, means, prec, True)[0]
    assert np.isfinite(log_lik[0]) and np.all(log_lik[1:] == -np.inf)
