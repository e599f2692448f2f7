"""Noise-aware re-labeling: ask another annotator about the labels a noise filter flags, or label a new example,
whichever the model is less sure of.

The meeting point of the two papers this project reproduces: NAS's low-budget noise filters (Shafir, Hacohen,
Weinshall 2025) decide *which* labels are suspect, ActiveLab's protocol (Goh & Mueller 2023) lets a label be
collected again instead of a new example being labeled.
"""

from __future__ import annotations

from typing import ClassVar, Tuple

import numpy as np

from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


@register_method("noise_aware_relabel", color="#e377c2")
class NoiseAwareRelabel(MultiAnnotatorMethod):
    """Scores on one scale (lower = annotate first):

    * a labeled example the loop's noise filter flags (``loop.filter``): ``p̂(consensus label) - 1``, the model's
      (out-of-fold) belief in its current label, minus one;
    * an unlabeled example: ``max_k p̂_k - 1``, least-confidence sampling;
    * an unflagged labeled example: ``+inf`` (re-asked only when nothing else can be labeled).

    So a flagged label the model doubts more than it doubts any unlabeled example is re-asked first, and with no
    flags the method is least-confidence sampling of new examples. The training labels are majority votes, so the
    model never overrides a label; only the filter's flags and the model's doubt decide what is asked again.

    References
    ----------
    .. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
    .. [2] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
    """

    #: The loop must run a noise filter (``loop.filter``); checked before any job runs.
    requires_flags: ClassVar[bool] = True

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        if inputs.flagged is None:
            raise ValueError("noise_aware_relabel needs the noise filter's flags: set loop.filter (see `list filters`)")
        probs = inputs.mean_pred_probs
        belief = probs[np.arange(probs.shape[0]), np.asarray(inputs.consensus_labels, dtype=np.int64)]
        labeled = np.where(np.asarray(inputs.flagged, dtype=bool), belief - 1.0, np.inf)
        return labeled, inputs.mean_pred_probs_unlabeled.max(axis=1) - 1.0
