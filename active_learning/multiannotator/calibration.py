"""Temperature calibration of model probabilities before CROWDLAB and ActiveLab, as an explicit choice.

CROWDLAB weighs the model against the annotators, and ActiveLab's scores inherit that weighting, so the temperature
``T`` applied to the model's probabilities decides how much the model is trusted and how often ActiveLab re-labels.
cleanlab chooses ``T`` itself inside ``get_active_learning_scores``; here ``T`` is computed by this module and cleanlab
receives probabilities that are already scaled (its own calibration off), so the choice is visible, recorded per
round and switchable:

``"benchmark"``
    The ActiveLab benchmark code's search (spec section 1.3): grid search of the mean normalised soft cross-entropy
    between each labeled example's empirical annotation distribution and the scaled probabilities, where the
    "softmax" divides by the sum over the *whole matrix*, no clipping before the log, clip ``1e-6`` in the loss.
    What the paper's numbers were made with.
``"cleanlab"``
    cleanlab's own search, called as it is (``cleanlab.internal.multiannotator_utils.find_best_temp_scaler``, what
    ``get_active_learning_scores`` and ``calibrate_probs=True`` use). In cleanlab 2.9 its empirical label
    distribution is not aligned with the classes: the table is float (NaN = missing), and
    ``cleanlab.internal.util.value_counts`` places the counts of a row's *present* classes in the first positions
    unless the labels have an integer dtype, so a row labeled once as class 3 counts as class 0. The search then
    fits the model to the wrong classes and picks ``T`` of about 5-7 on the Wall Robot benchmarks, which flattens
    the probabilities (spec section 3.8 measured the effect).
``"rowwise"``
    This library's recommendation: the search cleanlab >= 2.5 means to do (row-wise softmax of ``log p``, so every
    example's scaled probabilities are a proper distribution, loss clipped at ``1e-30``) on the class-aligned
    empirical distribution. A per-example likelihood has a probabilistic meaning; the benchmark's whole-matrix
    normalisation adds a ``log Z(T)`` term that has none.
``"none"``
    ``T = 1``.
a number
    That fixed ``T``.

Every choice scales with the same final step as cleanlab (``temp_scale_pred_probs``: clip at ``1e-30``,
renormalise rows, row-wise softmax of ``log p / T``). As in cleanlab, ``T = 1`` when no labeled example has two or
more annotations.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB", arXiv 2210.06812.
.. [3] Guo, Pleiss, Sun, Weinberger (2017). "On Calibration of Modern Neural Networks." ICML (temperature scaling).
"""

from __future__ import annotations

from numbers import Real
from typing import Callable, Dict, Union

import numpy as np

#: The library's recommendation (see the module docstring and the README's calibration section).
DEFAULT_CALIBRATION = "rowwise"
#: The coarse temperature grid of cleanlab and of the benchmark code.
COARSE_GRID = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 3.0, 5.0, 8.0)
#: Number of fine-grid points below the coarse minimum (cleanlab's ``fine_search_size``).
FINE_SIZE = 4
_FINAL_CLIP = 1e-30

Calibration = Union[str, float]


def check_label_table(labels: np.ndarray, n_classes: int, what: str = "label table") -> np.ndarray:
    """A wide label table (NaN = missing) as a 2-D float array whose labels are the classes ``0..n_classes-1``.

    Raises
    ------
    ValueError
        One line naming the first bad label and ``n_classes``: a label that is not an integer, or outside
        ``0..n_classes-1`` (e.g. a label table whose classes outnumber the columns of the model's probabilities).
    """
    labels = np.asarray(labels, dtype=float)
    if labels.ndim != 2:
        raise ValueError(f"{what}: expected a wide (n_examples, n_annotators) label table, got shape {labels.shape}")
    present = labels[~np.isnan(labels)]
    bad = (present != np.round(present)) | (present < 0) | (present >= n_classes)
    if bad.any():
        raise ValueError(
            f"{what}: label {present[bad][0]:g} is not a class of n_classes={n_classes} (classes are 0..{n_classes - 1}; "
            f"{int(bad.sum())} bad label(s)); fix the labels or pass probabilities with one column per class"
        )
    return labels


def label_counts(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per row of a wide label table (NaN = missing), how many annotations it holds of each class, shape (n, K)."""
    labels = check_label_table(labels, n_classes)
    counts = np.zeros((labels.shape[0], n_classes))
    rows, cols = np.nonzero(~np.isnan(labels))
    np.add.at(counts, (rows, labels[rows, cols].astype(np.int64)), 1.0)
    return counts


def empirical_label_distribution(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per row of a wide label table (NaN = missing), the share of its annotations on each class, shape (n, K)."""
    counts = label_counts(labels, n_classes)
    totals = counts.sum(axis=1, keepdims=True)
    if (totals == 0).any():
        raise ValueError("every row of the label table needs at least one annotation")
    return counts / totals


def _soft_cross_entropy(distribution: np.ndarray, probs: np.ndarray, clip: float) -> float:
    n_classes = probs.shape[1]
    return float(np.mean(-np.sum(distribution * np.log(np.clip(probs, clip, None)), axis=1) / np.log(n_classes)))


def _log(probs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probs)


def _rowwise_softmax(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``log_probs / temperature`` along the last axis; ``-inf`` entries (zero probabilities) stay 0."""
    scaled = log_probs / temperature
    finite_max = np.max(np.where(np.isfinite(scaled), scaled, -np.inf), axis=-1, keepdims=True)
    exp = np.exp(scaled - finite_max)
    return exp / exp.sum(axis=-1, keepdims=True)


def _objective_benchmark(distribution: np.ndarray, log_probs: np.ndarray, temperature: float) -> float:
    exp = np.exp(log_probs / temperature)
    return _soft_cross_entropy(distribution, exp / exp.sum(), 1e-6)


def _objective_rowwise(distribution: np.ndarray, log_probs: np.ndarray, temperature: float) -> float:
    return _soft_cross_entropy(distribution, _rowwise_softmax(log_probs, temperature), 1e-30)


_OBJECTIVES: Dict[str, Callable[[np.ndarray, np.ndarray, float], float]] = {
    "benchmark": _objective_benchmark,
    "rowwise": _objective_rowwise,
}
#: The names accepted besides a fixed number.
CALIBRATIONS = ("benchmark", "cleanlab", "rowwise", "none")


def fine_grid(coarse: "tuple[float, ...]", best: int) -> np.ndarray:
    """cleanlab's fine grid around the coarse minimum ``best``: ``FINE_SIZE`` points from the previous coarse value
    up to (excluding) the minimum, then ``FINE_SIZE + 1`` points from the minimum to the next value."""
    parts = []
    if best > 0:
        parts.append(np.linspace(coarse[best - 1], coarse[best], FINE_SIZE, endpoint=False))
    if best < len(coarse) - 1:
        parts.append(np.linspace(coarse[best], coarse[best + 1], FINE_SIZE + 1))
    return np.concatenate(parts)


def check_calibration(calibration: Calibration) -> Calibration:
    """Validate a calibration choice; returns it (a positive float for a fixed temperature)."""
    if isinstance(calibration, bool):
        raise ValueError(f"calibration must be one of {list(CALIBRATIONS)} or a positive number, got {calibration!r}")
    if isinstance(calibration, Real):
        if not np.isfinite(calibration) or calibration <= 0:
            raise ValueError(f"a fixed calibration temperature must be a positive number, got {calibration!r}")
        return float(calibration)
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {list(CALIBRATIONS)} or a positive number, got {calibration!r}")
    return calibration


def fit_temperature(labels: np.ndarray, pred_probs: np.ndarray, calibration: Calibration) -> float:
    """The temperature that ``calibration`` chooses for ``pred_probs`` given the annotations ``labels``.

    Parameters
    ----------
    labels : ndarray of shape (n, n_annotators), float
        Wide label table of the labeled examples (NaN = missing); every row holds at least one label.
    pred_probs : ndarray of shape (n, K)
        Out-of-fold predicted probabilities of those examples.
    calibration : {"benchmark", "cleanlab", "rowwise", "none"} or float

    Returns
    -------
    float
        ``1.0`` for ``"none"`` and whenever no example has two or more annotations (as cleanlab).
    """
    calibration = check_calibration(calibration)
    pred_probs = np.asarray(pred_probs, dtype=float)
    check_label_table(labels, pred_probs.shape[-1], "calibration")
    if isinstance(calibration, float):
        return calibration
    if calibration == "none" or not (np.sum(~np.isnan(labels), axis=1) >= 2).any():
        return 1.0
    if calibration == "cleanlab":
        return _cleanlab_temperature(labels, pred_probs)
    distribution = empirical_label_distribution(labels, pred_probs.shape[1])
    log_probs = _log(pred_probs)
    objective = _OBJECTIVES[calibration]
    coarse = np.array([objective(distribution, log_probs, t) for t in COARSE_GRID])
    grid = fine_grid(COARSE_GRID, int(np.argmin(coarse)))
    fine = np.array([objective(distribution, log_probs, t) for t in grid])
    return float(grid[int(np.argmin(fine))])


def _cleanlab_temperature(labels: np.ndarray, pred_probs: np.ndarray) -> float:
    try:
        from cleanlab.internal.multiannotator_utils import find_best_temp_scaler
    except ImportError as exc:  # pragma: no cover - depends on the installed cleanlab
        raise ImportError(
            f"calibration='cleanlab' calls cleanlab.internal.multiannotator_utils.find_best_temp_scaler, which this "
            f"cleanlab does not have ({exc}); install cleanlab 2.5-2.9 or choose calibration='rowwise'"
        ) from None
    return float(find_best_temp_scaler(np.asarray(labels, dtype=float), pred_probs))


def scale_probabilities(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scale probabilities row by row (cleanlab's ``temp_scale_pred_probs``: clip at 1e-30,
    renormalise, softmax of ``log p / T``). Works on (n, K) and on stacked (m, n, K) arrays; returns a new array."""
    probs = np.clip(np.asarray(pred_probs, dtype=float), _FINAL_CLIP, None)
    return _rowwise_softmax(np.log(probs / probs.sum(axis=-1, keepdims=True)), temperature)
