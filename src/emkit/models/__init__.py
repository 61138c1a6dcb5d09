"""Models: pure maps params -> statistics -> params, on the engine's protocol."""

from emkit.models.hmm import (
    HMM,
    EmptyStateWarning,
    HMMChunk,
    HMMParams,
    HMMStats,
    ImpossibleSequenceError,
)
from emkit.models.lda import LDA, LDAParams, LDAStats
from emkit.models.lgssm import LGSSM, LGSSMChunk, LGSSMParams, LGSSMStats
from emkit.models.mixture import (
    EmptyComponentWarning,
    ImpossibleRowError,
    Mixture,
    MixtureChunk,
    MixtureParams,
    MixtureStats,
)

__all__ = [
    "HMM",
    "LDA",
    "LGSSM",
    "EmptyComponentWarning",
    "EmptyStateWarning",
    "HMMChunk",
    "HMMParams",
    "HMMStats",
    "ImpossibleRowError",
    "ImpossibleSequenceError",
    "LDAParams",
    "LDAStats",
    "LGSSMChunk",
    "LGSSMParams",
    "LGSSMStats",
    "Mixture",
    "MixtureChunk",
    "MixtureParams",
    "MixtureStats",
]
