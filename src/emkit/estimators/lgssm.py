"""Linear-Gaussian state-space model (Kalman filter and smoother) fitted by EM."""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import (
    EMEstimator,
    TrainingData,
    check_output_memory,
    numeric_array,
)
from emkit.estimators._data import validated_rows
from emkit.estimators._migration import STATE_SPACE_KEYWORDS
from emkit.estimators._parameters import Parameter, any_finite, resolved_sizes
from emkit.estimators._sequence_data import checked_offsets, prepare_sequences
from emkit.families._covariance import check_covariances
from emkit.families.gaussian import magnitude_limit
from emkit.models.lgssm import (
    COVARIANCE_TYPES,
    INITIAL_NAMES,
    INITIAL_STATES,
    LGSSM,
    PARAM_NAMES,
    LGSSMChunk,
    LGSSMParams,
    ObservedMoments,
    covariance_scales,
    data_driven_start,
    resolved_variance,
    start_state_scale,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from emkit._typing import EMCallback, RandomStateLike


#: learned when ``learn=None`` (plus the control matrices when controls are given)
DEFAULT_LEARN = (
    "transition_matrix",
    "observation_matrix",
    "transition_covariance",
    "observation_covariance",
    "initial_state_mean",
)
_CONTROL_NAMES = ("control_transition_matrix", "control_observation_matrix")
_TRANSITION_NAMES = ("transition_matrix", "control_transition_matrix", "transition_covariance")
_COVARIANCE_NAMES = ("transition_covariance", "observation_covariance", "initial_state_covariance")
#: default time steps per chunk of whole sequences in fit (E-stepped on n_jobs threads)
CHUNK_ROWS = 8192
#: relative size of the perturbation of the data-driven start when n_init > 1
RESTART_PERTURBATION = 0.3
#: below this magnitude a feature's squares (its moments) lose all precision
_SMALLEST_MAGNITUDE = 1e-150
#: largest |mean| / standard deviation of a feature that EM's raw moments can fit
_LARGEST_OFFSET = 1e5


@dataclasses.dataclass(frozen=True)
class _SequenceData(TrainingData):
    """TrainingData with ``moments``, the :class:`ObservedMoments` of ``init_chunks``:
    computed once, for the offset check, the data-driven start and the reg_covar scales."""

    moments: ObservedMoments | None = None


def _from_float(shape):
    """``to_field`` accepting a float for a vector (constant) or a square matrix (c·I)."""

    def convert(estimator, array, name):
        sizes = resolved_sizes(estimator, shape)
        if array.ndim or None in sizes:
            return array
        if len(sizes) == 1:
            return np.full(sizes, float(array))
        return float(array) * np.eye(sizes[0]) if sizes[0] == sizes[1] else array

    return convert


def _matrix(field: str, shape) -> Parameter:
    """A matrix or vector parameter (``<field>_``, initial value ``<field>_init``)."""
    return Parameter(field, shape, any_finite, init=f"{field}_init", to_field=_from_float(shape))


def _covariance(field: str, dim: str) -> Parameter:
    """A (dim, dim) covariance, given as a matrix, its diagonal or a float (c·I), with
    the structure of the estimator's ``<field>_type`` (P0 is always full)."""
    from_float = _from_float((dim, dim))

    def to_field(estimator, array, name):
        if array.ndim == 1:
            array = np.diag(array)
        array = from_float(estimator, array, name)
        # only a square matrix can be symmetrised; any other shape is left for the
        # shape check, which names the parameter (allclose would fail to broadcast)
        square = array.ndim == 2 and array.shape[0] == array.shape[1]
        if square and np.allclose(array, array.T, rtol=1e-10, atol=0.0):
            array = 0.5 * (array + array.T)  # exactly symmetric, for the filter
        return array

    def check(array, name, estimator):
        check_covariances(array, name, matrices=True)
        type_name = f"{field}_type"
        kinds = {
            "transition_covariance_type": estimator.transition_covariance_type,
            "observation_covariance_type": estimator.observation_covariance_type,
        }
        kind = kinds.get(type_name, "full")
        if kind == "diag" and np.any(array != np.diag(np.diag(array))):
            raise ValueError(f"{name} must be diagonal because {type_name}='diag'")
        if kind == "spherical" and np.any(array != array[0, 0] * np.eye(array.shape[0])):
            raise ValueError(
                f"{name} must be a multiple of the identity because {type_name}='spherical'"
            )

    return Parameter(field, (dim, dim), check, init=f"{field}_init", to_field=to_field)


class LinearGaussianSSM(EMEstimator):
    r"""Linear-Gaussian state-space model, fitted by EM (Kalman filter + RTS smoother).

    .. math::

        z_1 &\sim \mathcal{N}(m_0, P_0), \\
        z_t &= A z_{t-1} + B u_t + w_t, \quad w_t \sim \mathcal{N}(0, Q), \\
        x_t &= C z_t + D u_t + v_t, \quad v_t \sim \mathcal{N}(0, R),

    with hidden states :math:`z_t \in \mathbb{R}^k` (``state_dim``), observations
    :math:`x_t \in \mathbb{R}^p` and optional known control inputs
    :math:`u_t \in \mathbb{R}^m` (``U``). EM estimates any subset of
    :math:`A, B, C, D, Q, R, m_0, P_0` (``learn``) from the smoothed moments of the
    states; the others stay exactly as given. Observations may be missing entirely or
    in some coordinates (NaN): the filter uses the observed coordinates only and EM
    stays exact (the missing values are part of the complete data). Several
    independent sequences are fitted together with ``lengths``. The model has no
    offset: centre the data, or pass a constant column in ``U`` so that ``D`` holds
    the offsets (or let a state with :math:`A = 1` carry the level). EM's moments are
    raw, so training data with a feature whose ``|mean| / std`` exceeds 1e5 are refused:
    centre them.

    Parameters
    ----------
    state_dim : int, default=1
        k, the dimension of the hidden state.
    learn : str or iterable of str, optional
        Parameters that EM estimates, among "transition_matrix" (A),
        "observation_matrix" (C), "transition_covariance" (Q),
        "observation_covariance" (R), "initial_state_mean" (m0),
        "initial_state_covariance" (P0), "control_transition_matrix" (B) and
        "control_observation_matrix" (D); "all" for every one. Default: A, C, Q, R,
        m0, and B, D when ``U`` is given. P0 is fixed by default: with one sequence
        its estimate is the posterior covariance of the first state, which shrinks
        at every iteration. Parameters not learned keep their ``*_init`` value
        (bit for bit), or the data-driven default when none is given.
    transition_covariance_type, observation_covariance_type : {"full", "diag", "spherical"}
        Structure of Q and of R: full, diagonal, or a scalar times the identity.
    transition_matrix_init : array-like of shape (k, k) or float, optional
    observation_matrix_init : array-like of shape (p, k), optional
    transition_covariance_init : array-like of shape (k, k) or (k,), or float, optional
    observation_covariance_init : array-like of shape (p, p) or (p,), or float, optional
    initial_state_mean_init : array-like of shape (k,) or float, optional
    initial_state_covariance_init : array-like of shape (k, k) or (k,), or float, optional
    control_transition_matrix_init : array-like of shape (k, m), optional
    control_observation_matrix_init : array-like of shape (p, m), optional
        Initial values (and the values of parameters that are not learned). A float
        stands for that multiple of the identity (square matrices) or a constant
        vector; a vector given for a covariance is its diagonal. Covariances must be
        symmetric positive definite and respect their ``*_covariance_type``.
        Without a value, the start is data-driven (see
        :func:`emkit.models.lgssm.data_driven_params`: probabilistic PCA of the
        observations for C and R, least squares on the projected states for A and
        Q).
    reg_covar : float, default=0
        Floor of every learned covariance, relative to the data's scale: R is kept at
        or above ``reg_covar`` times the features' variances, Q and P0 at or above
        ``reg_covar`` times the variance of the states the start projects from the
        data (in the positive semi-definite order). The M-step maximises exactly on
        that set, so the log-likelihood still never decreases, and a floor that does
        not bind changes nothing. 0: no floor (a covariance that collapses is then an
        error that names it).
    {accelerate}
    tol : float, default=1e-4
        Convergence when the log-likelihood per time step changes by less than ``tol``.
    max_iter : int, default=100
    n_init : int, default=1
        Restarts; with n_init > 1 every restart perturbs the data-driven start of the
        learned parameters that have no ``*_init`` value at random, and the best fit
        is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
        Continue from the last fit's parameters.
    verbose : int, default=0
        1 shows a progress bar, 2 also prints the objective every ``verbose_interval``
        iterations (on standard error).
    verbose_interval : int, default=10
    n_jobs : int or None, default=None
        Threads for the E-steps, as in scikit-learn: -1 every core, -2 all but one;
        None (emkit's default) is every core. Sequences are grouped into chunks
        of ``chunk_size`` time steps, filtered and smoothed in parallel (the numba
        kernels release the GIL) and their statistics summed in order, so the fit does
        not depend on the number of threads. A sequence is never split.
    learning_decay, learning_offset : float, default=0.51, 0.0
        Step sizes ``(t + learning_offset) ** -learning_decay`` of :meth:`partial_fit`;
        the defaults forget the statistics of the first batches (computed under the
        initial parameters) fast (``benchmarks/bench_online.py``).
    initial_state : {"gaussian", "diffuse"}, default="gaussian"
        The first state's distribution. "gaussian": :math:`z_1 \sim \mathcal{N}(m_0,
        P_0)`. "diffuse": nothing is known of it, :math:`P_0 = \kappa I` with
        :math:`\kappa \to \infty`, treated exactly (Durbin & Koopman's exact initial
        treatment, :mod:`emkit._kernels.diffuse`): the filter carries the diffuse part
        of the covariance until the observations have determined the state, ``score``
        is the diffuse log-likelihood (statsmodels' ``use_exact_diffuse=True`` value),
        and :math:`m_0, P_0` are not used, so not learned (the default ``learn`` drops
        :math:`m_0`; naming them in ``learn`` is an error). EM then learns the other
        parameters with the first state's moments from the exact diffuse smoother; the
        log-likelihood it never decreases is the diffuse one. Every sequence must be
        long enough for its observations to determine its state. During the diffuse
        period ``filter`` returns the finite part :math:`P_*` of the covariances.
    chunk_size : int or None, default=None
        Time steps per chunk of whole sequences in ``fit`` (None: 8192): chunks hold
        whole sequences, at most ``chunk_size`` rows unless one sequence is longer. A
        memory-mapped X is read one chunk at a time per thread, so this bounds the
        memory of such a fit.

    Attributes
    ----------
    transition_matrix_ : ndarray of shape (k, k)
    observation_matrix_ : ndarray of shape (p, k)
    transition_covariance_ : ndarray of shape (k, k)
    observation_covariance_ : ndarray of shape (p, p)
    initial_state_mean_ : ndarray of shape (k,)
    initial_state_covariance_ : ndarray of shape (k, k)
    control_transition_matrix_ : ndarray of shape (k, m)
    control_observation_matrix_ : ndarray of shape (p, m)
        The fitted parameters (covariances always as full matrices; m = 0 without
        controls).
    converged_, n_iter_, lower_bound_, lower_bounds_ : as scikit-learn
        ``lower_bound_`` is the log-likelihood per time step at the last iteration.
    log_likelihood_ : float
        Total log-likelihood of the training data under the fitted parameters.
    trace_ : dict of ndarray
        Per-iteration log_likelihood, entropy, expected_log_joint (Q), lower_bound
        (ELBO) and kl (see :mod:`emkit.core.trace`).
    n_features_in_ : int
    n_controls_ : int
        Number of control inputs (columns of ``U``; 0 without controls).
    learned_ : tuple of str
        The parameters EM estimated.
    params_ : LGSSMParams
        The same parameters as an emkit container. The parameter attributes above
        are read-only views of it: assigning one (validated: shapes, symmetric
        positive definite covariances with their structure) changes what ``filter``,
        ``smooth``, ``score``, ``forecast`` and ``sample`` compute with. On an unfitted
        estimator, setting A, C, Q, R, m0 and P0 makes it usable without ``fit``
        (pykalman's filter-only use); set the control matrices first when the model
        has controls.

    Examples
    --------
    The local-level model of the Nile flow (A = C = 1 fixed):

    >>> import emkit
    >>> flow = emkit.datasets.load_nile().data[:, 1:]
    >>> model = emkit.LinearGaussianSSM(
    ...     1, transition_matrix_init=1.0, observation_matrix_init=1.0,
    ...     initial_state_covariance_init=1e7,
    ...     learn=("transition_covariance", "observation_covariance", "initial_state_mean"),
    ...     tol=1e-9, max_iter=2000).fit(flow)
    >>> level, variance = model.smooth(flow)
    """

    _hyperparameters: dict = {
        "state_dim": (1, [Interval(Integral, 1, None, closed="left")]),
        "learn": (None, [StrOptions({"all", *PARAM_NAMES}), "array-like", None]),
        "transition_covariance_type": ("full", [StrOptions(set(COVARIANCE_TYPES))]),
        "observation_covariance_type": ("full", [StrOptions(set(COVARIANCE_TYPES))]),
        **{f"{name}_init": (None, ["array-like", Real, None]) for name in PARAM_NAMES},
        "reg_covar": (0.0, [Interval(Real, 0.0, None, closed="left")]),
        "initial_state": ("gaussian", [StrOptions(set(INITIAL_STATES))]),
    }
    _positional = ("state_dim",)
    _default_overrides = {"tol": 1e-4}
    _peer_keywords = STATE_SPACE_KEYWORDS
    _saved_extras = ("n_controls_", "learned_")

    transition_matrix_ = _matrix("transition_matrix", ("state_dim", "state_dim"))
    observation_matrix_ = _matrix("observation_matrix", ("n_features_in_", "state_dim"))
    transition_covariance_ = _covariance("transition_covariance", "state_dim")
    observation_covariance_ = _covariance("observation_covariance", "n_features_in_")
    initial_state_mean_ = _matrix("initial_state_mean", ("state_dim",))
    initial_state_covariance_ = _covariance("initial_state_covariance", "state_dim")
    control_transition_matrix_ = _matrix("control_transition_matrix", ("state_dim", "n_controls_"))
    control_observation_matrix_ = _matrix(
        "control_observation_matrix", ("n_features_in_", "n_controls_")
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks a missing observation
        return tags

    # -- fitting ----------------------------------------------------------------------
    def fit(
        self,
        X: ArrayLike,
        lengths: ArrayLike | None = None,
        U: ArrayLike | None = None,
        *,
        callback: EMCallback | None = None,
    ) -> Self:
        """Estimate the parameters by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), np.memmap, path or dask.array.Array
            Observations of one sequence, or of several end to end (``lengths``); NaN
            marks a missing value (a whole row or some coordinates). A memory-mapped
            array (or the path of a ``.npy`` file, opened memory-mapped) is never loaded
            whole: it is checked and E-stepped ``chunk_size`` rows of whole sequences at
            a time. A Dask array is regrouped at sequence boundaries (whole sequences,
            about its row-chunk size per group) and E-stepped on the current Dask
            scheduler, one task per group. Out of core, the data-driven start uses the
            leading sequences (at most 100,000 rows, at least one group).
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences, summing to n_samples. Default: one sequence.
        U : array-like of shape (n_samples, n_controls), optional
            Known control inputs, one row per row of X (the row u_t drives the
            transition into z_t and the observation x_t; u of a sequence's first step
            enters only its observation). Held in memory (sliced alongside X).
        callback : callable, optional
            ``callback(restart, iteration, params)`` after every M-step (see
            :func:`emkit.core.fit_em`), ``params`` being a
            :class:`emkit.models.lgssm.LGSSMParams`.

        Returns
        -------
        self
        """
        return self._fit(X, callback=callback, lengths=lengths, U=U)

    def _prepare_data(self, X, *, warm, lengths=None, U=None) -> TrainingData:
        data = prepare_sequences(
            self,
            X,
            lengths,
            chunk_size=self.chunk_size or CHUNK_ROWS,
            reset=not warm,
            allow_nan=True,
            check_rows=_observed_summary,
        )
        _check_observed(data.summaries, data.bounds, data.offsets)
        _check_magnitudes(_largest(data.summaries), data.n_rows, "X")
        U = self._checked_controls(U, data.n_rows, fitting=True)
        chunks, init_chunks = data.chunks(_lgssm_chunk, rows=(U,), n_jobs=self._n_threads())
        moments = ObservedMoments.of(init_chunks)  # out of core, the leading sequences'
        _check_offsets(moments)
        return _SequenceData(
            chunks,
            init_chunks,
            data.n_rows,
            data.n_rows,
            data.sample,
            n_sequences=data.n_sequences,
            moments=moments,
        )

    def partial_fit(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> Self:
        """One online EM update from a batch of sequences (mini-batch EM).

        The first call initialises the parameters from its batch as :meth:`fit` does
        (data-driven start, ``*_init`` values, ``learn``); every call then runs the
        Kalman smoother on the batch under the current parameters, moves the running
        expected statistics *per time step* towards the batch's with step
        ``(t + learning_offset) ** -learning_decay`` for the t-th batch (Cappé &
        Moulines 2009; see :mod:`emkit.core.online`; the first batch has step 1), and
        runs the closed-form M-step. Parameters not in ``learn`` stay exactly fixed.

        All statistics, the per-sequence initial-state moments included, are divided
        by the batch's number of time steps, and the number of sequences and of
        transitions are statistics averaged alongside them. The M-step only uses
        ratios within each group (e.g. :math:`m_0` = running initial-state sum /
        running number of sequences), so the estimate of :math:`m_0, P_0` weighs every
        sequence's first state equally within a batch and every batch by its step
        times its number of sequences per time step: a batch of many short sequences
        says more about the initial state than one long sequence does.

        ``tol``, ``max_iter``, ``n_init``, ``warm_start`` and ``accelerate`` are not
        used: every call is one step. Batches must keep the number of features and of
        controls of the first one. ``n_iter_`` counts the batches seen.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The batch's sequences end to end; NaN marks a missing value.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the batch's sequences, summing to n_samples. Default: one
            sequence.
        U : array-like of shape (n_samples, n_controls), optional
            Control inputs, as in :meth:`fit`; required on every batch if the first
            one had them.

        Returns
        -------
        self
        """
        return self._partial_fit(X, lengths=lengths, U=U)

    def _prepare_batch(self, X, *, first, lengths=None, U=None) -> TrainingData:
        # the first batch is checked as fit's data: it initialises the model; later
        # batches must match the model (features and controls)
        chunk = self._chunk(X, lengths, U, fitting=first, reset=first)
        moments = ObservedMoments.of([chunk])
        _check_offsets(moments)
        n = len(chunk)
        return _SequenceData(
            [chunk], [chunk], float(n), n, chunk.X, None, chunk.n_sequences, True, moments
        )

    def _build_model(self, data: _SequenceData) -> LGSSM:
        """The model for data whose data-driven start comes from ``data.init_chunks``: a
        fixed parameter without ``*_init`` takes the data-driven value. Sets ``learned_``."""
        init_chunks, first_batch = data.init_chunks, data.batch
        all_length_one = data.n_sequences == data.n_rows
        perturbation = 0.0 if first_batch or self.n_init == 1 else RESTART_PERTURBATION
        k, p, m = self.state_dim, init_chunks[0].X.shape[1], init_chunks[0].U.shape[1]
        learn = self._learn_set(m)
        if all_length_one and learn & set(_TRANSITION_NAMES):
            which, verb = ("of the first batch ", "initialised") if first_batch else ("", "learned")
            one_sample = "X has n_samples=1: " if data.n_rows == 1 else ""
            raise ValueError(
                f"{one_sample}every sequence {which}has length 1, so the transition parameters "
                f"{sorted(learn & set(_TRANSITION_NAMES))} cannot be {verb}; give longer "
                "sequences or remove them from learn"
            )
        initial = self._initial_params(m)
        missing = [n for n in PARAM_NAMES if n not in learn and getattr(initial, n) is None]
        rng = check_random_state(self.random_state)
        if missing:
            defaults, state_scale = data_driven_start(
                init_chunks,
                k,
                initial,
                self.transition_covariance_type,
                self.observation_covariance_type,
                rng,
                data.moments,
            )
            initial = dataclasses.replace(initial, **{n: getattr(defaults, n) for n in missing})
        elif self.reg_covar > 0:  # only the start's C and D, for the states' scale
            state_scale = start_state_scale(init_chunks, k, initial, rng, data.moments)
        # the floor is relative to the data's scale (and to the states' scale that the
        # start's C gives them), so that the same reg_covar suits data of any units
        scales = covariance_scales(data.moments, state_scale, k) if self.reg_covar > 0 else None
        self.learned_ = tuple(name for name in PARAM_NAMES if name in learn)
        return LGSSM(
            k,
            p,
            m,
            learn=learn,
            initial=initial,
            transition_covariance_type=self.transition_covariance_type,
            observation_covariance_type=self.observation_covariance_type,
            reg_covar=self.reg_covar,
            perturbation=perturbation,
            covariance_scales=scales,
            initial_state=self.initial_state,
        )

    def _learn_set(self, n_controls) -> frozenset:
        diffuse = self.initial_state == "diffuse"
        if self.learn is None:
            names = DEFAULT_LEARN + (_CONTROL_NAMES if n_controls else ())
            # a diffuse first state has no mean to learn
            names = tuple(n for n in names if not (diffuse and n in INITIAL_NAMES))
        elif isinstance(self.learn, str):
            names = PARAM_NAMES if self.learn == "all" else (self.learn,)
            if self.learn == "all" and diffuse:
                names = tuple(n for n in names if n not in INITIAL_NAMES)
        else:
            names = tuple(str(name) for name in np.ravel(np.asarray(self.learn, dtype=object)))
        unknown = sorted(set(names) - set(PARAM_NAMES))
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {unknown}; choose from {PARAM_NAMES} or 'all'"
            )
        # without controls B and D have no columns: nothing to learn
        return frozenset(n for n in names if n_controls or n not in _CONTROL_NAMES)

    def _initial_params(self, m) -> LGSSMParams:
        """The user's ``*_init`` values, validated, as a partial LGSSMParams; the control
        matrices are empty (k, 0) and (p, 0) without controls."""
        for name in _CONTROL_NAMES:
            if m == 0 and getattr(self, f"{name}_init") is not None:
                raise ValueError(
                    f"{name}_init is given but no control inputs U were passed to fit; "
                    "pass U or drop the control matrices"
                )
        values = self._initial_values()
        if m == 0:
            values.update(self._no_controls())
        return LGSSMParams(**values)

    def _no_controls(self) -> dict:
        return {
            "control_transition_matrix": np.zeros((self.state_dim, 0)),
            "control_observation_matrix": np.zeros((self.n_features_in_, 0)),
        }

    # -- validation ---------------------------------------------------------------------
    def _chunk(self, X, lengths, U, *, fitting=False, reset=False) -> LGSSMChunk:
        """All sequences of in-memory X as one chunk; ``fitting``: X is training data
        (every sequence and every feature needs an observed value)."""
        if not fitting:
            self._check_fitted()
        X = validated_rows(self, X, reset=reset, allow_nan=True)
        n = X.shape[0]
        offsets = checked_offsets(lengths, n)
        summary = _observed_summary(X, offsets)
        if fitting:
            _check_observed([summary], np.array([0, len(offsets) - 1]), offsets)
        # every batch, and the data of filter, score, ...: values whose squares
        # overflow would fail deep in the filter, or turn the parameters NaN
        _check_magnitudes(summary[2], n, "X")
        return _lgssm_chunk(X, self._checked_controls(U, n, fitting=fitting), offsets)

    def _checked_controls(self, U, n, *, fitting):
        """Validated controls of shape (n, n_controls), or None; ``fitting`` sets
        ``n_controls_``, otherwise U must match it."""
        expected = None if fitting else self.n_controls_
        if U is None:
            if expected:
                raise ValueError(
                    f"the model was fitted with {expected} control inputs; pass U of shape "
                    f"({n}, {expected})"
                )
            if fitting:
                self.n_controls_ = 0
            return None
        U = np.asarray(numeric_array(U, "U"), dtype=np.float64)
        if U.ndim == 1:
            U = U[:, None]
        if U.ndim != 2 or U.shape[0] != n:
            raise ValueError(
                f"U must have one row per row of X, shape ({n}, n_controls); got {U.shape}"
            )
        if not np.all(np.isfinite(U)):
            raise ValueError("U contains NaN or infinity; control inputs must be known and finite")
        # the moments sum u_t u_t' as they sum x_t x_t': the same limits
        _check_magnitudes(np.abs(U).max(axis=0, initial=0.0), n, "U", "control")
        if expected is not None and U.shape[1] != expected:
            raise ValueError(
                f"U has {U.shape[1]} columns but the model was fitted with {expected} controls"
            )
        if fitting:
            self.n_controls_ = U.shape[1]
        return U

    # -- inference ----------------------------------------------------------------------
    def filter(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filtered state distributions p(z_t | x_1, ..., x_t).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks a missing value.
        lengths : array-like of int, optional
        U : array-like of shape (n_samples, n_controls), optional

        Returns
        -------
        means : ndarray of shape (n_samples, k)
        covariances : ndarray of shape (n_samples, k, k)
        """
        chunk = self._chunk(X, lengths, U)
        filtered = self.model_.filter(self.params_, chunk)
        return filtered.filtered_means, filtered.filtered_covariances

    def smooth(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed state distributions p(z_t | x_1, ..., x_T) (Rauch-Tung-Striebel).

        Parameters and returns as :meth:`filter`.
        """
        chunk = self._chunk(X, lengths, U)
        smoothed = self.model_.smoothed(self.params_, chunk)
        return smoothed.smoothed_means, smoothed.smoothed_covariances

    def score(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> float:
        """Total log-likelihood log p(X) of all sequences (float)."""
        chunk = self._chunk(X, lengths, U)
        filtered = self.model_.filter(self.params_, chunk)
        return float(filtered.log_likelihoods.sum())

    def forecast(
        self,
        X: ArrayLike,
        steps: int,
        U: ArrayLike | None = None,
        U_future: ArrayLike | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictive distribution of the ``steps`` observations that follow X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One sequence (NaN marks a missing value).
        steps : int
            Forecast horizon.
        U : array-like of shape (n_samples, n_controls), optional
            Controls of X's rows (required if the model has controls).
        U_future : array-like of shape (steps, n_controls), optional
            Controls of the forecast steps (required if the model has controls).

        Returns
        -------
        means : ndarray of shape (steps, n_features)
            E[x_{T+h} | x_1, ..., x_T] for h = 1, ..., steps.
        covariances : ndarray of shape (steps, n_features, n_features)
            Their covariances (state uncertainty plus observation noise).
        """
        if not isinstance(steps, Integral) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        D = int(self.n_features_in_)
        # the means (steps, D) and covariances (steps, D, D) it returns
        check_output_memory(f"steps={steps}", int(steps), D * (D + 1), "forecast fewer steps")
        chunk = self._chunk(X, None, U)
        U_future = self._checked_controls(U_future, steps, fitting=False)
        means, covariances = self.model_.forecast(self.params_, chunk, int(steps), U_future)
        return means[0], covariances[0]

    def _sample_row_floats(self) -> int:
        """Values ``sample`` returns per time step: the observations and the states."""
        return int(self.n_features_in_) + int(self.state_dim)

    def sample(
        self,
        n_samples: int = 1,
        *,
        U: ArrayLike | None = None,
        random_state: RandomStateLike = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate one sequence from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
        U : array-like of shape (n_samples, n_controls), optional
            Required if the model has controls.
        random_state : int, RandomState or None
            Default: the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        states : ndarray of shape (n_samples, k)
        """
        rng = self._sampling_rng(n_samples, random_state)
        U = self._checked_controls(U, n_samples, fitting=False)
        return self.model_.sample(self.params_, int(n_samples), rng, U)

    # -- model selection ------------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters()

    def bic(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> float:
        """Bayesian information criterion on X (lower is better); n = number of time steps."""
        score = self.score(X, lengths, U)  # first: it validates X
        return -2 * score + self._n_parameters() * np.log(np.shape(X)[0])

    def aic(
        self, X: ArrayLike, lengths: ArrayLike | None = None, U: ArrayLike | None = None
    ) -> float:
        """Akaike information criterion on X (lower is better)."""
        return -2 * self.score(X, lengths, U) + 2 * self._n_parameters()

    # -- known parameters -------------------------------------------------------------
    def _required_fields(self):
        # without controls (n_controls_ unknown or 0) the control matrices are empty:
        # they need not be set
        if self.__dict__.get("n_controls_"):
            return PARAM_NAMES
        return tuple(n for n in PARAM_NAMES if n not in _CONTROL_NAMES)

    def _assemble(self, values):
        if values.get("control_transition_matrix") is None and "n_controls_" not in self.__dict__:
            self.n_controls_ = 0
        if self.n_controls_ == 0:
            values = {**self._no_controls(), **{k: v for k, v in values.items() if v is not None}}
        params = LGSSMParams(**values)
        learned = self.__dict__.get("learned_")  # a list when read from a model file
        if learned is None:  # known parameters set by hand: the default learn set
            learned = [n for n in PARAM_NAMES if n in self._learn_set(self.n_controls_)]
        self.learned_ = tuple(str(name) for name in np.ravel(learned))
        model = self.__dict__.get("model_") or LGSSM(
            self.state_dim,
            self.n_features_in_,
            self.n_controls_,
            learn=self.learned_,
            initial=params,
            transition_covariance_type=self.transition_covariance_type,
            observation_covariance_type=self.observation_covariance_type,
            reg_covar=self.reg_covar,
            initial_state=self.initial_state,
        )
        return model, params


# -- data helpers (module level: they run on Dask workers too) ---------------------------------
def _lgssm_chunk(X, U, offsets) -> LGSSMChunk:
    """The chunk of validated rows X (whole sequences) and their controls U (or None)."""
    return LGSSMChunk.from_arrays(X, U, np.diff(offsets))


def _observed_summary(rows, offsets):
    """What training data need observed, for one group of whole sequences.

    Returns
    -------
    observed_features : ndarray of bool of shape (n_features,)
        Features observed at least once in the group.
    unobserved_sequences : ndarray of int
        The group's sequences (relative to its first) with no observed value at all.
    largest : ndarray of shape (n_features,)
        Largest magnitude of each feature's observed values (0 where none).
    """
    observed = ~np.isnan(rows)
    any_in_row = observed.any(axis=1)
    any_in_sequence = np.logical_or.reduceat(any_in_row, offsets[:-1])
    largest = np.abs(np.where(observed, rows, 0.0)).max(axis=0, initial=0.0)
    return observed.any(axis=0), np.flatnonzero(~any_in_sequence), largest


def _check_magnitudes(largest, n_rows: int, name: str, what: str = "feature"):
    """Raise a ValueError for data the filter cannot square: the moments sum
    x_t x_t' (and u_t u_t' for the controls) over all n_rows time steps, so values
    beyond sqrt(max / (p n_rows)) / 2 overflow float64; a column whose largest value
    is below 1e-150 has squares that underflow to 0 (its variance, or the effect of a
    control, would be lost).

    ``largest``: ndarray of shape (n_columns,), the largest magnitude of every column
    (0 where none is observed); ``what`` names a column in the message.
    """
    p = largest.shape[0]
    limit = magnitude_limit(np.float64, p * max(int(n_rows), 1))
    if np.any(largest > limit):
        column = int(np.argmax(largest))
        raise ValueError(
            f"{name} has values too large for the Kalman filter in float64: {what} "
            f"{column} reaches a magnitude of {largest[column]:.3g}, but the squared "
            f"values summed over {n_rows} time steps and {p} {what}s overflow beyond "
            f"{limit:.3g}. Scale {name} (e.g. standardise every {what})."
        )
    observed = largest > 0
    tiny = observed & (largest < _SMALLEST_MAGNITUDE)
    if np.any(tiny):
        column = int(np.flatnonzero(tiny)[0])
        raise ValueError(
            f"{name} has values too small for the Kalman filter in float64: {what} "
            f"{column} never exceeds a magnitude of {largest[column]:.3g}; below "
            f"{_SMALLEST_MAGNITUDE:.0e} the squares underflow (subnormal or 0), so its "
            f"scale is lost. Scale {name} (e.g. standardise every {what})."
        )


def _check_offsets(moments: ObservedMoments):
    """Raise a ValueError for training data whose offset the M-step cannot resolve.

    The model has no offset term and EM sums raw moments: a residual covariance is
    sum E[x x'] - C sum E[z x'] - ..., whose terms are of the size of the mean square
    while the result is at most the variance, so a feature with |mean| / std beyond
    :data:`_LARGEST_OFFSET` keeps fewer than 6 of float64's 16 digits of it, and the
    M-step's rounding makes the log-likelihood fall (by 1e5 per step at 1e8). A
    feature that is constant up to rounding is not refused: ``reg_covar`` floors it.

    moments : the ObservedMoments of the training data (or of the start's leading
    sequences).
    """
    mean, variance, mean_square = moments.mean, moments.variance, moments.mean_square
    spread = resolved_variance(variance, mean_square)  # not constant
    ratio = np.where(spread, mean_square / np.where(spread, variance, 1.0), 0.0)
    far = np.flatnonzero(ratio > _LARGEST_OFFSET**2)
    if far.size:
        j = int(far[0])
        raise ValueError(
            f"X's feature {j} has mean {mean[j]:.6g} but standard deviation only "
            f"{np.sqrt(variance[j]):.3g} (|mean| / std > {_LARGEST_OFFSET:.0e}): the "
            "state-space model has no offset term and EM's moments are raw, so its "
            "variation would be lost to float64 rounding and the log-likelihood would "
            "fall. Centre X (subtract each feature's mean, e.g. X - X.mean(axis=0)) "
            "before fitting, and add the mean back to forecasts and samples."
        )


def _largest(summaries) -> np.ndarray:
    """Largest magnitude of every feature over the :func:`_observed_summary` of every
    group of the data, shape (n_features,)."""
    return np.max([summary[2] for summary in summaries], axis=0)


def _check_observed(summaries, bounds, offsets):
    """Raise a ValueError for a sequence or a feature that is never observed.

    ``summaries``: :func:`_observed_summary` of every group; group g holds sequences
    bounds[g]:bounds[g + 1], sequence s rows offsets[s]:offsets[s + 1].
    """
    for g, (_, unobserved, _) in enumerate(summaries):
        if unobserved.size:
            s = int(bounds[g] + unobserved[0])
            raise ValueError(
                f"sequence {s} (rows {offsets[s]}:{offsets[s + 1]}) has no observed value "
                "(all NaN); remove it"
            )
    never = np.flatnonzero(~np.logical_or.reduce([summary[0] for summary in summaries]))
    if never.size:
        raise ValueError(f"feature(s) {never.tolist()} are never observed (all NaN); remove them")
