"""Names and styles of the figures and tables: display names, metric and factor labels, colours, line styles.

One colour per method, the same in every figure (:func:`method_style`), and one display name per result
(:func:`display_name`), both derived from what the methods and strategies were registered with
(``register_method(name, label=..., color=...)``, ``register_strategy(name, label=..., base=...)``); the noise-aware
strategies and the strategy each is compared with (:func:`nas_pairs`) come from the same metadata.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pandas as pd

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
    "filter_precision": "Noise filter precision (clean class)",
    "filter_recall": "Noise filter recall (clean class)",
    "true_noise_ratio": "True noise ratio",
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

#: How a calibration choice is named in a legend entry whose display name does not say it already.
CALIBRATION_LABELS = {"cleanlab": "cleanlab 2.9 calibration", "rowwise": "row-wise calibration", "none": "no calibration"}

def model_label(name: str) -> str:
    """The display name a learner was registered with (``register_learner(name, label=...)``,
    ``register_model(name, label=...)``); the name itself for a learner registered without one or not at all."""
    from ..learners import LEARNERS

    return str(LEARNERS.metadata(name).get("label") or name) if name in LEARNERS else name


def is_baseline(registered: str) -> bool:
    """Whether ``registered`` is one of ActiveLab's baselines (``register_method(name, baseline=True)``): the
    methods annotation-efficiency tables compare ActiveLab with."""
    return bool(_registered_metadata(registered).get("baseline"))


def _registered_metadata(name: str) -> Dict[str, Any]:
    from ..multiannotator.methods import METHODS
    from ..strategies import STRATEGIES

    return METHODS.metadata(name) or STRATEGIES.metadata(name)


def registered_label(name: str) -> str:
    """The display name ``name`` was registered with (``register_method(name, label=...)``,
    ``register_strategy(name, label=...)``); the name itself for a plug-in registered without one or not at all."""
    return str(_registered_metadata(name).get("label") or name)


def _split_calibration(name: str) -> Tuple[str, str]:
    """``(registered, calibration)`` read from a result name alone, for results that do not record them:
    ``"activelab_cleanlab"`` -> ``("activelab", "cleanlab")``; a registered name or an unknown one -> ``(name, "")``."""
    for calibration in CALIBRATION_LABELS:
        stem = name[: -len(calibration) - 1]
        if name.endswith("_" + calibration) and _registered_metadata(stem):
            return stem, calibration
    return name, ""


def display_name(name: str, registered: Optional[str] = None, calibration: str = "",
                 labels: Optional[Mapping[str, str]] = None) -> str:
    """The display name of a result (its folder name ``name``) in legends and tables.

    The name a benchmark gives the result (``labels``: its config's ``figure.labels``, :func:`result_labels`), else
    the registered ``label`` of the method or strategy the result ran when the result is named after it (``npc`` ->
    "NPC (ProbCover + NAS)"), else the name itself. A calibration suffix of the name (``activelab_cleanlab``,
    ``multiannotator_rowwise``) is looked up without it, and ActiveLab's temperature calibration is added where the
    name does not say it (:data:`CALIBRATION_LABELS`): ``activelab_cleanlab`` -> "ActiveLab, cleanlab 2.9
    calibration", ``activelab`` run with the row-wise search -> "ActiveLab, row-wise calibration".

    Parameters
    ----------
    name : str
        The result name (the method's results folder).
    registered : str, optional
        The registered method or strategy the result ran (column ``registered`` of
        :func:`load_results`); default: read from ``name``.
    calibration : str
        ActiveLab's temperature calibration (column ``calibration``; ``""`` for other methods).
    labels : mapping, optional
        Display names the benchmark gives its result names.
    """
    labels = labels or {}
    if registered is None:
        registered, guessed = _split_calibration(name)
        calibration = calibration or guessed
    stem = name[: -len(calibration) - 1] if calibration and name.endswith("_" + calibration) else name
    if name in labels:
        text = str(labels[name])
    elif stem in labels:
        text = str(labels[stem])
    elif stem == registered:
        text = registered_label(registered)
    else:
        text = name
    if calibration in CALIBRATION_LABELS and "calibration" not in text:
        text = f"{text}, {CALIBRATION_LABELS[calibration]}"
    return text


def short_name(name: str) -> str:
    """Display name without its parenthesised gloss: ``npc`` -> ``NPC`` (of "NPC (ProbCover + NAS)")."""
    return display_name(name).split(" (")[0]


def result_labels(benchmarks: Iterable[str]) -> Dict[str, str]:
    """The display names the configs of ``benchmarks`` give their result names (``figure.labels``): results that
    are not named after the method they ran (``single``: entropy on new examples only, ``multiannotator``) or whose
    name adds a setting (``activelab_per_round``). A benchmark without a shipped config (an ad-hoc one) adds none."""
    from ..config import load_config

    labels: Dict[str, str] = {}
    for benchmark in benchmarks:
        try:
            figure = load_config(str(benchmark)).get("figure") or {}
        except ValueError:
            continue
        labels.update({str(k): str(v) for k, v in (figure.get("labels") or {}).items()})
    return labels


def nas_pairs(methods: Optional[Iterable[str]] = None) -> Tuple[Tuple[str, str], ...]:
    """The noise-aware strategies of Shafir, Hacohen, Weinshall 2025 (arXiv:2504.04506) and the strategy each one is
    compared with, from the registry: every strategy registered with ``base=...``, paired with its
    ``compared_with`` metadata where it has one, else its base (weighted NPC runs on weighted ProbCover but is
    compared with ProbCover, as in the paper); in the figures' order (:data:`FACTOR_ORDER`). ``methods``: only the
    pairs of which both sides are among them (e.g. the result names of one benchmark)."""
    from ..strategies import STRATEGIES

    pairs = []
    for name in STRATEGIES.names():
        meta = STRATEGIES.metadata(name)
        if meta.get("base"):
            pairs.append((name, str(meta.get("compared_with") or meta["base"])))
    if methods is not None:
        keep = {str(m) for m in methods}
        pairs = [(m, b) for m, b in pairs if m in keep and b in keep]
    order = ordered([m for m, _ in pairs], "method")
    return tuple(sorted(pairs, key=lambda pair: order.index(pair[0])))


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


def _curve_label(df: pd.DataFrame, method: str, labels: Optional[Mapping[str, str]] = None) -> str:
    """The legend name of a result (:func:`display_name`), from the registered method and calibration the results
    record (ActiveLab run with the row-wise search under the plain name ``activelab`` is drawn in the row-wise shade,
    so its legend says so)."""
    rows = df[df.method == method]
    registered = str(rows["registered"].iloc[0]) if "registered" in rows and len(rows) else None
    calibration = str(rows["calibration"].iloc[0] or "") if "calibration" in rows and len(rows) else ""
    return display_name(method, registered, calibration, labels)


def _legend_columns(labels: Sequence[str], width: float, fontsize: float = 9.0) -> int:
    """How many legend columns fit ``width`` inches: the most ``k`` whose ``k`` widest entries fit side by side."""
    widths = sorted((len(label) * fontsize * 0.55 / 72 + 0.9 for label in labels), reverse=True)
    k = 1
    while k < len(widths) and sum(widths[: k + 1]) <= width:
        k += 1
    return k


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
        return display_name(value)
    if factor == "model":
        return model_label(value)
    return FACTOR_LABELS.get(factor, {}).get(value, value or "-")


