"""Results users can trust on their own data: caches, devices, disks and workers (issue 19, part B).

One test (or a few) per case, each failing on the code before the fix:

1. the strategies' disk cache (δ-graphs, MaxHerding kernels) follows ``--data-root``;
2. MaxHerding's stored kernel matrix is refused up front when it cannot fit (limit, free disk, memory);
3. a ``precomputed`` feature file of the wrong length is refused with both sizes;
4. ``features --indices``: empty, non-integer, 2-D, negative, repeated and out-of-range indices are refused;
5. a corrupted resumable feature chunk is recomputed (with a warning), never assembled;
6. a GPU this machine lacks is one line up front (``features``/``simclr --device``, a learner's ``device``,
   ``--devices auto``);
7. a full disk is one line that names the file and the space;
8. loky workers die with their driver (``kill -9``).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from active_learning.cli import ConfigError, format_error, main, parse_indices
from active_learning.datasets._images import ArrayImages, ImageDataset
from active_learning.encoders import get_encoder
from active_learning.features import cache as C
from active_learning.features import extract_features
from active_learning.runner import run_grid
from active_learning.strategies import get_strategy
from active_learning.strategies import _disk_cache as D
from active_learning.strategies import maxherding as MH
from active_learning.tasks import DataAccess
from active_learning.utils import devices as devices_module
from active_learning.utils import io as io_module
from active_learning.utils import workers
from active_learning.utils.devices import DeviceError, check_torch_device
from active_learning.utils.io import DiskFullError, atomic_save_npy, atomic_write_text

import image_helpers as H

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_gpu(monkeypatch):
    """This machine sees no CUDA device (whatever it really has)."""
    monkeypatch.setattr(devices_module, "cuda_device_count", lambda: 0)


def _dataset(n=20, name="toy"):
    return ImageDataset(name, np.arange(n) % 3, ArrayImages(H.random_images(n)), ["a", "b", "c"], "train",
                        source={"jpeg_compressed": False, "pixels_md5": "x"})


def _nas_config(methods, **changes):
    config = {
        "name": "trust_toy",
        "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 30, "n_features": 8, "seed": 1},
        "data": {"seed": 0, "test_fraction": 0.3, "noise": {"type": "symmetric", "rate": 0.4},
                 "budget": {"samples_per_class": [1, 2]}},
        "loop": {"filter": "knn"},
        "seeds": [0],
        "models": {"one_nn": {"methods": methods}},
    }
    config.update(changes)
    return config


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


# ------------------------------------------------------------------------------------ 1. caches follow --data-root


GRAPH_METHODS = [
    {"name": "probcover", "method": "probcover", "params": {"delta": 0.6, "disk_cache_min_points": 0}},
    {"name": "mh", "method": "maxherding", "params": {"sigma": 0.6, "kernel_backend": "stored",
                                                      "disk_cache_min_points": 0}},
]


@pytest.mark.parametrize("backend", ["sequential", "threading"])
def test_graph_and_kernel_caches_follow_the_data_root(tmp_path, monkeypatch, backend):
    monkeypatch.delenv("AL_DATA_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "elsewhere"
    report = run_grid(_nas_config(GRAPH_METHODS), results_dir=tmp_path / "res", backend=backend, n_jobs=2,
                      data=DataAccess(root=str(root)), progress=False)
    assert len(report.ran) == 2
    assert not (tmp_path / "datasets").exists()  # nothing in ./datasets/graphs
    kinds = {json.loads(p.read_text())["kind"] for p in (root / "graphs").glob("*.json")}
    assert kinds == {"delta_graph", "maxherding_kernel"}
    assert list((root / "graphs").glob("*.matrix.npy"))


def test_cli_data_root_moves_the_graph_cache(tmp_path, monkeypatch, capsys):
    import yaml

    monkeypatch.delenv("AL_DATA_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(_nas_config(GRAPH_METHODS[:1])))
    code = main(["run", "cfg.yaml", "--data-root", str(tmp_path / "root"), "--results-dir", "res",
                 "--backend", "sequential", "--no-progress", "--no-figures"])
    assert code == 0, capsys.readouterr().err
    assert list((tmp_path / "root" / "graphs").glob("*.npz")) and not (tmp_path / "datasets").exists()


def test_use_data_root_is_scoped(tmp_path, monkeypatch):
    monkeypatch.setenv("AL_DATA_ROOT", str(tmp_path / "env"))
    assert D.default_graph_root() == tmp_path / "env" / "graphs"
    with D.use_data_root(tmp_path / "run"):
        assert D.default_graph_root() == tmp_path / "run" / "graphs"
        assert D.resolve_cache_dir(None) == tmp_path / "run" / "graphs"
        with D.use_data_root(None):
            assert D.default_graph_root() == tmp_path / "env" / "graphs"
    assert D.default_graph_root() == tmp_path / "env" / "graphs"


# --------------------------------------------------------------------------- 2. the stored kernel is bounded


def test_stored_kernel_larger_than_the_free_disk_is_refused_before_any_job(tmp_path, monkeypatch):
    monkeypatch.setattr(MH, "free_bytes", lambda path: 50_000)  # 50 kB free; the 105 x 105 matrix needs 44 kB... x2
    methods = [{"name": "mh", "method": "maxherding",
                "params": {"sigma": 0.6, "kernel_backend": "stored", "disk_cache_min_points": 0}}]
    config = _nas_config(methods, dataset={"name": "sphere_clusters", "n_classes": 5, "n_per_cluster": 50,
                                           "n_features": 8, "seed": 1})
    with pytest.raises(ConfigError, match=r"kernel matrix \(.* (kB|MB)\) to .*graphs, which has 50\.0 kB free.*"
                                          r"kernel_backend='dense'") as info:
        run_grid(config, results_dir=tmp_path / "res", backend="sequential",
                 data=DataAccess(root=str(tmp_path / "root")), progress=False)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.rglob("*.npy"))  # no job ran, no matrix written


def test_check_resources_limits_disk_and_memory(tmp_path, monkeypatch):
    strategy = MH.MaxHerding(sigma=0.5, kernel_backend="stored", cache_dir=tmp_path)
    monkeypatch.setattr(MH, "free_bytes", lambda path: 2 * 10**9)
    with pytest.raises(ValueError, match=r"50000 x 50000 kernel matrix \(10\.0 GB\).*2\.0 GB free"):
        strategy.check_resources(50_000)
    with pytest.raises(ValueError, match="max_stored_points=60000"):
        strategy.check_resources(60_001)
    strategy.check_resources(4_000)  # below disk_cache_min_points: in memory (64 MB)
    MH.MaxHerding(sigma=0.5).check_resources(50_000)  # auto backend: no matrix at all
    # a matrix of this size already stored there: no new space needed
    n = 6000
    with open(tmp_path / "0123456789abcdef.matrix.npy", "wb") as handle:
        handle.truncate(128 + 4 * n * n)  # sparse
    strategy.check_resources(n)
    with pytest.raises(ValueError, match="2.0 GB free"):  # that file is not of this size
        strategy.check_resources(50_000)
    # without the disk cache the matrix lives in memory
    monkeypatch.setattr(MH, "_available_memory", lambda: 10**9)
    with pytest.raises(ValueError, match=r"in memory, and 1\.0 GB is available"):
        MH.MaxHerding(sigma=0.5, kernel_backend="stored", cache_dir=False).check_resources(20_000)
    MH.MaxHerding(sigma=0.5, kernel_backend="stored", cache_dir=False).check_resources(10_000)  # 400 MB


def test_nas_wrapper_checks_its_base(tmp_path, monkeypatch):
    monkeypatch.setattr(MH, "free_bytes", lambda path: 10**6)
    nas = get_strategy("maxherding_nas", sigma=0.5, kernel_backend="stored", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="10.0 GB"):
        nas.check_resources(50_000)


def test_cifar10n_benchmark_still_opts_into_the_stored_kernel(monkeypatch, tmp_path):
    from active_learning.config import load_config

    config = load_config("cifar10n")
    entries = [m for m in config["models"]["linear_probe"]["methods"] if isinstance(m, dict)
               and (m.get("params") or {}).get("kernel_backend") == "stored"]
    assert {m["name"] for m in entries} == {"maxherding", "maxherding_nas"}
    monkeypatch.setattr(MH, "free_bytes", lambda path: 20 * 10**9)  # a disk with room for the 10 GB matrix
    for entry in entries:
        strategy = get_strategy(entry["method"], **entry["params"])
        with D.use_data_root(tmp_path):
            strategy.check_resources(50_000)


def test_matrix_write_checks_the_disk_before_filling(tmp_path, monkeypatch):
    monkeypatch.setattr(io_module, "free_bytes", lambda path: 1000)
    filled = []

    def fill(out):
        filled.append(True)
        return {"row_sums": np.zeros(out.shape[0])}

    with pytest.raises(DiskFullError, match=r"needs about 40\.1 kB, 1\.0 kB free") as info:
        D.load_or_build_matrix(tmp_path, "maxherding_kernel", "f" * 64, {"sigma": 1.0}, (100, 100), fill)
    assert not filled and "matrix.npy" in info.value.filename
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".lock"]  # no temporary file left


# -------------------------------------------------------------------------- 3. precomputed files of the wrong length


@pytest.mark.parametrize("rows", [20, 40])
def test_precomputed_file_must_match_the_split_of_a_subset(tmp_path, rows):
    np.save(tmp_path / "f.npy", np.ones((rows, 4), np.float32))
    encoder = get_encoder("precomputed", path=tmp_path / "f.npy")
    subset = _dataset(n=30).subset(np.array([2, 5, 7, 11]))
    with pytest.raises(ValueError, match=rf"has {rows} rows but dataset toy/train is a subset of 4 images of a split "
                                         rf"of 30") as info:
        encoder.features_for(subset)
    assert "\n" not in str(info.value)
    np.save(tmp_path / "full.npy", np.arange(120, dtype=np.float32).reshape(30, 4))
    good = get_encoder("precomputed", path=tmp_path / "full.npy").features_for(subset)
    np.testing.assert_array_equal(good[:, 0], [8, 20, 28, 44])


def test_precomputed_file_of_another_length_than_the_dataset(tmp_path):
    np.save(tmp_path / "short.npy", np.ones((19, 4), np.float32))
    with pytest.raises(ValueError, match=r"has 19 rows but dataset toy/train has 20 images"):
        extract_features(_dataset(), get_encoder("precomputed", path=tmp_path / "short.npy"), root=tmp_path / "c",
                         progress=False)
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").rglob("*.npy"))


# ----------------------------------------------------------------------------------- 4. features --indices


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: "", "is empty"),
        (lambda d: "  ", "is empty"),
        (lambda d: "5:2", "selects no image"),
        (lambda d: "1,,2", "comma list"),
        (lambda d: "1.5,2", "comma list"),
        (lambda d: "-3,2", "index -3 is negative"),
        (lambda d: "4,1,4", "index 4 is listed more than once"),
        (lambda d: _npy(d, np.array([1.7, 2.2])), "1.7, not an integer"),
        (lambda d: _npy(d, np.array([[1, 2], [3, 4]])), r"shape \(2, 2\); expected a 1-D"),
        (lambda d: _npy(d, np.array([], dtype=np.int64)), "selects no image"),
        (lambda d: _npy(d, np.array([True, False])), "dtype bool"),
        (lambda d: _txt(d, "1.5\n2\n"), "'1.5', not an integer"),
        (lambda d: _txt(d, ""), "selects no image"),
    ],
)
def test_bad_indices_are_refused(tmp_path, make, message):
    with pytest.raises(ConfigError, match=message):
        parse_indices(make(tmp_path))


def _npy(folder, values):
    np.save(folder / "idx.npy", values)
    return str(folder / "idx.npy")


def _txt(folder, text):
    (folder / "idx.txt").write_text(text)
    return str(folder / "idx.txt")


def test_good_indices(tmp_path):
    assert parse_indices("2:5").tolist() == [2, 3, 4]
    assert parse_indices("7, 1,3").tolist() == [7, 1, 3]
    assert parse_indices(_npy(tmp_path, np.array([3.0, 1.0]))).tolist() == [3, 1]  # whole numbers stored as floats
    assert parse_indices(_txt(tmp_path, "4\n0\n")).tolist() == [4, 0]


def test_cli_empty_indices_extract_nothing(monkeypatch, capsys):
    monkeypatch.setattr("active_learning.features.features_main",
                        lambda *a, **k: pytest.fail("extraction started"))
    assert main(["features", "--dataset", "cifar10", "--indices", ""]) == 2
    assert "--indices is empty" in _one_error_line(capsys)


def test_out_of_range_indices_name_the_index_before_extraction(tmp_path, monkeypatch):
    from active_learning.features.report import features_main

    monkeypatch.setattr("active_learning.datasets.load", lambda *a, **k: _dataset(n=20))
    monkeypatch.setattr(C, "extract_features", lambda *a, **k: pytest.fail("extraction started"))
    with pytest.raises(ValueError, match=r"25 is past the end of cifar10/train, which has 20 images \(0\.\.19\)"):
        features_main("cifar10", "efficientnet_lite0", root=tmp_path, splits=("train",), indices=np.array([3, 25]),
                      progress=False)


# ---------------------------------------------------------------------------- 5. resumable chunks are verified


def _killed_run(tmp_path, n=25):
    ds = _dataset(n=n)
    with pytest.raises(KeyboardInterrupt):
        extract_features(ds, H.TinyEncoder(fail_after=2), root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    chunk_dir = C.cached_path(ds, H.TinyEncoder(), tmp_path).with_suffix(".chunks")
    return ds, chunk_dir


def test_a_corrupted_chunk_is_recomputed_not_assembled(tmp_path):
    ds, chunk_dir = _killed_run(tmp_path)
    assert sorted(p.name for p in chunk_dir.glob("chunk_*")) == [
        "chunk_000000.npy", "chunk_000000.sha256", "chunk_000001.npy", "chunk_000001.sha256"]
    chunk = chunk_dir / "chunk_000001.npy"
    raw = bytearray(chunk.read_bytes())
    raw[-4:] = np.float32(123.0).tobytes()  # a finite value: the shape, dtype and finite checks all pass
    chunk.write_bytes(bytes(raw))
    encoder = H.TinyEncoder()
    with pytest.warns(UserWarning, match=r"chunk_000001\.npy does not match the sha256.*recomputing it"):
        features = extract_features(ds, encoder, root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    assert encoder.calls == 4  # chunk 1 again, and chunks 2-4
    fresh = extract_features(ds, H.TinyEncoder(), root=tmp_path / "fresh", batch_size=5, chunk_size=5,
                             progress=False)
    np.testing.assert_array_equal(features, fresh)
    assert C.read_sidecar(C.cached_path(ds, encoder, tmp_path))["timing"]["resumed_chunks"] == 1


def test_chunks_written_before_digests_existed_are_still_resumed(tmp_path):
    ds, chunk_dir = _killed_run(tmp_path)
    for digest in chunk_dir.glob("*.sha256"):
        digest.unlink()  # as the chunks of an extraction started by the old code
    encoder = H.TinyEncoder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features = extract_features(ds, encoder, root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    assert encoder.calls == 3  # chunks 2-4 only
    fresh = extract_features(ds, H.TinyEncoder(), root=tmp_path / "fresh", batch_size=5, chunk_size=5,
                             progress=False)
    np.testing.assert_array_equal(features, fresh)


def test_a_chunk_damaged_after_encoding_is_recomputed_before_assembly(tmp_path, monkeypatch):
    ds = _dataset(n=10)
    original = C._encode_chunks
    damaged = []

    def encode_then_damage(dataset, encoder, chunks, *args):
        count = original(dataset, encoder, chunks, *args)
        if chunks and not damaged:
            path = C.cached_path(ds, encoder, tmp_path).with_suffix(".chunks") / "chunk_000000.npy"
            raw = bytearray(path.read_bytes())
            raw[-1] ^= 0x01
            path.write_bytes(bytes(raw))
            damaged.append(path)
        return count

    monkeypatch.setattr(C, "_encode_chunks", encode_then_damage)
    with pytest.warns(UserWarning, match="chunk_000000.npy does not match the sha256"):
        features = extract_features(ds, H.TinyEncoder(), root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    monkeypatch.undo()
    np.testing.assert_array_equal(
        features, extract_features(ds, H.TinyEncoder(), root=tmp_path / "f", batch_size=5, chunk_size=5,
                                   progress=False))
    assert C.read_sidecar(C.cached_path(ds, H.TinyEncoder(), tmp_path))["timing"]["recomputed_chunks"] == 1


def test_verify_chunk(tmp_path):
    path = tmp_path / "chunk_000000.npy"
    good = np.ones((5, 3), np.float32)
    atomic_write_text(C.chunk_digest_path(path), atomic_save_npy(path, good) + "\n")
    assert C.verify_chunk(path, 5, 3)[1] == ""
    assert "rows" in C.verify_chunk(path, 4)[1]
    assert "columns" in C.verify_chunk(path, 5, 4)[1]
    for bad, why in ((good.astype(np.float64), "dtype float64"), (np.full((5, 3), np.nan, np.float32), "NaN")):
        np.save(path, bad)
        C.chunk_digest_path(path).unlink(missing_ok=True)
        assert why in C.verify_chunk(path, 5)[1]
    path.write_bytes(b"\x93NUMPY garbage")
    assert "cannot be loaded" in C.verify_chunk(path, 5)[1]
    assert C.verify_chunk(tmp_path / "none.npy", 5)[1] == "is missing"


def test_a_finished_features_file_of_the_old_code_is_kept(tmp_path):
    """A cache entry written without chunk digests (its sidecar, its sha256) is loaded as it is."""
    ds, encoder = _dataset(), H.TinyEncoder()
    first = np.array(extract_features(ds, encoder, root=tmp_path, batch_size=10, chunk_size=10, progress=False))
    again = H.TinyEncoder()
    np.testing.assert_array_equal(extract_features(ds, again, root=tmp_path, progress=False), first)
    assert again.calls == 0


# ----------------------------------------------------------------------------------- 6. devices checked up front


def test_check_torch_device(no_gpu):
    assert check_torch_device(None) is None and check_torch_device("auto") == "auto"
    assert check_torch_device("cpu") == "cpu"
    for name in ("cuda", "cuda:1"):
        with pytest.raises(DeviceError, match=rf"--device {name}: no GPU found \(.*\); use cpu"):
            check_torch_device(name, "--device")
    with pytest.raises(DeviceError, match="not a torch device"):
        check_torch_device("gpu0", "--device")


@pytest.mark.parametrize("command", [["features", "--dataset", "cifar10"], ["simclr", "--dataset", "cifar10"]])
def test_cli_device_cuda_without_a_gpu_is_one_line(monkeypatch, capsys, no_gpu, command):
    def no_data(*args, **kwargs):
        raise AssertionError("data loaded")

    monkeypatch.setattr("active_learning.datasets.load", no_data)
    assert main([*command, "--device", "cuda", "--no-download"]) == 2
    line = _one_error_line(capsys)
    assert "--device cuda: no GPU found" in line and "use cpu" in line


def test_extract_features_on_a_missing_gpu_is_a_device_error(tmp_path, no_gpu):
    encoder = H.TinyEncoder()
    with pytest.raises(DeviceError, match="tiny: device cuda: no GPU found"):
        extract_features(_dataset(), encoder, root=tmp_path, device="cuda", progress=False)
    assert encoder.calls == 0 and not list(tmp_path.rglob("*.npy"))
    with pytest.raises(DeviceError, match="no GPU found"):
        get_encoder("efficientnet_lite0", device="cuda:0")


def test_simclr_on_a_missing_gpu_fails_before_training(tmp_path, no_gpu):
    from active_learning.features.simclr import pretrain_simclr

    with pytest.raises(DeviceError, match="device cuda: no GPU found"):
        pretrain_simclr(_dataset(n=4), root=tmp_path, epochs=1, batch_size=2, device="cuda", progress=False)
    assert not list(tmp_path.rglob("*.pth"))


def test_a_learner_on_a_missing_gpu_is_refused_before_any_job(tmp_path, no_gpu):
    config = _nas_config(["random"])
    config["models"] = {"linear_probe": {"params": {"device": "cuda", "epochs": 2}, "methods": ["random"]}}
    with pytest.raises(ValueError, match=r"models\.linear_probe\.params\.device cuda: no GPU found") as info:
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)
    assert "\n" not in str(info.value) and not list(tmp_path.rglob("*.npy"))


def test_devices_auto_without_a_gpu_says_so(tmp_path, monkeypatch, capsys, no_gpu):
    import yaml

    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # the note must come before any job

    monkeypatch.setattr("active_learning.runner.run_grid", stop)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(_nas_config(["random"])))
    assert main(["run", str(tmp_path / "cfg.yaml"), "--devices", "auto", "--results-dir", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert "--devices auto: no GPU found" in err and "every job runs on the CPU, 1 at a time" in err


# ---------------------------------------------------------------------------------------------- 7. a full disk


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io_module.np, "save", full)
    target = tmp_path / "sub" / "x_seed0.npy"
    with pytest.raises(DiskFullError) as info:
        atomic_save_npy(target, np.zeros(1000))
    message = format_error(info.value)
    assert str(target) in message and "needs about 8.1 kB" in message and "free there" in message
    assert "\n" not in message and "Errno" not in message
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert not list((tmp_path / "sub").iterdir())  # the temporary file is gone


def test_a_disk_too_small_fails_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(io_module, "free_bytes", lambda path: 100)
    with pytest.raises(DiskFullError, match=r"needs about 8\.1 kB, 100 B free there"):
        atomic_save_npy(tmp_path / "x.npy", np.zeros(1000))
    ds, encoder = _dataset(), H.TinyEncoder()
    monkeypatch.setattr(C, "reserve_space", lambda path, n: None)
    with pytest.raises(DiskFullError) as info:
        extract_features(ds, encoder, root=tmp_path / "cache", batch_size=10, chunk_size=10, progress=False)
    assert info.value.filename.endswith(".npy")


def test_other_write_errors_name_the_file(tmp_path, monkeypatch):
    def broken(handle):
        raise OSError(errno.EIO, "Input/output error")

    target = tmp_path / "out.json"
    with pytest.raises(OSError, match="Input/output error") as info:
        io_module.atomic_write(target, broken)
    assert info.value.filename == str(target) and format_error(info.value) == f"Input/output error: {target}"


def test_reserve_space_turns_a_full_disk_into_an_error(tmp_path, monkeypatch):
    path = tmp_path / "m.npy"
    path.write_bytes(b"")

    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_room, raising=False)
    with pytest.raises(OSError) as info:
        io_module.reserve_space(path, 10**9)
    assert info.value.errno == errno.ENOSPC


# --------------------------------------------------------------------------- 8. workers die with their driver


def test_watchdog_notices_a_dead_parent():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = workers.parent_alive_check(child.pid)
        assert alive()
        died = threading.Event()
        workers.watch_parent(child.pid, on_death=died.set, interval=0.05)
        assert not died.wait(0.2)
    finally:
        child.kill()
        child.wait()
    assert died.wait(2.0) and not alive()


def test_exit_with_parent_ignores_the_driver_itself():
    before = threading.active_count()
    workers.exit_with_parent(os.getpid())  # the sequential fallback runs jobs in the driver: no watchdog
    assert threading.active_count() == before


#: Registers the task ``sleepy`` (its job writes its worker's pid, then sleeps) in every Python process started
#: with this folder on ``PYTHONPATH``: the driver and its loky workers, which unpickle jobs by task name.
SLEEPY_TASK = textwrap.dedent('''
    import os
    import time

    if os.environ.get("SLEEPY_DIR"):
        from active_learning.tasks import TASKS, Task

        @TASKS.register("sleepy")
        class Sleepy(Task):
            metrics = ("x",)

            def validate(self, jobs, data):
                pass

            def run(self, resolved, data, on_round=None):
                path = os.path.join(os.environ["SLEEPY_DIR"], f"worker{resolved['seed']}.pid")
                with open(path + ".tmp", "w") as handle:
                    handle.write(str(os.getpid()))
                os.replace(path + ".tmp", path)
                time.sleep(300)
''')

#: A tiny 2-job grid on 2 loky workers.
DRIVER = textwrap.dedent('''
    import os
    from active_learning.runner import run_grid

    config = {"name": "sleepy", "task": "sleepy", "seeds": [0, 1], "models": {"m": {"methods": ["random"]}}}
    run_grid(config, results_dir=os.path.join(os.environ["SLEEPY_DIR"], "results"), n_jobs=2, backend="loky",
             progress=False)
''')


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.slow  # starts a driver and two loky workers (each imports the package): 5-10 s on an idle machine
@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 of a POSIX driver")
def test_kill_9_of_the_driver_ends_its_loky_workers(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(SLEEPY_TASK)
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {**os.environ, "SLEEPY_DIR": str(tmp_path), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(tmp_path), str(REPO), os.environ.get("PYTHONPATH")) if p)}
    driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py")], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pids: list = []
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine imports torch slowly
        while time.monotonic() < deadline and len(pids) < 2 and driver.poll() is None:
            pids = [int(p.read_text()) for p in sorted(tmp_path.glob("worker*.pid"))]
            time.sleep(0.1)
        if driver.poll() is not None:
            pytest.fail(f"the driver ended early: {driver.stderr.read().decode()[-2000:] if driver.stderr else ''}")
        assert len(pids) == 2, "the workers did not start"
        assert all(_running(pid) for pid in pids)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_running(pid) for pid in pids):
            time.sleep(0.1)
        assert not any(_running(pid) for pid in pids), "orphaned workers still running 5 s after kill -9"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        if driver.stderr is not None:
            driver.stderr.close()
        for pid in pids:  # only the workers this test started
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
