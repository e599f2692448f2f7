"""kNN label-consistency filter: noisy iff the label differs from the majority label of its k nearest labeled
neighbours (the point itself included), with ``k = |L| // C``; everything is clean while ``k < 3``.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506 (code).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._base import NoiseFilter, register_filter, resolve_n_classes


@register_filter("knn")
class KNNFilter(NoiseFilter):
    """kNN majority-vote filter on raw features (L2).

    Parameters
    ----------
    k : int, optional
        Neighbours (default ``|L| // n_classes``).
    min_k : int, default=3
        Below this ``k`` every point is declared clean.
    n_classes : int, optional
    """

    def __init__(self, *, k: Optional[int] = None, min_k: int = 3, n_classes: Optional[int] = None) -> None:
        if k is not None and int(k) < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k
        self.min_k = int(min_k)
        self.n_classes = n_classes

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        n = labeled_idx.size
        C = resolve_n_classes(labels, context, self.n_classes)
        k = int(self.k) if self.k is not None else n // C
        k = min(k, n)
        if k < self.min_k:
            return np.ones(n, dtype=bool)
        X = features[labeled_idx].astype(np.float64)
        sq = (X * X).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * X @ X.T
        np.fill_diagonal(d2, -np.inf)  # the point itself is always its first neighbour
        nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
        votes = labels[nn]
        majority = np.array([np.bincount(v, minlength=C).argmax() for v in votes])
        return majority == labels
