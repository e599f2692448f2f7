"""TypiClust: pick the most typical unlabeled point of the clusters with the fewest labeled points.

``K = min(|L| + B, max_clusters)`` clusters (K-means up to 50 clusters, MiniBatchKMeans with batch 5000 above);
clusters with at most ``min_cluster_size`` points are dropped. Repeatedly, the cluster with the fewest labeled
points (ties: the largest) gives its most typical unlabeled point, where typicality is
``1 / (mean distance to the k nearest neighbours within the cluster + 1e-5)`` with ``k = min(20, size // 2)``.
Features are max-norm scaled, not projected (as the original). If no cluster is left (tiny pools) the remaining
picks are random.

References
----------
.. [1] Hacohen, Dekel, Weinshall (2022). "Active Learning on a Budget: Opposite Strategies Suit High and Low
   Budgets." ICML.
"""

from __future__ import annotations

from typing import Any, List

import numpy as np
import torch

from ._base import QueryStrategy, normalize_features, register_strategy, unlabeled_mask
from ..utils.validation import check_choice


def knn_typicality(X: np.ndarray, k: int, block_size: int = 2048) -> np.ndarray:
    """``1 / (mean L2 distance to the k nearest other points + 1e-5)``, blockwise (no N×N matrix)."""
    n = X.shape[0]
    k = max(1, min(k, n - 1))
    if n <= 1:
        return np.ones(n)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    sq = (Xt * Xt).sum(1)
    out = np.empty(n)
    with torch.no_grad():
        for r0 in range(0, n, block_size):
            d2 = (sq[r0 : r0 + block_size, None] + sq[None, :] - 2 * Xt[r0 : r0 + block_size] @ Xt.T).clamp_(0)
            rows = torch.arange(d2.shape[0])
            d2[rows, rows + r0] = float("inf")  # exclude the point itself
            vals = torch.topk(d2, k, dim=1, largest=False).values.sqrt()
            out[r0 : r0 + d2.shape[0]] = 1.0 / (vals.mean(1).double().numpy() + 1e-5)
    return out


@register_strategy("typiclust", label="TypiClust", color="#8c564b")
class TypiClust(QueryStrategy):
    """TypiClust (K-means variant).

    Parameters
    ----------
    max_clusters : int, default=500
    min_cluster_size : int, default=5
        Clusters of this size or smaller are dropped.
    k_neighbors : int, default=20
    normalize : {"maxnorm", "unit", "none"}, default="maxnorm"
    """

    def __init__(self, *, max_clusters: int = 500, min_cluster_size: int = 5, k_neighbors: int = 20,
                 normalize: str = "maxnorm") -> None:
        if int(max_clusters) < 1 or int(k_neighbors) < 1 or int(min_cluster_size) < 0:
            raise ValueError("max_clusters and k_neighbors must be positive, min_cluster_size non-negative")
        self.max_clusters = int(max_clusters)
        self.min_cluster_size = int(min_cluster_size)
        self.k_neighbors = int(k_neighbors)
        self.normalize = check_choice(normalize, ("unit", "maxnorm", "none"), "normalize")

    def _select(self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator,
                **context: Any) -> np.ndarray:
        from sklearn.cluster import KMeans, MiniBatchKMeans

        X = normalize_features(features, self.normalize)
        n = X.shape[0]
        K = max(1, min(labeled_idx.size + budget, self.max_clusters, n))
        seed = int(rng.integers(0, 2**31 - 1))
        if K <= 50:
            km = KMeans(n_clusters=K, n_init=1, random_state=seed)
        else:
            km = MiniBatchKMeans(n_clusters=K, batch_size=5000, n_init=1, random_state=seed)
        assign = km.fit_predict(X)
        sizes = np.bincount(assign, minlength=K)
        labeled_counts = np.bincount(assign[labeled_idx], minlength=K)
        free = unlabeled_mask(n, labeled_idx)
        members = {c: np.flatnonzero(assign == c) for c in range(K) if sizes[c] > self.min_cluster_size}
        typ = {}
        picks: List[int] = []
        while len(picks) < budget:
            alive = [c for c, m in members.items() if free[m].any()]
            if not alive:
                rest = np.flatnonzero(free)
                picks.extend(rng.choice(rest, budget - len(picks), replace=False).tolist())
                break
            c = min(alive, key=lambda c: (labeled_counts[c], -sizes[c], c))
            m = members[c]
            if c not in typ:
                typ[c] = knn_typicality(X[m], min(self.k_neighbors, m.size // 2))
            cand = np.flatnonzero(free[m])
            x = int(m[cand[np.argmax(typ[c][cand])]])
            picks.append(x)
            free[x] = False
            labeled_counts[c] += 1
        return np.asarray(picks, dtype=np.int64)
