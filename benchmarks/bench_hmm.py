"""Gaussian HMM: time per EM iteration, emkit vs hmmlearn, in one process.

Case (issue 3): diagonal-covariance Gaussian HMM, 8 states, 4 dimensions, 200,000
observations in 20 sequences. Both libraries start from the same parameters; one
iteration is one E-step (forward-backward over all sequences and the statistics)
plus one M-step: emkit's ``HMM.e_step`` + ``m_step``, hmmlearn's ``_do_estep`` +
``_do_mstep``, timed interleaved on one thread each (BLAS limited to one thread:
a per-core comparison). hmmlearn is timed with its default
``implementation="log"`` and with ``"scaling"``. Then both run the same number of
full iterations from the same start and their log-likelihoods are compared.

Run: ``python benchmarks/bench_hmm.py [--n-samples N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

import numpy as np
from hmmlearn.hmm import GaussianHMM as HmmlearnGaussianHMM
from threadpoolctl import threadpool_limits

from _timing import markdown_table
from emkit import GaussianHMM

logging.getLogger("hmmlearn").setLevel(logging.ERROR)


def make_data(n_samples, n_features, n_components, n_sequences, seed=0):
    """Sticky regimes with Gaussian noise, and a shared (perturbed) starting point."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    switches = rng.uniform(size=n_samples) < 0.02
    states = np.cumsum(switches * rng.integers(1, n_components, size=n_samples)) % n_components
    X = means[states] + rng.normal(size=(n_samples, n_features))
    lengths = np.full(n_sequences, n_samples // n_sequences)
    lengths[-1] += n_samples - lengths.sum()
    transmat = np.full((n_components, n_components), 0.5 / n_components) + 0.5 * np.eye(
        n_components
    )
    init = {
        "startprob": np.full(n_components, 1.0 / n_components),
        "transmat": transmat,
        "means": means + rng.normal(scale=0.5, size=means.shape),
        "covariances": np.ones((n_components, n_features)),
    }
    return X, lengths, init


def _hmmlearn(init, n_iter, implementation):
    model = HmmlearnGaussianHMM(
        len(init["startprob"]),
        covariance_type="diag",
        n_iter=n_iter,
        tol=-np.inf,
        init_params="",
        covars_prior=0.0,
        covars_weight=1.0,
        means_weight=0.0,
        implementation=implementation,
    )
    model.startprob_ = init["startprob"]
    model.transmat_ = init["transmat"]
    model.means_ = init["means"]
    model.covars_ = init["covariances"]
    return model


def _emkit(init, n_iter):
    return GaussianHMM(
        len(init["startprob"]),
        covariance_type="diag",
        reg_covar=0.0,  # hmmlearn adds no floor in its M-step
        startprob_init=init["startprob"],
        transmat_init=init["transmat"],
        means_init=init["means"],
        covariances_init=init["covariances"],
        max_iter=n_iter,
        tol=0.0,
    )


def _interleaved(functions, repeats):
    """Median wall time of every function, run round-robin ``repeats`` times."""
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def run(
    n_samples=200_000,
    n_features=4,
    n_components=8,
    n_sequences=20,
    repeats=5,
    n_iter=5,
    quick=False,
):
    """Time one EM iteration of each library; returns a dict (one results row)."""
    if quick:
        n_samples, repeats, n_iter = 20_000, 2, 2
    X, lengths, init = make_data(n_samples, n_features, n_components, n_sequences)

    # the same number of full EM iterations from the same start: log-likelihoods agree
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _emkit(init, n_iter).fit(X, lengths)
    theirs = _hmmlearn(init, n_iter, "log").fit(X, lengths)
    emkit_loglik, hmmlearn_loglik = ours.score(X, lengths), theirs.score(X, lengths)

    # one iteration each from the same point (the fitted parameters)
    model, params = ours.model_, ours.params_
    chunk = ours._chunk(model.family, X, lengths)
    peers = {impl: _hmmlearn(init, 1, impl) for impl in ("log", "scaling")}
    for peer in peers.values():
        peer.startprob_, peer.transmat_ = params.startprob, params.transmat
        peer.means_, peer.covars_ = params.emission.means, params.emission.covariances
        peer._check()

    def emkit_iteration():
        stats, _ = model.e_step(params, chunk)
        model.m_step(stats)

    def hmmlearn_iteration(peer):
        def iteration():
            stats, _ = peer._do_estep(X, lengths)
            # the M-step updates the estimator in place: keep the starting point
            saved = (peer.startprob_, peer.transmat_, peer.means_, peer._covars_)
            peer._do_mstep(stats)
            peer.startprob_, peer.transmat_, peer.means_, peer._covars_ = saved

        return iteration

    # one thread each (BLAS included): a per-core comparison, stable on a shared machine
    with threadpool_limits(limits=1):
        emkit_s, log_s, scaling_s = _interleaved(
            [
                emkit_iteration,
                hmmlearn_iteration(peers["log"]),
                hmmlearn_iteration(peers["scaling"]),
            ],
            repeats,
        )
    return {
        "case": (
            f"GaussianHMM diag {n_samples}x{n_features} in {n_sequences} sequences, "
            f"K={n_components}"
        ),
        "peer": "hmmlearn 0.3 (default, log)",
        "emkit s/iter": emkit_s,
        "peer s/iter": log_s,
        "speed-up": log_s / emkit_s,
        "peer (scaling) s/iter": scaling_s,
        "speed-up vs scaling": scaling_s / emkit_s,
        "emkit loglik": emkit_loglik,
        "peer loglik": hmmlearn_loglik,
        "loglik rel. diff": abs(emkit_loglik - hmmlearn_loglik) / abs(hmmlearn_loglik),
    }


COLUMNS = ["case", "peer", "emkit s/iter", "peer s/iter", "speed-up", "loglik rel. diff"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    row = run(args.n_samples, repeats=args.repeats)
    scaling = {
        **row,
        "peer": "hmmlearn 0.3 (scaling)",
        "peer s/iter": row["peer (scaling) s/iter"],
        "speed-up": row["speed-up vs scaling"],
    }
    print(markdown_table([row, scaling], COLUMNS))
