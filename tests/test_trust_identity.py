"""A job's identity covers the content of the user's own input files, not only their paths (issue 19, case 1).

Edit a label, feature, truth or test file and rerun: the run stops before any work with one line naming the file
and what to do (``--overwrite`` recomputes the cells from the current files, or another ``--results-dir``); an
unchanged file (even one touched) still skips. Jobs on registered datasets (every committed result) name no input
file, so their identity (the config hash) and their skipping are unchanged.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pandas as pd
import pytest
import yaml

import active_learning.runner as runner_module
from active_learning.cli import main
from active_learning.config import expand_jobs, list_benchmarks, load_config
from active_learning.runner import (
    InputDigests,
    ResultsConflictError,
    _check_job,
    input_files,
    run_grid,
)
from active_learning.utils.io import config_hash

REPO = Path(__file__).resolve().parents[1]
N, CLASSES = 60, 3


def write_files(folder: Path, seed: int = 0) -> None:
    """``labels.csv`` (2 labels per example from 5 annotators), ``features.npy``, ``truth.npy`` and a separate test
    set (``test_features.npy``, ``test_labels.npy``)."""
    rng = np.random.default_rng(seed)
    truth = np.arange(N) % CLASSES
    rows = []
    for example in range(N):
        for annotator in rng.choice(5, size=2, replace=False):
            label = truth[example] if rng.random() < 0.8 else rng.integers(CLASSES)
            rows.append({"example": example, "annotator": int(annotator), "label": int(label)})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    centres = rng.normal(size=(CLASSES, 4)) * 3
    np.save(folder / "features.npy", centres[truth] + rng.normal(size=(N, 4)))
    np.save(folder / "truth.npy", truth)
    test_truth = np.arange(30) % CLASSES
    np.save(folder / "test_features.npy", centres[test_truth] + rng.normal(size=(30, 4)))
    np.save(folder / "test_labels.npy", test_truth)


def byo_config(**data: Any) -> Dict[str, Any]:
    return {
        "name": "byo",
        "task": "multiannotator",
        "data": {"pool": "label_file", "labels": "labels.csv", "features": "features.npy", "true_labels": "truth.npy",
                 "n_initial": 20, "test_fraction": 0.3, "n_classes": CLASSES, **data},
        "loop": {"rounds": 2, "batch_size": 5, "n_folds": 2, "annotator_columns": "true_identity"},
        "seeds": [0],
        "models": {"logistic_regression": {"methods": ["random"]}},
    }


@pytest.fixture
def byo(tmp_path, monkeypatch):
    """The files and ``byo.yaml`` in a working directory of their own (label-file paths are relative to it)."""
    write_files(tmp_path)
    (tmp_path / "byo.yaml").write_text(yaml.safe_dump(byo_config()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*extra: str) -> List[str]:
    return ["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures", *extra]


def sidecar(folder: Path, method: str = "random", seed: int = 0) -> Dict[str, Any]:
    return json.loads((folder / "res" / "byo" / "logistic_regression" / method / f"run_seed{seed}.json").read_text())


def relabel(folder: Path) -> None:
    table = pd.read_csv(folder / "labels.csv")
    table.loc[:9, "label"] = (table.loc[:9, "label"] + 1) % CLASSES
    table.to_csv(folder / "labels.csv", index=False)


EDITS = {
    "labels.csv": ("data.labels", relabel),
    "features.npy": ("data.features", lambda f: np.save(f / "features.npy", np.load(f / "features.npy") * 1.5)),
    "truth.npy": ("data.true_labels", lambda f: np.save(f / "truth.npy", (np.load(f / "truth.npy") + 1) % CLASSES)),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_edited_input_file_stops_the_rerun_with_one_line_naming_it(byo, capsys, name):
    key, edit = EDITS[name]
    assert main(cli()) == 0
    before = sidecar(byo)
    capsys.readouterr()
    edit(byo)
    assert main(cli()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert f"input file {key} ({name}) changed" in err and "--overwrite" in err and "--results-dir" in err, err
    assert sidecar(byo) == before  # nothing was recomputed or removed


def test_overwrite_recomputes_from_the_new_file_and_the_next_rerun_skips(byo, capsys):
    assert main(cli()) == 0
    old = sidecar(byo)["inputs"]["data.labels"]["sha256"]
    relabel(byo)
    assert main(cli("--overwrite")) == 0
    assert "ran 1 job(s)" in capsys.readouterr().out
    new = sidecar(byo)["inputs"]["data.labels"]
    assert new["sha256"] != old and new["path"] == "labels.csv" and new["bytes"] == (byo / "labels.csv").stat().st_size
    assert main(cli()) == 0
    assert "ran 0 job(s), skipped 1 finished job(s)" in capsys.readouterr().out


def test_unchanged_content_skips_even_when_the_file_was_touched(byo, capsys):
    assert main(cli()) == 0
    pd.read_csv(byo / "labels.csv").to_csv(byo / "labels.csv", index=False)  # rewritten, same bytes
    os.utime(byo / "labels.csv", ns=(1, 1))
    capsys.readouterr()
    assert main(cli()) == 0
    assert "skipped 1 finished job(s)" in capsys.readouterr().out


def test_test_set_files_are_part_of_the_identity(byo, capsys):
    config = byo_config(test_features="test_features.npy", test_labels="test_labels.npy")
    del config["data"]["test_fraction"]
    (byo / "byo.yaml").write_text(yaml.safe_dump(config))
    assert main(cli()) == 0
    assert set(sidecar(byo)["inputs"]) == {"data.labels", "data.features", "data.true_labels", "data.test_features",
                                          "data.test_labels"}
    np.save(byo / "test_labels.npy", (np.load(byo / "test_labels.npy") + 1) % CLASSES)
    capsys.readouterr()
    assert main(cli()) == 2
    assert "input file data.test_labels (test_labels.npy) changed" in capsys.readouterr().err


def test_the_config_hash_stays_the_hash_of_the_config(byo):
    """The digests sit next to the config hash in the sidecar; the hash itself is computed as before."""
    report = run_grid(byo_config(), results_dir="res", backend="sequential", progress=False)
    assert report.ran == ["byo/logistic_regression/random#seed0"]
    meta = sidecar(byo)
    assert meta["config_hash"] == config_hash(meta["config"]) == expand_jobs(byo_config())[0].config_hash
    assert set(meta["inputs"]) == {"data.labels", "data.features", "data.true_labels"}


def test_new_seeds_are_not_added_to_a_curve_made_from_the_old_file(byo, capsys):
    assert main(cli()) == 0
    relabel(byo)
    capsys.readouterr()
    assert main(cli("--set", "seeds=[0, 1]", "--seeds", "1")) == 2  # seed 0 is the old file's
    err = capsys.readouterr().err
    assert "data.labels (labels.csv) changed" in err and "byo/logistic_regression/random" in err, err


def test_results_made_before_digests_were_recorded_are_not_trusted_blindly(byo, capsys):
    assert main(cli()) == 0
    path = byo / "res" / "byo" / "logistic_regression" / "random" / "run_seed0.json"
    meta = json.loads(path.read_text())
    del meta["inputs"]
    path.write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(cli()) == 2
    err = capsys.readouterr().err
    assert "no digest of the input file(s)" in err and "--overwrite" in err and err.count("\n") == 1, err


def test_a_finished_job_whose_input_file_is_gone_still_counts_as_finished(byo, capsys):
    """Results stay usable (figures, summaries) after the data was moved away: a missing file is not a change."""
    assert main(cli()) == 0
    (byo / "labels.csv").unlink()
    capsys.readouterr()
    assert main(cli()) == 0
    assert "skipped 1 finished job(s)" in capsys.readouterr().out


def test_each_input_file_is_hashed_once_per_run(byo, monkeypatch):
    calls: List[str] = []
    original = runner_module.file_digest

    def counting(path: Any, algorithm: str = "md5", **kwargs: Any) -> str:
        calls.append(os.path.basename(str(path)))
        return original(path, algorithm, **kwargs)

    monkeypatch.setattr(runner_module, "file_digest", counting)
    config = byo_config()
    config["seeds"] = [0, 1]
    config["models"]["logistic_regression"]["methods"] = ["random", "entropy"]
    assert len(run_grid(config, results_dir="res", backend="sequential", progress=False).ran) == 4
    assert sorted(calls) == ["features.npy", "labels.csv", "truth.npy"]  # 4 jobs, 3 files, each read once
    calls.clear()
    assert len(run_grid(config, results_dir="res", backend="sequential", progress=False).skipped) == 4
    assert sorted(calls) == ["features.npy", "labels.csv", "truth.npy"]  # a new run hashes them again, once


def test_the_digest_cache_rehashes_a_file_that_changed_during_the_run(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, np.zeros(3))
    digests = InputDigests()
    first = digests.digest(str(path))
    assert digests.digest(str(path)) == first and len(digests.hashed) == 1
    np.save(path, np.ones(30))
    assert digests.digest(str(path))["sha256"] != first["sha256"] and len(digests.hashed) == 2


def test_input_files_finds_every_user_file_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("feats.npy", "confusion.npy", "random"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ckpt.pt").write_bytes(b"x")
    resolved = {
        "dataset": {"name": "cifar10", "encoder": "precomputed", "encoder_params": {"path": "feats.npy"}},
        "data": {"noise": {"type": "asymmetric_cifar100", "confusion": "confusion.npy"}, "seed": 0},
        "loop": {"filter": "none"},
        "model_params": {"checkpoint": "sub/ckpt.pt"},
        "method_params": {"kind": "random"},  # a file named "random" exists, but the value is a name
        "method": "feats.npy",  # outside the searched sections
    }
    assert input_files(resolved) == {
        "dataset.encoder_params.path": "feats.npy",
        "data.noise.confusion": "confusion.npy",
        "model_params.checkpoint": "sub/ckpt.pt",
    }
    assert input_files({"data": {"labels": "missing.csv"}}) == {}  # a missing file is the data layer's error


def test_no_shipped_benchmark_names_an_input_file():
    """Every committed result is on a registered dataset: no job names a user file, so its identity is its config
    hash alone, as before."""
    for name in list_benchmarks():
        for job in expand_jobs(load_config(name)):
            assert input_files(job.resolved) == {}, (name, job.key)


@pytest.mark.parametrize("benchmark", ["wall_robot", "nas_sphere_clusters"])
def test_committed_results_still_count_as_finished(benchmark, monkeypatch):
    results = REPO / "results" / benchmark
    if not results.is_dir():
        pytest.skip(f"no committed results for {benchmark}")
    monkeypatch.chdir(REPO)
    digests = InputDigests()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        statuses = {_check_job(job, REPO / "results", digests).status for job in expand_jobs(load_config(benchmark))}
    assert statuses == {"done"} and not digests.hashed


def test_run_grid_raises_a_conflict_error_for_a_changed_file(byo):
    run_grid(byo_config(), results_dir="res", backend="sequential", progress=False)
    relabel(byo)
    with pytest.raises(ResultsConflictError, match=r"input file data\.labels \(labels\.csv\) changed"):
        run_grid(byo_config(), results_dir="res", backend="sequential", progress=False)
