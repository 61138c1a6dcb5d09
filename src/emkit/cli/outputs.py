"""The files the commands write: never over an input, never over a file without ``--force``,
and atomically.

Every command that writes a file (``fit -o`` and ``--plot``, ``predict``, ``smooth`` and
``sample --output``, ``demo``) first plans it with :func:`plan_output`, before any work:

* an output is never one of the command's inputs (the model file, the data file, even a
  memory-mapped ``.npy`` that is still being read, the lengths and controls files), by
  resolved path and by :func:`os.path.samefile`, so that symlinks, hard links and
  ``./x`` against ``x`` are caught; ``--force`` does not change that;
* an existing file is overwritten only with ``--force``;
* the folder must exist and the path must not be a folder.

Then :func:`atomic_output` writes it: to a temporary file in the same folder, renamed
over the target only once it is complete, so that a write that fails (disk full, an
interrupted run) leaves the previous file as it was and no temporary behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emkit.cli.common import CLIError
from emkit.io import replacing

__all__ = [
    "INPUT_OPTIONS",
    "Output",
    "add_force",
    "atomic_output",
    "input_files",
    "plan_output",
    "write_failures",
]

#: the options and positionals of the commands that name files they read, and what
#: the messages call them
INPUT_OPTIONS = {
    "model": "the model file",
    "data": "the data file",
    "lengths": "the --lengths file",
    "controls": "the --controls file",
    "vocab": "the --vocab file",
}


@dataclass(frozen=True)
class Output:
    """A file a command will write, checked by :func:`plan_output`.

    path : the file as the user named it (plus any suffix the writer appends)
    what : how messages name it ("output", "model file", "figure")
    option : the option that named it (``--output``), for messages
    """

    path: Path
    what: str
    option: str

    @property
    def target(self) -> Path:
        """The file that is replaced: through a symlink, the file it points to."""
        return Path(os.path.realpath(self.path))


def add_force(parser, what: str = "an existing output file") -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"overwrite {what} (an input file of the command is never overwritten)",
    )


def input_files(args, *names: str) -> list[tuple[str, str]]:
    """``[(path, description)]`` of the files that the arguments ``names`` (keys of
    :data:`INPUT_OPTIONS`) of ``args`` name (standard input excluded)."""
    return [
        (str(getattr(args, name)), INPUT_OPTIONS[name])
        for name in names
        if getattr(args, name, None) not in (None, "-")
    ]


def _same_file(a: Path, b: str) -> bool:
    if a == Path(os.path.realpath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def plan_output(
    path, what: str, option: str, *, inputs: list[tuple[str, str]], force: bool
) -> Output:
    """Check that ``path`` may be written (see the module docstring); a CLIError if not.

    inputs : ``[(path, description)]`` of every file the command reads
        (:func:`input_files`)
    force : whether the user allowed an existing file to be overwritten
    """
    output = Output(Path(path).expanduser(), what, option)
    target = output.target
    for name, description in inputs:
        if _same_file(target, name):
            raise CLIError(
                f"{option} {path} is {description} of this command; choose another path "
                "(an input is never overwritten, even with --force)"
            )
    if target.is_dir():
        raise CLIError(f"{option} {path} is a folder; give the path of a file")
    if not target.parent.is_dir():
        raise CLIError(f"cannot write {what} {path}: folder {target.parent} does not exist")
    if target.exists() and not force:
        raise CLIError(
            f"{what} {output.path} exists ({option}); pass --force to overwrite it, or "
            "choose another path"
        )
    return output


@contextlib.contextmanager
def atomic_output(output: Output) -> Iterator[Path]:
    """``with atomic_output(output) as path:`` write the file at ``path``; on success it
    replaces ``output``'s file, on any failure it is removed and the old file is kept.
    A failed write (OSError) becomes one CLIError line naming the file."""
    with write_failures(output), replacing(output.path) as temporary:
        yield temporary


@contextlib.contextmanager
def write_failures(output: Output) -> Iterator[None]:
    """``with write_failures(output):`` run an atomic writer of ``output`` (one that
    leaves the old file as it was when it fails); its OSError becomes one CLIError line
    naming the file and saying that it is unchanged, or that nothing was written."""
    existed = output.target.exists()
    try:
        yield
    except OSError as exc:
        kept = f"{output.path} is unchanged" if existed else "nothing was written"
        reason = exc.strerror or type(exc).__name__
        raise CLIError(f"cannot write {output.what} {output.path}: {reason}; {kept}") from None
