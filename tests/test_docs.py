"""The API reference lists every public name, so a new estimator cannot be left out.

Each page of ``docs/api/`` documents one module: an autosummary table of the names
that live there, and a list of cross-references for names exported first elsewhere
(``emkit.core.fit_em`` is documented as ``emkit.fit_em``). Every name in a module's
``__all__`` (or, for a module without one, every public name it defines) must be on
its module's page, either way, and each cross-reference must point to the same object.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api"

#: module -> its page in docs/api
PAGES = {
    "emkit": "emkit.rst",
    "emkit.bio": "bio.rst",
    "emkit.plot": "plot.rst",
    "emkit.io": "io.rst",
    "emkit.core": "core.rst",
    "emkit.datasets": "datasets.rst",
    "emkit.families": "families.rst",
    "emkit.containers": "containers.rst",
    "emkit.models": "models.rst",
    "emkit.topics": "topics.rst",
    "emkit.corpora": "corpora.rst",
}

#: names of emkit.__all__ documented in the text of its page rather than in a table
IN_TEXT = {"emkit": {"__version__": "``emkit.__version__``", "datasets": ":doc:`emkit.datasets"}}


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:  # a module without __all__: what it defines and does not hide
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module_name
        ]
    return list(names)


def page_entries(text: str) -> tuple[set[str], dict[str, str]]:
    """(names in the page's autosummary tables, {name: target} of its cross-references)."""
    tables = set()
    for block in re.findall(r"\.\. autosummary::\n((?:   .*\n|\n)+)", text):
        tables |= {line.strip() for line in block.splitlines() if re.fullmatch(r"   \w+", line)}
    references = dict(re.findall(r"^\* :(?:class|func|obj|data):`(\w+) <([\w.]+)>`", text, re.M))
    return tables, references


def resolve(target: str):
    module_name, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


@pytest.mark.parametrize("module_name", sorted(PAGES))
def test_every_public_name_is_on_its_api_page(module_name):
    text = (API / PAGES[module_name]).read_text(encoding="utf-8")
    assert f".. currentmodule:: {module_name}\n" in text
    tables, references = page_entries(text)
    module = importlib.import_module(module_name)
    missing = []
    for name in public_names(module_name):
        if name in tables:
            continue
        if name in references:
            assert resolve(references[name]) is getattr(module, name), (name, references[name])
            continue
        if name in IN_TEXT.get(module_name, {}) and IN_TEXT[module_name][name] in text:
            continue
        missing.append(name)
    assert not missing, f"add to docs/api/{PAGES[module_name]}: {', '.join(missing)}"
    # and nothing on the page that the module does not have
    for name in tables:
        assert hasattr(module, name), f"docs/api/{PAGES[module_name]} lists {name}"


def test_every_api_page_is_in_the_index():
    index = (API / "index.rst").read_text(encoding="utf-8")
    for page in PAGES.values():
        assert f"   {page.removesuffix('.rst')}\n" in index, page


def test_every_tutorial_is_in_the_toctree():
    tutorials = API.parent / "tutorials"
    index = (tutorials / "index.md").read_text(encoding="utf-8")
    for page in tutorials.glob("*.md"):
        if page.name != "index.md":
            assert f"\n{page.stem}\n" in index, page.name
