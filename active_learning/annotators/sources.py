"""Annotator sources: where the new labels of a multi-annotator active-learning run come from.

A source answers two questions for the loop, given the :class:`~active_learning.annotators.AnnotationStore` of the
labels revealed so far:

* :meth:`AnnotatorSource.remaining` — how many more labels each pool example can still get (``inf`` when labels are
  drawn with replacement). An example at 0 is *exhausted*: no method may choose it again (the loop removes it
  from the candidates and :class:`~active_learning.multiannotator.methods.ScoringInputs` tells the method).
* :meth:`AnnotatorSource.draw` — one new label for each chosen example, with the identity of the annotator who
  gave it (``-1`` when the source has no identities).

Three sources cover the benchmarks and real use:

======================  ==============================================================================  ============
source                  labels                                                                          exhausts
======================  ==============================================================================  ============
:class:`DenseAnnotators`  a complete (n_examples, n_annotators) matrix of simulated annotators (Wall         only with
                        Robot): a uniform draw over all annotators (the ActiveLab protocol) or over the   ``replace=
                        ones not yet revealed                                                              False``
:class:`LabelMultisets`   per-example label multisets, drawn with replacement in proportion to the counts  never
                        (CIFAR-10H's ``cifar10h-counts.npy``: ~51 human labels per image)
:class:`SparseAnnotations`  real identified annotators from a long (example, annotator, label) table         yes
                        (CIFAR-10N's three workers per image, a user's label file): a uniform draw among
                        the example's not-yet-revealed annotations
======================  ==============================================================================  ============

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Tuple

import numpy as np
import pandas as pd

from .store import AnnotationStore

#: Columns of a long-format annotation table.
ANNOTATION_COLUMNS = ("example", "annotator", "label")


def check_annotation_table(table: Any, n_examples: int, n_classes: int, what: str = "annotations") -> pd.DataFrame:
    """Validate a long-format annotation table and return it with int64 columns ``example, annotator, label``.

    Raises
    ------
    ValueError
        One line naming the problem and what to do: missing columns, non-integer or missing values, example ids
        outside ``0..n_examples-1``, labels outside ``0..n_classes-1``, an annotator labeling an example twice.
    """
    if not isinstance(table, pd.DataFrame):
        table = pd.DataFrame(table)
    missing = [c for c in ANNOTATION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; a label table needs columns {list(ANNOTATION_COLUMNS)}")
    out = {}
    for column in ANNOTATION_COLUMNS:
        values = table[column]
        if values.isna().any():
            raise ValueError(f"{what}: column {column!r} has {int(values.isna().sum())} missing value(s); drop those rows")
        array = values.to_numpy()
        if not np.issubdtype(array.dtype, np.integer):
            if not np.issubdtype(array.dtype, np.floating) or np.any(array != np.round(array)):
                raise ValueError(f"{what}: column {column!r} must hold integers, got dtype {array.dtype}")
        out[column] = array.astype(np.int64)
    frame = pd.DataFrame(out)
    for column, upper, hint in (("example", n_examples, "the number of rows of the features"),
                                ("label", n_classes, "the number of classes")):
        bad = (frame[column] < 0) | (frame[column] >= upper)
        if bad.any():
            raise ValueError(
                f"{what}: {int(bad.sum())} row(s) have {column} outside 0..{upper - 1} (e.g. {int(frame[column][bad].iloc[0])}); "
                f"{column}s must index {hint}"
            )
    if (frame["annotator"] < 0).any():
        raise ValueError(f"{what}: annotator ids must be >= 0; encode them as integers 0..m-1")
    duplicated = frame.duplicated(["example", "annotator"])
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise ValueError(
            f"{what}: {int(duplicated.sum())} duplicate (example, annotator) pair(s), e.g. annotator {int(row.annotator)} "
            f"on example {int(row.example)}; keep one label per annotator and example"
        )
    return frame.reset_index(drop=True)


def restrict_to_rows(table: pd.DataFrame, rows: np.ndarray, n_total: int, column: str = "example") -> pd.DataFrame:
    """The annotations of ``table`` whose ``column`` is one of ``rows`` (indices into ``0..n_total-1``), renumbered
    to positions in ``rows`` (row ``rows[i]`` becomes ``i``): how a long table follows a subset or a reordering."""
    position = np.full(int(n_total), -1, dtype=np.int64)
    position[np.asarray(rows, dtype=np.int64)] = np.arange(len(rows))
    mapped = position[table[column].to_numpy(dtype=np.int64)]
    kept = table[mapped >= 0]
    return kept.assign(**{column: mapped[mapped >= 0]}).reset_index(drop=True)


class AnnotatorSource(ABC):
    """Where new labels come from (see the module docstring)."""

    #: Registry-style name, recorded with the results.
    kind: str = ""
    #: Whether :meth:`draw` returns real annotator identities (usable as annotator columns).
    has_identities: bool = False

    def __init__(self, n_examples: int, n_classes: int) -> None:
        self.n_examples = int(n_examples)
        self.n_classes = int(n_classes)

    @abstractmethod
    def remaining(self, store: AnnotationStore) -> np.ndarray:
        """Labels still obtainable per example, shape (n_examples,), float (``inf`` = unlimited)."""

    @abstractmethod
    def draw(self, examples: np.ndarray, store: AnnotationStore, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """One new label for each of ``examples`` (distinct, none exhausted): ``(labels, annotator ids)``."""

    def info(self) -> Dict[str, Any]:
        """Provenance recorded with the pool."""
        return {"source": self.kind}

    def for_identity_columns(self) -> "AnnotatorSource":
        """The source to use when every annotator owns a label column (``annotator_columns: true_identity``): an
        annotator may then label an example at most once."""
        if not self.has_identities:
            raise ValueError(
                f"a {self.kind!r} annotator source has no annotator identities; use loop.annotator_columns: per_round"
            )
        return self

    def _check_available(self, examples: np.ndarray, store: AnnotationStore) -> None:
        left = self.remaining(store)[examples]
        if np.any(left < 1):
            example = int(examples[np.flatnonzero(left < 1)[0]])
            raise ValueError(f"example {example} has no label left to draw from this {self.kind} source")


class DenseAnnotators(AnnotatorSource):
    """Simulated annotators who would each label every example: ``labels[i, j]`` is annotator ``j``'s label of ``i``.

    Parameters
    ----------
    labels : ndarray of shape (n_examples, n_annotators), int
    n_classes : int
    replace : bool, default=True
        ``True``: a new label comes from an annotator drawn uniformly from all of them, already revealed ones
        included (the ActiveLab benchmark: "uniform draw from the example's full annotator row"), so examples never
        run out. ``False``: only annotators who have not labeled the example yet; after ``n_annotators`` labels
        the example is exhausted.
    """

    kind = "dense"
    has_identities = True

    def __init__(self, labels: np.ndarray, n_classes: int, replace: bool = True) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[1] < 1:
            raise ValueError(f"dense annotator labels must be a 2-D (n_examples, n_annotators) matrix, got shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"dense annotator labels must be integers (no missing labels), got dtype {labels.dtype}")
        super().__init__(labels.shape[0], n_classes)
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"dense annotator labels outside 0..{n_classes - 1}")
        self.labels = labels.astype(np.int64)
        self.replace = bool(replace)

    @property
    def n_annotators(self) -> int:
        return int(self.labels.shape[1])

    def remaining(self, store: AnnotationStore) -> np.ndarray:
        if self.replace:
            return np.full(self.n_examples, np.inf)
        return (self.n_annotators - store.revealed_per_example()).astype(float)

    def draw(self, examples: np.ndarray, store: AnnotationStore, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        examples = np.asarray(examples, dtype=np.int64)
        if self.replace:
            annotators = rng.integers(0, self.n_annotators, size=examples.size)
        else:
            self._check_available(examples, store)
            revealed = store.revealed_pairs()
            annotators = np.empty(examples.size, dtype=np.int64)
            for position, example in enumerate(examples):
                used = revealed[revealed[:, 0] == example, 1]
                annotators[position] = rng.choice(np.setdiff1d(np.arange(self.n_annotators), used))
        return self.labels[examples, annotators], annotators.astype(np.int64)

    def info(self) -> Dict[str, Any]:
        return {"source": self.kind, "n_annotators": self.n_annotators, "replace": self.replace}

    def for_identity_columns(self) -> "DenseAnnotators":
        return self if not self.replace else DenseAnnotators(self.labels, self.n_classes, replace=False)


class LabelMultisets(AnnotatorSource):
    """Per-example label counts; a new label is class ``k`` with probability ``counts[i, k] / counts[i].sum()``.

    Draws are with replacement (the ActiveLab CIFAR-10H protocol: new labels come from the image's complete human
    label distribution, the ~51 CIFAR-10H labels, whether or not they were used before), so examples never run out.
    Annotators are anonymous (id ``-1``).
    """

    kind = "multisets"

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts)
        if counts.ndim != 2 or counts.shape[1] < 2:
            raise ValueError(f"label counts must be a 2-D (n_examples, n_classes) matrix, got shape {counts.shape}")
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError("label counts must be finite and non-negative")
        totals = counts.sum(axis=1)
        if np.any(totals <= 0):
            raise ValueError(f"example {int(np.flatnonzero(totals <= 0)[0])} has no label in its multiset")
        super().__init__(counts.shape[0], counts.shape[1])
        self.counts = counts.astype(np.float64)
        self._cumulative = np.cumsum(self.counts / totals[:, None], axis=1)
        self._cumulative[:, -1] = 1.0  # no draw past the last class from rounding

    def remaining(self, store: AnnotationStore) -> np.ndarray:
        return np.full(self.n_examples, np.inf)

    def draw(self, examples: np.ndarray, store: AnnotationStore, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        examples = np.asarray(examples, dtype=np.int64)
        u = rng.random(examples.size)
        cumulative = self._cumulative[examples]
        labels = np.minimum((cumulative < u[:, None]).sum(axis=1), self.n_classes - 1)
        return labels.astype(np.int64), np.full(examples.size, -1, dtype=np.int64)

    def info(self) -> Dict[str, Any]:
        return {"source": self.kind, "labels_per_example_mean": float(self.counts.sum(axis=1).mean())}


class SparseAnnotations(AnnotatorSource):
    """Real identified annotators: every (example, annotator, label) that exists, revealed one at a time.

    A new label for example ``i`` comes from an annotator drawn uniformly among those who labeled ``i`` and have
    not been revealed yet; when all of them are revealed, ``i`` is exhausted.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``example``, ``annotator``, ``label`` (see :func:`check_annotation_table`).
    n_examples, n_classes : int
    """

    kind = "sparse"
    has_identities = True

    def __init__(self, table: pd.DataFrame, n_examples: int, n_classes: int) -> None:
        super().__init__(n_examples, n_classes)
        frame = check_annotation_table(table, n_examples, n_classes).sort_values(["example", "annotator"], kind="stable")
        self.table = frame.reset_index(drop=True)
        self._example = self.table["example"].to_numpy()
        self._annotator = self.table["annotator"].to_numpy()
        self._label = self.table["label"].to_numpy()
        self.available = np.bincount(self._example, minlength=self.n_examples).astype(np.int64)
        self._start = np.concatenate([[0], np.cumsum(self.available)])

    @property
    def n_annotators(self) -> int:
        return int(self._annotator.max()) + 1 if self._annotator.size else 0

    def remaining(self, store: AnnotationStore) -> np.ndarray:
        return (self.available - store.revealed_per_example()).astype(float)

    def draw(self, examples: np.ndarray, store: AnnotationStore, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        examples = np.asarray(examples, dtype=np.int64)
        self._check_available(examples, store)
        revealed = store.revealed_pairs()
        labels = np.empty(examples.size, dtype=np.int64)
        annotators = np.empty(examples.size, dtype=np.int64)
        for position, example in enumerate(examples):
            rows = np.arange(self._start[example], self._start[example + 1])
            used = revealed[revealed[:, 0] == example, 1]
            free = rows[~np.isin(self._annotator[rows], used)]
            row = int(rng.choice(free))
            labels[position], annotators[position] = self._label[row], self._annotator[row]
        return labels, annotators

    def info(self) -> Dict[str, Any]:
        return {
            "source": self.kind,
            "n_annotators": self.n_annotators,
            "n_annotations_available": int(self._label.size),
            "labels_per_example_max": int(self.available.max()) if self.available.size else 0,
        }


class OracleAnnotator(AnnotatorSource):
    """The single noisy annotator of the NAS protocol as an annotator source: each example has one fixed (possibly
    wrong) label, revealed once through the oracle's ``query`` (:class:`~active_learning.oracle.NoisyOracle`).

    Parameters
    ----------
    oracle : NoisyOracle
        Anything with ``query(indices) -> labels``, ``n_samples`` and ``n_classes``.
    """

    kind = "single_noisy_oracle"
    has_identities = True

    def __init__(self, oracle: Any) -> None:
        super().__init__(oracle.n_samples, oracle.n_classes)
        self.oracle = oracle

    def remaining(self, store: AnnotationStore) -> np.ndarray:
        return (store.counts == 0).astype(np.float64)

    def draw(self, examples: np.ndarray, store: AnnotationStore, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        examples = np.asarray(examples, dtype=np.int64)
        self._check_available(examples, store)
        labels = np.asarray(self.oracle.query(examples), dtype=np.int64)
        return labels, np.zeros(examples.size, dtype=np.int64)
