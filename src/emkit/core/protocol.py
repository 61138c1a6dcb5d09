"""The model protocol: the extension point for users' own models.

A model is an E-step that returns fixed-size, additive expected sufficient statistics
and an M-step that maps statistics to parameters. The engine (``emkit.core.fit_em``)
only ever calls these methods; it knows nothing about any particular model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

Params = TypeVar("Params")
Stats = TypeVar("Stats")


@runtime_checkable
class EMModel(Protocol[Params, Stats]):
    """What the engine needs from a model.

    ``Params`` and ``Stats`` are small immutable containers of arrays (frozen
    dataclasses); ``Stats`` must support ``+`` (statistics of the union of two chunks)
    and ``*`` by a float (see :class:`emkit.containers.Statistics`).

    Optional methods::

        expected_log_joint(params, stats) -> float
            Q(params) = E_q[log p(x, z | params)] computed from the statistics of q;
            used for the per-iteration trace when present.
        m_step_slack(params, stats) -> float
            For an M-step that deliberately does not maximise Q exactly (e.g. a
            covariance floor added afterwards): how far Q (+ log prior) at
            ``params = m_step(stats)`` may lie below its maximum. The objective may
            then decrease by that much in the next iteration without being a bug,
            and the engine's monotonicity check allows for it.
        check_params(params, chunk) -> None
            Raise numpy.linalg.LinAlgError when ``params`` are finite and valid but
            the E-step of ``chunk`` cannot run on them (a filter's innovation
            covariance that the arithmetic no longer holds positive definite). Online
            EM calls it after each update and refuses the batch, keeping the previous
            parameters, rather than leave a model that cannot be used; a model whose
            valid parameters always run has no need of it.
        pack(params) -> ndarray of shape (n_packed,), unpack(vector, like) -> Params
            An unconstrained vector form of the parameters (any vector unpacks to
            valid parameters, or raises a ValueError); needed by ``accelerate``
            ("squarem", "daarem", "qn", "auto") only. The accelerations extrapolate along
            this vector, so a coordinate should converge where the parameter does:
            a probability that EM drives to 0 packs better as its square root (which
            converges to 0) than as its log (which falls without end, and spoils
            DAAREM's secants; measured on a Gaussian HMM's start probabilities,
            345 against 98 E-steps).
    """

    def init_params(self, chunks: Sequence[Any], rng: np.random.RandomState) -> Params:
        """Initial parameters from the data (one restart)."""
        ...

    def e_step(self, params: Params, chunk: Any) -> tuple[Stats, float]:
        """Expected sufficient statistics of ``chunk`` and its summed log-likelihood."""
        ...

    def m_step(self, stats: Stats) -> Params:
        """Parameters maximising Q (plus the log-prior when a prior is set)."""
        ...

    def log_prior(self, params: Params) -> float:
        """Log prior density of ``params`` (0.0 for maximum likelihood)."""
        ...
