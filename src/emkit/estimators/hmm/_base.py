"""The shared base of the HMM estimators: fit template hooks, inference, validation."""

from __future__ import annotations

from functools import partial
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from emkit.estimators._base import (
    EMEstimator,
    TrainingData,
    check_sample_weight,
    compose,
    partial_container,
    shared_doc,
)
from emkit.estimators._checks import checked_prior, family_check
from emkit.estimators._data import infer_nothing, validated_rows
from emkit.estimators._mixture_base import INIT_METHODS
from emkit.estimators._parameters import Parameter, probabilities
from emkit.estimators._sequence_data import checked_offsets, prepare_sequences
from emkit.models import HMM, HMMChunk, HMMParams

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from emkit._typing import FitData, RandomStateLike


#: Default rows per chunk of whole sequences in fit (chunks are E-stepped on ``n_jobs`` threads).
CHUNK_ROWS = 65536


class BaseHMM(EMEstimator):
    """Common API of emkit's HMM estimators.

    A subclass declares its emission family's hyperparameters and parameter attributes
    (fields ``"emission.<name>"`` of :class:`emkit.models.HMMParams`), names the
    family's parameter container (``_emission_type``) and implements
    ``_family(X=None)``; it may override ``_data_checks(fitting)`` to infer attributes
    from all the training rows.
    """

    _hyperparameters: dict = {
        "n_components": (1, [Interval(Integral, 1, None, closed="left")]),
        "startprob_init": (None, ["array-like", None]),
        "transmat_init": (None, ["array-like", None]),
        "startprob_prior": (0.0, [Interval(Real, 0.0, None, closed="left"), "array-like"]),
        "transmat_prior": (0.0, [Interval(Real, 0.0, None, closed="left"), "array-like"]),
        "learn": (None, ["array-like", None]),
        "init_params": ("kmeans", [StrOptions(INIT_METHODS)]),
    }
    _positional = ("n_components",)
    _default_overrides = {"tol": 1e-4}

    startprob_ = Parameter("startprob", ("n_components",), probabilities, init="startprob_init")
    transmat_ = Parameter(
        "transmat", ("n_components", "n_components"), probabilities, init="transmat_init"
    )

    #: the emission family's parameter container (e.g. GaussianParams)
    _emission_type: type

    # -- fitting ------------------------------------------------------------------
    def fit(
        self,
        X: FitData,
        lengths: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        known_states: ArrayLike | None = None,
    ) -> Self:
        """Estimate the parameters by EM (Baum-Welch).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), np.memmap, path or dask.array.Array
            All sequences, concatenated. A memory-mapped array (or the path of a
            ``.npy`` file, opened memory-mapped) is never loaded whole: it is checked
            and E-stepped ``chunk_size`` rows of whole sequences at a time. A Dask
            array is rechunked at sequence boundaries (groups of whole sequences of
            about its row-chunk size) and E-stepped on the current Dask scheduler, one
            task per group. Out of core, initialisation and the data-dependent priors
            use the leading sequences (at most 100,000 rows, at least one chunk).
        lengths : array-like of int of shape (n_sequences,), optional
            Length of every sequence in ``X``, in order (they must sum to n_samples);
            default: one sequence.
        sample_weight : array-like of shape (n_sequences,), optional
            Non-negative weight of every *sequence* (a weight of 2 counts it twice).
        known_states : array-like of int of shape (n_samples,), optional
            Semi-supervised fitting: the state at every time step, or -1 where unknown.
            The posterior is clamped to the given state there, and the objective is
            log p(X, known states).

        Returns
        -------
        self
        """
        return self._fit(X, lengths=lengths, sample_weight=sample_weight, known_states=known_states)

    def _prepare_data(self, X, *, warm, lengths=None, sample_weight=None, known_states=None):
        check_rows, infer = self._data_checks(fitting=not warm)
        data = prepare_sequences(
            self,
            X,
            lengths,
            chunk_size=self.chunk_size or CHUNK_ROWS,
            reset=not warm,
            allow_nan=self._allows_nan(),
            check_rows=check_rows,
        )
        infer(data.summaries)
        self._check_enough_rows(data.n_rows)
        weights = _checked_sequence_weights(sample_weight, data.offsets)
        known = self._checked_known_states(known_states, data.n_rows)
        family = self._family(data.sample)
        chunks, init_chunks = data.chunks(
            partial(_hmm_chunk, family.check_data),
            rows=(known,),
            sequences=(weights,),
            n_jobs=self._n_threads(),
            origin=True,
        )
        n_samples = data.n_rows if weights is None else float(weights @ np.diff(data.offsets))
        return TrainingData(
            chunks, init_chunks, n_samples, data.n_rows, data.sample, n_sequences=data.n_sequences
        )

    def partial_fit(
        self,
        X: ArrayLike,
        lengths: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        known_states: ArrayLike | None = None,
    ) -> Self:
        """One online EM update from a batch of sequences (mini-batch Baum-Welch).

        The first call initialises the parameters from its batch; every call then
        moves the running expected statistics (start and transition counts, emission
        statistics, per observation) towards the batch's, with step
        ``(t + learning_offset) ** -learning_decay`` for the t-th batch (Cappé & Moulines 2009; see
        :mod:`emkit.core.online`), and runs the M-step. Arguments as in :meth:`fit`
        (X in memory).

        Returns
        -------
        self
        """
        return self._partial_fit(
            X, lengths=lengths, sample_weight=sample_weight, known_states=known_states
        )

    def _prepare_batch(self, X, *, first, lengths=None, sample_weight=None, known_states=None):
        X = validated_rows(self, X, reset=first, allow_nan=self._allows_nan())
        # every batch is checked as training rows are (e.g. against a given n_trials);
        # the first also sets what the data determine (e.g. the alphabet)
        check_rows, infer = self._data_checks(fitting=first)
        infer([check_rows(X, None)])
        if first:
            family = self._family(X)
        else:
            family = self.model_.family
        chunk = self._chunk(family, X, lengths, sample_weight, known_states)
        weights = chunk.sample_weight
        n_samples = X.shape[0] if weights is None else float(weights @ np.diff(chunk.offsets))
        if first:  # it initialises the model
            self._check_enough_rows(X.shape[0], "the first batch of partial_fit has")
        n_sequences = chunk.offsets.shape[0] - 1
        return TrainingData([chunk], [chunk], n_samples, X.shape[0], X, None, n_sequences, True)

    def fit_predict(
        self,
        X: FitData,
        lengths: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        known_states: ArrayLike | None = None,
    ) -> np.ndarray:
        """Fit, then return the Viterbi path of ``X``, shape (n_samples,)."""
        self.fit(X, lengths, sample_weight=sample_weight, known_states=known_states)
        return self.predict(X, lengths, known_states=known_states)

    def _build_model(self, data: TrainingData) -> HMM:
        K = self.n_components
        family = self._family(data.sample)
        return HMM(
            family,
            K,
            learn=self.learn,
            initial=self._initial_params(),
            init=self.init_params,
            startprob_prior=checked_prior(self.startprob_prior, "startprob_prior", (K,)),
            transmat_prior=checked_prior(self.transmat_prior, "transmat_prior", (K, K)),
        )

    def _initial_params(self) -> HMMParams:
        """The ``*_init`` values as a partial HMMParams."""
        values = self._initial_values()
        emission = {p.split(".", 1)[1]: v for p, v in values.items() if "." in p}
        return HMMParams(
            values.get("startprob"),
            values.get("transmat"),
            partial_container(self._emission_type, emission) if emission else None,
        )

    def _assemble(self, values):
        model = self.__dict__.get("model_")
        # the fitted model (its family keeps the data's prior) unless set_params changed K
        if model is None or model.n_components != self.n_components:
            model = HMM(self._family(), self.n_components, learn=self.learn)
        return model, compose(HMMParams, values, "emission", model.family.make_params)

    def _data_checks(self, fitting: bool):
        """(check_rows, infer) for the training rows of fit and of partial_fit's first batch.

        ``check_rows(rows, offsets) -> summary`` checks rows of X (one chunk of whole
        sequences at a time, on a Dask worker for a Dask array) and ``infer(summaries)``
        sets the attributes that depend on all the rows; ``fitting`` is False for a
        warm start, whose attributes stay. Here: the family's data checks.
        """
        return partial(family_check, self._family()), infer_nothing

    def _row_minimums(self) -> dict:
        return {"n_components": "states"}

    def _allows_nan(self) -> bool:
        """Whether NaN in X marks missing values (Gaussian emissions) rather than an error."""
        return False

    def _checked_known_states(self, known_states, n_rows):
        """known_states as int64 of shape (n_rows,) (-1 where unknown), or None."""
        if known_states is None:
            return None
        known = np.asarray(known_states)
        if known.shape != (n_rows,):
            raise ValueError(
                f"known_states must have one entry per row of X, shape ({n_rows},), "
                f"got {known.shape}"
            )
        if not np.issubdtype(known.dtype, np.number) or np.any(known != np.round(known)):
            raise ValueError("known_states must hold integer states (-1 where unknown)")
        known = known.astype(np.int64)
        bad = np.flatnonzero((known < -1) | (known >= self.n_components))
        if bad.size:
            raise ValueError(
                f"known_states[{bad[0]}] = {known[bad[0]]} is not a state: use 0 .. "
                f"{self.n_components - 1}, or -1 where the state is unknown"
            )
        return known

    def _chunk(self, family, X, lengths, sample_weight=None, known_states=None) -> HMMChunk:
        """All sequences of validated in-memory rows X as one chunk."""
        offsets = checked_offsets(lengths, X.shape[0])
        weights = _checked_sequence_weights(sample_weight, offsets)
        known = self._checked_known_states(known_states, X.shape[0])
        return _hmm_chunk(family.check_data, X, known, offsets, weights)

    # -- inference ----------------------------------------------------------------
    def _validated_chunk(self, X, lengths, known_states=None) -> HMMChunk:
        """Sequences to predict or score as one chunk, their rows checked as training
        rows are (e.g. against a given n_trials)."""
        self._check_fitted()
        X = validated_rows(self, X, reset=False, allow_nan=self._allows_nan())
        check_rows, _ = self._data_checks(fitting=False)
        check_rows(X, None)
        return self._chunk(self.model_.family, X, lengths, known_states=known_states)

    def score(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        """Total log-likelihood log p(X) of all sequences (float), as hmmlearn."""
        chunk = self._validated_chunk(X, lengths)
        return float(self.model_.log_likelihood(self.params_, chunk).sum())

    def score_sequences(self, X: ArrayLike, lengths: ArrayLike | None = None) -> np.ndarray:
        """Log-likelihood of every sequence, shape (n_sequences,)."""
        chunk = self._validated_chunk(X, lengths)
        return self.model_.log_likelihood(self.params_, chunk)

    def score_samples(self, X: ArrayLike, lengths: ArrayLike | None = None) -> np.ndarray:
        """(total log-likelihood, posteriors of shape (n_samples, n_components)), as hmmlearn."""
        chunk = self._validated_chunk(X, lengths)
        log_lik, gamma, _, _ = self.model_.posterior(self.params_, chunk)
        return float(log_lik.sum()), gamma

    def predict_proba(
        self,
        X: ArrayLike,
        lengths: ArrayLike | None = None,
        *,
        known_states: ArrayLike | None = None,
    ) -> np.ndarray:
        """Posterior state marginals p(z_t = k | X), shape (n_samples, n_components)."""
        chunk = self._validated_chunk(X, lengths, known_states)
        return self.model_.posterior(self.params_, chunk)[1]

    def predict(
        self,
        X: ArrayLike,
        lengths: ArrayLike | None = None,
        *,
        known_states: ArrayLike | None = None,
    ) -> np.ndarray:
        """Most probable state path (Viterbi), shape (n_samples,)."""
        return self.decode(X, lengths, known_states=known_states)[1]

    def decode(
        self,
        X: ArrayLike,
        lengths: ArrayLike | None = None,
        algorithm: str = "viterbi",
        *,
        known_states: ArrayLike | None = None,
    ) -> tuple[float, np.ndarray]:
        """Most likely states of ``X``.

        Parameters
        ----------
        algorithm : {"viterbi", "map"}
            "viterbi": the jointly most probable path, with log_prob = max_z log p(X, z)
            summed over sequences. "map": the most probable state at every step
            separately (argmax of the posterior marginals), with log_prob = the sum of
            the log posterior probabilities of the chosen states.

        Returns
        -------
        log_prob : float
        states : ndarray of shape (n_samples,)
        """
        if algorithm not in ("viterbi", "map"):
            raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}")
        chunk = self._validated_chunk(X, lengths, known_states)
        if algorithm == "viterbi":
            log_prob, path = self.model_.viterbi(self.params_, chunk)
            return float(log_prob.sum()), path
        gamma = self.model_.posterior(self.params_, chunk)[1]
        states = gamma.argmax(axis=1)
        with np.errstate(divide="ignore"):
            return float(np.log(gamma[np.arange(len(states)), states]).sum()), states

    def sample(
        self, n_samples: int = 1, random_state: RandomStateLike = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one sequence: (X of shape (n_samples, n_features), states of shape (n_samples,)).

        ``random_state`` defaults to the estimator's ``random_state``.
        """
        rng = self._sampling_rng(n_samples, random_state)
        return self.model_.sample(self.params_, int(n_samples), rng)

    # -- model selection ------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters(self.n_features_in_)

    def aic(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        """Akaike information criterion on X (lower is better)."""
        return -2 * self.score(X, lengths) + 2 * self._n_parameters()

    def bic(self, X: ArrayLike, lengths: ArrayLike | None = None) -> float:
        """Bayesian information criterion on X (lower is better)."""
        score = self.score(X, lengths)  # first: it validates X
        return -2 * score + self._n_parameters() * np.log(np.shape(X)[0])

    _uniform_when_fixed = ("startprob", "transmat")

    def _validate_params(self):
        # hmmlearn's letter codes mean something else here: say so before the generic error
        codes = self.init_params
        if isinstance(codes, str) and codes not in INIT_METHODS and set(codes) <= set("stmcwe"):
            raise ValueError(
                f"init_params={codes!r} looks like hmmlearn's letter codes; in emkit "
                f"init_params names the data-driven start ({sorted(INIT_METHODS)}), given "
                "values go in the *_init arguments (e.g. means_init) and are never "
                "re-initialised, and learn=(...) names what EM updates"
            )
        self._validate_learn()

    @property
    def _emission_attributes(self) -> tuple[str, ...]:
        """The emission's parameter attributes and the fitted dimensions of its family."""
        names = [p.name for p in self._parameter_attributes() if p.saved]
        return (*(n for n in names if n not in ("startprob_", "transmat_")), *self._saved_extras)

    # -- family hook ----------------------------------------------------------------
    def _family(self, X=None):
        """The emission family, with its data-dependent prior when the training rows
        (or the initialisation sample) ``X`` are given."""
        raise NotImplementedError


def _checked_sequence_weights(sample_weight, offsets):
    """Sequence weights as float of shape (n_sequences,), or None, for the sequences
    ``offsets`` (n_sequences + 1,): every row of a sequence carries its weight, so
    their total weight must be finite too."""
    weights = check_sample_weight(sample_weight, offsets.shape[0] - 1, per="sequence")
    if weights is not None:
        with np.errstate(over="ignore"):
            total = weights @ np.diff(offsets)
        if not np.isfinite(total):
            raise ValueError(
                f"sample_weight times the sequence lengths sums to more than float64 holds "
                f"(largest weight {weights.max():.3g}); a weight counts as repeated "
                "sequences, so rescale them (e.g. sample_weight / sample_weight.max()), "
                "which leaves a fit without a prior unchanged"
            )
    return weights


def _hmm_chunk(check_data, X, known_states, offsets, sample_weight, origin=(0, 0)) -> HMMChunk:
    """The chunk of validated rows X (whole sequences): the family's checks and conversion,
    then column-major X (the families' per-state loops then read contiguous columns)."""
    X = np.asfortranarray(check_data(X))
    return HMMChunk(X, offsets, sample_weight, known_states, tuple(origin))


_COMMON_DOC = """
    startprob_init : array-like of shape (n_components,), optional
        Initial start probabilities (default uniform). Zeros stay zero.
    transmat_init : array-like of shape (n_components, n_components), optional
        Initial transition matrix, rows summing to 1 (default uniform). Zeros are
        structural and stay zero (left-right models).
    startprob_prior, transmat_prior : float or array-like, default=0
        Dirichlet pseudo-counts added to the expected start / transition counts
        (Dirichlet(1 + c) prior, MAP); 0 is maximum likelihood.
    learn : sequence of str, optional
        The parameters EM updates, e.g. ``("transmat", "means")``; default all. The
        others keep their initial values (those not learned need their ``*_init``,
        except start and transition probabilities, which default to uniform).
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
        Data-driven start of the emission parameters (state responsibilities as for
        the mixtures, then one emission M-step); start and transition
        probabilities start uniform.
    max_iter : int, default=100
    tol : float, default=1e-4
        Convergence when the objective per observation changes by less than ``tol``.
    n_init : int, default=1
        Restarts from the data-driven start; the best is kept.
    random_state : int, RandomState or None
    warm_start : bool, default=False
        Continue from the last fit's parameters.
    verbose : int, default=0
        1 shows a progress bar, 2 also prints the objective every ``verbose_interval``
        iterations (standard error).
    verbose_interval : int, default=10
    n_jobs : int or None, default=None
        Threads for the E-steps, as in scikit-learn: -1 every core, -2 all but one;
        None (emkit's default) is every core. Sequences are grouped into chunks
        of ``chunk_size`` rows, E-stepped in parallel (forward-backward releases the
        GIL) and summed in order, so the fit is bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk of whole sequences in ``fit`` (None: 65536): chunks hold whole
        sequences, at most ``chunk_size`` rows unless one sequence is longer. A
        memory-mapped X is read one chunk at a time per thread, so this bounds the
        memory of such a fit.
    {accelerate}
    learning_decay, learning_offset : float, default=0.51, 0.0
        Step sizes ``(t + learning_offset) ** -learning_decay`` of :meth:`partial_fit`;
        the defaults forget the statistics of the first batches (computed under the
        initial parameters) fast (``benchmarks/bench_online.py``).
"""

_COMMON_ATTRIBUTES_DOC = """
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    converged_, n_iter_, lower_bound_ (per observation), lower_bounds_
    log_likelihood_ : float
        Total log-likelihood of the training data under the fitted parameters.
    trace_ : dict of ndarray
        Per-iteration log_likelihood, log_prior, entropy, expected_log_joint,
        lower_bound and kl (see :mod:`emkit.core.trace`).
    n_features_in_, params_, model_
        ``params_`` is an :class:`emkit.models.HMMParams`. The parameter attributes
        are read-only views of ``params_``: assigning one (validated) changes what the
        model computes with; on an unfitted estimator, setting all of them makes it
        usable without ``fit`` (sample, predict, score, decode), as in hmmlearn.
"""


hmm_doc = shared_doc(_COMMON_DOC, _COMMON_ATTRIBUTES_DOC)
