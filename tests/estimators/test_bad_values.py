"""Bad values in the data, the sample weights and the sequence lengths, given to every
estimator of ``emkit.__all__``: one clear ValueError that names the argument (and the
entry, where there is one), with no NumPy internals in it (no ``np.str_``, no array
dump, no chained traceback); a refused ``partial_fit`` batch leaves the fitted state as
it was."""

from __future__ import annotations

import inspect
import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.base import RegressorMixin

import emkit
from emkit.core.guards import non_finite_fields
from emkit.estimators.kmeans import check_squares_fit

try:
    import pandas as pd
except ImportError:  # the DataFrame cases are skipped
    pd = None

NAMES = [n for n in emkit.__all__ if inspect.isclass(getattr(emkit, n, None))]
# the unsupervised estimators, fitted on X alone (MixtureRegression's bad X, y and
# sample_weight are tested in tests/estimators/test_mixture_regression.py)
ESTIMATOR_NAMES = [
    n
    for n in NAMES
    if hasattr(getattr(emkit, n), "fit") and not issubclass(getattr(emkit, n), RegressorMixin)
]
N = 20


def good_data(name: str) -> np.ndarray:
    """Valid training rows (N, 2) for the estimator class ``name``."""
    rng = np.random.RandomState(0)
    if "Poisson" in name or name in ("LatentDirichletAllocation", "PLSA"):
        return rng.poisson(3.0, (N, 2)).astype(float)
    if "Categorical" in name:
        return rng.randint(0, 3, (N, 2)).astype(float)
    if "Multinomial" in name:
        first = rng.randint(0, 6, N)
        return np.column_stack([first, 5 - first]).astype(float)
    if "Bernoulli" in name:
        return (rng.uniform(size=(N, 2)) > 0.5).astype(float)
    return rng.standard_normal((N, 2))


def make(name: str):
    return getattr(emkit, name)(2, random_state=0, max_iter=5)


def is_sequence_model(name: str) -> bool:
    return "lengths" in inspect.signature(getattr(emkit, name).fit).parameters


def assert_clear(error: BaseException, argument: str) -> None:
    """One line that names the argument, no NumPy reprs, no chained traceback."""
    message = str(error)
    assert isinstance(error, ValueError), f"{type(error).__name__}: {message}"
    assert argument in message, message
    assert "\n" not in message, message
    for internal in ("np.str_", "np.float64(", "np.int64(", "dtype('", "array(["):
        assert internal not in message, message
    assert error.__cause__ is None, message
    assert error.__context__ is None or error.__suppress_context__, message


def raised(call) -> BaseException:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as info:
            call()
    return info.value


# -- bad X in fit --------------------------------------------------------------------
def _strings(X):
    bad = X.astype(str)
    bad[3, 1] = "a"
    return bad


def _string_list(X):
    rows = X.tolist()
    rows[3][1] = "x"
    return rows


def _none_entry(X):
    bad = X.astype(object)
    bad[3, 1] = None
    return bad


def _nested(X):
    bad = X.astype(object)
    bad[3, 1] = [1.0, 2.0]
    return bad


def _ragged(X):
    rows = X.tolist()
    rows[3] = rows[3][:1]
    return rows


def _with(value):
    def put(X):
        bad = X.copy()
        bad[3, 1] = value
        return bad

    return put


def _frame_with_strings(X):
    frame = pd.DataFrame(X, columns=["u", "v"]).astype(object)
    frame.iloc[3, 1] = "x"
    return frame


def _frame_with_duplicated_columns(X):
    return pd.DataFrame(X, columns=["u", "u"])


# (case, make the bad X from good X, regex the message must match)
BAD_X = [
    ("strings", _strings, r"X\[3, 1\] = 'a' is a string, not a number"),
    ("string list", _string_list, r"X\[3, 1\] = 'x' is a string"),
    ("None entry", _none_entry, r"X\[3, 1\] = None is a missing value"),
    (
        "nested entry",
        _nested,
        r"X\[3, 1\] = \[1.0, 2.0\] is an object of type list: each entry .* must be a number",
    ),
    ("ragged rows", _ragged, "X is ragged: row 0 has 2 entries but row 3 has 1"),
    (
        "complex",
        lambda X: X + 1j,
        "Complex data not supported: X must hold real numbers, got compl",
    ),
    ("complex entry", lambda X: X.astype(object) + np.r_[0j, 1j], "X.* is complex"),
    ("dates", lambda X: np.full(X.shape, np.datetime64("2020-01-01")), "X must hold numbers"),
    ("scalar", lambda X: X[0, 0], "X must be a 2-D array .* got a scalar"),
    ("1-D", lambda X: X[:, 0], r"got a 1-D array of shape \(20,\). Reshape .*reshape\(-1, 1\)"),
    ("3-D", lambda X: X.reshape(N, 2, 1), r"got a 3-D array of shape \(20, 2, 1\)"),
    ("no rows", lambda X: X[:0], r"X has 0 sample\(s\) \(shape=\(0, 2\)\)"),
    ("no features", lambda X: X[:, :0], r"X has 0 feature\(s\) \(shape=\(20, 0\)\)"),
    ("infinity", _with(np.inf), r"contains .*infinity in row 3, column 1 \(X\[3, 1\] = inf\)"),
    ("NaN", _with(np.nan), r"contains NaN or infinity in row 3, column 1"),
    ("frame of strings", _frame_with_strings, r"X\[3, 1\] \(row 3, column 'v'\) = 'x'"),
    ("duplicated columns", _frame_with_duplicated_columns, r"duplicated column names \('u'\)"),
]
FRAME_CASES = {"frame of strings", "duplicated columns"}
#: NaN marks a missing value there
ALLOWS_NAN = {"LinearGaussianSSM", "GaussianMixture", "GaussianHMM"}


def _bad_x_cases():
    for name in ESTIMATOR_NAMES:
        for case, build, message in BAD_X:
            if case == "NaN" and name in ALLOWS_NAN:
                continue
            marks = [pytest.mark.skipif(pd is None, reason="pandas")] if case in FRAME_CASES else []
            yield pytest.param(name, build, message, id=f"{name}-{case}", marks=marks)


@pytest.mark.parametrize(("name", "build", "message"), list(_bad_x_cases()))
def test_bad_data_in_fit_is_one_clear_error(name, build, message):
    error = raised(lambda: make(name).fit(build(good_data(name))))
    assert_clear(error, "X")
    assert re.search(message, str(error)), str(error)


PREDICTORS = [n for n in ESTIMATOR_NAMES if hasattr(getattr(emkit, n), "predict")]


@pytest.mark.parametrize("name", PREDICTORS)
@pytest.mark.parametrize(
    ("case", "build", "message"),
    [c for c in BAD_X if c[0] not in FRAME_CASES | {"no rows", "NaN"}],
    ids=[c[0] for c in BAD_X if c[0] not in FRAME_CASES | {"no rows", "NaN"}],
)
def test_bad_data_in_predict_is_one_clear_error(name, case, build, message):
    X = good_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make(name).fit(X)
    error = raised(lambda: model.predict(build(X)))
    assert_clear(error, "X")


@pytest.mark.parametrize(
    ("name", "attribute"), [("BernoulliMixture", "emissionprob_"), ("GaussianMixture", "means_")]
)
def test_bool_data_are_zeros_and_ones(name, attribute):
    X = good_data("BernoulliMixture")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_bool = make(name).fit(X.astype(bool))
        as_float = make(name).fit(X)
    np.testing.assert_array_equal(getattr(as_bool, attribute), getattr(as_float, attribute))


@pytest.mark.parametrize(
    ("entry", "error"),
    [("a", ValueError), (None, ValueError), ({"a": 1}, emkit.estimators._base.NotANumberError)],
)
def test_the_error_type_of_a_bad_entry(entry, error):
    X = good_data("GaussianMixture").astype(object)
    X[0, 0] = entry
    raised_error = raised(lambda: make("GaussianMixture").fit(X))
    assert type(raised_error) is error
    assert isinstance(raised_error, TypeError) == (error is not ValueError)


def test_numeric_strings_and_object_numbers_are_read_as_numbers():
    X = good_data("GaussianMixture")
    expected = make("GaussianMixture").fit(X).means_
    np.testing.assert_array_equal(make("GaussianMixture").fit(X.astype(str)).means_, expected)
    np.testing.assert_array_equal(make("GaussianMixture").fit(X.astype(object)).means_, expected)


# -- sample weights ---------------------------------------------------------------------
WEIGHTED = [
    n
    for n in ESTIMATOR_NAMES
    if "sample_weight" in inspect.signature(getattr(emkit, n).fit).parameters
]


def _weights(n, index=None, value=None):
    weights = np.ones(n)
    if index is not None:
        weights[index] = value
    return weights


BAD_WEIGHTS = [
    (
        "string",
        lambda n: ["1"] * (n - 1) + ["heavy"],
        r"sample_weight\[\d+\] = 'heavy' is a string",
    ),
    ("negative", lambda n: _weights(n, 1, -2.0), r"sample_weight\[1\] = -2.0 is negative"),
    ("NaN", lambda n: _weights(n, 1, np.nan), r"sample_weight\[1\] = nan is not finite"),
    ("infinity", lambda n: _weights(n, 0, np.inf), r"sample_weight\[0\] = inf is not finite"),
    ("all zero", lambda n: np.zeros(n), "sample_weight sums to zero"),
    ("wrong length", lambda n: np.ones(n + 1), r"expected shape \({n},\), got \({m},\)"),
    ("2-D", lambda n: np.ones((n, 1)), r"expected shape \({n},\), got \({n}, 1\)"),
    # the sum overflows: once, a k-means++ start failed inside numpy.random
    ("sum overflows", lambda n: np.full(n, 1e307), "sums to more than float64 holds .*rescale"),
]


@pytest.mark.parametrize("name", WEIGHTED)
@pytest.mark.parametrize(("case", "build", "message"), BAD_WEIGHTS, ids=[c[0] for c in BAD_WEIGHTS])
def test_bad_sample_weight_is_one_clear_error(name, case, build, message):
    X = good_data(name)
    if is_sequence_model(name):  # one weight per sequence
        n, fit = 2, lambda w: make(name).fit(X, [10, 10], sample_weight=w)
    else:
        n, fit = N, lambda w: make(name).fit(X, sample_weight=w)
    error = raised(lambda: fit(build(n)))
    assert_clear(error, "sample_weight")
    assert re.search(message.format(n=n, m=n + 1), str(error)), str(error)


def test_weights_that_only_overflow_together_fit_once_rescaled():
    X = good_data("GaussianMixture")
    weights = np.full(N, 1e307)
    rescaled = make("GaussianMixture").fit(X, sample_weight=weights / weights.max())
    np.testing.assert_allclose(rescaled.means_, make("GaussianMixture").fit(X).means_)


# -- lengths ------------------------------------------------------------------------------
SEQUENCE_MODELS = [n for n in ESTIMATOR_NAMES if is_sequence_model(n)]
BAD_LENGTHS = [
    ("string", ["10", "ten"], r"lengths\[1\] = 'ten' is a string"),
    ("wrong sum", [10, 5], "lengths sum to 15 but X has 20 rows"),
    ("zero", [20, 0], r"lengths\[1\] = 0"),
    ("negative", [21, -1], r"lengths\[1\] = -1"),
    ("fractional", [10.5, 9.5], "lengths must hold integers"),
]


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
@pytest.mark.parametrize(
    ("case", "lengths", "message"), BAD_LENGTHS, ids=[c[0] for c in BAD_LENGTHS]
)
def test_bad_lengths_are_one_clear_error(name, case, lengths, message):
    error = raised(lambda: make(name).fit(good_data(name), lengths))
    assert_clear(error, "lengths")
    assert re.search(message, str(error)), str(error)


# -- too few rows ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "rows", "message"),
    [
        (
            emkit.GMMHMM(2, n_mix=2),
            1,
            r"X has 1 sample but n_components=2: .* >= n_components=2: .* lower n_components",
        ),
        (
            emkit.GMMHMM(1, n_mix=2),
            1,
            r"X has 1 sample but n_mix=2: .* Gaussians per state, .*: give more",
        ),
        (emkit.GMMHMM(2, n_mix=3), 2, r"X has 2 samples but n_mix=3"),
        (emkit.GaussianHMM(3), 2, r"X has 2 samples but n_components=3: .* give more rows"),
        (emkit.GaussianMixture(3), 2, "X has 2 samples but n_components=3: .* give more rows"),
        (
            emkit.KMeans(3),
            2,
            "X has 2 samples but n_clusters=3: .* should be >= n_clusters=3: give more",
        ),
    ],
    ids=["GMMHMM states", "GMMHMM n_mix", "GMMHMM n_mix 2 rows", "GaussianHMM", "GMM", "KMeans"],
)
def test_fewer_rows_than_the_model_needs(model, rows, message):
    error = raised(lambda: model.fit(np.arange(2.0 * rows).reshape(rows, 2)))
    assert_clear(error, "n_")
    assert re.search(message, str(error)), str(error)


def test_gmmhmm_first_batch_needs_n_mix_rows():
    error = raised(lambda: emkit.GMMHMM(1, n_mix=3).partial_fit(np.zeros((2, 2))))
    assert_clear(error, "n_mix")
    assert "the first batch of partial_fit has 2 samples but n_mix=3" in str(error)


# -- KMeans: squares that overflow ---------------------------------------------------
def test_kmeans_refuses_data_whose_squares_overflow():
    X = good_data("KMeans")
    error = raised(lambda: emkit.KMeans(2).fit(X * 1e200))
    assert_clear(error, "X")
    assert "the largest magnitude is 2.55e+200 (X[" in str(error)
    assert "squared distances summed over up to 1e+12 rows overflow" in str(error)
    assert "Scale the data" in str(error)
    model = emkit.KMeans(2, random_state=0).fit(X)
    for method in (model.predict, model.transform, model.score):
        assert_clear(raised(lambda method=method: method(X * 1e200)), "X")


def test_kmeans_takes_large_data_below_the_limit():
    X = good_data("KMeans")
    big = emkit.KMeans(2, random_state=0).fit(X * 1e140)
    small = emkit.KMeans(2, random_state=0).fit(X)
    np.testing.assert_array_equal(big.labels_, small.labels_)
    assert np.isfinite(big.inertia_) and np.all(np.isfinite(big.transform(X * 1e140)))


def test_squares_limit_depends_on_the_features():
    check_squares_fit(np.full((1, 1), 1e147))
    with pytest.raises(ValueError, match="with 100 features"):
        check_squares_fit(np.full((1, 100), 1e147))


# -- partial_fit: a refused batch changes nothing -------------------------------------
ONLINE = [n for n in ESTIMATOR_NAMES if hasattr(getattr(emkit, n), "partial_fit")]


def _state(model) -> bytes:
    return pickle.dumps({k: v for k, v in vars(model).items()})


BAD_BATCHES = [
    ("features", lambda X: np.ones((5, 3))),
    ("strings", _strings),
    ("complex", lambda X: X + 1j),
    ("infinity", _with(np.inf)),
    ("scale 1e200", lambda X: X * 1e200),
]


@pytest.mark.parametrize(
    ("name", "case", "build"),
    [
        pytest.param(name, case, build, id=f"{name}-{case}")
        for name in ONLINE
        for case, build in BAD_BATCHES
    ],
)
def test_a_refused_batch_leaves_the_fitted_state_unchanged(name, case, build):
    X = good_data(name)
    model = make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X[:10]).partial_fit(X[10:])
        before = _state(model)
        try:
            model.partial_fit(build(X))
        except (ValueError, FloatingPointError) as error:
            if not isinstance(error, FloatingPointError):  # the online step's guard
                assert_clear(error, "X")
            assert _state(model) == before, f"{name} changed after refusing {case}"
            return
    # accepted (counts of 1e200 are still counts): then the parameters are finite
    assert case == "scale 1e200", f"{name} accepted a batch with {case}"
    assert non_finite_fields(model.params_) == []


def test_a_refused_first_batch_leaves_the_estimator_unfitted():
    """Once, the model was stored before the first step failed: the estimator then
    held a model_ of a fit that never happened."""
    model = emkit.GaussianMixture(2, reg_covar=0.0)
    with pytest.raises(emkit.ComponentCollapseError, match="Increase reg_covar"):
        model.partial_fit(np.zeros((3, 2)))
    assert not {"model_", "params_", "online_state_", "n_iter_"} & set(vars(model))
    # and it starts afresh from the next batch
    model.set_params(reg_covar=1e-6).partial_fit(good_data("GaussianMixture"))
    assert model.n_iter_ == 1


# -- X as the path of a .npy file -------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "array", "message"),
    [
        ("objects", np.array([[1.0, None]] * 4, dtype=object), "object array .* never loads"),
        ("strings", np.array([["a", "b"]] * 4), "X must hold numbers, got dtype <U1"),
        ("complex", np.ones((4, 2)) + 1j, "Complex data not supported"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else "",
)
@pytest.mark.parametrize("name", ["GaussianMixture", "GaussianHMM"])
def test_bad_npy_file_is_one_clear_error(tmp_path, name, case, array, message):
    path = tmp_path / "X.npy"
    np.save(path, array, allow_pickle=True)
    error = raised(lambda: make(name).fit(path))
    assert_clear(error, "X")
    assert re.search(message, str(error)), str(error)


def test_truncated_npy_file_is_one_clear_error(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.ones((100, 2)))
    path.write_bytes(path.read_bytes()[:50])
    error = raised(lambda: make("GaussianMixture").fit(path))
    assert_clear(error, "X")
    assert "is not a readable .npy file" in str(error)


# -- the other methods that take X -----------------------------------------------------
METHODS = ["score", "score_samples", "predict_proba", "bic", "aic", "transform", "decode"]
FEW_BAD_X = [c for c in BAD_X if c[0] in ("strings", "ragged rows", "complex", "1-D")]


@pytest.mark.parametrize(
    ("name", "method"),
    [(n, m) for n in ESTIMATOR_NAMES for m in METHODS if hasattr(getattr(emkit, n), m)],
)
@pytest.mark.parametrize(("case", "build", "message"), FEW_BAD_X, ids=[c[0] for c in FEW_BAD_X])
def test_bad_data_in_every_method_is_one_clear_error(name, method, case, build, message):
    X = good_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make(name).fit(X)
    error = raised(lambda: getattr(model, method)(build(X)))
    assert_clear(error, "X")
    assert re.search(message, str(error)), str(error)
