"""The model-agnostic EM engine: protocol, loop, monitor, trace."""

from emkit.containers import Statistics, allclose, replace
from emkit.core.engine import EMResult, fit_em
from emkit.core.monitor import (
    ConvergenceMonitor,
    ConvergenceWarning,
    DivergenceWarning,
    LikelihoodDecreaseWarning,
    RegularizationDecreaseWarning,
)
from emkit.core.protocol import EMModel
from emkit.core.reduce import Reducer, e_step_total
from emkit.core.trace import TraceRecord, trace_as_arrays

__all__ = [
    "ConvergenceMonitor",
    "ConvergenceWarning",
    "DivergenceWarning",
    "EMModel",
    "EMResult",
    "LikelihoodDecreaseWarning",
    "Reducer",
    "RegularizationDecreaseWarning",
    "Statistics",
    "TraceRecord",
    "allclose",
    "e_step_total",
    "fit_em",
    "replace",
    "trace_as_arrays",
]
