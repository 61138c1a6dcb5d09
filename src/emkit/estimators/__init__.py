"""scikit-learn compatible estimators: validate, build a model, run the engine."""

from emkit.estimators.count_mixtures import (
    BernoulliMixture,
    CategoricalMixture,
    MultinomialMixture,
    PoissonMixture,
)
from emkit.estimators.factor_analysis import FactorAnalysis
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.hmm import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    MultinomialHMM,
    PoissonHMM,
)
from emkit.estimators.kmeans import KMeans
from emkit.estimators.lda import LatentDirichletAllocation
from emkit.estimators.lgssm import LinearGaussianSSM
from emkit.estimators.mixture_of_factor_analyzers import MixtureOfFactorAnalyzers
from emkit.estimators.mixture_regression import MixtureRegression
from emkit.estimators.plsa import PLSA
from emkit.estimators.student_mixture import StudentMixture

__all__ = [
    "GMMHMM",
    "PLSA",
    "BernoulliHMM",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "FactorAnalysis",
    "GaussianHMM",
    "GaussianMixture",
    "KMeans",
    "LatentDirichletAllocation",
    "LinearGaussianSSM",
    "MixtureOfFactorAnalyzers",
    "MixtureRegression",
    "MultinomialHMM",
    "MultinomialMixture",
    "PoissonHMM",
    "PoissonMixture",
    "StudentMixture",
]
