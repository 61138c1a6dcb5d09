r"""Forward-backward and Viterbi for hidden Markov models, compiled with numba.

Sequences are stored back to back: ``log_emission`` of shape (n, K) holds
:math:`\log p(x_t \mid z_t = k)` for all sequences, and ``offsets`` of shape
(S + 1,) marks sequence ``s`` as rows ``offsets[s]:offsets[s + 1]``.

Forward-backward uses *scaled* messages (one numerically safe path, no logarithms
in the K x K inner loops). At every step the predicted state distribution
:math:`\hat p_t(j) = \sum_i \hat\alpha_{t-1}(i) A_{ij}` (or :math:`\pi_j` at the
start) is combined with the emission factor
:math:`f_{tj} = \exp(\log p(x_t \mid j) - m_t)`, where :math:`m_t` is the largest
emission log-probability among the states *reachable* at ``t``
(:math:`\hat p_t(j) > 0`); unreachable states get :math:`f_{tj} = 0`. Scaling by
the reachable maximum keeps the normaliser
:math:`c_t = \sum_j \hat p_t(j) f_{tj} \ge \hat p_t(j^*)` away from underflow even
when an unreachable state explains :math:`x_t` far better (left-right models), and
the log-likelihood is kept exactly as :math:`\sum_t (\log c_t + m_t)`.

Scaled messages hold one step's state distribution in one float64 vector, as in
every scaled implementation (hmmlearn's ``implementation="scaling"``, dynamax): a
state whose filtered probability falls below ~1e-308 of the most probable state's
(one observation favouring other states by more than ~700 nats) is flushed to 0.
When transitions into that state from the others are not vanishingly small it is
re-entered at the next step and the loss is negligible; a path can be lost when
structural (or vanishing) transition probabilities prevent re-entry and later data
prove the flushed state right.

The backward pass accumulates the expected transition counts
:math:`\sum_t \xi_t(i, j)` on the fly into a (K, K) array, so memory stays O(nK).
A sequence that has probability zero under the parameters (an observation that no
reachable state can emit) gets log-likelihood ``-inf`` and zero posteriors; the
Python caller turns that into an error message.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["forward_backward", "forward_log_likelihood", "viterbi"]


@njit(cache=True, nogil=True)
def _forward(log_emission, t0, t1, startprob, transmat, alpha, frames, scale, pred):
    """Scaled forward pass over rows t0:t1; returns log p(x_{t0:t1}) or -inf."""
    K = startprob.shape[0]
    log_lik = 0.0
    for t in range(t0, t1):
        if t == t0:
            for j in range(K):
                pred[j] = startprob[j]
        else:
            for j in range(K):
                pred[j] = 0.0
            for i in range(K):
                a = alpha[t - 1, i]
                if a == 0.0:
                    continue
                for j in range(K):
                    pred[j] += a * transmat[i, j]
        m = -np.inf
        for j in range(K):
            if pred[j] > 0.0 and log_emission[t, j] > m:
                m = log_emission[t, j]
        if m == -np.inf:
            return -np.inf
        c = 0.0
        for j in range(K):
            f = np.exp(log_emission[t, j] - m) if pred[j] > 0.0 else 0.0
            frames[t, j] = f
            v = pred[j] * f
            alpha[t, j] = v
            c += v
        if not c > 0.0:
            return -np.inf
        inv = 1.0 / c
        for j in range(K):
            alpha[t, j] *= inv
        scale[t] = c
        log_lik += np.log(c) + m
    return log_lik


@njit(cache=True, nogil=True)
def _forward_backward_kernel(
    log_emission,
    offsets,
    startprob,
    transmat,
    seq_weight,
    alpha,
    frames,
    scale,
    posterior,
    log_lik,
    start_counts,
    trans_counts,
):
    """``posterior`` is (K, n): every state's marginals are contiguous, the layout in
    which the families' per-state loops (a column of the (n, K) transpose) run fastest."""
    K = startprob.shape[0]
    pred = np.empty(K)
    tmp = np.empty(K)
    beta_next = np.empty(K)
    beta_cur = np.empty(K)
    for s in range(offsets.shape[0] - 1):
        t0, t1 = offsets[s], offsets[s + 1]
        ll = _forward(log_emission, t0, t1, startprob, transmat, alpha, frames, scale, pred)
        log_lik[s] = ll
        if ll == -np.inf:
            for j in range(K):
                for t in range(t0, t1):
                    posterior[j, t] = 0.0
            continue
        w = seq_weight[s]
        for j in range(K):
            beta_next[j] = 1.0
            posterior[j, t1 - 1] = alpha[t1 - 1, j]
        for t in range(t1 - 2, t0 - 1, -1):
            inv = 1.0 / scale[t + 1]
            for j in range(K):
                tmp[j] = frames[t + 1, j] * beta_next[j] * inv
            for i in range(K):
                a = alpha[t, i]
                wa = w * a
                b = 0.0
                for j in range(K):
                    v = transmat[i, j] * tmp[j]
                    b += v
                    trans_counts[i, j] += wa * v
                beta_cur[i] = b
                posterior[i, t] = a * b
            for j in range(K):
                beta_next[j] = beta_cur[j]
        for j in range(K):
            start_counts[j] += w * posterior[j, t0]


@njit(cache=True, nogil=True)
def _forward_only_kernel(log_emission, offsets, startprob, transmat, alpha, frames, scale, log_lik):
    pred = np.empty(startprob.shape[0])
    for s in range(offsets.shape[0] - 1):
        log_lik[s] = _forward(
            log_emission,
            offsets[s],
            offsets[s + 1],
            startprob,
            transmat,
            alpha,
            frames,
            scale,
            pred,
        )


@njit(cache=True, nogil=True)
def _viterbi_kernel(log_emission, offsets, log_startprob, log_transmat, path, log_prob):
    n, K = log_emission.shape
    backpointer = np.empty((n, K), dtype=np.int64)
    delta = np.empty(K)
    delta_new = np.empty(K)
    for s in range(offsets.shape[0] - 1):
        t0, t1 = offsets[s], offsets[s + 1]
        for j in range(K):
            delta[j] = log_startprob[j] + log_emission[t0, j]
        for t in range(t0 + 1, t1):
            for j in range(K):
                best = -np.inf
                arg = 0
                for i in range(K):
                    v = delta[i] + log_transmat[i, j]
                    if v > best:
                        best = v
                        arg = i
                delta_new[j] = best + log_emission[t, j]
                backpointer[t, j] = arg
            for j in range(K):
                delta[j] = delta_new[j]
        best = -np.inf
        state = 0
        for j in range(K):
            if delta[j] > best:
                best = delta[j]
                state = j
        log_prob[s] = best
        path[t1 - 1] = state
        for t in range(t1 - 1, t0, -1):
            state = backpointer[t, state]
            path[t - 1] = state


def _prepare(log_emission, offsets, *arrays):
    log_emission = np.ascontiguousarray(log_emission, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return (log_emission, offsets, *(np.ascontiguousarray(a, dtype=np.float64) for a in arrays))


def forward_backward(log_emission, offsets, startprob, transmat, seq_weight=None):
    """Posterior marginals and expected counts of every sequence.

    Parameters
    ----------
    log_emission : ndarray of shape (n, K)
        Emission log-probabilities log p(x_t | z_t = k); ``-inf`` allowed.
    offsets : ndarray of shape (S + 1,)
        Sequence s is rows ``offsets[s]:offsets[s + 1]`` (each non-empty).
    startprob : ndarray of shape (K,)
    transmat : ndarray of shape (K, K)
    seq_weight : ndarray of shape (S,), optional
        Weight of every sequence in ``start_counts`` and ``trans_counts``.

    Returns
    -------
    log_lik : ndarray of shape (S,)
        log p(x of sequence s); ``-inf`` for a sequence of probability zero.
    gamma : ndarray of shape (n, K), Fortran-ordered
        Posterior marginals p(z_t = k | x) (unweighted; zero rows for a sequence
        of probability zero). Column-major, so that every state's column is
        contiguous for the families' statistics.
    start_counts : ndarray of shape (K,)
        sum_s w_s gamma_{s,0}.
    trans_counts : ndarray of shape (K, K)
        sum_s w_s sum_t p(z_t = i, z_{t+1} = j | x).
    """
    log_emission, offsets, startprob, transmat = _prepare(
        log_emission, offsets, startprob, transmat
    )
    n, K = log_emission.shape
    S = offsets.shape[0] - 1
    seq_weight = (
        np.ones(S) if seq_weight is None else np.ascontiguousarray(seq_weight, dtype=np.float64)
    )
    alpha = np.empty((n, K))
    frames = np.empty((n, K))
    scale = np.empty(n)
    posterior = np.empty((K, n))
    log_lik = np.empty(S)
    start_counts = np.zeros(K)
    trans_counts = np.zeros((K, K))
    _forward_backward_kernel(
        log_emission,
        offsets,
        startprob,
        transmat,
        seq_weight,
        alpha,
        frames,
        scale,
        posterior,
        log_lik,
        start_counts,
        trans_counts,
    )
    return log_lik, posterior.T, start_counts, trans_counts


def forward_log_likelihood(log_emission, offsets, startprob, transmat):
    """log p(x) of every sequence, shape (S,), by the forward pass alone."""
    log_emission, offsets, startprob, transmat = _prepare(
        log_emission, offsets, startprob, transmat
    )
    n, K = log_emission.shape
    log_lik = np.empty(offsets.shape[0] - 1)
    _forward_only_kernel(
        log_emission,
        offsets,
        startprob,
        transmat,
        np.empty((n, K)),
        np.empty((n, K)),
        np.empty(n),
        log_lik,
    )
    return log_lik


def viterbi(log_emission, offsets, startprob, transmat):
    """Most probable state path of every sequence.

    Returns
    -------
    log_prob : ndarray of shape (S,)
        max_z log p(x, z) of every sequence (``-inf`` if every path is impossible).
    path : ndarray of shape (n,)
        The maximising states, sequences back to back (ties go to the lowest state).
    """
    with np.errstate(divide="ignore"):
        log_startprob = np.log(startprob)
        log_transmat = np.log(transmat)
    log_emission, offsets, log_startprob, log_transmat = _prepare(
        log_emission, offsets, log_startprob, log_transmat
    )
    path = np.empty(log_emission.shape[0], dtype=np.int64)
    log_prob = np.empty(offsets.shape[0] - 1)
    _viterbi_kernel(log_emission, offsets, log_startprob, log_transmat, path, log_prob)
    return log_prob, path
