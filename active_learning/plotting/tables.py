"""Tables of finished runs: final-round summaries, annotation efficiency, ActiveLab's calibration variants, and the
paired differences and pivot tables of the NAS benchmarks (Shafir, Hacohen, Weinshall 2025, arXiv:2504.04506)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .styles import VARIANT_FACTORS, factor_label, is_baseline, nas_pairs, ordered, variant_factors


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

    Baselines are the results whose registered method is one of ActiveLab's baselines (registered with
    ``baseline=True``: random, good random, entropy, uncertainty, disagreement, active label cleaning), so neither
    ActiveLab's own variants nor another new method (noise-aware re-labeling, its ideal-filter upper bound) count;
    a table without the ``registered`` column takes the results whose names do not start with ``own_family``. For
    every (variant, model): the baseline with the highest final seed-mean
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
        if "registered" in df.columns:
            registered = df.groupby("method")["registered"].first()
            baselines = group[[is_baseline(str(registered.get(m, m))) for m in group.method]]
        else:
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


#: The spread drawn around a mean over seeds: ``"ci95"`` a 95 % Student-t confidence interval of the mean,
#: ``"std"`` ± 1 sample standard deviation (ddof = 1, as the Markdown tables' ±).
INTERVALS: Dict[str, str] = {"ci95": "mean ± 95 % CI over seeds", "std": "mean ± 1 std over seeds"}


def paired_differences(df: pd.DataFrame, pairs: Optional[Sequence[Tuple[str, str]]] = None,
                       metric: str = "accuracy") -> pd.DataFrame:
    """``method − base`` of ``metric`` per variant, model, seed and round, over the seeds and rounds both ran.

    The comparison of Shafir, Hacohen, Weinshall 2025 (arXiv:2504.04506): does the noise-aware version of a
    strategy beat its base at each budget? Pairing by seed removes what the two runs of one seed share (the noisy
    labels, the initial state), so the spread of the differences is the spread of the effect. Pairs of which either
    side has no results are left out.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`).
    pairs : sequence of (method, base), optional
        Result-folder names, e.g. ``[("npc", "probcover"), ("coreset_nas", "coreset")]``; default: every
        noise-aware strategy and the strategy it is compared with (:func:`~active_learning.plotting.styles.nas_pairs`).
    metric : str
        The per-round metric to compare.

    Returns
    -------
    DataFrame with columns ``variant, model, method, base, seed, round, value`` (``value`` = method − base), sorted
    by variant, model, then the order of ``pairs``.
    """
    pairs = nas_pairs() if pairs is None else pairs
    columns = ["variant", "model", "method", "base", "seed", "round", "value"]
    rows = df[df.metric == metric]
    frames: List[pd.DataFrame] = []
    for (variant, model), part in rows.groupby(["variant", "model"], sort=True):
        for method, base in pairs:
            wide = part[part.method.isin([method, base])].pivot_table(index=["seed", "round"], columns="method", values="value")
            if method == base or method not in wide or base not in wide:
                continue
            diff = (wide[method] - wide[base]).dropna()
            if diff.empty:
                continue
            frame = diff.rename("value").reset_index()
            frame["variant"], frame["model"], frame["method"], frame["base"] = variant, model, method, base
            frames.append(frame[columns])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "value" else object) for c in columns})
    return pd.concat(frames, ignore_index=True)


def final_pivots(df: pd.DataFrame, metric: str = "accuracy", *, rows: str = "method", columns: str = "noise",
                 tables: Sequence[str] = ("training", "filter")) -> List[Tuple[str, str]]:
    """The final-round ``metric`` of a factorial NAS grid as a few small pivot tables instead of one row per cell.

    One Markdown table per combination of the ``tables`` factors (by default training setting × noise filter), one
    row per value of ``rows`` (the strategies), one column per value of ``columns`` (the noise settings), in the
    figures' order (:data:`FACTOR_ORDER`); a cell is the mean ± sample std over seeds of each run's last round, the
    highest mean of a column in **bold**, and ``(n=k)`` where a cell has fewer seeds than the most of the table.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`) of a benchmark whose variants are ``<noise>_<filter>_<training>``.
    metric : str
    rows, columns : str
        ``"method"``, ``"model"`` or a variant factor (:data:`VARIANT_FACTORS`).
    tables : sequence of str
        The factors that split the tables; every factor not named in ``rows``, ``columns`` or ``tables`` must take
        one value (else ``ValueError``).

    Returns
    -------
    list of (heading, markdown table)
    """
    final = summarize(df, metric)
    if final.empty:
        return []
    final = variant_factors(final)
    axes = [rows, columns, *tables]
    for factor in [*VARIANT_FACTORS, "model", "method"]:
        if factor not in axes and final[factor].nunique() > 1:
            raise ValueError(f"the results hold several {factor} values ({', '.join(ordered(final[factor], factor))}); "
                             f"add {factor!r} to rows, columns or tables, or select one first")
    out: List[Tuple[str, str]] = []
    groups = final.groupby(list(tables), sort=False) if tables else [((), final)]
    keys = sorted((k if isinstance(k, tuple) else (k,) for k, _ in groups),
                  key=lambda key: [ordered(final[f].unique(), f).index(v) for f, v in zip(tables, key)])
    for key in keys:
        part = final
        for factor, value in zip(tables, key):
            part = part[part[factor] == value]
        row_values, col_values = ordered(part[rows].unique(), rows), ordered(part[columns].unique(), columns)
        most = int(part["count"].max())
        best = part.groupby(columns)["mean"].max()
        lines = [f"| {'strategy' if rows == 'method' else rows} | "
                 + " | ".join(factor_label(columns, c) for c in col_values) + " |",
                 "|" + " --- |" * (len(col_values) + 1)]
        for r in row_values:
            cells = []
            for c in col_values:
                cell = part[(part[rows] == r) & (part[columns] == c)]
                if cell.empty:
                    cells.append("")
                    continue
                mean, std, n = float(cell["mean"].iloc[0]), cell["std"].iloc[0], int(cell["count"].iloc[0])
                text = f"{mean:.3f} ± {float(std):.3f}" if n > 1 else f"{mean:.3f}"
                text = f"**{text}**" if np.isclose(mean, best[c]) else text
                cells.append(text + (f" (n={n})" if n < most else ""))
            lines.append(f"| {factor_label(rows, r)} | " + " | ".join(cells) + " |")
        heading = ", ".join(factor_label(f, v) for f, v in zip(tables, key))
        out.append((f"{heading[:1].upper() + heading[1:]} ({most} seeds)", "\n".join(lines)))
    return out


def significant_difference(values: Any) -> bool:
    """Whether paired differences (one per seed) differ from zero by the rule of the tables' **bold**: at least two
    values (NaN left out) and ``|mean| > 2 · std / √n`` (sample std, ddof = 1), i.e. the mean exceeds twice its
    standard error (:func:`paired_difference_markdown`, ``benchmarks/cifar10n/report_tables.py``)."""
    array = np.asarray(values, dtype=float).ravel()
    array = array[~np.isnan(array)]
    if array.size < 2:
        return False
    return bool(abs(float(array.mean())) > 2 * float(array.std(ddof=1)) / np.sqrt(array.size))


def paired_difference_markdown(df: pd.DataFrame, pairs: Sequence[Tuple[str, str]], metric: str = "accuracy",
                               x_labels: Optional[Sequence[str]] = None) -> str:
    """A Markdown table of ``method − base`` per variant and round, paired by seed (:func:`paired_differences`):
    mean ± std over the seeds both ran, **bold** where the mean difference exceeds its standard error twice (the
    question of Shafir, Hacohen, Weinshall 2025, arXiv:2504.04506: does the noise-aware version beat its base at
    each budget?). :func:`~active_learning.plotting.nas_figures.plot_paired_differences` draws the same numbers.

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
    diffs = paired_differences(df, pairs, metric)
    several_models = rows["model"].nunique() > 1
    for (variant, model), part in diffs.groupby(["variant", "model"], sort=True):
        name = f"{variant} ({model})" if several_models else variant
        for method, base in pairs:
            pair = part[(part.method == method) & (part.base == base)]
            if pair.empty:
                continue
            diff = pair.pivot(index="seed", columns="round", values="value")
            cells = []
            for r in rounds:
                values = diff[r].dropna().to_numpy() if r in diff else np.zeros(0)
                if values.size == 0:
                    cells.append("")
                    continue
                mean, std = float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0
                text = f"{mean:+.3f} ± {std:.3f}"
                cells.append(f"**{text}**" if significant_difference(values) else text)
            lines.append(f"| {name} | {method} − {base} | " + " | ".join(cells) + f" | {len(diff)} |")
    return "\n".join(lines)


def seed_summary(frame: pd.DataFrame, by: Sequence[str], interval: Optional[str] = "ci95") -> pd.DataFrame:
    """Mean of ``value`` over the seeds of each ``by`` group, with the half-width ``half`` of ``interval``
    (:data:`INTERVALS`: a 95 % Student-t confidence interval of the mean, or one sample std; None: no interval) and
    the number of seeds ``n`` (NaN values left out; ``half`` is NaN with fewer than two seeds)."""
    from scipy import stats

    _interval_text(interval)  # checks the name
    table = frame.groupby(list(by))["value"].agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "n"})
    n = table["n"].to_numpy(dtype=float)
    std = table["std"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if interval == "ci95":
            half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * std / np.sqrt(n)
        else:
            half = std
    table["half"] = np.where((n > 1) & (interval is not None), half, np.nan)
    return table.drop(columns="std")


def _interval_text(interval: Optional[str]) -> str:
    if interval is None:
        return "mean over seeds"
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {sorted(INTERVALS)} or None, got {interval!r}")
    return INTERVALS[interval]
