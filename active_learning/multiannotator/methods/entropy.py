"""Entropy sampling: highest predictive entropy first, over labeled and unlabeled examples."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, normalized_entropy, register_method


@register_method("entropy", baseline=True, label="Entropy", color="#1f77b4")
class EntropySampling(MultiAnnotatorMethod):
    """Score = minus the normalised entropy of the predicted class distribution (annotations are ignored).

    References
    ----------
    .. [1] Settles (2009). "Active Learning Literature Survey." University of Wisconsin-Madison TR 1648.
    .. [2] Goh, Mueller (2023). arXiv 2301.11856 (baseline "Entropy").
    """

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        return -normalized_entropy(inputs.mean_pred_probs), -normalized_entropy(inputs.mean_pred_probs_unlabeled)
