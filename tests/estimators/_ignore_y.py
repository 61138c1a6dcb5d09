"""Mixture estimators (and k-means) with ``y`` ignored, for scikit-learn's estimator checks.

The mixtures' ``fit(X, y)`` takes ``y`` as partial labels (semi-supervised fitting,
``test_partial_labels.py``), whereas scikit-learn's checks pass arbitrary class labels
that an unsupervised estimator must ignore (often beyond ``n_components - 1``, which
emkit refuses). The checks therefore run on a subclass that drops ``y`` and is
otherwise the estimator itself: everything but the meaning of ``y`` is checked.
"""

from __future__ import annotations

import sys

_CLASSES: dict = {}


def ignoring_y(estimator):
    """A copy of ``estimator`` (same hyperparameters) whose fit, partial_fit,
    fit_predict and fit_transform (those it has) ignore ``y``; its class is a
    module-level name, so it pickles."""
    cls = type(estimator)
    sub = _CLASSES.get(cls)
    if sub is None:
        name = f"Unlabelled{cls.__name__}"

        def fit(self, X, y=None, sample_weight=None, *, callback=None):
            return cls.fit(self, X, None, sample_weight, callback=callback)

        def partial_fit(self, X, y=None, sample_weight=None):
            return cls.partial_fit(self, X, None, sample_weight)

        def fit_predict(self, X, y=None, sample_weight=None):
            return cls.fit_predict(self, X, None, sample_weight)

        def fit_transform(self, X, y=None, sample_weight=None):
            return cls.fit_transform(self, X, None, sample_weight)

        methods = {
            "fit": fit,
            "partial_fit": partial_fit,
            "fit_predict": fit_predict,
            "fit_transform": fit_transform,
        }
        namespace = {name: f for name, f in methods.items() if hasattr(cls, name)}
        namespace.update(__module__=__name__, __qualname__=name, __doc__=cls.__doc__)
        sub = type(name, (cls,), namespace)
        setattr(sys.modules[__name__], name, sub)
        _CLASSES[cls] = sub
    return sub(**estimator.get_params(deep=False))
