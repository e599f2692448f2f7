"""Spreading a grid's jobs over devices (``run_grid(devices=...)``, ``run --devices``), on a CPU-only machine.

GPUs are simulated: the visible CUDA count is monkeypatched, and the jobs either are fakes that record the device
they see, or never touch torch with it (the multi-annotator toy trains extra-trees; the NAS toy's linear probe has
its device resolution patched to record the device and train on the CPU).
"""

import json
import threading
import time
from collections import Counter

import numpy as np
import pytest
import torch
import yaml

from active_learning.cli import main
from active_learning.learners import LinearProbe, ResNet18Cifar
from active_learning.runner import run_grid
from active_learning.tasks import MultiAnnotatorTask
from active_learning.utils import devices as devices_module
from active_learning.utils.devices import DeviceError, current_device, learner_device, resolve_devices, use_device

from conftest import toy_config

TWO_GPUS = ["cuda:0", "cuda:1"]


@pytest.fixture
def gpus(monkeypatch):
    """``gpus(n)``: pretend this machine sees ``n`` CUDA devices (in this process)."""

    def set_count(n):
        monkeypatch.setattr(devices_module, "cuda_device_count", lambda: n)

    return set_count


def sidecars(root):
    return {p.relative_to(root).as_posix(): json.loads(p.read_text()) for p in sorted(root.rglob("run_seed*.json"))}


def arrays(root):
    return {p.relative_to(root).as_posix(): np.load(p) for p in sorted(root.rglob("*.npy"))}


class FakeJobs:
    """Replaces the multi-annotator task's ``run``: records the device each job sees and how many jobs run on each
    device at once; returns zero curves."""

    def __init__(self, monkeypatch, sleep=0.0):
        self.sleep = sleep
        self.seen = {}
        self.active = Counter()
        self.peak = Counter()
        self.lock = threading.Lock()
        monkeypatch.setattr(MultiAnnotatorTask, "run", self._run(), raising=True)

    def _run(self):
        fake = self

        def run(task, resolved, data, on_round=None):
            device = current_device()
            with fake.lock:
                fake.active[device] += 1
                fake.peak[device] = max(fake.peak[device], fake.active[device])
            time.sleep(fake.sleep)
            with fake.lock:
                fake.active[device] -= 1
            fake.seen[(resolved["method_name"], resolved["seed"])] = (device, current_device())
            rounds = resolved["loop"]["rounds"]
            return {name: np.zeros(rounds) for name in MultiAnnotatorTask.metrics}

        return run


# ----------------------------------------------------------------------------------------------------- devices


def test_resolve_devices(gpus):
    gpus(2)
    assert resolve_devices(None) is None
    assert resolve_devices("auto") == TWO_GPUS
    assert resolve_devices("cuda:1, cuda:0") == ["cuda:1", "cuda:0"]
    assert resolve_devices(["cpu", "cuda:1"]) == ["cpu", "cuda:1"]
    with pytest.raises(DeviceError, match="cuda:2 not visible: this machine has 2 CUDA device"):
        resolve_devices("cuda:0,cuda:2")
    with pytest.raises(DeviceError, match="more than once; use --jobs-per-device"):
        resolve_devices("cuda:0,cuda:0")
    with pytest.raises(DeviceError, match="unknown device 'cuda'"):
        resolve_devices("cuda")
    with pytest.raises(DeviceError, match="unknown device 'gpu0'"):
        resolve_devices("gpu0")
    assert resolve_devices("cuda:5", check_visible=False) == ["cuda:5"]  # a remote Dask cluster's GPUs
    with pytest.raises(DeviceError, match="remote Dask"):
        resolve_devices("auto", check_visible=False)
    gpus(0)
    assert resolve_devices("auto") == ["cpu"] and resolve_devices("cpu") == ["cpu"]
    with pytest.raises(DeviceError, match=r"^no CUDA device visible; use --devices cpu or auto$"):
        resolve_devices("cuda:0")


def test_learners_with_device_auto_train_on_the_jobs_device():
    assert current_device() is None
    with use_device("cuda:1"):
        assert current_device() == "cuda:1"
        assert ResNet18Cifar()._device() == torch.device("cuda:1")
        assert learner_device(LinearProbe().device, unassigned="cpu") == torch.device("cuda:1")
        assert ResNet18Cifar(device="cpu")._device() == torch.device("cpu")  # an explicit device wins
        assert learner_device("cuda:0") == torch.device("cuda:0")
    assert current_device() is None
    assert learner_device(LinearProbe().device, unassigned="cpu") == torch.device("cpu")  # as before: the CPU
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert ResNet18Cifar()._device().type == expected
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    with use_device("cpu"):
        probe = LinearProbe(epochs=1, batch_size=10).fit(X, y, rng)
    assert probe.predict_proba(X).shape == (20, 2)  # predicts where the layer is, outside the job too


# ----------------------------------------------------------------------------------------------------- the grid


@pytest.mark.parametrize("backend", ["threading", "sequential"])
def test_each_job_sees_one_device_balanced(tmp_path, monkeypatch, gpus, backend):
    gpus(2)
    fake = FakeJobs(monkeypatch)
    config = toy_config(rounds=2, seeds=[0, 1, 2])  # 2 methods x 3 seeds = 6 jobs
    report = run_grid(config, results_dir=tmp_path, devices="auto", backend=backend, progress=False)
    assert report.devices == TWO_GPUS and report.n_jobs == 2 and len(report.ran) == 6
    assert all(seen[0] == seen[1] and seen[0] in TWO_GPUS for seen in fake.seen.values())
    metas = sidecars(tmp_path)
    for meta in metas.values():
        assert meta["device"] == fake.seen[(meta["config"]["method_name"], meta["seed"])][0]
    counts = Counter(meta["device"] for meta in metas.values())
    assert set(counts) == set(TWO_GPUS) and max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("jobs_per_device, n_jobs", [(1, 4), (2, None)])
def test_at_most_jobs_per_device_run_at_once(tmp_path, monkeypatch, gpus, jobs_per_device, n_jobs):
    gpus(2)
    fake = FakeJobs(monkeypatch, sleep=0.25)
    config = toy_config(rounds=2, seeds=[0, 1, 2, 3])  # 8 jobs, 4 threads
    report = run_grid(config, results_dir=tmp_path, devices=TWO_GPUS, jobs_per_device=jobs_per_device, n_jobs=n_jobs,
                      backend="threading", progress=False)
    assert report.n_jobs == 4 and len(report.ran) == 8
    assert set(fake.peak) == set(TWO_GPUS)
    assert max(fake.peak.values()) <= jobs_per_device  # without the slot locks 4 threads put 2 jobs on a device
    assert not list(tmp_path.glob("al-devices-*"))


def test_cpu_fallback_without_cuda(tmp_path, monkeypatch, gpus):
    gpus(0)
    fake = FakeJobs(monkeypatch)
    report = run_grid(toy_config(rounds=2, seeds=[0]), results_dir=tmp_path, devices="auto", backend="sequential",
                      progress=False)
    assert report.devices == ["cpu"] and report.n_jobs == 1
    assert {seen for seen, _ in fake.seen.values()} == {"cpu"}
    assert {meta["device"] for meta in sidecars(tmp_path).values()} == {"cpu"}
    with pytest.raises(DeviceError, match="no CUDA device visible; use --devices cpu or auto"):
        run_grid(toy_config(), results_dir=tmp_path / "none", devices="cuda:0", backend="sequential", progress=False)
    assert not (tmp_path / "none").exists()
    with pytest.raises(DeviceError, match="needs --devices"):
        run_grid(toy_config(), results_dir=tmp_path / "none", jobs_per_device=2, backend="sequential", progress=False)


def test_the_device_is_not_part_of_a_jobs_identity(tmp_path, gpus):
    gpus(2)
    config = toy_config(rounds=2, seeds=[0])
    run_grid(config, results_dir=tmp_path / "plain", backend="sequential", progress=False)
    report = run_grid(config, results_dir=tmp_path / "gpus", devices=TWO_GPUS, backend="sequential", progress=False)
    assert len(report.ran) == 2
    plain, spread = sidecars(tmp_path / "plain"), sidecars(tmp_path / "gpus")
    assert plain.keys() == spread.keys()  # same results paths
    for path, meta in spread.items():
        assert meta["config_hash"] == plain[path]["config_hash"] and meta["config"] == plain[path]["config"]
        assert meta["device"] in TWO_GPUS and "device" not in plain[path]
    a, b = arrays(tmp_path / "plain"), arrays(tmp_path / "gpus")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    # computed on other devices (or none), the jobs are the same jobs: all finished
    again = run_grid(config, results_dir=tmp_path / "gpus", devices=["cuda:1"], backend="sequential", progress=False)
    assert not again.ran and len(again.skipped) == 2
    assert not run_grid(config, results_dir=tmp_path / "gpus", backend="sequential", progress=False).ran


def test_loky_workers_get_their_jobs_device(tmp_path, gpus):
    gpus(2)  # checked in this process; the workers only read the device they are given (they never use CUDA here)
    config = toy_config(rounds=2, seeds=[0])
    run_grid(config, results_dir=tmp_path / "seq", backend="sequential", progress=False)
    report = run_grid(config, results_dir=tmp_path / "loky", devices="auto", backend="loky", progress=False)
    assert report.n_jobs == 2 and len(report.ran) == 2
    assert sorted(meta["device"] for meta in sidecars(tmp_path / "loky").values()) == TWO_GPUS
    a, b = arrays(tmp_path / "seq"), arrays(tmp_path / "loky")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def nas_linear_probe_config():
    return {
        "name": "nas_toy",
        "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
        "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.4},
                 "budget": {"samples_per_class": [1, 2]}},
        "loop": {"filter": "none"},
        "seeds": [0, 1],
        "models": {"linear_probe": {"params": {"epochs": 2}, "methods": ["random"]}},
    }


def test_nas_linear_probe_trains_on_the_assigned_device(tmp_path, monkeypatch, gpus):
    from active_learning.learners import feature_learners

    gpus(2)
    wanted = []

    def recording(device="auto", unassigned=None):
        wanted.append((current_device(), learner_device(device, unassigned)))
        return torch.device("cpu")  # no GPU here: train on the CPU, but record where it would have gone

    config = nas_linear_probe_config()
    run_grid(config, results_dir=tmp_path / "plain", backend="sequential", progress=False)
    monkeypatch.setattr(feature_learners, "learner_device", recording)
    report = run_grid(config, results_dir=tmp_path / "gpus", devices=TWO_GPUS, n_jobs=2, backend="threading",
                      progress=False)
    assert len(report.ran) == 2 and wanted
    assert all(torch.device(assigned) == resolved for assigned, resolved in wanted)
    assert {assigned for assigned, _ in wanted} == set(TWO_GPUS)
    assert sorted(meta["device"] for meta in sidecars(tmp_path / "gpus").values()) == TWO_GPUS
    a, b = arrays(tmp_path / "plain"), arrays(tmp_path / "gpus")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------------------------------- the CLI


def _toy_yaml(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_config(rounds=2, seeds=[0])))
    return str(path)


def test_cli_devices_without_cuda_is_one_line_before_any_job(tmp_path, monkeypatch, gpus, capsys):
    gpus(0)
    fake = FakeJobs(monkeypatch)
    argv = ["run", _toy_yaml(tmp_path), "--results-dir", str(tmp_path / "res"), "--no-progress", "--no-figures"]
    assert main(argv + ["--devices", "cuda:0"]) == 2
    err = capsys.readouterr().err
    assert err == "error: no CUDA device visible; use --devices cpu or auto\n"
    assert not fake.seen and not (tmp_path / "res").exists()
    assert main(argv + ["--jobs-per-device", "2"]) == 2
    assert "--jobs-per-device needs --devices" in capsys.readouterr().err
    assert main(argv + ["--devices", "auto"]) == 0
    assert "n_jobs=1, backend=loky, devices=cpu x1" in capsys.readouterr().out
    assert {seen for seen, _ in fake.seen.values()} == {"cpu"}


def test_cli_spreads_over_visible_gpus(tmp_path, monkeypatch, gpus, capsys):
    gpus(2)
    FakeJobs(monkeypatch)
    argv = ["run", _toy_yaml(tmp_path), "--results-dir", str(tmp_path / "res"), "--no-progress", "--no-figures",
            "--backend", "threading", "--devices", "auto", "--jobs-per-device", "2"]
    assert main(argv) == 0
    assert "n_jobs=4, backend=threading, devices=cuda:0,cuda:1 x2" in capsys.readouterr().out
    assert sorted(meta["device"] for meta in sidecars(tmp_path / "res").values()) == TWO_GPUS
