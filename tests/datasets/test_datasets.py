"""The bundled data sets: shapes, column names, values."""

from __future__ import annotations

import numpy as np
import pytest

from emkit import datasets

CASES = [
    (datasets.load_old_faithful, (272, 2), ("eruptions", "waiting")),
    (datasets.load_earthquakes, (107, 2), ("year", "count")),
    (datasets.load_nile, (100, 2), ("year", "volume")),
]


@pytest.mark.parametrize(
    ("loader", "shape", "columns"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_shape_columns_and_no_missing_values(loader, shape, columns):
    dataset = loader()
    assert isinstance(dataset, datasets.Dataset)
    assert dataset.data.shape == shape
    assert dataset.data.dtype == np.float64
    assert dataset.columns == columns
    assert np.all(np.isfinite(dataset.data))
    assert dataset.description


def test_old_faithful_values():
    data = datasets.load_old_faithful().data
    np.testing.assert_array_equal(data[0], [3.6, 79.0])  # the first eruption of the record
    assert 1.5 < data[:, 0].min() and data[:, 0].max() < 5.2  # minutes
    assert 40 < data[:, 1].min() and data[:, 1].max() < 100  # minutes


@pytest.mark.parametrize(
    ("loader", "first", "last"),
    [(datasets.load_earthquakes, 1900, 2006), (datasets.load_nile, 1871, 1970)],
)
def test_yearly_series_are_consecutive_years(loader, first, last):
    data = loader().data
    np.testing.assert_array_equal(data[:, 0], np.arange(first, last + 1))
    assert np.all(data[:, 1] >= 0)
    if loader is datasets.load_earthquakes:
        np.testing.assert_array_equal(data[:, 1], np.round(data[:, 1]))  # counts


def test_loaders_return_fresh_arrays():
    a = datasets.load_nile()
    a.data[0, 1] = -1.0
    assert datasets.load_nile().data[0, 1] != -1.0
