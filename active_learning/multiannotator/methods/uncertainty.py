"""Uncertainty (least-confidence) sampling."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


@register_method("uncertainty", baseline=True, label="Uncertainty", color="#17becf")
class UncertaintySampling(MultiAnnotatorMethod):
    """Score = max_k p_k - 1: the least confident predictions first.

    References
    ----------
    .. [1] Lewis, Gale (1994). "A sequential algorithm for training text classifiers." SIGIR.
    .. [2] Goh, Mueller (2023). arXiv 2301.11856 (baseline "Uncertainty").
    """

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        return inputs.mean_pred_probs.max(axis=1) - 1.0, inputs.mean_pred_probs_unlabeled.max(axis=1) - 1.0
