"""The wall-time benchmark resumes: a killed measurement keeps its finished segments and adds the rest."""

import importlib.util
import json
from pathlib import Path

import pytest

from active_learning.tasks import DataAccess

from conftest import kill_runs_of_seed, toy_config

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "wall_robot" / "bench_walltime.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_walltime", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_killed_measurement_resumes_and_sums_its_segments(tmp_path, monkeypatch):
    bench = load_bench()
    kill_runs_of_seed(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        bench.time_setting(toy_config(), 1, tmp_path, {}, None, DataAccess())
    first = json.loads((tmp_path / "ledger.json").read_text())["segments"]
    assert len(first) == 1 and first[0]["jobs"] >= 1 and not first[0]["completed"] and first[0]["elapsed_s"] > 0

    monkeypatch.undo()
    timing = bench.time_setting(toy_config(), 1, tmp_path, {}, None, DataAccess())
    assert timing["jobs"] == 4 and timing["segments"] == 2
    assert sum(segment["jobs"] for segment in timing["ledger"]) == 4
    assert timing["wall_time_s"] == pytest.approx(sum(s["elapsed_s"] for s in timing["ledger"]), abs=0.1)
    assert timing["sum_of_job_wall_times_s"] > 0

    again = bench.time_setting(toy_config(), 1, tmp_path, {}, None, DataAccess())
    assert again["segments"] == 2 and again["wall_time_s"] == timing["wall_time_s"]
