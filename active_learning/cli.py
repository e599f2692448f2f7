"""Command line: ``python -m active_learning {run,figures,summary,list,data,features,simclr,diagnose} ...``.

Every error a user can cause (a bad config or flag, a missing data file, results made with another config, a
locked results folder, ...) ends the command with one line on stderr, ``error: <message>``, and exit code 2;
``--debug`` shows the traceback instead. Ctrl-C ends it with ``interrupted`` and exit code 130.

Where things go (relative to the working directory): raw data in ``./datasets`` (``--data-root`` or
``$AL_DATA_ROOT``), results of full benchmark runs in ``./results``, and results of ad-hoc runs (``--set``,
``--seeds``, ``--methods``, ``--models``, ``--variants``) in ``./results_scratch``, so that trying a command never
touches the committed results; ``--results-dir`` always wins.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, NoReturn, Optional, Sequence, Tuple, Type

import yaml

# Only light modules at import time: `--help`, `run --help` and `list` must answer at once, so torch,
# scikit-learn, pandas and matplotlib are imported inside the commands that use them (tests/test_newcomer.py).
from .config import ConfigError, list_benchmarks, load_config, parse_overrides

if TYPE_CHECKING:
    from .tasks import DataAccess

#: Results of full benchmark runs (committed in this repository).
RESULTS_DIR = "results"
#: Results of ad-hoc runs (a subset of the grid or changed settings) and figures drawn without an explicit folder.
SCRATCH_RESULTS_DIR = "results_scratch"
#: Flags that make a run ad hoc.
SUBSET_FLAGS = ("set", "seeds", "methods", "models", "variants")


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help="local data folder (default: ./datasets in the working directory, or $AL_DATA_ROOT)")
    parser.add_argument(
        "--data-mirror", default=None, help="mirror folder of raw files, <mirror>/<dataset>/<file> (or $AL_DATA_MIRROR)"
    )
    parser.add_argument("--no-download", action="store_true", help="never download official files")


def _data_access(args: argparse.Namespace) -> DataAccess:
    from .tasks import DataAccess

    mirror = args.data_mirror or os.environ.get("AL_DATA_MIRROR") or None
    return DataAccess(root=args.data_root, mirror=mirror, download=not args.no_download)


def _flattened(groups: Optional[List[Any]]) -> List[str]:
    """The values of a repeatable ``nargs="+"`` option (``--set A B --set C`` -> ``[A, B, C]``), in order."""
    out: List[str] = []
    for group in groups or []:
        out.extend(group if isinstance(group, list) else [group])
    return out


def _run_results_dir(args: argparse.Namespace) -> Tuple[str, str]:
    """The results folder of ``run`` and why: explicit, a full run (``results/``) or an ad-hoc one (scratch)."""
    if args.results_dir is not None:
        return args.results_dir, "--results-dir"
    flags = [f"--{flag}" for flag in SUBSET_FLAGS if getattr(args, flag)]
    if flags:
        return SCRATCH_RESULTS_DIR, f"ad-hoc run ({', '.join(flags)}); give --results-dir to write elsewhere"
    return RESULTS_DIR, "full run"


def _cmd_run(args: argparse.Namespace) -> int:
    from .plotting.benchmark_figures import make_figures
    from .plotting.tables import summary_markdown
    from .results import load_results
    from .runner import run_grid
    from .utils.devices import auto_devices_note, resolve_devices

    if args.n_jobs == 0:
        raise ConfigError("--n-jobs 0 runs nothing; give a positive number, or -1 for every core")
    if args.scheduler and args.backend != "dask":
        raise ConfigError(f"--scheduler needs --backend dask (got --backend {args.backend})")
    if args.jobs_per_device != 1 and args.devices is None:
        raise ConfigError("--jobs-per-device needs --devices (auto, cpu or a list such as cuda:0,cuda:1)")
    # before anything else: e.g. --devices cuda:0 on a machine without CUDA is one line, before any job
    devices = resolve_devices(args.devices, check_visible=not (args.backend == "dask" and args.scheduler))
    note = auto_devices_note(devices) if args.devices == "auto" else None
    if note:  # e.g. a CPU machine: say so at once instead of a silent, slow run
        jobs = args.n_jobs if args.n_jobs is not None else args.jobs_per_device
        print(f"{note}, {jobs} at a time" + (" (--n-jobs N for more)" if args.n_jobs is None else ""), file=sys.stderr)
    overrides = parse_overrides(_flattened(args.set))
    config = load_config(args.benchmark, overrides)
    results_dir, why = _run_results_dir(args)
    print(f"results: {Path(results_dir) / config['name']} ({why})")
    report = run_grid(
        config,
        results_dir=results_dir,
        models=args.models,
        methods=args.methods,
        seeds=args.seeds,
        variants=args.variants,
        overrides=overrides,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        data=_data_access(args),
        overwrite=args.overwrite,
        progress=not args.no_progress,
        devices=devices,
        jobs_per_device=args.jobs_per_device,
    )
    on = f", devices={','.join(report.devices)} x{args.jobs_per_device}" if report.devices else ""
    print(
        f"{config['name']}: ran {len(report.ran)} job(s), skipped {len(report.skipped)} finished job(s), "
        f"wall time {report.wall_time_s:.1f} s (n_jobs={report.n_jobs}, backend={args.backend}{on})"
    )
    for what in ("repaired", "overwritten", "removed"):  # what the runner did to existing results, if anything
        done = getattr(report, what, None)
        if done:
            print(f"{what}: {len(done)} ({', '.join(map(str, done[:5]))}{', ...' if len(done) > 5 else ''})")
    if config.get("task") == "noisy_single_annotator" and not args.no_diagnostic:
        _print_coverage_diagnostic(config, results_dir, ran=bool(report.ran), data=_data_access(args), variants=args.variants)
    if not args.no_figures:
        # the results are read (and verified) once, for the figures and the summary, with the config this run used
        results = load_results(results_dir, config["name"], progress=not args.no_progress)
        for path in make_figures(config["name"], results_dir, progress=not args.no_progress, config=config,
                                 results=results):
            print(f"figure: {path}")
        print(summary_markdown(results))
    print(f"results: {Path(results_dir) / config['name']}")
    return 0


def _print_coverage_diagnostic(config: Any, results_dir: str, *, ran: bool, data: DataAccess,
                               variants: Optional[List[str]] = None) -> None:
    """After a NAS run: the coverage diagnostic of its feature sets at the δ its methods use (computed and stored in
    ``<results>/<benchmark>/coverage/`` when jobs ran, so the features are at hand; else the stored one, if any)."""
    from .diagnostics.benchmark import diagnose_benchmark, read_benchmark_diagnostics, verdict_lines

    if ran:
        lines = diagnose_benchmark(config, data, results_dir, variants=variants)
    else:
        lines = verdict_lines(read_benchmark_diagnostics(results_dir, config["name"]))
    for line in lines:
        print(line)


def _cmd_figures(args: argparse.Namespace) -> int:
    from .plotting.benchmark_figures import make_figures

    results_dir = args.results_dir if args.results_dir is not None else RESULTS_DIR
    for benchmark in args.benchmarks:
        out_dir = args.out_dir
        if out_dir is None and args.results_dir is None:  # reading the committed results: draw into scratch
            out_dir = str(Path(SCRATCH_RESULTS_DIR) / benchmark / "figures")
        for path in make_figures(benchmark, results_dir, out_dir, progress=not args.no_progress):
            print(f"figure: {path}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from .plotting.tables import calibration_markdown, efficiency_markdown, summary_markdown
    from .results import load_results

    results = load_results(args.results_dir or RESULTS_DIR, args.benchmark)
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


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    html_path, md_path = build_report(args.results_dir, args.out_dir, args.benchmarks, progress=not args.no_progress)
    print(f"report: {html_path}")
    print(f"report: {md_path}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    # the registries' snapshot (importing them would import torch, scikit-learn, ...: seconds); tests keep it current
    from ._catalog import CATALOG

    families = {"benchmarks": list_benchmarks(), **CATALOG}
    wanted = [args.family] if args.family else list(families)
    for family in wanted:
        if family not in families:
            raise ConfigError(f"unknown family {family!r}; choose from {sorted(families)}")
        print(f"{family}: {', '.join(families[family])}")
    return 0


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (the same resolved path, or, for existing files, the same inode)."""
    first, second = Path(a).expanduser(), Path(b).expanduser()
    if first.exists() and second.exists():
        try:
            return os.path.samefile(first, second)
        except OSError:
            pass
    return first.resolve() == second.resolve()


def check_output_paths(
    outputs: Sequence[Tuple[str, Optional[str]]], inputs: Sequence[Tuple[str, Optional[str]]] = ()
) -> None:
    """Refuse, before any work, a command whose output files collide: two outputs that are one file (the second
    would silently replace the first), or an output that is one of the command's input files.

    ``outputs`` and ``inputs`` are ``(flag, path)`` pairs; ``None`` paths (options not given) are ignored.
    """
    given = [(flag, path) for flag, path in outputs if path]
    for position, (flag, path) in enumerate(given):
        for earlier_flag, earlier in given[:position]:
            if _same_file(path, earlier):
                raise ConfigError(
                    f"{earlier_flag} {earlier} and {flag} {path} are the same file; one would overwrite the other, so "
                    f"give them different paths"
                )
        for input_flag, input_path in inputs:
            if input_path and _same_file(path, input_path):
                raise ConfigError(
                    f"{flag} {path} is the file given to {input_flag}; writing it would replace your input, so give "
                    f"{flag} another path"
                )


def _cmd_suggest(args: argparse.Namespace) -> int:

    import warnings

    from .multiannotator import suggest_next_batch
    from .multiannotator.data import ClassesInferredWarning
    from .pools.label_file import read_ids, read_label_file, read_npy
    from .utils.io import atomic_write_text

    check_output_paths([("--out", args.out), ("--consensus-out", args.consensus_out),
                        ("--annotators-out", args.annotators_out)],
                       [("--labels", args.labels), ("--features", args.features), ("--ids", args.ids)])
    labels = read_label_file(args.labels)
    if "annotator_id" in labels.columns:  # suggest_next_batch takes the ids as they are and reports them
        labels = labels.assign(annotator=labels.pop("annotator_id"))
    features = read_npy(args.features, "features", "--features")
    ids = None if args.ids is None else read_ids(args.ids, features.shape[0], "--ids")
    with warnings.catch_warnings(record=True) as caught:  # shown as one line each, only if no error follows
        warnings.simplefilter("always", ClassesInferredWarning)
        out = suggest_next_batch(
            labels, features, batch_size=args.batch_size, method=args.method, models=args.models,
            max_labels_per_example=args.max_labels_per_example, n_folds=args.n_folds, seed=args.seed,
            n_classes=args.n_classes, classes=args.classes, ids=ids,
        )
    for warning in caught:
        if issubclass(warning.category, ClassesInferredWarning):
            print(f"warning: {str(warning.message).replace('n_classes= or classes=', '--n-classes or --classes')}",
                  file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    batch = out.batch
    atomic_write_text(args.out, batch.to_csv(index=False))
    if args.consensus_out:
        atomic_write_text(args.consensus_out, out.consensus.to_csv(index=False))
    if args.annotators_out:
        atomic_write_text(args.annotators_out, out.annotators.to_csv(index=False))
    info = out.info
    print(f"{len(batch)} suggestions -> {args.out}: {info['n_new']} new examples, {info['n_relabel']} re-labels "
          f"({info['n_labeled']} labeled, {info['n_unlabeled']} unlabeled, {info['n_annotations']} annotations; "
          f"CROWDLAB model weight {', '.join(f'{w:.2f}' for w in info['model_weight'])})")
    if args.consensus_out:
        print(f"consensus labels of the {info['n_labeled']} labeled examples -> {args.consensus_out}")
    if args.annotators_out:
        print(f"quality of the {len(out.annotators)} annotators (n_labels, agreement, weight) -> {args.annotators_out}")
    return 0


def _load_vector(path: str, what: str) -> Any:
    """A 1-D or 2-D ``.npy`` a user gave on the command line, with a one-line error when it is missing or odd."""
    import numpy as np

    if not Path(path).is_file():
        raise ConfigError(f"{what}: file {path} not found")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ConfigError(f"{what}: {path} is not a numeric .npy file ({exc})") from None


def _parse_deltas(text: Optional[str], what: str) -> Optional[List[float]]:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} {text!r}: give comma-separated numbers, e.g. 0.5,0.6,0.75") from None
    if not values:
        raise ConfigError(f"{what} is empty: give comma-separated numbers, e.g. 0.5,0.6,0.75")
    return values


def _cmd_diagnose(args: argparse.Namespace) -> int:
    """Coverage diagnostic of a feature set: ball statistics over a δ grid, ProbCover coverage, a verdict."""
    import numpy as np

    deltas = _parse_deltas(args.deltas, "--deltas")
    interest = _parse_deltas(args.delta, "--delta") or []
    sources = [bool(args.features), bool(args.dataset), bool(args.benchmark)]
    if sum(sources) != 1:
        raise ConfigError("diagnose: give exactly one of --features FILE.npy, --dataset NAME or --benchmark NAME")
    if args.benchmark:
        from .diagnostics.benchmark import diagnose_benchmark

        config = load_config(args.benchmark)
        results_dir = args.results_dir or RESULTS_DIR
        for line in diagnose_benchmark(config, _data_access(args), results_dir, force=args.force):
            print(line)
        return 0
    from .diagnostics import diagnose_coverage, plot_coverage_diagnostic

    labels = None
    if args.features:
        X = _load_vector(args.features, "--features")
        if X.ndim != 2:
            raise ConfigError(f"--features: {args.features} must hold a 2-D array (n_points, n_features), got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ConfigError(f"--features: {args.features} holds NaN or inf values; remove those rows first")
        if args.labels:
            labels = _load_vector(args.labels, "--labels")
            if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
                raise ConfigError(f"--labels: {args.labels} must hold one label per feature row ({X.shape[0]}), got shape {labels.shape}")
        name = Path(args.features).stem
    else:
        from .diagnostics.benchmark import pool_features

        if args.labels:
            raise ConfigError("--labels goes with --features; a registered dataset brings its own true labels")
        dataset = {"name": args.dataset, "encoder": args.encoder,
                   "encoder_params": parse_overrides(args.encoder_param or [])}
        X, labels, n_classes = pool_features(dataset, {}, _data_access(args))
        if args.n_classes is None:
            args.n_classes = n_classes
        name = "_".join([args.dataset, args.encoder] + [str(v) for v in dataset["encoder_params"].values()])
    if labels is None and args.n_classes is None and not args.no_purity_rule:
        raise ConfigError("diagnose: the purity rule and the coverage budgets need the number of classes: give --labels or --n-classes")
    diag = diagnose_coverage(X, labels, deltas=deltas, deltas_of_interest=interest, n_classes=args.n_classes,
                             n_centres=args.centres, purity_rule=not args.no_purity_rule, seed=args.seed)
    out_dir = Path(args.out_dir or Path(SCRATCH_RESULTS_DIR) / "diagnose")
    out_dir.mkdir(parents=True, exist_ok=True)
    from .utils.io import atomic_write_json

    atomic_write_json(out_dir / f"{name}.json", {"source": args.features or name, **diag.to_dict()})
    plot_coverage_diagnostic(diag, out_dir / f"{name}.png", title=f"coverage diagnostic: {name}")
    print(f"{name}: {diag.n_samples} points x {diag.n_features} features, {diag.n_centres} ball centres")
    if diag.knn_accuracy is not None:
        print(f"leave-one-out {diag.knn_k}-NN accuracy: {diag.knn_accuracy:.3f}")
    if diag.purity_delta is not None:
        print(f"purity-rule δ on the whole pool (alpha {diag.purity_alpha}): {diag.purity_delta:g}")
    print(diag.table())
    if diag.coverage:
        print(diag.coverage_table())
    for d in diag.deltas_of_interest:
        print(f"δ = {d:g}: {diag.verdict(d)}")
    print(f"written: {out_dir / (name + '.json')}, {out_dir / (name + '.png')}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from .datasets import load

    dataset = load(args.dataset, root=args.data_root, mirror=_data_access(args).mirror, download=not args.no_download)
    print(f"{args.dataset}: {len(dataset)} examples, source {dataset.source}")
    return 0


def parse_indices(spec: str) -> Any:
    """``START:STOP``, ``a,b,c`` or a ``.npy`` / ``.txt`` file of image indices -> 1-D int64 array.

    Refused with one line (:class:`ConfigError`): an empty list or range, a value that is not an integer (``1.5``,
    a float array holding ``2.0`` counts as one only when every value is whole), a multi-dimensional array, a
    negative index and an index listed twice. Indices past the end of the split are refused once its size is known.
    """
    import numpy as np

    text = spec.strip()
    usage = "use START:STOP, a comma list of integers, or an .npy / .txt file of integers"
    if not text:
        raise ConfigError(f"--indices is empty; {usage} (leave --indices out for every image)")
    if text.endswith(".npy") or text.endswith(".txt"):
        from pathlib import Path

        if not Path(text).is_file():
            raise ConfigError(f"--indices: file {text} not found")
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty .txt file: refused below as selecting no image
                values = np.load(text, allow_pickle=False) if text.endswith(".npy") else np.loadtxt(text, dtype=str, ndmin=1)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--indices: cannot read {text} ({exc}); {usage}") from None
        values = np.asarray(values)
        if values.ndim != 1:
            raise ConfigError(f"--indices: {text} holds an array of shape {values.shape}; expected a 1-D list of indices")
        if values.dtype.kind in "US":  # a .txt file: every entry must be an integer literal
            bad = [v for v in values.tolist() if not v.strip().lstrip("+-").isdigit()]
            if bad:
                raise ConfigError(f"--indices: {text} holds {bad[0]!r}, not an integer; {usage}")
            values = values.astype(np.int64)
        elif values.dtype.kind == "f":
            whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
            if not whole.all():
                raise ConfigError(f"--indices: {text} holds {values[~whole][0].item()!r}, not an integer; {usage}")
        elif values.dtype.kind not in "iu":
            raise ConfigError(f"--indices: {text} has dtype {values.dtype}, not integers; {usage}")
        indices = values.astype(np.int64)
        what = text
    else:
        try:
            if ":" in text:
                start, stop = text.split(":", 1)
                indices = np.arange(int(start or 0), int(stop), dtype=np.int64)
            else:
                parts = [v.strip() for v in text.split(",")]
                if any(not v for v in parts):
                    raise ValueError("an empty entry")
                indices = np.array([int(v) for v in parts], dtype=np.int64)
        except ValueError:
            raise ConfigError(f"--indices {spec!r}: {usage}") from None
        what = repr(spec)
    if indices.size == 0:
        raise ConfigError(f"--indices {what} selects no image; {usage}")
    if indices.min() < 0:
        raise ConfigError(f"--indices {what}: index {int(indices.min())} is negative; indices count from 0")
    unique, counts = np.unique(indices, return_counts=True)
    if unique.size != indices.size:
        raise ConfigError(f"--indices {what}: index {int(unique[counts > 1][0])} is listed more than once")
    return indices


def _cmd_features(args: argparse.Namespace) -> int:
    from .features import features_main

    from .utils.devices import check_torch_device

    check_torch_device(args.device, "--device")  # before the data: e.g. --device cuda without a GPU is one line
    indices = parse_indices(args.indices) if args.indices is not None else None
    splits = None
    if args.split or indices is not None:
        splits = (args.split or "train",)
    features_main(
        args.dataset,
        args.encoder,
        root=args.data_root,
        mirror=_data_access(args).mirror,
        download=not args.no_download,
        batch_size=args.batch_size,
        device=args.device,
        encoder_params=parse_overrides(_flattened(args.encoder_param)),
        linear_probe=not args.no_linear_probe,
        progress=not args.no_progress,
        splits=splits,
        indices=indices,
    )
    return 0


def _cmd_simclr(args: argparse.Namespace) -> int:
    from .features.simclr import pretrain_simclr
    from .utils.devices import check_torch_device

    check_torch_device(args.device, "--device")  # before the data: e.g. --device cuda without a GPU is one line
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


def _int_at_least(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {minimum}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: <prog>: <message> (see --help)``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error"
    )
    parser = _Parser(prog="python -m active_learning", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="run a benchmark grid (skips finished seeds) and draw its figure")
    run.add_argument("benchmark", help="benchmark name (see `list benchmarks`) or path to a YAML config")
    run.add_argument(
        "--results-dir",
        default=None,
        help=f"where results go (default: {RESULTS_DIR}/ for a full run, {SCRATCH_RESULTS_DIR}/ when --set, --seeds, "
        f"--methods, --models or --variants restrict or change the grid)",
    )
    run.add_argument("--models", nargs="+", action="extend", help="only these models")
    run.add_argument("--methods", nargs="+", action="extend", help="only these methods (result folder names)")
    run.add_argument("--seeds", nargs="+", action="extend", type=_int_at_least(0), help="only these seeds")
    run.add_argument("--variants", nargs="+", action="extend", help="only these variants")
    run.add_argument(
        "--no-diagnostic", action="store_true",
        help="NAS benchmarks: skip the coverage diagnostic of the feature sets (δ-ball statistics, purity-rule δ)",
    )
    run.add_argument(
        "--set", nargs="+", action="append", metavar="KEY=VALUE",
        help="config overrides, e.g. loop.rounds=3 (several: --set A B or --set A --set B); they apply on top of "
        "every variant and method entry",
    )
    run.add_argument(
        "--n-jobs", type=int, default=None,
        help="jobs in parallel (-1 = all cores; default 1, or devices x --jobs-per-device with --devices)",
    )
    run.add_argument("--backend", default="loky", choices=["loky", "dask", "sequential", "threading"])
    run.add_argument(
        "--devices", default=None, metavar="auto|cpu|cuda:0,cuda:1",
        help="spread the jobs over these devices (auto: every visible GPU, else the CPU); job i runs on device "
        "i mod len(devices); the device is not part of a job's config or results path (default: no assignment)",
    )
    run.add_argument(
        "--jobs-per-device", type=_int_at_least(1), default=1,
        help="jobs at once on one GPU, when its memory allows (default 1; needs --devices)",
    )
    run.add_argument("--scheduler", default=None, help="Dask scheduler address for --backend dask")
    run.add_argument("--overwrite", action="store_true", help="recompute results made with a different config")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--no-figures", action="store_true")
    _add_data_args(run)
    run.set_defaults(func=_cmd_run)

    figures = sub.add_parser("figures", parents=[common], help="draw figures from existing results")
    figures.add_argument("benchmarks", nargs="+")
    figures.add_argument("--results-dir", default=None, help=f"results to draw from (default: {RESULTS_DIR}/)")
    figures.add_argument(
        "--out-dir",
        default=None,
        help=f"where the figures go (default: <results-dir>/<benchmark>/figures when --results-dir is given, else "
        f"{SCRATCH_RESULTS_DIR}/<benchmark>/figures, so the committed figures stay as they are)",
    )
    figures.add_argument("--no-progress", action="store_true", help="no progress bars (they show on a terminal only)")
    figures.set_defaults(func=_cmd_figures)

    summary = sub.add_parser("summary", parents=[common], help="final-round table of a benchmark's results")
    summary.add_argument("benchmark")
    summary.add_argument("--results-dir", default=None, help=f"default: {RESULTS_DIR}/")
    summary.set_defaults(func=_cmd_summary)

    report = sub.add_parser(
        "report", parents=[common],
        help="one HTML page (and its Markdown twin) of every benchmark's figures, tables, deviations and provenance",
    )
    report.add_argument("--results-dir", default=RESULTS_DIR, help=f"results to report (default: {RESULTS_DIR}/)")
    report.add_argument("--out-dir", default=None, help="where report.html and report.md go (default: <results-dir>/report/)")
    report.add_argument("--benchmarks", nargs="+", default=None, help="only these benchmarks (default: every one with results)")
    report.add_argument("--no-progress", action="store_true", help="no progress bars (they show on a terminal only)")
    report.set_defaults(func=_cmd_report)

    lister = sub.add_parser("list", parents=[common], help="list registered benchmarks, methods, models, datasets, ...")
    lister.add_argument("family", nargs="?", default=None)
    lister.set_defaults(func=_cmd_list)

    features = sub.add_parser(
        "features", parents=[common], help="extract (cached) image features and print their quality report"
    )
    features.add_argument("--dataset", required=True, help="e.g. cifar10, cifar100, cifar10h, clothing1m")
    features.add_argument("--encoder", default="efficientnet_lite0", help="see `list encoders`")
    features.add_argument(
        "--encoder-param", nargs="+", action="append", metavar="KEY=VALUE",
        help="e.g. input_size=224 checkpoint=PATH (several: --encoder-param A B or --encoder-param A --encoder-param B)",
    )
    features.add_argument("--batch-size", type=_int_at_least(1), default=128)
    features.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    features.add_argument("--no-linear-probe", action="store_true", help="report k-NN accuracy only")
    features.add_argument("--no-progress", action="store_true")
    features.add_argument("--split", default=None, help="only this split (default: train and test)")
    features.add_argument(
        "--indices", default=None, metavar="SPEC",
        help="only these images of --split (default train): START:STOP, a comma list, or an .npy / .txt file of indices",
    )
    _add_data_args(features)
    features.set_defaults(func=_cmd_features)

    simclr = sub.add_parser("simclr", parents=[common], help="SimCLR pretraining of a CIFAR ResNet-18 (meant for a GPU)")
    simclr.add_argument("--dataset", default="cifar10")
    simclr.add_argument("--epochs", type=_int_at_least(1), default=500)
    simclr.add_argument("--batch-size", type=_int_at_least(2), default=512)
    simclr.add_argument("--out", default=None, help="checkpoint path (default: <data root>/checkpoints/...)")
    simclr.add_argument("--seed", type=_int_at_least(0), default=0)
    simclr.add_argument("--device", default=None)
    simclr.add_argument(
        "--max-images", type=_int_at_least(1), default=None, help="train on the first N images (smoke test)"
    )
    _add_data_args(simclr)
    simclr.set_defaults(func=_cmd_simclr)

    suggest = sub.add_parser(
        "suggest", parents=[common],
        help="what to label next, from your labels so far (example, annotator, label) and features (.npy)",
    )
    suggest.add_argument("--labels", required=True, help="long label file: CSV or Parquet with example, annotator, label")
    suggest.add_argument("--features", required=True, help=".npy of shape (n_examples, d); row i = example i")
    suggest.add_argument("--batch-size", type=_int_at_least(1), required=True)
    suggest.add_argument("--method", default="activelab", help="see `list methods`")
    suggest.add_argument("--models", nargs="+", default=["logistic_regression"], help="see `list models`; several = ensemble")
    suggest.add_argument("--max-labels-per-example", type=_int_at_least(1), default=None)
    suggest.add_argument("--n-folds", type=_int_at_least(2), default=5)
    suggest.add_argument("--seed", type=_int_at_least(0), default=0)
    suggest.add_argument("--n-classes", type=_int_at_least(2), default=None,
                         help="the number of classes (integer labels 0..N-1); default: inferred, with a warning")
    suggest.add_argument("--classes", nargs="+", default=None, metavar="NAME",
                         help="the class names in order (labels may be these names); a label not listed is an error")
    suggest.add_argument("--ids", default=None, metavar="FILE",
                         help="the id of each features row (.npy, or .csv with a column id): the label file's "
                         "example column then holds these ids, and the outputs report them")
    suggest.add_argument("--out", default="next_batch.csv", help="the batch (example, action, score, rank)")
    suggest.add_argument("--consensus-out", default=None, help="also write the consensus labels here")
    suggest.add_argument("--annotators-out", default=None, metavar="FILE",
                         help="also write each annotator's quality here (annotator, n_labels, agreement, weight)")
    suggest.set_defaults(func=_cmd_suggest)

    diagnose = sub.add_parser(
        "diagnose", parents=[common],
        help="coverage diagnostic of a feature set: δ-ball sizes and purity, ProbCover coverage, purity-rule δ, a verdict",
    )
    diagnose.add_argument("--features", default=None, help="a .npy of shape (n_points, n_features)")
    diagnose.add_argument("--labels", default=None, help="optional .npy of true labels (one per row) for purity and k-NN")
    diagnose.add_argument("--dataset", default=None, help="or a registered image dataset (features from the cache)")
    diagnose.add_argument("--encoder", default="efficientnet_lite0", help="with --dataset; see `list encoders`")
    diagnose.add_argument("--encoder-param", nargs="+", metavar="KEY=VALUE", help="with --dataset, e.g. input_size=224")
    diagnose.add_argument("--benchmark", default=None, help="or a NAS benchmark: every feature set at the δ it uses, stored next to its results")
    diagnose.add_argument("--results-dir", default=None, help="with --benchmark (default: results)")
    diagnose.add_argument("--force", action="store_true", help="with --benchmark: recompute stored diagnostics")
    diagnose.add_argument("--n-classes", type=_int_at_least(2), default=None)
    diagnose.add_argument("--deltas", default=None, help="δ grid, comma-separated (default 0.30, 0.35, ..., 1.10)")
    diagnose.add_argument("--delta", default=None, help="δ values you use (comma-separated): coverage and a verdict at each")
    diagnose.add_argument("--centres", type=_int_at_least(1), default=5000, help="sampled ball centres (balls count the whole pool)")
    diagnose.add_argument("--no-purity-rule", action="store_true", help="skip the purity rule for δ (K-means + one pass)")
    diagnose.add_argument("--seed", type=_int_at_least(0), default=0)
    diagnose.add_argument("--out-dir", default=None, help="where the JSON and figure go (default results_scratch/diagnose)")
    _add_data_args(diagnose)
    diagnose.set_defaults(func=_cmd_diagnose)

    data = sub.add_parser("data", parents=[common], help="locate (or download) and check a dataset's raw files")
    data.add_argument("dataset")
    _add_data_args(data)
    data.set_defaults(func=_cmd_data)
    return parser


def _user_errors() -> Tuple[Type[BaseException], ...]:
    """The exceptions a user's input can cause; each ends the command with one line (others keep a traceback)."""
    errors: List[Type[BaseException]] = [
        ConfigError,
        ValueError,  # includes UnknownNameError (a registry miss) and argument checks of the library
        KeyError,
        TypeError,  # e.g. a config value of the wrong type deep in a library call
        OSError,  # FileNotFoundError for data (DatasetFileNotFoundError), PermissionError, disk full, ...
        yaml.YAMLError,
    ]
    # the runner's own errors (ResultsConflictError, ResultsLockedError, ...): every exception class it defines
    try:
        from . import runner
    except ImportError:  # a broken install: its own traceback says more
        return tuple(errors)
    for name in ("ResultsConflictError", "ResultsLockedError", *vars(runner)):
        error = getattr(runner, name, None)
        if (
            isinstance(error, type)
            and issubclass(error, Exception)
            and error.__module__ == runner.__name__
            and not issubclass(error, Warning)
        ):
            errors.append(error)
    return tuple(errors)


def format_error(exc: BaseException) -> str:
    """One line: the message with its lines joined (KeyError's quotes dropped)."""
    message = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
    text = str(message).strip() or type(exc).__name__
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (already printed as one line)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    debug = bool(getattr(args, "debug", False))
    from . import _extras

    missing_extra = _extras.check(args)  # e.g. `features` without the images extra: one line, before any work
    if missing_extra:
        print(f"error: {missing_extra}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        missing_extra = None if debug else _extras.missing_extra(exc, str(args.command))
        if missing_extra:  # a module of an extra, found missing only on the way (e.g. features not cached yet)
            print(f"error: {missing_extra}", file=sys.stderr)
            return 2
        if debug or not isinstance(exc, _user_errors()):
            raise
        print(f"error: {format_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
