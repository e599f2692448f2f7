"""Figures and tables of finished runs, read back from ``results/``.

The package by concern (each name is also importable from ``active_learning.plotting`` itself):

- :mod:`~active_learning.plotting.styles`: display names (from the registries' ``label`` metadata and a
  benchmark's ``figure.labels``), metric, model and factor labels and orders, one colour and line style per method,
  the NAS pairs (from the strategies' ``base`` / ``compared_with`` metadata).
- :mod:`~active_learning.plotting.tables`: final-round summaries, annotation efficiency, ActiveLab's calibration
  variants, the NAS benchmarks' paired differences, pivot tables and seed statistics.
- :mod:`~active_learning.plotting.save`: byte-stable PNGs (:func:`save_figure`) and captions without references to
  the internal specification.
- :mod:`~active_learning.plotting.benchmark_figures`: the multi-annotator (ActiveLab) figures by round, annotations
  or labeled examples, and :func:`make_figures`, which draws any benchmark's figures.
- :mod:`~active_learning.plotting.nas_figures`: the grid figures of the NAS benchmarks (accuracy per budget,
  noise-aware minus its comparison, noise-filter quality).

Reading results is :mod:`active_learning.results`' job; :func:`load_results`, :func:`read_sidecars` and
:func:`results_stamp` are re-exported here for figures, notebooks and scripts.
"""

from __future__ import annotations

from ..results import load_results, read_sidecars, results_stamp
from .benchmark_figures import FIGURE_MARKERS, make_figures, plot_benchmark
from .nas_figures import plot_curve_grid, plot_filter_quality, plot_paired_differences, samples_per_class
from .save import save_figure, without_spec_references
from .styles import (
    CALIBRATION_LABELS,
    CALIBRATION_LINESTYLES,
    CALIBRATION_SHADES,
    FACTOR_LABELS,
    FACTOR_ORDER,
    METRIC_LABELS,
    NAS_LINESTYLE,
    SHADE_MARKERS,
    SPARE_LINESTYLES,
    VARIANT_FACTORS,
    display_name,
    factor_label,
    is_baseline,
    method_style,
    model_label,
    nas_pairs,
    ordered,
    registered_label,
    result_labels,
    shade,
    short_name,
    split_variant,
    variant_factors,
)
from .tables import (
    CALIBRATION_VARIANTS,
    INTERVALS,
    annotations_to_reach,
    calibration_markdown,
    efficiency_markdown,
    efficiency_table,
    final_pivots,
    paired_difference_markdown,
    paired_differences,
    seed_summary,
    significant_difference,
    summarize,
    summary_markdown,
)

__all__ = [
    "CALIBRATION_LABELS",
    "CALIBRATION_LINESTYLES",
    "CALIBRATION_SHADES",
    "CALIBRATION_VARIANTS",
    "FACTOR_LABELS",
    "FACTOR_ORDER",
    "FIGURE_MARKERS",
    "INTERVALS",
    "METRIC_LABELS",
    "NAS_LINESTYLE",
    "SHADE_MARKERS",
    "SPARE_LINESTYLES",
    "VARIANT_FACTORS",
    "annotations_to_reach",
    "calibration_markdown",
    "display_name",
    "efficiency_markdown",
    "efficiency_table",
    "factor_label",
    "final_pivots",
    "is_baseline",
    "load_results",
    "make_figures",
    "method_style",
    "model_label",
    "nas_pairs",
    "ordered",
    "paired_difference_markdown",
    "paired_differences",
    "plot_benchmark",
    "plot_curve_grid",
    "plot_filter_quality",
    "plot_paired_differences",
    "read_sidecars",
    "registered_label",
    "result_labels",
    "results_stamp",
    "samples_per_class",
    "save_figure",
    "seed_summary",
    "shade",
    "short_name",
    "significant_difference",
    "split_variant",
    "summarize",
    "summary_markdown",
    "variant_factors",
    "without_spec_references",
]
