"""Dataset containers returned by :func:`active_learning.datasets.load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import numpy as np


@dataclass
class TabularDataset:
    """A feature matrix with integer class labels.

    Attributes
    ----------
    name : str
        Registry name of the dataset.
    features : ndarray of shape (n_samples, n_features), float64
        Raw features, in the order of the official file.
    labels : ndarray of shape (n_samples,), int64
        Class indices in ``0 .. n_classes - 1``.
    class_names : list of str
        ``class_names[k]`` is the name of class ``k``.
    source : dict
        Provenance: the file read, its md5, the official URL and the licence.
    """

    name: str
    features: np.ndarray
    labels: np.ndarray
    class_names: List[str]
    source: Dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.labels.shape[0])
