"""Active label cleaning (Bernhardt et al. 2022): re-label examples whose labels a confident model disputes."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, normalized_entropy, register_method

_CLIP = 1e-6


def empirical_label_distribution(labels_multiannotator: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-row share of annotations on each class, shape (n, K)."""
    counts = np.stack([(labels_multiannotator == k).sum(axis=1) for k in range(n_classes)], axis=1).astype(float)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)


@register_method("active_label_cleaning", baseline=True, label="Active Label Cleaning", color="#ff7f0e")
class ActiveLabelCleaning(MultiAnnotatorMethod):
    """Score = exp(-(SCE - H + 1)) over labeled examples, with SCE the normalised cross-entropy between the
    empirical annotation distribution and the model, and H the normalised model entropy: a confident model that
    disagrees with the annotations goes first. Unlabeled examples get score 1 (the largest possible), so this
    method only re-labels.

    References
    ----------
    .. [1] Bernhardt et al. (2022). "Active label cleaning for improved dataset quality under resource
       constraints." Nature Communications 13, 1161.
    """

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        probs = inputs.mean_pred_probs
        empirical = empirical_label_distribution(inputs.labels_multiannotator, inputs.n_classes)
        sce = -(empirical * np.log(np.clip(probs, _CLIP, None))).sum(axis=1) / np.log(inputs.n_classes)
        labeled = np.exp(-(sce - normalized_entropy(probs) + 1.0))
        return labeled, np.ones(inputs.pred_probs_unlabeled.shape[1])
