"""Random sampling: every example of both pools gets an i.i.d. uniform score."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


@register_method("random", baseline=True, label="Random", color="#7f7f7f")
class RandomSampling(MultiAnnotatorMethod):
    """Annotate uniformly random examples of the whole pool (labeled and unlabeled alike).

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856 (baseline "Random").
    """

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        labeled = np.asarray(rng.random(inputs.consensus_labels.shape[0]), dtype=float)
        return labeled, np.asarray(rng.random(inputs.pred_probs_unlabeled.shape[1]), dtype=float)
