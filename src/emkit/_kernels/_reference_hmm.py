"""NumPy reference twins of :mod:`emkit._kernels.hmm` and :mod:`emkit._kernels.hmm_gaussian`,
in log space (tests only).

Written for clarity, not speed: one sequence at a time, full (T-1, K, K) arrays of
pairwise posteriors. Same signatures and return values as the compiled kernels.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def _log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


def forward_backward(log_emission, offsets, startprob, transmat, seq_weight=None):
    n, K = log_emission.shape
    S = len(offsets) - 1
    weights = np.ones(S) if seq_weight is None else np.asarray(seq_weight, dtype=float)
    log_pi, log_A = _log(startprob), _log(transmat)
    log_lik = np.empty(S)
    gamma = np.zeros((n, K))
    start_counts = np.zeros(K)
    trans_counts = np.zeros((K, K))
    for s in range(S):
        lp = log_emission[offsets[s] : offsets[s + 1]]
        T = lp.shape[0]
        log_alpha = np.empty((T, K))
        log_beta = np.zeros((T, K))
        log_alpha[0] = log_pi + lp[0]
        for t in range(1, T):
            log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + lp[t]
        for t in range(T - 2, -1, -1):
            log_beta[t] = logsumexp(log_A + (lp[t + 1] + log_beta[t + 1])[None, :], axis=1)
        ll = logsumexp(log_alpha[-1])
        log_lik[s] = ll
        if not np.isfinite(ll):
            continue
        g = np.exp(log_alpha + log_beta - ll)
        gamma[offsets[s] : offsets[s + 1]] = g
        start_counts += weights[s] * g[0]
        if T > 1:
            log_xi = (
                log_alpha[:-1, :, None]
                + log_A[None, :, :]
                + (lp[1:] + log_beta[1:])[:, None, :]
                - ll
            )
            trans_counts += weights[s] * np.exp(log_xi).sum(axis=0)
    return log_lik, gamma, start_counts, trans_counts


def forward_log_likelihood(log_emission, offsets, startprob, transmat):
    return forward_backward(log_emission, offsets, startprob, transmat)[0]


def viterbi(log_emission, offsets, startprob, transmat):
    n, K = log_emission.shape
    log_pi, log_A = _log(startprob), _log(transmat)
    S = len(offsets) - 1
    path = np.empty(n, dtype=np.int64)
    log_prob = np.empty(S)
    for s in range(S):
        lp = log_emission[offsets[s] : offsets[s + 1]]
        T = lp.shape[0]
        delta = log_pi + lp[0]
        back = np.zeros((T, K), dtype=np.int64)
        for t in range(1, T):
            scores = delta[:, None] + log_A
            back[t] = np.argmax(scores, axis=0)
            delta = scores[back[t], np.arange(K)] + lp[t]
        states = np.empty(T, dtype=np.int64)
        states[-1] = np.argmax(delta)
        log_prob[s] = delta[states[-1]]
        for t in range(T - 1, 0, -1):
            states[t - 1] = back[t, states[t]]
        path[offsets[s] : offsets[s + 1]] = states
    return log_prob, path


def gaussian_e_step(X, offsets, startprob, transmat, means, prec_chol, full, seq_weight=None):
    """Twin of :func:`emkit._kernels.hmm_gaussian.gaussian_e_step`: the Gaussian
    log-densities written out, the log-space forward-backward above, the moments from
    the posterior marginals."""
    X = np.asarray(X, dtype=float)
    K, D = means.shape
    S = len(offsets) - 1
    weights = np.ones(S) if seq_weight is None else np.asarray(seq_weight, dtype=float)
    log_density = np.empty((X.shape[0], K))
    for k in range(K):
        L = prec_chol[k] if full else np.diag(prec_chol[k])
        y = (X - means[k]) @ L
        log_density[:, k] = (
            -0.5 * (D * np.log(2 * np.pi) + np.sum(y**2, axis=1)) + np.log(np.diag(L)).sum()
        )
    log_lik, gamma, start, trans = forward_backward(
        log_density, offsets, startprob, transmat, weights
    )
    impossible = ~np.isfinite(log_lik)
    row_weight = np.repeat(np.where(impossible, 0.0, weights), np.diff(offsets))
    gamma = gamma * row_weight[:, None]
    sum_w = gamma.sum(axis=0)
    centred = X[:, None, :] - means[None, :, :]  # (n, K, D)
    sum_dx = np.einsum("nk,nkd->kd", gamma, centred)
    if full:
        sum_dxx = np.einsum("nk,nkd,nke->kde", gamma, centred, centred)
    else:
        sum_dxx = np.einsum("nk,nkd->kd", gamma, centred**2)
    return log_lik, start, trans, sum_w, sum_dx, sum_dxx
