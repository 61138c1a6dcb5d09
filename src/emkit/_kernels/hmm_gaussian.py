r"""Baum-Welch E-step of a Gaussian HMM, fused into one compiled pass per sequence.

The generic E-step (:mod:`emkit._kernels.hmm`) receives an (n, K) array of emission
log-densities, writes (n, K) posteriors, and the family then sums its statistics from
them: several passes over (n, K) arrays that do not stay in cache. Here a sequence is
processed in time blocks of ``BLOCK`` steps. For every block the Gaussian
log-densities are computed (vectorised over time, state by state) into a (K, BLOCK)
buffer and turned into emission factors there; the forward recursion then consumes
them while they are in cache. The backward recursion walks the blocks in reverse,
writes the block's posterior marginals into a (K, BLOCK) buffer and sums them into
the Gaussian moments before moving on. Nothing of size (n, K) is built except alpha
and the emission factors of the longest sequence (kept per thread between calls).

The recursion is the one of :mod:`emkit._kernels.hmm` (scaled messages; emission
factors :math:`f_{tk} = \exp(\log p(x_t \mid k) - m_t)` with :math:`m_t` the largest
log-density among the states reachable at ``t``; log-likelihood
:math:`\sum_t \log c_t + m_t`). Only the order of the floating-point operations
differs:

* log-densities are computed directly,
  :math:`-\tfrac12 (D \log 2\pi + \lVert (x_t - \mu_k) L_k \rVert^2) + \log\lvert L_k\rvert`
  with the upper-triangular precision Cholesky factor :math:`L_k`
  (:math:`L_k L_k^\top = \Sigma_k^{-1}`), or its diagonal for diagonal covariances;
* when every start and transition probability is positive, every state is reachable
  at every step, so :math:`m_t` is the maximum over all states and the emission
  factors of a whole block are computed before the recursion, with a vectorised
  exponential (:func:`_exp_nonpositive`, within 1 ulp of ``np.exp``'s value on
  normal numbers); otherwise reachability is decided step by step as in the generic
  kernel;
* up to 8 states are padded to P = 8 lanes (padding states have zero probabilities
  and factors, so their messages are exactly 0) and the recursions hold the lanes in
  scalars (registers); the forward recursion carries the unnormalised
  :math:`u_t = \hat p_t f_t`, so the division by :math:`c_t` runs beside the next
  matrix-vector product; more states take plain loops;
* :math:`\sum_t \log c_t` takes one logarithm per eight steps (of their product)
  when no normaliser can fall below 1e-38;
* the expected transition counts are accumulated per block as dot products along
  time, :math:`M_{ij} = \sum_t w\,\hat\alpha_{t-1}(i)\, f_{tj} \hat\beta_t(j) / c_t`,
  and multiplied by :math:`A_{ij}` once at the end;
* the moments and the counts of a block are summed in an order the compiler may
  vectorise (floating-point reassociation within a block, the same in every run and
  for any number of threads, which only ever split the data between whole chunks).

The Gaussian statistics are the moments about the E-step's means (the family's
``shift``): :math:`\sum_t w\gamma_{tk}`, :math:`\sum_t w\gamma_{tk} (x_t - \mu_k)` and
:math:`\sum_t w\gamma_{tk} (x_t - \mu_k)^{\circ 2}` (diagonal) or the upper triangle of
:math:`\sum_t w\gamma_{tk} (x_t - \mu_k)(x_t - \mu_k)^\top` (full; mirrored by the
wrapper, so exactly symmetric).

A sequence of probability zero under the parameters, or one whose log-density is not
finite under every reachable state (NaN in X included), gets log-likelihood ``-inf``,
the kernel stops there, and the caller runs the generic path for the whole chunk,
which names the problem.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit

__all__ = ["BLOCK", "gaussian_e_step"]

#: Time steps per block: the block's buffers, (K + 2 D) x BLOCK floats, stay in L1/L2.
BLOCK = 256

_LOG_2PI = math.log(2.0 * math.pi)
_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**20 (Cody & Waite)
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10
_C = [1.0 / math.factorial(i) for i in range(14)]
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C[2:]

# contract: fused multiply-adds (one rounding instead of two; never less accurate)
_FMA = {"contract"}
_REDUCE = {"contract", "reassoc"}


@njit(cache=True, nogil=True, fastmath=_FMA)
def _exp_nonpositive(values, n, bits_high, bits_low):
    """values[:n] = exp(values[:n]) for values <= 0 (-inf allowed), in a loop the
    compiler vectorises (``np.exp`` is a scalar libm call in numba).

    Cody-Waite reduction x = k ln 2 + r, |r| <= ln 2 / 2, a degree-13 Taylor polynomial
    (truncation error below 2e-17 relative) and 2**k as the product of two powers of
    two built from their exponent bits, so that results down to the subnormal range
    are correctly scaled. ``bits_high`` and ``bits_low`` are int64 scratch (n,).
    """
    for i in range(n):
        x = max(values[i], -746.0)  # exp(-746) is 0 in float64
        k = np.floor(x * _LOG2E + 0.5)
        r = (x - k * _LN2_HI) - k * _LN2_LO
        p = _C13
        p = p * r + _C12
        p = p * r + _C11
        p = p * r + _C10
        p = p * r + _C9
        p = p * r + _C8
        p = p * r + _C7
        p = p * r + _C6
        p = p * r + _C5
        p = p * r + _C4
        p = p * r + _C3
        p = p * r + _C2
        p = p * r + 1.0
        p = p * r + 1.0
        k_high = np.floor(k * 0.5)
        bits_high[i] = (np.int64(k_high) + 1023) << 52
        bits_low[i] = (np.int64(k - k_high) + 1023) << 52
        values[i] = p
    high = bits_high.view(np.float64)
    low = bits_low.view(np.float64)
    for i in range(n):
        values[i] = values[i] * high[i] * low[i]


@njit(cache=True, nogil=True)
def _load_block(X, t, nr, XT):
    """XT[d, r] = X[t + r, d] for r < nr: the block's observations, time innermost."""
    D = X.shape[1]
    for r in range(nr):
        for d in range(D):
            XT[d, r] = X[t + r, d]


@njit(cache=True, nogil=True, fastmath=_FMA)
def _log_density_block(XT, nr, means, prec, log_norm, full, dx, y, F):
    """F[k, r] = log N(x_r | mu_k, Sigma_k) for r < nr; dx (D, BLOCK), y (BLOCK,) scratch."""
    K, D = means.shape
    for k in range(K):
        row = F[k]
        for r in range(nr):
            row[r] = 0.0
        if full:
            for i in range(D):
                mu = means[k, i]
                for r in range(nr):
                    dx[i, r] = XT[i, r] - mu
            # y_j = sum_{i <= j} dx_i L_ij (L upper triangular)
            for j in range(D):
                for r in range(nr):
                    y[r] = 0.0
                for i in range(j + 1):
                    lij = prec[k, i, j]
                    for r in range(nr):
                        y[r] += dx[i, r] * lij
                for r in range(nr):
                    row[r] += y[r] * y[r]
        else:
            for i in range(D):
                mu = means[k, i]
                p = prec[k, 0, i]
                for r in range(nr):
                    z = (XT[i, r] - mu) * p
                    row[r] += z * z
        c = log_norm[k]
        for r in range(nr):
            row[r] = c - 0.5 * row[r]


@njit(cache=True, nogil=True)
def _factors_block(F, K, nr, log_max, bits_high, bits_low):
    """Every state reachable: log_max[r] = max_k F[k, r], F[k, r] = exp(F[k, r] - log_max[r])
    for the K states (rows) of F."""
    for r in range(nr):
        log_max[r] = F[0, r]
    for k in range(1, K):
        for r in range(nr):
            log_max[r] = max(log_max[r], F[k, r])
    for k in range(K):
        row = F[k]
        for r in range(nr):
            row[r] = row[r] - log_max[r]
        _exp_nonpositive(row, nr, bits_high, bits_low)


@njit(cache=True, nogil=True)
def _moments_block(XT, G, nr, means, full, dx, sum_w, sum_dx, sum_dxx):
    """Add the block's moments: G (K, BLOCK) holds w gamma_{rk}."""
    K = means.shape[0]
    for k in range(K):
        g = G[k]
        _add_moments(XT, g, nr, means[k], full, dx, k, sum_w, sum_dx, sum_dxx)


@njit(cache=True, nogil=True, fastmath=_REDUCE)
def _add_moments(XT, g, nr, mean, full, dx, k, sum_w, sum_dx, sum_dxx):
    D = mean.shape[0]
    total = 0.0
    for r in range(nr):
        total += g[r]
    sum_w[k] += total
    for i in range(D):
        mu = mean[i]
        first = 0.0
        second = 0.0
        for r in range(nr):
            e = XT[i, r] - mu
            ge = g[r] * e
            dx[i, r] = e
            first += ge
            second += ge * e
        sum_dx[k, i] += first
        sum_dxx[k, i, i] += second
    if full:
        for i in range(D):
            for j in range(i + 1, D):
                cross = 0.0
                for r in range(nr):
                    cross += g[r] * dx[i, r] * dx[j, r]
                sum_dxx[k, i, j] += cross


@njit(cache=True, nogil=True)
def _emission_block(
    X,
    t,
    nr,
    dense,
    means,
    prec,
    log_norm,
    full,
    XT,
    dx,
    y,
    F,
    log_max,
    bits_high,
    bits_low,
    frames,
    r0,
):
    """Rows t:t + nr: frames[r0 + r, k] = f_{rk} when every state is reachable (and
    log_max[r] = m_r), else the log-densities (the recursion decides m_r)."""
    K = means.shape[0]
    _load_block(X, t, nr, XT)
    _log_density_block(XT, nr, means, prec, log_norm, full, dx, y, F)
    if dense:
        _factors_block(F, K, nr, log_max, bits_high, bits_low)
    P = F.shape[0]
    for r in range(nr):
        for k in range(P):
            frames[r0 + r, k] = F[k, r]


@njit(cache=True, nogil=True, inline="always")
def _reachable_factors(f, K, p0, p1, p2, p3, p4, p5, p6, p7):
    """Some state may be unreachable: m = the largest log-density f[j] among the states
    with p_j > 0, f[j] = exp(f[j] - m) there and 0 elsewhere; m = -inf if none is."""
    pred = (p0, p1, p2, p3, p4, p5, p6, p7)
    return _reachable(f, K, pred)


@njit(cache=True, nogil=True)
def _reachable(f, K, pred):
    m = -np.inf
    for j in range(K):
        if pred[j] > 0.0:
            m = max(m, f[j])
    if not np.isfinite(m):
        return -np.inf
    for j in range(K):
        f[j] = np.exp(f[j] - m) if pred[j] > 0.0 else 0.0
    return m


@njit(cache=True, nogil=True, fastmath=_REDUCE)
def _transitions_block(alpha, r0, nr, Q, w, K, AB, trans_m):
    """trans_m[i, j] += w sum_r alpha[r0 + r - 1, i] Q[j, r] over the block's steps with
    a predecessor: 64 dot products along time (vectorised) instead of a (P, P) update in
    memory at every step of the backward recursion."""
    P = Q.shape[0]
    first = 1 if r0 == 0 else 0
    m = nr - first
    if m <= 0:
        return
    for r in range(m):
        for i in range(P):
            AB[i, r] = alpha[r0 + first + r - 1, i]
    for i in range(K):
        a = AB[i]
        for j in range(P):
            q = Q[j]
            total = 0.0
            for r in range(m):
                total += a[r] * q[first + r]
            trans_m[i, j] += w * total


@njit(cache=True, nogil=True)
def _block_log(scale, log_max, nr, grouped):
    """sum_r log(scale[r]) + log_max[r] over a block, after its recursion (off the critical
    path). ``grouped``: every normaliser is at least 1e-38 (all start and transition
    probabilities are, and the best state's factor is 1), so a product of eight stays a
    normal number and one logarithm serves eight steps."""
    total = 0.0
    r = 0
    if grouped:
        while r + 8 <= nr:
            product = ((scale[r] * scale[r + 1]) * (scale[r + 2] * scale[r + 3])) * (
                (scale[r + 4] * scale[r + 5]) * (scale[r + 6] * scale[r + 7])
            )
            total += np.log(product)
            r += 8
    while r < nr:
        total += np.log(scale[r])
        r += 1
    for r in range(nr):
        total += log_max[r]
    return total


@njit(cache=True, nogil=True, fastmath=_FMA)
def _recursions8(
    X,
    t0,
    T,
    w,
    startprob,
    transmat,
    dense,
    means,
    prec,
    log_norm,
    full,
    alpha,
    frames,
    inv_scale,
    F,
    log_max,
    XT,
    dx,
    y,
    G,
    bits_high,
    bits_low,
    sum_start,
    trans_m,
    sum_w,
    sum_dx,
    sum_dxx,
    scale,
    Q,
    AB,
    grouped,
):
    r"""The recursions of one sequence (rows t0:t0 + T) for P = 8 states, every per-state
    vector held in eight scalars (registers); returns its log-likelihood or -inf. The
    forward recursion carries the unnormalised
    :math:`u_t = \hat p_t f_t` so that the normaliser's division runs beside the next
    step's matrix product instead of before it."""
    K = means.shape[0]
    B = XT.shape[1]
    n_blocks = (T + B - 1) // B
    log_lik = 0.0
    inv = 1.0
    u0 = 0.0
    u1 = 0.0
    u2 = 0.0
    u3 = 0.0
    u4 = 0.0
    u5 = 0.0
    u6 = 0.0
    u7 = 0.0
    for b in range(n_blocks):
        r0 = b * B
        nr = min(B, T - r0)
        _emission_block(
            X,
            t0 + r0,
            nr,
            dense,
            means,
            prec,
            log_norm,
            full,
            XT,
            dx,
            y,
            F,
            log_max,
            bits_high,
            bits_low,
            frames,
            r0,
        )
        for r in range(nr):
            rg = r0 + r
            if rg == 0:
                p0 = startprob[0]
                p1 = startprob[1]
                p2 = startprob[2]
                p3 = startprob[3]
                p4 = startprob[4]
                p5 = startprob[5]
                p6 = startprob[6]
                p7 = startprob[7]
            else:
                # p = (u_{t-1} A) / c_{t-1}, each sum in two chains (even and odd i)
                p0 = (
                    (
                        u0 * transmat[0, 0]
                        + u2 * transmat[2, 0]
                        + u4 * transmat[4, 0]
                        + u6 * transmat[6, 0]
                    )
                    + (
                        u1 * transmat[1, 0]
                        + u3 * transmat[3, 0]
                        + u5 * transmat[5, 0]
                        + u7 * transmat[7, 0]
                    )
                ) * inv
                p1 = (
                    (
                        u0 * transmat[0, 1]
                        + u2 * transmat[2, 1]
                        + u4 * transmat[4, 1]
                        + u6 * transmat[6, 1]
                    )
                    + (
                        u1 * transmat[1, 1]
                        + u3 * transmat[3, 1]
                        + u5 * transmat[5, 1]
                        + u7 * transmat[7, 1]
                    )
                ) * inv
                p2 = (
                    (
                        u0 * transmat[0, 2]
                        + u2 * transmat[2, 2]
                        + u4 * transmat[4, 2]
                        + u6 * transmat[6, 2]
                    )
                    + (
                        u1 * transmat[1, 2]
                        + u3 * transmat[3, 2]
                        + u5 * transmat[5, 2]
                        + u7 * transmat[7, 2]
                    )
                ) * inv
                p3 = (
                    (
                        u0 * transmat[0, 3]
                        + u2 * transmat[2, 3]
                        + u4 * transmat[4, 3]
                        + u6 * transmat[6, 3]
                    )
                    + (
                        u1 * transmat[1, 3]
                        + u3 * transmat[3, 3]
                        + u5 * transmat[5, 3]
                        + u7 * transmat[7, 3]
                    )
                ) * inv
                p4 = (
                    (
                        u0 * transmat[0, 4]
                        + u2 * transmat[2, 4]
                        + u4 * transmat[4, 4]
                        + u6 * transmat[6, 4]
                    )
                    + (
                        u1 * transmat[1, 4]
                        + u3 * transmat[3, 4]
                        + u5 * transmat[5, 4]
                        + u7 * transmat[7, 4]
                    )
                ) * inv
                p5 = (
                    (
                        u0 * transmat[0, 5]
                        + u2 * transmat[2, 5]
                        + u4 * transmat[4, 5]
                        + u6 * transmat[6, 5]
                    )
                    + (
                        u1 * transmat[1, 5]
                        + u3 * transmat[3, 5]
                        + u5 * transmat[5, 5]
                        + u7 * transmat[7, 5]
                    )
                ) * inv
                p6 = (
                    (
                        u0 * transmat[0, 6]
                        + u2 * transmat[2, 6]
                        + u4 * transmat[4, 6]
                        + u6 * transmat[6, 6]
                    )
                    + (
                        u1 * transmat[1, 6]
                        + u3 * transmat[3, 6]
                        + u5 * transmat[5, 6]
                        + u7 * transmat[7, 6]
                    )
                ) * inv
                p7 = (
                    (
                        u0 * transmat[0, 7]
                        + u2 * transmat[2, 7]
                        + u4 * transmat[4, 7]
                        + u6 * transmat[6, 7]
                    )
                    + (
                        u1 * transmat[1, 7]
                        + u3 * transmat[3, 7]
                        + u5 * transmat[5, 7]
                        + u7 * transmat[7, 7]
                    )
                ) * inv
            if dense:
                m = log_max[r]
            else:
                m = _reachable_factors(frames[rg], K, p0, p1, p2, p3, p4, p5, p6, p7)
                if m == -np.inf:
                    return -np.inf
            u0 = p0 * frames[rg, 0]
            u1 = p1 * frames[rg, 1]
            u2 = p2 * frames[rg, 2]
            u3 = p3 * frames[rg, 3]
            u4 = p4 * frames[rg, 4]
            u5 = p5 * frames[rg, 5]
            u6 = p6 * frames[rg, 6]
            u7 = p7 * frames[rg, 7]
            c = ((u0 + u1) + (u2 + u3)) + ((u4 + u5) + (u6 + u7))
            if not (c > 0.0 and np.isfinite(m)):
                return -np.inf
            inv = 1.0 / c
            alpha[rg, 0] = u0 * inv
            alpha[rg, 1] = u1 * inv
            alpha[rg, 2] = u2 * inv
            alpha[rg, 3] = u3 * inv
            alpha[rg, 4] = u4 * inv
            alpha[rg, 5] = u5 * inv
            alpha[rg, 6] = u6 * inv
            alpha[rg, 7] = u7 * inv
            inv_scale[rg] = inv
            scale[r] = c
            log_max[r] = m
        log_lik += _block_log(scale, log_max, nr, grouped)
    b0 = 1.0
    b1 = 1.0
    b2 = 1.0
    b3 = 1.0
    b4 = 1.0
    b5 = 1.0
    b6 = 1.0
    b7 = 1.0
    for b in range(n_blocks - 1, -1, -1):
        r0 = b * B
        nr = min(B, T - r0)
        for r in range(nr - 1, -1, -1):
            rg = r0 + r
            # gamma_t = alpha_t beta_t (both scaled: it sums to 1)
            G[0, r] = w * alpha[rg, 0] * b0
            G[1, r] = w * alpha[rg, 1] * b1
            G[2, r] = w * alpha[rg, 2] * b2
            G[3, r] = w * alpha[rg, 3] * b3
            G[4, r] = w * alpha[rg, 4] * b4
            G[5, r] = w * alpha[rg, 5] * b5
            G[6, r] = w * alpha[rg, 6] * b6
            G[7, r] = w * alpha[rg, 7] * b7
            if rg == 0:
                for k in range(K):
                    sum_start[k] += G[k, 0]
                break
            inv = inv_scale[rg]
            q0 = (frames[rg, 0] * inv) * b0
            q1 = (frames[rg, 1] * inv) * b1
            q2 = (frames[rg, 2] * inv) * b2
            q3 = (frames[rg, 3] * inv) * b3
            q4 = (frames[rg, 4] * inv) * b4
            q5 = (frames[rg, 5] * inv) * b5
            q6 = (frames[rg, 6] * inv) * b6
            q7 = (frames[rg, 7] * inv) * b7
            b0 = (
                transmat[0, 0] * q0
                + transmat[0, 2] * q2
                + transmat[0, 4] * q4
                + transmat[0, 6] * q6
            ) + (
                transmat[0, 1] * q1
                + transmat[0, 3] * q3
                + transmat[0, 5] * q5
                + transmat[0, 7] * q7
            )
            b1 = (
                transmat[1, 0] * q0
                + transmat[1, 2] * q2
                + transmat[1, 4] * q4
                + transmat[1, 6] * q6
            ) + (
                transmat[1, 1] * q1
                + transmat[1, 3] * q3
                + transmat[1, 5] * q5
                + transmat[1, 7] * q7
            )
            b2 = (
                transmat[2, 0] * q0
                + transmat[2, 2] * q2
                + transmat[2, 4] * q4
                + transmat[2, 6] * q6
            ) + (
                transmat[2, 1] * q1
                + transmat[2, 3] * q3
                + transmat[2, 5] * q5
                + transmat[2, 7] * q7
            )
            b3 = (
                transmat[3, 0] * q0
                + transmat[3, 2] * q2
                + transmat[3, 4] * q4
                + transmat[3, 6] * q6
            ) + (
                transmat[3, 1] * q1
                + transmat[3, 3] * q3
                + transmat[3, 5] * q5
                + transmat[3, 7] * q7
            )
            b4 = (
                transmat[4, 0] * q0
                + transmat[4, 2] * q2
                + transmat[4, 4] * q4
                + transmat[4, 6] * q6
            ) + (
                transmat[4, 1] * q1
                + transmat[4, 3] * q3
                + transmat[4, 5] * q5
                + transmat[4, 7] * q7
            )
            b5 = (
                transmat[5, 0] * q0
                + transmat[5, 2] * q2
                + transmat[5, 4] * q4
                + transmat[5, 6] * q6
            ) + (
                transmat[5, 1] * q1
                + transmat[5, 3] * q3
                + transmat[5, 5] * q5
                + transmat[5, 7] * q7
            )
            b6 = (
                transmat[6, 0] * q0
                + transmat[6, 2] * q2
                + transmat[6, 4] * q4
                + transmat[6, 6] * q6
            ) + (
                transmat[6, 1] * q1
                + transmat[6, 3] * q3
                + transmat[6, 5] * q5
                + transmat[6, 7] * q7
            )
            b7 = (
                transmat[7, 0] * q0
                + transmat[7, 2] * q2
                + transmat[7, 4] * q4
                + transmat[7, 6] * q6
            ) + (
                transmat[7, 1] * q1
                + transmat[7, 3] * q3
                + transmat[7, 5] * q5
                + transmat[7, 7] * q7
            )
            Q[0, r] = q0
            Q[1, r] = q1
            Q[2, r] = q2
            Q[3, r] = q3
            Q[4, r] = q4
            Q[5, r] = q5
            Q[6, r] = q6
            Q[7, r] = q7
        _transitions_block(alpha, r0, nr, Q, w, K, AB, trans_m)
        _load_block(X, t0 + r0, nr, XT)
        _moments_block(XT, G, nr, means, full, dx, sum_w, sum_dx, sum_dxx)
    return log_lik


@njit(cache=True, nogil=True, fastmath=_FMA)
def _recursions(
    X,
    t0,
    T,
    w,
    startprob,
    transmat,
    transmat_T,
    dense,
    means,
    prec,
    log_norm,
    full,
    alpha,
    frames,
    inv_scale,
    F,
    log_max,
    XT,
    dx,
    y,
    G,
    bits_high,
    bits_low,
    pred,
    beta,
    tmp,
    sum_start,
    trans_m,
    sum_w,
    sum_dx,
    sum_dxx,
):
    """The recursions of one sequence for any number P of states (loops over states)."""
    K = means.shape[0]
    P = startprob.shape[0]
    B = XT.shape[1]
    n_blocks = (T + B - 1) // B
    log_lik = 0.0
    for b in range(n_blocks):
        r0 = b * B
        nr = min(B, T - r0)
        _emission_block(
            X,
            t0 + r0,
            nr,
            dense,
            means,
            prec,
            log_norm,
            full,
            XT,
            dx,
            y,
            F,
            log_max,
            bits_high,
            bits_low,
            frames,
            r0,
        )
        for r in range(nr):
            rg = r0 + r
            if rg == 0:
                for j in range(P):
                    pred[j] = startprob[j]
            else:
                for j in range(P):
                    pred[j] = 0.0
                for i in range(P):
                    u = alpha[rg - 1, i]
                    for j in range(P):
                        pred[j] += u * transmat[i, j]
            f = frames[rg]
            if dense:
                m = log_max[r]
            else:
                m = _reachable(f, K, pred)
                if m == -np.inf:
                    return -np.inf
            c = 0.0
            a = alpha[rg]
            for j in range(P):
                v = pred[j] * f[j]
                a[j] = v
                c += v
            if not (c > 0.0 and np.isfinite(m)):
                return -np.inf
            inv = 1.0 / c
            for j in range(P):
                a[j] *= inv
            inv_scale[rg] = inv
            log_lik += np.log(c) + m
    for k in range(P):
        beta[k] = 1.0
    for b in range(n_blocks - 1, -1, -1):
        r0 = b * B
        nr = min(B, T - r0)
        for r in range(nr - 1, -1, -1):
            rg = r0 + r
            a = alpha[rg]
            for k in range(K):
                G[k, r] = w * a[k] * beta[k]
            if rg == 0:
                for k in range(K):
                    sum_start[k] += G[k, 0]
                break
            inv = inv_scale[rg]
            f = frames[rg]
            for j in range(P):
                tmp[j] = f[j] * beta[j] * inv
            for i in range(P):
                beta[i] = 0.0
            for j in range(P):
                v = tmp[j]
                for i in range(P):
                    beta[i] += transmat_T[j, i] * v
            a = alpha[rg - 1]
            for i in range(K):
                u = w * a[i]
                row = trans_m[i]
                for j in range(P):
                    row[j] += u * tmp[j]
        _load_block(X, t0 + r0, nr, XT)
        _moments_block(XT, G, nr, means, full, dx, sum_w, sum_dx, sum_dxx)
    return log_lik


@njit(cache=True, nogil=True)
def _e_step_kernel(
    X,
    offsets,
    seq_weight,
    startprob,
    transmat,
    transmat_T,
    dense,
    means,
    prec,
    log_norm,
    full,
    alpha,
    frames,
    inv_scale,
    log_lik,
    sum_start,
    trans_m,
    sum_w,
    sum_dx,
    sum_dxx,
    grouped,
):
    D = X.shape[1]
    P = startprob.shape[0]
    B = BLOCK
    F = np.zeros((P, B))  # padding rows stay 0
    log_max = np.empty(B)
    scale = np.empty(B)
    Q = np.empty((P, B))
    AB = np.empty((P, B))
    XT = np.empty((D, B))
    dx = np.empty((D, B))
    y = np.empty(B)
    G = np.empty((P, B))
    bits_high = np.empty(B, dtype=np.int64)
    bits_low = np.empty(B, dtype=np.int64)
    pred = np.empty(P)
    beta = np.empty(P)
    tmp = np.empty(P)
    for s in range(offsets.shape[0] - 1):
        t0, T, w = offsets[s], offsets[s + 1] - offsets[s], seq_weight[s]
        if P == 8:
            log_lik[s] = _recursions8(
                X, t0, T, w, startprob, transmat, dense, means, prec, log_norm, full, alpha,
                frames, inv_scale, F, log_max, XT, dx, y, G, bits_high, bits_low, sum_start,
                trans_m, sum_w, sum_dx, sum_dxx, scale, Q, AB, grouped,
            )  # fmt: skip
        else:
            log_lik[s] = _recursions(
                X, t0, T, w, startprob, transmat, transmat_T, dense, means, prec, log_norm,
                full, alpha, frames, inv_scale, F, log_max, XT, dx, y, G, bits_high, bits_low,
                pred, beta, tmp, sum_start, trans_m, sum_w, sum_dx, sum_dxx,
            )  # fmt: skip
        if log_lik[s] == -np.inf:
            # the caller takes the general path for the whole chunk: stop here
            for rest in range(s + 1, offsets.shape[0] - 1):
                log_lik[rest] = -np.inf
            return


#: Work arrays up to this size are kept per thread between calls: EM calls the kernel on
#: the same chunks every iteration, and first touching fresh pages of a long sequence's
#: alpha and factors cost a quarter of the E-step.
SCRATCH_LIMIT_BYTES = 1 << 27

_scratch = threading.local()


def _scratch_arrays(rows, P):
    """(alpha (rows, P), frames (rows, P), inv_scale (rows,)): every entry is written
    by the kernel before it is read, so reused memory never leaks into results."""
    need = rows * (2 * P + 1)
    held = getattr(_scratch, "buffer", None)
    if held is None or held.size < need:
        held = np.empty(need)
        if held.nbytes <= SCRATCH_LIMIT_BYTES:
            _scratch.buffer = held
    alpha = held[: rows * P].reshape(rows, P)
    frames = held[rows * P : 2 * rows * P].reshape(rows, P)
    return alpha, frames, held[2 * rows * P : need]


def gaussian_e_step(X, offsets, startprob, transmat, means, prec_chol, full, seq_weight=None):
    """Log-likelihoods and expected statistics of a Gaussian HMM, in one pass.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Observations of all sequences, back to back (finite).
    offsets : ndarray of int of shape (S + 1,)
        Sequence s is rows ``offsets[s]:offsets[s + 1]`` (each non-empty).
    startprob : ndarray of shape (K,)
    transmat : ndarray of shape (K, K)
    means : ndarray of shape (K, D)
    prec_chol : ndarray of shape (K, D, D) if ``full`` else (K, D)
        Upper-triangular precision Cholesky factors, or (diagonal covariances) the
        inverse standard deviations.
    full : bool
    seq_weight : ndarray of shape (S,), optional
        Weight of every sequence in every statistic (default 1).

    Returns
    -------
    log_lik : ndarray of shape (S,)
        log p(x of sequence s). ``-inf`` where the sequence is impossible or a
        log-density is not finite (NaN in X included), and then for every later
        sequence too: the statistics are then incomplete, and the caller is expected
        to take the general path.
    sum_start : ndarray of shape (K,)
    sum_trans : ndarray of shape (K, K)
    sum_w : ndarray of shape (K,)
    sum_dx : ndarray of shape (K, D)
        sum_t w gamma_tk (x_t - means_k)
    sum_dxx : ndarray of shape (K, D, D) if ``full`` else (K, D)
        sum_t w gamma_tk (x_t - means_k)(x_t - means_k)^T (exactly symmetric), or its
        diagonal.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    startprob = np.ascontiguousarray(startprob, dtype=np.float64)
    transmat = np.ascontiguousarray(transmat, dtype=np.float64)
    means = np.ascontiguousarray(means, dtype=np.float64)
    prec_chol = np.asarray(prec_chol, dtype=np.float64)
    K, D = means.shape
    S = offsets.shape[0] - 1
    seq_weight = (
        np.ones(S) if seq_weight is None else np.ascontiguousarray(seq_weight, dtype=np.float64)
    )
    if full:
        diagonals = np.diagonal(prec_chol, axis1=1, axis2=2)
        prec = np.ascontiguousarray(prec_chol)
    else:
        diagonals = prec_chol
        prec = np.ascontiguousarray(prec_chol[:, None, :])
    log_norm = np.log(diagonals).sum(axis=1) - 0.5 * D * _LOG_2PI
    dense = bool(np.all(startprob > 0.0) and np.all(transmat > 0.0))
    grouped = dense and min(startprob.min(), transmat.min()) >= 1e-38
    P = 8 if K <= 8 else -(-K // 4) * 4
    start_padded = np.zeros(P)
    start_padded[:K] = startprob
    trans_padded = np.zeros((P, P))
    trans_padded[:K, :K] = transmat
    longest = int(np.diff(offsets).max()) if S else 0
    log_lik = np.empty(S)
    sum_start = np.zeros(K)
    trans_m = np.zeros((P, P))
    sum_w = np.zeros(K)
    sum_dx = np.zeros((K, D))
    sum_dxx = np.zeros((K, D, D))
    _e_step_kernel(
        X,
        offsets,
        seq_weight,
        start_padded,
        trans_padded,
        np.ascontiguousarray(trans_padded.T),
        dense,
        means,
        prec,
        np.ascontiguousarray(log_norm),
        bool(full),
        *_scratch_arrays(longest, P),
        log_lik,
        sum_start,
        trans_m,
        sum_w,
        sum_dx,
        sum_dxx,
        bool(grouped),
    )
    if full:
        scatter = np.triu(sum_dxx) + np.transpose(np.triu(sum_dxx, 1), (0, 2, 1))
    else:
        scatter = np.diagonal(sum_dxx, axis1=1, axis2=2).copy()
    return log_lik, sum_start, transmat * trans_m[:K, :K], sum_w, sum_dx, scatter
