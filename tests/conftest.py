"""Shared fixtures: a small synthetic tabular dataset (the registered ``blobs`` dataset) and tiny benchmark configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

import pytest

from active_learning.datasets import TabularDataset, load

#: The raw-data mirror: ``$AL_DATA_MIRROR`` (what ``make test DATA_MIRROR=DIR`` exports), else ``$DATA_MIRROR``.
MIRROR = os.environ.get("AL_DATA_MIRROR") or os.environ.get("DATA_MIRROR")
#: The file the mirror tests read first (Wall Robot, 4 sensors).
MIRROR_PROBE = Path("wall_robot") / "sensor_readings_4.data"
#: What a skipped mirror test says to do.
MIRROR_HINT = "set AL_DATA_MIRROR=/path/to/mirror (or `make test DATA_MIRROR=/path/to/mirror`) to run it"


def mirror_status() -> str:
    """One line for pytest's header: whether the raw-data mirror was found, and what the mirror tests do."""
    if not MIRROR:
        return f"data mirror: not set, tests that read the real raw files skip; {MIRROR_HINT}"
    if not (Path(MIRROR) / MIRROR_PROBE).is_file():
        return f"data mirror: {MIRROR} has no {MIRROR_PROBE.as_posix()}, tests that read the real raw files skip"
    return f"data mirror: {MIRROR} (tests on the real raw files run)"


def pytest_report_header(config: pytest.Config) -> str:
    return mirror_status()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line at the end (the header is hidden by ``-q``): how many tests skipped for want of the mirror."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "raw-data mirror" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} test(s) skipped for want of the raw-data mirror; {MIRROR_HINT}")


def make_blobs(seed: int = 0) -> TabularDataset:
    """420 points in 4 Gaussian blobs (4 classes, 4 features): a fast stand-in for Wall Robot in tests."""
    return load("blobs", seed=seed)


def nas_toy_config(**changes):
    """A tiny noisy-single-annotator benchmark (synthetic clusters, 1-NN, kNN filter, 3 rounds); ``changes`` replace
    top-level keys."""
    config = {
        "name": "nas_toy",
        "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
        "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.4},
                 "budget": {"samples_per_class": [1, 2, 3]}},
        "loop": {"filter": "knn"},
        "seeds": [0],
        "models": {"one_nn": {"methods": ["random", {"name": "npc", "method": "npc", "params": {"delta": 0.6}}]}},
    }
    config.update(changes)
    return config


def toy_config(name: str = "toy", rounds: int = 3, **overrides: Any) -> Dict[str, Any]:
    """A tiny multi-annotator benchmark on ``blobs`` (fast models, 3 rounds of 20 annotations)."""
    config: Dict[str, Any] = {
        "name": name,
        "task": "multiannotator",
        "dataset": {"name": "blobs"},
        "data": {
            "seed": 5,
            "test_fraction": 0.3,
            "unlabeled_fraction": 0.6,
            "n_annotators": 8,
            "trace_fraction": 0.75,
            "max_initial_per_example": 5,
            "drop_prob": 0.9,
        },
        "loop": {"rounds": rounds, "batch_size": 20, "n_folds": 3},
        "seeds": [0, 1],
        "models": {
            "extra_trees": {"methods": ["random", "activelab"], "params": {"n_estimators": 10}},
        },
        "figure": {"metrics": ["consensus_accuracy", "model_accuracy"], "columns": "model"},
    }
    config.update(overrides)
    return config


@pytest.fixture
def toy_dataset() -> TabularDataset:
    return make_blobs()


@pytest.fixture
def mirror() -> Path:
    if not MIRROR:
        pytest.skip(f"needs the raw-data mirror: {MIRROR_HINT}")
    if not (Path(MIRROR) / MIRROR_PROBE).is_file():
        pytest.skip(f"the raw-data mirror {MIRROR} has no {MIRROR_PROBE.as_posix()}; {MIRROR_HINT}")
    return Path(MIRROR)


def kill_runs_of_seed(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Make every multi-annotator job of ``seed`` raise ``KeyboardInterrupt``, as a run killed there would.

    ``monkeypatch.undo()`` restores the task.
    """
    from active_learning.tasks import MultiAnnotatorTask

    original = MultiAnnotatorTask.run

    def killed(self: Any, resolved: Dict[str, Any], data: Any, on_round: Any = None) -> Any:
        if resolved["seed"] == seed:
            raise KeyboardInterrupt("killed")
        return original(self, resolved, data, on_round)

    monkeypatch.setattr(MultiAnnotatorTask, "run", killed)
