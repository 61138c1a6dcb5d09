"""``emkit motifs``: find sequence motifs in a FASTA file by EM (MEME's models).

``emkit motifs FASTA --width W [--model zoops] [-n 3] -o OUT`` fits
:class:`emkit.bio.motifs.MotifFinder` and prints every motif's consensus, width,
site prior and number of sites (or one JSON object with ``--json``). With ``-o OUT``
it writes ``OUT.meme`` (MEME's minimal motif format, for FIMO and Tomtom),
``OUT.jaspar`` (JASPAR PFMs) and ``OUT.sites.tsv`` (the sites), and with ``--logo``
``OUT.logo.png`` (a sequence logo per motif). Every file is checked before the fit
(never over the FASTA file, over an existing file only with ``--force``) and written
atomically (see :mod:`emkit.cli.outputs`).
"""

from __future__ import annotations

import argparse

from emkit.cli.common import CLIError, n_jobs, nonnegative_float, nonnegative_int, positive_int
from emkit.cli.outputs import add_force, atomic_output, input_files, plan_output
from emkit.cli.report import Entry, add_json, print_report

__all__ = ["add_arguments", "run", "width_range"]

#: what ``-o OUT`` writes: (suffix, what messages call it)
OUTPUTS = ((".meme", "MEME motif file"), (".jaspar", "JASPAR file"), (".sites.tsv", "site list"))


def width_range(text: str):
    """``"15"`` -> 15, ``"8-20"`` -> (8, 20) (an argparse ``type``)."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-", 1))
            if 2 <= low <= high:
                return (low, high)
        else:
            value = int(text)
            if value >= 2:
                return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected a width >= 2 or a range MIN-MAX of widths (e.g. 8-20), got {text!r}"
    )


def add_arguments(parser) -> None:
    parser.add_argument("data", metavar="FASTA", help="the sequences, FASTA (plain or gzipped)")
    parser.add_argument(
        "-w",
        "--width",
        type=width_range,
        required=True,
        help="motif width, or a range MIN-MAX to search (the best by a width-corrected BIC)",
    )
    parser.add_argument(
        "--model",
        choices=("oops", "zoops", "tcm"),
        default="oops",
        help="sites per sequence: one (oops), zero or one (zoops), any number (tcm)",
    )
    parser.add_argument(
        "-n", "--n-motifs", type=positive_int, default=1, help="motifs to find (by erasing)"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write OUT.meme, OUT.jaspar and OUT.sites.tsv (default: print the summary only)",
    )
    parser.add_argument(
        "--logo", action="store_true", help="also write OUT.logo.png, a logo per motif"
    )
    parser.add_argument(
        "--alphabet",
        choices=("dna", "protein"),
        default="dna",
        help="letters of the sequences (N, X and ambiguity codes are unknown; lower case "
        "reads as upper case)",
    )
    parser.add_argument(
        "--no-revcomp",
        dest="revcomp",
        action="store_false",
        help="search the forward strand only (DNA)",
    )
    parser.add_argument(
        "--background-order",
        type=nonnegative_int,
        default=0,
        help="order of the Markov background estimated from the sequences",
    )
    parser.add_argument(
        "--pseudocount",
        type=nonnegative_float,
        default=0.1,
        help="pseudo-count per PWM column (Dirichlet prior, spread by letter frequency)",
    )
    parser.add_argument(
        "--max-starts",
        type=positive_int,
        default=500,
        help="substrings tried as starting points (a random subset when there are more)",
    )
    parser.add_argument(
        "--random-state",
        "--seed",
        dest="random_state",
        type=nonnegative_int,
        default=0,
        help="seed of the starting points (--seed also works)",
    )
    parser.add_argument("-j", "--n-jobs", type=n_jobs, default=1, help="threads (-1: every core)")
    add_force(parser, "existing output files")
    add_json(parser, "the motifs")


def _plan(args):
    if args.output is None:
        if args.logo:
            raise CLIError("--logo needs -o OUT: the logo is written to OUT.logo.png")
        return []
    inputs = input_files(args, "data")
    planned = []
    outputs = list(OUTPUTS) + ([(".logo.png", "figure")] if args.logo else [])
    for suffix, what in outputs:
        output = plan_output(args.output + suffix, what, "-o", inputs=inputs, force=args.force)
        planned.append((suffix, output))
    return planned


def _write(finder, planned) -> list[str]:
    from emkit.bio.motif_files import write_jaspar, write_meme, write_sites

    writers = {".meme": write_meme, ".jaspar": write_jaspar, ".sites.tsv": write_sites}
    written = []
    for suffix, output in planned:
        with atomic_output(output) as path:
            if suffix == ".logo.png":
                _write_logo(finder, path)
            else:
                writers[suffix](finder, path)
        written.append(str(output.path))
    return written


def _write_logo(finder, path) -> None:
    from emkit.plot._figure import new_figure
    from emkit.plot.logo import plot_logo

    n = len(finder.motifs_)
    width = max(finder.widths_)
    figure = new_figure((max(3.0, 0.45 * width + 1.0), 2.4 * n))
    for k in range(n):
        plot_logo(finder, index=k, ax=figure.add_subplot(n, 1, k + 1))
    figure.savefig(path, dpi=110)


def run(args) -> int:
    from emkit.bio.motifs import MotifFinder

    planned = _plan(args)  # file problems before the fit
    finder = MotifFinder(
        width=args.width,
        model=args.model,
        n_motifs=args.n_motifs,
        revcomp=args.revcomp,
        alphabet=args.alphabet,
        background_order=args.background_order,
        pseudocount=args.pseudocount,
        max_starts=args.max_starts,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
    )
    try:
        finder.fit(args.data)
    except ValueError as exc:
        raise CLIError(f"{args.data}: {exc}") from None
    written = _write(finder, planned)
    entries = [
        Entry(
            "sequences",
            f"{len(finder.sequence_names_)} from {args.data}",
            {"data": args.data, "n_sequences": len(finder.sequence_names_)},
        )
    ]
    motifs = []
    for k, pwm in enumerate(finder.motifs_):
        sites = finder.sites_[finder.sites_["motif"] == k]
        expected = float(sites["probability"].sum())
        prior = finder.site_priors_[k]
        text = f"{finder.consensus_[k]} (width {pwm.shape[0]}, {expected:.1f} expected sites"
        if args.model != "oops":
            text += f", {'γ' if args.model == 'zoops' else 'λ'} = {prior:.3g}"
        entries.append(Entry(f"motif {k + 1}", text + ")"))
        motifs.append(
            {
                "consensus": finder.consensus_[k],
                "width": pwm.shape[0],
                "site_prior": prior,
                "expected_sites": expected,
                "log_likelihood": finder.log_likelihoods_[k],
                "pwm": pwm,
            }
        )
    entries.append(Entry("motifs", None, {"model": args.model, "motifs": motifs}))
    entries.append(
        Entry(
            "written",
            ", ".join(written) if written else "nothing (give -o OUT to write the motif files)",
            {"written": written},
        )
    )
    print_report(entries, as_json=args.json)
    return 0
