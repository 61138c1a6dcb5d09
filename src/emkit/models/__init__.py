"""Models: pure maps params -> statistics -> params, on the engine's protocol."""

from emkit.models.mixture import (
    EmptyComponentWarning,
    Mixture,
    MixtureChunk,
    MixtureParams,
    MixtureStats,
)

__all__ = ["EmptyComponentWarning", "Mixture", "MixtureChunk", "MixtureParams", "MixtureStats"]
