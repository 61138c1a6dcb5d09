"""The model kinds of ``emkit fit --model NAME``, collected from one module per family."""

from __future__ import annotations

from emkit.cli.common import CLIError
from emkit.cli.hmm import hmm_kind
from emkit.cli.kind import ModelKind
from emkit.cli.lgssm import lgssm_kind
from emkit.cli.mixture import gmm_kind, kmeans_kind
from emkit.cli.topic_models import lda_kind, plsa_kind

__all__ = ["MODEL_KINDS", "kind_of", "name_of"]

#: ``emkit fit --model NAME`` -> ModelKind. Add an entry to support a new model.
MODEL_KINDS: dict[str, ModelKind] = {
    "gmm": gmm_kind(),
    "kmeans": kmeans_kind(),
    "hmm": hmm_kind(),
    "lgssm": lgssm_kind(),
    "lda": lda_kind(),
    "plsa": plsa_kind(),
}


def kind_of(estimator) -> ModelKind:
    """The ModelKind of a (loaded) estimator, by its class."""
    for kind in MODEL_KINDS.values():
        if isinstance(estimator, kind.estimator):
            return kind
    raise CLIError(f"the command line does not handle {type(estimator).__name__} models")


def name_of(kind: ModelKind) -> str:
    """The ``--model`` name of ``kind``."""
    return next(name for name, other in MODEL_KINDS.items() if other is kind)
