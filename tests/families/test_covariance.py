"""The covariance structures' one-matrix form (the state-space model's Q, R, P0) is the
Gaussian family's form of a single component: same packing, same sizes, same shapes."""

from __future__ import annotations

import numpy as np
import pytest

from emkit.families import GaussianFamily
from emkit.families._covariance import (
    COVARIANCE_TYPES,
    MATRIX_COVARIANCE_TYPES,
    covariance_shape,
    matrix_size,
    pack_matrix,
    project_matrix,
    unpack_matrix,
)


def _spd(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T + 0.1 * np.eye(n)


def test_the_one_matrix_types_are_the_family_s_without_tied():
    assert MATRIX_COVARIANCE_TYPES == ("full", "diag", "spherical")
    assert set(MATRIX_COVARIANCE_TYPES) < set(COVARIANCE_TYPES)


@pytest.mark.parametrize("kind", MATRIX_COVARIANCE_TYPES)
def test_one_matrix_packs_as_one_gaussian_component(kind):
    rng = np.random.RandomState(0)
    n = 4
    matrix = project_matrix(_spd(rng, n), kind)
    family = GaussianFamily(kind)
    params = family.make_params(np.zeros((1, n)), COVARIANCE_TYPES[kind].from_matrix(matrix))
    np.testing.assert_array_equal(family.component_covariance(params, 0), matrix)
    vector = pack_matrix(matrix, kind)
    # the family's vector is the means, then the same covariance entries
    np.testing.assert_array_equal(family.pack(params)[n:], vector)
    assert vector.shape == (matrix_size(kind, n),)
    assert matrix_size(kind, n) == family.n_free_parameters(1, n) - n
    np.testing.assert_allclose(unpack_matrix(vector, n, kind), matrix, rtol=1e-13)
    # any vector is a positive definite matrix of the structure
    other = unpack_matrix(rng.standard_normal(vector.size), n, kind)
    assert np.linalg.eigvalsh(other).min() > 0
    np.testing.assert_array_equal(project_matrix(other, kind), other)


def test_projection_keeps_the_structure_s_part_of_the_matrix():
    rng = np.random.RandomState(1)
    matrix = _spd(rng, 3)
    np.testing.assert_array_equal(project_matrix(matrix, "full"), matrix)
    np.testing.assert_array_equal(project_matrix(matrix, "diag"), np.diag(np.diag(matrix)))
    np.testing.assert_allclose(
        project_matrix(matrix, "spherical"), np.trace(matrix) / 3 * np.eye(3), rtol=1e-15
    )


@pytest.mark.parametrize("kind", sorted(COVARIANCE_TYPES))
def test_shape_table_matches_the_family_s_covariances(kind):
    rng = np.random.RandomState(2)
    K, D = 3, 2
    X = rng.standard_normal((50, D))
    resp = rng.dirichlet(np.ones(K), size=50)
    family = GaussianFamily(kind)
    params = family.m_step(family.statistics(X, resp, None))
    assert params.covariances.shape == covariance_shape(kind, K, D)
    assert family.pack(params).shape == (family.n_free_parameters(K, D),)
