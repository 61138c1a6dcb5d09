"""Small real data sets shipped with emkit, each with a loader.

* :func:`load_old_faithful` — 272 eruptions of the Old Faithful geyser (eruption
  length and waiting time, minutes): the classic two-cluster Gaussian-mixture example.
* :func:`load_earthquakes` — yearly counts of major (magnitude 7+) earthquakes,
  1900–2006: the classic Poisson hidden Markov model example.
* :func:`load_nile` — annual flow of the Nile at Aswan (10^8 m^3), 1871–1970: the
  classic local-level state-space example.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Dataset", "load_earthquakes", "load_nile", "load_old_faithful"]


@dataclass(frozen=True)
class Dataset:
    """data : ndarray of shape (n_samples, n_columns); columns : their names."""

    data: np.ndarray
    columns: tuple[str, ...]
    description: str


def _load(filename: str, description: str) -> Dataset:
    text = resources.files(__name__).joinpath(filename).read_text()
    header, *rows = text.strip().splitlines()
    data = np.array([[float(cell) for cell in row.split(",")] for row in rows])
    return Dataset(data, tuple(header.split(",")), description)


def load_old_faithful() -> Dataset:
    """Old Faithful eruptions: columns (eruptions, waiting), shape (272, 2)."""
    return _load(
        "old_faithful.csv", "Old Faithful geyser: eruption length and waiting time (minutes)"
    )


def load_earthquakes() -> Dataset:
    """Major earthquakes per year: columns (year, count), shape (107, 2)."""
    return _load("earthquakes.csv", "Yearly counts of magnitude 7+ earthquakes, 1900-2006")


def load_nile() -> Dataset:
    """Nile flow at Aswan: columns (year, volume), shape (100, 2)."""
    return _load("nile.csv", "Annual flow of the Nile at Aswan, 1871-1970 (10^8 m^3)")
