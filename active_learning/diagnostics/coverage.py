"""Does a feature space suit coverage strategies? Ball statistics, ProbCover coverage and a plain verdict.

Coverage strategies (ProbCover, NPC, MaxHerding and their NAS variants) assume that the δ-ball around a point holds
other points, mostly of its own class: then one label covers a region, and a noise-aware strategy that re-covers a
ball whose label was wrong buys something. When most balls hold only their centre, or balls are class-mixed, the
greedy picks carry no more information than random ones, and NAS's re-sampling of uncovered dense regions can
concentrate the budget on a few classes (Shafir, Hacohen, Weinshall 2025, Section 4; Yehuda et al. 2022, Section 4.1).

:func:`diagnose_coverage` measures, for a grid of radii δ and at the density of the pool that runs:

* the ball size around a random sample of centres (mean, median, fraction of singletons), counted against the
  *whole* pool, so the numbers hold for the pool size the strategies see (ball sizes grow with pool density);
* with true labels: the mean share of a ball's points in its centre's class and the fraction of balls that are at
  least 95 % one class, and the leave-one-out k-NN accuracy of the features;
* at the δ values of interest: the fraction of the pool that ProbCover's picks cover at 1..5 samples per class,
  against random picks of the same size, and how many classes the picks reach;
* the δ of ProbCover's purity rule on the whole pool (:func:`~active_learning.strategies.choose_delta_by_purity`).

References
----------
.. [1] Yehuda, Dekel, Hacohen, Weinshall (2022). "Active Learning Through a Covering Lens." NeurIPS.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..strategies import PURE_SHARE

#: δ grid of the diagnostic (unit-sphere Euclidean distances lie in [0, 2]); 1.10 is the reference code's MAX_DELTA.
DEFAULT_DELTAS = tuple(np.round(np.arange(0.30, 1.1001, 0.05), 2).tolist())
#: Verdict thresholds: most balls singletons; most non-singleton balls impure; ProbCover no better than random.
SINGLETON_LIMIT = 0.5
#: A ball whose points share its centre's class less than half the time on average: class-mixed (premise fails);
#: less than 80 %: the premise holds only in part.
MIXED_LIMIT = 0.5
OWN_CLASS_LIMIT = 0.8
COVERAGE_GAIN_LIMIT = 1.1


@dataclass
class BallRow:
    """Ball statistics at one radius (a row of :attr:`CoverageDiagnostic.balls`)."""

    delta: float
    mean_ball: float
    median_ball: float
    singleton_fraction: float
    pure_fraction: Optional[float] = None  # balls >= 95 % one class (singletons count as pure)
    pure_fraction_nonsingleton: Optional[float] = None
    own_class_share: Optional[float] = None  # mean share of a ball's points in its centre's class


@dataclass
class CoverageRow:
    """ProbCover and random coverage at one radius and budget (a row of :attr:`CoverageDiagnostic.coverage`)."""

    delta: float
    samples_per_class: int
    budget: int
    probcover_coverage: float
    random_coverage: float
    probcover_classes: Optional[int] = None
    random_classes: Optional[float] = None


@dataclass
class CoverageDiagnostic:
    """Result of :func:`diagnose_coverage` (``to_dict`` for JSON, ``verdict`` for a plain sentence)."""

    n_samples: int
    n_features: int
    n_classes: Optional[int]
    n_centres: int
    normalize: str
    balls: List[BallRow]
    coverage: List[CoverageRow] = field(default_factory=list)
    knn_accuracy: Optional[float] = None
    knn_k: int = 10
    purity_delta: Optional[float] = None
    purity_alpha: float = 0.95
    deltas_of_interest: List[float] = field(default_factory=list)
    seed: int = 0

    @classmethod
    def from_dict(cls, record: Dict[str, Any]) -> "CoverageDiagnostic":
        """Rebuild from :meth:`to_dict` output (extra keys, e.g. stored verdicts, are ignored)."""
        fields = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        fields["balls"] = [BallRow(**r) for r in record["balls"]]
        fields["coverage"] = [CoverageRow(**r) for r in record.get("coverage", [])]
        return cls(**fields)

    def ball_row(self, delta: float) -> BallRow:
        """The row at ``delta`` (must be on the grid or among the δ values of interest)."""
        for row in self.balls:
            if abs(row.delta - float(delta)) < 1e-9:
                return row
        raise KeyError(f"delta {delta} is not on this diagnostic's grid {[r.delta for r in self.balls]}")

    def verdict(self, delta: float) -> str:
        """A plain sentence on whether coverage strategies can work at ``delta`` on these features."""
        row = self.ball_row(delta)
        cov = [r for r in self.coverage if abs(r.delta - float(delta)) < 1e-9]
        facts = f"at δ = {delta:g} the mean ball holds {row.mean_ball:.1f} points, {100 * row.singleton_fraction:.0f} % hold only their centre"
        if row.pure_fraction_nonsingleton is not None:
            facts += f", {100 * row.pure_fraction_nonsingleton:.0f} % of the others are >= 95 % one class"
        if row.singleton_fraction >= SINGLETON_LIMIT:
            return (f"PREMISE FAILS: {facts}. Most balls are singletons at this δ: coverage strategies will behave "
                    "like random here (a larger δ or features whose neighbours are closer may help).")
        if row.own_class_share is not None and row.own_class_share < MIXED_LIMIT:
            return (f"PREMISE FAILS: {facts}. Most balls are class-mixed at this δ (a ball's points share its centre's "
                    f"class {100 * row.own_class_share:.0f} % of the time): one label does not speak for its ball, so "
                    "covering balls is no better than random (try a smaller δ).")
        caveats = []
        if row.own_class_share is not None and row.own_class_share < OWN_CLASS_LIMIT:
            caveats.append(f"only {100 * row.own_class_share:.0f} % of a ball's points share its centre's class, so a "
                           "covered ball still holds many points of other classes")
        if cov:
            last = max(cov, key=lambda r: r.budget)
            pc = float(np.mean([r.probcover_coverage for r in cov]))
            rand = float(np.mean([r.random_coverage for r in cov]))
            if pc < COVERAGE_GAIN_LIMIT * rand and pc < 0.95:  # both near 100 % is not a weakness
                return (f"PREMISE WEAK: {facts}; but ProbCover's picks cover {100 * pc:.1f} % of the pool on average over "
                        f"the budgets, against {100 * rand:.1f} % for random picks: little to gain over random.")
            facts += (f"; ProbCover's {last.budget} picks cover {100 * last.probcover_coverage:.1f} % of the pool "
                      f"(random: {100 * last.random_coverage:.1f} %)")
            if last.probcover_classes is not None and self.n_classes and last.probcover_classes < self.n_classes:
                caveats.append(f"its picks reach only {last.probcover_classes} of {self.n_classes} classes (random: "
                               f"{last.random_classes:.1f})")
        if caveats:
            return f"PREMISE PARTLY HOLDS: {facts}; but {'; and '.join(caveats)}."
        return f"PREMISE HOLDS: {facts}."

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out["verdicts"] = {f"{d:g}": self.verdict(d) for d in self.deltas_of_interest}
        return out

    def table(self) -> str:
        """The ball statistics as a Markdown table."""
        head = "| δ | mean ball | median ball | singletons | pure (>= 95 %) | pure, non-singleton | own-class share |"
        lines = [head, "|" + " --- |" * 7]

        def pct(v: Optional[float]) -> str:
            return "—" if v is None else f"{100 * v:.1f} %"

        for r in self.balls:
            mark = " *" if any(abs(r.delta - d) < 1e-9 for d in self.deltas_of_interest) else ""
            lines.append(f"| {r.delta:g}{mark} | {r.mean_ball:.2f} | {r.median_ball:g} | {pct(r.singleton_fraction)} | "
                         f"{pct(r.pure_fraction)} | {pct(r.pure_fraction_nonsingleton)} | {pct(r.own_class_share)} |")
        return "\n".join(lines)

    def coverage_table(self) -> str:
        lines = ["| δ | samples / class | budget | ProbCover coverage | random coverage | ProbCover classes | random classes |",
                 "|" + " --- |" * 7]
        for r in self.coverage:
            pc = "—" if r.probcover_classes is None else str(r.probcover_classes)
            rc = "—" if r.random_classes is None else f"{r.random_classes:.1f}"
            lines.append(f"| {r.delta:g} | {r.samples_per_class} | {r.budget} | {100 * r.probcover_coverage:.2f} % | "
                         f"{100 * r.random_coverage:.2f} % | {pc} | {rc} |")
        return "\n".join(lines)


def _check_labels(labels: Any, n: int) -> np.ndarray:
    """True labels: one per feature row, class ids 0..C-1 (the project's :func:`~active_learning.utils.validation.as_class_ids`)."""
    from ..utils.validation import as_class_ids

    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must be a 1-D array with one entry per feature row ({n}), got shape {y.shape}")
    return as_class_ids(y, "labels")


def ball_statistics(
    features: np.ndarray,
    deltas: Sequence[float],
    labels: Optional[np.ndarray] = None,
    *,
    n_centres: int = 5000,
    knn_k: int = 10,
    rng: Optional[np.random.Generator] = None,
    block_size: int = 256,
) -> tuple:
    """Ball statistics of ``n_centres`` random centres against the whole pool, for every δ in one pass.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        **Unit-norm** rows (the coverage strategies' ``normalize="unit"``); balls use ``||x - y|| < δ`` as the
        strategies' δ-graphs do, the centre included.
    deltas : sequence of float
    labels : ndarray of int, optional
        True classes: adds the class purity of balls and the leave-one-out k-NN accuracy.
    n_centres : int, default=5000
        Centres sampled without replacement (all points when the pool is smaller). Ball sizes are counted over the
        whole pool, so the estimates hold at the pool's density.
    knn_k : int, default=10
    rng : numpy.random.Generator, optional
        Draws the centres (default ``np.random.default_rng(0)``).
    block_size : int, default=256
        Centres per block (memory: ``block_size * n_samples`` floats).

    Returns
    -------
    (list of BallRow, k-NN accuracy or None, number of centres)
    """
    import torch

    X = np.ascontiguousarray(features, dtype=np.float32)
    n = X.shape[0]
    rng = np.random.default_rng(0) if rng is None else rng
    m = min(int(n_centres), n)
    centres = np.sort(rng.choice(n, m, replace=False)) if m < n else np.arange(n)
    grid = np.asarray(sorted(float(d) for d in deltas), dtype=np.float64)
    thresholds = torch.from_numpy((1.0 - grid**2 / 2.0).astype(np.float32))  # unit rows: ||x-y|| < δ  <=>  x·y > 1 - δ²/2
    Xt = torch.from_numpy(X)
    y = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))
    C = int(y.max().item()) + 1 if y is not None else 0
    onehot = torch.nn.functional.one_hot(y, C).to(torch.float32) if y is not None else None
    sizes = np.zeros((grid.size, m), dtype=np.int64)
    own = np.zeros((grid.size, m), dtype=np.float64)
    top = np.zeros((grid.size, m), dtype=np.float64)
    knn_hits = 0
    with torch.no_grad():
        for b0 in range(0, m, block_size):
            idx = torch.from_numpy(centres[b0:b0 + block_size])
            S = Xt[idx] @ Xt.T
            S[torch.arange(idx.shape[0]), idx] = 2.0  # the centre is always in its ball (rounding aside)
            for j in range(grid.size):
                mask = S > thresholds[j]
                sizes[j, b0:b0 + idx.shape[0]] = mask.sum(1).numpy()
                if onehot is not None and y is not None:
                    per_class = mask.to(torch.float32) @ onehot  # (block, C)
                    total = per_class.sum(1)
                    own[j, b0:b0 + idx.shape[0]] = (per_class[torch.arange(idx.shape[0]), y[idx]] / total).numpy()
                    top[j, b0:b0 + idx.shape[0]] = (per_class.max(1).values / total).numpy()
            if y is not None:
                S[torch.arange(idx.shape[0]), idx] = -3.0  # leave one out
                nn = S.topk(knn_k, dim=1).indices
                votes = torch.nn.functional.one_hot(y[nn], C).sum(1)
                knn_hits += int((votes.argmax(1) == y[idx]).sum())
            del S
    rows = []
    for j, d in enumerate(grid):
        s = sizes[j]
        single = s <= 1
        row = BallRow(float(round(d, 6)), float(s.mean()), float(np.median(s)), float(single.mean()))
        if y is not None:
            pure = top[j] >= PURE_SHARE
            row.pure_fraction = float(pure.mean())
            row.pure_fraction_nonsingleton = float(pure[~single].mean()) if (~single).any() else None
            row.own_class_share = float(own[j].mean())
        rows.append(row)
    knn = knn_hits / m if y is not None else None
    return rows, knn, m


def _covered_fraction(graph: Any, picks: np.ndarray) -> float:
    from ..strategies._graph import gather_rows

    if picks.size == 0:
        return 0.0
    return float(np.unique(gather_rows(graph.indptr, graph.indices, picks)).size / graph.n_nodes)


def probcover_coverage(
    features: np.ndarray,
    delta: float,
    n_classes: int,
    samples_per_class: Sequence[int] = (1, 2, 3, 4, 5),
    labels: Optional[np.ndarray] = None,
    *,
    rng: Optional[np.random.Generator] = None,
    n_random: int = 20,
    cache_dir: Any = None,
) -> List[CoverageRow]:
    """Fraction of the pool covered by ProbCover's greedy picks at cumulative budgets ``spc * n_classes``.

    Random picks of the same size are the reference (mean of ``n_random`` draws). With ``labels`` the number of
    classes the picks reach is reported too. ``features`` are the raw pool features: the δ-graph is the strategy's
    own (unit-sphere, exact), so a benchmark on the same features finds it in the disk cache and vice versa.
    """
    from ..strategies import ProbCover

    rng = np.random.default_rng(0) if rng is None else rng
    strategy = ProbCover(float(delta), normalize="unit", cache_dir=cache_dir)
    X = np.asarray(features)
    graph = strategy.build_graph(X, rng)
    budgets = [int(s) * int(n_classes) for s in samples_per_class]
    if budgets and max(budgets) > X.shape[0]:
        raise ValueError(f"the largest budget {max(budgets)} exceeds the pool ({X.shape[0]} points)")
    picks = np.zeros(0, dtype=np.int64)
    random_draws = [rng.permutation(X.shape[0])[: max(budgets, default=0)] for _ in range(n_random)]
    rows = []
    for spc, b in zip(samples_per_class, budgets):
        new = strategy.select(X, picks, b - picks.size, rng) if b > picks.size else np.zeros(0, np.int64)
        picks = np.concatenate([picks, new])
        rand_cov = float(np.mean([_covered_fraction(graph, r[:b]) for r in random_draws]))
        row = CoverageRow(float(delta), int(spc), b, _covered_fraction(graph, picks), rand_cov)
        if labels is not None:
            row.probcover_classes = int(np.unique(labels[picks]).size)
            row.random_classes = float(np.mean([np.unique(labels[r[:b]]).size for r in random_draws]))
        rows.append(row)
    return rows


def diagnose_coverage(
    features: np.ndarray,
    labels: Optional[np.ndarray] = None,
    *,
    deltas: Optional[Sequence[float]] = None,
    deltas_of_interest: Sequence[float] = (),
    n_classes: Optional[int] = None,
    samples_per_class: Sequence[int] = (1, 2, 3, 4, 5),
    normalize: str = "unit",
    n_centres: int = 5000,
    purity_rule: bool = True,
    purity_alpha: float = 0.95,
    seed: int = 0,
    cache_dir: Any = None,
) -> CoverageDiagnostic:
    """Measure whether coverage strategies can work on ``features`` (see the module docstring).

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        Raw features of the pool (normalised here as the strategies do).
    labels : ndarray of int, optional
        True classes (for purity, k-NN accuracy and classes reached); never used to choose anything.
    deltas : sequence of float, optional
        The grid (default :data:`DEFAULT_DELTAS`); ``deltas_of_interest`` and the purity-rule δ are added to it.
    deltas_of_interest : sequence of float
        δ values a benchmark uses: ProbCover's coverage and a verdict are computed at each.
    n_classes : int, optional
        Number of classes (default: from ``labels``); needed for budgets and the purity rule.
    samples_per_class : sequence of int, default=(1, 2, 3, 4, 5)
    normalize : {"unit"}, default="unit"
        The coverage strategies' normalisation (only the unit sphere is supported here).
    n_centres : int, default=5000
        Sampled ball centres (balls are counted against the whole pool).
    purity_rule : bool, default=True
        Also run ProbCover's purity rule for δ on the **whole** pool (K-means with ``n_classes`` clusters,
        ``alpha = purity_alpha``, grid 1.10 .. 0.02); it becomes a δ of interest.
    seed : int, default=0
        Seeds the centre sample, the purity rule's K-means and the random-pick reference.
    cache_dir : path, None or False
        δ-graph disk cache (as :class:`~active_learning.strategies.ProbCover`'s ``cache_dir``).
    """
    from ..strategies import choose_delta_by_purity, normalize_features
    from ..utils.validation import check_features

    if normalize != "unit":
        raise ValueError(f"normalize must be 'unit' (the coverage strategies' default), got {normalize!r}")
    raw = check_features(features)
    X = normalize_features(raw, "unit")
    n = X.shape[0]
    y = None if labels is None else _check_labels(labels, n)
    C = int(n_classes) if n_classes is not None else (int(y.max()) + 1 if y is not None else None)
    if C is not None and C < 2:
        raise ValueError(f"n_classes must be >= 2, got {C}")
    grid = [float(d) for d in (DEFAULT_DELTAS if deltas is None else deltas)]
    for d in list(grid) + [float(d) for d in deltas_of_interest]:
        if not np.isfinite(d) or not 0.0 < d <= 2.0:
            raise ValueError(f"every δ must lie in (0, 2] (unit-sphere distances), got {d}")
    seeds = np.random.SeedSequence(seed).spawn(3)
    interest = sorted({round(float(d), 6) for d in deltas_of_interest})
    purity_delta = None
    if purity_rule:
        if C is None:
            raise ValueError("the purity rule needs the number of classes: give labels or n_classes")
        purity_grid = np.round(np.arange(1.10, 0.0, -0.02), 2)
        purity_delta = float(choose_delta_by_purity(X, C, np.random.default_rng(seeds[0]), purity_alpha,
                                                    deltas=purity_grid, normalize="none", max_points=n))
        interest = sorted(set(interest) | {round(purity_delta, 6)})
    full_grid = sorted(set(round(d, 6) for d in grid) | set(interest))
    rows, knn, m = ball_statistics(X, full_grid, y, n_centres=n_centres, rng=np.random.default_rng(seeds[1]))
    coverage: List[CoverageRow] = []
    if C is not None:
        for d in interest:
            coverage += probcover_coverage(raw, d, C, samples_per_class, y, rng=np.random.default_rng(seeds[2]),
                                           cache_dir=cache_dir)
    return CoverageDiagnostic(
        n_samples=n, n_features=X.shape[1], n_classes=C, n_centres=m, normalize=normalize, balls=rows,
        coverage=coverage, knn_accuracy=knn, purity_delta=purity_delta, purity_alpha=purity_alpha,
        deltas_of_interest=interest, seed=seed,
    )


def plot_coverage_diagnostic(diag: CoverageDiagnostic, path: Any, title: Optional[str] = None) -> None:
    """Two panels against δ: class purity of balls (left) and ball size / singletons (right); δs of interest and
    the purity-rule δ marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = np.array([r.delta for r in diag.balls])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if diag.balls[0].pure_fraction is not None:
        ax1.plot(d, [r.pure_fraction for r in diag.balls], "o-", color="#1f77b4", label="balls >= 95 % one class")
        ax1.plot(d, [np.nan if r.pure_fraction_nonsingleton is None else r.pure_fraction_nonsingleton for r in diag.balls],
                 "s--", color="#1f77b4", label="same, non-singleton balls")
        ax1.plot(d, [r.own_class_share for r in diag.balls], "^-", color="#2ca02c", label="mean own-class share")
    else:
        ax1.text(0.5, 0.5, "no labels given", ha="center", va="center", transform=ax1.transAxes)
    ax1.set_xlabel("δ (unit-sphere distance)")
    ax1.set_ylabel("fraction")
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_title("class purity of δ-balls")
    ax2.plot(d, [r.mean_ball for r in diag.balls], "o-", color="#d62728", label="mean ball size")
    ax2.plot(d, [max(r.median_ball, 1) for r in diag.balls], "s--", color="#d62728", label="median ball size")
    ax2.set_yscale("log")
    ax2.set_xlabel("δ (unit-sphere distance)")
    ax2.set_ylabel("points in the ball (centre included)")
    ax2.set_title(f"ball size in a pool of {diag.n_samples:,}")
    ax3 = ax2.twinx()
    ax3.plot(d, [r.singleton_fraction for r in diag.balls], "x:", color="#7f7f7f", label="singleton fraction")
    ax3.set_ylabel("singleton fraction")
    ax3.set_ylim(-0.02, 1.02)
    for ax in (ax1, ax2):
        for v in diag.deltas_of_interest:
            is_purity = diag.purity_delta is not None and abs(v - diag.purity_delta) < 1e-9
            ax.axvline(v, color="#9467bd" if is_purity else "#8c564b", lw=1.2, ls="-" if is_purity else "--")
    handles = ax2.get_legend_handles_labels()[0] + ax3.get_legend_handles_labels()[0]
    labels_ = ax2.get_legend_handles_labels()[1] + ax3.get_legend_handles_labels()[1]
    from matplotlib.lines import Line2D

    marks = [Line2D([], [], color="#8c564b", ls="--", label="δ used by a benchmark")]
    if diag.purity_delta is not None:
        marks.append(Line2D([], [], color="#9467bd", ls="-", label=f"purity-rule δ = {diag.purity_delta:g}"))
    ax2.legend(handles + marks, labels_ + [h.get_label() for h in marks], fontsize=8, loc="upper left")
    if diag.balls[0].pure_fraction is not None:
        ax1.legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    from ..plotting.save import save_figure

    save_figure(fig, path, dpi=110)
