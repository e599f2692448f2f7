"""The results store: where a job's results live, how they are written, verified and read back.

Layout (the only place that spells it)::

    <results>/<benchmark>[/<variant>]/<model>/<method>/<metric>_seed<k>.npy   one 1-D array per metric
    <results>/<benchmark>[/<variant>]/<model>/<method>/run_seed<k>.json       the job's sidecar, written last

* Writing (:func:`write_job_results`): every array atomically, then the JSON sidecar atomically (resolved config,
  its hash, seed, package versions, git commit, wall time, and per array its length, dtype and sha256). The sidecar
  marks the job as finished.
* Verifying (:func:`verify_job_files`): the arrays a sidecar lists exist, load without pickles, are 1-D, finite, have
  one value per round and match the sidecar's digests. A file verified once is not hashed again in the same process
  while its path, size, inode and modification time stay the same (a run, its figures and its summary verify each
  array once). :func:`check_job` says whether a job of a grid is finished (``"done"``), still to run (``"todo"``) or
  made with another config or other input files (``"conflict"``).
* Reading: :func:`read_sidecar` (one sidecar, with a one-phrase problem), :func:`read_sidecars` (every sidecar of a
  benchmark), :func:`load_results` (every finished run of a benchmark as a long table, verified).

The executor (:mod:`active_learning.runner`) writes and plans with these; figures (:mod:`active_learning.plotting`),
the report (:mod:`active_learning.report`) and the benchmarks' own scripts read with them, so none of them depends on
the executor.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from .utils.io import atomic_save_npy, atomic_write_json, config_hash, npy_record, package_source_digest, verify_npy

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .config import Job

__all__ = [
    "SIDECAR_GLOB", "JobCheck", "array_path", "cell_files", "changed_inputs", "check_job", "code_version",
    "config_differences", "config_identity", "describe_mixed_cell", "has_results", "load_results", "read_sidecar",
    "job_dir", "read_sidecars", "result_dir", "results_stamp", "sidecar_path", "sidecar_paths", "sidecar_seed",
    "verify_job_files", "write_job_results",
]

#: The file name pattern of a job's sidecar (``run_seed<k>.json``), for ``glob``.
SIDECAR_GLOB = "run_seed*.json"

_SIDECAR_RE = re.compile(r"run_seed(\d+)\.json")
_ARRAY_RE = re.compile(r".+_seed\d+\.npy")


# --------------------------------------------------------------------------------------------------- layout


def result_dir(results_dir: "str | Path", benchmark: str, variant: Optional[str], model: str, method: str) -> Path:
    """The folder of one (variant, model, method) cell: ``<results>/<benchmark>[/<variant>]/<model>/<method>``."""
    path = Path(results_dir) / benchmark
    if variant:
        path = path / variant
    return path / model / method


def job_dir(job: "Job", results_dir: "str | Path") -> Path:
    """The cell folder of ``job`` under ``results_dir`` (:func:`result_dir` of its benchmark, variant, model, method)."""
    return result_dir(results_dir, job.benchmark, job.variant, job.model, job.method)


def sidecar_name(seed: Any) -> str:
    """``run_seed<k>.json``."""
    return f"run_seed{seed}.json"


def array_path(folder: "str | Path", metric: str, seed: Any) -> Path:
    """``<folder>/<metric>_seed<k>.npy``."""
    return Path(folder) / f"{metric}_seed{seed}.npy"


def sidecar_path(job: "Job", results_dir: "str | Path") -> Path:
    """The sidecar of ``job`` under ``results_dir``."""
    return job_dir(job, results_dir) / sidecar_name(job.seed)


def sidecar_seed(path: "str | Path") -> Optional[int]:
    """The seed a sidecar's file name gives (``run_seed3.json`` -> 3), or None for another file."""
    match = _SIDECAR_RE.fullmatch(Path(path).name)
    return int(match.group(1)) if match else None


def sidecar_paths(root: "str | Path", recursive: bool = True) -> List[Path]:
    """The sidecars under ``root`` (every level below it, or only ``root`` itself), sorted; sidecar-named files in
    a ``figures`` folder are not results and are left out."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = root.rglob(SIDECAR_GLOB) if recursive else root.glob(SIDECAR_GLOB)
    return sorted(p for p in found if "figures" not in p.relative_to(root).parts[:-1])


def has_results(folder: "str | Path") -> bool:
    """Whether ``folder`` holds at least one sidecar at any depth."""
    return next(Path(folder).rglob(SIDECAR_GLOB), None) is not None


def cell_files(folder: Path) -> List[Path]:
    """The sidecars and result arrays of a cell folder (what ``overwrite`` removes), sidecars first: a removal
    interrupted half-way leaves no sidecar over missing arrays."""
    if not folder.is_dir():
        return []
    sidecars = sorted(p for p in folder.glob(SIDECAR_GLOB) if _SIDECAR_RE.fullmatch(p.name))
    arrays = sorted(p for p in folder.glob("*_seed*.npy") if _ARRAY_RE.fullmatch(p.name))
    return sidecars + arrays


# --------------------------------------------------------------------------------------------------- reading


def read_sidecar(path: "str | Path") -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """``(meta, None)``, or ``(None, problem)`` when the sidecar cannot be read or is not a JSON object."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except UnicodeDecodeError:
        return None, "is not valid JSON (not UTF-8 text)"
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"is not valid JSON ({exc.msg} at line {exc.lineno})"
    if not isinstance(meta, dict):
        return None, "is not a JSON object"
    return meta, None


def read_sidecars(root: "str | Path", recursive: bool = True) -> Tuple[List[Tuple[Path, Dict[str, Any]]], List[str]]:
    """Every sidecar under ``root`` (:func:`sidecar_paths`): ``([(path, meta), ...], ["<path> <problem>", ...])``.

    The arrays are not verified here (:func:`verify_job_files`, :func:`load_results` do that)."""
    found: List[Tuple[Path, Dict[str, Any]]] = []
    problems: List[str] = []
    for path in sidecar_paths(root, recursive):
        meta, problem = read_sidecar(path)
        if meta is None:
            problems.append(f"{path} {problem}")
        else:
            found.append((path, meta))
    return found, problems


# --------------------------------------------------------------------------------------------------- integrity

#: Arrays verified in this process: (absolute path, inode, size, mtime_ns, what they were checked against).
_VERIFIED: Set[Tuple[Any, ...]] = set()


def clear_verified() -> None:
    """Forget which arrays this process has verified (the next :func:`verify_job_files` hashes them again)."""
    _VERIFIED.clear()


def _verify_array(path: Path, record: Optional[Mapping[str, Any]], length: Optional[int]) -> Optional[str]:
    """:func:`~active_learning.utils.io.verify_npy`, once per process for a file that did not change since."""
    try:
        stat = os.stat(path)
    except OSError:
        return verify_npy(path, record=record, length=length)  # says what is wrong (missing, unreadable)
    against = json.dumps(dict(record), sort_keys=True, default=str) if record is not None else None
    key = (os.path.abspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, against, length)
    if key in _VERIFIED:
        return None
    problem = verify_npy(path, record=record, length=length)
    if problem is None:
        _VERIFIED.add(key)
    return problem


def verify_job_files(meta: Mapping[str, Any], folder: "str | Path") -> Optional[str]:
    """What is wrong with the arrays a sidecar lists (``"<path> <problem>"``), or ``None`` when all are sound.

    Every array listed under ``"metrics"`` must pass :func:`~active_learning.utils.io.verify_npy`: against its
    ``"arrays"`` record (length, dtype, sha256) when the sidecar has one, and, for the arrays listed under
    ``"per_round_metrics"``, with ``"rounds"`` values. An array that passed once in this process is not read again
    while its path, inode, size and modification time are unchanged.
    """
    folder = Path(folder)
    seed, names = meta.get("seed"), meta.get("metrics")
    if not isinstance(seed, int) or not isinstance(names, list) or not names:
        return f"{folder / SIDECAR_GLOB}: the sidecar lists no seed or no metric arrays"
    records = meta.get("arrays")
    if records is not None and not isinstance(records, Mapping):
        return f"{folder / sidecar_name(seed)}: its 'arrays' entry is not a mapping"
    per_round = set(meta.get("per_round_metrics") or [])
    rounds = meta.get("rounds")
    for name in names:
        path = array_path(folder, name, seed)
        record = None
        if records is not None:
            record = records.get(name)
            if not isinstance(record, Mapping):
                return f"{path} has no integrity record in its sidecar"
        length = rounds if name in per_round and isinstance(rounds, int) else None
        problem = _verify_array(path, record, length)
        if problem is not None:
            return f"{path} {problem}"
    return None


def changed_inputs(meta: Mapping[str, Any], current: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """How the input files recorded in a sidecar (``"inputs"``) differ from ``current`` (one phrase per file;
    empty: the same content). A sidecar without records, for a job that has input files, cannot be checked."""
    if not current:
        return []
    recorded = meta.get("inputs")
    if not isinstance(recorded, Mapping):
        files = ", ".join(f"{key} ({record['path']})" for key, record in current.items())
        return [f"no digest of the input file(s) {files} was recorded (results made before input files were "
                f"digested), so they cannot be checked against the current files"]
    out = []
    for key, record in current.items():
        old = recorded.get(key)
        old_digest = old.get("sha256") if isinstance(old, Mapping) else None
        if old_digest != record["sha256"]:
            was = f"sha256 {old_digest[:12]}" if isinstance(old_digest, str) else "no digest"
            out.append(f"input file {key} ({record['path']}) changed since the results were computed ({was}..., "
                       f"now {record['sha256'][:12]}...)")
    return out


@dataclass
class JobCheck:
    """What :func:`check_job` found."""

    status: str  # "done" | "todo" | "conflict"
    meta: Optional[Dict[str, Any]] = None
    problem: Optional[str] = None  # why a present sidecar does not count as finished
    changed: List[str] = field(default_factory=list)  # input files whose content differs from the sidecar's record


def check_job(
    job: "Job", results_dir: "str | Path",
    inputs_of: Optional[Callable[[Mapping[str, Any]], Mapping[str, Mapping[str, Any]]]] = None,
) -> JobCheck:
    """Whether ``job`` is finished under ``results_dir``: ``"done"`` (a sidecar with its config hash, the same input
    files and verified arrays), ``"todo"`` (no sidecar, or one that is unreadable or whose arrays fail verification:
    ``problem`` says why) or ``"conflict"`` (another config, or input files that changed: ``changed``).

    ``inputs_of(resolved)`` gives the current digests of the job's input files (``runner.InputDigests.of``); without
    it the input files are not compared.
    """
    path = sidecar_path(job, results_dir)
    if not path.is_file():
        return JobCheck("todo")
    meta, problem = read_sidecar(path)
    if meta is None:
        return JobCheck("todo", problem=f"{path} {problem}")
    if not isinstance(meta.get("config_hash"), str):
        return JobCheck("todo", problem=f"{path} has no config_hash")
    if meta.get("config_hash") != job.config_hash:
        return JobCheck("conflict", meta)
    changed = changed_inputs(meta, inputs_of(job.resolved)) if inputs_of is not None else []
    if changed:
        return JobCheck("conflict", meta, changed=changed)
    problem = verify_job_files(meta, path.parent)
    if problem is not None:
        return JobCheck("todo", meta, problem)
    return JobCheck("done", meta)


def config_identity(config: Any) -> Optional[str]:
    """The hash of a resolved config without its seed: equal for every seed of one curve (``None``: no config)."""
    if not isinstance(config, Mapping):
        return None
    return config_hash({k: v for k, v in config.items() if k != "seed"})


def code_version(meta: Mapping[str, Any]) -> Optional[str]:
    """The code version of a sidecar: the digest of the package source it was made with (``"code"``; for older
    sidecars computed from their git commit with git), else the git commit itself."""
    code = meta.get("code")
    if isinstance(code, str):
        return code
    git = meta.get("git")
    commit = git.get("commit") if isinstance(git, Mapping) else None
    if commit and not (git or {}).get("dirty"):
        return package_source_digest(commit) or commit
    return commit


def describe_mixed_cell(cell: tuple, entries: List[tuple]) -> str:
    """One line for :func:`load_results`: which sidecars of a curve disagree, and on what.

    ``entries``: ``((config hash without seed, git commit), sidecar path, config)`` per sidecar of the cell.
    """
    groups: Dict[tuple, List[tuple]] = {}
    for identity, sidecar, config in entries:
        groups.setdefault(identity, []).append((sidecar, config))
    name = "/".join(part for part in cell if part)
    parts = []
    for (_, commit), members in groups.items():
        files = ", ".join(str(s) for s, _ in members[:4]) + (f" and {len(members) - 4} more" if len(members) > 4 else "")
        parts.append(f"[code {commit}: {files}]")
    configs = [members[0][1] for members in groups.values()]
    differ = config_differences(configs[0], configs[1]) if len(configs) > 1 else []
    commits = {identity[1] for identity in groups}
    what = []
    if differ or len({identity[0] for identity in groups}) > 1:
        what.append("configs differ" + (f" in {', '.join(differ[:6])}" if differ else ""))
    if len(commits) > 1:
        what.append("code versions differ")
    return f"{name}: {' and '.join(what)}: " + " vs ".join(parts)


def config_differences(a: Any, b: Any, prefix: str = "") -> List[str]:
    """Dotted keys where two (nested) configs differ, ignoring ``seed`` at the top level."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [prefix or "config"] if a != b else []
    out: List[str] = []
    for key in sorted(set(a) | set(b)):
        if not prefix and key == "seed":
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        if key not in a or key not in b:
            out.append(name)
        else:
            out.extend(config_differences(a[key], b[key], name))
    return out


# --------------------------------------------------------------------------------------------------- writing


def write_job_results(
    job: "Job",
    results_dir: "str | Path",
    outcome: Mapping[str, Any],
    provenance: Mapping[str, Any],
    per_round: Optional[Sequence[str]] = None,
    inputs: Optional[Mapping[str, Any]] = None,
) -> Path:
    """Write a finished job's metric arrays, then its JSON sidecar (atomically, in that order).

    ``per_round`` names the arrays that hold one value per round (default: all); other arrays (e.g. the
    selected indices of a run) are saved the same way but not plotted as curves. An existing sidecar of the job
    is removed first, so that a write interrupted half-way never leaves an old sidecar over new arrays. The
    sidecar records, per array, its length, dtype, sha256 and number of NaN/inf values (``"arrays"``), and the
    device the job ran on (``"device"``) when the runner assigned one (``outcome["device"]``), torch's thread count
    in the worker (``"torch_threads"``, from ``outcome["threads"]``: CPU float results can differ in the last bits
    between thread counts), and ``inputs``
    (``runner.InputDigests.of``: the sha256 of every user input file the config names) as ``"inputs"`` when there
    are any (the config hash stays the hash of the config alone).
    """
    out_dir = job_dir(job, results_dir)
    metrics: Mapping[str, np.ndarray] = outcome["metrics"]
    per_round_names = [name for name in (per_round if per_round is not None else sorted(metrics)) if name in metrics]
    arrays = {name: np.asarray(values) for name, values in metrics.items()}
    for name, values in arrays.items():
        if values.ndim != 1:
            raise ValueError(f"metric {name!r} of {job.key} must be 1-D (one value per round), got shape {values.shape}")
    path = sidecar_path(job, results_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    records = {}
    for name, values in arrays.items():
        digest = atomic_save_npy(array_path(out_dir, name, job.seed), values)
        records[name] = npy_record(values, digest)
    meta = {
        "job": job.key,
        "benchmark": job.benchmark,
        "variant": job.variant,
        "model": job.model,
        "method": job.method,
        "seed": job.seed,
        "config_hash": job.config_hash,
        "config": job.resolved,
        **({"inputs": dict(inputs)} if inputs else {}),
        "metrics": sorted(metrics),
        "per_round_metrics": per_round_names,
        "rounds": int(len(arrays[per_round_names[0]])) if per_round_names else 0,
        "arrays": records,
        "wall_time_s": round(float(outcome["wall_time_s"]), 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **({"device": str(outcome["device"])} if outcome.get("device") else {}),
        **({"torch_threads": int(outcome["threads"])} if outcome.get("threads") else {}),
        **({"info": outcome["info"]} if outcome.get("info") else {}),
        **provenance,
    }
    atomic_write_json(path, meta)
    return path


# --------------------------------------------------------------------------------------------------- loading


def results_stamp(sidecars: Iterable[Mapping[str, Any]]) -> str:
    """A short text that identifies a set of results: how many runs, the newest ``finished_at`` and a digest of every
    run's (job, config hash, finished_at). The figures record it (PNG text ``Source``) so that the report can tell
    whether they were drawn from the results it reads, from the results alone (no file dates)."""
    import hashlib

    sidecars = list(sidecars)
    entries = sorted(f"{meta.get('job')}|{meta.get('config_hash')}|{meta.get('finished_at')}" for meta in sidecars)
    newest = max((str(meta.get("finished_at")) for meta in sidecars if meta.get("finished_at")), default="unknown")
    digest = hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()[:16]
    return f"{len(entries)} runs, newest finished {newest}, results digest {digest}"


def _progress(iterable: Any, progress: bool, **kwargs: Any) -> Any:
    """``iterable`` with a tqdm bar on stderr when ``progress`` (and stderr is a terminal), else as it is."""
    if not progress:
        return iterable
    import sys

    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)


def load_results(results_dir: "str | Path", benchmark: str, progress: bool = False) -> "pd.DataFrame":
    """All finished runs of ``benchmark`` as a long table, verified before anything is drawn or summarised.

    Every sidecar (``run_seed<k>.json``) is read and its arrays are verified as a rerun would verify them (they
    exist, load without pickles, are 1-D, finite, have one value per round and match the sidecar's sha256 where it
    has one; :func:`verify_job_files`, once per process and unchanged file). Unreadable or corrupt results are
    **not skipped**: a summary or figure that silently drops a seed cannot be trusted, so a ``ValueError`` names the
    file and what is wrong; ``python -m active_learning run`` then recomputes that job. The seeds of one curve
    (benchmark, variant, model, method) must come from one config (the sidecars' ``"config"`` apart from
    ``"seed"``) and one code version (the sidecar's source digest, or its git commit); otherwise a ``ValueError``
    names the disagreeing sidecars (rerun the cell with ``--overwrite`` or into another ``--results-dir``).
    Per-round curves are the sidecar's ``"per_round_metrics"`` plus ActiveLab's diagnostics (temperature,
    model_weight, mean_annotator_weight) and the filter metrics (``filter_*``, noise ratios, ``n_train``) that older
    sidecars list under ``"metrics"`` only.

    ``progress``: a tqdm bar over the sidecars (stderr, on a terminal).

    Returns
    -------
    DataFrame with columns ``benchmark, variant, model, method, seed, round, metric, value`` and, for the figures'
    styles, ``registered`` (the registered method or strategy a result name ran) and ``calibration`` (ActiveLab's
    temperature calibration, ``""`` for other methods); ``attrs["results_stamp"]`` identifies the runs it was read
    from (:func:`results_stamp`).

    Raises
    ------
    FileNotFoundError
        No finished runs of ``benchmark`` under ``results_dir``.
    ValueError
        A sidecar or array is unreadable or corrupt, or a curve mixes configs or code versions.
    """
    import pandas as pd

    from .loops.metrics import FILTERED_RUN_METRICS
    from .loops.multiannotator import DIAGNOSTICS

    # per-round arrays that older sidecars list under "metrics" only: ActiveLab's diagnostics (commit e363dda) and
    # the filter metrics of ActiveLab runs with loop.filter (commits b5361ce, 0bd43b8)
    listed_only = set(DIAGNOSTICS) | set(FILTERED_RUN_METRICS)

    root = Path(results_dir) / benchmark
    rerun = f"`python -m active_learning run {benchmark} --results-dir {results_dir}`"
    rows: List[pd.DataFrame] = []
    curves_of: Dict[tuple, List[tuple]] = {}
    read: List[Mapping[str, Any]] = []
    sidecars = sidecar_paths(root)
    for sidecar in _progress(sidecars, progress and len(sidecars) > 0, desc=f"{benchmark} results", unit="run",
                             leave=False):
        meta, problem = read_sidecar(sidecar)
        if meta is not None:
            missing = [key for key in ("model", "method", "seed", "metrics") if key not in meta]
            problem = f"lacks the key(s) {missing}" if missing else None
        if problem is not None:
            problem = f"{sidecar} {problem}"
        else:
            assert meta is not None
            problem = verify_job_files(meta, sidecar.parent)
            problem = f"{problem} (a result of {sidecar})" if problem else None
        if problem is not None:
            raise ValueError(
                f"cannot load the results of {benchmark}: {problem}. Rerun {rerun} (with the options that made "
                f"these results): it verifies every finished job and recomputes corrupt ones."
            )
        assert meta is not None
        read.append(meta)
        config = meta.get("config")
        identity = (
            config_identity(config),
            code_version(meta),
        )
        cell = (meta.get("variant") or "", meta["model"], meta["method"])
        # what drew the curve: the registered method (its figure style) and, for ActiveLab, its calibration
        registered = config.get("method", meta["method"]) if isinstance(config, dict) else meta["method"]
        method_params = config.get("method_params") if isinstance(config, dict) else None
        calibration = str((method_params or {}).get("calibration", "")) if isinstance(method_params, dict) else ""
        curves_of.setdefault(cell, []).append((identity, sidecar, config))
        curves = list(meta.get("per_round_metrics", meta["metrics"]))
        curves += [m for m in meta["metrics"] if m in listed_only and m not in curves]
        for metric in curves:
            path = array_path(sidecar.parent, metric, meta["seed"])
            if not path.is_file():
                continue
            values = np.load(path, allow_pickle=False)
            rows.append(
                pd.DataFrame(
                    {
                        "benchmark": benchmark,
                        "variant": meta.get("variant") or "",
                        "model": meta["model"],
                        "method": meta["method"],
                        "seed": meta["seed"],
                        "round": np.arange(values.size),
                        "metric": metric,
                        "value": values,
                        "registered": registered,
                        "calibration": calibration,
                    }
                )
            )
    mixed = [describe_mixed_cell(cell, entries) for cell, entries in curves_of.items() if len({e[0] for e in entries}) > 1]
    if mixed:
        raise ValueError(
            f"results of {benchmark} under {root} mix runs that must not be averaged into one curve:\n  "
            + "\n  ".join(mixed)
            + f"\nRerun each such cell with --overwrite, e.g. `python -m active_learning run {benchmark} --results-dir "
            f"{results_dir} --models M --methods X [--variants V] --overwrite` (recomputes all its seeds and removes "
            f"its old files), or run the other config into another --results-dir."
        )
    if not rows:
        raise FileNotFoundError(
            f"no finished runs of {benchmark!r} under {root}; run `python -m active_learning run {benchmark}` first"
        )
    table = pd.concat(rows, ignore_index=True)
    table.attrs["results_stamp"] = results_stamp(read)
    return table
