"""The corpus files of the topic models (``emkit fit CORPUS --model lda|plsa``) and their
vocabularies.

A corpus file is a document-term matrix of counts, one row per document and one column
per term, in one of four formats, told apart by the file's name (or ``--corpus-format``):

========  ===============================  ==========================================
format    file names                       vocabulary
========  ===============================  ==========================================
ldac      ``*.ldac`` (``.gz``)             ``CORPUS.vocab`` beside it (gensim's
                                           ``BleiCorpus`` writes it there), if present
mtx       ``*.mtx`` (``.gz``)              none of its own
uci       ``docword.*.txt`` (``.gz``)      ``vocab.*.txt`` (``.gz``) beside it, if present
csv       ``*.csv``, ``*.tsv``, ``*.npy``  the header row, if the file has one
========  ===============================  ==========================================

``--vocab FILE`` (one word per line, in the order of the term ids) gives or replaces
the vocabulary. The first three are read by :mod:`emkit.corpora` into a sparse matrix and
never made dense; a CSV (or ``.npy``) count matrix is dense in the file already and is
read as the table it is (:func:`emkit.cli.data.read_table`), then made sparse.

The vocabulary is kept in the model file (the user metadata of :func:`emkit.io.save`,
key ``vocabulary``), so that ``emkit topics`` prints words without ``--vocab``.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from emkit._text import one_line
from emkit.cli.common import CLIError
from emkit.cli.data import DataError, read_table
from emkit.cli.report import Entry

__all__ = [
    "CORPUS_FORMATS",
    "VOCABULARY_KEY",
    "Documents",
    "corpus_format",
    "read_documents",
    "read_vocabulary",
    "saved_vocabulary",
]

#: key of the vocabulary in a model file's user metadata
VOCABULARY_KEY = "vocabulary"

#: ``--corpus-format`` -> how messages and summaries name it
CORPUS_FORMATS = {
    "ldac": "LDA-C",
    "mtx": "Matrix Market",
    "uci": "UCI bag of words",
    "csv": "count matrix",
}

_NAMES_TEXT = (
    "*.ldac (LDA-C), *.mtx (Matrix Market), docword.*.txt (UCI bag of words; .gz "
    "allowed for these three) or *.csv, *.tsv, *.npy (a count matrix, one row per document)"
)


@dataclass(frozen=True)
class Documents:
    """A corpus file as the topic models read it: the inputs of ``fit``, ``predict`` and
    ``score`` for ``--model lda`` and ``plsa`` (see :class:`emkit.cli.kind.ModelKind`'s
    ``read``).

    X : scipy.sparse.csr_matrix of shape (n_documents, n_terms)
        Counts (int64 from the corpus readers, float64 from a count matrix).
    source : the file, as messages name it
    format : a key of :data:`CORPUS_FORMATS`
    vocabulary : tuple of n_terms words, or None
    vocabulary_source : where the vocabulary was read (a path, or "the header"), or None
    lines : the line of the file of every document (1-based), or None where a document
        is not one line (UCI, Matrix Market)
    """

    X: sp.csr_matrix
    source: str
    format: str
    vocabulary: tuple[str, ...] | None = None
    vocabulary_source: str | None = None
    lines: tuple[int, ...] | None = None

    @property
    def n_tokens(self) -> int:
        return round(float(self.X.sum()))

    def where(self, row: int, col: int) -> str:
        """Where the count ``X[row, col]`` is in the file, as a user counts."""
        word = "" if self.vocabulary is None else f" ({self.vocabulary[col]!r})"
        if self.format == "uci":
            return f"docID {row + 1}, wordID {col + 1}{word} of {self.source}"
        if self.format == "mtx":
            return f"entry ({row + 1}, {col + 1}){word} of {self.source}"
        line = f"line {self.lines[row]}" if self.lines is not None else f"document {row + 1}"
        term = f"term id {col}" if self.format == "ldac" else f"column {col + 1}"
        return f"{self.source} {line}, {term}{word}"

    def entry(self) -> Entry:
        """The ``data`` line of the fit summary."""
        n_docs, n_terms = self.X.shape
        n_tokens = self.n_tokens
        n_empty = int(np.count_nonzero(np.diff(self.X.indptr) == 0))
        parts = [
            f"{self.source} ({CORPUS_FORMATS[self.format]}): {n_docs} documents x "
            f"{n_terms} terms, {n_tokens} tokens"
        ]
        if n_empty:
            parts.append(f"{n_empty} empty documents")
        if self.vocabulary is not None:
            parts.append(f"vocabulary from {self.vocabulary_source}")
        else:
            parts.append("no vocabulary (give --vocab FILE for words)")
        data = {
            "path": self.source,
            "format": self.format,
            "n_documents": n_docs,
            "n_terms": n_terms,
            "n_tokens": n_tokens,
            "n_empty_documents": n_empty,
            "vocabulary": self.vocabulary_source,
        }
        return Entry("data", ", ".join(parts), {"data": data})

    def metadata(self) -> dict:
        """What ``emkit fit`` keeps in the model file about the corpus: its vocabulary."""
        return {} if self.vocabulary is None else {VOCABULARY_KEY: list(self.vocabulary)}


# -- formats ------------------------------------------------------------------------------
def corpus_format(path: str, given: str | None = None) -> str:
    """The format of the corpus file ``path``: ``given`` (``--corpus-format``), else from
    its name (see the module docstring); a CLIError when the name does not tell."""
    if given is not None:
        return given
    name = Path(path).name.lower()
    stem = name.removesuffix(".gz")
    if stem.endswith(".ldac"):
        return "ldac"
    if stem.endswith(".mtx"):
        return "mtx"
    if "docword" in stem and stem.endswith(".txt"):
        return "uci"
    if name.endswith((".csv", ".tsv", ".npy")):
        return "csv"
    raise CLIError(
        f"{path}: cannot tell the corpus format from the file name; name it {_NAMES_TEXT}, "
        "or give --corpus-format ldac|mtx|uci|csv"
    )


def _existing_file(path: str, what: str) -> Path:
    file = Path(path)
    if not file.exists():
        raise DataError(f"{what} not found: {path}")
    if file.is_dir():
        raise DataError(f"{path} is a directory, not a {what}")
    return file


def _sibling(path: Path, name: str) -> Path | None:
    """``name`` (or ``name.gz``) in the folder of ``path``, if it is a file."""
    for candidate in (name, name + ".gz"):
        sibling = path.with_name(candidate)
        if sibling.is_file():
            return sibling
    return None


def _own_vocabulary(path: Path, fmt: str) -> Path | None:
    """The vocabulary file that goes with the corpus file ``path`` by convention."""
    if fmt == "uci":
        stem = path.name.removesuffix(".gz")
        head, _, tail = stem.rpartition("docword")
        return _sibling(path, f"{head}vocab{tail}")
    if fmt == "ldac":
        return _sibling(path, path.name.removesuffix(".gz") + ".vocab")
    return None


def read_vocabulary(path: str) -> tuple[str, ...]:
    """The words of a vocabulary file, one a line (UTF-8, optionally gzip-compressed;
    surrounding whitespace stripped; blank lines at the end ignored, elsewhere an error)."""
    file = _existing_file(path, "vocabulary file")
    try:
        raw = file.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"vocabulary file {path} is not UTF-8 text (one word per line)") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read vocabulary file {path}: {one_line(exc)}") from None
    words = [line.strip() for line in text.splitlines()]
    while words and not words[-1]:
        words.pop()
    if not words:
        raise DataError(f"vocabulary file {path} is empty; write one word per line")
    if "" in words:
        raise DataError(
            f"vocabulary file {path} line {words.index('') + 1} is blank; write one word "
            "per line, in the order of the corpus's term ids"
        )
    return tuple(words)


def _check_length(words: tuple[str, ...], where: str, n_terms: int, source: str) -> None:
    if len(words) != n_terms:
        raise CLIError(
            f"the vocabulary ({where}) has {len(words)} words but {source} has {n_terms} "
            "terms (columns); give the vocabulary of this corpus, one word per line in the "
            "order of its term ids"
        )


def _read_matrix(file: Path, source: str, fmt: str, n_terms: int | None, width: str | None):
    """(csr, header words or None, document lines or None) of a corpus file; ``n_terms``
    is the width of an LDA-C file, which ``width`` says where it comes from."""
    from emkit import corpora

    if fmt == "csv":
        table = read_table(source, what="corpus file")
        lines = table.lines
        return sp.csr_matrix(table.X), table.columns, lines
    try:
        if fmt == "ldac":
            try:
                X = corpora.read_ldac(file, n_terms=n_terms)
            except ValueError as exc:
                if width is None or "beyond n_terms" not in str(exc):
                    raise
                raise DataError(f"{exc}; {width} has {n_terms} terms") from None
            # one document a line, and blank lines only at the end
            return X, None, tuple(range(1, X.shape[0] + 1))
        if fmt == "uci":
            return corpora.read_uci_bow(file)[0], None, None
        return corpora.read_matrix_market(file), None, None
    except UnicodeDecodeError:
        raise DataError(
            f"{source} is not a {CORPUS_FORMATS[fmt]} text file (not UTF-8); give "
            f"{_NAMES_TEXT}, or the right --corpus-format"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{source} is damaged ({one_line(exc)})") from None


def read_documents(args, path: str, model=None) -> Documents:
    """The corpus file ``path`` with its vocabulary (``--vocab``, else its own; see the
    module docstring).

    ``model``: the saved model the documents are for (``predict``, ``score``), or None
    (``fit``). With a model, the corpus must have the model's number of terms, and its
    vocabulary, when both are known, the model's.
    """
    if getattr(args, "columns", None) is not None:
        raise CLIError(
            "--columns does not apply to the topic models: every column of a corpus "
            "file is a term of the vocabulary"
        )
    fmt = corpus_format(path, getattr(args, "corpus_format", None))
    if path == "-" and fmt != "csv":
        raise CLIError(
            f"a {CORPUS_FORMATS[fmt]} corpus cannot be read from standard input; give its file"
        )
    file = Path(path) if path == "-" else _existing_file(path, "corpus file")
    vocab_option = getattr(args, "vocab", None)
    vocab_file = vocab_option or (None if path == "-" else _own_vocabulary(file, fmt))
    words = None if vocab_file is None else read_vocabulary(str(vocab_file))
    expected = None if model is None else int(model.estimator.n_features_in_)
    # an LDA-C file has no width of its own: its largest term id may be below the
    # vocabulary's last
    source = str(vocab_file) if vocab_file is not None else None
    if words is not None:
        n_terms, width = len(words), f"the vocabulary ({source})"
    else:
        n_terms, width = expected, None if model is None else f"the model ({model.path})"
    X, header, lines = _read_matrix(file, path, fmt, n_terms, width)
    if words is None and header is not None:
        words, source = header, "the header"
    if words is not None:
        _check_length(words, source, X.shape[1], path)
    documents = Documents(X.tocsr(), path, fmt, words, source, lines)
    if model is not None:
        _check_model_terms(documents, model, expected)
    return documents


def _check_model_terms(documents: Documents, model, expected: int) -> None:
    got = documents.X.shape[1]
    if got != expected:
        raise CLIError(
            f"{documents.source} has {got} terms (columns) but the model in {model.path} was "
            f"fitted on {expected}; give documents over the vocabulary of the fit (the same "
            "term ids, or the same vocab file)"
        )
    theirs = saved_vocabulary(model)
    if theirs is None or documents.vocabulary is None or theirs == documents.vocabulary:
        return
    j = next(i for i, (a, b) in enumerate(zip(theirs, documents.vocabulary, strict=True)) if a != b)
    raise CLIError(
        f"the vocabulary of {documents.source} ({documents.vocabulary_source}) is not the "
        f"model's: term {j} is {documents.vocabulary[j]!r} there and {theirs[j]!r} in "
        f"{model.path}; give documents over the vocabulary of the fit"
    )


def saved_vocabulary(model) -> tuple[str, ...] | None:
    """The vocabulary a model file keeps (a :class:`emkit.cli.inputs.SavedModel`), or
    None; a CLIError when it is there but is not a list of one word per term."""
    value = model.metadata.get("user", {}).get(VOCABULARY_KEY)
    if value is None:
        return None
    n_terms = int(getattr(model.estimator, "n_features_in_", -1))
    if (
        not isinstance(value, list)
        or not all(isinstance(word, str) for word in value)
        or len(value) != n_terms
    ):
        raise CLIError(
            f"{model.path}: the vocabulary in the file's metadata is not a list of "
            f"{n_terms} words (one per term of the model); give the vocabulary with --vocab FILE"
        )
    return tuple(value)
