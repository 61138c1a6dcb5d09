r"""Kalman filter and Rauch-Tung-Striebel smoother for linear-Gaussian state-space models.

The model, for every sequence :math:`t = 1, \dots, T`:

.. math::

    z_1 \sim \mathcal{N}(m_0, P_0), \quad
    z_t = A z_{t-1} + B u_t + w_t, \; w_t \sim \mathcal{N}(0, Q), \quad
    x_t = C z_t + D u_t + v_t, \; v_t \sim \mathcal{N}(0, R).

Missing values in ``X`` are NaN: the update at time ``t`` uses only the observed
coordinates ``o`` (with ``C_o``, ``D_o`` and ``R_oo``), and a step with nothing observed
is a pure prediction. Several sequences are stored end to end; ``offsets`` (length
``n_sequences + 1``) gives their boundaries.

Numerical form, chosen so that covariances stay symmetric positive semi-definite:

* filter update in Joseph form,
  :math:`P_{t|t} = (I - K C_o) P_{t|t-1} (I - K C_o)^\top + K R_{oo} K^\top`, with the
  gain from two triangular solves with the Cholesky factor of the innovation
  covariance :math:`S = C_o P_{t|t-1} C_o^\top + R_{oo}` (never an explicit inverse);
* smoother in the analogous form
  :math:`P_{t|T} = (I - J_t A) P_{t|t} (I - J_t A)^\top + J_t (P_{t+1|T} + Q) J_t^\top`,
  which equals the textbook :math:`P_{t|t} + J_t (P_{t+1|T} - P_{t+1|t}) J_t^\top` but is a
  sum of positive semi-definite terms;
* every covariance formed exactly symmetric: its lower triangle is computed and
  mirrored.

Steady state (:data:`STEADY_STATE_RTOL`): the covariance recursions do not depend on
the data, only on which coordinates are observed, and for a time-invariant model they
converge within tens of steps. Once a completely observed step's predicted covariance
has stopped moving (to the stated relative tolerance), the filter freezes the
covariances, the innovation covariance's factor and the gain, and updates only the means
(its products with ``L^{-1}`` and ``L^{-1} C P``, no Cholesky and no Joseph form); a
missing value ends the steady state and the full recursion resumes. The smoother reuses
its gain where both filtered covariances it depends on are frozen, and freezes its
smoothed covariance once that converges in turn (backwards in time). Moving the
log-likelihood by at most a few 1e-15 relative in the tests, the switch takes the
filter from 6.4 to 1.2 ms on 5,000 steps of 4 states and 8 series (one thread).

:func:`smoothed_statistics` is the E-step: the filter keeps one copy of the covariances
per steady-state run (its (T, k, k) buffers are written only where they change, so their
untouched pages are never allocated) and the smoother adds every step's moments to the
sums as it goes back, without storing its output.

The kernels are compiled by numba and work on C-contiguous float64 arrays allocated by
the thin Python wrappers below (:func:`kalman_filter`, :func:`rts_smoother`,
:func:`expected_statistics`, :func:`smoothed_statistics`). ``_reference_kalman.py`` is
their NumPy twin, used by the tests only (the reference has no steady state; the tests
compare both with the full recursion, ``steady_tol=0``). A diffuse first state is
:mod:`emkit._kernels.diffuse`'s.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "STEADY_STATE_RTOL",
    "FilterResult",
    "SmootherResult",
    "expected_statistics",
    "kalman_filter",
    "rts_smoother",
    "smoothed_states",
    "smoothed_statistics",
]

LOG_2PI = float(np.log(2.0 * np.pi))

#: relative tolerance of the steady-state switch: once a completely observed step's
#: predicted covariance P_{t|t-1} differs from the previous step's by at most this
#: fraction of its largest variance (largest absolute difference of any entry), the
#: filter keeps P_{t|t-1}, P_{t|t}, the gain and the innovation covariance's factor
#: fixed until the sequence ends or a value is missing; the smoother likewise keeps its
#: gain where both filtered covariances it depends on are fixed, and its smoothed
#: covariance once that converges to the same tolerance. statsmodels' filter switches when
#: the squared change of P_{t|t-1} summed over its entries is below 1e-19 (absolute); a
#: relative tolerance does not depend on the data's units. The frozen covariances are
#: within about this tolerance, divided by one minus the filter's contraction rate, of
#: the full recursion's, which moves the log-likelihood by far less than 1e-9 relative
#: (tests/_kernels/test_kalman_kernels.py measures it)
STEADY_STATE_RTOL = 1e-13

# status codes returned by the kernels (with the time index where it happened)
_OK = 0
_INNOVATION_NOT_PD = 1
_PREDICTED_NOT_PD = 2
_OBSERVATION_COVARIANCE_NOT_PD = 3


# -- small dense linear algebra on the leading block of preallocated buffers -------------
@njit(cache=True, nogil=True)
def _cholesky(S, n, L):
    """Lower Cholesky factor of ``S[:n, :n]`` into ``L[:n, :n]``; False if not PD."""
    for j in range(n):
        s = S[j, j]
        for q in range(j):
            s -= L[j, q] * L[j, q]
        if not s > 0.0:  # also catches NaN
            return False
        d = np.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            s = S[i, j]
            for q in range(j):
                s -= L[i, q] * L[j, q]
            L[i, j] = s / d
    return True


@njit(cache=True, nogil=True)
def _solve_lower(L, n, M, ncols):
    """``M[:n, :ncols] <- L^{-1} M`` for lower-triangular ``L``."""
    for c in range(ncols):
        for i in range(n):
            s = M[i, c]
            for q in range(i):
                s -= L[i, q] * M[q, c]
            M[i, c] = s / L[i, i]


@njit(cache=True, nogil=True)
def _solve_lower_transposed(L, n, M, ncols):
    """``M[:n, :ncols] <- L^{-T} M`` for lower-triangular ``L``."""
    for c in range(ncols):
        for i in range(n - 1, -1, -1):
            s = M[i, c]
            for q in range(i + 1, n):
                s -= L[q, i] * M[q, c]
            M[i, c] = s / L[i, i]


@njit(cache=True, nogil=True)
def _observed_indices(x, idx):
    """Indices of the non-NaN entries of ``x`` into ``idx``; returns their number."""
    n = 0
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            idx[n] = i
            n += 1
    return n


# -- filter ------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _filter_kernel(
    X,
    U,
    offsets,
    A,
    B,
    C,
    D,
    Q,
    R,
    m0,
    P0,
    steady_tol,
    compress,
    pred_means,
    pred_covs,
    filt_means,
    filt_covs,
    slots,
    logliks,
):
    n_obs_dim = X.shape[1]
    k = A.shape[0]
    n_ctrl = U.shape[1]
    idx = np.empty(n_obs_dim, dtype=np.int64)
    CP = np.empty((n_obs_dim, k))  # C_o P, then S^{-1} C_o P (= K^T)
    S = np.empty((n_obs_dim, n_obs_dim))
    L = np.zeros((n_obs_dim, n_obs_dim))
    e = np.empty(n_obs_dim)
    RK = np.empty((n_obs_dim, k))
    M = np.empty((k, k))
    MP = np.empty((k, k))
    AP = np.empty((k, k))
    # the steady state: once the predicted covariance has converged, the gain, the
    # innovation covariance's factor and the covariances are frozen at their values then
    W_ss = np.zeros((n_obs_dim, n_obs_dim))  # L^{-1}, L the innovation covariance's factor
    G_ss = np.empty((n_obs_dim, k))  # L^{-1} C P_{t|t-1}
    v = np.empty(n_obs_dim)
    Pp_ss = np.empty((k, k))
    Pf_ss = np.empty((k, k))
    half_log_det_ss = 0.0
    slot = -1
    for s in range(offsets.shape[0] - 1):
        loglik = 0.0
        steady = False
        previous_complete = False
        for t in range(offsets[s], offsets[s + 1]):
            n_o = _observed_indices(X[t], idx)
            complete = n_o == n_obs_dim
            # compressed: a frozen step's covariances are the previous step's slot
            if not (compress and steady and complete):
                slot += 1
            slots[t] = slot
            mp = pred_means[t]
            Pp = pred_covs[slot]
            # -- predict
            if t == offsets[s]:
                for i in range(k):
                    mp[i] = m0[s, i]
                    for j in range(k):
                        Pp[i, j] = P0[s, i, j]
            else:
                mf = filt_means[t - 1]
                Pf = filt_covs[slots[t - 1]]
                for i in range(k):
                    acc = 0.0
                    for j in range(k):
                        acc += A[i, j] * mf[j]
                    for j in range(n_ctrl):
                        acc += B[i, j] * U[t, j]
                    mp[i] = acc
            if steady:
                if not (compress and complete):
                    for i in range(k):
                        for j in range(k):
                            Pp[i, j] = Pp_ss[i, j]
            elif t > offsets[s]:
                for i in range(k):
                    for j in range(k):
                        acc = 0.0
                        for q in range(k):
                            acc += A[i, q] * Pf[q, j]
                        AP[i, j] = acc
                for i in range(k):
                    for j in range(i + 1):
                        acc = Q[i, j]
                        for q in range(k):
                            acc += AP[i, q] * A[j, q]
                        Pp[i, j] = acc
                        Pp[j, i] = acc
            # -- update with the observed coordinates
            mf = filt_means[t]
            Pf = filt_covs[slot]
            if steady and complete:
                # the steady-state update: the whitened innovation w = L^{-1} (x - C m - D u)
                # as a product with W = L^{-1}, the mean m + (L^{-1} C P)' w (written out:
                # a call cost about as much as this arithmetic at k = p = 4)
                for a in range(n_obs_dim):
                    acc = X[t, a]
                    for j in range(k):
                        acc -= C[a, j] * mp[j]
                    for j in range(n_ctrl):
                        acc -= D[a, j] * U[t, j]
                    v[a] = acc
                quad = 0.0
                for a in range(n_obs_dim):
                    acc = 0.0
                    for b in range(a + 1):
                        acc += W_ss[a, b] * v[b]
                    e[a] = acc
                    quad += acc * acc
                for i in range(k):
                    acc = mp[i]
                    for a in range(n_obs_dim):
                        acc += G_ss[a, i] * e[a]
                    mf[i] = acc
                loglik += -(0.5 * (n_obs_dim * LOG_2PI + quad) + half_log_det_ss)
                if not compress:
                    for i in range(k):
                        for j in range(k):
                            Pf[i, j] = Pf_ss[i, j]
                continue
            steady = False
            # converged: P_{t|t-1} moved by at most steady_tol of its largest variance
            converging = complete and previous_complete and steady_tol > 0.0
            previous_complete = complete
            if converging:
                scale = 0.0
                change = 0.0
                for i in range(k):
                    scale = max(scale, abs(Pp[i, i]))
                    for j in range(k):
                        change = max(change, abs(Pp[i, j] - pred_covs[slots[t - 1], i, j]))
                converging = change <= steady_tol * scale
            if n_o == 0:
                for i in range(k):
                    mf[i] = mp[i]
                    for j in range(k):
                        Pf[i, j] = Pp[i, j]
                continue
            for a in range(n_o):
                r = idx[a]
                acc = X[t, r]
                for j in range(k):
                    acc -= C[r, j] * mp[j]
                for j in range(n_ctrl):
                    acc -= D[r, j] * U[t, j]
                e[a] = acc
                for j in range(k):
                    acc = 0.0
                    for q in range(k):
                        acc += C[r, q] * Pp[q, j]
                    CP[a, j] = acc
            for a in range(n_o):
                for b in range(a + 1):
                    acc = R[idx[a], idx[b]]
                    for j in range(k):
                        acc += CP[a, j] * C[idx[b], j]
                    S[a, b] = acc
                    S[b, a] = acc
            if not _cholesky(S, n_o, L):
                return _INNOVATION_NOT_PD, t
            # log N(e; 0, S) = -(n_o log 2pi + log|S| + |L^{-1} e|^2) / 2
            half_log_det = 0.0
            for a in range(n_o):
                half_log_det += np.log(L[a, a])
            for a in range(n_o):
                acc = e[a]
                for b in range(a):
                    acc -= L[a, b] * e[b]
                e[a] = acc / L[a, a]
            quad = 0.0
            for a in range(n_o):
                quad += e[a] * e[a]
            loglik -= 0.5 * (n_o * LOG_2PI + quad) + half_log_det
            # K^T = S^{-1} C_o P = L^{-T} L^{-1} C_o P; the mean update needs
            # K e = (C_o P)^T S^{-1} e = (L^{-1} C_o P)^T (L^{-1} e)
            _solve_lower(L, n_o, CP, k)
            for i in range(k):
                acc = mp[i]
                for a in range(n_o):
                    acc += CP[a, i] * e[a]
                mf[i] = acc
            if converging:
                half_log_det_ss = half_log_det
                _inverse_lower(L, n_o, W_ss)
                for a in range(n_o):
                    for j in range(k):
                        G_ss[a, j] = CP[a, j]
            _solve_lower_transposed(L, n_o, CP, k)  # CP now holds K^T (n_o x k)
            # Joseph form: (I - K C_o) Pp (I - K C_o)^T + K R_oo K^T
            for i in range(k):
                for j in range(k):
                    acc = 1.0 if i == j else 0.0
                    for a in range(n_o):
                        acc -= CP[a, i] * C[idx[a], j]
                    M[i, j] = acc
            for i in range(k):
                for j in range(k):
                    acc = 0.0
                    for q in range(k):
                        acc += M[i, q] * Pp[q, j]
                    MP[i, j] = acc
            for a in range(n_o):
                for j in range(k):
                    acc = 0.0
                    for b in range(n_o):
                        acc += R[idx[a], idx[b]] * CP[b, j]
                    RK[a, j] = acc
            for i in range(k):
                for j in range(i + 1):
                    acc = 0.0
                    for q in range(k):
                        acc += MP[i, q] * M[j, q]
                    for a in range(n_o):
                        acc += CP[a, i] * RK[a, j]
                    Pf[i, j] = acc
                    Pf[j, i] = acc
            if converging:
                steady = True
                for i in range(k):
                    for j in range(k):
                        Pp_ss[i, j] = Pp[i, j]
                        Pf_ss[i, j] = Pf[i, j]
        logliks[s] = loglik
    return _OK, -1


@njit(cache=True, nogil=True)
def _inverse_lower(L, n, W):
    """``W[:n, :n] <- L^{-1}`` for lower-triangular ``L`` (zero above the diagonal)."""
    for c in range(n):
        for i in range(n):
            W[i, c] = 0.0
        W[c, c] = 1.0 / L[c, c]
        for i in range(c + 1, n):
            acc = 0.0
            for q in range(c, i):
                acc -= L[i, q] * W[q, c]
            W[i, c] = acc / L[i, i]


# -- smoother ----------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _equal(a, b):
    """Whether two (k, k) arrays hold the same values (bit for bit, NaN aside)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] != b[i, j]:
                return False
    return True


@njit(cache=True, nogil=True)
def _smoother_gain(A, Pf, Pp_next, L, Jt, M, MP):
    """The smoother's gain ``Jt = J^T = P_{t+1|t}^{-1} A P_{t|t}``, ``M = I - J A`` and
    ``MP = M P_{t|t}``; False if ``P_{t+1|t}`` is not positive definite."""
    k = A.shape[0]
    if not _cholesky(Pp_next, k, L):
        return False
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for q in range(k):
                acc += A[i, q] * Pf[q, j]
            Jt[i, j] = acc
    _solve_lower(L, k, Jt, k)
    _solve_lower_transposed(L, k, Jt, k)
    for i in range(k):
        for j in range(k):
            acc = 1.0 if i == j else 0.0
            for q in range(k):
                acc -= Jt[q, i] * A[q, j]
            M[i, j] = acc
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for q in range(k):
                acc += M[i, q] * Pf[q, j]
            MP[i, j] = acc
    return True


@njit(cache=True, nogil=True, inline="always")
def _smoothed_mean(Jt, filt_mean, pred_mean_next, mean_next, mean):
    """``mean = m_{t|t} + J (m_{t+1|T} - m_{t+1|t})``."""
    k = Jt.shape[0]
    for i in range(k):
        acc = filt_mean[i]
        for j in range(k):
            acc += Jt[j, i] * (mean_next[j] - pred_mean_next[j])
        mean[i] = acc


@njit(cache=True, nogil=True)
def _smoothed_covariance(Q, Jt, M, MP, W, Ps_next, Ps, V):
    """``Ps = (I - J A) P_{t|t} (I - J A)^T + J (P_{t+1|T} + Q) J^T`` (a sum of positive
    semi-definite terms, exactly symmetric) and ``V = Cov(z_{t+1}, z_t) = P_{t+1|T} J^T``."""
    k = Q.shape[0]
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for q in range(k):
                acc += (Ps_next[i, q] + Q[i, q]) * Jt[q, j]
            W[i, j] = acc  # (P_{t+1|T} + Q) J^T
    for i in range(k):
        for j in range(i + 1):
            acc = 0.0
            for q in range(k):
                acc += MP[i, q] * M[j, q] + Jt[q, i] * W[q, j]
            Ps[i, j] = acc
            Ps[j, i] = acc
    _product(Ps_next, Jt, V)


@njit(cache=True, nogil=True)
def _converged(P, P_previous, tol):
    """Whether P moved from P_previous by at most ``tol`` of its largest variance."""
    scale = 0.0
    change = 0.0
    for i in range(P.shape[0]):
        scale = max(scale, abs(P[i, i]))
        for j in range(P.shape[1]):
            change = max(change, abs(P[i, j] - P_previous[i, j]))
    return tol > 0.0 and change <= tol * scale


@njit(cache=True, nogil=True)
def _smoother_kernel(
    offsets,
    A,
    Q,
    steady_tol,
    pred_means,
    pred_covs,
    filt_means,
    filt_covs,
    slots,
    compressed,
    sm_means,
    sm_covs,
    cross_covs,
):
    """The RTS smoother; step t's filtered covariances are ``pred_covs[slots[t]]`` and
    ``filt_covs[slots[t]]`` (``compressed``: one per steady-state run, as the filter
    keeps them for :func:`smoothed_statistics`; else ``slots`` is 0, 1, 2, ...)."""
    k = A.shape[0]
    L = np.zeros((k, k))
    Jt = np.empty((k, k))  # J^T = P_{t+1|t}^{-1} A P_{t|t}
    M = np.empty((k, k))
    MP = np.empty((k, k))
    W = np.empty((k, k))
    V_ss = np.empty((k, k))
    for s in range(offsets.shape[0] - 1):
        start, end = offsets[s], offsets[s + 1]
        for i in range(k):
            sm_means[end - 1, i] = filt_means[end - 1, i]
            for j in range(k):
                sm_covs[end - 1, i, j] = filt_covs[slots[end - 1], i, j]
                cross_covs[start, i, j] = 0.0
        steady = False  # the smoothed covariance has converged (and the gain is fixed)
        for t in range(end - 2, start - 1, -1):
            # the gain depends on P_{t|t} and P_{t+1|t} only: where the filter froze
            # them, it is the previous step's (and so are M and MP)
            if compressed:
                fixed_gain = (
                    t + 2 < end and slots[t] == slots[t + 1] and slots[t + 1] == slots[t + 2]
                )
            else:
                fixed_gain = (
                    t + 2 < end
                    and _equal(pred_covs[t + 1], pred_covs[t + 2])
                    and _equal(filt_covs[t], filt_covs[t + 1])
                )
            if not fixed_gain:
                steady = False
                Pf, Pp_next = filt_covs[slots[t]], pred_covs[slots[t + 1]]
                if not _smoother_gain(A, Pf, Pp_next, L, Jt, M, MP):
                    return _PREDICTED_NOT_PD, t + 1
            _smoothed_mean(Jt, filt_means[t], pred_means[t + 1], sm_means[t + 1], sm_means[t])
            Ps_next = sm_covs[t + 1]
            Ps = sm_covs[t]
            V = cross_covs[t + 1]
            if steady:
                for i in range(k):
                    for j in range(k):
                        Ps[i, j] = Ps_next[i, j]
                        V[i, j] = V_ss[i, j]
                continue
            _smoothed_covariance(Q, Jt, M, MP, W, Ps_next, Ps, V)
            # converged: from here on P_{s|T} = P_{t|T} and Cov(z_{s+1}, z_s) = P_{t|T} J^T
            if fixed_gain and _converged(Ps, Ps_next, steady_tol):
                steady = True
                _product(Ps, Jt, V_ss)
    return _OK, -1


@njit(cache=True, nogil=True)
def _product(X, Y, out):
    """``out = X Y`` for (k, k) matrices."""
    k = X.shape[0]
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for q in range(k):
                acc += X[i, q] * Y[q, j]
            out[i, j] = acc


# -- the E-step: smoother and moments in one backward pass ---------------------------------
@njit(cache=True, nogil=True)
def _smoothed_statistics_kernel(
    X,
    U,
    offsets,
    A,
    C,
    D,
    Q,
    R,
    steady_tol,
    pred_means,
    pred_covs,
    filt_means,
    filt_covs,
    slots,
    given,
    sm_means,
    sm_covs,
    cross_covs,
    first_means,
    first_covs,
    sum_z_first,
    sum_zz_first,
    sum_zz,
    sum_zz_prev,
    sum_zz_next,
    sum_zz_cross,
    sum_zu_prev,
    sum_zu_next,
    sum_uu_next,
    sum_xz,
    sum_xu,
    sum_zu,
    sum_uu,
    sum_xx,
):
    """The RTS smoother of a compressed filter (covariances ``pred_covs[slots[t]]``,
    ``filt_covs[slots[t]]``), adding every step's posterior moments to the sums as it
    goes back in time: nothing of size T x k x k is written. With ``given``, the
    smoother's output ``sm_means``, ``sm_covs``, ``cross_covs`` is read instead (the
    filter's arrays are not used): the moments of :func:`expected_statistics`."""
    k = A.shape[0]
    n_ctrl = U.shape[1]
    L = np.zeros((k, k))
    Jt = np.empty((k, k))
    M = np.empty((k, k))
    MP = np.empty((k, k))
    W = np.empty((k, k))
    V = np.empty((k, k))
    Ps = np.empty((k, k))
    Ps_next = np.empty((k, k))
    mu = np.empty(k)
    mu_next = np.empty(k)
    Ezz = np.empty((k, k))
    n_obs_dim = X.shape[1]
    obs, mis, Lo, Roo, G, H, HS, xhat, h, resid = _moment_work(n_obs_dim, k)
    for s in range(offsets.shape[0] - 1):
        start, end = offsets[s], offsets[s + 1]
        steady = False
        for t in range(end - 1, start - 1, -1):
            Ps, Ps_next = Ps_next, Ps
            mu, mu_next = mu_next, mu
            freeze = False
            if given:
                for i in range(k):
                    mu[i] = sm_means[t, i]
                    for j in range(k):
                        Ps[i, j] = sm_covs[t, i, j]
                        if t < end - 1:
                            V[i, j] = cross_covs[t + 1, i, j]
            elif t == end - 1:
                Pf = filt_covs[slots[t]]
                for i in range(k):
                    mu[i] = filt_means[t, i]
                    for j in range(k):
                        Ps[i, j] = Pf[i, j]
            else:
                fixed_gain = (
                    t + 2 < end and slots[t] == slots[t + 1] and slots[t + 1] == slots[t + 2]
                )
                if not fixed_gain:
                    steady = False
                    Pp_next = pred_covs[slots[t + 1]]
                    if not _smoother_gain(A, filt_covs[slots[t]], Pp_next, L, Jt, M, MP):
                        return _PREDICTED_NOT_PD, t + 1
                _smoothed_mean(Jt, filt_means[t], pred_means[t + 1], mu_next, mu)
                if steady:  # V = P_{t+1|T} J^T is the converged one too
                    for i in range(k):
                        for j in range(k):
                            Ps[i, j] = Ps_next[i, j]
                else:
                    _smoothed_covariance(Q, Jt, M, MP, W, Ps_next, Ps, V)
                    freeze = fixed_gain and _converged(Ps, Ps_next, steady_tol)
            if t < end - 1:  # the transition t -> t + 1
                for i in range(k):
                    for j in range(k):
                        sum_zz_cross[i, j] += V[i, j] + mu_next[i] * mu[j]
                    for j in range(n_ctrl):
                        sum_zu_prev[i, j] += mu[i] * U[t + 1, j]
            if freeze:
                steady = True
                _product(Ps, Jt, V)
            for i in range(k):
                for j in range(k):
                    Ezz[i, j] = Ps[i, j] + mu[i] * mu[j]
                    sum_zz[i, j] += Ezz[i, j]
                for j in range(n_ctrl):
                    sum_zu[i, j] += mu[i] * U[t, j]
            for i in range(n_ctrl):
                for j in range(n_ctrl):
                    sum_uu[i, j] += U[t, i] * U[t, j]
            if t < end - 1:
                for i in range(k):
                    for j in range(k):
                        sum_zz_prev[i, j] += Ezz[i, j]
            if t == start:
                for i in range(k):
                    first_means[s, i] = mu[i]
                    sum_z_first[i] += mu[i]
                    for j in range(k):
                        first_covs[s, i, j] = Ps[i, j]
                        sum_zz_first[i, j] += Ezz[i, j]
            else:
                for i in range(k):
                    for j in range(k):
                        sum_zz_next[i, j] += Ezz[i, j]
                    for j in range(n_ctrl):
                        sum_zu_next[i, j] += mu[i] * U[t, j]
                for i in range(n_ctrl):
                    for j in range(n_ctrl):
                        sum_uu_next[i, j] += U[t, i] * U[t, j]
            # observation moments (the missing coordinates' share in _missing_moments)
            n_o = 0
            n_m = 0
            for i in range(n_obs_dim):
                if np.isnan(X[t, i]):
                    mis[n_m] = i
                    n_m += 1
                else:
                    obs[n_o] = i
                    n_o += 1
                    xhat[i] = X[t, i]
            if n_m > 0 and not _missing_moments(
                X[t],
                U[t],
                C,
                D,
                R,
                mu,
                Ps,
                n_o,
                n_m,
                obs,
                mis,
                Lo,
                Roo,
                G,
                H,
                HS,
                xhat,
                h,
                resid,
                sum_xz,
                sum_xx,
            ):
                return _OBSERVATION_COVARIANCE_NOT_PD, t
            for i in range(n_obs_dim):
                for j in range(k):
                    sum_xz[i, j] += xhat[i] * mu[j]
                for j in range(n_ctrl):
                    sum_xu[i, j] += xhat[i] * U[t, j]
                for j in range(n_obs_dim):
                    sum_xx[i, j] += xhat[i] * xhat[j]
    return _OK, -1


# -- expected sufficient statistics --------------------------------------------------------
@njit(cache=True, nogil=True)
def _missing_moments(
    x, u, C, D, R, mu, Sig, n_o, n_m, obs, mis, L, Roo, G, H, HS, xhat, h, resid, sum_xz, sum_xx
):
    """The missing coordinates' share of step t's moments: fill ``xhat[mis]`` with
    E[x_m | x_o] and add the conditional covariances to ``sum_xz`` and ``sum_xx`` (the
    caller adds xhat's outer products); False if the observed block of R is not positive
    definite.

    Missing coordinates x_m are latent too:
    x_m | z, x_o ~ N(H z + h, R_mm - R_mo R_oo^{-1} R_om) with H = C_m - G C_o,
    h = D_m u + G (x_o - D_o u), G = R_mo R_oo^{-1}. ``obs[:n_o]`` and ``mis[:n_m]`` index
    the observed and missing coordinates; the arguments from ``L`` to ``resid`` are the
    scratch buffers of :func:`_moment_work`.
    """
    k = C.shape[1]
    n_ctrl = u.shape[0]
    for b in range(n_m):
        r = mis[b]
        for j in range(k):
            H[b, j] = C[r, j]
        acc = 0.0
        for j in range(n_ctrl):
            acc += D[r, j] * u[j]
        h[b] = acc
    if n_o > 0:
        for a in range(n_o):
            for c in range(a + 1):
                Roo[a, c] = R[obs[a], obs[c]]
            for b in range(n_m):
                G[a, b] = R[obs[a], mis[b]]
            acc = x[obs[a]]
            for j in range(n_ctrl):
                acc -= D[obs[a], j] * u[j]
            resid[a] = acc
        if not _cholesky(Roo, n_o, L):
            return False
        _solve_lower(L, n_o, G, n_m)
        _solve_lower_transposed(L, n_o, G, n_m)
        for b in range(n_m):
            for a in range(n_o):
                g = G[a, b]
                h[b] += g * resid[a]
                for j in range(k):
                    H[b, j] -= g * C[obs[a], j]
    for b in range(n_m):
        acc = h[b]
        for j in range(k):
            acc += H[b, j] * mu[j]
        xhat[mis[b]] = acc
        for j in range(k):
            acc = 0.0
            for q in range(k):
                acc += H[b, q] * Sig[q, j]
            HS[b, j] = acc
            sum_xz[mis[b], j] += acc
    for b in range(n_m):
        for c in range(n_m):
            # conditional covariance R_mm - R_mo R_oo^{-1} R_om
            acc = R[mis[b], mis[c]]
            for a in range(n_o):
                acc -= R[mis[b], obs[a]] * G[a, c]
            for j in range(k):
                acc += HS[b, j] * H[c, j]
            sum_xx[mis[b], mis[c]] += acc
    return True


@njit(cache=True, nogil=True)
def _moment_work(p, k):
    """Scratch buffers of the moments of missing values (:func:`_missing_moments`): ``obs``,
    ``mis`` and ``L`` to ``resid``
    (G holds R_oo^{-1} R_om, n_o x n_m, i.e. G^T)."""
    return (
        np.empty(p, dtype=np.int64),
        np.empty(p, dtype=np.int64),
        np.zeros((p, p)),
        np.empty((p, p)),
        np.empty((p, p)),
        np.empty((p, k)),
        np.empty((p, k)),
        np.empty(p),
        np.empty(p),
        np.empty(p),
    )


# -- thin Python wrappers ------------------------------------------------------------------
class FilterResult(NamedTuple):
    """Output of :func:`kalman_filter` (T = total number of time steps).

    predicted_means : (T, k)   E[z_t | x_{1:t-1}]
    predicted_covariances : (T, k, k)
    filtered_means : (T, k)    E[z_t | x_{1:t}]
    filtered_covariances : (T, k, k)
    log_likelihoods : (n_sequences,)  log p(x_{1:T}) of every sequence
    """

    predicted_means: np.ndarray
    predicted_covariances: np.ndarray
    filtered_means: np.ndarray
    filtered_covariances: np.ndarray
    log_likelihoods: np.ndarray


class SmootherResult(NamedTuple):
    """Output of :func:`rts_smoother`.

    smoothed_means : (T, k)    E[z_t | x_{1:T}]
    smoothed_covariances : (T, k, k)
    cross_covariances : (T, k, k)  Cov(z_t, z_{t-1} | x_{1:T}); zero at sequence starts
    """

    smoothed_means: np.ndarray
    smoothed_covariances: np.ndarray
    cross_covariances: np.ndarray


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def _check_shapes(X, U, offsets, **arrays):
    """Raise a ValueError unless every array has the shape the kernels index it with
    (k from the first dimension of ``transition_matrix`` or the second of
    ``observation_matrix``, p and m from X and U): the numba kernels do not check
    bounds, and a wrong shape would read or write outside an array."""
    T, p = X.shape if X.ndim == 2 else (None, None)
    if X.ndim != 2 or U.ndim != 2 or U.shape[0] != T:
        raise ValueError(f"X must be (T, p) and U (T, m); got {X.shape} and {U.shape}")
    if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0 or offsets[-1] != T:
        raise ValueError(f"offsets must run from 0 to len(X) = {T}; got {offsets}")
    if np.any(np.diff(offsets) <= 0):
        raise ValueError("offsets must increase strictly (every sequence non-empty)")
    if "transition_matrix" in arrays:
        k = np.shape(arrays["transition_matrix"])[0] if np.ndim(arrays["transition_matrix"]) else -1
    else:
        k = np.shape(arrays["observation_matrix"])[-1]
    m = U.shape[1]
    expected = {
        "transition_matrix": (k, k),
        "control_transition_matrix": (k, m),
        "observation_matrix": (p, k),
        "control_observation_matrix": (p, m),
        "transition_covariance": (k, k),
        "observation_covariance": (p, p),
        "initial_state_mean": (k,),
        "initial_state_covariance": (k, k),
    }
    for name, value in arrays.items():
        if np.shape(value) != expected[name]:
            raise ValueError(
                f"{name} must have shape {expected[name]} for {p} features, {k} states and "
                f"{m} controls; got {np.shape(value)}"
            )


def _raise_status(status, t, offsets):
    if status == _OK:
        return
    s = int(np.searchsorted(offsets, t, side="right")) - 1
    where = f"at time step {t - offsets[s]} of sequence {s} (row {t})"
    if status == _INNOVATION_NOT_PD:
        message = (
            f"the innovation covariance C P C' + R is not positive definite {where}; "
            "the observation covariance must be positive definite: check it, add reg_covar "
            "or scale the data"
        )
    elif status == _PREDICTED_NOT_PD:
        message = (
            f"the predicted state covariance A P A' + Q is not positive definite {where}; "
            "the transition covariance must be positive definite: check it or add reg_covar"
        )
    else:
        message = (
            f"the observation covariance restricted to the observed coordinates is not "
            f"positive definite {where}; give a positive definite observation covariance"
        )
    raise np.linalg.LinAlgError(message)


def kalman_filter(
    X, U, offsets, A, B, C, D, Q, R, m0, P0, steady_tol=STEADY_STATE_RTOL, initial=None
) -> FilterResult:
    """Kalman filter of every sequence.

    Parameters
    ----------
    X : ndarray of shape (T, p)
        Observations of all sequences end to end; NaN marks a missing value.
    U : ndarray of shape (T, m)
        Control inputs (m may be 0).
    offsets : ndarray of int of shape (n_sequences + 1,)
        Sequence ``s`` is rows ``offsets[s]:offsets[s+1]`` (each non-empty).
    A : (k, k), B : (k, m), C : (p, k), D : (p, m), Q : (k, k), R : (p, p),
    m0 : (k,), P0 : (k, k)
        Model parameters; Q, R and P0 symmetric positive definite.
    steady_tol : float, default=STEADY_STATE_RTOL
        Tolerance of the steady-state switch (see :data:`STEADY_STATE_RTOL`); 0: never
        switch, every step runs the full covariance recursion.
    initial : (ndarray of shape (n_sequences, k), ndarray of shape (n_sequences, k, k)), optional
        Every sequence's own distribution of its first state (the mean and covariance
        of its z_1), in place of ``m0`` and ``P0``.

    Returns
    -------
    FilterResult

    Raises
    ------
    numpy.linalg.LinAlgError
        When an innovation covariance is not positive definite.
    """
    X, U, offsets, (A, B, C, D, Q, R), m0, P0 = _filter_inputs(
        X, U, offsets, A, B, C, D, Q, R, m0, P0, initial
    )
    T, k = X.shape[0], A.shape[0]
    out = FilterResult(
        np.empty((T, k)),
        np.empty((T, k, k)),
        np.empty((T, k)),
        np.empty((T, k, k)),
        np.empty(offsets.shape[0] - 1),
    )
    slots = np.empty(T, dtype=np.int64)
    status, t = _filter_kernel(
        X,
        U,
        offsets,
        A,
        B,
        C,
        D,
        Q,
        R,
        m0,
        P0,
        float(steady_tol),
        False,
        *out[:4],
        slots,
        out[4],
    )
    _raise_status(status, t, offsets)
    return out


def rts_smoother(
    offsets, A, Q, filtered: FilterResult, steady_tol=STEADY_STATE_RTOL
) -> SmootherResult:
    """Rauch-Tung-Striebel smoother with lag-one cross-covariances.

    Parameters
    ----------
    offsets : ndarray of int of shape (n_sequences + 1,)
    A : ndarray of shape (k, k)
    Q : ndarray of shape (k, k)
    filtered : FilterResult
        The filter's output for the same parameters.
    steady_tol : float, default=STEADY_STATE_RTOL
        Tolerance of the smoothed covariance's steady state (see
        :data:`STEADY_STATE_RTOL`); 0: the full recursion at every step.

    Returns
    -------
    SmootherResult
    """
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    T, k = filtered.filtered_means.shape
    if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[-1] != T:
        raise ValueError(f"offsets must end at the filter's {T} time steps; got {offsets}")
    for name, value in (("transition_matrix", A), ("transition_covariance", Q)):
        if np.shape(value) != (k, k):
            raise ValueError(f"{name} must have shape {(k, k)}; got {np.shape(value)}")
    out = SmootherResult(np.empty((T, k)), np.empty((T, k, k)), np.empty((T, k, k)))
    status, t = _smoother_kernel(
        offsets,
        _f64(A),
        _f64(Q),
        float(steady_tol),
        filtered.predicted_means,
        filtered.predicted_covariances,
        filtered.filtered_means,
        filtered.filtered_covariances,
        np.arange(T, dtype=np.int64),
        False,
        *out,
    )
    _raise_status(status, t, offsets)
    return out


def _compressed_filter(X, U, offsets, A, B, C, D, Q, R, m0, P0, steady_tol):
    """The filter keeping one copy of the covariances per steady-state run (checked
    inputs, per-sequence m0 and P0): (predicted means, predicted covariances, filtered
    means, filtered covariances, slots, log-likelihoods), step t's covariances at
    ``slots[t]`` (the (T, k, k) buffers' later pages never touched)."""
    T, k = X.shape[0], A.shape[0]
    pred_means, filt_means = np.empty((T, k)), np.empty((T, k))
    pred_covs, filt_covs = np.empty((T, k, k)), np.empty((T, k, k))
    slots = np.empty(T, dtype=np.int64)
    logliks = np.empty(offsets.shape[0] - 1)
    status, t = _filter_kernel(
        X,
        U,
        offsets,
        A,
        B,
        C,
        D,
        Q,
        R,
        m0,
        P0,
        float(steady_tol),
        True,
        pred_means,
        pred_covs,
        filt_means,
        filt_covs,
        slots,
        logliks,
    )
    _raise_status(status, t, offsets)
    return pred_means, pred_covs, filt_means, filt_covs, slots, logliks


def smoothed_states(
    X, U, offsets, A, B, C, D, Q, R, m0, P0, steady_tol=STEADY_STATE_RTOL, initial=None
) -> SmootherResult:
    """:func:`rts_smoother` of :func:`kalman_filter`, without storing the filter's
    covariances step by step (one copy per steady-state run, as in
    :func:`smoothed_statistics`). Same arguments as :func:`kalman_filter`."""
    X, U, offsets, (A, B, C, D, Q, R), m0, P0 = _filter_inputs(
        X, U, offsets, A, B, C, D, Q, R, m0, P0, initial
    )
    T, k = X.shape[0], A.shape[0]
    pred_means, pred_covs, filt_means, filt_covs, slots, _ = _compressed_filter(
        X, U, offsets, A, B, C, D, Q, R, m0, P0, steady_tol
    )
    out = SmootherResult(np.empty((T, k)), np.empty((T, k, k)), np.empty((T, k, k)))
    status, t = _smoother_kernel(
        offsets,
        A,
        Q,
        float(steady_tol),
        pred_means,
        pred_covs,
        filt_means,
        filt_covs,
        slots,
        True,
        *out,
    )
    _raise_status(status, t, offsets)
    return out


#: names and shapes (in terms of k, p, m) of the arrays returned by expected_statistics
STATISTICS_FIELDS = (
    ("sum_z_first", ("k",)),
    ("sum_zz_first", ("k", "k")),
    ("sum_zz", ("k", "k")),
    ("sum_zz_prev", ("k", "k")),
    ("sum_zz_next", ("k", "k")),
    ("sum_zz_cross", ("k", "k")),
    ("sum_zu_prev", ("k", "m")),
    ("sum_zu_next", ("k", "m")),
    ("sum_uu_next", ("m", "m")),
    ("sum_xz", ("p", "k")),
    ("sum_xu", ("p", "m")),
    ("sum_zu", ("k", "m")),
    ("sum_uu", ("m", "m")),
    ("sum_xx", ("p", "p")),
)


def _filter_inputs(X, U, offsets, A, B, C, D, Q, R, m0, P0, initial):
    """The kernels' arguments, checked (see :func:`_check_shapes`) and C-contiguous
    float64: (X, U, offsets, (A, B, C, D, Q, R), per-sequence m0, per-sequence P0)."""
    X, U = _f64(X), _f64(U)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check_shapes(
        X,
        U,
        offsets,
        transition_matrix=A,
        control_transition_matrix=B,
        observation_matrix=C,
        control_observation_matrix=D,
        transition_covariance=Q,
        observation_covariance=R,
        initial_state_mean=m0,
        initial_state_covariance=P0,
    )
    m0, P0 = _initial_states(m0, P0, initial, offsets.shape[0] - 1)
    return X, U, offsets, tuple(_f64(a) for a in (A, B, C, D, Q, R)), m0, P0


def _initial_states(m0, P0, initial, n_sequences):
    """Per-sequence (n_sequences, k) means and (n_sequences, k, k) covariances of the first
    states: ``initial`` where given, else ``m0`` and ``P0`` for every sequence."""
    if initial is None:
        k = np.shape(m0)[0]
        return (
            np.ascontiguousarray(np.broadcast_to(_f64(m0), (n_sequences, k))),
            np.ascontiguousarray(np.broadcast_to(_f64(P0), (n_sequences, k, k))),
        )
    means, covs = (_f64(a) for a in initial)
    k = np.shape(m0)[0]
    if means.shape != (n_sequences, k) or covs.shape != (n_sequences, k, k):
        raise ValueError(
            f"initial must hold ({n_sequences}, {k}) means and ({n_sequences}, {k}, {k}) "
            f"covariances; got {means.shape} and {covs.shape}"
        )
    return means, covs


def smoothed_statistics(
    X,
    U,
    offsets,
    A,
    B,
    C,
    D,
    Q,
    R,
    m0,
    P0,
    steady_tol=STEADY_STATE_RTOL,
    initial=None,
    first_states=False,
):
    """The E-step in two passes: :func:`expected_statistics` of the smoothed states and
    the log-likelihood of every sequence, without storing the smoother's output.

    The filter keeps one copy of the covariances of every run of steady-state steps (so
    its (T, k, k) buffers are written only where the covariances change: untouched pages
    are never allocated) and the smoother adds each step's moments to the sums as it goes
    back. Same arguments as :func:`kalman_filter`; ``first_states``: also return the
    smoothed distribution of every sequence's first state.

    Returns
    -------
    moments : dict of ndarray, keyed as :func:`expected_statistics`'s
    log_likelihoods : ndarray of shape (n_sequences,)
    first_means, first_covariances : ndarray of shape (n_sequences, k) and (n_sequences, k, k)
        Only with ``first_states``: E[z_1 | x] and Cov(z_1 | x) of every sequence.
    """
    X, U, offsets, (A, B, C, D, Q, R), m0, P0 = _filter_inputs(
        X, U, offsets, A, B, C, D, Q, R, m0, P0, initial
    )
    p, k = X.shape[1], A.shape[0]
    pred_means, pred_covs, filt_means, filt_covs, slots, logliks = _compressed_filter(
        X, U, offsets, A, B, C, D, Q, R, m0, P0, steady_tol
    )
    sizes = {"k": k, "p": p, "m": U.shape[1]}
    out = {name: np.zeros(tuple(sizes[d] for d in dims)) for name, dims in STATISTICS_FIELDS}
    first_means = np.empty((offsets.shape[0] - 1, k))
    first_covs = np.empty((offsets.shape[0] - 1, k, k))
    status, t = _smoothed_statistics_kernel(
        X,
        U,
        offsets,
        A,
        C,
        D,
        Q,
        R,
        float(steady_tol),
        pred_means,
        pred_covs,
        filt_means,
        filt_covs,
        slots,
        False,
        pred_means,
        pred_covs,
        pred_covs,
        first_means,
        first_covs,
        *out.values(),
    )
    _raise_status(status, t, offsets)
    if first_states:
        return out, logliks, first_means, first_covs
    return out, logliks


def expected_statistics(X, U, offsets, C, D, R, smoothed: SmootherResult) -> dict:
    """Summed posterior moments of the complete data (states and missing values).

    Sums over all time steps ``t`` (and over ``t >= 2`` of every sequence for the
    transition moments), with ``E`` the posterior expectation given the observed data:

    ====================  ==============================================
    ``sum_z_first``       sum over sequences of E[z_1]
    ``sum_zz_first``      sum over sequences of E[z_1 z_1']
    ``sum_zz``            sum_t E[z_t z_t']
    ``sum_zz_prev``       sum_{t>=2} E[z_{t-1} z_{t-1}']
    ``sum_zz_next``       sum_{t>=2} E[z_t z_t']
    ``sum_zz_cross``      sum_{t>=2} E[z_t z_{t-1}']
    ``sum_zu_prev``       sum_{t>=2} E[z_{t-1}] u_t'
    ``sum_zu_next``       sum_{t>=2} E[z_t] u_t'
    ``sum_uu_next``       sum_{t>=2} u_t u_t'
    ``sum_xz``            sum_t E[x_t z_t']
    ``sum_xu``            sum_t E[x_t] u_t'
    ``sum_zu``            sum_t E[z_t] u_t'
    ``sum_uu``            sum_t u_t u_t'
    ``sum_xx``            sum_t E[x_t x_t']
    ====================  ==============================================

    Missing coordinates of ``x_t`` are treated as latent: their posterior given the
    state and the observed coordinates is Gaussian, so these moments are exact.

    Returns
    -------
    dict of ndarray, keyed as above.
    """
    X, U = _f64(X), _f64(U)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check_shapes(
        X,
        U,
        offsets,
        observation_matrix=C,
        control_observation_matrix=D,
        observation_covariance=R,
    )
    k = np.shape(C)[1]
    if smoothed.smoothed_means.shape != (X.shape[0], k):
        raise ValueError(
            f"the smoother's means must have shape {(X.shape[0], k)}; "
            f"got {smoothed.smoothed_means.shape}"
        )
    sizes = {"k": k, "p": X.shape[1], "m": U.shape[1]}
    out = {name: np.zeros(tuple(sizes[d] for d in dims)) for name, dims in STATISTICS_FIELDS}
    n_seq = offsets.shape[0] - 1
    unused = np.empty((0, k)), np.empty((0, k, k))
    status, t = _smoothed_statistics_kernel(
        X,
        U,
        offsets,
        np.zeros((k, k)),
        _f64(C),
        _f64(D),
        np.zeros((k, k)),
        _f64(R),
        0.0,
        *unused,
        *unused,
        np.zeros(0, dtype=np.int64),
        True,
        _f64(smoothed.smoothed_means),
        _f64(smoothed.smoothed_covariances),
        _f64(smoothed.cross_covariances),
        np.empty((n_seq, k)),
        np.empty((n_seq, k, k)),
        *out.values(),
    )
    _raise_status(status, t, offsets)
    return out
