"""What every part of the command line shares: its error, argument types, option helpers.

This module is below every other module of :mod:`emkit.cli` but :mod:`emkit.cli.data`.
"""

from __future__ import annotations

import argparse

import numpy as np

__all__ = [
    "PROG",
    "CLIError",
    "comma_list",
    "flag",
    "given",
    "matrix_text",
    "n_jobs",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "reject",
    "require",
    "verbosity",
]

PROG = "emkit"


class CLIError(Exception):
    """A problem to report as one line on standard error (exit status 1)."""


# -- argument types -----------------------------------------------------------------------
def _number_type(kind: type, minimum: float, *, strict: bool = False, what: str = ""):
    """An argparse ``type`` accepting ``kind`` values >= minimum (> when ``strict``)."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not np.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


positive_int = _number_type(int, 1, what="an integer >= 1")
nonnegative_int = _number_type(int, 0, what="an integer >= 0")
nonnegative_float = _number_type(float, 0.0, strict=False, what="a number >= 0")
positive_float = _number_type(float, 0.0, strict=True, what="a number > 0")


def n_jobs(text: str) -> int:
    """A number of threads: an integer >= 1, or -1 for every core (an argparse ``type``)."""
    if text.strip() == "-1":
        return -1
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1, or -1 for every core; got {text!r}"
        ) from None


def comma_list(text: str) -> tuple[str, ...]:
    """``"a,b"`` -> ``("a", "b")`` (an argparse ``type``; the user of the names checks them)."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


# -- reading options ----------------------------------------------------------------------
def given(args, **options) -> dict:
    """``{parameter: args.option}`` for the options the user gave (not None)."""
    return {
        param: getattr(args, option)
        for param, option in options.items()
        if getattr(args, option, None) is not None
    }


def flag(option: str) -> str:
    """The command-line spelling of an argparse destination: ``reg_covar`` -> ``--reg-covar``."""
    return "--" + option.replace("_", "-")


def reject(args, model: str, *options: str) -> None:
    """A CLIError for the first of ``options`` that the user gave: it does not apply."""
    for option in options:
        if getattr(args, option, None) is not None:
            raise CLIError(f"{flag(option)} does not apply to --model {model}")


def require(args, model: str, option: str) -> None:
    if getattr(args, option, None) is None:
        raise CLIError(f"{flag(option)} is required for --model {model}")


def verbosity(args) -> int:
    """The estimators' ``verbose``: 1 (a progress bar on standard error) unless --quiet."""
    return 0 if getattr(args, "quiet", False) else 1


def matrix_text(values) -> str:
    return np.array2string(
        np.asarray(values), precision=4, suppress_small=True, threshold=25, edgeitems=2
    )
