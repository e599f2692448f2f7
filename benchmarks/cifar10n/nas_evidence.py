"""Does NAS work, and when? The NAS CIFAR-10 / CIFAR-10N results on three feature arms, side by side.

    python benchmarks/cifar10n/nas_evidence.py [--results-dir results] [--out-dir results/nas_evidence] [--data-mirror DIR]

Arms (benchmark folders under ``--results-dir``; an arm without results is left out, never filled in):

* ``cifar10n``: EfficientNet-Lite0 at 112 px, δ = σ = 0.74 (the purity rule on a 10,000-row subsample);
* ``cifar10n_224_d075``: EfficientNet-Lite0 at 224 px, δ = σ = 0.75 (the original NAS code's CIFAR-10 value);
* ``cifar10n_224_purity``: EfficientNet-Lite0 at 224 px, δ = σ from the purity rule on the whole 50,000-point pool.

For the eight variants they share (CIFAR-10 symmetric 20 % / 50 %, CIFAR-10N aggre / worse; ideal and
CrossValidation filters; predicted-clean training) and every strategy, per budget (samples per class 1..5):

* test accuracy (mean over seeds), each base strategy minus random, each NAS strategy minus its base (paired by seed,
  with the count of seeds where it is better);
* the number of classes holding at least one correctly labeled example, and the entropy (bits) of the class
  distribution of the correctly labeled examples. These are recomputed here from each run's ``selected`` picks, its
  round sizes and the annotator's labels (the same oracle the run used, rebuilt from its config and seed), so the
  112-px arm, whose runs predate the per-round metrics, gets them too; where a run recorded them
  (``n_clean_classes``), they must agree, and the script stops if they do not;
* the ball statistics at the δ used, from each arm's coverage diagnostic (``results/<arm>/coverage/*.json``,
  written by ``python -m active_learning diagnose --benchmark <arm>``).

Writes ``nas_evidence.md`` (tables) and figures into ``--out-dir``. Reading the dataset's labels needs the CIFAR-10
(and CIFAR-10N) files: ``--data-mirror`` or the data folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
ARMS = {
    "cifar10n": "112 px, δ = 0.74 (subsample purity rule)",
    "cifar10n_224_d075": "224 px, δ = 0.75 (original code)",
    "cifar10n_224_purity": "224 px, full-pool purity-rule δ",
}
VARIANTS = [f"{noise}_{filt}_clean" for filt in ("ideal", "cv") for noise in ("sym0.2", "sym0.5", "aggre", "worse")]
METHODS = ["random", "probcover", "npc", "maxherding", "maxherding_nas", "coreset", "coreset_nas"]
PAIRS = [("npc", "probcover"), ("maxherding_nas", "maxherding"), ("coreset_nas", "coreset")]
BASES = ["probcover", "maxherding", "coreset"]
NAMES = {"random": "Random", "probcover": "ProbCover", "npc": "NPC", "maxherding": "MaxHerding",
         "maxherding_nas": "MaxHerding+NAS", "coreset": "Coreset", "coreset_nas": "Coreset+NAS"}


def _style(method: str) -> Dict[str, Any]:
    """The project's one style per method (:func:`active_learning.plotting.method_style`: the registry colour, the
    noise-aware strategy dashed in a shade of its base's), so a strategy looks the same here as in every figure."""
    from active_learning.plotting import method_style

    return {**method_style(method), "ms": 3.5}


# ----------------------------------------------------------------------------------------------------- loading


def _jobs(results_dir: Path, arm: str) -> List[Tuple[Path, Dict[str, Any]]]:
    """Every verified finished job of ``arm`` in the shared variants and methods: ``(folder, sidecar)``."""
    from active_learning.results import read_sidecar, result_dir, sidecar_paths, verify_job_files

    out = []
    for variant in VARIANTS:
        for method in METHODS:
            folder = result_dir(results_dir, arm, variant, "linear_probe", method)
            for sidecar in sidecar_paths(folder, recursive=False):
                meta, problem = read_sidecar(sidecar)
                if meta is None:
                    raise SystemExit(f"{sidecar} {problem}")
                problem = verify_job_files(meta, folder)
                if problem is not None:
                    raise SystemExit(f"{problem}: rerun the benchmark to recompute it")
                out.append((folder, meta))
    return out


class _Labels:
    """True and annotator labels of the CIFAR-10 train pool, per noise setting and seed (the runs' own oracles)."""

    def __init__(self, root: Optional[str], mirror: Optional[str]) -> None:
        self.root, self.mirror = root, mirror
        self._datasets: Dict[str, Any] = {}

    def _dataset(self, dataset: Dict[str, Any]) -> Any:
        from active_learning.datasets import load

        key = json.dumps({k: v for k, v in dataset.items() if k not in ("encoder", "encoder_params")}, sort_keys=True)
        if key not in self._datasets:
            options = {k: v for k, v in dataset.items() if k not in ("name", "encoder", "encoder_params")}
            self._datasets[key] = load(dataset["name"], root=self.root, mirror=self.mirror, split="train", **options)
        return self._datasets[key]

    def annotator(self, config: Dict[str, Any]) -> Tuple[np.ndarray, np.ndarray]:
        """``(true labels, the annotator's label of every pool point)`` of one run."""
        from active_learning.pools.features import FeaturePool, make_oracle

        ds = self._dataset(config["dataset"])
        y = np.asarray(ds.labels, dtype=np.int64)
        pool = FeaturePool(X=np.zeros((y.size, 1), np.float32), y=y, X_test=np.zeros((1, 1), np.float32),
                           y_test=np.zeros(1, np.int64), n_classes=len(ds.class_names),
                           noisy_labels=getattr(ds, "noisy_labels", None))
        oracle = make_oracle(pool, config["data"].get("noise"), int(config["seed"]))
        return y, np.asarray(oracle.query(np.arange(y.size)), dtype=np.int64)


def class_spread(selected: np.ndarray, round_sizes: np.ndarray, y: np.ndarray, noisy: np.ndarray,
                 n_classes: int = 10) -> Tuple[np.ndarray, np.ndarray]:
    """Per round: classes with a correctly labeled example, and the entropy (bits) of those examples' classes."""
    from active_learning.loops.noisy_single_annotator import clean_class_stats

    ends = np.cumsum(round_sizes)
    n_cls, ent = [], []
    for end in ends:
        labeled = selected[:end]
        stats = clean_class_stats(noisy[labeled], y[labeled], n_classes)
        n_cls.append(stats["n_clean_classes"])
        ent.append(stats["clean_class_entropy"])
    return np.asarray(n_cls), np.asarray(ent)


def load_table(results_dir: Path, root: Optional[str], mirror: Optional[str], arms: Sequence[str] = tuple(ARMS),
               with_classes: bool = True) -> pd.DataFrame:
    """Long table: arm, variant, method, seed, budget (1..5), accuracy, n_clean_classes, clean_class_entropy
    (the class columns only ``with_classes``, which reads the dataset's labels)."""
    from active_learning.results import array_path

    labels = _Labels(root, mirror)
    rows = []
    for arm in arms:
        for folder, meta in _jobs(results_dir, arm):
            seed = meta["seed"]
            arrays = {name: np.load(array_path(folder, name, seed)) for name in ("accuracy", "selected", "round_sizes")}
            n_cls = ent = np.full(arrays["accuracy"].size, np.nan)
            if with_classes:
                y, noisy = labels.annotator(meta["config"])
                n_cls, ent = class_spread(arrays["selected"], arrays["round_sizes"], y, noisy)
            if with_classes and array_path(folder, "n_clean_classes", seed).is_file():
                recorded = np.load(array_path(folder, "n_clean_classes", seed))
                if not np.array_equal(recorded, n_cls):
                    raise SystemExit(f"{folder}: recomputed n_clean_classes {n_cls} differ from the recorded {recorded}")
            spc = meta["config"]["data"]["budget"]["samples_per_class"]
            for r, acc in enumerate(arrays["accuracy"]):
                rows.append({"arm": arm, "variant": meta["variant"], "method": meta["method"], "seed": seed,
                             "spc": spc[r], "accuracy": float(acc), "n_clean_classes": n_cls[r],
                             "clean_class_entropy": ent[r]})
    return pd.DataFrame(rows)


def load_ball_stats(results_dir: Path) -> Dict[str, Dict[str, Any]]:
    """``{arm: {"delta", "mean_ball", "singleton_fraction", "pure_fraction_nonsingleton", "verdict", ...}}`` at the
    δ its coverage methods used (from the arm's coverage diagnostic; arms without one are missing)."""
    from active_learning.diagnostics.benchmark import read_benchmark_diagnostics

    out = {}
    for arm in ARMS:
        for diag in read_benchmark_diagnostics(results_dir, arm):
            if str(diag.get("dataset", {}).get("name")) != "cifar10":
                continue
            deltas = diag.get("requested_deltas") or []
            if len(deltas) != 1:
                continue
            row = next(r for r in diag["balls"] if abs(r["delta"] - deltas[0]) < 1e-9)
            out[arm] = {**row, "verdict": diag["verdicts"].get(f"{deltas[0]:g}", ""), "knn": diag.get("knn_accuracy"),
                        "purity_delta": diag.get("purity_delta"), "n_samples": diag.get("n_samples")}
    return out


# ----------------------------------------------------------------------------------------------------- tables


def paired(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """``a - b`` accuracy per arm, variant, budget: mean, standard error and seeds where ``a`` is better."""
    wide = df.pivot_table(index=["arm", "variant", "spc", "seed"], columns="method", values="accuracy")
    if a not in wide or b not in wide:
        return pd.DataFrame()
    diff = (wide[a] - wide[b]).dropna().rename("diff").reset_index()
    g = diff.groupby(["arm", "variant", "spc"])["diff"]
    return pd.DataFrame({"mean": g.mean(), "se": g.std(ddof=1) / np.sqrt(g.count()), "better": g.apply(lambda s: int((s > 0).sum())),
                         "n": g.count()}).reset_index()


def _fmt(v: float, signed: bool = False) -> str:
    return "—" if v is None or not np.isfinite(v) else (f"{v:+.3f}" if signed else f"{v:.3f}")


def summary_table(df: pd.DataFrame) -> str:
    """Per arm and filter, mean over noise settings and budgets: base - random, NAS - base (cells better / worse)."""
    lines = ["| arm | filter | " + " | ".join([f"{NAMES[b]} − Random" for b in BASES] + [f"{NAMES[a]} − {NAMES[b]}" for a, b in PAIRS]) + " |",
             "|" + " --- |" * (2 + len(BASES) + len(PAIRS))]
    diffs = {(a, b): paired(df, a, b) for a, b in [(b, "random") for b in BASES] + PAIRS}
    for arm in ARMS:
        for filt in ("ideal", "cv"):
            cells = []
            for key, d in diffs.items():
                sub = d[(d.arm == arm) & d.variant.str.contains(f"_{filt}_")] if len(d) else d
                if not len(sub):
                    cells.append("—")
                    continue
                up = int(((sub["mean"] > 2 * sub["se"])).sum())
                down = int(((sub["mean"] < -2 * sub["se"])).sum())
                cells.append(f"{sub['mean'].mean():+.3f} (+{up} / −{down} of {len(sub)})")
            if any(c != "—" for c in cells):
                lines.append(f"| {ARMS[arm]} | {filt} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cell_table(df: pd.DataFrame, balls: Dict[str, Dict[str, Any]], filt: str) -> str:
    """Every NAS cell of one filter: accuracy, base − random, classes with a clean label and their entropy."""
    mean = df.groupby(["arm", "variant", "spc", "method"])[["accuracy", "n_clean_classes", "clean_class_entropy"]].mean()
    head = ("| arm | noise | spc | Random | ProbCover | NPC | MaxHerding | MaxHerding+NAS | ProbCover − Random | "
            "NPC − ProbCover | MH − Random | MH+NAS − MH | clean classes R / PC / NPC / MH / MH+NAS | "
            "clean-class entropy R / PC / NPC / MH / MH+NAS |")
    lines = [head, "|" + " --- |" * 14]
    shown = ["random", "probcover", "npc", "maxherding", "maxherding_nas"]
    for arm in ARMS:
        for noise in ("sym0.2", "sym0.5", "aggre", "worse"):
            variant = f"{noise}_{filt}_clean"
            for spc in sorted(df.spc.unique()):
                key = (arm, variant, spc)
                vals = {m: mean.loc[key + (m,)] if key + (m,) in mean.index else None for m in shown}
                if all(v is None for v in vals.values()):
                    continue

                def get(m: str, col: str) -> float:
                    return float(vals[m][col]) if vals[m] is not None else float("nan")

                acc = [get(m, "accuracy") for m in shown]
                lines.append(
                    f"| {ARMS[arm]} | {noise} | {spc:g} | " + " | ".join(_fmt(a) for a in acc)
                    + f" | {_fmt(acc[1] - acc[0], True)} | {_fmt(acc[2] - acc[1], True)} | {_fmt(acc[3] - acc[0], True)} | "
                    f"{_fmt(acc[4] - acc[3], True)} | " + " / ".join(f"{get(m, 'n_clean_classes'):.1f}" for m in shown)
                    + " | " + " / ".join(f"{get(m, 'clean_class_entropy'):.2f}" for m in shown) + " |")
    return "\n".join(lines)


def ball_table(balls: Dict[str, Dict[str, Any]]) -> str:
    lines = ["| arm | δ | pool | mean ball | median ball | singletons | balls ≥ 95 % one class (non-singleton) | own-class share | 10-NN acc. | full-pool purity-rule δ |",
             "|" + " --- |" * 10]
    for arm, label in ARMS.items():
        b = balls.get(arm)
        if b is None:
            lines.append(f"| {label} | — | — | not measured | | | | | | |")
            continue
        lines.append(f"| {label} | {b['delta']:g} | {b['n_samples']:,} | {b['mean_ball']:.2f} | {b['median_ball']:g} | "
                     f"{100 * b['singleton_fraction']:.1f} % | {100 * (b['pure_fraction_nonsingleton'] or 0):.1f} % | "
                     f"{100 * b['own_class_share']:.1f} % | {_fmt(b['knn'])} | {b['purity_delta']:g} |")
    return "\n".join(lines)


def noise_trend_table(df: pd.DataFrame) -> str:
    """NAS − base at 5 samples per class, per noise setting (does the gap widen with noise?)."""
    lines = ["| arm | filter | pair | sym 20 % | sym 50 % | aggre (9 %) | worse (40 %) |", "|" + " --- |" * 7]
    for a, b in PAIRS[:2]:
        d = paired(df, a, b)
        if not len(d):
            continue
        d = d[d.spc == d.spc.max()]
        for arm in ARMS:
            for filt in ("ideal", "cv"):
                cells = []
                for noise in ("sym0.2", "sym0.5", "aggre", "worse"):
                    row = d[(d.arm == arm) & (d.variant == f"{noise}_{filt}_clean")]
                    cells.append("—" if not len(row) else f"{row['mean'].iloc[0]:+.3f} ({row['better'].iloc[0]}/{row['n'].iloc[0]})")
                if any(c != "—" for c in cells):
                    lines.append(f"| {ARMS[arm]} | {filt} | {NAMES[a]} − {NAMES[b]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------- figures


def _legend_entries(axes: Any) -> Tuple[list, list]:
    """Every labelled line of a grid of axes, once, in first-seen order (panels may lack some strategies)."""
    seen: Dict[str, Any] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


def accuracy_figure(df: pd.DataFrame, filt: str) -> Any:
    import matplotlib.pyplot as plt

    arms = [a for a in ARMS if (df.arm == a).any()]
    noises = ["sym0.2", "sym0.5", "aggre", "worse"]
    fig, axes = plt.subplots(len(noises), len(arms), figsize=(4.2 * len(arms), 3.0 * len(noises)), squeeze=False,
                             sharex=True)
    shown = ["random", "probcover", "npc", "maxherding", "maxherding_nas", "coreset", "coreset_nas"]
    for j, arm in enumerate(arms):
        for i, noise in enumerate(noises):
            ax = axes[i, j]
            sub = df[(df.arm == arm) & (df.variant == f"{noise}_{filt}_clean")]
            for method in shown:
                s = sub[sub.method == method].groupby("spc")["accuracy"]
                if not len(s):
                    continue
                m, sd = s.mean(), s.std(ddof=1)
                ax.plot(m.index, m.values, label=NAMES[method], **_style(method))
                ax.fill_between(m.index, m - sd, m + sd, color=_style(method)["color"], alpha=0.08, lw=0)
            ax.set_title(f"{ARMS[arm]}\n{noise}", fontsize=9)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("test accuracy")
            if i == len(noises) - 1:
                ax.set_xlabel("samples per class")
    handles, labels_ = _legend_entries(axes)
    import textwrap

    fig.legend(handles, labels_, loc="lower center", ncol=max(1, min(len(labels_), 4 * len(arms))), fontsize=9,
               frameon=False)
    filt_name = {"ideal": "ideal filter", "cv": "CrossValidation filter"}[filt]
    title = (f"NAS on CIFAR-10 / CIFAR-10N, {filt_name}, predicted-clean training (mean ± 1 std over seeds; "
             "NAS dashed beside its base, random dotted)")
    fig.suptitle(textwrap.fill(title, 40 * len(arms)), fontsize=10)
    fig.tight_layout(rect=(0, 0.045 if len(arms) > 1 else 0.07, 1, 0.97 if len(arms) > 1 else 0.95))
    return fig


def difference_figure(df: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    arms = [a for a in ARMS if (df.arm == a).any()]
    pairs = [(b, "random") for b in BASES[:2]] + PAIRS[:2]
    fig, axes = plt.subplots(2, len(pairs), figsize=(4.0 * len(pairs), 6.4), squeeze=False, sharex=True)
    arm_colours = {"cifar10n": "#7f7f7f", "cifar10n_224_d075": "#1f77b4", "cifar10n_224_purity": "#ff7f0e"}
    for col, (a, b) in enumerate(pairs):
        d = paired(df, a, b)
        for row, filt in enumerate(("ideal", "cv")):
            ax = axes[row, col]
            ax.axhline(0, color="k", lw=0.8)
            for arm in arms:
                for noise, marker in zip(("sym0.2", "sym0.5", "aggre", "worse"), "o^sD"):
                    sub = d[(d.arm == arm) & (d.variant == f"{noise}_{filt}_clean")] if len(d) else d
                    if not len(sub):
                        continue
                    ax.plot(sub.spc, sub["mean"], marker=marker, ms=3.5, color=arm_colours[arm], lw=1,
                            label=f"{ARMS[arm]}, {noise}")
            ax.set_title(f"{NAMES[a]} − {NAMES[b]}, {'ideal' if filt == 'ideal' else 'CrossValidation'} filter", fontsize=9)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("accuracy difference (paired by seed)")
            if row == 1:
                ax.set_xlabel("samples per class")
    handles, labels_ = _legend_entries(axes)
    fig.legend(handles, labels_, loc="lower center", ncol=3, fontsize=7.5, frameon=False)
    fig.suptitle("Base minus random and NAS minus base on three feature arms (colour = arm, marker = noise setting)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.96))
    return fig


def classes_figure(df: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    arms = [a for a in ARMS if (df.arm == a).any()]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.4), squeeze=False, sharey=True)
    for j, arm in enumerate(arms):
        ax = axes[0, j]
        sub = df[(df.arm == arm) & df.variant.str.contains("_ideal_")]
        for method in ["random", "probcover", "npc", "maxherding", "maxherding_nas"]:
            s = sub[sub.method == method].groupby("spc")["n_clean_classes"].mean()
            if len(s):
                ax.plot(s.index, s.values, label=NAMES[method], **_style(method))
        ax.set_title(f"{ARMS[arm]}", fontsize=9)
        ax.set_xlabel("samples per class")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("classes with a correct label")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Classes reached by correctly labeled picks (ideal filter, mean over 4 noise settings x 5 seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def write(results_dir: Path, out_dir: Path, root: Optional[str], mirror: Optional[str]) -> List[Path]:
    import matplotlib

    matplotlib.use("Agg")

    from active_learning.plotting import save_figure
    from active_learning.utils.io import atomic_write, atomic_write_text

    df = load_table(results_dir, root, mirror)
    if df.empty:
        raise SystemExit(f"no results of {sorted(ARMS)} under {results_dir}")
    balls = load_ball_stats(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = df.groupby("arm").apply(lambda g: g.groupby(["variant", "method", "seed"]).ngroups, include_groups=False)
    text = ["# Does NAS work, and when? CIFAR-10 / CIFAR-10N on three feature arms", "",
            "Drawn by `benchmarks/cifar10n/nas_evidence.py` from the committed results. Jobs per arm: "
            + ", ".join(f"{ARMS[a]}: {n}" for a, n in counts.items()) + ".", "",
            "## The premise: δ-balls at the δ each arm used (coverage diagnostic on the full 50,000-image pool)", "",
            ball_table(balls), "", *[f"- {ARMS[a]}: {b['verdict']}" for a, b in balls.items()], "",
            "## Summary: mean over noise settings and budgets (cells significantly better / worse, |mean| > 2 SE)", "",
            summary_table(df), "",
            "## Does the gap widen with noise? NAS minus base at 5 samples per class (seeds better / seeds)", "",
            noise_trend_table(df), ""]
    for filt, name in (("ideal", "ideal filter"), ("cv", "CrossValidation filter")):
        text += [f"## Every cell, {name} (mean over seeds)", "", cell_table(df, balls, filt), ""]
    md = out_dir / "nas_evidence.md"
    atomic_write_text(md, "\n".join(text))
    paths = [md]
    figures = {"nas_evidence_accuracy_ideal.png": accuracy_figure(df, "ideal"),
               "nas_evidence_accuracy_cv.png": accuracy_figure(df, "cv"),
               "nas_evidence_differences.png": difference_figure(df),
               "nas_evidence_classes.png": classes_figure(df)}
    for name, fig in figures.items():
        save_figure(fig, out_dir / name, dpi=100)
        paths.append(out_dir / name)
    import gzip

    table = gzip.compress(df.to_csv(index=False, float_format="%.6g").encode("utf-8"), mtime=0)  # no time, no name:
    atomic_write(out_dir / "nas_evidence_long.csv.gz", lambda handle: handle.write(table))  # same table, same bytes
    paths.append(out_dir / "nas_evidence_long.csv.gz")
    return paths


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", default=str(ROOT / "results"))
    parser.add_argument("--out-dir", default=None, help="default <results-dir>/nas_evidence")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--data-mirror", default=None)
    args = parser.parse_args(argv)
    import os

    results = Path(args.results_dir)
    out = Path(args.out_dir) if args.out_dir else results / "nas_evidence"
    for path in write(results, out, args.data_root, args.data_mirror or os.environ.get("AL_DATA_MIRROR")):
        print(path)


if __name__ == "__main__":
    main()
