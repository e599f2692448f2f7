"""Initial sparsification of a complete annotator table into the starting label set of the ActiveLab benchmarks.

The ActiveLab Wall Robot protocol keeps, for every initially labeled example, at most five random annotators,
then runs a "least annotations" pass that drops all but one annotator of an example with probability 0.97 per
annotator, but only while that annotator keeps another example with more than two labels (so annotators still
overlap and CROWDLAB can weigh them). This module re-implements both passes with an explicit generator.
"""

from __future__ import annotations

import numpy as np

from ..utils.random import as_generator


def keep_random_annotators(mask: np.ndarray, max_per_example: int, rng: "int | np.random.Generator") -> np.ndarray:
    """Keep at most ``max_per_example`` annotators per row.

    As in the reference protocol, ``max_per_example`` annotator indices are drawn with replacement, so a row can
    keep fewer when a draw repeats (on average 4.67 of 5 with 30 annotators).

    Parameters
    ----------
    mask : ndarray of shape (n, m), bool
        Which annotator labelled which example.
    max_per_example : int
    rng : int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (n, m), bool
    """
    rng = as_generator(rng)
    mask = np.asarray(mask, dtype=bool)
    kept = np.zeros_like(mask)
    for row in range(mask.shape[0]):
        annotators = np.flatnonzero(mask[row])
        if annotators.size == 0:
            continue
        chosen = np.unique(rng.choice(annotators, size=max_per_example, replace=True))
        kept[row, chosen] = True
    return kept


def drop_to_least_annotations(mask: np.ndarray, rng: "int | np.random.Generator", drop_prob: float = 0.97) -> np.ndarray:
    """The reference protocol's "least annotations" pass.

    For every example with at least two annotators (in row order), all annotators but one random one are drop
    candidates; each candidate is dropped with probability ``drop_prob`` if the annotator has another example
    that currently holds more than two labels.

    Returns
    -------
    ndarray of shape (n, m), bool
    """
    rng = as_generator(rng)
    if not 0.0 <= drop_prob <= 1.0:
        raise ValueError(f"drop_prob must lie in [0, 1], got {drop_prob}")
    mask = np.array(mask, dtype=bool, copy=True)
    per_example = mask.sum(axis=1)
    initial_per_example = per_example.copy()
    for row in range(mask.shape[0]):
        if initial_per_example[row] < 2:
            continue
        annotators = np.flatnonzero(mask[row])
        candidates = rng.choice(annotators, size=annotators.size - 1, replace=False)
        for annotator in candidates:
            if rng.random() >= drop_prob:
                continue
            others = np.flatnonzero(mask[:, annotator])
            others = others[others != row]
            if others.size and per_example[others].max() > 2:
                mask[row, annotator] = False
                per_example[row] -= 1
    return mask


def sparsify(
    mask: np.ndarray, rng: "int | np.random.Generator", max_per_example: "int | None" = 5, drop_prob: float = 0.97
) -> np.ndarray:
    """Both passes: :func:`keep_random_annotators` (skipped when ``max_per_example`` is None), then
    :func:`drop_to_least_annotations`."""
    rng = as_generator(rng)
    if max_per_example is not None:
        mask = keep_random_annotators(mask, max_per_example, rng)
    return drop_to_least_annotations(mask, rng, drop_prob)
