"""Consensus labels from a multi-annotator label table: majority vote and CROWDLAB (both through cleanlab).

References
----------
.. [1] Goh, Tkachenko, Mueller (2022). "CROWDLAB: Supervised learning to infer consensus labels and quality scores
   for data with multiple annotators." NeurIPS 2022 Human in the Loop Learning workshop, arXiv 2210.06812.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Optional

import numpy as np

from .._registry import Registry
from ..utils.random import global_numpy_seeded

ConsensusFn = Callable[[np.ndarray, Optional[np.ndarray], np.random.Generator], np.ndarray]
CONSENSUS: Registry[ConsensusFn] = Registry("consensus method")


def seeded_global_numpy(rng: np.random.Generator) -> "contextlib.AbstractContextManager[None]":
    """:func:`~active_learning.utils.random.global_numpy_seeded` with a seed drawn from ``rng``.

    cleanlab breaks the last majority-vote ties with ``np.random.choice``; this makes those draws part of the
    run's seeded stream without leaking state into the rest of the process (or into jobs in other threads).
    """
    return global_numpy_seeded(int(rng.integers(2**32 - 1)))


def _mean_probs(pred_probs: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if pred_probs is None:
        return None
    return pred_probs.mean(axis=0) if pred_probs.ndim == 3 else pred_probs


@CONSENSUS.register("majority_vote")
def majority_vote(labels: np.ndarray, pred_probs: Optional[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """cleanlab's ``get_majority_vote_label``: ties go to the class with the highest predicted probability (the
    ensemble mean for 3-D ``pred_probs``), then the rarer class, then annotator agreement, then at random."""
    from cleanlab.multiannotator import get_majority_vote_label

    with seeded_global_numpy(rng):
        return np.asarray(get_majority_vote_label(labels, pred_probs=_mean_probs(pred_probs), verbose=False), dtype=np.int64)


@CONSENSUS.register("crowdlab")
def crowdlab(
    labels: np.ndarray,
    pred_probs: Optional[np.ndarray],
    rng: np.random.Generator,
    *,
    calibrate_probs: bool = True,
) -> np.ndarray:
    """CROWDLAB "best_quality" consensus with temperature-calibrated model probabilities.

    ``calibrate_probs=False`` skips cleanlab's temperature calibration (the ActiveLab protocol calibrates; the
    switch exists for diagnostics such as ``benchmarks/wall_robot/diagnose_round0.py``). Falls back to the majority
    vote when there are no model probabilities yet (round 0) or when no example has two or more labels (CROWDLAB
    cannot estimate annotator quality then, and cleanlab rejects that input).
    ``pred_probs`` of shape (n_models, n, K) uses cleanlab's ensemble version (whose consensus is always the
    best-quality one).
    """
    from cleanlab.multiannotator import get_label_quality_multiannotator, get_label_quality_multiannotator_ensemble

    if pred_probs is None or not (np.sum(~np.isnan(labels), axis=1) >= 2).any():
        return majority_vote(labels, pred_probs, rng)
    kwargs = dict(
        calibrate_probs=calibrate_probs,
        return_detailed_quality=False,
        return_annotator_stats=False,
        verbose=False,
    )
    with seeded_global_numpy(rng):
        if pred_probs.ndim == 3:
            result = get_label_quality_multiannotator_ensemble(labels, pred_probs.copy(), **kwargs)
        else:
            result = get_label_quality_multiannotator(
                labels, pred_probs.copy(), consensus_method="best_quality", quality_method="crowdlab", **kwargs
            )
    return result["label_quality"]["consensus_label"].to_numpy(dtype=np.int64)
