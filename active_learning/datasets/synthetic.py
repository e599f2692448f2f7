"""Synthetic Gaussian blobs: a seconds-fast stand-in for a tabular dataset (smoke tests, demos, unit tests)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._base import register_dataset
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


@register_dataset("sphere_clusters")
def load_sphere_clusters(
    root: Any = None,
    mirror: Any = None,
    download: bool = True,
    n_classes: int = 20,
    clusters_per_class: int = 1,
    n_per_cluster: int = 100,
    n_features: int = 32,
    spread: float = 0.08,
    seed: int = 0,
) -> TabularDataset:
    """Well-separated clusters projected to the unit sphere: the geometry coverage strategies (ProbCover,
    MaxHerding) assume of self-supervised features, at a size that runs in seconds.

    Parameters
    ----------
    root, mirror, download
        Ignored (nothing to read).
    n_classes : int, default=20
    clusters_per_class : int, default=1
    n_per_cluster : int, default=100
    n_features : int, default=32
    spread : float, default=0.08
        Standard deviation around each (unit-norm) cluster centre before the projection.
    seed : int, default=0
    """
    if n_classes < 2 or clusters_per_class < 1 or n_per_cluster < 1:
        raise ValueError("sphere_clusters needs n_classes >= 2, clusters_per_class >= 1 and n_per_cluster >= 1")
    rng = np.random.default_rng(seed)
    n_clusters = n_classes * clusters_per_class
    centers = rng.normal(size=(n_clusters, n_features))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    points = centers.repeat(n_per_cluster, axis=0) + spread * rng.normal(size=(n_clusters * n_per_cluster, n_features))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = (np.arange(n_clusters) % n_classes).repeat(n_per_cluster).astype(np.int64)
    source = {"synthetic": True, "seed": seed, "n_clusters": n_clusters, "spread": spread}
    return TabularDataset("sphere_clusters", points, labels, [f"class{k}" for k in range(n_classes)], source)
