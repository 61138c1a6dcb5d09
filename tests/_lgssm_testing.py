"""Shared helpers of the state-space tests: random models and the dense joint Gaussian.

The dense joint Gaussian of all states and observations of a short sequence is the
brute-force ground truth for the Kalman filter and smoother: conditioning it on the
observed entries gives the exact posterior, and its marginal the exact likelihood.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, stats

from emkit.models.lgssm import LGSSM, LGSSMChunk, LGSSMParams


def spd(rng, n, scale=1.0):
    """A well-conditioned random symmetric positive definite (n, n) matrix."""
    M = rng.standard_normal((n, n))
    return scale * (M @ M.T / n + np.eye(n))


def random_params(rng, k, p, m=0, *, stable=0.9) -> LGSSMParams:
    """Random parameters with a stable transition (spectral radius ``stable``)."""
    A = rng.standard_normal((k, k))
    A *= stable / max(np.abs(np.linalg.eigvals(A)).max(), 1e-12)
    return LGSSMParams(
        transition_matrix=A,
        observation_matrix=rng.standard_normal((p, k)),
        transition_covariance=spd(rng, k, 0.5),
        observation_covariance=spd(rng, p, 0.3),
        initial_state_mean=rng.standard_normal(k),
        initial_state_covariance=spd(rng, k),
        control_transition_matrix=rng.standard_normal((k, m)),
        control_observation_matrix=rng.standard_normal((p, m)),
    )


def simulate(params, lengths, rng, *, U=None, missing=0.0, missing_rows=0.0):
    """Sequences from ``params`` end to end; NaN at random entries and rows."""
    k, p = params.transition_matrix.shape[0], params.observation_matrix.shape[0]
    m = params.control_transition_matrix.shape[1]
    n = int(np.sum(lengths))
    U = rng.standard_normal((n, m)) if U is None else U
    model = LGSSM(k, p, m)
    parts, start = [], 0
    for length in lengths:
        X, _ = model.sample(params, length, rng, U[start : start + length])
        parts.append(X)
        start += length
    X = np.concatenate(parts)
    X[rng.random_sample(X.shape) < missing] = np.nan
    X[rng.random_sample(n) < missing_rows] = np.nan
    return X, U


def dense_joint(params: LGSSMParams, U):
    """Mean (T(k+p),) and covariance of y = (z_1, ..., z_T, x_1, ..., x_T) for one sequence."""
    A, B, C, D, Q, R, m0, P0 = params.kernel_arguments()
    T, k, p = U.shape[0], A.shape[0], C.shape[0]
    n_noise = T * (k + p)
    Gz, cz = np.zeros((T * k, n_noise)), np.zeros(T * k)
    for t in range(T):
        rows = slice(t * k, (t + 1) * k)
        if t == 0:
            cz[rows] = m0
        else:
            previous = slice((t - 1) * k, t * k)
            Gz[rows] = A @ Gz[previous]
            cz[rows] = A @ cz[previous] + B @ U[t]
        Gz[rows, rows] += np.eye(k)
    Gx = np.kron(np.eye(T), C) @ Gz
    Gx[:, T * k :] += np.eye(T * p)
    cx = np.kron(np.eye(T), C) @ cz + (U @ D.T).ravel()
    noise = linalg.block_diag(P0, *([Q] * (T - 1)), *([R] * T))
    G = np.vstack([Gz, Gx])
    return np.concatenate([cz, cx]), G @ noise @ G.T


class DensePosterior:
    """Exact posterior of states and missing observations of one sequence."""

    def __init__(self, params: LGSSMParams, X, U, upto=None):
        T, p = X.shape
        k = params.transition_matrix.shape[0]
        self.T, self.k, self.p = T, k, p
        mean, cov = dense_joint(params, U)
        x = X.ravel()
        observed = np.zeros(T * (k + p), dtype=bool)
        observed[T * k :] = ~np.isnan(x)
        if upto is not None:  # condition on x_1..x_upto only (filtering)
            observed[T * k + upto * p :] = False
        o, r = np.flatnonzero(observed), np.flatnonzero(~observed)
        values = x[o - T * k]
        gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, r)]).T
        self.mean = mean.copy()
        self.mean[r] = mean[r] + gain @ (values - mean[o])
        self.mean[o] = values
        self.cov = np.zeros_like(cov)
        self.cov[np.ix_(r, r)] = cov[np.ix_(r, r)] - gain @ cov[np.ix_(o, r)]
        self.latent = r
        self.log_likelihood = (
            stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(values) if o.size else 0.0
        )

    def z(self, t):
        return slice(t * self.k, (t + 1) * self.k)

    def x(self, t):
        base = self.T * self.k
        return slice(base + t * self.p, base + (t + 1) * self.p)

    def second_moment(self, a, b):
        return self.cov[a, b] + np.outer(self.mean[a], self.mean[b])

    def entropy(self):
        """Differential entropy of the posterior of all latent entries."""
        S = self.cov[np.ix_(self.latent, self.latent)]
        return 0.5 * (len(self.latent) * np.log(2 * np.pi * np.e) + np.linalg.slogdet(S)[1])

    def statistics(self, U):
        """The summed moments of :func:`emkit._kernels.kalman.expected_statistics`."""
        T = self.T
        z, x, M = self.z, self.x, self.second_moment
        out = {
            "sum_z_first": self.mean[z(0)],
            "sum_zz_first": M(z(0), z(0)),
            "sum_zz": sum(M(z(t), z(t)) for t in range(T)),
            "sum_zz_prev": sum(M(z(t - 1), z(t - 1)) for t in range(1, T)),
            "sum_zz_next": sum(M(z(t), z(t)) for t in range(1, T)),
            "sum_zz_cross": sum(M(z(t), z(t - 1)) for t in range(1, T)),
            "sum_zu_prev": sum(np.outer(self.mean[z(t - 1)], U[t]) for t in range(1, T)),
            "sum_zu_next": sum(np.outer(self.mean[z(t)], U[t]) for t in range(1, T)),
            "sum_uu_next": sum(np.outer(U[t], U[t]) for t in range(1, T)),
            "sum_xz": sum(M(x(t), z(t)) for t in range(T)),
            "sum_xu": sum(np.outer(self.mean[x(t)], U[t]) for t in range(T)),
            "sum_zu": sum(np.outer(self.mean[z(t)], U[t]) for t in range(T)),
            "sum_uu": U.T @ U,
            "sum_xx": sum(M(x(t), x(t)) for t in range(T)),
        }
        return out


def chunk_of(X, U=None, lengths=None) -> LGSSMChunk:
    return LGSSMChunk.from_arrays(X, U, lengths)
