"""ProbCover (greedy max-probability-cover on a δ-ball graph) and its weighted variant used by weighted NPC.

Greedy max-coverage in O(edges) total: the state keeps, for every point, its out-degree restricted to uncovered
nodes. When a node becomes covered only its in-neighbours lose one unit (found through the reverse CSR). The
argmax is taken with a lazy max-heap: degrees only decrease, so a popped entry whose stored degree is stale is
pushed back with its current degree. Ties are broken by a random priority drawn once per call from ``rng``.

References
----------
.. [1] Yehuda, Dekel, Hacohen, Weinshall (2022). "Active Learning Through a Covering Lens." NeurIPS.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ._base import (
    CoverageModel,
    CoverageState,
    GreedyCoverageStrategy,
    normalize_features,
    register_strategy,
    tiebreak_priority,
)
from ..utils.validation import check_choice, check_features, check_positive
from ._disk_cache import (
    DEFAULT_MIN_POINTS,
    CacheDir,
    check_cache_dir,
    features_digest,
    graph_from_arrays,
    graph_to_arrays,
    load_or_build,
    resolve_cache_dir,
)
from ._graph import SparseGraph, build_delta_graph, build_ivf_graph, gather_rows, row_lengths

GRAPH_METHODS = ("exact", "ivf")


class GraphCoverModel(CoverageModel):
    """Precomputed δ-graph and tie-break priorities of one ProbCover call."""

    def __init__(self, graph: SparseGraph, priority: np.ndarray, weighted: bool = False) -> None:
        self.graph = graph
        self.priority = priority
        self.n_samples = graph.n_nodes
        self.weighted = weighted
        self._outdeg = graph.out_degree()

    def init_state(
        self, representatives: np.ndarray, noisy_representatives: Optional[np.ndarray] = None
    ) -> "GraphCoverState":
        g = self.graph
        n = self.n_samples
        reps = np.asarray(representatives, dtype=np.int64)
        if self.weighted:
            weight = np.ones(n, dtype=np.float64)
            noisy = np.zeros(0, np.int64) if noisy_representatives is None else np.asarray(noisy_representatives)
            n_lab = reps.size + noisy.size
            if noisy.size and n_lab:
                p_hat = reps.size / n_lab  # estimated clean rate of the labeled set
                weight[gather_rows(g.indptr, g.indices, noisy)] = p_hat
            weight[gather_rows(g.indptr, g.indices, reps)] = 0.0
        else:
            weight = np.ones(n, dtype=np.int64)
            weight[gather_rows(g.indptr, g.indices, reps)] = 0
        # degree restricted to uncovered nodes = full degree - contributions of (partly) covered heads
        lost = np.flatnonzero(weight != 1)
        if lost.size:
            inn = gather_rows(g.rev_indptr, g.rev_indices, lost)
            w = np.repeat(1 - weight[lost], row_lengths(g.rev_indptr, lost))
            deg = self._outdeg.astype(weight.dtype) - np.bincount(inn, weights=w, minlength=n).astype(weight.dtype)
        else:
            deg = self._outdeg.astype(weight.dtype)
        return GraphCoverState(self, weight, deg)


class GraphCoverState(CoverageState):
    """Greedy max-coverage state: node weights (1 uncovered, 0 covered), restricted degrees, lazy heap."""

    def __init__(self, model: GraphCoverModel, weight: np.ndarray, deg: np.ndarray) -> None:
        self.model = model
        self.weight = weight
        self.deg = deg
        prio = model.priority
        self._heap = list(zip((-deg).tolist(), prio.tolist(), range(deg.shape[0])))
        heapq.heapify(self._heap)

    def gains(self, candidates: np.ndarray) -> np.ndarray:
        return self.deg[np.asarray(candidates, dtype=np.int64)].astype(np.float64)

    def best(self, selectable: np.ndarray) -> int:
        heap = self._heap
        deg = self.deg
        while heap:
            negd, pr, x = heap[0]
            if not selectable[x]:
                heapq.heappop(heap)
                continue
            cur = deg[x]
            if -negd != cur:  # stale: degrees only decrease, so push back with the current value
                heapq.heapreplace(heap, (-cur.item(), pr, x))
                continue
            return int(x)
        raise ValueError("no selectable point left; the budget exceeds the unlabeled pool")

    def commit(self, idx: int) -> None:
        g = self.model.graph
        nbrs = g.indices[g.indptr[idx] : g.indptr[idx + 1]]
        w = self.weight[nbrs]
        newly = nbrs[w > 0]
        if newly.size == 0:
            return
        inn = gather_rows(g.rev_indptr, g.rev_indices, newly)
        if self.model.weighted:
            wts = np.repeat(self.weight[newly], row_lengths(g.rev_indptr, newly))
            self.deg -= np.bincount(inn, weights=wts, minlength=self.deg.shape[0])
        else:
            self.deg -= np.bincount(inn, minlength=self.deg.shape[0])
        self.weight[newly] = 0


class _GraphCache:
    """A one-entry cache of the last δ-graph (keyed by feature content, δ and build options)."""

    def __init__(self) -> None:
        self.key: Optional[Tuple[Any, ...]] = None
        self.graph: Optional[SparseGraph] = None

    def get(self, key: Tuple[Any, ...]) -> Optional[SparseGraph]:
        return self.graph if key == self.key else None

    def put(self, key: Tuple[Any, ...], graph: SparseGraph) -> None:
        self.key, self.graph = key, graph


@register_strategy("probcover", label="ProbCover", color="#d62728")
class ProbCover(GreedyCoverageStrategy):
    """ProbCover: greedily pick the point whose δ-ball covers the most uncovered points.

    Every labeled point counts as covering (plain ProbCover); the NAS wrapper (``npc``) re-initialises the
    state with only predicted-clean points.

    Parameters
    ----------
    delta : float
        Ball radius δ (Euclidean, on the normalised features). **Required**: there is no default (the NAS repo
        used 0.65 for CIFAR-100 and 0.75 for CIFAR-10 SimCLR features). See :func:`choose_delta_by_purity`.
    normalize : {"unit", "maxnorm", "none"}, default="unit"
        Feature normalisation before distances (``"unit"`` = L2 on unit-sphere-projected features).
    graph : {"exact", "ivf"}, default="exact"
        ``"exact"``: blockwise exact graph. ``"ivf"``: approximate inverted-file graph for very large pools
        (see :func:`active_learning.strategies._graph.build_ivf_graph`); requires ``normalize="unit"``.
    block_size : int, optional
        Rows per block of the exact graph.
    device : str, default="auto"
        Torch device for the graph build.
    n_probe, n_lists, max_neighbors : optional
        IVF options (``max_neighbors`` caps each ball to its nearest points).
    cache : bool, default=True
        Keep the last graph in memory and reuse it when the same features and δ come again (first cache level).
    cache_dir : path, None or False, default=None
        Second cache level, on disk (:mod:`active_learning.strategies._disk_cache`): the exact graph is stored
        once per (features, δ) under ``cache_dir`` and loaded by every later call, in any process (other seeds,
        rounds, filters, noise levels). ``None``: ``<data root>/graphs`` (``$AL_DATA_ROOT/graphs``, else
        ``datasets/graphs``); ``False``: no disk cache. Only ``graph="exact"`` is stored (the IVF graph depends
        on ``rng``). Selections are the same with or without it. Independent of ``cache``.
    disk_cache_min_points : int, default=5000
        Pools with fewer points are not stored on disk (they build faster than a file round trip).

    Attributes
    ----------
    graph_source_ : str
        Where the last graph came from: ``"memory"``, ``"disk"``, ``"built"`` (built and stored on disk) or
        ``"uncached"`` (built, not stored).
    last_graph_ : SparseGraph
        The last δ-graph used (its ball statistics are recorded with a benchmark's results).

    References
    ----------
    .. [1] Yehuda, Dekel, Hacohen, Weinshall (2022). "Active Learning Through a Covering Lens." NeurIPS.
    """

    weighted = False

    def __init__(
        self,
        delta: float,
        *,
        normalize: str = "unit",
        graph: str = "exact",
        block_size: Optional[int] = None,
        device: Optional[str] = "auto",
        n_probe: int = 8,
        n_lists: Optional[int] = None,
        max_neighbors: Optional[int] = None,
        cache: bool = True,
        cache_dir: CacheDir = None,
        disk_cache_min_points: int = DEFAULT_MIN_POINTS,
    ) -> None:
        self.delta = check_positive(delta, "delta (ProbCover ball radius)")
        self.normalize = check_choice(normalize, ("unit", "maxnorm", "none"), "normalize")
        self.graph = check_choice(graph, GRAPH_METHODS, "graph")
        if self.graph == "ivf" and self.normalize != "unit":
            raise ValueError("graph='ivf' works on unit vectors; use normalize='unit'")
        self.block_size = block_size
        self.device = device
        self.n_probe = int(n_probe)
        self.n_lists = n_lists
        self.max_neighbors = max_neighbors
        self.cache = bool(cache)
        self.cache_dir = check_cache_dir(cache_dir)
        if int(disk_cache_min_points) < 0:
            raise ValueError(f"disk_cache_min_points must be >= 0, got {disk_cache_min_points}")
        self.disk_cache_min_points = int(disk_cache_min_points)
        self.graph_source_: Optional[str] = None
        self.last_graph_: Optional[SparseGraph] = None
        self._cache = _GraphCache()

    def _disk_root(self, n: int) -> Optional[Path]:
        """The disk cache folder for a pool of ``n`` points, or ``None`` (disk cache off for this build)."""
        if self.graph != "exact" or n < self.disk_cache_min_points:
            return None
        return resolve_cache_dir(self.cache_dir)

    def build_graph(self, features: np.ndarray, rng: np.random.Generator) -> SparseGraph:
        """Build (or fetch from the in-memory, then the disk cache) the δ-graph of raw ``features``."""
        X = normalize_features(check_features(features), self.normalize)
        root = self._disk_root(X.shape[0])
        digest = features_digest(X) if (self.cache or root is not None) else None
        key: Optional[Tuple[Any, ...]] = None
        if self.cache:
            key = (digest, self.delta, self.graph, self.n_probe, self.n_lists, self.max_neighbors)
            hit = self._cache.get(key)
            if hit is not None:
                self.graph_source_ = "memory"
                return hit
        if self.graph == "exact":
            unit = self.normalize == "unit"

            def build() -> SparseGraph:
                return build_delta_graph(X, self.delta, unit=unit, block_size=self.block_size, device=self.device)

            if root is not None:
                assert digest is not None
                n = X.shape[0]
                params: Dict[str, Any] = {"delta": float(self.delta), "unit": unit}
                got = load_or_build(
                    root, "delta_graph", digest, params, build, graph_to_arrays,
                    lambda arrays: graph_from_arrays(arrays, n, values=False),
                    info={"n_samples": n, "n_features": X.shape[1], "block_size": self.block_size,
                          "device": str(self.device)},
                )
                g, self.graph_source_ = got.value, got.source
            else:
                g, self.graph_source_ = build(), "uncached"
        else:
            g = build_ivf_graph(
                X,
                self.delta,
                np.random.default_rng(int(rng.integers(0, 2**62))),
                n_lists=self.n_lists,
                n_probe=self.n_probe,
                max_neighbors=self.max_neighbors,
                device=self.device,
            )
            self.graph_source_ = "uncached"
        if key is not None:
            self._cache.put(key, g)
        self.last_graph_ = g
        return g

    def prepare(self, features: np.ndarray, rng: np.random.Generator, **context: Any) -> GraphCoverModel:
        priority = tiebreak_priority(features.shape[0], rng)
        graph = self.build_graph(features, rng)
        return GraphCoverModel(graph, priority, weighted=self.weighted)


@register_strategy("weighted_probcover", label="Weighted ProbCover", color="#9467bd")
class WeightedProbCover(ProbCover):
    """ProbCover whose coverage by predicted-noisy labeled points counts only partly (weighted NPC's base).

    A node covered only by predicted-noisy labeled points keeps weight ``p̂`` (the estimated clean rate of the
    labeled set, i.e. ``|clean| / |labeled|``) instead of 1; nodes covered by clean points or by picks weigh 0.
    The greedy score is the weighted out-degree. Without noisy representatives it equals :class:`ProbCover`.

    Parameters
    ----------
    Same as :class:`ProbCover`.
    """

    weighted = True


def choose_delta_by_purity(
    features: np.ndarray,
    n_classes: int,
    rng: np.random.Generator,
    alpha: float = 0.95,
    *,
    deltas: Optional[np.ndarray] = None,
    normalize: str = "unit",
    max_points: int = 50000,
    block_size: int = 2048,
    return_purity: bool = False,
) -> Any:
    """ProbCover's purity heuristic for δ: the largest δ whose balls are ``alpha``-pure w.r.t. K-means labels.

    1. Pseudo-labels: K-means with ``K = n_classes`` on the normalised features (a random subset of
       ``max_points`` points for larger pools).
    2. ``purity(δ)`` = fraction of points whose δ-ball holds only points of their own pseudo-label, computed
       exactly from each point's distance to the nearest point of another pseudo-label (one blockwise pass).
    3. Return the largest δ on the grid (default 0.60, 0.58, ..., 0.02 as in the reference code) with
       ``purity >= alpha``; the smallest grid value if none qualifies.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    n_classes : int
    rng : numpy.random.Generator
    alpha : float, default=0.95
    deltas : ndarray, optional
        Candidate radii.
    return_purity : bool, default=False
        Also return ``(deltas, purity)``.

    References
    ----------
    .. [1] Yehuda, Dekel, Hacohen, Weinshall (2022). "Active Learning Through a Covering Lens." NeurIPS.
    """
    import torch
    from sklearn.cluster import KMeans

    X = normalize_features(check_features(features), normalize)
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    if X.shape[0] > max_points:
        X = X[np.sort(rng.choice(X.shape[0], max_points, replace=False))]
    if X.shape[0] < n_classes:
        raise ValueError(f"need at least n_classes={n_classes} points, got {X.shape[0]}")
    grid = np.round(np.arange(0.60, 0.0, -0.02), 2) if deltas is None else np.sort(np.asarray(deltas))[::-1]
    km = KMeans(n_clusters=int(n_classes), n_init=1, random_state=int(rng.integers(0, 2**31 - 1)))
    pseudo = km.fit_predict(X)
    Xt = torch.from_numpy(np.ascontiguousarray(X))
    sq = (Xt * Xt).sum(1)
    pt = torch.from_numpy(pseudo)
    nearest_other = np.empty(X.shape[0], dtype=np.float64)
    with torch.no_grad():
        for r0 in range(0, X.shape[0], block_size):
            r1 = min(X.shape[0], r0 + block_size)
            d2 = (sq[r0:r1, None] + sq[None, :] - 2 * Xt[r0:r1] @ Xt.T).clamp_(min=0)
            same = pt[r0:r1, None] == pt[None, :]
            d2[same] = float("inf")
            nearest_other[r0:r1] = d2.min(1).values.sqrt().double().numpy()
    purity = np.array([(nearest_other >= d).mean() for d in grid])
    ok = np.flatnonzero(purity >= alpha)
    best = float(grid[ok[0]]) if ok.size else float(grid[-1])
    if return_purity:
        return best, (grid, purity)
    return best
