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
:math:`s_j` and the sum for the new γ come from the same term, and each iteration is
a coordinate ascent step on the document's bound (φ given γ, then γ given φ).

A document's problem can have several local optima, so where γ starts matters. From a
fixed start (1, as scikit-learn's ``transform``), a small change of the topics can
send a document to a lower optimum than the one it was in, and the bound falls
(measured: 6 falls of up to 4e-6 nats per word in 400 iterations on the KJV corpus,
K = 10). With the caller's ``start`` (each document's γ of the previous E-step) the
document is solved from both starts and keeps the higher optimum: never lower than
continuing from the previous γ, which is coordinate ascent. The run from 1 stops once
it comes within ``near`` (a fraction of the mean γ) of the warm optimum. Either way a
document's result depends only on its own rows, never on threads or chunks.

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
# the gathered rows below); no flag that assumes finite values is set. The sum
# s_j = Σ_k t_k B_jk is written out in each loop: a shared helper was measured 20%
# slower (KJV, K = 20).
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True, fastmath=_FAST)
def _exp_expected_log(gamma, out):
    """out_k = exp(ψ(γ_k) − ψ(Σγ))."""
    total = digamma(gamma.sum())
    for k in range(gamma.shape[0]):
        out[k] = math.exp(digamma(gamma[k]) - total)


@njit(cache=True, nogil=True, fastmath=_FAST)
def _solve_gamma(rows, counts, alpha, g, t, acc, mean_change_tol, max_iter, target, near):
    """Iterate one document's γ (in ``g``, from its value there) on its gathered rows
    (n, K); leaves ``t`` = exp E[log θ] of the final γ.

    Returns (iterations, reached): ``reached`` when a ``target`` γ (K,) is given
    (else shape (0,)) and the iterates came within ``near`` of it (mean absolute
    difference), where they stop."""
    n, K = rows.shape
    iterations = 0
    chase = target.shape[0] == K
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
        if chase:
            distance = 0.0
            for k in range(K):
                distance += abs(g[k] - target[k])
            if distance / K < near:
                return iterations, True
    _exp_expected_log(g, t)
    return iterations, False


@njit(cache=True, nogil=True, fastmath=_FAST)
def _document_bound(rows, counts, alpha, g, t, constant):
    """A document's bound at γ = ``g`` with φ optimal (t = exp E[log θ] at g);
    ``constant`` = log Γ(Σα) − Σ log Γ(α_k)."""
    n, K = rows.shape
    value = constant
    for j in range(n):
        row = rows[j]
        s = _TINY
        for k in range(K):
            s += t[k] * row[k]
        value += counts[j] * math.log(s)
    total = digamma(g.sum())
    for k in range(K):
        value += (alpha[k] - g[k]) * (digamma(g[k]) - total) + math.lgamma(g[k])
    return value - math.lgamma(g.sum())


@njit(cache=True, nogil=True, fastmath=_FAST)
def lda_documents(
    indptr,
    indices,
    counts,
    exp_log_beta_t,
    alpha,
    mean_change_tol,
    max_iter,
    with_stats,
    start,
    near=0.0,
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
    start : ndarray of shape (n_docs, K), or (0, K)
        A second starting γ of every document (a warm start, its γ of the previous
        E-step); each document keeps the start whose optimum has the higher bound.
        (0, K): every document starts at 1 only.
    near : float
        The run from 1 stops when its mean absolute difference from the warm
        optimum falls below ``near`` times the warm optimum's mean entry.

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
    constant = math.lgamma(alpha_sum) - lgamma_alpha
    warm = start.shape[0] == n_docs
    g_cold = np.empty(K)
    t_cold = np.empty(K)
    none = np.empty(0)
    for d in range(n_docs):
        first, stop = indptr[d], indptr[d + 1]
        g = gamma[d]
        if stop == first:
            g[:] = alpha
            continue
        n = stop - first
        for j in range(n):
            rows[j] = exp_log_beta_t[indices[first + j]]
        doc_rows = rows[:n]
        doc_counts = counts[first:stop]
        if not warm:
            g[:] = 1.0
            iterations += _solve_gamma(
                doc_rows, doc_counts, alpha, g, t, acc, mean_change_tol, max_iter, none, 0.0
            )[0]
            if not with_stats:
                continue
            doc_bound = _document_bound(doc_rows, doc_counts, alpha, g, t, constant)
        else:
            # from the previous γ (never lower than the previous E-step's) ...
            g[:] = start[d]
            iterations += _solve_gamma(
                doc_rows, doc_counts, alpha, g, t, acc, mean_change_tol, max_iter, none, 0.0
            )[0]
            doc_bound = _document_bound(doc_rows, doc_counts, alpha, g, t, constant)
            # ... and from 1, kept if it reaches a higher optimum; stopped as soon as it
            # comes near the first one (the same optimum: nothing to gain)
            g_cold[:] = 1.0
            used, reached = _solve_gamma(
                doc_rows,
                doc_counts,
                alpha,
                g_cold,
                t_cold,
                acc,
                mean_change_tol,
                max_iter,
                g,
                near * (g.sum() / K),
            )
            iterations += used
            if not reached:
                cold_bound = _document_bound(doc_rows, doc_counts, alpha, g_cold, t_cold, constant)
                if cold_bound > doc_bound:
                    g[:] = g_cold
                    t[:] = t_cold
                    doc_bound = cold_bound
            if not with_stats:
                continue
        n_documents += 1.0
        bound += doc_bound
        # φ at the final γ
        for j in range(n):
            row = doc_rows[j]
            s = _TINY
            for k in range(K):
                s += t[k] * row[k]
            w = doc_counts[j] / s
            target = topic_term[indices[first + j]]
            for k in range(K):
                target[k] += w * t[k] * row[k]
        total = digamma(g.sum())
        for k in range(K):
            log_theta[k] += digamma(g[k]) - total
    return gamma, topic_term, log_theta, n_documents, bound, iterations
