r"""NumPy reference twin of :mod:`emkit._kernels.motifs` (tests and benchmarks only).

Written from the model definitions, one sequence at a time with its windows as a
dense (m, W) array: the log-odds of every window on both strands, the posteriors of
OOPS, ZOOPS and TCM by ``scipy.special.logsumexp``, the expected counts by
``np.add.at``. The background is counted and evaluated with plain Python loops over
positions. Same arguments and results as the kernels.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

OOPS, ZOOPS, TCM = 0, 1, 2


def markov_log_tables(codes, offsets, max_order, A, pseudocount):
    """log P(a | context) for every order 0..max_order: a list of (A^o, A) arrays,
    from the counts of the known letters after every context of known letters."""
    tables = []
    for o in range(max_order + 1):
        counts = np.full((A**o, A), float(pseudocount))
        for i in range(len(offsets) - 1):
            seq = codes[offsets[i] : offsets[i + 1]]
            for p in range(o, len(seq)):
                window = seq[p - o : p + 1]
                if np.all(window >= 0):
                    context = 0
                    for a in window[:-1]:
                        context = context * A + int(a)
                    counts[context, seq[p]] += 1.0
        tables.append(np.log(counts / counts.sum(axis=1, keepdims=True)))
    return tables


def markov_log_probabilities(codes, offsets, tables):
    """log P_bg(x_p | the longest known context up to the model's order), 0 at unknown."""
    max_order = len(tables) - 1
    A = tables[0].shape[1]
    out = np.zeros(len(codes))
    for i in range(len(offsets) - 1):
        seq = codes[offsets[i] : offsets[i + 1]]
        for p, a in enumerate(seq):
            if a < 0:
                continue
            o = 0
            while o < max_order and p - o - 1 >= 0 and seq[p - o - 1] >= 0:
                o += 1
            context = 0
            for b in seq[p - o : p]:
                context = context * A + int(b)
            out[offsets[i] + p] = tables[o][context, a]
    return out


def window_letters(seq, W, complement, strand):
    """(m, W) letters every window reads on ``strand`` (+1 forward, -1 reverse)."""
    m = len(seq) - W + 1
    windows = np.stack([seq[j : j + W] for j in range(m)])
    if strand < 0:
        windows = np.where(windows >= 0, complement[np.maximum(windows, 0)], -1)[:, ::-1]
    return windows


def log_odds(seq, log_bg, log_pwm, complement, n_strands):
    """(m, 2) LO_s(j), -inf for windows with an unknown letter (and strand 1 when
    ``n_strands`` is 1)."""
    W = log_pwm.shape[0]
    m = len(seq) - W + 1
    out = np.full((m, 2), -np.inf)
    bg = np.array([log_bg[j : j + W].sum() for j in range(m)])
    for s, strand in enumerate((1, -1)[:n_strands]):
        letters = window_letters(seq, W, complement, strand)
        ok = np.all(letters >= 0, axis=1)
        score = log_pwm[np.arange(W)[None, :], np.maximum(letters, 0)].sum(axis=1) - bg
        out[ok, s] = score[ok]
    return out


def sequence_posteriors(lo, weights, n_strands, model, prior):
    """(posterior (m, 2), log-likelihood ratio of the sequence)."""
    m = lo.shape[0]
    with np.errstate(divide="ignore"):
        log_prior, log_1m = np.log(prior), np.log1p(-prior)
        if model == TCM:
            site = lo + log_prior - np.log(n_strands)
            log_p = np.logaddexp(log_1m, logsumexp(site, axis=1))
            post = np.exp(site - log_p[:, None])
            used = weights > 0
            post[~used] = 0.0
            return post, float(np.sum(weights[used] * log_p[used]))
        pi = weights / weights.sum() if weights.sum() > 0 else np.full(m, 1.0 / m)
        joint = lo + np.log(pi)[:, None] - np.log(n_strands)
    total = logsumexp(joint)
    if model == OOPS:
        log_p, shift = total, 0.0
    else:
        log_p, shift = np.logaddexp(log_1m, log_prior + total), log_prior
    if not np.isfinite(log_p):
        return np.zeros_like(lo), float(log_p)
    return np.exp(joint + shift - log_p), float(log_p)


def motif_e_step(
    codes, offsets, log_pwm, log_background, start_weight, complement, n_strands, model, prior
):
    """Same as :func:`emkit._kernels.motifs.motif_e_step`."""
    W, A = log_pwm.shape
    counts = np.zeros((W, A))
    n_sites = n_trials = 0.0
    log_likelihood = 0.0
    for i in range(len(offsets) - 1):
        start, stop = offsets[i], offsets[i + 1]
        seq = codes[start:stop]
        log_likelihood += log_background[start:stop].sum()
        m = len(seq) - W + 1
        if m <= 0:
            continue
        weights = start_weight[start : start + m]
        lo = log_odds(seq, log_background[start:stop], log_pwm, complement, n_strands)
        post, ratio = sequence_posteriors(lo, weights, n_strands, model, prior)
        log_likelihood += ratio
        if model == TCM:
            post = post * weights[:, None]
            n_trials += weights.sum()
        else:
            n_trials += 1.0
        n_sites += post.sum()
        for s, strand in enumerate((1, -1)[:n_strands]):
            letters = window_letters(seq, W, complement, strand)
            ok = np.all(letters >= 0, axis=1)
            for c in range(W):
                np.add.at(counts[c], letters[ok, c], post[ok, s])
    return counts, n_sites, n_trials, log_likelihood
