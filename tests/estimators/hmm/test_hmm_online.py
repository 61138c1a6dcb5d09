"""Online EM (partial_fit) for hidden Markov models (issue 5)."""

import numpy as np
import pytest

import emkit

TRANSMAT = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
MEANS = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 3.0]])


def simulate(n_sequences, length, seed):
    """Sequences of a 3-state Gaussian HMM, concatenated, and their lengths."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_sequences):
        state = rng.integers(3)
        for _ in range(length):
            rows.append(rng.normal(MEANS[state], 1.0))
            state = rng.choice(3, p=TRANSMAT[state])
    return np.array(rows), np.full(n_sequences, length)


def test_partial_fit_reaches_the_batch_log_likelihood():
    X, lengths = simulate(60, 100, seed=0)
    options = dict(covariance_type="diag", random_state=0)
    batch = emkit.GaussianHMM(3, tol=1e-6, max_iter=300, **options).fit(X, lengths)
    online = emkit.GaussianHMM(3, **options)
    for _ in range(3):  # passes over batches of 10 sequences
        for start in range(0, 60, 10):
            rows = slice(start * 100, (start + 10) * 100)
            online.partial_fit(X[rows], lengths[start : start + 10])
    assert online.n_iter_ == 18
    batch_score, online_score = batch.score(X, lengths), online.score(X, lengths)
    assert abs(online_score - batch_score) <= 0.005 * abs(batch_score)
    np.testing.assert_allclose(np.sort(online.means_[:, 0]), np.sort(MEANS[:, 0]), atol=0.2)


def test_partial_fit_checks_its_batches():
    X, lengths = simulate(2, 50, seed=1)
    model = emkit.PoissonHMM(2, random_state=0)
    counts = np.abs(np.round(X[:, :1] * 3)).astype(int)
    model.partial_fit(counts, lengths)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(np.hstack([counts, counts]), lengths)
    with pytest.raises(ValueError, match="lengths"):
        model.partial_fit(counts, [10, 10])
    with pytest.raises(ValueError, match="first batch"):
        emkit.PoissonHMM(5, random_state=0).partial_fit(counts[:3])
