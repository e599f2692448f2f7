"""The ActiveLab tables of the README and of ``results/README.md``, made from ``results/`` (never typed by hand).

    python benchmarks/wall_robot/report_tables.py [--results-dir results] [--write]

Prints (or, with ``--write``, replaces between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->`` markers in
``README.md`` and ``results/README.md``) these tables:

* ``reproduction``: ActiveLab's final-round test and consensus accuracy, mean ± std over seeds, against the paper's
  stored means (the original benchmark's committed runs), and the best other method;
* ``calibration``: every ActiveLab method under the three temperature calibrations (reference, cleanlab 2.9,
  row-wise);
* ``final-<benchmark>``: the final-round table of every method (``results/README.md``);
* ``final-<benchmark>`` of the noise-aware re-labeling benchmarks (``wall_robot_noise_aware``,
  ``cifar10n_annotators_noise_aware``) with the consensus accuracy on the initially labeled examples and the
  filters' F1;
* for CIFAR-10H and CIFAR-10N annotators also ``efficiency-<benchmark>`` (annotations ActiveLab needs to reach the
  best baseline's final value) and ``calibration-<benchmark>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from active_learning.plotting import calibration_markdown, efficiency_markdown, load_results, summarize, summary_markdown
from active_learning.report import tables_main

#: Final-round means of the original benchmark's stored runs (5 runs each): test accuracy, consensus accuracy.
PAPER = {
    ("wall_robot", "extra_trees"): (0.988, 0.998),
    ("wall_robot", "mlp"): (0.960, 0.998),
    ("wall_robot_complete", "extra_trees"): (0.985, 0.998),
    ("wall_robot_complete", "mlp"): (0.967, 0.999),
}
BENCHMARKS = ("wall_robot", "wall_robot_complete", "wall_robot_single_annotator", "wall_robot_single_vs_multi")
#: The real-annotator benchmarks (tables written once their results exist).
REAL_ANNOTATOR_BENCHMARKS = ("cifar10h", "cifar10n_annotators")
#: Noise-aware re-labeling (a noise filter flags labels, another annotator is asked): tables once results exist.
NOISE_AWARE_BENCHMARKS = ("wall_robot_noise_aware", "cifar10n_annotators_noise_aware")
NOISE_AWARE_METRICS = ("model_accuracy", "model_accuracy_refit", "consensus_accuracy", "consensus_accuracy_initial", "filter_f1")
ROOT = Path(__file__).resolve().parents[2]


def reproduction(results_dir: Path) -> str:
    lines = [
        "| benchmark | model | ActiveLab test accuracy (paper; difference) | ActiveLab consensus accuracy (paper; difference) "
        "| best other method, test | best other method, consensus |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (benchmark, model), (paper_test, paper_consensus) in PAPER.items():
        df = load_results(results_dir, benchmark)
        cells = []
        for metric, paper in (("model_accuracy", paper_test), ("consensus_accuracy", paper_consensus)):
            table = summarize(df, metric)
            table = table[table.model == model]
            ours = table[table.method == "activelab"].iloc[0]
            cells.append(f"**{ours['mean']:.3f} ± {ours['std']:.3f}** ({paper:.3f}; {ours['mean'] - paper:+.3f}, n={int(ours['count'])})")
        for metric in ("model_accuracy", "consensus_accuracy"):
            table = summarize(df, metric)
            others = table[(table.model == model) & ~table.method.str.startswith("activelab")]
            if others.empty:
                cells.append("not run yet")
                continue
            best = others.iloc[others["mean"].argmax()]
            seeds = sorted(set(int(n) for n in others["count"]))
            cells.append(f"{best.method} {best['mean']:.3f} ± {best['std']:.3f} ({len(others)} baselines, n={seeds})")
        lines.append(f"| {benchmark} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration(results_dir: Path) -> str:
    parts = []
    for benchmark in ("wall_robot", "wall_robot_complete", "wall_robot_single_vs_multi"):
        metrics = ("model_accuracy_refit", "consensus_accuracy") if benchmark.endswith("multi") else ("model_accuracy", "consensus_accuracy")
        table = calibration_markdown(load_results(results_dir, benchmark), metrics=metrics)
        if table:
            parts.append(f"**{benchmark}**\n\n{table}")
    return "\n\n".join(parts)


def tables(results_dir: Path) -> Dict[str, str]:
    out = {"reproduction": reproduction(results_dir), "calibration": calibration(results_dir)}
    for benchmark in BENCHMARKS:
        out[f"final-{benchmark}"] = summary_markdown(load_results(results_dir, benchmark))
    for benchmark in REAL_ANNOTATOR_BENCHMARKS:
        if (results_dir / benchmark).is_dir():
            df = load_results(results_dir, benchmark)
            out[f"final-{benchmark}"] = summary_markdown(df)
            out[f"efficiency-{benchmark}"] = efficiency_markdown(df)
            out[f"calibration-{benchmark}"] = calibration_markdown(df)
    for benchmark in NOISE_AWARE_BENCHMARKS:
        if (results_dir / benchmark).is_dir():
            out[f"final-{benchmark}"] = summary_markdown(load_results(results_dir, benchmark), NOISE_AWARE_METRICS)
    return out


def main() -> None:
    tables_main(__doc__, tables, ROOT)


if __name__ == "__main__":
    main()
