"""The NAS CIFAR-10 / CIFAR-10N tables of ``benchmarks/cifar10n/report_tables.py`` on hand-made results."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from active_learning.plotting import significant_difference

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cifar10n" / "report_tables.py"


@pytest.fixture(scope="module")
def report_tables():
    spec = importlib.util.spec_from_file_location("cifar10n_report_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nas_results(gap, noises=("sym0.2",), filters=("ideal", "cv"), trainings=("clean",), seeds=(0, 1, 2), rounds=3,
                skip=()):
    """Test accuracy of ProbCover / NPC and Coreset / Coreset+NAS in the load_results format: a base strategy has
    0.3 + 0.1 * round + 0.01 * seed, its noise-aware version that plus ``gap(noise, filter, training, method, seed,
    round)``. ``skip``: (variant, method, seed) left out."""
    rows = []
    for noise in noises:
        for filt in filters:
            for training in trainings:
                variant = f"{noise}_{filt}_{training}"
                for method in ("probcover", "npc", "coreset", "coreset_nas"):
                    for seed in seeds:
                        if (variant, method, seed) in skip:
                            continue
                        for r in range(rounds):
                            value = 0.3 + 0.1 * r + 0.01 * seed
                            if method in ("npc", "coreset_nas"):
                                value += gap(noise, filt, training, method, seed, r)
                            rows.append({"benchmark": "cifar10n", "variant": variant, "model": "linear_probe",
                                         "method": method, "seed": seed, "round": r, "metric": "accuracy",
                                         "value": value})
    return pd.DataFrame(rows)


def test_significant_difference_is_the_bold_rule():
    assert significant_difference([0.02, 0.02, 0.02])  # no spread: any nonzero mean counts
    assert not significant_difference([0.0, 0.0])
    assert not significant_difference([0.05])  # one seed: no standard error
    assert not significant_difference([0.02, 0.02, -0.04])
    assert significant_difference([-0.03, -0.02, np.nan])  # NaN left out
    values = np.array([0.01, 0.03, 0.02, 0.00])
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert significant_difference(values) == (abs(values.mean()) > 2 * se)


def test_summary_counts_the_significant_cells_per_filter(report_tables):
    def gap(noise, filt, training, method, seed, r):
        if method == "npc":
            return 0.02
        # Coreset+NAS: significantly worse on aggre; on sym0.2 +0.03 on average, but not significant
        return -0.01 if noise == "aggre" else (-0.01, -0.01, 0.11)[seed]

    df = nas_results(gap, noises=("sym0.2", "aggre"), skip={("aggre_cv_clean", "npc", 2)})
    lines = report_tables.summary_table(df).splitlines()
    assert lines[0] == "| method − base | training | ideal | CrossValidation | LowBudgetAUM |"
    assert lines[2] == "| NPC − ProbCover | clean | +0.020 (+6 / −0 of 6) | +0.020 (+6 / −0 of 6; 2–3 seeds) |  |"
    assert lines[3] == "| Coreset + NAS − Coreset | clean | +0.010 (+0 / −3 of 6) | +0.010 (+0 / −3 of 6) |  |"
    assert len(lines) == 4  # MaxHerding and weighted NPC have no results: no rows


def test_summary_has_a_row_per_training_setting(report_tables):
    df = nas_results(lambda *a: 0.01, trainings=("clean", "all"))
    rows = [line.split(" | ")[:2] for line in report_tables.summary_table(df).splitlines()[2:]]
    assert rows == [["| NPC − ProbCover", "clean"], ["| Coreset + NAS − Coreset", "clean"],
                    ["| NPC − ProbCover", "all"], ["| Coreset + NAS − Coreset", "all"]]


def test_noise_trend_orders_the_noise_by_rate_and_skips_round_0(report_tables):
    level = {"aggre": 0.01, "asym0.4": 0.02, "sym0.5": 0.04}

    def gap(noise, filt, training, method, seed, r):
        if r == 0:
            return 0.5  # left out of the average (the first budget)
        if noise == "mynoise":
            return (-0.02, 0.0, 0.05)[seed]  # mean +0.01, not significant
        return level[noise] if method == "npc" else -level[noise]

    df = nas_results(gap, noises=("sym0.5", "aggre", "mynoise", "asym0.4"), filters=("cv",),
                     trainings=("clean", "all"), skip={("sym0.5_cv_clean", "npc", 2)})
    lines = report_tables.noise_trend_table(df).splitlines()
    assert lines[0] == ("| method − base | filter | training | aggre (0.09) | asym0.4 (≈0.20) | sym0.5 (0.50) "
                        "| mynoise |")
    assert lines[2] == ("| NPC − ProbCover | CrossValidation | clean | **+0.010** | **+0.020** | **+0.040** (2 seeds) "
                        "| +0.010 |")
    assert lines[3].startswith("| Coreset + NAS − Coreset | CrossValidation | clean | **-0.010** | **-0.020** |")
    assert [line.split(" | ")[2] for line in lines[2:]] == ["clean", "clean", "all", "all"]


def test_noise_trend_significance_is_on_the_per_seed_means(report_tables):
    # per round the differences vary with the seed in opposite directions, so every budget alone is not
    # significant but the per-seed mean over the budgets is the same for every seed
    def gap(noise, filt, training, method, seed, r):
        return 0.02 + (0.03 if (seed + r) % 2 else -0.03)

    df = nas_results(gap, filters=("ideal",), seeds=(0, 1, 2, 3), rounds=3)
    line = report_tables.noise_trend_table(df).splitlines()[2]
    assert line == "| NPC − ProbCover | ideal | clean | **+0.020** |"
    assert report_tables.summary_table(df).splitlines()[2] == "| NPC − ProbCover | clean | +0.020 (+0 / −0 of 3) |  |  |"


def write_sidecar(root, variant, method, seed, **meta):
    folder = root / "cifar10n" / variant / "linear_probe" / method
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"run_seed{seed}.json").write_text(json.dumps({"method": method, "seed": seed, **meta}))


def test_timing_table_from_the_sidecars(report_tables, tmp_path):
    for seed, wall in enumerate((10.0, 20.0, 60.0)):
        write_sidecar(tmp_path, "sym0.2_cv_clean", "npc", seed, wall_time_s=wall, rounds=5)
    write_sidecar(tmp_path, "aggre_ideal_all", "npc", 3, wall_time_s=200.0, rounds=5)
    write_sidecar(tmp_path, "aggre_ideal_all", "probcover", 0, wall_time_s=5.0, rounds=5)
    write_sidecar(tmp_path, "aggre_ideal_all", "probcover", 1)  # no wall time: left out
    (tmp_path / "cifar10n" / "figures").mkdir()
    (tmp_path / "cifar10n" / "figures" / "run_seed0.json").write_text("not a sidecar")
    sidecars = report_tables.read_sidecars(tmp_path)
    assert len(sidecars) == 6
    lines = report_tables.timing_table(sidecars).splitlines()
    assert lines[0] == "| strategy | jobs | median per job (s) | max per job (s) | median per round (s) | total (h) |"
    assert lines[2:] == [
        "| probcover | 1 | 5.0 | 5.0 | 1.0 | 0.0 |",
        "| npc | 4 | 40.0 | 200 | 8.0 | 0.1 |",
        "| **all jobs** | 5 | 20.0 | 200 | 4.0 | 0.1 |",
    ]


def test_tables_of_keeps_the_old_tables_and_adds_the_new_ones(report_tables):
    df = nas_results(lambda *a: 0.01)
    assert list(report_tables.tables_of(df)) == ["nas-cifar10n-pairs", "nas-cifar10n-summary", "nas-cifar10n-noise-trend",
                                                 "nas-cifar10n-filters", "nas-cifar10n-final"]
    tables = report_tables.tables_of(df, [{"method": "npc", "wall_time_s": 3.0, "rounds": 3}])
    assert tables["nas-cifar10n-timing"].splitlines()[-1] == "| **all jobs** | 1 | 3.0 | 3.0 | 1.0 | 0.0 |"
