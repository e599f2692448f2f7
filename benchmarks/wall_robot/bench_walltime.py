"""Wall time of the Wall Robot grid with ``--n-jobs 1`` and ``--n-jobs 2``.

    python benchmarks/wall_robot/bench_walltime.py [--data-mirror DIR] [--models mlp] [--seeds 0 1] [--rounds 5]

Each setting runs the grid into its own scratch folder (``--work-dir``, default ``.cache/bench_walltime/``, not
committed) and prints its wall time; at the end the speed-up, and the figures (with the machine, package versions and
git commit) are written to ``results/wall_robot_walltime.json`` (``--out``).

The full grid (12 model/method pairs x 5 seeds x 20 rounds) takes hours with ``--n-jobs 1`` on a 2-core machine, so
the measurement resumes: a ledger beside each scratch folder records, after every finished job, the time elapsed
since its segment started; a killed run continues where it stopped, and the wall time of a setting is the sum of its
segments. With ``--n-jobs 1`` that sum is exact (jobs run one after another; the job that was running when the run
was killed is redone and its lost time is not counted). With ``--n-jobs 2`` a killed segment also counts the partial
work of the job that was still running beside the last finished one, so a resumed figure is an upper bound; the JSON
says how many segments each figure has. ``--fresh`` discards earlier segments and starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from active_learning.config import Job
from active_learning.results import sidecar_paths
from active_learning.runner import run_grid
from active_learning.tasks import DataAccess
from active_learning.utils.io import atomic_write_json, config_hash, git_commit, package_versions


def _read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def time_setting(
    benchmark: "str | Mapping[str, Any]",
    n_jobs: int,
    work_dir: Path,
    restrictions: Mapping[str, Any],
    overrides: Optional[Mapping[str, Any]],
    data: DataAccess,
) -> Dict[str, Any]:
    """Run (or finish) one ``--n-jobs`` setting of ``benchmark`` (a name or a config) in ``work_dir``; its timing."""
    ledger_path = work_dir / "ledger.json"
    ledger: Dict[str, List[Dict[str, Any]]] = _read_json(ledger_path, {"segments": []})
    segment: Dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": 0.0,
        "jobs": 0,
        "completed": False,
    }
    start = time.perf_counter()

    def record(job: Job, outcome: Mapping[str, Any]) -> None:
        if segment["jobs"] == 0:
            ledger["segments"].append(segment)
        segment["elapsed_s"] = round(time.perf_counter() - start, 2)
        segment["jobs"] += 1
        atomic_write_json(ledger_path, ledger)

    report = run_grid(
        benchmark,
        results_dir=work_dir / "results",
        models=restrictions.get("models"),
        methods=restrictions.get("methods"),
        seeds=restrictions.get("seeds"),
        overrides=overrides,
        n_jobs=n_jobs,
        data=data,
        on_result=record,
    )
    if report.ran:
        segment["elapsed_s"] = round(time.perf_counter() - start, 2)
        segment["completed"] = True
        atomic_write_json(ledger_path, ledger)
    segments = [s for s in ledger["segments"] if s["jobs"] > 0]
    job_times = [
        _read_json(path, {}).get("wall_time_s", 0.0) for path in sidecar_paths(work_dir / "results")
    ]
    return {
        "wall_time_s": round(sum(s["elapsed_s"] for s in segments), 1),
        "jobs": len(report.ran) + len(report.skipped),
        "segments": len(segments),
        "sum_of_job_wall_times_s": round(sum(job_times), 1),
        "ledger": segments,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="wall_robot")
    parser.add_argument("--data-mirror", default=os.environ.get("AL_DATA_MIRROR") or None)
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--rounds", type=int, help="override loop.rounds (default: the benchmark's)")
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--work-dir", default=".cache/bench_walltime", help="scratch results and ledgers")
    parser.add_argument("--fresh", action="store_true", help="discard earlier (partial) measurements")
    parser.add_argument("--out", default="results/wall_robot_walltime.json")
    args = parser.parse_args()

    restrictions = {"models": args.models, "methods": args.methods, "seeds": args.seeds, "rounds": args.rounds}
    overrides = {"loop": {"rounds": args.rounds}} if args.rounds else None
    data = DataAccess(mirror=args.data_mirror)
    measurement_dir = Path(args.work_dir) / f"{args.benchmark}-{config_hash(restrictions)}"
    timings: Dict[int, Dict[str, Any]] = {}
    for n_jobs in args.n_jobs:
        work_dir = measurement_dir / f"n_jobs{n_jobs}"
        if args.fresh and work_dir.exists():
            shutil.rmtree(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        timings[n_jobs] = time_setting(args.benchmark, n_jobs, work_dir, restrictions, overrides, data)
        timing = timings[n_jobs]
        print(
            f"{args.benchmark}: {timing['jobs']} jobs with --n-jobs {n_jobs}: {timing['wall_time_s']:.1f} s "
            f"({timing['segments']} segment(s); sum of the jobs' own times {timing['sum_of_job_wall_times_s']:.1f} s)"
        )
    if 1 in timings:
        for n_jobs, timing in timings.items():
            if n_jobs != 1 and timing["wall_time_s"] > 0:
                print(f"speed-up --n-jobs {n_jobs} vs 1: {timings[1]['wall_time_s'] / timing['wall_time_s']:.2f}x")
    atomic_write_json(
        Path(args.out),
        {
            "benchmark": args.benchmark,
            "restrictions": restrictions,
            "timings": timings,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
            "versions": package_versions(),
            "git": git_commit(),
        },
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
