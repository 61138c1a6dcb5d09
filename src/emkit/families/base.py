"""The protocol of a distribution family: what a mixture (or an HMM) needs from it.

Adding a distribution means one file in ``emkit/families/`` with a class that has these
methods; nothing to register. ``K`` is the number of components (or hidden states),
``n`` the number of samples, ``D`` the number of features.

Optional method, used by :class:`emkit.models.HMM` when present (a family whose
statistics need parameters even at initialisation, such as a mixture of Gaussians
per state)::

    initial_params(X, resp, rng) -> params
        Initial parameters from initial responsibilities ``resp`` (n, K).

Optional method, used by :class:`emkit.models.Mixture` when present (work that
``log_prob`` and ``statistics`` share, done once per block of rows)::

    prepare(params, X) -> block
        Something that ``log_prob(params, block)`` and ``statistics(block, resp,
        params)`` accept in place of X (n, D); the Gaussian family returns the
        block's quadratic features for full and tied covariances.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Family(Protocol):
    #: names of the parameters that ``learn=`` may list, e.g. ("means", "covariances")
    param_names: tuple[str, ...]

    def check_data(self, X: np.ndarray) -> np.ndarray:
        """Validate (and convert) data of shape (n, D); raise ValueError naming the problem."""
        ...

    def log_prob(self, params: Any, X: np.ndarray) -> np.ndarray:
        """log p(x_i | component k) of shape (n, K)."""
        ...

    def statistics(self, X: np.ndarray, resp: np.ndarray, reference: Any | None) -> Any:
        """Expected sufficient statistics given responsibilities ``resp`` (n, K).

        ``resp`` already includes sample weights. ``reference`` is the parameter
        container that produced ``resp`` (None at initialisation); families may use it
        as a shift for numerically safe moments.
        """
        ...

    def m_step(self, stats: Any, *, learn: frozenset[str], fixed: Any | None) -> Any:
        """Parameters maximising Q (+ log-prior); fields not in ``learn`` come from ``fixed``."""
        ...

    def expected_log_prob(self, params: Any, stats: Any) -> float:
        """sum_i sum_k r_ik log p(x_i | k), computed from the statistics alone."""
        ...

    def log_prior(self, params: Any) -> float:
        """Log prior density of the component parameters (0.0 without a prior)."""
        ...

    def n_free_parameters(self, n_components: int, n_features: int) -> int: ...

    def sample(self, params: Any, counts: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        """Samples, ``counts[k]`` from component k, stacked in component order."""
        ...

    def replace_fields(self, params: Any, values: dict[str, Any]) -> Any:
        """``params`` with the named fields (a subset of ``param_names``) replaced."""
        ...
