"""Sphinx extension: the examples gallery, written from ``examples/*.py`` at build time.

Every script gets a page with its docstring, the figures it writes (the
``docs/images/...`` paths named in its source that exist) and its full source; the
gallery's index shows each script's first figure. Figures in ``docs/images/`` that no
script names (``emkit demo``'s) are shown on the index under their own heading. The
pages go to ``docs/gallery/`` (ignored by git), so a script added to ``examples/``
appears without editing the documentation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

_FIGURE = re.compile(r"docs/images/([\w.-]+\.(?:png|gif|svg|jpg))")

#: figures that ``emkit demo`` writes (src/emkit/cli/demo.py), with a caption each
DEMO_FIGURES = {
    "em.gif": "EM converging on Old Faithful (``emkit demo``'s animation).",
    "clusters.png": "The fitted clusters with 1σ and 2σ covariance ellipses.",
    "loglik.png": "The log-likelihood per iteration, and the EM identity on ``trace_``.",
}


def _title(name: str, doc: str) -> str:
    first = doc.strip().splitlines()[0].strip() if doc.strip() else name
    return first.rstrip(".")


def _heading(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def write_gallery(docs: Path) -> list[Path]:
    root = docs.parent
    images = docs / "images"
    out = docs / "gallery"
    out.mkdir(exist_ok=True)
    written = []
    entries = []
    named = set()
    for script in sorted((root / "examples").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        figures = [f for f in dict.fromkeys(_FIGURE.findall(source)) if (images / f).exists()]
        named.update(figures)
        title = _title(script.stem, doc)
        body = doc.split("\n", 1)[1].strip() if "\n" in doc else ""
        lines = [f".. _gallery-{script.stem}:", "", _heading(title, "=")]
        if body:
            lines += [body, ""]
        for figure in figures:
            lines += [f".. image:: ../images/{figure}", f"   :alt: {title}", ""]
        lines += [
            _heading("Source", "-"),
            f"``examples/{script.name}``; run it from the repository root.",
            "",
            f".. literalinclude:: ../../examples/{script.name}",
            "   :language: python",
            "",
        ]
        written.append(_write(out / f"{script.stem}.rst", "\n".join(lines)))
        entries.append((script.stem, title, figures))

    index = [
        _heading("Examples gallery", "="),
        "Every script in ``examples/`` with the figure it draws (committed in "
        "``docs/images/``). Run one from the repository root, e.g. "
        "``.venv/bin/python examples/earthquakes_hmm.py``; each takes an optional "
        "output path.",
        "",
        ".. toctree::",
        "   :hidden:",
        "",
        *(f"   {stem}" for stem, _, _ in entries),
        "",
    ]
    for stem, title, figures in entries:
        index += [_heading(title, "-"), f":ref:`Script and source <gallery-{stem}>`", ""]
        if figures:
            index += [f".. image:: ../images/{figures[0]}", f"   :alt: {title}", ""]
    demo = [f for f in DEMO_FIGURES if (images / f).exists() and f not in named]
    others = sorted(
        p.name
        for p in images.iterdir()
        if p.is_file() and p.name not in named and p.name not in DEMO_FIGURES
    )
    if demo:
        index += [
            _heading("The demo's figures", "-"),
            "``make demo`` (``emkit demo --output DIR``) fits Old Faithful and writes these "
            "(``src/emkit/cli/demo.py``).",
            "",
        ]
        for figure in demo:
            index += [f".. figure:: ../images/{figure}", "", f"   {DEMO_FIGURES[figure]}", ""]
    if others:
        index += [_heading("Other figures", "-")]
        for figure in others:
            index += [f".. image:: ../images/{figure}", f"   :alt: {figure}", ""]
    written.append(_write(out / "index.rst", "\n".join(index)))
    for stale in set(out.glob("*.rst")) - set(written):
        stale.unlink()
    return written


def _write(path: Path, text: str) -> Path:
    """Write only what changed, so that Sphinx re-reads only changed pages."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def _on_builder_inited(app):
    write_gallery(Path(app.srcdir))


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
