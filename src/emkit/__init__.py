"""emkit: Expectation-Maximization for latent-variable models, on one engine.

Public API: the estimators (``GaussianMixture``, ``KMeans``, the count mixtures,
``StudentMixture``, ``FactorAnalysis``, ``MixtureOfFactorAnalyzers``,
``MixtureRegression``, the HMMs, ``LinearGaussianSSM``, the topic models), model
selection (``select_model``), safe model files (``save``, ``load``), the engine
(``emkit.core``), models (``emkit.models``), distribution families
(``emkit.families``) and bundled data (``emkit.datasets``).
"""

__version__ = "0.1.0"

from emkit import datasets
from emkit.core import (
    ConvergenceWarning,
    DivergenceWarning,
    LikelihoodDecreaseWarning,
    RegularizationDecreaseWarning,
    fit_em,
)
from emkit.errors import NumericalError
from emkit.estimators import *  # noqa: F403 (every estimator is public API)
from emkit.estimators import __all__ as _ESTIMATORS
from emkit.estimators._inference import BoundaryWarning, FitInference, InferenceWarning, Summary
from emkit.estimators.selection import ModelSelection, SelectionCell, select_model
from emkit.families import ComponentCollapseError
from emkit.io import load, save
from emkit.models import EmptyComponentWarning

__all__ = [
    *_ESTIMATORS,
    "BoundaryWarning",
    "ComponentCollapseError",
    "ConvergenceWarning",
    "DivergenceWarning",
    "EmptyComponentWarning",
    "FitInference",
    "InferenceWarning",
    "LikelihoodDecreaseWarning",
    "ModelSelection",
    "NumericalError",
    "RegularizationDecreaseWarning",
    "SelectionCell",
    "Summary",
    "__version__",
    "datasets",
    "fit_em",
    "load",
    "save",
    "select_model",
]
