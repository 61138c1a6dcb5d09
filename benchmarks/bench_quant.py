"""Transcript quantification: time to convergence of emkit vs NumPy EM and kallisto.

Data: a simulated class set of transcriptome size (default 200,000 transcripts in
gene families of 1 + Poisson(13) isoforms, 3,000,000 equivalence classes: every
transcript's own class, then distinct random subsets of one family; about 21 million
entries and 65 million reads; effective lengths uniform in [200, 4000]; abundances
log-normal with 30% of transcripts silent, and class counts Poisson around the mean
abundance of the class's transcripts). Real classes are smaller on average; these are
the scale the issue names.

Each side at its own convergence:

- a vectorised NumPy EM with kallisto's rule (start 1/n, kallisto 0.48's stop; the
  E-step by ``np.add.reduceat`` and ``np.bincount`` over the flat arrays, emkit's test
  twin; one core, as NumPy runs);
- emkit ``TranscriptQuantifier(stopping="kallisto")``, the same rounds to the same
  numbers, on every core and on one thread;
- emkit's default fit (DAAREM to a per-read tolerance of 1e-12), which goes past
  kallisto's stop: its E-steps and its log-likelihood gain per read are reported;
- emkit's default fit stopped at the first iteration whose log-likelihood is at
  least kallisto's rule's final one (the same quality; found from the full default
  fit's trace, then timed as a fit with that many iterations).

NumPy at full size needs about 2 s a round on the shared development machine, so its
time to convergence is, by default, its rounds (those of emkit's kallisto-rule fit:
the same arithmetic, so the same rounds; the max rel. diff column checks the numbers)
times its median time per round over ``--numpy-rounds`` rounds; ``--numpy-full`` runs
it to convergence instead (as ``--small`` always does). Every fit is timed interleaved,
``repeats`` times; the table gives median wall and CPU seconds, the load average at
each timing (``os.getloadavg()``, 1 minute), the speed-up as the ratio of medians and
the range of the per-repeat ratios.

``kallisto quant-tcc`` 0.48 itself, when the binary is installed, runs on the same
classes without effective lengths (``quant-tcc`` without an index weighs every entry 1,
so emkit is timed on those classes too). kallisto's time includes reading its text
files; a run on the same classes with zero counts (nothing for the EM to do) gives that
overhead, and ``kallisto EM only`` is the difference.

Run: ``python benchmarks/bench_quant.py [--small] [--transcripts N] [--classes M]
[--repeats R] [--numpy-rounds R] [--numpy-full] [--no-kallisto]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _timing import markdown_table
from emkit._kernels._reference_transcripts import class_e_step as numpy_e_step
from emkit.bio.classes import EquivalenceClasses
from emkit.bio.quantifier import TranscriptQuantifier

COLUMNS = [
    "case",
    "implementation",
    "E-steps",
    "seconds",
    "CPU seconds",
    "load",
    "emkit speed-up",
    "speed-up range",
    "max rel. diff",
]

_MAX_FAMILY = 30  # isoforms per family at most: a class is a bit mask of its family


def simulate(n_transcripts=200_000, n_classes=3_000_000, seed=0) -> EquivalenceClasses:
    """A kallisto-like class set: class t is {t} for every transcript t (kallisto's
    layout), the others distinct subsets of one gene family."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n_transcripts:
        sizes.append(min(_MAX_FAMILY, 1 + rng.poisson(13)))
    sizes = np.array(sizes)
    sizes[-1] -= sizes.sum() - n_transcripts
    sizes = sizes[sizes > 0]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    multi = np.flatnonzero(sizes > 1)
    n_random = n_classes - n_transcripts
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < n_random:
        # families drawn by size (more isoforms, more classes); masks of 2+ isoforms
        family = rng.choice(
            multi, size=2 * (n_random - keys.size), p=sizes[multi] / sizes[multi].sum()
        )
        mask = rng.integers(1, 2 ** sizes[family].astype(np.int64))
        several = (mask & (mask - 1)) != 0
        keys = np.unique(np.concatenate((keys, (family[several] << 32) | mask[several])))
    keys = rng.permutation(keys)[:n_random]
    family, mask = keys >> 32, keys & ((1 << 32) - 1)
    bits = ((mask[:, None] >> np.arange(_MAX_FAMILY)) & 1).astype(bool)
    class_sizes = np.concatenate((np.ones(n_transcripts, dtype=np.int64), bits.sum(axis=1)))
    rows, cols = np.nonzero(bits)
    indices = np.concatenate((np.arange(n_transcripts), starts[family[rows]] + cols))
    indptr = np.concatenate(([0], np.cumsum(class_sizes)))
    theta = rng.lognormal(0.0, 1.5, n_transcripts) * (rng.random(n_transcripts) < 0.7)
    lengths = rng.uniform(200.0, 4000.0, n_transcripts)
    mean = np.add.reduceat(theta[indices], indptr[:-1]) / class_sizes
    counts = rng.poisson(10.0 * mean * rng.exponential(1.0, class_sizes.size))
    return EquivalenceClasses.from_arrays(
        indptr,
        indices,
        counts.astype(np.float64),
        effective_lengths=lengths,
        names=[f"t{t}" for t in range(n_transcripts)],
    )


def numpy_kallisto_em(classes: EquivalenceClasses, weights=None, max_rounds=10_000):
    """kallisto's loop (start 1/n, stop when no abundance > 0.01 changed by 1% after
    more than 50 rounds, zero below 1e-8, one final round), vectorised NumPy E-step."""
    w = classes.entry_weights() if weights is None else weights
    n = classes.n_transcripts
    alpha = np.full(n, 1.0 / n)
    final = False
    for i in range(max_rounds):
        new = numpy_e_step(classes.indptr, classes.indices, w, classes.counts, alpha)[0]
        big = new > 1e-2
        changed = np.count_nonzero(np.abs(new[big] - alpha[big]) > 1e-2 * new[big])
        alpha = new
        if final:
            break
        if changed == 0 and i > 50:
            final = True
            alpha = np.where(alpha < 1e-8, 0.0, alpha)
    return alpha, i + 1


def _write_kallisto_inputs(classes: EquivalenceClasses, folder: Path, zero: bool = False):
    """transcripts.txt, classes.ec and counts.tsv (zero-based 'ec count' lines) for
    ``kallisto quant-tcc``."""
    (folder / "transcripts.txt").write_text("\n".join(classes.names) + "\n")
    with open(folder / "classes.ec", "w") as handle:
        for c, (a, b) in enumerate(zip(classes.indptr[:-1], classes.indptr[1:], strict=True)):
            handle.write(f"{c}\t{','.join(map(str, classes.indices[a:b].tolist()))}\n")
    counts = np.zeros_like(classes.counts) if zero else classes.counts
    positive = np.flatnonzero(counts > 0) if not zero else np.array([0])
    with open(folder / ("zero.tsv" if zero else "counts.tsv"), "w") as handle:
        for c in positive:
            handle.write(f"{c}\t{int(counts[c])}\n")


def _kallisto(folder: Path, counts: str, out: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            "kallisto",
            "quant-tcc",
            "-T",
            str(folder / "transcripts.txt"),
            "-e",
            str(folder / "classes.ec"),
            "-o",
            str(folder / out),
            str(folder / counts),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def _read_kallisto_counts(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=1, usecols=3)


def _timed(function):
    """(wall seconds, CPU seconds of the process, 1-minute load average, value)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return time.perf_counter() - wall, time.process_time() - cpu, os.getloadavg()[0], value


def _rel_diff(a, b) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def _range(ratios) -> str:
    return f"{min(ratios):.1f}–{max(ratios):.1f}"


def _loads(values) -> str:
    return f"{min(values):.1f}–{max(values):.1f}"


def _first_reaching(lower_bounds, target) -> int:
    """Iterations of a fit after which its objective is at least ``target`` (per
    read): ``lower_bounds[i]`` is the objective entering iteration i (0-based), so i."""
    above = np.flatnonzero(np.asarray(lower_bounds) >= target)
    return int(above[0]) if above.size else len(lower_bounds)


def run(
    n_transcripts=200_000,
    n_classes=3_000_000,
    repeats=3,
    small=False,
    quick=False,
    numpy_rounds=5,
    numpy_full=False,
    with_kallisto=True,
):
    """Rows of the results table (see the module docstring)."""
    with warnings.catch_warnings():
        # the capped fits (compiling, the same-quality point) stop short of tol on purpose
        warnings.filterwarnings("ignore", message="EM did not converge")
        return _run(
            n_transcripts, n_classes, repeats, small, quick, numpy_rounds, numpy_full, with_kallisto
        )


def _run(n_transcripts, n_classes, repeats, small, quick, numpy_rounds, numpy_full, with_kallisto):
    if small or quick:
        n_transcripts, n_classes, repeats = 2_000, 30_000, 1 if quick else repeats
        numpy_full = True
    classes = simulate(n_transcripts, n_classes)
    case = (
        f"{classes.n_transcripts:,} transcripts, {classes.n_classes:,} classes, "
        f"{classes.n_entries:,} entries, {classes.n_reads:,.0f} reads"
    )
    n_reads = classes.n_reads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    kallisto_all = TranscriptQuantifier("kallisto", n_jobs=None)
    kallisto_one = TranscriptQuantifier("kallisto", n_jobs=1)
    default = TranscriptQuantifier(n_jobs=None)
    TranscriptQuantifier("kallisto", max_iter=2).fit(classes)  # compile outside the timing
    TranscriptQuantifier(max_iter=2).fit(classes)
    times = {k: [] for k in ("emkit", "emkit 1", "numpy", "default", "same")}
    same_cycles = None
    for _ in range(repeats):
        *timing, fit = _timed(lambda: kallisto_all.fit(classes))
        times["emkit"].append(timing)
        *timing, fit_one = _timed(lambda: kallisto_one.fit(classes))
        times["emkit 1"].append(timing)
        if numpy_full:
            *timing, (alpha, rounds) = _timed(lambda: numpy_kallisto_em(classes))
        else:
            *timing, (alpha, _) = _timed(
                lambda: numpy_kallisto_em(classes, max_rounds=numpy_rounds)
            )
            rounds = fit.n_iter_
            scale = rounds / numpy_rounds  # its rounds at the measured time per round
            timing = [timing[0] * scale, timing[1] * scale, timing[2]]
        times["numpy"].append(timing)
        *timing, full = _timed(lambda: default.fit(classes))
        times["default"].append(timing)
        target = fit.log_likelihood_ / n_reads  # NumPy's final: the same numbers
        if same_cycles is None:
            same_cycles = max(1, _first_reaching(full.lower_bounds_, target))
            same = TranscriptQuantifier(max_iter=same_cycles, n_jobs=None)
        *timing, reached = _timed(lambda same=same: same.fit(classes))
        times["same"].append(timing)
    assert np.array_equal(fit.est_counts_, fit_one.est_counts_)  # threads change nothing
    numpy_check = (
        numpy_kallisto_em(classes, max_rounds=numpy_rounds)[0] if not numpy_full else alpha
    )
    emkit_check = (
        fit.est_counts_
        if numpy_full
        else TranscriptQuantifier("kallisto", max_iter=numpy_rounds, n_jobs=None)
        .fit(classes)
        .est_counts_
    )

    def median(key, column=0):
        return statistics.median(t[column] for t in times[key])

    def row(name, key, e_steps, versus="numpy", rel_diff=""):
        ratios = [a[0] / b[0] for a, b in zip(times[versus], times[key], strict=True)]
        return {
            "case": case,
            "implementation": name,
            "E-steps": e_steps,
            "seconds": median(key),
            "CPU seconds": median(key, 1),
            "load": _loads([t[2] for t in times[key]]),
            "emkit speed-up": median(versus) / median(key) if key != versus else "",
            "speed-up range": _range(ratios) if key != versus else "",
            "max rel. diff": rel_diff,
        }

    numpy_name = "NumPy EM, kallisto's rule (1 core)" + (
        "" if numpy_full else f", {numpy_rounds} rounds timed, scaled to {rounds}"
    )
    gain = (full.log_likelihood_ - fit.log_likelihood_) / n_reads
    reached_gain = (reached.log_likelihood_ - fit.log_likelihood_) / n_reads
    rows = [
        row(numpy_name, "numpy", rounds, rel_diff=_rel_diff(numpy_check, emkit_check)),
        row(f"emkit, kallisto's rule, {cores} threads", "emkit", fit.n_iter_),
        row("emkit, kallisto's rule, 1 thread", "emkit 1", fit_one.n_iter_),
        row(
            f"emkit default (DAAREM, tol 1e-12/read, {cores} threads): {gain:+.2g} "
            "loglik/read over kallisto's rule",
            "default",
            full.n_e_steps_,
        ),
        row(
            f"emkit default, first {same_cycles} iterations: loglik at least kallisto's "
            f"rule's ({reached_gain:+.2g}/read)",
            "same",
            reached.n_e_steps_,
        ),
    ]
    if with_kallisto and shutil.which("kallisto") is not None:
        rows.extend(_against_kallisto(classes, repeats, case))
    return rows


def _against_kallisto(classes, repeats, case):
    unit = EquivalenceClasses.from_arrays(
        classes.indptr, classes.indices, classes.counts, names=classes.names
    )
    quantifier = TranscriptQuantifier("kallisto", n_jobs=None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_kallisto_inputs(unit, folder)
        _write_kallisto_inputs(unit, folder, zero=True)
        times = {"emkit": [], "kallisto": [], "overhead": []}
        for _ in range(repeats):
            *timing, fit = _timed(lambda: quantifier.fit(unit))
            times["emkit"].append(timing)
            times["kallisto"].append((_kallisto(folder, "counts.tsv", "out"), os.getloadavg()[0]))
            times["overhead"].append((_kallisto(folder, "zero.tsv", "zero"), os.getloadavg()[0]))
        theirs = _read_kallisto_counts(folder / "out" / "abundance.tsv")
    ours = statistics.median(t[0] for t in times["emkit"])
    full = [t[0] for t in times["kallisto"]]
    em_only = [k - o[0] for k, o in zip(full, times["overhead"], strict=True)]
    ours_each = [t[0] for t in times["emkit"]]
    unit_case = case + ", unit weights"
    base = {"case": unit_case, "E-steps": "", "CPU seconds": "", "max rel. diff": ""}
    return [
        {
            **base,
            "implementation": "emkit, kallisto's rule",
            "E-steps": fit.n_iter_,
            "seconds": ours,
            "CPU seconds": statistics.median(t[1] for t in times["emkit"]),
            "load": _loads([t[2] for t in times["emkit"]]),
            "emkit speed-up": "",
            "speed-up range": "",
        },
        {
            **base,
            "implementation": "kallisto 0.48 quant-tcc (with reading its files)",
            "seconds": statistics.median(full),
            "load": _loads([t[1] for t in times["kallisto"]]),
            "emkit speed-up": statistics.median(full) / ours,
            "speed-up range": _range([k / e for k, e in zip(full, ours_each, strict=True)]),
            "max rel. diff": _rel_diff(theirs, fit.est_counts_),
        },
        {
            **base,
            "implementation": "kallisto EM only (minus a zero-count run)",
            "seconds": statistics.median(em_only),
            "load": _loads([t[1] for t in times["overhead"]]),
            "emkit speed-up": statistics.median(em_only) / ours,
            "speed-up range": _range([k / e for k, e in zip(em_only, ours_each, strict=True)]),
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2,000 transcripts (smoke size)")
    parser.add_argument("--transcripts", type=int, default=200_000)
    parser.add_argument("--classes", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--numpy-rounds", type=int, default=5, help="NumPy rounds timed (then scaled)"
    )
    parser.add_argument(
        "--numpy-full", action="store_true", help="run NumPy to convergence, not scaled"
    )
    parser.add_argument("--no-kallisto", action="store_true", help="leave kallisto out")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = run(
        args.transcripts,
        args.classes,
        args.repeats,
        args.small,
        numpy_rounds=args.numpy_rounds,
        numpy_full=args.numpy_full,
        with_kallisto=not args.no_kallisto,
    )
    print(markdown_table(rows, COLUMNS))
    print(f"load average after: {os.getloadavg()}")
