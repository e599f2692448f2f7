"""Wall time of the Wall Robot grid with ``--n-jobs 1`` and ``--n-jobs 2`` (fresh temporary results folders).

    python benchmarks/wall_robot/bench_walltime.py [--data-mirror DIR] [--models mlp] [--seeds 0 1] [--rounds 5]

Prints one line per setting and the speed-up, and writes the figures (with the machine, package versions and git
commit) to ``results/wall_robot_walltime.json`` (``--out``). Without restrictions it times the full grid
(12 model/method pairs x 5 seeds x 20 rounds) twice, which takes a long time on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from active_learning.runner import run_grid
from active_learning.tasks import DataAccess
from active_learning.utils.io import atomic_write_json, git_commit, package_versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="wall_robot")
    parser.add_argument("--data-mirror", default=os.environ.get("AL_DATA_MIRROR") or None)
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--rounds", type=int, help="override loop.rounds (default: the benchmark's)")
    parser.add_argument("--n-jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--out", default="results/wall_robot_walltime.json")
    args = parser.parse_args()

    overrides = {"loop": {"rounds": args.rounds}} if args.rounds else None
    timings = {}
    for n_jobs in args.n_jobs:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            report = run_grid(
                args.benchmark,
                results_dir=tmp,
                models=args.models,
                methods=args.methods,
                seeds=args.seeds,
                overrides=overrides,
                n_jobs=n_jobs,
                data=DataAccess(mirror=args.data_mirror),
            )
            elapsed = time.perf_counter() - start
        timings[n_jobs] = {"wall_time_s": round(elapsed, 1), "jobs": len(report.ran)}
        print(f"{args.benchmark}: {len(report.ran)} jobs with --n-jobs {n_jobs}: {elapsed:.1f} s")
    if 1 in timings and len(timings) > 1:
        for n_jobs, timing in timings.items():
            if n_jobs != 1:
                print(f"speed-up --n-jobs {n_jobs} vs 1: {timings[1]['wall_time_s'] / timing['wall_time_s']:.2f}x")
    atomic_write_json(
        Path(args.out),
        {
            "benchmark": args.benchmark,
            "restrictions": {"models": args.models, "methods": args.methods, "seeds": args.seeds, "rounds": args.rounds},
            "timings": timings,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
            "versions": package_versions(),
            "git": git_commit(),
        },
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
