r"""Hidden Markov model over any distribution family, fitted by Baum-Welch (EM).

.. math::

    p(x_{1:T}, z_{1:T} \mid \theta) = \pi_{z_1} \prod_{t=2}^{T} A_{z_{t-1} z_t}
    \prod_{t=1}^{T} p(x_t \mid \theta_{z_t})

The E-step runs forward-backward on every sequence (:mod:`emkit._kernels.hmm`) and
returns additive, fixed-size statistics: expected initial-state counts (K,),
expected transition counts (K, K) (summed on the fly, never stored per time step),
the expected time spent in every state (K,), and the family's statistics under the
posterior marginals :math:`\gamma_{tk} = p(z_t = k \mid x)`. The M-step normalises
the counts (plus Dirichlet pseudo-counts under a prior) and hands the emission
statistics to the family.

Structural zeros: an entry of the initial transition matrix (or start vector) that
is exactly 0 gets no expected count, and the M-step never gives it prior mass, so
it stays 0 (left-right models). Partially labelled sequences clamp
:math:`p(z_t = k \mid \cdot) = [k = y_t]` where a state is known; the objective is
then :math:`\log p(x, z_{\text{known}})`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from emkit._kernels import hmm as kernels
from emkit._kernels.hmm_gaussian import gaussian_e_step
from emkit.containers import Statistics
from emkit.families._counts import sqrt_pack, sqrt_unpack
from emkit.families._init import initial_responsibilities
from emkit.families.gaussian import GaussianFamily, GaussianStats
from emkit.models._chunks import concat_row_weights, concat_rows, filled_with_column_means
from emkit.models.mixture import EmptyComponentWarning

__all__ = [
    "HMM",
    "EmptyStateWarning",
    "HMMChunk",
    "HMMParams",
    "HMMStats",
    "ImpossibleSequenceError",
]


class EmptyStateWarning(EmptyComponentWarning):
    """A hidden state received (almost) no posterior mass."""


class ImpossibleSequenceError(ValueError):
    """A sequence has probability zero under the parameters."""


@dataclass(frozen=True)
class HMMParams:
    """startprob : (K,); transmat : (K, K), rows sum to 1; emission : the family's parameters.

    Fields may be None in a partial container (user-given initial values).
    """

    startprob: np.ndarray | None
    transmat: np.ndarray | None
    emission: Any


@dataclass(frozen=True, eq=False)
class HMMStats(Statistics):
    """Expected sufficient statistics of a set of sequences (weighted by sequence weights).

    Attributes
    ----------
    sum_start : (K,)   sum_s w_s p(z_{s,1} = k | x_s), the expected initial-state counts
    sum_trans : (K, K)   sum_s w_s sum_t p(z_{s,t} = i, z_{s,t+1} = j | x_s), the
        expected transition counts
    sum_w : (K,)   sum_s w_s sum_t p(z_{s,t} = k | x_s), the expected time spent in every
        state (the mixtures' and the families' ``sum_w``)
    emission : the family's statistics under w_s p(z_{s,t} = k | x_s)
    """

    sum_start: np.ndarray
    sum_trans: np.ndarray
    sum_w: np.ndarray
    emission: Any


@dataclass(frozen=True)
class HMMChunk:
    """Sequences stored back to back.

    Attributes
    ----------
    X : (n, D) observations (already checked by the family)
    offsets : (S + 1,) sequence s is rows offsets[s]:offsets[s + 1]
    sample_weight : (S,) weight of every sequence, or None
    known_states : (n,) int, the state at every step or -1 where unknown, or None
    origin : (first row, first sequence) of the chunk in the data the user gave, so
        that messages name rows and sequences there (a chunk may be a part of it)
    """

    X: np.ndarray
    offsets: np.ndarray
    sample_weight: np.ndarray | None = field(default=None)
    known_states: np.ndarray | None = field(default=None)
    origin: tuple[int, int] = (0, 0)

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def row_weights(self) -> np.ndarray | None:
        """(n,) the weight of every row's sequence, or None."""
        if self.sample_weight is None:
            return None
        return np.repeat(self.sample_weight, np.diff(self.offsets))


def _probabilities_from_roots(roots, allowed) -> np.ndarray:
    """Rows (last axis) of probabilities from packed roots on the allowed entries, 0 elsewhere."""
    full = np.zeros(allowed.shape)
    full[allowed] = roots
    return sqrt_unpack(full, allowed.shape)


def _normalise_rows(counts, allowed):
    """Rows of ``counts`` scaled to sum to 1; a row without mass is uniform over ``allowed``."""
    counts = np.where(allowed, counts, 0.0)
    totals = counts.sum(axis=-1, keepdims=True)
    uniform = allowed / np.maximum(allowed.sum(axis=-1, keepdims=True), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), uniform)


class HMM:
    """EM model of a K-state hidden Markov model over a distribution family.

    Parameters
    ----------
    family : Family
        The emission distribution (e.g. ``GaussianFamily("diag")``, ``PoissonFamily()``).
    n_components : int
        Number of hidden states K.
    learn : iterable of str, optional
        Parameters that EM updates: "startprob", "transmat" and any of
        ``family.param_names``. Default: all. The others stay at their values in
        ``initial`` (start and transition probabilities default to uniform).
    initial : HMMParams, optional
        Partial initial values (fields may be None): they replace the data-driven
        initial values of every restart. Zeros in ``initial.startprob`` and
        ``initial.transmat`` are structural and stay zero.
    init : str
        Data-driven start of the emissions: state responsibilities from "kmeans",
        "k-means++", "random" or "random_from_data" (as the mixtures), then one
        emission M-step. Start and transition probabilities start uniform.
    startprob_prior, transmat_prior : float or ndarray
        Dirichlet pseudo-counts (Dirichlet(1 + c)) added to the expected initial and
        transition counts, except at structural zeros; 0 is maximum likelihood.
    """

    def __init__(
        self,
        family,
        n_components: int,
        *,
        learn=None,
        initial: HMMParams | None = None,
        init: str = "kmeans",
        startprob_prior=0.0,
        transmat_prior=0.0,
    ):
        K = int(n_components)
        names = ("startprob", "transmat", *family.param_names)
        learn = frozenset(names if learn is None else (str(name) for name in learn))
        unknown = learn - set(names)
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {sorted(unknown)}; choose from {names}"
            )
        initial = initial if initial is not None else HMMParams(None, None, None)
        startprob = initial.startprob
        transmat = initial.transmat
        if startprob is None and "startprob" not in learn:
            startprob = np.full(K, 1.0 / K)
        if transmat is None and "transmat" not in learn:
            transmat = np.full((K, K), 1.0 / K)
        initial = HMMParams(startprob, transmat, initial.emission)
        given = family.given_fields(initial.emission)
        for name in family.param_names:
            if name not in learn and name not in given:
                raise ValueError(f"{name!r} is not learned, so its initial value must be given")
        self.family = family
        self.n_components = K
        self.learn = learn
        self.initial = initial
        self.init = init
        self.startprob_prior = np.asarray(startprob_prior, dtype=float)
        self.transmat_prior = np.asarray(transmat_prior, dtype=float)
        self.start_allowed = np.ones(K, bool) if startprob is None else np.asarray(startprob) > 0
        self.trans_allowed = np.ones((K, K), bool) if transmat is None else np.asarray(transmat) > 0

    # -- initialisation -----------------------------------------------------------
    def init_params(self, chunks: Sequence[HMMChunk], rng) -> HMMParams:
        """Uniform start and transition probabilities, emissions from ``init``, then ``initial``.

        With known states, the data-driven states are renamed to agree best with the
        labels (an assignment problem on their overlap) and the labelled rows are
        assigned to their state, so that EM starts with states named as the labels.
        """
        if self._fully_given():  # nothing to estimate from the data
            return self.with_initial(HMMParams(None, None, self.initial.emission))
        X = concat_rows(chunks)
        weights = concat_row_weights(chunks)
        if X.dtype.kind == "f" and np.isnan(X).any():
            # missing values (Gaussian emissions): the start fills them with the column
            # means; the first E-step replaces them by their conditional expectations
            X = filled_with_column_means(X, weights)
        resp = initial_responsibilities(
            np.asarray(X, dtype=float), self.n_components, self.init, rng, weights
        )
        known = _concat_known_states(chunks)
        if known is not None:
            resp = _align_to_known_states(resp, known)
        if weights is not None:
            resp = resp * weights[:, None]
        emission = self.family.initial_params(X, resp, rng)
        params = HMMParams(
            _normalise_rows(np.ones(self.n_components), self.start_allowed),
            _normalise_rows(np.ones((self.n_components,) * 2), self.trans_allowed),
            emission,
        )
        return self.with_initial(params)

    def _fully_given(self) -> bool:
        initial = self.initial
        return (
            initial.startprob is not None
            and initial.transmat is not None
            and set(self.family.param_names) <= set(self.family.given_fields(initial.emission))
        )

    def with_initial(self, params: HMMParams) -> HMMParams:
        """``params`` with the user's ``initial`` values substituted."""
        initial = self.initial
        startprob = params.startprob if initial.startprob is None else initial.startprob
        transmat = params.transmat if initial.transmat is None else initial.transmat
        emission = params.emission
        given = self.family.given_fields(initial.emission)
        if given:
            emission = self.family.replace_fields(emission, given)
        return HMMParams(
            np.asarray(startprob, dtype=float), np.asarray(transmat, dtype=float), emission
        )

    # -- E-step -------------------------------------------------------------------
    def log_emission(self, params: HMMParams, chunk: HMMChunk) -> np.ndarray:
        """log p(x_t | z_t = k) of every row, shape (n, K); where a state is known, -inf
        for the other states (the clamped posterior)."""
        log_emission = self.family.log_prob(params.emission, chunk.X)
        if chunk.known_states is not None:
            known = np.flatnonzero(chunk.known_states >= 0)
            if known.size:
                clamped = np.full((known.size, self.n_components), -np.inf)
                rows = np.arange(known.size)
                clamped[rows, chunk.known_states[known]] = log_emission[
                    known, chunk.known_states[known]
                ]
                log_emission[known] = clamped
        return log_emission

    def posterior(self, params: HMMParams, chunk: HMMChunk):
        """Forward-backward: (log-likelihood per sequence (S,), gamma (n, K), start, trans).

        Raises ImpossibleSequenceError naming the first sequence of probability zero.
        """
        log_lik, gamma, start, trans = kernels.forward_backward(
            self.log_emission(params, chunk),
            chunk.offsets,
            params.startprob,
            params.transmat,
            chunk.sample_weight,
        )
        _check_possible(log_lik, chunk)
        return log_lik, gamma, start, trans

    def e_step(self, params: HMMParams, chunk: HMMChunk):
        """(HMMStats of ``chunk`` under ``params``, its summed log-likelihood, weighted by
        the sequence weights).

        Gaussian emissions on complete float64 data without known states take the fused
        kernel (:mod:`emkit._kernels.hmm_gaussian`: log-densities, forward-backward and
        moments in one pass); any sequence it finds impossible or not finite sends the
        chunk down the general path, which names the problem.
        """
        fused = _fused_gaussian_e_step(self.family, params, chunk)
        if fused is not None:
            return fused
        log_lik, gamma, start, trans = self.posterior(params, chunk)
        weights = chunk.row_weights
        if weights is not None:
            gamma *= weights[:, None]
            # a sequence of weight 0 counts for nothing, even if it is impossible
            total = float(
                np.sum(chunk.sample_weight * np.where(chunk.sample_weight > 0, log_lik, 0.0))
            )
        else:
            total = float(log_lik.sum())
        stats = HMMStats(
            start,
            trans,
            gamma.sum(axis=0),
            self.family.statistics(chunk.X, gamma, params.emission),
        )
        return stats, total

    def log_likelihood(self, params: HMMParams, chunk: HMMChunk) -> np.ndarray:
        """log p(x_s) of every sequence (S,), by the forward pass alone."""
        return kernels.forward_log_likelihood(
            self.log_emission(params, chunk), chunk.offsets, params.startprob, params.transmat
        )

    def viterbi(self, params: HMMParams, chunk: HMMChunk):
        """(max_z log p(x_s, z) per sequence (S,), most probable states (n,))."""
        log_prob, path = kernels.viterbi(
            self.log_emission(params, chunk), chunk.offsets, params.startprob, params.transmat
        )
        _check_possible(log_prob, chunk)
        return log_prob, path

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: HMMStats) -> HMMParams:
        """Start and transition probabilities from the expected counts (Dirichlet MAP
        under the priors, structural zeros kept) and the family's M-step; parameters
        not learned are ``initial``'s."""
        counts = stats.sum_w
        # relative to the total only: sequence weights of 1e-300 leave no state empty
        for k in np.flatnonzero(counts < 1e-8 * counts.sum()):
            warnings.warn(
                f"hidden state {k} received no posterior mass: it is kept with its previous "
                "emission parameters and uniform outgoing transitions. Lower n_components, "
                "choose other initial values or check the transition structure.",
                EmptyStateWarning,
                stacklevel=3,
            )
        learn, initial = self.learn, self.initial
        if "startprob" in learn:
            startprob = _normalise_rows(
                stats.sum_start + self.startprob_prior * self.start_allowed, self.start_allowed
            )
        else:
            startprob = initial.startprob
        if "transmat" in learn:
            transmat = _normalise_rows(
                stats.sum_trans + self.transmat_prior * self.trans_allowed, self.trans_allowed
            )
        else:
            transmat = initial.transmat
        emission = self.family.m_step(
            stats.emission,
            learn=learn & frozenset(self.family.param_names),
            fixed=initial.emission,
        )
        return HMMParams(startprob, transmat, emission)

    # -- objective pieces ---------------------------------------------------------
    def m_step_slack(self, params: HMMParams, stats: HMMStats) -> float:
        """How far Q (+ log prior) at ``params = m_step(stats)`` may lie below its exact
        maximum because of the emission family's deliberate regularisation (e.g.
        ``reg_covar``); the start and transition updates are exact (see
        :class:`emkit.core.EMModel`)."""
        learn = self.learn & frozenset(self.family.param_names)
        return self.family.m_step_slack(params.emission, stats.emission, learn)

    def log_prior(self, params: HMMParams) -> float:
        """The family's log prior plus the Dirichlet priors' on the start and transition
        probabilities."""
        value = self.family.log_prior(params.emission)
        for name, probs, prior, allowed in (
            ("startprob", params.startprob, self.startprob_prior, self.start_allowed),
            ("transmat", params.transmat, self.transmat_prior, self.trans_allowed),
        ):
            if name in self.learn and np.any(prior > 0):
                pseudo = np.where(allowed, prior, 0.0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    value += float(np.sum(np.where(pseudo > 0, pseudo * np.log(probs), 0.0)))
        return value

    def expected_log_joint(self, params: HMMParams, stats: HMMStats) -> float:
        """Q(θ) = E_q[log p(x, z | θ)] from the statistics."""
        with np.errstate(divide="ignore", invalid="ignore"):
            start = np.where(stats.sum_start > 0, stats.sum_start * np.log(params.startprob), 0.0)
            trans = np.where(stats.sum_trans > 0, stats.sum_trans * np.log(params.transmat), 0.0)
        return (
            float(start.sum())
            + float(trans.sum())
            + self.family.expected_log_prob(params.emission, stats.emission)
        )

    # -- unconstrained parametrisation (for acceleration) --------------------------
    def pack(self, params: HMMParams) -> np.ndarray:
        """Square roots of the start and transition probabilities (structurally allowed
        entries only; see :func:`emkit.families._counts.sqrt_pack`) and the family's
        unconstrained parameters, as one 1-D vector."""
        return np.concatenate(
            [
                sqrt_pack(params.startprob[self.start_allowed]),
                sqrt_pack(params.transmat[self.trans_allowed]),
                self.family.pack(params.emission),
            ]
        )

    def unpack(self, vector: np.ndarray, like: HMMParams) -> HMMParams:
        """Inverse of :meth:`pack`; structural zeros and parameters not learned keep
        their exact values."""
        n_start, n_trans = int(self.start_allowed.sum()), int(self.trans_allowed.sum())
        startprob = _probabilities_from_roots(vector[:n_start], self.start_allowed)
        transmat = _probabilities_from_roots(
            vector[n_start : n_start + n_trans], self.trans_allowed
        )
        emission = self.family.unpack(vector[n_start + n_trans :], like.emission)
        fixed = {
            name: getattr(like.emission, name)
            for name in self.family.param_names
            if name not in self.learn
        }
        if fixed:
            emission = self.family.replace_fields(emission, fixed)
        return HMMParams(
            startprob if "startprob" in self.learn else like.startprob,
            transmat if "transmat" in self.learn else like.transmat,
            emission,
        )

    def n_free_parameters(self, n_features: int) -> int:
        """Free parameters of the learned quantities (structural zeros are not free).

        The emission parameters count in full when any of them is learned.
        """
        count = 0
        family_names = frozenset(self.family.param_names)
        if self.learn & family_names:  # (a partly learned family counts in full)
            count += self.family.n_free_parameters(self.n_components, n_features)
        if "startprob" in self.learn:
            count += int(self.start_allowed.sum()) - 1
        if "transmat" in self.learn:
            count += int(np.sum(np.maximum(self.trans_allowed.sum(axis=1) - 1, 0)))
        return count

    def sample(self, params: HMMParams, n_samples: int, rng):
        """One sequence: (X of shape (n_samples, D), states of shape (n_samples,))."""
        K = self.n_components
        states = np.empty(n_samples, dtype=np.int64)
        cdf_start = np.cumsum(params.startprob)
        cdf_trans = np.cumsum(params.transmat, axis=1)
        uniforms = rng.uniform(size=n_samples)
        state = min(
            int(np.searchsorted(cdf_start, uniforms[0] * cdf_start[-1], side="right")), K - 1
        )
        states[0] = state
        for t in range(1, n_samples):
            row = cdf_trans[state]
            state = min(int(np.searchsorted(row, uniforms[t] * row[-1], side="right")), K - 1)
            states[t] = state
        counts = np.bincount(states, minlength=K)
        stacked = self.family.sample(params.emission, counts, rng)
        X = np.empty_like(stacked)
        X[np.argsort(states, kind="stable")] = stacked
        return X, states


def _fused_gaussian_e_step(family, params: HMMParams, chunk: HMMChunk):
    """:meth:`HMM.e_step` by the fused Gaussian kernel, or None where it does not apply
    (another family, float32 or missing values, known states) or where a sequence came
    out impossible or not finite (the general path then raises its precise error)."""
    if type(family) is not GaussianFamily or chunk.known_states is not None:
        return None
    X = chunk.X
    # missing values (NaN) come out as a non-finite log-likelihood: general path below
    if not isinstance(X, np.ndarray) or X.dtype != np.float64:
        return None
    emission = params.emission
    means, prec_chol = emission.means, emission.precisions_cholesky
    K, D = means.shape
    kind = family.covariance_type
    if kind == "tied":
        prec = np.broadcast_to(prec_chol, (K, D, D))
    elif kind == "spherical":
        prec = np.repeat(np.asarray(prec_chol)[:, None], D, axis=1)
    else:
        prec = prec_chol
    full = kind in ("full", "tied")
    log_lik, start, trans, sum_w, sum_dx, sum_dxx = gaussian_e_step(
        X, chunk.offsets, params.startprob, params.transmat, means, prec, full,
        chunk.sample_weight,
    )  # fmt: skip
    if not np.all(np.isfinite(log_lik)):
        return None
    if kind == "tied":
        sum_dxx = sum_dxx.sum(axis=0)
    elif kind == "spherical":
        sum_dxx = sum_dxx.sum(axis=1)
    weights = chunk.sample_weight
    total = float(log_lik.sum() if weights is None else weights @ log_lik)
    stats = GaussianStats(
        sum_w=sum_w,
        sum_dx=sum_dx,
        sum_dxx=sum_dxx,
        shift=np.asarray(means, dtype=np.float64),
        covariance_type=kind,
        reference_precisions_cholesky=prec_chol,
    )
    return HMMStats(start, trans, sum_w.copy(), stats), total


def _check_possible(log_lik, chunk: HMMChunk) -> None:
    impossible = ~np.isfinite(log_lik)
    if chunk.sample_weight is not None:
        impossible &= chunk.sample_weight > 0
    impossible = np.flatnonzero(impossible)
    if impossible.size:
        s = int(impossible[0])
        first_row, first_sequence = chunk.origin
        start, stop = first_row + int(chunk.offsets[s]), first_row + int(chunk.offsets[s + 1])
        hint = (
            " (or the known states contradict the transition structure)"
            if chunk.known_states is not None
            else ""
        )
        raise ImpossibleSequenceError(
            f"sequence {first_sequence + s} (rows {start}..{stop - 1}) has probability zero "
            "under the model: some observation cannot be emitted by any state reachable at "
            f"that step{hint}. Check the data, or keep every outcome possible: fit count "
            "emissions with a prior (emissionprob_prior > 0 for categorical, multinomial and "
            "Bernoulli HMMs, rate_prior_strength > 0 for a PoissonHMM) and avoid zero "
            "probabilities in the initial values."
        )


def _concat_known_states(chunks):
    if all(c.known_states is None for c in chunks):
        return None
    return np.concatenate(
        [c.known_states if c.known_states is not None else np.full(len(c), -1) for c in chunks]
    )


def _align_to_known_states(resp, known):
    """Columns of ``resp`` permuted to match the labels best; labelled rows one-hot."""
    labelled = np.flatnonzero(known >= 0)
    if labelled.size == 0:
        return resp
    K = resp.shape[1]
    overlap = resp[labelled].T @ np.eye(K)[known[labelled]]  # (initial state, label)
    columns, labels = linear_sum_assignment(-overlap)
    aligned = np.empty_like(resp)
    aligned[:, labels] = resp[:, columns]
    aligned[labelled] = np.eye(K)[known[labelled]]
    return aligned
