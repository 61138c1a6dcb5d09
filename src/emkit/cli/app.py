"""The ``emkit`` command line: fit, predict, score, smooth, sample, info, topics, select,
quant, motifs and demo.

Run ``emkit --help`` or ``emkit COMMAND --help``. Data files are CSV (with or
without a header) or ``.npy``, and for the topic models corpus files (LDA-C, Matrix
Market, UCI bag of words, CSV counts; see :mod:`emkit.cli.corpus`); model files are
emkit's safe ``.npz`` (see :mod:`emkit.io`). Results that other programs read (labels,
probabilities, samples, smoothed states, top words, ``--json`` summaries) go to
standard output; progress bars, warnings and errors go to standard error, errors as one
line ``emkit: error: ...`` with a non-zero exit status.

Layout: this module holds the parser, the table of commands and ``main``. The
commands are :mod:`emkit.cli.fit`, :mod:`emkit.cli.apply` (predict, score, smooth,
sample), :mod:`emkit.cli.info`, :mod:`emkit.cli.topics`, :mod:`emkit.cli.select` (model selection),
:mod:`emkit.cli.quant`
(transcript abundance), :mod:`emkit.cli.motifs` (motif discovery) and
:mod:`emkit.cli.demo`;
:mod:`emkit.cli.data` reads and writes data files, :mod:`emkit.cli.corpus` reads corpus
files, :mod:`emkit.cli.columns` picks the columns of data files,
:mod:`emkit.cli.inputs` reads a command's data and model files,
:mod:`emkit.cli.outputs` checks and writes the files a command writes (never over an
input, over an existing file only with ``--force``, atomically), and
:mod:`emkit.cli.report` prints summaries (text or JSON). :mod:`emkit.cli.common` is
below them all.

Extending
---------
* A new kind of model for ``emkit fit --model NAME`` is one entry of
  :data:`MODEL_KINDS` (in :mod:`emkit.cli.models`): a :class:`ModelKind` with the
  estimator class, the options it uses and the estimator parameters they set, the
  hooks that print and draw it (see :class:`emkit.cli.kind.ModelKind`; the kinds of a
  family live in one module, e.g. :mod:`emkit.cli.hmm`). ``fit`` adds every kind's
  options to its parser once, shows the estimators' defaults in ``--help`` and
  rejects the options the chosen kind does not use; the commands that take a saved
  model find the kind from the estimator's class.
* A new command is one entry of :data:`COMMANDS`: a function that adds its
  arguments to a parser and a function ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from emkit._text import one_line
from emkit.cli import apply, demo, fit, info, motifs, quant, select, topics
from emkit.cli.common import PROG, CLIError
from emkit.cli.data import DataError
from emkit.cli.kind import ModelKind
from emkit.cli.models import MODEL_KINDS

__all__ = ["COMMANDS", "MODEL_KINDS", "CLIError", "ModelKind", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on standard error (no usage block)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {one_line(message)} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: ...)`` to the help of options with a default; options without
    one (None) say in their help what happens when they are not given."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, how it adds its arguments, and what it runs."""

    help: str
    add_arguments: Callable
    run: Callable


#: ``emkit NAME`` -> Command. Add an entry to add a subcommand.
COMMANDS: dict[str, Command] = {
    "fit": Command(
        "fit a model to a data file; print a summary, and save the model with -o",
        fit.add_arguments,
        fit.run,
    ),
    "predict": Command(
        "most probable component of every row (an HMM's Viterbi path), or probabilities",
        apply.add_predict_arguments,
        apply.run_predict,
    ),
    "score": Command(
        "log-likelihood of a data file under a model",
        apply.add_score_arguments,
        apply.run_score,
    ),
    "smooth": Command(
        "posterior means and variances of a state-space model's hidden states (CSV)",
        apply.add_smooth_arguments,
        apply.run_smooth,
    ),
    "sample": Command(
        "draw samples from a model (CSV)", apply.add_sample_arguments, apply.run_sample
    ),
    "info": Command("describe a model file", info.add_arguments, info.run),
    "topics": Command(
        "the top words of every topic of a topic model (lda, plsa), with their probabilities",
        topics.add_arguments,
        topics.run,
    ),
    "quant": Command(
        "transcript abundances from kallisto's or salmon's equivalence classes",
        quant.add_arguments,
        quant.run,
    ),
    "motifs": Command(
        "find sequence motifs in a FASTA file by EM (MEME's OOPS, ZOOPS and TCM models)",
        motifs.add_arguments,
        motifs.run,
    ),
    "select": Command(
        "fit Gaussian mixtures for a range of K and covariance types; print BIC, AIC and "
        "ICL, keep the best",
        select.add_arguments,
        select.run,
    ),
    "demo": Command(
        "fit Old Faithful and write figures and an animation", demo.add_arguments, demo.run
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from emkit import __version__

    parser = _Parser(
        prog=PROG,
        description="Expectation-Maximization for latent-variable models.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(
            name, help=command.help, description=command.help, formatter_class=_HelpFormatter
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


@contextlib.contextmanager
def _warnings_as_lines():
    """Show warnings as ``emkit: warning: ...`` lines on standard error."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Entry point of the ``emkit`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with _warnings_as_lines():
            return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `emkit sample ... | head`): not an error; point
        # stdout at /dev/null so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MemoryError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {_out_of_memory(exc)}", file=sys.stderr)
        return 1
    except (CLIError, DataError, ValueError, OSError, ImportError) as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return 1


def _out_of_memory(exc: MemoryError) -> str:
    """What to say when an allocation failed: its size (from NumPy's message) and the
    options that need less memory."""
    match = re.search(r"allocate ([\d.]+ \w+)", str(exc))
    size = f" (an array of {match.group(1)} could not be allocated)" if match else ""
    return (
        f"out of memory{size}; ask for less at once: a smaller --chunk-size, fewer "
        "components (--n-components, --n-mix), states (--state-dim), samples (-n) or "
        "symbols"
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return one_line(exc)
