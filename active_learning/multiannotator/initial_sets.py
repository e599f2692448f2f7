"""Initial annotation sets of the ActiveLab CIFAR-10H benchmark.

The ActiveLab CIFAR-10H benchmark [1]_ starts from a sparse, deliberately poor set of human labels on 1,000
images: the "Hardest" dataset of CROWDLAB [2]_, built from the worst CIFAR-10H annotators. Two builders:

* :func:`hardest_annotators_start` applies that procedure to the raw (long-format) CIFAR-10H annotations;
* :func:`tilted_multiset_start` is a stand-in for when only the per-image label counts (``cifar10h-counts.npy``)
  are available: it matches the start set's labels-per-image histogram exactly and its majority-vote accuracy
  approximately, by drawing each image's labels from its own human labels with the wrong ones up-weighted.

Both return a long-format table: a :class:`pandas.DataFrame` with int64 columns ``image`` (row index into the
labeled subset, ``0..n-1``), ``annotator`` (integer id) and ``label``, sorted by ``(image, annotator)``.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB: Supervised learning to infer consensus labels and quality scores
   for data with multiple annotators." NeurIPS 2022 Human in the Loop Learning workshop, arXiv 2210.06812.
"""

from __future__ import annotations

import warnings
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

from .consensus import TIE_BREAKS, majority_vote_labels

COLUMNS = ("image", "annotator", "label")

#: Labels-per-image histogram ("number of labels" -> "number of images") of the ActiveLab CIFAR-10H start set
#: (1,000 images, 1,447 annotations).
CIFAR10H_LABELS_PER_IMAGE: Mapping[int, int] = MappingProxyType({1: 738, 2: 85, 3: 174, 5: 1, 6: 2})

#: Majority-vote accuracy of the ActiveLab CIFAR-10H start set.
CIFAR10H_MAJORITY_ACCURACY = 0.822

_MAX_WEIGHT = 1e4
_BISECTION_STEPS = 40


# --------------------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------------------


def _as_int_array(values: Any, name: str) -> np.ndarray:
    """``values`` as an int64 array, or a ValueError if they are not integer-valued."""
    array = np.asarray(values)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            raise ValueError(f"{name} must hold integers (found non-integral or missing values)")
    return array.astype(np.int64)


def _check_true_labels(true_labels: np.ndarray) -> np.ndarray:
    truth = _as_int_array(true_labels, "true_labels")
    if truth.ndim != 1 or truth.size == 0:
        raise ValueError(f"true_labels must be a non-empty 1-D array, got shape {truth.shape}")
    if (truth < 0).any():
        raise ValueError("true_labels must be non-negative class indices")
    return truth


def _check_table(annotations: pd.DataFrame, truth: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``image``, ``annotator``, ``label`` columns of a long-format table, as int64 arrays."""
    if not isinstance(annotations, pd.DataFrame):
        raise ValueError(f"annotations must be a pandas DataFrame, got {type(annotations).__name__}")
    missing = [column for column in COLUMNS if column not in annotations.columns]
    if missing:
        raise ValueError(f"annotations lacks column(s) {missing}; need {list(COLUMNS)}")
    if len(annotations) == 0:
        raise ValueError("annotations is empty")
    image, annotator, label = (_as_int_array(annotations[column].to_numpy(), column) for column in COLUMNS)
    n, n_classes = truth.size, int(truth.max()) + 1
    if image.min() < 0 or image.max() >= n:
        raise ValueError(f"image ids must lie in 0..{n - 1} (len(true_labels) - 1), got {image.min()}..{image.max()}")
    if label.min() < 0 or label.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1} (the classes of true_labels), "
                         f"got {label.min()}..{label.max()}")
    if pd.DataFrame({"image": image, "annotator": annotator}).duplicated().any():
        raise ValueError("annotations holds duplicate (image, annotator) pairs")
    unlabeled = np.flatnonzero(np.bincount(image, minlength=n) == 0)
    if unlabeled.size:
        raise ValueError(f"{unlabeled.size} image(s) have no annotation in the table (first: {unlabeled[0]})")
    return image, annotator, label


def _groups(keys: np.ndarray, n_groups: int) -> List[np.ndarray]:
    """Row indices of each key ``0..n_groups-1`` (ascending row order within a group)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.cumsum(np.bincount(keys, minlength=n_groups))[:-1]
    return np.split(order, bounds)


def majority_accuracy(
    table: pd.DataFrame,
    true_labels: np.ndarray,
    rng: np.random.Generator,
    *,
    tie_break: str = "least_frequent",
) -> float:
    """Accuracy, against ``true_labels``, of the majority vote of a long-format table (every image labeled).

    Uses :func:`~active_learning.multiannotator.consensus.majority_vote_labels` (no model probabilities); ``rng``
    breaks its last ties.
    """
    truth = _check_true_labels(true_labels)
    image, annotator, label = _check_table(table, truth)
    ids, column = np.unique(annotator, return_inverse=True)
    wide = np.full((truth.size, ids.size), np.nan)
    wide[image, column] = label
    votes = majority_vote_labels(wide, None, rng, tie_break=tie_break, n_classes=int(truth.max()) + 1)
    return float(np.mean(votes == truth))


# --------------------------------------------------------------------------------------------------------------
# 1. CROWDLAB's "Hardest" start set from the raw annotations
# --------------------------------------------------------------------------------------------------------------


def _hardest_selection(
    image: np.ndarray,
    annotator_index: np.ndarray,
    label: np.ndarray,
    truth: np.ndarray,
    n_worst: int,
    max_labels: int,
) -> Tuple[np.ndarray, np.ndarray]:
    """Steps 1-3 of :func:`hardest_annotators_start`: the selected rows (bool mask) and the annotators worst first.

    ``annotator_index`` is ``0..A-1`` (ranks of the sorted annotator ids).
    """
    n, n_annotators = truth.size, int(annotator_index.max()) + 1
    correct = (label == truth[image]).astype(float)
    accuracy = np.bincount(annotator_index, correct, n_annotators) / np.bincount(annotator_index, None, n_annotators)
    ranking = np.argsort(accuracy, kind="stable")  # worst first; equal accuracies in ascending annotator id
    rows_of = _groups(annotator_index, n_annotators)
    images_of = [image[rows] for rows in rows_of]

    selected = np.zeros(image.size, dtype=bool)
    for annotator in ranking[:n_worst]:
        selected[rows_of[annotator]] = True
    count = np.bincount(image[selected], minlength=n)  # bookkeeping label count per image
    n_empty = int(np.sum(count == 0))

    remaining = ranking[n_worst:]
    while n_empty > 0:
        added = False
        for annotator in remaining:
            images = images_of[annotator]
            current = count[images]
            if current.sum() <= images.size:
                continue
            open_ = current < max_labels
            if not open_.any():
                continue
            selected[rows_of[annotator][open_]] = True
            n_empty -= int(np.sum(current[open_] == 0))
            count[images[open_]] += 1
            added = True
            if n_empty == 0:
                break
        if not added:
            break
    if n_empty > 0:
        first = int(np.flatnonzero(count == 0)[0])
        raise ValueError(f"the annotator walk leaves {n_empty} image(s) without a label (first: {first}); "
                         "the table lacks the annotator overlap the procedure needs")
    return selected, ranking


def _safe_to_drop(other_counts: np.ndarray) -> bool:
    """The 'safe to drop' check on an annotator's label counts on their other images."""
    return bool(other_counts.size > 1 and other_counts.max() > 2 and other_counts.sum() > other_counts.size + 1)


def hardest_annotators_start(
    annotations: pd.DataFrame,
    true_labels: np.ndarray,
    rng: np.random.Generator,
    *,
    n_worst: int = 50,
    max_labels: int = 3,
    drop_prob: float = 0.95,
) -> pd.DataFrame:
    """CROWDLAB's "Hardest" start set, as the ActiveLab CIFAR-10H benchmark built it from the raw annotations.

    The initial annotation set of the ActiveLab CIFAR-10H benchmark ([1]_, section 4) is the "Hardest" dataset of
    CROWDLAB ([2]_): labels from the worst annotators only, made sparse. Steps:

    1. rank the annotators by their accuracy against ``true_labels`` over their labels in ``annotations``, worst
       first (equal accuracies: ascending annotator id);
    2. select all labels of the ``n_worst`` worst annotators;
    3. walk, in repeated passes, through the remaining annotators worst -> best. An annotator is added only if the
       current label count summed over *their* images exceeds the number of their images (they overlap with what
       is already selected), and then only on their images that currently have fewer than ``max_labels`` labels.
       The walk stops as soon as every image has at least one label;
    4. for every image with at least three labels (image order ``0..n-1``), pick all but one of its annotators at
       random as drop candidates; drop each with probability ``drop_prob``, but only if every (remaining)
       annotator of that image passes the 'safe to drop' check on their *other* selected images: more than one
       such image, a maximal label count above 2, and a summed label count above the number of those images + 1;
    5. drop the annotators left without labels (automatic in the long format; the original ids are kept).

    On the real data (CIFAR-10H, the benchmark's 1,000 labeled images) the reference result is a 1,000 x 334 label
    matrix with 1,447 annotations (labels per image: 1 -> 738, 2 -> 85, 3 -> 174, 5 -> 1, 6 -> 2) and a
    majority-vote accuracy of 0.822.

    Interpretation choices (the spec is prose; these are the readings implemented):

    * The walk's condition is implemented literally: ``sum(count[images]) > len(images)``, with ``count`` the
      current per-image label counts of the selection so far. An image with no label therefore gets one only
      through an annotator whose other images are covered more than once on average.
    * A revisited annotator is counted again in the bookkeeping: on a later pass the same annotator can pass the
      check again, and ``count`` of their still-open images grows by one more even though the (image, annotator)
      pair is already selected (a label is selected at most once). The counts stay below ``max_labels`` by
      construction, so the walk terminates: it stops when every image has a label or when a whole pass adds
      nothing; in the latter case a ValueError is raised.
    * The drop phase (step 4) uses the *actual* number of selected labels per image, not the bookkeeping count,
      and updates it after every drop; random draws: a permutation of the image's annotators (the candidates are
      all but its last element), then one uniform per candidate.

    Parameters
    ----------
    annotations : pandas.DataFrame
        Long-format table with integer columns ``image`` (``0..len(true_labels)-1``), ``annotator`` and ``label``
        (a class of ``true_labels``, i.e. ``0..max(true_labels)``); extra columns are kept. No duplicate
        (image, annotator) pairs; every image needs at least one annotation.
    true_labels : ndarray of shape (n,), int
    rng : numpy.random.Generator
        Source of every random choice (the drop phase).
    n_worst : int, default 50
        How many of the worst annotators contribute all their labels.
    max_labels : int, default 3
        The walk adds labels only on images with fewer than this many.
    drop_prob : float, default 0.95
        Probability of dropping a drop candidate that passes the safety check.

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``annotations`` (``image``, ``annotator``, ``label`` as int64, original annotator ids),
        sorted by ``(image, annotator)``, with a fresh index.

    Raises
    ------
    ValueError
        On malformed input, or when the walk cannot give every image a label.

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856.
    .. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB: Supervised learning to infer consensus labels and quality
       scores for data with multiple annotators." arXiv 2210.06812.
    """
    if isinstance(n_worst, bool) or not isinstance(n_worst, (int, np.integer)) or n_worst < 0:
        raise ValueError(f"n_worst must be a non-negative integer, got {n_worst!r}")
    if isinstance(max_labels, bool) or not isinstance(max_labels, (int, np.integer)) or max_labels < 1:
        raise ValueError(f"max_labels must be a positive integer, got {max_labels!r}")
    if not 0.0 <= float(drop_prob) <= 1.0:
        raise ValueError(f"drop_prob must lie in [0, 1], got {drop_prob!r}")
    truth = _check_true_labels(true_labels)
    image, annotator, label = _check_table(annotations, truth)
    _, annotator_index = np.unique(annotator, return_inverse=True)
    annotator_index = annotator_index.astype(np.int64)
    selected, _ = _hardest_selection(image, annotator_index, label, truth, int(n_worst), int(max_labels))

    n, n_annotators = truth.size, int(annotator_index.max()) + 1
    rows_of_image = _groups(image, n)
    rows_of_annotator = _groups(annotator_index, n_annotators)
    count = np.bincount(image[selected], minlength=n)
    for i in np.flatnonzero(count >= 3):
        rows = rows_of_image[i][selected[rows_of_image[i]]]
        candidates = rows[rng.permutation(rows.size)[:-1]]
        draws = rng.random(candidates.size)
        for row, draw in zip(candidates, draws):
            if draw >= drop_prob:
                continue
            present = rows_of_image[i][selected[rows_of_image[i]]]
            safe = True
            for other in annotator_index[present]:
                mine = rows_of_annotator[other]
                others = image[mine[selected[mine]]]
                if not _safe_to_drop(count[others[others != i]]):
                    safe = False
                    break
            if safe:
                selected[row] = False
                count[i] -= 1

    kept = annotations.iloc[np.flatnonzero(selected)].copy()
    for column in COLUMNS:
        kept[column] = kept[column].to_numpy().astype(np.int64)
    return kept.sort_values(["image", "annotator"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# 2. stand-in from the per-image label counts
# --------------------------------------------------------------------------------------------------------------


def _check_counts(counts: np.ndarray, truth: np.ndarray) -> np.ndarray:
    table = _as_int_array(counts, "counts")
    if table.ndim != 2 or table.shape[0] != truth.size:
        raise ValueError(f"counts must have shape (n, K) with n == len(true_labels) == {truth.size}, "
                         f"got {table.shape}")
    if (table < 0).any():
        raise ValueError("counts must be non-negative")
    if truth.max() >= table.shape[1]:
        raise ValueError(f"true_labels must lie in 0..{table.shape[1] - 1} (the K columns of counts)")
    empty = np.flatnonzero(table.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"{empty.size} image(s) have no human label in counts (first: {empty[0]})")
    return table


def _check_histogram(labels_per_image: Mapping[int, int], n: int) -> Dict[int, int]:
    histogram: Dict[int, int] = {}
    for size, images in dict(labels_per_image).items():
        for value, what in ((size, "label count"), (images, "image count")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"labels_per_image must map int -> int, got {what} {value!r}")
        if size < 1 or images < 0:
            raise ValueError(f"labels_per_image needs label counts >= 1 and image counts >= 0, got {size}: {images}")
        if images:
            histogram[int(size)] = int(images)
    total = sum(histogram.values())
    if total != n:
        raise ValueError(f"labels_per_image covers {total} images but counts has {n} rows")
    return histogram


def tilted_multiset_start(
    counts: np.ndarray,
    true_labels: np.ndarray,
    rng: np.random.Generator,
    *,
    labels_per_image: Mapping[int, int] = CIFAR10H_LABELS_PER_IMAGE,
    target_majority_accuracy: float = CIFAR10H_MAJORITY_ACCURACY,
    n_annotators: int = 334,
    tie_break: str = "least_frequent",
) -> Tuple[pd.DataFrame, Dict[str, Any]]:
    """A stand-in for the ActiveLab CIFAR-10H start set built from per-image label counts only.

    When only ``cifar10h-counts.npy`` (per image, how many of its ~51 human annotators chose each class) is
    available, the raw-annotation procedure of :func:`hardest_annotators_start` cannot be run. This builds a start
    set with the same labels-per-image histogram and (approximately) the same majority-vote accuracy as the one of
    [1]_ (1,447 labels on 1,000 images over 334 annotators, majority-vote accuracy 0.822):

    1. the label counts ``k`` of ``labels_per_image`` are assigned to the images by a random permutation;
    2. each image's ``k`` labels are drawn *without replacement* from its own multiset of human labels (the counts
       row expanded to a list; the whole multiset if it has fewer than ``k`` labels), every wrong label
       (``!= true label``) weighted by ``w >= 1`` and every correct one by 1. The weighted sampling uses
       Efraimidis-Spirakis keys: take the ``k`` largest ``log(U) / weight`` (equivalently ``U ** (1 / weight)``),
       with the uniforms ``U`` drawn once from ``rng``, so the draw is a deterministic function of ``w`` in which
       the number of wrong labels per image never decreases as ``w`` grows;
    3. ``w`` is found by bisection on ``log w`` in ``[0, log 1e4]`` (40 steps) so that the majority-vote accuracy
       (against ``true_labels``) is as close as possible to ``target_majority_accuracy``; the closest of all
       evaluated weights is kept (ties: the smaller weight). If ``w = 1`` already gives an accuracy at or below
       the target, ``w = 1`` is kept; if ``w = 1e4`` still gives one above it, ``w = 1e4`` is kept (both recorded
       in ``info["target_reachable"]``);
    4. the labels are spread over ``n_annotators`` pseudo-annotator columns: images in random order, each image's
       labels to distinct columns, the least-used columns first (random among equally used ones), so the columns
       end balanced to within one label. The columns are fixed before the bisection.

    The majority vote is :func:`~active_learning.multiannotator.consensus.majority_vote_labels` on the wide table
    (no model probabilities, ``tie_break`` as given); its last random tie-breaks use a generator re-seeded for
    every evaluation from one seed drawn from ``rng``, so the accuracy is a deterministic function of ``w``.

    Parameters
    ----------
    counts : ndarray of shape (n, K), int
        Per image, how many human labels each class got (non-negative; at least one per image).
    true_labels : ndarray of shape (n,), int
        Classes ``0..K-1``.
    rng : numpy.random.Generator
        Source of every random choice.
    labels_per_image : mapping int -> int, default ``{1: 738, 2: 85, 3: 174, 5: 1, 6: 2}``
        "Number of labels" -> "number of images"; the image total must equal ``n``.
    target_majority_accuracy : float in (0, 1], default 0.822
    n_annotators : int, default 334
        Number of pseudo-annotator columns; at least the largest label count.
    tie_break : {"least_frequent", "most_frequent"}
        Majority-vote tie-break on class frequency.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``image``, ``annotator`` (pseudo-annotator ``0..n_annotators-1``), ``label``, int64, sorted by
        ``(image, annotator)``.
    info : dict
        ``procedure`` (``"tilted_multiset"``), ``wrong_label_weight`` (``w``), ``majority_accuracy``,
        ``target_majority_accuracy``, ``target_reachable`` (False when the weight sits at a bound of its range with
        the accuracy on the wrong side of the target), ``n_annotations``, ``labels_per_image`` (realised histogram
        ``{k: number of images}``), ``annotator_accuracy`` (share of labels equal to the true label).

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856.
    """
    truth = _check_true_labels(true_labels)
    table = _check_counts(counts, truth)
    n, n_classes = table.shape
    histogram = _check_histogram(labels_per_image, n)
    target = float(target_majority_accuracy)
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target_majority_accuracy must lie in (0, 1], got {target_majority_accuracy!r}")
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {list(TIE_BREAKS)}, got {tie_break!r}")
    largest = max(histogram)
    if isinstance(n_annotators, bool) or not isinstance(n_annotators, (int, np.integer)) or n_annotators < largest:
        raise ValueError(f"n_annotators must be an integer >= the largest label count {largest}, got {n_annotators!r}")
    n_annotators = int(n_annotators)

    # 1. sizes, by a random permutation
    sizes = rng.permutation(np.repeat(np.array(list(histogram), dtype=np.int64), list(histogram.values())))
    multiset_sizes = table.sum(axis=1)
    taken = np.minimum(sizes, multiset_sizes)

    # 2. each image's multiset, flattened image-major, with one uniform per human label
    flat = np.repeat(np.arange(n * n_classes), table.ravel())
    flat_image, flat_class = flat // n_classes, flat % n_classes
    wrong = flat_class != truth[flat_image]
    log_u = np.log1p(-rng.random(flat.size))  # log U with U in (0, 1]
    starts = np.concatenate(([0], np.cumsum(multiset_sizes)[:-1]))
    rank_in_image = np.arange(flat.size) - starts[flat_image]
    keep_rank = rank_in_image < taken[flat_image]

    # 4. pseudo-annotator columns (fixed before the bisection): label r of image i goes to columns[i][r]
    usage = np.zeros(n_annotators, dtype=np.int64)
    columns: List[Optional[np.ndarray]] = [None] * n
    for i in rng.permutation(n):
        m = int(taken[i])
        key = usage + rng.random(n_annotators)
        chosen = np.argpartition(key, m - 1)[:m]
        chosen = chosen[np.argsort(key[chosen], kind="stable")]
        usage[chosen] += 1
        columns[i] = chosen
    flat_columns = np.concatenate([c for c in columns if c is not None])
    label_image = np.repeat(np.arange(n), taken)
    tie_seed = int(rng.integers(2**63 - 1))

    def draw(log_w: float) -> np.ndarray:
        """Classes of the selected labels (image-major, in key order) for weight ``exp(log_w)``."""
        score = log_u / np.where(wrong, np.exp(log_w), 1.0)
        order = np.lexsort((-score, flat_image))
        return flat_class[order[keep_rank]]

    cache: Dict[float, Tuple[float, np.ndarray]] = {}

    def evaluate(log_w: float) -> float:
        if log_w not in cache:
            classes = draw(log_w)
            wide = np.full((n, n_annotators), np.nan)
            wide[label_image, flat_columns] = classes
            votes = majority_vote_labels(wide, None, np.random.default_rng(tie_seed), tie_break=tie_break,
                                         n_classes=n_classes)
            cache[log_w] = (float(np.mean(votes == truth)), classes)
        return cache[log_w][0]

    # 3. bisection on log w
    low, high = 0.0, float(np.log(_MAX_WEIGHT))
    reachable = True
    if evaluate(low) <= target:
        reachable = evaluate(low) == target
        best = low
    elif evaluate(high) >= target:
        reachable = evaluate(high) == target
        best = high
    else:
        for _ in range(_BISECTION_STEPS):
            middle = 0.5 * (low + high)
            accuracy = evaluate(middle)
            if accuracy == target:
                break
            if accuracy > target:
                low = middle
            else:
                high = middle
        best = min(cache, key=lambda log_w: (abs(cache[log_w][0] - target), log_w))
    accuracy, classes = cache[best]

    result = pd.DataFrame({"image": label_image, "annotator": flat_columns.astype(np.int64),
                           "label": classes.astype(np.int64)})
    result = result.sort_values(["image", "annotator"], kind="stable").reset_index(drop=True)
    realised, frequency = np.unique(taken, return_counts=True)
    if not reachable:
        warnings.warn(
            f"tilted start set: majority-vote accuracy {accuracy:.3f} instead of the target {target:.3f} (the wrong-label "
            f"weight sits at the bound {np.exp(best):.3g}; the images' own labels cannot reach the target)", stacklevel=2,
        )
    info: Dict[str, Any] = {
        "procedure": "tilted_multiset",
        "wrong_label_weight": float(np.exp(best)),
        "majority_accuracy": accuracy,
        "target_majority_accuracy": target,
        "target_reachable": bool(reachable),
        "n_annotations": int(len(result)),
        "labels_per_image": {int(k): int(c) for k, c in zip(realised, frequency)},
        "annotator_accuracy": float(np.mean(classes == truth[label_image])),
    }
    return result, info
