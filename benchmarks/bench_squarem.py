"""Accelerated EM on slowly converging fits: E-steps and time against plain EM (issue 15).

Ten slow problems (mixtures full and diagonal, two Gaussian HMMs, a state-space model,
factor analysis, a Student-t mixture, two PLSA fits, transcript quantification), each
fitted from the same start to the same per-sample tolerance by plain EM, SQUAREM
(scheme S3 with the R package's step bounds, the default ``"squarem"``; scheme S1 with
an unbounded first step), DAAREM (``"daarem"``, and with forward steps where its
secants expand), the quasi-Newton acceleration (``"qn"``) and ``"auto"``, and by
scikit-learn where it fits the same model (the mixtures). A row reports the E-steps,
the wall time of one fit, the final log-likelihood and its difference from plain
EM's (the accelerations only ever accept a point at least as good as EM's step, so a
negative difference means a different stationary point or an earlier stop).

Run: ``python benchmarks/bench_squarem.py [--quick] [--problems gmm_full,hmm,...]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from _timing import markdown_table
from emkit import (
    PLSA,
    FactorAnalysis,
    GaussianHMM,
    GaussianMixture,
    LinearGaussianSSM,
    StudentMixture,
)
from emkit.bio import TranscriptQuantifier, load_kallisto_example
from emkit.core.anderson import Daarem
from emkit.core.steps import Squarem

#: method name -> ``accelerate``
METHODS = {
    "plain EM": None,
    "SQUAREM S3 (default)": "squarem",
    "SQUAREM S1, unbounded": partial(Squarem, scheme=1, step_max=np.inf),
    "DAAREM": "daarem",
    "DAAREM, forward when expanding": partial(Daarem, expanding="forward"),
    "quasi-Newton (qn)": "qn",
    "auto": "auto",
}


def _overlapping(rng, n, locations, scales, dim):
    return np.concatenate(
        [rng.normal(loc, scale, (n, dim)) for loc, scale in zip(locations, scales, strict=True)]
    )


def gmm_full(quick):
    """The README's case: three heavily overlapping 2-D components, a fixed start."""
    n = 500 if quick else 3000
    X = _overlapping(np.random.default_rng(0), n, [0.0, 0.8, [1.5, -0.5]], [1.0, 1.2, 0.9], 2)
    options = dict(
        n_components=3,
        tol=1e-9,
        max_iter=20000,
        init_params="random_from_data",
        weights_init=np.full(3, 1 / 3),
        means_init=np.array([[-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]]),
        precisions_init=np.tile(np.eye(2), (3, 1, 1)),
    )
    return (
        f"GMM full, 3 x {n} points, 2-D, tol 1e-9",
        partial(GaussianMixture, **options),
        (X,),
        partial(SklearnGaussianMixture, **options),
    )


def gmm_diag(quick):
    """Four overlapping 3-D components, diagonal covariances, k-means start."""
    n = 400 if quick else 1500
    X = _overlapping(
        np.random.default_rng(1),
        n,
        [0.0, 0.5, [1.0, -0.5, 0.3], [-0.5, 0.7, 1.0]],
        [1.0, 1.3, 0.8, 1.1],
        3,
    )
    options = dict(
        n_components=4, covariance_type="diag", tol=1e-10, max_iter=20000, random_state=0
    )
    return (
        f"GMM diag, 4 x {n} points, 3-D, tol 1e-10",
        partial(GaussianMixture, **options),
        (X,),
        partial(SklearnGaussianMixture, **options),
    )


def _sticky_hmm(seed, n, transmat, means, case):
    """A 1-D three-state HMM sample from ``transmat`` with unit-variance emissions at
    ``means``, and the benchmark problem fitting it."""
    rng = np.random.default_rng(seed)
    states = np.zeros(n, dtype=int)
    for t in range(1, n):
        states[t] = rng.choice(3, p=transmat[states[t - 1]])
    X = (np.asarray(means)[states] + rng.normal(size=n))[:, None]
    options = dict(n_components=3, tol=1e-10, max_iter=20000, random_state=0)
    return case, partial(GaussianHMM, **options), (X,), None


def hmm(quick):
    """Three sticky states whose 1-D emissions overlap (means 1 sd apart)."""
    n = 1000 if quick else 4000
    transmat = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    case = f"Gaussian HMM, 3 states, {n} steps, tol 1e-10"
    return _sticky_hmm(2, n, transmat, [0.0, 1.0, 2.0], case)


def hmm_slow(quick):
    """Three sticky states whose 1-D emissions overlap heavily (means 0.6 sd apart):
    plain EM needs over a thousand iterations."""
    n = 1000 if quick else 3000
    transmat = np.full((3, 3), 0.025) + np.eye(3) * 0.925
    case = f"Gaussian HMM, 3 states 0.6 sd apart, {n} steps, tol 1e-10"
    return _sticky_hmm(12, n, transmat, [0.0, 0.6, 1.2], case)


LGSSM_LEARNED = (
    "transition_matrix",
    "transition_covariance",
    "observation_covariance",
    "initial_state_mean",
)


def lgssm(quick):
    """Two latent states, three series, C known: A, Q, R (diagonal) and m0 learned."""
    rng = np.random.default_rng(3)
    n = 200 if quick else 500
    A = np.array([[0.9, 0.1], [0.0, 0.7]])
    C = rng.normal(size=(3, 2))
    x, X = np.zeros(2), np.empty((n, 3))
    for t in range(n):
        x = A @ x + rng.normal(0, 0.5, 2)
        X[t] = C @ x + rng.normal(0, 1.0, 3)
    options = dict(
        state_dim=2,
        observation_matrix_init=C,
        learn=LGSSM_LEARNED,
        observation_covariance_type="diag",
        tol=1e-10,
        max_iter=20000,
        random_state=0,
    )
    return (
        f"state-space, 2 states, 3 series, {n} steps, tol 1e-10",
        partial(LinearGaussianSSM, **options),
        (X,),
        None,
    )


def factor_analysis(quick):
    """The README's wine example: 3 factors of 13 standardised measurements."""
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_wine().data)
    options = dict(n_components=3, tol=1e-8 if quick else 1e-10, max_iter=20000)
    return (
        f"factor analysis, wine, 3 factors, tol {options['tol']:g}",
        partial(FactorAnalysis, **options),
        (X,),
        None,
    )


def student(quick):
    """Three overlapping 2-D t components (4 degrees of freedom)."""
    rng = np.random.default_rng(4)
    n = 400 if quick else 1500
    X = np.concatenate(
        [
            rng.standard_t(4, (n, 2)),
            rng.standard_t(4, (n, 2)) * 1.2 + 0.8,
            rng.standard_t(4, (n, 2)) * 0.9 + [1.5, -0.5],
        ]
    )
    options = dict(n_components=3, tol=1e-10, max_iter=20000, random_state=0)
    return (
        f"Student-t mixture, 3 x {n} points, tol 1e-10",
        partial(StudentMixture, **options),
        (X,),
        None,
    )


def _plsa(quick, n_topics, concentration, seed=5):
    """Documents of 100 words from ``n_topics`` topics, each drawn from a Dirichlet of
    ``concentration`` over 200 words (small: sparse topics; 0.5: overlapping ones)."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(200, concentration), n_topics)
    n_docs = 100 if quick else 300
    theta = rng.dirichlet(np.full(n_topics, 0.5), n_docs)
    X = np.array([rng.multinomial(100, p) for p in theta @ topics], dtype=float)
    options = dict(
        n_components=n_topics, tol=1e-8 if quick else 1e-10, max_iter=20000, random_state=0
    )
    return n_docs, options, partial(PLSA, **options), (X,)


def plsa(quick):
    """300 documents of 100 words from 5 sparse topics over 200 words."""
    n_docs, options, make, args = _plsa(quick, 5, 0.1)
    return f"PLSA, {n_docs} documents, 5 topics, tol {options['tol']:g}", make, args, None


def plsa_slow(quick):
    """300 documents of 100 words from 8 overlapping topics (Dirichlet 0.5) over 200
    words: plain EM needs about 2,000 iterations."""
    n_docs, options, make, args = _plsa(quick, 8, 0.5)
    case = f"PLSA, {n_docs} documents, 8 overlapping topics, tol {options['tol']:g}"
    return case, make, args, None


def quant(quick):
    """kallisto's test set: 20 equivalence classes of 14 transcripts, 9,413 reads."""
    return (
        "transcript quantification, kallisto test, tol 1e-12",
        partial(TranscriptQuantifier, tol=1e-12),
        (load_kallisto_example(),),
        None,
    )


PROBLEMS = {
    "gmm_full": gmm_full,
    "gmm_diag": gmm_diag,
    "hmm": hmm,
    "hmm_slow": hmm_slow,
    "lgssm": lgssm,
    "factor_analysis": factor_analysis,
    "student": student,
    "plsa": plsa,
    "plsa_slow": plsa_slow,
    "quant": quant,
}


def _fit(estimator, args):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*args)
    return estimator, time.perf_counter() - start


def _log_likelihood(estimator, args):
    value = getattr(estimator, "log_likelihood_", None)
    if value is None:  # scikit-learn: score is the mean per sample
        value = estimator.score(args[0]) * len(args[0])
    return float(value)


def run_problem(name, quick=False):
    """Rows for one problem: every method, then scikit-learn where it applies."""
    case, make, args, peer = PROBLEMS[name](quick)
    rows, plain = [], None
    _fit(make(accelerate=None, max_iter=2), args)  # compiles the kernels: not timed
    for method, accelerate in METHODS.items():
        try:
            estimator, seconds = _fit(make(accelerate=accelerate), args)
        except InvalidParameterError:  # an estimator that takes names only
            continue
        row = {
            "case": case,
            "method": method,
            "E-steps": int(estimator.n_e_steps_),
            "s": seconds,
            "loglik": _log_likelihood(estimator, args),
        }
        plain = plain or row
        rows.append(row)
    if peer is not None:
        estimator, seconds = _fit(peer(), args)
        rows.append(
            {
                "case": case,
                "method": "scikit-learn",
                "E-steps": int(estimator.n_iter_) + 1,  # its last E-step is the final score's
                "s": seconds,
                "loglik": _log_likelihood(estimator, args),
            }
        )
    for row in rows:
        row["fewer E-steps"] = plain["E-steps"] / row["E-steps"]
        row["time ratio"] = plain["s"] / row["s"]
        row["loglik - plain"] = row["loglik"] - plain["loglik"]
    return rows


#: the smoke test's problems (``run_all.py --quick``): seconds, not minutes
QUICK_PROBLEMS = ("factor_analysis", "quant")


def run(problems=None, quick=False):
    """Rows of every problem (a list of names; default all, or QUICK_PROBLEMS)."""
    rows = []
    for name in problems or (QUICK_PROBLEMS if quick else PROBLEMS):
        rows.extend(run_problem(name, quick))
    return rows


COLUMNS = [
    "case",
    "method",
    "E-steps",
    "fewer E-steps",
    "s",
    "time ratio",
    "loglik",
    "loglik - plain",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--problems", default=None, help="comma-separated, default all")
    args = parser.parse_args()
    names = args.problems.split(",") if args.problems else None
    print(markdown_table(run(names, args.quick), COLUMNS))
