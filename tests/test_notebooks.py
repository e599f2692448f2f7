"""The paper-figure notebooks run end to end (nbclient) on small results that the test makes."""

import shutil
from pathlib import Path

import nbformat
import pytest

from active_learning.runner import run_grid

from conftest import toy_config

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
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


@pytest.mark.parametrize("name", ["wall_robot.ipynb", "wall_robot_extras.ipynb", "real_annotators.ipynb"])
def test_notebook_executes_on_small_results(name, small_results, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    monkeypatch.setenv("AL_RESULTS_DIR", str(small_results))
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook must draw figures"
