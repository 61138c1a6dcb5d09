"""NumPy twin of :mod:`emkit._kernels.kalman`, written from the textbook formulas.

Used only by the tests, as an independent implementation to compare the numba kernels
with: the filter uses the standard covariance update ``P - K S K'`` and the smoother
``P_{t|t} + J (P_{t+1|T} - P_{t+1|t}) J'`` (the kernels use the Joseph-type forms).
Same inputs and outputs as the kernels' wrappers; no numba, no speed.
"""

from __future__ import annotations

import numpy as np

from emkit._kernels.kalman import STATISTICS_FIELDS, FilterResult, SmootherResult


def kalman_filter(X, U, offsets, A, B, C, D, Q, R, m0, P0) -> FilterResult:
    T, k = X.shape[0], A.shape[0]
    pm, pc = np.empty((T, k)), np.empty((T, k, k))
    fm, fc = np.empty((T, k)), np.empty((T, k, k))
    logliks = np.zeros(len(offsets) - 1)
    for s in range(len(offsets) - 1):
        for t in range(offsets[s], offsets[s + 1]):
            if t == offsets[s]:
                pm[t], pc[t] = m0, P0
            else:
                pm[t] = A @ fm[t - 1] + B @ U[t]
                pc[t] = A @ fc[t - 1] @ A.T + Q
            o = ~np.isnan(X[t])
            if not o.any():
                fm[t], fc[t] = pm[t], pc[t]
                continue
            Co = C[o]
            S = Co @ pc[t] @ Co.T + R[np.ix_(o, o)]
            e = X[t, o] - Co @ pm[t] - D[o] @ U[t]
            K = np.linalg.solve(S, Co @ pc[t]).T
            fm[t] = pm[t] + K @ e
            fc[t] = pc[t] - K @ S @ K.T
            _, logdet = np.linalg.slogdet(S)
            logliks[s] -= 0.5 * (o.sum() * np.log(2 * np.pi) + logdet + e @ np.linalg.solve(S, e))
    return FilterResult(pm, pc, fm, fc, logliks)


def rts_smoother(offsets, A, Q, filtered: FilterResult) -> SmootherResult:
    pm, pc, fm, fc, _ = filtered
    T, k = fm.shape
    sm, sc, cc = np.empty((T, k)), np.empty((T, k, k)), np.zeros((T, k, k))
    for s in range(len(offsets) - 1):
        start, end = offsets[s], offsets[s + 1]
        sm[end - 1], sc[end - 1] = fm[end - 1], fc[end - 1]
        for t in range(end - 2, start - 1, -1):
            J = fc[t] @ A.T @ np.linalg.inv(pc[t + 1])
            sm[t] = fm[t] + J @ (sm[t + 1] - pm[t + 1])
            sc[t] = fc[t] + J @ (sc[t + 1] - pc[t + 1]) @ J.T
            cc[t + 1] = sc[t + 1] @ J.T
    return SmootherResult(sm, sc, cc)


def expected_statistics(X, U, offsets, C, D, R, smoothed: SmootherResult) -> dict:
    sm, sc, cc = smoothed
    k, p, m = C.shape[1], X.shape[1], U.shape[1]
    sizes = {"k": k, "p": p, "m": m}
    out = {name: np.zeros(tuple(sizes[d] for d in dims)) for name, dims in STATISTICS_FIELDS}
    for s in range(len(offsets) - 1):
        start, end = offsets[s], offsets[s + 1]
        for t in range(start, end):
            mu, u = sm[t], U[t]
            Ezz = sc[t] + np.outer(mu, mu)
            out["sum_zz"] += Ezz
            out["sum_zu"] += np.outer(mu, u)
            out["sum_uu"] += np.outer(u, u)
            if t == start:
                out["sum_z_first"] += mu
                out["sum_zz_first"] += Ezz
            else:
                prev = sm[t - 1]
                out["sum_zz_next"] += Ezz
                out["sum_zz_prev"] += sc[t - 1] + np.outer(prev, prev)
                out["sum_zz_cross"] += cc[t] + np.outer(mu, prev)
                out["sum_zu_next"] += np.outer(mu, u)
                out["sum_zu_prev"] += np.outer(prev, u)
                out["sum_uu_next"] += np.outer(u, u)
            # joint posterior of (z_t, x_t): x_t = C z_t + D u_t + v_t, conditioned on x_o
            o = ~np.isnan(X[t])
            mis = ~o
            if o.any():
                # the smoothed z-posterior already includes x_o, so only the noise v_m needs
                # conditioning on v_o = x_o - C_o z - D_o u
                G = np.linalg.solve(R[np.ix_(o, o)], R[np.ix_(o, mis)]).T
                H = C[mis] - G @ C[o]
                h = D[mis] @ u + G @ (X[t, o] - D[o] @ u)
                cond = R[np.ix_(mis, mis)] - G @ R[np.ix_(o, mis)]
            else:
                H, h, cond = C[mis], D[mis] @ u, R[np.ix_(mis, mis)]
            xhat = np.where(o, np.nan_to_num(X[t]), 0.0)
            xhat[mis] = H @ mu + h
            extra_xz = np.zeros((p, k))
            extra_xx = np.zeros((p, p))
            extra_xz[mis] = H @ sc[t]
            extra_xx[np.ix_(mis, mis)] = H @ sc[t] @ H.T + cond
            out["sum_xz"] += np.outer(xhat, mu) + extra_xz
            out["sum_xu"] += np.outer(xhat, u)
            out["sum_xx"] += np.outer(xhat, xhat) + extra_xx
    return out
