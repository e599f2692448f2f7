"""The dataset registry (:data:`DATASETS`, :func:`load`) and the tabular container its loaders return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

import numpy as np

from .._registry import Registry

DATASETS: Registry[Callable[..., Any]] = Registry("dataset")


def register_dataset(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a loader function ``loader(root=None, mirror=None, download=True, **options)``."""
    return DATASETS.register(name)


def load(name: str, root: Any = None, mirror: Any = None, download: bool = True, **options: Any) -> Any:
    """Load the dataset registered as ``name``.

    Parameters
    ----------
    name : str
        Registered dataset name (see :func:`list_datasets`).
    root : path, optional
        Local data folder (default ``./datasets`` in the working directory, or ``$AL_DATA_ROOT``).
    mirror : path, optional
        Folder mirroring the raw files as ``<mirror>/<dataset>/<file>`` (default ``$AL_DATA_MIRROR``).
    download : bool, default=True
        Allow downloading the official files when they are not found locally.
    **options
        Loader-specific options (e.g. ``sensors=24`` for Wall Robot).
    """
    return DATASETS.get(name)(root=root, mirror=mirror, download=download, **options)


def list_datasets() -> List[str]:
    """Names of every registered dataset."""
    return DATASETS.names()


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
