"""scikit-learn's estimator checks for the sequence models: the six HMMs and
LinearGaussianSSM.

Their ``fit(X, lengths=None, ...)`` takes X of shape (n_samples, n_features) as one
sequence (several with ``lengths``), as hmmlearn's and pykalman's do. scikit-learn's
checks call ``fit(X, y)``, so the y of most checks arrives as ``lengths`` and the check
fails before it tests anything. The checks therefore run twice:

- on the estimators themselves, where the checks that pass y are expected to fail for
  that reason only (``LENGTHS_REASON``);
- on their ``<Name>TakingY`` twins: the same class, whose ``fit``, ``partial_fit``,
  ``fit_predict`` and ``score`` take (and drop) a y after X and are otherwise the
  estimator's own methods (same signature, sample_weight included). Every property the
  checks test is tested there (except the signature check check_fit_score_takes_y,
  which the twin passes by construction); what is expected to fail there cannot hold
  for a sequence model (the other reasons below).

The tags say what the input is: non-negative integers for the count HMMs (as for the
count mixtures; BernoulliHMM with ``binarize`` takes real data), NaN allowed (a missing
observation) for LinearGaussianSSM.

``expected_failed_checks`` is the one list of both, with the reason of every entry.
"""

from __future__ import annotations

import inspect
from unittest import SkipTest

from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit import (
    GMMHMM,
    BernoulliHMM,
    CategoricalHMM,
    GaussianHMM,
    LinearGaussianSSM,
    MultinomialHMM,
    PoissonHMM,
)
from emkit.estimators.hmm import BaseHMM

LENGTHS_REASON = (
    "the check passes y to fit (positionally, or as y=), but a sequence model's second "
    "argument is lengths, as in hmmlearn's fit(X, lengths)"
)
PER_SEQUENCE_WEIGHTS = (
    "an HMM's sample_weight has one weight per sequence (as lengths cuts X), so the "
    "check's one weight per row is rejected"
)
WEIGHTS_ARE_NOT_REPEATS = (
    "an HMM's sample_weight has one weight per sequence, and repeating or shuffling rows "
    "makes a different sequence, so per-row weights are neither accepted nor equivalent "
    "to repeated rows"
)
ROWS_ARE_A_SEQUENCE = (
    "score_samples returns hmmlearn's (log p(X), posteriors) of the whole sequence, not "
    "one score per row, and an HMM's posteriors at a row depend on the rest of its "
    "sequence, so they change when rows are dropped or reordered"
)

#: HMMs: checks that cannot hold even with y dropped
HMM_FAILURES = {
    "check_sample_weights_pandas_series": PER_SEQUENCE_WEIGHTS,
    "check_sample_weights_not_an_array": PER_SEQUENCE_WEIGHTS,
    "check_sample_weights_list": PER_SEQUENCE_WEIGHTS,
    "check_sample_weights_shape": PER_SEQUENCE_WEIGHTS,
    "check_sample_weights_not_overwritten": PER_SEQUENCE_WEIGHTS,
    "check_all_zero_sample_weights_error": PER_SEQUENCE_WEIGHTS,
    "check_sample_weight_equivalence_on_dense_data": WEIGHTS_ARE_NOT_REPEATS,
    "check_methods_sample_order_invariance": ROWS_ARE_A_SEQUENCE,
    "check_methods_subset_invariance": ROWS_ARE_A_SEQUENCE,
}

#: every sequence model: the checks that pass y to fit
CHECKS_PASSING_Y = (
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
)
#: the HMMs' further checks that pass y (LinearGaussianSSM takes no sample_weight, and
#: NaN is a missing value for it: scikit-learn skips these checks)
HMM_CHECKS_PASSING_Y = (
    *(name for name in HMM_FAILURES if name.startswith(("check_sample_weight", "check_all"))),
    "check_estimators_nan_inf",
)
#: a check whose y (the first column of X, as int) is 0, an empty sequence, only for
#: integer input (the count HMMs' tags)
INTEGER_INPUT_CHECKS_PASSING_Y = ("check_fit2d_1sample",)


def _taking_y(cls):
    """``cls`` whose fit, partial_fit, fit_predict and score take a y after X and drop
    it (a module-level class, so that the estimators pickle)."""
    name = f"{cls.__name__}TakingY"
    methods = {}
    for method in ("fit", "partial_fit", "fit_predict", "score"):
        own = getattr(cls, method, None)
        if own is None:
            continue

        def taking_y(self, X, y=None, *args, _own=own, **kwargs):
            return _own(self, X, *args, **kwargs)

        parameters = list(inspect.signature(own).parameters.values())
        y = inspect.Parameter("y", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        taking_y.__signature__ = inspect.Signature([*parameters[:2], y, *parameters[2:]])
        taking_y.__name__ = method
        taking_y.__qualname__ = f"{name}.{method}"
        methods[method] = taking_y
    twin = type(name, (cls,), {**methods, "__module__": __name__, "__qualname__": name})
    twin._takes_y = True
    globals()[name] = twin
    return twin


def taking_y(estimator):
    """The estimator's *TakingY twin, with the same hyperparameters."""
    return TWINS[type(estimator)](**estimator.get_params())


ESTIMATORS = [
    GaussianHMM(max_iter=5, random_state=0),
    GaussianHMM(2, covariance_type="full", max_iter=5, random_state=0),
    GaussianHMM(2, covariance_type="spherical", accelerate="squarem", random_state=0),
    GMMHMM(2, n_mix=2, covariance_type="tied", max_iter=5, random_state=0),
    PoissonHMM(2, max_iter=5, random_state=0),
    CategoricalHMM(2, max_iter=5, random_state=0),
    MultinomialHMM(2, emissionprob_prior=0.5, max_iter=5, random_state=0),
    # the checks feed real-valued data: threshold it, as BernoulliNB does
    BernoulliHMM(2, binarize=0.5, max_iter=5, random_state=0),
    LinearGaussianSSM(max_iter=5, random_state=0),
    LinearGaussianSSM(
        2,
        transition_covariance_type="diag",
        observation_covariance_type="spherical",
        max_iter=5,
        random_state=0,
    ),
]
TWINS = {cls: _taking_y(cls) for cls in {type(estimator) for estimator in ESTIMATORS}}
#: the first instance of every class: the checks that pass y fail alike for any
#: hyperparameters
ONE_PER_CLASS = [
    estimator
    for i, estimator in enumerate(ESTIMATORS)
    if not any(type(other) is type(estimator) for other in ESTIMATORS[:i])
]


def expected_failed_checks(estimator):
    """{check name: reason} of the checks that cannot hold for ``estimator``."""
    failures = dict(HMM_FAILURES) if isinstance(estimator, BaseHMM) else {}
    if getattr(estimator, "_takes_y", False):
        return failures
    passing_y = list(CHECKS_PASSING_Y)
    if isinstance(estimator, BaseHMM):
        passing_y += HMM_CHECKS_PASSING_Y
    if get_tags(estimator).input_tags.categorical:
        passing_y += INTEGER_INPUT_CHECKS_PASSING_Y
    return {
        **failures,
        **{
            name: f"{LENGTHS_REASON}; with y dropped, {failures[name]}"
            if name in failures
            else f"{LENGTHS_REASON}; it passes with y dropped (the *TakingY twin)"
            for name in passing_y
        },
    }


class ExpectedCheckFailure(Exception):
    """An expected failure of a check, without its traceback."""


def run_check(check, estimator):
    """Run the check. An expected failure is raised again as ExpectedCheckFailure with
    the message only: pytest would format the source of every frame of its traceback
    through scikit-learn's checks (about half a second per failure)."""
    name = getattr(check, "func", check).__name__
    if name not in expected_failed_checks(estimator):
        check(estimator)
        return
    try:
        check(estimator)
    except SkipTest:
        raise
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
    else:
        return  # a strict xfail: the test fails, and the entry must go
    raise ExpectedCheckFailure(failure)


#: an expected failure that passes fails the test (scikit-learn >= 1.8), so that every
#: entry of the list stays true
STRICT = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)


@parametrize_with_checks(ONE_PER_CLASS, expected_failed_checks=expected_failed_checks, **STRICT)
def test_sklearn_checks(estimator, check):
    run_check(check, estimator)


@parametrize_with_checks(
    [taking_y(estimator) for estimator in ESTIMATORS],
    expected_failed_checks=expected_failed_checks,
    **STRICT,
)
def test_sklearn_checks_with_y_dropped(estimator, check):
    run_check(check, estimator)
