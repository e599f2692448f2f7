"""Results that can be trusted: verified files, one config and code version per curve, whole-cell overwrite,
one writer per results folder, checks before any work, Ctrl-C that stops the workers, per-round progress."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from active_learning.config import ConfigError, expand_jobs
from active_learning.plotting import load_results
from active_learning.runner import (
    ResultsConflictError,
    ResultsDirError,
    ResultsIntegrityWarning,
    ResultsLockedError,
    SchedulerUnreachableError,
    job_status,
    run_grid,
    write_job_results,
)
from active_learning.utils.io import file_digest, git_commit, package_source_digest

from conftest import toy_config

TESTS = Path(__file__).resolve().parent
CELL = Path("toy") / "extra_trees" / "random"
RANDOM0 = "toy/extra_trees/random#seed0"


def run(config, root, **kwargs):
    kwargs.setdefault("backend", "sequential")
    kwargs.setdefault("progress", False)
    return run_grid(config, results_dir=root, **kwargs)


def sidecar(root, seed=0, cell=CELL):
    return root / cell / f"run_seed{seed}.json"


def read(path):
    return json.loads(path.read_text())


def write(path, meta):
    path.write_text(json.dumps(meta, indent=2))


def integrity_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, ResultsIntegrityWarning)]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A finished toy grid (random and activelab, seed 0, 3 rounds), copied by each test that corrupts it."""
    root = tmp_path_factory.mktemp("baseline")
    report = run(toy_config(seeds=[0]), root)
    assert len(report.ran) == 2
    return root


@pytest.fixture
def results(baseline, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(baseline, root)
    return root


def test_sidecar_records_length_dtype_and_digest_of_every_array(results):
    meta = read(sidecar(results))
    assert set(meta["arrays"]) == set(meta["metrics"])
    for name, record in meta["arrays"].items():
        path = results / CELL / f"{name}_seed0.npy"
        values = np.load(path, allow_pickle=False)
        assert record["length"] == values.size and record["dtype"] == str(values.dtype)
        assert record["sha256"] == file_digest(path, "sha256") and record["nonfinite"] == 0


def _npy(results, name="model_accuracy"):
    return results / CELL / f"{name}_seed0.npy"


def _edit_values(path, change):
    values = np.load(path)
    np.save(path, change(values.copy()))


def _set_nan(v):
    v[1] = np.nan
    return v


def _nudge(v):
    v[0] += 0.01
    return v


def _edit_digest(results):
    meta = read(sidecar(results))
    meta["arrays"]["model_accuracy"]["sha256"] = "0" * 64
    write(sidecar(results), meta)


def _drop_record(results):
    meta = read(sidecar(results))
    del meta["arrays"]["model_accuracy"]
    write(sidecar(results), meta)


CORRUPTIONS = {
    "zero_bytes": (lambda r: _npy(r).write_bytes(b""), "model_accuracy_seed0.npy is empty (0 bytes)"),
    "truncated": (lambda r: _npy(r).write_bytes(_npy(r).read_bytes()[:-7]), "model_accuracy_seed0.npy cannot be loaded, truncated"),
    "header_cut": (lambda r: _npy(r).write_bytes(_npy(r).read_bytes()[:20]), "model_accuracy_seed0.npy cannot be loaded"),
    "two_d": (lambda r: _edit_values(_npy(r), lambda v: np.vstack([v, v])), "model_accuracy_seed0.npy is 2-D"),
    "wrong_length": (lambda r: _edit_values(_npy(r), lambda v: v[:-1]), "model_accuracy_seed0.npy has 2 values, expected 3"),
    "dtype": (lambda r: _edit_values(_npy(r), lambda v: v.astype(np.float32)), "model_accuracy_seed0.npy has dtype float32"),
    "nan": (lambda r: _edit_values(_npy(r), _set_nan), "model_accuracy_seed0.npy holds 1 NaN/inf"),
    "edited_values": (lambda r: _edit_values(_npy(r), _nudge), "model_accuracy_seed0.npy differs from the sha256"),
    "edited_digest": (_edit_digest, "model_accuracy_seed0.npy differs from the sha256"),
    "pickle": (lambda r: np.save(_npy(r), np.array([{}, {}, {}], dtype=object), allow_pickle=True), "model_accuracy_seed0.npy cannot be loaded"),
    "missing": (lambda r: _npy(r, "n_annotations").unlink(), "n_annotations_seed0.npy is missing"),
    "corrupt_json": (lambda r: sidecar(r).write_text('{"job": "toy/extra'), "run_seed0.json is not valid JSON"),
    "json_list": (lambda r: sidecar(r).write_text("[]"), "run_seed0.json is not a JSON object"),
    "no_record": (lambda r: _drop_record(r), "model_accuracy_seed0.npy has no integrity record"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_every_corruption_is_detected_named_and_recomputed(results, corruption):
    corrupt, message = CORRUPTIONS[corruption]
    original = {p.name: np.load(p) for p in (results / CELL).glob("*.npy")}
    corrupt(results)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_results(results, "toy")  # summaries and figures refuse it, naming the file
    with pytest.warns(ResultsIntegrityWarning, match=re.escape(message)) as record:
        report = run(toy_config(seeds=[0]), results)
    assert report.ran == [RANDOM0] and report.repaired == [RANDOM0] and report.skipped == ["toy/extra_trees/activelab#seed0"]
    assert len(integrity_warnings(record)) == 1 and "recomputing" in integrity_warnings(record)[0]
    for name, values in original.items():  # recomputed bit for bit (jobs are deterministic)
        assert np.array_equal(np.load(results / CELL / name, allow_pickle=False), values), name
    assert read(sidecar(results))["arrays"]["model_accuracy"]["sha256"] == file_digest(_npy(results), "sha256")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultsIntegrityWarning)
        again = run(toy_config(seeds=[0]), results)
    assert not again.ran and len(again.skipped) == 2
    assert not list(results.rglob("*.tmp"))


def _make_legacy(results):
    """Sidecars as the code before digests wrote them (no "arrays" key): the results being produced now."""
    for path in results.rglob("run_seed*.json"):
        meta = read(path)
        del meta["arrays"]
        write(path, meta)


def test_legacy_sidecars_without_digests_still_count_as_finished(results):
    _make_legacy(results)
    job = expand_jobs(toy_config(seeds=[0]), methods=["random"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResultsIntegrityWarning)
        assert job_status(job, results) == "done"
        report = run(toy_config(seeds=[0]), results)
        assert not report.ran and len(report.skipped) == 2
        assert len(load_results(results, "toy"))


@pytest.mark.parametrize(
    "change, message",
    [
        (_set_nan, "holds 1 NaN/inf"),
        (lambda v: v[:-1], "has 2 values, expected 3 (one per round)"),
        (lambda v: v[None, :], "is 2-D"),
    ],
)
def test_legacy_sidecars_are_still_checked_structurally(results, change, message):
    _make_legacy(results)
    _edit_values(_npy(results), change)
    with pytest.warns(ResultsIntegrityWarning, match=re.escape(message)):
        report = run(toy_config(seeds=[0]), results)
    assert report.ran == [RANDOM0]
    assert "arrays" in read(sidecar(results))  # rewritten with digests


def test_recorded_nan_values_are_legitimate(tmp_path):
    job = expand_jobs(toy_config(seeds=[0]), methods=["random"])[0]
    outcome = {"metrics": {"precision": np.array([0.5, np.nan, 0.7]), "selected": np.arange(5)}, "wall_time_s": 1.0}
    write_job_results(job, tmp_path, outcome, {"git": git_commit()}, per_round=["precision"])
    meta = read(sidecar(tmp_path))
    assert meta["arrays"]["precision"]["nonfinite"] == 1 and meta["rounds"] == 3
    assert job_status(job, tmp_path) == "done"  # "selected" is not per round: its length is free
    np.save(tmp_path / CELL / "precision_seed0.npy", np.array([np.nan, np.nan, 0.7]))
    with pytest.warns(ResultsIntegrityWarning, match="holds 2 NaN/inf value"):
        assert job_status(job, tmp_path) == "todo"


# ------------------------------------------------------------------------------------------------ load_results


def test_load_results_keeps_activelab_diagnostics(results):
    df = load_results(results, "toy")
    assert {"model_accuracy", "consensus_accuracy"} <= set(df.metric)
    assert {"temperature", "model_weight"} <= set(df[df.method == "activelab"].metric)
    assert (results / "toy" / ".lock").is_file()  # left by the run, and not taken for a result


@pytest.fixture
def two_seeds(tmp_path):
    root = tmp_path / "results"
    run(toy_config(seeds=[0, 1]), root, methods=["random"])
    return root


def test_load_results_refuses_a_curve_of_two_configs(two_seeds):
    meta = read(sidecar(two_seeds, 1))
    meta["config"]["loop"]["batch_size"] = 10
    write(sidecar(two_seeds, 1), meta)
    with pytest.raises(ValueError, match="configs differ in loop.batch_size") as error:
        load_results(two_seeds, "toy")
    text = str(error.value)
    assert str(sidecar(two_seeds, 0)) in text and str(sidecar(two_seeds, 1)) in text
    assert "extra_trees/random" in text and "--overwrite" in text and "--results-dir" in text


@pytest.mark.parametrize("legacy", [False, True])
def test_load_results_refuses_a_curve_of_two_code_versions(two_seeds, legacy):
    meta = read(sidecar(two_seeds, 0))
    if legacy:  # a sidecar without a source digest: its git commit (unknown to git here) is the code version
        del meta["code"]
        meta["git"] = {"commit": "0123abcd", "dirty": False}
    else:
        meta["code"] = "0123abcd"
    write(sidecar(two_seeds, 0), meta)
    with pytest.raises(ValueError, match="code versions") as error:
        load_results(two_seeds, "toy")
    assert "code 0123abcd: " + str(sidecar(two_seeds, 0)) in str(error.value)
    assert str(sidecar(two_seeds, 1)) in str(error.value)


# ------------------------------------------------------------------------------------------------ overwrite


def _changed(seeds):
    config = toy_config(seeds=seeds)
    config["loop"]["batch_size"] = 10
    return config


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_a_new_config_for_some_seeds_of_a_cell_is_a_conflict(two_seeds):
    before = _mtimes(two_seeds)
    with pytest.raises(ResultsConflictError, match="different config") as error:
        run(_changed([0, 1]), two_seeds, methods=["random"], seeds=[0])
    assert str(sidecar(two_seeds, 1)) in str(error.value) and "seed 1, not in this run" in str(error.value)
    assert _mtimes(two_seeds) == before


def test_overwrite_refuses_to_recompute_part_of_a_cell(two_seeds):
    before = _mtimes(two_seeds)
    with pytest.raises(ValueError, match=r"whole cells.*seed\(s\) \[1\] are not in this run"):
        run(_changed([0, 1]), two_seeds, methods=["random"], seeds=[0], overwrite=True)
    assert _mtimes(two_seeds) == before


def test_overwrite_recomputes_the_whole_cell_and_removes_stale_seeds(tmp_path):
    root = tmp_path / "results"
    run(toy_config(seeds=[0, 1, 2]), root)
    activelab_before = {p: p.stat().st_mtime_ns for p in (root / "toy" / "extra_trees" / "activelab").iterdir()}
    changed = toy_config(seeds=[0, 1])
    changed["models"]["extra_trees"]["methods"] = [{"name": "random", "method": "random", "loop": {"batch_size": 10}}, "activelab"]
    report = run(changed, root, overwrite=True)
    assert report.overwritten == ["toy/extra_trees/random"] and sorted(report.ran) == [RANDOM0, "toy/extra_trees/random#seed1"]
    assert any(p.endswith("run_seed2.json") for p in report.removed)
    assert not list((root / CELL).glob("*seed2*"))  # no stale seed of the old config is left in the curve
    for seed in (0, 1):
        assert read(sidecar(root, seed))["config"]["loop"]["batch_size"] == 10
    # the activelab cell (seeds 0-2 of an unchanged config) is left alone, its extra seed 2 included
    assert {p: p.stat().st_mtime_ns for p in (root / "toy" / "extra_trees" / "activelab").iterdir()} == activelab_before
    df = load_results(root, "toy")
    assert sorted(df[df.method == "random"].seed.unique()) == [0, 1]


def test_finished_seeds_of_another_commit_are_not_mixed_with_new_ones(two_seeds):
    meta = read(sidecar(two_seeds, 0))
    meta["code"] = "0123abcd"
    write(sidecar(two_seeds, 0), meta)
    sidecar(two_seeds, 1).unlink()  # seed 1 must be (re)computed, with today's code
    with pytest.raises(ResultsConflictError, match="mix code versions"):
        run(toy_config(seeds=[0, 1]), two_seeds, methods=["random"])
    report = run(toy_config(seeds=[0, 1]), two_seeds, methods=["random"], overwrite=True)
    assert len(report.ran) == 2 and report.overwritten == ["toy/extra_trees/random"]
    assert {read(sidecar(two_seeds, s))["code"] for s in (0, 1)} == {package_source_digest()}


def test_a_cell_that_already_mixes_commits_is_a_conflict(two_seeds):
    meta = read(sidecar(two_seeds, 0))
    meta["code"] = "0123abcd"
    write(sidecar(two_seeds, 0), meta)
    with pytest.raises(ResultsConflictError, match="different code versions"):
        run(toy_config(seeds=[0, 1]), two_seeds, methods=["random"])


# ------------------------------------------------------------------------------------------------ locking


def test_a_second_run_on_the_same_folder_is_refused_at_once(tmp_path):
    holding, release = threading.Event(), threading.Event()
    errors = []

    def hold(job, outcome):
        holding.set()
        release.wait(60)

    def first():
        try:
            run(toy_config(seeds=[0]), tmp_path, methods=["random"], on_result=hold)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert holding.wait(60)
        start = time.monotonic()
        with pytest.raises(ResultsLockedError, match=re.escape(str(tmp_path / "toy" / ".lock"))):
            run(toy_config(seeds=[0]), tmp_path)
        assert time.monotonic() - start < 5
        run(toy_config(seeds=[0], name="other"), tmp_path, methods=["random"])  # another benchmark: its own lock
    finally:
        release.set()
        thread.join(60)
    assert not errors
    report = run(toy_config(seeds=[0]), tmp_path)  # free again once the first run is over
    assert report.skipped == [RANDOM0] and len(report.ran) == 1


def test_a_run_in_another_process_holds_the_folder_until_it_ends(tmp_path):
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "from conftest import toy_config\n"
        "from active_learning.runner import run_grid\n"
        "def hold(job, outcome):\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(60)\n"
        f"run_grid(toy_config(seeds=[0]), results_dir={str(tmp_path)!r}, methods=['random'], backend='sequential',"
        " progress=False, on_result=hold)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        with pytest.raises(ResultsLockedError, match="another run is writing into"):
            run(toy_config(seeds=[0]), tmp_path)
    finally:
        proc.kill()
        proc.wait(30)
    report = run(toy_config(seeds=[0]), tmp_path)  # a killed run leaves no stale lock behind
    assert report.skipped == [RANDOM0]


# ------------------------------------------------------------------------------------------------ checks before work


def _nothing_written(root):
    return not list(Path(root).rglob("*.npy")) and not list(Path(root).rglob("*.json"))


def test_results_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("not a folder")
    for where in (path, path / "sub"):
        with pytest.raises(ResultsDirError, match=re.escape(f"{path} is a file")):
            run(toy_config(seeds=[0]), where)
    assert path.read_text() == "not a folder"


def test_read_only_results_folder_is_refused(tmp_path, monkeypatch):
    import active_learning.runner as runner

    monkeypatch.setattr(runner.os, "access", lambda path, mode: False)
    with pytest.raises(ResultsDirError, match="not writable"):
        run(toy_config(seeds=[0]), tmp_path / "results")
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_results_folder_is_refused_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ResultsDirError, match="not writable"):
            run(toy_config(seeds=[0]), folder)
    finally:
        folder.chmod(0o755)


def test_scheduler_without_dask_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="only used with backend='dask'"):
        run(toy_config(seeds=[0]), tmp_path, backend="loky", scheduler="tcp://127.0.0.1:8786")
    assert not list(tmp_path.iterdir())


def test_unreachable_scheduler_is_a_clear_error_before_any_job(tmp_path):
    pytest.importorskip("dask.distributed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(SchedulerUnreachableError, match=re.escape(address)) as error:
        run(toy_config(seeds=[0]), tmp_path, backend="dask", scheduler=address, scheduler_timeout=1)
    assert "No job was started" in str(error.value) and time.monotonic() - started < 30
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize("where", ["config", "argument"])
def test_duplicate_seeds_are_refused(tmp_path, where):
    config = toy_config(seeds=[0, 1, 0] if where == "config" else [0, 1])
    with pytest.raises(ConfigError, match="more than once"):
        run(config, tmp_path, seeds=[1, 1] if where == "argument" else None)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------------ Ctrl-C


def _loky_workers():
    """Live loky worker processes that are children of this process (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state != "Z" and b"popen_loky_posix" in cmdline:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_in_the_driver_stops_the_loky_workers(tmp_path):
    workers = []

    def interrupt(job, outcome):
        workers.extend(_loky_workers())
        raise KeyboardInterrupt

    config = toy_config(rounds=12, seeds=[0, 1, 2, 3])
    with pytest.raises(KeyboardInterrupt) as interrupted:
        run(config, tmp_path, backend="loky", n_jobs=2, on_result=interrupt)
    # ``interrupted`` keeps the traceback, hence joblib's unfinished result generator, alive (as a Ctrl-C handler or
    # a debugger would): the workers must be stopped by run_grid itself, not by the generator's garbage collection
    assert interrupted.value is not None and workers, "the run should have had loky workers"
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "loky workers survived the interrupt by 5 s"
    assert len(list(tmp_path.rglob("run_seed*.json"))) < 8 and not list(tmp_path.rglob("*.tmp"))
    report = run(config, tmp_path, backend="loky", n_jobs=2, methods=["random"], seeds=[0, 1])  # loky works again
    assert len(report.ran) + len(report.skipped) == 2


# ------------------------------------------------------------------------------------------------ progress


def test_progress_shows_the_rounds_of_running_jobs_and_leaves_no_files(tmp_path, monkeypatch):
    import tempfile

    import active_learning.runner as runner
    from active_learning.tasks import MultiAnnotatorTask

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL_S", 0.05)
    original = MultiAnnotatorTask.run

    def slow(self, resolved, data, on_round=None):
        def tick(round_index):
            time.sleep(0.15)
            on_round(round_index)

        return original(self, resolved, data, tick if on_round else None)

    monkeypatch.setattr(MultiAnnotatorTask, "run", slow)
    seen = []
    running = runner._RoundProgress.running
    monkeypatch.setattr(runner._RoundProgress, "running", lambda self: seen.append(running(self)) or seen[-1])
    root = tmp_path / "results"
    report = run(toy_config(rounds=4, seeds=[0]), root, backend="threading", n_jobs=2, progress=True)
    assert len(report.ran) == 2
    assert any(re.search(r"\d running: [1-4]/4", text) for text in seen), seen
    assert not list(scratch.iterdir())  # the progress folder is gone
    names = {p.name for p in root.rglob("*") if p.is_file()}
    assert {n for n in names if not re.fullmatch(r".+_seed0\.(npy|json)", n)} == {".lock"}


def test_source_digest_of_a_commit_equals_the_digest_of_its_files():
    root = Path(__file__).resolve().parents[1]
    now = package_source_digest()
    assert now == package_source_digest() and len(now) == 16
    assert package_source_digest("0" * 40) is None  # an unknown commit has no digest
    status = subprocess.run(["git", "status", "--porcelain", "--", "active_learning"], cwd=root, capture_output=True, text=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if status.returncode or head.returncode or status.stdout.strip():
        pytest.skip("needs a git checkout whose package source is unchanged from HEAD (as CI's clean clone)")
    assert package_source_digest(head.stdout.strip()) == now
