"""The transcript-abundance model on the engine: statistics, bound, SQUAREM vectors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma, gammaln

from emkit.bio.classes import EquivalenceClasses
from emkit.core import fit_em
from emkit.models.transcripts import (
    ImpossibleClassError,
    TranscriptAbundance,
    TranscriptParams,
)


def simulated(seed: int, n_transcripts: int = 30, n_classes: int = 80) -> EquivalenceClasses:
    rng = np.random.RandomState(seed)
    members = [
        rng.choice(n_transcripts, size=rng.randint(1, 5), replace=False) for _ in range(n_classes)
    ]
    counts = rng.poisson(20.0, size=n_classes)
    lengths = rng.uniform(300.0, 3000.0, size=n_transcripts)
    return EquivalenceClasses(members, counts, effective_lengths=lengths)


def brute_log_likelihood(classes, abundance):
    theta = abundance / abundance.sum()
    w = classes.entry_weights()
    total = 0.0
    for c, (a, b) in enumerate(zip(classes.indptr[:-1], classes.indptr[1:], strict=True)):
        if classes.counts[c]:
            total += classes.counts[c] * np.log(np.sum(theta[classes.indices[a:b]] * w[a:b]))
    return total


def test_statistics_are_additive_over_chunks():
    classes = simulated(0)
    model = TranscriptAbundance(classes.n_transcripts)
    params = TranscriptParams(np.random.RandomState(1).uniform(1, 5, classes.n_transcripts))
    whole = model.e_step(params, classes.chunks(10**9)[0])
    parts = [model.e_step(params, chunk) for chunk in classes.chunks(chunk_size=7)]
    np.testing.assert_allclose(
        sum(p[0] for p in parts).expected_counts, whole[0].expected_counts, rtol=1e-12
    )
    assert sum(p[1] for p in parts) == pytest.approx(whole[1], rel=1e-12)
    assert whole[1] == pytest.approx(brute_log_likelihood(classes, params.abundance), rel=1e-12)


def test_em_update_is_scale_invariant_and_conserves_reads():
    classes = simulated(2)
    model = TranscriptAbundance(classes.n_transcripts)
    chunk = classes.chunks()[0]
    alpha = np.random.RandomState(0).uniform(1, 5, classes.n_transcripts)
    s1, l1 = model.e_step(TranscriptParams(alpha), chunk)
    s2, l2 = model.e_step(TranscriptParams(1e-3 * alpha), chunk)
    np.testing.assert_allclose(s1.expected_counts, s2.expected_counts, rtol=1e-12)
    assert l1 == pytest.approx(l2, rel=1e-12)
    assert model.m_step(s1).abundance.sum() == pytest.approx(classes.n_reads)


def test_vb_bound_is_the_elbo():
    """e_step's value + log_prior equals the bound written out from its definition."""
    classes = simulated(3)
    beta = np.full(classes.n_transcripts, 0.5)
    model = TranscriptAbundance(classes.n_transcripts, vb_prior=beta)
    alpha = np.random.RandomState(4).uniform(0, 30, classes.n_transcripts)
    _, value = model.e_step(TranscriptParams(alpha), classes.chunks()[0])
    gamma = alpha + beta
    e_log = digamma(gamma) - digamma(gamma.sum())
    w = classes.entry_weights()
    reads = sum(
        classes.counts[c] * np.log(np.sum(np.exp(e_log[classes.indices[a:b]]) * w[a:b]))
        for c, (a, b) in enumerate(zip(classes.indptr[:-1], classes.indptr[1:], strict=True))
    )
    kl = (
        gammaln(gamma.sum())
        - gammaln(gamma).sum()
        - gammaln(beta.sum())
        + gammaln(beta).sum()
        + np.dot(gamma - beta, e_log)
    )
    assert value == pytest.approx(reads, rel=1e-12)
    assert model.log_prior(TranscriptParams(alpha)) == pytest.approx(-kl, rel=1e-12)


@pytest.mark.parametrize("vb", [False, True])
@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_engine_fit_is_monotone(vb, accelerate):
    classes = simulated(5)
    prior = np.full(classes.n_transcripts, 0.01) if vb else None
    model = TranscriptAbundance(classes.n_transcripts, vb_prior=prior)
    chunks = classes.chunks(chunk_size=9)
    result = fit_em(
        model,
        chunks,
        n_samples=classes.n_reads,
        max_iter=5000,
        tol=1e-12,
        start_params=model.init_params(chunks),
        accelerate=accelerate,
    )
    assert result.converged
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))


def test_pack_unpack_round_trip_and_refusal():
    model = TranscriptAbundance(3)
    params = TranscriptParams(np.array([0.0, 2.0, 5.0]))
    back = model.unpack(model.pack(params), params)
    np.testing.assert_allclose(back.abundance, params.abundance, atol=1e-300)
    with pytest.raises(ValueError, match="not finite"):
        model.unpack(np.array([0.0, np.inf, 1.0]), params)


def test_impossible_class_is_named():
    classes = EquivalenceClasses([[0, 1], [2]], [3, 1])
    model = TranscriptAbundance(3)
    with pytest.raises(ImpossibleClassError, match=r"class 0 .*transcripts \[0, 1\]"):
        model.e_step(TranscriptParams(np.array([0.0, 0.0, 1.0])), classes.chunks()[0])


def test_vb_prior_is_checked():
    with pytest.raises(ValueError, match="one entry per transcript"):
        TranscriptAbundance(3, vb_prior=np.ones(2))
    with pytest.raises(ValueError, match="positive"):
        TranscriptAbundance(3, vb_prior=0.0)


def test_impossible_class_is_named_by_its_number_in_the_data():
    """The chunks hold the classes by smallest transcript; the message names the
    class by its number in the data."""
    classes = EquivalenceClasses([[2, 1], [0]], [3, 1])
    (chunk,) = classes.chunks()
    assert chunk.class_ids.tolist() == [1, 0]
    model = TranscriptAbundance(3)
    with pytest.raises(ImpossibleClassError, match=r"class 1 .*transcripts \[0\]"):
        model.e_step(TranscriptParams(np.array([0.0, 0.0, 1.0])), chunk)


def test_banded_statistics_add_as_full_vectors():
    """Chunks' bands are joined and added in order when read: the bits of adding the
    full-size vectors one by one; products and long sums collapse into one band."""
    from emkit.models.transcripts import _MAX_BANDS, TranscriptStats

    rng = np.random.RandomState(3)
    parts = [(int(low), rng.uniform(0, 1, size=5)) for low in (0, 3, 9, 4)]
    banded = [TranscriptStats(((low, c),), 15) for low, c in parts]
    dense = []
    for low, c in parts:
        full = np.zeros(15)
        full[low : low + 5] = c
        dense.append(full)
    total = sum(banded)
    expected = dense[0] + dense[1] + dense[2] + dense[3]
    np.testing.assert_array_equal(total.expected_counts, expected)
    assert total == TranscriptStats.dense(expected)
    np.testing.assert_array_equal((0.25 * total).expected_counts, 0.25 * expected)
    assert len((0.25 * total).bands) == 1
    running = banded[0]
    for _ in range(3 * _MAX_BANDS):
        running = running + banded[1]
    assert len(running.bands) <= _MAX_BANDS
    np.testing.assert_allclose(
        running.expected_counts, dense[0] + 3 * _MAX_BANDS * dense[1], rtol=1e-13
    )
