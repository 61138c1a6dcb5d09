"""Reading and writing the command line's data files: CSV (with or without header) and .npy.

Every problem with a file becomes a :class:`DataError` whose message is one line
naming the file, the line (or row) and the column, so that ``emkit`` can print it
as ``emkit: error: ...`` instead of a traceback.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from emkit._text import one_line
from emkit.io import ZIP_MAGIC, NpyHeaderError, read_npy_header

__all__ = [
    "DataError",
    "Selector",
    "Table",
    "read_controls",
    "read_lengths",
    "read_table",
    "write_rows",
]

_NPY_MAGIC = b"\x93NUMPY"
_DELIMITERS = (",", "\t", ";")
#: cells read as a missing value (NaN) where missing values are allowed
_MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null"})


class DataError(ValueError):
    """A data file is missing, unreadable or not a finite numeric table."""


#: ``select(header, n_columns, source) -> column indices or None`` (None: every column):
#: which columns of a file to read, decided once its header (a tuple of names, or None
#: without one) and its number of columns are known. It raises to refuse the file.
Selector = Callable[[tuple[str, ...] | None, int, str], Sequence[int] | None]


@dataclass(frozen=True)
class Table:
    """A numeric data file.

    X : ndarray of shape (n_samples, n_features), float64, finite (or NaN where missing
        values were allowed)
    columns : column names from the CSV header, or None
    source : how to name the file in messages
    lines : the line of the CSV file of every row of X (1-based), or None (a .npy)
    file_columns : the column of the file of every column of X (0-based), or None (X
        holds every column, in order)
    """

    X: np.ndarray
    columns: tuple[str, ...] | None
    source: str
    lines: tuple[int, ...] | None = None
    file_columns: tuple[int, ...] | None = None

    def where(self, row: int, col: int) -> str:
        """Where the cell ``X[row, col]`` is in the file, as a user counts (from 1)."""
        file_col = col if self.file_columns is None else self.file_columns[col]
        if self.lines is None:
            return f"row {row + 1}, column {file_col + 1} of {self.source} (counted from 1)"
        name = "" if self.columns is None else f" ({self.columns[col]!r})"
        return f"{self.source} line {self.lines[row]}, column {file_col + 1}{name}"

    @property
    def n_missing(self) -> int:
        """Number of NaN cells, counted in blocks (a memory-mapped file is not loaded)."""
        return sum(
            int(np.isnan(self.X[start : start + _CHECK_ROWS]).sum())
            for start in range(0, self.X.shape[0], _CHECK_ROWS)
        )

    def feature_names(self, indices) -> list[str]:
        """Names of the given columns: the header's, else "column j" (1-based)."""
        if self.columns is not None:
            return [self.columns[i] for i in indices]
        return [f"column {i + 1}" for i in indices]


def read_table(
    path: str, *, missing: bool = False, what: str = "data file", select: Selector | None = None
) -> Table:
    """Read ``path`` (CSV or .npy; ``-`` is CSV on standard input) as a finite 2-D table.

    A CSV may be separated by commas, tabs, semicolons or whitespace; blank lines
    and lines starting with ``#`` are skipped; a first row in which no cell is a
    number is the header. A 1-D .npy array is one column.

    With ``missing=True`` a cell may be missing: NaN, or in a CSV an empty cell,
    ``NA``, ``N/A`` or ``null``; in a one-column CSV a blank line between data lines
    is a missing value too (that is how spreadsheets and pandas write them). Infinite
    values are errors either way. ``what`` names the file in messages.

    ``select`` picks the columns to read (see :data:`Selector`); the other columns are
    not parsed, so they may hold text (an id or a label column). A .npy file's selected
    columns are read into memory, unless they are all of its columns, in order.
    """
    if path == "-":
        return _parse_text(sys.stdin.read(), "<stdin>", missing, select)
    file = Path(path)
    if not file.exists():
        raise DataError(f"{what} not found: {path}")
    if file.is_dir():
        raise DataError(f"{path} is a directory, not a {what}")
    magic = _read_bytes(file, path, what, len(_NPY_MAGIC))
    if magic.startswith(ZIP_MAGIC):
        raise DataError(
            f"{path} is an .npz archive (numpy.savez, or an emkit model file); give a single "
            ".npy array or a CSV file"
        )
    if magic == _NPY_MAGIC or file.suffix.lower() == ".npy":
        return _read_npy(file, path, missing, select)
    raw = _read_bytes(file, path, what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            f"{path} is not a text file (not UTF-8); give a CSV file or a .npy array"
        ) from None
    return _parse_text(text, path, missing, select)


def _read_bytes(file: Path, path: str, what: str, n: int = -1) -> bytes:
    """The first ``n`` bytes of ``file`` (all with -1); a DataError when it cannot be read
    (no permission, an I/O error)."""
    try:
        with file.open("rb") as handle:
            return handle.read(n)
    except OSError as exc:
        raise DataError(
            f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}"
        ) from None


def _selected(select: Selector | None, header, n_columns: int, source: str) -> list[int] | None:
    """The column indices ``select`` picks, or None for every column in order."""
    indices = None if select is None else select(header, n_columns, source)
    if indices is None or list(indices) == list(range(n_columns)):
        return None
    return [int(i) for i in indices]


# -- .npy ---------------------------------------------------------------------------
_CHECK_ROWS = 65_536


#: what to do about each kind of bad .npy header (see emkit.io.NpyHeaderError)
_NPY_REMEDIES = {
    "empty": "give a .npy array written by numpy.save, or a CSV file",
    "header": "give an array written by numpy.save, or a CSV file",
    "objects": "emkit reads only numeric arrays: save the data as a float array "
    "(numpy.save of X.astype(float))",
    "size": "the file is truncated; write it again",
}


def _check_npy_header(file: Path, source: str) -> None:
    """A DataError for a .npy file whose header is damaged, declares Python objects or
    more data than the file has, before NumPy reads (or memory-maps) it."""
    try:
        with file.open("rb") as handle:
            read_npy_header(handle, file.stat().st_size)
    except NpyHeaderError as exc:
        raise DataError(f"{source} {exc}; {_NPY_REMEDIES[exc.reason]}") from None
    except OSError as exc:
        raise DataError(f"cannot read {source}: {exc.strerror or type(exc).__name__}") from None


def _read_npy(file: Path, source: str, missing: bool, select: Selector | None = None) -> Table:
    _check_npy_header(file, source)
    try:
        # memory-mapped: a float64 table larger than memory stays on disk, and the
        # estimators stream it chunk by chunk
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{source} is not a readable .npy file ({one_line(exc)})") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{source} has dtype {array.dtype}; expected a numeric array")
    if np.iscomplexobj(array):
        raise DataError(f"{source} holds complex numbers; expected real numbers")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(
            f"{source} has shape {array.shape}; expected a 1-D or 2-D array (n_samples, n_features)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{source} is empty (shape {array.shape})")
    indices = _selected(select, None, array.shape[1], source)
    if indices is not None:
        X = np.ascontiguousarray(array[:, indices], dtype=np.float64)
    elif isinstance(array, np.memmap) and array.dtype == np.float64 and array.flags.c_contiguous:
        X = array
    else:
        X = np.ascontiguousarray(array, dtype=np.float64)
    for start in range(0, X.shape[0], _CHECK_ROWS):  # in blocks: no full-size temporary
        bad = _bad_cells(np.asarray(X[start : start + _CHECK_ROWS]), missing)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            row += start
            col = col if indices is None else indices[col]
            raise DataError(
                f"{source} row index {row} (0-based), column index {col}: "
                f"{_describe(X[row, col])} is not a finite number; {_remedy(missing)}"
            )
    return Table(X, None, source, file_columns=None if indices is None else tuple(indices))


def _bad_cells(X: np.ndarray, missing: bool) -> np.ndarray:
    return np.isinf(X) if missing else ~np.isfinite(X)


def _remedy(missing: bool) -> str:
    return "write NaN for a missing value" if missing else "remove or impute missing values"


# -- CSV ----------------------------------------------------------------------------
def _split_function(first_line: str):
    """(line -> cells, delimiter): the first of , TAB ; in the first line, else whitespace."""
    for delimiter in _DELIMITERS:
        if delimiter in first_line:
            return partial(_split_csv, delimiter=delimiter), delimiter
    return str.split, None


class _UnsplittableLine(Exception):
    """A line the csv module cannot split; the caller adds the file and line number."""


def _split_csv(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise _UnsplittableLine(
                f"a cell is longer than {csv.field_size_limit()} characters, far too long "
                "for a number; is this the right file?"
            ) from None
        raise _UnsplittableLine(f"cannot be split into cells ({one_line(exc)})") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_text(
    text: str, source: str, missing: bool = False, select: Selector | None = None
) -> Table:
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if not line.lstrip().startswith("#")
    ]
    numbered = [(number, line) for number, line in lines if line.strip()]
    if not numbered:
        raise DataError(f"{source} is empty: no data rows")
    split, delimiter = _split_function(numbered[0][1])
    header_cells = _cells(split, numbered[0], source)
    columns = None
    if not any(_is_number(cell) for cell in header_cells):
        columns = tuple(header_cells)
        numbered = numbered[1:]
        if not numbered:
            raise DataError(f"{source} has a header but no data rows")
    n_columns = len(columns) if columns is not None else len(_cells(split, numbered[0], source))
    if missing and n_columns == 1:
        # a blank line between data lines is a missing value of the one column
        first, last = numbered[0][0], numbered[-1][0]
        numbered = [(n, line) for n, line in lines if first <= n <= last]
    indices = _selected(select, columns, n_columns, source)
    used = list(range(n_columns)) if indices is None else indices
    X = _fast_parse(numbered, delimiter, n_columns, indices)
    if X is None:
        X = _careful_parse(numbered, split, n_columns, used, columns, source, missing)
    bad = _bad_cells(X, missing)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = X[row, col]
        # a cell of text "inf", or a number beyond float64's range that reads as inf
        beyond = "" if np.isnan(value) else " (a number beyond +-1.8e308 reads as inf)"
        raise DataError(
            f"{_where(source, numbered[row][0], used[col], columns)}: "
            f"{_describe(value)} is not a finite number{beyond}; {_remedy(missing)}"
        )
    names = None if columns is None else tuple(columns[i] for i in used)
    lines = tuple(number for number, _ in numbered)
    return Table(X, names, source, lines, None if indices is None else tuple(indices))


def _fast_parse(numbered, delimiter, n_columns, indices):
    """NumPy's C parser for the common, clean case; None when anything is unusual."""
    body = "\n".join(line for _, line in numbered)
    n_rows = len(numbered)
    if indices is not None:
        # loadtxt does not see the columns it skips: count the cells of every row here
        cells = body.count(delimiter) + n_rows if delimiter else len(body.split())
        if cells != n_rows * n_columns:
            return None
    try:
        X = np.loadtxt(
            io.StringIO(body), delimiter=delimiter, ndmin=2, dtype=np.float64, usecols=indices
        )
    except ValueError:
        return None
    if X.shape != (n_rows, n_columns if indices is None else len(indices)):
        return None
    return X


def _cells(split, numbered_line: tuple[int, str], source: str) -> list[str]:
    """The stripped cells of one ``(line number, line)``; a DataError naming the line
    when it cannot be split."""
    number, line = numbered_line
    try:
        return [cell.strip() for cell in split(line)]
    except _UnsplittableLine as exc:
        raise DataError(f"{source} line {number}: {exc}") from None


def _careful_parse(numbered, split, n_columns, used, columns, source, missing) -> np.ndarray:
    """Cell by cell, to name the first bad cell (or ragged row) precisely; only the
    ``used`` columns are parsed."""
    rows = []
    for number, line in numbered:
        cells = _cells(split, (number, line), source) if line.strip() else [""]
        if len(cells) != n_columns:
            origin = "the header" if columns is not None else f"line {numbered[0][0]}"
            raise DataError(
                f"{source} line {number} has {_columns(len(cells))} but {origin} has "
                f"{_columns(n_columns)}"
            )
        values = []
        for col in used:
            cell = cells[col]
            if missing and cell.lower() in _MISSING_CELLS:
                values.append(np.nan)
                continue
            try:
                values.append(float(cell))
            except ValueError:
                what = "an empty cell" if not cell else f"{_shorten(cell)!r}"
                raise DataError(
                    f"{_where(source, number, col, columns)}: {what} is not a number"
                ) from None
        rows.append(values)
    return np.array(rows, dtype=np.float64)


def _columns(n: int) -> str:
    return "1 column" if n == 1 else f"{n} columns"


def _where(source: str, line: int, col: int, columns) -> str:
    name = f" ({columns[col]!r})" if columns is not None else ""
    return f"{source} line {line}, column {col + 1}{name}"


def _describe(value: float) -> str:
    return "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")


def _shorten(cell: str, limit: int = 40) -> str:
    return cell if len(cell) <= limit else cell[: limit - 3] + "..."


# -- sequence lengths and control inputs ----------------------------------------------
def read_lengths(path: str, data: Table) -> np.ndarray:
    """The sequence lengths in ``path`` for the rows of ``data``, shape (n_sequences,).

    One integer >= 1 per line (a header line is allowed), or one row of them, or a
    1-D .npy array; they must sum to the number of rows of ``data``.
    """
    values = read_table(path, what="lengths file").X
    if min(values.shape) != 1:
        raise DataError(
            f"lengths file {path} has {values.shape[0]} rows x {values.shape[1]} columns; "
            "expected one sequence length per line"
        )
    lengths = values.ravel()
    bad = np.flatnonzero((lengths != np.round(lengths)) | (lengths < 1))
    if bad.size:
        raise DataError(
            f"lengths file {path}: entry {bad[0] + 1} is {lengths[bad[0]]:g}; every sequence "
            "length must be an integer >= 1"
        )
    n_rows = data.X.shape[0]
    if lengths.sum() != n_rows:
        raise DataError(
            f"lengths file {path} sums to {lengths.sum():.0f} but {data.source} has {n_rows} "
            "rows; give the number of rows of every sequence, in order"
        )
    return lengths.astype(np.int64)


def read_controls(path: str, data: Table) -> np.ndarray:
    """The control inputs in ``path``, one row per row of ``data``: (n_samples, n_controls)."""
    U = read_table(path, what="controls file").X
    if U.shape[0] != data.X.shape[0]:
        raise DataError(
            f"controls file {path} has {U.shape[0]} rows but {data.source} has "
            f"{data.X.shape[0]}; give one row of control inputs per data row"
        )
    return U


# -- output -------------------------------------------------------------------------
def write_rows(
    values: np.ndarray,
    path: str | None,
    *,
    float_format: str = "%.10g",
    header: tuple[str, ...] | None = None,
) -> None:
    """Write a 1-D (one value a line) or 2-D (one CSV row a line) array.

    To standard output when ``path`` is None, as .npy when ``path`` ends in
    ``.npy`` (without the header), else as CSV text, with ``header`` (column names)
    as its first line when given.
    """
    values = np.asarray(values)
    if path is not None and Path(path).suffix.lower() == ".npy":
        np.save(path, values)
        return
    fmt = "%d" if np.issubdtype(values.dtype, np.integer) else float_format
    text = {"fmt": fmt, "delimiter": ",", "header": ",".join(header or ()), "comments": ""}
    if path is None:
        np.savetxt(sys.stdout, values, **text)
        sys.stdout.flush()
        return
    np.savetxt(path, values, **text)
