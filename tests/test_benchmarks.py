"""The benchmarks still run against the current API (``run_all.py --quick``: small
sizes, every case, both libraries), so that ``make bench`` does not break unnoticed."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


# about 100 s (every benchmark, peers included): in the slow run (make test-slow), so
# that the default run stays under 10 minutes on CI's 2 cores
@pytest.mark.slow
def test_every_benchmark_runs_on_small_data(tmp_path):
    pytest.importorskip("hmmlearn")
    pytest.importorskip("pykalman")
    output = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = output.read_text()
    sections = (
        "bench_gmm",
        "bench_squarem",
        "bench_lda",
        "bench_motifs",
        "bench_quant",
        "bench_hmm",
        "bench_lgssm",
        "bench_online",
    )
    for section in sections:
        assert f"## {section}" in results
