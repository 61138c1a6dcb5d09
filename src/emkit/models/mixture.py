r"""Finite mixture of any distribution family, fitted by soft (EM) or hard (CEM) assignment.

.. math::

    p(x \mid \theta) = \sum_{k=1}^{K} \pi_k \, p(x \mid \theta_k)

The E-step computes responsibilities :math:`r_{ik} = p(z_i = k \mid x_i, \theta)` and
returns the family's statistics weighted by them; the M-step sets
:math:`\pi_k \propto \sum_i r_{ik}` (plus Dirichlet pseudo-counts under a prior) and
hands the component statistics to the family. With ``assignment="hard"`` the
responsibilities are one-hot at the most probable component (classification EM):
the objective is then the classification log-likelihood
:math:`\sum_i \max_k \log \pi_k p(x_i \mid \theta_k)`, which CEM never decreases.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emkit.containers import Statistics
from emkit.families._counts import sqrt_pack, sqrt_unpack
from emkit.families._init import initial_responsibilities
from emkit.families._missing import has_missing
from emkit.families.base import COUNT_FLOOR, Family, floor_scale
from emkit.models._chunks import concat_row_weights, concat_rows, filled_with_column_means
from emkit.models._labels import clamp_to_labels, concat_labels, labelled_start

__all__ = [
    "EmptyComponentWarning",
    "ImpossibleRowError",
    "Mixture",
    "MixtureChunk",
    "MixtureParams",
    "MixtureStats",
    "check_possible_rows",
]

# Rows per block in the E-step: temporaries of (block, K) and (block, D) stay in cache.
DEFAULT_BLOCK_ROWS = 4096


class EmptyComponentWarning(RuntimeWarning):
    """A mixture component received (almost) no posterior mass."""


class ImpossibleRowError(ValueError):
    """A row has probability zero under every component of the parameters."""


#: why a row can be impossible under every component, and the remedy, when the family
#: says nothing more specific (an estimator passes its own as ``impossible_hint``)
IMPOSSIBLE_ROW_HINT = (
    "the parameters give it density zero (or a density that underflows float64) in "
    "every component; check the row, or scale the data"
)


def check_possible_rows(log_norm, *, first_row=0, row_weights=None, hint=IMPOSSIBLE_ROW_HINT):
    """Raise ImpossibleRowError naming the first row with log p(x_i) = -inf.

    Its posterior would be 0/0 (NaN), and one such row makes the log-likelihood -inf.
    NaN and +inf are left to the callers' own checks.

    Parameters
    ----------
    log_norm : ndarray of shape (n,)
        log p(x_i), or the row maxima of the log joint (-inf exactly where it is).
    first_row : int
        Index of the first row in the data the user gave.
    row_weights : ndarray of shape (n,), optional
        A row of weight 0 counts for nothing, so it may be impossible.
    hint : str
        What makes such a row impossible and what to do.
    """
    impossible = np.isneginf(log_norm)
    if row_weights is not None:
        impossible &= row_weights > 0
    if impossible.any():
        row = first_row + int(np.argmax(impossible))
        raise ImpossibleRowError(
            f"row {row} of X has probability zero under every component "
            f"(score_samples gives -inf there): {hint}"
        )


@dataclass(frozen=True)
class MixtureParams:
    """weights : (K,) mixing proportions; components : the family's parameter container."""

    weights: np.ndarray | None
    components: Any


@dataclass(frozen=True, eq=False)
class MixtureStats(Statistics):
    """Expected sufficient statistics of a mixture (weighted by the sample weights).

    Attributes
    ----------
    sum_w : (K,)   sum_i w_i r_ik, the expected number of samples of every component
        (the families' ``sum_w``)
    components : the family's statistics under w_i r_ik
    """

    sum_w: np.ndarray
    components: Any


@dataclass(frozen=True)
class MixtureChunk:
    """One chunk of data: X of shape (n, D), optional sample weights (n,), the index
    of its first row in the user's data and optional known labels (n,)."""

    X: np.ndarray
    sample_weight: np.ndarray | None = field(default=None)
    #: index of the chunk's first row in the data the user gave (for error messages)
    first_row: int = 0
    #: (n,) int64: the known component of every row, -1 where unknown (semi-supervised
    #: fitting clamps the responsibilities of labelled rows to one-hot), or None
    labels: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def row_weights(self) -> np.ndarray | None:
        """(n,) the weight of every row, or None."""
        return self.sample_weight


class Mixture:
    """EM model of a K-component mixture over a distribution family.

    Parameters
    ----------
    family : Family
        The component distribution (e.g. ``GaussianFamily("full")``).
    n_components : int
    assignment : {"soft", "hard"}
        "soft" is EM; "hard" is classification EM (k-means is its Gaussian case).
    learn : iterable of str, optional
        Parameters that EM updates: "weights" and any of ``family.param_names``.
        Default: all. The others stay exactly at their values in ``initial``.
    initial : MixtureParams, optional
        Partial initial values (fields may be None): they replace the data-driven
        initial values of every restart, and are the values of fixed parameters.
    init : str
        Data-driven initialisation: "kmeans", "k-means++", "random", "random_from_data".
    weight_prior : float
        Dirichlet pseudo-counts added to every component's expected count
        (Dirichlet(1 + weight_prior) prior on the weights); 0 is maximum likelihood.
    block_rows : int
        Rows processed at a time in the E-step (bounds temporary memory).
    dtype : None, numpy.float64 or numpy.float32
        Precision of the E-step's arithmetic; None follows the data. Statistics are
        always accumulated in float64.
    impossible_hint : str
        The cause and remedy that the E-step's ImpossibleRowError gives for a row of
        probability zero under every component (see :func:`check_possible_rows`).
    """

    def __init__(
        self,
        family,
        n_components: int,
        *,
        assignment: str = "soft",
        learn=None,
        initial: MixtureParams | None = None,
        init: str = "kmeans",
        weight_prior: float = 0.0,
        block_rows: int = DEFAULT_BLOCK_ROWS,
        dtype=None,
        impossible_hint: str = IMPOSSIBLE_ROW_HINT,
    ):
        if assignment not in ("soft", "hard"):
            raise ValueError(f"assignment must be 'soft' or 'hard', got {assignment!r}")
        names = ("weights", *family.param_names)
        learn = frozenset(names if learn is None else learn)
        unknown = learn - set(names)
        if unknown:
            raise ValueError(
                f"learn has unknown parameter names {sorted(unknown)}; choose from {names}"
            )
        given = _given_fields(family, initial)
        for name in set(names) - learn:
            if name not in given:
                raise ValueError(
                    f"{name!r} is not learned, so its value must be given in `initial`"
                )
        self.family = family
        self.n_components = int(n_components)
        self.assignment = assignment
        self.learn = learn
        self.initial = initial
        self.init = init
        self.weight_prior = float(weight_prior)
        self.block_rows = int(block_rows)
        self.dtype = dtype
        self.impossible_hint = impossible_hint

    # -- initialisation -----------------------------------------------------------
    def init_params(self, chunks: Sequence[MixtureChunk], rng) -> MixtureParams:
        """Data-driven start (``init``), then the user's ``initial`` values on top."""
        if self._start_is_given():
            # The user gave every parameter: the data-driven start (k-means: seconds on
            # a million rows) would be overwritten entirely, so it is not computed. Its
            # random draws matter to nothing either: every restart starts here too.
            return self.with_initial(MixtureParams(None, self.initial.components))
        X = concat_rows(chunks)
        weights = concat_row_weights(chunks)
        if has_missing(X):
            # missing values (a Gaussian family): the start fills them with the column
            # means; the first E-step replaces them by their conditional expectations
            X = filled_with_column_means(X, weights)
        resp = initial_responsibilities(X, self.n_components, self.init, rng, weights)
        labels = concat_labels(chunks)
        if labels is not None:
            resp = labelled_start(resp, labels, X, weights)
        if weights is not None:
            resp = resp * weights[:, None]
        if set(self.family.param_names) <= set(_given_fields(self.family, self.initial)):
            # Every component parameter is the user's: estimating them from the data-driven
            # start first would be wasted, and could fail (a covariance collapsing onto one
            # seed point) although the user's values are fine. Only the weights may remain.
            weights = self._weights(resp.sum(axis=0)) if "weights" in self.learn else None
            return self.with_initial(MixtureParams(weights, self.initial.components))
        stats = MixtureStats(resp.sum(axis=0), self.family.statistics(X, resp, None))
        # fixed parameters come from `initial`; only learned ones are estimated
        return self.with_initial(self.m_step(stats))

    def _start_is_given(self) -> bool:
        """Whether ``initial`` gives the weights and every component parameter."""
        given = _given_fields(self.family, self.initial)
        return {"weights", *self.family.param_names} <= set(given)

    def with_initial(self, params: MixtureParams) -> MixtureParams:
        """``params`` with the user's ``initial`` values substituted."""
        if self.initial is None:
            return params
        weights = params.weights if self.initial.weights is None else self.initial.weights
        given = self.family.given_fields(self.initial.components)
        components = (
            self.family.replace_fields(params.components, given) if given else params.components
        )
        return MixtureParams(np.asarray(weights, dtype=float), components)

    # -- E-step -------------------------------------------------------------------
    def log_joint(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """log π_k + log p(x_i | θ_k), shape (n, K)."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        return self.family.log_prob(params.components, X) + log_weights

    def posterior(self, params: MixtureParams, X: np.ndarray, labels=None):
        """(log p(x_i) of shape (n,), responsibilities of shape (n, K)).

        Under ``assignment="hard"`` these are the classification log-likelihood
        max_k log π_k p(x_i | θ_k) and one-hot responsibilities. Rows with a known
        label (``labels`` (n,), -1 where unknown) get one-hot responsibilities at it and
        log π_y p(x_i | θ_y) as their term (see :mod:`emkit.models._labels`).
        """
        log_joint = clamp_to_labels(self.log_joint(params, X), labels)
        if self.assignment == "soft":
            return log_normalize(log_joint)
        labels = np.argmax(log_joint, axis=1)
        rows = np.arange(log_joint.shape[0])
        resp = np.zeros_like(log_joint)
        resp[rows, labels] = 1.0
        return log_joint[rows, labels], resp

    def log_density(self, params: MixtureParams, X: np.ndarray) -> np.ndarray:
        """log p(x_i) = log sum_k π_k p(x_i | θ_k), shape (n,), whatever the assignment."""
        return log_normalize(self.log_joint(params, X))[0]

    def e_step(self, params: MixtureParams, chunk: MixtureChunk):
        """(MixtureStats of ``chunk`` under ``params``, its summed log-likelihood), block
        by block of ``block_rows`` rows; the classification log-likelihood under
        ``assignment="hard"``.

        Raises ImpossibleRowError naming the first row (of positive weight) that has
        probability zero under every component: its responsibilities would be NaN.
        """
        X, weight = chunk.X, chunk.sample_weight
        stats, loglik = None, 0.0
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        for start in range(0, max(X.shape[0], 1), self.block_rows):
            block = np.asarray(X[start : start + self.block_rows], dtype=self.dtype)
            if block.dtype not in (np.float32, np.float64):
                block = block.astype(np.float64)
            labels = None if chunk.labels is None else chunk.labels[start : start + self.block_rows]
            w = None if weight is None else weight[start : start + self.block_rows]
            fused = self._fused_e_step(params, log_weights, block, labels, w)
            if fused is not None:
                log_norm, part = fused
                loglik += float(log_norm.sum() if w is None else w @ log_norm)
                stats = part if stats is None else stats + part
                continue
            # work that the family's log_prob and statistics share, done once per block
            block = self.family.prepare(params.components, block)
            log_norm, resp = self.posterior(params, block, labels)
            check_possible_rows(
                log_norm,
                first_row=chunk.first_row + start,
                row_weights=w,
                hint=self.impossible_hint
                if labels is None
                else self.impossible_hint + " (a labelled row: under the component of its label)",
            )
            if w is not None:
                # a zero-weight sample counts for nothing, even where its density is 0
                # (where its responsibilities are 0/0)
                resp[np.isneginf(log_norm)] = 0.0
                resp *= w[:, None]
                loglik += float(w @ np.where(w > 0, log_norm, 0.0))
            else:
                loglik += float(log_norm.sum())
            part = MixtureStats(
                resp.sum(axis=0), self.family.statistics(block, resp, params.components)
            )
            stats = part if stats is None else stats + part
        return stats, loglik

    def _fused_e_step(self, params: MixtureParams, log_weights, block, labels, row_weights):
        """(log p(x_i) (n,), MixtureStats) of a block from the family's fused E-step, or
        None when it has none for this block, or when labels or hard assignments
        change the responsibilities (the step-by-step path does those)."""
        if self.assignment != "soft" or labels is not None:
            return None
        fused = self.family.mixture_e_step(params.components, block, log_weights, row_weights)
        if fused is None:
            return None
        log_norm, components = fused
        return log_norm, MixtureStats(components.sum_w, components)

    # -- M-step -------------------------------------------------------------------
    def m_step(self, stats: MixtureStats) -> MixtureParams:
        """Weights from the expected counts (Dirichlet MAP under ``weight_prior``) and the
        family's M-step; parameters not learned are ``initial``'s."""
        fixed, learn = self.initial, self.learn
        counts = stats.sum_w
        # relative to the total only: sample weights of 1e-300 leave no component empty
        empty = np.flatnonzero(counts < 1e-8 * counts.sum())
        for k in empty:
            warnings.warn(
                f"mixture component {k} received no posterior mass: its weight is ~0 and its "
                "parameters are no longer informed by the data. Lower n_components or choose "
                "other initial values.",
                EmptyComponentWarning,
                stacklevel=3,
            )
        if "weights" in learn:
            weights = self._weights(counts)
        else:
            weights = fixed.weights
        components = self.family.m_step(
            stats.components,
            learn=learn & frozenset(self.family.param_names),
            fixed=None if fixed is None else fixed.components,
        )
        return MixtureParams(weights, components)

    def _weights(self, counts: np.ndarray) -> np.ndarray:
        """Mixing weights from expected counts (K,): MLE, or Dirichlet MAP."""
        # scikit-learn's floor on expected counts keeps empty components valid; counts
        # of total weight below one are rescaled first, or the floor would swamp them
        pseudo = counts + self.weight_prior
        pseudo = pseudo / floor_scale(pseudo.sum()) + COUNT_FLOOR
        return pseudo / pseudo.sum()

    # -- objective pieces ---------------------------------------------------------
    def m_step_slack(self, params: MixtureParams, stats: MixtureStats) -> float:
        """How far Q (+ log prior) at ``params = m_step(stats)`` may lie below its exact
        maximum because of the family's deliberate regularisation (e.g. ``reg_covar``);
        0 when the family's M-step is exact (see :class:`emkit.core.EMModel`)."""
        learn = self.learn & frozenset(self.family.param_names)
        return self.family.m_step_slack(params.components, stats.components, learn)

    def log_prior(self, params: MixtureParams) -> float:
        """The family's log prior plus the Dirichlet prior's on the weights."""
        value = self.family.log_prior(params.components)
        if self.weight_prior > 0 and "weights" in self.learn:
            value += self.weight_prior * float(np.sum(np.log(params.weights)))
        return value

    def expected_log_joint(self, params: MixtureParams, stats: MixtureStats) -> float:
        """Q(θ) = sum_ik r_ik (log π_k + log p(x_i | θ_k)), from the statistics."""
        with np.errstate(divide="ignore", invalid="ignore"):
            weight_term = np.where(stats.sum_w > 0, stats.sum_w * np.log(params.weights), 0.0)
        return float(weight_term.sum()) + self.family.expected_log_prob(
            params.components, stats.components
        )

    # -- unconstrained parametrisation (for acceleration) --------------------------
    def pack(self, params: MixtureParams) -> np.ndarray:
        """Square roots of the weights (see :func:`emkit.families._counts.sqrt_pack`)
        followed by the family's unconstrained parameters, 1-D."""
        return np.concatenate([sqrt_pack(params.weights), self.family.pack(params.components)])

    def unpack(self, vector: np.ndarray, like: MixtureParams) -> MixtureParams:
        """Inverse of :meth:`pack`; parameters that are not learned keep their exact values."""
        K = self.n_components
        weights = sqrt_unpack(vector[:K], (K,))
        components = self.family.unpack(vector[K:], like.components)
        if "weights" not in self.learn:
            weights = like.weights
        fixed = {
            name: getattr(like.components, name)
            for name in self.family.param_names
            if name not in self.learn
        }
        if fixed:
            components = self.family.replace_fields(components, fixed)
        return MixtureParams(weights, components)

    def n_free_parameters(self, n_features: int) -> int:
        return self.n_components - 1 + self.family.n_free_parameters(self.n_components, n_features)

    def sample(self, params: MixtureParams, n_samples: int, rng):
        """(X of shape (n_samples, D), component labels of shape (n_samples,))."""
        counts = rng.multinomial(n_samples, params.weights)
        X = self.family.sample(params.components, counts, rng)
        labels = np.repeat(np.arange(self.n_components), counts)
        return X, labels


_NEGLIGIBLE_LOG_RATIO = -700.0
_NEGLIGIBLE_RATIO = float(np.exp(_NEGLIGIBLE_LOG_RATIO))


def log_normalize(log_joint: np.ndarray):
    """Row-wise log-sum-exp of (n, K) and the normalised probabilities, in one pass.

    Returns (log_norm of shape (n,), probabilities of shape (n, K)). Specialised
    for this shape because scipy's general logsumexp took a third of the time of
    an EM iteration on small data.
    """
    top = log_joint.max(axis=1)
    top[~np.isfinite(top)] = 0.0  # a row that is -inf everywhere stays -inf, not NaN
    shifted = log_joint - top[:, None]
    # Terms below e^-700 (1e-304) are set to 0: NumPy's vectorised exp leaves its fast
    # path for every vector with a subnormal result (about -708 to -745), which made
    # this function three times slower on well-separated components; such a term
    # changes no probability and no log-likelihood by more than 1e-304.
    np.maximum(shifted, _NEGLIGIBLE_LOG_RATIO, out=shifted)
    probabilities = np.exp(shifted, out=shifted)
    probabilities[shifted <= _NEGLIGIBLE_RATIO] = 0.0
    total = probabilities.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        probabilities /= total[:, None]
        return top + np.log(total), probabilities


def _given_fields(family: Family, initial: MixtureParams | None) -> dict:
    """The values that a partial ``initial`` gives, keyed by name ("weights" and the
    family's parameter names)."""
    if initial is None:
        return {}
    given = family.given_fields(initial.components)
    if initial.weights is not None:
        given["weights"] = initial.weights
    return given
