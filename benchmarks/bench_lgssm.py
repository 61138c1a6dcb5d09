"""Linear-Gaussian state-space model: emkit vs pykalman and statsmodels, in one process.

Three comparisons, each timed interleaved (emkit, peer, emkit, peer, ...) in one process:

1. **pykalman** (issue 4): state and observation dimension 4, one sequence of 5,000
   steps, EM learning A, C, Q and R from the same start. One iteration is one E-step
   (Kalman filter, RTS smoother, expected moments) plus one M-step: emkit's
   ``LGSSM.e_step`` + ``m_step`` (what the engine runs per iteration) and pykalman's
   ``KalmanFilter(...).em(X, n_iter=1, em_vars=...)``. Both then run the same number of
   iterations and their log-likelihoods are compared.
2. **statsmodels DynamicFactorMQ EM** (issue 15): 4 factors with VAR(1) dynamics and
   diagonal observation noise (``factors=4, factor_orders=1, idiosyncratic_ar1=False``),
   4 and 8 standardised series of 5,000 steps; emkit learns A, C, Q and a diagonal R
   (``observation_covariance_type="diag"``). Per iteration: emkit's ``e_step`` +
   ``m_step`` against DynamicFactorMQ's ``_em_iteration`` (its E-step, the Cython
   smoother with the states' covariances and autocovariances, and its M-step, without
   the fit loop around it). Whole fit: ``LinearGaussianSSM(...).fit`` against
   ``DynamicFactorMQ(...).fit_em``, the same number of iterations each (tolerance 0),
   each from its own data-driven start.
3. **statsmodels' Cython Kalman smoother** on the same 4-state, 8-series model, at the
   same parameters (known initial state): emkit's ``LinearGaussianSSM.smooth(X)``
   against ``KalmanSmoother.smooth(SMOOTHER_STATE | SMOOTHER_STATE_COV)`` (the means and
   covariances that emkit returns), with statsmodels' conventional and univariate
   filters (the faster counts). The smoothed means and the log-likelihood are compared.

``speed-up`` is the ratio of median times; ``least`` is the least favourable ratio of one
interleaved pair of runs (peer time / emkit time), ``most`` the most favourable.
``GFLOP/s`` is emkit's floating-point rate per E-step, counted for the operations it
performs (:func:`e_step_flops`: the full recursion until the steady state, its
products after it), against ``GEMM GFLOP/s``, a 1024 x 1024 float64 matrix product on one
thread measured in the same run (``_ceiling.py``).

Run: ``python benchmarks/bench_lgssm.py [--n-steps N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from pykalman import KalmanFilter

from _ceiling import gemm_gflops
from _timing import interleaved_medians, markdown_table
from emkit import LinearGaussianSSM
from emkit._kernels import kalman as kernels
from emkit.models.lgssm import LGSSM, LGSSMParams

LEARN = (
    "transition_matrix",
    "observation_matrix",
    "transition_covariance",
    "observation_covariance",
)
PYKALMAN = {
    "transition_matrix": "transition_matrices",
    "observation_matrix": "observation_matrices",
    "transition_covariance": "transition_covariance",
    "observation_covariance": "observation_covariance",
    "initial_state_mean": "initial_state_mean",
    "initial_state_covariance": "initial_state_covariance",
}


def make_data(n_steps, dim, seed=0):
    """A stable rotating system observed in noise, and a perturbed starting point."""
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    truth = LGSSMParams(
        transition_matrix=0.95 * rotation,
        observation_matrix=rng.normal(size=(dim, dim)),
        transition_covariance=0.2 * np.eye(dim),
        observation_covariance=0.5 * np.eye(dim),
        initial_state_mean=np.zeros(dim),
        initial_state_covariance=np.eye(dim),
        control_transition_matrix=np.zeros((dim, 0)),
        control_observation_matrix=np.zeros((dim, 0)),
    )
    X, _ = LGSSM(dim, dim).sample(truth, n_steps, np.random.RandomState(seed))
    start = {
        "transition_matrix": 0.5 * np.eye(dim),
        "observation_matrix": truth.observation_matrix + rng.normal(scale=0.3, size=(dim, dim)),
        "transition_covariance": np.eye(dim),
        "observation_covariance": np.eye(dim),
        "initial_state_mean": np.zeros(dim),
        "initial_state_covariance": np.eye(dim),
    }
    return X, start


def make_factor_data(n_steps, n_series, n_factors=4, seed=0):
    """Standardised series of a dynamic factor model: VAR(1) factors, diagonal noise."""
    rng = np.random.default_rng(seed)
    k, p = n_factors, n_series
    truth = LGSSMParams(
        transition_matrix=0.9 * np.linalg.qr(rng.normal(size=(k, k)))[0],
        observation_matrix=rng.normal(size=(p, k)),
        transition_covariance=0.3 * np.eye(k),
        observation_covariance=np.diag(rng.uniform(0.3, 1.0, p)),
        initial_state_mean=np.zeros(k),
        initial_state_covariance=np.eye(k),
        control_transition_matrix=np.zeros((k, 0)),
        control_observation_matrix=np.zeros((p, 0)),
    )
    X, _ = LGSSM(k, p).sample(truth, n_steps, np.random.RandomState(seed))
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _interleaved(first, second, repeats):
    """Median times of ``first`` and ``second`` run alternately, and the least and most
    favourable ratio second / first of one pair."""
    times = [], []
    for _ in range(repeats):
        for function, store in zip((first, second), times, strict=True):
            start = time.perf_counter()
            function()
            store.append(time.perf_counter() - start)
    ratios = [b / a for a, b in zip(*times, strict=True)]
    return statistics.median(times[0]), statistics.median(times[1]), min(ratios), max(ratios)


def e_step_flops(filtered, p, k, m=0):
    """Floating-point operations of one E-step (filter, smoother, moments) as emkit
    performs them on completely observed data: steps whose predicted covariance equals
    the previous step's (bit for bit) ran the steady-state products, the others the full
    recursion (Joseph form, Cholesky of the innovation covariance, the smoother's gain
    and Joseph-type covariance); the moments cost the same at every step."""
    P = filtered.predicted_covariances
    steady = int(np.count_nonzero(np.all(P[1:] == P[:-1], axis=(1, 2))))
    full = P.shape[0] - steady
    steady_filter = 4 * p * k + p * p + 3 * p + 2 * k * k + 2 * k * m + 2 * p * m
    full_filter = (
        steady_filter
        + 4 * k**3  # A P A'
        + 2 * p * k * k  # C P
        + p * p * k  # S
        + p**3 / 3  # Cholesky
        + 2 * p * p * k  # the two triangular solves of K'
        + 2 * k * k * p  # I - K C
        + 2 * k**3  # (I - K C) P
        + 2 * p * p * k  # R K'
        + k * k * (k + p)  # the Joseph form's products (lower triangle)
    )
    steady_smoother = 2 * k * k + 2 * k
    full_smoother = steady_smoother + k**3 / 3 + 4 * k**3 + 4 * k**3 + 4 * k**3 + k**3
    moments = 9 * k * k + 2 * p * k + 2 * p * p + 4 * k * m + 2 * p * m
    return (
        steady * (steady_filter + steady_smoother)
        + full * (full_filter + full_smoother)
        + P.shape[0] * moments
    )


def _emkit(start, n_iter):
    return LinearGaussianSSM(
        len(start["initial_state_mean"]),
        learn=LEARN,
        max_iter=n_iter,
        tol=0.0,
        **{f"{name}_init": value for name, value in start.items()},
    )


def _pykalman(start):
    return KalmanFilter(**{PYKALMAN[name]: value for name, value in start.items()})


def run_pykalman(n_steps=5000, dim=4, repeats=5, n_iter=5):
    """One EM iteration of emkit and of pykalman from the same start (one results row)."""
    X, start = make_data(n_steps, dim)
    em_vars = [PYKALMAN[name] for name in LEARN]

    # the same number of full EM iterations from the same start: log-likelihoods agree
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _emkit(start, n_iter).fit(X)
    theirs = _pykalman(start).em(X, n_iter=n_iter, em_vars=em_vars)
    emkit_loglik, pykalman_loglik = ours.score(X), float(theirs.loglikelihood(X))
    max_param_diff = max(
        float(np.max(np.abs(getattr(ours, f"{name}_") - getattr(theirs, PYKALMAN[name]))))
        for name in LEARN
    )

    # one iteration each from the same point (the starting parameters)
    model = ours.model_
    params = LGSSMParams(
        **start,
        control_transition_matrix=np.zeros((dim, 0)),
        control_observation_matrix=np.zeros((dim, 0)),
    )
    chunk = ours._chunk(X, None, None)
    model.m_step(model.e_step(params, chunk)[0])  # compile / warm up

    def emkit_iteration():
        stats, _ = model.e_step(params, chunk)
        model.m_step(stats)

    def pykalman_iteration():
        _pykalman(start).em(X, n_iter=1, em_vars=em_vars)

    emkit_s, pykalman_s = interleaved_medians(emkit_iteration, pykalman_iteration, repeats)
    return {
        "case": f"LGSSM k=p={dim}, T={n_steps}, learn A, C, Q, R, EM iteration",
        "peer": "pykalman 0.11",
        "emkit s/iter": emkit_s,
        "peer s/iter": pykalman_s,
        "speed-up": pykalman_s / emkit_s,
        "emkit loglik": emkit_loglik,
        "peer loglik": pykalman_loglik,
        "loglik rel. diff": abs(emkit_loglik - pykalman_loglik) / abs(pykalman_loglik),
        "max param diff": max_param_diff,
    }


def _factor_model(X, k):
    from statsmodels.tsa.statespace.dynamic_factor_mq import DynamicFactorMQ

    return DynamicFactorMQ(
        X, factors=k, factor_orders=1, idiosyncratic_ar1=False, standardize=False
    )


def _factor_estimator(k, n_iter):
    return LinearGaussianSSM(
        k, learn=LEARN, observation_covariance_type="diag", max_iter=n_iter, tol=0.0
    )


def run_dynamic_factor(n_steps=5000, n_series=8, k=4, repeats=7, n_iter=20, gemm=None):
    """emkit vs statsmodels DynamicFactorMQ EM: per iteration and whole fit (two rows)."""
    import statsmodels

    X = make_factor_data(n_steps, n_series, k)
    peer = f"statsmodels {statsmodels.__version__} DynamicFactorMQ EM"
    case = f"LGSSM k={k}, p={n_series}, T={n_steps}, A, C, Q, diagonal R"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = _factor_estimator(k, 1).fit(X)
        factor_model = _factor_model(X, k)
        factor_params = factor_model.start_params
        model, params = start.model_, start.params_
        chunk = start._chunk(X, None, None)

        def emkit_iteration():
            model.m_step(model.e_step(params, chunk)[0])

        def statsmodels_iteration():
            factor_model._em_iteration(factor_params)

        emkit_iteration(), statsmodels_iteration()  # compile / warm up
        ours, theirs, least, most = _interleaved(emkit_iteration, statsmodels_iteration, repeats)
        filtered = model.filter(params, chunk)
        flops = e_step_flops(filtered, n_series, k)
        e_step_s = min(_time(lambda: model.e_step(params, chunk)) for _ in range(repeats))
        rows = [
            {
                "case": case + ", EM iteration",
                "peer": peer,
                "emkit s/iter": ours,
                "peer s/iter": theirs,
                "speed-up": theirs / ours,
                "least": least,
                "most": most,
                "GFLOP/s": flops / e_step_s / 1e9,
                "GEMM GFLOP/s": gemm,
            }
        ]

        def emkit_fit():
            return _factor_estimator(k, n_iter).fit(X)

        def statsmodels_fit():
            return _factor_model(X, k).fit_em(maxiter=n_iter, tolerance=0.0, disp=False)

        fit_repeats = max(2, repeats // 2)
        ours, theirs, least, most = _interleaved(emkit_fit, statsmodels_fit, fit_repeats)
        emkit_loglik = emkit_fit().log_likelihood_
        statsmodels_loglik = float(statsmodels_fit().llf)
    rows.append(
        {
            "case": case + f", fit of {n_iter} iterations",
            "peer": peer,
            "emkit s/iter": ours / n_iter,
            "peer s/iter": theirs / n_iter,
            "speed-up": theirs / ours,
            "least": least,
            "most": most,
            "emkit loglik": emkit_loglik,
            "peer loglik": statsmodels_loglik,
        }
    )
    return rows


def _time(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_smoother(n_steps=5000, n_series=8, k=4, repeats=9):
    """emkit's smoother vs statsmodels' Cython Kalman smoother at the same parameters."""
    import statsmodels
    from statsmodels.tsa.statespace.kalman_filter import FILTER_CONVENTIONAL, FILTER_UNIVARIATE
    from statsmodels.tsa.statespace.kalman_smoother import (
        SMOOTHER_STATE,
        SMOOTHER_STATE_COV,
        KalmanSmoother,
    )

    X = make_factor_data(n_steps, n_series, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _factor_estimator(k, 3).fit(X)
    A, C = ours.transition_matrix_, ours.observation_matrix_
    Q, R = ours.transition_covariance_, ours.observation_covariance_
    m0, P0 = ours.initial_state_mean_, ours.initial_state_covariance_

    def statsmodels_smoother(method):
        smoother = KalmanSmoother(
            k_endog=n_series,
            k_states=k,
            design=C,
            obs_cov=R,
            transition=A,
            selection=np.eye(k),
            state_cov=Q,
        )
        smoother.bind(np.asfortranarray(X.T))
        smoother.initialize_known(m0, P0)
        smoother.filter_method = method
        return smoother

    output = SMOOTHER_STATE | SMOOTHER_STATE_COV
    peers = {
        "conventional": statsmodels_smoother(FILTER_CONVENTIONAL),
        "univariate": statsmodels_smoother(FILTER_UNIVARIATE),
    }
    best = None
    for name, smoother in peers.items():
        result = smoother.smooth(smoother_output=output)  # warm up

        def emkit_smooth():
            ours.smooth(X)

        def statsmodels_smooth(smoother=smoother):
            smoother.smooth(smoother_output=output)

        emkit_smooth()
        timing = _interleaved(emkit_smooth, statsmodels_smooth, repeats)
        if best is None or timing[1] < best[1][1]:
            best = (name, timing, result)
    name, (emkit_s, statsmodels_s, least, most), result = best
    level, _ = ours.smooth(X)
    loglik, peer_loglik = ours.score(X), float(np.sum(result.llf_obs))
    return {
        "case": f"LGSSM k={k}, p={n_series}, T={n_steps}, smoother (means and covariances)",
        "peer": f"statsmodels {statsmodels.__version__} KalmanSmoother ({name} filter)",
        "emkit s/iter": emkit_s,
        "peer s/iter": statsmodels_s,
        "speed-up": statsmodels_s / emkit_s,
        "least": least,
        "most": most,
        "emkit loglik": loglik,
        "peer loglik": peer_loglik,
        "loglik rel. diff": abs(loglik - peer_loglik) / abs(peer_loglik),
        "max param diff": float(np.max(np.abs(level - result.smoothed_state.T))),
    }


def run(n_steps=5000, dim=4, repeats=5, n_iter=5, quick=False):
    """Every comparison of this file; returns a list of results rows."""
    if quick:
        n_steps, repeats, n_iter = 1000, 2, 2
    gemm = gemm_gflops(threads=1)
    rows = [run_pykalman(n_steps, dim, repeats, n_iter)]
    for n_series in (4, 8):
        rows += run_dynamic_factor(
            n_steps, n_series, repeats=max(repeats, 3), n_iter=4 * n_iter, gemm=gemm
        )
    rows.append(run_smoother(n_steps, repeats=max(repeats, 3)))
    # the steady-state switch's tolerance every row ran with
    for row in rows:
        row.setdefault("steady tol", kernels.STEADY_STATE_RTOL)
    return rows


COLUMNS = [
    "case",
    "peer",
    "emkit s/iter",
    "peer s/iter",
    "speed-up",
    "least",
    "most",
    "loglik rel. diff",
    "max param diff",
    "GFLOP/s",
    "GEMM GFLOP/s",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(markdown_table(run(args.n_steps, repeats=args.repeats), COLUMNS))
