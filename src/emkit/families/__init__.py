"""Distribution families, usable by mixtures and hidden Markov models: one file and one
subclass of :class:`~emkit.families.base.Family` (the contract) each."""

from emkit.families.base import Family
from emkit.families.bernoulli import BernoulliFamily, BernoulliParams, BernoulliStats, BetaPrior
from emkit.families.categorical import (
    CategoricalFamily,
    CategoricalParams,
    CategoricalStats,
    DirichletPrior,
)
from emkit.families.gaussian import (
    ComponentCollapseError,
    GaussianFamily,
    GaussianParams,
    GaussianPrior,
    GaussianStats,
)
from emkit.families.gaussian_mixture_emission import (
    GaussianMixtureEmission,
    GaussianMixtureParams,
    GaussianMixtureStats,
)
from emkit.families.multinomial import MultinomialFamily, MultinomialParams, MultinomialStats
from emkit.families.poisson import GammaPrior, PoissonFamily, PoissonParams, PoissonStats
from emkit.families.student import StudentFamily, StudentParams, StudentStats

__all__ = [
    "BernoulliFamily",
    "BernoulliParams",
    "BernoulliStats",
    "BetaPrior",
    "CategoricalFamily",
    "CategoricalParams",
    "CategoricalStats",
    "ComponentCollapseError",
    "DirichletPrior",
    "Family",
    "GammaPrior",
    "GaussianFamily",
    "GaussianMixtureEmission",
    "GaussianMixtureParams",
    "GaussianMixtureStats",
    "GaussianParams",
    "GaussianPrior",
    "GaussianStats",
    "MultinomialFamily",
    "MultinomialParams",
    "MultinomialStats",
    "PoissonFamily",
    "PoissonParams",
    "PoissonStats",
    "StudentFamily",
    "StudentParams",
    "StudentStats",
]
