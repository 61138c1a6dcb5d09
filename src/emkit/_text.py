"""Text for messages, shared by every layer (it imports nothing from emkit)."""

from __future__ import annotations

__all__ = ["byte_size", "one_line"]


def one_line(text) -> str:
    """``text`` (a message, or an exception) on one line, its runs of whitespace made one
    space; an exception without a message is named by its type."""
    line = " ".join(str(text).split())
    if not line and isinstance(text, BaseException):
        return type(text).__name__
    return line


def byte_size(n_bytes: float) -> str:
    """``1610612736`` -> ``"1.5 GiB"``: a size for messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError  # pragma: no cover - the loop returns at "PiB"
