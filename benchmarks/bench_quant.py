"""Transcript quantification: time to convergence of emkit vs NumPy EM and kallisto.

Data: a simulated class set of transcriptome size (default 200,000 transcripts in
gene families of 1 + Poisson(13) isoforms, 3,000,000 equivalence classes: every
transcript's own class, then distinct random subsets of one family; about 20 million
entries and 30 million reads; effective lengths uniform in [200, 4000]; abundances
log-normal with 30% of transcripts silent, and class counts Poisson around the mean
abundance of the class's transcripts). Real classes are smaller on average; these are
the scale the issue names.

Cases, each from kallisto's start and with kallisto's stopping rule, so every
implementation runs the same rounds to the same numbers:

- emkit ``TranscriptQuantifier(stopping="kallisto")`` on every core (the numba
  E-step over flat arrays, chunks on the engine's threads);
- a vectorised NumPy EM with kallisto's rule (the E-step by ``np.add.reduceat`` and
  ``np.bincount`` over the flat arrays, emkit's test twin; one core, as NumPy runs);
- ``kallisto quant-tcc`` 0.48 itself, when the binary is installed, on the same classes
  without effective lengths (``quant-tcc`` without an index weighs every entry 1, so
  emkit is timed on those classes too). kallisto's time includes reading its text
  files; a run on the same classes with zero counts (nothing for the EM to do) gives
  that overhead, and ``kallisto EM only`` is the difference.

Also emkit's default fit (to a per-read tolerance of 1e-10, with SQUAREM), which goes
further than kallisto's rule: its log-likelihood gain per read is reported.

The fits are timed interleaved, ``repeats`` times; the table gives the median time,
the speed-up of emkit as the ratio of medians and the range of the per-repeat ratios.

At the default size kallisto's rule takes about 800 rounds, so NumPy's time to
convergence is long (about 0.4 s a round on an idle core, minutes per repeat):
``--max-rounds R`` times the first R rounds of both instead (the same rounds; time to
convergence is their number times the time of a round), and a smaller size
(``--transcripts 50000 --classes 750000``) times the whole convergence, kallisto
included.

Run: ``python benchmarks/bench_quant.py [--small] [--transcripts N] [--classes M]
[--repeats R] [--max-rounds R] [--no-kallisto]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from _timing import markdown_table
from emkit._kernels._reference_transcripts import class_e_step as numpy_e_step
from emkit.bio.classes import EquivalenceClasses
from emkit.bio.quantifier import TranscriptQuantifier

COLUMNS = [
    "case",
    "implementation",
    "rounds",
    "seconds",
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
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def _rel_diff(a, b) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def _range(ratios) -> str:
    return f"{min(ratios):.1f}–{max(ratios):.1f}"


def run(
    n_transcripts=200_000,
    n_classes=3_000_000,
    repeats=3,
    small=False,
    quick=False,
    max_rounds=None,
    with_kallisto=True,
):
    """Rows of the results table. ``max_rounds`` caps kallisto's rule at that many
    rounds for both emkit and NumPy (they run the same rounds; kallisto itself and
    emkit's default fit are then left out): the time of R rounds at full size, when
    convergence (hundreds of rounds) would take too long for NumPy."""
    if small or quick:
        n_transcripts, n_classes, repeats = 2_000, 30_000, 1 if quick else repeats
    classes = simulate(n_transcripts, n_classes)
    case = (
        f"{classes.n_transcripts:,} transcripts, {classes.n_classes:,} classes, "
        f"{classes.n_entries:,} entries, {classes.n_reads:,.0f} reads"
    )
    capped = max_rounds is not None
    budget = max_rounds if capped else 10_000
    if capped:
        case += f", first {max_rounds} rounds"
    emkit_kallisto = TranscriptQuantifier("kallisto", max_iter=budget, n_jobs=None)
    emkit_one = TranscriptQuantifier("kallisto", max_iter=budget, n_jobs=1)
    TranscriptQuantifier("kallisto", max_iter=2).fit(classes)  # compile outside the timing
    times = {"emkit": [], "emkit 1": [], "numpy": [], "emkit default": []}
    for _ in range(repeats):
        seconds, fit = _timed(lambda: emkit_kallisto.fit(classes))
        times["emkit"].append(seconds)
        seconds, _ = _timed(lambda: emkit_one.fit(classes))
        times["emkit 1"].append(seconds)
        seconds, (alpha, rounds) = _timed(lambda: numpy_kallisto_em(classes, max_rounds=budget))
        times["numpy"].append(seconds)
        if not capped:
            seconds, default = _timed(
                lambda: TranscriptQuantifier(accelerate="squarem", n_jobs=None).fit(classes)
            )
            times["emkit default"].append(seconds)
    ours = statistics.median(times["emkit"])
    ratios = [t / e for t, e in zip(times["numpy"], times["emkit"], strict=True)]
    rows = [
        {
            "case": case,
            "implementation": f"emkit, kallisto's rule, {os.cpu_count()} cores",
            "rounds": fit.n_iter_,
            "seconds": ours,
            "emkit speed-up": 1.0,
            "speed-up range": "",
            "max rel. diff": "",
        },
        {
            "case": case,
            "implementation": "emkit, kallisto's rule, 1 thread",
            "rounds": fit.n_iter_,
            "seconds": statistics.median(times["emkit 1"]),
            "emkit speed-up": ours / statistics.median(times["emkit 1"]),
            "speed-up range": "",
            "max rel. diff": "",
        },
        {
            "case": case,
            "implementation": "NumPy EM, kallisto's rule (1 core)",
            "rounds": rounds,
            "seconds": statistics.median(times["numpy"]),
            "emkit speed-up": statistics.median(times["numpy"]) / ours,
            "speed-up range": _range(ratios),
            "max rel. diff": _rel_diff(alpha, fit.est_counts_),
        },
        {
            "case": case,
            "implementation": "  (NumPy vs emkit on 1 thread)",
            "rounds": "",
            "seconds": "",
            "emkit speed-up": statistics.median(times["numpy"])
            / statistics.median(times["emkit 1"]),
            "speed-up range": _range(
                [t / e for t, e in zip(times["numpy"], times["emkit 1"], strict=True)]
            ),
            "max rel. diff": "",
        },
    ]
    if capped:
        return rows
    gain = (default.log_likelihood_ - fit.log_likelihood_) / classes.n_reads
    default_time = statistics.median(times["emkit default"])
    rows.append(
        {
            "case": case,
            "implementation": f"emkit default (tol 1e-12/read, SQUAREM), {gain:+.2g} loglik/read "
            "over kallisto's rule; speed-up of it over NumPy",
            "rounds": f"{default.n_e_steps_} E-steps",
            "seconds": default_time,
            "emkit speed-up": statistics.median(times["numpy"]) / default_time,
            "speed-up range": _range(
                [t / e for t, e in zip(times["numpy"], times["emkit default"], strict=True)]
            ),
            "max rel. diff": "",
        }
    )
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
            seconds, fit = _timed(lambda: quantifier.fit(unit))
            times["emkit"].append(seconds)
            times["kallisto"].append(_kallisto(folder, "counts.tsv", "out"))
            times["overhead"].append(_kallisto(folder, "zero.tsv", "zero"))
        theirs = _read_kallisto_counts(folder / "out" / "abundance.tsv")
    ours = statistics.median(times["emkit"])
    em_only = [k - o for k, o in zip(times["kallisto"], times["overhead"], strict=True)]
    unit_case = case + ", unit weights"
    return [
        {
            "case": unit_case,
            "implementation": "emkit, kallisto's rule",
            "rounds": fit.n_iter_,
            "seconds": ours,
            "emkit speed-up": 1.0,
            "speed-up range": "",
            "max rel. diff": "",
        },
        {
            "case": unit_case,
            "implementation": "kallisto 0.48 quant-tcc (with reading its files)",
            "rounds": "",
            "seconds": statistics.median(times["kallisto"]),
            "emkit speed-up": statistics.median(times["kallisto"]) / ours,
            "speed-up range": _range(
                [k / e for k, e in zip(times["kallisto"], times["emkit"], strict=True)]
            ),
            "max rel. diff": _rel_diff(theirs, fit.est_counts_),
        },
        {
            "case": unit_case,
            "implementation": "kallisto EM only (minus a zero-count run)",
            "rounds": "",
            "seconds": statistics.median(em_only),
            "emkit speed-up": statistics.median(em_only) / ours,
            "speed-up range": _range([k / e for k, e in zip(em_only, times["emkit"], strict=True)]),
            "max rel. diff": "",
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2,000 transcripts (smoke size)")
    parser.add_argument("--transcripts", type=int, default=200_000)
    parser.add_argument("--classes", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--max-rounds", type=int, default=None, help="time this many rounds, not convergence"
    )
    parser.add_argument("--no-kallisto", action="store_true", help="leave kallisto out")
    args = parser.parse_args()
    rows = run(
        args.transcripts,
        args.classes,
        args.repeats,
        args.small,
        max_rounds=args.max_rounds,
        with_kallisto=not args.no_kallisto,
    )
    print(markdown_table(rows, COLUMNS))
