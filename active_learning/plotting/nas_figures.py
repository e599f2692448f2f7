"""The grid figures of the NAS benchmarks (Shafir, Hacohen, Weinshall 2025, "Active Learning with a Noisy
Annotator", arXiv:2504.04506): accuracy per budget in a grid of settings (:func:`plot_curve_grid`), noise-aware
strategy minus the strategy it is compared with (:func:`plot_paired_differences`) and the noise filters' precision
and recall (:func:`plot_filter_quality`); :func:`samples_per_class` gives their x-axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..results import read_sidecars
from .styles import (
    METRIC_LABELS,
    VARIANT_FACTORS,
    _legend_columns,
    _method_styles,
    _separate_identical_styles,
    factor_label,
    nas_pairs,
    ordered,
    short_name,
    variant_factors,
)
from .tables import _interval_text, paired_differences, seed_summary


def _x_positions(rounds: Any, x_values: Optional[Sequence[float]]) -> np.ndarray:
    rounds = np.asarray(rounds, dtype=int)
    if x_values is None:
        return rounds
    values = np.asarray(list(x_values), dtype=float)
    if rounds.size and rounds.max() >= values.size:
        raise ValueError(f"x_values gives {values.size} positions but the results have round {int(rounds.max())}")
    return values[rounds]


def _facet_frame(df: pd.DataFrame, rows: str, columns: str) -> pd.DataFrame:
    """``df`` with its variant factors, checked so that no panel mixes settings: every factor (and the model) that is
    neither ``rows`` nor ``columns`` must take one value (a ``ValueError`` says which to select)."""
    data = df if all(f in df for f in VARIANT_FACTORS) else variant_factors(df)
    for axis in (rows, columns):
        if axis not in data:
            raise ValueError(f"unknown panel factor {axis!r}; use one of {list(VARIANT_FACTORS) + ['model', 'variant']}")
    if "variant" in (rows, columns):
        return data
    for factor in [*VARIANT_FACTORS, "model"]:
        if factor in (rows, columns) or factor not in data:
            continue
        values = ordered(data[factor].unique(), factor)
        if len(values) > 1:
            raise ValueError(
                f"the results hold several {factor} values ({', '.join(values)}) that one panel would mix; select one "
                f"first, e.g. df[variant_factors(df).{factor} == {values[0]!r}]"
            )
    return data


def _facet_axes(n_rows: int, n_cols: int, panel_size: Tuple[float, float], sharey: Any,
                extra_width: float = 0.0, extra_height: float = 0.0) -> Tuple[Any, np.ndarray]:
    import matplotlib.pyplot as plt

    width, height = panel_size
    # at least 6.4 inches wide, so a one-column figure still has room for its title and legend
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(max(6.4, width * n_cols + extra_width), height * n_rows + extra_height),
        sharex=True, sharey=sharey, squeeze=False, layout="constrained",
    )
    return fig, axes


def _label_panels(axes: np.ndarray, row_values: Sequence[str], col_values: Sequence[str], rows: str, columns: str,
                  y_label: str, x_label: str, ticks: Optional[Sequence[float]]) -> None:
    """Column titles on the top row, ``<row value>`` + ``y_label`` on the first column, ``x_label`` on the bottom row."""
    for j, value in enumerate(col_values):
        axes[0, j].set_title(factor_label(columns, value), fontsize=10, fontweight="bold")
    for i, value in enumerate(row_values):
        axes[i, 0].set_ylabel(f"{factor_label(rows, value)}\n{y_label}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel(x_label, fontsize=9)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8.5)
        if ticks is not None:
            ax.set_xticks(list(ticks))


def _band(ax: Any, xs: np.ndarray, mean: np.ndarray, half: np.ndarray, colour: Any, alpha: float) -> None:
    """The interval around a mean curve, where it has one (NaN half-widths: one seed, or no interval asked for)."""
    if np.isfinite(half).any():
        ax.fill_between(xs, mean - half, mean + half, color=colour, alpha=alpha, lw=0)


def _dodge(index: int, count: int, x_values: Optional[Sequence[float]], width: float = 0.24) -> float:
    """x offset of the ``index``-th of ``count`` curves of a panel: together they span ``width`` of the smallest gap
    between budgets, so curves (and markers) that coincide sit side by side instead of on top of each other."""
    if count < 2:
        return 0.0
    xs = np.unique(np.asarray(list(x_values), dtype=float)) if x_values is not None else np.arange(2.0)
    gap = float(np.min(np.diff(xs))) if xs.size > 1 else 1.0
    return (index - (count - 1) / 2) * width * gap / (count - 1)


def _draw_curve(ax: Any, curve: pd.DataFrame, x_values: Optional[Sequence[float]], key: str, style: Dict[str, Any],
                alpha: float, lines: Dict[str, Any], seeds: Dict[str, List[int]],
                offset: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """One mean curve of :func:`seed_summary` rows (sorted by round) with its band, shifted by ``offset`` along x
    (:func:`_dodge`); its line and seed count are recorded under the legend entry ``key``. Returns the mean and the
    band's half-width."""
    xs = _x_positions(curve["round"], x_values) + offset
    mean, half = curve["mean"].to_numpy(), curve["half"].to_numpy()
    (line,) = ax.plot(xs, mean, **style)
    _band(ax, xs, mean, half, style["color"], alpha)
    lines.setdefault(key, line)
    seeds.setdefault(key, []).append(int(curve["n"].max()))
    return mean, half


def _no_results(ax: Any) -> None:
    ax.text(0.5, 0.5, "no results", transform=ax.transAxes, ha="center", va="center", color="0.45", fontsize=9)


def _seed_count(counts: Sequence[int]) -> str:
    low, high = min(counts), max(counts)
    return f"n={low}" if low == high else f"n={low}–{high}"

def _finish(fig: Any, handles: Dict[str, Any], title: Optional[str], legend_right: bool) -> None:
    """One shared legend (one column right of the panels, for long lists; below them otherwise, in as many columns
    as fit the width) and a wrapped title."""
    import textwrap

    if handles:
        labels = list(handles)
        if legend_right:
            fig.legend(list(handles.values()), labels, loc="outside right", fontsize=9, frameon=False)
        else:
            ncol = _legend_columns(labels, fig.get_size_inches()[0])
            fig.legend(list(handles.values()), labels, loc="outside lower center", ncol=ncol, fontsize=9, frameon=False)
    if title:
        fig.suptitle(textwrap.fill(" ".join(title.split()), int(fig.get_size_inches()[0] * 11), break_on_hyphens=False),
                     fontsize=11)


def plot_curve_grid(
    df: pd.DataFrame,
    metric: str = "accuracy",
    *,
    methods: Optional[Sequence[str]] = None,
    rows: str = "noise",
    columns: str = "filter",
    x_values: Optional[Sequence[float]] = None,
    x_label: Optional[str] = None,
    interval: Optional[str] = "std",
    title: Optional[str] = None,
    panel_size: Tuple[float, float] = (3.3, 2.3),
) -> Any:
    """``metric`` per round of every strategy in a grid of settings: rows × columns of variant factors.

    The accuracy-against-budget figures of Shafir, Hacohen, Weinshall 2025 (arXiv:2504.04506): rows = noise
    settings, columns = noise filters, one line per strategy (mean over seeds, band
    :data:`~active_learning.plotting.tables.INTERVALS`), x = the budget. Strategies keep their colours of every other
    figure (:func:`~active_learning.plotting.styles.method_style`: each its own colour, a noise-aware version dashed
    in a dark shade of its base's colour); the curves of a panel sit side by side, a few
    hundredths of a budget step apart, with markers, so strategies whose curves coincide stay visible. Panels of one
    row share their y-axis. Whatever subset of the grid has results is drawn: missing strategies are left out of a
    panel, missing settings show "no results".

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`), holding one value of every factor that is neither ``rows`` nor
        ``columns`` (e.g. one training setting: ``df[variant_factors(df).training == "clean"]``), else ``ValueError``.
    metric : str
        Per-round metric on the y-axis.
    methods : sequence of str, optional
        Strategies to draw (default: every one in ``df``), in the legend order of :data:`FACTOR_ORDER`.
    rows, columns : str
        Variant factors (:data:`VARIANT_FACTORS`), ``"model"`` or ``"variant"`` the panels split by.
    x_values : sequence of float, optional
        x position of each round index, e.g. ``[1, 2, 3, 4, 5]`` samples per class; default: the round index.
    x_label : str, optional
        Default ``"Round"``.
    interval : {"std", "ci95"} or None
        The band around each mean (None: no band).
    title : str, optional
        Figure title; default: the metric and the band.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib Figure
    """
    data = df[df.metric == metric]
    if methods is not None:
        data = data[data.method.isin(list(methods))]
    if data.empty:
        raise ValueError(f"no {metric!r} results to draw")
    data = _facet_frame(data, rows, columns)
    row_values, col_values = ordered(data[rows].unique(), rows), ordered(data[columns].unique(), columns)
    names = ordered(data.method.unique(), "method")
    styles = _method_styles(df, names)
    stats = seed_summary(data, [rows, columns, "method", "round"], interval)
    fig, axes = _facet_axes(len(row_values), len(col_values), panel_size, "row", extra_width=2.6, extra_height=0.7)
    lines: Dict[str, Any] = {}
    seeds: Dict[str, List[int]] = {}
    for i, row_value in enumerate(row_values):
        for j, col_value in enumerate(col_values):
            ax = axes[i, j]
            panel = stats[(stats[rows] == row_value) & (stats[columns] == col_value)]
            if panel.empty:
                _no_results(ax)
                continue
            for k, name in enumerate(names):
                curve = panel[panel.method == name].sort_values("round")
                if curve.empty:
                    continue
                _draw_curve(ax, curve, x_values, name, {**styles[name], "ms": 3.5}, 0.10, lines, seeds,
                            offset=_dodge(k, len(names), x_values))
    ticks = x_values if x_values is not None else sorted(data["round"].unique())
    _label_panels(axes, row_values, col_values, rows, columns, METRIC_LABELS.get(metric, metric), x_label or "Round", ticks)
    handles = {f"{factor_label('method', name)} ({_seed_count(seeds[name])})": lines[name] for name in names if name in lines}
    _finish(fig, handles, title or f"{METRIC_LABELS.get(metric, metric)} ({_interval_text(interval)})", legend_right=True)
    return fig


def plot_paired_differences(
    df: pd.DataFrame,
    pairs: Optional[Sequence[Tuple[str, str]]] = None,
    metric: str = "accuracy",
    *,
    interval: str = "ci95",
    rows: str = "noise",
    columns: str = "filter",
    x_values: Optional[Sequence[float]] = None,
    x_label: Optional[str] = None,
    title: Optional[str] = None,
    panel_size: Tuple[float, float] = (3.3, 2.3),
) -> Any:
    """Noise-aware strategy minus its base, paired by seed, against the budget: the central comparison of Shafir,
    Hacohen, Weinshall 2025 (arXiv:2504.04506).

    One panel per (``rows`` × ``columns``) setting, by default noise setting × noise filter; one line per pair in the
    noise-aware strategy's colour (:func:`~active_learning.plotting.styles.method_style`) with markers, the mean of
    :func:`~active_learning.plotting.tables.paired_differences` over the seeds both ran and a band of ``interval``; a
    black zero line. Above zero: the noise-aware version is better. A band that excludes zero is a difference the
    seeds support (the 95 % CI; ± 1 std is wider than the standard error). Pairs with no results on common seeds are
    left out; settings without any show "no results". :func:`~active_learning.plotting.tables.paired_difference_markdown`
    tabulates the same numbers.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`) holding one value of each factor that is neither ``rows`` nor
        ``columns`` (select one training setting first), else ``ValueError``.
    pairs : sequence of (method, base)
        Default: every noise-aware strategy and the strategy it is compared with
        (:func:`~active_learning.plotting.styles.nas_pairs`).
    metric : str
        Per-round metric compared.
    interval : {"ci95", "std"}
        The band: a 95 % Student-t confidence interval of the mean difference, or ± 1 sample std of the differences;
        the y-axis label says which.
    rows, columns : str
        Variant factors (:data:`VARIANT_FACTORS`), ``"model"`` or ``"variant"`` the panels split by.
    x_values : sequence of float, optional
        x position of each round index (e.g. samples per class); default: the round index.
    x_label : str, optional
        Default ``"Round"``.
    title : str, optional
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    ValueError
        No pair has results on common seeds, or a panel would mix settings.
    """
    pairs = nas_pairs() if pairs is None else pairs
    diffs = paired_differences(df, pairs, metric)
    if diffs.empty:
        raise ValueError(f"none of the pairs {list(pairs)} has {metric!r} results on common seeds")
    data = _facet_frame(diffs, rows, columns)
    data["pair"] = data["method"] + " − " + data["base"]
    present = [(m, b) for m, b in pairs if ((data.method == m) & (data.base == b)).any()]
    keys = [f"{m} − {b}" for m, b in present]
    method_styles = _method_styles(df, [m for m, _ in present])
    styles = {key: {**method_styles[m], "linestyle": "-"} for key, (m, _) in zip(keys, present)}
    _separate_identical_styles(styles)
    row_values, col_values = ordered(data[rows].unique(), rows), ordered(data[columns].unique(), columns)
    stats = seed_summary(data, [rows, columns, "pair", "round"], interval)
    fig, axes = _facet_axes(len(row_values), len(col_values), panel_size, "row", extra_height=1.1)
    lines: Dict[str, Any] = {}
    seeds: Dict[str, List[int]] = {}
    markers = ("o", "s", "^", "D", "v", "P")
    for i, row_value in enumerate(row_values):
        extent = [0.0]  # what the row's y-axis must show: zero, every mean, the bands of three or more seeds
        for j, col_value in enumerate(col_values):
            ax = axes[i, j]
            panel = stats[(stats[rows] == row_value) & (stats[columns] == col_value)]
            if panel.empty:
                _no_results(ax)
                continue
            ax.axhline(0.0, color="black", lw=0.9, zorder=1)
            for k, key in enumerate(keys):
                curve = panel[panel.pair == key].sort_values("round")
                if curve.empty:
                    continue
                style = {**styles[key], "marker": markers[k % len(markers)], "ms": 4}
                mean, half = _draw_curve(ax, curve, x_values, key, style, 0.15, lines, seeds,
                                         offset=_dodge(k, len(keys), x_values, width=0.16))
                wide = curve["n"].to_numpy() >= 3
                extent += [*mean[np.isfinite(mean)], *(mean - half)[wide & np.isfinite(half)],
                           *(mean + half)[wide & np.isfinite(half)]]
        # a two-seed t-interval is 12.7 standard errors wide: it may run off the axis rather than flatten the row
        low, high = min(extent), max(extent)
        pad = 0.08 * (high - low) or 0.01
        axes[i, 0].set_ylim(low - pad, high + pad)
    ticks = x_values if x_values is not None else sorted(data["round"].unique())
    short = METRIC_LABELS.get(metric, metric)
    y_label = f"Δ {short[0].lower() + short[1:]}\n({_interval_text(interval).replace(' over seeds', '')})"
    _label_panels(axes, row_values, col_values, rows, columns, y_label, x_label or "Round", ticks)
    handles = {
        f"{short_name(m)} − {short_name(b)} ({_seed_count(seeds[key])} seeds)": lines[key]
        for key, (m, b) in zip(keys, present) if key in lines
    }
    default = (f"Noise-aware strategy minus its base, {short.lower()}, paired by seed ({_interval_text(interval)}); "
               "above zero: the noise-aware version is better")
    _finish(fig, handles, title or default, legend_right=False)
    return fig


def plot_filter_quality(
    df: pd.DataFrame,
    method: "str | Sequence[str]" = "npc",
    *,
    metrics: Sequence[str] = ("filter_precision", "filter_recall"),
    rows: str = "noise",
    columns: str = "filter",
    skip_filters: Sequence[str] = ("ideal",),
    training: Sequence[str] = ("clean", "all"),
    reference: bool = True,
    interval: Optional[str] = "std",
    x_values: Optional[Sequence[float]] = None,
    x_label: Optional[str] = None,
    title: Optional[str] = None,
    panel_size: Tuple[float, float] = (3.6, 2.2),
) -> Any:
    """How well the noise filters separate clean from noisy labels, round by round (Shafir, Hacohen, Weinshall 2025,
    arXiv:2504.04506: the filters' precision and recall of the clean class per round).

    One panel per (``rows`` × ``columns``) setting, by default noise setting × filter, without the ideal filter
    (precision and recall 1 by construction); in each, the precision and recall of the labels the filter keeps as
    clean, for the strategy ``method`` (its colour; line style and marker by metric), mean over seeds with a band of
    ``interval``. With ``reference`` a grey line shows the clean fraction of the labeled set (``1 −
    true_noise_ratio``), the precision of keeping every label: a filter helps only above it.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`).
    method : str or sequence of str
        Strategy (or strategies) whose labeled sets the filters saw; NPC by default.
    metrics : sequence of str
        Filter metrics drawn, line styles in order solid, dashed, dotted.
    rows, columns : str
        Variant factors (:data:`VARIANT_FACTORS`) or ``"model"`` the panels split by.
    skip_filters : sequence of str
        Filters left out (``filter`` factor values).
    training : sequence of str
        Training settings in order of preference: the first one with results is drawn (the filter of a coverage
        strategy sees the same labeled points under either, so their filter metrics coincide). Ignored when
        ``training`` is ``rows`` or ``columns``.
    reference : bool
        Draw the keep-everything precision (needs ``true_noise_ratio`` in the results; one strategy only).
    interval : {"std", "ci95"} or None
        The band around each mean (None: no band).
    x_values : sequence of float, optional
        x position of each round index (e.g. samples per class); default: the round index.
    x_label : str, optional
    title : str, optional
        Default: what is drawn, with the chosen training setting.
    panel_size : (float, float)

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    ValueError
        No filter results of ``method`` outside ``skip_filters``, or a panel would mix settings.
    """
    names = [method] if isinstance(method, str) else list(method)
    wanted = list(metrics) + (["true_noise_ratio"] if reference and len(names) == 1 else [])
    data = variant_factors(df[df.method.isin(names) & df.metric.isin(wanted)])
    data = data[~data["filter"].isin(list(skip_filters))]
    chosen = ""
    if "training" not in (rows, columns) and len(data):
        present = set(data["training"])
        chosen = next((t for t in training if t in present), "")
        if chosen:
            data = data[data["training"] == chosen]
    if data[data.metric.isin(list(metrics))].empty:
        raise ValueError(f"no {list(metrics)} results of {names} outside the filters {list(skip_filters)}")
    data = _facet_frame(data, rows, columns)
    row_values, col_values = ordered(data[rows].unique(), rows), ordered(data[columns].unique(), columns)
    stats = seed_summary(data, [rows, columns, "method", "metric", "round"], interval)
    styles = _method_styles(df, names)
    linestyles, markers = ("-", "--", ":", "-."), ("o", "s", "^", "D")
    fig, axes = _facet_axes(len(row_values), len(col_values), panel_size, True, extra_height=1.1)
    lines: Dict[str, Any] = {}
    seeds: Dict[str, List[int]] = {}
    for i, row_value in enumerate(row_values):
        for j, col_value in enumerate(col_values):
            ax = axes[i, j]
            panel = stats[(stats[rows] == row_value) & (stats[columns] == col_value)]
            if panel[panel.metric.isin(list(metrics))].empty:
                _no_results(ax)
                continue
            for name in names:
                for k, metric in enumerate(metrics):
                    curve = panel[(panel.method == name) & (panel.metric == metric)].sort_values("round")
                    if curve.empty:
                        continue
                    what = METRIC_LABELS.get(metric, metric).replace("Noise filter ", "").replace(" (clean class)", "")
                    key = what[0].upper() + what[1:] if len(names) == 1 else f"{short_name(name)}: {what}"
                    style = {"color": styles[name]["color"], "lw": 1.6, "linestyle": linestyles[k % 4],
                             "marker": markers[k % 4], "ms": 4}
                    _draw_curve(ax, curve, x_values, key, style, 0.12, lines, seeds)
            clean = panel[panel.metric == "true_noise_ratio"].sort_values("round")
            if len(clean):
                xs = _x_positions(clean["round"], x_values)
                (line,) = ax.plot(xs, 1.0 - clean["mean"].to_numpy(), color="0.45", lw=1.2, linestyle=(0, (1, 1.5)))
                lines.setdefault("Clean fraction of the labeled set (= precision of keeping all)", line)
    for ax in axes.ravel():
        ax.set_ylim(-0.02, 1.04)
    ticks = x_values if x_values is not None else sorted(data["round"].unique())
    _label_panels(axes, row_values, col_values, rows, columns, "Precision / recall\n(clean class)", x_label or "Round", ticks)
    handles = {(f"{key} ({_seed_count(seeds[key])})" if key in seeds else key): line for key, line in lines.items()}
    who = ", ".join(factor_label("method", n) for n in names)
    setting = f", {factor_label('training', chosen)}" if chosen else ""
    default = f"Noise-filter quality on the labeled sets of {who}{setting} ({_interval_text(interval)})"
    _finish(fig, handles, title or default, legend_right=False)
    return fig


def samples_per_class(results_dir: "str | Path", benchmark: str) -> Optional[List[float]]:
    """The budget schedule ``data.budget.samples_per_class`` the NAS runs of ``benchmark`` under ``results_dir``
    recorded in their sidecars (one value per round: the x-axis of the figures of Shafir, Hacohen, Weinshall 2025),
    or None if a sidecar lacks it or they disagree."""
    found = set()
    sidecars, problems = read_sidecars(Path(results_dir) / benchmark)
    if problems:
        return None
    for _, meta in sidecars:
        try:
            config = meta.get("config") or {}
            spc = ((config.get("data") or {}).get("budget") or {}).get("samples_per_class")
        except AttributeError:
            return None
        if not isinstance(spc, list):
            return None
        found.add(tuple(spc))
    return [float(v) for v in next(iter(found))] if len(found) == 1 else None
