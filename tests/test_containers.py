"""The additive statistics containers: +, sum(), * by a scalar, equality, allclose."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import emkit.containers
import emkit.core
from emkit.containers import Statistics, allclose, replace


@dataclass(frozen=True, eq=False)
class Moments(Statistics):
    count: float
    total: np.ndarray


@dataclass(frozen=True, eq=False)
class Anchored(Statistics):
    total: np.ndarray
    anchor: np.ndarray

    reference_fields = ("anchor",)


@dataclass(frozen=True, eq=False)
class Nested(Statistics):
    counts: np.ndarray
    inner: Moments


def test_add_is_fieldwise_and_sum_starts_from_zero():
    a = Moments(2.0, np.array([1.0, 2.0]))
    b = Moments(3.0, np.array([10.0, 20.0]))
    c = a + b
    assert c == Moments(5.0, np.array([11.0, 22.0]))
    assert sum([a, b, a]) == Moments(7.0, np.array([12.0, 24.0]))
    # the operands are not modified (containers are immutable values)
    assert a == Moments(2.0, np.array([1.0, 2.0]))


def test_scaling_by_a_scalar_from_either_side():
    a = Moments(2.0, np.array([1.0, -3.0]))
    assert 2 * a == a + a
    assert a * 0.5 == Moments(1.0, np.array([0.5, -1.5]))
    assert np.float64(3.0) * a == a + a + a


def test_scaling_by_an_array_is_refused():
    a = Moments(2.0, np.array([1.0, 2.0]))
    with pytest.raises(TypeError):
        a * np.array([1.0, 2.0])
    with pytest.raises(TypeError):
        np.array([1.0, 2.0]) * a
    with pytest.raises(TypeError):
        a * a


def test_reference_fields_are_neither_summed_nor_scaled():
    a = Anchored(np.array([1.0]), np.array([5.0]))
    b = Anchored(np.array([2.0]), np.array([5.0]))
    assert (a + b).anchor.tolist() == [5.0]
    assert (a + b).total.tolist() == [3.0]
    assert (4 * a).anchor.tolist() == [5.0]
    assert (4 * a).total.tolist() == [4.0]


def test_nested_statistics_add_and_scale_recursively():
    a = Nested(np.array([1.0, 2.0]), Moments(1.0, np.array([3.0])))
    b = Nested(np.array([0.5, 0.5]), Moments(2.0, np.array([4.0])))
    assert a + b == Nested(np.array([1.5, 2.5]), Moments(3.0, np.array([7.0])))
    assert 2 * a == Nested(np.array([2.0, 4.0]), Moments(2.0, np.array([6.0])))


def test_adding_different_types_fails():
    a = Moments(1.0, np.array([1.0]))
    b = Anchored(np.array([1.0]), np.array([0.0]))
    with pytest.raises(TypeError):
        a + b
    assert a != b


def test_equality_is_exact_and_allclose_is_not():
    a = Moments(1.0, np.array([1.0, 2.0]))
    b = Moments(1.0, np.array([1.0, 2.0 + 1e-13]))
    assert a != b
    assert allclose(a, b, rtol=1e-12)
    assert not allclose(a, b, rtol=1e-15)
    assert not allclose(a, Anchored(np.array([1.0]), np.array([0.0])))
    assert allclose(Nested(np.ones(2), a), Nested(np.ones(2), b), rtol=1e-12) and not allclose(
        Nested(np.ones(2), a), Nested(np.zeros(2), b)
    )


def test_replace_returns_a_changed_copy():
    a = Moments(1.0, np.array([1.0]))
    b = replace(a, count=4.0)
    assert b.count == 4.0 and a.count == 1.0
    assert b.total is a.total


def test_zero_dimensional_array_factor_scales_like_a_float():
    a = Moments(2.0, np.array([1.0, 2.0]))
    assert np.asarray(0.5) * a == a * 0.5
    assert a * np.asarray(0.5) == Moments(1.0, np.array([0.5, 1.0]))


def test_allclose_compares_label_fields_exactly():
    @dataclass(frozen=True, eq=False)
    class Labelled(Statistics):
        total: np.ndarray
        kind: str

        reference_fields = ("kind",)

    a = Labelled(np.array([1.0]), "full")
    assert allclose(a, Labelled(np.array([1.0 + 1e-14]), "full"))
    assert not allclose(a, Labelled(np.array([1.0]), "diag"))


def test_the_engine_re_exports_the_containers():
    # the containers are the bottom layer; emkit.core keeps them in its public API
    assert (emkit.core.Statistics, emkit.core.allclose, emkit.core.replace) == (
        Statistics,
        allclose,
        replace,
    )
    tree = ast.parse(Path(emkit.containers.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.split(".")[0] == "emkit"}


def test_with_given_substitutes_only_the_fields_given():
    from dataclasses import dataclass

    from emkit.containers import with_given

    @dataclass(frozen=True)
    class Pair:
        first: object
        second: object

    computed = Pair(np.zeros(2), np.ones(3))
    assert with_given(computed, None) is computed
    mixed = with_given(computed, Pair(None, [7, 8, 9]))
    np.testing.assert_array_equal(mixed.first, computed.first)
    assert mixed.second.dtype == np.float64
    np.testing.assert_array_equal(mixed.second, [7.0, 8.0, 9.0])
