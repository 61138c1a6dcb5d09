"""The bundled King James Bible corpus: shape, totals, titles, known counts, never dense."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from emkit import datasets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kjv():
    return datasets.load_kjv_chapters()


def test_shape_dtype_and_totals(kjv):
    assert isinstance(kjv, datasets.Corpus)
    assert isinstance(kjv.counts, sp.csr_matrix)
    assert kjv.counts.shape == (1189, 4377)
    assert kjv.counts.dtype == np.int64
    assert kjv.counts.nnz == 148_242
    assert int(kjv.counts.sum()) == 267_260
    assert kjv.counts.data.min() >= 1
    assert kjv.counts.has_sorted_indices
    # every chapter has words and every term occurs in at least 5 chapters
    assert np.diff(kjv.counts.indptr).min() > 0
    assert np.bincount(kjv.counts.indices, minlength=4377).min() >= 5
    assert kjv.description


def test_titles_in_canonical_order(kjv):
    assert len(kjv.titles) == 1189
    assert kjv.titles[0] == "Genesis 1"
    assert kjv.titles[928] == "Malachi 4"  # the last of the 929 Old Testament chapters
    assert kjv.titles[929] == "Matthew 1"
    assert kjv.titles[-1] == "Revelation 22"
    assert sum(t.startswith("Psalms ") for t in kjv.titles) == 150
    assert len(set(kjv.titles)) == 1189


def test_vocabulary_is_sorted_and_without_stop_words(kjv):
    vocabulary = kjv.vocabulary
    assert len(vocabulary) == 4377
    assert list(vocabulary) == sorted(vocabulary)
    assert all(word.isascii() and word.isalpha() and word.islower() for word in vocabulary)
    assert min(map(len, vocabulary)) >= 2
    for stop_word in ("the", "and", "thee", "thou", "unto", "hath", "shalt", "ye", "saith"):
        assert stop_word not in vocabulary


def test_known_counts(kjv):
    def count(title, word):
        return kjv.counts[kjv.titles.index(title), kjv.vocabulary.index(word)]

    # Genesis 1: "firmament" 9 times, "waters" 11, "light" 10 (Gen 1:3-18 by hand)
    assert count("Genesis 1", "firmament") == 9
    assert count("Genesis 1", "waters") == 11
    assert count("Genesis 1", "light") == 10
    assert count("John 11", "wept") == 1  # 11:35, "Jesus wept."
    # the possessive 's is dropped: "Pharaoh's house" (12:15) counts as pharaoh, 6 in all
    assert count("Genesis 12", "pharaoh") == 6


def test_the_loader_never_densifies(kjv, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the loader made a dense array of the corpus")

    for name in ("toarray", "todense"):
        monkeypatch.setattr(sp._base._spbase, name, refuse)
    monkeypatch.setattr(sp.coo_matrix, "toarray", refuse, raising=False)
    corpus = datasets.load_kjv_chapters()
    assert sp.issparse(corpus.counts)
    assert (corpus.counts != kjv.counts).nnz == 0


def test_corpus_is_frozen(kjv):
    with pytest.raises(dataclasses.FrozenInstanceError):
        kjv.titles = ()


@pytest.mark.skipif(shutil.which("bible") is None, reason="Debian's bible-kjv is not installed")
@pytest.mark.skipif(
    not (ROOT / "tools" / "make_kjv_corpus.py").exists(), reason="needs the source checkout"
)
def test_the_shipped_files_are_what_the_tool_builds():
    pytest.importorskip("sklearn")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_kjv_corpus.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
