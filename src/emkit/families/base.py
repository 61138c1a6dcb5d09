"""The contract of a distribution family: everything a mixture (or an HMM) calls on it.

Adding a distribution means one file in ``emkit/families/`` with one subclass of
:class:`Family`; nothing to register. The abstract methods are what every family
must write; the others have a default that suits most families (override them when
the family can do better: the Gaussian family overrides :meth:`Family.prepare`,
:meth:`Family.mixture_e_step` and :meth:`Family.m_step_slack`, the Gaussian-mixture
emission :meth:`Family.initial_params`).

``K`` is the number of components (or hidden states), ``n`` the number of samples and
``D`` the number of features. Parameter and statistics containers are frozen
dataclasses (statistics subclass :class:`emkit.containers.Statistics`); a parameter
container has one field per name in :attr:`Family.param_names` (plus derived fields
such as Cholesky factors), and in a *partial* container (the user's initial values)
any of those fields may be None.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

__all__ = ["COUNT_FLOOR", "Family", "floor_scale"]

#: Added to every component's expected count (sum of responsibilities) before dividing
#: by it, as scikit-learn does, so that an empty component keeps finite parameters (and
#: fits agree with scikit-learn's).
COUNT_FLOOR = 10.0 * np.finfo(np.float64).eps


def floor_scale(total):
    """The divisor of statistics of total weight ``total`` before ``COUNT_FLOOR`` is added.

    The floor is absolute, so statistics that sum to less than one (sample weights of
    1e-300) would drown in it: those are divided by their total first (a ratio of them
    does not change), the others by 1. A total of 0 is left as it is. ``total`` may be
    an array (one total per ratio); the result has its shape.
    """
    total = np.asarray(total, dtype=float)
    return np.where(total > 0, np.minimum(total, 1.0), 1.0)


class Family(abc.ABC):
    """Base class of the distribution families (see the module docstring)."""

    #: names of the parameters that ``learn=`` may list, in the order of
    #: :meth:`make_params`'s arguments, e.g. ("means", "covariances")
    param_names: tuple[str, ...] = ()

    # -- parameters ---------------------------------------------------------------
    @abc.abstractmethod
    def make_params(self, *values, **named_values) -> Any:
        """Validated parameter container from the values of :attr:`param_names`.

        Parameters
        ----------
        *values, **named_values : ndarray
            One value per name in :attr:`param_names`, in that order or by name, in
            the shapes the family documents (K first).

        Returns
        -------
        params : the family's parameter container, with its derived fields computed.

        Raises
        ------
        ValueError
            Naming the problem (e.g. a covariance that is not positive definite).
        """

    def replace_fields(self, params: Any, values: dict[str, Any]) -> Any:
        """``params`` with the named fields replaced, validated again by :meth:`make_params`.

        Parameters
        ----------
        params : the family's parameter container (complete)
        values : dict
            New values, keyed by a subset of :attr:`param_names`.
        """
        return self.make_params(
            **{name: values.get(name, getattr(params, name)) for name in self.param_names}
        )

    def given_fields(self, partial: Any | None) -> dict[str, Any]:
        """The values that a partial parameter container sets, keyed by parameter name.

        Parameters
        ----------
        partial : the family's parameter container or None
            Fields of :attr:`param_names` that are None are not given (None: nothing
            is given).
        """
        if partial is None:
            return {}
        values = {name: getattr(partial, name) for name in self.param_names}
        return {name: value for name, value in values.items() if value is not None}

    @abc.abstractmethod
    def check_data(self, X: np.ndarray) -> np.ndarray:
        """Validate (and convert) data for this family.

        Parameters
        ----------
        X : ndarray of shape (n, D)

        Returns
        -------
        X : ndarray of shape (n, D), in the dtype the other methods expect.

        Raises
        ------
        ValueError
            Naming the first offending entry (e.g. a negative count).
        """

    # -- E-step -------------------------------------------------------------------
    def prepare(self, params: Any, X: np.ndarray) -> Any:
        """Work that :meth:`log_prob` and :meth:`statistics` share, done once per block.

        Parameters
        ----------
        params : the family's parameter container
        X : ndarray of shape (n, D)
            One block of rows.

        Returns
        -------
        block
            Something that ``log_prob(params, block)`` and ``statistics(block, resp,
            params)`` accept in place of X. The default is X itself; the Gaussian
            family returns the block's quadratic features for full and tied
            covariances.
        """
        return X

    @abc.abstractmethod
    def log_prob(self, params: Any, X: Any) -> np.ndarray:
        """Log-density of every sample under every component.

        Parameters
        ----------
        params : the family's parameter container
        X : ndarray of shape (n, D), or what :meth:`prepare` returned for it

        Returns
        -------
        log_prob : ndarray of shape (n, K)
            ``log p(x_i | component k)``.
        """

    @abc.abstractmethod
    def statistics(self, X: Any, resp: np.ndarray, reference: Any | None) -> Any:
        """Expected sufficient statistics under the responsibilities ``resp``.

        Parameters
        ----------
        X : ndarray of shape (n, D), or what :meth:`prepare` returned for it
        resp : ndarray of shape (n, K)
            Responsibilities, sample weights already included.
        reference : the family's parameter container or None
            The parameters that produced ``resp`` (None at initialisation); a family
            may use it as a shift for numerically safe moments, or as the value an
            empty component keeps.

        Returns
        -------
        stats : the family's statistics container (fixed size, additive).
        """

    def mixture_e_step(
        self, params: Any, X: np.ndarray, log_weights: np.ndarray, row_weights=None
    ) -> tuple[np.ndarray, Any] | None:
        """A mixture's whole E-step over X in one fused pass, or None (the default).

        The same result as :meth:`log_prob`, the log-sum-exp with ``log_weights`` and
        :meth:`statistics` under the normalised responsibilities (times
        ``row_weights`` (n,) when given), to rounding. A family with a kernel that
        does it in one pass overrides this; None, for any block it cannot take, makes
        the mixture go step by step.

        Returns
        -------
        (log_norm, stats) : log p(x_i) of shape (n,), and the statistics
        (:meth:`statistics`' container, ``params`` as the reference), or None.
        """
        return None

    # -- initialisation -------------------------------------------------------------
    def initial_params(self, X: np.ndarray, resp: np.ndarray, rng: np.random.RandomState) -> Any:
        """Initial parameters from initial responsibilities (used by the HMM).

        Parameters
        ----------
        X : ndarray of shape (n, D)
        resp : ndarray of shape (n, K)
            Initial responsibilities (e.g. a k-means partition), weights included.
        rng : numpy.random.RandomState
            For families whose start needs random numbers of their own.

        Returns
        -------
        params : the family's parameter container
            The default is one M-step of every parameter from the statistics under
            ``resp``; a family whose statistics need parameters (a mixture per state)
            overrides it.
        """
        return self.m_step(
            self.statistics(X, resp, None), learn=frozenset(self.param_names), fixed=None
        )

    # -- M-step -------------------------------------------------------------------
    @abc.abstractmethod
    def m_step(self, stats: Any, *, learn: frozenset[str], fixed: Any | None) -> Any:
        """Parameters maximising Q (plus the log-prior when the family has a prior).

        Parameters
        ----------
        stats : the family's statistics container
        learn : frozenset of str
            The names of :attr:`param_names` to estimate.
        fixed : the family's (partial) parameter container or None
            Gives the parameters not in ``learn``, which the result keeps exactly.

        Returns
        -------
        params : the family's parameter container
        """

    def m_step_slack(self, params: Any, stats: Any, learn: frozenset[str]) -> float:
        """How far Q (+ log prior) at ``params = m_step(stats)`` may lie below its maximum.

        Parameters
        ----------
        params : the family's parameter container, the M-step's result from ``stats``
        stats : the family's statistics container
        learn : frozenset of str
            The names of :attr:`param_names` that the M-step estimated.

        Returns
        -------
        slack : float
            0.0 (the default) for an exact M-step; the Gaussian family's M-step adds
            ``reg_covar`` to the covariances and reports how much Q that costs (see
            :class:`emkit.core.EMModel`).
        """
        return 0.0

    # -- objective pieces ---------------------------------------------------------
    @abc.abstractmethod
    def expected_log_prob(self, params: Any, stats: Any) -> float:
        """``sum_i sum_k r_ik log p(x_i | k)``, computed from the statistics alone.

        Parameters
        ----------
        params : the family's parameter container
        stats : the family's statistics container (under responsibilities r)
        """

    @abc.abstractmethod
    def log_prior(self, params: Any) -> float:
        """Log prior density of the component parameters (0.0 without a prior).

        Parameters
        ----------
        params : the family's parameter container
        """

    # -- unconstrained parametrisation (for acceleration) ---------------------------
    def pack(self, params: Any) -> np.ndarray:
        """The parameters as one unconstrained 1-D vector (for SQUAREM).

        Parameters
        ----------
        params : the family's parameter container

        Returns
        -------
        vector : ndarray of shape (n_packed,)
            Any vector of that size must :meth:`unpack` to valid parameters (or raise a
            ValueError, which SQUAREM takes as a rejected extrapolation). The default
            raises a TypeError: the family cannot be accelerated.
        """
        raise TypeError(
            f"{type(self).__name__} has no unconstrained parametrisation (pack), which "
            "SQUAREM needs; use accelerate=None"
        )

    def unpack(self, vector: np.ndarray, like: Any) -> Any:
        """Inverse of :meth:`pack`.

        Parameters
        ----------
        vector : ndarray of shape (n_packed,)
        like : the family's parameter container
            Gives the shapes.

        Returns
        -------
        params : the family's parameter container
        """
        raise TypeError(
            f"{type(self).__name__} has no unconstrained parametrisation (unpack), which "
            "SQUAREM needs; use accelerate=None"
        )

    # -- misc ---------------------------------------------------------------------
    @abc.abstractmethod
    def n_free_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free scalar parameters of ``n_components`` components in
        ``n_features`` dimensions (for BIC and AIC)."""

    @abc.abstractmethod
    def sample(self, params: Any, counts: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        """Random samples, component by component.

        Parameters
        ----------
        params : the family's parameter container
        counts : ndarray of int of shape (K,)
            How many samples to draw from every component.
        rng : numpy.random.RandomState

        Returns
        -------
        X : ndarray of shape (counts.sum(), D)
            ``counts[0]`` samples of component 0, then ``counts[1]`` of component 1, ...
        """
