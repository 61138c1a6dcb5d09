"""The LDA E-step kernel and its digamma against NumPy/SciPy brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special

from emkit._kernels import _reference_lda as reference
from emkit._kernels._special import digamma, exp_expected_log_dirichlet
from emkit._kernels.lda import lda_documents
from emkit.models._documents import DocumentChunk
from emkit.models.lda import exp_expected_log_topics


def test_digamma_matches_scipy_from_tiny_to_huge_arguments():
    x = np.concatenate([np.logspace(-8, 8, 3000), np.linspace(0.01, 12.0, 1000)])
    ours = np.array([digamma(v) for v in x])
    expected = scipy.special.digamma(x)
    np.testing.assert_allclose(ours, expected, rtol=2e-13, atol=2e-13)


@pytest.mark.parametrize("seed", range(6))
def test_exp_expected_log_dirichlet_matches_scipy_over_the_whole_range(seed):
    # its exponential is written out (to vectorise): check it across the range of
    # exponents, down to underflow, for K that do and do not fill whole vectors
    rng = np.random.default_rng(seed)
    for K in (1, 3, 4, 7, 20, 53):
        gamma = np.exp(rng.uniform(-14.0, 14.0, K))
        gamma[rng.random(K) < 0.2] = 10.0 ** rng.uniform(-300, -8)  # e^-1e8: exactly 0
        out = np.empty(K)
        exp_expected_log_dirichlet(gamma, out, np.empty(K, dtype=np.int64))
        log_expected = scipy.special.digamma(gamma) - scipy.special.digamma(gamma.sum())
        normal = log_expected > -708.0
        np.testing.assert_allclose(out[normal], np.exp(log_expected[normal]), rtol=1e-11)
        assert np.all(out[~normal] <= np.exp(-707.0))
    huge = np.array([1e31, 1e45, 1.0])
    out = np.empty(3)
    exp_expected_log_dirichlet(huge, out, np.empty(3, dtype=np.int64))
    expected = np.exp(scipy.special.digamma(huge) - scipy.special.digamma(huge.sum()))
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def _corpus(seed, n_docs=40, n_terms=30, empty=(3, 17)):
    rng = np.random.default_rng(seed)
    dense = rng.poisson(rng.gamma(0.3, 1.0, (n_docs, n_terms)))
    dense[list(empty)] = 0
    return DocumentChunk.from_matrix(sp.csr_matrix(dense))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_stats", [True, False])
@pytest.mark.parametrize("warm", [False, True])
def test_lda_kernel_matches_the_dense_reference(seed, with_stats, warm):
    chunk = _corpus(seed)
    K = 4
    rng = np.random.default_rng(seed + 10)
    table = np.ascontiguousarray(exp_expected_log_topics(rng.gamma(2.0, 1.0, (K, chunk.n_terms))).T)
    alpha = rng.uniform(0.05, 1.0, K)
    start = rng.gamma(1.0, 2.0, (len(chunk), K)) if warm else np.empty((0, K))
    args = (
        chunk.indptr,
        chunk.indices,
        chunk.counts,
        table,
        alpha,
        1e-6,
        500,
        with_stats,
        start,
    )
    got, want = lda_documents(*args), reference.lda_documents(*args)
    # warm: which start wins may turn on rounding where both optima are one
    rtol, atol = (1e-7, 1e-8) if warm else (1e-10, 0.0)
    np.testing.assert_allclose(got[0], want[0], rtol=rtol, atol=atol)  # γ
    np.testing.assert_array_equal(got[0][3], alpha)  # an empty document: γ = α
    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=max(atol, 1e-12))  # counts
    np.testing.assert_allclose(got[2], want[2], rtol=rtol)  # Σ E[log θ]
    non_empty = np.count_nonzero(np.diff(chunk.indptr))
    assert got[3] == want[3] == (non_empty if with_stats else 0)
    np.testing.assert_allclose(got[4], want[4], rtol=1e-10)  # the bound
    assert got[5] == want[5]  # the same iterations: the same stopping rule
    if with_stats:
        # every token is shared out among the topics
        np.testing.assert_allclose(got[1].sum(), chunk.n_words, rtol=1e-12)


def test_lda_kernel_stops_at_max_iter_and_reports_iterations():
    chunk = _corpus(4)
    table = np.ascontiguousarray(exp_expected_log_topics(np.ones((3, chunk.n_terms)) + 0.5).T)
    out = lda_documents(
        chunk.indptr,
        chunk.indices,
        chunk.counts,
        table,
        np.full(3, 0.1),
        0.0,
        7,
        False,
        np.empty((0, 3)),
    )
    assert out[5] == 7 * np.count_nonzero(np.diff(chunk.indptr))


def test_an_e_step_never_lowers_a_documents_bound_below_its_start():
    """With warm starts a document ends at least as high as its previous γ (the run
    from 1 or, where that is lower, coordinate ascent from the previous γ): what keeps
    the EM bound monotone. One iteration per E-step, so both branches are taken."""
    chunk = _corpus(5, n_docs=25, empty=())
    rng = np.random.default_rng(5)
    K = 5
    table = np.ascontiguousarray(exp_expected_log_topics(rng.gamma(0.5, 1.0, (K, chunk.n_terms))).T)
    alpha = np.full(K, 0.1)
    for d in range(len(chunk)):
        rows = slice(d, d + 2)
        part = DocumentChunk.from_matrix(chunk.to_csr()[rows])
        gamma = rng.gamma(1.0, 1.0, (len(part), K))
        previous = -np.inf
        for _ in range(30):
            gamma, *_, bound, _ = lda_documents(
                part.indptr, part.indices, part.counts, table, alpha, 0.0, 1, True, gamma
            )
            assert bound >= previous - 1e-9 * abs(bound)
            previous = bound
