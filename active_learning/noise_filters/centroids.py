"""Robust-centroid filter: noisy iff the nearest other-class centroid is closer than the own-class centroid.

Per class with ``n >= 3`` points, ``B = clip(floor(ln binom(n, s)), 15, 30)`` random subsets of size
``s = clip(floor(n / 2), 2, 50)`` are drawn and the mean of the subset with the smallest log-determinant of its
scatter (ridge-regularised; the s×s Gram matrix when ``s < d``) is kept, a minimum-covariance-determinant
style estimate. Classes with fewer than 3 points use their plain mean.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506 (code).
"""

from __future__ import annotations

from math import comb, log
from typing import cast

import numpy as np

from ._base import NoiseFilter, register_filter


def robust_centroid(Xc: np.ndarray, rng: np.random.Generator, ridge: float = 1e-6) -> np.ndarray:
    n, d = Xc.shape
    if n < 3:
        return Xc.mean(0)
    s = int(np.clip(n // 2, 2, 50))
    B = int(np.clip(int(log(comb(n, s))), 15, 30))
    best, best_val = None, np.inf
    for _ in range(B):
        sub = Xc[rng.choice(n, s, replace=False)]
        Z = sub - sub.mean(0)
        M = Z @ Z.T / s if s < d else Z.T @ Z / s
        val = np.linalg.slogdet(M + ridge * np.eye(M.shape[0]))[1]
        if val < best_val:
            best, best_val = sub.mean(0), val
    return cast(np.ndarray, best)


@register_filter("centroids")
class CentroidsFilter(NoiseFilter):
    """Nearest robust class centroid (Euclidean, raw features)."""

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        X = features[labeled_idx].astype(np.float64)
        classes = np.unique(labels)
        if classes.size < 2:
            return np.ones(labeled_idx.size, dtype=bool)
        cents = np.stack([robust_centroid(X[labels == c], rng) for c in classes])
        d = ((X[:, None, :] - cents[None]) ** 2).sum(-1)
        own = np.searchsorted(classes, labels)
        own_d = d[np.arange(len(X)), own]
        d[np.arange(len(X)), own] = np.inf
        return own_d <= d.min(1)
