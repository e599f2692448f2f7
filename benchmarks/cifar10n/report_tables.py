"""The NAS CIFAR-10 / CIFAR-10N tables of the README and ``results/README.md``, made from ``results/cifar10n``.

    python benchmarks/cifar10n/report_tables.py [--results-dir results] [--write]

Tables (between ``<!-- table:NAME -->`` markers):

* ``nas-cifar10n-pairs``: noise-aware strategy minus its base at every budget (1..5 samples per class), paired by
  seed (NPC − ProbCover, weighted NPC − ProbCover, MaxHerding+NAS − MaxHerding, Coreset+NAS − Coreset), per noise
  setting and filter (``figures.py`` draws the same differences);
* ``nas-cifar10n-filters``: how close CrossValidation and LowBudgetAUM come to the ideal filter: NPC's test accuracy
  at 5 samples per class with each filter, and the filters' precision / recall of the clean class there;
* ``nas-cifar10n-final``: final-budget test accuracy of every strategy (mean ± std over seeds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np

from active_learning.plotting import NAS_PAIRS, load_results, paired_difference_markdown, summary_markdown
from active_learning.report import tables_main

ROOT = Path(__file__).resolve().parents[2]
PAIRS = list(NAS_PAIRS)  # the pairs of the figures (benchmarks/cifar10n/figures.py)
FILTERS = ("ideal", "cv", "aum")


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


def tables(results_dir: Path) -> Dict[str, str]:
    return tables_of(load_results(results_dir, "cifar10n"))


def tables_of(df) -> Dict[str, str]:
    """The marked tables of a loaded results table (``notebooks/nas_cifar10n.ipynb`` shows them)."""
    spc = [str(k) for k in range(1, int(df["round"].max()) + 2)]
    return {
        "nas-cifar10n-pairs": paired_difference_markdown(df, PAIRS, "accuracy", x_labels=spc),
        "nas-cifar10n-filters": filters_table(df),
        "nas-cifar10n-final": summary_markdown(df, metrics=["accuracy", "filter_precision", "filter_recall"]),
    }


def main() -> None:
    tables_main(__doc__, tables, ROOT)


if __name__ == "__main__":
    main()
