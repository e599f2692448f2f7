"""Good random: random among the examples with the fewest annotations (unlabeled first)."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


@register_method("good_random", baseline=True, label="Good Random", color="#8c564b")
class GoodRandom(MultiAnnotatorMethod):
    """Score = Uniform(0, 1) + number of annotations, so the least-annotated examples go first (round-robin).

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856 (baseline "Good Random").
    """

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        labeled = np.asarray(rng.random(inputs.annotation_counts.shape[0]) + inputs.annotation_counts, dtype=float)
        return labeled, np.asarray(rng.random(inputs.pred_probs_unlabeled.shape[1]), dtype=float)
