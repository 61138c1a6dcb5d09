"""Reading and writing the command line's data files: CSV (with or without header) and .npy.

Every problem with a file becomes a :class:`DataError` whose message is one line
naming the file, the line (or row) and the column, so that ``emkit`` can print it
as ``emkit: error: ...`` instead of a traceback.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Table", "read_table", "write_rows"]

_NPY_MAGIC = b"\x93NUMPY"
_DELIMITERS = (",", "\t", ";")


class DataError(ValueError):
    """A data file is missing, unreadable or not a finite numeric table."""


@dataclass(frozen=True)
class Table:
    """A numeric data file.

    X : ndarray of shape (n_samples, n_features), float64, finite
    columns : column names from the CSV header, or None
    source : how to name the file in messages
    """

    X: np.ndarray
    columns: tuple[str, ...] | None
    source: str

    def feature_names(self, indices) -> list[str]:
        """Names of the given columns: the header's, else "column j" (1-based)."""
        if self.columns is not None:
            return [self.columns[i] for i in indices]
        return [f"column {i + 1}" for i in indices]


def read_table(path: str) -> Table:
    """Read ``path`` (CSV or .npy; ``-`` is CSV on standard input) as a finite 2-D table.

    A CSV may be separated by commas, tabs, semicolons or whitespace; blank lines
    and lines starting with ``#`` are skipped; a first row in which no cell is a
    number is the header. A 1-D .npy array is one column.
    """
    if path == "-":
        return _parse_text(sys.stdin.read(), "<stdin>")
    file = Path(path)
    if not file.exists():
        raise DataError(f"data file not found: {path}")
    if file.is_dir():
        raise DataError(f"{path} is a directory, not a data file")
    with file.open("rb") as handle:
        magic = handle.read(len(_NPY_MAGIC))
    if magic == _NPY_MAGIC or file.suffix.lower() == ".npy":
        return _read_npy(file, path)
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            f"{path} is not a text file (not UTF-8); give a CSV file or a .npy array"
        ) from None
    return _parse_text(text, path)


# -- .npy ---------------------------------------------------------------------------
def _read_npy(file: Path, source: str) -> Table:
    try:
        array = np.load(file, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"{source} holds Python objects; save a numeric array (np.save of a float array)"
            ) from None
        raise DataError(f"{source} is not a readable .npy file ({_one_line(exc)})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{source} is not a readable .npy file ({_one_line(exc)})") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{source} is an .npz archive; give a single .npy array or a CSV file")
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
    X = np.ascontiguousarray(array, dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{source} row index {row} (0-based), column index {col}: {_describe(X[row, col])} "
            "is not a finite number; remove or impute missing values"
        )
    return Table(X, None, source)


# -- CSV ----------------------------------------------------------------------------
def _split_function(first_line: str):
    """(line -> cells, delimiter): the first of , TAB ; in the first line, else whitespace."""
    for delimiter in _DELIMITERS:
        if delimiter in first_line:
            return partial(_split_csv, delimiter=delimiter), delimiter
    return str.split, None


def _split_csv(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_text(text: str, source: str) -> Table:
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise DataError(f"{source} is empty: no data rows")
    split, delimiter = _split_function(numbered[0][1])
    header_cells = [cell.strip() for cell in split(numbered[0][1])]
    columns = None
    if not any(_is_number(cell) for cell in header_cells):
        columns = tuple(header_cells)
        numbered = numbered[1:]
        if not numbered:
            raise DataError(f"{source} has a header but no data rows")
    n_columns = len(columns) if columns is not None else len(split(numbered[0][1]))
    X = _fast_parse(numbered, delimiter, n_columns)
    if X is None:
        X = _careful_parse(numbered, split, n_columns, columns, source)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{_where(source, numbered[row][0], col, columns)}: {_describe(X[row, col])} "
            "is not a finite number; remove or impute missing values"
        )
    return Table(X, columns, source)


def _fast_parse(numbered, delimiter, n_columns):
    """NumPy's C parser for the common, clean case; None when anything is unusual."""
    body = "\n".join(line for _, line in numbered)
    try:
        X = np.loadtxt(io.StringIO(body), delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError:
        return None
    if X.shape != (len(numbered), n_columns):
        return None
    return X


def _careful_parse(numbered, split, n_columns, columns, source) -> np.ndarray:
    """Cell by cell, to name the first bad cell (or ragged row) precisely."""
    rows = []
    for number, line in numbered:
        cells = [cell.strip() for cell in split(line)]
        if len(cells) != n_columns:
            origin = "the header" if columns is not None else f"line {numbered[0][0]}"
            raise DataError(
                f"{source} line {number} has {_columns(len(cells))} but {origin} has "
                f"{_columns(n_columns)}"
            )
        values = []
        for col, cell in enumerate(cells):
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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# -- output -------------------------------------------------------------------------
def write_rows(values: np.ndarray, path: str | None, *, float_format: str = "%.10g") -> None:
    """Write a 1-D (one value a line) or 2-D (one CSV row a line) array.

    To standard output when ``path`` is None, as .npy when ``path`` ends in
    ``.npy``, else as CSV text.
    """
    values = np.asarray(values)
    if path is not None and Path(path).suffix.lower() == ".npy":
        np.save(path, values)
        return
    fmt = "%d" if np.issubdtype(values.dtype, np.integer) else float_format
    if path is None:
        np.savetxt(sys.stdout, values, fmt=fmt, delimiter=",")
        sys.stdout.flush()
        return
    np.savetxt(path, values, fmt=fmt, delimiter=",")
