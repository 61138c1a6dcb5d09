"""Per-iteration record of the quantities in the EM derivation.

With ``q`` the posterior computed in the E-step of iteration ``t`` (under the
parameters ``θ_old`` that entered it) and ``θ_new`` the M-step's result:

* ``log_likelihood``      log p(x | θ_old)  (= L(q, θ_old), since KL(q‖p) = 0 there)
* ``entropy``             H(q) = log p(x | θ_old) − Q(θ_old)
* ``expected_log_joint``  Q(θ_new) = E_q[log p(x, z | θ_new)]
* ``lower_bound``         L(q, θ_new) = Q(θ_new) + H(q)  ≤ log p(x | θ_new)
* ``kl``                  KL(q ‖ p(z | x, θ_new)) = log p(x | θ_new) − L(q, θ_new) ≥ 0

so ``log_likelihood[t+1] = lower_bound[t] + kl[t]`` holds at every iteration.
All values are totals over the data (not per sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TraceRecord:
    iteration: int
    log_likelihood: float
    log_prior: float
    entropy: float
    expected_log_joint: float
    lower_bound: float
    kl: float


def trace_as_arrays(trace: list[TraceRecord]) -> dict[str, np.ndarray]:
    """Column view of a trace: ``{field: array of shape (n_iter,)}``."""
    if not trace:
        return {}
    names = TraceRecord.__dataclass_fields__.keys()
    return {name: np.array([getattr(r, name) for r in trace]) for name in names}
