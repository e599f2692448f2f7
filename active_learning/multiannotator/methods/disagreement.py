"""Query-by-committee disagreement over an ensemble."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method

_CLIP = 1e-6


def committee_disagreement(member_probs: np.ndarray) -> np.ndarray:
    """Mean normalised cross-entropy between the committee mean and each member.

    ``-(1/m) sum_m sum_k pbar_k log(clip(p_mk)) / log K`` = entropy of the mean + mean KL(mean || member),
    normalised. ``member_probs`` has shape (n_models, n, K); returns shape (n,).
    """
    n_classes = member_probs.shape[-1]
    mean = member_probs.mean(axis=0)
    cross_entropy = -(mean[None] * np.log(np.clip(member_probs, _CLIP, None))).sum(axis=-1) / np.log(n_classes)
    return cross_entropy.mean(axis=0)


@register_method("disagreement", baseline=True, label="Disagreement (ensemble)", color="#2ca02c")
class Disagreement(MultiAnnotatorMethod):
    """Highest committee disagreement first (labeled and unlabeled); needs an ensemble.

    References
    ----------
    .. [1] Seung, Opper, Sompolinsky (1992). "Query by committee." COLT.
    .. [2] Goh, Mueller (2023). arXiv 2301.11856 (baseline "Disagreement (ensemble)").
    """

    requires_ensemble = True

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        return -committee_disagreement(inputs.pred_probs), -committee_disagreement(inputs.pred_probs_unlabeled)
