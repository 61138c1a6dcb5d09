"""The inputs of the commands: a data file (its ``--columns``) with its ``--lengths`` and
``--controls`` files (or a kind's own files: the topic models' corpora, see
:mod:`emkit.cli.corpus`), and model files with the column names (or vocabulary) they
keep."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from emkit._text import one_line
from emkit.cli.columns import COLUMNS_KEY, by_names, by_option
from emkit.cli.common import CLIError, flag
from emkit.cli.data import DataError, read_controls, read_lengths, read_table
from emkit.cli.kind import Inputs, ModelKind
from emkit.cli.models import kind_of, name_of

__all__ = [
    "SavedModel",
    "about_data",
    "load_model",
    "read_for_model",
    "read_inputs",
]


@dataclass(frozen=True)
class SavedModel:
    """A model file: the fitted estimator and the file's metadata."""

    path: str
    estimator: object
    metadata: dict

    @property
    def kind(self) -> ModelKind:
        """The model kind of the estimator (a CLIError for a class the command line
        does not handle)."""
        return kind_of(self.estimator)

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The header names of the columns the model was fitted on, or None."""
        names = self.metadata.get("user", {}).get(COLUMNS_KEY)
        return None if names is None else tuple(names)

    @property
    def vocabulary(self) -> tuple[str, ...] | None:
        """The words of a topic model's terms, or None (see
        :func:`emkit.cli.corpus.saved_vocabulary`)."""
        from emkit.cli.corpus import saved_vocabulary

        return saved_vocabulary(self)

    @property
    def class_name(self) -> str:
        return type(self.estimator).__name__


def load_model(path: str) -> SavedModel:
    """The model file ``path``, read once: what is plainly not a model file (missing, a
    folder, not an .npz) is refused by :mod:`emkit.io` with a message naming it."""
    from emkit.io import ModelFileError, _load

    try:
        estimator, metadata = _load(path)
    except (FileNotFoundError, ModelFileError):
        raise
    except Exception as exc:  # any failure to rebuild means the file is unusable
        raise CLIError(f"{path} is not a readable emkit model file ({one_line(exc)})") from None
    return SavedModel(path, estimator, metadata)


def read_inputs(kind: ModelKind, args, path: str, select=None) -> Inputs:
    """The data file ``path`` (its ``--columns``, else the columns ``select`` picks) with
    the ``--lengths`` and ``--controls`` files of ``args``; for a kind with its own
    reader (``kind.read``), what that reads."""
    if kind.read is not None:
        return kind.read(args, path, None)
    columns = getattr(args, "columns", None)
    if columns is not None:
        select = by_option(columns)
    table = read_table(path, missing=kind.missing_values, select=select)
    lengths, controls = getattr(args, "lengths", None), getattr(args, "controls", None)
    return Inputs(
        table,
        None if lengths is None else read_lengths(lengths, table),
        None if controls is None else read_controls(controls, table),
    )


def read_for_model(model: SavedModel, args) -> Inputs:
    """``args.data`` (and its lengths and controls) for a saved model: the columns of
    ``--columns``, else those the model was fitted on (by name, from a file with a
    header), checked against the number of features of the model."""
    for option in ("lengths", "controls"):
        if getattr(args, option, None) is not None and not model.kind.accepts(option):
            raise CLIError(
                f"{flag(option)} does not apply to {model.class_name} models "
                f"(--model {name_of(model.kind)})"
            )
    if model.kind.read is not None:
        return model.kind.read(args, args.data, model)
    select = None if model.columns is None else by_names(model.columns)
    inputs = read_inputs(model.kind, args, args.data, select)
    expected = getattr(model.estimator, "n_features_in_", None)
    got = inputs.X.shape[1]
    if expected is not None and got != int(expected):
        raise CLIError(
            f"wrong number of columns in {inputs.table.source}: expected {int(expected)} "
            f"(the model was fitted on {int(expected)} features), got {got}; pick the "
            "model's columns with --columns"
        )
    return inputs


#: a cell of the data array in an estimator's message: ``X[12, 0]``
_CELL = re.compile(r"\bX\[(\d+), ?(\d+)\]")


@contextlib.contextmanager
def about_data(inputs: Inputs) -> Iterator[None]:
    """Run an estimator on ``inputs``: a ValueError of its that speaks of ``X`` becomes a
    CLIError that names the data file and says where in the file a cell ``X[i, j]`` it
    mentions is (the line of a CSV file and the column, counted from 1)."""
    try:
        yield
    except (CLIError, DataError):
        raise
    except ValueError as exc:
        message = one_line(exc)
        if not re.search(r"\bX\b", message):
            raise
        n_rows, n_cols = inputs.X.shape
        match = _CELL.search(message)
        if match and int(match[1]) < n_rows and int(match[2]) < n_cols:
            message += f" ({match[0]} is {inputs.where(int(match[1]), int(match[2]))})"
        raise CLIError(f"{inputs.source}: {message}") from None
