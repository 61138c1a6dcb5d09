r"""Hidden Markov model estimators on the emkit engine (hmmlearn's vocabulary where it is good).

Every estimator is :class:`emkit.models.HMM` over one emission family:

.. math::

    p(x_{1:T}, z_{1:T}) = \pi_{z_1} \prod_{t=2}^{T} A_{z_{t-1} z_t}
    \prod_{t=1}^{T} p(x_t \mid \theta_{z_t})

=====================  =======================================  =============================
estimator              emission p(x | θ_k)                       emission attributes
=====================  =======================================  =============================
:class:`GaussianHMM`   N(μ_k, Σ_k), 4 covariance types          ``means_``, ``covariances_``
:class:`GMMHMM`        Σ_m w_km N(μ_km, Σ_km)                    ``weights_``, ``means_``,
                                                                 ``covariances_``
:class:`PoissonHMM`    Π_d Poisson(λ_kd)                         ``rates_``
:class:`CategoricalHMM` Π_d Categorical(θ_kd·)                   ``emissionprob_``
:class:`MultinomialHMM` Multinomial(N, θ_k·)                     ``emissionprob_``
:class:`BernoulliHMM`  Π_d Bernoulli(θ_kd)                       ``emissionprob_``
=====================  =======================================  =============================

Differences from hmmlearn, on purpose: ``max_iter`` (not ``n_iter``); initial values
as ``*_init`` arguments (``startprob_init``, ``transmat_init``, ``means_init``, ...);
``learn=("transmat", "means")`` names the parameters EM updates (hmmlearn's
``params="tm"``); ``tol`` is per observation (scale free); priors are pseudo-counts
(hmmlearn's ``transmat_prior=α`` is emkit's ``transmat_prior=α - 1``);
``covariances_`` has scikit-learn's covariance-type shapes; and from the engine:
``n_init`` restarts, ``warm_start``, ``verbose`` progress, ``trace_``.
"""

from emkit.estimators.hmm._base import BaseHMM
from emkit.estimators.hmm.counts import BernoulliHMM, CategoricalHMM, MultinomialHMM, PoissonHMM
from emkit.estimators.hmm.gaussian import GMMHMM, GaussianHMM

__all__ = [
    "GMMHMM",
    "BaseHMM",
    "BernoulliHMM",
    "CategoricalHMM",
    "GaussianHMM",
    "MultinomialHMM",
    "PoissonHMM",
]
