r"""Exact diffuse initialisation of the Kalman filter and smoother (Durbin & Koopman).

With a diffuse first state, :math:`z_1 \sim \mathcal{N}(0, \kappa P_\infty + P_*)` with
:math:`P_\infty = I`, :math:`P_* = 0` and :math:`\kappa \to \infty`: nothing is known of
it before the data. The filter carries the two parts of every covariance separately
(Durbin & Koopman 2012, section 5.2, in the univariate form of section 6.4, as
statsmodels does) until :math:`P_\infty` vanishes, which takes a few steps (one when the
observations determine the state, e.g. the local level); from there on it is the
ordinary filter, started from the predicted distribution of the first step after that
*diffuse period*.

The log-likelihood is the diffuse one: every scalar observation processed while its
:math:`F_\infty = c P_\infty c^\top > 0` contributes :math:`-\tfrac12 \log(2\pi
F_\infty)` (the :math:`\kappa`-free part of its density), the others
:math:`-\tfrac12(\log 2\pi F_* + v^2 / F_*)`, exactly as statsmodels'
``use_exact_diffuse=True``. Observations with a non-diagonal noise covariance are first
whitened by the Cholesky factor :math:`L` of :math:`R_{oo}`, which adds the Jacobian
:math:`-\log|L|`.

The smoother over the diffuse period runs in information form, which needs no
:math:`\kappa`: the information filter starts from zero precision (the diffuse prior is
flat), and going back, :math:`z_t \mid z_{t+1}, x_{1:t}` is Gaussian with precision
:math:`M_t = \Lambda_{t|t} + A^\top Q^{-1} A`, so :math:`z_t = G_t z_{t+1} + g_t +
\text{noise}` with :math:`G_t = M_t^{-1} A^\top Q^{-1}`, :math:`g_t = M_t^{-1}(\lambda_{t|t}
- A^\top Q^{-1} B u_{t+1})`, noise covariance :math:`M_t^{-1}`: the smoothed moments of the
diffuse period follow from those of the first step after it, exactly.

These recursions run over the few steps of the diffuse period, in NumPy; the rest of
every sequence is the compiled kernels' (:mod:`emkit._kernels.kalman`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["DIFFUSE_TOL", "DiffuseStart", "diffuse_filter", "diffuse_smoother"]

#: statsmodels' ``tolerance_diffuse``: a scalar observation updates the diffuse part while
#: its F_inf exceeds it, and the diffuse period lasts while the sum of squares of the
#: predicted P_inf exceeds it
DIFFUSE_TOL = 1e-10
LOG_2PI = float(np.log(2.0 * np.pi))


class DiffuseStart(NamedTuple):
    """The diffuse period of every sequence, from :func:`diffuse_filter`.

    n_diffuse : (n_sequences,) int   steps of each sequence in its diffuse period (after
        the last of them the filtered P_inf is zero)
    log_likelihoods : (n_sequences,)   the diffuse log-likelihood of those steps
    rows : (n_rows,) int   the rows of X in a diffuse period, in order
    predicted_means, filtered_means : (n_rows, k)
    predicted_covariances, filtered_covariances : (n_rows, k, k)   their P_* (the finite
        part; P_inf is positive in some direction, except after the last step's update)
    handoff_means : (n_sequences, k), handoff_covariances : (n_sequences, k, k)
        The predicted distribution of the first step after each diffuse period: the
        ordinary filter starts there.
    """

    n_diffuse: np.ndarray
    log_likelihoods: np.ndarray
    rows: np.ndarray
    predicted_means: np.ndarray
    predicted_covariances: np.ndarray
    filtered_means: np.ndarray
    filtered_covariances: np.ndarray
    handoff_means: np.ndarray
    handoff_covariances: np.ndarray


def _symmetric(M):
    return 0.5 * (M + M.T)


def _whitened(x, u, C, D, R, observed):
    """(innovation targets, design rows, noise variances, log-Jacobian) of the observed
    coordinates, whitened by the Cholesky factor of R_oo unless it is diagonal."""
    y = x[observed] - D[observed] @ u
    Co = C[observed]
    Roo = R[np.ix_(observed, observed)]
    if np.count_nonzero(Roo - np.diag(np.diag(Roo))) == 0:
        return y, Co, np.diag(Roo).copy(), 0.0
    L = np.linalg.cholesky(Roo)
    return (
        np.linalg.solve(L, y),
        np.linalg.solve(L, Co),
        np.ones(len(y)),
        -float(np.log(np.diag(L)).sum()),
    )


def diffuse_filter(X, U, offsets, A, B, C, D, Q, R, tol=DIFFUSE_TOL) -> DiffuseStart:
    """The exact diffuse filter over the diffuse period of every sequence.

    Arguments as :func:`emkit._kernels.kalman.kalman_filter` (without the initial
    state). Raises a ValueError naming the sequence if its P_inf does not vanish before
    it ends (the data do not determine its first state: too short, or some direction of
    the state never observed).
    """
    k = A.shape[0]
    n_seq = len(offsets) - 1
    n_diffuse = np.zeros(n_seq, dtype=np.int64)
    logliks = np.zeros(n_seq)
    handoff_means, handoff_covs = np.zeros((n_seq, k)), np.zeros((n_seq, k, k))
    rows, pm, pc, fm, fc = [], [], [], [], []
    for s in range(n_seq):
        start, end = int(offsets[s]), int(offsets[s + 1])
        a, P, Pinf = np.zeros(k), np.zeros((k, k)), np.eye(k)
        loglik, done = 0.0, False
        for t in range(start, end):
            rows.append(t)
            pm.append(a.copy())
            pc.append(P.copy())
            observed = ~np.isnan(X[t])
            if observed.any():
                y, Co, h, log_jacobian = _whitened(X[t], U[t], C, D, R, observed)
                loglik += log_jacobian
                for i in range(len(y)):
                    c = Co[i]
                    v = y[i] - c @ a
                    M, Minf = P @ c, Pinf @ c
                    F, Finf = c @ M + h[i], c @ Minf
                    if Finf > tol:
                        a = a + Minf * (v / Finf)
                        P = _symmetric(
                            P
                            + np.outer(Minf, Minf) * (F / Finf**2)
                            - (np.outer(M, Minf) + np.outer(Minf, M)) / Finf
                        )
                        Pinf = _symmetric(Pinf - np.outer(Minf, Minf) / Finf)
                        loglik -= 0.5 * (LOG_2PI + np.log(Finf))
                    elif F > tol:
                        a = a + M * (v / F)
                        P = _symmetric(P - np.outer(M, M) / F)
                        loglik -= 0.5 * (LOG_2PI + np.log(F) + v * v / F)
            fm.append(a.copy())
            fc.append(P.copy())
            Pinf_next = _symmetric(A @ Pinf @ A.T)
            if np.sum(Pinf_next**2) <= tol:
                n_diffuse[s] = t - start + 1
                if t + 1 < end:
                    handoff_means[s] = A @ a + B @ U[t + 1]
                    handoff_covs[s] = _symmetric(A @ P @ A.T + Q)
                done = t + 1 < end
                break
            if t + 1 < end:
                a = A @ a + B @ U[t + 1]
                P = _symmetric(A @ P @ A.T + Q)
                Pinf = Pinf_next
        if not done:
            raise ValueError(
                f"with initial_state='diffuse', the observations of sequence {s} (rows "
                f"{start}:{end}) do not determine its initial state before it ends: give "
                "longer sequences (the diffuse period lasts until every direction of the "
                "state has been observed), or use initial_state='gaussian'"
            )
        logliks[s] = loglik
    stack = _stacker(k)
    return DiffuseStart(
        n_diffuse,
        logliks,
        np.asarray(rows, dtype=np.int64),
        stack(pm, 1),
        stack(pc, 2),
        stack(fm, 1),
        stack(fc, 2),
        handoff_means,
        handoff_covs,
    )


def _stacker(k):
    def stack(arrays, ndim):
        return np.array(arrays) if arrays else np.zeros((0,) + (k,) * ndim)

    return stack


def diffuse_smoother(X, U, offsets, A, B, C, D, Q, R, start: DiffuseStart, after):
    """Smoothed moments of the diffuse period of every sequence (information form).

    ``after``: (means (n_sequences, k), covariances (n_sequences, k, k)), the smoothed
    distribution of the first step after each diffuse period (from the ordinary
    smoother).

    Returns
    -------
    means : (n_rows, k), covariances : (n_rows, k, k)
        E[z_t | x], Cov(z_t | x) of ``start.rows``.
    cross : (n_rows, k, k)
        Cov(z_t, z_{t-1} | x) of those rows (zero at a sequence's first step).
    cross_after : (n_sequences, k, k)
        Cov(z_{d+1}, z_d | x) between the first step after the diffuse period and the
        last one in it.
    """
    k = A.shape[0]
    Qi = np.linalg.inv(Q)
    AtQi = A.T @ Qi
    AtQiA = _symmetric(AtQi @ A)
    n_rows = len(start.rows)
    means, covs, cross = np.zeros((n_rows, k)), np.zeros((n_rows, k, k)), np.zeros((n_rows, k, k))
    cross_after = np.zeros((len(offsets) - 1, k, k))
    first_row = 0
    for s in range(len(offsets) - 1):
        base, d = int(offsets[s]), int(start.n_diffuse[s])
        # information filter from a flat prior: precision and linear term of z_t | x_{1:t}
        precisions, linears = [], []
        Lam, lam = np.zeros((k, k)), np.zeros(k)
        for t in range(base, base + d):
            if t > base:
                M = Lam + AtQiA
                MiAtQi = np.linalg.solve(M, AtQi)
                Lam_pred = _symmetric(Qi - AtQi.T @ MiAtQi)
                b = B @ U[t]
                lam = MiAtQi.T @ lam + Lam_pred @ b
                Lam = Lam_pred
            observed = ~np.isnan(X[t])
            if observed.any():
                Co = C[observed]
                Ri = np.linalg.inv(R[np.ix_(observed, observed)])
                Lam = _symmetric(Lam + Co.T @ Ri @ Co)
                lam = lam + Co.T @ Ri @ (X[t, observed] - D[observed] @ U[t])
            precisions.append(Lam)
            linears.append(lam)
        # back from the first step after the period: z_t = G z_{t+1} + g + noise(M^{-1})
        mu_next, Sig_next = after[0][s], after[1][s]
        for j in range(d - 1, -1, -1):
            t = base + j
            M = _symmetric(precisions[j] + AtQiA)
            try:
                chol = np.linalg.cholesky(M)
            except np.linalg.LinAlgError:
                raise np.linalg.LinAlgError(
                    f"the initial state of sequence {s} is not determined by the data at "
                    f"step {j} (the diffuse smoother's precision is singular); the state "
                    "has a direction that neither the observations nor the dynamics reach"
                ) from None
            Minv = np.linalg.inv(chol.T) @ np.linalg.inv(chol)
            G = Minv @ AtQi
            g = Minv @ (linears[j] - AtQi @ (B @ U[t + 1]))
            mu = G @ mu_next + g
            Sig = _symmetric(G @ Sig_next @ G.T + Minv)
            V = Sig_next @ G.T  # Cov(z_{t+1}, z_t)
            row = first_row + j
            means[row], covs[row] = mu, Sig
            if j == d - 1:
                cross_after[s] = V
            else:
                cross[row + 1] = V
            mu_next, Sig_next = mu, Sig
        first_row += d
    return means, covs, cross, cross_after
