"""Consensus labels from a multi-annotator label table: majority vote and CROWDLAB.

The majority vote is this library's own (two tie-break rules, the one of cleanlab <= 2.3.0 that the ActiveLab
benchmark ran with and the one of cleanlab >= 2.3.1). CROWDLAB is cleanlab's, fed with probabilities that
:mod:`~active_learning.multiannotator.calibration` has already temperature-scaled (cleanlab's own calibration off),
so the temperature is an explicit, recorded choice.

References
----------
.. [1] Goh, Tkachenko, Mueller (2022). "CROWDLAB: Supervised learning to infer consensus labels and quality scores
   for data with multiple annotators." NeurIPS 2022 Human in the Loop Learning workshop, arXiv 2210.06812.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .._registry import Registry
from ..utils.random import global_numpy_seeded
from .calibration import (
    DEFAULT_CALIBRATION,
    Calibration,
    check_label_table,
    fit_temperature,
    label_counts,
    scale_probabilities,
)

ConsensusFn = Callable[..., np.ndarray]
CONSENSUS: Registry[ConsensusFn] = Registry("consensus method")

#: Majority-vote tie-break on class frequency: ``least_frequent`` (cleanlab >= 2.3.1, PR #654) or
#: ``most_frequent`` (cleanlab <= 2.3.0, what the ActiveLab benchmark ran with).
TIE_BREAKS = ("least_frequent", "most_frequent")


def seeded_global_numpy(rng: np.random.Generator) -> "contextlib.AbstractContextManager[None]":
    """:func:`~active_learning.utils.random.global_numpy_seeded` with a seed drawn from ``rng``.

    cleanlab breaks the last majority-vote ties inside CROWDLAB with ``np.random.choice``; this makes those draws
    part of the run's seeded stream without leaking state into the rest of the process (or other threads' jobs).
    """
    return global_numpy_seeded(int(rng.integers(2**32 - 1)))


def _mean_probs(pred_probs: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if pred_probs is None:
        return None
    return pred_probs.mean(axis=0) if pred_probs.ndim == 3 else pred_probs


def _narrow(candidates: np.ndarray, values: np.ndarray, best: str) -> np.ndarray:
    """Keep, per row, the candidate classes whose ``values`` are the best (max or min) among the candidates."""
    fill = -np.inf if best == "max" else np.inf
    masked = np.where(candidates, values, fill)
    target = masked.max(axis=1, keepdims=True) if best == "max" else masked.min(axis=1, keepdims=True)
    return candidates & (masked == target)


def majority_vote_labels(
    labels: np.ndarray,
    pred_probs: Optional[np.ndarray],
    rng: np.random.Generator,
    *,
    tie_break: str = "least_frequent",
    n_classes: Optional[int] = None,
) -> np.ndarray:
    """Majority vote of each row of a wide label table, with cleanlab's chain of tie-breaks.

    Ties are broken, in order, by (a) the highest predicted probability among the tied classes (the member mean
    for 3-D ``pred_probs``), (b) the class frequency over all annotations (``tie_break``), (c) the mean agreement,
    with the untied majority votes, of the annotators who chose each tied class (annotators without such rows get
    the mean), (d) uniformly at random from ``rng``. With ``tie_break="least_frequent"`` this is cleanlab 2.9's
    ``get_majority_vote_label`` (up to the random draws of (d)).

    Parameters
    ----------
    labels : ndarray of shape (n, n_annotators), float
        NaN = missing; every row needs at least one label.
    pred_probs : ndarray of shape (n, K) or (m, n, K), optional
    rng : numpy.random.Generator
    tie_break : {"least_frequent", "most_frequent"}
    n_classes : int, optional
        Defaults to the probabilities' width or ``max(label) + 1``.
    """
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {list(TIE_BREAKS)}, got {tie_break!r}")
    labels = np.asarray(labels, dtype=float)
    probs = _mean_probs(pred_probs)
    observed = ~np.isnan(labels)
    if not observed.any(axis=1).all():
        raise ValueError("majority vote: every row of the label table needs at least one label")
    if n_classes is None:
        n_classes = probs.shape[1] if probs is not None else int(np.nanmax(labels)) + 1
    counts = label_counts(check_label_table(labels, n_classes, "majority vote"), n_classes)
    tied = counts == counts.max(axis=1, keepdims=True)
    untied_rows = tied.sum(axis=1) == 1
    if probs is not None:
        tied = _narrow(tied, probs, "max")
    frequency = np.broadcast_to(counts.sum(axis=0), counts.shape)
    tied = _narrow(tied, frequency, "min" if tie_break == "least_frequent" else "max")
    still = np.flatnonzero(tied.sum(axis=1) > 1)
    if still.size:
        vote = counts.argmax(axis=1)
        agree = np.full(labels.shape[1], np.nan)
        reference = observed & untied_rows[:, None]
        hits = (labels == vote[:, None]) & reference
        has = reference.sum(axis=0) > 0
        agree[has] = hits.sum(axis=0)[has] / reference.sum(axis=0)[has]
        agree[~has] = np.nanmean(agree) if has.any() else 0.0
        quality = np.full((still.size, n_classes), np.nan)
        for position, row in enumerate(still):
            for cls in np.flatnonzero(tied[row]):
                quality[position, cls] = agree[labels[row] == cls].mean()
        tied[still] = _narrow(tied[still], np.nan_to_num(quality, nan=-np.inf), "max")
    result = tied.argmax(axis=1)
    for row in np.flatnonzero(tied.sum(axis=1) > 1):
        result[row] = int(rng.choice(np.flatnonzero(tied[row])))
    return result.astype(np.int64)


@CONSENSUS.register("majority_vote")
def majority_vote(
    labels: np.ndarray,
    pred_probs: Optional[np.ndarray],
    rng: np.random.Generator,
    *,
    tie_break: str = "least_frequent",
    calibration: Calibration = DEFAULT_CALIBRATION,
) -> np.ndarray:
    """Majority vote (:func:`majority_vote_labels`); ``calibration`` is accepted and ignored (temperature scaling
    does not change which tied class is the most probable)."""
    return majority_vote_labels(labels, pred_probs, rng, tie_break=tie_break)


@dataclass(frozen=True)
class CrowdlabFit:
    """CROWDLAB on temperature-scaled probabilities (spec section 1.2).

    Attributes
    ----------
    consensus : ndarray (n,), int
        Best-quality consensus labels.
    quality : ndarray (n,)
        Consensus quality ``q_i`` (CROWDLAB posterior of the consensus class).
    model_weights : ndarray (m,)
        ``w_M`` per model (one entry for a single model).
    annotator_weights : ndarray (n_annotators,)
        ``w_j``.
    temperatures : ndarray (m,)
        The temperature applied to each model.
    single_label : bool
        True when every example has exactly one label: CROWDLAB is undefined, weights are 1 and the consensus is
        the majority vote (cleanlab's rule for ActiveLab).
    """

    consensus: np.ndarray
    quality: np.ndarray
    model_weights: np.ndarray
    annotator_weights: np.ndarray
    temperatures: np.ndarray
    single_label: bool


def crowdlab_fit(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    rng: np.random.Generator,
    *,
    calibration: Calibration = DEFAULT_CALIBRATION,
    tie_break: str = "least_frequent",
) -> CrowdlabFit:
    """Temperature-scale each model's probabilities with ``calibration``, then run cleanlab's CROWDLAB.

    Parameters
    ----------
    labels : ndarray of shape (n, n_annotators), float (NaN = missing)
    pred_probs : ndarray of shape (n, K) or (m, n, K)
        Out-of-fold probabilities of the labeled examples (one model or an ensemble of ``m``).
    rng : numpy.random.Generator
        Seeds cleanlab's internal random majority-vote ties.
    calibration : see :mod:`~active_learning.multiannotator.calibration`
    tie_break : used for the majority vote of the single-label case (CROWDLAB's internal majority vote is
        cleanlab's, ``least_frequent``).
    """
    from cleanlab.multiannotator import get_label_quality_multiannotator, get_label_quality_multiannotator_ensemble

    stacked = np.asarray(pred_probs, dtype=float)
    stacked = stacked[None] if stacked.ndim == 2 else stacked
    if stacked.ndim != 3:
        raise ValueError(f"CROWDLAB: pred_probs must have shape (n, K) or (m, n, K), got {np.shape(pred_probs)}")
    labels = check_label_table(labels, stacked.shape[2], "CROWDLAB")
    if stacked.shape[1] != labels.shape[0]:
        raise ValueError(f"CROWDLAB: {labels.shape[0]} rows of labels but pred_probs has {stacked.shape[1]}; give one "
                         "row of probabilities per labeled example")
    n_models, n_annotators = stacked.shape[0], labels.shape[1]
    if (np.sum(~np.isnan(labels), axis=1) == 1).all():
        mean = stacked.mean(axis=0)
        consensus = majority_vote_labels(labels, mean, rng, tie_break=tie_break)
        return CrowdlabFit(
            consensus=consensus,
            quality=mean[np.arange(consensus.size), consensus],
            model_weights=np.ones(n_models),
            annotator_weights=np.ones(n_annotators),
            temperatures=np.ones(n_models),
            single_label=True,
        )
    temperatures = np.array([fit_temperature(labels, member, calibration) for member in stacked])
    scaled = np.stack([scale_probabilities(member, t) for member, t in zip(stacked, temperatures)])
    kwargs = dict(
        calibrate_probs=False,
        return_detailed_quality=False,
        return_annotator_stats=False,
        return_weights=True,
        verbose=False,
    )
    # cleanlab prints notes about annotators without overlap (expected: one new column per round)
    with seeded_global_numpy(rng), contextlib.redirect_stdout(io.StringIO()):
        if n_models == 1:
            result = get_label_quality_multiannotator(
                labels, scaled[0], consensus_method="best_quality", quality_method="crowdlab", **kwargs
            )
        else:
            result = get_label_quality_multiannotator_ensemble(labels, scaled, **kwargs)
    frame = result["label_quality"]
    return CrowdlabFit(
        consensus=frame["consensus_label"].to_numpy(dtype=np.int64),
        quality=frame["consensus_quality_score"].to_numpy(dtype=float),
        model_weights=np.atleast_1d(np.asarray(result["model_weight"], dtype=float)),
        annotator_weights=np.asarray(result["annotator_weight"], dtype=float),
        temperatures=temperatures,
        single_label=False,
    )


@CONSENSUS.register("crowdlab")
def crowdlab(
    labels: np.ndarray,
    pred_probs: Optional[np.ndarray],
    rng: np.random.Generator,
    *,
    calibration: Calibration = DEFAULT_CALIBRATION,
    tie_break: str = "least_frequent",
) -> np.ndarray:
    """CROWDLAB "best_quality" consensus on temperature-scaled model probabilities.

    Falls back to the majority vote when there are no model probabilities yet (round 0) or when no example has two
    or more labels (CROWDLAB cannot estimate annotator quality then). ``pred_probs`` of shape (m, n, K) uses
    cleanlab's ensemble version. ``calibration="none"`` skips the temperature scaling (diagnostics).
    """
    labels = np.asarray(labels, dtype=float)
    if pred_probs is None or not (np.sum(~np.isnan(labels), axis=1) >= 2).any():
        return majority_vote_labels(labels, pred_probs, rng, tie_break=tie_break)
    return crowdlab_fit(labels, pred_probs, rng, calibration=calibration, tie_break=tie_break).consensus
