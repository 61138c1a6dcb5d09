"""The corpus readers: LDA-C, UCI bag of words and Matrix Market, all sparse."""

from __future__ import annotations

import gzip
import re
import tracemalloc

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from emkit.corpora import read_ldac, read_matrix_market, read_uci_bow

#: 4 documents x 5 terms, with an empty document (row 2)
DENSE = np.array(
    [
        [2, 0, 1, 0, 0],
        [0, 0, 0, 0, 3],
        [0, 0, 0, 0, 0],
        [1, 1, 0, 4, 0],
    ],
    dtype=np.int64,
)

LDAC = "2 0:2 2:1\n1 4:3\n0\n3 3:4 0:1 1:1\n"

UCI = "4\n5\n6\n1 1 2\n1 3 1\n2 5 3\n4 1 1\n4 2 1\n4 4 4\n"
VOCAB = "apple\nbanana\ncherry\ndate\nelder\n"


def _write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _check(matrix, dense):
    assert sp.issparse(matrix) and matrix.format == "csr"
    assert matrix.dtype == np.int64
    assert matrix.shape == dense.shape
    assert matrix.has_sorted_indices
    np.testing.assert_array_equal(matrix.toarray(), dense)


def _raises(path, line, what):
    where = re.escape(str(path)) + (f", line {line}" if line is not None else "")
    return pytest.raises(ValueError, match=f"^{where}: .*{what}")


# --------------------------------------------------------------------------- LDA-C


@pytest.mark.parametrize("gz", [False, True])
def test_ldac_round_trip(tmp_path, gz):
    path = _write(tmp_path / ("c.ldac.gz" if gz else "c.ldac"), LDAC, gz)
    _check(read_ldac(path), DENSE)


def test_ldac_empty_documents_and_n_terms(tmp_path):
    path = _write(tmp_path / "c.ldac", "0\n1 1:5\n0\n\n\n")  # trailing blank lines ignored
    expected = np.zeros((3, 2), dtype=np.int64)
    expected[1, 1] = 5
    _check(read_ldac(path), expected)
    wide = np.zeros((3, 7), dtype=np.int64)
    wide[1, 1] = 5
    _check(read_ldac(path, n_terms=7), wide)
    _check(read_ldac(_write(tmp_path / "e.ldac", "0\n0\n")), np.zeros((2, 0), np.int64))
    _check(read_ldac(_write(tmp_path / "n.ldac", "")), np.zeros((0, 0), np.int64))


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("1 0:1\n2 0:1\n", 2, "says 2 distinct terms but has 1"),
        ("1 0:1\n0 3:1\n", 2, "says 0 distinct terms but has 1"),
        ("x 0:1\n", 1, "number of distinct terms"),
        ("-1\n", 1, "number of distinct terms"),
        ("1 0:1\n1 -1:2\n", 2, "term id '-1' is not a non-negative 64-bit integer"),
        ("1 a:2\n", 1, "term id 'a'"),
        ("1 1.5:2\n", 1, r"term id '1\.5'"),
        ("1 0:1\n1 0:0\n", 2, "count '0' of term 0 is not a positive 64-bit integer"),
        ("1 0:-2\n", 1, "count '-2'"),
        ("1 0:1.5\n", 1, r"count '1\.5'"),
        ("1 0:\n", 1, "count ''"),
        ("1 0\n", 1, "expected id:count"),
        ("0\n2 3:1 3:2\n", 2, "term id 3 appears twice"),
        ("1 0:1\n\n1 1:1\n", 2, "blank line"),
        ("1 99999999999999999999:1\n", 1, "term id '9+' is not a non-negative 64-bit"),
        ("1 0:99999999999999999999\n", 1, "count '9+' of term 0 is not a positive 64-bit"),
    ],
)
def test_ldac_errors_name_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path / "bad.ldac", text)
    with _raises(path, line, what):
        read_ldac(path)


def test_ldac_n_terms_too_small(tmp_path):
    path = _write(tmp_path / "c.ldac", LDAC)
    with _raises(path, 2, r"term id 4 is beyond n_terms=3 \(the file needs at least 5\)"):
        read_ldac(path, n_terms=3)
    for wrong in (-1, 2.0, True):
        with pytest.raises(ValueError, match="n_terms"):
            read_ldac(path, n_terms=wrong)


# ------------------------------------------------------------------ UCI bag of words


@pytest.mark.parametrize("gz", [False, True])
def test_uci_round_trip(tmp_path, gz):
    suffix = ".txt.gz" if gz else ".txt"
    docword = _write(tmp_path / f"docword{suffix}", UCI, gz)
    vocab = _write(tmp_path / f"vocab{suffix}", VOCAB, gz)
    matrix, words = read_uci_bow(docword, vocab)
    _check(matrix, DENSE)
    assert words == ["apple", "banana", "cherry", "date", "elder"]
    matrix, words = read_uci_bow(docword)
    _check(matrix, DENSE)
    assert words is None


def test_uci_no_triples_and_one_triple(tmp_path):
    matrix, _ = read_uci_bow(_write(tmp_path / "d0.txt", "2\n3\n0\n"))
    _check(matrix, np.zeros((2, 3), np.int64))
    matrix, _ = read_uci_bow(_write(tmp_path / "d1.txt", "2\n3\n1\n2 3 7\n"))
    expected = np.zeros((2, 3), np.int64)
    expected[1, 2] = 7
    _check(matrix, expected)


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("4\n5\n", 3, "ends before the header line NNZ"),
        ("4\n5 6\n1\n1 1 1\n", 2, "header line W"),
        ("x\n5\n1\n1 1 1\n", 1, "header line D"),
        ("4\n5\n-1\n", 3, "header line NNZ"),
        ("4\n5\n2\n1 1 1\n5 1 1\n", 5, r"docID 5 is outside 1\.\.4 \(D\)"),
        ("4\n5\n2\n1 1 1\n0 1 1\n", 5, r"docID 0 is outside 1\.\.4"),
        ("4\n5\n2\n1 1 1\n1 6 1\n", 5, r"wordID 6 is outside 1\.\.5 \(W\)"),
        ("4\n5\n2\n1 1 1\n1 0 1\n", 5, r"wordID 0 is outside"),
        ("4\n5\n2\n1 1 1\n1 2 0\n", 5, "count 0 is not a positive integer"),
        ("4\n5\n2\n1 1 1\n1 2 -3\n", 5, "count '-3' is not a non-negative 64-bit integer"),
        ("4\n5\n2\n1 1 1\n1 2 1.5\n", 5, r"count '1\.5'"),
        ("4\n5\n2\n1 1 1\n1 2 99999999999999999999\n", 5, "count '9+' is not"),
        ("4\n5\n2\n1 1 1\n1 2\n", 5, "expected 'docID wordID count'"),
        ("4\n5\n2\n1 1 1\n1 2 3 4\n", 5, "expected 'docID wordID count'"),
        ("4\n5\n3\n1 1 1\n2 2 2\n1 1 5\n", 6, "docID 1, wordID 1 appears twice"),
        ("4\n5\n3\n1 1 1\n2 2 2\n", 3, "header says NNZ=3 triples but the file has 2"),
        ("4\n5\n1\n1 1 1\n2 2 2\n", 3, "header says NNZ=1 triples but the file has 2"),
    ],
)
def test_uci_errors_name_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path / "docword.txt", text)
    with _raises(path, line, what):
        read_uci_bow(path)


def test_uci_error_line_counts_blank_lines(tmp_path):
    path = _write(tmp_path / "docword.txt.gz", "4\n5\n2\n\n1 1 1\n\n9 1 1\n", gz=True)
    with _raises(path, 7, "docID 9"):
        read_uci_bow(path)


def test_uci_vocab_errors(tmp_path):
    docword = _write(tmp_path / "docword.txt", UCI)
    short = _write(tmp_path / "short.txt", "a\nb\nc\nd\n")
    with _raises(short, None, "has 4 words but the docword header says W=5"):
        read_uci_bow(docword, short)
    gap = _write(tmp_path / "gap.txt", "a\nb\n\nd\ne\n")
    with _raises(gap, 3, "empty word"):
        read_uci_bow(docword, gap)


def test_uci_large_vocabulary_stays_sparse(tmp_path):
    """10^4 documents x 10^6 words: a dense matrix would be 80 GB."""
    n_docs, n_words = 10_000, 1_000_000
    rng = np.random.default_rng(0)
    doc = np.repeat(np.arange(1, n_docs + 1), 5)
    word = np.concatenate([rng.choice(n_words, 5, replace=False) + 1 for _ in range(n_docs)])
    count = rng.integers(1, 10, doc.size)
    body = "\n".join(f"{d} {w} {c}" for d, w, c in zip(doc, word, count, strict=True))
    docword = _write(tmp_path / "docword.txt", f"{n_docs}\n{n_words}\n{doc.size}\n{body}\n")
    vocab = _write(tmp_path / "vocab.txt", "".join(f"w{i}\n" for i in range(n_words)))
    tracemalloc.start()
    try:
        matrix, words = read_uci_bow(docword, vocab)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sp.issparse(matrix) and matrix.shape == (n_docs, n_words)
    assert matrix.nnz == doc.size and len(words) == n_words
    assert matrix[doc[7] - 1, word[7] - 1] == count[7]
    assert matrix.sum() == count.sum()
    assert peak < 300e6  # the words and the triples, far from 8e10 bytes dense


def test_ldac_large_vocabulary_stays_sparse(tmp_path):
    path = _write(tmp_path / "c.ldac", "1 999999:2\n0\n2 0:1 5:1\n")
    tracemalloc.start()
    try:
        matrix = read_ldac(path, n_terms=10**9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sp.issparse(matrix) and matrix.shape == (3, 10**9) and matrix.nnz == 3
    assert matrix[0, 999_999] == 2
    assert peak < 10e6


# ------------------------------------------------------------------- Matrix Market


@pytest.mark.parametrize("field", ["integer", "real"])
@pytest.mark.parametrize("gz", [False, True])
def test_matrix_market_round_trip(tmp_path, field, gz):
    path = tmp_path / "c.mtx"
    source = sp.coo_matrix(DENSE.astype(np.float64 if field == "real" else np.int64))
    scipy.io.mmwrite(path, source, field=field)
    if gz:
        gz_path = tmp_path / "c.mtx.gz"
        gz_path.write_bytes(gzip.compress(path.read_bytes()))
        path = gz_path
    _check(read_matrix_market(path), DENSE)


def test_matrix_market_dense_layout(tmp_path):
    path = tmp_path / "d.mtx"
    scipy.io.mmwrite(path, DENSE)
    _check(read_matrix_market(path), DENSE)


def _mtx(tmp_path, field, entries, shape=(2, 3)):
    lines = [f"%%MatrixMarket matrix coordinate {field} general", f"{shape[0]} {shape[1]} "]
    lines[1] += str(len(entries))
    lines += [" ".join(str(x) for x in entry) for entry in entries]
    return _write(tmp_path / f"{field}.mtx", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("field", "entries", "what"),
    [
        ("integer", [(1, 1, 2), (2, 3, -1)], r"entry \(2, 3\) is .*-1.*non-negative integers"),
        ("real", [(1, 2, 1.5)], r"entry \(1, 2\) is .*1\.5"),
        ("real", [(2, 2, -3.0)], r"entry \(2, 2\) is .*-3"),
        ("real", [(1, 1, "nan")], r"entry \(1, 1\) is .*nan"),
        ("complex", [(1, 1, 1, 0)], "the field is 'complex'"),
        ("pattern", [(1, 1)], "the field is 'pattern'"),
    ],
)
def test_matrix_market_refuses_non_counts(tmp_path, field, entries, what):
    path = _mtx(tmp_path, field, entries)
    with _raises(path, None, what):
        read_matrix_market(path)


def test_matrix_market_unreadable(tmp_path):
    path = _write(tmp_path / "junk.mtx", "not a matrix\n")
    with _raises(path, None, "not a readable Matrix Market file"):
        read_matrix_market(path)


def test_matrix_market_large_vocabulary_stays_sparse(tmp_path):
    path = _mtx(tmp_path, "integer", [(1, 1_000_000, 4), (3, 7, 1)], shape=(3, 1_000_000))
    matrix = read_matrix_market(path)
    assert sp.issparse(matrix) and matrix.shape == (3, 1_000_000) and matrix.nnz == 2
    assert matrix[0, 999_999] == 4 and matrix.dtype == np.int64
