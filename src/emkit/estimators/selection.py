r"""Model selection over a grid of mixtures: the number of components and the covariance type.

:func:`select_model` is emkit's counterpart of R's ``mclust::Mclust()``: it fits one
mixture per cell of the grid ``n_components x covariance_type`` (on threads; the EM
kernels release the GIL), scores every fit by BIC, AIC and ICL, and returns a
:class:`ModelSelection` with the table of the criteria and the best fit.

The criteria follow emkit's estimators (:meth:`~emkit.GaussianMixture.bic`,
``aic``, ``icl``): **lower is better**,

.. math::

    \mathrm{BIC} = -2 \log L + p \log n, \qquad
    \mathrm{AIC} = -2 \log L + 2 p, \qquad
    \mathrm{ICL} = \mathrm{BIC} + 2 \, \mathrm{EN}(t),

with :math:`\log L` the log-likelihood of the data under the fitted parameters,
:math:`p` the number of free parameters and :math:`\mathrm{EN}(t) \ge 0` the entropy of
the responsibilities. mclust reports :math:`-\mathrm{BIC}` (higher is better): its
numbers are emkit's with the sign flipped.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from emkit.estimators._base import effective_n_jobs

if TYPE_CHECKING:
    from typing import Any

    import pandas
    from numpy.typing import ArrayLike

    from emkit._typing import RandomStateLike


__all__ = ["CRITERIA", "ModelSelection", "SelectionCell", "select_model"]

#: the criteria :func:`select_model` ranks by (every one: lower is better)
CRITERIA = ("bic", "aic", "icl")

#: the columns of :attr:`ModelSelection.table`, in order
COLUMNS = (
    "n_components",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "converged",
    "n_iter",
    "seconds",
    "error",
)


@dataclass(frozen=True)
class SelectionCell:
    """One fit of the grid.

    Attributes
    ----------
    n_components : int
    covariance_type : str or None
        None for an estimator class without a ``covariance_type``.
    estimator : fitted estimator, or None when the fit failed
    log_likelihood : float
        Total log-likelihood of the data under the fitted parameters (NaN if failed).
    n_parameters : int
        Free parameters (-1 if failed).
    bic, aic, icl : float
        The criteria, lower is better (NaN if failed, or for an estimator class that
        lacks the method).
    converged : bool
    n_iter : int
    seconds : float
        Wall-clock time of the fit and its criteria.
    error : str or None
        ``"ErrorType: message"`` of a failed fit; None for a successful one.
    """

    n_components: int
    covariance_type: str | None
    estimator: object | None
    log_likelihood: float = math.nan
    n_parameters: int = -1
    bic: float = math.nan
    aic: float = math.nan
    icl: float = math.nan
    converged: bool = False
    n_iter: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def params(self) -> dict:
        """The grid's parameters of this cell, as ``set_params`` takes them."""
        params: dict = {"n_components": self.n_components}
        if self.covariance_type is not None:
            params["covariance_type"] = self.covariance_type
        return params

    def criterion(self, name: str) -> float:
        return float(getattr(self, _check_criterion(name)))


class ModelSelection:
    """The result of :func:`select_model`: every fit of the grid and the best one.

    Attributes
    ----------
    criterion : str
        What the best fit minimises: "bic", "aic" or "icl".
    cells : tuple of SelectionCell
        Every fit, in grid order: n_components outer, covariance_type inner.
    n_components : tuple of int
    covariance_types : tuple of str or None
        ``(None,)`` for an estimator class without a covariance type.
    estimator_name : str
        The class of the fitted estimators.
    best_index_ : int
        Position of the best cell in ``cells`` (the first of equal values: fewer
        components, then the earlier covariance type).
    best_cell_ : SelectionCell
    best_estimator_ : fitted estimator
    best_params_ : dict
        ``{"n_components": K, "covariance_type": ...}`` of the best fit.
    best_score_ : float
        Its criterion (lower is better).
    estimators_ : tuple
        The fitted estimator of every cell (None where the fit failed).
    failed_ : tuple of SelectionCell
        The cells whose fit failed, with their ``error``.
    """

    def __init__(
        self,
        cells: Sequence[SelectionCell],
        criterion: str,
        n_components: Sequence[int],
        covariance_types: Sequence[str | None],
        estimator_name: str,
    ):
        self.criterion = _check_criterion(criterion)
        self.cells = tuple(cells)
        self.n_components = tuple(int(k) for k in n_components)
        self.covariance_types = tuple(covariance_types)
        self.estimator_name = estimator_name
        if len(self.cells) != len(self.n_components) * len(self.covariance_types):
            raise ValueError(
                f"cells: got {len(self.cells)} for a grid of {len(self.n_components)} x "
                f"{len(self.covariance_types)}"
            )
        values = np.array([cell.criterion(self.criterion) for cell in self.cells])
        usable = np.isfinite(values)
        if not usable.any():
            raise ValueError(
                f"no fit of the grid has a finite {self.criterion.upper()}: nothing to select"
            )
        self.best_index_ = int(np.flatnonzero(usable)[np.argmin(values[usable])])

    # -- the best fit -----------------------------------------------------------------
    @property
    def best_cell_(self) -> SelectionCell:
        return self.cells[self.best_index_]

    @property
    def best_estimator_(self) -> Any:
        return self.best_cell_.estimator

    @property
    def best_params_(self) -> dict:
        return self.best_cell_.params

    @property
    def best_score_(self) -> float:
        return self.best_cell_.criterion(self.criterion)

    @property
    def estimators_(self) -> tuple:
        return tuple(cell.estimator for cell in self.cells)

    @property
    def failed_(self) -> tuple[SelectionCell, ...]:
        return tuple(cell for cell in self.cells if cell.failed)

    def rank_by(self, criterion: str) -> ModelSelection:
        """The same fits ranked by another criterion (nothing is refitted)."""
        return ModelSelection(
            self.cells, criterion, self.n_components, self.covariance_types, self.estimator_name
        )

    # -- the table --------------------------------------------------------------------
    @property
    def table(self) -> dict[str, np.ndarray]:
        """The grid as columns (see :data:`COLUMNS`), one row per cell in grid order.

        ``n_components``, ``n_parameters``, ``n_iter``: int; ``log_likelihood``,
        ``bic``, ``aic``, ``icl``, ``seconds``: float (NaN where a fit failed);
        ``converged``: bool; ``covariance_type`` and ``error``: object arrays of str or
        None.
        """
        cells = self.cells
        kinds = {
            "n_components": np.int64,
            "n_parameters": np.int64,
            "n_iter": np.int64,
            "converged": bool,
            "covariance_type": object,
            "error": object,
        }
        return {
            name: np.array([getattr(cell, name) for cell in cells], dtype=kinds.get(name, float))
            for name in COLUMNS
        }

    def to_frame(self) -> pandas.DataFrame:
        """The table as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "ModelSelection.to_frame needs pandas; install it, or use the dict of "
                "columns ModelSelection.table"
            ) from exc
        return pd.DataFrame(self.table)

    def grid(self, criterion: str | None = None) -> np.ndarray:
        """A criterion as a matrix of shape (n_covariance_types, n_n_components).

        Row c, column j is the fit with ``covariance_types[c]`` and
        ``n_components[j]``; NaN where it failed. Default: :attr:`criterion`.
        """
        name = self.criterion if criterion is None else _check_criterion(criterion)
        values = np.array([cell.criterion(name) for cell in self.cells])
        return values.reshape(len(self.n_components), len(self.covariance_types)).T.copy()

    def format_table(self) -> str:
        """The table as aligned text: one line per fit, ``*`` at the best, failed fits with
        their error."""
        has_types = self.covariance_types != (None,)
        header = ["", "K", *(["covariance"] if has_types else []), "log-lik", "params"]
        header += [name.upper() for name in CRITERIA] + ["iter"]
        rows = []
        for index, cell in enumerate(self.cells):
            row = ["*" if index == self.best_index_ else "", str(cell.n_components)]
            if has_types:
                row.append(str(cell.covariance_type))
            if cell.failed:
                row.append(f"failed: {cell.error}")
            else:
                row += [f"{cell.log_likelihood:.4f}", str(cell.n_parameters)]
                row += [_number(cell.criterion(name)) for name in CRITERIA]
                row.append(f"{cell.n_iter}{'' if cell.converged else ' (not converged)'}")
            rows.append(row)
        return _aligned(header, rows)

    def __str__(self) -> str:
        best = ", ".join(f"{k}={v}" for k, v in self.best_params_.items())
        return (
            f"{self.format_table()}\nbest by {self.criterion.upper()} (lower is better): "
            f"{self.estimator_name}({best}), {self.criterion.upper()} {self.best_score_:.4f}"
        )

    def __repr__(self) -> str:
        return (
            f"ModelSelection({self.estimator_name}, criterion={self.criterion!r}, "
            f"n_components={list(self.n_components)}, "
            f"covariance_types={list(self.covariance_types)}, best={self.best_params_}, "
            f"failed={len(self.failed_)})"
        )


def _number(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.4f}"


def _aligned(header: list[str], rows: list[list[str]]) -> str:
    """Columns right-aligned to their widest cell; a last cell wider than its column (a
    failed fit's message) runs on."""
    width = len(header)
    sizes = [
        max([len(header[j])] + [len(r[j]) for r in rows if len(r) == width]) for j in range(width)
    ]
    lines = []
    for row in [header, *rows]:
        cells = [cell.rjust(sizes[j]) for j, cell in enumerate(row[:-1])]
        last = row[-1] if len(row) < width else row[-1].rjust(sizes[len(row) - 1])
        lines.append("  ".join([*cells, last]).rstrip())
    return "\n".join(lines)


# -- checks ---------------------------------------------------------------------------
def _check_criterion(criterion) -> str:
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(
            f"criterion={criterion!r} is not a known criterion: give one of "
            f"{', '.join(repr(c) for c in CRITERIA)} (every one: lower is better)"
        )
    return criterion.lower()


def _template(estimator):
    """An unfitted copy of ``estimator`` (a class or an instance); None: GaussianMixture."""
    if estimator is None:
        from emkit.estimators.gaussian_mixture import GaussianMixture

        return GaussianMixture()
    if inspect.isclass(estimator):
        return estimator()
    if not hasattr(estimator, "get_params"):
        raise TypeError(
            f"estimator={estimator!r} is neither an estimator class nor an estimator: "
            "give e.g. emkit.GaussianMixture or emkit.GaussianMixture(reg_covar=1e-4)"
        )
    return clone(estimator)


def _check_n_components(n_components, n_samples: int) -> tuple[int, ...]:
    if isinstance(n_components, Integral) and not isinstance(n_components, bool):
        n_components = [n_components]
    if isinstance(n_components, (str, bytes)) or not isinstance(n_components, Iterable):
        raise TypeError(
            f"n_components={n_components!r}: give an integer or a sequence of integers, "
            "e.g. range(1, 10)"
        )
    values = list(n_components)
    if not values:
        raise ValueError("n_components is empty: give at least one number of components")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(
                f"n_components holds {value!r}: every number of components must be an integer >= 1"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"n_components={values} repeats a value: give each number once")
    largest = max(values)
    if largest > n_samples:
        raise ValueError(
            f"n_components holds {largest}, but X has {n_samples} "
            f"sample{'' if n_samples == 1 else 's'}: a mixture "
            f"needs at least as many samples as components; give n_components <= "
            f"{n_samples} or more rows"
        )
    return tuple(sorted(int(v) for v in values))


def _covariance_options(template) -> tuple[str, ...] | None:
    """The covariance types the estimator's class accepts, in its documented order; None
    when it has no ``covariance_type``."""
    if "covariance_type" not in template.get_params():
        return None
    order = ("full", "tied", "diag", "spherical")
    constraints = getattr(type(template), "_parameter_constraints", {}).get("covariance_type")
    names: set[str] = set()
    for rule in constraints or ():
        names |= set(getattr(rule, "options", ()))
    if not names:
        return order
    return tuple(n for n in order if n in names) + tuple(sorted(names - set(order)))


def _check_covariance_types(covariance_type, template) -> tuple[str | None, ...]:
    options = _covariance_options(template)
    name = type(template).__name__
    if options is None:
        if covariance_type is not None:
            raise ValueError(
                f"covariance_type={covariance_type!r}, but {name} has no covariance_type "
                "parameter: leave covariance_type=None for it"
            )
        return (None,)
    if covariance_type is None:
        return options
    if isinstance(covariance_type, str):
        covariance_type = [covariance_type]
    values = list(covariance_type)
    if not values:
        raise ValueError(
            "covariance_type is empty: give at least one of "
            f"{', '.join(repr(o) for o in options)}, or None for all of them"
        )
    for value in values:
        if value not in options:
            raise ValueError(
                f"covariance_type holds {value!r}, which {name} does not have: give "
                f"some of {', '.join(repr(o) for o in options)}"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"covariance_type={values} repeats a value: give each type once")
    return tuple(values)


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.shape(X)
    if len(shape) != 2:
        raise ValueError(
            f"X must be 2-D, of shape (n_samples, n_features); got shape {tuple(shape)} "
            "(reshape a single feature with X.reshape(-1, 1))"
        )
    if shape[0] == 0:
        raise ValueError("X has no rows: give at least one sample")
    return int(shape[0])


# -- fitting the grid -------------------------------------------------------------------
def _seeds(random_state, n_cells: int) -> list:
    """One random_state per cell: an int (or None) is shared by every cell, as if each
    were fitted by hand with it; a RandomState or Generator gives each cell its own seed,
    drawn in grid order before any fit, so that threads cannot change them."""
    if random_state is None or isinstance(random_state, Integral):
        return [random_state] * n_cells
    if isinstance(random_state, np.random.Generator):
        draws = random_state.integers(2**31 - 1, size=n_cells)
    else:
        draws = check_random_state(random_state).randint(2**31 - 1, size=n_cells)
    return [int(seed) for seed in draws]


def _fit_cell(template, X, params: dict, overrides: dict, criteria: dict):
    """(the cell, the exception of its failed fit or None)."""
    start = time.perf_counter()
    cell = {
        "n_components": params["n_components"],
        "covariance_type": params.get("covariance_type"),
    }
    try:
        estimator = clone(template).set_params(**params, **overrides)
        estimator.fit(X)
        n_samples = _n_rows(X)
        log_likelihood = float(estimator.score(X)) * n_samples
        values = {name: float(method(estimator, X)) for name, method in criteria.items()}
        values_of = {"log-likelihood": log_likelihood, **values}
        bad = {name: value for name, value in values_of.items() if not math.isfinite(value)}
        if bad:
            raise FloatingPointError(
                "the fitted model's "
                + ", ".join(f"{name} is {value}" for name, value in bad.items())
                + ": the fit is not usable (scale the data or raise reg_covar)"
            )
    except Exception as exc:  # a failed cell is recorded, not fatal
        return SelectionCell(
            **cell,
            estimator=None,
            seconds=time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}",
        ), exc
    n_parameters = getattr(estimator, "_n_parameters", None)
    return SelectionCell(
        **cell,
        estimator=estimator,
        log_likelihood=log_likelihood,
        n_parameters=-1 if n_parameters is None else int(n_parameters()),
        converged=bool(getattr(estimator, "converged_", True)),
        n_iter=int(getattr(estimator, "n_iter_", 0)),
        seconds=time.perf_counter() - start,
        **values,
    ), None


def _criterion_methods(template, criterion: str) -> dict:
    methods = {}
    for name in CRITERIA:
        method = getattr(type(template), name, None)
        if callable(method):
            methods[name] = method
    if criterion not in methods:
        raise ValueError(
            f"criterion={criterion!r}, but {type(template).__name__} has no {criterion}(X) "
            "method: choose another criterion or an emkit mixture estimator"
        )
    return methods


def select_model(
    X: ArrayLike,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_type: str | Iterable[str] | None = None,
    criterion: str = "bic",
    *,
    estimator: Any = None,
    random_state: RandomStateLike = None,
    n_jobs: int | None = None,
) -> ModelSelection:
    """Fit a mixture for every number of components and covariance type; keep the best.

    Like R's ``mclust::Mclust()``: every cell of the grid ``n_components x
    covariance_type`` is fitted by EM and scored by BIC, AIC and ICL (all three are in
    the table; ``criterion`` picks the best). Lower is better for every criterion,
    as for :meth:`emkit.GaussianMixture.bic` (mclust reports minus emkit's BIC).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data, as the estimator's ``fit`` takes it.
    n_components : int or sequence of int, default=range(1, 10)
        Numbers of components to try (mclust's ``G = 1:9``).
    covariance_type : str or sequence of str, optional
        Covariance types to try, for estimator classes that have the parameter
        (GaussianMixture, StudentMixture). Default: every type the class has
        ("full", "tied", "diag", "spherical"); must stay None for a class without one.
    criterion : {"bic", "aic", "icl"}, default="bic"
        What the best fit minimises. ICL (:meth:`~emkit.GaussianMixture.icl`) adds
        twice the entropy of the classification to BIC: it prefers well-separated
        clusters to a better density.
    estimator : estimator class or unfitted estimator, default=GaussianMixture
        The mixture to fit: a class (fitted with its defaults) or an instance whose
        other hyperparameters (``n_init``, ``reg_covar``, ``max_iter``, a prior, ...)
        every cell keeps; ``n_components`` and ``covariance_type`` are set per cell.
        Any emkit mixture works (GaussianMixture, StudentMixture,
        MixtureOfFactorAnalyzers, the count mixtures), and any estimator with
        ``n_components``, ``fit``, ``score`` and the criterion's method.
    random_state : int, RandomState, Generator or None
        An int starts every cell from that seed, exactly as fitting the cell by hand
        with ``random_state=seed`` does; a RandomState or Generator draws one seed per
        cell, in grid order, before fitting. None: the estimator's own
        ``random_state`` (fresh randomness when that is None too).
    n_jobs : int or None, default=None
        Threads that fit cells side by side: -1 (or None) every core, -2 all but one.
        With more than one thread every fit runs its E-steps on one thread. The
        result does not depend on ``n_jobs``.

    Returns
    -------
    ModelSelection
        ``.table`` (dict of columns; ``.to_frame()`` with pandas), ``.best_estimator_``,
        ``.best_params_``, ``.best_score_``, ``.cells`` (every fit, its criteria and
        its error if it failed), ``.grid()`` (a criterion as a covariance type x K
        matrix).

    Raises
    ------
    ValueError
        For an empty grid, an unknown criterion or covariance type, more components
        than rows, or when every fit fails (then the fits' error itself when they all
        failed alike).

    Notes
    -----
    A failed fit (a component collapsing, a numerical error) does not stop the
    others: its cell keeps ``estimator=None``, NaN criteria and the error's message.
    The fits release the GIL in emkit's numba kernels, so threads run them in parallel.
    """
    criterion = _check_criterion(criterion)
    template = _template(estimator)
    methods = _criterion_methods(template, criterion)
    n_samples = _n_rows(X)
    components = _check_n_components(n_components, n_samples)
    covariance_types = _check_covariance_types(covariance_type, template)
    grid = [
        {"n_components": k, **({} if c is None else {"covariance_type": c})}
        for k in components
        for c in covariance_types
    ]
    n_threads = min(effective_n_jobs(n_jobs), len(grid))
    if random_state is None:
        random_state = template.get_params().get("random_state")
    seeds = _seeds(random_state, len(grid))
    shared = {}
    if "verbose" in template.get_params():
        shared["verbose"] = 0  # progress bars of side-by-side fits would interleave
    if n_threads > 1 and "n_jobs" in template.get_params():
        shared["n_jobs"] = 1  # the threads are the cells'; one each, no oversubscription

    def fit(index: int):
        overrides = dict(shared)
        if "random_state" in template.get_params():
            overrides["random_state"] = seeds[index]
        return _fit_cell(template, X, grid[index], overrides, methods)

    if n_threads == 1:
        results = [fit(i) for i in range(len(grid))]
    else:
        with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="emkit-select") as pool:
            results = list(pool.map(fit, range(len(grid))))
    cells = [cell for cell, _ in results]
    errors = [exc for _, exc in results if exc is not None]
    if len(errors) == len(cells):
        messages = {cell.error for cell in cells}
        if len(messages) == 1:  # the same problem everywhere: the data or a parameter
            raise errors[0]
        first = cells[0]
        raise ValueError(
            f"every fit of the grid failed; the first, {first.params}, with {first.error}"
        ) from errors[0]
    return ModelSelection(cells, criterion, components, covariance_types, type(template).__name__)
