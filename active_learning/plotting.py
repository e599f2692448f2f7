"""Read benchmark results back from ``results/`` and draw the papers' figures (mean ± 1 std over seeds)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

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
    "margin": "Margin",
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
#: Shade of the registered colour that each calibration choice takes (index into :func:`shade`): the paper's search
#: the colour itself, cleanlab 2.9 a darker one, row-wise a lighter one, none / a fixed temperature the darkest.
CALIBRATION_SHADES = {"": 0, "benchmark": 0, "cleanlab": 1, "rowwise": 2, "none": 3}
#: Marker of each shade (index modulo the length): curves that coincide stay visible as two kinds of markers.
SHADE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")
#: Line style of a noise-aware strategy (registered with ``base=...``): dashed, in a dark shade of its base's colour.
NAS_LINESTYLE = "--"


def _registered_metadata(name: str) -> Dict[str, Any]:
    from .multiannotator.methods import METHODS
    from .strategies import STRATEGIES

    return METHODS.metadata(name) or STRATEGIES.metadata(name)


def shade(colour: Any, index: int) -> str:
    """Shade ``index`` of ``colour`` as a hex string: 0 the colour itself, 1 darker, 2 lighter, 3 darkest; from 4 on
    the same four with the hue turned by −25° per cycle (so a fifth variant of one method still differs)."""
    import colorsys

    from matplotlib.colors import to_hex, to_rgb

    hue, light, sat = colorsys.rgb_to_hls(*to_rgb(colour))
    level, turn = index % 4, index // 4
    light = (light, light * 0.62, light + (1.0 - light) * 0.30, light * 0.40)[level]
    hue = (hue - turn * 25 / 360) % 1.0
    return to_hex(colorsys.hls_to_rgb(hue, min(max(light, 0.0), 1.0), sat))


def _fallback_colour(name: str) -> Any:
    """A fixed colour for a plug-in registered without one (derived from its name, the same in every figure)."""
    import seaborn as sns

    return sns.color_palette("tab20", 20)[1 + 2 * (sum(map(ord, name)) % 10)]  # the light half: not a registered tab10


def _variant_tag(name: str, registered: str, calibration: str) -> str:
    """What a result name adds to its registered method besides the calibration (e.g. ``activelab_per_round`` ->
    ``per_round``); ``""`` for the method itself, a calibration variant (``activelab_cleanlab``) or a result name
    that is not built from the registered name (``multiannotator_rowwise``, ``single``: the method under another
    name in another benchmark)."""
    if not name.startswith(registered + "_"):
        return ""
    tag = name[len(registered) + 1:]
    if calibration and (tag == calibration or tag.endswith("_" + calibration)):
        tag = tag[: -len(calibration)].rstrip("_")
    return tag


def method_style(registered: str, calibration: str = "", name: Optional[str] = None) -> Dict[str, Any]:
    """Colour, line style, marker and width of a method's curve: one colour per method, the same in every figure.

    The colour comes from the registries' metadata. A method or strategy drawn under its registered name takes the
    ``color`` it was registered with (``register_method(name, color=...)``, ``register_strategy(name,
    color=...)``); a noise-aware strategy registered with ``base=...`` and no colour of its own takes a dark shade
    of its base's colour and a dashed line, so NPC sits beside ProbCover, MaxHerding+NAS beside MaxHerding, with
    a colour of its own. ActiveLab's calibration choices take one shade each of the method's colour
    (:data:`CALIBRATION_SHADES`) and one line style each (:data:`CALIBRATION_LINESTYLES`), whatever the result is
    called (``multiannotator_cleanlab`` is drawn as ``activelab_cleanlab``); another variant of a registered method
    under a name built from it (``activelab_per_round``: ``name`` = the result name) takes the dark shade (the
    darkest after a cleanlab calibration). A plug-in registered without a colour gets a fixed one derived from its
    name. The marker follows the shade (:data:`SHADE_MARKERS`). :func:`_method_styles` keeps the colours of one
    figure apart where these rules would give two of its methods one colour.

    Parameters
    ----------
    registered : str
        The registered method or strategy the curve ran.
    calibration : str
        ActiveLab's temperature calibration (``""`` for other methods).
    name : str, optional
        The result name (the method's folder); default ``registered``.

    Returns
    -------
    dict with ``color`` (hex), ``linestyle``, ``marker`` and ``lw``, for ``Axes.plot``.
    """
    meta = _registered_metadata(registered)
    level = CALIBRATION_SHADES.get(calibration, 3)
    linestyle: Any = CALIBRATION_LINESTYLES.get(calibration, "-.")
    tag = _variant_tag(name or registered, registered, calibration)
    if tag:  # another variant under its own name: the dark shade (the darkest where the calibration took the dark one)
        level = 1 if level != 1 else 3
    if meta.get("base") and meta.get("color") is None:
        base = _registered_metadata(meta["base"]).get("color") or _fallback_colour(meta["base"])
        colour = shade(base, 1 if level == 0 else level + 4)
        linestyle = NAS_LINESTYLE
    else:
        colour = shade(meta.get("color") or _fallback_colour(registered), level)
    marker = SHADE_MARKERS[(level + (4 if tag else 0) + (1 if meta.get("base") else 0)) % len(SHADE_MARKERS)]
    return {"color": colour, "linestyle": linestyle, "marker": marker, "lw": 2.2 if meta.get("emphasis") else 1.4}


#: Line styles given, in order, to curves whose style would otherwise be identical.
SPARE_LINESTYLES = ("-.", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 3)), (0, (1, 3)))


def _separate_identical_styles(styles: Dict[str, Dict[str, Any]]) -> None:
    """Two methods of one figure must not share a colour (e.g. two result names that run the same registered method
    with the same calibration under names :func:`method_style` cannot tell apart, or two plug-ins whose fallback
    colours collide): the later ones get a turned hue (:func:`shade`) and a spare line style."""
    seen: Dict[str, int] = {}
    for method in styles:
        key = str(styles[method]["color"])
        if key in seen:
            seen[key] += 1
            extra = seen[key]
            styles[method] = {**styles[method], "color": shade(key, 4 * extra),
                              "linestyle": SPARE_LINESTYLES[(extra - 1) % len(SPARE_LINESTYLES)]}
        else:
            seen[key] = 0


def _method_styles(df: pd.DataFrame, methods: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    """:func:`method_style` of each result name in ``methods``, from the registered method and calibration the
    results record (columns ``registered`` / ``calibration`` of :func:`load_results`; the name itself without them),
    colours kept apart within the figure."""
    styles = {}
    for method in methods:
        rows = df[df.method == method]
        registered = rows["registered"].iloc[0] if "registered" in rows and len(rows) else method
        calibration = rows["calibration"].iloc[0] if "calibration" in rows and len(rows) else ""
        styles[method] = method_style(str(registered), str(calibration or ""), name=method)
    _separate_identical_styles(styles)
    return styles


MODEL_LABELS = {"extra_trees": "ExtraTrees", "mlp": "MLP", "one_nn": "1-NN", "linear_probe": "Linear probe"}


def load_results(results_dir: "str | Path", benchmark: str, progress: bool = False) -> pd.DataFrame:
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

    ``progress``: a tqdm bar over the sidecars (stderr, on a terminal).

    Returns
    -------
    DataFrame with columns ``benchmark, variant, model, method, seed, round, metric, value`` and, for the figures'
    styles, ``registered`` (the registered method or strategy a result name ran) and ``calibration`` (ActiveLab's
    temperature calibration, ``""`` for other methods); ``attrs["results_stamp"]`` identifies the runs it was read
    from (:func:`results_stamp`).

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
    read: List[Mapping[str, Any]] = []
    sidecars = sorted(root.rglob("run_seed*.json"))
    for sidecar in _progress(sidecars, progress and len(sidecars) > 0, desc=f"{benchmark} results", unit="run",
                             leave=False):
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
        read.append(meta)
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
    table = pd.concat(rows, ignore_index=True)
    table.attrs["results_stamp"] = results_stamp(read)
    return table


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


#: How a calibration choice is named in a legend entry whose display name does not say it already.
CALIBRATION_LABELS = {"cleanlab": "cleanlab 2.9 calibration", "rowwise": "row-wise calibration", "none": "no calibration"}


def _curve_label(df: pd.DataFrame, method: str) -> str:
    """The legend name of a result: its display name, with the calibration the results record where the name does not
    say it (ActiveLab run with the row-wise search under the plain name ``activelab`` is drawn in the row-wise shade,
    so its legend says so)."""
    name = DISPLAY_NAMES.get(method, method)
    rows = df[df.method == method]
    calibration = str(rows["calibration"].iloc[0] or "") if "calibration" in rows and len(rows) else ""
    if calibration in CALIBRATION_LABELS and "calibration" not in name:
        name = f"{name}, {CALIBRATION_LABELS[calibration]}"
    return name


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
    labels_of = {method: _curve_label(df, method) for method in methods}
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
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=ncol, fontsize=8,
                   frameon=False)
    if title:
        fig.suptitle(wrapped, fontsize=11)
    return fig


#: A reference to the internal specification (``spec sections 3.3 and 3.8``, ``spec §4.2``, ``spec 3.2``) that some
#: descriptions carry: users have the papers, not the specification, so figures and the report leave it out.
_SPEC_REFERENCE = re.compile(
    r"[,;]?[ \t]*\bspec(?:ification)?[ \t]*(?:sections?[ \t]*|§[ \t]*)?\d+(?:\.\d+)*"
    r"(?:[ \t]*(?:,|and|&|–|-)[ \t]*§?\d+(?:\.\d+)*)*",
    re.IGNORECASE,
)


def without_spec_references(text: str) -> str:
    """``text`` without references to the internal specification's sections, tidied: ``"ActiveLab Wall Robot
    benchmark (Goh & Mueller 2023, spec sections 3.3 and 3.8; the paper's data)"`` -> ``"ActiveLab Wall Robot
    benchmark (Goh & Mueller 2023; the paper's data)"``. The papers' own citations (author year) stay."""
    out = _SPEC_REFERENCE.sub("", str(text))
    out = re.sub(r"\([ \t]*[,;:][ \t]*", "(", out)  # "(spec 4.3: ..." -> "(..."
    return re.sub(r"[ \t]*\([ \t]*\)", "", out)  # "(spec 4.2)" -> ""


def results_stamp(sidecars: Iterable[Mapping[str, Any]]) -> str:
    """A short text that identifies a set of results: how many runs, the newest ``finished_at`` and a digest of every
    run's (job, config hash, finished_at). The figures record it (PNG text ``Source``) so that the report can tell
    whether they were drawn from the results it reads, from the results alone (no file dates)."""
    import hashlib

    sidecars = list(sidecars)
    entries = sorted(f"{meta.get('job')}|{meta.get('config_hash')}|{meta.get('finished_at')}" for meta in sidecars)
    newest = max((str(meta.get("finished_at")) for meta in sidecars if meta.get("finished_at")), default="unknown")
    digest = hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()[:16]
    return f"{len(entries)} runs, newest finished {newest}, results digest {digest}"


def _png_bytes(fig: Any, dpi: float, metadata: Mapping[str, Optional[str]]) -> bytes:
    import io

    buffer = io.BytesIO()
    # no "Software" (the matplotlib version) and no date: the bytes depend on the figure alone
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None, **metadata})
    return buffer.getvalue()


def _same_image(old: bytes, new: bytes) -> bool:
    """Equal bytes, or equal pixels and text chunks (another zlib may compress the same image differently)."""
    if old == new:
        return True
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(old)) as a, Image.open(io.BytesIO(new)) as b:
            same_text = {k: v for k, v in a.info.items() if k != "dpi"} == {k: v for k, v in b.info.items() if k != "dpi"}
            return bool(same_text and a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes())
    except (OSError, UnidentifiedImageError, ValueError):
        return False


def save_figure(fig: Any, path: "str | Path", *, dpi: float = 120, description: Optional[str] = None,
                source: Optional[str] = None, close: bool = True) -> bool:
    """Write ``fig`` as a PNG at ``path``, byte-stable, and only when its content changed.

    The PNG carries no software version and no date, at a fixed ``dpi`` and the figure's own size (no tight bounding
    box), so the same figure of the same results gives the same bytes. An existing file with the same image (the
    same bytes, or the same pixels and text) is left alone, so redrawing finished results rewrites nothing; otherwise
    the file is replaced atomically.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path
    dpi : float
    description : str, optional
        The figure's caption (PNG text ``Description``; the report shows it).
    source : str, optional
        What the figure was drawn from (PNG text ``Source``, :func:`results_stamp`).
    close : bool
        Close the figure afterwards.

    Returns
    -------
    bool
        Whether the file was written.
    """
    import matplotlib.pyplot as plt

    from .utils.io import atomic_write

    path = Path(path)
    metadata = {key: value for key, value in (("Description", description), ("Source", source)) if value}
    data = _png_bytes(fig, dpi, metadata)
    if close:
        plt.close(fig)
    if path.is_file() and _same_image(path.read_bytes(), data):
        return False
    atomic_write(path, lambda handle: handle.write(data))
    return True


def _progress(iterable: Any, progress: bool, **kwargs: Any) -> Any:
    """``iterable`` with a tqdm bar on stderr when ``progress`` (and stderr is a terminal), else as it is."""
    if not progress:
        return iterable
    import sys

    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)


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
    figure: Optional[Dict[str, Any]] = None, progress: bool = False,
) -> List[Path]:
    """Draw ``benchmark``'s figure from ``results_dir`` into ``out_dir`` (default ``<results>/<benchmark>/figures``).

    ``figure`` is the config's ``figure:`` block (metrics and what the panel columns split by, or ``script``: a
    script of the benchmark's folder whose ``write_figures(results_dir, out_dir)`` draws the benchmark's own
    figures instead); by default it is read from the benchmark's YAML. Each figure is saved with
    :func:`save_figure`: a figure whose image did not change is not rewritten. ``progress``: tqdm bars (stderr, on a
    terminal) while the results load and the figures are drawn.

    Returns
    -------
    The paths of the figures (written or already up to date).
    """
    description = benchmark
    folder: Optional[Path] = None
    try:
        from .config import find_benchmark, load_config

        config = load_config(benchmark)
        folder = find_benchmark(benchmark).parent
        description = str(config.get("description") or benchmark)
        if figure is None:
            figure = config.get("figure") or {}
    except ValueError:
        figure = figure or {}
    if figure.get("script"):
        return _script_figures(benchmark, folder, str(figure["script"]), results_dir, out_dir, progress=progress)
    df = load_results(results_dir, benchmark, progress=progress)
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
            "columns": figure.get("columns", "model"), "x": x, "title": heading,
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
            "title": f"{description}: ActiveLab by temperature calibration",
        }))
    paths: List[Path] = []
    for name, kwargs in _progress(drawings, progress, desc=f"{benchmark} figures", unit="fig"):
        save_figure(plot_benchmark(**kwargs), out / name, dpi=120, source=source)
        paths.append(out / name)
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


# ---------------------------------------------------------------------------------------------------------------
# NAS figures: Shafir, Hacohen, Weinshall 2025, "Active Learning with a Noisy Annotator", arXiv:2504.04506


#: The noise-aware strategies of the NAS paper and the base strategy each one is compared with (result-folder names
#: of the NAS benchmarks): NPC and weighted NPC against ProbCover, MaxHerding+NAS against MaxHerding, Coreset+NAS
#: against Coreset.
NAS_PAIRS: Tuple[Tuple[str, str], ...] = (
    ("npc", "probcover"), ("weighted_npc", "probcover"), ("maxherding_nas", "maxherding"), ("coreset_nas", "coreset"),
)

#: The parts of a NAS benchmark variant's name, ``<noise>_<filter>_<training>`` (``benchmarks/cifar10n``,
#: ``cifar100``); a name with fewer parts (Clothing1M's ``<filter>_<training>``) leaves the first ones empty.
VARIANT_FACTORS: Tuple[str, ...] = ("noise", "filter", "training")

#: Order of the values of each factor in the figures' rows, columns and legends; other values follow by name.
FACTOR_ORDER: Dict[str, Tuple[str, ...]] = {
    "noise": ("sym0.2", "sym0.5", "asym0.4", "aggre", "random1", "worse", "cifar100n"),
    "filter": ("ideal", "cv", "aum"),
    "training": ("clean", "all"),
    # each base strategy followed by its noise-aware versions, then the other baselines
    "method": ("probcover", "npc", "weighted_npc", "maxherding", "maxherding_nas", "coreset", "coreset_nas",
               "typiclust", "margin", "random"),
}

#: Readable names of the factor values (row labels, column titles).
FACTOR_LABELS: Dict[str, Dict[str, str]] = {
    "noise": {
        "sym0.2": "Symmetric 20 %", "sym0.5": "Symmetric 50 %", "asym0.4": "Asymmetric 40 %",
        "aggre": "CIFAR-10N aggre", "random1": "CIFAR-10N random1", "worse": "CIFAR-10N worse",
        "cifar100n": "CIFAR-100N",
    },
    "filter": {"ideal": "Ideal filter (ground truth)", "cv": "CrossValidation filter", "aum": "LowBudgetAUM filter"},
    "training": {"clean": "trained on the predicted-clean points", "all": "trained on every labeled point"},
}

#: The spread drawn around a mean over seeds: ``"ci95"`` a 95 % Student-t confidence interval of the mean,
#: ``"std"`` ± 1 sample standard deviation (ddof = 1, as the Markdown tables' ±).
INTERVALS: Dict[str, str] = {"ci95": "mean ± 95 % CI over seeds", "std": "mean ± 1 std over seeds"}

METRIC_LABELS.update({
    "filter_precision": "Noise filter precision (clean class)",
    "filter_recall": "Noise filter recall (clean class)",
    "true_noise_ratio": "True noise ratio",
})


def split_variant(variant: str, factors: Sequence[str] = VARIANT_FACTORS) -> Dict[str, str]:
    """The parts of a variant name, e.g. ``"sym0.2_cv_clean"`` -> ``{"noise": "sym0.2", "filter": "cv",
    "training": "clean"}``.

    The name splits at ``_`` from the right, so the first part may itself hold underscores; a name with fewer parts
    than ``factors`` leaves the first factors ``""`` (``"cv_all"`` -> noise ``""``).
    """
    parts = str(variant).split("_")
    n = len(factors)
    if len(parts) > n:
        parts = ["_".join(parts[: len(parts) - n + 1])] + parts[len(parts) - n + 1:]
    parts = [""] * (n - len(parts)) + parts
    return dict(zip(factors, parts))


def variant_factors(df: pd.DataFrame, factors: Sequence[str] = VARIANT_FACTORS) -> pd.DataFrame:
    """A copy of a long results table (:func:`load_results`) with one column per part of the variant name
    (:func:`split_variant`): by default ``noise``, ``filter`` and ``training`` of the NAS benchmarks of Shafir,
    Hacohen, Weinshall 2025 (arXiv:2504.04506), so figures and selections can use them, e.g.
    ``df[variant_factors(df).training == "clean"]``."""
    out = df.copy()
    parsed = {variant: split_variant(variant, factors) for variant in out["variant"].unique()}
    for factor in factors:
        out[factor] = out["variant"].map(lambda variant, f=factor: parsed[variant][f]) if len(out) else ""
    return out


def ordered(values: Any, factor: str) -> List[str]:
    """The distinct ``values`` of ``factor`` (``noise``, ``filter``, ``training``, ``method``) in the figures' order
    (:data:`FACTOR_ORDER`), unknown values last, by name."""
    order = FACTOR_ORDER.get(factor, ())
    return sorted({str(v) for v in values}, key=lambda v: (order.index(v) if v in order else len(order), v))


def factor_label(factor: str, value: str) -> str:
    """Readable name of a factor value: a strategy's display name, a model's, or :data:`FACTOR_LABELS`."""
    if factor == "method":
        return DISPLAY_NAMES.get(value, value)
    if factor == "model":
        return MODEL_LABELS.get(value, value)
    return FACTOR_LABELS.get(factor, {}).get(value, value or "-")


def paired_differences(df: pd.DataFrame, pairs: Sequence[Tuple[str, str]] = NAS_PAIRS, metric: str = "accuracy") -> pd.DataFrame:
    """``method − base`` of ``metric`` per variant, model, seed and round, over the seeds and rounds both ran.

    The comparison of Shafir, Hacohen, Weinshall 2025 (arXiv:2504.04506): does the noise-aware version of a
    strategy beat its base at each budget? Pairing by seed removes what the two runs of one seed share (the noisy
    labels, the initial state), so the spread of the differences is the spread of the effect. Pairs of which either
    side has no results are left out.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`).
    pairs : sequence of (method, base)
        Result-folder names, e.g. ``[("npc", "probcover"), ("coreset_nas", "coreset")]``.
    metric : str
        The per-round metric to compare.

    Returns
    -------
    DataFrame with columns ``variant, model, method, base, seed, round, value`` (``value`` = method − base), sorted
    by variant, model, then the order of ``pairs``.
    """
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
    each budget?). :func:`plot_paired_differences` draws the same numbers.

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


def _short_name(method: str) -> str:
    """Display name without its parenthesised gloss: ``NPC (ProbCover + NAS)`` -> ``NPC``."""
    return DISPLAY_NAMES.get(method, method).split(" (")[0]


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


def _legend_columns(labels: Sequence[str], width: float, fontsize: float = 9.0) -> int:
    """How many legend columns fit ``width`` inches: the most ``k`` whose ``k`` widest entries fit side by side."""
    widths = sorted((len(label) * fontsize * 0.55 / 72 + 0.9 for label in labels), reverse=True)
    k = 1
    while k < len(widths) and sum(widths[: k + 1]) <= width:
        k += 1
    return k


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
    settings, columns = noise filters, one line per strategy (mean over seeds, band :data:`INTERVALS`), x = the
    budget. Strategies keep their colours of every other figure (:func:`method_style`: each its own colour, a
    noise-aware version dashed in a dark shade of its base's colour); the curves of a panel sit side by side, a few
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
    pairs: Sequence[Tuple[str, str]] = NAS_PAIRS,
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
    noise-aware strategy's colour (:func:`method_style`) with markers, the mean of :func:`paired_differences` over
    the seeds both ran and a band of ``interval``; a black zero line. Above zero: the noise-aware version is better.
    A band that excludes zero is a difference the seeds support (the 95 % CI; ± 1 std is wider than the standard
    error). Pairs with no results on common seeds are left out; settings without any show "no results".
    :func:`paired_difference_markdown` tabulates the same numbers.

    Parameters
    ----------
    df : DataFrame
        Long results table (:func:`load_results`) holding one value of each factor that is neither ``rows`` nor
        ``columns`` (select one training setting first), else ``ValueError``.
    pairs : sequence of (method, base)
        Default :data:`NAS_PAIRS`.
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
        f"{_short_name(m)} − {_short_name(b)} ({_seed_count(seeds[key])} seeds)": lines[key]
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
                    key = what[0].upper() + what[1:] if len(names) == 1 else f"{_short_name(name)}: {what}"
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
    for sidecar in (Path(results_dir) / benchmark).rglob("run_seed*.json"):
        try:
            config = json.loads(sidecar.read_text(encoding="utf-8")).get("config") or {}
            spc = ((config.get("data") or {}).get("budget") or {}).get("samples_per_class")
        except (OSError, ValueError, AttributeError):
            return None
        if not isinstance(spc, list):
            return None
        found.add(tuple(spc))
    return [float(v) for v in next(iter(found))] if len(found) == 1 else None
