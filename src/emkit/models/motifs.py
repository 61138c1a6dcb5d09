r"""The motif models of MEME (Bailey & Elkan 1994, 1995) as EM models of the engine.

A motif of width W over an alphabet of A letters is a position weight matrix θ
(W, A), rows summing to 1; the rest of every sequence is a fixed Markov background.
The three models differ in how many sites a sequence has (see
:mod:`emkit._kernels.motifs` for the likelihoods):

* ``"oops"``: exactly one site per sequence;
* ``"zoops"``: zero or one, one with probability γ (``site_prior``);
* ``"tcm"``: any number, every window of W letters a site with probability λ.

Sites are on either strand when a complement is given (DNA). The data are chunks
of whole sequences (:class:`SequenceChunk`); the statistics (:class:`MotifStats`) are
the expected letter counts per motif column (W, A), the expected number of sites and
the number of trials γ or λ is a frequency of: fixed-size and additive over chunks,
so chunked, threaded and Dask fits come from the engine.

**M-step (MAP).** With a Dirichlet prior of concentration 1 + β_a on every column
(β ≥ 0 pseudo-counts, MEME's ``-b``),

.. math::

    θ_{ca} = \frac{N_{ca} + β_a}{\sum_{a'} N_{ca'} + β_{a'}}, \qquad
    γ \text{ or } λ = \frac{\text{expected sites}}{\text{trials}},

and :meth:`MotifModel.log_prior` is :math:`\sum_{c,a} β_a \log θ_{ca}` (the
density without its constant), so the engine's check that log-likelihood plus
log-prior never decreases holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emkit._kernels.motifs import OOPS, TCM, ZOOPS, motif_e_step, site_posteriors
from emkit.containers import Statistics

__all__ = [
    "MODEL_CODES",
    "ImpossibleSequenceError",
    "MotifModel",
    "MotifParams",
    "MotifStats",
    "SequenceChunk",
]

#: the names of the site models and their kernel codes
MODEL_CODES = {"oops": OOPS, "zoops": ZOOPS, "tcm": TCM}

#: probability of a substring's letter in the PWM that MEME's starting point makes of it
START_MATCH = 0.5

#: floor of θ and of γ, 1 − γ in :meth:`MotifModel.pack` (log 0 would make SQUAREM's
#: extrapolation NaN)
_PACK_FLOOR = 1e-300


class ImpossibleSequenceError(ValueError):
    """Under OOPS, a sequence has no window that the motif can explain."""


@dataclass(frozen=True)
class SequenceChunk:
    """Whole sequences, flat, with what the E-step needs of them.

    codes : int64 (n_letters,), letters 0..A-1, -1 unknown
    offsets : int64 (n_sequences + 1,), sequence i is codes[offsets[i]:offsets[i+1]]
    log_background : float64 (n_letters,), log P_bg of every position (0 at unknown)
    start_weight : float64 (n_letters,), the prior weight v of a site starting there
    first_sequence : index of the chunk's first sequence in the whole set (messages)
    """

    codes: np.ndarray
    offsets: np.ndarray
    log_background: np.ndarray
    start_weight: np.ndarray
    first_sequence: int = 0

    @property
    def n_sequences(self) -> int:
        return len(self.offsets) - 1

    def split(self, size: int) -> list[SequenceChunk]:
        """Chunks of at most ``size`` sequences each, in order."""
        chunks = []
        for first in range(0, self.n_sequences, size):
            last = min(first + size, self.n_sequences)
            lo, hi = self.offsets[first], self.offsets[last]
            chunks.append(
                SequenceChunk(
                    self.codes[lo:hi],
                    self.offsets[first : last + 1] - lo,
                    self.log_background[lo:hi],
                    self.start_weight[lo:hi],
                    self.first_sequence + first,
                )
            )
        return chunks


@dataclass(frozen=True)
class MotifParams:
    """pwm : (W, A) θ, rows summing to 1; site_prior : γ (ZOOPS), λ (TCM), 1.0 (OOPS)."""

    pwm: np.ndarray
    site_prior: float = 1.0


@dataclass(frozen=True, eq=False)
class MotifStats(Statistics):
    """counts : (W, A) expected letters per column; n_sites : expected sites;
    n_trials : sequences (ZOOPS) or weighted windows (TCM) that γ, λ are a rate of."""

    counts: np.ndarray
    n_sites: float
    n_trials: float


class MotifModel:
    """EM model of one motif (see the module for the math).

    Parameters
    ----------
    width : int
        W.
    n_letters : int
        A, the alphabet's size.
    model : {"oops", "zoops", "tcm"}
    complement : int array of shape (n_letters,), optional
        The complement of every letter: sites on both strands. None: forward only.
    pseudocounts : float or array-like of shape (n_letters,)
        β ≥ 0 added to every column's expected counts (a number is spread over the
        letters uniformly).
    learn : iterable of str
        "pwm" and/or "site_prior" (the others stay at ``initial``'s).
    initial : MotifParams, optional
        Starting parameters; None starts from a random substring (MEME's start).
    """

    def __init__(
        self,
        width: int,
        n_letters: int,
        *,
        model: str = "oops",
        complement=None,
        pseudocounts=0.0,
        learn: Sequence[str] = ("pwm", "site_prior"),
        initial: MotifParams | None = None,
    ):
        if model not in MODEL_CODES:
            raise ValueError(f"model must be one of {sorted(MODEL_CODES)}, got {model!r}")
        self.width = int(width)
        self.n_letters = int(n_letters)
        if self.width < 1:
            raise ValueError(f"width must be >= 1, got {width!r}")
        self.model = model
        self.code = MODEL_CODES[model]
        if complement is None:
            self.complement = np.arange(self.n_letters, dtype=np.int64)
            self.n_strands = 1
        else:
            self.complement = np.asarray(complement, dtype=np.int64)
            if self.complement.shape != (self.n_letters,):
                raise ValueError(f"complement must have shape ({self.n_letters},)")
            self.n_strands = 2
        beta = np.asarray(pseudocounts, dtype=np.float64)
        if beta.ndim == 0:
            beta = np.full(self.n_letters, float(beta) / self.n_letters)
        if beta.shape != (self.n_letters,) or not np.all(np.isfinite(beta)) or np.any(beta < 0):
            raise ValueError(
                "pseudocounts must be a number >= 0 or an array of one entry >= 0 per letter, "
                f"shape ({self.n_letters},)"
            )
        self.pseudocounts = beta
        learn = frozenset(learn)
        unknown = sorted(learn - {"pwm", "site_prior"})
        if unknown:
            raise ValueError(f"learn has unknown names {unknown}; choose from pwm, site_prior")
        self.learn = learn
        self.initial = initial

    # -- initialisation -------------------------------------------------------------
    def default_site_prior(self, chunks: Sequence[SequenceChunk]) -> float:
        """OOPS 1; ZOOPS γ = 0.5; TCM λ = one site per sequence over its windows."""
        if self.code == OOPS:
            return 1.0
        if self.code == ZOOPS:
            return 0.5
        n_seq = sum(c.n_sequences for c in chunks)
        n_windows = sum(
            int(np.maximum(np.diff(c.offsets) - self.width + 1, 0).sum()) for c in chunks
        )
        return min(0.5, n_seq / max(n_windows, 1))

    def substring_params(self, letters: np.ndarray, site_prior: float) -> MotifParams:
        """MEME's starting point from a substring of W known letters: its letter gets
        probability START_MATCH in every column, the others share the rest evenly."""
        A = self.n_letters
        pwm = np.full((self.width, A), (1.0 - START_MATCH) / (A - 1))
        pwm[np.arange(self.width), letters] = START_MATCH
        return MotifParams(pwm, float(site_prior))

    def init_params(self, chunks: Sequence[SequenceChunk], rng) -> MotifParams:
        """``initial``, else the starting point of a random substring of known letters."""
        if self.initial is not None:
            pwm = np.array(self.initial.pwm, dtype=np.float64)
            return MotifParams(pwm, float(self.initial.site_prior))
        site_prior = self.default_site_prior(chunks)
        W = self.width
        for _ in range(1000):
            chunk = chunks[rng.randint(len(chunks))]
            i = rng.randint(chunk.n_sequences)
            lo, hi = chunk.offsets[i], chunk.offsets[i + 1]
            if hi - lo < W:
                continue
            j = lo + rng.randint(hi - lo - W + 1)
            letters = chunk.codes[j : j + W]
            if np.all(letters >= 0):
                return self.substring_params(letters, site_prior)
        pwm = rng.dirichlet(np.ones(self.n_letters), size=W)
        return MotifParams(pwm, site_prior)

    # -- E-step -----------------------------------------------------------------------
    def _kernel_args(self, params: MotifParams, chunk: SequenceChunk):
        with np.errstate(divide="ignore"):
            log_pwm = np.log(params.pwm)
        return (
            chunk.codes,
            chunk.offsets,
            log_pwm,
            chunk.log_background,
            chunk.start_weight,
            self.complement,
            self.n_strands,
            self.code,
            params.site_prior,
        )

    def e_step(self, params: MotifParams, chunk: SequenceChunk) -> tuple[MotifStats, float]:
        """Expected counts, sites and trials of the chunk, and its log-likelihood.

        Raises ImpossibleSequenceError under OOPS for a sequence none of whose windows
        the motif gives a positive probability.
        """
        counts, n_sites, n_trials, log_likelihood = motif_e_step(*self._kernel_args(params, chunk))
        if self.code == OOPS and not np.isfinite(log_likelihood):
            self._raise_impossible(params, chunk)
        return MotifStats(counts, float(n_sites), float(n_trials)), float(log_likelihood)

    def _raise_impossible(self, params, chunk):
        _, lo = site_posteriors(*self._kernel_args(params, chunk))
        for i in range(chunk.n_sequences):
            a, b = chunk.offsets[i], chunk.offsets[i + 1]
            if b - a < self.width or not np.any(np.isfinite(lo[a:b])):
                raise ImpossibleSequenceError(
                    f"sequence {chunk.first_sequence + i} has no window of {self.width} "
                    "letters that the motif can explain (too short, unknown letters such as "
                    "N in every window, or letters of probability 0 in the PWM); OOPS needs "
                    "a site in every sequence: remove it, use model='zoops', or set "
                    "pseudocounts > 0"
                )
        raise FloatingPointError("the OOPS log-likelihood is not finite")

    def posteriors(self, params: MotifParams, chunk: SequenceChunk):
        """``(posterior, log_odds)`` of a site at every start and strand of the chunk,
        both of shape (n_letters, 2) (see :func:`emkit._kernels.motifs.site_posteriors`)."""
        return site_posteriors(*self._kernel_args(params, chunk))

    # -- M-step -----------------------------------------------------------------------
    def m_step(self, stats: MotifStats) -> MotifParams:
        """θ ∝ counts + β per column (uniform for a column with neither); γ or λ the
        expected sites per trial (OOPS: 1)."""
        if "pwm" in self.learn:
            counts = stats.counts + self.pseudocounts[None, :]
            totals = counts.sum(axis=1, keepdims=True)
            empty = ~(totals[:, 0] > 0)
            counts[empty] = 1.0
            totals[empty] = self.n_letters
            pwm = counts / totals
        else:
            pwm = np.asarray(self.initial.pwm, dtype=np.float64)
        if self.code == OOPS:
            prior = 1.0
        elif "site_prior" in self.learn and stats.n_trials > 0:
            prior = float(min(max(stats.n_sites / stats.n_trials, 0.0), 1.0))
        else:
            prior = float(self.initial.site_prior) if self.initial is not None else 0.5
        return MotifParams(pwm, prior)

    def log_prior(self, params: MotifParams) -> float:
        """Σ_ca β_a log θ_ca (0 without pseudo-counts or when the PWM is fixed)."""
        beta = self.pseudocounts
        if "pwm" not in self.learn or not np.any(beta > 0):
            return 0.0
        with np.errstate(divide="ignore"):
            terms = np.where(beta[None, :] > 0, beta[None, :] * np.log(params.pwm), 0.0)
        return float(terms.sum())

    # -- unconstrained parametrisation (SQUAREM) -----------------------------------------
    def pack(self, params: MotifParams) -> np.ndarray:
        """log θ (W·A,) and logit γ (1,)."""
        p = min(max(params.site_prior, _PACK_FLOOR), 1.0 - 1e-16)
        logit = np.log(p) - np.log1p(-p)
        return np.concatenate([np.log(np.maximum(params.pwm, _PACK_FLOOR)).ravel(), [logit]])

    def unpack(self, vector: np.ndarray, like: MotifParams) -> MotifParams:
        """Inverse of :meth:`pack` (row softmax and logistic)."""
        vector = np.asarray(vector, dtype=np.float64)
        if not np.all(np.isfinite(vector)):
            raise ValueError("the extrapolated motif parameters are not finite")
        logs = vector[:-1].reshape(self.width, self.n_letters)
        weights = np.exp(logs - logs.max(axis=1, keepdims=True))
        pwm = weights / weights.sum(axis=1, keepdims=True)
        prior = 1.0 if self.code == OOPS else float(1.0 / (1.0 + np.exp(-vector[-1])))
        if "pwm" not in self.learn:
            pwm = like.pwm
        if "site_prior" not in self.learn:
            prior = like.site_prior
        return MotifParams(pwm, prior)
