"""Documents as the topic models' chunks: rows of a sparse document-term matrix.

A :class:`DocumentChunk` holds the compressed sparse rows (CSR) of a block of
documents: for document ``d`` of the chunk, its distinct terms are
``indices[indptr[d]:indptr[d + 1]]`` and their counts the same slice of ``counts``.
The numba kernels read these three flat arrays directly; no dense document-term
array is ever made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["DocumentChunk"]


@dataclass(frozen=True)
class DocumentChunk:
    """CSR rows of ``n_docs`` documents over a vocabulary of ``n_terms`` terms.

    indptr : ndarray of shape (n_docs + 1,), int64
        Where each document's entries start in ``indices`` and ``counts``.
    indices : ndarray of shape (nnz,), int64
        Term ids, sorted and distinct within a document, in ``[0, n_terms)``.
    counts : ndarray of shape (nnz,), float64
        Positive counts of those terms (zeros are dropped).
    n_terms : int
        Size of the vocabulary.
    first_row : int
        Row of the whole corpus that is this chunk's first document (for messages).
    """

    indptr: np.ndarray
    indices: np.ndarray
    counts: np.ndarray
    n_terms: int
    first_row: int = 0

    @classmethod
    def from_matrix(cls, X, first_row: int = 0) -> DocumentChunk:
        """The chunk of a validated matrix: a SciPy sparse matrix or array, or a dense
        array, of shape (n_docs, n_terms) with non-negative integer counts (see
        :func:`emkit.estimators._documents.validated_documents`, which checks them)."""
        csr = sp.csr_matrix(X, dtype=np.float64)
        csr.sum_duplicates()  # also sorts the indices of every row
        csr.eliminate_zeros()
        return cls(
            np.ascontiguousarray(csr.indptr, dtype=np.int64),
            np.ascontiguousarray(csr.indices, dtype=np.int64),
            np.ascontiguousarray(csr.data, dtype=np.float64),
            int(csr.shape[1]),
            int(first_row),
        )

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_words(self) -> float:
        """Total count of the chunk's documents (their tokens)."""
        return float(self.counts.sum())

    def document_lengths(self) -> np.ndarray:
        """Tokens of every document, shape (n_docs,)."""
        return np.asarray(self.to_csr().sum(axis=1), dtype=np.float64).ravel()

    def to_csr(self) -> sp.csr_matrix:
        """The chunk as a SciPy CSR matrix of shape (n_docs, n_terms) (shares the arrays)."""
        return sp.csr_matrix(
            (self.counts, self.indices, self.indptr), shape=(len(self), self.n_terms)
        )
