import json

import numpy as np
import pytest

from active_learning.config import ConfigError, expand_jobs, parse_overrides, validate_structure
from active_learning.loops.multiannotator import METRICS
from active_learning.results import job_dir
from active_learning.runner import ResultsConflictError, run_grid

from conftest import kill_runs_of_seed, toy_config


def result_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_grid_writes_layout_sidecar_and_resumes(tmp_path):
    config = toy_config()
    report = run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert len(report.ran) == 4 and not report.skipped
    for method in ("random", "activelab"):
        for seed in (0, 1):
            folder = tmp_path / "toy" / "extra_trees" / method
            for metric in METRICS:
                values = np.load(folder / f"{metric}_seed{seed}.npy")
                assert values.shape == (3,)
            meta = json.loads((folder / f"run_seed{seed}.json").read_text())
            assert meta["seed"] == seed and meta["config"]["method"] == method
            assert meta["config"]["loop"]["rounds"] == 3 and meta["rounds"] == 3
            assert set(meta["versions"]) >= {"python", "numpy", "scikit-learn", "cleanlab"}
            assert "commit" in meta["git"] and meta["wall_time_s"] > 0
            assert set(meta["arrays"]) == set(meta["metrics"])  # length, dtype, sha256 per array (test_integrity.py)
    assert not list(tmp_path.rglob("*.tmp"))
    assert (tmp_path / "toy" / ".lock").is_file()  # the results folder's lock (one writer at a time)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npy")}
    again = run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert not again.ran and len(again.skipped) == 4
    assert before == {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npy")}


def test_a_failed_run_keeps_finished_jobs_and_resumes(tmp_path, monkeypatch):
    config = toy_config()
    kill_runs_of_seed(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    finished = list(tmp_path.rglob("run_seed*.json"))
    assert finished and all("seed0" in p.name for p in finished)
    assert not list(tmp_path.rglob("*seed1.npy")) and not list(tmp_path.rglob("*.tmp"))
    monkeypatch.undo()
    report = run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert "toy/extra_trees/random#seed0" in report.skipped and len(report.skipped) == len(finished)
    assert len(report.ran) + len(report.skipped) == 4 and not set(report.ran) & set(report.skipped)


def test_changed_config_is_a_conflict_unless_overwrite(tmp_path):
    run_grid(toy_config(seeds=[0]), results_dir=tmp_path, backend="sequential", progress=False, methods=["random"])
    changed = toy_config(seeds=[0])
    changed["loop"]["batch_size"] = 10
    with pytest.raises(ResultsConflictError, match="different config"):
        run_grid(changed, results_dir=tmp_path, backend="sequential", progress=False, methods=["random"])
    report = run_grid(changed, results_dir=tmp_path, backend="sequential", progress=False, methods=["random"], overwrite=True)
    assert len(report.ran) == 1


@pytest.mark.slow  # starts loky workers (seconds); test_devices.py::test_loky_workers_get_their_jobs_device checks the same
def test_parallel_loky_matches_sequential(tmp_path):
    config = toy_config(rounds=2)
    run_grid(config, results_dir=tmp_path / "seq", backend="sequential", progress=False)
    run_grid(config, results_dir=tmp_path / "par", n_jobs=2, backend="loky", progress=False)
    for path in (tmp_path / "seq").rglob("*.npy"):
        assert np.array_equal(np.load(path), np.load(tmp_path / "par" / path.relative_to(tmp_path / "seq")))


def test_jobs_in_threads_of_one_process_match_sequential(tmp_path):
    # cleanlab draws majority-vote ties from NumPy's global generator: threads must not share those draws
    config = toy_config(rounds=3, seeds=[0, 1])
    run_grid(config, results_dir=tmp_path / "seq", backend="sequential", progress=False)
    run_grid(config, results_dir=tmp_path / "threads", n_jobs=4, backend="threading", progress=False)
    for path in (tmp_path / "seq").rglob("*.npy"):
        assert np.array_equal(np.load(path), np.load(tmp_path / "threads" / path.relative_to(tmp_path / "seq"))), path


def test_dask_backend_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    config = toy_config(rounds=2, seeds=[0])
    run_grid(config, results_dir=tmp_path / "seq", backend="sequential", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        report = run_grid(config, results_dir=tmp_path / "dask", n_jobs=2, backend="dask", scheduler=cluster.scheduler_address, progress=False)
    assert len(report.ran) == 2
    for path in (tmp_path / "seq").rglob("*.npy"):
        assert np.array_equal(np.load(path), np.load(tmp_path / "dask" / path.relative_to(tmp_path / "seq")))


@pytest.mark.parametrize(
    "mutate, error, message",
    [
        (lambda c: c["models"]["extra_trees"].update(methods=["entropi"]), KeyError, "Did you mean 'entropy'"),
        (lambda c: c["models"].update(forest={"methods": ["random"]}), KeyError, "unknown model 'forest'"),
        (lambda c: c["models"]["extra_trees"].update(methods=["disagreement"]), ConfigError, "needs an ensemble"),
        (lambda c: c["loop"].update(batch_size=10_000), ConfigError, "larger than the pool"),
        (lambda c: c["loop"].update(rounds=100, allow_relabel=False), ConfigError, "unlabeled examples"),
        (lambda c: c["loop"].update(speed=3), ConfigError, "invalid loop settings"),
        (lambda c: c["data"].update(trace=3), ConfigError, "invalid data settings"),
        (lambda c: c["dataset"].update(name="imagenet_zz"), KeyError, "unknown dataset"),
        (lambda c: c.update(seeds=[-1]), ConfigError, "seeds"),
        (lambda c: c.update(colour="red"), ConfigError, "unknown key"),
    ],
)
def test_bad_configs_fail_before_any_work(tmp_path, mutate, error, message):
    config = toy_config()
    mutate(config)
    with pytest.raises(error, match=message):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert not list(tmp_path.rglob("*"))


def test_missing_data_file_fails_before_any_work(tmp_path, monkeypatch):
    from active_learning.datasets import DatasetFileNotFoundError

    monkeypatch.delenv("AL_DATA_MIRROR", raising=False)
    config = toy_config()
    config["dataset"] = {"name": "wall_robot"}
    from active_learning.tasks import DataAccess

    with pytest.raises(DatasetFileNotFoundError, match="sensor_readings_4.data"):
        run_grid(config, results_dir=tmp_path / "r", data=DataAccess(root=str(tmp_path / "empty"), download=False), progress=False)
    assert not (tmp_path / "r").exists()


def test_expand_jobs_variants_and_method_entries():
    config = toy_config(
        variants=[{"name": "a", "data": {"trace_fraction": 0.9}}, {"name": "b"}],
        models={"extra_trees": {"methods": ["random", {"name": "single", "method": "entropy", "loop": {"allow_relabel": False}}]}},
    )
    validate_structure(config)
    jobs = expand_jobs(config)
    assert len(jobs) == 2 * 2 * 2
    single = [j for j in jobs if j.method == "single"][0]
    assert single.resolved["method"] == "entropy" and single.resolved["loop"]["allow_relabel"] is False
    assert [j for j in jobs if j.variant == "a"][0].resolved["data"]["trace_fraction"] == 0.9
    assert job_dir(single, "results").as_posix() == f"results/toy/{single.variant}/extra_trees/single"
    with pytest.raises(ConfigError, match="no model"):
        expand_jobs(config, models=["svm"])
    with pytest.raises(ConfigError, match="not in this benchmark"):
        expand_jobs(config, methods=["bald"])


def test_parse_overrides():
    assert parse_overrides(["loop.rounds=3", "data.seed=7", "name=x"]) == {"loop": {"rounds": 3}, "data": {"seed": 7}, "name": "x"}
    with pytest.raises(ConfigError):
        parse_overrides(["rounds"])


def nas_config(**overrides):
    config = {
        "name": "nas_toy",
        "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
        "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.4}, "budget": {"samples_per_class": [1, 2, 3]}},
        "loop": {"filter": "knn"},
        "seeds": [0],
        "models": {"one_nn": {"methods": ["random", {"name": "npc", "method": "npc", "params": {"delta": 0.6}}]}},
    }
    config.update(overrides)
    return config


def test_noisy_single_annotator_task_runs_in_the_same_runner(tmp_path):
    from active_learning.budgets import cumulative_budget
    from active_learning.loops.noisy_single_annotator import METRICS as NOISY_METRICS

    report = run_grid(nas_config(), results_dir=tmp_path, backend="sequential", progress=False)
    assert len(report.ran) == 2
    folder = tmp_path / "nas_toy" / "one_nn" / "npc"
    meta = json.loads((folder / "run_seed0.json").read_text())
    assert meta["rounds"] == 3 and set(meta["per_round_metrics"]) == set(NOISY_METRICS)
    n_labeled = np.load(folder / "n_labeled_seed0.npy")
    assert n_labeled.tolist() == [cumulative_budget(s, 5, 0.4) for s in (1, 2, 3)]
    selected = np.load(folder / "selected_seed0.npy")
    assert selected.size == n_labeled[-1] and np.unique(selected).size == selected.size
    again = run_grid(nas_config(), results_dir=tmp_path / "again", backend="sequential", progress=False)
    assert again.ran and np.array_equal(selected, np.load(tmp_path / "again" / "nas_toy" / "one_nn" / "npc" / "selected_seed0.npy"))


def test_a_finished_grid_loads_no_data_and_an_unfinished_one_validates_what_will_run(tmp_path, monkeypatch):
    """A fresh clone with committed results: rerunning the grid only skips (and the figures redraw); the data (the
    dataset, its features) is loaded only to validate jobs that will run."""
    from active_learning.tasks import NoisySingleAnnotatorTask

    first = run_grid(nas_config(), results_dir=tmp_path, backend="sequential", progress=False)
    assert len(first.ran) == 2
    validated = []

    def no_data(self, job, data):
        validated.append(job.key)
        raise FileNotFoundError("the dataset is not on this machine")

    monkeypatch.setattr(NoisySingleAnnotatorTask, "_validated_features", no_data)
    again = run_grid(nas_config(), results_dir=tmp_path, backend="sequential", progress=False)
    assert not again.ran and len(again.skipped) == 2 and not validated
    (tmp_path / "nas_toy" / "one_nn" / "npc" / "run_seed0.json").unlink()  # that job must run again
    with pytest.raises(FileNotFoundError, match="not on this machine"):
        run_grid(nas_config(), results_dir=tmp_path, backend="sequential", progress=False)
    assert validated == ["nas_toy/one_nn/npc#seed0"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["data"].update(noise={"type": "gaussian", "rate": 0.2}), "unknown noise model"),
        (lambda c: c["data"].update(budget={"samples_per_class": [1, 500]}), "budget"),
        (lambda c: c["data"].update(budget={}), "samples_per_class or per_round"),
        (lambda c: c["loop"].update(filter="oracle"), "unknown noise filter"),
        (lambda c: c["models"]["one_nn"].update(methods=["probcoverr"]), "Did you mean"),
        (lambda c: c["data"].update(noise={"type": "real"}), "noisy labels"),
    ],
)
def test_noisy_task_rejects_bad_configs_before_work(tmp_path, mutate, message):
    config = nas_config()
    mutate(config)
    with pytest.raises((ValueError, KeyError), match=message):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert not list(tmp_path.rglob("*.npy"))
