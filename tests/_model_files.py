"""A corpus of crafted model files: small valid fits of every emkit estimator, and
bad variants of their files (wrong shapes, dtypes, constraints, names, metadata
types, pickles, truncations).

Used by test_io_safety (in process) and test_io_boundscheck (in a subprocess with
``NUMBA_BOUNDSCHECK=1``, where ``python _model_files.py DIR`` runs the corpus).

A file's contents are ``(metadata, arrays)``: the JSON metadata as a dict and the
other entries as ``{key: array}``; a *mutation* maps them to the contents of a bad
file, or writes the file itself (``write=``).
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

import numpy as np

import emkit
from emkit.io import ModelFileError

META_KEY = "__emkit_metadata__"


# -- the valid models ----------------------------------------------------------------
def _data(seed: int = 0, n: int = 30) -> dict:
    rng = np.random.default_rng(seed)
    half = n // 2
    two = np.r_[np.zeros((half, 1)), np.ones((n - half, 1))]
    gaussian = rng.normal(size=(n, 2)) + 4.0 * two
    counts = rng.poisson(1.0 + 5.0 * two, size=(n, 2)).astype(float)
    symbols = np.minimum(rng.integers(0, 2, size=(n, 2)) + two.astype(int), 2).astype(float)
    binary = (rng.random((n, 3)) < 0.2 + 0.6 * two).astype(float)
    totals = np.array(
        [rng.multinomial(5, [0.7, 0.2, 0.1] if i < half else [0.1, 0.2, 0.7]) for i in range(n)],
        dtype=float,
    )
    return {
        "gaussian": gaussian,
        "counts": counts,
        "symbols": symbols,
        "symbol": symbols[:, :1],
        "binary": binary,
        "multinomial": totals,
        "controls": rng.normal(size=(n, 1)),
        # drawn last: the draws above stay as they were
        "documents": rng.poisson(np.r_[[2.0, 2.0, 0.2, 0.2, 1.0]] + 3.0 * two, size=(n, 5)),
        # the response of the regressions on "gaussian"
        "response": rng.normal(size=n) + 3.0 * two[:, 0],
    }


def _specs() -> dict:
    """``{name: (estimator, data key, fit keywords)}``: one small fit per case."""
    e = emkit
    specs = {
        f"GaussianMixture-{kind}": (e.GaussianMixture(2, covariance_type=kind), "gaussian")
        for kind in ("full", "tied", "diag", "spherical")
    }
    specs.update(
        {
            "KMeans": (e.KMeans(2), "gaussian"),
            "PoissonMixture": (e.PoissonMixture(2), "counts"),
            "CategoricalMixture": (e.CategoricalMixture(2), "symbols"),
            "MultinomialMixture": (e.MultinomialMixture(2), "multinomial"),
            "BernoulliMixture": (e.BernoulliMixture(2), "binary"),
            "GaussianHMM-full": (e.GaussianHMM(2, covariance_type="full"), "gaussian"),
            "GaussianHMM-diag": (e.GaussianHMM(2), "gaussian"),
            "GMMHMM": (e.GMMHMM(2, n_mix=2), "gaussian"),
            "CategoricalHMM": (e.CategoricalHMM(2), "symbol"),
            "MultinomialHMM": (e.MultinomialHMM(2), "multinomial"),
            "PoissonHMM": (e.PoissonHMM(2), "counts"),
            "BernoulliHMM": (e.BernoulliHMM(2), "binary"),
            "LinearGaussianSSM": (e.LinearGaussianSSM(2, max_iter=5), "gaussian"),
            "LinearGaussianSSM-controls": (e.LinearGaussianSSM(1, max_iter=5), "gaussian"),
            "LatentDirichletAllocation": (
                emkit.estimators.LatentDirichletAllocation(2, max_iter=5),
                "documents",
            ),
            "PLSA": (emkit.estimators.PLSA(2, max_iter=5), "documents"),
            "StudentMixture": (e.StudentMixture(2), "gaussian"),
            "StudentMixture-diag": (e.StudentMixture(2, covariance_type="diag"), "gaussian"),
            "FactorAnalysis": (e.FactorAnalysis(1), "gaussian"),
            "FactorAnalysis-isotropic": (e.FactorAnalysis(1, noise="isotropic"), "gaussian"),
            "MixtureOfFactorAnalyzers": (
                e.MixtureOfFactorAnalyzers(2, shared_noise=False),
                "gaussian",
            ),
            "MixtureRegression": (e.MixtureRegression(2), "gaussian"),
            "MixtureRegression-gating": (e.MixtureRegression(2, gating="multinomial"), "gaussian"),
        }
    )
    return specs


def fitted_models(cases=None) -> dict:
    """``{case: (fitted estimator, X, predict keywords)}`` for every case (or those
    named in ``cases``)."""
    data, models = _data(), {}
    for case, (estimator, key) in _specs().items():
        if cases is not None and case not in cases:
            continue
        X = data[key]
        keywords = {"U": data["controls"]} if case.endswith("-controls") else {}
        if case.startswith("MixtureRegression"):
            keywords = {"y": data["response"]}
        estimator.set_params(random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few iterations: not converged is expected
            estimator.fit(X, **keywords)
        models[case] = (estimator, X, keywords)
    return models


def use(estimator, X, keywords) -> list:
    """What the estimator computes on X: every prediction and score it offers."""
    results = [estimator.score(X, **keywords)]
    for method in ("predict", "predict_proba", "score_samples", "transform", "smooth"):
        if hasattr(estimator, method):
            # a regression predicts from X alone
            given = {} if method == "predict" and "y" in keywords else keywords
            results.append(getattr(estimator, method)(X, **given))
    if hasattr(estimator, "sample") and not keywords:
        results.append(estimator.sample(3, random_state=0))
    return results


# -- reading and writing files ------------------------------------------------------
def read(path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return json.loads(str(arrays.pop(META_KEY))), arrays


#: ``read`` of the valid files, once each (mutations copy what they change)
_read_once = functools.lru_cache(maxsize=None)(read)


def write(path, metadata, arrays, *, allow_pickle: bool = False) -> Path:
    """An ``.npz`` with the given contents (``metadata`` a dict, or raw JSON text)."""
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    with open(path, "wb") as handle:
        if allow_pickle:  # np.savez pickles object arrays; that is the attack
            np.savez(handle, **{META_KEY: np.array(text)}, **arrays)
        else:
            np.savez_compressed(handle, **{META_KEY: np.array(text)}, **arrays)
    return Path(path)


# -- mutations ---------------------------------------------------------------------------
def _parameter_names(estimator) -> list:
    """The saved parameters this estimator has (MixtureRegression has weights_ or the
    gating coefficients, by its gating)."""
    return [
        p.name
        for p in type(estimator)._parameter_attributes()
        if p.saved and hasattr(estimator, p.name)
    ]


def _meta(change):
    def mutate(metadata, arrays):
        metadata = json.loads(json.dumps(metadata))
        change(metadata)
        return metadata, arrays

    return mutate


def _array(key, change):
    def mutate(metadata, arrays):
        return metadata, {**arrays, key: change(arrays[key].copy())}

    return mutate


def _add(key, value, **options):
    def mutate(metadata, arrays):
        return metadata, {**arrays, key: value}

    mutate.options = options
    return mutate


def _drop(key):
    def mutate(metadata, arrays):
        return metadata, {k: v for k, v in arrays.items() if k != key}

    return mutate


def _set_at(value):
    def change(array):
        array = array.astype(float)
        array.flat[0] = value
        return array

    return change


def _negative_keeping_sums(array):
    # a negative entry while every row still sums to one
    array[..., 0] += array[..., 1] + 0.5
    array[..., 1] = -0.5
    return array


def _asymmetric(array):
    array[..., 0, -1] += 0.5
    return array


def _not_positive_definite(array):
    if array.ndim >= 2 and array.shape[-1] == array.shape[-2]:
        array[..., 0, 0] = -1.0
    else:
        array.flat[0] = -1.0
    return array


def _extra_row(array):
    return np.concatenate([array, array[:1]], axis=0)


def _three_states(metadata, arrays):
    return metadata, {
        **arrays,
        "fitted/startprob_": np.full(3, 1 / 3),
        "fitted/transmat_": np.full((3, 3), 1 / 3),
    }


def _three_states_declared(metadata, arrays):
    metadata, arrays = _three_states(metadata, arrays)
    metadata = json.loads(json.dumps(metadata))
    metadata["hyperparameters"]["n_components"] = 3
    return metadata, arrays


def _truncated(fraction):
    def write_file(path, good):
        data = good.read_bytes()
        Path(path).write_bytes(data[: int(len(data) * fraction)])

    return write_file


def _constraint_mutations(estimator) -> dict:
    """Violations of each parameter's constraint, by what the parameter holds."""
    names = _parameter_names(estimator)
    found = {}
    probability_vectors = {"weights_", "startprob_", "transmat_"}
    if type(estimator).__name__ in (
        "CategoricalMixture",
        "MultinomialMixture",
        "CategoricalHMM",
        "MultinomialHMM",
    ):
        probability_vectors.add("emissionprob_")
    if type(estimator).__name__ == "PLSA":
        probability_vectors.add("components_")  # P(w | z)
    for name in names:
        key = f"fitted/{name}"
        if name in probability_vectors:
            found[f"{name}-not-summing-to-one"] = _array(key, lambda a: a * 0.5)
            found[f"{name}-negative"] = _array(key, _negative_keeping_sums)
        elif name == "emissionprob_":  # Bernoulli: probabilities in [0, 1]
            found[f"{name}-above-one"] = _array(key, _set_at(1.5))
            found[f"{name}-negative"] = _array(key, _set_at(-0.1))
        elif name == "rates_":
            found[f"{name}-negative"] = _array(key, _set_at(-1.0))
        elif name in ("components_", "doc_topic_prior_", "topic_word_prior_"):
            # LDA's variational Dirichlet and its priors: positive
            found[f"{name}-zero"] = _array(key, _set_at(0.0))
            found[f"{name}-negative"] = _array(key, _set_at(-1.0))
        elif "covariance" in name:
            found[f"{name}-not-positive-definite"] = _array(key, _not_positive_definite)
            matrices = getattr(estimator, "covariance_type", "full") in ("full", "tied")
            if matrices and getattr(estimator, name).shape[-1] > 1:
                found[f"{name}-asymmetric"] = _array(key, _asymmetric)
    return found


def mutations(case: str, estimator) -> dict:
    """``{mutation name: mutation}`` of the bad variants of ``case``'s file."""
    cls = type(estimator).__name__
    names = _parameter_names(estimator)
    first = f"fitted/{names[0]}"
    other_class = "GaussianHMM" if cls != "GaussianHMM" else "GaussianMixture"
    found = {
        "class-unknown": _meta(lambda m: m.update({"class": "Nope"})),
        "class-load": _meta(lambda m: m.update({"class": "load"})),
        "class-dunder": _meta(lambda m: m.update({"class": "__class__"})),
        "class-base": _meta(lambda m: m.update({"class": "EngineEstimator"})),
        "class-os-system": _meta(lambda m: m.update({"class": "os.system"})),
        "class-swapped": _meta(lambda m: m.update({"class": other_class})),
        "class-not-a-string": _meta(lambda m: m.update({"class": 3})),
        "format-version-string": _meta(lambda m: m.update({"format_version": "1"})),
        "format-version-bool": _meta(lambda m: m.update({"format_version": True})),
        "format-version-zero": _meta(lambda m: m.update({"format_version": 0})),
        "emkit-version-number": _meta(lambda m: m.update({"emkit_version": 1})),
        "hyperparameters-list": _meta(lambda m: m.update({"hyperparameters": []})),
        "fitted-list": _meta(lambda m: m.update({"fitted": [1]})),
        "user-string": _meta(lambda m: m.update({"user": "x"})),
        "unknown-metadata-field": _meta(lambda m: m.update({"extra": 1})),
        "n-iter-string": _meta(lambda m: m["fitted"].update({"n_iter_": "3"})),
        "n-iter-negative": _meta(lambda m: m["fitted"].update({"n_iter_": -1})),
        "converged-string": _meta(lambda m: m["fitted"].update({"converged_": "yes"})),
        "lower-bound-string": _meta(lambda m: m["fitted"].update({"lower_bound_": "x"})),
        "lower-bound-nan": _meta(lambda m: m["fitted"].update({"lower_bound_": float("nan")})),
        "n-features-float": _meta(lambda m: m["fitted"].update({"n_features_in_": 2.5})),
        "n-features-changed": _meta(
            lambda m: m["fitted"].update({"n_features_in_": m["fitted"]["n_features_in_"] + 1})
        ),
        "n-features-bool": _meta(lambda m: m["fitted"].update({"n_features_in_": True})),
        "fitted-scalar-unknown": _meta(lambda m: m["fitted"].update({"predict": 1})),
        "parameter-as-scalar": _meta(lambda m: m["fitted"].update({names[0]: 1.0})),
        "hyper-unknown": _meta(lambda m: m["hyperparameters"].update({"bogus": 1})),
        "hyper-max-iter-string": _meta(lambda m: m["hyperparameters"].update({"max_iter": "5"})),
        "hyper-list-in-metadata": _meta(lambda m: m["hyperparameters"].update({"tol": [1]})),
        "fitted-predict": _add("fitted/predict", np.zeros(3)),
        "fitted-params-from-attributes": _add("fitted/_params_from_attributes", np.zeros(1)),
        "fitted-dict": _add("fitted/__dict__", np.zeros(1)),
        "fitted-params": _add("fitted/params_", np.zeros(1)),
        "fitted-model": _add("fitted/model_", np.zeros(1)),
        "fitted-unknown": _add("fitted/bogus_", np.zeros(1)),
        "hyper-array-unknown": _add("hyper/bogus", np.zeros(1)),
        "trace-unknown": _add("trace/bogus", np.zeros(1)),
        "group-unknown": _add("other/x", np.zeros(1)),
        "no-group": _add("plain", np.zeros(1)),
        "object-in-unknown-group": _add("junk/x", np.array([{}], dtype=object), allow_pickle=True),
        "object-in-fitted": _add(first, np.array([{}], dtype=object), allow_pickle=True),
        "object-as-trace": _add("trace/kl", np.array([None], dtype=object), allow_pickle=True),
        "structured-array": _add(first, np.zeros(2, dtype=[("a", float), ("b", float)])),
        "trace-lengths-differ": _array("trace/kl", lambda a: a[:-1]),
        "trace-string": _add("trace/kl", np.array(["x"])),
        "lower-bounds-2d": _array("fitted/lower_bounds_", lambda a: a[None, :]),
        "lower-bounds-nan": _add("fitted/lower_bounds_", np.array([np.nan])),
        "truncated-half": _truncated(0.5),
        "truncated-last-bytes": _truncated(0.97),
    }
    dims = [
        d
        for d in ("n_components", "n_clusters", "state_dim", "n_mix")
        if d in estimator.get_params()
    ]
    for dim in dims:
        found[f"{dim}-changed"] = _meta(
            lambda m, d=dim: m["hyperparameters"].update({d: m["hyperparameters"][d] + 1})
        )
        found[f"{dim}-string"] = _meta(lambda m, d=dim: m["hyperparameters"].update({d: "2"}))
        found[f"{dim}-bool"] = _meta(lambda m, d=dim: m["hyperparameters"].update({d: True}))
        found[f"{dim}-zero"] = _meta(lambda m, d=dim: m["hyperparameters"].update({d: 0}))
    if "covariance_type" in estimator.get_params():
        kind = estimator.covariance_type
        found["covariance-type-swapped"] = _meta(
            lambda m: m["hyperparameters"].update(
                {"covariance_type": "spherical" if kind != "spherical" else "full"}
            )
        )
        found["covariance-type-unknown"] = _meta(
            lambda m: m["hyperparameters"].update({"covariance_type": "bogus"})
        )
    if "startprob_" in names:
        found["three-states"] = _three_states
        found["three-states-declared"] = _three_states_declared
    for name in names:
        key = f"fitted/{name}"
        found[f"{name}-missing"] = _drop(key)
        found[f"{name}-extra-row"] = _array(key, _extra_row)
        if getattr(estimator, name).ndim > 1:
            found[f"{name}-flattened"] = _array(key, np.ravel)
        found[f"{name}-scalar"] = _add(key, np.array(0.5))
        found[f"{name}-complex"] = _array(key, lambda a: a + 0.5j)
        found[f"{name}-strings"] = _array(key, lambda a: a.astype(str))
        found[f"{name}-bool"] = _array(key, lambda a: a != 0)
        if getattr(estimator, name).size:
            found[f"{name}-nan"] = _array(key, _set_at(np.nan))
            found[f"{name}-inf"] = _array(key, _set_at(np.inf))
    found.update(_constraint_mutations(estimator))
    found.update(_class_specific(cls, estimator))
    return found


def _class_specific(cls: str, estimator) -> dict:
    found = {}
    if cls == "KMeans":
        found["labels-out-of-range"] = _array("fitted/labels_", lambda a: a + 5)
        found["labels-float"] = _array("fitted/labels_", lambda a: a + 0.5)
        found["inertia-negative"] = _meta(lambda m: m["fitted"].update({"inertia_": -1.0}))
    if "n_symbols_" in type(estimator)._saved_extras:
        found["n-symbols-changed"] = _meta(lambda m: m["fitted"].update({"n_symbols_": 7}))
        found["n-symbols-zero"] = _meta(lambda m: m["fitted"].update({"n_symbols_": 0}))
    if "n_trials_" in type(estimator)._saved_extras:
        found["n-trials-string"] = _meta(lambda m: m["fitted"].update({"n_trials_": "5"}))
    if cls == "LinearGaussianSSM":
        found["learned-unknown"] = _meta(lambda m: m["fitted"].update({"learned_": ["predict"]}))
        found["learned-string"] = _meta(lambda m: m["fitted"].update({"learned_": "all"}))
        found["n-controls-changed"] = _meta(
            lambda m: m["fitted"].update({"n_controls_": m["fitted"]["n_controls_"] + 1})
        )
        found["n-controls-float"] = _meta(lambda m: m["fitted"].update({"n_controls_": 0.5}))
    found["feature-names-wrong-length"] = _add("fitted/feature_names_in_", np.array(["a"]))
    found["feature-names-numbers"] = _add("fitted/feature_names_in_", np.array([1.0, 2.0]))
    return found


def write_variant(path: Path, name: str, mutation) -> Path:
    """The file of ``mutation`` (called ``name``) applied to the valid file ``path``,
    next to it."""
    bad = path.with_name(f"{path.stem}.{name}.npz")
    if mutation.__name__ == "write_file":
        mutation(bad, path)
        return bad
    metadata, arrays = mutation(*_read_once(str(path)))
    return write(bad, metadata, arrays, **getattr(mutation, "options", {}))


def corpus(directory, cases=None) -> list:
    """``[(case, mutation name, bad file, estimator, X, keywords)]`` for every case (or
    those in ``cases``); the valid file of each case is ``<directory>/<case>.npz``."""
    directory = Path(directory)
    entries = []
    for case, (estimator, X, keywords) in fitted_models(cases).items():
        good = emkit.save(estimator, directory / f"{case}.npz")
        for name, mutation in mutations(case, estimator).items():
            bad = write_variant(good, name, mutation)
            entries.append((case, name, bad, estimator, X, keywords))
    return entries


def run_corpus(directory, cases=None) -> dict:
    """Load every file of the corpus; use what loads. Returns counts of the outcomes
    and the list of failures (anything but a ModelFileError naming the file)."""
    outcomes = {"refused": 0, "loaded": 0, "failures": []}
    for case, name, bad, _, X, keywords in corpus(directory, cases):
        try:
            loaded = emkit.load(bad)
        except ModelFileError as exc:
            outcomes["refused"] += 1
            if str(bad) not in str(exc):
                outcomes["failures"].append(f"{case}/{name}: message lacks the file: {exc}")
            continue
        except Exception as exc:  # any other error is a failure
            outcomes["failures"].append(f"{case}/{name}: {type(exc).__name__}: {exc}")
            continue
        outcomes["loaded"] += 1
        try:
            use(loaded, X, keywords)
        except ValueError as exc:  # a clear refusal of the data is fine
            outcomes.setdefault("refused_data", []).append(f"{case}/{name}: {exc}")
        except Exception as exc:
            outcomes["failures"].append(f"{case}/{name} loaded, then {type(exc).__name__}: {exc}")
    return outcomes


def unchecked_kernel_error() -> str:
    """What the Viterbi kernel does when called directly, past every check, with a
    start distribution of 2 states for emissions of 3: the name of its error (under
    ``NUMBA_BOUNDSCHECK=1``, IndexError), or "none". Shows that the subprocess would
    see a kernel reading out of bounds."""
    from emkit._kernels.hmm import _viterbi_kernel

    path, log_prob = np.empty(4, dtype=np.int64), np.empty(1)
    try:
        _viterbi_kernel(
            np.zeros((4, 3)), np.array([0, 4]), np.zeros(2), np.zeros((2, 2)), path, log_prob
        )
    except Exception as exc:  # the error is the result
        return type(exc).__name__
    return "none"


if __name__ == "__main__":  # python _model_files.py DIR [CASE ...]: JSON on stdout
    outcomes = run_corpus(sys.argv[1], sys.argv[2:] or None)
    outcomes["unchecked"] = unchecked_kernel_error()
    print(json.dumps(outcomes))
