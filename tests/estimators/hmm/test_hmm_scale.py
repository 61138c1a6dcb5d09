"""Issue 5 for the HMM estimators: fit on memory-mapped ``.npy`` files and Dask arrays,
cut into groups of whole sequences; equal to the in-memory fit, with the checks, the
inferred alphabet and trial count of all groups, and memory bounded by the group."""

import tracemalloc
from functools import partial

import numpy as np
import pytest

from emkit import GMMHMM, BernoulliHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.estimators import _data
from emkit.models import ImpossibleSequenceError
from emkit.models._sequences import sequence_groups, sequence_offsets

# the fits are capped at a few iterations to stay fast; LikelihoodDecreaseWarning stays an error
pytestmark = pytest.mark.filterwarnings("ignore::emkit.core.ConvergenceWarning")

CHUNK = 700  # rows per group of whole sequences (and the Dask row-chunk size)


# -- data ---------------------------------------------------------------------------
def sequences(seed, K=3, stay=0.92):
    """(rng, hidden states, lengths): 15 sequences of 60 to 320 rows and one of 900, longer
    than a group, in the middle; one Markov chain across them."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 320, 15)
    lengths = np.concatenate([lengths[:7], [900], lengths[7:]])
    n = int(lengths.sum())
    switch, fresh = rng.uniform(size=n) > stay, rng.integers(K, size=n)
    z = np.empty(n, dtype=np.int64)
    z[0] = 0
    for t in range(1, n):
        z[t] = fresh[t] if switch[t] else z[t - 1]
    return rng, z, lengths


def gaussian(rng, z):
    return np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 4.0]])[z] + rng.normal(size=(z.size, 2))


def poisson(rng, z):
    return rng.poisson(np.array([[2.0, 5.0], [9.0, 1.0], [20.0, 12.0]])[z])


CATEGORICAL_PROBS = np.array(
    [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.05, 0.05, 0.2, 0.7]],
)


def categorical(rng, z):
    cumulative = np.cumsum(CATEGORICAL_PROBS, axis=1)[z, :-1]
    return (rng.uniform(size=(z.size, 1)) > cumulative).sum(axis=1, keepdims=True)


def multinomial(rng, z):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]])
    return rng.multinomial(10, probs[z])


def bernoulli(rng, z):
    probs = np.array([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9]])
    return (rng.uniform(size=(z.size, 3)) < probs[z]).astype(np.uint8)


CASES = {
    "gaussian-full": (partial(GaussianHMM, covariance_type="full"), gaussian),
    "gaussian-diag": (partial(GaussianHMM, covariance_type="diag"), gaussian),
    "gmm": (partial(GMMHMM, n_mix=2), gaussian),
    "poisson": (PoissonHMM, poisson),
    "categorical": (CategoricalHMM, categorical),
    "multinomial": (MultinomialHMM, multinomial),
    "bernoulli": (BernoulliHMM, bernoulli),
}


def group_rows(lengths, rows):
    """Rows of every group of whole sequences of at most ``rows`` rows."""
    offsets = sequence_offsets(lengths, int(np.sum(lengths)))
    return np.diff(offsets[sequence_groups(offsets, rows)])


def data(name, seed=0):
    """(X, lengths, hidden states) of a case; X keeps its integer dtype for counts."""
    rng, z, lengths = sequences(seed)
    X = CASES[name][1](rng, z)
    assert len(group_rows(lengths, CHUNK)) >= 5  # several groups, or the test proves nothing
    return X, lengths, z


def fit(name, X, lengths, *, sample_weight=None, known_states=None, **options):
    base = dict(n_components=3, random_state=0, max_iter=15, tol=1e-8, chunk_size=CHUNK)
    model = CASES[name][0](**{**base, **options})
    return model.fit(X, lengths, sample_weight=sample_weight, known_states=known_states)


def saved(tmp_path, X, name="X.npy"):
    path = tmp_path / name
    np.save(path, X)
    return path


def dask_array(X, rows=CHUNK):
    da = pytest.importorskip("dask.array")
    return da.from_array(np.asarray(X), chunks=(rows, -1))


@pytest.fixture
def chunk_rows(monkeypatch):
    """The set of row counts of the chunks that the HMM estimators build (in this
    process: memory-mapped and in-memory fits, Dask under the threaded scheduler). The
    fits agree to rounding whatever the grouping, so this is what shows the grouping."""
    from emkit.estimators.hmm import _base as hmm

    built, build = set(), hmm._hmm_chunk

    def recording(check_data, X, *rest):
        built.add(X.shape[0])
        return build(check_data, X, *rest)

    monkeypatch.setattr(hmm, "_hmm_chunk", recording)
    return built


@pytest.fixture
def threads():
    """Dask's threaded scheduler for the duration of a test."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="threads"):
        yield


def fitted_attributes(model):
    names = ("startprob_", "transmat_", *model._emission_attributes)
    return {name: getattr(model, name) for name in names}


def assert_same_fit(other, expected, exact):
    """Same iterations and parameters: bit for bit when ``exact``, else to rounding."""
    assert other.n_iter_ == expected.n_iter_
    if exact:
        assert other.log_likelihood_ == expected.log_likelihood_
    else:
        assert other.log_likelihood_ == pytest.approx(expected.log_likelihood_, rel=1e-12)
    for name, value in fitted_attributes(expected).items():
        got = getattr(other, name)
        if not isinstance(value, np.ndarray):  # n_symbols_, n_trials_
            assert got == value, name
        elif exact:
            np.testing.assert_array_equal(got, value, err_msg=name)
        else:
            np.testing.assert_allclose(got, value, rtol=1e-9, atol=1e-12, err_msg=name)


# -- the fit: memory-mapped and Dask equal in memory -----------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_memory_mapped_file_equals_in_memory(name, tmp_path, chunk_rows):
    X, lengths, _ = data(name)
    path = saved(tmp_path, X)
    in_memory = fit(name, X, lengths)
    for source in (str(path), np.load(path, mmap_mode="r")):
        assert_same_fit(fit(name, source, lengths), in_memory, exact=True)  # same chunks
    assert chunk_rows == set(group_rows(lengths, CHUNK))


@pytest.mark.parametrize("name", list(CASES))
def test_dask_array_equals_in_memory(name, threads, chunk_rows):
    X, lengths, _ = data(name)
    on_dask = fit(name, dask_array(X), lengths, chunk_size=None)  # the Dask chunks rule
    assert chunk_rows == set(group_rows(lengths, CHUNK))
    assert_same_fit(on_dask, fit(name, X, lengths), exact=False)


def test_dask_array_is_grouped_by_its_own_row_chunks(threads, chunk_rows):
    X, lengths, _ = data("gaussian-diag")
    on_dask = fit("gaussian-diag", dask_array(X, rows=1000), lengths, chunk_size=CHUNK)
    assert chunk_rows == set(group_rows(lengths, 1000)) != set(group_rows(lengths, CHUNK))
    assert_same_fit(on_dask, fit("gaussian-diag", X, lengths, chunk_size=1000), exact=False)


@pytest.mark.parametrize("name", ["gaussian-diag", "categorical"])
def test_sequence_weights_and_known_states_out_of_core(name, tmp_path, threads):
    X, lengths, z = data(name)
    rng = np.random.default_rng(5)
    weights = rng.integers(0, 4, lengths.size).astype(float)
    weights[[0, 9]] = [0.0, 3.0]
    offsets = sequence_offsets(lengths, len(X))
    known = np.full(len(X), -1)
    for s in range(0, lengths.size, 3):  # the first 15 rows of every third sequence
        known[offsets[s] : offsets[s] + 15] = z[offsets[s] : offsets[s] + 15]
    options = dict(sample_weight=weights, known_states=known)
    in_memory = fit(name, X, lengths, **options)
    # the weights and labels change the fit, so the comparisons below can catch a path
    # that drops them
    assert in_memory.log_likelihood_ != fit(name, X, lengths).log_likelihood_
    path = saved(tmp_path, X)
    assert_same_fit(fit(name, str(path), lengths, **options), in_memory, exact=True)
    assert_same_fit(fit(name, dask_array(X), lengths, **options), in_memory, exact=False)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_n_jobs_does_not_change_a_memory_mapped_fit(covariance_type, tmp_path):
    X, lengths, _ = data("gaussian-full")
    path = saved(tmp_path, X)
    options = dict(covariance_type=covariance_type, chunk_size=300)  # 13 groups
    one = fit("gaussian-full", str(path), lengths, n_jobs=1, **options)
    two = fit("gaussian-full", str(path), lengths, n_jobs=2, **options)
    assert_same_fit(two, one, exact=True)
    assert_same_fit(fit("gaussian-full", X, lengths, n_jobs=2, **options), one, exact=True)


def test_memory_is_bounded_by_the_chunk(tmp_path, monkeypatch):
    # a smaller initialisation sample than the default 100,000 rows, so that the bound
    # measured is the streaming's, not the sample's
    monkeypatch.setattr(_data, "INIT_SAMPLE_ROWS", 10_000)
    rng = np.random.default_rng(1)
    n, d = 400_000, 8  # 25.6 MB on disk
    path = tmp_path / "big.npy"
    rows = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for start in range(0, n, 50_000):  # regimes that last ~200 rows
        regime = np.repeat(rng.integers(0, 2, 250), 200)[:, None]
        rows[start : start + 50_000] = rng.normal(size=(50_000, d)) + regime * 4
    rows.flush()
    del rows
    lengths = np.full(400, 1000)
    model = GaussianHMM(
        2, covariance_type="diag", max_iter=3, chunk_size=10_000, n_jobs=1, random_state=0
    )
    # the same fit on a few rows first: loading the compiled kernels (numba's cache)
    # allocates megabytes once per process, which is not what is measured
    model.fit(np.load(path, mmap_mode="r")[:2000], np.full(2, 1000))
    tracemalloc.start()
    model.fit(str(path), lengths)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert model.n_iter_ == 3 and np.isfinite(model.log_likelihood_)
    # data 25.6 MB; a group and the initialisation sample 0.64 MB each
    assert peak < 0.2 * n * d * 8, f"peak {peak / 1e6:.1f} MB"


# -- what is inferred from all groups, and checked in all groups -----------------------------
def late_symbol_data():
    """Categorical data with symbols 0..3, and symbol 5 only in the last sequence."""
    X, lengths, _ = data("categorical")
    X = X.astype(float)
    X[-5, 0] = 5
    return X, lengths


@pytest.fixture
def small_init_sample(monkeypatch):
    """An initialisation sample of the leading groups of at most 400 rows: with groups
    of up to CHUNK rows, the first group only."""
    monkeypatch.setattr(_data, "INIT_SAMPLE_ROWS", 400)


def test_categorical_alphabet_comes_from_all_groups(tmp_path, small_init_sample, threads):
    X, lengths = late_symbol_data()
    assert X[:-5].max() == 3  # symbol 5 is in the last group only, far from the sample
    K, M = 3, 6
    # a start that does not depend on the sample, so that the fits are comparable
    given = dict(
        startprob_init=np.full(K, 1 / K),
        transmat_init=np.full((K, K), 0.1) + 0.7 * np.eye(K),
        emissionprob_init=np.hstack([CATEGORICAL_PROBS * 0.9, np.full((K, 2), 0.05)]),
    )
    in_memory = fit("categorical", X, lengths, **given)
    assert in_memory.n_symbols_ == M
    path = saved(tmp_path, X)
    assert_same_fit(fit("categorical", str(path), lengths, **given), in_memory, exact=True)
    assert_same_fit(fit("categorical", dask_array(X), lengths, **given), in_memory, exact=False)
    # a data-driven start from the sample (with a prior: symbol 5 is not in the sample)
    for source in (str(path), dask_array(X)):
        model = fit("categorical", source, lengths, emissionprob_prior=1.0, max_iter=3)
        assert model.n_symbols_ == M and model.emissionprob_.shape == (K, M)


@pytest.mark.parametrize("source", ["memmap", "dask"])
def test_categorical_default_start_takes_a_symbol_beyond_the_sample(
    source, tmp_path, small_init_sample, threads
):
    X, lengths = late_symbol_data()
    fit("categorical", X, lengths, max_iter=3)  # in memory: fine
    X_out = str(saved(tmp_path, X)) if source == "memmap" else dask_array(X)
    assert fit("categorical", X_out, lengths, max_iter=3).n_symbols_ == 6


@pytest.mark.parametrize("late_total, n_trials", [(10, 10), (12, None)])
def test_multinomial_trials_come_from_all_groups(
    late_total, n_trials, tmp_path, small_init_sample, threads
):
    X, lengths, _ = data("multinomial")
    X[-5, 0] += late_total - 10  # a row total of the last group
    path = saved(tmp_path, X)
    for source in (X, str(path), dask_array(X)):
        assert fit("multinomial", source, lengths, max_iter=2).n_trials_ == n_trials


BAD_LATE_VALUES = [
    ("categorical", -1.0, {}, "must be >= 0"),
    ("categorical", 2.5, {}, "must be integers"),
    ("categorical", 4.0, {"n_symbols": 4}, "must be <= 3"),
    ("multinomial", -3.0, {}, "must be >= 0"),
    ("multinomial", 1.5, {}, "must be integers"),
    ("poisson", -2.0, {}, "must be >= 0"),
    ("bernoulli", 2.0, {}, "must be <= 1"),
]


@pytest.mark.parametrize("source", ["memmap", "dask"])
@pytest.mark.parametrize("name, value, options, message", BAD_LATE_VALUES)
def test_bad_value_in_a_late_group_is_refused(
    name, value, options, message, source, tmp_path, small_init_sample, threads
):
    X, lengths, _ = data(name)
    X = X.astype(float)
    X[-5, 0] = value
    X_out = str(saved(tmp_path, X)) if source == "memmap" else dask_array(X)
    with pytest.raises(ValueError, match=message):
        fit(name, X_out, lengths, **options)


@pytest.mark.parametrize("source", ["memory", "memmap"])
def test_bad_value_message_names_its_row_in_x(source, tmp_path):
    X, lengths, _ = data("poisson")
    X = X.astype(float)
    row = len(X) - 5
    X[row, 1] = -2.0
    X_in = X if source == "memory" else str(saved(tmp_path, X))
    with pytest.raises(ValueError, match=rf"X\[{row}, 1\] = -2\.0"):
        fit("poisson", X_in, lengths)


def test_impossible_sequence_message_names_its_sequence_in_x():
    X, lengths, _ = data("categorical")
    X = np.minimum(X, 2)
    X[-5, 0] = 3  # in the last sequence, in the last group
    K = 3
    emissionprob = np.hstack([np.full((K, 3), 1 / 3), np.zeros((K, 1))])  # 3 is impossible
    offsets = sequence_offsets(lengths, len(X))
    s = lengths.size - 1
    with pytest.raises(
        ImpossibleSequenceError,
        match=rf"sequence {s} \(rows {offsets[s]}\.\.{offsets[s + 1] - 1}\)",
    ):
        fit("categorical", X, lengths, emissionprob_init=emissionprob, init_params="random")


# -- clear errors ---------------------------------------------------------------------------
def bad_row_data(value):
    """(X, lengths): 100 rows in 5 sequences of 20, with ``value`` in row 57 (in the second
    group of 40 rows for chunk_size=50)."""
    X = np.random.default_rng(2).normal(size=(100, 2))
    if np.isnan(value):  # a missing value for GaussianHMM: only a row of them is refused
        X[57] = value
    else:
        X[57, 1] = value
    return X, [20] * 5


def out_of_core(source, X, tmp_path, rows):
    return str(saved(tmp_path, X)) if source == "memmap" else dask_array(X, rows=rows)


@pytest.mark.parametrize("source", ["memmap", "dask"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("sample_rows", [40, 100_000], ids=["beyond-sample", "in-sample"])
def test_non_finite_row_is_named(sample_rows, value, source, tmp_path, monkeypatch, threads):
    # row 57 beyond the initialisation sample (the first group), or inside it (all rows)
    monkeypatch.setattr(_data, "INIT_SAMPLE_ROWS", sample_rows)
    X, lengths = bad_row_data(value)
    with pytest.raises(ValueError, match=r"row 57\b"):
        GaussianHMM(2, chunk_size=50).fit(out_of_core(source, X, tmp_path, 50), lengths)


@pytest.mark.parametrize("source", ["memmap", "dask"])
def test_warm_start_refuses_another_number_of_features(source, tmp_path, threads):
    X, lengths, _ = data("gaussian-diag")
    model = fit("gaussian-diag", X, lengths, max_iter=3, warm_start=True)
    means = model.means_.copy()
    wider = np.hstack([X, X[:, :1]])
    with pytest.raises(ValueError, match="3 features, but GaussianHMM is expecting 2"):
        model.fit(out_of_core(source, wider, tmp_path, CHUNK), lengths)
    np.testing.assert_array_equal(model.means_, means)


@pytest.mark.parametrize("source", ["memmap", "dask"])
def test_lengths_must_sum_to_the_rows(source, tmp_path, threads):
    X, lengths = bad_row_data(0.0)
    lengths[-1] -= 1
    with pytest.raises(ValueError, match="lengths sum to 99 but X has 100 rows"):
        GaussianHMM(2).fit(out_of_core(source, X, tmp_path, 50), lengths)


def test_path_must_name_an_existing_npy_file(tmp_path):
    with pytest.raises(ValueError, match=r"existing \.npy file.*missing\.npy"):
        GaussianHMM(2).fit(str(tmp_path / "missing.npy"))
    other = tmp_path / "X.csv"
    other.write_text("1,2\n3,4\n")
    with pytest.raises(ValueError, match=r"existing \.npy file"):
        CategoricalHMM(2).fit(other)
