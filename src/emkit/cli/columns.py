"""Which columns of a data file a model reads: ``--columns``, or the names a model file keeps.

``emkit fit`` keeps the header names of the columns it fitted in the model file (the
user metadata of :func:`emkit.io.save`, key ``columns``); ``predict``, ``score`` and
``smooth`` then read those columns by name from a file with a header, in the order of
the fit, wherever they are in the file. Both are :data:`emkit.cli.data.Selector`
functions, called by the reader once it knows the file's header.
"""

from __future__ import annotations

from collections.abc import Sequence

from emkit.cli.common import CLIError, comma_list
from emkit.cli.data import Selector

__all__ = ["COLUMNS_KEY", "add_columns", "by_names", "by_option"]

#: key of the column names in a model file's user metadata
COLUMNS_KEY = "columns"


def add_columns(parser, default_text: str) -> None:
    parser.add_argument(
        "--columns",
        type=comma_list,
        metavar="COL,COL",
        help="the columns of DATA to use, in this order: header names, or 0-based indices "
        f"(also for a file without a header); the other columns may hold text (default: "
        f"{default_text})",
    )


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _columns(names: Sequence[str]) -> str:
    """``column 'a'`` or ``columns 'a', 'b'``."""
    return f"column{'' if len(names) == 1 else 's'} {_listed(names)}"


def by_option(tokens: Sequence[str]) -> Selector:
    """The columns of ``--columns``: each a header name or a 0-based index."""

    def select(header, n_columns: int, source: str) -> list[int]:
        indices: list[int] = []
        for token in tokens:
            if header is not None and token in header:
                index = header.index(token)
            elif token.isdigit():
                index = int(token)
                if index >= n_columns:
                    raise CLIError(
                        f"--columns {token}: {source} has {n_columns} columns, so the "
                        f"indices are 0 to {n_columns - 1}"
                    )
            elif header is None:
                raise CLIError(
                    f"--columns {token}: {source} has no header to name columns by; give "
                    f"0-based column indices (0 to {n_columns - 1})"
                )
            else:
                raise CLIError(
                    f"--columns {token}: {source} has no column {token!r}; its columns are "
                    f"{_listed(header)} (or give 0-based indices)"
                )
            if index in indices:
                raise CLIError(f"--columns: column {token!r} is given twice")
            indices.append(index)
        return indices

    return select


def by_names(names: Sequence[str]) -> Selector:
    """The columns a model was fitted on, by name, from a file with a header; every column
    in order from a file without one (then only their number is checked)."""

    def select(header, n_columns: int, source: str) -> list[int] | None:
        if header is None:
            return None
        missing = [name for name in names if name not in header]
        if missing:
            raise CLIError(
                f"{source} has no {_columns(missing)}: the model was fitted on the "
                f"{_columns(names)}; give a file with them in its header, or pick its "
                "columns with --columns"
            )
        return [header.index(name) for name in names]

    return select
