"""Models: pure maps params -> statistics -> params, on the engine's protocol."""

from emkit.models.hmm import (
    HMM,
    EmptyStateWarning,
    HMMChunk,
    HMMParams,
    HMMStats,
    ImpossibleSequenceError,
)
from emkit.models.mixture import (
    EmptyComponentWarning,
    Mixture,
    MixtureChunk,
    MixtureParams,
    MixtureStats,
)

__all__ = [
    "HMM",
    "EmptyComponentWarning",
    "EmptyStateWarning",
    "HMMChunk",
    "HMMParams",
    "HMMStats",
    "ImpossibleSequenceError",
    "Mixture",
    "MixtureChunk",
    "MixtureParams",
    "MixtureStats",
]
