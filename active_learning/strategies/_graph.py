"""Sparse δ-ball graphs and blockwise kernel helpers (torch; CPU, or GPU when available).

The ProbCover / NPC graph has a directed edge ``x -> y`` iff ``||x - y|| < δ`` (self-loops included). On unit
vectors this is ``x·y > 1 - δ²/2``, so the exact graph is a thresholded ``X @ X.T`` computed in row blocks. The
graph is symmetric, so only the upper-triangular blocks are computed (half the floating-point work of one full
pass) and the lower part is obtained by an O(E) transpose. Every row is processed, including the last partial
block (the original code dropped the last ``N mod 500`` rows).

The result is stored as CSR with ``int32`` column indices plus the reverse CSR (identical for the symmetric exact
graph). For pools too large for an exact pass there is an approximate inverted-file (IVF) path
(:func:`build_ivf_graph`): K-means cells, and each cell is compared only with its ``n_probe`` closest cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch


def resolve_device(device: Optional[str] = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_block_size(n: int, bytes_per_block: int = 1 << 28) -> int:
    """Rows per block so that one float32 block of ``rows x n`` stays under ``bytes_per_block`` (256 MiB)."""
    rows = bytes_per_block // (4 * max(n, 1))
    return int(max(64, min(4096, rows)))


@dataclass
class SparseGraph:
    """A directed graph in CSR form plus its reverse (transposed) CSR.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int32, shape (n_edges,)
        Out-neighbours of row ``i`` are ``indices[indptr[i]:indptr[i+1]]`` (sorted).
    rev_indptr, rev_indices : ndarray
        The same for in-neighbours (the same arrays when the graph is symmetric).
    values : ndarray of float32 or None
        Optional per-edge value aligned with ``indices`` (squared distance ``||x - y||²``).
    symmetric : bool
    """

    indptr: np.ndarray
    indices: np.ndarray
    rev_indptr: np.ndarray
    rev_indices: np.ndarray
    values: Optional[np.ndarray] = None
    rev_values: Optional[np.ndarray] = None
    symmetric: bool = False

    @property
    def n_nodes(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def n_edges(self) -> int:
        return int(self.indices.shape[0])

    def out_degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def to_scipy(self):
        """The forward graph as a ``scipy.sparse.csr_matrix`` (data = 1, or ``values`` when stored)."""
        from scipy.sparse import csr_matrix

        data = self.values if self.values is not None else np.ones(self.n_edges, dtype=np.int8)
        return csr_matrix((data, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))

    def nbytes(self) -> int:
        arrays = [self.indptr, self.indices, self.values]
        if not self.symmetric:
            arrays += [self.rev_indptr, self.rev_indices, self.rev_values]
        return int(sum(a.nbytes for a in arrays if a is not None))


#: A δ-ball counts as pure when at least this share of its points has one class.
PURE_SHARE = 0.95


def graph_ball_statistics(graph: "SparseGraph", labels: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """Exact ball statistics of a whole pool from its δ-graph (every point a centre; self-loops included).

    Returns ``n_samples``, ``mean_ball``, ``median_ball``, ``singleton_fraction`` and, with ``labels``,
    ``own_class_share`` (mean share of a ball's points in its centre's class) and ``pure_fraction`` (balls at least
    95 % one class). Costs one pass over the edges.
    """
    indptr = np.asarray(graph.indptr)
    sizes = np.diff(indptr)
    out: Dict[str, Any] = {"n_samples": int(sizes.size), "mean_ball": float(sizes.mean()),
                           "median_ball": float(np.median(sizes)), "singleton_fraction": float((sizes <= 1).mean())}
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    if y is not None and (y < 0).any():  # unknown true labels (e.g. Clothing1M's noisy-only images): no purity
        out["labels"] = f"{int((y < 0).sum())} of {y.size} true labels unknown; class purity not measured"
    elif y is not None:
        rows = np.repeat(np.arange(sizes.size), sizes)
        cols = np.asarray(graph.indices, dtype=np.int64)
        C = int(y.max()) + 1
        counts = np.bincount(rows * C + y[cols], minlength=sizes.size * C).reshape(sizes.size, C)
        out["own_class_share"] = float((counts[np.arange(sizes.size), y] / sizes).mean())
        out["pure_fraction"] = float((counts.max(1) / sizes >= PURE_SHARE).mean())
    return out


def gather_rows(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Concatenate ``indices[indptr[r]:indptr[r+1]]`` for every ``r`` in ``rows`` (vectorised)."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return indices[:0]
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return indices[:0]
    csum = np.cumsum(lens)
    offs = np.repeat(starts - (csum - lens), lens)
    return indices[offs + np.arange(total, dtype=np.int64)]


def row_lengths(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.int64)
    return indptr[rows + 1] - indptr[rows]


def _transpose_csr(indptr: np.ndarray, indices: np.ndarray, n: int, values: Optional[np.ndarray] = None):
    """Counting-sort transpose (O(E + N), in scipy's C code); returns (indptr, int32 indices, values)."""
    from scipy.sparse import csr_matrix

    data = values if values is not None else np.ones(indices.shape[0], dtype=np.int8)
    mat = csr_matrix((data, indices, indptr), shape=(n, n))
    t = mat.T.tocsr()  # csr -> csc of the transpose, a counting sort; keeps explicit entries
    t_indptr = t.indptr.astype(np.int64)
    t_indices = t.indices.astype(np.int32, copy=False)
    return t_indptr, t_indices, (t.data.astype(np.float32, copy=False) if values is not None else None)


def _check_graph_inputs(X: np.ndarray, delta: float) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("features contain NaN or inf; the δ-graph needs finite features")
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive finite radius, got {delta!r}")
    return X


def build_delta_graph(
    X: np.ndarray,
    delta: float,
    *,
    unit: bool = True,
    block_size: Optional[int] = None,
    device: Optional[str] = "auto",
    return_values: bool = False,
    block_callback: Optional[Callable[[int, int, torch.Tensor], None]] = None,
) -> SparseGraph:
    """Exact δ-ball graph ``x -> y iff ||x - y|| < delta`` (self-loops included), built blockwise.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features. With ``unit=True`` rows must have unit norm and the test is ``x·y > 1 - delta²/2``.
    delta : float
        Ball radius (Euclidean).
    unit : bool, default=True
        Whether rows are unit vectors (skips the norm terms of the distance).
    block_size : int, optional
        Rows per block; default keeps a block under 256 MiB. Every row is covered, including the last partial
        block.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    return_values : bool, default=False
        Also store the squared distance of each edge (for truncated kernels).
    block_callback : callable, optional
        Called as ``block_callback(r0, r1, S)`` with each upper band ``S = X[r0:r1] @ X[r0:].T`` (so that other
        statistics, e.g. kernel row sums, share the single pass).

    Returns
    -------
    SparseGraph
        Symmetric CSR with int32 indices; ``rev_*`` alias the forward arrays.
    """
    X = _check_graph_inputs(X, delta)
    n = X.shape[0]
    dev = resolve_device(device)
    bs = int(block_size) if block_size else default_block_size(n)
    if bs < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    Xt = torch.from_numpy(X).to(dev)
    sq = (Xt * Xt).sum(1) if not unit else None
    d2max = float(delta) ** 2
    thr = 1.0 - d2max / 2.0
    up_rows, up_cols, up_vals = [], [], []
    with torch.no_grad():
        for r0 in range(0, n, bs):
            r1 = min(n, r0 + bs)
            S = Xt[r0:r1] @ Xt[r0:].T  # (rows, n - r0): the upper-triangular band of this row block
            if block_callback is not None:
                block_callback(r0, r1, S)
            if unit:
                mask = S > thr
            else:
                assert sq is not None
                D2 = sq[r0:r1, None] + sq[None, r0:] - 2.0 * S
                mask = D2 < d2max
            # keep strictly-upper entries (j > i); the diagonal is added explicitly below
            k = r1 - r0
            mask[:, :k] &= torch.ones(k, k, dtype=torch.bool, device=dev).triu_(1)
            nz = mask.nonzero()
            if nz.shape[0]:
                rows = nz[:, 0]
                cols = nz[:, 1]
                if return_values:
                    if unit:
                        vt = (2.0 - 2.0 * S[rows, cols]).clamp_(min=0.0)
                    else:
                        vt = D2[rows, cols].clamp_(min=0.0)
                    up_vals.append(vt.to("cpu", torch.float32).numpy())
                up_rows.append((rows + r0).to("cpu", torch.int32).numpy())
                up_cols.append((cols + r0).to("cpu", torch.int32).numpy())
            del S, mask, nz
    r = np.concatenate(up_rows) if up_rows else np.zeros(0, np.int32)
    c = np.concatenate(up_cols) if up_cols else np.zeros(0, np.int32)
    v = np.concatenate(up_vals) if (return_values and up_vals) else (np.zeros(0, np.float32) if return_values else None)
    del up_rows, up_cols, up_vals
    # upper CSR (rows come out of nonzero() in row-major order, so they are already sorted)
    cnt_u = np.bincount(r, minlength=n).astype(np.int64)
    del r
    indptr_u = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt_u, out=indptr_u[1:])
    # lower part = transpose of the upper part (columns j < i, sorted)
    indptr_l, c_l, v_l = _transpose_csr(indptr_u, c, n, v)
    cnt_l = np.diff(indptr_l)
    # row i of the full graph = [lower_i (j < i), i, upper_i (j > i)], all sorted and disjoint
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt_l + cnt_u + 1, out=indptr[1:])
    total = int(indptr[-1])
    indices = np.empty(total, dtype=np.int32)
    values = np.empty(total, dtype=np.float32) if return_values else None
    start = indptr[:-1]
    pos_l = np.repeat(start - indptr_l[:-1], cnt_l) + np.arange(c_l.shape[0], dtype=np.int64)
    indices[pos_l] = c_l
    if values is not None:
        values[pos_l] = v_l
    del pos_l
    diag_pos = start + cnt_l
    indices[diag_pos] = np.arange(n, dtype=np.int32)
    if values is not None:
        values[diag_pos] = 0.0
    pos_u = np.repeat(start + cnt_l + 1 - indptr_u[:-1], cnt_u) + np.arange(c.shape[0], dtype=np.int64)
    indices[pos_u] = c
    if values is not None:
        values[pos_u] = v
    return SparseGraph(indptr, indices, indptr, indices, values, values, symmetric=True)


def _kmeans_torch(X: torch.Tensor, k: int, n_iter: int, gen: torch.Generator) -> torch.Tensor:
    """Spherical K-means (cosine) on unit rows; returns unit centroids (k, d)."""
    n = X.shape[0]
    init = torch.randperm(n, generator=gen)[:k].to(X.device)
    C = X[init].clone()
    for _ in range(n_iter):
        assign = torch.empty(n, dtype=torch.long, device=X.device)
        for r0 in range(0, n, 8192):
            assign[r0 : r0 + 8192] = (X[r0 : r0 + 8192] @ C.T).argmax(1)
        newC = torch.zeros_like(C).index_add_(0, assign, X)
        counts = torch.bincount(assign, minlength=k)
        empty = counts == 0
        newC[empty] = C[empty]
        C = newC / newC.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return C


def build_ivf_graph(
    X: np.ndarray,
    delta: float,
    rng: np.random.Generator,
    *,
    n_lists: Optional[int] = None,
    n_probe: int = 8,
    max_neighbors: Optional[int] = None,
    train_size: int = 20000,
    kmeans_iters: int = 10,
    device: Optional[str] = "auto",
    return_values: bool = False,
) -> SparseGraph:
    """Approximate δ-ball graph for large pools (unit rows): inverted file with cell-to-cell probing.

    The pool is split into ``n_lists`` spherical K-means cells; the points of a cell are compared only with the
    points of the ``n_probe`` cells whose centroids are closest to its own centroid. Edges found are exact
    (``x·y > 1 - delta²/2``); edges across far cells may be missed (recall < 1). ``max_neighbors`` keeps only the
    nearest ones per row (a kNN-capped radius graph). The graph is directed; the reverse CSR is its transpose.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), unit rows
    delta : float
    rng : numpy.random.Generator
        Seeds the K-means initialisation.
    n_lists : int, optional
        Number of cells (default ``round(sqrt(n))``).
    n_probe : int, default=8
    max_neighbors : int, optional
    """
    X = _check_graph_inputs(X, delta)
    n = X.shape[0]
    if n_probe < 1:
        raise ValueError(f"n_probe must be >= 1, got {n_probe}")
    dev = resolve_device(device)
    n_lists = int(n_lists or max(1, round(np.sqrt(n))))
    n_lists = min(n_lists, n)
    n_probe = min(n_probe, n_lists)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    Xt = torch.from_numpy(X).to(dev)
    sub = torch.randperm(n, generator=gen)[: min(n, train_size)].to(dev)
    C = _kmeans_torch(Xt[sub], n_lists, kmeans_iters, gen)
    assign = torch.empty(n, dtype=torch.long, device=dev)
    with torch.no_grad():
        for r0 in range(0, n, 8192):
            assign[r0 : r0 + 8192] = (Xt[r0 : r0 + 8192] @ C.T).argmax(1)
    order = torch.argsort(assign).cpu().numpy()
    counts = torch.bincount(assign, minlength=n_lists).cpu().numpy()
    starts = np.concatenate([[0], np.cumsum(counts)])
    probes = torch.topk(C @ C.T, n_probe, dim=1).indices.cpu().numpy()
    thr = 1.0 - float(delta) ** 2 / 2.0
    rows_out, cols_out, vals_out = [], [], []
    with torch.no_grad():
        for c in range(n_lists):
            q = order[starts[c] : starts[c + 1]]
            if q.size == 0:
                continue
            cand = np.concatenate([order[starts[p] : starts[p + 1]] for p in probes[c]])
            cand_t = torch.from_numpy(cand).to(dev)
            for q0 in range(0, q.size, 2048):
                qb = torch.from_numpy(q[q0 : q0 + 2048]).to(dev)
                S = Xt[qb] @ Xt[cand_t].T
                if max_neighbors is not None and max_neighbors < cand.size:
                    top = torch.topk(S, int(max_neighbors), dim=1)
                    keep = top.values > thr
                    rr = torch.arange(qb.shape[0], device=dev)[:, None].expand_as(keep)[keep]
                    cc = top.indices[keep]
                    ss = top.values[keep]
                else:
                    keep = S > thr
                    nz = keep.nonzero()
                    rr, cc = nz[:, 0], nz[:, 1]
                    ss = S[rr, cc]
                rows_out.append(qb[rr].cpu().numpy().astype(np.int32))
                cols_out.append(cand_t[cc].cpu().numpy().astype(np.int32))
                if return_values:
                    vals_out.append((2.0 - 2.0 * ss).clamp_(min=0.0).cpu().numpy().astype(np.float32))
    r = np.concatenate(rows_out)
    cidx = np.concatenate(cols_out)
    # self-loops are always edges (a point covers itself)
    self_missing = np.ones(n, dtype=bool)
    self_missing[r[r == cidx]] = False
    extra = np.flatnonzero(self_missing).astype(np.int32)
    r = np.concatenate([r, extra])
    cidx = np.concatenate([cidx, extra])
    v = np.concatenate(vals_out + [np.zeros(extra.size, np.float32)]) if return_values else None
    from scipy.sparse import coo_matrix

    data = np.arange(1, r.size + 1, dtype=np.int64)  # edge ids, to carry values through the sort
    mat = coo_matrix((data, (r, cidx)), shape=(n, n)).tocsr()
    mat.sort_indices()
    indptr = mat.indptr.astype(np.int64)
    indices = mat.indices.astype(np.int32)
    values = v[mat.data - 1] if v is not None else None  # v is None exactly when not return_values
    rev_indptr, rev_indices, rev_values = _transpose_csr(indptr, indices, n, values)
    return SparseGraph(indptr, indices, rev_indptr, rev_indices, values, rev_values, symmetric=False)


def dense_delta_graph(X: np.ndarray, delta: float, unit: bool = True) -> np.ndarray:
    """Dense boolean reference adjacency (float64; small inputs only, for tests)."""
    X = np.asarray(X, dtype=np.float64)
    if unit:
        return X @ X.T > 1.0 - delta**2 / 2.0
    sq = (X * X).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * X @ X.T) < delta**2
