"""Gaussian HMM: emkit vs hmmlearn ("log" and "scaling"), per EM iteration and whole fits.

Cases (issue 15):

* ``short``: diagonal covariances, K = 8 states, D = 4, 200,000 observations in 20
  sequences (the case of issue 3);
* ``many``: diagonal covariances, K = 8, D = 4, 200,000 observations in 2,000
  sequences of 100;
* ``long``: full covariances, K = 6, D = 3, one sequence of 300,000 observations.

Both libraries start from the same parameters. One iteration is one E-step
(forward-backward over all sequences and the statistics) plus one M-step: emkit's
``HMM.e_step`` + ``m_step``, hmmlearn's ``_do_estep`` + ``_do_mstep``. A whole fit is
``fit`` with a fixed number of iterations (``tol`` disabled) from the same start,
validation included. Everything runs on one thread (BLAS limited to one thread,
emkit's ``n_jobs=1``): a per-core comparison that a shared machine does not distort.
emkit and both hmmlearn implementations are timed round-robin; every round gives a
ratio, and the table shows the median ratio and the least favourable one.

Operation count: floating-point operations of emkit's E-step per time step (every
multiply and add counted, ``exp`` and ``log`` as one each), divided by emkit's time,
against the machine's GEMM rate on one thread measured in the same run
(``_ceiling.py``).

Run: ``python benchmarks/bench_hmm.py [--case short|many|long] [--repeats R]``
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

from _ceiling import gemm_gflops
from _timing import markdown_table
from emkit import GaussianHMM

logging.getLogger("hmmlearn").setLevel(logging.ERROR)

CASES = {
    "short": dict(n_samples=200_000, n_features=4, n_components=8, n_sequences=20, cov="diag"),
    "many": dict(n_samples=200_000, n_features=4, n_components=8, n_sequences=2000, cov="diag"),
    "long": dict(n_samples=300_000, n_features=3, n_components=6, n_sequences=1, cov="full"),
}


def make_data(n_samples, n_features, n_components, n_sequences, cov="diag", seed=0):
    """Sticky regimes with Gaussian noise, and a shared (perturbed) starting point."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    switches = rng.uniform(size=n_samples) < 0.02
    states = np.cumsum(switches * rng.integers(1, n_components, size=n_samples)) % n_components
    if cov == "full":  # correlated noise, a different covariance in every state
        mix = rng.normal(scale=0.6, size=(n_components, n_features, n_features))
        noise = np.einsum("nij,nj->ni", mix[states], rng.normal(size=(n_samples, n_features)))
        X = means[states] + noise + 0.5 * rng.normal(size=(n_samples, n_features))
        covariances = np.broadcast_to(np.eye(n_features), (n_components,) * 1 + (n_features,) * 2)
    else:
        X = means[states] + rng.normal(size=(n_samples, n_features))
        covariances = np.ones((n_components, n_features))
    lengths = np.full(n_sequences, n_samples // n_sequences)
    lengths[-1] += n_samples - lengths.sum()
    transmat = np.full((n_components, n_components), 0.5 / n_components) + 0.5 * np.eye(
        n_components
    )
    init = {
        "startprob": np.full(n_components, 1.0 / n_components),
        "transmat": transmat,
        "means": means + rng.normal(scale=0.5, size=means.shape),
        "covariances": np.array(covariances),
    }
    return X, lengths, init


def _hmmlearn(init, n_iter, implementation, cov):
    model = HmmlearnGaussianHMM(
        len(init["startprob"]),
        covariance_type=cov,
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


def _emkit(init, n_iter, cov):
    return GaussianHMM(
        len(init["startprob"]),
        covariance_type=cov,
        reg_covar=0.0,  # hmmlearn adds no floor in its M-step
        startprob_init=init["startprob"],
        transmat_init=init["transmat"],
        means_init=init["means"],
        covariances_init=init["covariances"],
        max_iter=n_iter,
        tol=0.0,
        n_jobs=1,
    )


def _round_robin(functions, repeats):
    """Wall times of every function, run round-robin ``repeats`` times: (repeats, F)."""
    times = np.empty((repeats, len(functions)))
    for r in range(repeats):
        for f, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[r, f] = time.perf_counter() - start
    return times


def e_step_flops(n_samples, n_features, n_components, cov):
    """Floating-point operations of emkit's fused E-step (see the module docstring)."""
    K, D = n_components, n_features
    if cov == "full":
        density = K * (D + D * (D + 1) + 2 * D + 2)
        moments = K * (1 + 5 * D + 3 * D * (D - 1) // 2)
    else:
        density = K * (4 * D + 2)
        moments = K * (1 + 5 * D)
    factors = 3 * K  # max, subtract, exp
    forward = 2 * K * K + 3 * K + 2  # prediction, combine and normalise, log
    backward = 2 * K + 2 * K + 2 * K * K + (2 * K * K + K)  # gamma, factor, beta, counts
    return n_samples * (density + factors + forward + backward + moments)


def run(case="short", repeats=5, n_iter=5, quick=False):
    """Time one EM iteration and whole fits of each library; returns two rows (vs log,
    vs scaling)."""
    spec = dict(CASES[case])
    if quick:
        spec["n_samples"] //= 10
        spec["n_sequences"] = max(1, spec["n_sequences"] // 10)
        repeats, n_iter = 2, 2
    cov = spec["cov"]
    X, lengths, init = make_data(**spec)
    implementations = ("log", "scaling")

    with threadpool_limits(limits=1):
        # whole fits, the same number of iterations from the same start
        fitted = {}

        def emkit_fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted["emkit"] = _emkit(init, n_iter, cov).fit(X, lengths)

        def hmmlearn_fit(implementation):
            def fit():
                fitted[implementation] = _hmmlearn(init, n_iter, implementation, cov).fit(
                    X, lengths
                )

            return fit

        emkit_fit()  # compile (numba caches) and page in, untimed
        fit_times = _round_robin(
            [emkit_fit, *(hmmlearn_fit(impl) for impl in implementations)], max(2, repeats // 2)
        )
        emkit_loglik = fitted["emkit"].score(X, lengths)
        hmmlearn_loglik = fitted["log"].score(X, lengths)

        # one iteration each from the same point (emkit's fitted parameters)
        ours = fitted["emkit"]
        model, params = ours.model_, ours.params_
        chunk = ours._chunk(model.family, X, lengths)
        peers = {impl: _hmmlearn(init, 1, impl, cov) for impl in implementations}
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

        emkit_iteration()  # compiled already by the fits; warm the caches alike
        iter_times = _round_robin(
            [emkit_iteration, *(hmmlearn_iteration(peers[impl]) for impl in implementations)],
            repeats,
        )
        ceiling = gemm_gflops(threads=1)

    emkit_s = float(np.median(iter_times[:, 0]))
    gflops = e_step_flops(spec["n_samples"], spec["n_features"], spec["n_components"], cov)
    gflops = gflops / emkit_s / 1e9
    name = (
        f"GaussianHMM {cov} {spec['n_samples']}x{spec['n_features']} in "
        f"{spec['n_sequences']} sequence{'s' if spec['n_sequences'] > 1 else ''}, "
        f"K={spec['n_components']}"
    )
    rows = []
    for column, impl in enumerate(implementations, start=1):
        per_iter = iter_times[:, column] / iter_times[:, 0]
        per_fit = fit_times[:, column] / fit_times[:, 0]
        rows.append(
            {
                "case": name,
                "peer": f"hmmlearn 0.3 ({impl})",
                "emkit s/iter": emkit_s,
                "peer s/iter": float(np.median(iter_times[:, column])),
                "speed-up": statistics.median(per_iter),
                "speed-up (least)": float(per_iter.min()),
                "emkit fit s": float(np.median(fit_times[:, 0])),
                "peer fit s": float(np.median(fit_times[:, column])),
                "fit speed-up": statistics.median(per_fit),
                "fit speed-up (least)": float(per_fit.min()),
                "emkit GFLOP/s": gflops,
                "GEMM GFLOP/s (1 thread)": ceiling,
                "share of ceiling": gflops / ceiling,
                "emkit loglik": emkit_loglik,
                "peer loglik": hmmlearn_loglik,
                "loglik rel. diff": abs(emkit_loglik - hmmlearn_loglik) / abs(hmmlearn_loglik),
            }
        )
    return rows


COLUMNS = [
    "case",
    "peer",
    "emkit s/iter",
    "peer s/iter",
    "speed-up",
    "speed-up (least)",
    "emkit fit s",
    "peer fit s",
    "fit speed-up",
    "fit speed-up (least)",
    "emkit GFLOP/s",
    "share of ceiling",
    "loglik rel. diff",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = []
    for case in args.case or list(CASES):
        rows.extend(run(case, repeats=args.repeats, quick=args.quick))
        print(markdown_table(rows[-2:], COLUMNS), flush=True)
    print()
    print(markdown_table(rows, COLUMNS))
