r"""Motif discovery by EM, as MEME does it (Bailey & Elkan 1994, 1995).

:class:`MotifFinder` finds one or more motifs of a given width, or of the best width
in a range, in a set of DNA or protein sequences:

1. **Background.** A Markov model of order ``background_order`` from the sequences'
   own letters (both strands when ``revcomp``), fixed during EM
   (:mod:`emkit.bio.background`).
2. **Starting points** (MEME's heuristic). Every substring of W known letters that
   earlier motifs have not erased (at most ``max_starts`` of them, drawn at random
   without replacement when there are more, identical substrings once) becomes a
   PWM in which its letter has probability 0.5 in every column (the other letters
   share the rest); one EM step is taken from each, and the log-likelihood (plus
   log-prior) after that step ranks them. (MEME samples its starts too: its ``-searchsize``.)
3. **EM** (the engine, :func:`emkit.core.fit_em`) from the ``n_refine`` best
   starting points, to convergence; the highest objective is kept. Then EM again
   from that PWM shifted by up to ``max_shift`` columns either way (a phase shift:
   EM's sites can settle a column off the motif), kept when its objective is higher. The model is
   :class:`emkit.models.motifs.MotifModel`: OOPS, ZOOPS or TCM, sites on both strands
   for DNA when ``revcomp``, a Dirichlet prior on every PWM column (``pseudocount``,
   MAP), so the log-likelihood plus log-prior never decreases.
4. **Width.** With a range of widths, steps 2-3 run for every width, and the width
   with the highest *penalised* objective wins. MEME ranks widths by the E-value of
   the sites' log-likelihood ratio; here the correction for width is the Bayesian
   information criterion of the PWM's free parameters: W (A − 1) of them, each
   column estimated from the expected number of sites n,

   .. math::

       \text{score}(W) = \log p(x \mid \hat θ_W) + \log p(\hat θ_W)
           - \tfrac12 W (A - 1) \log \max(n, 2).

   A column beyond the motif's true width fits background letters and gains about
   (A − 1)/2 of log-likelihood (half a χ² with A − 1 degrees of freedom), less than
   its penalty once n ≥ 3; a true column gains about n times its information.
5. **More motifs** by MEME's probabilistic erasing: after a motif is found, every
   position p keeps a weight :math:`w_p \leftarrow w_p (1 - P(p \text{ is in a
   site}))`, the probability summed over the sites that cover it (clipped at 1). The
   next motif's site at start j has prior weight :math:`v_j = \min_{p \in
   \text{window}} w_p`: under OOPS and ZOOPS the sequence's site prior becomes π_j ∝
   v_j (uniform when every start is erased); under TCM each window counts with
   weight v_j. So the later motifs are fitted, monotonically, to what the earlier
   ones left.

Sequences: a FASTA path (plain or gzipped), a list of strings, or of ``(name,
string)`` pairs; lower case is read as upper case, N (DNA) and X (protein) and the
ambiguity codes as unknown letters that no site contains (see
:mod:`emkit.bio.sequences`).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from emkit._kernels.motifs import TCM, motif_e_step
from emkit.bio.background import fit_background
from emkit.bio.sequences import (
    Alphabet,
    EncodedSequences,
    encode_sequences,
    get_alphabet,
    read_fasta,
)
from emkit.core import fit_em
from emkit.models.motifs import MODEL_CODES, MotifModel, MotifParams, SequenceChunk

if TYPE_CHECKING:
    from collections.abc import Iterable

    from typing_extensions import Self  # typing.Self from Python 3.11

    from emkit._typing import PathLike, RandomStateLike

    SequenceInput = PathLike | Iterable[str] | Iterable[tuple[str, str]] | EncodedSequences


__all__ = ["SITE_DTYPE", "MotifFinder", "consensus", "load_sequences"]

#: rounds of phase-shift refinement at most (each tries every shift up to max_shift)
MAX_SHIFT_ROUNDS = 3

#: EM iterations from a shifted PWM before it must beat the converged objective
SHIFT_TRIAL_ITER = 10

#: the fields of :attr:`MotifFinder.sites_`
SITE_FIELDS = ("motif", "sequence", "start", "strand", "score", "probability", "site")


def SITE_DTYPE(max_width: int) -> np.dtype:
    """The record type of :attr:`MotifFinder.sites_` for motifs up to ``max_width``."""
    return np.dtype(
        [
            ("motif", np.int64),
            ("sequence", np.int64),
            ("start", np.int64),
            ("strand", np.int8),
            ("score", np.float64),
            ("probability", np.float64),
            ("site", f"U{max(int(max_width), 1)}"),
        ]
    )


def load_sequences(sequences: SequenceInput, alphabet: str | Alphabet = "dna") -> EncodedSequences:
    """A FASTA path (str or os.PathLike; plain or gzipped), a list of strings or of
    ``(name, string)`` pairs, or :class:`EncodedSequences`, coded in ``alphabet``."""
    if isinstance(sequences, EncodedSequences):
        return sequences
    if isinstance(sequences, (str, os.PathLike)):
        if isinstance(sequences, str) and not os.path.exists(sequences):
            raise FileNotFoundError(
                f"no such FASTA file: {sequences!r} (to give one sequence as text, pass a "
                "list of strings)"
            )
        return encode_sequences(read_fasta(sequences), alphabet)
    return encode_sequences(list(sequences), alphabet)


def consensus(pwm: np.ndarray, alphabet: Alphabet) -> str:
    """The most probable letter of every column."""
    return "".join(alphabet.letters[a] for a in np.argmax(pwm, axis=1))


def _widths(width) -> list[int]:
    if isinstance(width, Integral):
        widths = [int(width)]
    elif isinstance(width, range):
        widths = list(width)
    elif (
        isinstance(width, tuple) and len(width) == 2 and all(isinstance(w, Integral) for w in width)
    ):
        widths = list(range(int(width[0]), int(width[1]) + 1))
    else:
        raise ValueError(
            f"width must be an integer, a (min_width, max_width) pair or a range, got {width!r}"
        )
    if not widths or min(widths) < 2:
        raise ValueError(f"motif widths must be at least 2, got {width!r}")
    return widths


class MotifFinder(BaseEstimator):
    r"""Find sequence motifs by EM (MEME's OOPS, ZOOPS and TCM models).

    Parameters
    ----------
    width : int, (int, int) or range
        The motif width W, or the widths to search (a pair is an inclusive range);
        the best one by the width-corrected criterion of the module docstring.
    model : {"oops", "zoops", "tcm"}
        One site per sequence, zero or one, or any number.
    n_motifs : int
        Motifs to find, one after the other, by probabilistic erasing.
    revcomp : bool
        Sites on both strands (DNA only; ignored for protein).
    alphabet : {"dna", "protein"} or Alphabet
    background_order : int
        Order k of the Markov background (0: letter frequencies).
    pseudocount : float
        Total pseudo-count β added to every PWM column, spread over the letters in
        proportion to the background's letter frequencies (the Dirichlet prior of
        the MAP estimate; MEME's ``-b``).
    background_pseudocount : float
        Added to every (k+1)-mer count of the background.
    max_starts : int
        At most this many substrings are tried as starting points per width and
        motif (a random subset, drawn with ``random_state``, when there are more).
    n_refine : int
        EM runs to convergence from the best starting points.
    max_shift : int
        After EM, EM again from the motif shifted by 1..``max_shift`` columns either
        way (new columns at the background's frequencies), keeping the highest
        objective, until no shift improves it: EM's sites can converge aligned a
        column or two off the motif (0 turns it off).
    max_iter, tol : the engine's budget and tolerance (tol per sequence).
    chunk_size : int, optional
        Sequences per chunk of the E-step (None: one chunk per thread).
    n_jobs : int
        Threads (chunks of the E-step, and the scan of starting points).
    random_state : None, int or RandomState

    Attributes
    ----------
    motifs_ : list of ndarray of shape (W_k, A)
        The PWM of every motif (rows sum to 1), in the alphabet's letter order.
    widths_ : list of int
    site_priors_ : list of float
        γ (ZOOPS), λ (TCM) or 1 (OOPS) of every motif.
    consensus_ : list of str
    sites_ : structured ndarray
        Fields ``motif``, ``sequence`` (index), ``start`` (0-based on the forward
        strand), ``strand`` (+1 / −1), ``score`` (the site's log-odds against the
        background, bits), ``probability`` (its posterior) and ``site`` (its letters,
        read on its strand). For every motif and sequence the best site (highest
        posterior) comes first; OOPS and ZOOPS list that one site per sequence
        (ZOOPS: filter on ``probability`` for the sequences that have one), TCM
        also every further non-overlapping window of posterior ≥ 0.5.
    log_likelihoods_ : list of float
        Every motif's final log-likelihood (TCM: its pseudo-likelihood).
    lower_bounds_ : list of ndarray
        The per-sequence objective at every EM iteration of every motif's kept run.
    n_iter_, converged_ : lists, per motif
    width_scores_ : list of dict
        Per motif, the criterion of every width tried.
    background_ : MarkovBackground
    alphabet_ : Alphabet
    sequence_names_ : tuple of str
    """

    def __init__(
        self,
        width: int | tuple[int, int] | range = 15,
        model: str = "oops",
        n_motifs: int = 1,
        revcomp: bool = True,
        alphabet: str | Alphabet = "dna",
        *,
        background_order: int = 0,
        pseudocount: float = 0.1,
        background_pseudocount: float = 1.0,
        max_starts: int = 500,
        n_refine: int = 3,
        max_shift: int = 2,
        max_iter: int = 500,
        tol: float = 1e-7,
        chunk_size: int | None = None,
        n_jobs: int | None = 1,
        random_state: RandomStateLike = None,
    ) -> None:
        self.width = width
        self.model = model
        self.n_motifs = n_motifs
        self.revcomp = revcomp
        self.alphabet = alphabet
        self.background_order = background_order
        self.pseudocount = pseudocount
        self.background_pseudocount = background_pseudocount
        self.max_starts = max_starts
        self.n_refine = n_refine
        self.max_shift = max_shift
        self.max_iter = max_iter
        self.tol = tol
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- validation -----------------------------------------------------------------
    def _check_params(self) -> list[int]:
        if self.model not in MODEL_CODES:
            raise ValueError(f"model must be one of 'oops', 'zoops', 'tcm', got {self.model!r}")
        for name in ("n_motifs", "max_starts", "n_refine", "max_iter"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.max_shift, Integral) or self.max_shift < 0:
            raise ValueError(f"max_shift must be an integer >= 0, got {self.max_shift!r}")
        if not (self.pseudocount >= 0 and np.isfinite(self.pseudocount)):
            raise ValueError(f"pseudocount must be a finite number >= 0, got {self.pseudocount!r}")
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if self.chunk_size is not None and (
            not isinstance(self.chunk_size, Integral) or self.chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be None or an integer >= 1, got {self.chunk_size!r}")
        return _widths(self.width)

    @staticmethod
    def _check_lengths(data: EncodedSequences, widths: list[int], model: str) -> None:
        lengths = data.lengths
        short = np.flatnonzero(lengths < max(widths))
        if short.size:
            i = int(short[0])
            raise ValueError(
                f"sequence {i} ({data.names[i]!r}) has {lengths[i]} letters, fewer than the "
                f"motif width {max(widths)} ({short.size} sequences are that short); remove "
                "them or choose a smaller width"
            )
        if model == "oops":
            W = max(widths)
            for i in range(data.n_sequences):
                seq = data.codes[data.offsets[i] : data.offsets[i + 1]]
                known = np.convolve(seq >= 0, np.ones(W, dtype=np.int64), "valid")
                if not np.any(known == W):
                    raise ValueError(
                        f"sequence {i} ({data.names[i]!r}) has no {W} consecutive known "
                        "letters (unknown letters such as N everywhere): OOPS needs a site "
                        "in every sequence; remove it or use model='zoops'"
                    )

    # -- fitting --------------------------------------------------------------------
    def fit(self, sequences: SequenceInput, y: object = None) -> Self:
        """Find ``n_motifs`` motifs in ``sequences`` (a FASTA path, plain or gzipped,
        a list of strings or of (name, string) pairs)."""
        widths = self._check_params()
        alphabet = get_alphabet(self.alphabet)
        data = load_sequences(sequences, alphabet)
        if data.codes.size == 0:
            raise ValueError("the sequences have no letters")
        self._check_lengths(data, widths, self.model)
        revcomp = bool(self.revcomp) and alphabet.complement is not None
        background = fit_background(
            data, self.background_order, self.background_pseudocount, revcomp
        )
        log_bg = background.log_probabilities(data.codes, data.offsets)
        rng = check_random_state(self.random_state)
        n_jobs = os.cpu_count() if self.n_jobs in (None, -1) else int(self.n_jobs)
        beta = self.pseudocount * background.frequencies
        position_weight = np.ones(len(data.codes))

        self.alphabet_ = alphabet
        self.background_ = background
        self.sequence_names_ = data.names
        results = []
        for motif in range(self.n_motifs):
            scores = {}
            best = None
            for W in widths:
                model = MotifModel(
                    W,
                    alphabet.size,
                    model=self.model,
                    complement=alphabet.complement_codes if revcomp else None,
                    pseudocounts=beta,
                )
                chunks = self._chunks(data, log_bg, _start_weights(position_weight, W), n_jobs)
                fitted = self._fit_width(model, data, chunks, rng, n_jobs, background.frequencies)
                if fitted is None:
                    continue
                result, n_sites = fitted
                penalty = 0.5 * W * (alphabet.size - 1) * np.log(max(n_sites, 2.0))
                score = result.log_likelihood + model.log_prior(result.params) - penalty
                scores[W] = float(score)
                if best is None or score > best[0]:
                    best = (score, W, model, chunks, result)
            if best is None:
                raise ValueError(
                    f"motif {motif}: no substring of known letters is left to start from "
                    "(every window is erased or holds unknown letters); ask for fewer motifs"
                )
            _, W, model, chunks, result = best
            posterior, log_odds = self._posteriors(model, result.params, chunks)
            results.append((W, model, result, posterior, log_odds, scores))
            position_weight = position_weight * (1.0 - _coverage(model, posterior, chunks))
        self._store(data, results)
        return self

    def _chunks(self, data, log_bg, start_weight, n_jobs) -> list[SequenceChunk]:
        whole = SequenceChunk(data.codes, data.offsets, log_bg, start_weight, 0)
        size = self.chunk_size
        if size is None:
            size = -(-data.n_sequences // max(n_jobs, 1))
        return whole.split(int(size))

    def _fit_width(self, model: MotifModel, data, chunks, rng, n_jobs, background_frequencies):
        """The engine's EM from the best ``n_refine`` of MEME's starting points, or
        None when no substring can start a motif. Returns (result, expected sites)."""
        starts = _substrings(data, chunks, model.width, self.max_starts, rng)
        if len(starts) == 0:
            return None
        site_prior = model.default_site_prior(chunks)

        def one_step(letters):
            params = model.substring_params(letters, site_prior)
            stats = sum(model.e_step(params, chunk)[0] for chunk in chunks)
            params = model.m_step(stats)
            loglik = 0.0
            for chunk in chunks:
                loglik += _log_likelihood(model, params, chunk)
            return loglik + model.log_prior(params), params

        if n_jobs > 1 and len(starts) > 1:
            with ThreadPoolExecutor(n_jobs) as pool:
                scanned = list(pool.map(one_step, starts))
        else:
            scanned = [one_step(letters) for letters in starts]
        order = np.argsort([-value for value, _ in scanned], kind="stable")

        def run(start, max_iter=self.max_iter):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="EM did not converge")
                return fit_em(
                    model,
                    chunks,
                    n_samples=data.n_sequences,
                    max_iter=max_iter,
                    tol=self.tol,
                    start_params=start,
                    n_jobs=n_jobs if len(chunks) > 1 else 1,
                )

        best = None
        for index in order[: self.n_refine]:
            result = run(scanned[index][1])
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        # phase shifts: EM can converge to the motif shifted by a column or two (the
        # sites aligned off by one). A few EM iterations from every shifted PWM; one
        # that already beats the converged objective (EM only climbs, so it ends
        # higher still) runs on to convergence and is kept; until no shift improves
        for _ in range(MAX_SHIFT_ROUNDS):
            improved = False
            for shift in [d for k in range(1, self.max_shift + 1) for d in (k, -k)]:
                if shift >= model.width:
                    continue
                pwm = _shifted(best.params.pwm, shift, background_frequencies)
                trial = run(MotifParams(pwm, best.params.site_prior), SHIFT_TRIAL_ITER)
                if trial.lower_bound > best.lower_bound + 1e-9 * abs(best.lower_bound):
                    rest = run(trial.params)
                    best = dataclasses.replace(
                        rest,
                        lower_bounds=np.concatenate([trial.lower_bounds, rest.lower_bounds]),
                        n_iter=trial.n_iter + rest.n_iter,
                        n_e_steps=trial.n_e_steps + rest.n_e_steps,
                        trace=trial.trace + rest.trace,
                    )
                    improved = True
            if not improved:
                break
        stats = sum(model.e_step(best.params, chunk)[0] for chunk in chunks)
        return best, stats.n_sites

    @staticmethod
    def _posteriors(model, params, chunks):
        posts, los = zip(*(model.posteriors(params, chunk) for chunk in chunks), strict=True)
        return np.concatenate(posts), np.concatenate(los)

    # -- results --------------------------------------------------------------------
    def _store(self, data, results) -> None:
        self.motifs_ = [r[2].params.pwm for r in results]
        self.widths_ = [r[0] for r in results]
        self.site_priors_ = [float(r[2].params.site_prior) for r in results]
        self.consensus_ = [consensus(pwm, self.alphabet_) for pwm in self.motifs_]
        self.log_likelihoods_ = [float(r[2].log_likelihood) for r in results]
        self.lower_bounds_ = [np.asarray(r[2].lower_bounds) for r in results]
        self.n_iter_ = [int(r[2].n_iter) for r in results]
        self.converged_ = [bool(r[2].converged) for r in results]
        self.width_scores_ = [r[5] for r in results]
        rows = []
        for k, (W, model, _, posterior, log_odds, _) in enumerate(results):
            rows.extend(_sites(k, W, model.code, data, posterior, log_odds))
        sites = np.array(rows, dtype=SITE_DTYPE(max(self.widths_)))
        self.sites_ = sites


def _log_likelihood(model: MotifModel, params: MotifParams, chunk: SequenceChunk) -> float:
    args = model._kernel_args(params, chunk)
    return float(motif_e_step(*args, want_counts=False)[3])


def _shifted(pwm: np.ndarray, shift: int, frequencies: np.ndarray) -> np.ndarray:
    """The PWM moved ``shift`` columns left (> 0) or right (< 0); the columns it
    leaves empty hold the background's letter frequencies."""
    out = np.repeat(frequencies[None, :], pwm.shape[0], axis=0)
    if shift > 0:
        out[:-shift] = pwm[shift:]
    else:
        out[-shift:] = pwm[:shift]
    return out


def _start_weights(position_weight: np.ndarray, W: int) -> np.ndarray:
    """v_j = min of the position weights over the window of W letters from j (the
    last W − 1 positions of the flat array look past its end: they are no start)."""
    padded = np.concatenate([position_weight, np.ones(W - 1)])
    return np.ascontiguousarray(sliding_window_view(padded, W).min(axis=1))


def _coverage(model: MotifModel, posterior: np.ndarray, chunks) -> np.ndarray:
    """P(position p lies in a site): Σ over the starts of sites covering p (OOPS,
    ZOOPS: the posteriors; TCM: weighted by v), clipped to [0, 1]. A flat
    convolution is exact: the last W − 1 positions of every sequence start no site."""
    per_start = posterior.sum(axis=1)
    if model.model == "tcm":
        per_start = per_start * np.concatenate([c.start_weight for c in chunks])
    covered = np.convolve(per_start, np.ones(model.width))[: len(per_start)]
    return np.clip(covered, 0.0, 1.0)


def _substrings(data, chunks, W, max_starts, rng) -> list[np.ndarray]:
    """Distinct substrings of W known letters at starts not erased (weight above 0.5;
    at most ``max_starts``, drawn at random when there are more)."""
    weight = np.concatenate([c.start_weight for c in chunks])
    starts = []
    for i in range(data.n_sequences):
        lo, hi = data.offsets[i], data.offsets[i + 1]
        if hi - lo < W:
            continue
        known = np.convolve(data.codes[lo:hi] >= 0, np.ones(W, dtype=np.int64), "valid") == W
        ok = np.flatnonzero(known & (weight[lo : hi - W + 1] > 0.5))
        starts.append(lo + ok)
    if not starts:
        return []
    starts = np.concatenate(starts)
    if starts.size == 0:
        return []
    windows = data.codes[starts[:, None] + np.arange(W)[None, :]]
    _, first = np.unique(windows, axis=0, return_index=True)
    windows = windows[np.sort(first)]
    if len(windows) > max_starts:
        windows = windows[np.sort(rng.choice(len(windows), max_starts, replace=False))]
    return list(windows)


def _sites(k, W, code, data, posterior, log_odds) -> list[tuple]:
    """The site records of motif k (see :attr:`MotifFinder.sites_`)."""
    alphabet = data.alphabet
    rows = []
    for i in range(data.n_sequences):
        lo, hi = data.offsets[i], data.offsets[i + 1]
        m = hi - lo - W + 1
        if m <= 0:
            continue
        post = posterior[lo : lo + m]
        lod = log_odds[lo : lo + m]
        # the best site: highest posterior, then highest log-odds (ties of posterior 0)
        key = np.where(np.isfinite(lod), lod, -np.inf)
        order = np.lexsort((-key.ravel(), -post.ravel()))
        chosen = [order[0]]
        if code == TCM:
            taken = np.zeros(m, dtype=bool)
            taken[max(0, order[0] // 2 - W + 1) : order[0] // 2 + W] = True
            for flat in order[1:]:
                if post.ravel()[flat] < 0.5:
                    break
                j = flat // 2
                if not taken[j]:
                    chosen.append(flat)
                    taken[max(0, j - W + 1) : j + W] = True
        for flat in chosen:
            j, s = divmod(int(flat), 2)
            if not np.isfinite(lod[j, s]):
                continue  # no window of known letters in this sequence
            text = data.text(i, j, j + W)
            if s == 1:
                text = text[::-1].translate(str.maketrans(alphabet.letters, alphabet.complement))
            rows.append((k, i, j, 1 if s == 0 else -1, lod[j, s] / np.log(2.0), post[j, s], text))
    return rows
