"""Final-round tables and the annotation-efficiency table, on a hand-made long results table."""

import numpy as np
import pandas as pd
import pytest

from active_learning.plotting import annotations_to_reach, efficiency_markdown, efficiency_table, summarize


def long_table(curves):
    """``curves``: {(method, seed): {metric: values per round}} for model ``m`` -> the load_results format."""
    rows = []
    for (method, seed), metrics in curves.items():
        for metric, values in metrics.items():
            for round_index, value in enumerate(values):
                rows.append({"benchmark": "b", "variant": "", "model": "m", "method": method, "seed": seed,
                             "round": round_index, "metric": metric, "value": value})
    return pd.DataFrame(rows)


@pytest.fixture
def results():
    counts = [100, 200, 300]
    return long_table({
        ("random", 0): {"model_accuracy": [0.5, 0.6, 0.7], "consensus_accuracy": [0.8, 0.8, 0.8], "n_annotations": counts},
        ("random", 1): {"model_accuracy": [0.5, 0.6, 0.9], "consensus_accuracy": [0.8, 0.8, 0.8], "n_annotations": counts},
        ("entropy", 0): {"model_accuracy": [0.5, 0.6, 0.75], "consensus_accuracy": [0.8, 0.9, 0.95], "n_annotations": counts},
        ("activelab", 0): {"model_accuracy": [0.5, 0.85, 0.9], "consensus_accuracy": [0.8, 0.85, 0.9], "n_annotations": counts},
        ("activelab_ensemble", 0): {"model_accuracy": [0.9, 0.99, 0.99], "consensus_accuracy": [1, 1, 1], "n_annotations": counts},
    })


def test_summarize_takes_the_last_round_per_seed(results):
    table = summarize(results, "model_accuracy").set_index("method")
    assert table.loc["random", "mean"] == pytest.approx(0.8) and table.loc["random", "count"] == 2
    assert table.loc["random", "std"] == pytest.approx(np.std([0.7, 0.9], ddof=1))


def test_efficiency_ignores_the_own_family_and_finds_the_first_round(results):
    table = efficiency_table(results, "activelab", "model_accuracy").iloc[0]
    # the ensemble variant is not a baseline; random's seed mean 0.8 beats entropy's 0.75
    assert table.best_baseline == "random" and table.baseline_final == pytest.approx(0.8)
    assert table.baseline_annotations == 300 and table.activelab_annotations_to_match == 200
    assert annotations_to_reach(results, "activelab", 0.95, model="m") is None


def test_efficiency_markdown_says_never(results):
    text = efficiency_markdown(results, methods=("activelab",), metrics=("model_accuracy", "consensus_accuracy"))
    lines = text.splitlines()
    assert lines[2] == "| model_accuracy | m | activelab | 0.9000 | random | 0.8000 | 300 | 200 |"
    assert lines[3] == "| consensus_accuracy | m | activelab | 0.9000 | entropy | 0.9500 | 300 | never |"
    assert efficiency_markdown(results, methods=("uncertainty",)) == ""


def test_method_styles_come_from_the_registries_one_colour_per_method():
    from matplotlib.colors import to_hex

    from active_learning.multiannotator.methods import METHODS
    from active_learning.plotting import method_style, shade
    from active_learning.strategies import STRATEGIES

    base, cleanlab, rowwise = (method_style("activelab", c) for c in ("benchmark", "cleanlab", "rowwise"))
    assert base["color"] == to_hex(METHODS.metadata("activelab")["color"])
    # each calibration choice its own colour (a shade of ActiveLab's) and its own line style and marker
    assert len({base["color"], cleanlab["color"], rowwise["color"]}) == 3
    assert cleanlab["color"] == shade(base["color"], 1) and rowwise["color"] == shade(base["color"], 2)
    assert len({base["linestyle"], cleanlab["linestyle"], rowwise["linestyle"]}) == 3
    assert len({base["marker"], cleanlab["marker"], rowwise["marker"]}) == 3
    assert method_style("entropy")["color"] != base["color"]
    # a noise-aware strategy: its own colour (a dark shade of its base's), dashed
    for variant, of in (("npc", "probcover"), ("maxherding_nas", "maxherding"), ("coreset_nas", "coreset")):
        assert STRATEGIES.metadata(variant)["base"] == of
        style, base_style = method_style(variant), method_style(of)
        assert style["color"] != base_style["color"] and style["color"] == shade(base_style["color"], 1)
        assert style["linestyle"] == "--" and base_style["linestyle"] == "-"
    # the same method under another result name is drawn the same; a variant built from the name is not
    assert method_style("activelab", "cleanlab", name="multiannotator_cleanlab") == cleanlab
    per_round = method_style("activelab", "rowwise", name="activelab_per_round")
    assert per_round["color"] != method_style("activelab", "rowwise", name="activelab")["color"]
    assert method_style("some_plugin") == method_style("some_plugin")  # unknown names get a fixed colour too
    # every registered multi-annotator method has its own colour
    colours = [METHODS.metadata(name)["color"] for name in METHODS.names()]
    assert len(set(colours)) == len(colours)


def test_calibration_table_lists_the_three_variants():
    from active_learning.plotting import calibration_markdown

    counts = [100, 200]
    df = long_table({
        ("activelab", 0): {"model_accuracy": [0.5, 0.9], "consensus_accuracy": [0.8, 0.95], "n_annotations": counts},
        ("activelab_cleanlab", 0): {"model_accuracy": [0.5, 0.8], "consensus_accuracy": [0.8, 0.85], "n_annotations": counts},
        ("random", 0): {"model_accuracy": [0.5, 0.7], "consensus_accuracy": [0.8, 0.8], "n_annotations": counts},
    })
    table = calibration_markdown(df)
    row = [line for line in table.splitlines() if "| model_accuracy |" in line][0]
    assert "0.900" in row and "0.800" in row and row.rstrip().endswith("|  |")  # no row-wise run in this table
    assert "random" not in table
    assert calibration_markdown(df[df.method == "random"]) == ""


# ------------------------------------------------------------------------------------------------- NAS figures


def nas_table(noises=("sym0.2", "aggre"), filters=("ideal", "cv"), trainings=("clean",), seeds=(0, 1, 2), rounds=3,
              methods=("probcover", "npc", "coreset", "coreset_nas", "random"), skip=()):
    """A long NAS results table: accuracy = 0.1 * round + a per-method offset + 0.01 * seed; filter metrics of NPC.

    ``skip``: (variant, method, seed) triples left out, as results that have not landed yet."""
    offset = {"probcover": 0.30, "npc": 0.32, "coreset": 0.20, "coreset_nas": 0.25, "random": 0.10}
    rows = []
    for noise in noises:
        for filt in filters:
            for training in trainings:
                variant = f"{noise}_{filt}_{training}"
                for method in methods:
                    for seed in seeds:
                        if (variant, method, seed) in skip:
                            continue
                        for r in range(rounds):
                            metrics = {"accuracy": 0.1 * r + offset[method] + 0.01 * seed}
                            if method == "npc":
                                ideal = filt == "ideal"
                                metrics.update({"filter_precision": 1.0 if ideal else 0.9,
                                                "filter_recall": 1.0 if ideal else 0.5 + 0.1 * r,
                                                "true_noise_ratio": 0.2})
                            for metric, value in metrics.items():
                                rows.append({"benchmark": "cifar10n", "variant": variant, "model": "linear_probe",
                                             "method": method, "seed": seed, "round": r, "metric": metric,
                                             "value": value})
    return pd.DataFrame(rows)


@pytest.fixture
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_variant_names_split_into_noise_filter_and_training():
    from active_learning.plotting import ordered, split_variant, variant_factors

    assert split_variant("sym0.2_cv_clean") == {"noise": "sym0.2", "filter": "cv", "training": "clean"}
    assert split_variant("cv_all") == {"noise": "", "filter": "cv", "training": "all"}  # Clothing1M: no noise part
    assert split_variant("my_noise_aum_all")["noise"] == "my_noise"  # the first part keeps its underscores
    df = variant_factors(nas_table(trainings=("clean", "all")))
    assert set(df["training"]) == {"clean", "all"} and set(df["filter"]) == {"ideal", "cv"}
    assert ordered(["worse", "aggre", "sym0.5", "sym0.2", "zzz"], "noise") == ["sym0.2", "sym0.5", "aggre", "worse", "zzz"]
    assert ordered(["aum", "ideal", "cv"], "filter") == ["ideal", "cv", "aum"]


def test_paired_differences_pair_by_seed_over_the_seeds_both_ran():
    from active_learning.plotting import paired_differences

    df = nas_table(seeds=(0, 1, 2), skip={("sym0.2_cv_clean", "probcover", 2)})
    diffs = paired_differences(df, [("npc", "probcover"), ("maxherding_nas", "maxherding")])
    assert set(diffs.method) == {"npc"}  # MaxHerding has no results: the pair is left out
    assert np.allclose(diffs.value, 0.02)  # same seed offsets cancel
    per_variant = diffs.groupby("variant").seed.nunique()
    assert per_variant["sym0.2_cv_clean"] == 2 and per_variant["sym0.2_ideal_clean"] == 3
    assert paired_differences(df, [("maxherding_nas", "maxherding")]).empty


def test_paired_difference_markdown_uses_the_shared_pairing():
    from active_learning.plotting import paired_difference_markdown

    df = nas_table(noises=("sym0.2",), filters=("cv",), seeds=(0, 1, 2))
    # seed 2 of npc is worse, so the differences are +0.02, +0.02, -0.04: mean 0, not significant
    df.loc[(df.method == "npc") & (df.seed == 2) & (df.metric == "accuracy"), "value"] -= 0.06
    lines = paired_difference_markdown(df, [("npc", "probcover"), ("coreset_nas", "coreset")], x_labels=["1", "2", "3"]).splitlines()
    assert lines[0] == "| variant | method − base | 1 | 2 | 3 | seeds |"
    assert lines[2] == "| sym0.2_cv_clean | npc − probcover | +0.000 ± 0.035 | +0.000 ± 0.035 | +0.000 ± 0.035 | 3 |"
    assert lines[3].startswith("| sym0.2_cv_clean | coreset_nas − coreset | **+0.050 ± 0.000** |")


def test_seed_summary_intervals():
    from scipy import stats

    from active_learning.plotting import seed_summary

    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"], "value": [1.0, 2.0, 3.0, 4.0, 5.0]})
    ci = seed_summary(frame, ["g"], "ci95").set_index("g")
    sd = np.std([1, 2, 3, 4], ddof=1)
    assert ci.loc["a", "mean"] == 2.5 and ci.loc["a", "n"] == 4
    assert ci.loc["a", "half"] == pytest.approx(stats.t.ppf(0.975, 3) * sd / 2)
    assert np.isnan(ci.loc["b", "half"])  # one seed: no interval
    assert seed_summary(frame, ["g"], "std").set_index("g").loc["a", "half"] == pytest.approx(sd)
    assert seed_summary(frame, ["g"], None)["half"].isna().all()
    with pytest.raises(ValueError, match="interval"):
        seed_summary(frame, ["g"], "sem")


def _panel_lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]  # not the zero line


def test_plot_paired_differences_grid_colours_and_labels(close_figures):
    from matplotlib.colors import to_hex

    from active_learning.plotting import method_style, plot_paired_differences

    df = nas_table(noises=("aggre", "sym0.2"), filters=("cv", "ideal"),
                   skip={("aggre_cv_clean", m, s) for m in ("probcover", "npc") for s in (0, 1, 2)})
    fig = plot_paired_differences(df, [("npc", "probcover"), ("coreset_nas", "coreset")], x_values=[1, 2, 3],
                                  x_label="Samples per class")
    axes = np.array(fig.axes[: 4]).reshape(2, 2)
    # rows in the noise order (sym0.2 first), columns ideal then cv
    assert "Symmetric 20 %" in axes[0, 0].get_ylabel() and "95 % CI" in axes[0, 0].get_ylabel()
    assert axes[0, 0].get_title().startswith("Ideal") and axes[0, 1].get_title().startswith("CrossValidation")
    lines = _panel_lines(axes[0, 0])
    assert [to_hex(line.get_color()) for line in lines] == [to_hex(method_style("npc")["color"]),
                                                          to_hex(method_style("coreset_nas")["color"])]
    xs = np.asarray(lines[0].get_xdata(), dtype=float)  # at the budgets, shifted a little to keep pairs apart
    assert np.allclose(np.diff(xs), 1.0) and 0 < abs(xs[0] - 1) < 0.1 and np.allclose(lines[0].get_ydata(), 0.02)
    assert any(np.allclose(line.get_ydata(), 0.0) for line in axes[0, 0].get_lines())  # the zero line
    assert len(_panel_lines(axes[1, 1])) == 1  # aggre / cv: only Coreset+NAS − Coreset ran
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 2
    assert "n=3 seeds" in fig.legends[0].get_texts()[0].get_text()
    std = plot_paired_differences(df, [("npc", "probcover")], interval="std")
    assert "1 std" in std.axes[0].get_ylabel()


def test_plot_paired_differences_refuses_to_mix_settings_and_empty_input(close_figures):
    from active_learning.plotting import plot_paired_differences

    both = nas_table(trainings=("clean", "all"))
    with pytest.raises(ValueError, match="training"):
        plot_paired_differences(both, [("npc", "probcover")])
    with pytest.raises(ValueError, match="common seeds"):
        plot_paired_differences(both, [("maxherding_nas", "maxherding")])
    one_filter = nas_table(filters=("cv",), trainings=("clean", "all"))
    fig = plot_paired_differences(one_filter, [("npc", "probcover")], rows="noise", columns="training")  # split by it
    assert fig.axes[0].get_title() == "trained on the predicted-clean points"


def test_plot_curve_grid_one_line_per_strategy_and_no_results_panels(close_figures):
    from matplotlib.colors import to_hex

    from active_learning.plotting import method_style, plot_curve_grid

    df = nas_table(noises=("sym0.5", "sym0.2"), filters=("aum", "ideal"),
                   skip={("sym0.5_aum_clean", m, s) for m in ("probcover", "npc", "coreset", "coreset_nas", "random")
                         for s in (0, 1, 2)})
    fig = plot_curve_grid(df, "accuracy", x_values=[1, 2, 3])
    axes = np.array(fig.axes[:4]).reshape(2, 2)
    assert "Symmetric 20 %" in axes[0, 0].get_ylabel() and axes[0, 1].get_title() == "LowBudgetAUM filter"
    lines = axes[0, 0].get_lines()
    assert len(lines) == 5
    assert to_hex(lines[0].get_color()) == to_hex(method_style("probcover")["color"])  # legend order: ProbCover, NPC, ...
    # NPC beside ProbCover: dashed, in its own colour
    assert lines[1].get_linestyle() == "--" and to_hex(lines[1].get_color()) != to_hex(lines[0].get_color())
    assert len({to_hex(line.get_color()) for line in lines}) == 5
    assert [t.get_text() for t in axes[1, 1].texts] == ["no results"]  # sym0.5 / aum has not landed
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "ProbCover (n=3)" and labels[-1] == "Random (n=3)" and len(fig.legends) == 1
    only = plot_curve_grid(df, "accuracy", methods=["random"], interval=None)
    assert len(only.axes[0].get_lines()) == 1 and not only.axes[0].collections  # no band


def test_plot_filter_quality_skips_the_ideal_filter_and_draws_the_keep_all_precision(close_figures):
    from active_learning.plotting import plot_filter_quality

    df = nas_table(noises=("sym0.2",), filters=("ideal", "cv", "aum"), trainings=("all", "clean"))
    df.loc[(df.variant == "sym0.2_cv_all") & (df.metric == "filter_recall"), "value"] = 0.0  # must not be drawn
    fig = plot_filter_quality(df, "npc", x_values=[1, 2, 3])
    assert [ax.get_title() for ax in fig.axes] == ["CrossValidation filter", "LowBudgetAUM filter"]
    precision, recall, clean = fig.axes[0].get_lines()
    assert np.allclose(precision.get_ydata(), 0.9) and np.allclose(recall.get_ydata(), [0.5, 0.6, 0.7])  # clean runs
    assert np.allclose(clean.get_ydata(), 0.8)  # 1 − true noise ratio
    assert "predicted-clean" in fig._suptitle.get_text()
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["Precision (n=3)", "Recall (n=3)"]
    with pytest.raises(ValueError, match="no"):
        plot_filter_quality(df[df.variant.str.contains("ideal")], "npc")


def test_samples_per_class_comes_from_the_sidecars(tmp_path):
    import json

    from active_learning.plotting import samples_per_class

    for variant, spc in (("a", [1, 2, 3]), ("b", [1, 2, 3])):
        folder = tmp_path / "bench" / variant / "m" / "x"
        folder.mkdir(parents=True)
        (folder / "run_seed0.json").write_text(json.dumps({"config": {"data": {"budget": {"samples_per_class": spc}}}}))
    assert samples_per_class(tmp_path, "bench") == [1, 2, 3]
    (tmp_path / "bench" / "b" / "m" / "x" / "run_seed1.json").write_text(json.dumps({"config": {"data": {}}}))
    assert samples_per_class(tmp_path, "bench") is None
