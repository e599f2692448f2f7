"""The paper-figure notebooks run end to end (nbclient) on small results that the test makes."""

import shutil
from pathlib import Path

import nbformat
import pytest

from active_learning.runner import run_grid

from conftest import toy_config

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
#: The filters of the miniature, trained briefly (the figures and tables only need their outputs, not good ones).
FILTERS = {"ideal": {"filter": "ideal"}, "aum": {"filter": "aum", "filter_params": {"epochs": 5}},
           "cv": {"filter": "cross_validation", "filter_params": {"train_on_one_fold": True, "max_iter": 30}}}


def nas_cifar10n_toy():
    """``cifar10n`` in miniature for the NAS notebook and figures: synthetic clusters, 2 noise settings x 3 filters with
    the predicted-clean training set, one with every labeled point, 5 strategies, 2 seeds, 3 budgets."""
    variants = [
        {"name": f"{noise}_{filt}_{training}", "data": {"noise": {"type": "symmetric", "rate": rate}},
         "loop": {**FILTERS[filt], "train_on_all": training == "all"}}
        for noise, rate in (("sym0.2", 0.2), ("sym0.5", 0.5)) for filt in FILTERS for training in ("clean", "all")
        if training == "clean" or (noise, filt) == ("sym0.5", "cv")
    ]
    return {
        "name": "cifar10n",
        "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
        "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.2},
                 "budget": {"samples_per_class": [1, 2, 3]}},
        "loop": {"filter": "cross_validation"},
        "seeds": [0, 1],
        "models": {"one_nn": {"methods": [
            "random", {"name": "probcover", "method": "probcover", "params": {"delta": 0.6}},
            {"name": "npc", "method": "npc", "params": {"delta": 0.6}}, "coreset", "coreset_nas",
        ]}},
        "variants": variants,
        "figure": {"metrics": ["accuracy", "filter_f1"], "columns": "variant"},
    }


@pytest.fixture(scope="module")
def nas_results(tmp_path_factory):
    """The ``cifar10n`` miniature only: what the fast notebook test and the figure scripts read."""
    root = tmp_path_factory.mktemp("results")
    run_grid(nas_cifar10n_toy(), results_dir=root, backend="sequential", progress=False)
    return root


@pytest.fixture(scope="module")
def small_results(nas_results):
    """Every notebook's miniature results (the multi-annotator ones added beside ``cifar10n``)."""
    root = nas_results
    configs = [
        toy_config(
            "wall_robot",
            rounds=2,
            models={"extra_trees": {"methods": [
                "random", {"name": "activelab", "method": "activelab", "params": {"calibration": "benchmark"}},
                {"name": "activelab_cleanlab", "method": "activelab", "params": {"calibration": "cleanlab"}},
            ], "params": {"n_estimators": 10}}},
        ),
        toy_config("wall_robot_complete", rounds=2, data={**toy_config()["data"], "unlabeled_fraction": 0.0}),
        toy_config(
            "wall_robot_single_annotator",
            rounds=2,
            data={**toy_config()["data"], "n_annotators": 1, "max_initial_per_example": None},
            loop={"rounds": 2, "batch_size": 20, "n_folds": 3, "allow_relabel": False},
            models={"extra_trees": {"methods": ["random", "entropy", "activelab"], "params": {"n_estimators": 10}}},
        ),
        toy_config(
            "wall_robot_single_vs_multi",
            rounds=2,
            variants=[{"name": "trace0.7", "data": {"trace_fraction": 0.7}}, {"name": "trace1.0", "data": {"trace_fraction": 1.0}}],
            models={
                "extra_trees": {
                    "methods": [
                        {"name": "multiannotator", "method": "activelab"},
                        {"name": "single", "method": "entropy", "loop": {"allow_relabel": False, "initial_labels": "majority_vote"}},
                    ],
                    "params": {"n_estimators": 10},
                }
            },
        ),
    ]
    for name in ("cifar10h", "cifar10n_annotators"):  # the real-annotator notebook: same plots, toy data
        configs.append(toy_config(name, rounds=2, models={"extra_trees": {"methods": ["random", "entropy", "activelab"], "params": {"n_estimators": 10}}}))
    for config in configs:
        run_grid(config, results_dir=root, n_jobs=2, progress=False)
    return root


def _execute(name, results, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    monkeypatch.setenv("AL_RESULTS_DIR", str(results))
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook must draw figures"


def test_nas_notebook_executes_on_small_results(nas_results, tmp_path, monkeypatch):
    """The fast representative of the notebook runs (each takes seconds: a kernel, imports, figures)."""
    _execute("nas_cifar10n.ipynb", nas_results, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wall_robot.ipynb", "wall_robot_extras.ipynb", "real_annotators.ipynb"])
def test_notebook_executes_on_small_results(name, small_results, tmp_path, monkeypatch):
    _execute(name, small_results, tmp_path, monkeypatch)


def test_cifar10n_figures_script_draws_every_figure(nas_results, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("cifar10n_figures", BENCHMARKS / "cifar10n" / "figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    figures.main(["--results-dir", str(nas_results), "--out-dir", str(tmp_path)])
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == ["cifar10n_accuracy_all.png", "cifar10n_accuracy_clean.png", "cifar10n_filter_quality.png",
                     "cifar10n_nas_vs_base_all.png", "cifar10n_nas_vs_base_clean.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in tmp_path.glob("*.png"))
    from active_learning.report import png_description

    assert "95 % CI" in png_description(tmp_path / "cifar10n_nas_vs_base_clean.png")  # the report's caption


def test_make_figures_runs_the_benchmarks_figure_script(nas_results, tmp_path):
    """``figure: {script: figures.py}`` in cifar10n.yaml: the runner's / ``figures`` command's figures are the script's."""
    from active_learning.plotting import make_figures

    paths = make_figures("cifar10n", nas_results, out_dir=tmp_path)
    assert sorted(p.name for p in paths) == sorted(p.name for p in tmp_path.glob("*.png"))
    assert "cifar10n_nas_vs_base_clean.png" in {p.name for p in paths}


def test_figure_script_must_be_a_file_of_the_benchmark_folder():
    from active_learning.config import ConfigError, load_config, validate_structure

    config = load_config("cifar10n")
    config["figure"] = {"script": "../elsewhere/figures.py"}
    with pytest.raises(ConfigError, match="figure.script"):
        validate_structure(config, where="cifar10n")
