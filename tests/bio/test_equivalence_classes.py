"""EquivalenceClasses: flat storage, chunks and one clear error per bad input."""

from __future__ import annotations

import numpy as np
import pytest

from emkit.bio.classes import EquivalenceClasses


def test_flat_storage_and_views():
    classes = EquivalenceClasses(
        [[0], [1, 2], [0, 2]], [3, 0, 4], effective_lengths=[10.0, 20.0, 40.0], names="abc"
    )
    np.testing.assert_array_equal(classes.indptr, [0, 1, 3, 5])
    np.testing.assert_array_equal(classes.indices, [0, 1, 2, 0, 2])
    assert classes.n_classes == 3 and classes.n_transcripts == 3 and classes.n_reads == 7
    np.testing.assert_allclose(classes.entry_weights(), [0.1, 0.05, 0.025, 0.1, 0.025])
    assert [m.tolist() for m in classes.members] == [[0], [1, 2], [0, 2]]
    same = EquivalenceClasses.from_arrays(
        classes.indptr, classes.indices, classes.counts, classes.effective_lengths, "abc"
    )
    np.testing.assert_array_equal(same.entry_weights(), classes.entry_weights())
    assert "3 classes" in repr(classes)


def test_weights_replace_lengths():
    classes = EquivalenceClasses(
        [[0, 1]], [2], effective_lengths=[10.0, 20.0], weights=[[0.7, 0.3]]
    )
    np.testing.assert_allclose(classes.entry_weights(), [0.7, 0.3])


def test_chunks_cover_every_class_once():
    rng = np.random.RandomState(0)
    members = [rng.choice(50, size=rng.randint(1, 4), replace=False) for _ in range(101)]
    classes = EquivalenceClasses(members, rng.poisson(3, 101))
    for size in (None, 1, 7, 1000):
        chunks = classes.chunks(size)
        assert sum(len(c) for c in chunks) == 101
        ids = np.concatenate([c.class_ids for c in chunks])
        np.testing.assert_array_equal(np.sort(ids), np.arange(101))
        np.testing.assert_array_equal(
            np.concatenate([c.counts for c in chunks]), classes.counts[ids]
        )
        assert [c.first_class for c in chunks] == sorted({c.first_class for c in chunks})
        for chunk in chunks:
            for c, class_id in enumerate(chunk.class_ids):
                members = chunk.indices[chunk.indptr[c] : chunk.indptr[c + 1]]
                np.testing.assert_array_equal(members, classes.members[class_id])
                low, high = chunk.band
                assert low <= members.min() and members.max() < high


def test_chunks_hold_the_classes_by_smallest_transcript():
    """Consecutive classes share transcripts (the E-step's cache): within a block of
    transcripts by size, then by smallest transcript, ties in file order."""
    import emkit.bio.classes as classes_module

    classes = EquivalenceClasses([[5, 2], [0], [3, 1], [2], [4, 0]], [1, 2, 3, 4, 5])
    (chunk,) = classes.chunks()
    np.testing.assert_array_equal(chunk.class_ids, [1, 3, 4, 2, 0])
    np.testing.assert_array_equal(chunk.indices, [0, 2, 4, 0, 3, 1, 5, 2])
    np.testing.assert_array_equal(chunk.counts, [2, 4, 5, 3, 1])
    assert chunk.band == (0, 6)
    parts = classes.chunks(2)
    assert [p.band for p in parts] == [(0, 3), (0, 5), (2, 6)]
    block = classes_module.LOCALITY_BLOCK
    far = EquivalenceClasses([[block + 1], [block, block + 2], [3, 4], [0]], [1, 1, 1, 1])
    (chunk,) = far.chunks()
    np.testing.assert_array_equal(chunk.class_ids, [3, 2, 0, 1])
    weighted = EquivalenceClasses([[3, 2], [1]], [1, 1], weights=[[0.5, 0.4], [0.25]])
    (chunk,) = weighted.chunks()
    np.testing.assert_array_equal(chunk.weights, [0.25, 0.5, 0.4])
    assert weighted.weights.tolist() == [0.5, 0.4, 0.25]  # the classes' own arrays stay


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"members": [[0, 3]], "counts": [1], "names": "abc"}, "names transcript 3"),
        ({"members": [[0, -1]], "counts": [1]}, "names transcript -1"),
        ({"members": [[0]], "counts": [-2]}, "non-negative: class 0 has -2"),
        ({"members": [[0]], "counts": [np.nan]}, "finite"),
        ({"members": [[0], [1]], "counts": [1]}, "1 entries for 2 classes"),
        ({"members": [[0], []], "counts": [1, 1]}, "class 1 has no transcripts"),
        (
            {"members": [[0, 1]], "counts": [1], "effective_lengths": [10.0, 0.0]},
            "transcript 1 has 0",
        ),
        (
            {"members": [[0, 1]], "counts": [1], "effective_lengths": [10.0, -5.0]},
            "positive and finite",
        ),
        (
            {"members": [[0]], "counts": [1], "effective_lengths": [1.0, 2.0], "names": "abc"},
            "do not match each other",
        ),
        ({"members": [[0, 1]], "counts": [1], "weights": [[0.5]]}, "one weight per member"),
        ({"members": [[0, 1]], "counts": [1], "weights": [[0.5, -1.0]]}, "non-negative"),
        ({"members": [[0.5]], "counts": [1]}, "integer transcript indices"),
    ],
)
def test_bad_input_one_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EquivalenceClasses(**kwargs)


def test_chunks_carry_transcript_weights_and_compact_indices():
    """Without per-entry weights the chunks carry 1/ℓ̃ per transcript and int32 indices;
    salmon's weights stay per entry."""
    classes = EquivalenceClasses([[0, 1], [1, 2], [2]], [3, 1, 2], effective_lengths=[10, 20, 40])
    (chunk,) = classes.chunks()
    assert chunk.weights is None
    np.testing.assert_array_equal(chunk.transcript_weights, 1.0 / np.array([10, 20, 40.0]))
    assert chunk.indices.dtype == np.int32
    np.testing.assert_array_equal(chunk.indices, [2, 0, 1, 1, 2])  # the one-transcript class first
    assert classes.indices.dtype == np.int64  # the public arrays are unchanged
    weighted = EquivalenceClasses([[0, 1], [1]], [1, 1], weights=[[0.7, 0.3], [1.0]])
    (chunk,) = weighted.chunks()
    np.testing.assert_array_equal(chunk.weights, [1.0, 0.7, 0.3])
    assert chunk.transcript_weights is None


def test_default_chunks_have_equal_entries(monkeypatch):
    import emkit.bio.classes as classes_module

    monkeypatch.setattr(classes_module, "MIN_CHUNK_ENTRIES", 1000)  # a small set suffices
    rng = np.random.RandomState(1)
    sizes = rng.randint(1, 6, size=20_000)
    indptr = np.concatenate(([0], np.cumsum(sizes)))
    indices = rng.randint(0, 500, size=indptr[-1])
    classes = EquivalenceClasses.from_arrays(indptr, indices, np.ones(sizes.size))
    entries = np.diff(classes.locality_order().indptr[classes.chunk_bounds()])
    assert entries.size == 16
    assert entries.max() - entries.min() <= 0.01 * entries.mean()  # equal work per chunk
