"""Gaussian mixture: a whole fit and one EM iteration, emkit vs scikit-learn, in one process.

Cases (issues 2, 5 and 15): 1,000,000 x 16 points, 16 components, on two kinds of data:

* ``isotropic``: well-separated clusters N(c_k, I), c_k ~ N(0, 16 I);
* ``anisotropic``: correlated clusters N(c_k, 0.25 M_k M_kᵀ), M_k a standard-normal
  16 x 16 matrix, whose sharpest directions are a few hundredths of the spread of the
  data wide.

Both libraries start from the same complete set of initial values (weights, means,
identity precisions) with ``init_params="random_from_data"``, scikit-learn's fastest
start (its k-means start would cost it seconds more), and run the same number of
iterations (``tol=0``). Timed interleaved in one process, ``repeats`` times each:

* the whole ``fit``, from the raw array to the fitted estimator;
* one EM iteration at the fitted parameters (scikit-learn's ``_e_step`` + ``_m_step``;
  emkit's E-step over the estimator's chunks, on every core, + ``m_step``).

``speed-up`` is the peer's median time over emkit's; ``worst speed-up`` is the least
favourable of the repeats (the peer's fastest against emkit's slowest). The
log-likelihoods both reach are compared. ``--dtype float32`` runs emkit's E-step
arithmetic in float32. Peak memory is what one iteration allocates (tracemalloc; the
data themselves are not counted).

The arithmetic ceiling (``_ceiling.py``) is measured in the same run: the GEMM rate on
every core. An E-step computes, per row and component, the product of the centred row
with the 16 x 16 precision factor (2 D² flops) and the weighted scatter (2 D (D + 1),
the first moment included): ``GFLOP/s`` is that nominal count over emkit's iteration
time, ``of ceiling`` its share of the GEMM rate. The same share is measured on one
thread (emkit's iteration with ``n_jobs=1`` at its fastest, against the one-thread
GEMM rate), which a job running on the other core does not distort.

Run: ``python benchmarks/bench_gmm.py [--data anisotropic] [--n-samples N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from _ceiling import gemm_gflops
from _timing import markdown_table, peak_memory_mb
from emkit import GaussianMixture
from emkit.core import Reducer
from emkit.estimators._data import prepare_mixture_data

DATA_KINDS = ("isotropic", "anisotropic")


def make_data(n_samples, n_features, n_components, seed=0, kind="isotropic"):
    """(X, complete initial values) for one of :data:`DATA_KINDS`."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    noise = rng.normal(size=(n_samples, n_features))
    if kind == "anisotropic":
        factors = 0.5 * rng.standard_normal((n_components, n_features, n_features))
        for k in range(n_components):  # N(c_k, 0.25 M_k M_kᵀ), a component at a time
            rows = labels == k
            noise[rows] = noise[rows] @ factors[k].T
    elif kind != "isotropic":
        raise ValueError(f"kind must be one of {DATA_KINDS}, got {kind!r}")
    X = centres[labels] + noise
    init = {
        "weights_init": np.full(n_components, 1.0 / n_components),
        "means_init": X[rng.choice(n_samples, n_components, replace=False)],
        "precisions_init": np.tile(np.eye(n_features), (n_components, 1, 1)),
    }
    return X, init


def _interleaved(first, second, repeats):
    """Wall times (lists) of ``first`` and ``second``, run alternately."""
    times_first, times_second = [], []
    for _ in range(repeats):
        for function, times in ((first, times_first), (second, times_second)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return times_first, times_second


def run(
    n_samples=1_000_000,
    n_features=16,
    n_components=16,
    covariance_type="full",
    repeats=3,
    n_iter=5,
    dtype="float64",
    data="isotropic",
    fit_repeats=None,
):
    X, init = make_data(n_samples, n_features, n_components, kind=data)
    if covariance_type != "full":
        eye = {
            "diag": np.ones((n_components, n_features)),
            "spherical": np.ones(n_components),
            "tied": np.eye(n_features),
        }
        init["precisions_init"] = eye[covariance_type]
    options = dict(
        n_components=n_components,
        covariance_type=covariance_type,
        max_iter=n_iter,
        tol=0.0,
        init_params="random_from_data",
        random_state=0,
        **init,
    )
    ceiling = gemm_gflops()  # every core, before the timings (best of a few)
    fitted = {}

    def emkit_fit():
        fitted["ours"] = GaussianMixture(**options, dtype=dtype).fit(X)

    def sklearn_fit():
        fitted["theirs"] = SklearnGaussianMixture(**options).fit(X)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        emkit_fits, sklearn_fits = _interleaved(
            emkit_fit, sklearn_fit, repeats if fit_repeats is None else fit_repeats
        )
    ours, theirs = fitted["ours"], fitted["theirs"]

    # scored before timing: scikit-learn's _m_step below updates the estimator in place
    emkit_loglik, sklearn_loglik = ours.score(X), theirs.score(X)

    # one EM iteration each, from the fitted parameters (the same point for both)
    prepared = prepare_mixture_data(
        ours,
        X,
        None,
        reset=False,
        dtype=np.dtype(dtype),
        chunk_size=None,
        check_data=lambda block: block,
    )
    model, params = ours.model_, ours.params_

    def sklearn_iteration():
        _, log_resp = theirs._e_step(X)
        theirs._m_step(X, log_resp)

    with Reducer(prepared.chunks, n_jobs=None) as reduce:

        def emkit_iteration():
            stats, _ = reduce(model, params)
            model.m_step(stats)

        emkit_iters, sklearn_iters = _interleaved(emkit_iteration, sklearn_iteration, repeats)
        emkit_mb, sklearn_mb = peak_memory_mb(emkit_iteration), peak_memory_mb(sklearn_iteration)
    emkit_s, sklearn_s = float(np.median(emkit_iters)), float(np.median(sklearn_iters))
    flops = n_samples * n_components * (2 * n_features**2 + 2 * n_features * (n_features + 1))
    gflops = flops / emkit_s / 1e9

    # one core against one core's ceiling: what a job on the other core cannot distort
    with threadpool_limits(limits=1), Reducer(prepared.chunks, n_jobs=1) as reduce:
        ceiling_1 = gemm_gflops(threads=1)
        one_thread_s = min(
            _interleaved(lambda: model.m_step(reduce(model, params)[0]), lambda: None, repeats)[0]
        )
    gflops_1 = flops / one_thread_s / 1e9
    return {
        "case": (
            f"GMM {covariance_type} {data} {n_samples}x{n_features}, K={n_components}, {dtype}"
        ),
        "peer": "scikit-learn",
        "emkit s/fit": float(np.median(emkit_fits)),
        "peer s/fit": float(np.median(sklearn_fits)),
        "fit speed-up": float(np.median(sklearn_fits) / np.median(emkit_fits)),
        "worst fit speed-up": min(sklearn_fits) / max(emkit_fits),
        "emkit s/iter": emkit_s,
        "peer s/iter": sklearn_s,
        "speed-up": sklearn_s / emkit_s,
        "worst speed-up": min(sklearn_iters) / max(emkit_iters),
        "GFLOP/s": gflops,
        "ceiling GFLOP/s": ceiling,
        "of ceiling": gflops / ceiling,
        "1-thread GFLOP/s": gflops_1,
        "1-thread ceiling": ceiling_1,
        "1-thread of ceiling": gflops_1 / ceiling_1,
        "emkit peak MB": emkit_mb,
        "peer peak MB": sklearn_mb,
        "emkit loglik": emkit_loglik * n_samples,
        "peer loglik": sklearn_loglik * n_samples,
        "loglik rel. diff": abs(emkit_loglik - sklearn_loglik) / abs(sklearn_loglik),
        "load": os.getloadavg()[0],
    }


COLUMNS = [
    "case",
    "peer",
    "emkit s/fit",
    "peer s/fit",
    "fit speed-up",
    "worst fit speed-up",
    "emkit s/iter",
    "peer s/iter",
    "speed-up",
    "worst speed-up",
    "GFLOP/s",
    "ceiling GFLOP/s",
    "of ceiling",
    "1-thread GFLOP/s",
    "1-thread ceiling",
    "1-thread of ceiling",
    "emkit peak MB",
    "peer peak MB",
    "loglik rel. diff",
    "load",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-iter", type=int, default=5)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--data", default="isotropic", choices=DATA_KINDS)
    args = parser.parse_args()
    row = run(
        args.n_samples,
        covariance_type=args.covariance_type,
        repeats=args.repeats,
        n_iter=args.n_iter,
        dtype=args.dtype,
        data=args.data,
    )
    print(markdown_table([row], COLUMNS))
