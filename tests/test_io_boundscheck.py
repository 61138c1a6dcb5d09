"""The crafted-file corpus under ``NUMBA_BOUNDSCHECK=1``: in a subprocess (the variable
must be set before numba is imported), every crafted file is loaded and whatever loads
is used (predict, score, ...). Only clear errors may occur and the process must not
crash. The numba kernels raise IndexError there on an out-of-bounds read, which they
otherwise make silently; the subprocess first shows that they do, on parameters put
past every check.

Kernels compiled with bounds checks are cached in their own folder (numba's cache does
not tell the two builds apart): the first run compiles them, later runs are fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
#: two cases whose kernels index by state: an HMM and a state-space model with controls
FAST_CASES = ["GaussianHMM-diag", "LinearGaussianSSM-controls"]


def run_corpus(directory, cases=()) -> dict:
    cache = Path(tempfile.gettempdir()) / f"emkit-numba-boundscheck-{os.getuid()}"
    env = {
        **os.environ,
        "NUMBA_BOUNDSCHECK": "1",
        "NUMBA_CACHE_DIR": str(cache),
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(
        [sys.executable, str(TESTS / "_model_files.py"), str(directory), *cases],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def check(outcomes) -> None:
    assert outcomes["unchecked"] == "IndexError"  # the kernels are checked in there
    assert outcomes["failures"] == []
    assert outcomes["refused"] > 0 and outcomes["loaded"] >= 0


def test_crafted_files_under_boundscheck_fast_subset(tmp_path):
    check(run_corpus(tmp_path, FAST_CASES))


@pytest.mark.slow
def test_crafted_files_under_boundscheck_every_estimator(tmp_path):
    outcomes = run_corpus(tmp_path)
    check(outcomes)
    assert outcomes["refused"] > 1500
