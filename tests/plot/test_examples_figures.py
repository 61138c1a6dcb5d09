"""Every figure of the README has a script in examples/ that writes it (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_readme_figure_has_a_script():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    figures = set(re.findall(r"docs/images/([\w.-]+)", readme))
    assert figures, "the README shows no figure?"
    scripts = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "examples").glob("*.py")}
    orphans = sorted(f for f in figures if not any(f'{f}"' in text for text in scripts.values()))
    assert not orphans, f"README figures without a script in examples/: {orphans}"
    for name in figures:
        assert (ROOT / "docs" / "images" / name).is_file(), name
