r"""NumPy reference twin of :mod:`emkit._kernels.plsa` (tests only).

Dense and written from the definitions, not from the kernel: a document-term matrix
``X`` (D, V) as a NumPy array, topics β (K, V), proportions θ (D, K), tempering b and
the doc-topic prior's pseudo-counts a = α − 1 (K,). The documents' problems are solved
by the plain EM fixed-point map alone, all documents at once, each stopping when its
Frank-Wolfe gap meets the same rule as the kernel's (gap ≤ tol × (words + Σ a)); no
Newton step, no active set. It is slow on real corpora (EM is sublinear on the
boundary of the simplex) and exact enough on the small ones of the tests.
"""

from __future__ import annotations

import numpy as np


def word_probabilities(theta, beta, tempering=1.0):
    """p_dv = Σ_k θ_dk^b β_kv^b, shape (D, V)."""
    return (theta**tempering) @ (beta**tempering)


def objectives(X, theta, beta, doc_prior, tempering=1.0):
    """f_d(θ_d) = (1/b) Σ_v n_dv log p_dv + Σ_k a_k log θ_dk, shape (D,); 0 for a
    document without words (it adds nothing to the objective)."""
    p = word_probabilities(theta, beta, tempering)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = np.where(X > 0, X * np.log(p), 0.0).sum(axis=1) / tempering
        prior = np.where(doc_prior > 0, doc_prior * np.log(theta), 0.0).sum(axis=1)
    return np.where(X.sum(axis=1) > 0, data + prior, 0.0)


def log_likelihoods(X, theta, beta):
    """Σ_v n_dv log Σ_k θ_dk β_kv, shape (D,) (no tempering, no prior)."""
    return objectives(X, theta, beta, np.zeros(beta.shape[0]), 1.0)


def gradients(X, theta, beta, doc_prior, tempering=1.0):
    """∂f_d/∂θ_dk, shape (D, K): θ_dk^(b−1) Σ_v n_dv β_kv^b / p_dv + a_k / θ_dk (the limit
    g_dk at θ_dk = 0 where b = 1 and a_k = 0; +inf where θ_dk = 0 is not allowed)."""
    b = tempering
    p = word_probabilities(theta, beta, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(X > 0, X / p, 0.0) @ (beta**b).T
        grad = theta ** (b - 1) * g + doc_prior / theta
    zero = theta == 0
    allowed = (doc_prior == 0) & ((b == 1) | (g == 0))
    return np.where(zero, np.where(allowed, g, np.inf), grad)


def frank_wolfe_gaps(X, theta, beta, doc_prior, tempering=1.0):
    """max_k ∂_k f_d − Σ_k θ_dk ∂_k f_d, shape (D,): an upper bound of f_d(θ*) − f_d(θ_d)."""
    grad = gradients(X, theta, beta, doc_prior, tempering)
    inner = np.where(theta > 0, theta * np.where(np.isfinite(grad), grad, 0.0), 0.0).sum(axis=1)
    return grad.max(axis=1) - inner


def expected_counts(X, theta, beta, tempering=1.0):
    """Σ_d n_dv q_dvk with q_dvk ∝ (θ_dk β_kv)^b, shape (K, V)."""
    b = tempering
    p = word_probabilities(theta, beta, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(X > 0, X / p, 0.0)
    return (theta**b).T @ ratio * beta**b


def solve_documents(X, beta, doc_prior, tempering=1.0, tol=1e-10, max_iter=200_000):
    """θ (D, K) by EM from the uniform start, every document stopping at its own
    certificate; documents without words get the prior's mode. Returns (θ, EM
    iterations per document)."""
    D, K = X.shape[0], beta.shape[0]
    words = X.sum(axis=1)
    total = words + doc_prior.sum()
    mode = np.full(K, 1.0 / K) if doc_prior.sum() == 0 else doc_prior / doc_prior.sum()
    theta = np.tile(np.full(K, 1.0 / K), (D, 1))
    theta[words == 0] = mode
    active = words > 0
    iterations = np.zeros(D, dtype=np.int64)
    b = tempering
    for _ in range(max_iter):
        active &= frank_wolfe_gaps(X, theta, beta, doc_prior, b) > tol * total
        if not active.any():
            break
        rows = np.flatnonzero(active)
        t = theta[rows] ** b
        p = t @ beta**b
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(X[rows] > 0, X[rows] / p, 0.0) @ (beta**b).T
        theta[rows] = (t * g + doc_prior) / total[rows, None]
        iterations[rows] += 1
    return theta, iterations


def fit(
    X,
    beta,
    *,
    n_iter,
    doc_prior=None,
    topic_word_prior=1.0,
    tempering=1.0,
    tol=1e-10,
):
    """``n_iter`` iterations of PLSA's EM on the profile objective from topics ``beta``.

    Every iteration solves θ (:func:`solve_documents`), takes the expected counts at
    it and sets β_kv ∝ counts_kv + (topic_word_prior − 1). Returns (β, objectives):
    the objective before each M-step, Σ_d f_d + Σ_kv (η − 1) log β_kv.
    """
    K = beta.shape[0]
    doc_prior = np.zeros(K) if doc_prior is None else np.asarray(doc_prior, dtype=float)
    pseudo = np.broadcast_to(np.asarray(topic_word_prior, dtype=float) - 1.0, (X.shape[1],))
    history = []
    for _ in range(n_iter):
        theta, _ = solve_documents(X, beta, doc_prior, tempering, tol)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_prior = float(np.where(pseudo > 0, pseudo * np.log(beta), 0.0).sum())
        history.append(objectives(X, theta, beta, doc_prior, tempering).sum() + log_prior)
        counts = expected_counts(X, theta, beta, tempering) + pseudo
        beta = counts / counts.sum(axis=1, keepdims=True)
    return beta, np.array(history)
