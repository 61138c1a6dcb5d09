"""Run every side-by-side benchmark and write ``benchmarks/results.md``.

Each case times emkit and a peer library on the same data in the same process and
reports the ratio (absolute times on a shared machine are not stable; ratios are).
Run with ``make bench`` or ``python benchmarks/run_all.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import markdown_table  # noqa: E402
from bench_online import CASES as ONLINE_CASES  # noqa: E402

DEFAULT_COLUMNS = ["case", "peer", "emkit s/iter", "peer s/iter", "speed-up", "loglik rel. diff"]

# (module, keyword arguments of its run(), the same for --quick)
CASES = [
    ("bench_gmm", {"covariance_type": "full"}, {"n_samples": 100_000, "repeats": 2}),
    (
        "bench_gmm",
        {"covariance_type": "full", "data": "anisotropic"},
        {"n_samples": 100_000, "repeats": 2},
    ),
    (
        "bench_gmm",
        {"covariance_type": "full", "dtype": "float32"},
        {"n_samples": 100_000, "repeats": 2},
    ),
    ("bench_gmm", {"covariance_type": "diag"}, {"n_samples": 100_000, "repeats": 2}),
    ("bench_squarem", {}, {"quick": True}),
    ("bench_lda", {}, {"quick": True}),
    ("bench_motifs", {}, {"quick": True}),
    ("bench_quant", {}, {"quick": True}),
    *(("bench_hmm", {"case": case}, {"quick": True}) for case in ("short", "many", "long")),
    ("bench_lgssm", {}, {"quick": True}),
    *(("bench_online", {"case": case}, {"quick": True}) for case in ONLINE_CASES),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--output", default=str(HERE / "results.md"))
    args = parser.parse_args()
    tables: dict[str, tuple[list[str], list[dict]]] = {}
    failures = []
    for module_name, kwargs, quick_kwargs in CASES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that benchmark does not exist yet
            raise
        options = {**kwargs, **(quick_kwargs if args.quick else {})}
        print(f"running {module_name} {options} ...", flush=True)
        columns, rows = tables.setdefault(
            module_name, (getattr(module, "COLUMNS", DEFAULT_COLUMNS), [])
        )
        try:
            result = module.run(**options)  # one row, or a list of rows
            new_rows = result if isinstance(result, list) else [result]
        except Exception:
            failures.append((module_name, traceback.format_exc()))
            print(failures[-1][1], file=sys.stderr)
            continue
        rows.extend(new_rows)
        print(markdown_table(new_rows, columns), flush=True)
    body = "\n\n".join(
        f"## {name}\n\n{(sys.modules[name].__doc__ or '').strip().splitlines()[0]}\n\n"
        + markdown_table(rows, columns)
        for name, (columns, rows) in tables.items()
        if rows
    )
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    header = (
        "# Benchmark results\n\n"
        f"Produced by `make bench` (`{command}`)"
        f" on {datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.\n"
        "Each row times emkit and the peer library interleaved in one process; `speed-up` is "
        "the peer's median time per EM iteration divided by emkit's. `loglik rel. diff` "
        "compares the log-likelihoods both reach from the same initial parameters.\n\n"
        + _pomegranate_note()
    )
    Path(args.output).write_text(header + body + "\n")
    print(f"wrote {args.output}")
    if failures:
        sys.exit(f"{len(failures)} benchmark(s) failed: {[name for name, _ in failures]}")


def _pomegranate_note() -> str:
    """Why pomegranate has no rows (the issue asks for it where it installs)."""
    try:
        import pomegranate  # noqa: F401
    except ImportError as exc:
        return (
            f"pomegranate is not compared: it does not import here ({exc}). pomegranate 1.x "
            "runs on PyTorch, whose Linux wheel on PyPI needs the CUDA libraries "
            "(`import torch` fails without libcudnn on this machine).\n\n"
        )
    return (
        "pomegranate imports here, but no case compares it yet: its 1.x models run on "
        "PyTorch tensors, so a fair case needs its own design.\n\n"
    )


if __name__ == "__main__":
    main()
