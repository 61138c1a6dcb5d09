"""Known component labels of some rows (semi-supervised mixtures).

A row whose component is known (label ``k >= 0``; ``-1`` where unknown, the convention
of ``sklearn.semi_supervised``) has responsibilities clamped to one-hot at ``k``: its
contribution to the objective is the complete-data term
:math:`\\log \\pi_k + \\log p(x_i \\mid \\theta_k)`, and EM maximises

.. math::

    \\sum_{i\\ \\mathrm{unlabelled}} \\log \\sum_k \\pi_k p(x_i \\mid \\theta_k)
    + \\sum_{i\\ \\mathrm{labelled}} \\log \\pi_{y_i} p(x_i \\mid \\theta_{y_i}),

which it never decreases (the labelled rows' posterior is the point mass at the label,
so the E-step stays exact). The same clamping serves the HMMs' ``known_states``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["clamp_to_labels", "concat_labels", "labelled_start"]

# Lloyd iterations of the seeded start (labelled rows stay at their labels); a few are
# enough to give every class a spread that its covariance can start from.
_SEEDED_ITERATIONS = 10


def concat_labels(chunks) -> np.ndarray | None:
    """The labels of all chunks, shape (sum of n,), -1 for a chunk without labels; None
    when no chunk has labels."""
    labels = [getattr(c, "labels", None) for c in chunks]
    if all(y is None for y in labels):
        return None
    return np.concatenate(
        [
            y if y is not None else np.full(len(c), -1, dtype=np.int64)
            for y, c in zip(labels, chunks, strict=True)
        ]
    )


def clamp_to_labels(log_joint: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """``log_joint`` (n, K) with -inf outside the label of every labelled row (in place;
    returned for chaining). Unlabelled rows (-1) and ``labels=None`` leave it unchanged."""
    if labels is None:
        return log_joint
    known = np.flatnonzero(labels >= 0)
    if known.size:
        kept = log_joint[known, labels[known]]
        log_joint[known] = -np.inf
        log_joint[known, labels[known]] = kept
    return log_joint


def labelled_start(resp, labels, X, sample_weight=None) -> np.ndarray:
    """Initial responsibilities (n, K) that respect the labels (n,) (-1 where unknown).

    When every component has a labelled row, the data-driven ``resp`` is replaced by a
    *seeded* k-means partition (Basu, Banerjee & Mooney 2002): the centres start at the
    (weighted) means of the labelled rows of every class, unlabelled rows go to their
    nearest centre, labelled rows stay at their label, for a few Lloyd iterations. Else
    the columns of ``resp`` are permuted to agree best with the labels (an assignment
    problem on their overlap), so that the components are named as the labels. In
    either case the labelled rows are one-hot at their label.

    X : ndarray of shape (n, D), float (the Euclidean geometry of the features);
    sample_weight : ndarray of shape (n,), optional
    """
    n, K = resp.shape
    known = np.flatnonzero(labels >= 0)
    if known.size == 0:
        return resp
    one_hot = np.eye(K)[labels[known]]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    class_weight = w[known] @ one_hot
    if np.all(class_weight > 0):
        return _seeded_partition(np.asarray(X, dtype=float), labels, known, one_hot, w)
    overlap = resp[known].T @ one_hot  # (data-driven component, label)
    columns, classes = linear_sum_assignment(-overlap)
    aligned = np.empty_like(resp)
    aligned[:, classes] = resp[:, columns]
    aligned[known] = one_hot
    return aligned


def _seeded_partition(X, labels, known, one_hot, w) -> np.ndarray:
    """One-hot responsibilities of the seeded k-means of :func:`labelled_start`."""
    n, K = X.shape[0], one_hot.shape[1]
    unknown = np.flatnonzero(labels < 0)
    resp = np.zeros((n, K))
    resp[known] = one_hot
    for _ in range(_SEEDED_ITERATIONS):
        mass = w @ resp
        centres = ((resp * w[:, None]).T @ X) / np.maximum(mass, 1e-300)[:, None]
        if unknown.size == 0:
            break
        rows = X[unknown]
        distances = (
            np.square(rows).sum(axis=1)[:, None]
            - 2.0 * rows @ centres.T
            + np.square(centres).sum(axis=1)
        )
        nearest = distances.argmin(axis=1)
        if np.array_equal(nearest, resp[unknown].argmax(axis=1)) and resp[unknown].any():
            break
        resp[unknown] = 0.0
        resp[unknown, nearest] = 1.0
    return resp
