r"""MEME's E-step, compiled with numba: site log-odds, posteriors and expected counts.

Sequences are letters coded 0..A-1 (-1 for an unknown letter such as N), stored flat
(``codes``, shape (n_letters,)) with ``offsets`` (n_sequences + 1,): sequence i is
``codes[offsets[i]:offsets[i + 1]]``. A motif of width W is a position weight matrix
θ (W, A) given by its logarithm ``log_pwm``. The background is a Markov model of order
0..k, given here by ``log_background`` (n_letters,): log P_bg(x_p | the letters before
p) for every position (0 at an unknown letter, which the background sums out).

**Site log-odds.** A site starting at j on the forward strand reads x_j..x_{j+W-1};
on the reverse strand it reads the reverse complement, so motif column c sees
comp(x_{j+W-1-c}). In both cases the site covers forward positions j..j+W-1, and

.. math::

    \mathrm{LO}_s(j) = \sum_{c=0}^{W-1} \log\theta_{c, y_c} -
        \sum_{p=j}^{j+W-1} \log P_\mathrm{bg}(x_p \mid \cdot),

with y the letters the site reads on strand s. (With a Markov background of order
k > 0 the letters after a site keep the background's conditional probabilities that
see the site's letters as context: MEME's approximation, exact for order 0.) A window
with an unknown letter is no site: its log-odds is -inf.

**The three models** (Bailey & Elkan 1994, 1995), S = 1 or 2 strands, m_i = L_i −
W + 1 starts in sequence i, and ``start_weight`` v (n_letters,) the weight of a start
(1 everywhere but after MEME's probabilistic erasing of earlier motifs):

* OOPS, exactly one site per sequence, at start j with prior π_j = v_j / Σ_j' v_j'
  (uniform when no start has weight) and either strand:
  :math:`p(x_i) = P_\mathrm{bg}(x_i) \sum_{j,s} \frac{\pi_j}{S} e^{\mathrm{LO}_s(j)}`.
* ZOOPS, zero or one site, one with probability γ:
  :math:`p(x_i) = P_\mathrm{bg}(x_i) \big[(1 - γ) + γ \sum_{j,s} \frac{\pi_j}{S}
  e^{\mathrm{LO}_s(j)}\big]`.
* TCM, any number of sites: every window of W letters is a site with probability λ
  (either strand), and the windows count with weight v_j,
  :math:`\log p = \sum_i \log P_\mathrm{bg}(x_i) + \sum_{i,j} v_j \log\big[(1 - λ)
  + \frac{λ}{S} \sum_s e^{\mathrm{LO}_s(j)}\big]` (MEME's two-component mixture over
  overlapping windows: a weighted pseudo-likelihood, which EM increases monotonically).

The E-step returns the expected letter counts per motif column (W, A), the expected
number of sites (the statistic of γ or λ), the number of trials it is divided by
(sequences for ZOOPS, Σ v over windows for TCM) and the log-likelihood. All sums over
starts are in log space (log-sum-exp per sequence).

The NumPy twin (dense, for tests) is :mod:`emkit._kernels._reference_motifs`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "OOPS",
    "TCM",
    "ZOOPS",
    "markov_counts",
    "markov_log_probabilities",
    "motif_e_step",
    "site_posteriors",
]

#: model codes of the kernels
OOPS, ZOOPS, TCM = 0, 1, 2


@njit(cache=True, nogil=True)
def _context_index(codes, p, order, A):
    """Base-A index of the ``order`` letters before p (the latest is the last digit)."""
    index = 0
    for q in range(p - order, p):
        index = index * A + codes[q]
    return index


@njit(cache=True, nogil=True)
def markov_counts(codes, offsets, max_order, A, table_offsets, counts):
    """Add into ``counts`` (flat, every order's (A^o, A) table at ``table_offsets[o]``)
    how often every letter follows every context of o = 0..max_order known letters."""
    for i in range(offsets.shape[0] - 1):
        known = 0  # known letters just before p in this sequence
        for p in range(offsets[i], offsets[i + 1]):
            a = codes[p]
            if a < 0:
                known = 0
                continue
            top = known if known < max_order else max_order
            for o in range(top + 1):
                counts[table_offsets[o] + _context_index(codes, p, o, A) * A + a] += 1.0
            known += 1


@njit(cache=True, nogil=True)
def markov_log_probabilities(codes, offsets, max_order, A, table_offsets, log_tables, out):
    """``out[p]`` = log P_bg(x_p | context): the longest context (up to ``max_order``)
    of known letters before p in its sequence; 0 at unknown letters."""
    for i in range(offsets.shape[0] - 1):
        known = 0
        for p in range(offsets[i], offsets[i + 1]):
            a = codes[p]
            if a < 0:
                out[p] = 0.0
                known = 0
                continue
            o = known if known < max_order else max_order
            out[p] = log_tables[table_offsets[o] + _context_index(codes, p, o, A) * A + a]
            known += 1


@njit(cache=True, nogil=True)
def _strand_tables(log_pwm, complement):
    """(W, A + 1) log θ as the forward and the reverse strand read it (rc[c, a] =
    log θ[W-1-c, comp(a)]), with a last column 0 for unknown letters: the log-odds are
    then branch-free sums of direct look-ups (windows with an unknown letter are
    found by a prefix count)."""
    W, A = log_pwm.shape
    fwd = np.zeros((W, A + 1))
    rc = np.zeros((W, A + 1))
    for c in range(W):
        for a in range(A):
            fwd[c, a] = log_pwm[c, a]
            rc[c, a] = log_pwm[W - 1 - c, complement[a]]
    return fwd, rc


@njit(cache=True, nogil=True)
def _sequence_log_odds(codes, start, stop, fwd_pwm, rc_pwm, log_background, n_strands, lo, scratch):
    """Fill ``lo[j - start, s]`` with LO_s(j) for the starts of one sequence; returns the
    number of starts m (0 when the sequence is shorter than W). ``scratch`` holds at
    least 3 (L + 1) floats."""
    W = fwd_pwm.shape[0]
    A = fwd_pwm.shape[1] - 1
    L = stop - start
    m = L - W + 1
    if m <= 0:
        return 0
    # prefix sums of the background's log-probabilities and of the unknown letters,
    # and the letters with unknown ones as A (the tables' zero column)
    bg_prefix = scratch[: L + 1]
    unknown_prefix = scratch[L + 1 : 2 * L + 2]
    letters = scratch[2 * L + 2 : 3 * L + 2]
    bg_prefix[0] = 0.0
    unknown_prefix[0] = 0.0
    for p in range(L):
        a = codes[start + p]
        bg_prefix[p + 1] = bg_prefix[p] + log_background[start + p]
        unknown_prefix[p + 1] = unknown_prefix[p] + (1.0 if a < 0 else 0.0)
        letters[p] = a if a >= 0 else A
    for j in range(m):
        if unknown_prefix[j + W] - unknown_prefix[j] > 0.0:
            lo[j, 0] = -np.inf
            lo[j, 1] = -np.inf
            continue
        f = 0.0
        r = 0.0
        for c in range(W):
            a = int(letters[j + c])
            f += fwd_pwm[c, a]
            r += rc_pwm[c, a]
        bg = bg_prefix[j + W] - bg_prefix[j]
        lo[j, 0] = f - bg
        lo[j, 1] = r - bg if n_strands == 2 else -np.inf
    return m


@njit(cache=True, nogil=True)
def _log_add(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@njit(cache=True, nogil=True)
def _posteriors(model, lo, m, n_strands, weights, log_prior, log_1m_prior, post):
    """Posterior of a site at every (start, strand) of one sequence into ``post`` and
    the sequence's log-likelihood ratio against the background (TCM: the v-weighted
    sum over its windows). ``weights`` are the sequence's start weights v.

    One exponential per (start, strand): every term is shifted by the sequence's (or
    the window's) largest log term before it is exponentiated, and the posteriors are
    those terms times one common factor.
    """
    log_s = np.log(n_strands)
    if model == TCM:
        total = 0.0
        for j in range(m):
            post[j, 0] = 0.0
            post[j, 1] = 0.0
            if weights[j] <= 0.0:
                continue
            u0 = lo[j, 0] + log_prior - log_s
            u1 = lo[j, 1] + log_prior - log_s
            top = max(u0, u1, log_1m_prior)
            if top == -np.inf:
                total += -np.inf
                continue
            e0 = np.exp(u0 - top)
            e1 = np.exp(u1 - top)
            e2 = 1.0 if log_1m_prior == top else np.exp(log_1m_prior - top)
            sum_e = e0 + e1 + e2
            total += weights[j] * (top + np.log(sum_e))
            post[j, 0] = e0 / sum_e
            post[j, 1] = e1 / sum_e
        return total
    # OOPS and ZOOPS: one prior π_j = v_j / Σ v over the sequence's starts (uniform when
    # no start has weight); log v is taken only where v is not 1
    v_sum = 0.0
    for j in range(m):
        v_sum += weights[j]
    uniform = not v_sum > 0.0
    top = -np.inf
    for j in range(m):
        w = 1.0 if uniform else weights[j]
        if w <= 0.0:
            continue
        log_w = 0.0 if w == 1.0 else np.log(w)
        for s in range(n_strands):
            if lo[j, s] + log_w > top:
                top = lo[j, s] + log_w
    if top == -np.inf:
        for j in range(m):
            post[j, 0] = 0.0
            post[j, 1] = 0.0
        return -np.inf if model == OOPS else log_1m_prior
    sum_e = 0.0
    for j in range(m):
        w = 1.0 if uniform else weights[j]
        post[j, 0] = 0.0
        post[j, 1] = 0.0
        if w <= 0.0:
            continue
        log_w = 0.0 if w == 1.0 else np.log(w)
        for s in range(n_strands):
            e = np.exp(lo[j, s] + log_w - top)
            post[j, s] = e
            sum_e += e
    log_norm = np.log(m if uniform else v_sum) + log_s
    log_sum = top + np.log(sum_e) - log_norm
    if model == OOPS:
        log_p = log_sum
        shift = 0.0
    else:
        log_p = _log_add(log_1m_prior, log_prior + log_sum)
        shift = log_prior
    scale = np.exp(top - log_norm + shift - log_p) if log_p > -np.inf else 0.0
    for j in range(m):
        post[j, 0] *= scale
        post[j, 1] *= scale
    return log_p


@njit(cache=True, nogil=True)
def _max_length(offsets):
    top = 0
    for i in range(offsets.shape[0] - 1):
        length = offsets[i + 1] - offsets[i]
        if length > top:
            top = length
    return top


@njit(cache=True, nogil=True)
def _e_step(
    codes,
    offsets,
    log_pwm,
    log_background,
    start_weight,
    complement,
    n_strands,
    model,
    prior,
    counts,
    want_counts,
):
    W = log_pwm.shape[0]
    fwd_pwm, rc_pwm = _strand_tables(log_pwm, complement)
    n_max = _max_length(offsets)
    scratch = np.empty(3 * n_max + 3)
    reverse = np.zeros(counts.shape)  # reverse-strand counts, by forward position
    lo = np.empty((max(n_max, 1), 2))
    post = np.empty((max(n_max, 1), 2))
    log_prior = np.log(prior) if prior > 0.0 else -np.inf
    log_1m_prior = np.log1p(-prior) if prior < 1.0 else -np.inf
    n_sites = 0.0
    n_trials = 0.0
    log_likelihood = 0.0
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        for p in range(start, stop):
            log_likelihood += log_background[p]
        m = _sequence_log_odds(
            codes, start, stop, fwd_pwm, rc_pwm, log_background, n_strands, lo, scratch
        )
        if m == 0:
            continue  # no start: the sequence is background only
        weights = start_weight[start : start + m]
        log_likelihood += _posteriors(
            model, lo, m, n_strands, weights, log_prior, log_1m_prior, post
        )
        if model == TCM:
            for j in range(m):
                n_trials += weights[j]
        else:
            n_trials += 1.0
        if not want_counts:
            continue
        for j in range(m):
            scale = weights[j] if model == TCM else 1.0
            r0 = post[j, 0] * scale
            r1 = post[j, 1] * scale if n_strands == 2 else 0.0
            if r0 == 0.0 and r1 == 0.0:
                continue
            n_sites += r0 + r1
            p = start + j
            # both strands in one pass over the forward letters; the reverse strand's
            # counts are folded into motif columns at the end
            for c in range(W):
                a = codes[p + c]
                counts[c, a] += r0
                reverse[c, a] += r1
    if n_strands == 2 and want_counts:
        A = counts.shape[1]
        for c in range(W):
            for a in range(A):
                counts[W - 1 - c, complement[a]] += reverse[c, a]
    return n_sites, n_trials, log_likelihood


@njit(cache=True, nogil=True)
def _site_posteriors(
    codes,
    offsets,
    log_pwm,
    log_background,
    start_weight,
    complement,
    n_strands,
    model,
    prior,
    out_post,
    out_lo,
):
    fwd_pwm, rc_pwm = _strand_tables(log_pwm, complement)
    n_max = _max_length(offsets)
    scratch = np.empty(3 * n_max + 3)
    lo = np.empty((max(n_max, 1), 2))
    post = np.empty((max(n_max, 1), 2))
    log_prior = np.log(prior) if prior > 0.0 else -np.inf
    log_1m_prior = np.log1p(-prior) if prior < 1.0 else -np.inf
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        m = _sequence_log_odds(
            codes, start, stop, fwd_pwm, rc_pwm, log_background, n_strands, lo, scratch
        )
        if m == 0:
            continue
        weights = start_weight[start : start + m]
        _posteriors(model, lo, m, n_strands, weights, log_prior, log_1m_prior, post)
        for j in range(m):
            for s in range(2):
                out_post[start + j, s] = post[j, s]
                out_lo[start + j, s] = lo[j, s]


def _prepare(codes, offsets, log_pwm, log_background, start_weight, complement):
    return (
        np.ascontiguousarray(codes, dtype=np.int64),
        np.ascontiguousarray(offsets, dtype=np.int64),
        np.ascontiguousarray(log_pwm, dtype=np.float64),
        np.ascontiguousarray(log_background, dtype=np.float64),
        np.ascontiguousarray(start_weight, dtype=np.float64),
        np.ascontiguousarray(complement, dtype=np.int64),
    )


def motif_e_step(
    codes,
    offsets,
    log_pwm,
    log_background,
    start_weight,
    complement,
    n_strands,
    model,
    prior,
    want_counts=True,
):
    """One E-step of a motif model over a set of sequences.

    Parameters
    ----------
    codes : int array of shape (n_letters,)
        Letters coded 0..A-1, -1 for unknown.
    offsets : int array of shape (n_sequences + 1,)
    log_pwm : array of shape (W, A)
        log θ (may hold -inf for letters of probability 0).
    log_background : array of shape (n_letters,)
        log P_bg of every position given its context (0 at unknown letters).
    start_weight : array of shape (n_letters,)
        v, the weight of a site starting at every position (entries past a
        sequence's last start are not read).
    complement : int array of shape (A,)
        The complement of every letter (read only when ``n_strands`` is 2).
    n_strands : {1, 2}
    model : {OOPS, ZOOPS, TCM}
    prior : float
        γ (ZOOPS) or λ (TCM); not read by OOPS.
    want_counts : bool
        False skips the expected counts (and the expected sites), for a
        log-likelihood alone (MEME's scan of starting points).

    Returns
    -------
    counts : ndarray of shape (W, A)
        Expected letter counts of every motif column (zeros when not wanted).
    n_sites : float
        Expected number of sites.
    n_trials : float
        Sequences with at least one start (OOPS, ZOOPS) or Σ v over the starts (TCM).
    log_likelihood : float
    """
    args = _prepare(codes, offsets, log_pwm, log_background, start_weight, complement)
    counts = np.zeros(args[2].shape)
    n_sites, n_trials, log_likelihood = _e_step(
        *args, int(n_strands), int(model), float(prior), counts, bool(want_counts)
    )
    return counts, n_sites, n_trials, log_likelihood


def site_posteriors(
    codes, offsets, log_pwm, log_background, start_weight, complement, n_strands, model, prior
):
    """Posterior probability and log-odds of a site at every start and strand.

    Arguments as :func:`motif_e_step`. Returns ``(posterior, log_odds)``, both of shape
    (n_letters, 2): row p is a site starting at position p, column 0 the forward
    strand and 1 the reverse; rows that are no start (the last W − 1 letters of a
    sequence) hold posterior 0 and log-odds -inf. For TCM the posterior is a window's
    own (its weight v not applied).
    """
    args = _prepare(codes, offsets, log_pwm, log_background, start_weight, complement)
    n = args[0].shape[0]
    post = np.zeros((n, 2))
    lo = np.full((n, 2), -np.inf)
    _site_posteriors(*args, int(n_strands), int(model), float(prior), post, lo)
    return post, lo
