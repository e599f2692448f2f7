"""Shared synthetic data for the NAS-core tests (small, seeded)."""

from __future__ import annotations

import numpy as np


def clustered(n_clusters: int = 20, per_cluster: int = 30, dim: int = 16, spread: float = 0.05, seed: int = 0):
    """Well-separated Gaussian clusters on the unit sphere; returns (features, cluster ids)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    ids = np.repeat(np.arange(n_clusters), per_cluster)
    X = centers[ids] + spread * rng.normal(size=(ids.size, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    perm = rng.permutation(ids.size)
    return X[perm].astype(np.float32), ids[perm]
