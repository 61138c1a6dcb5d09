"""Document-term matrices for the topic models: validation and chunking, never dense.

A corpus arrives as a SciPy sparse matrix or array (``CountVectorizer``'s CSR output,
or what :mod:`emkit.corpora` reads), a dense array-like, or a Dask array (of dense or
sparse blocks). It is checked entry by entry without densifying: counts must be
finite, non-negative integers, and the vocabulary (the number of columns) must be the
one the estimator was fitted on. Empty documents (rows without any count) are kept:
they have no words to explain, so they contribute nothing to the statistics or the
bound, and their topic proportions are the prior's mean.

The chunks (:class:`emkit.models._documents.DocumentChunk`) are blocks of consecutive
rows. Their boundaries depend only on the data, ``chunk_size`` and ``n_components``,
never on ``n_jobs``, so a fit on any number of threads adds the same statistics in the
same order and gives the same numbers.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from emkit.distributed.dask import DaskChunks, is_dask_collection
from emkit.estimators._base import TrainingData, check_2d, numeric_array
from emkit.models._documents import DocumentChunk

__all__ = ["document_chunks", "prepare_documents", "validated_documents"]

#: nonzeros per chunk, at least: enough work per chunk to amortise adding its statistics
MIN_CHUNK_NONZEROS = 1 << 14


def _entry_position(csr, position: int) -> tuple[int, int]:
    """(row, column) of the ``position``-th stored entry of a CSR matrix."""
    return int(np.searchsorted(csr.indptr, position, side="right") - 1), int(csr.indices[position])


def _entry_error(csr, position: int, value: float, problem: str, name: str) -> ValueError:
    row, column = _entry_position(csr, position)
    # scikit-learn's wording first, which its estimator checks look for
    lead = f"Negative values in data passed to {name}: " if value < 0 else ""
    return ValueError(
        f"{lead}{name}[{row}, {column}] = {value!r} {problem}: a document-term matrix holds "
        "counts of words (non-negative integers); give raw counts (e.g. from "
        "sklearn's CountVectorizer), not frequencies or tf-idf weights"
    )


def check_counts(csr: sp.csr_matrix, name: str = "X", first_row: int = 0) -> None:
    """A one-line ValueError naming the first stored entry of ``csr`` that is not a
    finite non-negative integer (rows numbered from ``first_row``)."""
    data = csr.data
    finite = np.isfinite(data)
    if not finite.all():
        position = int(np.argmin(finite))
        row, column = _entry_position(csr, position)
        row += first_row
        # the wording of every other estimator's check (estimators._data)
        raise ValueError(
            f"Input {name} contains NaN or infinity in row {row}, column {column} "
            f"({name}[{row}, {column}] = {data[position]}); counts of words are finite: "
            "drop or fix the entry"
        )
    for bad, problem in (
        (data < 0, "is negative"),
        (data != np.floor(data), "is not an integer"),
    ):
        if bad.any():
            position = int(np.argmax(bad))
            error = _entry_error(csr, position, float(data[position]), problem, name)
            if first_row:
                error = ValueError(str(error).replace(f"{name}[", f"{name}[{first_row}+", 1))
            raise error


def _vocabulary_error(estimator, n_terms: int) -> ValueError:
    expected = int(estimator.n_features_in_)
    return ValueError(
        f"X has {n_terms} features, but {type(estimator).__name__} is expecting "
        f"{expected} features as input: X has {n_terms} terms (columns) and the "
        f"vocabulary of fit has {expected}; transform and score documents with the "
        "vocabulary of fit (the same fitted CountVectorizer, or the same vocab file)"
    )


def validated_documents(estimator, X, *, reset: bool, name: str = "X") -> sp.csr_matrix:
    """In-memory X as a float64 CSR matrix of checked counts (duplicates summed, indices
    sorted, zeros dropped); sets (``reset``) or checks ``n_features_in_``.

    Parameters
    ----------
    estimator : the topic model X is for.
    X : sparse matrix or array, or array-like of shape (n_docs, n_terms)
    reset : bool
        True in ``fit`` (X sets the vocabulary size), False in ``transform``, ``score``
        and later ``partial_fit`` batches (X must have it).
    """
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a sparse array of shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} must hold counts (numbers), got a sparse matrix of dtype {X.dtype}"
            )
        csr = sp.csr_matrix(X, dtype=np.float64, copy=True)
    else:
        array = numeric_array(X, name)
        check_2d(array, name)
        csr = sp.csr_matrix(np.asarray(array, dtype=np.float64))
    if (
        not reset
        and hasattr(estimator, "n_features_in_")
        and csr.shape[1] != estimator.n_features_in_
    ):
        raise _vocabulary_error(estimator, csr.shape[1])
    if csr.shape[0] == 0:
        raise ValueError(f"{name} has 0 documents (shape={csr.shape}): give at least one")
    if csr.shape[1] == 0:
        raise ValueError(f"{name} has 0 terms (shape={csr.shape}): give at least one column")
    check_counts(csr, name)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    # scikit-learn's bookkeeping (n_features_in_; feature names of a DataFrame)
    validate_data(
        estimator,
        X if getattr(X, "columns", None) is not None else csr,
        accept_sparse="csr",
        reset=reset,
        ensure_all_finite=False,
        dtype=None,
    )
    return csr


def chunk_rows(csr: sp.csr_matrix, n_components: int, chunk_size: int | None) -> np.ndarray:
    """Row boundaries of the chunks, shape (n_chunks + 1,).

    ``chunk_size`` documents per chunk when given; otherwise blocks of about
    ``max(MIN_CHUNK_NONZEROS, n_components * n_terms / 8)`` nonzeros, so that the
    E-step of a chunk (about nonzeros x n_components x inner iterations) outweighs
    adding its (n_components, n_terms) statistics.
    """
    n_docs = csr.shape[0]
    if chunk_size is not None:
        return np.append(np.arange(0, n_docs, int(chunk_size)), n_docs)
    target = max(MIN_CHUNK_NONZEROS, n_components * csr.shape[1] // 8)
    cuts = np.searchsorted(csr.indptr, np.arange(target, csr.nnz, target), side="left")
    return np.unique(np.concatenate(([0], cuts, [n_docs])))


def document_chunks(csr: sp.csr_matrix, n_components: int, chunk_size: int | None) -> list:
    """The chunks of a validated CSR matrix (row slices, see :func:`chunk_rows`)."""
    bounds = chunk_rows(csr, n_components, chunk_size)
    return [
        DocumentChunk.from_matrix(csr[start:stop], first_row=int(start))
        for start, stop in itertools.pairwise(bounds)
    ]


# -- Dask ------------------------------------------------------------------------------
def _block_summary(block):
    """(n_docs, n_terms, tokens, first problem or None) of one Dask block."""
    csr = sp.csr_matrix(block, dtype=np.float64)
    try:
        check_counts(csr)
    except ValueError as exc:
        return csr.shape[0], csr.shape[1], 0.0, str(exc)
    return csr.shape[0], csr.shape[1], float(csr.data.sum()), None


def _dask_chunk(block):
    return DocumentChunk.from_matrix(block)


def _dask_documents(estimator, X, reset: bool):
    """(DaskChunks, in-memory sample CSR, tokens) of a Dask array of counts."""
    import dask

    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D Dask array, got {X.ndim} dimensions")
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError("the Dask array has unknown chunk sizes; call X.compute_chunk_sizes()")
    X = X.rechunk({1: -1})
    n_terms = int(X.shape[1])
    if not reset and n_terms != estimator.n_features_in_:
        raise _vocabulary_error(estimator, n_terms)
    blocks = list(X.to_delayed().ravel())
    summaries = dask.compute(*[dask.delayed(_block_summary)(b) for b in blocks])
    starts = np.cumsum((0, *X.chunks[0]))
    for start, (_, _, _, problem) in zip(starts, summaries, strict=False):
        if problem is not None:
            raise ValueError(problem.replace("X[", f"X[{int(start)}+", 1))
    tokens = float(sum(s[2] for s in summaries))
    if reset:
        estimator.n_features_in_ = n_terms
    # the first blocks, up to 100,000 documents, start the fit (an in-memory sample)
    taken, n_taken = [], 0
    for block, size in zip(blocks, X.chunks[0], strict=True):
        if n_taken >= 100_000:
            break
        taken.append(block)
        n_taken += size
    sample = sp.vstack([sp.csr_matrix(b, dtype=np.float64) for b in dask.compute(*taken)]).tocsr()
    return DaskChunks([X], _dask_chunk), sample, tokens, int(X.shape[0])


def prepare_documents(estimator, X, *, reset: bool) -> TrainingData:
    """The fit template's data for a topic model: chunks, the in-memory sample as the
    one initialisation chunk, and ``n_samples`` the corpus's total token count (so
    ``lower_bound_`` is the bound per word and ``tol`` does not depend on corpus size).
    """
    if is_dask_collection(X):
        chunks, sample, tokens, n_docs = _dask_documents(estimator, X, reset)
        init = [DocumentChunk.from_matrix(sample)]
    else:
        sample = validated_documents(estimator, X, reset=reset)
        chunks = document_chunks(sample, estimator.n_components, estimator.chunk_size)
        init = chunks
        tokens, n_docs = float(sample.data.sum()), sample.shape[0]
    if tokens <= 0:
        raise ValueError(
            "X has no words: every document is empty (all counts are 0); a topic model "
            "needs at least one word"
        )
    return TrainingData(chunks, init, tokens, n_docs, sample)
