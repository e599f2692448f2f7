"""The starting point of a multi-annotator benchmark: pool, test set, simulated annotators and initial labels.

:func:`build_tabular_pool` implements the data protocol of the ActiveLab tabular benchmarks (spec: class-wise
subset, train/test split, labeled/unlabeled split, one noise matrix with a given trace shared by ``M`` synthetic
annotators, and the sparsification of the labeled part into the starting label set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from sklearn.model_selection import train_test_split

import pandas as pd

from ..annotators import AnnotationStore, noise_matrix_from_trace, simulate_annotators, sparsify
from ..annotators.sources import AnnotatorSource, DenseAnnotators, check_annotation_table
from ..datasets import TabularDataset


@dataclass
class MultiAnnotatorPool:
    """Everything a multi-annotator active-learning run starts from.

    Attributes
    ----------
    X_pool : ndarray of shape (n_pool, ...)
        Model inputs of the pool: a feature matrix, or images (n_pool, H, W, 3) for image models.
    y_pool : ndarray of shape (n_pool,), int64
        True labels of the pool (used only for evaluation, never shown to a method).
    X_test, y_test : test inputs and true labels.
    source : AnnotatorSource
        Where new labels come from (:mod:`active_learning.annotators.sources`): simulated dense annotators, label
        multisets, or real sparse annotations.
    initial : pandas.DataFrame
        The annotations revealed at round 0, columns ``example, annotator, label`` (examples without a row are the
        unlabeled pool).
    n_classes : int
    info : dict
        Provenance: noise matrix, seeds, sizes, the source's description.

    The dense constructor :meth:`dense` builds a pool from a complete annotator matrix and a mask of the initial
    annotations (the Wall Robot protocol); its ``annotator_labels`` and ``initial_mask`` stay available.
    """

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: AnnotatorSource
    initial: pd.DataFrame
    n_classes: int
    info: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_pool = self.X_pool.shape[0]
        checks = [
            (self.y_pool.shape == (n_pool,), "y_pool must have one label per pool row"),
            (self.X_test.shape[0] == self.y_test.shape[0], "X_test and y_test lengths differ"),
            (self.source.n_examples == n_pool, "the annotator source must cover every pool example"),
            (np.isfinite(self.X_pool).all() and np.isfinite(self.X_test).all(), "features contain NaN or inf"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid multi-annotator pool: {message}")
        for name, labels in (("y_pool", self.y_pool), ("y_test", self.y_test)):
            if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
                raise ValueError(f"invalid multi-annotator pool: {name} has labels outside 0..{self.n_classes - 1}")
        initial = check_annotation_table(self.initial, n_pool, self.n_classes, "initial annotations")
        self.initial = initial.sort_values(["example", "annotator"], kind="stable").reset_index(drop=True)
        self.info.setdefault("annotator_source", self.source.info())

    @classmethod
    def dense(cls, *, X_pool: np.ndarray, y_pool: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
              annotator_labels: np.ndarray, initial_mask: np.ndarray, n_classes: int,
              info: Optional[Dict[str, Any]] = None, replace: bool = True) -> "MultiAnnotatorPool":
        """A pool of simulated annotators who label every example (``annotator_labels``, n_pool × n_annotators)
        whose round-0 annotations are ``annotator_labels[initial_mask]``."""
        annotator_labels = np.asarray(annotator_labels)
        initial_mask = np.asarray(initial_mask, dtype=bool)
        if annotator_labels.ndim != 2 or annotator_labels.shape[0] != X_pool.shape[0]:
            raise ValueError("invalid multi-annotator pool: annotator_labels must have one row per pool example")
        if initial_mask.shape != annotator_labels.shape:
            raise ValueError("invalid multi-annotator pool: initial_mask must match annotator_labels")
        if annotator_labels.size and (annotator_labels.min() < 0 or annotator_labels.max() >= n_classes):
            raise ValueError(f"invalid multi-annotator pool: annotator_labels has labels outside 0..{n_classes - 1}")
        rows, cols = np.nonzero(initial_mask)
        initial = pd.DataFrame({"example": rows, "annotator": cols, "label": annotator_labels[rows, cols]})
        return cls(X_pool=X_pool, y_pool=y_pool, X_test=X_test, y_test=y_test,
                   source=DenseAnnotators(annotator_labels, n_classes, replace=replace), initial=initial,
                   n_classes=n_classes, info=dict(info or {}))

    @property
    def annotator_labels(self) -> np.ndarray:
        """The complete annotator matrix of a dense pool (n_pool × n_annotators)."""
        if not isinstance(self.source, DenseAnnotators):
            raise AttributeError(f"a pool with a {self.source.kind!r} annotator source has no complete annotator matrix")
        return self.source.labels

    @property
    def initial_mask(self) -> np.ndarray:
        """Which entries of :attr:`annotator_labels` are revealed at round 0 (dense pools only)."""
        mask = np.zeros(self.annotator_labels.shape, dtype=bool)
        mask[self.initial["example"].to_numpy(), self.initial["annotator"].to_numpy()] = True
        return mask

    @property
    def labeled_at_start(self) -> np.ndarray:
        """Indices of pool examples with at least one initial annotation (sorted)."""
        return np.unique(self.initial["example"].to_numpy())

    def initial_store(self) -> AnnotationStore:
        """The round-0 annotations as an :class:`~active_learning.annotators.AnnotationStore` (annotator ids as
        columns)."""
        return AnnotationStore.from_table(self.initial, self.X_pool.shape[0])


def check_split_settings(
    n_classes: int, subset_per_class: Optional[Sequence[int]], test_fraction: float, unlabeled_fraction: float
) -> None:
    """The checks both draws share: split fractions in range and one subset size per class."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if not 0.0 <= unlabeled_fraction < 1.0:
        raise ValueError(f"unlabeled_fraction must lie in [0, 1), got {unlabeled_fraction}")
    if subset_per_class is not None and len(subset_per_class) != n_classes:
        raise ValueError(f"subset_per_class needs one size per class ({n_classes}), got {list(subset_per_class)}")


def _class_subset(labels: np.ndarray, per_class: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    chosen: List[np.ndarray] = []
    for cls, size in enumerate(per_class):
        members = np.flatnonzero(labels == cls)
        if size > members.size:
            raise ValueError(f"subset_per_class asks for {size} examples of class {cls}, the dataset has {members.size}")
        chosen.append(rng.choice(members, size=size, replace=False))
    return np.concatenate(chosen)


#: How a tabular pool is drawn: ``generator`` (this module, an explicit ``numpy.random.Generator``) or
#: ``reference`` (the original notebooks' steps on NumPy's global generator, :mod:`.reference_data`).
DRAWS = ("generator", "reference")


def build_tabular_pool(
    dataset: TabularDataset,
    *,
    seed: int,
    draw: str = "generator",
    subset_seed: Optional[int] = None,
    single_arm_labels: bool = False,
    subset_per_class: Optional[Sequence[int]] = None,
    test_fraction: float = 1 / 3,
    unlabeled_fraction: float = 0.75,
    n_annotators: int = 30,
    trace_fraction: float = 0.85,
    max_initial_per_example: Optional[int] = 5,
    drop_prob: float = 0.97,
) -> MultiAnnotatorPool:
    """Build the ActiveLab tabular starting point from a dataset.

    Parameters
    ----------
    dataset : TabularDataset
    seed : int
        Data seed: fixes the subset, the splits, the noise matrix, the annotators and the sparsification (the
        reference protocol keeps the data fixed across repeated runs; run seeds vary only the loop).
    subset_per_class : sequence of int, optional
        Examples drawn per class before splitting (Wall Robot: 1100/900/300/700). ``None`` keeps all rows.
    test_fraction : float, default=1/3
        Share of the subset held out as test set.
    unlabeled_fraction : float, default=0.75
        Share of the pool that starts without annotations (0 = every pool example starts labeled).
    n_annotators : int, default=30
    trace_fraction : float, default=0.85
        Noise-matrix trace divided by the number of classes (mean per-class annotator accuracy).
    max_initial_per_example : int or None, default=5
        First sparsification pass (``None`` skips it).
    drop_prob : float, default=0.97
        Drop probability of the "least annotations" pass.
    draw : {"generator", "reference"}, default="generator"
        ``"generator"``: the protocol drawn from ``numpy.random.default_rng(seed)`` (fresh draws for variance
        studies). ``"reference"``: the exact data of the original benchmark runs, rebuilt by
        :func:`~active_learning.multiannotator.reference_data.build_reference_pool` (the paper-reproduction
        configs use it).
    subset_seed, single_arm_labels
        Options of the ``"reference"`` draw only (see :func:`build_reference_pool`).
    """
    if draw not in DRAWS:
        raise ValueError(f"data.draw must be one of {list(DRAWS)}, got {draw!r}")
    settings: Dict[str, Any] = dict(
        subset_per_class=subset_per_class, test_fraction=test_fraction, unlabeled_fraction=unlabeled_fraction,
        n_annotators=n_annotators, trace_fraction=trace_fraction, max_initial_per_example=max_initial_per_example,
        drop_prob=drop_prob,
    )
    if draw == "reference":
        from .reference_data import build_reference_pool

        return build_reference_pool(
            dataset, seed=seed, subset_seed=subset_seed, single_arm_labels=single_arm_labels, **settings
        )
    if subset_seed is not None or single_arm_labels:
        raise ValueError("data.subset_seed and data.single_arm_labels apply to data.draw=reference only")
    check_split_settings(dataset.n_classes, subset_per_class, test_fraction, unlabeled_fraction)
    rng = np.random.default_rng(seed)
    n_classes = dataset.n_classes
    rows = (
        _class_subset(dataset.labels, subset_per_class, rng)
        if subset_per_class is not None
        else np.arange(len(dataset))
    )
    pool_rows, test_rows = train_test_split(rows, test_size=test_fraction, random_state=int(rng.integers(2**31 - 1)))
    y_pool = dataset.labels[pool_rows]
    py = np.bincount(y_pool, minlength=n_classes) / y_pool.size
    noise_matrix = noise_matrix_from_trace(n_classes, trace_fraction * n_classes, py, seed=seed)
    annotator_labels = simulate_annotators(y_pool, noise_matrix, n_annotators, rng)

    n_pool = pool_rows.size
    if unlabeled_fraction > 0:
        labeled, _ = train_test_split(
            np.arange(n_pool), test_size=unlabeled_fraction, random_state=int(rng.integers(2**31 - 1))
        )
    else:
        labeled = np.arange(n_pool)
    full = np.zeros((n_pool, n_annotators), dtype=bool)
    full[labeled] = True
    initial_mask = np.zeros_like(full)
    initial_mask[labeled] = sparsify(full[labeled], rng, max_per_example=max_initial_per_example, drop_prob=drop_prob)

    return MultiAnnotatorPool.dense(
        X_pool=dataset.features[pool_rows],
        y_pool=y_pool,
        X_test=dataset.features[test_rows],
        y_test=dataset.labels[test_rows],
        annotator_labels=annotator_labels,
        initial_mask=initial_mask,
        n_classes=n_classes,
        info={
            "dataset": dataset.name,
            "dataset_source": dataset.source,
            "draw": "generator",
            "data_seed": seed,
            "noise_matrix": noise_matrix,
            "pool_rows": pool_rows,
            "test_rows": test_rows,
        },
    )
