"""Performance benchmark of the coverage strategies (ProbCover / NPC / MaxHerding) against the floor.

Synthetic data: ``--clusters`` Gaussian clusters in ``--dim`` dimensions projected to the unit sphere. δ is
chosen so that a point has about ``--neighbors`` δ-neighbours on average (or given with ``--delta``).

Floor: one blockwise ``X @ X.T`` pass plus the δ threshold (float32 torch, same block size), the minimum work
of any exact δ-graph method. Every time is also printed as a ratio to the floor. Peak memory is the process's
maximum resident set size (``resource.getrusage``) after each phase, minus the baseline after data creation.

Usage::

    nice -n 19 python benchmarks/perf/bench_coverage.py                  # N=50,000, d=512, 1,000 picks
    nice -n 19 python benchmarks/perf/bench_coverage.py --large-n 200000  # plus the approximate (IVF) path
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from active_learning.noise_filters import get_filter  # noqa: E402
from active_learning.oracle import NoisyOracle  # noqa: E402
from active_learning.strategies import NAS, MaxHerding, ProbCover  # noqa: E402
from active_learning.strategies import (  # noqa: E402
    build_delta_graph,
    build_ivf_graph,
    default_block_size,
    greedy_picks,
    tiebreak_priority,
    unlabeled_mask,
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_data(n: int, d: int, clusters: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, d)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    ids = rng.integers(0, clusters, n)
    X = centers[ids] + spread * rng.standard_normal((n, d), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), ids


def delta_for_neighbors(X: np.ndarray, target: int, rng: np.random.Generator, sample: int = 500) -> float:
    rows = rng.choice(X.shape[0], sample, replace=False)
    S = torch.from_numpy(X[rows]) @ torch.from_numpy(X).T
    kth = torch.topk(S, target, dim=1).values[:, -1]  # similarity of the target-th neighbour
    return float(np.sqrt(max(2.0 - 2.0 * float(kth.median()), 1e-6)))


def floor_pass(X: np.ndarray, delta: float, block: int) -> tuple:
    Xt = torch.from_numpy(X)
    thr = 1.0 - delta**2 / 2
    edges = 0
    with torch.no_grad():
        for r0 in range(0, X.shape[0], block):
            edges += int((Xt[r0 : r0 + block] @ Xt.T > thr).sum())
    return edges


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--spread", type=float, default=0.03, help="per-dimension std of the cluster noise")
    ap.add_argument("--neighbors", type=int, default=450)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--sigma", type=float, default=None, help="MaxHerding RBF bandwidth (default: delta / 2)")
    ap.add_argument("--picks", type=int, default=1000)
    ap.add_argument("--n-classes", type=int, default=100, help="NAS share size b")
    ap.add_argument("--large-n", type=int, default=0, help="also run the approximate path at this N (e.g. 200000)")
    ap.add_argument("--large-clusters", type=int, default=None,
                    help="clusters at --large-n (default: scaled to keep the points per cluster of --n)")
    ap.add_argument("--skip-maxherding-dense", action="store_true")
    ap.add_argument("--only-maxherding-dense", action="store_true",
                    help="measure only the floor and the exact MaxHerding (plus --large-n if given)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cuda {torch.cuda.is_available()}")

    X, ids = make_data(args.n, args.dim, args.clusters, args.spread, args.seed)
    rng = np.random.default_rng(args.seed)
    delta = args.delta or delta_for_neighbors(X, args.neighbors, rng)
    sigma = args.sigma or delta / 2
    base_mb = peak_mb()
    block = default_block_size(args.n)
    print(f"N={args.n} d={args.dim} clusters={args.clusters} delta={delta:.4f} sigma={sigma:.4f} block={block}")
    print(f"baseline RSS after data: {base_mb:.0f} MB (features {X.nbytes / 2**20:.0f} MB); dense fp32 NxN would be "
          f"{4 * args.n**2 / 1e9:.1f} GB")

    edges_floor, t_floor = timed(lambda: floor_pass(X, delta, block))
    print(f"[floor] X@X.T + threshold: {t_floor:.2f} s, {edges_floor} edges ({edges_floor / args.n:.0f}/node), "
          f"peak +{peak_mb() - base_mb:.0f} MB")

    def ratio(t: float) -> str:
        return f"{t:.2f} s = {t / t_floor:.2f}x floor"

    if args.only_maxherding_dense:
        return maxherding_dense(args, X, sigma, t_floor, base_mb)
    g, t_graph = timed(lambda: build_delta_graph(X, delta, block_size=block))
    assert g.n_edges == edges_floor, (g.n_edges, edges_floor)
    print(f"[graph] exact symmetric CSR: {ratio(t_graph)}; {g.n_edges} edges, {g.nbytes() / 2**20:.0f} MB, "
          f"peak +{peak_mb() - base_mb:.0f} MB")

    def probcover_picks():
        from active_learning.strategies.probcover import GraphCoverModel

        model = GraphCoverModel(g, tiebreak_priority(args.n, np.random.default_rng(1)))
        state = model.init_state(np.zeros(0, np.int64))
        return greedy_picks(state, unlabeled_mask(args.n, np.zeros(0, np.int64)), args.picks)

    picks, t_pc = timed(probcover_picks)
    covered = np.zeros(args.n, bool)
    for p in picks:
        covered[g.indices[g.indptr[p] : g.indptr[p + 1]]] = True
    print(f"[probcover] {args.picks} picks: {t_pc:.2f} s; graph + picks = {ratio(t_graph + t_pc)}; "
          f"coverage {covered.mean():.3f}, peak +{peak_mb() - base_mb:.0f} MB")

    # NPC: ProbCover + NAS with a cheap filter (kNN label consistency), 50% symmetric noise, b = n_classes
    y = ids % args.n_classes
    oracle = NoisyOracle.symmetric(y, 0.5, np.random.default_rng(2), n_classes=args.n_classes)
    npc_base = ProbCover(delta, block_size=block)
    _, t_npc_graph = timed(partial(npc_base.build_graph, X, np.random.default_rng(0)))  # fills the cache
    npc = NAS(npc_base, noise_filter=get_filter("knn"), n_classes=args.n_classes)
    out, t_npc = timed(partial(npc.select, X, [], args.picks, np.random.default_rng(3), oracle=oracle))
    print(f"[npc] graph {t_npc_graph:.2f} s + {args.picks} picks in {len(range(0, args.picks, args.n_classes))} "
          f"shares with knn filter {t_npc:.2f} s = {ratio(t_npc_graph + t_npc)}; peak +{peak_mb() - base_mb:.0f} MB")
    del npc_base, npc  # free the graph cache before the MaxHerding kernels

    mh_sparse = MaxHerding(sigma, kernel_backend="sparse", truncation_tol=1e-4)
    out, t_mhs = timed(partial(mh_sparse.select, X, [], args.picks, np.random.default_rng(4)))
    print(f"[maxherding sparse, RBF truncated at k<1e-4] kernel + {args.picks} picks: {ratio(t_mhs)}; "
          f"peak +{peak_mb() - base_mb:.0f} MB")
    del mh_sparse
    if not args.skip_maxherding_dense:
        maxherding_dense(args, X, sigma, t_floor, base_mb)
    if args.large_n:
        n2 = args.large_n
        del g
        k2 = args.large_clusters or int(round(args.clusters * n2 / args.n))
        X2, ids2 = make_data(n2, args.dim, k2, args.spread, args.seed + 1)
        base2 = peak_mb()
        floor_est = t_floor * (n2 / args.n) ** 2
        print(f"\nN={n2}, {k2} clusters: dense fp32 NxN would be {4 * n2**2 / 1e9:.0f} GB; floor extrapolated "
              f"{floor_est:.0f} s (x{(n2 / args.n) ** 2:.0f} of the measured floor)")
        g2, t_g2 = timed(lambda: build_ivf_graph(X2, delta, np.random.default_rng(5), n_probe=8))
        # recall of the approximate graph on 300 random rows
        rows = np.random.default_rng(6).choice(n2, 300, replace=False)
        exact = (torch.from_numpy(X2[rows]) @ torch.from_numpy(X2).T > 1 - delta**2 / 2).sum().item()
        found = int(sum(g2.indptr[r + 1] - g2.indptr[r] for r in rows))
        print(f"[ivf graph] {t_g2:.2f} s = {t_g2 / floor_est:.3f}x extrapolated floor; {g2.n_edges} edges "
              f"({g2.n_edges / n2:.0f}/node), recall {found / exact:.4f} on 300 rows, {g2.nbytes() / 2**20:.0f} MB")
        from active_learning.strategies.probcover import GraphCoverModel

        def pc2():
            model = GraphCoverModel(g2, tiebreak_priority(n2, np.random.default_rng(1)))
            st = model.init_state(np.zeros(0, np.int64))
            return greedy_picks(st, unlabeled_mask(n2, np.zeros(0, np.int64)), args.picks)

        _, t_pc2 = timed(pc2)
        print(f"[probcover ivf] {args.picks} picks {t_pc2:.2f} s; graph + picks {t_g2 + t_pc2:.2f} s = "
              f"{(t_g2 + t_pc2) / floor_est:.3f}x extrapolated floor; peak +{peak_mb() - base2:.0f} MB")
        del g2
        y2 = ids2 % args.n_classes
        oracle2 = NoisyOracle.symmetric(y2, 0.5, np.random.default_rng(2), n_classes=args.n_classes)
        base = ProbCover(delta, graph="ivf")
        _, t_bg = timed(lambda: base.build_graph(X2, np.random.default_rng(5)))
        npc2 = NAS(base, noise_filter=get_filter("knn"), n_classes=args.n_classes)
        _, t_npc2 = timed(lambda: npc2.select(X2, [], args.picks, np.random.default_rng(3), oracle=oracle2))
        print(f"[npc ivf] graph {t_bg:.2f} s + {args.picks} picks with knn filter {t_npc2:.2f} s")
        del base, npc2
        mh2 = MaxHerding(sigma, kernel_backend="sparse", sparse_graph="ivf", truncation_tol=1e-4)
        _, t_mh2 = timed(lambda: mh2.select(X2, [], args.picks, np.random.default_rng(4)))
        print(f"[maxherding sparse ivf] kernel + {args.picks} picks {t_mh2:.2f} s")
        print(f"peak RSS +{peak_mb() - base2:.0f} MB over the N={n2} baseline ({base2:.0f} MB)")


def maxherding_dense(args, X: np.ndarray, sigma: float, t_floor: float, base_mb: float) -> None:
    mh = MaxHerding(sigma, kernel_backend="dense")
    model, t_prep = timed(lambda: mh.prepare(X, np.random.default_rng(4)))
    state = model.init_state(np.zeros(0, np.int64))
    n = X.shape[0]
    picks, t_mh = timed(lambda: greedy_picks(state, unlabeled_mask(n, np.zeros(0, np.int64)), args.picks))
    t = t_prep + t_mh
    print(f"[maxherding dense exact, lazy greedy] bounds+near-kernel pass {t_prep:.2f} s + {args.picks} picks "
          f"{t_mh:.2f} s = {t:.2f} s = {t / t_floor:.2f}x floor; {state.n_evaluations} exact gain evaluations "
          f"({state.n_evaluations / args.picks:.0f}/pick vs {n} for naive greedy); peak +{peak_mb() - base_mb:.0f} MB")


if __name__ == "__main__":
    main()
