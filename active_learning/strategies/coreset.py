"""Coreset: greedy k-center selection (farthest point from the current centers, squared L2).

The state is the vector of squared distances from every point to its nearest center, updated with one kernel
row per pick (O(N d) per pick, no N×N matrix). With no center at all (empty labeled set, or no predicted-clean
point inside NAS) every distance is infinite, so the first pick is a uniformly random point (random tie-break)
and k-center continues from it; the original code fell back to random sampling (Coreset) or crashed
(Coreset+NAS).

References
----------
.. [1] Sener, Savarese (2018). "Active Learning for Convolutional Neural Networks: A Core-Set Approach." ICLR.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from ._base import (
    CoverageModel,
    CoverageState,
    GreedyCoverageStrategy,
    argmax_with_priority,
    normalize_features,
    register_strategy,
    tiebreak_priority,
)
from ..utils.validation import check_choice, check_features
from ._graph import resolve_device


class KCenterModel(CoverageModel):
    def __init__(self, X: np.ndarray, priority: np.ndarray, device: Optional[str]) -> None:
        self.n_samples = X.shape[0]
        self.priority = priority
        self.device = resolve_device(device)
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.device)
        self.sq = (self.X * self.X).sum(1)

    def sqdist_rows(self, idx: np.ndarray) -> torch.Tensor:
        it = torch.from_numpy(np.asarray(idx, dtype=np.int64)).to(self.device)
        return (self.sq[it, None] + self.sq[None, :] - 2.0 * (self.X @ self.X[it].T).T).clamp_(min=0.0)

    def init_state(
        self, representatives: np.ndarray, noisy_representatives: Optional[np.ndarray] = None
    ) -> "KCenterState":
        reps = np.asarray(representatives, dtype=np.int64)
        mind = torch.full((self.n_samples,), float("inf"), device=self.device)
        with torch.no_grad():
            for r0 in range(0, reps.size, 256):
                mind = torch.minimum(mind, self.sqdist_rows(reps[r0 : r0 + 256]).min(0).values)
        return KCenterState(self, mind)


class KCenterState(CoverageState):
    def __init__(self, model: KCenterModel, mind: torch.Tensor) -> None:
        self.model = model
        self.mind = mind

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return self.mind.cpu().numpy().astype(np.float64)[np.asarray(candidates, dtype=np.int64)]

    def best(self, selectable: np.ndarray) -> int:
        cand = np.flatnonzero(selectable)
        if cand.size == 0:
            raise ValueError("no selectable point left; the budget exceeds the unlabeled pool")
        return argmax_with_priority(self.mind.cpu().numpy(), self.model.priority, cand)

    def commit(self, idx: int) -> None:
        with torch.no_grad():
            self.mind = torch.minimum(self.mind, self.model.sqdist_rows(np.array([idx]))[0])


@register_strategy("coreset", label="Coreset", color="#2ca02c")
class Coreset(GreedyCoverageStrategy):
    """Greedy k-center (Coreset) on the given features.

    Parameters
    ----------
    normalize : {"unit", "maxnorm", "none"}, default="unit"
    embedding_key : str, optional
        Name of a context entry holding alternative features of shape (n_samples, d') to use instead of
        ``features`` (e.g. ``"embeddings"``: penultimate-layer features of the previous round's classifier, as
        in the original Coreset).
    device : str, default="auto"

    References
    ----------
    .. [1] Sener, Savarese (2018). "Active Learning for Convolutional Neural Networks: A Core-Set Approach." ICLR.
    """

    def __init__(self, *, normalize: str = "unit", embedding_key: Optional[str] = None, device: Optional[str] = "auto"):
        self.normalize = check_choice(normalize, ("unit", "maxnorm", "none"), "normalize")
        self.embedding_key = embedding_key
        self.device = device

    def prepare(self, features: np.ndarray, rng: np.random.Generator, **context: Any) -> KCenterModel:
        if self.embedding_key is not None:
            if context.get(self.embedding_key) is None:
                raise ValueError(f"Coreset(embedding_key={self.embedding_key!r}) needs that entry in the context")
            emb = check_features(context[self.embedding_key], self.embedding_key)
            if emb.shape[0] != features.shape[0]:
                raise ValueError(f"{self.embedding_key} must have one row per pool point ({features.shape[0]})")
            features = emb
        X = normalize_features(features, self.normalize)
        return KCenterModel(X, tiebreak_priority(X.shape[0], rng), self.device)
