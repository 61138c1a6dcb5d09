"""emkit: Expectation-Maximization for latent-variable models, on one engine.

Public API: the estimators (``GaussianMixture``, ``KMeans``), safe model files
(``save``, ``load``), the engine (``emkit.core``), models (``emkit.models``),
distribution families (``emkit.families``) and bundled data (``emkit.datasets``).
"""

__version__ = "0.1.0"

from emkit import datasets
from emkit.core import ConvergenceWarning, LikelihoodDecreaseWarning, fit_em
from emkit.estimators import GaussianMixture, KMeans
from emkit.estimators.count_mixtures import (
    BernoulliMixture,
    CategoricalMixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.estimators.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    MultinomialHMM,
    PoissonHMM,
)
from emkit.estimators.lgssm import LinearGaussianSSM
from emkit.families import ComponentCollapseError
from emkit.io import load, save
from emkit.models import EmptyComponentWarning

__all__ = [
    "GMMHMM",
    "BernoulliHMM",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "ComponentCollapseError",
    "ConvergenceWarning",
    "EmptyComponentWarning",
    "GaussianHMM",
    "GaussianMixture",
    "KMeans",
    "LikelihoodDecreaseWarning",
    "LinearGaussianSSM",
    "MultinomialHMM",
    "MultinomialMixture",
    "PoissonHMM",
    "PoissonMixture",
    "__version__",
    "datasets",
    "fit_em",
    "load",
    "save",
]
