"""Per-round annotation budgets of the noisy single-annotator protocol.

Two forms, as in the NAS code (``tools/utils.py: get_budget``):

* constant: ``B`` per round for ``T`` rounds;
* samples per class: cumulative budget ``ceil(spc * C / (1 - r))`` for each ``spc`` in a list, i.e. enough
  points to expect ``spc`` *clean* labels per class at noise rate ``r``; the round budgets are the differences.

An optional random initial set (``initial_size`` points, labeled before the first round and not counted in the
round budgets) is supported.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def cumulative_budget(samples_per_class: float, n_classes: int, noise_rate: float) -> int:
    """``ceil(spc * C / (1 - r))`` (robust to float error: 100 / 0.8 gives 125, not 126)."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be positive, got {n_classes}")
    if not 0.0 <= noise_rate < 1.0:
        raise ValueError(f"noise_rate must lie in [0, 1), got {noise_rate}")
    if samples_per_class <= 0:
        raise ValueError(f"samples per class must be positive, got {samples_per_class}")
    value = samples_per_class * n_classes / (1.0 - noise_rate)
    return int(np.ceil(round(value, 9)))


@dataclass(frozen=True)
class BudgetSchedule:
    """Round budgets of one AL run.

    Attributes
    ----------
    round_sizes : tuple of int
        Points selected in each round.
    initial_size : int
        Random points labeled before round 0 (0 = none).
    """

    round_sizes: tuple
    initial_size: int = 0

    def __post_init__(self) -> None:
        if len(self.round_sizes) == 0:
            raise ValueError("a budget schedule needs at least one round")
        if any(int(b) < 0 for b in self.round_sizes) or int(self.initial_size) < 0:
            raise ValueError(f"budgets must be non-negative, got {self.round_sizes}, initial {self.initial_size}")

    @property
    def n_rounds(self) -> int:
        return len(self.round_sizes)

    @property
    def cumulative(self) -> np.ndarray:
        """Labeled-set size after each round (including the initial set)."""
        return self.initial_size + np.cumsum(np.asarray(self.round_sizes, dtype=np.int64))

    @property
    def total(self) -> int:
        return int(self.cumulative[-1])

    def check_pool(self, n_samples: int) -> None:
        """Raise a clear error when the schedule needs more points than the pool holds."""
        if self.total > n_samples:
            raise ValueError(
                f"the budget schedule needs {self.total} labels but the pool has {n_samples} points; "
                "lower the budgets or the number of rounds"
            )


def constant_budgets(budget: int, n_rounds: int, initial_size: int = 0) -> BudgetSchedule:
    """``budget`` points in each of ``n_rounds`` rounds."""
    if int(n_rounds) < 1:
        raise ValueError(f"n_rounds must be >= 1, got {n_rounds}")
    if int(budget) < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    return BudgetSchedule(tuple([int(budget)] * int(n_rounds)), int(initial_size))


def samples_per_class_budgets(
    samples_per_class: Sequence[float], n_classes: int, noise_rate: float, initial_size: int = 0
) -> BudgetSchedule:
    """Round budgets from cumulative ``ceil(spc * C / (1 - r))`` targets.

    The first round gets ``cumulative[0] - initial_size`` points, later rounds the differences.

    >>> samples_per_class_budgets([1, 2, 3, 4, 5], 100, 0.4).cumulative.tolist()
    [167, 334, 500, 667, 834]
    """
    spc = list(samples_per_class)
    if not spc:
        raise ValueError("samples_per_class must list at least one value")
    if any(b <= a for a, b in zip(spc, spc[1:])):
        raise ValueError(f"samples_per_class must be strictly increasing, got {spc}")
    cum = np.array([cumulative_budget(s, n_classes, noise_rate) for s in spc], dtype=np.int64)
    if cum[0] < initial_size:
        raise ValueError(f"initial_size {initial_size} exceeds the first cumulative budget {cum[0]}")
    sizes = np.diff(np.concatenate([[initial_size], cum]))
    return BudgetSchedule(tuple(int(s) for s in sizes), int(initial_size))
