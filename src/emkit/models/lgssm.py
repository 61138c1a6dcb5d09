r"""Linear-Gaussian state-space model (Kalman filter model), fitted by EM.

.. math::

    z_1 &\sim \mathcal{N}(m_0, P_0), \\
    z_t &= A z_{t-1} + B u_t + w_t, \quad w_t \sim \mathcal{N}(0, Q), \\
    x_t &= C z_t + D u_t + v_t, \quad v_t \sim \mathcal{N}(0, R),

with hidden states :math:`z_t \in \mathbb{R}^k`, observations :math:`x_t \in
\mathbb{R}^p` (NaN entries are missing) and optional known controls :math:`u_t \in
\mathbb{R}^m`.

E-step: the Kalman filter and the Rauch-Tung-Striebel smoother
(:mod:`emkit._kernels.kalman`) give the posterior of the states, and with it the
summed moments :math:`\sum_t E[z_t z_t^\top]`, :math:`\sum_t E[z_t z_{t-1}^\top]`,
:math:`\sum_t E[x_t z_t^\top]`, ... (:class:`LGSSMStats`): fixed size and additive
across chunks and sequences. Missing coordinates of :math:`x_t` are part of the
complete data: given :math:`z_t` and the observed coordinates :math:`x_o` they are
Gaussian,

.. math::

    x_m \mid z_t, x_o \sim \mathcal{N}\big(H z_t + h,\;
        R_{mm} - R_{mo} R_{oo}^{-1} R_{om}\big), \quad
    H = C_m - G C_o,\; h = D_m u_t + G (x_o - D_o u_t),\; G = R_{mo} R_{oo}^{-1},

so the moments :math:`E[x_t x_t^\top]`, :math:`E[x_t z_t^\top]` are exact and the
M-step keeps its closed form for every parameter, with any missingness pattern and any
covariance structure. This is exact EM for the observed-data likelihood (Shumway and
Stoffer, 1982), so the log-likelihood never decreases.

M-step (closed form, for any subset of parameters; the others stay exactly fixed):
:math:`[A\; B]` and :math:`[C\; D]` by least squares on the expected moments (the
noise covariance cancels because every output shares the regressors), then
:math:`Q` and :math:`R` as the expected residual covariances under the new
coefficients (full, diagonal or spherical), then :math:`m_0` and :math:`P_0` from the
first states of the sequences.

A diffuse first state (``initial_state="diffuse"``, Durbin & Koopman's exact initial
treatment, :mod:`emkit._kernels.diffuse`): :math:`P_0 = \kappa I`, :math:`\kappa \to
\infty`. The E-step then runs the exact diffuse filter over each sequence's diffuse
period (until its observations have determined the state), the compiled E-step from the
filter's prediction of the next step on, and the diffuse period's smoothed moments in
information form from the smoothed first state after it; the log-likelihood is the
diffuse one. :math:`m_0, P_0` are not used and not learned, and the expected log-joint
leaves out the first state's density, whose limit does not depend on the parameters:
the M-step of the others is unchanged, and EM is monotone in the diffuse
log-likelihood.

Online EM (``partial_fit``, :mod:`emkit.core.online`) averages the statistics per
time step, the counts ``n_sequences``, ``n_steps`` and ``n_transitions`` included:
every parameter's M-step is a ratio of moments to the count of its own group
(observations per step, transitions, first states per sequence), so it is unchanged by
a common scale of all statistics. The initial-state moments stay sums over sequences
and :math:`m_0, P_0` divide them by the averaged number of sequences, which counts
every sequence's first state once whatever the batch sizes.

Moments are raw (not centred) float64 sums: their merge is an exact sum, and the
M-step differences (e.g. :math:`\sum E[x x^\top] - C \sum E[z x^\top]`) lose only the
digits of the signal-to-noise ratio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import linalg

from emkit._kernels.diffuse import diffuse_filter, diffuse_smoother
from emkit._kernels.kalman import (
    FilterResult,
    SmootherResult,
    expected_statistics,
    kalman_filter,
    rts_smoother,
    smoothed_states,
    smoothed_statistics,
)
from emkit.containers import Statistics
from emkit.errors import NumericalError
from emkit.families._covariance import (
    MATRIX_COVARIANCE_TYPES,
    matrix_size,
    pack_matrix,
    project_matrix,
    unpack_matrix,
)
from emkit.models._lgssm_drift import state_scale_drift
from emkit.models._sequences import sequence_offsets

__all__ = [
    "COVARIANCE_TYPES",
    "INITIAL_STATES",
    "LGSSM",
    "PARAM_NAMES",
    "LGSSMChunk",
    "LGSSMParams",
    "LGSSMStats",
    "ObservedMoments",
    "covariance_scales",
    "data_driven_params",
    "data_driven_start",
    "floored_covariance",
    "positive_scale",
    "resolved_variance",
    "start_state_scale",
]

#: parameter names, in the order of :class:`LGSSMParams`
PARAM_NAMES = (
    "transition_matrix",
    "observation_matrix",
    "transition_covariance",
    "observation_covariance",
    "initial_state_mean",
    "initial_state_covariance",
    "control_transition_matrix",
    "control_observation_matrix",
)
#: the first state's distribution: N(m0, P0), or exactly diffuse (Durbin & Koopman)
INITIAL_STATES = ("gaussian", "diffuse")
#: the parameters of the first state's distribution (not used when it is diffuse)
INITIAL_NAMES = ("initial_state_mean", "initial_state_covariance")
#: structures of the covariances Q and R (see :mod:`emkit.families._covariance`)
COVARIANCE_TYPES = MATRIX_COVARIANCE_TYPES
#: the learned covariances (the ones ``reg_covar`` floors)
COVARIANCE_NAMES = ("transition_covariance", "observation_covariance", "initial_state_covariance")
#: eigenvalue floor of the data-driven Q and P0, relative to the projected states' variance
START_FLOOR = 0.1
#: a variance below this fraction of the mean square is rounding noise (float64's
#: relative error eps ~ 1.1e-16 per value gives a variance of order eps**2 ~ 1e-32 of
#: it): the values are constant
ROUNDING_VARIANCE = 1e-28
#: a learned covariance whose smallest eigenvalue is below this fraction of its largest
#: is singular in float64 (Cholesky may still pass on rounding, the filter then fails)
SINGULAR_RTOL = 1e-12
#: steps of a chunk's first sequence that :meth:`LGSSM.check_params` filters: the
#: covariances settle within a few dozen steps unless the dynamics are nearly unit-root
CHECK_STEPS = 256


@dataclass(frozen=True)
class LGSSMParams:
    """Parameters (k states, p observed features, m controls); a field may be None in
    a partial container (e.g. the user's initial values).

    transition_matrix : (k, k) A
    observation_matrix : (p, k) C
    transition_covariance : (k, k) Q
    observation_covariance : (p, p) R
    initial_state_mean : (k,) m0
    initial_state_covariance : (k, k) P0
    control_transition_matrix : (k, m) B
    control_observation_matrix : (p, m) D

    Covariances are always stored as full matrices, whatever their structure.
    """

    transition_matrix: np.ndarray | None = None
    observation_matrix: np.ndarray | None = None
    transition_covariance: np.ndarray | None = None
    observation_covariance: np.ndarray | None = None
    initial_state_mean: np.ndarray | None = None
    initial_state_covariance: np.ndarray | None = None
    control_transition_matrix: np.ndarray | None = None
    control_observation_matrix: np.ndarray | None = None

    def kernel_arguments(self):
        """(A, B, C, D, Q, R, m0, P0), the kernels' argument order."""
        return (
            self.transition_matrix,
            self.control_transition_matrix,
            self.observation_matrix,
            self.control_observation_matrix,
            self.transition_covariance,
            self.observation_covariance,
            self.initial_state_mean,
            self.initial_state_covariance,
        )


@dataclass(frozen=True, eq=False)
class LGSSMStats(Statistics):
    """Expected complete-data sufficient statistics of a set of sequences: posterior
    moments summed over time steps (k states, p features, m controls), as
    :func:`emkit._kernels.kalman.expected_statistics` computes them. ``E`` is the
    posterior expectation given the observed data (missing values included), t runs
    over the steps of every sequence, and the transition moments over t >= 2 (z_{t-1}
    is "prev", z_t "next").

    Attributes
    ----------
    n_sequences, n_steps, n_transitions : float
        Number of sequences, of time steps and of transitions (steps minus sequences);
        statistics like the moments (scaled with them by ``*``, e.g. per time step
        in online EM), so they need not be integers.
    sum_z_first : (k,)   sum over sequences of E[z_1]
    sum_zz_first : (k, k)   sum over sequences of E[z_1 z_1']
    sum_zz : (k, k)   sum_t E[z_t z_t']
    sum_zz_prev : (k, k)   sum_{t>=2} E[z_{t-1} z_{t-1}']
    sum_zz_next : (k, k)   sum_{t>=2} E[z_t z_t']
    sum_zz_cross : (k, k)   sum_{t>=2} E[z_t z_{t-1}'], the lag-one cross moment
    sum_zu_prev : (k, m)   sum_{t>=2} E[z_{t-1}] u_t'
    sum_zu_next : (k, m)   sum_{t>=2} E[z_t] u_t'
    sum_uu_next : (m, m)   sum_{t>=2} u_t u_t'
    sum_xz : (p, k)   sum_t E[x_t z_t']
    sum_xu : (p, m)   sum_t E[x_t] u_t'
    sum_zu : (k, m)   sum_t E[z_t] u_t'
    sum_uu : (m, m)   sum_t u_t u_t'
    sum_xx : (p, p)   sum_t E[x_t x_t']
    """

    n_sequences: float
    n_steps: float
    n_transitions: float
    sum_z_first: np.ndarray
    sum_zz_first: np.ndarray
    sum_zz: np.ndarray
    sum_zz_prev: np.ndarray
    sum_zz_next: np.ndarray
    sum_zz_cross: np.ndarray
    sum_zu_prev: np.ndarray
    sum_zu_next: np.ndarray
    sum_uu_next: np.ndarray
    sum_xz: np.ndarray
    sum_xu: np.ndarray
    sum_zu: np.ndarray
    sum_uu: np.ndarray
    sum_xx: np.ndarray


@dataclass(frozen=True)
class LGSSMChunk:
    """Sequences stored end to end.

    Attributes
    ----------
    X : ndarray of shape (T, p), float64, C-contiguous; NaN marks a missing value.
    U : ndarray of shape (T, m), float64 (m = 0 without controls).
    offsets : ndarray of int64 of shape (n_sequences + 1,)
        Sequence s is rows offsets[s]:offsets[s+1].
    """

    X: np.ndarray
    U: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_arrays(cls, X, U=None, lengths=None) -> LGSSMChunk:
        """Chunk of already validated arrays (``lengths`` summing to ``len(X)``)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        U = np.zeros((X.shape[0], 0)) if U is None else np.ascontiguousarray(U, dtype=np.float64)
        return cls(X, U, sequence_offsets(lengths, X.shape[0]))

    @property
    def n_sequences(self) -> int:
        return self.offsets.shape[0] - 1

    def __len__(self) -> int:
        return self.X.shape[0]


class LGSSM:
    """EM model of a linear-Gaussian state-space model (see the module docstring).

    Parameters
    ----------
    state_dim : int
        k, the dimension of the hidden state.
    n_features : int
        p, the dimension of the observations.
    n_controls : int, default=0
        m, the dimension of the control inputs.
    learn : iterable of str, optional
        Parameters that EM estimates, among :data:`PARAM_NAMES`. Default: all. The
        others stay exactly (bit for bit) at their values in ``initial``.
    initial : LGSSMParams, optional
        Values of the parameters that are not learned (required), and optional
        starting values of learned ones (they replace the data-driven start of every
        restart).
    transition_covariance_type, observation_covariance_type : {"full", "diag", "spherical"}
        Structure of Q and of R: full, diagonal, or a scalar times the identity.
    reg_covar : float, default=0
        Floor of every learned covariance: the M-step maximises Q over covariances
        Σ with ``Σ - reg_covar·diag(scale) ⪰ 0`` (``scale`` from ``covariance_scales``,
        1 by default), which is the unconstrained maximiser with its eigenvalues, in
        the coordinates where the floor is the identity, raised to 1 (see
        :func:`floored_covariance`). The M-step is exact on that constrained set, so
        the log-likelihood still never decreases, and a floor that does not bind
        changes nothing (bit for bit). 0: no floor.
    covariance_scales : dict, optional
        Per-coordinate scales of the floor, name of a covariance -> ndarray (d,) of
        positive values (e.g. the features' variances for R); missing names: 1.
    perturbation : float, default=0
        Relative size of the random perturbation of the data-driven starting values of
        learned parameters (restarts use it to explore other starting points).
    initial_state : {"gaussian", "diffuse"}, default="gaussian"
        The first state's distribution: N(m0, P0), or exactly diffuse (see the module
        docstring); "diffuse" refuses to learn m0 and P0.
    """

    # engine hook: a tol=0 fit that runs away (no fixed point) stops with the reason
    diverging = state_scale_drift

    def __init__(
        self,
        state_dim: int,
        n_features: int,
        n_controls: int = 0,
        *,
        learn=None,
        initial: LGSSMParams | None = None,
        transition_covariance_type: str = "full",
        observation_covariance_type: str = "full",
        reg_covar: float = 0.0,
        perturbation: float = 0.0,
        covariance_scales: dict | None = None,
        initial_state: str = "gaussian",
    ):
        if initial_state not in INITIAL_STATES:
            raise ValueError(
                f"initial_state must be one of {INITIAL_STATES}, got {initial_state!r}"
            )
        learn = frozenset(PARAM_NAMES if learn is None else learn)
        if initial_state == "diffuse" and learn & set(INITIAL_NAMES):
            raise ValueError(
                f"with initial_state='diffuse' the first state has no mean or covariance "
                f"to learn; remove {sorted(learn & set(INITIAL_NAMES))} from learn"
            )
        unknown = learn - set(PARAM_NAMES)
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {sorted(unknown)}; choose from {PARAM_NAMES}"
            )
        initial = LGSSMParams() if initial is None else initial
        for name in PARAM_NAMES:
            if name not in learn and getattr(initial, name) is None:
                raise ValueError(
                    f"{name!r} is not learned, so its value must be given in `initial`"
                )
        for name, value in (
            ("transition_covariance_type", transition_covariance_type),
            ("observation_covariance_type", observation_covariance_type),
        ):
            if value not in COVARIANCE_TYPES:
                raise ValueError(f"{name} must be one of {COVARIANCE_TYPES}, got {value!r}")
        self.state_dim = int(state_dim)
        self.n_features = int(n_features)
        self.n_controls = int(n_controls)
        self.learn = learn
        self.initial = initial
        self.transition_covariance_type = transition_covariance_type
        self.observation_covariance_type = observation_covariance_type
        self.reg_covar = float(reg_covar)
        self.perturbation = float(perturbation)
        self.initial_state = initial_state
        dims = {
            "transition_covariance": self.state_dim,
            "observation_covariance": self.n_features,
            "initial_state_covariance": self.state_dim,
        }
        scales = dict(covariance_scales or {})
        #: name -> (d,) eigenvalue floor of each learned covariance (zeros: no floor)
        self.covariance_floors = {
            name: self.reg_covar * np.broadcast_to(np.asarray(scales.get(name, 1.0), float), (d,))
            for name, d in dims.items()
        }

    # -- initialisation -------------------------------------------------------------
    def init_params(self, chunks: Sequence[LGSSMChunk], rng) -> LGSSMParams:
        """Data-driven start (see :func:`data_driven_params`), perturbed by ``perturbation``."""
        params = data_driven_params(
            chunks,
            self.state_dim,
            self.initial,
            self.transition_covariance_type,
            self.observation_covariance_type,
            rng,
        )
        if self.perturbation > 0:
            free = {name for name in self.learn if getattr(self.initial, name) is None}
            params = _perturbed(params, free, self.perturbation, rng, self._covariance_types())
        # a start inside the floored set, as every later M-step is
        kinds = self._covariance_types()
        floored = {
            name: floored_covariance(
                getattr(params, name), self.covariance_floors[name], kinds[name]
            )
            for name in COVARIANCE_NAMES
            if name in self.learn and getattr(self.initial, name) is None
        }
        return dataclasses.replace(params, **floored)

    def _covariance_types(self):
        return {
            "transition_covariance": self.transition_covariance_type,
            "observation_covariance": self.observation_covariance_type,
            "initial_state_covariance": "full",
        }

    # -- E-step ---------------------------------------------------------------------
    def filter(self, params: LGSSMParams, chunk: LGSSMChunk) -> FilterResult:
        """Kalman filter of every sequence of ``chunk``. With a diffuse first state, the
        covariances of the steps of the diffuse period are their finite parts P_* and
        the log-likelihood is the diffuse one (see :mod:`emkit._kernels.diffuse`)."""
        if self.initial_state == "diffuse":
            return self._diffuse_filter(params, chunk)[0]
        try:
            return kalman_filter(chunk.X, chunk.U, chunk.offsets, *params.kernel_arguments())
        except np.linalg.LinAlgError as error:
            raise _degenerate_error(error, params) from None

    def check_params(self, params: LGSSMParams, chunk: LGSSMChunk) -> None:
        """Raise LinAlgError when the filter cannot run on ``params`` (see
        :class:`emkit.core.protocol.EMModel`): an innovation covariance C P Cᵀ + R that
        is no longer positive definite in floating point, as after an online update
        from a batch with a far outlier (R and Q of 1e6 to 1e21). The covariances'
        recursion does not depend on the observed values, only on which are missing,
        so the first ``CHECK_STEPS`` steps of the first sequence stand for the chunk:
        by then the filter is at (or near) its steady state."""
        end = min(int(chunk.offsets[1]), CHECK_STEPS)
        head = LGSSMChunk(chunk.X[:end], chunk.U[:end], np.array([0, end], dtype=np.int64))
        self.filter(params, head)

    def smooth(self, params: LGSSMParams, chunk: LGSSMChunk):
        """(FilterResult, SmootherResult) of every sequence of ``chunk``."""
        if self.initial_state == "diffuse":
            filtered, start, keep, rest, rest_filtered = self._diffuse_filter(params, chunk)
            rest_smoothed = self._rts(params, rest, rest_filtered)
            firsts = rest.offsets[:-1]
            after = (
                rest_smoothed.smoothed_means[firsts],
                rest_smoothed.smoothed_covariances[firsts],
            )
            means, covs, cross, cross_after = self._diffuse_smoother(params, chunk, start, after)
            smoothed = SmootherResult(*(np.empty_like(filtered[i]) for i in (2, 3, 3)))
            for part, window, later in zip(
                smoothed, (means, covs, cross), rest_smoothed, strict=True
            ):
                part[keep] = later
                part[start.rows] = window
            smoothed.cross_covariances[np.flatnonzero(keep)[firsts]] = cross_after
            return filtered, smoothed
        filtered = self.filter(params, chunk)
        return filtered, self._rts(params, chunk, filtered)

    def smoothed(self, params: LGSSMParams, chunk: LGSSMChunk) -> SmootherResult:
        """The SmootherResult of :meth:`smooth`, without the filter's (T, k, k) output."""
        if self.initial_state == "diffuse":
            return self.smooth(params, chunk)[1]
        try:
            return smoothed_states(chunk.X, chunk.U, chunk.offsets, *params.kernel_arguments())
        except np.linalg.LinAlgError as error:
            raise _degenerate_error(error, params) from None

    def _rts(self, params, chunk, filtered):
        try:
            return rts_smoother(
                chunk.offsets, params.transition_matrix, params.transition_covariance, filtered
            )
        except np.linalg.LinAlgError as error:
            raise _degenerate_error(error, params) from None

    def _diffuse_start(self, params: LGSSMParams, chunk: LGSSMChunk):
        """The diffuse period of every sequence (:class:`DiffuseStart`), the mask of
        the rows after it and the chunk of those rows (every sequence's rest)."""
        A, B, C, D, Q, R, _, _ = params.kernel_arguments()
        start = diffuse_filter(chunk.X, chunk.U, chunk.offsets, A, B, C, D, Q, R)
        keep = np.ones(len(chunk), dtype=bool)
        keep[start.rows] = False
        lengths = np.diff(chunk.offsets) - start.n_diffuse
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rest = LGSSMChunk(
            np.ascontiguousarray(chunk.X[keep]), np.ascontiguousarray(chunk.U[keep]), offsets
        )
        return start, keep, rest

    def _diffuse_filter(self, params, chunk):
        start, keep, rest = self._diffuse_start(params, chunk)
        initial = (start.handoff_means, start.handoff_covariances)
        try:
            later = kalman_filter(
                rest.X, rest.U, rest.offsets, *params.kernel_arguments(), initial=initial
            )
        except np.linalg.LinAlgError as error:
            raise _degenerate_error(error, params) from None
        window = (
            start.predicted_means,
            start.predicted_covariances,
            start.filtered_means,
            start.filtered_covariances,
        )
        parts = []
        for early, part in zip(window, later[:4], strict=True):
            whole = np.empty((len(chunk), *part.shape[1:]))
            whole[keep] = part
            whole[start.rows] = early
            parts.append(whole)
        filtered = FilterResult(*parts, start.log_likelihoods + later.log_likelihoods)
        return filtered, start, keep, rest, later

    def _diffuse_smoother(self, params, chunk, start, after):
        A, B, C, D, Q, R, _, _ = params.kernel_arguments()
        return diffuse_smoother(chunk.X, chunk.U, chunk.offsets, A, B, C, D, Q, R, start, after)

    def _diffuse_moments(self, params: LGSSMParams, chunk: LGSSMChunk):
        """The E-step's moments and log-likelihoods with a diffuse first state: the
        compiled E-step on the rows after every diffuse period (its first state's prior the
        diffuse filter's prediction), the diffuse period's moments from the exact diffuse
        smoother, and the transition from the one into the other."""
        start, _, rest = self._diffuse_start(params, chunk)
        try:
            moments, logliks, first_means, first_covs = smoothed_statistics(
                rest.X,
                rest.U,
                rest.offsets,
                *params.kernel_arguments(),
                initial=(start.handoff_means, start.handoff_covariances),
                first_states=True,
            )
        except np.linalg.LinAlgError as error:
            raise _degenerate_error(error, params) from None
        means, covs, cross, cross_after = self._diffuse_smoother(
            params, chunk, start, (first_means, first_covs)
        )
        window_lengths = start.n_diffuse
        window_offsets = np.concatenate([[0], np.cumsum(window_lengths)]).astype(np.int64)
        X_window, U_window = chunk.X[start.rows], chunk.U[start.rows]
        window = expected_statistics(
            X_window,
            U_window,
            window_offsets,
            params.observation_matrix,
            params.control_observation_matrix,
            params.observation_covariance,
            SmootherResult(means, covs, cross),
        )
        # the transition from the last step of each diffuse period into the first after it
        last = window_offsets[1:] - 1
        mu_last, mu_next = means[last], first_means
        U_next = rest.U[rest.offsets[:-1]]
        Ezz_last = covs[last] + mu_last[:, :, None] * mu_last[:, None, :]
        total = {name: window[name] + moments[name] for name in moments}
        total["sum_z_first"] = window["sum_z_first"]
        total["sum_zz_first"] = window["sum_zz_first"]
        total["sum_zz_prev"] = total["sum_zz_prev"] + Ezz_last.sum(axis=0)
        total["sum_zz_next"] = total["sum_zz_next"] + moments["sum_zz_first"]
        total["sum_zz_cross"] = total["sum_zz_cross"] + (
            cross_after + mu_next[:, :, None] * mu_last[:, None, :]
        ).sum(axis=0)
        total["sum_zu_prev"] = total["sum_zu_prev"] + mu_last.T @ U_next
        total["sum_zu_next"] = total["sum_zu_next"] + mu_next.T @ U_next
        total["sum_uu_next"] = total["sum_uu_next"] + U_next.T @ U_next
        return total, start.log_likelihoods + logliks

    def e_step(self, params: LGSSMParams, chunk: LGSSMChunk):
        """(LGSSMStats of ``chunk`` under ``params``, its summed log-likelihood), by the
        Kalman filter and the RTS smoother, the moments summed in the smoother's pass
        (:func:`emkit._kernels.kalman.smoothed_statistics`); with a diffuse first state,
        the exact diffuse filter and smoother over the diffuse period."""
        if self.initial_state == "diffuse":
            moments, log_likelihoods = self._diffuse_moments(params, chunk)
        else:
            try:
                moments, log_likelihoods = smoothed_statistics(
                    chunk.X, chunk.U, chunk.offsets, *params.kernel_arguments()
                )
            except np.linalg.LinAlgError as error:
                raise _degenerate_error(error, params) from None
        n_seq = chunk.n_sequences
        stats = LGSSMStats(
            n_sequences=float(n_seq),
            n_steps=float(len(chunk)),
            n_transitions=float(len(chunk) - n_seq),
            **moments,
        )
        return stats, float(log_likelihoods.sum())

    # -- M-step ---------------------------------------------------------------------
    def m_step(self, stats: LGSSMStats) -> LGSSMParams:
        """The closed-form M-step of the learned parameters (see the module docstring);
        the others are ``initial``'s."""
        return _maximise(
            stats,
            self.learn,
            self.initial,
            self.transition_covariance_type,
            self.observation_covariance_type,
            self.covariance_floors,
        )

    # -- objective pieces -----------------------------------------------------------
    def log_prior(self, params: LGSSMParams) -> float:
        """0.0: the state-space model is fitted by maximum likelihood."""
        return 0.0

    def expected_log_joint(self, params: LGSSMParams, stats: LGSSMStats) -> float:
        """Q(θ) = E_q[log p(z, x | θ)] from the statistics (missing x included)."""
        k = self.state_dim
        m0 = params.initial_state_mean
        value = 0.0  # a diffuse first state: its density's limit is free of the parameters
        if self.initial_state != "diffuse":
            value = _gaussian_term(
                params.initial_state_covariance, _initial_scatter(stats, m0), stats.n_sequences
            )
        if k and stats.n_transitions > 0:
            S_ys, S_ss = _transition_moments(stats)
            W = np.hstack([params.transition_matrix, params.control_transition_matrix])
            scatter = _residual_scatter(stats.sum_zz_next, S_ys, S_ss, W)
            value += _gaussian_term(params.transition_covariance, scatter, stats.n_transitions)
        S_ys, S_ss = _observation_moments(stats)
        W = np.hstack([params.observation_matrix, params.control_observation_matrix])
        scatter = _residual_scatter(stats.sum_xx, S_ys, S_ss, W)
        return value + _gaussian_term(params.observation_covariance, scatter, stats.n_steps)

    def n_free_parameters(self) -> int:
        """Number of scalar parameters that EM estimates."""
        k, p, m = self.state_dim, self.n_features, self.n_controls
        counts = {
            "transition_matrix": k * k,
            "observation_matrix": p * k,
            "transition_covariance": matrix_size(self.transition_covariance_type, k),
            "observation_covariance": matrix_size(self.observation_covariance_type, p),
            "initial_state_mean": k,
            "initial_state_covariance": matrix_size("full", k),
            "control_transition_matrix": k * m,
            "control_observation_matrix": p * m,
        }
        return sum(counts[name] for name in self.learn)

    # -- unconstrained vector form (for SQUAREM acceleration) ---------------------------
    def pack(self, params: LGSSMParams) -> np.ndarray:
        """The learned parameters as one unconstrained 1-D vector.

        Matrices and the initial mean as they are; a covariance as the Gaussian
        family packs it (:func:`emkit.families._covariance.pack_matrix`): a full one by
        its log-Cholesky factor (the lower triangle row by row, the log of the
        diagonal), a diagonal one by its log-variances, a spherical one by its
        log-variance.
        """
        kinds = self._covariance_types()
        parts = []
        for name in PARAM_NAMES:
            if name not in self.learn:
                continue
            value = getattr(params, name)
            if name in kinds:
                parts.append(pack_matrix(value, kinds[name]))
            else:
                parts.append(np.ravel(value))
        return np.concatenate(parts) if parts else np.zeros(0)

    def unpack(self, vector: np.ndarray, like: LGSSMParams) -> LGSSMParams:
        """Inverse of :meth:`pack`; parameters that are not learned are ``like``'s."""
        kinds = self._covariance_types()
        values, start = {}, 0
        for name in PARAM_NAMES:
            if name not in self.learn:
                continue
            shape = np.shape(getattr(like, name))
            if name in kinds:
                size = matrix_size(kinds[name], shape[0])
                values[name] = unpack_matrix(vector[start : start + size], shape[0], kinds[name])
            else:
                size = int(np.prod(shape))
                values[name] = vector[start : start + size].reshape(shape)
            start += size
        return dataclasses.replace(like, **values)

    # -- prediction and simulation ----------------------------------------------------
    def forecast(self, params: LGSSMParams, chunk: LGSSMChunk, steps: int, U_future=None):
        """Predictive distribution of the next ``steps`` observations after every sequence.

        Returns
        -------
        means : ndarray of shape (n_sequences, steps, p)
        covariances : ndarray of shape (n_sequences, steps, p, p)
        """
        A, B, C, D, Q, R, _, _ = params.kernel_arguments()
        filtered = self.filter(params, chunk)
        U_future = np.zeros((steps, 0)) if U_future is None else U_future
        n_seq, p = chunk.n_sequences, self.n_features
        means, covs = np.empty((n_seq, steps, p)), np.empty((n_seq, steps, p, p))
        for s in range(n_seq):
            last = chunk.offsets[s + 1] - 1
            m, P = filtered.filtered_means[last], filtered.filtered_covariances[last]
            for h in range(steps):
                m = A @ m + B @ U_future[h]
                P = _symmetric(A @ P @ A.T + Q)
                means[s, h] = C @ m + D @ U_future[h]
                covs[s, h] = _symmetric(C @ P @ C.T + R)
        return means, covs

    def sample(self, params: LGSSMParams, n_samples: int, rng, U=None):
        """Simulate one sequence: (X of shape (n_samples, p), states of shape (n_samples, k))."""
        A, B, C, D, Q, R, m0, P0 = params.kernel_arguments()
        U = np.zeros((n_samples, 0)) if U is None else U
        k, p = self.state_dim, self.n_features
        state_noise = rng.standard_normal((n_samples, k)) @ _matrix_sqrt(Q).T
        obs_noise = rng.standard_normal((n_samples, p)) @ _matrix_sqrt(R).T
        states = np.empty((n_samples, k))
        states[0] = m0 + _matrix_sqrt(P0) @ rng.standard_normal(k)
        for t in range(1, n_samples):
            states[t] = A @ states[t - 1] + B @ U[t] + state_noise[t]
        X = states @ C.T + U @ D.T + obs_noise
        return X, states


# -- the M-step, shared with the data-driven initialisation -------------------------------
def _regression_moments(yz, yu, zz, zu, uu):
    """(S_ys, S_ss) = ([yz yu], [[zz zu], [zu' uu]]) of a regression on s = [z; u]
    (slices of two preallocated arrays: np.block costs more than the M-step's algebra)."""
    k, m = zu.shape
    S_ys = np.empty((yz.shape[0], k + m))
    S_ys[:, :k] = yz
    S_ys[:, k:] = yu
    S_ss = np.empty((k + m, k + m))
    S_ss[:k, :k] = zz
    S_ss[:k, k:] = zu
    S_ss[k:, :k] = zu.T
    S_ss[k:, k:] = uu
    return S_ys, S_ss


def _transition_moments(stats: LGSSMStats):
    """(S_ys, S_ss) of the regression z_t ~ [z_{t-1}; u_t] over transitions."""
    return _regression_moments(
        stats.sum_zz_cross,
        stats.sum_zu_next,
        stats.sum_zz_prev,
        stats.sum_zu_prev,
        stats.sum_uu_next,
    )


def _observation_moments(stats: LGSSMStats):
    """(S_ys, S_ss) of the regression x_t ~ [z_t; u_t] over all time steps."""
    return _regression_moments(stats.sum_xz, stats.sum_xu, stats.sum_zz, stats.sum_zu, stats.sum_uu)


def _initial_scatter(stats: LGSSMStats, m0):
    """sum over sequences of E[(z_1 - m0)(z_1 - m0)'] from the moments."""
    return (
        stats.sum_zz_first
        - np.outer(stats.sum_z_first, m0)
        - np.outer(m0, stats.sum_z_first)
        + stats.n_sequences * np.outer(m0, m0)
    )


def _solve_psd(S, rhs):
    """``rhs @ S^{-1}`` for symmetric positive semi-definite S (pseudo-inverse if singular)."""
    # NumPy's LAPACK calls, not scipy's cho_solve: on a loaded machine the latter's
    # threaded triangular solve spun for milliseconds on these (k + m)-square systems
    try:
        np.linalg.cholesky(S)  # positive definite?
        return np.linalg.solve(S, rhs.T).T
    except np.linalg.LinAlgError:
        return rhs @ linalg.pinv(S)


def _regression(S_ys, S_ss, blocks):
    """Coefficients W = [W_1 W_2] of y ~ W s, maximising the expected log-likelihood.

    ``blocks`` is ((n_columns, fixed value or None), ...) for the column blocks of W
    (state, then control): learned blocks (None) solve the normal equations with the
    fixed blocks' contribution moved to the right-hand side.
    """
    if all(value is None or n == 0 for n, value in blocks):  # nothing fixed: the whole W
        W = _solve_psd(S_ss, S_ys)
        bounds = np.cumsum([0] + [n for n, _ in blocks])
        return [W[:, bounds[i] : bounds[i + 1]] for i in range(len(blocks))]
    bounds = np.cumsum([0] + [n for n, _ in blocks])
    learned = np.concatenate(
        [np.arange(bounds[i], bounds[i + 1]) for i, (_, v) in enumerate(blocks) if v is None]
        + [np.zeros(0, dtype=int)]
    )
    fixed = np.setdiff1d(np.arange(bounds[-1]), learned)
    W = np.empty((S_ys.shape[0], bounds[-1]))
    for i, (_, value) in enumerate(blocks):
        if value is not None:
            W[:, bounds[i] : bounds[i + 1]] = value
    if learned.size:
        rhs = S_ys[:, learned] - W[:, fixed] @ S_ss[np.ix_(fixed, learned)]
        W[:, learned] = _solve_psd(S_ss[np.ix_(learned, learned)], rhs)
    return [W[:, bounds[i] : bounds[i + 1]] for i in range(len(blocks))]


def _residual_scatter(S_yy, S_ys, S_ss, W):
    """sum_t E[(y_t - W s_t)(y_t - W s_t)'] from the moments."""
    cross = W @ S_ys.T
    return _symmetric(S_yy - cross - cross.T + W @ S_ss @ W.T)


def _symmetric(M):
    return 0.5 * (M + M.T)


def _maximise(
    stats: LGSSMStats, learn, fixed: LGSSMParams, q_type, r_type, floors=None, *, check=True
):
    """Closed-form M-step for the parameters in ``learn``; the others are ``fixed``'s.

    ``floors``: name -> (d,) eigenvalue floor of a covariance (see
    :func:`floored_covariance`), None or zeros for none. With ``check``, a learned
    covariance that is not positive definite is an error (the data-driven start skips
    it: it floors them afterwards)."""
    k, m = stats.sum_zz.shape[0], stats.sum_uu.shape[0]
    floors = floors or {}

    def learned_or(name):
        return None if name in learn else getattr(fixed, name)

    def covariance(name, scatter, count, kind):
        cov = project_matrix(scatter / count, kind)
        floor = floors.get(name)
        if floor is not None and np.any(floor > 0):
            cov = floored_covariance(cov, floor, kind)
        if not check:
            return cov
        if not np.all(np.isfinite(cov)):
            raise NumericalError(
                f"the M-step's {name} is not finite: the expected moments overflowed. "
                "Scale the data (e.g. standardise every feature)"
            )
        values = np.linalg.eigvalsh(cov)
        # a numerically singular covariance can pass Cholesky on rounding and then fail
        # the filter of the next E-step: refuse it here, before any state is committed
        if values.size and not values[0] > SINGULAR_RTOL * values[-1]:
            raise np.linalg.LinAlgError(
                f"the M-step's {name} is not positive definite (eigenvalues "
                f"{values[0]:.3g} to {values[-1]:.3g}): the model fits some direction "
                "exactly. Set reg_covar > 0 (1e-6 is ample), use a 'diag' or 'spherical' "
                "covariance type, lower state_dim, or fix this covariance"
            )
        return cov

    # observation: [C D] by least squares, then R as the expected residual covariance
    S_ys, S_ss = _observation_moments(stats)
    C, D = _regression(
        S_ys,
        S_ss,
        ((k, learned_or("observation_matrix")), (m, learned_or("control_observation_matrix"))),
    )
    C = fixed.observation_matrix if "observation_matrix" not in learn else C
    D = fixed.control_observation_matrix if "control_observation_matrix" not in learn else D
    if "observation_covariance" in learn:
        scatter = _residual_scatter(stats.sum_xx, S_ys, S_ss, np.hstack([C, D]))
        R = covariance("observation_covariance", scatter, stats.n_steps, r_type)
    else:
        R = fixed.observation_covariance
    # transition: [A B], then Q
    learn_transition = {"transition_matrix", "control_transition_matrix", "transition_covariance"}
    if stats.n_transitions > 0 and learn & learn_transition:
        S_ys, S_ss = _transition_moments(stats)
        A, B = _regression(
            S_ys,
            S_ss,
            ((k, learned_or("transition_matrix")), (m, learned_or("control_transition_matrix"))),
        )
    else:
        A, B = fixed.transition_matrix, fixed.control_transition_matrix
    A = fixed.transition_matrix if "transition_matrix" not in learn else A
    B = fixed.control_transition_matrix if "control_transition_matrix" not in learn else B
    unlearnable = [n for n in sorted(learn & learn_transition) if stats.n_transitions <= 0]
    if check and unlearnable:
        # e.g. online EM whose step forgets every earlier batch, on a batch of length-1
        # sequences: nothing to estimate the dynamics from (A, Q would be left unset)
        raise ValueError(
            f"the statistics hold no transition (every sequence has length 1), so "
            f"{unlearnable} cannot be learned; give sequences of length 2 or more in X "
            "(lengths), or remove them from learn"
        )
    if "transition_covariance" in learn and stats.n_transitions > 0:
        scatter = _residual_scatter(stats.sum_zz_next, S_ys, S_ss, np.hstack([A, B]))
        Q = covariance("transition_covariance", scatter, stats.n_transitions, q_type)
    else:
        Q = fixed.transition_covariance
    # initial state
    if "initial_state_mean" in learn:
        m0 = stats.sum_z_first / stats.n_sequences
    else:
        m0 = fixed.initial_state_mean
    if "initial_state_covariance" in learn:
        scatter = _symmetric(_initial_scatter(stats, m0))
        P0 = covariance("initial_state_covariance", scatter, stats.n_sequences, "full")
    else:
        P0 = fixed.initial_state_covariance
    return LGSSMParams(A, C, Q, R, m0, P0, B, D)


def _gaussian_term(cov, scatter, count) -> float:
    """-(count (d log 2π + log|cov|) + tr(cov^{-1} scatter)) / 2."""
    d = cov.shape[0]
    if d == 0:
        return 0.0
    chol = np.linalg.cholesky(cov)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    # tr(cov^{-1} S) = tr(L^{-1} S L^{-T}) = sum((L^{-1} S) * L^{-1})
    trace = float(np.sum(np.linalg.solve(chol, scatter) * np.linalg.solve(chol, np.eye(d))))
    return -0.5 * (count * (d * np.log(2 * np.pi) + log_det) + trace)


def floored_covariance(cov, floor, kind):
    """The covariance of structure ``kind`` nearest ``cov`` in likelihood with
    ``Σ ⪰ diag(floor)``: the exact maximiser of ``-(log|Σ| + tr(Σ⁻¹ cov))`` on that set.

    In the coordinates ``y = diag(floor)^{-1/2} x`` the constraint is ``Σ_y ⪰ I`` and
    the objective keeps its form, so the maximiser has the eigenvectors of ``cov_y``
    and the eigenvalues ``max(λ, 1)`` (each eigenvalue's term ``-(log σ + λ/σ)`` is
    maximised separately); a diagonal Σ floors each variance, a spherical one its
    single variance (at the mean floor). Eigenvalues already above the floor are kept,
    and ``cov`` is returned unchanged (the same array) when none is below it.

    cov : (d, d), floor : (d,), all positive, or all 0 (no floor).
    """
    floor = np.asarray(floor, dtype=np.float64)
    d = cov.shape[0]
    if d == 0 or not np.any(floor > 0):
        return cov
    if kind == "spherical":
        level = float(np.mean(floor))
        return cov if cov[0, 0] >= level else level * np.eye(d)
    if kind == "diag":
        variances = np.diag(cov)
        return cov if np.all(variances >= floor) else np.diag(np.maximum(variances, floor))
    scale = np.sqrt(floor)
    if not np.all(scale > 0):
        raise ValueError("a full covariance's floor must be positive in every coordinate or 0")
    values, vectors = np.linalg.eigh(_symmetric(cov / np.outer(scale, scale)))
    if values[0] >= 1.0:
        return cov
    floored = (vectors * np.maximum(values, 1.0)) @ vectors.T
    return _symmetric(floored * np.outer(scale, scale))


@dataclass(frozen=True, eq=False)
class ObservedMoments:
    """Each feature's moments over its observed values (NaN skipped), computed once per
    fit: the offset check, the data-driven start and the ``reg_covar`` scales use them.

    mean, variance, mean_square : ndarray of shape (p,)
    """

    mean: np.ndarray
    variance: np.ndarray
    mean_square: np.ndarray

    @classmethod
    def of(cls, chunks: Sequence[LGSSMChunk]) -> ObservedMoments:
        X = np.concatenate([c.X for c in chunks])
        with np.errstate(all="ignore"):  # an overflowing square is the caller's to refuse
            return cls(np.nanmean(X, axis=0), np.nanvar(X, axis=0), np.nanmean(X**2, axis=0))


def covariance_scales(moments: ObservedMoments, state_scale: float, state_dim: int) -> dict:
    """Scales of :class:`LGSSM`'s ``reg_covar`` floor, from data and starting values.

    observation_covariance: each feature's variance (observed values, ``moments``);
    transition and initial-state covariance: ``state_scale``, the mean variance of the
    states projected from the data on the starting ``C`` and ``D`` (the states' scale
    is the one C gives them; see :func:`data_driven_start`, :func:`start_state_scale`).
    A scale of 0 (a constant feature) falls back to the feature's mean square, then 1.

    Returns
    -------
    dict name -> ndarray of shape (p,) or (k,)
    """
    with np.errstate(all="ignore"):
        variance = positive_scale(moments.variance, moments.mean_square)
    return {
        "observation_covariance": variance,
        "transition_covariance": np.full(state_dim, state_scale),
        "initial_state_covariance": np.full(state_dim, state_scale),
    }


def resolved_variance(variance, mean_square):
    """Where a variance is more than rounding noise: finite, positive and above
    :data:`ROUNDING_VARIANCE` of the mean square (float64 keeps it).

    variance, mean_square : ndarray of shape (d,) (or floats); returns bools of that shape.
    """
    variance, mean_square = np.asarray(variance, float), np.asarray(mean_square, float)
    return np.isfinite(variance) & (variance > 0) & (variance > ROUNDING_VARIANCE * mean_square)


def positive_scale(variance, mean_square):
    """The variance where it is more than rounding noise (:func:`resolved_variance`),
    else the mean square, else 1: a positive, finite scale.

    variance, mean_square : ndarray of shape (d,) (or floats); returns the same shape.
    """
    variance, mean_square = np.asarray(variance, float), np.asarray(mean_square, float)
    fallback = np.where(np.isfinite(mean_square) & (mean_square > 0), mean_square, 1.0)
    return np.where(resolved_variance(variance, mean_square), variance, fallback)


def _state_scale(states) -> float:
    """Mean variance of the projected states (T, k), or their mean square where the
    states are constant up to rounding (a constant series: its variance is ~1e-33,
    so a floor relative to it would not bind at all), then 1."""
    if not states.shape[1] or not states.shape[0]:
        return 1.0
    with np.errstate(all="ignore"):
        return float(positive_scale(np.mean(states.var(axis=0)), np.mean(states**2)))


def _degenerate_error(error, params: LGSSMParams) -> np.linalg.LinAlgError:
    """The kernel's failure, with what in ``params`` makes it likely: the learned
    covariances' conditioning and the dynamics' spectral radius."""
    notes = []
    for name in COVARIANCE_NAMES:
        values = np.linalg.eigvalsh(_symmetric(getattr(params, name)))
        if values.size and values[-1] > 0 and values[0] < 1e-8 * values[-1]:
            notes.append(
                f"{name} is nearly singular (eigenvalues {values[0]:.3g} to {values[-1]:.3g})"
            )
    A = params.transition_matrix
    radius = float(np.max(np.abs(np.linalg.eigvals(A)))) if A.size else 0.0
    if radius > 1.0:
        notes.append(f"transition_matrix has spectral radius {radius:.3g} (explosive dynamics)")
    diagnosis = ("; " + ", and ".join(notes)) if notes else ""
    return np.linalg.LinAlgError(
        f"{error}{diagnosis}. If this happened during fit, the fitted parameters became "
        "degenerate: set reg_covar > 0 (a floor on the learned covariances), lower "
        "state_dim, or fix the covariances"
    )


def _matrix_sqrt(S):
    """A square root L (L L' = S) of a positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(_symmetric(S))
    return vectors * np.sqrt(np.clip(values, 0.0, None))


# -- data-driven initialisation ----------------------------------------------------------
def data_driven_params(
    chunks: Sequence[LGSSMChunk],
    state_dim: int,
    given: LGSSMParams | None = None,
    transition_covariance_type: str = "full",
    observation_covariance_type: str = "full",
    rng=None,
) -> LGSSMParams:
    """Starting values from the data, a crude subspace identification.

    1. D: least squares of X on U (missing values replaced by column means).
    2. C: principal axes of the (uncentred: the model has no offset, the states carry
       the level) second moment of X - U D', scaled as in probabilistic PCA; with more
       states than features the extra columns are small random values.
    3. States: the least-squares projection of X - U D' on the columns of C.
    4. A, B, Q, R, m0: the closed-form M-step with the projected states taken as known.
       R is floored at 5% of each feature's variance (for k >= p the projection fits
       exactly), and the eigenvalues of Q at :data:`START_FLOOR` (10%) of the state
       variance: with more states than features the projected states span only p
       directions, and a start with a (nearly) singular Q there let EM drift into
       dynamics that grow without bound along them until the filter failed.
    5. P0: the covariance of the projected states, its eigenvalues floored as Q's.

    Every value given in ``given`` is used as is and enters the later steps (a given
    C defines the projection, a given A the residuals of Q, ...).

    Returns
    -------
    LGSSMParams with every field set.
    """
    return data_driven_start(
        chunks, state_dim, given, transition_covariance_type, observation_covariance_type, rng
    )[0]


def data_driven_start(
    chunks: Sequence[LGSSMChunk],
    state_dim: int,
    given: LGSSMParams | None = None,
    transition_covariance_type: str = "full",
    observation_covariance_type: str = "full",
    rng=None,
    moments: ObservedMoments | None = None,
) -> tuple[LGSSMParams, float]:
    """:func:`data_driven_params`, and the projected states' scale (the
    ``state_scale`` of :func:`covariance_scales`), from one pass over the data.

    ``moments``: the chunks' :class:`ObservedMoments`, when the caller has them.
    """
    given = LGSSMParams() if given is None else given
    filled, U, variance, scale, D, C, states = _projection(chunks, state_dim, given, rng, moments)
    starts = np.concatenate([c.offsets[:-1] + start for c, start in _chunk_starts(chunks)])
    T, k, m = filled.shape[0], state_dim, U.shape[1]

    # point-estimate statistics of the projected states (zero posterior covariance)
    is_start = np.zeros(T, dtype=bool)
    is_start[starts] = True
    nxt = np.flatnonzero(~is_start)
    prev = nxt - 1
    stats = LGSSMStats(
        n_sequences=float(len(starts)),
        n_steps=float(T),
        n_transitions=float(len(nxt)),
        sum_z_first=states[starts].sum(axis=0),
        sum_zz_first=states[starts].T @ states[starts],
        sum_zz=states.T @ states,
        sum_zz_prev=states[prev].T @ states[prev],
        sum_zz_next=states[nxt].T @ states[nxt],
        sum_zz_cross=states[nxt].T @ states[prev],
        sum_zu_prev=states[prev].T @ U[nxt],
        sum_zu_next=states[nxt].T @ U[nxt],
        sum_uu_next=U[nxt].T @ U[nxt],
        sum_xz=filled.T @ states,
        sum_xu=filled.T @ U,
        sum_zu=states.T @ U,
        sum_uu=U.T @ U,
        sum_xx=filled.T @ filled,
    )
    state_var = _state_scale(states)
    # without transitions (all sequences of length 1) the dynamics cannot be estimated
    # from the data: start from a random walk with the states' spread
    no_dynamics = {}
    if not len(nxt):
        no_dynamics = {
            "transition_matrix": np.eye(k),
            "control_transition_matrix": np.zeros((k, m)),
            "transition_covariance": state_var * np.eye(k),
        }
        no_dynamics = {n: v for n, v in no_dynamics.items() if getattr(given, n) is None}
    fixed = dataclasses.replace(
        given,
        observation_matrix=C,
        control_observation_matrix=D,
        initial_state_covariance=np.eye(k),  # placeholder, set below
        **no_dynamics,
    )
    learn = frozenset(name for name in PARAM_NAMES if getattr(fixed, name) is None)
    params = _maximise(
        stats, learn, fixed, transition_covariance_type, observation_covariance_type, check=False
    )
    R, Q = params.observation_covariance, params.transition_covariance
    if given.observation_covariance is None:
        # diagonal, as in factor analysis: with k < p the residual of the projection
        # has rank p - k, so its full covariance would be singular
        floor = 0.05 * np.where(variance > 0, variance, scale)
        R = project_matrix(np.diag(np.maximum(np.diag(R), floor)), observation_covariance_type)
    # with k > p the projected states span only p directions: Q and P0 would be
    # singular in the others, and EM started there can drift into dynamics that blow
    # up along them (see data_driven_params' docstring)
    floor = np.full(k, START_FLOOR * state_var)
    if given.transition_covariance is None:
        Q = floored_covariance(Q, floor, transition_covariance_type)
    P0 = given.initial_state_covariance
    if P0 is None:
        P0 = np.atleast_2d(np.cov(states.T, bias=True)) if T > 1 else np.eye(k)
        P0 = floored_covariance(P0, floor, "full")
    start = dataclasses.replace(
        params, observation_covariance=R, transition_covariance=Q, initial_state_covariance=P0
    )
    return start, state_var


def start_state_scale(
    chunks: Sequence[LGSSMChunk],
    state_dim: int,
    given: LGSSMParams,
    rng=None,
    moments: ObservedMoments | None = None,
) -> float:
    """The ``state_scale`` of :func:`data_driven_start` without the rest of the start
    (its steps 1-3 only): for a model whose every parameter is given or learned from a
    given start, which needs only the scale of ``reg_covar``'s floor."""
    return _state_scale(_projection(chunks, state_dim, given, rng, moments).states)


class _Projection(NamedTuple):
    filled: np.ndarray  # (T, p): X with each missing value replaced by its feature's mean
    U: np.ndarray  # (T, m)
    variance: np.ndarray  # (p,), of ``filled``
    scale: float  # their mean, else the mean square of ``filled``, else 1
    D: np.ndarray  # (p, m)
    C: np.ndarray  # (p, k)
    states: np.ndarray  # (T, k), (filled - U D') projected on the columns of C


def _projection(chunks, state_dim, given: LGSSMParams, rng, moments) -> _Projection:
    """Steps 1-3 of :func:`data_driven_params`: D, C and the projected states (the
    given D and C where ``given`` has them)."""
    rng = np.random.RandomState(0) if rng is None else rng
    X = np.concatenate([c.X for c in chunks])
    U = np.concatenate([c.U for c in chunks])
    T, p = X.shape
    k, m = state_dim, U.shape[1]
    mean = np.nanmean(X, axis=0) if moments is None else moments.mean
    filled = np.where(np.isnan(X), mean, X)
    variance = filled.var(axis=0)
    scale = float(np.mean(variance)) or float(np.mean(filled**2)) or 1.0

    D = given.control_observation_matrix
    if D is None:
        D = np.linalg.lstsq(U, filled, rcond=None)[0].T if m else np.zeros((p, 0))
    Y = filled - U @ D.T
    C = given.observation_matrix
    if C is None:
        values, vectors = np.linalg.eigh(Y.T @ Y / T)
        values, vectors = values[::-1], vectors[:, ::-1]
        r = min(k, p)
        noise = float(values[r:].mean()) if k < p else 0.0
        C = np.zeros((p, k))
        C[:, :r] = vectors[:, :r] * np.sqrt(np.maximum(values[:r] - noise, 1e-6 * scale))
        if k > p:
            C[:, p:] = 0.1 * np.sqrt(scale) * rng.standard_normal((p, k - p))
    states = Y @ np.linalg.pinv(C).T
    return _Projection(filled, U, variance, scale, D, C, states)


def _chunk_starts(chunks):
    start = 0
    for chunk in chunks:
        yield chunk, start
        start += len(chunk)


def _perturbed(params: LGSSMParams, names, size, rng, covariance_types) -> LGSSMParams:
    """Random perturbation of the fields ``names`` (for restarts), keeping covariances PD."""
    changes = {}
    for name in sorted(names):
        value = getattr(params, name)
        if value.size == 0:
            continue
        if name in covariance_types:
            kind = covariance_types[name]
            n = value.shape[0]
            factors = np.exp(size * rng.standard_normal(1 if kind == "spherical" else n))
            factors = np.broadcast_to(factors, (n,))
            changes[name] = value * np.outer(factors, factors)
        elif name == "initial_state_mean":
            spread = np.sqrt(np.diag(params.initial_state_covariance))
            changes[name] = value + size * spread * rng.standard_normal(value.shape)
        else:
            typical = np.sqrt(np.mean(value**2)) or 1.0
            changes[name] = value + size * typical * rng.standard_normal(value.shape)
    return dataclasses.replace(params, **changes)
