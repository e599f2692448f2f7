"""ActiveLab (Goh & Mueller 2023): decide between labeling a new example and re-labeling an old one.

Both scores come from cleanlab's official implementation (``cleanlab.multiannotator.get_active_learning_scores``
and its ensemble version): the CROWDLAB posterior of the consensus class with one extra, uninformative,
average-quality annotator mixed in, for labeled examples, and the model's confidence mixed the same way for
unlabeled ones. Lower = less confidence in the true label = annotate next.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


def _unlabeled_or_none(probs: np.ndarray) -> "np.ndarray | None":
    return probs.copy() if probs.shape[-2] else None


@register_method("activelab")
class ActiveLab(MultiAnnotatorMethod):
    """ActiveLab with a single model; consensus labels by CROWDLAB.

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856.
    .. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB", arXiv 2210.06812.
    """

    consensus = "crowdlab"

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        from cleanlab.multiannotator import get_active_learning_scores

        labeled, unlabeled = get_active_learning_scores(
            inputs.labels_multiannotator,
            inputs.mean_pred_probs.copy(),
            _unlabeled_or_none(inputs.mean_pred_probs_unlabeled),
        )
        return np.asarray(labeled, dtype=float), _empty_if_none(unlabeled, inputs)


@register_method("activelab_ensemble")
class ActiveLabEnsemble(MultiAnnotatorMethod):
    """ActiveLab with an ensemble (one CROWDLAB weight and one temperature per member).

    References
    ----------
    .. [1] Goh, Mueller (2023). arXiv 2301.11856.
    """

    consensus = "crowdlab"
    requires_ensemble = True

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        from cleanlab.multiannotator import get_active_learning_scores_ensemble

        # cleanlab scales the arrays it is given in place: pass copies.
        labeled, unlabeled = get_active_learning_scores_ensemble(
            inputs.labels_multiannotator,
            inputs.pred_probs.copy(),
            _unlabeled_or_none(inputs.pred_probs_unlabeled),
        )
        return np.asarray(labeled, dtype=float), _empty_if_none(unlabeled, inputs)


def _empty_if_none(scores: "np.ndarray | None", inputs: ScoringInputs) -> np.ndarray:
    if scores is None or inputs.pred_probs_unlabeled.shape[1] == 0:
        return np.zeros(0)
    return np.asarray(scores, dtype=float)
