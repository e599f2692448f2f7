"""Long-format store of the annotations collected during an active-learning run."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pandas as pd


class AnnotationStore:
    """Append-only log of annotations ``(example, annotator column, label, round, annotator)``.

    The wide ``(n_examples, n_columns)`` table with NaN for missing labels that cleanlab's multi-annotator
    functions take is built on demand by :meth:`wide`. Annotator columns are integers; the benchmark loop decides
    whether a column is a real annotator identity or one column per collection round (the ActiveLab protocol).
    Independently of the column, every annotation keeps the identity of the annotator who gave it (``-1`` when
    unknown), so a source of real annotators can tell which of them an example has already used.

    Parameters
    ----------
    n_examples : int
        Size of the pool the example indices refer to.
    """

    def __init__(self, n_examples: int) -> None:
        self.n_examples = int(n_examples)
        self._example: List[np.ndarray] = []
        self._column: List[np.ndarray] = []
        self._label: List[np.ndarray] = []
        self._round: List[np.ndarray] = []
        self._annotator: List[np.ndarray] = []
        self._counts = np.zeros(self.n_examples, dtype=np.int64)
        self._order: List[int] = []

    @classmethod
    def from_mask(cls, labels: np.ndarray, mask: np.ndarray, round_index: int = 0) -> "AnnotationStore":
        """Store the entries ``labels[i, j]`` where ``mask[i, j]``; column ``j`` is annotator ``j``."""
        store = cls(labels.shape[0])
        rows, cols = np.nonzero(mask)
        store.add(rows, cols, labels[rows, cols], round_index, annotators=cols)
        return store

    @classmethod
    def from_table(cls, table: pd.DataFrame, n_examples: int, round_index: int = 0,
                   columns: Optional[np.ndarray] = None) -> "AnnotationStore":
        """Store a long table with columns ``example, annotator, label``; the annotator ids are also the columns
        unless ``columns`` is given."""
        store = cls(n_examples)
        annotators = table["annotator"].to_numpy(dtype=np.int64)
        store.add(table["example"].to_numpy(dtype=np.int64), annotators if columns is None else columns,
                  table["label"].to_numpy(dtype=np.int64), round_index, annotators=annotators)
        return store

    def add(self, examples: np.ndarray, columns: np.ndarray, labels: np.ndarray, round_index: int,
            annotators: Optional[np.ndarray] = None) -> None:
        """Append annotations. ``examples``, ``columns``, ``labels`` (and ``annotators``: who gave each label,
        ``-1`` = unknown, the default) are equal-length integer arrays."""
        examples = np.asarray(examples, dtype=np.int64)
        columns = np.asarray(columns, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        who = np.full(examples.shape, -1, dtype=np.int64) if annotators is None else np.asarray(annotators, dtype=np.int64)
        if not (examples.shape == columns.shape == labels.shape == who.shape):
            raise ValueError("examples, columns, labels and annotators must have the same length")
        if examples.size and (examples.min() < 0 or examples.max() >= self.n_examples):
            raise IndexError(f"example index out of range 0..{self.n_examples - 1}")
        if np.any(columns < 0):
            raise ValueError("annotator columns must be non-negative")
        self._example.append(examples)
        self._column.append(columns)
        self._label.append(labels)
        self._round.append(np.full(examples.shape, round_index, dtype=np.int64))
        self._annotator.append(who)
        for example in examples:
            if self._counts[example] == 0:
                self._order.append(int(example))
            self._counts[example] += 1

    def _cat(self, parts: List[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    @property
    def examples(self) -> np.ndarray:
        return self._cat(self._example)

    @property
    def columns(self) -> np.ndarray:
        return self._cat(self._column)

    @property
    def labels(self) -> np.ndarray:
        return self._cat(self._label)

    @property
    def rounds(self) -> np.ndarray:
        return self._cat(self._round)

    @property
    def annotators(self) -> np.ndarray:
        """Who gave each annotation (``-1`` = unknown)."""
        return self._cat(self._annotator)

    def revealed_pairs(self) -> np.ndarray:
        """Distinct ``(example, annotator)`` pairs of known annotators, shape (n_pairs, 2)."""
        who = self.annotators
        known = who >= 0
        pairs = np.stack([self.examples[known], who[known]], axis=1)
        return np.unique(pairs, axis=0) if pairs.size else pairs.reshape(0, 2)

    def revealed_per_example(self) -> np.ndarray:
        """Distinct known annotators per example, shape (n_examples,)."""
        pairs = self.revealed_pairs()
        return np.bincount(pairs[:, 0], minlength=self.n_examples).astype(np.int64)

    def to_frame(self) -> pd.DataFrame:
        """The whole log as a DataFrame with columns ``example, annotator, column, label, round``."""
        return pd.DataFrame({
            "example": self.examples, "annotator": self.annotators, "column": self.columns,
            "label": self.labels, "round": self.rounds,
        })

    @property
    def counts(self) -> np.ndarray:
        """Annotations per pool example, shape (n_examples,)."""
        return self._counts.copy()

    @property
    def n_annotations(self) -> int:
        return int(self._counts.sum())

    def labeled_examples(self) -> np.ndarray:
        """Examples with at least one annotation, in order of their first annotation."""
        return np.asarray(self._order, dtype=np.int64)

    def annotated_columns(self, example: int) -> np.ndarray:
        """Columns that already hold a label of ``example``."""
        return np.unique(self.columns[self.examples == example])

    def wide(self, examples: Optional[np.ndarray] = None) -> np.ndarray:
        """The wide label table of ``examples`` (default: :meth:`labeled_examples`).

        Returns
        -------
        ndarray of shape (len(examples), n_columns), float64
            ``NaN`` marks a missing label. Columns with no label among ``examples`` are dropped, as cleanlab
            requires. If an example was annotated twice in the same column, the later label wins.
        """
        examples = self.labeled_examples() if examples is None else np.asarray(examples, dtype=np.int64)
        row_of = np.full(self.n_examples, -1, dtype=np.int64)
        row_of[examples] = np.arange(examples.size)
        ex, col, lab = self.examples, self.columns, self.labels
        keep = row_of[ex] >= 0
        ex, col, lab = ex[keep], col[keep], lab[keep]
        used, col_index = np.unique(col, return_inverse=True)
        table = np.full((examples.size, used.size), np.nan)
        table[row_of[ex], col_index] = lab
        return table
