"""ActiveLab (Goh & Mueller 2023): decide between labeling a new example and re-labeling an old one.

Both scores come from cleanlab's official implementation (``cleanlab.multiannotator.get_active_learning_scores``
and its ensemble version): the CROWDLAB posterior of the consensus class with one extra, uninformative,
average-quality annotator mixed in, for labeled examples, and the model's confidence mixed the same way for
unlabeled ones. Lower = less confidence in the true label = annotate next.
"""

from __future__ import annotations

import contextlib
import io
from typing import Callable, Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


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

    def _probabilities(self, inputs: ScoringInputs) -> Tuple[np.ndarray, np.ndarray]:
        return inputs.mean_pred_probs, inputs.mean_pred_probs_unlabeled

    def _cleanlab_scorer(self) -> Callable[..., Tuple[np.ndarray, np.ndarray]]:
        from cleanlab.multiannotator import get_active_learning_scores

        return get_active_learning_scores

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        probs, probs_unlabeled = self._probabilities(inputs)
        # cleanlab scales the arrays it is given in place and prints notes about annotators without overlap
        # (expected here: one new column per round): pass copies, keep stdout clean.
        with contextlib.redirect_stdout(io.StringIO()):
            labeled, unlabeled = self._cleanlab_scorer()(
                inputs.labels_multiannotator,
                probs.copy(),
                probs_unlabeled.copy() if probs_unlabeled.shape[-2] else None,
            )
        if unlabeled is None or probs_unlabeled.shape[-2] == 0:
            unlabeled = np.zeros(0)
        return np.asarray(labeled, dtype=float), np.asarray(unlabeled, dtype=float)


@register_method("activelab_ensemble")
class ActiveLabEnsemble(ActiveLab):
    """ActiveLab with an ensemble (one CROWDLAB weight and one temperature per member).

    References
    ----------
    .. [1] Goh, Mueller (2023). arXiv 2301.11856.
    """

    requires_ensemble = True

    def _probabilities(self, inputs: ScoringInputs) -> Tuple[np.ndarray, np.ndarray]:
        return inputs.pred_probs, inputs.pred_probs_unlabeled

    def _cleanlab_scorer(self) -> Callable[..., Tuple[np.ndarray, np.ndarray]]:
        from cleanlab.multiannotator import get_active_learning_scores_ensemble

        return get_active_learning_scores_ensemble
