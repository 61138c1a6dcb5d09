"""A slowly converging mixture: plain EM against SQUAREM (issue 5), and scikit-learn.

Three heavily overlapping Gaussian components in 2-D: plain EM needs thousands of
iterations. All three fits start from the same parameters and stop at the same
per-sample tolerance; the row reports E-steps, wall time and log-likelihoods.

Run: ``python benchmarks/bench_squarem.py [--n-per-component N]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from _timing import markdown_table
from emkit import GaussianMixture


def make_data(n_per_component, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate(
        [
            rng.normal(0.0, 1.0, (n_per_component, 2)),
            rng.normal(0.8, 1.2, (n_per_component, 2)),
            rng.normal([1.5, -0.5], 0.9, (n_per_component, 2)),
        ]
    )
    init = {
        "weights_init": np.full(3, 1 / 3),
        "means_init": np.array([[-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]]),
        "precisions_init": np.tile(np.eye(2), (3, 1, 1)),
    }
    return X, init


def timed_fit(estimator, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    return estimator, time.perf_counter() - start


def run(n_per_component=3000, tol=1e-9, max_iter=20000, quick=False):
    if quick:
        n_per_component = 500
    X, init = make_data(n_per_component)
    options = dict(
        n_components=3, tol=tol, max_iter=max_iter, init_params="random_from_data", **init
    )
    plain, plain_s = timed_fit(GaussianMixture(**options), X)
    fast, fast_s = timed_fit(GaussianMixture(**options, accelerate="squarem"), X)
    theirs, theirs_s = timed_fit(SklearnGaussianMixture(**options), X)
    n = len(X)
    return {
        "case": f"slow mixture 3x{n_per_component} (2-D, tol {tol:g})",
        "plain E-steps": plain.n_e_steps_,
        "SQUAREM E-steps": fast.n_e_steps_,
        "sklearn E-steps": theirs.n_iter_ + 1,
        "E-step ratio": plain.n_e_steps_ / fast.n_e_steps_,
        "plain s": plain_s,
        "SQUAREM s": fast_s,
        "sklearn s": theirs_s,
        "plain loglik": plain.score(X) * n,
        "SQUAREM loglik": fast.score(X) * n,
        "sklearn loglik": theirs.score(X) * n,
    }


COLUMNS = [
    "case",
    "plain E-steps",
    "SQUAREM E-steps",
    "sklearn E-steps",
    "E-step ratio",
    "plain s",
    "SQUAREM s",
    "sklearn s",
    "plain loglik",
    "SQUAREM loglik",
    "sklearn loglik",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-component", type=int, default=3000)
    args = parser.parse_args()
    print(markdown_table([run(args.n_per_component)], COLUMNS))
