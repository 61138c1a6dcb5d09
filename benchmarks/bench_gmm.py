"""Gaussian mixture: time per EM iteration, emkit vs scikit-learn, in one process.

Case (issues 2 and 5): 1,000,000 x 16 points, 16 full-covariance components. Both
start from the same parameters; one iteration is one E-step plus one M-step
(scikit-learn's ``_e_step`` + ``_m_step``; emkit's E-step over the estimator's
chunks, on every core, + ``m_step``), timed interleaved. Then both run the same
number of full iterations from the same start and the final log-likelihoods are
compared. ``--dtype float32`` runs emkit's E-step arithmetic in float32. Peak memory
is what one iteration allocates (tracemalloc; the data themselves are not counted).

Run: ``python benchmarks/bench_gmm.py [--n-samples N] [--repeats R] [--dtype float32]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from _timing import interleaved_medians, markdown_table, peak_memory_mb
from emkit import GaussianMixture
from emkit.core import Reducer
from emkit.estimators._data import prepare_mixture_data


def make_data(n_samples, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    X = centres[labels] + rng.normal(size=(n_samples, n_features))
    init = {
        "weights_init": np.full(n_components, 1.0 / n_components),
        "means_init": X[rng.choice(n_samples, n_components, replace=False)],
        "precisions_init": np.tile(np.eye(n_features), (n_components, 1, 1)),
    }
    return X, init


def run(
    n_samples=1_000_000,
    n_features=16,
    n_components=16,
    covariance_type="full",
    repeats=3,
    n_iter=5,
    dtype="float64",
):
    X, init = make_data(n_samples, n_features, n_components)
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(**options, dtype=dtype).fit(X)
        theirs = SklearnGaussianMixture(**options).fit(X)

    # scored before timing: scikit-learn's _m_step below updates the estimator in place
    emkit_loglik, sklearn_loglik = ours.score(X), theirs.score(X)

    # one EM iteration each, from the fitted parameters (the same point for both)
    data = prepare_mixture_data(
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

    with Reducer(data.chunks, n_jobs=None) as reduce:

        def emkit_iteration():
            stats, _ = reduce(model, params)
            model.m_step(stats)

        emkit_s, sklearn_s = interleaved_medians(emkit_iteration, sklearn_iteration, repeats)
        emkit_mb, sklearn_mb = peak_memory_mb(emkit_iteration), peak_memory_mb(sklearn_iteration)
    return {
        "case": f"GMM {covariance_type} {n_samples}x{n_features}, K={n_components}, {dtype}",
        "peer": "scikit-learn",
        "emkit s/iter": emkit_s,
        "peer s/iter": sklearn_s,
        "speed-up": sklearn_s / emkit_s,
        "emkit peak MB": emkit_mb,
        "peer peak MB": sklearn_mb,
        "emkit loglik": emkit_loglik * n_samples,
        "peer loglik": sklearn_loglik * n_samples,
        "loglik rel. diff": abs(emkit_loglik - sklearn_loglik) / abs(sklearn_loglik),
    }


COLUMNS = [
    "case",
    "peer",
    "emkit s/iter",
    "peer s/iter",
    "speed-up",
    "emkit peak MB",
    "peer peak MB",
    "loglik rel. diff",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    row = run(
        args.n_samples, covariance_type=args.covariance_type, repeats=args.repeats, dtype=args.dtype
    )
    print(markdown_table([row], COLUMNS))
