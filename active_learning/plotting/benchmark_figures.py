"""The figures of the multi-annotator benchmarks (ActiveLab, Goh & Mueller 2023) and of any benchmark config without
a figure script: one panel per metric and model (or variant), one curve per method, against the round, the
annotations collected or the labeled examples (:func:`plot_benchmark`); :func:`make_figures` draws a benchmark's
figures from its results (or runs the figure script its config names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..results import _progress, load_results
from .save import save_figure, without_spec_references
from .styles import (
    METRIC_LABELS,
    model_label,
    _curve_label,
    _legend_columns,
    _method_styles,
    _registered_metadata,
    result_labels,
)

#: Marker shapes of the curves of one :func:`plot_benchmark` figure, in the order of its methods.
FIGURE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "<", ">", "p", "*")


def _marker_every(n_points: int, index: int) -> Any:
    """Markers of the ``index``-th curve of a panel: every point of a short curve; on a long one about six, starting
    at a point that depends on ``index``, so two curves that coincide show both their markers."""
    step = max(1, int(np.ceil(n_points / 6)))
    return (index % step, step) if step > 1 else None


def plot_benchmark(
    df: pd.DataFrame,
    metrics: Sequence[str] = ("consensus_accuracy", "model_accuracy"),
    columns: str = "model",
    x: str = "round",
    title: Optional[str] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> Any:
    """One panel per (metric, column value), one line per method with a ±1 std band over seeds.

    Every method has its own colour, the same in every figure (:func:`method_style`), and markers placed so that
    curves which coincide stay visible; one legend below the panels, the title above them (constrained layout: no
    blank band, the same size every time).

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
    title : str, optional
        Figure title (wrapped to the figure's width).
    labels : mapping, optional
        Display names of result names (:func:`~active_learning.plotting.styles.display_name`); default: those the
        configs of the benchmarks in ``df`` give (``figure.labels``, :func:`~active_learning.plotting.styles.result_labels`).

    Returns
    -------
    matplotlib Figure
    """
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    column_values = sorted(df[columns].unique())
    # ActiveLab's family first, then by name, each noise-aware strategy right after its base (NPC after ProbCover)
    def order(method: str) -> Tuple[bool, str, bool, str]:
        base = str(_registered_metadata(method).get("base") or "")
        return (not method.startswith(("activelab", "multi")), base or method, bool(base), method)

    methods = sorted(df.method.unique(), key=order)
    styles = _method_styles(df, methods)
    if labels is None:
        labels = result_labels(df["benchmark"].unique() if "benchmark" in df else [])
    labels_of = {method: _curve_label(df, method, labels) for method in methods}
    # many panels (e.g. five noise levels) wrap into rows of at most three
    per_row = min(len(column_values), 3)
    rows_per_metric = int(np.ceil(len(column_values) / per_row))
    width = max(6.4, 4.8 * per_row)
    ncol = _legend_columns([f"{label} (n=10)" for label in labels_of.values()], width, fontsize=8)
    legend_height = 0.2 * int(np.ceil(len(methods) / ncol)) + 0.2
    # one wrap, at this figure's width, never inside a hyphenated word (EfficientNet-Lite0)
    wrapped = textwrap.fill(" ".join(title.split()), max(40, int(width * 10)), break_on_hyphens=False) if title else ""
    title_height = 0.22 * (wrapped.count("\n") + 1) + 0.1 if title else 0.0
    fig, axes = plt.subplots(
        len(metrics) * rows_per_metric, per_row,
        figsize=(width, 3.2 * len(metrics) * rows_per_metric + legend_height + title_height), squeeze=False,
        layout="constrained",
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
            for k, method in enumerate(methods):
                sub = panel[panel.method == method]
                values = sub[sub.metric == metric].pivot_table(index="round", columns="seed", values="value")
                if values.empty:
                    continue
                if x != "round":
                    xs = sub[sub.metric == x].groupby("round")["value"].mean().loc[values.index].to_numpy()
                else:
                    xs = values.index.to_numpy()
                mean, std = values.mean(axis=1).to_numpy(), values.std(axis=1, ddof=0).to_numpy()
                label = f"{labels_of[method]} (n={values.shape[1]})"
                # a marker shape of its own in this figure, at points of its own: coinciding curves stay visible
                style = {**styles[method], "marker": FIGURE_MARKERS[k % len(FIGURE_MARKERS)]}
                (line,) = ax.plot(xs, mean, label=label, ms=4, markevery=_marker_every(len(xs), k), **style)
                ax.fill_between(xs, mean - std, mean + std, color=style["color"], alpha=0.12, lw=0)
                handles.setdefault(label, line)
                lows.append(np.nanmin(mean))
            heading = model_label(value) if columns == "model" else value
            ax.set_title(f"{heading}: {METRIC_LABELS.get(metric, metric)}", fontsize=10)
            ax.set_xlabel({"round": "Round", "n_annotations": "Total annotations", "n_labeled": "Labeled examples"}.get(x, x))
            ax.set_ylabel(METRIC_LABELS.get(metric, metric))
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if lows and metric.endswith("accuracy"):
                # the lowest mean point sets the limit, not the std bands (one seed's collapse must not squash the curves)
                top = min(1.0, ax.get_ylim()[1])
                ax.set_ylim(max(0.0, min(lows) - 0.02), top)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=ncol, fontsize=8,
                   frameon=False)
    if title:
        fig.suptitle(wrapped, fontsize=11)
    return fig


def _script_figures(benchmark: str, folder: Optional[Path], script: str, results_dir: "str | Path",
                    out_dir: "str | Path | None", progress: bool = False) -> List[Path]:
    """The figures of a benchmark whose config names its own figure script (``figure: {script: figures.py}``)."""
    import importlib.util
    import inspect

    path = (folder or Path(".")) / script
    if not path.is_file():
        raise FileNotFoundError(f"{benchmark}: figure script {path} does not exist; fix figure.script in its config")
    spec = importlib.util.spec_from_file_location(f"_al_figures_{benchmark}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "write_figures", None)):
        raise AttributeError(f"{path} has no write_figures(results_dir, out_dir) function")
    extra = {"progress": progress} if "progress" in inspect.signature(module.write_figures).parameters else {}
    return list(module.write_figures(Path(results_dir), None if out_dir is None else Path(out_dir), **extra))


def make_figures(
    benchmark: str, results_dir: "str | Path" = "results", out_dir: "str | Path | None" = None,
    figure: Optional[Dict[str, Any]] = None, progress: bool = False, *,
    config: Optional[Mapping[str, Any]] = None, results: Optional[pd.DataFrame] = None,
) -> List[Path]:
    """Draw ``benchmark``'s figure from ``results_dir`` into ``out_dir`` (default ``<results>/<benchmark>/figures``).

    ``figure`` is the config's ``figure:`` block (metrics, what the panel columns split by and ``labels``, the
    display names of result names not named after the method they ran; or ``script``: a script of the benchmark's
    folder whose ``write_figures(results_dir, out_dir)`` draws the benchmark's own figures instead); by default it
    is taken from ``config``, the benchmark's already loaded config (``run`` passes the one it ran, with its
    ``--set`` overrides), else read from the benchmark's YAML. ``results``: the benchmark's results as
    :func:`load_results` read them, if the caller has them already (not read again). Each
    figure is saved with :func:`~active_learning.plotting.save.save_figure`: a figure whose image did not change is
    not rewritten. ``progress``: tqdm bars (stderr, on a terminal) while the results load and the figures are drawn.

    Returns
    -------
    The paths of the figures (written or already up to date).
    """
    from ..config import find_benchmark, load_config

    description = benchmark
    folder: Optional[Path] = None
    try:
        if config is None:
            config = load_config(benchmark)
        description = str(config.get("description") or benchmark)
        if figure is None:
            figure = dict(config.get("figure") or {})
        folder = find_benchmark(benchmark).parent
    except ValueError:
        figure = figure or {}
    if figure.get("script"):
        return _script_figures(benchmark, folder, str(figure["script"]), results_dir, out_dir, progress=progress)
    df = results if results is not None else load_results(results_dir, benchmark, progress=progress)
    labels = {str(k): str(v) for k, v in (figure.get("labels") or {}).items()}
    source = df.attrs.get("results_stamp")
    description = without_spec_references(description)
    heading = f"{description} (mean ± 1 std over seeds)"
    out = Path(out_dir) if out_dir is not None else Path(results_dir) / benchmark / "figures"
    out.mkdir(parents=True, exist_ok=True)
    count = "n_annotations" if "n_annotations" in set(df.metric) else "n_labeled"
    suffix = {"round": "rounds", "n_annotations": "annotations", "n_labeled": "labeled"}
    drawings: List[Tuple[str, Dict[str, Any]]] = [
        (f"{benchmark}_{suffix[x]}.png", {
            "df": df, "metrics": figure.get("metrics", ["consensus_accuracy", "model_accuracy"]),
            "columns": figure.get("columns", "model"), "x": x, "title": heading, "labels": labels,
        })
        for x in ("round", count)  # x: round, annotations collected or labeled examples
    ]
    if "temperature" in set(df.metric):
        # what the calibration choice does: the temperature ActiveLab used and how many of its labels went to new examples
        crowdlab_methods = sorted(set(df[df.metric == "temperature"].method))
        subset = df[df.method.isin(crowdlab_methods)]
        relabel_only = not (subset[subset.metric == "n_new"].value > 0).any()  # e.g. Complete: no unlabeled pool
        drawings.append((f"{benchmark}_calibration.png", {
            "df": subset, "metrics": ["temperature", "model_weight"] + ([] if relabel_only else ["n_new"]),
            "columns": figure.get("columns", "model"),
            "title": f"{description}: ActiveLab by temperature calibration", "labels": labels,
        }))
    paths: List[Path] = []
    for name, kwargs in _progress(drawings, progress, desc=f"{benchmark} figures", unit="fig"):
        save_figure(plot_benchmark(**kwargs), out / name, dpi=120, source=source)
        paths.append(out / name)
    return paths

