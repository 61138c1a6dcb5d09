"""DESIGN's layers: every layer imports only the layers below it.

containers, _kernels < families < models < core (the engine), so a family never
imports a model or the engine, and a model never imports the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import emkit

PACKAGE = Path(emkit.__file__).parent

#: layer -> the emkit modules it must not import (by top-level name below emkit)
FORBIDDEN = {
    "errors.py": {
        "containers",
        "_kernels",
        "families",
        "models",
        "core",
        "estimators",
        "cli",
        "plot",
    },
    # the text of messages, for every layer: it imports nothing from emkit
    "_text.py": {path.stem for path in PACKAGE.iterdir() if path.stem.isidentifier()} - {"_text"},
    "containers.py": {"_kernels", "families", "models", "core", "estimators", "cli", "plot"},
    "_kernels": {"families", "models", "core", "estimators", "cli", "plot"},
    "families": {"models", "core", "estimators", "cli", "plot"},
    "models": {"core", "estimators", "cli", "plot"},
    # the corpus readers: numpy and scipy only, beside io
    "corpora.py": {"families", "models", "core", "estimators", "cli", "plot"},
    # bioinformatics estimators and their file formats: beside estimators and io
    "bio": {"cli", "plot"},
}


def _emkit_imports(path: Path) -> set[str]:
    """The second component of every ``emkit.x...`` module the file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "emkit" and len(parts) > 1:
                names.add(parts[1])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_the_layers_below(layer):
    root = PACKAGE / layer
    files = [root] if root.suffix == ".py" else sorted(root.rglob("*.py"))
    assert files
    for path in files:
        wrong = _emkit_imports(path) & FORBIDDEN[layer]
        assert not wrong, f"{path.relative_to(PACKAGE)} imports emkit.{sorted(wrong)}"
