"""Distribution families: one file each, usable by mixtures (and hidden Markov models)."""

from emkit.families.base import Family
from emkit.families.gaussian import (
    ComponentCollapseError,
    GaussianFamily,
    GaussianParams,
    GaussianPrior,
    GaussianStats,
)

__all__ = [
    "ComponentCollapseError",
    "Family",
    "GaussianFamily",
    "GaussianParams",
    "GaussianPrior",
    "GaussianStats",
]
