r"""Transcript abundance from equivalence classes as an EM model of the engine.

Reads are summarised by equivalence classes: class ``c`` holds the :math:`n_c` reads
compatible with exactly its transcripts, and the conditional probability of such a
read given transcript ``t`` is :math:`w_{ct}` (:math:`1/\tilde\ell_t`, one over the
effective length, for kallisto; salmon's conditional weights when it dumps them). With
abundances :math:`\alpha_t \ge 0` (expected read counts, :math:`\theta = \alpha / \sum
\alpha` the fractions of reads), the log-likelihood of Bray et al. (2016) is

.. math::

    \log L(\alpha) = \sum_c n_c \log \sum_{t \in c} \frac{\alpha_t}{\sum_{t'}
    \alpha_{t'}} w_{ct},

and EM's update is :math:`\alpha_t \leftarrow N_t = \sum_{c \ni t} n_c \alpha_t w_{ct}
/ \sum_{t' \in c} \alpha_{t'} w_{ct'}`: the statistics are the expected reads per
transcript, shape (n_transcripts,), additive over chunks of classes; the M-step is
the identity on them. (α's scale does not enter the likelihood; after one step it
sums to the reads of the classes.)

**Variational Bayes** (salmon's default, ``vb_prior`` given): a Dirichlet prior
:math:`\theta \sim \mathrm{Dir}(\beta)` (salmon: :math:`\beta_t = 10^{-2}\,\tilde\ell_t`,
per nucleotide) and the factorised posterior :math:`q(\theta) = \mathrm{Dir}(\alpha +
\beta)`, :math:`q(z)`. With the reads' factors at their optimum for :math:`q(\theta)`,
the evidence lower bound is

.. math::

    \mathrm{ELBO}(\alpha) = \sum_c n_c \log \sum_{t \in c} e^{\psi(\alpha_t + \beta_t)
    - \psi(\sum_{t'} \alpha_{t'} + \beta_{t'})} w_{ct}
    - \mathrm{KL}\big(\mathrm{Dir}(\alpha + \beta) \,\|\, \mathrm{Dir}(\beta)\big),

the E-step is the kernel with :math:`v_t = e^{E_q[\log \theta_t]}` and the M-step sets
α to the expected counts (:math:`q(\theta) = \mathrm{Dir}(\beta + N)`): coordinate
ascent, so the bound never decreases. :meth:`e_step` returns the first sum (per
chunk) and :meth:`log_prior` the −KL term (global), so the engine monitors the bound.

For SQUAREM, abundances are packed as their square roots, unpacked as the squares:
non-negative whatever the extrapolation, exact zeros kept, and (on a simulated set of
20,000 transcripts and 300,000 classes, tol 1e-12) 29 of 144 extrapolations refused by
the engine's guard against 79 of 165 with log-abundances, 432 E-steps to convergence
against 495. Logs send the transcripts that EM drives towards 0 (a geometric decay, a
straight line in log space) far below their neighbours, which the likelihood refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from numbers import Real

import numpy as np
from scipy.special import digamma, gammaln

from emkit._kernels.transcripts import class_e_step
from emkit.containers import Statistics

__all__ = [
    "ClassChunk",
    "ImpossibleClassError",
    "TranscriptAbundance",
    "TranscriptParams",
    "TranscriptStats",
]


def _band(chunk: ClassChunk, n_transcripts: int) -> tuple[int, int]:
    return (0, n_transcripts) if chunk.band is None else chunk.band


def _class_e_step(chunk: ClassChunk, v: np.ndarray, low: int):
    """The kernel on ``chunk`` for ``v``, the values of transcripts ``low, low + 1, ...``
    (the chunk's band); per-transcript weights folded into v."""
    if chunk.weights is None and chunk.transcript_weights is not None:
        v = v * chunk.transcript_weights[low : low + v.shape[0]]
    return class_e_step(chunk.indptr, chunk.indices, chunk.weights, chunk.counts, v, offset=low)


class ImpossibleClassError(ValueError):
    """A class with reads has abundance 0 in every one of its transcripts."""


@dataclass(frozen=True)
class ClassChunk:
    """A block of consecutive equivalence classes, as flat CSR arrays.

    indptr : ndarray of shape (n_classes + 1,), int64
        Entries of class ``c`` of the chunk: ``indptr[c]:indptr[c + 1]`` of
        ``indices`` and ``weights`` (the whole data set's arrays; a chunk shares them
        and ``indptr[0]`` is its first entry).
    indices : ndarray of shape (n_entries,), int32 or int64
    weights : ndarray of shape (n_entries,), float64, or None
        w_ct of every entry (salmon's weights); None when the weights are per
        transcript (``transcript_weights``).
    counts : ndarray of shape (n_classes,), float64
    first_class : int
        Position of the chunk's first class in the sequence of classes that the chunks
        cut (for messages when ``class_ids`` is None).
    transcript_weights : ndarray of shape (n_transcripts,), float64, or None
        With ``weights`` None: w_t, the weight of every entry of transcript t
        (kallisto's 1/ℓ̃_t); None too: every entry weighs 1. The E-step then folds
        them into the abundances once (v_t w_t, n_transcripts products) and the kernel
        reads only the indices of the entries.
    class_ids : ndarray of shape (n_classes,), int64, or None
        The data set's number of every class of the chunk (for messages; the chunks of
        :meth:`emkit.bio.EquivalenceClasses.chunks` hold the classes reordered), None:
        ``first_class`` + position.
    band : (int, int) or None
        ``(low, high)``: every entry's transcript lies in ``[low, high)`` (classes
        ordered by transcript cover a narrow band); the E-step then computes v and the
        expected counts of those transcripts only. None: ``(0, n_transcripts)``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None
    counts: np.ndarray
    first_class: int = 0
    transcript_weights: np.ndarray | None = None
    class_ids: np.ndarray | None = None
    band: tuple[int, int] | None = None

    def __post_init__(self):
        # summed once: every E-step of the chunk needs it
        object.__setattr__(self, "_n_reads", float(np.sum(self.counts)))

    def __len__(self) -> int:
        return self.counts.shape[0]

    @property
    def n_reads(self) -> float:
        return self._n_reads

    def class_id(self, c: int) -> int:
        """The data set's number of the chunk's class ``c``."""
        if self.class_ids is None:
            return self.first_class + c
        return int(self.class_ids[c])


@dataclass(frozen=True)
class TranscriptParams:
    """abundance : (n_transcripts,) α, expected reads per transcript (≥ 0)."""

    abundance: np.ndarray


#: a sum of statistics keeps at most this many bands before it adds them up
_MAX_BANDS = 64


@dataclass(frozen=True, eq=False)
class TranscriptStats(Statistics):
    """N_t, the expected reads of every transcript, held as a sum of bands.

    bands : tuple of (int, ndarray)
        ``(low, counts)``: expected reads of transcripts ``low, low + 1, ...`` (a chunk
        of classes ordered by transcript touches one narrow band).
    n_transcripts : int

    ``expected_counts`` (n_transcripts,) is their sum. ``a + b`` joins the bands
    (none is added until ``expected_counts`` is read, in the order they were joined,
    so the numbers are those of adding full-size vectors chunk by chunk): on 200,000
    transcripts in 16 chunks, the full-size vectors' allocation and additions took
    about 15% of an E-step. More than ``_MAX_BANDS`` bands (an online fit's running
    sum), and products, are added up into one band.
    """

    bands: tuple
    n_transcripts: int

    @classmethod
    def dense(cls, expected_counts) -> TranscriptStats:
        """The statistics of a full vector of expected reads (n_transcripts,)."""
        counts = np.asarray(expected_counts, dtype=np.float64)
        return cls(((0, counts),), counts.shape[0])

    @cached_property
    def expected_counts(self) -> np.ndarray:
        """(n_transcripts,) the sum of the bands (computed once)."""
        if len(self.bands) == 1:
            low, counts = self.bands[0]
            if low == 0 and counts.shape[0] == self.n_transcripts:
                return counts
        total = np.zeros(self.n_transcripts)
        for low, counts in self.bands:
            total[low : low + counts.shape[0]] += counts
        return total

    def __add__(self, other):
        if isinstance(other, Real) and other == 0:  # sum() starts from 0
            return self
        if type(other) is not type(self) or other.n_transcripts != self.n_transcripts:
            return NotImplemented
        joined = TranscriptStats(self.bands + other.bands, self.n_transcripts)
        if len(joined.bands) > _MAX_BANDS:
            return TranscriptStats.dense(joined.expected_counts)
        return joined

    __radd__ = __add__

    def __mul__(self, factor):
        if isinstance(factor, np.ndarray) and factor.ndim == 0:
            factor = factor.item()
        if not isinstance(factor, Real):
            return NotImplemented
        return TranscriptStats.dense(self.expected_counts * factor)

    __rmul__ = __mul__

    def __eq__(self, other) -> bool:
        return (
            type(other) is type(self)
            and other.n_transcripts == self.n_transcripts
            and np.array_equal(self.expected_counts, other.expected_counts)
        )

    __hash__ = None  # type: ignore[assignment]


class TranscriptAbundance:
    """EM (or VBEM) model of transcript abundances over equivalence classes.

    Parameters
    ----------
    n_transcripts : int
    vb_prior : array-like of shape (n_transcripts,), optional
        β > 0, the Dirichlet prior of the fractions θ; None (default) for maximum
        likelihood EM.
    initial : TranscriptParams, optional
        Start; None starts from the uniform abundance (total reads / n_transcripts).
    """

    def __init__(
        self,
        n_transcripts: int,
        *,
        vb_prior=None,
        initial: TranscriptParams | None = None,
    ):
        self.n_transcripts = int(n_transcripts)
        if vb_prior is not None:
            vb_prior = np.asarray(vb_prior, dtype=np.float64)
            if vb_prior.ndim == 0:
                vb_prior = np.full(self.n_transcripts, float(vb_prior))
            if vb_prior.shape != (self.n_transcripts,):
                raise ValueError(
                    f"vb_prior must have one entry per transcript, shape "
                    f"({self.n_transcripts},); got {vb_prior.shape}"
                )
            if not np.all(np.isfinite(vb_prior) & (vb_prior > 0)):
                raise ValueError(
                    "vb_prior must be positive and finite in every entry (the Dirichlet "
                    "concentrations of the variational prior)"
                )
        self.vb_prior = vb_prior
        self.initial = initial

    @property
    def variational(self) -> bool:
        return self.vb_prior is not None

    # -- start ----------------------------------------------------------------------
    def init_params(self, chunks: Sequence[ClassChunk], rng=None) -> TranscriptParams:
        """``initial``, or the uniform abundance: total reads / n_transcripts each."""
        if self.initial is not None:
            return TranscriptParams(np.array(self.initial.abundance, dtype=np.float64))
        total = sum(chunk.n_reads for chunk in chunks)
        level = total / self.n_transcripts if total > 0 else 1.0 / self.n_transcripts
        return TranscriptParams(np.full(self.n_transcripts, level))

    # -- E-step ---------------------------------------------------------------------
    def _v(self, params: TranscriptParams, low: int, high: int) -> np.ndarray:
        """The kernel's v of transcripts ``low:high``: α itself (EM), or exp(E_q[log θ])
        (VB; the digamma of those transcripts only, the same numbers)."""
        if not self.variational:
            return params.abundance[low:high]
        gamma = params.abundance + self.vb_prior
        return np.exp(digamma(gamma[low:high]) - digamma(gamma.sum()))

    def e_step(self, params: TranscriptParams, chunk: ClassChunk):
        """Expected reads per transcript of the chunk's classes, and the chunk's
        log-likelihood (EM) or its reads' part of the bound (VB).

        Raises ImpossibleClassError for a class with reads whose transcripts all have
        abundance 0 (possible only from a hand-set start).
        """
        low, high = _band(chunk, self.n_transcripts)
        result = _class_e_step(chunk, self._v(params, low, high), low)
        if result.n_impossible:
            c = result.first_impossible
            members = chunk.indices[chunk.indptr[c] : chunk.indptr[c + 1]]
            raise ImpossibleClassError(
                f"equivalence class {chunk.class_id(c)} (transcripts "
                f"{members[:10].tolist()}) has {chunk.counts[c]:g} reads but abundance 0 in "
                f"all its transcripts ({result.n_impossible} such classes): start from "
                "abundances that are positive wherever a class has reads"
            )
        value = result.log_mass
        if not self.variational:
            total = float(params.abundance.sum())
            value -= chunk.n_reads * np.log(total)
        return TranscriptStats(((low, result.expected_counts),), self.n_transcripts), value

    def log_likelihood(self, params: TranscriptParams, chunk: ClassChunk) -> float:
        """Σ_c n_c log Σ_t θ_t w_ct with θ = α / Σα (also for a VB model's α)."""
        low, high = _band(chunk, self.n_transcripts)
        result = _class_e_step(chunk, params.abundance[low:high], low)
        if result.n_impossible:
            return -np.inf
        return result.log_mass - chunk.n_reads * np.log(float(params.abundance.sum()))

    # -- M-step ---------------------------------------------------------------------
    def m_step(self, stats: TranscriptStats) -> TranscriptParams:
        """α = N: EM's update, and VB's q(θ) = Dir(β + N)."""
        return TranscriptParams(np.array(stats.expected_counts, dtype=np.float64))

    def log_prior(self, params: TranscriptParams) -> float:
        """0 for EM; −KL(Dir(α + β) ‖ Dir(β)) for VB (the bound's global term)."""
        if not self.variational:
            return 0.0
        beta = self.vb_prior
        gamma = params.abundance + beta
        total = gamma.sum()
        kl = (
            gammaln(total)
            - gammaln(gamma).sum()
            - gammaln(beta.sum())
            + gammaln(beta).sum()
            + np.dot(params.abundance, digamma(gamma) - digamma(total))
        )
        return -float(kl)

    # -- SQUAREM ----------------------------------------------------------------------
    def pack(self, params: TranscriptParams) -> np.ndarray:
        """√α (see the module docstring for why not log α)."""
        return np.sqrt(params.abundance)

    def unpack(self, vector: np.ndarray, like: TranscriptParams) -> TranscriptParams:
        """The squares of :meth:`pack`'s vector (so never negative); a ValueError when
        it is not finite."""
        vector = np.asarray(vector, dtype=np.float64)
        if not np.all(np.isfinite(vector)):
            raise ValueError("the extrapolated abundances are not finite")
        abundance = vector * vector
        if not np.all(np.isfinite(abundance)):
            raise ValueError("the extrapolated abundances are not finite")
        return TranscriptParams(abundance)
