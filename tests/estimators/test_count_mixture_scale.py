"""SQUAREM and threads for the count mixtures (issue 5: every mixture, one engine)."""

import numpy as np
import pytest

import emkit
from emkit.core import ConvergenceWarning
from emkit.families import BernoulliFamily, CategoricalFamily, MultinomialFamily, PoissonFamily


def overlapping_data(name, n=300, seed=0):
    """Two heavily overlapping components: plain EM converges slowly."""
    rng = np.random.default_rng(seed)
    first = np.arange(2 * n)[:, None] < n
    if name == "poisson":
        return np.where(first, rng.poisson([3, 5], (2 * n, 2)), rng.poisson([4, 6], (2 * n, 2)))
    if name == "categorical":
        a = rng.choice(4, p=[0.3, 0.3, 0.2, 0.2], size=(2 * n, 3))
        return np.where(first, a, rng.choice(4, size=(2 * n, 3)))
    if name == "bernoulli":
        return (rng.uniform(size=(2 * n, 6)) < np.where(first, 0.4, 0.6)).astype(int)
    a = rng.multinomial(20, [0.3, 0.3, 0.4], size=2 * n)
    return np.where(first, a, rng.multinomial(20, [0.34, 0.33, 0.33], size=2 * n))


ESTIMATORS = {
    "poisson": emkit.PoissonMixture,
    "categorical": emkit.CategoricalMixture,
    "bernoulli": emkit.BernoulliMixture,
    "multinomial": emkit.MultinomialMixture,
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_squarem_never_worse_and_fewer_e_steps(name):
    X = overlapping_data(name)
    options = dict(tol=1e-8, max_iter=20000, random_state=0, init_params="random")
    plain = ESTIMATORS[name](2, **options).fit(X)
    fast = ESTIMATORS[name](2, accelerate="squarem", **options).fit(X)
    assert plain.converged_ and fast.converged_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-7 * len(X)
    assert 2 * fast.n_e_steps_ < plain.n_e_steps_


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_threads_give_the_same_fit(name):
    X = overlapping_data(name, n=2000)
    fits = [
        ESTIMATORS[name](2, random_state=0, chunk_size=500, n_jobs=n_jobs).fit(X)
        for n_jobs in (1, 2)
    ]
    assert fits[0].log_likelihood_ == fits[1].log_likelihood_
    assert fits[0].n_iter_ == fits[1].n_iter_


@pytest.mark.parametrize(
    ("family", "params"),
    [
        (PoissonFamily(), [[0.5, 3.0], [2.0, 7.5]]),
        (BernoulliFamily(), [[0.1, 0.5, 0.9], [0.3, 0.7, 0.2]]),
        (MultinomialFamily(), [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        (CategoricalFamily(3), [[[0.2, 0.3, 0.5]], [[0.6, 0.3, 0.1]]]),
    ],
)
def test_pack_unpack_round_trip(family, params):
    start = family.make_params(np.array(params))
    field = family.param_names[0]
    restored = family.unpack(family.pack(start), start)
    np.testing.assert_allclose(getattr(restored, field), getattr(start, field), rtol=1e-12)
    assert family.pack(start).ndim == 1


# -- every row is checked, and what the data determine comes from every row ----------------
N_ROWS = 2000  # overlapping_data(name, n=1000)
BLOCK_ROWS = 500
LATE_ROW = 1987  # in the last block, not in the sample (every 20th row: 0, 20, ...)


@pytest.fixture
def small_init_sample(monkeypatch):
    """An initialisation sample of 100 evenly spaced rows out of N_ROWS."""
    monkeypatch.setattr("emkit.estimators._data.INIT_SAMPLE_ROWS", 100)


@pytest.fixture
def threads():
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.array")
    with dask.config.set(scheduler="threads"):
        yield


def out_of_core(source, X, tmp_path):
    """X as the path of a .npy file, or as a Dask array of BLOCK_ROWS rows by one column
    per block (the checks must see whole rows)."""
    if source == "memmap":
        np.save(tmp_path / "X.npy", X)
        return str(tmp_path / "X.npy")
    import dask.array as da

    return da.from_array(X, chunks=(BLOCK_ROWS, 1))


BAD_LATE_VALUES = [
    ("poisson", -2.0, {}, "Poisson counts must be >= 0"),
    ("poisson", 0.5, {}, "Poisson counts must be integers"),
    ("categorical", -1.0, {}, "categorical symbols must be >= 0"),
    ("categorical", 2.5, {}, "categorical symbols must be integers"),
    ("categorical", 4.0, {"n_symbols": 4}, "must be <= 3"),
    ("multinomial", -3.0, {}, "multinomial counts must be >= 0"),
    ("multinomial", 1.5, {}, "multinomial counts must be integers"),
    ("bernoulli", 2.0, {}, "must be <= 1"),
]


@pytest.mark.parametrize("source", ["memmap", "dask"])
@pytest.mark.parametrize(("name", "value", "options", "message"), BAD_LATE_VALUES)
def test_bad_entry_in_a_late_block_is_named_by_its_row_in_x(
    name, value, options, message, source, tmp_path, small_init_sample, threads
):
    X = overlapping_data(name, n=N_ROWS // 2).astype(float)
    X[LATE_ROW, 1] = value
    with pytest.raises(ValueError, match=rf"{message}, but X\[{LATE_ROW}, 1\] = {value!r}"):
        ESTIMATORS[name](2, random_state=0, chunk_size=BLOCK_ROWS, **options).fit(
            out_of_core(source, X, tmp_path)
        )


@pytest.mark.parametrize("source", ["memmap", "dask"])
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_entry_in_a_late_block_is_named_by_its_row(
    name, value, source, tmp_path, small_init_sample, threads
):
    X = overlapping_data(name, n=N_ROWS // 2).astype(float)
    X[LATE_ROW, 1] = value
    with pytest.raises(ValueError, match=rf"X contains NaN or infinity in row {LATE_ROW}\b"):
        ESTIMATORS[name](2, chunk_size=BLOCK_ROWS).fit(out_of_core(source, X, tmp_path))


@pytest.mark.parametrize("source", ["memmap", "dask"])
def test_categorical_alphabet_comes_from_every_row(source, tmp_path, small_init_sample, threads):
    X = overlapping_data("categorical", n=N_ROWS // 2).astype(float)
    X[LATE_ROW, 0] = 5
    assert np.delete(X, LATE_ROW, axis=0).max() == 3  # symbol 5 only beyond the sample
    K, M = 2, 6
    # a start that does not depend on the sample, so that the fits are comparable
    probs = np.random.default_rng(1).dirichlet(np.ones(M), size=(K, 3))
    given = dict(weights_init=[0.5, 0.5], emissionprob_init=probs, random_state=0)
    in_memory = emkit.CategoricalMixture(K, chunk_size=BLOCK_ROWS, **given).fit(X)
    out = emkit.CategoricalMixture(K, chunk_size=BLOCK_ROWS, **given).fit(
        out_of_core(source, X, tmp_path)
    )
    assert in_memory.n_symbols_ == out.n_symbols_ == M
    assert out.n_iter_ == in_memory.n_iter_
    np.testing.assert_allclose(out.emissionprob_, in_memory.emissionprob_, rtol=1e-10)
    # a data-driven start from the sample, which lacks symbols 4 and 5
    default = emkit.CategoricalMixture(K, random_state=0, max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        default.fit(out_of_core(source, X, tmp_path))
    assert default.n_symbols_ == M and default.emissionprob_.shape == (K, 3, M)


@pytest.mark.parametrize(("late_total", "n_trials"), [(20, 20), (23, None)])
def test_multinomial_trials_come_from_every_row(
    late_total, n_trials, tmp_path, small_init_sample, threads
):
    X = overlapping_data("multinomial", n=N_ROWS // 2)
    X[LATE_ROW, 0] += late_total - 20  # every other row totals 20
    for source in (X, str(out_of_core("memmap", X, tmp_path)), out_of_core("dask", X, tmp_path)):
        model = emkit.MultinomialMixture(2, random_state=0, chunk_size=BLOCK_ROWS).fit(source)
        assert model.n_trials_ == n_trials


def test_partial_fit_infers_from_its_first_batch():
    X = overlapping_data("categorical")
    online = emkit.CategoricalMixture(2, random_state=0).partial_fit(X)
    assert online.n_symbols_ == 4
    with pytest.raises(ValueError, match=r"must be <= 3, but X\[1, 0\] = 4"):
        online.partial_fit(np.array([[0, 0, 0], [4, 0, 0]]))
    counts = overlapping_data("multinomial")
    assert emkit.MultinomialMixture(2, random_state=0).partial_fit(counts).n_trials_ == 20
