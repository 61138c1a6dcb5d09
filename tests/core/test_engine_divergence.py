"""The engine's optional ``diverging`` hook: it stops a run-away fit with tol=0."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from emkit.core import DivergenceWarning, fit_em
from emkit.models.lgssm import LGSSM, LGSSMChunk

X = np.random.default_rng(0).standard_normal((40, 1))


class _Flagged(LGSSM):
    """An LGSSM whose hook says "diverging" at the ``at``-th call and records calls."""

    def __init__(self, at, **kwargs):
        super().__init__(1, 1, **kwargs)
        self.at, self.calls = at, []

    def diverging(self, previous, params, *, state, log_likelihood):
        state["n"] = state.get("n", 0) + 1
        self.calls.append(state["n"])
        assert np.isfinite(log_likelihood(params))
        return "the test's quantity runs away; remedy: none" if state["n"] == self.at else None


def _fit(model, tol, **kwargs):
    chunks = [LGSSMChunk.from_arrays(X)]
    return fit_em(model, chunks, n_samples=len(X), tol=tol, max_iter=50, random_state=0, **kwargs)


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_a_diverging_hook_stops_the_fit_not_converged_with_its_message(accelerate):
    model = _Flagged(at=3)
    with pytest.warns(DivergenceWarning, match="stopped after 3 iterations.*runs away"):
        result = _fit(model, 0.0, accelerate=accelerate)
    assert result.n_iter == 3 and not result.converged
    assert len(result.lower_bounds) == 3 and np.isfinite(result.log_likelihood)


def test_the_hook_state_is_fresh_for_every_restart():
    model = _Flagged(at=2, perturbation=0.1)
    with pytest.warns(DivergenceWarning):
        _fit(model, 0.0, n_init=2)
    assert model.calls == [1, 2, 1, 2]


def test_with_tol_above_zero_the_hook_is_not_called_and_nothing_changes():
    flagged, plain = _Flagged(at=1), LGSSM(1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = _fit(flagged, 1e-9), _fit(plain, 1e-9)
    assert flagged.calls == []
    assert a.n_iter == b.n_iter and a.lower_bound == b.lower_bound


def test_a_hook_that_never_fires_changes_nothing():
    quiet, plain = _Flagged(at=-1), LGSSM(1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = _fit(quiet, 0.0), _fit(plain, 0.0)
    assert len(quiet.calls) == a.n_iter - a.converged
    np.testing.assert_array_equal(a.lower_bounds, b.lower_bounds)
