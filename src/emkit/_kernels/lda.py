r"""The E-step of latent Dirichlet allocation over sparse document rows, compiled with numba.

For every document d with distinct terms :math:`v_j` and counts :math:`n_j` (one CSR
row), and the topics' :math:`B_{vk} = \exp \mathbb{E}_q[\log \beta_{kv}]`, the
document's variational parameters are solved by the fixed-point iteration of Blei,
Ng & Jordan (2003) with φ eliminated (as in scikit-learn and gensim):

.. math::

    t_k = \exp(\psi(\gamma_k) - \psi(\textstyle\sum_k \gamma_k)), \quad
    s_j = \textstyle\sum_k t_k B_{v_j k}, \quad
    \gamma_k \leftarrow \alpha_k + t_k \textstyle\sum_j n_j B_{v_j k} / s_j,

until the mean absolute change of γ falls below ``mean_change_tol`` (scikit-learn's
rule) or after ``max_iter`` iterations. Every iteration is one pass over the row:
:math:`s_j` and the sum for the new γ come from the same term. γ starts at 1 in every
call, as scikit-learn's ``transform`` starts, so results depend neither on threads nor
on chunks. (A document's problem can have several local optima: scikit-learn's
training E-step, which starts from random γ, then reaches other ones. Blei's start
α + N_d/K reached the same optima as 1, to 1e-10, on the KJV corpus at random
starting topics.)

With φ optimal for the final γ, :math:`\phi_{jk} = t_k B_{v_j k} / s_j`, the
document's part of the evidence lower bound is (scikit-learn's ``_approx_bound``)

.. math::

    \sum_j n_j \log s_j + \sum_k (\alpha_k - \gamma_k) \mathbb{E}[\log\theta_k]
    + \sum_k (\log\Gamma(\gamma_k) - \log\Gamma(\alpha_k))
    + \log\Gamma(\textstyle\sum_k \alpha_k) - \log\Gamma(\textstyle\sum_k \gamma_k),

and the statistics are the expected topic-term counts :math:`\sum_d n_{dv} \phi_{dvk}`,
the summed :math:`\mathbb{E}[\log \theta_{dk}]` and the number of non-empty documents
(what the M-steps of λ and α need). An empty document has nothing to explain: its
optimum is γ = α, where its bound is exactly 0, so it is skipped.

``B`` is stored (V, K), term-major, so the K values a term needs are contiguous.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from emkit._kernels._special import digamma

__all__ = ["lda_documents"]

# keeps log s_j finite if every topic's B of a term underflows (s_j is >= 1e-300 in
# any fit that is not already degenerate, so it changes nothing else)
_TINY = 1e-300


# Reassociation lets numba vectorise the K-long sums (3.5x faster than in order, with
# the gathered rows below); no flag that assumes finite values is set.
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True, fastmath=_FAST)
def _exp_expected_log(gamma, out):
    """out_k = exp(ψ(γ_k) − ψ(Σγ))."""
    total = digamma(gamma.sum())
    for k in range(gamma.shape[0]):
        out[k] = math.exp(digamma(gamma[k]) - total)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _solve_gamma(rows, counts, alpha, g, t, acc, mean_change_tol, max_iter):
    """Iterate one document's γ (in ``g``, from 1) on its gathered rows (n, K); returns
    the iterations and leaves ``t`` = exp E[log θ] of the final γ."""
    n, K = rows.shape
    g[:] = 1.0
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        _exp_expected_log(g, t)
        acc[:] = 0.0
        for j in range(n):
            row = rows[j]
            s = _TINY
            for k in range(K):
                s += t[k] * row[k]
            w = counts[j] / s
            for k in range(K):
                acc[k] += w * row[k]
        change = 0.0
        for k in range(K):
            new = alpha[k] + t[k] * acc[k]
            change += abs(new - g[k])
            g[k] = new
        if change / K < mean_change_tol:
            break
    _exp_expected_log(g, t)
    return iterations


@njit(cache=True, nogil=True, fastmath=_FAST)
def lda_documents(
    indptr, indices, counts, exp_log_beta_t, alpha, mean_change_tol, max_iter, with_stats
):
    """Solve every document's γ; optionally the expected counts and the bound.

    Parameters
    ----------
    indptr, indices, counts : CSR rows of the chunk (int64, int64, float64).
    exp_log_beta_t : ndarray of shape (V, K)
        :math:`\\exp \\mathbb{E}_q[\\log \\beta_{kv}]`, transposed.
    alpha : ndarray of shape (K,)
        The doc-topic prior.
    mean_change_tol : float
    max_iter : int
        At most this many γ iterations per document.
    with_stats : bool
        Also accumulate the statistics and the bound (False: γ only).

    Returns
    -------
    gamma : ndarray of shape (n_docs, K)
        Variational Dirichlet parameters of the documents (α for an empty one).
    topic_term : ndarray of shape (V, K), or (0, K) without stats
        :math:`\\sum_d n_{dv} \\phi_{dvk}`.
    log_theta : ndarray of shape (K,)
        :math:`\\sum_d \\mathbb{E}[\\log \\theta_{dk}]` over the non-empty documents.
    n_documents : float
        Non-empty documents.
    bound : float
        Sum of the documents' bounds (0.0 without stats).
    iterations : int
        γ iterations summed over the documents.
    """
    n_docs = indptr.shape[0] - 1
    V, K = exp_log_beta_t.shape
    gamma = np.empty((n_docs, K))
    topic_term = np.zeros((V if with_stats else 0, K))
    log_theta = np.zeros(K)
    t = np.empty(K)
    acc = np.empty(K)
    longest = 0
    for d in range(n_docs):
        longest = max(longest, indptr[d + 1] - indptr[d])
    # a document's rows of B, gathered once: its iterations then run in L1 cache
    # instead of fetching scattered rows of the (V, K) table every time
    rows = np.empty((longest, K))
    n_documents = 0.0
    bound = 0.0
    iterations = 0
    alpha_sum = alpha.sum()
    lgamma_alpha = 0.0
    for k in range(K):
        lgamma_alpha += math.lgamma(alpha[k])
    for d in range(n_docs):
        start, stop = indptr[d], indptr[d + 1]
        g = gamma[d]
        if stop == start:
            g[:] = alpha
            continue
        n = stop - start
        for j in range(n):
            rows[j] = exp_log_beta_t[indices[start + j]]
        doc_rows = rows[:n]
        doc_counts = counts[start:stop]
        iterations += _solve_gamma(
            doc_rows, doc_counts, alpha, g, t, acc, mean_change_tol, max_iter
        )
        if not with_stats:
            continue
        # φ and the bound at the final γ
        n_documents += 1.0
        for j in range(n):
            row = doc_rows[j]
            s = _TINY
            for k in range(K):
                s += t[k] * row[k]
            bound += doc_counts[j] * math.log(s)
            w = doc_counts[j] / s
            target = topic_term[indices[start + j]]
            for k in range(K):
                target[k] += w * t[k] * row[k]
        total = digamma(g.sum())
        for k in range(K):
            expected = digamma(g[k]) - total
            log_theta[k] += expected
            bound += (alpha[k] - g[k]) * expected + math.lgamma(g[k])
        bound += math.lgamma(alpha_sum) - math.lgamma(g.sum()) - lgamma_alpha
    return gamma, topic_term, log_theta, n_documents, bound, iterations
