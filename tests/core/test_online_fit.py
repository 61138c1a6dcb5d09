"""The engine's online loop (fit_online) and online_em_step's total_weight (Hoffman et
al.'s scaling to the data set's size), on the Gaussian mixture model."""

import numpy as np
import pytest

from emkit.core import fit_em
from emkit.core.monitor import ConvergenceWarning
from emkit.core.online import OnlineResult, fit_online, online_em_step, step_size
from emkit.families import GaussianFamily
from emkit.models import Mixture, MixtureChunk


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(900, 2)) + rng.integers(0, 3, size=(900, 1)) * 2.0
    return X


def _model(weight_prior=0.0):
    return Mixture(GaussianFamily("full"), 3, weight_prior=weight_prior)


def _start(model, X):
    return model.init_params([MixtureChunk(X)], np.random.RandomState(0))


def _batches(X, size, chunk=None):
    """Consecutive batches of ``size`` rows, each cut into chunks of ``chunk`` rows."""
    chunk = chunk or size
    batches = []
    for start in range(0, len(X), size):
        rows = X[start : start + size]
        batches.append([MixtureChunk(rows[i : i + chunk]) for i in range(0, len(rows), chunk)])
    return batches, [float(min(size, len(X) - s)) for s in range(0, len(X), size)]


def _same(a, b):
    return (
        np.array_equal(a.weights, b.weights)
        and np.array_equal(a.components.means, b.components.means)
        and np.array_equal(a.components.covariances, b.components.covariances)
    )


def test_total_weight_none_is_the_weight_seen(data):
    """Without total_weight the step is the one it always was: the M-step on the
    running statistics times the weight seen (bit for bit, given it explicitly)."""
    model = _model(weight_prior=2.0)
    start = _start(model, data)
    chunks = [MixtureChunk(data[:300]), MixtureChunk(data[300:600])]
    p1, s1, _ = online_em_step(model, start, None, chunks[0], 300.0)
    p2, s2, _ = online_em_step(model, p1, s1, chunks[1], 300.0)
    q1, r1, _ = online_em_step(model, start, None, chunks[0], 300.0, total_weight=300.0)
    q2, r2, _ = online_em_step(model, q1, r1, chunks[1], 300.0, total_weight=600.0)
    assert _same(p2, q2) and s2.stats == r2.stats and s2.weight_seen == r2.weight_seen == 600.0


def test_total_weight_scales_the_m_step(data):
    """With a prior the scale matters: total_weight=T is the M-step of the batch's
    per-sample statistics times T (the batch stands for a data set of weight T)."""
    model = _model(weight_prior=5.0)
    start = _start(model, data)
    chunk = MixtureChunk(data[:300])
    params, state, _ = online_em_step(model, start, None, chunk, 300.0, total_weight=900.0)
    stats, _ = model.e_step(start, chunk)
    expected = model.m_step(stats * (900.0 / 300.0))
    assert np.allclose(params.weights, expected.weights, rtol=1e-13)
    unscaled, _, _ = online_em_step(model, start, None, chunk, 300.0)
    assert not np.allclose(params.weights, unscaled.weights, rtol=1e-6)
    assert state.weight_seen == 300.0  # what was seen, whatever the scale


def test_one_batch_with_unit_steps_is_batch_em(data):
    """kappa=0 makes every step ρ = 1: passes over one batch are EM iterations."""
    model = _model()
    start = _start(model, data)
    batches, weights = _batches(data, len(data), chunk=200)
    online = fit_online(
        model,
        batches,
        batch_weights=weights,
        n_samples=len(data),
        n_passes=6,
        kappa=0.0,
        start_params=start,
    )
    batch = fit_em(
        model,
        [MixtureChunk(data)],
        n_samples=len(data),
        max_iter=6,
        tol=0.0,
        start_params=start,
        warn_not_converged=False,
    )
    assert isinstance(online, OnlineResult) and online.n_iter == 6 and online.n_batches == 6
    assert np.allclose(online.params.components.means, batch.params.components.means, rtol=1e-12)
    # each pass's objective is the E-step at the parameters entering it: batch EM's bounds
    assert np.allclose(online.lower_bounds, batch.lower_bounds, rtol=1e-12)


def test_the_fit_does_not_depend_on_threads(data):
    model = _model()
    start = _start(model, data)
    batches, weights = _batches(data, 300, chunk=100)
    fits = [
        fit_online(
            model,
            batches,
            batch_weights=weights,
            n_samples=len(data),
            n_passes=3,
            start_params=start,
            n_jobs=n_jobs,
        )
        for n_jobs in (1, 2)
    ]
    assert _same(fits[0].params, fits[1].params)
    assert np.array_equal(fits[0].lower_bounds, fits[1].lower_bounds)


def test_fit_online_is_online_em_steps_in_order(data):
    """The loop is exactly one online_em_step per batch, batches in the order given,
    scaled to the data set's total weight, with the model's start from random_state."""
    model = _model(weight_prior=1.0)
    batches, weights = _batches(data, 250)
    result = fit_online(
        model,
        batches,
        batch_weights=weights,
        n_samples=len(data),
        n_passes=2,
        kappa=0.7,
        t0=10.0,
        random_state=3,
    )
    params = model.init_params([c for b in batches for c in b], np.random.RandomState(3))
    state = None
    for _ in range(2):
        for (chunk,), weight in zip(batches, weights, strict=True):
            params, state, _ = online_em_step(
                model, params, state, chunk, weight, kappa=0.7, t0=10.0, total_weight=900.0
            )
    assert _same(result.params, params) and result.state.stats == state.stats
    assert result.state.weight_seen == 1800.0 and result.n_batches == 8


def test_continuing_from_the_state_equals_one_longer_fit(data):
    model = _model()
    batches, weights = _batches(data, 300)
    start = _start(model, data)
    common = dict(batch_weights=weights, n_samples=len(data), kappa=0.6, t0=1.0)
    whole = fit_online(model, batches, n_passes=3, start_params=start, **common)
    first = fit_online(model, batches, n_passes=1, start_params=start, **common)
    rest = fit_online(
        model, batches, n_passes=2, start_params=first.params, start_state=first.state, **common
    )
    assert _same(whole.params, rest.params)
    assert np.array_equal(whole.lower_bounds[1:], rest.lower_bounds)


def test_passes_approach_the_batch_fit(data):
    model = _model()
    start = _start(model, data)
    batch = fit_em(
        model,
        [MixtureChunk(data)],
        n_samples=len(data),
        tol=1e-10,
        max_iter=500,
        start_params=start,
    )
    batches, weights = _batches(data, 100)
    online = fit_online(
        model,
        batches,
        batch_weights=weights,
        n_samples=len(data),
        n_passes=15,
        start_params=start,
    )
    _, loglik = model.e_step(online.params, MixtureChunk(data))
    assert loglik / len(data) == pytest.approx(batch.lower_bound, abs=2e-3)
    # the pass estimate mixes parameters of the whole pass: close, not equal
    assert online.lower_bound == pytest.approx(batch.lower_bound, abs=1e-2)


def test_tol_stops_and_warns(data):
    model = _model()
    batches, weights = _batches(data, 300)
    start = _start(model, data)
    common = dict(batch_weights=weights, n_samples=len(data), start_params=start)
    stopped = fit_online(model, batches, n_passes=200, tol=1e-3, **common)
    assert stopped.converged and 2 <= stopped.n_iter < 200
    assert abs(stopped.lower_bounds[-1] - stopped.lower_bounds[-2]) < 1e-3
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 passes"):
        fit_online(model, batches, n_passes=2, tol=1e-12, **common)
    silent = fit_online(model, batches, n_passes=2, tol=0.0, **common)
    assert not silent.converged and silent.n_iter == 2


def test_callback_sees_the_start_and_every_pass(data):
    model = _model()
    batches, weights = _batches(data, 450)
    seen = []
    fit_online(
        model,
        batches,
        batch_weights=weights,
        n_samples=len(data),
        n_passes=3,
        random_state=0,
        callback=lambda n_pass, params: seen.append(n_pass),
    )
    assert seen == [0, 1, 2, 3]


def test_bad_batches_are_refused(data):
    model = _model()
    batches, _ = _batches(data, 450)
    with pytest.raises(ValueError, match="one weight per batch"):
        fit_online(model, batches, batch_weights=[450.0], n_samples=900)
    with pytest.raises(ValueError, match=r"batch 1 has weight 0\.0"):
        fit_online(model, batches, batch_weights=[450.0, 0.0], n_samples=900)
    with pytest.raises(ValueError, match="n_passes must be >= 0"):
        fit_online(model, batches, batch_weights=[450.0, 450.0], n_samples=900, n_passes=-1)


def test_step_schedule_of_the_defaults_is_unchanged():
    assert step_size(0) == 1.0 and step_size(2) == pytest.approx(2**-0.51)
