"""The NAS CIFAR-10 / CIFAR-10N figures (Shafir, Hacohen, Weinshall 2025, *Active Learning with a Noisy Annotator*,
arXiv:2504.04506), drawn from ``results/cifar10n``.

    python benchmarks/cifar10n/figures.py [--results-dir results] [--out-dir DIR] [--no-progress]

Writes into ``<results-dir>/cifar10n/figures/`` (or ``--out-dir``), from whatever part of the grid has finished
(strategies, variants and seeds without results are left out, never filled in):

* ``cifar10n_accuracy_clean.png``, ``cifar10n_accuracy_all.png``: test accuracy against the budget (samples per
  class), rows = noise settings, columns = filters (ideal, CrossValidation, LowBudgetAUM), one line per strategy,
  mean ± 1 std over seeds; ``clean``: the linear probe trains on the predicted-clean points, ``all``: on every
  labeled point;
* ``cifar10n_nas_vs_base_clean.png``, ``cifar10n_nas_vs_base_all.png``: noise-aware strategy minus its base
  (:func:`active_learning.plotting.nas_pairs`), paired by seed, mean ± 95 % CI, same grid;
* ``cifar10n_filter_quality.png``: precision and recall of the clean class of the CrossValidation and LowBudgetAUM
  filters per round on NPC's labeled sets, with the clean fraction of those sets (the precision of keeping every
  label).

A training setting without results gets no figures. The runner draws them after ``make cifar10n`` (the config's
``figure: {script: figures.py}``), and ``make
figures`` redraws them. ``notebooks/nas_cifar10n.ipynb`` shows the same figures with the tables of
``report_tables.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pandas as pd

from active_learning.plotting import (
    factor_label,
    load_results,
    nas_pairs,
    ordered,
    paired_differences,
    plot_curve_grid,
    plot_filter_quality,
    plot_paired_differences,
    samples_per_class,
    save_figure,
    variant_factors,
)

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = "cifar10n"
SETTING = "NAS (Shafir, Hacohen, Weinshall 2025) on CIFAR-10 / CIFAR-10N (EfficientNet-Lite0 features, linear probe)"
FILTER_METHOD = "npc"


def x_axis(spc: Optional[Sequence[float]]) -> Dict[str, Any]:
    """The figures' x-axis: samples per class when the runs recorded their budget schedule, else the round."""
    if spc is None:
        return {"x_values": None, "x_label": "Round"}
    return {"x_values": list(spc), "x_label": "Budget: samples per class"}


def trainings(df: pd.DataFrame) -> list:
    """The training settings (``clean``, ``all``) that have results, in that order."""
    return ordered(variant_factors(df[["variant"]].drop_duplicates())["training"].unique(), "training")


def accuracy_figure(df: pd.DataFrame, training: str, spc: Optional[Sequence[float]] = None) -> Any:
    """Test accuracy against the budget of every strategy, noise settings × filters, for one training setting."""
    part = df[variant_factors(df).training == training]
    return plot_curve_grid(
        part, "accuracy", **x_axis(spc),
        title=f"{SETTING}, {factor_label('training', training)}: test accuracy (mean ± 1 std over seeds)",
    )


def nas_vs_base_figure(df: pd.DataFrame, training: str, spc: Optional[Sequence[float]] = None) -> Optional[Any]:
    """Noise-aware minus base test accuracy, paired by seed (95 % CI), for one training setting; None without pairs."""
    part = df[variant_factors(df).training == training]
    if paired_differences(part, nas_pairs(), "accuracy").empty:
        return None
    return plot_paired_differences(
        part, nas_pairs(), "accuracy", interval="ci95", **x_axis(spc),
        title=f"{SETTING}, {factor_label('training', training)}: noise-aware minus base test accuracy, paired by "
              "seed (mean ± 95 % CI; above zero: noise-aware better)",
    )


def filter_quality_figure(df: pd.DataFrame, spc: Optional[Sequence[float]] = None) -> Optional[Any]:
    """Precision and recall of the practical filters per round on NPC's labeled sets; None without such results."""
    factors = variant_factors(df)
    part = df[(df.method == FILTER_METHOD) & (factors["filter"] != "ideal") & df.metric.isin(["filter_precision", "filter_recall"])]
    if part.empty:
        return None
    return plot_filter_quality(
        df, FILTER_METHOD, **x_axis(spc),
        title=f"{SETTING}: the noise filters on NPC's labeled sets, precision and recall of the clean class (mean ± 1 "
              "std over seeds; NPC's picks do not depend on the training setting)",
    )


def draw(df: pd.DataFrame, spc: Optional[Sequence[float]] = None) -> Dict[str, Tuple[Any, str]]:
    """Every figure that the results in ``df`` allow: file name -> (figure, caption)."""
    figures: Dict[str, Tuple[Any, str]] = {}
    for training in trainings(df):
        setting = f"linear probe {factor_label('training', training)}"
        figures[f"{BENCHMARK}_accuracy_{training}.png"] = (
            accuracy_figure(df, training, spc),
            f"test accuracy against the budget, {setting}; rows: noise settings, columns: filters; mean ± 1 std over "
            "seeds",
        )
        pairs = nas_vs_base_figure(df, training, spc)
        if pairs is not None:
            figures[f"{BENCHMARK}_nas_vs_base_{training}.png"] = (
                pairs,
                f"noise-aware strategy minus its base, test accuracy paired by seed, {setting}; mean ± 95 % CI "
                "(Student t over the seeds both ran); above zero: the noise-aware version is better",
            )
    quality = filter_quality_figure(df, spc)
    if quality is not None:
        figures[f"{BENCHMARK}_filter_quality.png"] = (
            quality,
            "precision and recall of the clean class of the CrossValidation and LowBudgetAUM filters per round on "
            "NPC's labeled sets, mean ± 1 std over seeds; grey: the clean fraction of the labeled set",
        )
    return figures


def write_figures(results_dir: Path, out_dir: Optional[Path] = None, progress: bool = False) -> List[Path]:
    """Draw every figure the results allow into ``out_dir`` (default ``<results_dir>/cifar10n/figures``).

    Called by the runner and ``python -m active_learning figures cifar10n`` (the config's ``figure.script``). Each
    figure is saved with :func:`~active_learning.plotting.save_figure`: byte-stable, its caption and the results it
    was drawn from in the PNG's text, and not rewritten when its image did not change. ``progress``: tqdm bars
    (stderr, on a terminal) while the results load and the figures are drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    from tqdm.auto import tqdm

    df = load_results(results_dir, BENCHMARK, progress=progress)
    source = df.attrs.get("results_stamp")
    out = out_dir if out_dir is not None else results_dir / BENCHMARK / "figures"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    figures = draw(df, samples_per_class(results_dir, BENCHMARK))
    for name, (fig, caption) in tqdm(figures.items(), total=len(figures), desc=f"{BENCHMARK} figures", unit="fig",
                                     file=sys.stderr, disable=None if progress else True):
        save_figure(fig, out / name, dpi=110, description=caption, source=source)  # the caption: the report's
        paths.append(out / name)
    return paths


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "results")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: <results-dir>/cifar10n/figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (they show on a terminal only)")
    args = parser.parse_args(argv)
    for path in write_figures(args.results_dir, args.out_dir, progress=not args.no_progress):
        print(f"figure: {path}")


if __name__ == "__main__":
    main()
