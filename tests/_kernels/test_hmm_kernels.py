"""Forward-backward and Viterbi kernels against brute-force enumeration of all state paths.

Every path z of a tiny model is enumerated with its joint probability
p(x, z) = π_{z1} Π A_{z_{t-1} z_t} Π p(x_t | z_t); the evidence, posterior marginals,
expected transition counts and the best path then follow by summation / argmax, with
no recursion at all. The compiled kernels and their NumPy twins must reproduce them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

from emkit._kernels import _reference_hmm as reference
from emkit._kernels import hmm as kernels

IMPLEMENTATIONS = [kernels, reference]


def enumerate_paths(log_emission, offsets, startprob, transmat, seq_weight=None):
    """Evidence, marginals, counts and best path of every sequence by summing over all paths."""
    n, K = log_emission.shape
    S = len(offsets) - 1
    weights = np.ones(S) if seq_weight is None else seq_weight
    with np.errstate(divide="ignore"):
        log_pi, log_A = np.log(startprob), np.log(transmat)
    log_lik, best_log, gamma = np.empty(S), np.empty(S), np.zeros((n, K))
    path = np.empty(n, dtype=int)
    start, trans = np.zeros(K), np.zeros((K, K))
    for s in range(S):
        lp = log_emission[offsets[s] : offsets[s + 1]]
        T = lp.shape[0]
        paths = np.array(list(itertools.product(range(K), repeat=T)))
        log_joint = log_pi[paths[:, 0]] + lp[np.arange(T), paths].sum(axis=1)
        for t in range(1, T):
            log_joint += log_A[paths[:, t - 1], paths[:, t]]
        log_lik[s] = logsumexp(log_joint)
        best = int(np.argmax(log_joint))
        best_log[s] = log_joint[best]
        path[offsets[s] : offsets[s + 1]] = paths[best]
        post = np.exp(log_joint - log_lik[s])
        for t in range(T):
            for k in range(K):
                gamma[offsets[s] + t, k] = post[paths[:, t] == k].sum()
            if t:
                np.add.at(trans, (paths[:, t - 1], paths[:, t]), weights[s] * post)
        start += weights[s] * gamma[offsets[s]]
    return log_lik, gamma, start, trans, best_log, path


def random_model(rng, K, lengths, zeros=0):
    """Random tiny model; ``zeros`` structural zeros in the transition matrix."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    log_emission = 2.0 * rng.standard_normal((offsets[-1], K))
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    for _ in range(zeros):
        i, j = rng.randint(K, size=2)
        if i != j:  # keep the diagonal so every row stays a distribution
            transmat[i, j] = 0.0
    transmat /= transmat.sum(axis=1, keepdims=True)
    return log_emission, offsets, startprob, transmat


@pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=["numba", "numpy"])
@pytest.mark.parametrize(
    "K, lengths, zeros", [(2, [1], 0), (2, [4, 1, 3], 0), (3, [5, 2], 2), (3, [4, 4, 1], 3)]
)
def test_forward_backward_matches_enumeration(impl, K, lengths, zeros):
    rng = np.random.RandomState(K * 10 + len(lengths))
    log_emission, offsets, startprob, transmat = random_model(rng, K, lengths, zeros)
    weights = rng.uniform(0.5, 2.0, size=len(lengths))
    expected = enumerate_paths(log_emission, offsets, startprob, transmat, weights)
    log_lik, gamma, start, trans = impl.forward_backward(
        log_emission, offsets, startprob, transmat, weights
    )
    np.testing.assert_allclose(log_lik, expected[0], rtol=1e-12)
    np.testing.assert_allclose(gamma, expected[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(start, expected[2], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(trans, expected[3], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, rtol=1e-12)
    # expected transitions: as many as steps with a predecessor, weighted
    np.testing.assert_allclose(trans.sum(), weights @ (np.array(lengths) - 1), rtol=1e-12)
    np.testing.assert_allclose(
        impl.forward_log_likelihood(log_emission, offsets, startprob, transmat), expected[0]
    )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=["numba", "numpy"])
@pytest.mark.parametrize("K, lengths, zeros", [(2, [5, 1], 0), (3, [5, 3], 2), (4, [4], 4)])
def test_viterbi_matches_enumeration(impl, K, lengths, zeros):
    rng = np.random.RandomState(K + sum(lengths))
    log_emission, offsets, startprob, transmat = random_model(rng, K, lengths, zeros)
    *_, best_log, best_path = enumerate_paths(log_emission, offsets, startprob, transmat)
    log_prob, path = impl.viterbi(log_emission, offsets, startprob, transmat)
    np.testing.assert_allclose(log_prob, best_log, rtol=1e-12)
    np.testing.assert_array_equal(path, best_path)


@given(
    K=st.integers(1, 4),
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    scale=st.sampled_from([0.1, 3.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_kernels_agree_with_log_space_twin(K, lengths, scale, seed):
    """Scaled messages agree with the log-space twin, from flat to peaked emissions.

    (Emission log-probabilities of sd 60 between states; beyond ~700 nats in one step the
    scaled messages flush a state's probability to 0 — see emkit._kernels.hmm.)
    """
    rng = np.random.RandomState(seed)
    log_emission, offsets, startprob, transmat = random_model(rng, K, lengths, zeros=K)
    log_emission *= scale
    a = kernels.forward_backward(log_emission, offsets, startprob, transmat)
    b = reference.forward_backward(log_emission, offsets, startprob, transmat)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10)
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a[1].sum(axis=1), 1.0, rtol=1e-10)
    va, vb = (
        kernels.viterbi(log_emission, offsets, startprob, transmat),
        reference.viterbi(log_emission, offsets, startprob, transmat),
    )
    np.testing.assert_allclose(va[0], vb[0], rtol=1e-12)


def test_unreachable_state_that_explains_the_data_best_does_not_underflow():
    """Left-right model: at t = 1 only states 0 and 1 are reachable, but state 2 explains
    x_1 better by 2000 nats. Scaling by the maximum over *all* states would make every
    reachable factor exp(-2000) = 0; scaling by the reachable maximum is exact."""
    startprob = np.array([1.0, 0.0, 0.0])
    transmat = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    log_emission = np.array(
        [[0.0, -1.0, -1.0], [-2000.0, -2001.0, 0.0], [-1.0, -1.0, 0.0], [-3.0, -2.0, 0.0]]
    )
    offsets = np.array([0, 4])
    expected = enumerate_paths(log_emission, offsets, startprob, transmat)
    log_lik, gamma, _, trans = kernels.forward_backward(log_emission, offsets, startprob, transmat)
    np.testing.assert_allclose(log_lik, expected[0], rtol=1e-14)
    np.testing.assert_allclose(gamma, expected[1], atol=1e-14)
    np.testing.assert_allclose(trans, expected[3], atol=1e-14)


def test_impossible_sequence_gives_minus_infinity_and_zero_posteriors():
    startprob = np.array([1.0, 0.0])
    transmat = np.array([[1.0, 0.0], [0.0, 1.0]])
    log_emission = np.array([[0.0, 0.0], [-np.inf, 0.0], [0.0, 0.0], [0.0, 0.0]])
    offsets = np.array([0, 2, 4])
    log_lik, gamma, _, trans = kernels.forward_backward(log_emission, offsets, startprob, transmat)
    assert log_lik[0] == -np.inf and log_lik[1] == 0.0
    np.testing.assert_array_equal(gamma[:2], 0.0)
    np.testing.assert_array_equal(gamma[2:], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(trans, [[1.0, 0.0], [0.0, 0.0]])
    assert kernels.viterbi(log_emission, offsets, startprob, transmat)[0][0] == -np.inf
