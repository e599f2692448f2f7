"""Uniform random sampling from the unlabeled pool (the baseline of every AL benchmark)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import QueryStrategy, register_strategy, unlabeled_mask


@register_strategy("random", label="Random", color="#7f7f7f")
class RandomSampling(QueryStrategy):
    """Draw ``budget`` unlabeled points uniformly without replacement from ``rng`` (no global seeding)."""

    def _select(self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator,
                **context: Any) -> np.ndarray:
        pool = np.flatnonzero(unlabeled_mask(features.shape[0], labeled_idx))
        return rng.choice(pool, budget, replace=False)
