"""Synthetic Gaussian blobs: a seconds-fast stand-in for a tabular dataset (smoke tests, demos, unit tests)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import register_dataset
from ._base import TabularDataset


@register_dataset("blobs")
def load_blobs(
    root: Any = None,
    mirror: Any = None,
    download: bool = True,
    n_per_class: Sequence[int] = (150, 120, 60, 90),
    n_features: int = 4,
    spread: float = 1.2,
    seed: int = 0,
) -> TabularDataset:
    """Isotropic Gaussian classes around random centres (``N(0, 3^2)`` per coordinate).

    Parameters
    ----------
    root, mirror, download
        Ignored (nothing to read); present for the common loader signature.
    n_per_class : sequence of int, default=(150, 120, 60, 90)
        Examples per class (imbalanced like Wall Robot by default).
    n_features : int, default=4
    spread : float, default=1.2
        Standard deviation of each class around its centre.
    seed : int, default=0
    """
    if any(n < 1 for n in n_per_class) or len(n_per_class) < 2:
        raise ValueError(f"n_per_class needs at least two positive sizes, got {list(n_per_class)}")
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(len(n_per_class), n_features))
    features = np.concatenate([c + spread * rng.normal(size=(n, n_features)) for c, n in zip(centers, n_per_class)])
    labels = np.concatenate([np.full(n, k, dtype=np.int64) for k, n in enumerate(n_per_class)])
    source = {"synthetic": True, "seed": seed, "n_per_class": list(n_per_class), "spread": spread}
    return TabularDataset("blobs", features, labels, [f"class{k}" for k in range(len(n_per_class))], source)
