"""The starting point of a multi-annotator run (:class:`MultiAnnotatorPool`) and the split checks its builders share.

Every pool builder (:func:`~active_learning.multiannotator.data.build_tabular_pool`,
:func:`~active_learning.multiannotator.reference_data.build_reference_pool` and those of :mod:`active_learning.pools`)
returns a :class:`MultiAnnotatorPool`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence

import numpy as np
import pandas as pd

from ..annotators import AnnotationStore
from ..annotators.sources import AnnotatorSource, DenseAnnotators, check_annotation_table


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
