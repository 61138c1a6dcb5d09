"""MEME's E-step kernel against its NumPy twin and against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from emkit._kernels import _reference_motifs as ref
from emkit._kernels.motifs import (
    OOPS,
    TCM,
    ZOOPS,
    markov_counts,
    markov_log_probabilities,
    motif_e_step,
    site_posteriors,
)

COMPLEMENT = np.array([3, 2, 1, 0])


def _sequences(rng, lengths, unknown=0.0):
    codes = rng.randint(4, size=sum(lengths))
    codes[rng.rand(len(codes)) < unknown] = -1
    return codes.astype(np.int64), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _background(codes, offsets, order, pseudocount=1.0):
    A = 4
    table_offsets = np.concatenate([[0], np.cumsum([A ** (o + 1) for o in range(order + 1)])])
    counts = np.zeros(table_offsets[-1])
    markov_counts(codes, offsets, order, A, table_offsets, counts)
    logs = np.empty_like(counts)
    for o in range(order + 1):
        block = counts[table_offsets[o] : table_offsets[o + 1]].reshape(-1, A) + pseudocount
        logs[table_offsets[o] : table_offsets[o + 1]] = np.log(
            block / block.sum(axis=1, keepdims=True)
        ).ravel()
    out = np.empty(len(codes))
    markov_log_probabilities(codes, offsets, order, A, table_offsets, logs, out)
    return logs, table_offsets, out


@pytest.mark.parametrize("order", [0, 1, 2])
def test_markov_background_matches_reference(order):
    rng = np.random.RandomState(order)
    codes, offsets = _sequences(rng, [30, 1, 17, 25], unknown=0.1)
    logs, table_offsets, out = _background(codes, offsets, order)
    tables = ref.markov_log_tables(codes, offsets, order, 4, 1.0)
    for o in range(order + 1):
        block = logs[table_offsets[o] : table_offsets[o + 1]].reshape(-1, 4)
        np.testing.assert_allclose(block, tables[o], rtol=1e-12)
    np.testing.assert_allclose(out, ref.markov_log_probabilities(codes, offsets, tables))


@pytest.mark.parametrize("model", [OOPS, ZOOPS, TCM])
@pytest.mark.parametrize("n_strands", [1, 2])
@pytest.mark.parametrize("order", [0, 2])
def test_e_step_matches_reference(model, n_strands, order):
    rng = np.random.RandomState(10 * model + n_strands + order)
    codes, offsets = _sequences(rng, [40, 12, 5, 33, 6], unknown=0.05)
    _, _, log_bg = _background(codes, offsets, order)
    W = 6
    pwm = rng.dirichlet(np.ones(4) * 0.5, size=W)
    weights = rng.uniform(0.0, 1.0, size=len(codes))
    weights[rng.rand(len(codes)) < 0.2] = 0.0
    prior = 0.3 if model == ZOOPS else 0.02
    args = (codes, offsets, np.log(pwm), log_bg, weights, COMPLEMENT, n_strands, model, prior)
    counts, n_sites, n_trials, loglik = motif_e_step(*args)
    r_counts, r_sites, r_trials, r_loglik = ref.motif_e_step(*args)
    np.testing.assert_allclose(counts, r_counts, rtol=1e-10, atol=1e-12)
    assert n_sites == pytest.approx(r_sites, rel=1e-10)
    assert n_trials == pytest.approx(r_trials, rel=1e-12)
    assert loglik == pytest.approx(r_loglik, rel=1e-12)
    if model == OOPS and np.isfinite(loglik):
        # every sequence with a start has one site, whatever its length
        assert n_sites == pytest.approx(n_trials)
    # the expected counts of every column add up to the expected sites
    np.testing.assert_allclose(counts.sum(axis=1), n_sites, rtol=1e-10)


def _brute_force_log_likelihood(seqs, pwm, bg, model, prior, n_strands):
    """log p(x) of OOPS / ZOOPS by enumerating every site (start, strand) of every
    sequence with an order-0 background, from the generative model itself: the
    site's letters from θ, every other letter from the background."""
    W = pwm.shape[0]
    total = 0.0
    for seq in seqs:
        m = len(seq) - W + 1
        terms = []
        for j, s in itertools.product(range(m), range(n_strands)):
            site = seq[j : j + W] if s == 0 else COMPLEMENT[seq[j : j + W]][::-1]
            outside = np.delete(seq, np.arange(j, j + W))
            log_site = np.log(pwm[np.arange(W), site]).sum() + np.log(bg[outside]).sum()
            terms.append(log_site - np.log(m * n_strands))
        with_site = logsumexp(terms)
        if model == OOPS:
            total += with_site
        else:
            none = np.log(1 - prior) + np.log(bg[seq]).sum()
            total += np.logaddexp(none, np.log(prior) + with_site)
    return total


@pytest.mark.parametrize("model", [OOPS, ZOOPS])
@pytest.mark.parametrize("n_strands", [1, 2])
def test_log_likelihood_equals_enumeration(model, n_strands):
    rng = np.random.RandomState(3)
    seqs = [rng.randint(4, size=n) for n in (7, 5, 9)]
    codes = np.concatenate(seqs).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    W = 3
    pwm = rng.dirichlet(np.ones(4), size=W)
    args = (codes, offsets, np.log(pwm), np.log(bg[codes]), np.ones(len(codes)), COMPLEMENT)
    _, _, _, loglik = motif_e_step(*args, n_strands, model, 0.4)
    expected = _brute_force_log_likelihood(seqs, pwm, bg, model, 0.4, n_strands)
    assert loglik == pytest.approx(expected, rel=1e-12)


def test_tcm_log_likelihood_equals_window_mixture():
    """TCM: every window is its own two-component mixture (MEME's definition)."""
    rng = np.random.RandomState(4)
    seq = rng.randint(4, size=11).astype(np.int64)
    bg = np.array([0.25, 0.25, 0.3, 0.2])
    W, lam = 4, 0.1
    pwm = rng.dirichlet(np.ones(4), size=W)
    offsets = np.array([0, len(seq)])
    args = (seq, offsets, np.log(pwm), np.log(bg[seq]), np.ones(len(seq)), COMPLEMENT, 2)
    _, _, n_trials, loglik = motif_e_step(*args, TCM, lam)
    expected = np.log(bg[seq]).sum()
    for j in range(len(seq) - W + 1):
        window = seq[j : j + W]
        fwd = np.prod(pwm[np.arange(W), window])
        rev = np.prod(pwm[np.arange(W), COMPLEMENT[window][::-1]])
        expected += np.log((1 - lam) + lam / 2 * (fwd + rev) / np.prod(bg[window]))
    assert loglik == pytest.approx(expected, rel=1e-12)
    assert n_trials == len(seq) - W + 1


def test_posteriors_sum_to_one_under_oops_and_unknown_windows_are_no_sites():
    rng = np.random.RandomState(5)
    codes, offsets = _sequences(rng, [20, 15], unknown=0.1)
    W = 4
    pwm = rng.dirichlet(np.ones(4), size=W)
    post, lo = site_posteriors(
        codes, offsets, np.log(pwm), np.zeros(len(codes)), np.ones(len(codes)), COMPLEMENT,
        2, OOPS, 1.0,
    )  # fmt: skip
    for i in range(2):
        assert post[offsets[i] : offsets[i + 1]].sum() == pytest.approx(1.0)
        # the last W - 1 positions are no start
        assert np.all(post[offsets[i + 1] - W + 1 : offsets[i + 1]] == 0.0)
    for p in range(len(codes) - W + 1):
        if np.any(codes[p : p + W] < 0):
            assert post[p].sum() == 0.0 and np.all(lo[p] == -np.inf)


def test_short_sequence_is_background_only():
    codes = np.array([0, 1, 2, 0, 1, 2, 3, 3], dtype=np.int64)
    offsets = np.array([0, 2, 8])  # the first is shorter than W
    W = 3
    pwm = np.full((W, 4), 0.25)
    bg = np.log(np.full(len(codes), 0.25))
    _, _, n_trials, loglik = motif_e_step(
        codes, offsets, np.log(pwm), bg, np.ones(8), COMPLEMENT, 2, ZOOPS, 0.5
    )
    assert n_trials == 1.0
    # a uniform PWM against a uniform background: LO = 0, so p(x) = P_bg(x)
    assert loglik == pytest.approx(bg.sum())
