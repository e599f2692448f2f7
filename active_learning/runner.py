"""Run a benchmark grid (variants x models x methods x seeds) in parallel, resumably.

* Parallelism: ``joblib.Parallel`` over jobs (``backend="loky"`` processes on one machine), or the same grid on a
  Dask cluster through joblib's Dask backend (``backend="dask"``, ``scheduler="tcp://host:8786"``).
* Results: each finished job writes ``<results>/<benchmark>[/<variant>]/<model>/<method>/<metric>_seed<k>.npy``
  (1-D, one value per round) and then ``run_seed<k>.json`` (resolved config, its hash, seed, package versions,
  git commit, wall time). Every file is written atomically; the JSON sidecar is written last and marks the job
  as finished.
* Resume: a job whose sidecar exists with the same config hash is skipped; a killed run loses only the jobs that
  were still running. A sidecar with a *different* config hash stops the run (use another results folder or
  ``overwrite=True``).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from .config import Job, deep_update, expand_jobs, load_config, validate_structure
from .tasks import DataAccess, get_task
from .utils.io import atomic_save_npy, atomic_write_json, git_commit, package_versions

#: Default results folder (relative to the working directory).
DEFAULT_RESULTS_DIR = Path("results")


class ResultsConflictError(RuntimeError):
    """Existing results were produced with a different configuration."""


def sidecar_path(job: Job, results_dir: "str | Path") -> Path:
    return job.result_dir(results_dir) / f"run_seed{job.seed}.json"


def job_status(job: Job, results_dir: "str | Path") -> str:
    """``"done"`` (finished with this config), ``"todo"``, or ``"conflict"`` (finished with another config)."""
    path = sidecar_path(job, results_dir)
    if not path.is_file():
        return "todo"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "todo"
    if meta.get("config_hash") != job.config_hash:
        return "conflict"
    metric_files = [job.result_dir(results_dir) / f"{name}_seed{job.seed}.npy" for name in meta.get("metrics", [])]
    return "done" if metric_files and all(p.is_file() for p in metric_files) else "todo"


def run_job(resolved: Mapping[str, Any], data: DataAccess) -> Dict[str, Any]:
    """Run one job in a worker process; returns its metrics and timing (the driver writes the files)."""
    start = time.perf_counter()
    metrics = get_task(resolved["task"]).run(resolved, data)
    return {"metrics": metrics, "wall_time_s": time.perf_counter() - start}


def write_job_results(
    job: Job,
    results_dir: "str | Path",
    outcome: Mapping[str, Any],
    provenance: Mapping[str, Any],
    per_round: Optional[Sequence[str]] = None,
) -> Path:
    """Write a finished job's metric arrays, then its JSON sidecar (atomically, in that order).

    ``per_round`` names the arrays that hold one value per round (default: all); other arrays (e.g. the
    selected indices of a run) are saved the same way but not plotted as curves.
    """
    out_dir = job.result_dir(results_dir)
    metrics: Mapping[str, np.ndarray] = outcome["metrics"]
    per_round_names = [name for name in (per_round if per_round is not None else sorted(metrics)) if name in metrics]
    for name, values in metrics.items():
        values = np.asarray(values)
        if values.ndim != 1:
            raise ValueError(f"metric {name!r} of {job.key} must be 1-D (one value per round), got shape {values.shape}")
        atomic_save_npy(out_dir / f"{name}_seed{job.seed}.npy", values)
    meta = {
        "job": job.key,
        "benchmark": job.benchmark,
        "variant": job.variant,
        "model": job.model,
        "method": job.method,
        "seed": job.seed,
        "config_hash": job.config_hash,
        "config": job.resolved,
        "metrics": sorted(metrics),
        "per_round_metrics": per_round_names,
        "rounds": int(len(metrics[per_round_names[0]])) if per_round_names else 0,
        "wall_time_s": round(float(outcome["wall_time_s"]), 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **provenance,
    }
    path = sidecar_path(job, results_dir)
    atomic_write_json(path, meta)
    return path


@contextlib.contextmanager
def _backend(backend: str, scheduler: Optional[str]) -> Iterator[None]:
    import joblib

    if backend == "dask":
        from dask.distributed import Client

        client = Client(scheduler) if scheduler else Client(processes=False)
        try:
            with joblib.parallel_config(backend="dask"):
                yield
        finally:
            client.close()
    elif backend in ("loky", "threading", "multiprocessing", "sequential"):
        with joblib.parallel_config(backend=backend):
            yield
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'loky' (default), 'dask' or 'sequential'")


@dataclass
class GridReport:
    """What :func:`run_grid` did."""

    ran: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    wall_time_s: float = 0.0


def run_grid(
    config_or_name: "str | Mapping[str, Any]",
    *,
    results_dir: "str | Path" = DEFAULT_RESULTS_DIR,
    models: Optional[Sequence[str]] = None,
    methods: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
    variants: Optional[Sequence[str]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: Optional[str] = None,
    data: DataAccess = DataAccess(),
    overwrite: bool = False,
    progress: bool = True,
    on_result: Optional[Callable[[Job, Mapping[str, Any]], None]] = None,
) -> GridReport:
    """Run every unfinished job of a benchmark grid and write its results.

    Parameters
    ----------
    config_or_name : str or mapping
        A benchmark name (``wall_robot``), a YAML path, or an already loaded config.
    results_dir : path, default="results"
    models, methods, seeds, variants : sequences, optional
        Restrict the grid.
    overrides : mapping, optional
        Nested config overrides (e.g. ``{"loop": {"rounds": 3}}``).
    n_jobs : int, default=1
        Jobs run at once (``-1`` = all cores; with Dask, the cluster's workers).
    backend : {"loky", "dask", "sequential", "threading"}, default="loky"
    scheduler : str, optional
        Dask scheduler address (``tcp://host:8786``); without it a local in-process Dask cluster is started.
    data : DataAccess
        Where dataset files are read from.
    overwrite : bool, default=False
        Recompute jobs whose existing results came from a different config instead of stopping.
    progress : bool, default=True
        Show a progress bar over the grid.
    on_result : callable, optional
        Called as ``on_result(job, outcome)`` in the calling process right after a job's results are written
        (``outcome`` holds its metrics and ``wall_time_s``); e.g. to log or to keep a ledger of a long run.
    """
    import joblib

    if isinstance(config_or_name, str):
        config = load_config(config_or_name, overrides)
    else:
        config = deep_update(dict(config_or_name), overrides or {})
        validate_structure(config)
    jobs = expand_jobs(config, models=models, methods=methods, seeds=seeds, variants=variants)
    task = get_task(config["task"])
    task.validate(jobs, data)

    report = GridReport()
    todo: List[Job] = []
    for job in jobs:
        status = job_status(job, results_dir)
        if status == "done":
            report.skipped.append(job.key)
        elif status == "conflict" and not overwrite:
            raise ResultsConflictError(
                f"{sidecar_path(job, results_dir)} holds results of {job.key} made with a different config. "
                f"Use another --results-dir, or --overwrite to recompute them."
            )
        else:
            todo.append(job)

    provenance = {"versions": package_versions(), "git": git_commit()}
    start = time.perf_counter()
    bar = tqdm(total=len(jobs), initial=len(report.skipped), desc=config["name"], unit="run", disable=not progress)
    try:
        if todo:
            with _backend(backend, scheduler):
                parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")
                outcomes = parallel(joblib.delayed(_run_indexed)(index, job.resolved, data) for index, job in enumerate(todo))
                for index, outcome in outcomes:
                    job = todo[index]
                    write_job_results(job, results_dir, outcome, provenance, per_round=task.metrics)
                    report.ran.append(job.key)
                    if on_result is not None:
                        on_result(job, outcome)
                    bar.set_postfix_str(f"{job.model}/{job.method} seed {job.seed}: {outcome['wall_time_s']:.0f}s")
                    bar.update(1)
    finally:
        bar.close()
    report.wall_time_s = time.perf_counter() - start
    return report


def _run_indexed(index: int, resolved: Mapping[str, Any], data: DataAccess) -> Any:
    return index, run_job(resolved, data)
