r"""Hidden Markov model estimators on the emkit engine (hmmlearn's vocabulary where it is good).

Every estimator is :class:`emkit.models.HMM` over one emission family:

.. math::

    p(x_{1:T}, z_{1:T}) = \pi_{z_1} \prod_{t=2}^{T} A_{z_{t-1} z_t}
    \prod_{t=1}^{T} p(x_t \mid \theta_{z_t})

=====================  =======================================  =============================
estimator              emission p(x | θ_k)                       emission attributes
=====================  =======================================  =============================
:class:`GaussianHMM`   N(μ_k, Σ_k), 4 covariance types          ``means_``, ``covariances_``
:class:`GMMHMM`        Σ_m w_km N(μ_km, Σ_km)                    ``weights_``, ``means_``,
                                                                 ``covariances_``
:class:`PoissonHMM`    Π_d Poisson(λ_kd)                         ``rates_``
:class:`CategoricalHMM` Π_d Categorical(θ_kd·)                   ``emissionprob_``
:class:`MultinomialHMM` Multinomial(N, θ_k·)                     ``emissionprob_``
:class:`BernoulliHMM`  Π_d Bernoulli(θ_kd)                       ``emissionprob_``
=====================  =======================================  =============================

Differences from hmmlearn, on purpose: ``max_iter`` (not ``n_iter``); initial values
as ``*_init`` arguments (``startprob_init``, ``transmat_init``, ``means_init``, ...);
``learn=("transmat", "means")`` names the parameters EM updates (hmmlearn's
``params="tm"``); ``tol`` is per observation (scale free); priors are pseudo-counts
(hmmlearn's ``transmat_prior=α`` is emkit's ``transmat_prior=α - 1``);
``covariances_`` has scikit-learn's covariance-type shapes; and from the engine:
``n_init`` restarts, ``warm_start``, ``verbose`` progress, ``trace_``.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from emkit.estimators._base import ENGINE_PARAMETER_CONSTRAINTS, EngineEstimatorMixin
from emkit.estimators._checks import (
    categorical_data_checks,
    categorical_probabilities,
    checked_covariances,
    checked_prior,
    checked_probabilities,
    distinct_row_totals,
    family_check,
    gaussian_prior,
    infer_n_trials,
    poisson_prior,
)
from emkit.estimators._data import infer_nothing
from emkit.estimators._sequence_data import prepare_sequences
from emkit.estimators.gaussian_mixture import _checked_array
from emkit.families import (
    BernoulliFamily,
    BernoulliParams,
    BetaPrior,
    CategoricalFamily,
    CategoricalParams,
    DirichletPrior,
    GaussianFamily,
    GaussianMixtureEmission,
    GaussianMixtureParams,
    GaussianParams,
    MultinomialFamily,
    MultinomialParams,
    PoissonFamily,
    PoissonParams,
)
from emkit.models import HMM, HMMChunk, HMMParams
from emkit.models._sequences import sequence_offsets

__all__ = [
    "GMMHMM",
    "BernoulliHMM",
    "CategoricalHMM",
    "GaussianHMM",
    "MultinomialHMM",
    "PoissonHMM",
]

#: Default rows per chunk of whole sequences in fit (chunks are E-stepped on ``n_jobs`` threads).
CHUNK_ROWS = 65536

_COVARIANCE_SHAPES = {
    "full": lambda K, D: (K, D, D),
    "tied": lambda K, D: (D, D),
    "diag": lambda K, D: (K, D),
    "spherical": lambda K, D: (K,),
}


class BaseHMM(EngineEstimatorMixin, BaseEstimator):
    """Common API of emkit's HMM estimators.

    A subclass sets ``_emission_attributes`` and implements ``_make_family(X)``
    (``X``: the in-memory training rows or sample, for data-dependent priors; None
    when loading a saved model), ``_emission_initial(family, n_features)`` (partial
    emission parameters from its ``*_init`` arguments, or None),
    ``_store_emission(emission)`` and ``_emission_from_attributes(family)``; it may
    override ``_data_checks(fitting)`` to infer attributes from all the training rows.
    """

    _parameter_constraints: dict = {
        **ENGINE_PARAMETER_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "startprob_init": ["array-like", None],
        "transmat_init": ["array-like", None],
        "startprob_prior": [Interval(Real, 0.0, None, closed="left"), "array-like"],
        "transmat_prior": [Interval(Real, 0.0, None, closed="left"), "array-like"],
        "learn": ["array-like", None],
        "init_params": [StrOptions({"kmeans", "k-means++", "random", "random_from_data"})],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    _emission_attributes: tuple[str, ...] = ()

    # -- fitting ------------------------------------------------------------------
    def fit(self, X, lengths=None, *, sample_weight=None, known_states=None):
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
        self._validate_params()
        warm = self._is_warm()
        check_rows, infer = self._data_checks(fitting=not warm)
        data = prepare_sequences(
            self,
            X,
            lengths,
            chunk_size=self.chunk_size or CHUNK_ROWS,
            reset=not warm,
            allow_nan=False,
            check_rows=check_rows,
        )
        infer(data.summaries)
        if data.n_rows < self.n_components:
            raise ValueError(
                f"X has {data.n_rows} rows but n_components={self.n_components}; "
                "an HMM needs at least as many observations as states"
            )
        weights = _checked_sequence_weights(sample_weight, data.n_sequences)
        known = self._checked_known_states(known_states, data.n_rows)
        family = self._make_family(data.sample)
        model = self._build_model(family, data.sample.shape[1])
        chunks, init_chunks = data.chunks(
            partial(_hmm_chunk, family.check_data),
            rows=(known,),
            sequences=(weights,),
            n_jobs=self.n_jobs,
            origin=True,
        )
        n_samples = data.n_rows if weights is None else float(weights @ np.diff(data.offsets))
        self._run_engine(model, chunks, n_samples, warm=warm, init_chunks=init_chunks)
        self._store_params()
        return self

    def partial_fit(self, X, lengths=None, *, sample_weight=None, known_states=None):
        """One online EM update from a batch of sequences (mini-batch Baum-Welch).

        The first call initialises the parameters from its batch; every call then
        moves the running expected statistics (start and transition counts, emission
        statistics, per observation) towards the batch's, with step
        ``(t + 2) ** -0.6`` for the t-th batch (Cappé & Moulines 2009; see
        :mod:`emkit.core.online`), and runs the M-step. Arguments as in :meth:`fit`
        (X in memory).

        Returns
        -------
        self
        """
        first = not hasattr(self, "online_state_")
        if first:
            self._validate_params()
        X = validate_data(self, X, dtype=np.float64, reset=first)
        if first:
            check_rows, infer = self._data_checks(fitting=True)
            infer([check_rows(X, None)])
            family = self._make_family(X)
        else:
            family = self.model_.family
        chunk = self._chunk(family, X, lengths, sample_weight, known_states)
        weights = chunk.sample_weight
        batch_weight = X.shape[0] if weights is None else float(weights @ np.diff(chunk.offsets))
        if first and X.shape[0] < self.n_components:
            raise ValueError(
                f"the first batch has {X.shape[0]} rows; it initialises the model, so it "
                f"needs at least n_components={self.n_components}"
            )
        self._online_step(chunk, batch_weight, lambda: self._build_model(family, X.shape[1]))
        return self

    def fit_predict(self, X, lengths=None, *, sample_weight=None, known_states=None):
        """Fit, then return the Viterbi path of ``X``, shape (n_samples,)."""
        self.fit(X, lengths, sample_weight=sample_weight, known_states=known_states)
        return self.predict(X, lengths, known_states=known_states)

    def _build_model(self, family, n_features) -> HMM:
        K = self.n_components
        startprob = checked_probabilities(self.startprob_init, "startprob_init", (K,))
        transmat = checked_probabilities(self.transmat_init, "transmat_init", (K, K))
        return HMM(
            family,
            K,
            learn=self.learn,
            initial=HMMParams(startprob, transmat, self._emission_initial(family, n_features)),
            init=self.init_params,
            startprob_prior=checked_prior(self.startprob_prior, "startprob_prior", (K,)),
            transmat_prior=checked_prior(self.transmat_prior, "transmat_prior", (K, K)),
        )

    def _data_checks(self, fitting: bool):
        """(check_rows, infer) for the training rows of fit and of partial_fit's first batch.

        ``check_rows(rows, offsets) -> summary`` checks rows of X (one chunk of whole
        sequences at a time, on a Dask worker for a Dask array) and ``infer(summaries)``
        sets the attributes that depend on all the rows; ``fitting`` is False for a
        warm start, whose attributes stay. Here: the family's data checks.
        """
        return partial(family_check, self._make_family(None)), infer_nothing

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
        offsets = sequence_offsets(lengths, X.shape[0])
        weights = _checked_sequence_weights(sample_weight, offsets.shape[0] - 1)
        known = self._checked_known_states(known_states, X.shape[0])
        return _hmm_chunk(family.check_data, X, known, offsets, weights)

    # -- inference ----------------------------------------------------------------
    def _validated_chunk(self, X, lengths, known_states=None) -> HMMChunk:
        self._check_fitted()
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._chunk(self.model_.family, X, lengths, known_states=known_states)

    def score(self, X, lengths=None):
        """Total log-likelihood log p(X) of all sequences (float), as hmmlearn."""
        chunk = self._validated_chunk(X, lengths)
        return float(self.model_.log_likelihood(self.params_, chunk).sum())

    def score_sequences(self, X, lengths=None):
        """Log-likelihood of every sequence, shape (n_sequences,)."""
        chunk = self._validated_chunk(X, lengths)
        return self.model_.log_likelihood(self.params_, chunk)

    def score_samples(self, X, lengths=None):
        """(total log-likelihood, posteriors of shape (n_samples, n_components)), as hmmlearn."""
        chunk = self._validated_chunk(X, lengths)
        log_lik, gamma, _, _ = self.model_.posterior(self.params_, chunk)
        return float(log_lik.sum()), gamma

    def predict_proba(self, X, lengths=None, *, known_states=None):
        """Posterior state marginals p(z_t = k | X), shape (n_samples, n_components)."""
        chunk = self._validated_chunk(X, lengths, known_states)
        return self.model_.posterior(self.params_, chunk)[1]

    def predict(self, X, lengths=None, *, known_states=None):
        """Most probable state path (Viterbi), shape (n_samples,)."""
        return self.decode(X, lengths, known_states=known_states)[1]

    def decode(self, X, lengths=None, algorithm="viterbi", *, known_states=None):
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

    def sample(self, n_samples=1, random_state=None):
        """Draw one sequence: (X of shape (n_samples, n_features), states of shape (n_samples,)).

        ``random_state`` defaults to the estimator's ``random_state``.
        """
        self._check_fitted()
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        return self.model_.sample(self.params_, int(n_samples), rng)

    # -- model selection ------------------------------------------------------------
    def _n_parameters(self) -> int:
        return self.model_.n_free_parameters(self.n_features_in_)

    def aic(self, X, lengths=None):
        """Akaike information criterion on X (lower is better)."""
        return -2 * self.score(X, lengths) + 2 * self._n_parameters()

    def bic(self, X, lengths=None):
        """Bayesian information criterion on X (lower is better)."""
        n = np.asarray(X).shape[0]
        return -2 * self.score(X, lengths) + self._n_parameters() * np.log(n)

    # -- fitted attributes --------------------------------------------------------
    def _store_params(self):
        self.startprob_ = self.params_.startprob
        self.transmat_ = self.params_.transmat
        self._store_emission(self.params_.emission)

    def _params_from_attributes(self):
        family = self._make_family(None)
        self.model_ = self._build_model(family, int(self.n_features_in_))
        self.params_ = HMMParams(
            np.asarray(self.startprob_, dtype=float),
            np.asarray(self.transmat_, dtype=float),
            self._emission_from_attributes(family),
        )
        self._store_params()

    @property
    def _saved_attributes(self):
        return ("startprob_", "transmat_", *self._emission_attributes)

    # -- subclass hooks -----------------------------------------------------------
    def _make_family(self, X):
        raise NotImplementedError

    def _emission_initial(self, family, n_features):
        raise NotImplementedError

    def _store_emission(self, emission):
        raise NotImplementedError

    def _emission_from_attributes(self, family):
        raise NotImplementedError


def _checked_sequence_weights(sample_weight, n_sequences):
    """Sequence weights as float of shape (n_sequences,), or None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n_sequences,):
        raise ValueError(
            f"sample_weight has one weight per sequence: expected shape "
            f"({n_sequences},), got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to 0; give at least one sequence weight > 0")
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
        Threads for the E-steps (None: every core). Sequences are grouped into chunks
        of ``chunk_size`` rows, E-stepped in parallel (forward-backward releases the
        GIL) and summed in order, so the fit is bit-identical for any value.
    chunk_size : int or None, default=None
        Rows per chunk of whole sequences in ``fit`` (None: 65536): chunks hold whole
        sequences, at most ``chunk_size`` rows unless one sequence is longer. A
        memory-mapped X is read one chunk at a time per thread, so this bounds the
        memory of such a fit.
    accelerate : {None, "squarem"}, default=None
        SQUAREM extrapolation of the EM map (with the monotonicity safeguard) on log
        start/transition probabilities and the emission's unconstrained parameters;
        structural zeros stay zero.
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
    n_features_in_, params_ (an :class:`emkit.models.HMMParams`), model_
"""


def _hmm_doc(cls):
    """Insert the parameters and attributes that every HMM estimator shares."""
    cls.__doc__ = (
        cls.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n") + "\n").rstrip()
        + "\n"
        + _COMMON_ATTRIBUTES_DOC.strip("\n")
        + "\n    "
    )
    return cls


# -- Gaussian -------------------------------------------------------------------------
@_hmm_doc
class GaussianHMM(BaseHMM):
    r"""Hidden Markov model with Gaussian emissions.

    .. math::

        x_t \mid z_t = k \sim \mathcal{N}(\mu_k, \Sigma_k)

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
    reg_covar : float, default=1e-6
        Added to the covariance diagonals after every M-step (hmmlearn applies no
        such floor in its M-step; use 0 to reproduce it).
    means_init : array-like of shape (n_components, n_features), optional
    covariances_init : array-like, optional
        In the covariance type's shape: (K, D, D) full, (D, D) tied, (K, D) diag,
        (K,) spherical.
    mean_prior, mean_prior_strength, covariance_prior, covariance_prior_strength :
        Conjugate normal-inverse-Wishart prior on the state means and covariances
        (MAP), exactly as in :class:`emkit.GaussianMixture`; strengths 0 are MLE.
    {common}
    Attributes
    ----------
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, in the covariance type's shape
    """

    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "means_init": ["array-like", None],
        "covariances_init": ["array-like", None],
        "mean_prior": ["array-like", None],
        "mean_prior_strength": [Interval(Real, 0.0, None, closed="left")],
        "covariance_prior": ["array-like", Real, None],
        "covariance_prior_strength": [Interval(Real, 0.0, None, closed="left")],
    }
    _emission_attributes = ("means_", "covariances_")

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="diag",
        reg_covar=1e-6,
        startprob_init=None,
        transmat_init=None,
        means_init=None,
        covariances_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        mean_prior=None,
        mean_prior_strength=0.0,
        covariance_prior=None,
        covariance_prior_strength=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.mean_prior = mean_prior
        self.mean_prior_strength = mean_prior_strength
        self.covariance_prior = covariance_prior
        self.covariance_prior_strength = covariance_prior_strength
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _make_family(self, X):
        prior = gaussian_prior(self, X, self.n_components)
        return GaussianFamily(self.covariance_type, self.reg_covar, prior)

    def _emission_initial(self, family, n_features):
        K, D = self.n_components, n_features
        means = _checked_array(self.means_init, "means_init", (K, D))
        covariances = checked_covariances(
            self.covariances_init,
            self.covariance_type,
            _COVARIANCE_SHAPES[self.covariance_type](K, D),
        )
        if means is None and covariances is None:
            return None
        return GaussianParams(means, covariances)

    def _store_emission(self, emission):
        self.means_ = emission.means
        self.covariances_ = emission.covariances

    def _emission_from_attributes(self, family):
        return family.make_params(np.asarray(self.means_), np.asarray(self.covariances_))


# -- Gaussian mixture -----------------------------------------------------------------
@_hmm_doc
class GMMHMM(BaseHMM):
    r"""Hidden Markov model with Gaussian-mixture emissions.

    .. math::

        p(x_t \mid z_t = k) = \sum_{m=1}^{M} w_{km} \, \mathcal{N}(x_t \mid \mu_{km}, \Sigma_{km})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states K.
    n_mix : int, default=1
        Gaussians per state M.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
        "tied": the M Gaussians of a state share one covariance (as hmmlearn).
    reg_covar : float, default=1e-6
    weights_init : array-like of shape (n_components, n_mix), optional
    means_init : array-like of shape (n_components, n_mix, n_features), optional
    covariances_init : array-like, optional
        (K, M, D, D) full, (K, D, D) tied, (K, M, D) diag, (K, M) spherical.
    mean_prior, mean_prior_strength, covariance_prior, covariance_prior_strength :
        Conjugate prior on every Gaussian (see :class:`GaussianHMM`).
    {common}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covariances_ : ndarray, shapes as ``covariances_init``
    """

    _parameter_constraints: dict = {
        **GaussianHMM._parameter_constraints,
        "n_mix": [Interval(Integral, 1, None, closed="left")],
        "weights_init": ["array-like", None],
    }
    _emission_attributes = ("weights_", "means_", "covariances_")

    def __init__(
        self,
        n_components=1,
        *,
        n_mix=1,
        covariance_type="diag",
        reg_covar=1e-6,
        startprob_init=None,
        transmat_init=None,
        weights_init=None,
        means_init=None,
        covariances_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        mean_prior=None,
        mean_prior_strength=0.0,
        covariance_prior=None,
        covariance_prior_strength=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.n_mix = n_mix
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.mean_prior = mean_prior
        self.mean_prior_strength = mean_prior_strength
        self.covariance_prior = covariance_prior
        self.covariance_prior_strength = covariance_prior_strength
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _make_family(self, X):
        prior = gaussian_prior(self, X, self.n_components * self.n_mix)
        return GaussianMixtureEmission(
            self.n_mix, self.covariance_type, self.reg_covar, prior, init="kmeans"
        )

    def _emission_initial(self, family, n_features):
        K, M, D = self.n_components, self.n_mix, n_features
        weights = checked_probabilities(self.weights_init, "weights_init", (K, M))
        means = _checked_array(self.means_init, "means_init", (K, M, D))
        shape = {"full": (K, M, D, D), "tied": (K, D, D), "diag": (K, M, D), "spherical": (K, M)}
        covariances = _checked_array(
            self.covariances_init, "covariances_init", shape[self.covariance_type]
        )
        if covariances is not None:
            per_state = GaussianFamily(self.covariance_type)
            for k in range(K):
                checked_covariances(
                    covariances[k],
                    self.covariance_type,
                    covariances[k].shape,
                    per_state,
                    f" of state {k}",
                )
        if weights is None and means is None and covariances is None:
            return None
        return GaussianMixtureParams(weights, means, covariances)

    def _store_emission(self, emission):
        self.weights_ = emission.weights
        self.means_ = emission.means
        self.covariances_ = emission.covariances

    def _emission_from_attributes(self, family):
        return family.make_params(
            np.asarray(self.weights_), np.asarray(self.means_), np.asarray(self.covariances_)
        )


# -- Poisson --------------------------------------------------------------------------
@_hmm_doc
class PoissonHMM(BaseHMM):
    r"""Hidden Markov model with Poisson emissions (independent count features).

    .. math::

        x_{td} \mid z_t = k \sim \mathrm{Poisson}(\lambda_{kd})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    rates_init : array-like of shape (n_components, n_features), optional
    rate_prior : float or array-like of shape (n_features,), optional
        Prior mean λ0 of the rates (default: the mean count of every feature).
    rate_prior_strength : float, default=0
        n0: pseudo-observations at ``rate_prior`` (Gamma(1 + n0 λ0, n0) prior, MAP);
        0 is maximum likelihood.
    {common}
    Attributes
    ----------
    rates_ : ndarray of shape (n_components, n_features)
    """

    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "rates_init": ["array-like", None],
        "rate_prior": ["array-like", Real, None],
        "rate_prior_strength": [Interval(Real, 0.0, None, closed="left")],
    }
    _emission_attributes = ("rates_",)

    def __init__(
        self,
        n_components=1,
        *,
        startprob_init=None,
        transmat_init=None,
        rates_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        rate_prior=None,
        rate_prior_strength=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.rates_init = rates_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.rate_prior = rate_prior
        self.rate_prior_strength = rate_prior_strength
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _make_family(self, X):
        return PoissonFamily(poisson_prior(self, X))

    def _emission_initial(self, family, n_features):
        rates = _checked_array(self.rates_init, "rates_init", (self.n_components, n_features))
        if rates is None:
            return None
        if np.any(rates < 0):
            raise ValueError("rates_init must be non-negative")
        return PoissonParams(rates)

    def _store_emission(self, emission):
        self.rates_ = emission.rates

    def _emission_from_attributes(self, family):
        return family.make_params(self.rates_)


# -- Categorical ----------------------------------------------------------------------
@_hmm_doc
class CategoricalHMM(BaseHMM):
    r"""Hidden Markov model with categorical emissions: one symbol per observation and feature.

    .. math::

        p(x_t \mid z_t = k) = \prod_{d=1}^{D} \theta_{k, d, x_{td}}

    ``X`` holds integer symbols 0 .. n_symbols - 1, one column (as hmmlearn) or
    several independent ones.

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    n_symbols : int, optional
        Size of the alphabet; default: the largest symbol in the training data + 1.
    emissionprob_init : array-like, optional
        (n_components, n_symbols) for one column, (n_components, n_features,
        n_symbols) in general; every row sums to 1.
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected symbol count (Dirichlet(1 + c)
        prior, MAP; 1 is Laplace smoothing); 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray
        p(symbol | state): (n_components, n_symbols) when X has one column (as
        hmmlearn), (n_components, n_features, n_symbols) otherwise.
    n_symbols_ : int
    """

    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "n_symbols": [Interval(Integral, 1, None, closed="left"), None],
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _emission_attributes = ("emissionprob_", "n_symbols_")

    def __init__(
        self,
        n_components=1,
        *,
        n_symbols=None,
        startprob_init=None,
        transmat_init=None,
        emissionprob_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        emissionprob_prior=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.n_symbols = n_symbols
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.emissionprob_init = emissionprob_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _data_checks(self, fitting):
        # partial_fit's first batch fixes an inferred alphabet: give n_symbols when it
        # may lack symbols
        return categorical_data_checks(self, fitting, partial(super()._data_checks, fitting))

    def _make_family(self, X):
        prior = DirichletPrior(self.emissionprob_prior) if self.emissionprob_prior > 0 else None
        return CategoricalFamily(int(self.n_symbols_), prior)

    def _emission_initial(self, family, n_features):
        probs = categorical_probabilities(
            self.emissionprob_init,
            "emissionprob_init",
            self.n_components,
            n_features,
            self.n_symbols_,
        )
        return None if probs is None else CategoricalParams(probs)

    def _store_emission(self, emission):
        probs = emission.emissionprob
        self.emissionprob_ = probs[:, 0, :] if probs.shape[1] == 1 else probs

    def _emission_from_attributes(self, family):
        probs = np.asarray(self.emissionprob_, dtype=float)
        return family.make_params(probs[:, None, :] if probs.ndim == 2 else probs)


# -- Multinomial ----------------------------------------------------------------------
@_hmm_doc
class MultinomialHMM(BaseHMM):
    r"""Hidden Markov model with multinomial emissions: every observation is a count vector.

    .. math::

        p(x_t \mid z_t = k) = \frac{N_t!}{\prod_d x_{td}!} \prod_{d=1}^{D} \theta_{kd}^{x_{td}},
        \qquad N_t = \sum_d x_{td}

    Rows may have different totals N_t (unlike hmmlearn, which fixes ``n_trials``).

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    n_trials : int, optional
        Row total of sampled observations (:meth:`sample`); default: the training
        rows' total when they all share one.
    emissionprob_init : array-like of shape (n_components, n_features), optional
    emissionprob_prior : float, default=0
        Dirichlet pseudo-count added to every expected count; 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
    n_trials_ : int or None
    """

    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _emission_attributes = ("emissionprob_", "n_trials_")

    def __init__(
        self,
        n_components=1,
        *,
        n_trials=None,
        startprob_init=None,
        transmat_init=None,
        emissionprob_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        emissionprob_prior=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.n_trials = n_trials
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.emissionprob_init = emissionprob_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _data_checks(self, fitting):
        check_rows, infer = super()._data_checks(fitting)
        if not fitting:
            return check_rows, infer
        # n_trials_: the row total shared by all chunks' rows, if any
        return partial(distinct_row_totals, check_rows), self._infer_n_trials

    def _infer_n_trials(self, row_totals):
        # infer_n_trials sees every group's distinct totals as rows of one column
        self.n_trials_ = infer_n_trials(self.n_trials, np.concatenate(row_totals)[:, None])

    def _make_family(self, X):
        prior = DirichletPrior(self.emissionprob_prior) if self.emissionprob_prior > 0 else None
        n_trials = getattr(self, "n_trials_", None)
        return MultinomialFamily(None if n_trials is None else int(n_trials), prior)

    def _emission_initial(self, family, n_features):
        probs = checked_probabilities(
            self.emissionprob_init, "emissionprob_init", (self.n_components, n_features)
        )
        return None if probs is None else MultinomialParams(probs)

    def _store_emission(self, emission):
        self.emissionprob_ = emission.emissionprob

    def _emission_from_attributes(self, family):
        return family.make_params(self.emissionprob_)


# -- Bernoulli ------------------------------------------------------------------------
@_hmm_doc
class BernoulliHMM(BaseHMM):
    r"""Hidden Markov model with independent binary features.

    .. math::

        x_{td} \mid z_t = k \sim \mathrm{Bernoulli}(\theta_{kd})

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    emissionprob_init : array-like of shape (n_components, n_features), optional
        p(x_d = 1 | state).
    emissionprob_prior : float, default=0
        Beta pseudo-count added to both the expected ones and zeros (Beta(1 + c, 1 + c)
        prior, MAP; 1 is Laplace smoothing); 0 is maximum likelihood.
    {common}
    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
        p(x_d = 1 | state).
    """

    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "emissionprob_init": ["array-like", None],
        "emissionprob_prior": [Interval(Real, 0.0, None, closed="left")],
    }
    _emission_attributes = ("emissionprob_",)

    def __init__(
        self,
        n_components=1,
        *,
        startprob_init=None,
        transmat_init=None,
        emissionprob_init=None,
        startprob_prior=0.0,
        transmat_prior=0.0,
        emissionprob_prior=0.0,
        learn=None,
        init_params="kmeans",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        accelerate=None,
        chunk_size=None,
    ):
        self.n_components = n_components
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.emissionprob_init = emissionprob_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.learn = learn
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.accelerate = accelerate
        self.chunk_size = chunk_size

    def _make_family(self, X):
        c = self.emissionprob_prior
        return BernoulliFamily(BetaPrior(c, c) if c > 0 else None)

    def _emission_initial(self, family, n_features):
        probs = _checked_array(
            self.emissionprob_init, "emissionprob_init", (self.n_components, n_features)
        )
        if probs is None:
            return None
        if np.any((probs < 0) | (probs > 1)):
            raise ValueError("emissionprob_init holds probabilities: every entry in [0, 1]")
        return BernoulliParams(probs)

    def _store_emission(self, emission):
        self.emissionprob_ = emission.emissionprob

    def _emission_from_attributes(self, family):
        return family.make_params(self.emissionprob_)
