"""PLSA's E-step kernel against the dense NumPy twin: the solved proportions are the
maximisers (dense gradients, and plain EM run to the same certificate), and the
statistics, objective and log-likelihood are the dense formulas at them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from emkit._kernels import _reference_plsa as reference
from emkit._kernels.plsa import prior_mode, solve_documents, word_topic_tables

#: (tempering, doc-topic pseudo-counts): maximum likelihood, tempered, MAP, both
SETTINGS = [(1.0, 0.0), (0.7, 0.0), (1.0, 0.5), (0.6, 2.0)]


def corpus(seed, n_docs=40, n_terms=30, K=4, length=50):
    """(dense counts (D, V), topics (K, V)) with sparse topics and proportions, so
    that many maximum-likelihood proportions lie on the boundary of the simplex."""
    rng = np.random.default_rng(seed)
    beta = rng.dirichlet(np.full(n_terms, 0.3), K)
    theta = rng.dirichlet(np.full(K, 0.4), n_docs)
    X = np.array([rng.multinomial(length, t @ beta) for t in theta], dtype=np.float64)
    return X, beta


def solve(X, beta, prior, **options):
    csr = sp.csr_matrix(X)
    return solve_documents(
        csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data, beta, prior, **options
    )


@pytest.mark.parametrize(("tempering", "pseudo"), SETTINGS)
def test_solution_is_the_maximiser_and_statistics_are_the_dense_ones(tempering, pseudo):
    X, beta = corpus(0)
    prior = np.full(beta.shape[0], pseudo)
    tol = 1e-12
    solution = solve(X, beta, prior, tempering=tempering, tol=tol, want_log_likelihood=True)
    theta = solution.theta
    assert solution.n_unsolved == 0 and solution.first_impossible == -1
    np.testing.assert_allclose(theta.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert theta.min() >= 0
    # optimality, from the dense gradients: the certificate holds
    total = X.sum(axis=1) + prior.sum()
    gaps = reference.frank_wolfe_gaps(X, theta, beta, prior, tempering)
    assert np.all(gaps <= 1.01 * tol * total)
    # plain EM, to the same certificate, finds the same maxima
    em_theta, em_iterations = reference.solve_documents(X, beta, prior, tempering, tol)
    ours = reference.objectives(X, theta, beta, prior, tempering)
    theirs = reference.objectives(X, em_theta, beta, prior, tempering)
    np.testing.assert_allclose(ours, theirs, rtol=1e-11)
    assert ours.sum() >= theirs.sum() - 1e-9
    # ... in more iterations (the kernel's Newton steps converge quadratically)
    assert solution.evaluations.max() < em_iterations.max()
    # where the maximiser is unique (it is for b < 1 or a prior), the same θ
    if tempering < 1 or pseudo > 0:
        np.testing.assert_allclose(theta, em_theta, atol=1e-7)
    # the returned quantities are the dense formulas at the returned θ
    np.testing.assert_allclose(solution.objective, ours.sum(), rtol=1e-13)
    np.testing.assert_allclose(
        solution.log_likelihood, reference.log_likelihoods(X, theta, beta).sum(), rtol=1e-13
    )
    np.testing.assert_allclose(
        solution.stats.T, reference.expected_counts(X, theta, beta, tempering), rtol=1e-12
    )
    # expected counts of a document add up to its words
    np.testing.assert_allclose(solution.stats.sum(), X.sum(), rtol=1e-13)


def test_certificate_bounds_the_distance_to_the_maximum():
    X, beta = corpus(1)
    prior = np.zeros(beta.shape[0])
    exact = solve(X, beta, prior, tol=1e-13)
    for tol in (1e-3, 1e-5, 1e-7):
        loose = solve(X, beta, prior, tol=tol)
        gap = reference.objectives(X, exact.theta, beta, prior) - reference.objectives(
            X, loose.theta, beta, prior
        )
        assert np.all(gap <= tol * X.sum(axis=1) + 1e-9)
        assert loose.evaluations.sum() <= exact.evaluations.sum()


def test_documents_with_fewer_distinct_words_than_topics():
    """Non-unique maximisers: the objective is still the maximum, found by brute force
    over a fine grid of the simplex."""
    beta = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    X = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 5.0], [2.0, 2.0, 2.0]])
    solution = solve(X, beta, np.zeros(4), tol=1e-13)
    steps = np.linspace(0, 1, 61)
    grid = np.array(
        [(a, b, c, 1 - a - b - c) for a in steps for b in steps for c in steps if a + b + c <= 1]
    )
    for d in range(3):
        best = reference.objectives(np.tile(X[d], (len(grid), 1)), grid, beta, np.zeros(4))
        value = reference.objectives(X[d : d + 1], solution.theta[d : d + 1], beta, np.zeros(4))
        assert value[0] >= best.max() - 1e-12
        assert value[0] <= best.max() + 0.05  # the grid comes near the maximum


def test_empty_documents_and_terms_no_topic_explains():
    X, beta = corpus(2, n_docs=6, K=3)
    X[2] = 0
    prior = np.array([0.0, 1.0, 3.0])
    solution = solve(X, beta, prior)
    np.testing.assert_array_equal(solution.theta[2], prior_mode(prior))
    np.testing.assert_array_equal(prior_mode(np.zeros(3)), np.full(3, 1 / 3))
    assert solution.evaluations[2] == 0
    without = solve(np.delete(X, 2, axis=0), beta, prior)
    np.testing.assert_allclose(solution.objective, without.objective, rtol=1e-14)
    np.testing.assert_allclose(solution.stats, without.stats, rtol=1e-14)
    # a term that every topic gives probability 0: document 4 is impossible
    beta = beta.copy()
    beta[:, 7] = 0.0
    beta /= beta.sum(axis=1, keepdims=True)
    X[:, 7] = 0
    X[4, 7] = 2
    impossible = solve(X, beta, prior, want_log_likelihood=True)
    assert impossible.first_impossible == 4
    assert impossible.objective == -np.inf and impossible.log_likelihood == -np.inf
    # the document's θ is solved from the terms that can be explained
    X[4, 7] = 0
    possible = solve(X, beta, prior)
    np.testing.assert_allclose(impossible.theta, possible.theta, rtol=1e-12)


def test_statistics_of_a_corpus_are_the_sum_over_its_parts():
    X, beta = corpus(3)
    prior = np.full(beta.shape[0], 0.2)
    whole = solve(X, beta, prior, tempering=0.8)
    first, second = (
        solve(X[:17], beta, prior, tempering=0.8),
        solve(X[17:], beta, prior, tempering=0.8),
    )
    np.testing.assert_allclose(whole.stats, first.stats + second.stats, rtol=1e-13)
    np.testing.assert_allclose(whole.objective, first.objective + second.objective, rtol=1e-13)
    np.testing.assert_array_equal(whole.theta, np.vstack([first.theta, second.theta]))


def test_iteration_budget_and_shared_tables():
    X, beta = corpus(4)
    prior = np.zeros(beta.shape[0])
    capped = solve(X, beta, prior, max_iter=1)
    assert capped.n_unsolved == X.shape[0]
    np.testing.assert_array_equal(capped.theta, np.full_like(capped.theta, 0.25))
    # precomputed tables give the same result as the topics themselves
    np.testing.assert_array_equal(
        solve(X, beta, prior, tempering=0.5, tables=word_topic_tables(beta, 0.5)).theta,
        solve(X, beta, prior, tempering=0.5).theta,
    )


@pytest.mark.parametrize("closeness", [1e-2, 1e-6])
def test_near_copies_of_a_topic_are_solved_in_few_iterations(closeness):
    """Two topics that differ by ``closeness`` (relative, per term) compete for the same
    words: the gradient lets the one at 0 back in while Newton's step, which sees the
    other, keeps it out. (Before that rule, such documents ran to max_iter.)"""
    rng = np.random.default_rng(5)
    X, _ = corpus(5, n_docs=60, n_terms=200, K=12, length=300)
    beta = rng.dirichlet(np.full(200, 0.1), 12)
    beta[1] = beta[0] * np.exp(closeness * rng.standard_normal(200))
    beta /= beta.sum(axis=1, keepdims=True)
    solution = solve(X, beta, np.zeros(12))
    assert solution.n_unsolved == 0
    assert solution.evaluations.max() < 60
    gaps = reference.frank_wolfe_gaps(X, solution.theta, beta, np.zeros(12))
    assert np.all(gaps <= 1.01e-10 * X.sum(axis=1))
