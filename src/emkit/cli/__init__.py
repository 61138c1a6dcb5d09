"""The ``emkit`` command line (the console script ``emkit = "emkit.cli:main"``).

Run ``emkit --help`` or ``emkit COMMAND --help``; ``python -m emkit.cli`` is the same.
The package is split by job; see :mod:`emkit.cli.app` for the layout and how to add a
model kind or a command.
"""

from emkit.cli.app import COMMANDS, MODEL_KINDS, CLIError, ModelKind, build_parser, main

__all__ = ["COMMANDS", "MODEL_KINDS", "CLIError", "ModelKind", "build_parser", "main"]
