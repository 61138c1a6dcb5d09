"""MotifModel on the engine: additive statistics, MAP M-step, monotone EM, SQUAREM."""

from __future__ import annotations

import numpy as np
import pytest

from emkit._kernels import _reference_motifs as ref
from emkit.containers import allclose
from emkit.core import fit_em
from emkit.models.motifs import (
    ImpossibleSequenceError,
    MotifModel,
    MotifParams,
    SequenceChunk,
)

COMPLEMENT = np.array([3, 2, 1, 0])


def _chunk(seed=0, n=12, length=40, unknown=0.02, weights=False):
    rng = np.random.RandomState(seed)
    codes = rng.randint(4, size=n * length).astype(np.int64)
    codes[rng.rand(codes.size) < unknown] = -1
    offsets = np.arange(0, n * length + 1, length, dtype=np.int64)
    log_bg = np.where(codes >= 0, np.log(0.25), 0.0)
    weight = rng.uniform(0.2, 1.0, codes.size) if weights else np.ones(codes.size)
    return SequenceChunk(codes, offsets, log_bg, weight)


@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
def test_statistics_are_additive_over_chunks(model):
    chunk = _chunk(weights=True)
    motif = MotifModel(6, 4, model=model, complement=COMPLEMENT, pseudocounts=0.1)
    params = motif.init_params([chunk], np.random.RandomState(0))
    whole, loglik = motif.e_step(params, chunk)
    parts = [motif.e_step(params, c) for c in chunk.split(5)]
    assert allclose(whole, sum(s for s, _ in parts), rtol=1e-12)
    assert loglik == pytest.approx(sum(v for _, v in parts), rel=1e-12)
    assert [c.first_sequence for c in chunk.split(5)] == [0, 5, 10]


def test_m_step_is_the_map_estimate():
    motif = MotifModel(3, 4, model="zoops", pseudocounts=[0.1, 0.2, 0.3, 0.4])
    counts = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]])
    from emkit.models.motifs import MotifStats

    params = motif.m_step(MotifStats(counts, 5.0, 20.0))
    beta = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(params.pwm, (counts + beta) / (counts + beta).sum(1, keepdims=True))
    assert params.site_prior == pytest.approx(0.25)
    assert motif.log_prior(params) == pytest.approx(float((beta * np.log(params.pwm)).sum()))


@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
@pytest.mark.parametrize("order", [0, 2])
def test_em_is_monotone_with_erasing_weights_and_markov_background(model, order):
    chunk = _chunk(seed=order, weights=True)
    tables = ref.markov_log_tables(chunk.codes, chunk.offsets, order, 4, 1.0)
    log_bg = ref.markov_log_probabilities(chunk.codes, chunk.offsets, tables)
    chunk = SequenceChunk(chunk.codes, chunk.offsets, log_bg, chunk.start_weight)
    motif = MotifModel(5, 4, model=model, complement=COMPLEMENT, pseudocounts=0.4)
    # LikelihoodDecreaseWarning is an error in the tests (pyproject's filterwarnings)
    result = fit_em(motif, chunk.split(4), n_samples=12, max_iter=60, tol=0, random_state=1,
                    warn_not_converged=False)  # fmt: skip
    assert np.all(np.diff(result.lower_bounds) >= -1e-12 * np.abs(result.lower_bounds[1:]))
    np.testing.assert_allclose(result.params.pwm.sum(axis=1), 1.0)


def test_squarem_reaches_the_same_optimum():
    rng = np.random.RandomState(2)
    chunk = _chunk(seed=3, unknown=0.0)
    codes = chunk.codes.copy()
    site = np.array([0, 1, 2, 3, 3, 2])
    for i in range(12):  # a planted site in every sequence
        j = 40 * i + rng.randint(30)
        codes[j : j + 6] = site
    chunk = SequenceChunk(codes, chunk.offsets, chunk.log_background, chunk.start_weight)
    motif = MotifModel(6, 4, model="zoops", complement=COMPLEMENT, pseudocounts=0.1)
    start = motif.substring_params(site, 0.5)
    plain = fit_em(motif, [chunk], n_samples=12, max_iter=500, tol=1e-10, start_params=start)
    fast = fit_em(motif, [chunk], n_samples=12, max_iter=500, tol=1e-10, start_params=start,
                  accelerate="squarem")  # fmt: skip
    assert fast.lower_bound == pytest.approx(plain.lower_bound, abs=1e-6)
    np.testing.assert_allclose(fast.params.pwm, plain.params.pwm, atol=1e-3)


def test_oops_sequence_without_a_known_window_is_one_clear_error():
    codes = np.array([0, 1, -1, 2, 3, 0, 1, 2], dtype=np.int64)
    chunk = SequenceChunk(codes, np.array([0, 4, 8]), np.zeros(8), np.ones(8), 10)
    motif = MotifModel(3, 4, model="oops")
    with pytest.raises(ImpossibleSequenceError, match="sequence 10 has no window of 3"):
        motif.e_step(MotifParams(np.full((3, 4), 0.25)), chunk)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="model must be one of"):
        MotifModel(3, 4, model="twice")
    with pytest.raises(ValueError, match="pseudocounts must be"):
        MotifModel(3, 4, pseudocounts=-1.0)
    with pytest.raises(ValueError, match="learn has unknown names"):
        MotifModel(3, 4, learn=("pwm", "background"))
