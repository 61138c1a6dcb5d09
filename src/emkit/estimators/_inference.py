r"""Standard errors, confidence intervals and a summary table for fitted EM estimators.

**Method.** The observed information :math:`-\nabla^2 \ell(\hat\theta)` is computed
by :func:`emkit.core.information.observed_information`: the score by Fisher's
identity (the gradient of EM's :math:`Q` on the E-step's statistics, no extra pass
over the data), and its Jacobian by central differences, one E-step on either side of
every free coordinate (``2 p + 1`` E-steps for ``p`` free coordinates, and
``O(p^2)`` evaluations of :math:`Q`, which need no data). This differentiates the
log-likelihood at the optimum (not Louis' formula, not SEM), numerically once.

**Free coordinates.** The information is taken in coordinates without constraints,
each a *linear* map of the natural parameters, so that the standard errors of every
natural entry follow from the covariance of the free coordinates by the delta method
exactly (:math:`\mathrm{Var}(J u) = J V J^\top` with a constant :math:`J`):

- probability vectors (``weights_``, ``startprob_``, rows of ``transmat_`` and of
  ``emissionprob_``): all entries but one (the largest), which is one minus the
  others;
- Bernoulli probabilities, Poisson rates, means, matrices: every entry;
- covariance matrices: the symmetric matrices :math:`L (E_{ij} + E_{ji}) L^\top`
  (:math:`L` the fitted Cholesky factor, :math:`i \ge j`), a basis of the symmetric
  matrices scaled to the fitted one; diagonal and spherical covariances: their
  variances (a state-space model's diagonal or spherical ``*_covariance_type``: the
  diagonal, or the one common variance);
- parameters that are not learned (``learn=``) are left out, and are absent from the
  results.

**Boundaries.** A parameter on the boundary of its space has no Wald standard error.
A probability below ``boundary_tol`` (or a Bernoulli probability within it of 1), a
rate below ``boundary_tol`` times the largest rate of its parameter, and a covariance
whose smallest eigenvalue is at most twice ``reg_covar`` (or below ``boundary_tol``
times its largest) are held at their values: their standard errors are NaN, the
others' are conditional on them, and a :class:`BoundaryWarning` names them (the one
entry of a probability vector left off the boundary is then NaN too: it is one minus
the others). A probability that is exactly 0 (a transition that the start forbade,
which EM never changes) is structural: standard error 0, no warning.

**Other warnings** (:class:`InferenceWarning`): an information matrix that is not
positive definite (not a maximum, or parameters that the data do not identify; the
directions concerned get NaN), and a fit that is not at a stationary point (the
Newton step from the estimates exceeds a tenth of a standard error in some
coordinate: fit with a smaller ``tol``).

With a prior (``weight_prior``, ``*_prior_strength``, ...), the curvature is the
log-posterior's: the standard errors are those of the Laplace approximation at the
MAP estimate.
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
import warnings

import numpy as np

from emkit.core.information import DEFAULT_STEP, observed_information
from emkit.estimators._parameters import (
    any_finite,
    non_negative,
    probabilities,
    unit_interval,
)

__all__ = [
    "BoundaryWarning",
    "FitInference",
    "InferenceWarning",
    "Summary",
    "fit_inference",
]

#: default threshold below which a probability (or a relative rate, eigenvalue) is on
#: the boundary of its space
BOUNDARY_TOL = 1e-6
#: a Newton step beyond this many standard errors means the fit is not at a maximum
STATIONARY_TOL = 0.1


class InferenceWarning(UserWarning):
    """Standard errors that may not mean what they say (see :mod:`._inference`)."""


class BoundaryWarning(InferenceWarning):
    """A parameter lies on the boundary of its space: its standard error is NaN."""


# -- free coordinates ---------------------------------------------------------------------
@dataclasses.dataclass
class _Block:
    """One learned parameter: its stored value, the columns of its part of J (flat
    indices into the value and coefficients, scaled to the value), and its entries on a
    boundary (NaN standard errors)."""

    parameter: object
    value: np.ndarray
    columns: list
    boundary: np.ndarray
    #: a stack of symmetric matrices (the summary lists their lower triangles)
    symmetric: bool = False


def _covariance_structure(estimator, parameter):
    """(structure, stored_as_matrices, floor) of a covariance parameter: the covariance
    type that governs it, whether it is stored as full matrices whatever that type
    (a state-space model's), and the absolute floor of its eigenvalues (reg_covar)."""
    own = getattr(estimator, f"{parameter.name[:-1]}_type", None)
    if own is not None:  # LinearGaussianSSM's Q and R: full matrices with a structure
        return own, True, 0.0
    kind = getattr(estimator, "covariance_type", None)
    if kind is None:  # full matrices of no declared structure (LinearGaussianSSM's P0)
        return "full", True, 0.0
    return kind, kind in ("full", "tied"), float(getattr(estimator, "reg_covar", 0.0) or 0.0)


def _simplex(value, tol):
    columns, boundary = [], np.zeros(value.shape, dtype=bool)
    last = value.shape[-1]
    flat = value.reshape(-1, last)
    for r, row in enumerate(flat):
        base = r * last
        interior = np.flatnonzero(row >= tol)
        near = (row > 0) & (row < tol)
        if interior.size == 1 and near.any():
            near[interior] = True  # one minus the entries on the boundary: no freedom left
        boundary.reshape(-1, last)[r] = near
        if interior.size < 2:
            continue
        dependent = interior[np.argmax(row[interior])]
        for j in interior:
            if j != dependent:
                scale = min(row[j], row[dependent])
                columns.append((np.array([base + j, base + dependent]), np.array([scale, -scale])))
    return columns, boundary


def _elementwise(value, boundary, scales):
    return [
        (np.array([i]), np.array([scales.flat[i]]))
        for i in range(value.size)
        if not boundary.flat[i]
    ], boundary


def _free_scales(value):
    rms = float(np.sqrt(np.mean(value**2))) if value.size else 0.0
    scales = np.maximum(np.abs(value), rms)
    return np.where(scales > 0, scales, 1.0)


def _matrices(value, structure, floor, tol):
    """Columns for a stack of symmetric matrices (..., D, D) of the given structure."""
    D = value.shape[-1]
    columns, boundary = [], np.zeros(value.shape, dtype=bool)
    stack = value.reshape(-1, D, D)
    for m, matrix in enumerate(stack):
        base = m * D * D
        eigenvalues = np.linalg.eigvalsh(matrix)
        if eigenvalues[0] <= max(2.0 * floor, tol * eigenvalues[-1]):
            boundary.reshape(-1, D, D)[m] = True
            continue
        if structure == "spherical":
            diagonal = base + np.arange(D) * (D + 1)
            columns.append((diagonal, np.full(D, matrix[0, 0])))
            continue
        if structure == "diag":
            columns.extend(
                (np.array([base + i * (D + 1)]), np.array([matrix[i, i]])) for i in range(D)
            )
            continue
        chol = np.linalg.cholesky(matrix)
        for i in range(D):
            for j in range(i + 1):
                unit = np.zeros((D, D))
                unit[i, j] = 1.0
                direction = chol @ (unit + unit.T) @ chol.T / (2.0 if i == j else 1.0)
                nonzero = np.flatnonzero(direction)
                columns.append((base + nonzero, direction.ravel()[nonzero]))
    return columns, boundary


def _block(estimator, parameter, value, tol) -> _Block:
    check = parameter.check
    if check is probabilities:
        columns, boundary = _simplex(value, tol)
        return _Block(parameter, value, columns, boundary)
    if check is unit_interval:
        boundary = (value < tol) | (value > 1.0 - tol)
        scales = np.minimum(value, 1.0 - value)
        columns, boundary = _elementwise(value, boundary, scales)
        return _Block(parameter, value, columns, boundary)
    if check is non_negative:
        boundary = value <= tol * (value.max() if value.size else 0.0)
        columns, boundary = _elementwise(value, boundary, np.abs(value))
        return _Block(parameter, value, columns, boundary)
    if parameter.name.endswith(("covariance_", "covariances_")):
        structure, as_matrices, floor = _covariance_structure(estimator, parameter)
        if as_matrices:
            columns, boundary = _matrices(value, structure, floor, tol)
        else:  # variances (diag, spherical), each one free
            top = value.max() if value.size else 0.0
            boundary = value <= max(2.0 * floor, tol * top)
            columns, boundary = _elementwise(value, boundary, np.abs(value))
        return _Block(parameter, value, columns, boundary, as_matrices)
    if check is any_finite:
        columns, boundary = _elementwise(
            value, np.zeros(value.shape, dtype=bool), _free_scales(value)
        )
        return _Block(parameter, value, columns, boundary)
    raise NotImplementedError(
        f"standard errors of {parameter.name} (a parameter of "
        f"{type(estimator).__name__}) are not implemented: its constraint has no free "
        "parametrisation here; leave it out of learn"
    )


def _learned_blocks(estimator, tol) -> list:
    learned = frozenset(getattr(estimator.model_, "learn", ()))
    blocks = []
    for parameter in type(estimator)._parameter_attributes():
        if not parameter.saved or parameter.field.rsplit(".", 1)[-1] not in learned:
            continue
        value = np.asarray(estimator._parameter_value(parameter.field), dtype=np.float64)
        if value.size == 0:
            continue
        blocks.append(_block(estimator, parameter, value, tol))
    return blocks


# -- the result -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FitInference:
    """Estimates, their standard errors and the fit's statistics, for one data set.

    Attributes
    ----------
    estimator : str
        The estimator's class name.
    estimates : dict of ndarray
        Keyed by the public attribute (``"weights_"``, ...), each of its shape; only
        learned parameters.
    standard_errors : dict of ndarray
        The same keys and shapes. NaN on a boundary, 0 for structural values (a
        probability that is exactly 0, an off-diagonal entry of a diagonal
        covariance, a component's only state).
    boundary : dict of ndarray of bool
        Entries held on a boundary.
    covariance : ndarray of shape (n_free, n_free)
        Covariance of the free coordinates ``u`` (the inverse observed information).
    jacobian : ndarray of shape (n_entries, n_free)
        The natural entries (every learned parameter, raveled, in the order of
        ``estimates``) are their estimates plus ``jacobian @ u``.
    log_likelihood : float
        On the data given, at the estimates.
    log_prior : float
        0 for maximum likelihood.
    n_samples : float
        Rows (or their total weight).
    n_parameters : int
        Free parameters counted by the estimator's ``bic``.
    aic : float
    bic : float
    icl : float
        NaN where it is not defined (models other than mixtures, weighted or
        labelled data).
    n_iter : int or None
        The fit's iterations (None for parameters set by hand).
    converged : bool or None
    score : ndarray of shape (n_free,)
        The gradient of the objective at the estimates (about 0 at a maximum).
    n_e_steps : int
        E-steps the computation ran.
    symmetric : tuple of str
        The parameters that are symmetric matrices.
    """

    estimator: str
    estimates: dict
    standard_errors: dict
    boundary: dict
    covariance: np.ndarray
    jacobian: np.ndarray
    log_likelihood: float
    log_prior: float
    n_samples: float
    n_parameters: int
    aic: float
    bic: float
    icl: float
    n_iter: int | None
    converged: bool | None
    score: np.ndarray
    n_e_steps: int
    symmetric: tuple = ()

    def confidence_intervals(self, alpha: float = 0.05) -> dict:
        """Wald intervals ``estimate ± z_{1 - alpha/2} se``: a dict of arrays of shape
        ``(*parameter_shape, 2)`` holding (lower, upper) on the last axis."""
        from scipy.stats import norm

        if not 0.0 < float(alpha) < 1.0:
            raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
        z = float(norm.ppf(1.0 - float(alpha) / 2.0))
        return {
            name: np.stack(
                [value - z * self.standard_errors[name], value + z * self.standard_errors[name]],
                axis=-1,
            )
            for name, value in self.estimates.items()
        }

    def summary(self, alpha: float = 0.05) -> Summary:
        """A :class:`Summary` table, as statsmodels' ``summary()``."""
        return Summary(self, alpha)


def _entry_label(name, index) -> str:
    return f"{name}[{', '.join(str(i) for i in index)}]" if index else name


class Summary:
    """A printable summary of a fit: the fit's statistics and a table of every learned
    parameter entry (estimate, standard error, z, P>|z| and the Wald interval).

    ``str(summary)`` (or ``print(summary)``) gives the text; ``rows`` holds the table
    as tuples (label, estimate, se, z, p, lower, upper). Symmetric matrices list
    their lower triangle only; structural values (standard error exactly 0 at an
    estimate of exactly 0) are left out.
    """

    def __init__(self, inference: FitInference, alpha: float = 0.05):
        from scipy.stats import norm

        self.inference = inference
        self.alpha = float(alpha)
        intervals = inference.confidence_intervals(alpha)
        rows = []
        for name, value in inference.estimates.items():
            se = inference.standard_errors[name]
            symmetric = name in inference.symmetric
            for index in np.ndindex(value.shape):
                if symmetric and index[-1] > index[-2]:
                    continue
                estimate, error = float(value[index]), float(se[index])
                if error == 0.0 and estimate == 0.0:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    z = estimate / error if error > 0 else np.nan
                p = float(2.0 * norm.sf(abs(z))) if np.isfinite(z) else np.nan
                lower, upper = intervals[name][index]
                rows.append(
                    (_entry_label(name, index), estimate, error, z, p, float(lower), float(upper))
                )
        self.rows = rows

    def _header(self) -> list:
        inf = self.inference
        left = [
            ("Model:", inf.estimator),
            ("No. observations:", f"{inf.n_samples:g}"),
            ("No. parameters:", str(inf.n_parameters)),
            ("Iterations:", "-" if inf.n_iter is None else str(inf.n_iter)),
            ("Converged:", "-" if inf.converged is None else str(bool(inf.converged))),
        ]
        right = [
            ("Log-likelihood:", f"{inf.log_likelihood:.3f}"),
            ("AIC:", f"{inf.aic:.3f}"),
            ("BIC:", f"{inf.bic:.3f}"),
            ("ICL:", "-" if not np.isfinite(inf.icl) else f"{inf.icl:.3f}"),
            ("Covariance:", "observed information"),
        ]
        return [
            f"{a:<18}{b:>20}    {c:<16}{d:>22}" for (a, b), (c, d) in zip(left, right, strict=True)
        ]

    def as_text(self) -> str:
        """The summary as text (what ``str`` gives)."""
        low, high = self.alpha / 2.0, 1.0 - self.alpha / 2.0
        width = max([28, *(len(row[0]) + 2 for row in self.rows)])
        title = f"{self.inference.estimator} results"
        head = (
            f"{'':<{width}}{'coef':>12}{'std err':>11}{'z':>9}{'P>|z|':>8}"
            f"{f'[{low:.3g}':>12}{f'{high:.3g}]':>12}"
        )
        line = max(len(head), 80)
        out = [title.center(line), "=" * line, *self._header(), "=" * line, head, "-" * line]
        for label, estimate, se, z, p, lower, upper in self.rows:
            out.append(
                f"{label:<{width}}{_number(estimate):>12}{_number(se):>11}"
                f"{_fixed(z, 3):>9}{_fixed(p, 3):>8}{_number(lower):>12}{_number(upper):>12}"
            )
        out.append("=" * line)
        notes = []
        flagged = [name for name, mask in self.inference.boundary.items() if mask.any()]
        if flagged:
            notes.append(
                f"On a boundary (standard error NaN, the others conditional on them): "
                f"{', '.join(flagged)}."
            )
        if self.inference.log_prior != 0.0:
            notes.append("MAP fit: standard errors from the curvature of the log-posterior.")
        notes.append(
            "Standard errors: observed information, the Jacobian of the EM score "
            "(Fisher's identity) by central differences."
        )
        for i, note in enumerate(notes):
            out.extend(
                textwrap.wrap(note, line, initial_indent=f"[{i + 1}] ", subsequent_indent="    ")
            )
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-3):
        return f"{value:.4e}"
    return f"{value:.4f}"


def _fixed(value: float, digits: int) -> str:
    return "nan" if not np.isfinite(value) else f"{value:.{digits}f}"


# -- the computation -------------------------------------------------------------------------
def _check_supported(estimator) -> None:
    from emkit.estimators._mixture_base import MixtureEstimator
    from emkit.estimators.hmm._base import BaseHMM
    from emkit.estimators.lgssm import LinearGaussianSSM
    from emkit.estimators.student_mixture import StudentMixture

    name = type(estimator).__name__
    supported = isinstance(estimator, (MixtureEstimator, BaseHMM, LinearGaussianSSM))
    if not supported or isinstance(estimator, StudentMixture):
        raise NotImplementedError(
            f"standard errors are not implemented for {name}: they are available for the "
            "Gaussian and count mixtures, the HMMs and LinearGaussianSSM"
        )
    if getattr(estimator, "assignment", "soft") != "soft":
        raise ValueError(
            f"{name}(assignment={estimator.assignment!r}) maximises the classification "
            "likelihood, for which the observed information of the likelihood does not "
            "apply; fit with assignment='soft'"
        )


def _data_arguments(estimator, X, args, kwargs) -> dict:
    """The data keywords of the estimator's ``fit`` (lengths, sample_weight, y, U, ...)
    bound from ``(X, *args, **kwargs)``."""
    signature = inspect.signature(estimator.fit)
    bound = signature.bind(X, *args, **kwargs)
    arguments = dict(bound.arguments)
    arguments.pop("X", None)
    arguments.pop("callback", None)
    return arguments


def fit_inference(
    estimator,
    X,
    *args,
    step: float = DEFAULT_STEP,
    boundary_tol: float = BOUNDARY_TOL,
    **kwargs,
) -> FitInference:
    """Standard errors and fit statistics of a fitted estimator on its training data.

    ``X`` and the further arguments are those of the estimator's ``fit`` (``lengths``,
    ``sample_weight``, ``y``, ``U``, ...): the observed information is that of this
    data at the estimator's current parameters. See the module docstring.
    """
    estimator._check_fitted()
    _check_supported(estimator)
    data_args = _data_arguments(estimator, X, args, kwargs)
    state = dict(estimator.__dict__)
    try:  # the hooks may record what they see (dimensions): leave the estimator as it was
        data = estimator._prepare_data(X, warm=True, **data_args)
        return _inference(estimator, data, X, data_args, step, boundary_tol)
    finally:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)


def _inference(estimator, data, X, data_args, step, boundary_tol) -> FitInference:
    model = estimator.model_
    blocks = _learned_blocks(estimator, boundary_tol)
    columns = [(b, idx, coef) for b in blocks for idx, coef in b.columns]
    offsets = np.cumsum([0, *(b.value.size for b in blocks)])
    n_free, n_entries = len(columns), int(offsets[-1])
    jacobian = np.zeros((n_entries, n_free))
    position = {id(b): offsets[i] for i, b in enumerate(blocks)}
    for j, (block, idx, coef) in enumerate(columns):
        jacobian[position[id(block)] + idx, j] = coef
    base = np.concatenate([b.value.ravel() for b in blocks]) if blocks else np.zeros(0)
    values = estimator._parameter_values()

    def make(u):
        natural = base + jacobian @ u
        current = dict(values)
        for i, block in enumerate(blocks):
            entries = natural[offsets[i] : offsets[i + 1]]
            current[block.parameter.field] = entries.reshape(block.value.shape)
        return estimator._assemble(current)[1]

    result = observed_information(
        model, data.chunks, make, n_free, step=step, n_jobs=estimator._n_threads()
    )
    covariance, bad = _inverse(result.information)
    variances = np.einsum("ij,jk,ik->i", jacobian, covariance, jacobian)
    if bad.any():
        # a natural entry that depends on an undetermined direction has no standard error
        affected = np.abs(jacobian[:, bad]).sum(axis=1) > 0
        variances[affected] = np.nan
    errors = np.sqrt(np.maximum(variances, 0.0))
    _check_stationary(estimator, result, covariance, bad)
    _check_consistent(estimator, result, step)

    estimates, standard_errors, boundary, flagged, symmetric = {}, {}, {}, [], []
    for i, block in enumerate(blocks):
        p = block.parameter
        se = errors[offsets[i] : offsets[i + 1]].reshape(block.value.shape)
        se = np.where(block.boundary, np.nan, se)
        mask = block.boundary
        if p.from_field is not None:
            se, mask = p.from_field(estimator, se), p.from_field(estimator, mask)
        estimates[p.name] = np.array(getattr(estimator, p.name))
        standard_errors[p.name] = np.asarray(se)
        boundary[p.name] = np.asarray(mask)
        if mask.any():
            flagged.append(f"{p.name} at {[tuple(int(k) for k in w) for w in np.argwhere(mask)]}")
        if block.symmetric:
            symmetric.append(p.name)
    if flagged:
        warnings.warn(
            "parameters on the boundary of their space (a probability or rate near 0, a "
            "covariance at its floor): their standard errors are NaN and the others are "
            f"conditional on their values: {'; '.join(flagged)}",
            BoundaryWarning,
            stacklevel=4,
        )
    aic, bic, icl, n_parameters = _criteria(estimator, X, data, data_args, result, n_free)
    return FitInference(
        estimator=type(estimator).__name__,
        estimates=estimates,
        standard_errors=standard_errors,
        boundary=boundary,
        covariance=covariance,
        jacobian=jacobian,
        log_likelihood=result.log_likelihood,
        log_prior=result.log_prior,
        n_samples=float(data.n_samples),
        n_parameters=n_parameters,
        aic=aic,
        bic=bic,
        icl=icl,
        n_iter=getattr(estimator, "n_iter_", None),
        converged=getattr(estimator, "converged_", None),
        score=result.score,
        n_e_steps=result.n_e_steps,
        symmetric=tuple(symmetric),
    )


def _inverse(information):
    """(covariance, undetermined coordinates): the inverse on the positive eigenspace."""
    n = information.shape[0]
    if n == 0:
        return np.zeros((0, 0)), np.zeros(0, dtype=bool)
    eigenvalues, vectors = np.linalg.eigh(information)
    positive = eigenvalues > 1e-12 * max(abs(eigenvalues).max(), 1e-300)
    bad = np.zeros(n, dtype=bool)
    if not positive.all():
        bad = np.abs(vectors[:, ~positive]).max(axis=1) > 1e-6
        warnings.warn(
            f"the observed information has {int((~positive).sum())} non-positive "
            "eigenvalue(s): the fit is not at a maximum, or the data do not identify some "
            "parameters; their standard errors are NaN",
            InferenceWarning,
            stacklevel=5,
        )
    inverse = (vectors[:, positive] / eigenvalues[positive]) @ vectors[:, positive].T
    return inverse, bad


def _check_stationary(estimator, result, covariance, bad) -> None:
    if not result.score.size:
        return
    newton = covariance @ result.score
    scale = np.sqrt(np.maximum(np.diag(covariance), 1e-300))
    worst = float(np.max(np.where(bad, 0.0, np.abs(newton) / scale)))
    if worst > STATIONARY_TOL:
        warnings.warn(
            f"{type(estimator).__name__} is not at a stationary point of its objective: a "
            f"Newton step would move a parameter by {worst:.2g} standard errors. Standard "
            "errors describe the curvature at a maximum; fit with a smaller tol (or more "
            "max_iter) first",
            InferenceWarning,
            stacklevel=5,
        )


def _check_consistent(estimator, result, step) -> None:
    """Warn when the score's Jacobian and second differences of the log-likelihood (on
    the same E-steps) disagree on the diagonal: the model's expected_log_joint is then
    not the expected complete-data log-likelihood of its E-step (Fisher's identity
    fails, e.g. for a variational E-step)."""
    diagonal = np.diag(result.information)
    noise = 100.0 * np.finfo(float).eps * abs(result.log_likelihood) / step**2
    gap = np.abs(result.diagonal_check - diagonal)
    if np.any(gap > 1e-2 * np.abs(diagonal) + noise):
        warnings.warn(
            f"{type(estimator.model_).__name__}'s expected_log_joint does not reproduce the "
            "curvature of its log-likelihood (second differences of the E-step's "
            f"log-likelihood differ by up to {float(np.max(gap / np.abs(diagonal))):.2g} "
            "relative): Fisher's identity does not hold for this model, and the standard "
            "errors are not reliable",
            InferenceWarning,
            stacklevel=5,
        )


def _criteria(estimator, X, data, data_args, result, n_free):
    """(AIC, BIC, ICL, number of parameters) on the training data, from the
    log-likelihood already computed and the parameters the estimator's own bic counts."""
    counted = getattr(estimator, "_n_parameters", None)
    k = int(counted()) if counted is not None else n_free
    ll = result.log_likelihood
    aic = -2.0 * ll + 2.0 * k
    bic = -2.0 * ll + k * np.log(data.n_rows)
    icl = np.nan
    plain = all(v is None for v in data_args.values())
    if hasattr(estimator, "icl") and plain:
        icl = float(estimator.icl(X))
    return aic, bic, icl, k
