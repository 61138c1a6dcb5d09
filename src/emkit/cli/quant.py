"""``emkit quant``: transcript abundances from kallisto's or salmon's equivalence classes.

``emkit quant --kallisto DIR -o OUT`` reads a ``kallisto pseudo`` output folder and
writes ``OUT/abundance.tsv`` as kallisto does; ``emkit quant --salmon DIR -o OUT`` reads
a salmon output folder run with ``--dumpEq`` (weights if dumped) and writes
``OUT/quant.sf`` as salmon does (EM by default, accelerated by DAAREM to a per-read
tolerance; ``--stopping kallisto`` for kallisto's own loop and numbers, ``--vb`` for
salmon's variational Bayes). ``--bootstraps N`` adds ``OUT/bootstraps.tsv`` (the
estimated counts of every bootstrap, one column each), ``--gene-map`` adds
``OUT/genes.tsv``. The folder OUT is made when missing; its files are never an input,
replaced only with ``--force``, and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emkit.cli.common import CLIError, n_jobs, nonnegative_float, nonnegative_int, positive_int
from emkit.cli.outputs import add_force, atomic_output, plan_output
from emkit.cli.report import Entry, add_json, print_report

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--kallisto",
        metavar="DIR",
        help="a 'kallisto pseudo' output folder (pseudoalignments.ec/.tsv or matrix.ec/"
        ".tcc.mtx, transcripts.txt); this or --salmon is required",
    )
    source.add_argument(
        "--salmon",
        metavar="DIR",
        help="a 'salmon quant --dumpEq' output folder (aux_info/eq_classes.txt.gz, "
        "quant.sf); this or --kallisto is required",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", required=True, help="folder for the results"
    )
    parser.add_argument(
        "--abundance",
        metavar="FILE",
        help="kallisto abundance.tsv giving the effective lengths (default: DIR/abundance.tsv "
        "when it exists)",
    )
    parser.add_argument(
        "--lengths",
        metavar="FASTA",
        help="the transcriptome, for kallisto's effective lengths with -l and -s "
        "(default: none; the lengths come from the abundance file)",
    )
    parser.add_argument(
        "-l",
        "--fragment-length",
        type=float,
        help="mean fragment length (kallisto's -l; default: none, needed with --lengths)",
    )
    parser.add_argument(
        "-s",
        "--fragment-sd",
        type=float,
        help="fragment length sd (kallisto's -s; default: none, needed with --lengths)",
    )
    parser.add_argument(
        "--stopping",
        choices=("tol", "kallisto"),
        default="tol",
        help="'tol': EM to --tol; 'kallisto': kallisto's own loop and numbers",
    )
    parser.add_argument("--vb", action="store_true", help="salmon's variational Bayes")
    parser.add_argument(
        "--plain-em",
        action="store_true",
        help="plain EM steps instead of DAAREM's accelerated ones (with --stopping tol)",
    )
    parser.add_argument("--tol", type=nonnegative_float, default=1e-12, help="per-read tolerance")
    parser.add_argument("--max-iter", type=positive_int, default=10_000, help="iteration budget")
    parser.add_argument(
        "-b", "--bootstraps", type=nonnegative_int, default=0, help="bootstrap samples"
    )
    parser.add_argument(
        "--random-state",
        "--seed",
        dest="random_state",
        type=nonnegative_int,
        default=42,
        help="seed of the bootstraps (--seed, as kallisto calls it)",
    )
    parser.add_argument(
        "--gene-map",
        metavar="FILE",
        help="transcript<TAB>gene file; writes OUT/genes.tsv with gene-level sums "
        "(default: none, no gene-level file)",
    )
    parser.add_argument("--n-jobs", type=n_jobs, default=None, help="threads (default: every core)")
    add_force(parser, "existing result files")
    add_json(parser)


def _read(args):
    """(the classes, the files read, the kind of output)."""
    from emkit.bio.kallisto import read_kallisto
    from emkit.bio.salmon import read_salmon_eq_classes

    if args.kallisto is not None:
        root = Path(args.kallisto)
        lengths = args.lengths
        if lengths is None and args.fragment_length is not None:
            abundance = Path(args.abundance) if args.abundance else root / "abundance.tsv"
            if abundance.is_file():
                from emkit.bio.kallisto import read_kallisto_abundance

                lengths = read_kallisto_abundance(abundance)["length"]
        classes = read_kallisto(
            root,
            abundance=args.abundance,
            lengths=lengths,
            fragment_length=args.fragment_length,
            fragment_sd=args.fragment_sd,
        )
        inputs = [p for p in root.iterdir() if p.is_file()]
        inputs += [Path(p) for p in (args.abundance, args.lengths) if p is not None]
        return classes, inputs, "kallisto"
    for option in ("abundance", "lengths", "fragment_length", "fragment_sd"):
        if getattr(args, option) is not None:
            raise CLIError(f"--{option.replace('_', '-')} is for --kallisto input, not --salmon")
    root = Path(args.salmon)
    classes = read_salmon_eq_classes(root)
    inputs = [p for p in root.rglob("*") if p.is_file()]
    return classes, inputs, "salmon"


def _bootstrap_text(names, values: np.ndarray) -> str:
    header = "target_id\t" + "\t".join(f"bs_{b}" for b in range(values.shape[0]))
    rows = [header]
    for t, name in enumerate(names):
        rows.append(name + "\t" + "\t".join(f"{v:.6g}" for v in values[:, t]))
    return "\n".join(rows) + "\n"


def run(args) -> int:
    from emkit.bio.genes import read_gene_map
    from emkit.bio.kallisto import write_kallisto_abundance
    from emkit.bio.quantifier import TranscriptQuantifier
    from emkit.bio.salmon import write_salmon_quant

    classes, inputs, kind = _read(args)
    if args.gene_map is not None:
        inputs.append(Path(args.gene_map))
    gene_map = read_gene_map(args.gene_map) if args.gene_map is not None else None
    if args.plain_em and args.stopping == "kallisto":
        raise CLIError("--plain-em is for --stopping tol (kallisto's loop is plain EM already)")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"-o {out} is a file; give a folder for the results")
    if not out.parent.is_dir():
        raise CLIError(f"cannot make -o {out}: folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    described = [(str(p), "an input file") for p in inputs]
    main_name = "abundance.tsv" if kind == "kallisto" else "quant.sf"
    names = [main_name]
    if args.bootstraps:
        names.append("bootstraps.tsv")
    if gene_map is not None:
        names.append("genes.tsv")
    plans = {
        name: plan_output(out / name, "result file", "-o", inputs=described, force=args.force)
        for name in names
    }
    quantifier = TranscriptQuantifier(
        args.stopping,
        tol=args.tol,
        max_iter=args.max_iter,
        accelerate=None if args.plain_em else "daarem",
        prior="vb" if args.vb else None,
        n_bootstraps=args.bootstraps,
        random_state=args.random_state,
        gene_map=gene_map,
        n_jobs=args.n_jobs,
    ).fit(classes)
    n = classes.n_transcripts
    transcript_names = classes.names or [str(t) for t in range(n)]
    lengths = classes.lengths if classes.lengths is not None else np.full(n, np.nan)
    effective = classes.effective_lengths if classes.effective_lengths is not None else np.ones(n)
    with atomic_output(plans[main_name]) as path:
        if kind == "kallisto":
            write_kallisto_abundance(
                path, transcript_names, lengths, effective, quantifier.est_counts_, quantifier.tpm_
            )
        else:
            write_salmon_quant(
                path, transcript_names, lengths, effective, quantifier.tpm_, quantifier.est_counts_
            )
    if args.bootstraps:
        with atomic_output(plans["bootstraps.tsv"]) as path:
            path.write_text(_bootstrap_text(transcript_names, quantifier.bootstrap_est_counts_))
    if gene_map is not None:
        with atomic_output(plans["genes.tsv"]) as path:
            rows = ["gene_id\test_counts\ttpm"] + [
                f"{g}\t{c:.6g}\t{t:.6g}"
                for g, c, t in zip(
                    quantifier.genes_,
                    quantifier.gene_est_counts_,
                    quantifier.gene_tpm_,
                    strict=True,
                )
            ]
            path.write_text("\n".join(rows) + "\n")
    accelerated = None if args.plain_em or args.stopping == "kallisto" else "daarem"
    entries = [
        Entry(
            "input",
            f"{kind} {args.kallisto or args.salmon}",
            {"input": args.kallisto or args.salmon},
        ),
        Entry(
            "classes",
            f"{classes.n_classes} classes, {n} transcripts, {classes.n_reads:g} reads"
            + (", weighted" if classes.weights is not None else ""),
            {"n_classes": classes.n_classes, "n_transcripts": n, "n_reads": classes.n_reads},
        ),
        Entry(
            "method",
            ("VB" if args.vb else "EM")
            + f", stopping {args.stopping}"
            + ("" if accelerated is None else ", DAAREM"),
            {"vb": args.vb, "stopping": args.stopping, "accelerate": accelerated},
        ),
        Entry(
            "iterations",
            f"{quantifier.n_iter_} ({quantifier.n_e_steps_} E-steps), "
            + ("converged" if quantifier.converged_ else "not converged"),
            {
                "n_iter": quantifier.n_iter_,
                "n_e_steps": quantifier.n_e_steps_,
                "converged": quantifier.converged_,
            },
        ),
        Entry(
            "log-likelihood",
            f"{quantifier.log_likelihood_:.10g}",
            {"log_likelihood": quantifier.log_likelihood_},
        ),
        Entry(
            "wrote",
            ", ".join(str(plan.path) for plan in plans.values()),
            {"outputs": [str(plan.path) for plan in plans.values()]},
        ),
    ]
    print_report(entries, as_json=args.json)
    return 0
