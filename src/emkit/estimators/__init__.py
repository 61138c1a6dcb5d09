"""scikit-learn compatible estimators: validate, build a model, run the engine."""

from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.kmeans import KMeans
from emkit.estimators.lgssm import LinearGaussianSSM

__all__ = ["GaussianMixture", "KMeans", "LinearGaussianSSM"]
