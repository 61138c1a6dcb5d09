"""Motif discovery (MEME's EM): emkit's numba E-step vs NumPy, per E-step and per EM fit.

Data: simulated DNA, ``n_sequences`` sequences of ``length`` letters (order-0
background 0.3/0.2/0.2/0.3) with a planted, mutated motif of width W in 80% of them;
ZOOPS on both strands, pseudo-count 0.1. MEME itself is not compared: it is not
packaged here (non-free; Debian ships only its former GLAM2), so the peers are two
NumPy implementations of the same E-step:

- the reference twin ``emkit._kernels._reference_motifs`` (the tests' oracle: one
  sequence at a time, its windows as a dense array);
- a vectorised NumPy E-step written for equal-length sequences (every window of every
  sequence at once as an (n, m, W) view, log-sum-exp over the starts, the expected
  counts by ``np.bincount``): what a NumPy user would write for speed.

Cases: one E-step at a MEME starting point (the PWM of a substring); and an EM fit
from that start (the engine's ``fit_em``, ``max_iter`` iterations at most) with
emkit's kernel or the vectorised NumPy E-step in the same model, so the iteration
counts and the final log-likelihoods must agree (``loglik rel. diff``). Every
implementation is timed interleaved, ``repeats`` times, one thread; the table gives
the median wall time, its range over the repeats, the median CPU time of the process
(steadier than wall time on a loaded machine) and emkit's speed-up (ratio of median
wall times). The last rows time ``MotifFinder.fit`` end to end (background, the scan of
``max_starts`` starting points, EM with phase shifts), emkit only.

Run: ``python benchmarks/bench_motifs.py [--sequences N] [--length L] [--repeats R]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import logsumexp

from _timing import markdown_table
from emkit._kernels import _reference_motifs as reference
from emkit.bio.motifs import MotifFinder
from emkit.core import fit_em
from emkit.models.motifs import MotifModel, MotifStats, SequenceChunk

COLUMNS = [
    "case",
    "implementation",
    "seconds (median)",
    "range",
    "CPU s (median)",
    "s/iteration",
    "emkit speed-up",
    "loglik rel. diff",
]

BACKGROUND = np.array([0.3, 0.2, 0.2, 0.3])
COMPLEMENT = np.array([3, 2, 1, 0])


def simulate(n_sequences, length, width, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.choice(4, size=(n_sequences, length), p=BACKGROUND)
    motif = rng.randint(4, size=width)
    for i in range(n_sequences):
        if rng.rand() < 0.8:
            site = motif.copy()
            flip = rng.rand(width) < 0.15
            site[flip] = rng.randint(4, size=flip.sum())
            if rng.rand() < 0.5:
                site = COMPLEMENT[site][::-1]
            j = rng.randint(length - width + 1)
            codes[i, j : j + width] = site
    flat = codes.ravel().astype(np.int64)
    offsets = np.arange(0, flat.size + 1, length, dtype=np.int64)
    chunk = SequenceChunk(flat, offsets, np.log(BACKGROUND[flat]), np.ones(flat.size))
    return chunk, codes, motif


def numpy_e_step(codes, log_pwm, log_bg_letter, prior):
    """Vectorised ZOOPS E-step over equal-length sequences, both strands: (counts (W, A),
    expected sites, log-likelihood)."""
    L = codes.shape[1]
    W, A = log_pwm.shape
    windows = sliding_window_view(codes, W, axis=1)  # (n, m, W)
    columns = np.arange(W)
    bg = log_bg_letter[windows].sum(axis=2)
    forward = log_pwm[columns, windows].sum(axis=2) - bg
    reverse_letters = COMPLEMENT[windows][:, :, ::-1]
    reverse = log_pwm[columns, reverse_letters].sum(axis=2) - bg
    m = L - W + 1
    joint = np.stack([forward, reverse], axis=2) - np.log(2 * m)  # (n, m, 2)
    with_site = logsumexp(joint, axis=(1, 2))
    log_p = np.logaddexp(np.log1p(-prior), np.log(prior) + with_site)
    post = np.exp(joint + np.log(prior) - log_p[:, None, None])
    index_f = (columns * A + windows).reshape(-1, W)
    index_r = (columns * A + reverse_letters).reshape(-1, W)
    weights_f = np.repeat(post[:, :, 0].ravel(), W)
    weights_r = np.repeat(post[:, :, 1].ravel(), W)
    counts = np.bincount(index_f.ravel(), weights_f, minlength=W * A)
    counts += np.bincount(index_r.ravel(), weights_r, minlength=W * A)
    log_likelihood = log_bg_letter[codes].sum() + log_p.sum()
    return counts.reshape(W, A), float(post.sum()), float(log_likelihood)


class NumpyMotifModel(MotifModel):
    """The same ZOOPS model, its E-step the vectorised NumPy one."""

    def __init__(self, codes, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes_2d = codes

    def e_step(self, params, chunk):
        with np.errstate(divide="ignore"):
            log_pwm = np.log(params.pwm)
        counts, n_sites, loglik = numpy_e_step(
            self.codes_2d, log_pwm, np.log(BACKGROUND), params.site_prior
        )
        return MotifStats(counts, n_sites, float(self.codes_2d.shape[0])), loglik


def _interleaved(functions: dict, repeats: int) -> dict:
    """Wall times (and, in ``CPU_TIMES``, process CPU times: steadier on a loaded
    machine) of every function, run in turn ``repeats`` times; their last results."""
    times = {name: [] for name in functions}
    results = {}
    for _ in range(repeats):
        for name, function in functions.items():
            start, cpu = time.perf_counter(), time.process_time()
            results[name] = function()
            times[name].append(time.perf_counter() - start)
            CPU_TIMES.setdefault(name, []).append(time.process_time() - cpu)
    return times, results


#: CPU times of the last :func:`_interleaved` call (read and cleared by :func:`_rows`)
CPU_TIMES: dict = {}


def _rows(case, times, values, base="emkit", n_iter=None):
    cpu = {name: statistics.median(t) for name, t in CPU_TIMES.items()}
    CPU_TIMES.clear()
    rows = []
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        row = {
            "case": case,
            "implementation": name,
            "seconds (median)": median[name],
            "range": f"{min(t):.3g}–{max(t):.3g}",
            "CPU s (median)": cpu[name],
            "emkit speed-up": "" if name == base else f"{median[name] / median[base]:.1f}×",
        }
        if n_iter:
            row["s/iteration"] = median[name] / n_iter
        if values is not None and name != base:
            row["loglik rel. diff"] = f"{abs(values[name] - values[base]) / abs(values[base]):.1e}"
        rows.append(row)
    return rows


def _width_rows(W, n_sequences, length, repeats, max_iter):
    chunk, codes, _ = simulate(n_sequences, length, W, seed=W)
    options = {"model": "zoops", "complement": COMPLEMENT, "pseudocounts": 0.1 * BACKGROUND}
    model = MotifModel(W, 4, **options)
    numpy_model = NumpyMotifModel(codes, W, 4, **options)
    start = model.substring_params(codes[0, 10 : 10 + W], 0.5)
    args = (
        chunk.codes,
        chunk.offsets,
        np.log(start.pwm),
        chunk.log_background,
        chunk.start_weight,
        COMPLEMENT,
        2,
        1,
        0.5,
    )
    model.e_step(start, chunk)  # compile
    size = f"{n_sequences}×{length} bp, W={W}"
    times, results = _interleaved(
        {
            "emkit": lambda: model.e_step(start, chunk)[1],
            "NumPy vectorised": lambda: numpy_model.e_step(start, chunk)[1],
            "NumPy reference twin": lambda: reference.motif_e_step(*args)[3],
        },
        repeats,
    )
    rows = _rows(f"one E-step, {size}", times, results)

    def fit(m):
        return fit_em(
            m,
            [chunk],
            n_samples=n_sequences,
            max_iter=max_iter,
            tol=1e-8,
            start_params=start,
            warn_not_converged=False,
        )

    times, results = _interleaved(
        {"emkit": lambda: fit(model), "NumPy vectorised": lambda: fit(numpy_model)}, repeats
    )
    n_iter = results["emkit"].n_iter
    assert n_iter == results["NumPy vectorised"].n_iter
    values = {k: r.log_likelihood for k, r in results.items()}
    return rows + _rows(f"EM fit from one start ({n_iter} iterations), {size}", times, values,
                        n_iter=n_iter)  # fmt: skip


def run(n_sequences=500, length=500, widths=(15, 20), repeats=3, max_iter=50, quick=False):
    """Rows of the results table."""
    if quick:
        n_sequences, length, widths, repeats, max_iter = 60, 200, (12,), 2, 20
    rows = []
    for W in widths:
        rows += _width_rows(W, n_sequences, length, repeats, max_iter)
    # MotifFinder end to end, emkit only
    W = widths[0]
    sequences = ["".join("ACGT"[c] for c in row) for row in simulate(n_sequences, length, W)[1]]
    finder_times, finder_cpu = [], []
    for seed in range(repeats):
        start_time, start_cpu = time.perf_counter(), time.process_time()
        MotifFinder(width=W, model="zoops", random_state=seed, max_starts=200).fit(sequences)
        finder_times.append(time.perf_counter() - start_time)
        finder_cpu.append(time.process_time() - start_cpu)
    rows.append(
        {
            "case": f"MotifFinder.fit (200 starts, EM, phase shifts), {n_sequences}×{length} "
            f"bp, W={W}",
            "implementation": "emkit",
            "seconds (median)": statistics.median(finder_times),
            "range": f"{min(finder_times):.3g}–{max(finder_times):.3g}",
            "CPU s (median)": statistics.median(finder_cpu),
        }
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = run(args.sequences, args.length, repeats=args.repeats, quick=args.quick)
    print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
