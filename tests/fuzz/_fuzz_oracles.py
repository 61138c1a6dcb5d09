"""Oracles of the fuzz corpus: what every call on degenerate data must satisfy.

A call either raises a *clear* error (a ValueError that names an argument or
parameter, carries no raw NumPy/SciPy/numba text and no chained traceback), or it
succeeds and its results are valid: finite parameters inside their constraints, an
objective that never decreases beyond rounding, predictions that agree with their
probabilities (also far from the data), scores consistent with ``log_likelihood_``, a
model file that round-trips, and all of it within a time limit.

A broken oracle raises ``FuzzFailure`` whose ``kind`` is one of ``KINDS``, so that a
failing case says at once which class of bug it shows.
"""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
import traceback
import warnings
import weakref
from pathlib import Path

import numpy as np

import emkit
from emkit.core.monitor import decrease_rtol_for

#: the classes of failure, as issue 11 counts them
KINDS = ("crash", "silent NaN", "silent wrong result", "decrease", "hang", "unclear error")

#: seconds one fuzz call (fit, or one prediction method) may take
CALL_SECONDS = 20

#: data arguments an error message may name
DATA_ARGUMENTS = ("X", "sample_weight", "lengths", "U", "known_states", "n_samples", "steps")

#: text that shows a library's own message reached the user untranslated
RAW_MESSAGES = (
    "could not convert",
    "Unable to allocate",
    "LinAlgError",
    "probabilities do not sum",
    "index out of bounds",
    "is out of bounds for axis",
    "Singular matrix",
    "Matrix is not positive definite",
    "SVD did not converge",
    "Eigenvalues did not converge",
    "not supported between instances",
    "Object arrays cannot be loaded",
    "array must not contain infs or NaNs",
    "setting an array element with a sequence",
    "operands could not be broadcast",
    "math domain error",
    "pvals",
    "leading minor",
    "cannot reshape array",
)

#: a message may name a place in the data instead of the argument
_DATA_LOCATION = re.compile(r"\b(row|column|sequence|feature|symbol|sample weight)s?\b", re.I)

#: modules whose own raise, reaching the user untranslated, is a raw error
_LIBRARY_PATHS = ("/numpy/", "/scipy/", "/numba/")


class FuzzFailure(AssertionError):
    """An oracle failed; ``kind`` is one of KINDS."""

    def __init__(self, kind: str, detail: str):
        assert kind in KINDS, kind
        self.kind = kind
        super().__init__(f"[{kind}] {detail}")


class _Hang(BaseException):
    """Raised by the alarm (a BaseException, so that no ``except Exception`` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fail with kind "hang" when the block runs longer than ``seconds``.

    signal.alarm interrupts Python code only; the engine's iteration loop is Python,
    so a fit that never stops is caught between two iterations.
    """

    def on_alarm(signum, frame):
        raise _Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Hang:
        raise FuzzFailure("hang", f"{what} ran longer than {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(fn, what: str, seconds: float = CALL_SECONDS):
    """Run ``fn()`` under the time limit, with LikelihoodDecreaseWarning as an error.

    Returns ``(result, None)`` or ``(None, exception)``; a decrease warning becomes a
    FuzzFailure of kind "decrease". A result whose fit reported a decrease within its
    regularisation's cost (RegularizationDecreaseWarning) is remembered as documented,
    for :func:`check_monotone`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")  # numerical warnings are not the oracle
        warnings.simplefilter("always", emkit.RegularizationDecreaseWarning)
        warnings.simplefilter("error", emkit.LikelihoodDecreaseWarning)
        try:
            with time_limit(seconds, what):
                result = fn()
            if any(issubclass(w.category, emkit.RegularizationDecreaseWarning) for w in caught):
                _DOCUMENTED_DECREASE.add(result)
            return result, None
        except emkit.LikelihoodDecreaseWarning as exc:
            raise FuzzFailure("decrease", f"{what}: {exc}") from None
        except FuzzFailure:
            raise
        except Exception as exc:  # the oracle judges it
            return None, exc


def names_of(estimator) -> tuple[str, ...]:
    """Argument, parameter and attribute names an error about ``estimator`` may name."""
    attributes = [name for name in dir(type(estimator)) if name.endswith("_") and name[0] != "_"]
    return (*DATA_ARGUMENTS, *estimator.get_params(deep=False), *attributes)


def check_clear_error(exc: BaseException, names, what: str) -> None:
    """Fail unless ``exc`` is a clear error: a ValueError naming one of ``names``."""
    message = str(exc)
    head = f"{what} raised {type(exc).__module__}.{type(exc).__name__}: {message[:300]!r}"
    if not isinstance(exc, ValueError):
        kind = "unclear error" if isinstance(exc, ArithmeticError) else "crash"
        raise FuzzFailure(kind, f"{head} (not a ValueError)")
    raw = [text for text in RAW_MESSAGES if text.lower() in message.lower()]
    if raw:
        raise FuzzFailure("unclear error", f"{head} (raw library text {raw[0]!r})")
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and any(part in frames[-1].filename for part in _LIBRARY_PATHS):
        raise FuzzFailure("unclear error", f"{head} (raised inside {frames[-1].filename})")
    if exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        chained = exc.__cause__ or exc.__context__
        raise FuzzFailure(
            "unclear error", f"{head} (chained traceback from {type(chained).__name__})"
        )
    named = any(re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message) for name in names)
    if not named and not _DATA_LOCATION.search(message):
        raise FuzzFailure("unclear error", f"{head} (names no argument or parameter)")


# -- parameter constraints ----------------------------------------------------------------
def _finite(value, name, what):
    value = np.asarray(value)
    if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
        raise FuzzFailure("silent NaN", f"{what}: {name} is not finite: {value!r}"[:600])


def _stochastic(value, name, what, axis=-1):
    value = np.asarray(value, dtype=float)
    _finite(value, name, what)
    if np.any(value < -1e-12) or np.any(value > 1 + 1e-12):
        raise FuzzFailure("silent wrong result", f"{what}: {name} has entries outside [0, 1]")
    sums = value.sum(axis=axis)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-6 * max(1, value.shape[axis])):
        raise FuzzFailure("silent wrong result", f"{what}: {name} sums to {sums} instead of 1")


def _spd(value, name, what):
    """Symmetric positive definite matrices, stacked on the leading axes."""
    value = np.asarray(value, dtype=float)
    _finite(value, name, what)
    # asymmetry relative to each matrix's largest entry (off-diagonal zeros may round)
    scale = np.abs(value).max(axis=(-2, -1), keepdims=True)
    if np.any(np.abs(value - np.swapaxes(value, -1, -2)) > 1e-10 * scale):
        raise FuzzFailure("silent wrong result", f"{what}: {name} is not symmetric")
    eigenvalues = np.linalg.eigvalsh(0.5 * (value + np.swapaxes(value, -1, -2)))
    if np.any(eigenvalues <= 0):
        raise FuzzFailure(
            "silent wrong result", f"{what}: {name} is not positive definite {eigenvalues}"
        )


def _positive(value, name, what, strict=True):
    value = np.asarray(value, dtype=float)
    _finite(value, name, what)
    if np.any(value <= 0 if strict else value < 0):
        raise FuzzFailure("silent wrong result", f"{what}: {name} is not positive: {value}")


def _covariances(est, value, what):
    kind = getattr(est, "covariance_type", "full")
    if kind in ("full", "tied"):
        _spd(value, "covariances_", what)
    else:
        _positive(value, "covariances_", what)


def check_parameters(est, what: str, *, fitted_by_em=True) -> None:
    """Every fitted parameter finite and inside its constraints (and ``log_likelihood_``
    finite when ``fitted_by_em``: online EM keeps none)."""
    name = type(est).__name__
    if name == "LinearGaussianSSM":
        for attr in (
            "transition_matrix_",
            "observation_matrix_",
            "initial_state_mean_",
            "control_transition_matrix_",
            "control_observation_matrix_",
        ):
            _finite(getattr(est, attr), attr, what)
        for attr in (
            "transition_covariance_",
            "observation_covariance_",
            "initial_state_covariance_",
        ):
            _spd(getattr(est, attr), attr, what)
        return
    if name == "KMeans":
        _finite(est.cluster_centers_, "cluster_centers_", what)
        _finite(est.inertia_, "inertia_", what)
        if est.inertia_ < 0:
            raise FuzzFailure("silent wrong result", f"{what}: inertia_ {est.inertia_} < 0")
        return
    if hasattr(est, "startprob_"):
        _stochastic(est.startprob_, "startprob_", what)
        _stochastic(est.transmat_, "transmat_", what)
    if hasattr(est, "weights_"):
        _stochastic(est.weights_, "weights_", what)
    if hasattr(est, "means_"):
        _finite(est.means_, "means_", what)
    if hasattr(est, "covariances_"):
        _covariances(est, est.covariances_, what)
    if hasattr(est, "rates_"):
        _positive(est.rates_, "rates_", what, strict=False)
    if hasattr(est, "emissionprob_"):
        if "Bernoulli" in name:
            _stochastic(np.stack([est.emissionprob_, 1 - est.emissionprob_], -1), "p", what)
        else:
            _stochastic(est.emissionprob_, "emissionprob_", what)
    if fitted_by_em:
        _finite(est.log_likelihood_, "log_likelihood_", what)


#: fitted estimators whose fit reported its decreases (RegularizationDecreaseWarning)
_DOCUMENTED_DECREASE: weakref.WeakSet = weakref.WeakSet()


def check_monotone(est, what: str, dtype="float64") -> None:
    """``lower_bounds_`` never decreases beyond rounding (the monitor's tolerance), unless
    the fit reported the decrease as the cost of its regularisation."""
    if est in _DOCUMENTED_DECREASE:
        return
    bounds = np.asarray(est.lower_bounds_, dtype=float)
    _finite(bounds, "lower_bounds_", what)
    rtol = decrease_rtol_for(dtype)
    for t in range(1, bounds.size):
        if bounds[t] < bounds[t - 1] - rtol * max(1.0, abs(bounds[t - 1])):
            raise FuzzFailure(
                "decrease",
                f"{what}: lower_bounds_ fell at iteration {t + 1}: "
                f"{bounds[t - 1]!r} -> {bounds[t]!r}",
            )


# -- predictions --------------------------------------------------------------------------
def check_probabilities(proba, labels, what, n_rows) -> None:
    """Rows of ``proba`` finite, summing to one, and ``labels`` their argmax."""
    proba = np.asarray(proba)
    if proba.shape[0] != n_rows:
        raise FuzzFailure("silent wrong result", f"{what}: {proba.shape[0]} rows for {n_rows}")
    _finite(proba, "predict_proba", what)
    _stochastic(proba, "predict_proba rows", what)
    agree = np.take_along_axis(proba, np.asarray(labels)[:, None], axis=1)[:, 0]
    if np.any(agree < proba.max(axis=1) - 1e-9):
        raise FuzzFailure("silent wrong result", f"{what}: predict is not argmax(predict_proba)")


def round_trip(est, predict, what) -> None:
    """``emkit.save`` then ``emkit.load``: the loaded model predicts the same."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        _, exc = call(lambda: emkit.save(est, path), f"{what}: save")
        if exc is not None:
            raise FuzzFailure("crash", f"{what}: save of a fitted model failed: {exc!r}")
        loaded, exc = call(lambda: emkit.load(path), f"{what}: load")
        if exc is not None:
            raise FuzzFailure(
                "silent wrong result", f"{what}: fit returned a model load refuses: {exc}"
            )
    before, after = predict(est), predict(loaded)
    if not np.array_equal(before, after, equal_nan=True):
        raise FuzzFailure("silent wrong result", f"{what}: predictions change after load")


def far_points(X) -> np.ndarray:
    """Points far from all of X (1e4 spreads away on every axis, both sides)."""
    X = np.asarray(X, dtype=float)
    centre, spread = X.mean(axis=0), X.std(axis=0).max() + abs(X).max() + 1.0
    return np.vstack([centre + 1e4 * spread, centre - 1e4 * spread, centre + 1e6 * spread])


def expect_fit_or_clear_error(make, fit, what, seconds: float = CALL_SECONDS):
    """Build an estimator with ``make()`` and fit it with ``fit(est)`` within ``seconds``.

    Returns the fitted estimator, or None after a clear error.
    """
    est = make()
    _, exc = call(lambda: fit(est), what, seconds)
    if exc is not None:
        check_clear_error(exc, names_of(est), what)
        return None
    return est


def expect_clear_error(fn, names, what) -> None:
    """``fn()`` must raise a clear error (it is given invalid input)."""
    _, exc = call(fn, what)
    if exc is None:
        raise FuzzFailure("silent wrong result", f"{what}: invalid input accepted")
    check_clear_error(exc, names, what)


# -- whole-estimator oracles ----------------------------------------------------------------
def _close(a, b, rtol):
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


def check_mixture(est, X, what, *, sample_weight=None, far=True) -> None:
    """A fitted mixture (Gaussian or count): parameters, bound, predictions, file.

    X (n_samples, n_features) is the training data, valid input for predictions.
    """
    dtype = getattr(est, "dtype", "float64")
    check_parameters(est, what)
    check_monotone(est, what, dtype)
    proba, exc = call(lambda: est.predict_proba(X), f"{what}: predict_proba")
    if exc is not None:
        raise FuzzFailure("crash", f"{what}: predict_proba on the training data: {exc!r}")
    check_probabilities(proba, est.predict(X), f"{what}: predict_proba", len(X))
    logp = est.score_samples(X)
    _finite(logp, "score_samples", what)
    if not _close(est.score(X), float(np.mean(logp)), 1e-9):
        raise FuzzFailure("silent wrong result", f"{what}: score is not mean(score_samples)")
    weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    total = float(np.dot(weights, logp))
    rtol = 1e-4 if dtype == "float32" else 1e-7
    if np.isfinite(total) and not _close(est.log_likelihood_, total, rtol):
        raise FuzzFailure(
            "silent wrong result",
            f"{what}: log_likelihood_ = {est.log_likelihood_!r} but the weighted sum of "
            f"score_samples on the same data is {total!r}",
        )
    if far:
        points = far_points(X)
        if "Poisson" in type(est).__name__:
            points = np.rint(np.abs(points))
        proba, exc = call(lambda: est.predict_proba(points), f"{what}: far predict_proba")
        if exc is not None:
            check_clear_error(exc, names_of(est), f"{what}: predict_proba on far points")
        else:
            check_probabilities(proba, est.predict(points), f"{what}: far points", len(points))
    round_trip(est, lambda model: model.predict_proba(X), what)


def check_kmeans(est, X, what, *, sample_weight=None) -> None:
    """A fitted KMeans: centres, labels, (weighted) inertia, far points, file."""
    check_parameters(est, what)
    check_monotone(est, what)
    labels = est.predict(X)
    if not np.array_equal(labels, est.labels_):
        raise FuzzFailure("silent wrong result", f"{what}: predict(X) differs from labels_")
    distances = est.transform(X)
    _finite(distances, "transform", what)
    weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    inertia = float(np.dot(weights, np.min(distances, axis=1) ** 2))
    if not _close(inertia, est.inertia_, 1e-6):
        raise FuzzFailure("silent wrong result", f"{what}: inertia_ {est.inertia_} vs {inertia}")
    far = est.predict(far_points(X))
    if np.any((far < 0) | (far >= est.n_clusters)):
        raise FuzzFailure("silent wrong result", f"{what}: far points get labels {far}")
    round_trip(est, lambda model: model.predict(X), what)


def check_hmm(est, X, lengths, what, *, far=False) -> None:
    """A fitted HMM: parameters, bound, posteriors, Viterbi path, scores, file."""
    check_parameters(est, what)
    check_monotone(est, what)
    proba, exc = call(lambda: est.predict_proba(X, lengths), f"{what}: predict_proba")
    if exc is not None:
        raise FuzzFailure("crash", f"{what}: predict_proba on the training data: {exc!r}")
    _stochastic(proba, "predict_proba rows", what)
    path = est.predict(X, lengths)
    if np.any((path < 0) | (path >= est.n_components)):
        raise FuzzFailure("silent wrong result", f"{what}: Viterbi states {path}")
    _, states = est.decode(X, lengths, algorithm="map")
    if not np.array_equal(states, proba.argmax(axis=1)):
        raise FuzzFailure("silent wrong result", f"{what}: decode('map') is not the argmax")
    score = _training_score(est, X, lengths, 1e-7, what)
    log_viterbi = est.decode(X, lengths)[0]
    if log_viterbi > score + 1e-7 * max(1.0, abs(score)):
        raise FuzzFailure("silent wrong result", f"{what}: Viterbi {log_viterbi} > log p(X)")
    if far:
        points = far_points(X)
        proba, exc = call(lambda: est.predict_proba(points), f"{what}: far predict_proba")
        if exc is not None:
            check_clear_error(exc, names_of(est), f"{what}: predict_proba on far points")
        else:
            _stochastic(proba, "far predict_proba rows", what)
    round_trip(est, lambda model: model.predict_proba(X, lengths), what)


def _training_score(est, X, lengths, rtol: float, what: str) -> float:
    """``est.score`` of its own training sequences: finite, and ``log_likelihood_``."""
    score = est.score(X, lengths)
    _finite(score, "score", what)
    if not _close(score, float(est.log_likelihood_), rtol):
        raise FuzzFailure(
            "silent wrong result",
            f"{what}: score {score!r} of the training data != log_likelihood_ "
            f"{est.log_likelihood_!r}",
        )
    return score


def check_lgssm(est, X, lengths, what) -> None:
    """A fitted LinearGaussianSSM: parameters, bound, score, smoother, file."""
    check_parameters(est, what)
    check_monotone(est, what)
    _training_score(est, X, lengths, 1e-6, what)
    means, covariances = est.smooth(X, lengths)
    _finite(means, "smoothed means", what)
    _finite(covariances, "smoothed covariances", what)
    round_trip(est, lambda model: model.smooth(X, lengths)[0], what)
