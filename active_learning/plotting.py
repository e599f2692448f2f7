"""Read benchmark results back from ``results/`` and draw the papers' figures (mean ± 1 std over seeds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

DISPLAY_NAMES = {
    "activelab": "ActiveLab",
    "activelab_cleanlab": "ActiveLab, cleanlab 2.9 calibration",
    "activelab_rowwise": "ActiveLab, row-wise calibration",
    "activelab_ensemble": "ActiveLab (ensemble)",
    "activelab_ensemble_cleanlab": "ActiveLab (ensemble), cleanlab 2.9 calibration",
    "activelab_ensemble_rowwise": "ActiveLab (ensemble), row-wise calibration",
    "random": "Random",
    "good_random": "Good Random",
    "entropy": "Entropy",
    "uncertainty": "Uncertainty",
    "disagreement": "Disagreement (ensemble)",
    "active_label_cleaning": "Active Label Cleaning",
    "activelab_per_round": "ActiveLab, one annotator column per round",
    "multiannotator": "Multi-annotator (ActiveLab)",
    "multiannotator_cleanlab": "Multi-annotator (ActiveLab), cleanlab 2.9 calibration",
    "multiannotator_rowwise": "Multi-annotator (ActiveLab), row-wise calibration",
    "single": "Single annotator (entropy, new data only)",
    "probcover": "ProbCover",
    "npc": "NPC (ProbCover + NAS)",
    "weighted_npc": "Weighted NPC",
    "maxherding": "MaxHerding",
    "maxherding_nas": "MaxHerding + NAS",
    "coreset": "Coreset",
    "coreset_nas": "Coreset + NAS",
    "typiclust": "TypiClust",
}
METRIC_LABELS = {
    "consensus_accuracy": "Consensus label accuracy",
    "consensus_accuracy_initial": "Consensus accuracy (initial examples)",
    "model_accuracy": "Test accuracy (paper's definition)",
    "model_accuracy_per_fold": "Test accuracy (fold-model mean)",
    "temperature": "Temperature T (mean over models)",
    "model_weight": "CROWDLAB model weight w_M",
    "mean_annotator_weight": "Mean annotator weight",
    "n_relabeled": "Re-labels per round",
    "model_accuracy_refit": "Test accuracy (model refit on all labels)",
    "n_new": "New examples per round",
    "annotations_per_example": "Annotations per labeled example",
    "accuracy": "Test accuracy",
    "filter_f1": "Noise filter F1 (clean class)",
    "predicted_noise_ratio": "Predicted noise ratio",
}
#: Line style of ActiveLab's calibration choices: solid = the paper's (benchmark) search, dashed = cleanlab 2.9,
#: dotted = the recommended row-wise search, dash-dot = none / a fixed temperature.
CALIBRATION_LINESTYLES = {"": "-", "benchmark": "-", "cleanlab": "--", "rowwise": ":", "none": "-."}


def _registered_metadata(name: str) -> Dict[str, Any]:
    from .multiannotator.methods import METHODS
    from .strategies import STRATEGIES

    return METHODS.metadata(name) or STRATEGIES.metadata(name)


def method_style(registered: str, calibration: str = "") -> Dict[str, Any]:
    """Colour, line style and width of a curve, the same in every figure.

    The colour is the ``color`` its method or strategy was registered with (``register_method(name, color=...)``,
    ``register_strategy(name, color=...)``); a noise-aware strategy registered with ``base=...`` takes its base's
    colour and a dashed line, so NPC pairs with ProbCover, MaxHerding+NAS with MaxHerding. ActiveLab's calibration
    choices share its colour with one line style each (:data:`CALIBRATION_LINESTYLES`). A plug-in registered
    without a colour gets a fixed one derived from its name.
    """
    import seaborn as sns

    meta = _registered_metadata(registered)
    linestyle = CALIBRATION_LINESTYLES.get(calibration, "-.")
    if meta.get("base"):
        base = _registered_metadata(meta["base"])
        colour, linestyle = base.get("color"), "--"
    else:
        colour = meta.get("color")
    if colour is None:
        colour = sns.color_palette("tab20", 20)[sum(map(ord, registered)) % 20]
    return {"color": colour, "linestyle": linestyle, "lw": 2.2 if meta.get("emphasis") else 1.4}


#: Line styles given, in order, to curves whose colour and style would otherwise be identical.
SPARE_LINESTYLES = ("-.", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 3)), (0, (1, 3)))


def _separate_identical_styles(styles: Dict[str, Dict[str, Any]]) -> None:
    """Two methods of one figure with the same registered method and calibration (e.g. ActiveLab with real annotator
    columns and with one column per round) would draw identical lines: the later ones get a spare line style."""
    seen: Dict[Any, int] = {}
    for method in styles:
        key = (str(styles[method]["color"]), str(styles[method]["linestyle"]))
        if key in seen:
            styles[method] = {**styles[method], "linestyle": SPARE_LINESTYLES[seen[key] % len(SPARE_LINESTYLES)]}
            seen[key] += 1
        else:
            seen[key] = 0


MODEL_LABELS = {"extra_trees": "ExtraTrees", "mlp": "MLP", "one_nn": "1-NN", "linear_probe": "Linear probe"}


def load_results(results_dir: "str | Path", benchmark: str) -> pd.DataFrame:
    """All finished runs of ``benchmark`` as a long table, verified before anything is drawn or summarised.

    Every sidecar (``run_seed<k>.json``) is read and its arrays are verified as a rerun would verify them (they
    exist, load without pickles, are 1-D, finite, have one value per round and match the sidecar's sha256 where it
    has one). Unreadable or corrupt results are **not skipped**: a summary or figure that silently drops a seed
    cannot be trusted, so a ``ValueError`` names the file and what is wrong; ``python -m active_learning run`` then
    recomputes that job. The seeds of one curve (benchmark, variant, model, method) must come from one config
    (the sidecars' ``"config"`` apart from ``"seed"``) and one code version (the sidecar's source digest, or its git commit); otherwise a
    ``ValueError`` names the disagreeing sidecars (rerun the cell with ``--overwrite`` or into another
    ``--results-dir``). Per-round curves are the sidecar's ``"per_round_metrics"`` plus ActiveLab's diagnostics
    (temperature, model_weight, mean_annotator_weight) listed under ``"metrics"``.

    Returns
    -------
    DataFrame with columns ``benchmark, variant, model, method, seed, round, metric, value`` and, for the figures'
    styles, ``registered`` (the registered method or strategy a result name ran) and ``calibration`` (ActiveLab's
    temperature calibration, ``""`` for other methods).

    Raises
    ------
    FileNotFoundError
        No finished runs of ``benchmark`` under ``results_dir``.
    ValueError
        A sidecar or array is unreadable or corrupt, or a curve mixes configs or code versions.
    """
    from .loops.multiannotator import DIAGNOSTICS
    from .runner import code_version, config_identity, describe_mixed_cell, verify_job_files

    root = Path(results_dir) / benchmark
    rerun = f"`python -m active_learning run {benchmark} --results-dir {results_dir}`"
    rows: List[pd.DataFrame] = []
    curves_of: Dict[tuple, List[tuple]] = {}
    for sidecar in sorted(root.rglob("run_seed*.json")):
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            problem = None if isinstance(meta, dict) else "is not a JSON object"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            meta, problem = None, f"is not valid JSON or cannot be read ({exc})"
        if problem is None:
            missing = [key for key in ("model", "method", "seed", "metrics") if key not in meta]
            problem = f"lacks the key(s) {missing}" if missing else None
        if problem is not None:
            problem = f"{sidecar} {problem}"
        else:
            problem = verify_job_files(meta, sidecar.parent)
            problem = f"{problem} (a result of {sidecar})" if problem else None
        if problem is not None:
            raise ValueError(
                f"cannot load the results of {benchmark}: {problem}. Rerun {rerun} (with the options that made "
                f"these results): it verifies every finished job and recomputes corrupt ones."
            )
        config = meta.get("config")
        identity = (
            config_identity(config),
            code_version(meta),
        )
        cell = (meta.get("variant") or "", meta["model"], meta["method"])
        # what drew the curve: the registered method (its figure style) and, for ActiveLab, its calibration
        registered = config.get("method", meta["method"]) if isinstance(config, dict) else meta["method"]
        method_params = config.get("method_params") if isinstance(config, dict) else None
        calibration = str((method_params or {}).get("calibration", "")) if isinstance(method_params, dict) else ""
        curves_of.setdefault(cell, []).append((identity, sidecar, config))
        curves = list(meta.get("per_round_metrics", meta["metrics"]))
        # ActiveLab's per-round diagnostics (temperature, w_M, mean w_j); sidecars written by commit e363dda list
        # them under "metrics" only
        curves += [m for m in meta["metrics"] if m in DIAGNOSTICS and m not in curves]
        for metric in curves:
            path = sidecar.parent / f"{metric}_seed{meta['seed']}.npy"
            if not path.is_file():
                continue
            values = np.load(path, allow_pickle=False)
            rows.append(
                pd.DataFrame(
                    {
                        "benchmark": benchmark,
                        "variant": meta.get("variant") or "",
                        "model": meta["model"],
                        "method": meta["method"],
                        "seed": meta["seed"],
                        "round": np.arange(values.size),
                        "metric": metric,
                        "value": values,
                        "registered": registered,
                        "calibration": calibration,
                    }
                )
            )
    mixed = [describe_mixed_cell(cell, entries) for cell, entries in curves_of.items() if len({e[0] for e in entries}) > 1]
    if mixed:
        raise ValueError(
            f"results of {benchmark} under {root} mix runs that must not be averaged into one curve:\n  "
            + "\n  ".join(mixed)
            + f"\nRerun each such cell with --overwrite, e.g. `python -m active_learning run {benchmark} --results-dir "
            f"{results_dir} --models M --methods X [--variants V] --overwrite` (recomputes all its seeds and removes "
            f"its old files), or run the other config into another --results-dir."
        )
    if not rows:
        raise FileNotFoundError(
            f"no finished runs of {benchmark!r} under {root}; run `python -m active_learning run {benchmark}` first"
        )
    return pd.concat(rows, ignore_index=True)


def summarize(df: pd.DataFrame, metric: str, round_index: Optional[int] = None) -> pd.DataFrame:
    """Mean, std and number of seeds of ``metric`` at ``round_index`` (default: each run's last round)."""
    sub = df[df.metric == metric]
    if round_index is None:
        sub = sub[sub["round"] == sub.groupby(["variant", "model", "method", "seed"])["round"].transform("max")]
    else:
        sub = sub[sub["round"] == round_index]
    table = sub.groupby(["variant", "model", "method"])["value"].agg(["mean", "std", "count"]).reset_index()
    return table.sort_values(["variant", "model", "mean"], ascending=[True, True, False]).reset_index(drop=True)


def annotations_to_reach(
    df: pd.DataFrame, method: str, target: float, metric: str = "model_accuracy", model: Optional[str] = None, variant: str = ""
) -> Optional[float]:
    """Total annotations at the first round where the seed-mean ``metric`` of ``method`` reaches ``target``."""
    sub = df[(df.method == method) & (df.variant == variant)]
    if model is not None:
        sub = sub[sub.model == model]
    curve = sub[sub.metric == metric].groupby("round")["value"].mean()
    counts = sub[sub.metric == "n_annotations"].groupby("round")["value"].mean()
    reached = curve[curve >= target - 1e-12]
    if reached.empty:
        return None
    return float(counts.loc[reached.index[0]])


def plot_benchmark(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("consensus_accuracy", "model_accuracy"),
    columns: str = "model",
    x: str = "round",
    title: Optional[str] = None,
) -> Any:
    """One panel per (metric, column value), one line per method with a ±1 std band over seeds.

    Parameters
    ----------
    df : DataFrame
        From :func:`load_results`.
    metrics : sequence of str
        Metrics, one row of panels each.
    columns : {"model", "variant"}
        What the panel columns split by.
    x : {"round", "n_annotations", "n_labeled"}
        x-axis: round index, total annotations collected so far, or labeled examples (single-annotator tasks).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    column_values = sorted(df[columns].unique())
    methods = sorted(df.method.unique(), key=lambda m: (not m.startswith(("activelab", "multi", "npc", "maxherding_nas")), m))
    styles = {}
    for method in methods:
        rows = df[df.method == method]
        registered = rows["registered"].iloc[0] if "registered" in rows else method
        calibration = rows["calibration"].iloc[0] if "calibration" in rows else ""
        styles[method] = method_style(str(registered), str(calibration or ""))
    _separate_identical_styles(styles)
    # many panels (e.g. five noise levels) wrap into rows of at most three
    per_row = min(len(column_values), 3)
    rows_per_metric = int(np.ceil(len(column_values) / per_row))
    fig, axes = plt.subplots(
        len(metrics) * rows_per_metric, per_row,
        figsize=(max(6.4, 4.8 * per_row), 3.4 * len(metrics) * rows_per_metric + 1.2), squeeze=False,
    )
    for ax in axes.ravel()[len(metrics) * len(column_values):]:
        ax.set_visible(False)
    handles: Dict[str, Any] = {}
    for row, metric in enumerate(metrics):
        for col, value in enumerate(column_values):
            index = row * rows_per_metric * per_row + col
            ax = axes.ravel()[index]
            panel = df[(df[columns] == value)]
            lows = []
            for method in methods:
                sub = panel[panel.method == method]
                values = sub[sub.metric == metric].pivot_table(index="round", columns="seed", values="value")
                if values.empty:
                    continue
                if x != "round":
                    xs = sub[sub.metric == x].groupby("round")["value"].mean().loc[values.index].to_numpy()
                else:
                    xs = values.index.to_numpy()
                mean, std = values.mean(axis=1).to_numpy(), values.std(axis=1, ddof=0).to_numpy()
                label = f"{DISPLAY_NAMES.get(method, method)} (n={values.shape[1]})"
                style = styles[method]
                (line,) = ax.plot(xs, mean, label=label, **style)
                ax.fill_between(xs, mean - std, mean + std, color=style["color"], alpha=0.12, lw=0)
                handles.setdefault(label, line)
                lows.append(np.nanmin(mean))
            heading = MODEL_LABELS.get(value, value) if columns == "model" else value
            ax.set_title(f"{heading}: {METRIC_LABELS.get(metric, metric)}", fontsize=10)
            ax.set_xlabel({"round": "Round", "n_annotations": "Total annotations", "n_labeled": "Labeled examples"}.get(x, x))
            ax.set_ylabel(METRIC_LABELS.get(metric, metric))
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if lows and metric.endswith("accuracy"):
                # the lowest mean point sets the limit, not the std bands (one seed's collapse must not squash the curves)
                top = min(1.0, ax.get_ylim()[1])
                ax.set_ylim(max(0.0, min(lows) - 0.02), top)
    # legend columns that fit the figure's width (about 3.2 inches per entry at this font size)
    ncol = max(1, min(len(handles), int(fig.get_size_inches()[0] // 3.2)))
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    height = fig.get_size_inches()[1]
    top = 1.0
    if title:
        import textwrap

        wrapped = textwrap.fill(title, max(40, int(fig.get_size_inches()[0] * 10)))
        fig.suptitle(wrapped, fontsize=11, y=1.0 - 0.08 / height, va="top")  # 0.08 in below the top edge
        top = 1.0 - (0.2 * (wrapped.count("\n") + 1) + 0.15) / height  # the panels start below the title
    legend_rows = int(np.ceil(len(handles) / ncol))
    fig.tight_layout(rect=(0, min(0.5, (0.22 * legend_rows + 0.15) / height), 1, top))
    return fig


def make_figures(
    benchmark: str, results_dir: "str | Path" = "results", out_dir: "str | Path | None" = None, figure: Optional[Dict[str, Any]] = None
) -> List[Path]:
    """Draw ``benchmark``'s figure from ``results_dir`` into ``out_dir`` (default ``<results>/<benchmark>/figures``).

    ``figure`` is the config's ``figure:`` block (metrics and what the panel columns split by); by default it is
    read from the benchmark's YAML.
    """
    import matplotlib.pyplot as plt

    import textwrap

    description = benchmark
    try:
        from .config import load_config

        config = load_config(benchmark)
        description = str(config.get("description") or benchmark)
        if figure is None:
            figure = config.get("figure") or {}
    except ValueError:
        figure = figure or {}
    df = load_results(results_dir, benchmark)
    heading = textwrap.fill(f"{description} (mean ± 1 std over seeds)", 90)
    out = Path(out_dir) if out_dir is not None else Path(results_dir) / benchmark / "figures"
    out.mkdir(parents=True, exist_ok=True)
    paths: List[Path] = []
    count = "n_annotations" if "n_annotations" in set(df.metric) else "n_labeled"
    for x in ("round", count):
        fig = plot_benchmark(
            df,
            metrics=figure.get("metrics", ["consensus_accuracy", "model_accuracy"]),
            columns=figure.get("columns", "model"),
            x=x,
            title=heading,
        )
        suffix = {"round": "rounds", "n_annotations": "annotations", "n_labeled": "labeled"}[x]
        path = out / f"{benchmark}_{suffix}.png"  # x: round, annotations collected or labeled examples
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    if "temperature" in set(df.metric):
        # what the calibration choice does: the temperature ActiveLab used and how many of its labels went to new examples
        crowdlab_methods = sorted(set(df[df.metric == "temperature"].method))
        subset = df[df.method.isin(crowdlab_methods)]
        relabel_only = not (subset[subset.metric == "n_new"].value > 0).any()  # e.g. Complete: no unlabeled pool
        fig = plot_benchmark(
            subset,
            metrics=["temperature", "model_weight"] + ([] if relabel_only else ["n_new"]),
            columns=figure.get("columns", "model"),
            title=textwrap.fill(f"{description}: ActiveLab by temperature calibration", 90),
        )
        path = out / f"{benchmark}_calibration.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def summary_markdown(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("consensus_accuracy", "model_accuracy", "model_accuracy_refit", "accuracy", "filter_f1"),
) -> str:
    """A markdown table of the final-round mean ± std of ``metrics`` per (variant, model, method)."""
    lines: List[str] = []
    present = [m for m in metrics if m in set(df.metric)]
    tables = {m: summarize(df, m) for m in present}
    keys = tables[present[0]][["variant", "model", "method"]].itertuples(index=False) if present else []
    header = "| variant | model | method | " + " | ".join(present) + " |"
    lines += [header, "|" + " --- |" * (3 + len(present))]
    for variant, model, method in keys:
        cells = []
        for m in present:
            t = tables[m]
            row = t[(t.variant == variant) & (t.model == model) & (t.method == method)]
            if row.empty:
                cells.append("")
            elif int(row["count"].iloc[0]) < 2:  # one seed: no spread to report
                cells.append(f"{row['mean'].iloc[0]:.4f} (1 seed)")
            else:
                cells.append(f"{row['mean'].iloc[0]:.4f} ± {row['std'].iloc[0]:.4f}")
        lines.append(f"| {variant or '-'} | {model} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def efficiency_table(
    df: pd.DataFrame, method: str = "activelab", metric: str = "model_accuracy", own_family: str = "activelab"
) -> pd.DataFrame:
    """How many annotations ``method`` needs to reach the best baseline's final ``metric``.

    Baselines are the methods whose names do not start with ``own_family`` (so ActiveLab's ensemble variant is
    not a baseline of ActiveLab). For every (variant, model): the baseline with the highest final seed-mean
    ``metric``, that value, the
    annotations it used, ``method``'s final value, and the annotations at which ``method``'s seed-mean curve first
    reaches the baseline's final value (NaN if it never does).
    """
    rows = []
    final = summarize(df, metric)
    counts = summarize(df, "n_annotations")
    for (variant, model), group in final.groupby(["variant", "model"]):
        if method not in set(group.method):
            continue
        baselines = group[~group.method.str.startswith(own_family)]
        if baselines.empty:
            continue
        best = baselines.iloc[baselines["mean"].argmax()]
        used = counts[(counts.variant == variant) & (counts.model == model) & (counts.method == best.method)]["mean"].iloc[0]
        reached = annotations_to_reach(df, method, float(best["mean"]), metric=metric, model=model, variant=variant)
        rows.append(
            {
                "variant": variant,
                "model": model,
                "best_baseline": best.method,
                "baseline_final": float(best["mean"]),
                "baseline_annotations": float(used),
                f"{method}_final": float(group[group.method == method]["mean"].iloc[0]),
                f"{method}_annotations_to_match": np.nan if reached is None else reached,
            }
        )
    return pd.DataFrame(rows)


def efficiency_markdown(
    df: pd.DataFrame,
    methods: Sequence[str] = ("activelab", "activelab_ensemble"),
    metrics: Sequence[str] = ("model_accuracy", "model_accuracy_refit", "consensus_accuracy"),
) -> str:
    """:func:`efficiency_table` for several methods and metrics as one markdown table (empty if none applies)."""
    header = (
        "| metric | model | method | final | best baseline | its final | its annotations | "
        "method's annotations to match |"
    )
    lines = [header, "|" + " --- |" * 8]
    for metric in metrics:
        if metric not in set(df.metric):
            continue
        for method in methods:
            for row in efficiency_table(df, method, metric).itertuples(index=False):
                model = f"{row.variant}/{row.model}" if row.variant else row.model
                reached = getattr(row, f"{method}_annotations_to_match")
                lines.append(
                    f"| {metric} | {model} | {method} | {getattr(row, f'{method}_final'):.4f} | {row.best_baseline} | "
                    f"{row.baseline_final:.4f} | {row.baseline_annotations:.0f} | "
                    f"{'never' if np.isnan(reached) else f'{reached:.0f}'} |"
                )
    return "\n".join(lines) if len(lines) > 2 else ""


#: Calibration variants of ActiveLab-family methods, in the order the comparison table shows them.
CALIBRATION_VARIANTS = (("", "reference (benchmark search)"), ("_cleanlab", "cleanlab 2.9 search"), ("_rowwise", "row-wise (recommended)"))


def calibration_markdown(
    df: pd.DataFrame, metrics: Sequence[str] = ("model_accuracy", "consensus_accuracy"), families: Sequence[str] = ("activelab", "activelab_ensemble", "multiannotator")
) -> str:
    """Final-round mean ± std of each ActiveLab method under its three calibration variants, one row per
    (variant, model, method, metric); empty if the results hold no calibration variants."""
    final = {metric: summarize(df, metric) for metric in metrics if metric in set(df.metric)}
    header = "| variant | model | method | metric | " + " | ".join(label for _, label in CALIBRATION_VARIANTS) + " |"
    lines = [header, "|" + " --- |" * (4 + len(CALIBRATION_VARIANTS))]
    for metric, table in final.items():
        for (variant, model), group in table.groupby(["variant", "model"], dropna=False):
            for family in families:
                names = [family + suffix for suffix, _ in CALIBRATION_VARIANTS]
                if not any(name in set(group.method) for name in names[1:]):
                    continue
                cells = []
                for name in names:
                    row = group[group.method == name]
                    if row.empty:
                        cells.append("")
                    else:
                        spread = f" ± {row['std'].iloc[0]:.3f}" if int(row["count"].iloc[0]) > 1 else ""
                        cells.append(f"{row['mean'].iloc[0]:.3f}{spread} (n={int(row['count'].iloc[0])})")
                lines.append(f"| {variant or '-'} | {model} | {family} | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def paired_difference_markdown(df: pd.DataFrame, pairs: Sequence[Tuple[str, str]], metric: str = "accuracy",
                               x_labels: Optional[Sequence[str]] = None) -> str:
    """A Markdown table of ``method − base`` per variant and round, paired by seed: mean ± std over the seeds both
    ran, **bold** where the mean difference exceeds its standard error twice (the NAS paper's question: does the
    noise-aware version beat its base at each budget?).

    Parameters
    ----------
    df : long results table (:func:`load_results`)
    pairs : sequence of (method, base) result-folder names, e.g. ``[("npc", "probcover")]``
    metric : str
    x_labels : column labels of the rounds (e.g. ``["1", "2", ...]`` samples per class)
    """
    rows = df[df.metric == metric]
    rounds = sorted(rows["round"].unique())
    labels = list(x_labels) if x_labels is not None else [str(r) for r in rounds]
    header = "| variant | method − base | " + " | ".join(labels[: len(rounds)]) + " | seeds |"
    lines = [header, "|" + " --- |" * (len(rounds) + 3)]
    for variant in sorted(rows["variant"].unique()):
        part = rows[rows.variant == variant]
        for method, base in pairs:
            wide = part[part.method.isin([method, base])].pivot_table(index=["seed", "round"], columns="method", values="value")
            if method not in wide or base not in wide:
                continue
            diff = (wide[method] - wide[base]).dropna().unstack("round")
            cells = []
            for r in rounds:
                values = diff[r].dropna().to_numpy() if r in diff else np.zeros(0)
                if values.size == 0:
                    cells.append("")
                    continue
                mean, std = float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0
                text = f"{mean:+.3f} ± {std:.3f}"
                cells.append(f"**{text}**" if values.size > 1 and abs(mean) > 2 * std / np.sqrt(values.size) else text)
            lines.append(f"| {variant} | {method} − {base} | " + " | ".join(cells) + f" | {len(diff)} |")
    return "\n".join(lines)
