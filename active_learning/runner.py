"""Run a benchmark grid (variants x models x methods x seeds) in parallel, resumably, with results that can be trusted.

* Parallelism: ``joblib.Parallel`` over jobs (``backend="loky"`` processes on one machine), or the same grid on a
  Dask cluster through joblib's Dask backend (``backend="dask"``, ``scheduler="tcp://host:8786"``).
* Results: each finished job writes one 1-D array per metric (one value per round) into its cell folder
  ``<results>/<benchmark>[/<variant>]/<model>/<method>/`` and then its JSON sidecar (resolved config, its hash,
  seed, package versions, git commit, wall time, and per array its length, dtype and sha256), through
  :mod:`active_learning.results`, which owns the file layout. Every file is written atomically; the sidecar is
  written last and marks the job as finished.
* Integrity: on every run each finished job is verified (its arrays exist, load, are 1-D, finite, have one value
  per round and match the digests of the sidecar); a job that fails is recomputed with a
  :class:`ResultsIntegrityWarning` that names the file and the problem. Sidecars written before digests were
  recorded are verified without them.
* Inputs: a job's identity covers the content of the user's own input files, not only their paths: every file its
  config names (label, feature, truth and test files of ``data.pool: label_file``, a ``precomputed`` encoder's
  feature file, a confusion matrix, ...; see :func:`input_files`) is hashed (sha256, once per run and file,
  :class:`InputDigests`) and recorded in the sidecar (``"inputs"``). On a rerun a changed file is a conflict of
  its cells: the run stops before any work with one line naming the file, and ``--overwrite`` recomputes those
  cells (never silently: results are never replaced without being asked). Jobs on registered datasets
  (``wall_robot``, ``cifar10``, ...) name no such file; their identity is their config hash, as before.
* Resume: a verified job whose sidecar has the same config hash (and input digests) is skipped; a killed run loses
  only the jobs that were still running. Only unfinished jobs are validated against their data (files, features, budgets), so a
  finished grid (a fresh clone with committed results) loads no dataset and extracts no features.
* Cells: the seeds of one (variant, model, method) *cell* form one curve, so they must share one config (apart
  from the seed) and one code version (the digest of the package's Python source, ``"code"`` in the sidecar;
  for older sidecars computed from their git commit). Results in a cell made with another config, or finished
  seeds of another commit when new seeds would be added, are a conflict: the run stops before any work
  (:class:`ResultsConflictError`), or with ``overwrite=True`` recomputes the whole cell (every sidecar and array of
  the cell folder is removed first; ``--seeds`` must then include all of the cell's seeds).
* Locking: one writer per benchmark folder: ``<results>/<benchmark>/.lock`` is held (``filelock``) for the whole
  run; a second run on the same folder stops at once with :class:`ResultsLockedError`.
* Devices: ``devices=`` (``run --devices auto|cpu|cuda:0,cuda:1``) spreads the jobs over devices. Job ``i`` of the
  pending list runs on ``devices[i % len(devices)]`` (fixed before dispatch, whichever worker picks the job up, so
  the jobs of each device differ by at most one), and a CUDA device runs at most ``jobs_per_device`` jobs at once:
  the worker takes one of the device's ``jobs_per_device`` slot locks (``filelock``, in a temporary folder of the
  run; workers of a remote Dask cluster lock on their own machine, whose GPUs they use) before the job starts and
  releases it when the job ends, so the limit holds for loky, Dask and threads alike. The CPU has no slot limit
  (``n_jobs`` bounds it). ``n_jobs`` defaults to ``len(devices) * jobs_per_device``. The job sees its device
  through :func:`~active_learning.utils.devices.current_device` (learners with ``device="auto"`` train there; for
  a GPU it is also torch's current device), not through its config: the device changes neither the job's config
  hash nor its results path, and is recorded in the sidecar (``"device"``).
* Progress: the bar counts finished jobs and shows the current round of the running ones (workers write it to
  small files in a temporary folder outside the results, polled once a second).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Generator, Iterator, List, Mapping, Optional, Sequence, Tuple

from tqdm.auto import tqdm

from .config import ConfigError, Job, check_task_config, deep_update, expand_jobs, load_config, validate_structure
from .tasks import JOB_INFO_KEY, TASKS, DataAccess, get_task
from .utils.devices import DeviceError, resolve_devices, use_device
from .results import (
    JobCheck,
    cell_files,
    changed_inputs,
    check_job,
    code_version,
    config_identity,
    job_dir,
    read_sidecar,
    sidecar_path,
    sidecar_seed,
    sidecar_paths,
    write_job_results,
)
from .utils.io import file_digest, git_commit, package_source_digest, package_versions

#: Default results folder (relative to the working directory).
DEFAULT_RESULTS_DIR = Path("results")

#: Name of the lock file in ``<results>/<benchmark>/``.
LOCK_NAME = ".lock"

#: Seconds between two looks at the running jobs' rounds (progress bar).
PROGRESS_INTERVAL_S = 1.0

#: Seconds between two tries of a worker waiting for a free slot of its job's device.
DEVICE_SLOT_POLL_S = 0.2

BACKENDS = ("loky", "dask", "sequential", "threading", "multiprocessing")

class ResultsConflictError(RuntimeError):
    """Existing results were produced with a different configuration or code version."""


class ResultsLockedError(RuntimeError):
    """Another run holds the results folder of this benchmark."""


class ResultsDirError(ValueError):
    """The results folder cannot be written (it is a file, or read-only)."""


class SchedulerUnreachableError(RuntimeError):
    """The Dask scheduler given with ``scheduler=`` could not be reached."""


class ResultsIntegrityWarning(UserWarning):
    """A finished job's files failed verification; the job is recomputed."""


# --------------------------------------------------------------------------------------------------- integrity


# The results layout, writing and verification live in results.py (sidecar_path, read_sidecar, verify_job_files,
# check_job, write_job_results, ...); the runner plans and executes with them.


# --------------------------------------------------------------------------------------------------- input files

#: Sections of a resolved job config whose string values may name the user's own input files (label, feature,
#: truth, test, confusion-matrix or precomputed-feature files): their content is part of the job's identity.
INPUT_SECTIONS = ("dataset", "data", "loop", "model_params", "method_params")

#: A config string that may be a file path: it holds a path separator or ends in a file suffix (``labels.csv``).
_PATH_LIKE = re.compile(r"[/\\]|\.[A-Za-z][A-Za-z0-9]{0,7}$")


def input_files(resolved: Mapping[str, Any]) -> Dict[str, str]:
    """The user input files a job's config names: ``{config key: path}`` for every string of
    :data:`INPUT_SECTIONS` that looks like a path and names an existing file (relative to the working directory,
    as the data layer reads it), e.g. ``{"data.labels": "labels.csv", "dataset.encoder_params.path": "f.npy"}``.

    Registered datasets read their raw files from the data root, never from a config string, so a job on a
    registered dataset (``wall_robot``, ``cifar10``, ...) has none.
    """
    found: Dict[str, str] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for name, item in value.items():
                walk(item, f"{key}.{name}")
        elif isinstance(value, (list, tuple)):
            for position, item in enumerate(value):
                walk(item, f"{key}[{position}]")
        elif isinstance(value, str) and _PATH_LIKE.search(value) and os.path.isfile(value):
            found[key] = value

    for section in INPUT_SECTIONS:
        walk(resolved.get(section), section)
    return found


class InputDigests:
    """sha256 digests of the input files of a run's jobs, each file hashed once per run.

    The cache key is the file's resolved path, size and modification time, so a file named by many jobs (a
    100 MB feature file shared by a whole grid) is read once, and a file changed during the run is hashed again.
    """

    def __init__(self) -> None:
        self._cache: Dict[Tuple[str, int, int], str] = {}
        #: files actually read (resolved paths), for tests and diagnostics
        self.hashed: List[str] = []

    def digest(self, path: str) -> Dict[str, Any]:
        """``{"path", "sha256", "bytes"}`` of one file."""
        stat = os.stat(path)
        key = (os.path.realpath(path), int(stat.st_size), int(stat.st_mtime_ns))
        if key not in self._cache:
            self._cache[key] = file_digest(path, "sha256")
            self.hashed.append(key[0])
        return {"path": str(path), "sha256": self._cache[key], "bytes": int(stat.st_size)}

    def of(self, resolved: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """``{config key: digest record}`` of every input file of a job (empty for registered datasets)."""
        return {key: self.digest(path) for key, path in sorted(input_files(resolved).items())}


def _check_job(job: Job, results_dir: "str | Path", digests: Optional[InputDigests] = None) -> JobCheck:
    """:func:`~active_learning.results.check_job` with the input files' digests of this run (``digests``)."""
    return check_job(job, results_dir, (digests or InputDigests()).of)


def _integrity_notice(job: Job, problem: str) -> None:
    warnings.warn(f"{job.key}: {problem}; recomputing it", ResultsIntegrityWarning, stacklevel=3)


def job_status(job: Job, results_dir: "str | Path") -> str:
    """``"done"`` (finished with this config and the same input files, files verified), ``"todo"``, or
    ``"conflict"`` (another config, or an input file whose content changed since the job ran).

    A job whose sidecar exists but is unreadable, or whose arrays fail verification (missing, 0-byte, truncated,
    not 1-D, wrong length, NaN/inf, digest differs), is ``"todo"``, with a :class:`ResultsIntegrityWarning`.
    """
    check = _check_job(job, results_dir)
    if check.problem is not None:
        _integrity_notice(job, check.problem)
    return check.status


# --------------------------------------------------------------------------------------------------- jobs


def run_job(
    resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None
) -> Dict[str, Any]:
    """Run one job in a worker process; returns its metrics and timing (the driver writes the files)."""
    from .strategies._disk_cache import use_data_root

    start = time.perf_counter()
    with use_data_root(data.root):  # the strategies' disk cache follows --data-root, as the feature cache does
        metrics = dict(get_task(resolved["task"]).run(resolved, data, on_round))
    info = metrics.pop(JOB_INFO_KEY, None)  # JSON facts about the run for its sidecar (not an array)
    return {"metrics": metrics, "wall_time_s": time.perf_counter() - start, **({"info": info} if info else {})}


# --------------------------------------------------------------------------------------------------- validation


def _check_results_dir(folder: Path) -> None:
    """Raise :class:`ResultsDirError` unless ``folder`` exists as a writable folder or can be created."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ResultsDirError(
            f"cannot write results under {folder}: {probe} is a file, not a folder; pass another --results-dir"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ResultsDirError(
            f"cannot write results under {folder}: the folder {probe} is not writable; fix its permissions or pass "
            f"another --results-dir"
        )


def _check_grid(config: Mapping[str, Any], jobs: Sequence[Job]) -> None:
    seeds = list(config["seeds"])
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ConfigError(f"{config['name']}: seeds {seeds} list seed(s) {duplicates} more than once")
    keys = [job.key for job in jobs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(
            f"{config['name']}: job(s) {repeated[:5]} appear more than once (a seed or a method name given twice); "
            f"each would overwrite the other's files"
        )


def _check_backend(backend: str, scheduler: Optional[str]) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use 'loky' (default), 'dask', 'sequential' or 'threading'")
    if scheduler and backend != "dask":
        raise ValueError(
            f"a Dask scheduler ({scheduler}) was given with backend={backend!r}; it is only used with backend='dask' "
            f"(--backend dask)"
        )


@contextlib.contextmanager
def _results_lock(folder: Path, timeout: float) -> Iterator[Path]:
    from filelock import FileLock, Timeout

    lock_path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        lock.acquire(timeout=max(float(timeout), 0.0))
    except Timeout:
        raise ResultsLockedError(
            f"another run is writing into {folder} (it holds the lock {lock_path}); wait for it to finish, or use "
            f"another --results-dir. If no such run exists, the lock is free and this is a bug."
        ) from None
    except OSError as exc:
        raise ResultsDirError(f"cannot write results under {folder}: {exc}; pass another --results-dir") from exc
    try:
        yield lock_path
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------------- backends


@contextlib.contextmanager
def _backend(backend: str, scheduler: Optional[str], scheduler_timeout: float = 10.0) -> Iterator[None]:
    import joblib

    if backend == "dask":
        try:
            from dask.distributed import Client
        except ImportError as exc:
            raise ImportError("backend='dask' needs dask.distributed: pip install 'dask[distributed]'") from exc

        if scheduler:
            try:
                client = Client(scheduler, timeout=scheduler_timeout)
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachableError(
                    f"cannot reach the Dask scheduler at {scheduler} within {scheduler_timeout:g} s ({exc}). Start it "
                    f"(`dask scheduler`, then `dask worker {scheduler}` on the workers), check the address and that "
                    f"its port is open, or drop --scheduler to run on a local Dask cluster. No job was started."
                ) from exc
        else:
            client = Client(processes=False)
        try:
            with joblib.parallel_config(backend="dask"):
                yield
        finally:
            client.close()
    elif backend in ("loky", "multiprocessing"):
        # worker processes end with the driver, even when it is killed with kill -9 (see utils.workers)
        from .utils.workers import exit_with_parent

        with joblib.parallel_config(backend=backend, initializer=exit_with_parent, initargs=(os.getpid(),)):
            yield
    elif backend in ("threading", "sequential"):
        with joblib.parallel_config(backend=backend):
            yield
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'loky' (default), 'dask' or 'sequential'")


def _shutdown_loky_workers() -> None:
    """Kill the processes of loky's reusable executor (the workers of joblib's ``loky`` backend), if any."""
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:  # pragma: no cover
        return
    executor = getattr(reusable_executor, "_executor", None)
    if executor is None:
        return
    with contextlib.suppress(Exception):
        if hasattr(executor, "terminate"):
            executor.terminate(kill_workers=True)
        else:  # pragma: no cover
            executor.shutdown(wait=True, kill_workers=True)


# --------------------------------------------------------------------------------------------------- progress


def _progress_writer(progress_dir: Optional[str], index: int, resolved: Mapping[str, Any]) -> Optional[Callable[[int], None]]:
    """The ``on_round`` callback of a worker: writes ``"<round> <rounds>"`` to ``<progress_dir>/<index>``."""
    if not progress_dir:
        return None
    total = (resolved.get("loop") or {}).get("rounds")
    path = os.path.join(progress_dir, str(index))
    tmp = os.path.join(progress_dir, f".{index}.tmp")

    def on_round(round_index: int) -> None:
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(f"{int(round_index) + 1} {total if isinstance(total, int) else ''}")
            os.replace(tmp, path)
        except OSError:  # progress is best effort (e.g. a remote Dask worker without this folder)
            pass

    return on_round


class _RoundProgress:
    """Polls the workers' progress files about once a second and shows them in the bar's postfix."""

    def __init__(self, bar: Any, lock: threading.Lock, interval: float = 1.0) -> None:
        self.bar, self.lock, self.interval = bar, lock, interval
        self.dir = tempfile.mkdtemp(prefix="al-progress-")
        self.finished: set = set()
        self.last = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="al-progress", daemon=True)
        self._thread.start()

    def running(self) -> str:
        entries = []
        try:
            names = os.listdir(self.dir)
        except OSError:
            return ""
        for name in names:
            if not name.isdigit() or int(name) in self.finished:
                continue
            try:
                with open(os.path.join(self.dir, name), encoding="utf-8") as handle:
                    done, _, total = handle.read().partition(" ")
                entries.append((int(name), f"{int(done)}/{total}" if total.strip() else f"round {int(done)}"))
            except (OSError, ValueError):
                continue
        if not entries:
            return ""
        shown = ", ".join(text for _, text in sorted(entries)[:8]) + (", ..." if len(entries) > 8 else "")
        return f"{len(entries)} running: {shown}"

    def show(self) -> None:
        running = self.running()
        text = " | ".join(part for part in (running, self.last) if part)
        with self.lock:
            self.bar.set_postfix_str(text, refresh=True)

    def job_done(self, index: int, last: str) -> None:
        self.finished.add(index)
        self.last = last

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.show()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------- the grid


@dataclass
class GridReport:
    """What :func:`run_grid` did."""

    ran: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    #: jobs recomputed because their files failed verification
    repaired: List[str] = field(default_factory=list)
    #: cells (``benchmark[/variant]/model/method``) recomputed as a whole because of ``overwrite=True``
    overwritten: List[str] = field(default_factory=list)
    #: old files removed from overwritten cells
    removed: List[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    #: the devices the jobs were spread over (empty: no assignment) and the jobs run at once
    devices: List[str] = field(default_factory=list)
    n_jobs: int = 1


def _cell_name(job: Job) -> str:
    return job.key.split("#", 1)[0]


def _inputs_changed_message(bench_dir: Path, changed_files: Mapping[str, List[str]], n_conflicts: int) -> str:
    """One line: which input files changed since which results were computed, and what to do."""
    cells = sorted({cell for names in changed_files.values() for cell in names})
    shown = ", ".join(cells[:3]) + (f" and {len(cells) - 3} more" if len(cells) > 3 else "")
    others = n_conflicts - len(cells)
    return (
        f"results in {bench_dir} do not match this run's input files: {'; '.join(changed_files)} "
        f"({len(cells)} cell(s): {shown}"
        + (f"; {others} more cell(s) conflict for other reasons" if others > 0 else "")
        + "). Rerun with --overwrite to recompute these cells from the current files (their old results are "
        "removed), or use another --results-dir to keep the old results."
    )


def _plan_cell(
    cell_jobs: List[Job], results_dir: "str | Path", current_code: Optional[str], digests: Optional[InputDigests] = None
) -> Tuple[Dict[int, JobCheck], List[str], List[str]]:
    """Verify the jobs of one cell and list why the cell conflicts with this run (empty: no conflict), and which of
    those reasons are changed input files."""
    digests = digests or InputDigests()
    folder = job_dir(cell_jobs[0], results_dir)
    checks = {job.seed: _check_job(job, results_dir, digests) for job in cell_jobs}
    reference = config_identity(cell_jobs[0].resolved)
    current_inputs = digests.of(cell_jobs[0].resolved)  # the seeds of a cell share their config apart from the seed
    reasons: List[str] = []
    different = [str(sidecar_path(job, results_dir)) for job in cell_jobs
                 if checks[job.seed].status == "conflict" and not checks[job.seed].changed]
    changed: Dict[str, List[int]] = {}
    for seed, check in checks.items():
        for phrase in check.changed:
            changed.setdefault(phrase, []).append(seed)
    finished: List[Dict[str, Any]] = [c.meta for c in checks.values() if c.status == "done" and c.meta is not None]
    if folder.is_dir():
        for path in sidecar_paths(folder, recursive=False):
            other = sidecar_seed(path)
            if other is None or other in checks:
                continue
            meta, problem = read_sidecar(path)
            if meta is None:
                warnings.warn(f"{path} {problem} (seed {other} is not part of this run)", ResultsIntegrityWarning, stacklevel=3)
                continue
            if config_identity(meta.get("config")) != reference:
                different.append(f"{path} (seed {other}, not in this run)")
            else:
                for phrase in changed_inputs(meta, current_inputs):
                    changed.setdefault(phrase, []).append(other)
                finished.append(meta)
    if different:
        reasons.append(f"made with a different config: {', '.join(different)}")
    inputs_changed = [f"{phrase}: seed(s) {sorted(changed_seeds)}" for phrase, changed_seeds in changed.items()]
    reasons.extend(inputs_changed)
    commits = {code_version(meta) for meta in finished}
    pending = sorted(seed for seed, check in checks.items() if check.status == "todo")
    if len(commits) > 1:
        reasons.append(f"its finished seeds come from different code versions (source digests {sorted(map(str, commits))})")
    elif pending and commits and commits != {current_code}:
        reasons.append(
            f"its finished seeds were made by code version {next(iter(commits))}, this code is {current_code} "
            f"(digest of active_learning/**/*.py; run the missing seeds from the checkout that made the others): "
            f"running seed(s) {pending} would mix code versions in one curve"
        )
    return checks, reasons, inputs_changed


def run_grid(
    config_or_name: "str | Mapping[str, Any]",
    *,
    results_dir: "str | Path" = DEFAULT_RESULTS_DIR,
    models: Optional[Sequence[str]] = None,
    methods: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
    variants: Optional[Sequence[str]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    n_jobs: Optional[int] = None,
    backend: str = "loky",
    scheduler: Optional[str] = None,
    scheduler_timeout: float = 10.0,
    data: DataAccess = DataAccess(),
    overwrite: bool = False,
    progress: bool = True,
    on_result: Optional[Callable[[Job, Mapping[str, Any]], None]] = None,
    lock_timeout: float = 0.0,
    devices: "None | str | Sequence[str]" = None,
    jobs_per_device: int = 1,
) -> GridReport:
    """Run every unfinished job of a benchmark grid and write its results.

    Before any job starts, the config, the grid (no seed or job twice), the backend options and the results
    folder (writable) are checked, the benchmark's results folder is locked, every finished job is verified and
    the cells are checked for conflicts (see the module docstring).

    Parameters
    ----------
    config_or_name : str or mapping
        A benchmark name (``wall_robot``), a YAML path, or an already loaded config.
    results_dir : path, default="results"
    models, methods, seeds, variants : sequences, optional
        Restrict the grid.
    overrides : mapping, optional
        Nested config overrides (e.g. ``{"loop": {"rounds": 3}}``), applied on top of every variant and method
        entry (see :func:`~active_learning.config.expand_jobs`).
    n_jobs : int, optional
        Jobs run at once (``-1`` = all cores; with Dask, the cluster's workers). Default: 1, or
        ``len(devices) * jobs_per_device`` with ``devices``.
    backend : {"loky", "dask", "sequential", "threading"}, default="loky"
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``, only with ``backend="dask"``); without it a local in-process
        Dask cluster is started.
    scheduler_timeout : float, default=10
        Seconds to wait for the scheduler before :class:`SchedulerUnreachableError` (raised before any job).
    data : DataAccess
        Where dataset files are read from.
    overwrite : bool, default=False
        Recompute, as a whole, every (variant, model, method) cell whose existing results conflict with this run
        (another config, or another code version) instead of stopping: all sidecars and arrays of the cell folder
        are removed (also those of seeds no longer in the config) and every seed of the cell is recomputed. The
        run must then include all of the cell's seeds (no ``seeds=`` that leaves some out): a ``ValueError`` is
        raised otherwise, before any work.
    progress : bool, default=True
        Show a progress bar over the grid (with the current round of the running jobs).
    on_result : callable, optional
        Called as ``on_result(job, outcome)`` in the calling process right after a job's results are written
        (``outcome`` holds its metrics and ``wall_time_s``); e.g. to log or to keep a ledger of a long run.
    lock_timeout : float, default=0
        Seconds to wait for another run on the same benchmark folder to finish; then (or at once with 0)
        :class:`ResultsLockedError`.
    devices : "auto", "cpu", "cuda:0,cuda:1" or a list of such names, optional
        Spread the jobs over these devices (``"auto"``: every visible CUDA device, else the CPU); see the module
        docstring. Default: no assignment (learners pick their own device, as before).
    jobs_per_device : int, default=1
        Jobs run at once on one CUDA device (more when its memory allows).

    Raises
    ------
    ConfigError, KeyError, ValueError
        Invalid config or grid (e.g. a seed listed twice), ``scheduler`` without ``backend="dask"``, an
        ``overwrite`` that would recompute only part of a cell.
    DeviceError
        ``devices`` names an unknown device, one twice, or a CUDA device that is not visible (e.g. none: "no CUDA
        device visible; use --devices cpu or auto"); raised before anything else.
    ResultsDirError
        The results path is a file or a read-only folder.
    ResultsLockedError
        Another run holds ``<results_dir>/<benchmark>/.lock``.
    ResultsConflictError
        Existing results conflict with this run (another config or code version, or an input file whose content
        changed since they were computed) and ``overwrite`` is not set.
    SchedulerUnreachableError
        ``backend="dask"`` and the scheduler cannot be reached.
    """
    device_list = _check_devices(devices, jobs_per_device, backend, scheduler)
    if n_jobs is None:
        n_jobs = len(device_list) * jobs_per_device if device_list else 1
    config = _grid_config(config_or_name, overrides)
    jobs = expand_jobs(config, models=models, methods=methods, seeds=seeds, variants=variants, overrides=overrides)
    _check_grid(config, jobs)
    _check_backend(backend, scheduler)
    task = get_task(config["task"])
    # The jobs not finished yet (or whose input files changed) are validated before anything is written: first the
    # settings of all of them (every variant, model and method: names, parameters, budgets against pool sizes known
    # without data; Task.check_settings), then their data (files, features, budgets). A grid whose results are all
    # there (a fresh clone with committed results) skips every job without loading the dataset or extracting
    # features. The plan below checks the results again under the lock.
    digests = InputDigests()
    pending = [job for job in jobs if _check_job(job, results_dir, digests).status != "done"]
    if pending:
        task.validate(pending, data)
    bench_dir = Path(results_dir) / config["name"]
    _check_results_dir(bench_dir)

    report = GridReport(devices=list(device_list or []), n_jobs=n_jobs)
    current_code = package_source_digest()
    provenance = {"versions": package_versions(), "git": git_commit(), "code": current_code}
    with _results_lock(bench_dir, lock_timeout):
        todo, replace = _plan_grid(jobs, config, results_dir, bench_dir, current_code, digests, overwrite, report)
        # the input files' digests as validated above (recorded in each sidecar; not re-read after the job ran)
        inputs_of = [digests.of(job.resolved) for job in todo]
        start = time.perf_counter()
        bar = tqdm(total=len(jobs), initial=len(report.skipped), desc=config["name"], unit="run", disable=not progress)
        bar_lock = threading.Lock()
        rounds: Optional[_RoundProgress] = None
        slots_dir = tempfile.mkdtemp(prefix="al-devices-") if device_list else None
        try:
            if todo:
                with _backend(backend, scheduler, scheduler_timeout):
                    _remove_cells(replace, report)
                    if progress:
                        rounds = _RoundProgress(bar, bar_lock, PROGRESS_INTERVAL_S)
                    assignment = [(device_list[index % len(device_list)], slots_dir, jobs_per_device) if device_list
                                  else () for index in range(len(todo))]
                    # closing: an error or Ctrl-C while a result is written stops the jobs still running too
                    with contextlib.closing(_run_parallel(todo, data, n_jobs, backend, rounds, assignment)) as finished:
                        for index, job, outcome in finished:
                            write_job_results(job, results_dir, outcome, provenance, per_round=task.metrics,
                                              inputs=inputs_of[index])
                            report.ran.append(job.key)
                            if on_result is not None:
                                on_result(job, outcome)
                            last = f"last: {job.model}/{job.method} seed {job.seed} {outcome['wall_time_s']:.0f}s"
                            if rounds is not None:
                                rounds.job_done(index, last)
                            with bar_lock:
                                bar.update(1)
                            if rounds is not None:
                                rounds.show()
        finally:
            if rounds is not None:
                rounds.close()
            bar.close()
            if slots_dir is not None:
                shutil.rmtree(slots_dir, ignore_errors=True)
        report.wall_time_s = time.perf_counter() - start
    return report


def _grid_config(config_or_name: "str | Mapping[str, Any]", overrides: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The run's config (read and validated once): a benchmark name or YAML path, or a loaded config, with
    ``overrides`` on top; its task name and ``figure`` block checked against the registered tasks."""
    if isinstance(config_or_name, (str, os.PathLike)):
        config = load_config(str(config_or_name), overrides)
    elif isinstance(config_or_name, Mapping):
        config = deep_update(dict(config_or_name), overrides or {})
        validate_structure(config)
    else:
        raise ConfigError(
            f"run_grid needs a benchmark name, a YAML path or a config mapping, got {type(config_or_name).__name__}"
        )
    check_task_config(config, TASKS)  # the task name and figure.metrics (config.py stays below the tasks)
    return config


def _plan_grid(jobs: List[Job], config: Mapping[str, Any], results_dir: "str | Path", bench_dir: Path,
               current_code: Optional[str], digests: "InputDigests", overwrite: bool,
               report: GridReport) -> Tuple[List[Job], List[Path]]:
    """Under the results lock: which jobs run (``todo``) and which cell folders are emptied first (``replace``,
    with ``overwrite``). Finished jobs are recorded in ``report.skipped``, jobs whose files fail verification in
    ``report.repaired`` (with a notice), overwritten cells in ``report.overwritten``. Raises
    :class:`ResultsConflictError` for conflicting cells without ``overwrite`` (changed input files first), and
    ``ValueError`` for an ``overwrite`` that would recompute only part of a cell; nothing is changed then."""
    cells: Dict[str, List[Job]] = {}
    for job in jobs:
        cells.setdefault(_cell_name(job), []).append(job)
    todo: List[Job] = []
    conflicts: List[str] = []
    replace: List[Path] = []
    notices: List[Tuple[Job, str]] = []
    changed_files: Dict[str, List[str]] = {}  # changed input file -> the cells computed from its old content
    for cell, cell_jobs in cells.items():
        checks, reasons, inputs_changed = _plan_cell(cell_jobs, results_dir, current_code, digests)
        if reasons and not overwrite:
            conflicts.append(f"{cell}: " + "; ".join(reasons))
            for phrase in inputs_changed:
                changed_files.setdefault(phrase.split(": seed(s)")[0], []).append(cell)
            continue
        if reasons:
            left_out = [s for s in config["seeds"] if s not in checks]
            if left_out:
                raise ValueError(
                    f"--overwrite recomputes whole cells (all seeds of a (variant, model, method)), but cell {cell} "
                    f"conflicts with this run ({'; '.join(reasons)}) and its seed(s) {left_out} are not in this run; "
                    f"rerun without --seeds (or with all of {list(config['seeds'])}). Nothing was changed."
                )
            replace.append(job_dir(cell_jobs[0], results_dir))
            report.overwritten.append(cell)
            todo.extend(cell_jobs)
            continue
        for job in cell_jobs:
            check = checks[job.seed]
            if check.status == "done":
                report.skipped.append(job.key)
                continue
            if check.problem is not None:
                notices.append((job, check.problem))
                report.repaired.append(job.key)
            todo.append(job)
    if changed_files:
        raise ResultsConflictError(_inputs_changed_message(bench_dir, changed_files, len(conflicts)))
    if conflicts:
        raise ResultsConflictError(
            f"results in {bench_dir} conflict with this run (one curve must come from one config, one code "
            f"version and the same input files):\n  " + "\n  ".join(conflicts) + "\nUse another --results-dir, or --overwrite to recompute "
            "these cells as a whole (their old files are removed)."
        )
    for job, problem in notices:
        _integrity_notice(job, problem)
    return todo, replace


def _remove_cells(folders: Sequence[Path], report: GridReport) -> None:
    """Empty the cell folders an ``overwrite`` recomputes (every result file, also of seeds no longer run)."""
    for folder in folders:
        for path in cell_files(folder):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            report.removed.append(str(path))


def _run_parallel(todo: Sequence[Job], data: DataAccess, n_jobs: int, backend: str,
                  rounds: "Optional[_RoundProgress]", assignment: Sequence[tuple]) -> Generator[Tuple[int, Job, Any], None, None]:
    """Run ``todo`` with joblib (in the active backend), yielding ``(index, job, outcome)`` as jobs finish. A
    failure or Ctrl-C, here or in the caller (which closes the generator), stops the jobs still running
    (:func:`_abort`)."""
    import joblib

    progress_dir = rounds.dir if rounds is not None else None
    parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    outcomes = parallel(joblib.delayed(_run_indexed)(index, job.resolved, data, progress_dir, *assignment[index])
                        for index, job in enumerate(todo))
    try:
        for index, outcome in outcomes:
            yield index, todo[index], outcome
    except BaseException:
        _abort(outcomes, backend)
        raise


def _torch_threads() -> Optional[int]:
    """torch's intra-op thread count in this worker (``None`` when the job never imported torch): float results of
    torch learners on a CPU can differ in the last bits between thread counts, so the sidecar records it."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _abort(outcomes: Any, backend: str) -> None:
    """Stop the jobs still running after an error or Ctrl-C in the driver (kills loky workers within seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):
            outcomes.close()  # joblib aborts the remaining tasks (for loky: kills its workers)
    if backend == "loky":
        _shutdown_loky_workers()


def _run_indexed(
    index: int,
    resolved: Mapping[str, Any],
    data: DataAccess,
    progress_dir: Optional[str] = None,
    device: Optional[str] = None,
    slots_dir: Optional[str] = None,
    jobs_per_device: int = 1,
) -> Any:
    """One job in a worker: on ``device`` (after taking one of its slots) when the run assigns devices."""
    on_round = _progress_writer(progress_dir, index, resolved)
    try:
        if device is None:
            outcome = run_job(resolved, data, on_round)
        else:
            with _device_slot(device, slots_dir, jobs_per_device), use_device(device):
                outcome = {**run_job(resolved, data, on_round), "device": device}
        return index, {**outcome, "threads": _torch_threads()}
    finally:
        if progress_dir:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(progress_dir, str(index)))


# --------------------------------------------------------------------------------------------------- devices


def _check_devices(
    devices: "None | str | Sequence[str]", jobs_per_device: int, backend: str, scheduler: Optional[str]
) -> Optional[List[str]]:
    """The device list of a run (``None``: no assignment), checked before anything else."""
    if isinstance(jobs_per_device, bool) or not isinstance(jobs_per_device, int) or jobs_per_device < 1:
        raise DeviceError(f"jobs_per_device must be a positive integer, got {jobs_per_device!r}")
    if devices is None:
        if jobs_per_device != 1:
            raise DeviceError("--jobs-per-device needs --devices (auto, cpu or a list such as cuda:0,cuda:1)")
        return None
    # the GPUs of a remote Dask cluster are its workers', not this machine's
    return resolve_devices(devices, check_visible=not (backend == "dask" and scheduler))


def _slot_path(slots_dir: str, device: str, slot: int) -> str:
    return os.path.join(slots_dir, f"{device.replace(':', '_')}.slot{slot}.lock")


@contextlib.contextmanager
def _device_slot(device: str, slots_dir: Optional[str], jobs_per_device: int) -> Iterator[Optional[int]]:
    """Hold one of the ``jobs_per_device`` slots of a CUDA ``device`` (a file lock each) for the block; wait for a
    free one. The CPU (and a run without a slots folder) has no slots: ``None`` at once."""
    if slots_dir is None or not device.startswith("cuda"):
        yield None
        return
    from filelock import FileLock, Timeout

    os.makedirs(slots_dir, exist_ok=True)  # a remote Dask worker: a folder of the same name on its machine
    locks = [FileLock(_slot_path(slots_dir, device, slot)) for slot in range(jobs_per_device)]
    while True:
        for slot, lock in enumerate(locks):
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield slot
            finally:
                lock.release()
            return
        time.sleep(DEVICE_SLOT_POLL_S)
