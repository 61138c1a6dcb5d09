"""Linear-Gaussian state-space model: time per EM iteration, emkit vs pykalman, in one process.

Case (issue 4): state and observation dimension 4, one sequence of 5,000 time steps,
EM learning the transition matrix A, observation matrix C and both noise covariances
Q and R. Both libraries start from the same parameters. One iteration is one E-step
(Kalman filter, RTS smoother, expected moments) plus one M-step: emkit's
``LGSSM.e_step`` + ``m_step`` (what the engine runs per iteration) and pykalman's
``KalmanFilter(...).em(X, n_iter=1, em_vars=...)`` (its public one-iteration call), timed
interleaved. Then both run the same number of full iterations from the same start and
their log-likelihoods are compared.

Run: ``python benchmarks/bench_lgssm.py [--n-steps N] [--repeats R]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from pykalman import KalmanFilter

from _timing import interleaved_medians, markdown_table
from emkit import LinearGaussianSSM
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


def run(n_steps=5000, dim=4, repeats=5, n_iter=5, quick=False):
    """Time one EM iteration of each library; returns a dict (one results row)."""
    if quick:
        n_steps, repeats, n_iter = 1000, 2, 2
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
        "case": f"LGSSM k=p={dim}, T={n_steps}, learn A, C, Q, R",
        "peer": "pykalman 0.11",
        "emkit s/iter": emkit_s,
        "peer s/iter": pykalman_s,
        "speed-up": pykalman_s / emkit_s,
        "emkit loglik": emkit_loglik,
        "peer loglik": pykalman_loglik,
        "loglik rel. diff": abs(emkit_loglik - pykalman_loglik) / abs(pykalman_loglik),
        "max param diff": max_param_diff,
    }


COLUMNS = [
    "case",
    "peer",
    "emkit s/iter",
    "peer s/iter",
    "speed-up",
    "loglik rel. diff",
    "max param diff",
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(markdown_table([run(args.n_steps, repeats=args.repeats)], COLUMNS))
