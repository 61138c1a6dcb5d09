"""The Nile's local-level model fitted by EM, and its smoothed level.

Annual flow of the Nile at Aswan, 1871-1970 (10⁸ m³): flow_t = level_t + ε_t with a
random-walk level, level_{t+1} = level_t + η_t (a 1-state LinearGaussianSSM with
A = C = 1). EM, accelerated by SQUAREM, learns the two noise variances and the initial
level; P₀ = 10⁷ stands for the diffuse prior on the 1871 level. The maximum likelihood
estimates are the classic σ²_ε = 15099 and σ²_η = 1469.1 (Durbin & Koopman). The
figure is the smoothed level E[level_t | all 100 years] with its 90% credible band.

Run:  python examples/nile_lgssm.py [output.png]
"""

from __future__ import annotations

import sys

import emkit
from emkit.plot import plot_smoothed, save_figure


def fit_nile() -> emkit.LinearGaussianSSM:
    """The local-level model of the Nile flow, fitted by EM with SQUAREM."""
    flow = emkit.datasets.load_nile().data[:, 1:]
    return emkit.LinearGaussianSSM(
        1,
        transition_matrix_init=1.0,  # A = 1: the level is a random walk
        observation_matrix_init=1.0,  # C = 1: flow = level + noise
        initial_state_covariance_init=1e7,  # P0: fixed, nearly diffuse
        learn=("transition_covariance", "observation_covariance", "initial_state_mean"),
        tol=1e-12,
        max_iter=5000,
        accelerate="squarem",
    ).fit(flow)


def main(output: str = "docs/images/nile_lgssm.png") -> None:
    nile = emkit.datasets.load_nile()
    years, flow = nile.data[:, 0], nile.data[:, 1:]
    model = fit_nile()
    print(
        f"sigma_eps^2 = {model.observation_covariance_[0, 0]:.0f}, "
        f"sigma_eta^2 = {model.transition_covariance_[0, 0]:.1f}, "
        f"log-likelihood {model.log_likelihood_:.2f} after {model.n_iter_} iterations"
    )
    ax = plot_smoothed(
        model,
        flow,
        time=years,
        coverage=0.9,
        observed_label="annual flow",
        xlabel="year",
        ylabel="flow (10⁸ m³)",
        title="Nile at Aswan: local-level model fitted by EM",
    )
    print("figure:", save_figure(ax.figure, output))


if __name__ == "__main__":
    main(*sys.argv[1:2])
