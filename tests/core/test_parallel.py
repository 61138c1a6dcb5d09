"""The E-step reduction over chunks on threads gives the same fit as serially."""

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core.reduce import resolve_n_jobs
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_threads_do_not_change_the_fit(covariance_type):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 3)) + rng.integers(0, 3, size=(6000, 1)) * 2.0
    chunks = [MixtureChunk(X[i : i + 700]) for i in range(0, len(X), 700)]
    fits = []
    for n_jobs in (1, 2, 3):
        model = Mixture(GaussianFamily(covariance_type), 3)
        fits.append(
            fit_em(model, chunks, n_samples=len(X), tol=1e-6, random_state=0, n_jobs=n_jobs)
        )
    for other in fits[1:]:
        assert other.n_iter == fits[0].n_iter
        assert other.log_likelihood == fits[0].log_likelihood  # bit for bit
        assert np.array_equal(other.params.components.means, fits[0].params.components.means)


def test_resolve_n_jobs():
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(None) >= 1
    assert resolve_n_jobs(-1) == resolve_n_jobs(None)
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_n_jobs(0)
