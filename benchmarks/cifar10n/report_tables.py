"""The NAS CIFAR-10 / CIFAR-10N tables of the README and ``results/README.md``, made from ``results/cifar10n``.

    python benchmarks/cifar10n/report_tables.py [--results-dir results] [--write]

Tables (between ``<!-- table:NAME -->`` markers):

* ``nas-cifar10n-pairs``: noise-aware strategy minus its base at every budget (1..5 samples per class), paired by
  seed (NPC − ProbCover, weighted NPC − ProbCover, MaxHerding+NAS − MaxHerding, Coreset+NAS − Coreset), per noise
  setting and filter (``figures.py`` draws the same differences);
* ``nas-cifar10n-summary``: the same differences in one line per pair and training setting, one column per filter:
  the mean over every (noise setting, budget) cell both strategies ran, and in how many of those cells the
  noise-aware version is significantly better / worse (the rule of the pairs table's bold: ``|mean| > 2 SE``);
* ``nas-cifar10n-noise-trend``: does the gap grow with the label-noise rate? The difference averaged over budgets
  2..5 samples per class (round 0 is often identical by construction), one column per noise setting ordered by
  its rate, bold if the per-seed averages differ from 0 by more than twice their standard error;
* ``nas-cifar10n-filters``: how close CrossValidation and LowBudgetAUM come to the ideal filter: NPC's test accuracy
  at 5 samples per class with each filter, and the filters' precision / recall of the clean class there;
* ``nas-cifar10n-final``: final-budget test accuracy of every strategy (mean ± std over seeds);
* ``nas-cifar10n-timing``: wall time per job (5 rounds) and per round of every strategy, from the sidecars'
  ``wall_time_s``, over all variants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

import numpy as np
import pandas as pd

from active_learning.plotting import (
    load_results, nas_pairs, ordered, paired_difference_markdown, paired_differences, short_name,
    significant_difference, summary_markdown, variant_factors,
)
from active_learning import results
from active_learning.report import tables_main

ROOT = Path(__file__).resolve().parents[2]
PAIRS = list(nas_pairs())  # the pairs of the figures (benchmarks/cifar10n/figures.py): from the strategies' metadata
FILTERS = ("ideal", "cv", "aum")
FILTER_NAMES = {"ideal": "ideal", "cv": "CrossValidation", "aum": "LowBudgetAUM"}
TRAININGS = ("clean", "all")
#: The noise settings by their label-noise rate (the trend table's column order). Asymmetric 40 % flips 5 of the
#: 10 classes with probability 0.4, so about 20 % of the labels; CIFAR-10N's rates are those of its label sets
#: (aggre 9.01 %, random1 17.23 %, worse 40.21 %; cifar10n.yaml).
NOISE_RATES = (("aggre", "0.09"), ("random1", "0.17"), ("asym0.4", "≈0.20"), ("sym0.2", "0.20"), ("worse", "0.40"),
               ("sym0.5", "0.50"))


def filters_table(df) -> str:
    final = df[df["round"] == df["round"].max()]
    lines = ["| noise | NPC accuracy: ideal | cross-validation | LowBudgetAUM | CV precision / recall | AUM precision / recall |",
             "| --- | --- | --- | --- | --- | --- |"]
    noises = sorted({v.split("_")[0] for v in final.variant.unique()})
    for noise in noises:
        cells = []
        for filt in FILTERS:
            rows = final[(final.variant == f"{noise}_{filt}_clean") & (final.method == "npc") & (final.metric == "accuracy")]
            cells.append(f"{rows.value.mean():.3f} ± {rows.value.std(ddof=1):.3f}" if len(rows) > 1 else "")
        for filt in FILTERS[1:]:
            part = final[(final.variant == f"{noise}_{filt}_clean") & (final.method == "npc")]
            p = part[part.metric == "filter_precision"].value
            r = part[part.metric == "filter_recall"].value
            cells.append(f"{np.nanmean(p):.3f} / {np.nanmean(r):.3f}" if len(p) else "")
        lines.append(f"| {noise} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pair_name(method: str, base: str) -> str:
    return f"{short_name(method)} − {short_name(base)}"


def _seeds_note(counts: Iterable[int], expected: int) -> str:
    """``""`` when every cell has all ``expected`` seeds, else ``"3 seeds"`` / ``"3–5 seeds"``."""
    counts = list(counts)
    if not counts or min(counts) >= expected:
        return ""
    low, high = min(counts), max(counts)
    return f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low}–{high} seeds"


def _nas_differences(df: pd.DataFrame) -> pd.DataFrame:
    """Test-accuracy differences method − base per variant, seed and round (:func:`paired_differences`), with the
    variant's noise, filter and training columns; the NAS trainings (clean, all) only."""
    diffs = variant_factors(paired_differences(df, PAIRS, "accuracy"))
    return diffs[diffs.training.isin(TRAININGS)]


def summary_table(df: pd.DataFrame) -> str:
    """Does the noise-aware version beat its base? Per pair and training setting, per filter: the mean paired
    difference over all n (noise setting, budget) cells both ran (the mean of the cells' means over seeds), and
    ``+k / −m of n``: the cells where it is significantly positive / negative (``significant_difference``, the pairs
    table's bold); the seeds per cell where some cell has fewer than the results' seeds."""
    diffs = _nas_differences(df)
    expected = int(df["seed"].nunique())
    lines = ["| method − base | training | " + " | ".join(FILTER_NAMES[f] for f in FILTERS) + " |",
             "|" + " --- |" * (2 + len(FILTERS))]
    for training in ordered(diffs.training, "training"):
        for method, base in PAIRS:
            part = diffs[(diffs.training == training) & (diffs.method == method) & (diffs.base == base)]
            if part.empty:
                continue
            cells = []
            for filt in FILTERS:
                cell_values = [group.value.to_numpy() for _, group in part[part["filter"] == filt].groupby(["noise", "round"])]
                if not cell_values:
                    cells.append("")
                    continue
                means = [float(v.mean()) for v in cell_values]
                up = sum(1 for v, m in zip(cell_values, means) if m > 0 and significant_difference(v))
                down = sum(1 for v, m in zip(cell_values, means) if m < 0 and significant_difference(v))
                note = _seeds_note((v.size for v in cell_values), expected)
                cells.append(f"{np.mean(means):+.3f} (+{up} / −{down} of {len(cell_values)}{'; ' + note if note else ''})")
            lines.append(f"| {_pair_name(method, base)} | {training} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def noise_trend_table(df: pd.DataFrame, first_round: int = 1) -> str:
    """Does the gap grow with the noise rate? Per pair, filter and training setting, one column per noise setting
    (by its rate, :data:`NOISE_RATES`): the paired difference averaged over the rounds from ``first_round`` on (1 =
    2 samples per class), **bold** where the per-seed averages are significant (``significant_difference``)."""
    diffs = _nas_differences(df)
    diffs = diffs[diffs["round"] >= first_round]
    expected = int(df["seed"].nunique())
    rates = dict(NOISE_RATES)
    present = set(diffs.noise)
    noises = [n for n, _ in NOISE_RATES if n in present] + sorted(present - set(rates))
    header = ["method − base", "filter", "training"] + [f"{n} ({rates[n]})" if n in rates else n for n in noises]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for training in ordered(diffs.training, "training"):
        for method, base in PAIRS:
            for filt in FILTERS:
                part = diffs[(diffs.training == training) & (diffs.method == method) & (diffs.base == base)
                             & (diffs["filter"] == filt)]
                if part.empty:
                    continue
                cells = []
                for noise in noises:
                    per_seed = part[part.noise == noise].groupby("seed").value.mean().to_numpy()
                    if per_seed.size == 0:
                        cells.append("")
                        continue
                    text = f"{per_seed.mean():+.3f}"
                    note = _seeds_note([per_seed.size], expected)
                    cells.append((f"**{text}**" if significant_difference(per_seed) else text) + (f" ({note})" if note else ""))
                lines.append(f"| {_pair_name(method, base)} | {FILTER_NAMES[filt]} | {training} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_sidecars(results_dir: "str | Path", benchmark: str = "cifar10n") -> List[Dict[str, Any]]:
    """The sidecars of ``benchmark`` under ``results_dir`` (:func:`active_learning.results.read_sidecars`).
    :func:`load_results` has verified them already (``tables``), so an unreadable one raises here too."""
    found, problems = results.read_sidecars(Path(results_dir) / benchmark)
    if problems:
        raise ValueError(f"cannot read the results of {benchmark}: {problems[0]}")
    return [meta for _, meta in found]


def _seconds(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def timing_table(sidecars: Iterable[Mapping[str, Any]]) -> str:
    """Per strategy: the jobs, median and max wall time per job (``wall_time_s`` of the sidecars), the median per
    round (a job's time / its rounds) and the total; a last row over every job. Sidecars without a wall time are
    left out."""
    jobs: Dict[str, List[float]] = {}
    per_round: Dict[str, List[float]] = {}
    for meta in sidecars:
        wall = meta.get("wall_time_s")
        if not isinstance(wall, (int, float)) or isinstance(wall, bool):
            continue
        method = str(meta.get("method", ""))
        jobs.setdefault(method, []).append(float(wall))
        rounds = meta.get("rounds")
        if isinstance(rounds, int) and not isinstance(rounds, bool) and rounds > 0:
            per_round.setdefault(method, []).append(float(wall) / rounds)
    lines = ["| strategy | jobs | median per job (s) | max per job (s) | median per round (s) | total (h) |",
             "| --- | --- | --- | --- | --- | --- |"]

    def row(name: str, times: List[float], rounds: List[float]) -> str:
        median_round = _seconds(float(np.median(rounds))) if rounds else ""
        return (f"| {name} | {len(times)} | {_seconds(float(np.median(times)))} | {_seconds(max(times))} | {median_round} | "
                f"{sum(times) / 3600:.1f} |")

    for method in ordered(jobs, "method"):
        lines.append(row(method, jobs[method], per_round.get(method, [])))
    if jobs:
        lines.append(row("**all jobs**", [t for m in jobs for t in jobs[m]], [t for m in per_round for t in per_round[m]]))
    return "\n".join(lines)


def tables(results_dir: Path) -> Dict[str, str]:
    return tables_of(load_results(results_dir, "cifar10n"), read_sidecars(results_dir))


def tables_of(df: pd.DataFrame, sidecars: Optional[Iterable[Mapping[str, Any]]] = None) -> Dict[str, str]:
    """The marked tables of a loaded results table (``notebooks/nas_cifar10n.ipynb`` shows them); the timing table
    only with the runs' ``sidecars`` (:func:`read_sidecars`)."""
    spc = [str(k) for k in range(1, int(df["round"].max()) + 2)]
    out = {
        "nas-cifar10n-pairs": paired_difference_markdown(df, PAIRS, "accuracy", x_labels=spc),
        "nas-cifar10n-summary": summary_table(df),
        "nas-cifar10n-noise-trend": noise_trend_table(df),
        "nas-cifar10n-filters": filters_table(df),
        "nas-cifar10n-final": summary_markdown(df, metrics=["accuracy", "filter_precision", "filter_recall"]),
    }
    if sidecars is not None:
        out["nas-cifar10n-timing"] = timing_table(sidecars)
    return out


def main() -> None:
    tables_main(__doc__, tables, ROOT)


if __name__ == "__main__":
    main()
