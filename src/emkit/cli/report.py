"""What the commands print: ``label: text`` summaries, or one JSON object with ``--json``.

A summary is a list of :class:`Entry`: each has the line a person reads and the JSON
fields a program reads, side by side, so that the two outputs cannot drift apart.
Standard output holds only the summary (or the data a command writes); notes for the
user go to standard error.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np

from emkit.cli.common import PROG, matrix_text

__all__ = [
    "Entry",
    "add_json",
    "console",
    "json_safe",
    "matrix_entry",
    "note",
    "print_json",
    "print_report",
]


@dataclass(frozen=True)
class Entry:
    """One line of a summary and its JSON fields.

    label, text : the line ``label: text``; a text of None is not printed (JSON only)
    values : ``{JSON key: value}``; values are numbers, strings, booleans, None, arrays
        or lists of them (see :func:`json_safe`)
    """

    label: str
    text: str | None
    values: Mapping[str, Any] = field(default_factory=dict)


def matrix_entry(label: str, key: str, values) -> Entry:
    """The line ``label: <the array>`` and the JSON field ``key: [...]``."""
    return Entry(label, matrix_text(values), {key: values})


def add_json(parser, what: str = "the summary") -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as one JSON object on standard output (nothing else goes there)",
    )


def print_report(entries: Iterable[Entry], as_json: bool = False) -> None:
    entries = list(entries)
    if as_json:
        fields: dict[str, Any] = {}
        for entry in entries:
            fields.update(entry.values)
        print_json(fields)
        return
    print_pairs([(entry.label, entry.text) for entry in entries if entry.text is not None])


def print_pairs(pairs) -> None:
    """``label: text`` lines, aligned; the lines of a multi-line text (a matrix) too."""
    width = max(len(label) for label, _ in pairs)
    for label, text in pairs:
        continued = "\n" + " " * (width + 2)
        print(f"{label + ':':<{width + 1}} {continued.join(str(text).splitlines())}")


def print_json(fields: Mapping[str, Any]) -> None:
    """One JSON object on one line of standard output."""
    print(json.dumps(json_safe(fields), allow_nan=False))


def json_safe(value):
    """``value`` as plain JSON data: arrays and tuples become lists, NumPy scalars Python
    numbers, NaN and infinities None (JSON has no such numbers); a complex array becomes
    ``{"real": [...], "imag": [...]}``; other objects become their text."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        return {"real": json_safe(value.real), "imag": json_safe(value.imag)}
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)  # a Path, or any other object: its text


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def note(args, text: str) -> None:
    """A message for the user on standard error (standard output stays data)."""
    if not getattr(args, "quiet", False):
        print(f"{PROG}: {text}", file=sys.stderr)
