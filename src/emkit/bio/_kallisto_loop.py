"""kallisto's own EM loop (kallisto 0.48, ``EMAlgorithm::run``), on the engine's reduction.

kallisto starts every abundance at 1 / n_transcripts and runs EM updates. After each
update it counts the transcripts whose new abundance is above 1e-2 and changed by more
than 1e-2 of itself; when none did and more than 50 rounds have run, it sets every
abundance below 1e-8 to 0 and runs one final update, whose result it reports (at most
10,000 rounds). Reproducing that rule exactly reproduces kallisto's numbers; it is not
a convergence test (the likelihood can still rise a lot, see ``stopping="tol"``).

The E-step over the chunks is the engine's :class:`emkit.core.Reducer` (threads, fixed
chunk order), so this loop only replaces the engine's stopping rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit.models.transcripts import TranscriptParams

__all__ = ["KALLISTO_MAX_ROUNDS", "KallistoRun", "run_kallisto_em"]

#: kallisto's round budget and its constants (EMAlgorithm.h, 0.48)
KALLISTO_MAX_ROUNDS = 10_000
_MIN_ROUNDS = 50
_CHANGE_LIMIT = 1e-2  # only abundances above this count as changing
_CHANGE = 1e-2  # relative change that still counts
_ZERO_BELOW = 1e-8  # alpha_limit / 10


@dataclass(frozen=True)
class KallistoRun:
    """abundance (n_transcripts,), the per-read objective before every update, the
    number of updates, whether the stopping rule fired (else the budget ran out), and
    the abundances before the final round's zeroing."""

    abundance: np.ndarray
    lower_bounds: np.ndarray
    n_iter: int
    converged: bool
    before_zeroing: np.ndarray


def run_kallisto_em(model, reduce, n_reads: float, max_iter: int = KALLISTO_MAX_ROUNDS):
    """kallisto's loop for ``model`` (a TranscriptAbundance) with the E-step
    ``reduce(model, params) -> (stats, value)`` over all chunks."""
    n = model.n_transcripts
    alpha = np.full(n, 1.0 / n)
    final = False
    converged = False
    before = alpha
    history = []
    for i in range(max_iter):
        params = TranscriptParams(alpha)
        stats, value = reduce(model, params)
        history.append((value + model.log_prior(params)) / n_reads)
        new = model.m_step(stats).abundance
        big = new > _CHANGE_LIMIT
        changed = np.count_nonzero(np.abs(new[big] - alpha[big]) > _CHANGE * new[big])
        alpha = new
        if final:
            break
        if changed == 0 and i > _MIN_ROUNDS:
            final = converged = True
            before = alpha.copy()
            alpha = np.where(alpha < _ZERO_BELOW, 0.0, alpha)
    else:
        before = alpha
    return KallistoRun(alpha, np.asarray(history), len(history), converged, before)
