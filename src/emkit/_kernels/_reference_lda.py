"""NumPy reference twin of :mod:`emkit._kernels.lda` (tests only).

Written for clarity, not speed: one document at a time, with the dense (n, K) matrix
of φ written out and the bound summed term by term from its definition (Blei, Ng &
Jordan 2003, eq. 15), not from the kernel's φ-free form. Same signature and return
values as :func:`emkit._kernels.lda.lda_documents`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln


def _phi(g, log_beta_rows):
    e_log_theta = digamma(g) - digamma(g.sum())
    phi = np.exp(e_log_theta[None, :] + log_beta_rows)
    return e_log_theta, phi / phi.sum(axis=1, keepdims=True)


def _solve(g, n, log_beta_rows, alpha, tol, max_iter):
    """(γ, iterations)."""
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        new = alpha + n @ _phi(g, log_beta_rows)[1]
        change = np.mean(np.abs(new - g))
        g = new
        if change < tol:
            break
    return g, iterations


def _bound(g, n, log_beta_rows, alpha):
    e_log_theta, phi = _phi(g, log_beta_rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(n[:, None] * np.where(phi > 0, phi * np.log(phi), 0.0))
    return (
        np.sum(n[:, None] * phi * (e_log_theta[None, :] + log_beta_rows))  # E log p(z, w)
        + entropy  # − E log q(z)
        + gammaln(alpha.sum())
        - gammaln(alpha).sum()
        + np.dot(alpha - 1, e_log_theta)  # E log p(θ | α)
        - gammaln(g.sum())
        + gammaln(g).sum()
        - np.dot(g - 1, e_log_theta)  # − E log q(θ | γ)
    )


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
):
    n_docs = len(indptr) - 1
    V, K = exp_log_beta_t.shape
    log_beta = np.log(exp_log_beta_t)  # E[log β], (V, K)
    gamma = np.empty((n_docs, K))
    topic_term = np.zeros((V if with_stats else 0, K))
    log_theta = np.zeros(K)
    n_documents, bound, iterations = 0.0, 0.0, 0
    for d in range(n_docs):
        ids = indices[indptr[d] : indptr[d + 1]]
        n = counts[indptr[d] : indptr[d + 1]]
        if len(ids) == 0:
            gamma[d] = alpha
            continue
        rows = log_beta[ids]
        g, used = _solve(np.ones(K), n, rows, alpha, mean_change_tol, max_iter)
        if len(start) == n_docs and _bound(start[d], n, rows, alpha) > _bound(g, n, rows, alpha):
            # below the previous γ: solve from the previous γ instead
            previous, more = _solve(start[d].copy(), n, rows, alpha, mean_change_tol, max_iter)
            used += more
            if _bound(previous, n, rows, alpha) > _bound(g, n, rows, alpha):
                g = previous
        iterations += used
        gamma[d] = g
        if not with_stats:
            continue
        n_documents += 1
        e_log_theta, phi = _phi(g, rows)
        topic_term[ids] += n[:, None] * phi
        log_theta += e_log_theta
        bound += _bound(g, n, rows, alpha)
    return gamma, topic_term, log_theta, n_documents, bound, iterations
