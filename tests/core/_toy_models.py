"""The toy model of the engine tests: a unit-variance Gaussian with unknown mean, whose
behaviour under exact and deliberately broken M-steps is known in closed form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emkit.core import Statistics

_LOG_2PI = np.log(2 * np.pi)


@dataclass(frozen=True, eq=False)
class MeanStats(Statistics):
    count: float
    total: float
    start: float  # the mean that entered the E-step

    reference_fields = ("start",)


class DampedMean:
    """Unit-variance Gaussian with unknown mean; the M-step moves ``step`` of the way to
    the sample mean. 0 < step <= 1 is a generalised EM (the likelihood increases);
    step < 0 moves away from the optimum: a broken M-step."""

    def __init__(self, step=0.5):
        self.step = step
        self.init_calls = 0

    def init_params(self, chunks, rng):
        self.init_calls += 1
        return float(rng.uniform(-10, 10))

    def e_step(self, mean, chunk):
        x = np.asarray(chunk, dtype=float)
        loglik = -0.5 * float(np.sum((x - mean) ** 2)) - 0.5 * x.size * _LOG_2PI
        return MeanStats(float(x.size), float(x.sum()), mean), loglik

    def m_step(self, stats):
        return stats.start + self.step * (stats.total / stats.count - stats.start)

    def log_prior(self, mean):
        return 0.0


def loglik(x, mean):
    return -0.5 * float(np.sum((x - mean) ** 2)) - 0.5 * x.size * _LOG_2PI
