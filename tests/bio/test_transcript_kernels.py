"""The transcript E-step kernel against its NumPy twin and a dense brute force."""

from __future__ import annotations

import numpy as np
import pytest

from emkit._kernels import _reference_transcripts as reference
from emkit._kernels.transcripts import class_e_step


def random_classes(seed: int, n_transcripts: int = 12, n_classes: int = 40, max_size: int = 5):
    """Random flat classes: (indptr, indices, weights, counts)."""
    rng = np.random.RandomState(seed)
    sizes = rng.randint(1, max_size + 1, size=n_classes)
    members = [np.sort(rng.choice(n_transcripts, size=s, replace=False)) for s in sizes]
    indptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    indices = np.concatenate(members).astype(np.int64)
    weights = rng.uniform(0.1, 2.0, size=indices.size)
    counts = rng.poisson(5.0, size=n_classes).astype(np.float64)
    return indptr, indices, weights, counts


def dense_e_step(indptr, indices, weights, counts, v):
    """Brute force: the dense (n_classes, n_transcripts) matrix of v_t w_ct, normalised
    by rows, times the counts."""
    n_classes, n = indptr.size - 1, v.size
    matrix = np.zeros((n_classes, n))
    for c in range(n_classes):
        for e in range(indptr[c], indptr[c + 1]):
            matrix[c, indices[e]] += v[indices[e]] * weights[e]
    mass = matrix.sum(axis=1)
    keep = (counts > 0) & (mass > 0)
    expected = (counts[keep, None] * matrix[keep] / mass[keep, None]).sum(axis=0)
    return expected, float(np.sum(counts[keep] * np.log(mass[keep])))


@pytest.mark.parametrize("seed", range(5))
def test_kernel_matches_reference_and_brute_force(seed):
    indptr, indices, weights, counts = random_classes(seed)
    v = np.random.RandomState(seed + 100).uniform(0.0, 3.0, size=12)
    got = class_e_step(indptr, indices, weights, counts, v)
    twin = reference.class_e_step(indptr, indices, weights, counts, v)
    expected, log_mass = dense_e_step(indptr, indices, weights, counts, v)
    np.testing.assert_allclose(got.expected_counts, twin.expected_counts, rtol=1e-12)
    np.testing.assert_allclose(got.expected_counts, expected, rtol=1e-12)
    assert got.log_mass == pytest.approx(twin.log_mass, rel=1e-12)
    assert got.log_mass == pytest.approx(log_mass, rel=1e-12)
    assert got.n_impossible == 0
    # every read of a class with positive mass is assigned
    assert got.expected_counts.sum() == pytest.approx(counts.sum(), rel=1e-12)


def test_kernel_is_additive_over_slices():
    indptr, indices, weights, counts = random_classes(7, n_classes=60)
    v = np.random.RandomState(1).uniform(0.5, 2.0, size=12)
    whole = class_e_step(indptr, indices, weights, counts, v)
    parts = [
        class_e_step(indptr[a : b + 1], indices, weights, counts[a:b], v)
        for a, b in [(0, 17), (17, 18), (18, 60)]
    ]
    np.testing.assert_allclose(sum(p.expected_counts for p in parts), whole.expected_counts)
    assert sum(p.log_mass for p in parts) == pytest.approx(whole.log_mass, rel=1e-13)
    for a, b in [(0, 17), (18, 60)]:
        twin = reference.class_e_step(indptr[a : b + 1], indices, weights, counts[a:b], v)
        got = class_e_step(indptr[a : b + 1], indices, weights, counts[a:b], v)
        np.testing.assert_allclose(got.expected_counts, twin.expected_counts, rtol=1e-12)


def test_impossible_classes_are_skipped_and_reported():
    # class 0: {0, 1} (both at 0: impossible); class 1: {2}; class 2: {1} (0 reads)
    indptr = np.array([0, 2, 3, 4])
    indices = np.array([0, 1, 2, 1])
    weights = np.ones(4)
    counts = np.array([3.0, 2.0, 0.0])
    v = np.array([0.0, 0.0, 1.0])
    for kernel in (class_e_step, reference.class_e_step):
        result = kernel(indptr, indices, weights, counts, v)
        np.testing.assert_allclose(result.expected_counts, [0.0, 0.0, 2.0])
        assert result.n_impossible == 1
        assert result.first_impossible == 0
        assert result.log_mass == pytest.approx(0.0)


def test_single_transcript_class_gets_its_count():
    indptr = np.array([0, 1, 3])
    indices = np.array([1, 0, 1])
    weights = np.array([0.25, 1.0, 1.0])
    counts = np.array([4.0, 2.0])
    v = np.array([1.0, 3.0])
    result = class_e_step(indptr, indices, weights, counts, v)
    np.testing.assert_allclose(result.expected_counts, [0.5, 4.0 + 1.5])
    assert result.log_mass == pytest.approx(4 * np.log(0.75) + 2 * np.log(4.0))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_unweighted_path_gives_the_weighted_bits(dtype):
    """Per-transcript weights folded into v (weights=None, int32 or int64 indices) give
    exactly the numbers of the per-entry path with w_ct = w_t."""
    indptr, indices, _, counts = random_classes(11, n_classes=50)
    rng = np.random.RandomState(3)
    v = rng.uniform(0.0, 3.0, size=12)
    w_t = 1.0 / rng.uniform(200.0, 4000.0, size=12)
    weighted = class_e_step(indptr, indices, w_t[indices], counts, v)
    folded = class_e_step(indptr, indices.astype(dtype), None, counts, v * w_t)
    np.testing.assert_array_equal(folded.expected_counts, weighted.expected_counts)
    assert folded.log_mass == weighted.log_mass
    twin = reference.class_e_step(indptr, indices, None, counts, v * w_t)
    np.testing.assert_allclose(twin.expected_counts, weighted.expected_counts, rtol=1e-12)


def test_unweighted_path_reports_impossible_classes():
    indptr = np.array([0, 2, 3])
    indices = np.array([0, 1, 2], dtype=np.int32)
    result = class_e_step(indptr, indices, None, np.array([3.0, 2.0]), np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(result.expected_counts, [0.0, 0.0, 2.0])
    assert (result.n_impossible, result.first_impossible) == (1, 0)


@pytest.mark.parametrize("weighted", [True, False])
def test_band_of_transcripts_gives_the_same_bits(weighted):
    """v and the output over a band [offset, offset + n) of the transcripts (a chunk of
    classes ordered by transcript) give the whole arrays' numbers there."""
    indptr, indices, weights, counts = random_classes(3, n_transcripts=40, n_classes=30)
    indices = (indices % 10) + 20  # every entry in transcripts 20..29
    weights = weights if weighted else None
    v = np.random.RandomState(4).uniform(0.5, 2.0, size=40)
    whole = class_e_step(indptr, indices, weights, counts, v)
    band = class_e_step(indptr, indices, weights, counts, v[20:30].copy(), offset=20)
    twin = reference.class_e_step(indptr, indices, weights, counts, v[20:30], offset=20)
    assert band.expected_counts.shape == (10,)
    np.testing.assert_array_equal(band.expected_counts, whole.expected_counts[20:30])
    assert band.log_mass == whole.log_mass
    np.testing.assert_allclose(twin.expected_counts, band.expected_counts, rtol=1e-12)
