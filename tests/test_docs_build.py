"""The documentation site builds with no warning, every tutorial executing (``make docs``).

Slow (a few minutes: the tutorials run their fits), and skipped where the ``docs`` extra
is not installed; CI runs ``make docs`` itself after the tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from test_docs import PAGES, public_names

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("furo")
    out = tmp_path / "html"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-10000:]
    for page in ("index", "installation", "migration", "changelog", "gallery/index"):
        assert (out / f"{page}.html").exists(), page
    for tutorial in (ROOT / "docs" / "tutorials").glob("*.md"):
        html = (out / "tutorials" / f"{tutorial.stem}.html").read_text(encoding="utf-8")
        assert "Traceback" not in html, tutorial.name
    # every documented name has its page, with its description in it
    generated = out / "api" / "generated"
    for module_name in PAGES:
        for name in public_names(module_name):
            page = generated / f"{module_name}.{name}.html"
            if page.exists():
                assert f'id="{module_name}.{name}"' in page.read_text(encoding="utf-8"), page
