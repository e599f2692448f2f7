"""Display names and NAS pairs from the registries' metadata (issue 20): every registered method and strategy has a
label, a result's display name is derived from it (plus the calibration and the benchmark's own ``figure.labels``),
and the NAS pairs come from the strategies' ``base`` / ``compared_with``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from active_learning.plotting import display_name, method_style, nas_pairs, registered_label, result_labels

#: The pairs the figures and tables compared before they were derived from the registry (the hand list NAS_PAIRS).
OLD_NAS_PAIRS = (("npc", "probcover"), ("weighted_npc", "probcover"), ("maxherding_nas", "maxherding"),
                 ("coreset_nas", "coreset"))

#: (benchmark, result name, registered method, calibration, the legend name the committed figures show): every kind
#: of committed result, as the hand list DISPLAY_NAMES named them.
COMMITTED = [
    ("wall_robot", "activelab", "activelab", "benchmark", "ActiveLab"),
    ("wall_robot", "activelab_cleanlab", "activelab", "cleanlab", "ActiveLab, cleanlab 2.9 calibration"),
    ("wall_robot", "activelab_rowwise", "activelab", "rowwise", "ActiveLab, row-wise calibration"),
    ("wall_robot", "activelab_ensemble", "activelab_ensemble", "benchmark", "ActiveLab (ensemble)"),
    ("wall_robot", "activelab_ensemble_cleanlab", "activelab_ensemble", "cleanlab",
     "ActiveLab (ensemble), cleanlab 2.9 calibration"),
    ("wall_robot", "activelab_ensemble_rowwise", "activelab_ensemble", "rowwise",
     "ActiveLab (ensemble), row-wise calibration"),
    ("wall_robot", "disagreement", "disagreement", "", "Disagreement (ensemble)"),
    ("wall_robot", "good_random", "good_random", "", "Good Random"),
    ("wall_robot", "entropy", "entropy", "", "Entropy"),
    ("wall_robot", "random", "random", "", "Random"),
    ("wall_robot", "uncertainty", "uncertainty", "", "Uncertainty"),
    ("wall_robot_complete", "active_label_cleaning", "active_label_cleaning", "", "Active Label Cleaning"),
    ("wall_robot_single_annotator", "activelab", "activelab", "", "ActiveLab"),
    ("cifar10n_annotators", "activelab", "activelab", "rowwise", "ActiveLab, row-wise calibration"),
    ("cifar10n_annotators", "activelab_per_round", "activelab", "rowwise",
     "ActiveLab, one annotator column per round, row-wise calibration"),
    ("cifar10n_annotators", "activelab_ensemble", "activelab_ensemble", "rowwise",
     "ActiveLab (ensemble), row-wise calibration"),
    ("wall_robot_single_vs_multi", "multiannotator", "activelab", "benchmark", "Multi-annotator (ActiveLab)"),
    ("wall_robot_single_vs_multi", "multiannotator_cleanlab", "activelab", "cleanlab",
     "Multi-annotator (ActiveLab), cleanlab 2.9 calibration"),
    ("wall_robot_single_vs_multi", "multiannotator_rowwise", "activelab", "rowwise",
     "Multi-annotator (ActiveLab), row-wise calibration"),
    ("wall_robot_single_vs_multi", "single", "entropy", "", "Single annotator (entropy, new data only)"),
    ("cifar10n", "probcover", "probcover", "", "ProbCover"),
    ("cifar10n", "npc", "npc", "", "NPC (ProbCover + NAS)"),
    ("cifar10n", "weighted_npc", "weighted_npc", "", "Weighted NPC"),
    ("cifar10n", "maxherding", "maxherding", "", "MaxHerding"),
    ("cifar10n", "maxherding_nas", "maxherding_nas", "", "MaxHerding + NAS"),
    ("cifar10n", "coreset", "coreset", "", "Coreset"),
    ("cifar10n", "coreset_nas", "coreset_nas", "", "Coreset + NAS"),
    ("cifar10n", "typiclust", "typiclust", "", "TypiClust"),
    ("cifar10n", "margin", "margin", "", "Margin"),
    ("cifar10n", "random", "random", "", "Random"),
]


def test_every_registered_method_and_strategy_has_its_own_label():
    from active_learning.multiannotator.methods import METHODS
    from active_learning.strategies import STRATEGIES

    for registry in (METHODS, STRATEGIES):
        labels = {name: registry.metadata(name).get("label") for name in registry.names()}
        missing = [name for name, label in labels.items() if not isinstance(label, str) or not label.strip()]
        assert not missing, f"registered without label=: {missing}"
        assert len(set(labels.values())) == len(labels), labels  # no two share a display name
        assert all(registered_label(name) == label for name, label in labels.items())


@pytest.mark.parametrize("benchmark, name, registered, calibration, expected", COMMITTED)
def test_display_names_of_the_committed_results_are_unchanged(benchmark, name, registered, calibration, expected):
    assert display_name(name, registered, calibration, result_labels([benchmark])) == expected


def test_display_name_rules():
    # the calibration is read from the name where the results do not record it
    assert display_name("activelab_cleanlab") == "ActiveLab, cleanlab 2.9 calibration"
    assert display_name("npc") == "NPC (ProbCover + NAS)"
    # ActiveLab run with the row-wise search under its plain name: the legend says so
    assert display_name("activelab", "activelab", "rowwise") == "ActiveLab, row-wise calibration"
    # a result not named after the method it ran keeps its name unless the benchmark labels it
    assert display_name("single", "entropy", "") == "single"
    assert display_name("single", "entropy", "", {"single": "Single annotator"}) == "Single annotator"
    # a label that says its calibration gets no second one
    assert display_name("x_cleanlab", "activelab", "cleanlab", {"x_cleanlab": "X, own calibration"}) == "X, own calibration"
    # an unregistered plug-in: its name and a fixed colour
    assert display_name("my_plugin") == "my_plugin" and registered_label("my_plugin") == "my_plugin"
    assert method_style("my_plugin")["color"].startswith("#")


def test_a_plugin_registered_without_a_label_is_named_and_coloured(monkeypatch):
    from active_learning.strategies import STRATEGIES

    monkeypatch.setitem(STRATEGIES._entries, "toy_nas", object)
    monkeypatch.setitem(STRATEGIES._metadata, "toy_nas", {"base": "probcover"})
    assert display_name("toy_nas") == "toy_nas"
    assert method_style("toy_nas")["linestyle"] == "--"  # drawn as a noise-aware version of its base
    assert ("toy_nas", "probcover") in nas_pairs()
    assert nas_pairs(["toy_nas", "npc"]) == ()  # its comparison is not among the results


def test_nas_pairs_come_from_the_registry_and_equal_the_old_hand_list():
    assert nas_pairs() == OLD_NAS_PAIRS


@pytest.mark.parametrize("benchmark", ["cifar10n", "cifar100", "nas_sphere_clusters", "cifar10n_224_d075",
                                       "cifar10n_224_purity", "clothing1m"])
def test_nas_pairs_of_each_nas_benchmark_are_the_old_pairs_it_runs(benchmark):
    from active_learning.config import load_config

    config = load_config(benchmark)
    names = {entry if isinstance(entry, str) else entry.get("name", entry.get("method"))
             for spec in config["models"].values() for entry in spec["methods"]}
    expected = tuple((m, b) for m, b in OLD_NAS_PAIRS if m in names and b in names)
    assert expected, f"{benchmark} runs no NAS pair"
    assert nas_pairs(names) == expected


def test_figure_labels_are_checked_before_anything_runs():
    from active_learning.config import validate_structure
    from active_learning.utils.validation import ConfigError

    config = {"name": "toy", "task": "multiannotator", "seeds": [0],
              "models": {"m": {"methods": ["random", {"name": "single", "method": "entropy"}]}}}
    validate_structure({**config, "figure": {"labels": {"single": "Single annotator"}}})
    with pytest.raises(ConfigError, match="not a method entry"):
        validate_structure({**config, "figure": {"labels": {"singel": "Single annotator"}}})
    with pytest.raises(ConfigError, match="non-empty display name"):
        validate_structure({**config, "figure": {"labels": {"single": ""}}})
    with pytest.raises(ConfigError, match="must map result names"):
        validate_structure({**config, "figure": {"labels": ["single"]}})


def _results(benchmark: str) -> pd.DataFrame:
    rows = []
    for method, registered, calibration in (("single", "entropy", ""), ("multiannotator_rowwise", "activelab", "rowwise")):
        for seed in (0, 1):
            for metric in ("model_accuracy_refit", "n_annotations"):
                rows.append(pd.DataFrame({
                    "benchmark": benchmark, "variant": "trace0.7", "model": "extra_trees", "method": method,
                    "seed": seed, "round": np.arange(3), "metric": metric,
                    "value": np.linspace(0.5, 0.7, 3) + 0.01 * seed if metric != "n_annotations" else np.arange(3) * 100.0,
                    "registered": registered, "calibration": calibration,
                }))
    return pd.concat(rows, ignore_index=True)


def test_plot_benchmark_legend_takes_the_benchmark_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from active_learning.plotting import plot_benchmark

    def legend(df, **kwargs):
        fig = plot_benchmark(df, metrics=["model_accuracy_refit"], columns="variant", **kwargs)
        texts = [t.get_text() for t in fig.legends[0].get_texts()]
        plt.close(fig)
        return texts

    # by default, the labels of the benchmark's config (wall_robot_single_vs_multi.yaml: figure.labels)
    assert legend(_results("wall_robot_single_vs_multi")) == [
        "Multi-annotator (ActiveLab), row-wise calibration (n=2)", "Single annotator (entropy, new data only) (n=2)"]
    # a benchmark without a config: the result names, with the calibration the results record
    assert legend(_results("toy_benchmark")) == ["multiannotator_rowwise, row-wise calibration (n=2)", "single (n=2)"]
    assert legend(_results("toy_benchmark"), labels={"single": "One annotator"})[1] == "One annotator (n=2)"


def test_every_learner_has_a_label_and_the_figures_take_it():
    from active_learning.learners import LEARNERS
    from active_learning.plotting import model_label

    for name in LEARNERS.names():
        assert LEARNERS.metadata(name).get("label"), f"learner {name!r} registered without label="
    assert [model_label(m) for m in ("extra_trees", "mlp", "one_nn", "linear_probe")] == [
        "ExtraTrees", "MLP", "1-NN", "Linear probe"]  # the names the committed figures show
    assert model_label("not_registered") == "not_registered"


def test_efficiency_baselines_are_the_registered_baselines_only():
    """An upper bound (noise-aware re-labeling with the true flags) is not a baseline of ActiveLab, however it is
    named; the paper's baselines are, under any result name."""
    import pandas as pd

    from active_learning.plotting import efficiency_table, is_baseline

    assert {m for m in ("random", "good_random", "entropy", "uncertainty", "disagreement", "active_label_cleaning",
                        "activelab", "activelab_ensemble", "noise_aware_relabel") if is_baseline(m)} == {
        "random", "good_random", "entropy", "uncertainty", "disagreement", "active_label_cleaning"}
    rows = []
    for method, registered, final in (("activelab", "activelab", 0.8), ("noise_aware_ideal", "noise_aware_relabel", 0.95),
                                      ("single", "entropy", 0.7), ("random", "random", 0.6)):
        for r, (acc, n) in enumerate(((0.5, 100), (final, 200))):
            rows += [{"variant": "", "model": "m", "method": method, "registered": registered, "calibration": "",
                      "seed": 0, "round": r, "metric": metric, "value": value}
                     for metric, value in (("model_accuracy", acc), ("n_annotations", n))]
    table = efficiency_table(pd.DataFrame(rows))
    assert table["best_baseline"].tolist() == ["single"] and table["activelab_annotations_to_match"].tolist() == [200]
