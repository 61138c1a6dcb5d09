"""A complete user start (weights, means and precisions given) skips the data-driven
start: it would be overwritten entirely. The fit stays scikit-learn's, with n_init > 1
as with n_init = 1, and an incomplete start still draws k-means as scikit-learn does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from emkit import GaussianMixture
from emkit.families import _init


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (80, 3)), rng.normal(5, 1.5, (80, 3))])
    start = dict(
        weights_init=[0.4, 0.6],
        means_init=[[0.5, 0.0, 0.0], [4.0, 4.0, 4.0]],
        precisions_init=np.tile(np.eye(3), (2, 1, 1)),
    )
    return X, start


def _count_starts(monkeypatch):
    calls = []
    original = _init.initial_responsibilities

    def counted(*args, **kwargs):
        calls.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr("emkit.models.mixture.initial_responsibilities", counted)
    return calls


@pytest.mark.parametrize("n_init", [1, 3])
def test_a_complete_start_runs_no_kmeans_and_is_sklearns_fit(monkeypatch, data, n_init):
    X, start = data
    calls = _count_starts(monkeypatch)
    ours = GaussianMixture(2, n_init=n_init, random_state=0, **start).fit(X)
    theirs = SkGaussianMixture(2, n_init=n_init, random_state=0, **start).fit(X)
    assert calls == []
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-12)


def test_an_incomplete_start_still_draws_kmeans(monkeypatch, data):
    X, start = data
    del start["weights_init"]  # the weights then come from the k-means partition
    calls = _count_starts(monkeypatch)
    ours = GaussianMixture(2, n_init=2, random_state=0, **start).fit(X)
    theirs = SkGaussianMixture(2, n_init=2, random_state=0, **start).fit(X)
    assert calls == ["kmeans", "kmeans"]
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-12)
