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


def test_method_styles_come_from_the_registries_and_pair_variants():
    from active_learning.multiannotator.methods import METHODS
    from active_learning.plotting import method_style
    from active_learning.strategies import STRATEGIES

    base, cleanlab, rowwise = (method_style("activelab", c) for c in ("benchmark", "cleanlab", "rowwise"))
    assert base["color"] == cleanlab["color"] == rowwise["color"] == METHODS.metadata("activelab")["color"]
    assert len({base["linestyle"], cleanlab["linestyle"], rowwise["linestyle"]}) == 3
    assert method_style("entropy")["color"] != base["color"]
    # a noise-aware strategy is drawn in its base's colour, dashed
    for variant, of in (("npc", "probcover"), ("maxherding_nas", "maxherding"), ("coreset_nas", "coreset")):
        assert STRATEGIES.metadata(variant)["base"] == of
        assert method_style(variant)["color"] == method_style(of)["color"] and method_style(variant)["linestyle"] == "--"
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
