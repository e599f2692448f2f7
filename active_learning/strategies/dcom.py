"""DCoM: dynamic coverage with a per-sample ball radius, mixing margin uncertainty and density by competence.

Every labeled point ``l_i`` carries its own radius ``δ_i``. Coverage ``cov`` is the fraction of the pool inside
some ball ``B(l_i, δ_i)``. The competence ``s = p / (1 + exp(-k (cov - a)))`` with ``p = 1 + exp(-k (1 - a))``
weighs the min-max-normalised margin ``-(p_1 - p_2)`` against the min-max-normalised density, the out-degree in
the δ̄-graph (δ̄ = mean radius) restricted to uncovered points; picks are greedy (the density is updated after
each pick as in ProbCover).

Radii: a newly labeled point starts with the rounded mean radius; at the next call it gets the largest radius on
the grid ``resolution, 2·resolution, ..., max_delta`` whose ball purity (fraction of points whose model
pseudo-label equals the point's **revealed** label) is at least ``0.2 · cov + 0.4``. The original code compared
with the point's *clean* training label, a ground-truth leak; here only revealed labels are used.

References
----------
.. [1] Mishal, Weinshall (2024). "DCoM: Active Learning for All Learners." arXiv 2407.01804.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import torch

from ._base import (
    QueryStrategy,
    argmax_with_priority,
    normalize_features,
    register_strategy,
    tiebreak_priority,
    unlabeled_mask,
)
from ..utils.validation import check_labels, check_positive
from ._graph import build_delta_graph, resolve_device
from .probcover import GraphCoverModel


def _minmax(v: np.ndarray) -> np.ndarray:
    lo, hi = v.min(), v.max()
    return np.zeros_like(v, dtype=np.float64) if hi <= lo else (v - lo) / (hi - lo)


@register_strategy("dcom", label="DCoM", color="#bcbd22")
class DCoM(QueryStrategy):
    """DCoM with revealed labels only (no ground-truth leak).

    Parameters
    ----------
    initial_delta : float
        Radius of every point before its own is estimated (required).
    max_delta : float, default=1.1
    resolution : float, default=0.02
    k_logistic : float, default=50
    a_logistic : float, default=0.8
    normalize : {"unit", "maxnorm", "none"}, default="unit"
    device : str, default="auto"

    Context
    -------
    labels : revealed labels of ``labeled_idx`` (needed to estimate radii);
    pred_probs : (n_samples, n_classes) probabilities of the previous round's model (margin and pseudo-labels);
        without it the margin term is 0 and new points keep the mean radius.
    """

    requires_model = True

    def __init__(self, initial_delta: float, *, max_delta: float = 1.1, resolution: float = 0.02,
                 k_logistic: float = 50.0, a_logistic: float = 0.8, normalize: str = "unit",
                 device: Optional[str] = "auto") -> None:
        self.initial_delta = check_positive(initial_delta, "initial_delta (DCoM starting radius)")
        self.max_delta = check_positive(max_delta, "max_delta")
        self.resolution = check_positive(resolution, "resolution")
        self.k_logistic = float(k_logistic)
        self.a_logistic = float(a_logistic)
        self.normalize = normalize
        self.device = device
        self._deltas: Dict[int, float] = {}

    def reset(self) -> None:
        """Forget the per-sample radii (start of a new AL run)."""
        self._deltas = {}

    def competence(self, cov: float) -> float:
        k, a = self.k_logistic, self.a_logistic
        p = 1.0 + np.exp(-k * (1.0 - a))
        return float(p / (1.0 + np.exp(-k * (cov - a))))

    def _dist_rows(self, Xt: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
        it = torch.from_numpy(np.asarray(idx, dtype=np.int64)).to(Xt.device)
        sq = (Xt * Xt).sum(1)
        return (sq[it, None] + sq[None, :] - 2.0 * Xt[it] @ Xt.T).clamp_(min=0).sqrt()

    def _covered(self, Xt: torch.Tensor, L: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        cov = torch.zeros(Xt.shape[0], dtype=torch.bool, device=Xt.device)
        for r0 in range(0, L.size, 256):
            d = self._dist_rows(Xt, L[r0 : r0 + 256])
            dl = torch.from_numpy(deltas[r0 : r0 + 256].astype(np.float32)).to(Xt.device)
            cov |= (d < dl[:, None]).any(0)
        return cov.cpu().numpy()

    def _select(self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator,
                **context: Any) -> np.ndarray:
        X = normalize_features(features, self.normalize)
        n = X.shape[0]
        L = labeled_idx
        priority = tiebreak_priority(n, rng)
        Xt = torch.from_numpy(np.ascontiguousarray(X)).to(resolve_device(self.device))
        probs = context.get("pred_probs")
        if probs is not None:
            probs = np.asarray(probs, dtype=np.float64)
            if probs.ndim != 2 or probs.shape[0] != n:
                raise ValueError(f"pred_probs must have shape (n_samples={n}, n_classes), got {probs.shape}")
        # drop radii of points no longer labeled (a new run without reset())
        self._deltas = {i: d for i, d in self._deltas.items() if i in set(L.tolist())}
        mean_delta = float(np.mean(list(self._deltas.values()))) if self._deltas else self.initial_delta
        mean_delta = round(mean_delta / self.resolution) * self.resolution or self.resolution
        deltas = np.array([self._deltas.get(int(i), mean_delta) for i in L], dtype=np.float64)
        covered = self._covered(Xt, L, deltas) if L.size else np.zeros(n, dtype=bool)
        cov = float(covered.mean())
        new = np.array([k for k, i in enumerate(L.tolist()) if i not in self._deltas], dtype=np.int64)
        if new.size and probs is not None and context.get("labels") is not None:
            labels = check_labels(context["labels"], L.size)
            pseudo = torch.from_numpy(probs.argmax(1)).to(Xt.device)
            grid = np.arange(1, int(round(self.max_delta / self.resolution)) + 1) * self.resolution
            g = torch.from_numpy(grid.astype(np.float32)).to(Xt.device)
            target = 0.2 * cov + 0.4
            for r0 in range(0, new.size, 128):
                rows = new[r0 : r0 + 128]
                d = self._dist_rows(Xt, L[rows])  # (b, n)
                agree = (pseudo[None, :] == torch.from_numpy(labels[rows]).to(Xt.device)[:, None]).float()
                inside = (d[:, None, :] < g[None, :, None]).float()  # (b, grid, n)
                purity = (inside * agree[:, None, :]).sum(-1) / inside.sum(-1).clamp(min=1)
                ok = (purity >= target).cpu().numpy()
                for j, k in enumerate(rows):
                    good = np.flatnonzero(ok[j])
                    deltas[k] = grid[good[-1]] if good.size else grid[0]
            for k in new:
                self._deltas[int(L[k])] = float(deltas[k])
            covered = self._covered(Xt, L, deltas)
            cov = float(covered.mean())
        # density graph at the mean radius, covered nodes removed
        d_bar = float(np.mean(deltas)) if L.size else self.initial_delta
        graph = build_delta_graph(X, d_bar, unit=self.normalize == "unit", device=self.device)
        model = GraphCoverModel(graph, priority)
        state = model.init_state(np.zeros(0, np.int64))
        lost = np.flatnonzero(covered)
        if lost.size:  # mark the union of the individual balls as covered
            state.weight[lost] = 0
            from ._graph import gather_rows

            state.deg -= np.bincount(gather_rows(graph.rev_indptr, graph.rev_indices, lost), minlength=n)
        if probs is not None and L.size:
            top2 = np.sort(probs, axis=1)[:, -2:]
            margin = _minmax(-(top2[:, 1] - top2[:, 0]))
            s = self.competence(cov)
        else:
            margin, s = np.zeros(n), 0.0
        selectable = unlabeled_mask(n, L)
        picks = np.empty(budget, dtype=np.int64)
        for t in range(budget):
            cand = np.flatnonzero(selectable)
            score = np.full(n, -np.inf)
            score[cand] = s * margin[cand] + (1.0 - s) * _minmax(state.deg[cand].astype(np.float64))
            x = argmax_with_priority(score, priority, cand)
            picks[t] = x
            selectable[x] = False
            state.commit(x)
        return picks
