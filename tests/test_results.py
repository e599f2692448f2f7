"""The results store (active_learning/results.py): one owner of the layout, verification once per process, one sidecar
reader, and the per-benchmark deviations read from the benchmark folders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
import yaml

from active_learning import results as results_module
from active_learning.cli import main
from active_learning.config import Job
from active_learning.results import (
    array_path, check_job, clear_verified, job_dir, load_results, read_sidecars, result_dir, sidecar_paths, verify_job_files,
    write_job_results,
)

from conftest import toy_config

REPO = Path(__file__).resolve().parents[1]


def _job(seed: int = 0, variant: Any = None) -> Job:
    return Job("bench", variant, "m", "x", seed, {"task": "t", "seed": seed})


def _write(root: Path, seed: int = 0, variant: Any = None) -> Path:
    outcome = {"metrics": {"accuracy": np.array([0.5, 0.6, 0.7]), "n_new": np.array([1, 2, 3])}, "wall_time_s": 1.0}
    return write_job_results(_job(seed, variant), root, outcome, {"code": "c"}, per_round=["accuracy", "n_new"])


def _counting(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    calls: List[str] = []
    original = results_module.verify_npy

    def counting(path: Any, **kwargs: Any) -> Any:
        calls.append(Path(path).name)
        return original(path, **kwargs)

    monkeypatch.setattr(results_module, "verify_npy", counting)
    clear_verified()
    return calls


def test_the_layout_is_spelled_by_the_results_module(tmp_path):
    sidecar = _write(tmp_path, seed=3, variant="v")
    assert sidecar == tmp_path / "bench" / "v" / "m" / "x" / "run_seed3.json"
    assert job_dir(_job(3, "v"), tmp_path) == result_dir(tmp_path, "bench", "v", "m", "x") == sidecar.parent
    assert array_path(sidecar.parent, "accuracy", 3).is_file()
    assert sidecar_paths(tmp_path) == [sidecar]


def test_no_other_module_spells_the_result_file_names():
    """The result file names (``run_seed<k>.json``, ``<metric>_seed<k>.npy``) are written in results.py only."""
    pattern = re.compile(r"run_seed\*?[{.<]|\}_seed\{")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("active_learning", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py")) if path.name != "results.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "simclr_" not in line  # a SimCLR checkpoint's name, not a result
    ]
    assert offenders == []


def test_an_unchanged_array_is_verified_once_per_process(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    sidecar = _write(tmp_path)
    (found, problems), = [read_sidecars(tmp_path)]
    assert problems == [] and len(found) == 1
    meta = found[0][1]
    for _ in range(3):
        assert verify_job_files(meta, sidecar.parent) is None
    assert sorted(calls) == ["accuracy_seed0.npy", "n_new_seed0.npy"]  # 3 verifications, each file read once
    assert check_job(_job(), tmp_path).status == "done" and len(calls) == 2


def test_a_changed_array_is_verified_again_and_fails(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    sidecar = _write(tmp_path)
    meta = read_sidecars(tmp_path)[0][0][1]
    assert verify_job_files(meta, sidecar.parent) is None
    np.save(array_path(sidecar.parent, "accuracy", 0), np.array([0.5, 0.6, 0.9]))  # same shape, other values
    problem = verify_job_files(meta, sidecar.parent)
    assert problem is not None and "accuracy_seed0.npy" in problem and "sha256" in problem
    assert calls.count("accuracy_seed0.npy") == 2
    with pytest.raises(ValueError, match="accuracy_seed0.npy"):
        load_results(tmp_path, "bench")


def test_one_sidecar_reader_reports_unreadable_sidecars(tmp_path):
    _write(tmp_path)
    bad = tmp_path / "bench" / "m" / "y" / "run_seed0.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("[1, 2]")
    found, problems = read_sidecars(tmp_path / "bench")
    assert len(found) == 1 and problems == [f"{bad} is not a JSON object"]


def test_run_reads_the_yaml_once_and_verifies_each_array_once(tmp_path, monkeypatch, capsys):
    """``run``: the config it loaded (with --set) goes to the figures, and the figures and the summary share one
    verified read of the results (the runner's two checks, the figures and the summary used to verify 4 times)."""
    import active_learning.cli as cli_module
    import active_learning.config as config_module

    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_config(seeds=[0])))
    loads: List[str] = []
    original_load = config_module.load_config

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        loads.append(str(args[0]))
        return original_load(*args, **kwargs)

    monkeypatch.setattr(config_module, "load_config", counting_load)
    monkeypatch.setattr(cli_module, "load_config", counting_load)
    argv = ["run", str(path), "--results-dir", str(tmp_path / "res"), "--backend", "sequential", "--no-progress",
            "--set", "loop.rounds=2"]
    assert main(argv) == 0
    assert loads == [str(path)]
    calls = _counting(monkeypatch)
    loads.clear()
    assert main(argv) == 0  # all finished: skips, redraws nothing, summarises
    out = capsys.readouterr().out
    assert "skipped 2 finished job(s)" in out and loads == [str(path)]
    arrays = list((tmp_path / "res").rglob("*.npy"))
    assert arrays and sorted(calls) == sorted(p.name for p in arrays)  # each array verified once in the process


def test_the_deviations_come_from_the_benchmark_folders():
    from active_learning.report import DEVIATIONS, parse_deviations

    files = sorted(REPO.glob("benchmarks/*/deviations.md"))
    assert files and set(DEVIATIONS) == {name for path in files for name in parse_deviations(path.read_text())}
    text = "# title\n\nintro - not a bullet\n\n## a\n\n- one\n  two\n- three\n\n## b_c\n\n- four\n"
    assert parse_deviations(text) == {"a": ["one two", "three"], "b_c": ["four"]}


def test_the_sidecar_records_torch_threads_of_the_worker(tmp_path):
    """CPU float results of torch learners can differ in the last bits between thread counts (measured: a CIFAR-10N
    ActiveLab seed with 1 and 2 threads), so a sidecar says how many the job ran with."""
    import torch

    from active_learning.runner import _torch_threads

    assert _torch_threads() == torch.get_num_threads()
    outcome = {"metrics": {"accuracy": np.array([0.5, 0.6])}, "wall_time_s": 1.0, "threads": 3}
    sidecar = write_job_results(_job(), tmp_path, outcome, {"code": "c"})
    assert json.loads(sidecar.read_text())["torch_threads"] == 3
    del outcome["threads"]
    assert "torch_threads" not in json.loads(write_job_results(_job(1), tmp_path, outcome, {"code": "c"}).read_text())
