"""Command line: ``python -m active_learning {run,figures,summary,list,data} ...``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from .config import ConfigError, list_benchmarks, load_config, parse_overrides
from .datasets import DatasetFileNotFoundError
from .tasks import DataAccess


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help="local data folder (default: datasets/ or $AL_DATA_ROOT)")
    parser.add_argument(
        "--data-mirror", default=None, help="mirror folder of raw files, <mirror>/<dataset>/<file> (or $AL_DATA_MIRROR)"
    )
    parser.add_argument("--no-download", action="store_true", help="never download official files")


def _data_access(args: argparse.Namespace) -> DataAccess:
    mirror = args.data_mirror or os.environ.get("AL_DATA_MIRROR") or None
    return DataAccess(root=args.data_root, mirror=mirror, download=not args.no_download)


def _cmd_run(args: argparse.Namespace) -> int:
    from .plotting import load_results, make_figures, summary_markdown
    from .runner import run_grid

    overrides = parse_overrides(args.set or [])
    config = load_config(args.benchmark, overrides)
    report = run_grid(
        config,
        results_dir=args.results_dir,
        models=args.models,
        methods=args.methods,
        seeds=args.seeds,
        variants=args.variants,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        data=_data_access(args),
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(
        f"{config['name']}: ran {len(report.ran)} job(s), skipped {len(report.skipped)} finished job(s), "
        f"wall time {report.wall_time_s:.1f} s (n_jobs={args.n_jobs}, backend={args.backend})"
    )
    if not args.no_figures:
        for path in make_figures(config["name"], args.results_dir, figure=config.get("figure")):
            print(f"figure: {path}")
        print(summary_markdown(load_results(args.results_dir, config["name"])))
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    from .plotting import make_figures

    for benchmark in args.benchmarks:
        for path in make_figures(benchmark, args.results_dir, args.out_dir):
            print(f"figure: {path}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from .plotting import calibration_markdown, efficiency_markdown, load_results, summary_markdown

    results = load_results(args.results_dir, args.benchmark)
    print(summary_markdown(results))
    calibration = calibration_markdown(results)
    if calibration:
        print("\nActiveLab by temperature calibration (final round, mean ± std over seeds):\n")
        print(calibration)
    efficiency = efficiency_markdown(results)
    if efficiency:
        print("\nAnnotations ActiveLab needs to reach the best baseline's final value:\n")
        print(efficiency)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .datasets import DATASETS
    from .models import MODELS
    from .multiannotator.consensus import CONSENSUS
    from .multiannotator.methods import METHODS
    from .tasks import TASKS

    families = {
        "benchmarks": list_benchmarks(),
        "methods": METHODS.names(),
        "models": MODELS.names(),
        "consensus": CONSENSUS.names(),
        "datasets": DATASETS.names(),
        "tasks": TASKS.names(),
    }
    for family, names in _optional_families().items():
        families[family] = names
    wanted = [args.family] if args.family else list(families)
    for family in wanted:
        if family not in families:
            raise ConfigError(f"unknown family {family!r}; choose from {sorted(families)}")
        print(f"{family}: {', '.join(families[family])}")
    return 0


def _optional_families() -> dict:
    """Registries of optional subpackages (listed when they are installed)."""
    import importlib

    found = {}
    for family, module, attr in (
        ("strategies", "active_learning.strategies", "list_strategies"),
        ("noise_filters", "active_learning.noise_filters", "list_filters"),
        ("encoders", "active_learning.encoders", "list_encoders"),
    ):
        try:
            found[family] = getattr(importlib.import_module(module), attr)()
        except ImportError:
            continue
    return found


def _cmd_data(args: argparse.Namespace) -> int:
    from .datasets import load

    dataset = load(args.dataset, root=args.data_root, mirror=_data_access(args).mirror, download=not args.no_download)
    print(f"{args.dataset}: {len(dataset)} examples, source {dataset.source}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from .features import features_main

    features_main(
        args.dataset,
        args.encoder,
        root=args.data_root,
        mirror=_data_access(args).mirror,
        download=not args.no_download,
        batch_size=args.batch_size,
        device=args.device,
        encoder_params=parse_overrides(args.encoder_param or []),
        linear_probe=not args.no_linear_probe,
        progress=not args.no_progress,
    )
    return 0


def _cmd_simclr(args: argparse.Namespace) -> int:
    from .features.simclr import pretrain_simclr

    path = pretrain_simclr(
        args.dataset,
        root=args.data_root,
        mirror=_data_access(args).mirror,
        download=not args.no_download,
        epochs=args.epochs,
        batch_size=args.batch_size,
        out_path=args.out,
        seed=args.seed,
        device=args.device,
        max_images=args.max_images,
    )
    print(f"checkpoint: {path} (use it with --encoder simclr_resnet18 --encoder-param checkpoint={path})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m active_learning", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a benchmark grid (skips finished seeds) and draw its figure")
    run.add_argument("benchmark", help="benchmark name (see `list benchmarks`) or path to a YAML config")
    run.add_argument("--results-dir", default="results", help="where results go (default: results/)")
    run.add_argument("--models", nargs="+", help="only these models")
    run.add_argument("--methods", nargs="+", help="only these methods (result folder names)")
    run.add_argument("--seeds", nargs="+", type=int, help="only these seeds")
    run.add_argument("--variants", nargs="+", help="only these variants")
    run.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="config overrides, e.g. loop.rounds=3")
    run.add_argument("--n-jobs", type=int, default=1, help="jobs in parallel (-1 = all cores)")
    run.add_argument("--backend", default="loky", choices=["loky", "dask", "sequential", "threading"])
    run.add_argument("--scheduler", default=None, help="Dask scheduler address for --backend dask")
    run.add_argument("--overwrite", action="store_true", help="recompute results made with a different config")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--no-figures", action="store_true")
    _add_data_args(run)
    run.set_defaults(func=_cmd_run)

    figures = sub.add_parser("figures", help="draw figures from existing results")
    figures.add_argument("benchmarks", nargs="+")
    figures.add_argument("--results-dir", default="results")
    figures.add_argument("--out-dir", default=None)
    figures.set_defaults(func=_cmd_figures)

    summary = sub.add_parser("summary", help="final-round table of a benchmark's results")
    summary.add_argument("benchmark")
    summary.add_argument("--results-dir", default="results")
    summary.set_defaults(func=_cmd_summary)

    lister = sub.add_parser("list", help="list registered benchmarks, methods, models, datasets, ...")
    lister.add_argument("family", nargs="?", default=None)
    lister.set_defaults(func=_cmd_list)

    features = sub.add_parser("features", help="extract (cached) image features and print their quality report")
    features.add_argument("--dataset", required=True, help="e.g. cifar10, cifar100, cifar10h, clothing1m")
    features.add_argument("--encoder", default="efficientnet_lite0", help="see `list encoders`")
    features.add_argument("--encoder-param", nargs="+", metavar="KEY=VALUE", help="e.g. input_size=224 checkpoint=PATH")
    features.add_argument("--batch-size", type=int, default=128)
    features.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    features.add_argument("--no-linear-probe", action="store_true", help="report k-NN accuracy only")
    features.add_argument("--no-progress", action="store_true")
    _add_data_args(features)
    features.set_defaults(func=_cmd_features)

    simclr = sub.add_parser("simclr", help="SimCLR pretraining of a CIFAR ResNet-18 (meant for a GPU)")
    simclr.add_argument("--dataset", default="cifar10")
    simclr.add_argument("--epochs", type=int, default=500)
    simclr.add_argument("--batch-size", type=int, default=512)
    simclr.add_argument("--out", default=None, help="checkpoint path (default: <data root>/checkpoints/...)")
    simclr.add_argument("--seed", type=int, default=0)
    simclr.add_argument("--device", default=None)
    simclr.add_argument("--max-images", type=int, default=None, help="train on the first N images (smoke test)")
    _add_data_args(simclr)
    simclr.set_defaults(func=_cmd_simclr)

    data = sub.add_parser("data", help="locate (or download) and check a dataset's raw files")
    data.add_argument("dataset")
    _add_data_args(data)
    data.set_defaults(func=_cmd_data)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, DatasetFileNotFoundError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
