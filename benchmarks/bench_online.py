"""Online EM: the gap of five epochs of partial_fit to the batch fit, old and new step schedule.

Each case fits the estimator by batch EM (``fit``, tol 1e-7) and by five epochs of
``partial_fit`` over shuffled batches, from the same seed, under the old default
schedule (``learning_decay=0.6, learning_offset=2``) and the new one
(``learning_decay=0.51, learning_offset=0``), and reports the gap of the online fit's
mean log-likelihood per observation below the batch fit's, in percent of its size
(negative: the online fit ended higher). Cases: the 200,000-row 5-component 4-D
Gaussian mixture of issue 11 in batches of 10,000, the same with overlapping
components and with small batches, a Poisson mixture, a Gaussian HMM over 2,000
sequences and the linear-Gaussian state-space model over 400 sequences.

Run: ``python benchmarks/bench_online.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from _timing import markdown_table
from emkit import GaussianHMM, GaussianMixture, LinearGaussianSSM, PoissonMixture

OLD = {"learning_decay": 0.6, "learning_offset": 2.0}
NEW = {"learning_decay": 0.51, "learning_offset": 0.0}
EPOCHS = 5


def gaussian_mixture(rng, n_rows, spread):
    """5 components in 4-D, centres drawn with standard deviation ``spread``, random
    correlated covariances."""
    centres = rng.normal(0.0, spread, (5, 4))
    shapes = rng.normal(0.0, 0.5, (5, 4, 4)) + np.eye(4)
    z = rng.integers(0, 5, n_rows)
    return centres[z] + np.einsum("nij,nj->ni", shapes[z], rng.normal(size=(n_rows, 4))), None


def poisson_mixture(rng, n_rows):
    rates = rng.gamma(2.0, 3.0, (3, 5))
    return rng.poisson(rates[rng.integers(0, 3, n_rows)]).astype(float), None


def hmm_sequences(rng, n_sequences, length=50):
    """3 sticky states with 2-D unit-variance Gaussian emissions."""
    transmat = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    means = np.array([[0.0, 0.0], [2.5, 0.0], [0.0, 2.5]])
    states = np.empty((n_sequences, length), dtype=int)
    states[:, 0] = rng.integers(0, 3, n_sequences)
    for t in range(1, length):
        cumulative = transmat[states[:, t - 1]].cumsum(axis=1)
        states[:, t] = (rng.uniform(size=(n_sequences, 1)) > cumulative).sum(axis=1)
    X = means[states.ravel()] + rng.normal(size=(n_sequences * length, 2))
    return X, np.full(n_sequences, length)


def lgssm_sequences(rng, n_sequences, length=50):
    """A rotating 2-D AR state (noise 0.3) seen through a mixing matrix (noise 0.5)."""
    A = np.array([[0.9, 0.2], [-0.2, 0.9]])
    C = np.array([[1.0, 0.0], [0.5, 1.0]])
    state = rng.normal(size=(n_sequences, 2))
    rows = []
    for _ in range(length):
        rows.append(state @ C.T + 0.5 * rng.normal(size=(n_sequences, 2)))
        state = state @ A.T + 0.3 * rng.normal(size=(n_sequences, 2))
    X = np.stack(rows, axis=1).reshape(-1, 2)  # sequence after sequence
    return X, np.full(n_sequences, length)


def batches(X, lengths, batch_size, rng):
    """One shuffled epoch: ``partial_fit`` keyword arguments of each batch (rows for
    mixtures, whole sequences for the sequence models)."""
    if lengths is None:
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            yield {"X": X[order[start : start + batch_size]]}
        return
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    order = rng.permutation(len(lengths))
    for first in range(0, len(order), batch_size):
        chosen = order[first : first + batch_size]
        X_batch = np.concatenate([X[starts[i] : starts[i] + lengths[i]] for i in chosen])
        yield {"X": X_batch, "lengths": lengths[chosen]}


def mean_log_likelihood(estimator, X, lengths):
    """Mean log-likelihood per observation (the mixtures' score is already a mean)."""
    if lengths is None:
        return estimator.score(X)
    return estimator.score(X, lengths=lengths) / len(X)


# name -> (estimator factory, data maker(rng, quick), batch size in rows or sequences,
# and with --quick: a tenth of the data, in smaller batches)
CASES = {
    "GMM 5x4-D, separated, batches of 10,000 (issue 11)": (
        lambda **kw: GaussianMixture(5, random_state=0, **kw),
        lambda rng, quick: gaussian_mixture(rng, 20_000 if quick else 200_000, 4.0),
        (10_000, 1_000),
    ),
    "GMM 5x4-D, overlapping, batches of 10,000": (
        lambda **kw: GaussianMixture(5, random_state=0, **kw),
        lambda rng, quick: gaussian_mixture(rng, 20_000 if quick else 200_000, 1.5),
        (10_000, 1_000),
    ),
    "GMM 5x4-D, separated, batches of 1,000": (
        lambda **kw: GaussianMixture(5, random_state=0, **kw),
        lambda rng, quick: gaussian_mixture(rng, 20_000 if quick else 200_000, 4.0),
        (1_000, 100),
    ),
    "Poisson mixture 3x5, batches of 1,000": (
        lambda **kw: PoissonMixture(3, random_state=0, **kw),
        lambda rng, quick: poisson_mixture(rng, 10_000 if quick else 100_000),
        (1_000, 100),
    ),
    "Gaussian HMM 3 states, 2,000 sequences, batches of 20": (
        lambda **kw: GaussianHMM(3, random_state=0, **kw),
        lambda rng, quick: hmm_sequences(rng, 200 if quick else 2_000),
        (20, 2),
    ),
    "LinearGaussianSSM 2-D, 400 sequences, batches of 5": (
        lambda **kw: LinearGaussianSSM(2, random_state=0, **kw),
        lambda rng, quick: lgssm_sequences(rng, 40 if quick else 400),
        (5, 5),
    ),
}


def online_fit(make, X, lengths, batch_size, schedule, seed=0):
    """Five epochs of ``partial_fit`` over shuffled batches."""
    rng = np.random.default_rng(seed)
    estimator = make(**schedule)
    for _ in range(EPOCHS):
        for batch in batches(X, lengths, batch_size, rng):
            estimator.partial_fit(**batch)
    return estimator


def run(case="GMM 5x4-D, separated, batches of 10,000 (issue 11)", quick=False):
    make, data, batch_sizes = CASES[case]
    batch_size = batch_sizes[quick]
    X, lengths = data(np.random.default_rng(0), quick)
    extra = {} if lengths is None else {"lengths": lengths}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = make(tol=1e-7, max_iter=2000).fit(X, **extra)
    reference = mean_log_likelihood(batch, X, lengths)
    row = {"case": case + (" (quick: a tenth)" if quick else ""), "batch loglik/obs": reference}
    row["batch n_iter"] = batch.n_iter_
    for label, schedule in (("old", OLD), ("new", NEW)):
        online = online_fit(make, X, lengths, batch_size, schedule)
        gap = (reference - mean_log_likelihood(online, X, lengths)) / abs(reference)
        row[f"gap {label} %"] = f"{100 * gap:+.4f}"
    row["s"] = time.perf_counter() - start
    return row


COLUMNS = ["case", "batch loglik/obs", "batch n_iter", "gap old %", "gap new %", "s"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    print(markdown_table([run(case, args.quick) for case in CASES], COLUMNS), flush=True)
