"""The coverage diagnostic of a NAS benchmark's feature sets, stored next to its results.

For every distinct ``dataset:`` section of a ``noisy_single_annotator`` benchmark, the features of its pool are
diagnosed (:func:`~active_learning.diagnostics.coverage.diagnose_coverage`) at the δ / σ values its coverage methods
use, and the result is written to ``<results>/<benchmark>/coverage/<dataset key>.json`` (+ ``.png``). ``run`` and
``diagnose --benchmark`` print the verdicts. The dataset key is readable (``cifar10n-worse__efficientnet_lite0-224``)
and the JSON holds the full ``dataset:`` section, so a reader can match a file to its variants.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

#: Method parameters that hold a coverage radius (ProbCover / NPC ``delta``, MaxHerding ``sigma``).
RADIUS_PARAMS = ("delta", "sigma")
#: ``data:`` keys that decide which rows form the pool of a tabular dataset (image datasets ignore them).
SPLIT_KEYS = ("test_fraction", "seed")


def dataset_key(dataset: Mapping[str, Any]) -> str:
    """A readable file stem for a ``dataset:`` section."""
    parts = [str(dataset.get("name"))]
    for key in sorted(k for k in dataset if k not in ("name", "encoder", "encoder_params")):
        parts.append(f"{key}-{dataset[key]}")
    if dataset.get("encoder"):
        enc = [str(dataset["encoder"])] + [f"{v}" for _, v in sorted((dataset.get("encoder_params") or {}).items())]
        parts.append("-".join(enc))
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "__".join(parts))


def _pool_key(dataset: Mapping[str, Any]) -> Tuple[Any, ...]:
    """Datasets that share a pool's features (CIFAR-10 and CIFAR-10N share the CIFAR-10 train images)."""
    base = {"cifar10n": "cifar10", "cifar100n": "cifar100"}.get(str(dataset.get("name")), dataset.get("name"))
    return (base, dataset.get("encoder"), json.dumps(dataset.get("encoder_params") or {}, sort_keys=True))


def radii_by_dataset(jobs: Sequence[Any]) -> Dict[Tuple[Any, ...], Dict[str, Any]]:
    """``{pool key: {"dataset": first dataset section, "deltas": sorted radii}}`` over the jobs' coverage methods."""
    out: Dict[Tuple[Any, ...], Dict[str, Any]] = {}
    for job in jobs:
        dataset = job.resolved["dataset"]
        split = {k: v for k, v in (job.resolved.get("data") or {}).items() if k in SPLIT_KEYS}
        key = _pool_key(dataset) + (json.dumps(split, sort_keys=True),)
        entry = out.setdefault(key, {"dataset": dict(dataset), "split": split, "deltas": set()})
        for name in RADIUS_PARAMS:
            value = (job.resolved.get("method_params") or {}).get(name)
            if isinstance(value, (int, float)):
                entry["deltas"].add(round(float(value), 6))
    for entry in out.values():
        entry["deltas"] = sorted(entry["deltas"])
    return out


def diagnostics_dir(results_dir: "str | Path", benchmark: str) -> Path:
    return Path(results_dir) / benchmark / "coverage"


def diagnostic_path(results_dir: "str | Path", benchmark: str, dataset: Mapping[str, Any]) -> Path:
    """The JSON of one feature set's diagnostic (the label set, ``noise_type``, does not change the features)."""
    key = dataset_key({k: v for k, v in dataset.items() if k != "noise_type"})
    return diagnostics_dir(results_dir, benchmark) / f"{key}.json"


def pool_features(dataset: Mapping[str, Any], split: Mapping[str, Any], data: Any) -> Tuple[Any, Any, int]:
    """``(features, true labels, n_classes)`` of the pool a ``dataset:`` section makes: for an image dataset its
    train split only, from the feature cache (the test split is not needed, so not extracted); for a tabular one the
    benchmark's own train split (``split`` = the ``data:`` keys ``test_fraction`` / ``seed``)."""
    from ..pools import feature_arrays, image_inputs, load_dataset, split_dataset_config

    _, _, inputs = split_dataset_config(dataset)
    if inputs.get("encoder") is None:
        pool = feature_arrays(dataset, split, data)
        return pool.X, pool.y, pool.n_classes
    images = load_dataset(dataset, data, split="train")
    return image_inputs(images, inputs, data), images.labels, len(images.class_names)


def read_benchmark_diagnostics(results_dir: "str | Path", benchmark: str) -> List[Dict[str, Any]]:
    """The stored diagnostics of a benchmark (empty when none was written)."""
    folder = diagnostics_dir(results_dir, benchmark)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with open(path, encoding="utf-8") as handle:
            out.append(json.load(handle))
    return out


def verdict_lines(diagnostics: Sequence[Mapping[str, Any]]) -> List[str]:
    """One line per (feature set, δ): the stored verdicts."""
    lines = []
    for diag in diagnostics:
        name = diag.get("key", "?")
        purity = diag.get("purity_delta")
        head = f"coverage diagnostic {name} ({diag.get('n_samples')} points"
        if diag.get("knn_accuracy") is not None:
            head += f", {diag.get('knn_k')}-NN accuracy {diag['knn_accuracy']:.3f}"
        if purity is not None:
            head += f", purity-rule δ on the whole pool {purity:g}"
        lines.append(head + ")")
        for delta, text in (diag.get("verdicts") or {}).items():
            lines.append(f"  δ = {delta}: {text}")
    return lines


def write_benchmark_diagnostics(
    jobs: Sequence[Any],
    data: Any,
    results_dir: "str | Path",
    benchmark: str,
    *,
    force: bool = False,
    n_centres: int = 5000,
    seed: int = 0,
) -> List[Path]:
    """Diagnose every feature set of ``jobs`` (a NAS benchmark's grid) and write the JSON + PNG files.

    A feature set whose JSON exists with the same radii is kept unless ``force``. Returns the JSON paths.
    """
    from .coverage import diagnose_coverage

    written = []
    for entry in radii_by_dataset(jobs).values():
        dataset = entry["dataset"]
        path = diagnostic_path(results_dir, benchmark, dataset)
        if path.is_file() and not force:
            with open(path, encoding="utf-8") as handle:
                old = json.load(handle)
            if old.get("requested_deltas") == entry["deltas"]:
                written.append(path)
                continue
        X, y, n_classes = pool_features(dataset, entry["split"], data)
        diag = diagnose_coverage(X, y, deltas_of_interest=entry["deltas"], n_classes=n_classes, n_centres=n_centres,
                                 seed=seed)
        written.append(store_diagnostic(diag, results_dir, benchmark, dataset, entry["deltas"]))
    return written


def store_diagnostic(diag: Any, results_dir: "str | Path", benchmark: str, dataset: Mapping[str, Any],
                     requested_deltas: Sequence[float]) -> Path:
    """Write one feature set's diagnostic (JSON + PNG) where ``run`` and the report look for it; returns the JSON."""
    from ..utils.io import atomic_write_json
    from .coverage import plot_coverage_diagnostic

    path = diagnostic_path(results_dir, benchmark, dataset)
    key = path.stem
    record = {"key": key, "benchmark": benchmark, "dataset": dict(dataset),
              "requested_deltas": sorted(round(float(d), 6) for d in requested_deltas),
              **diag.to_dict(), "ball_table": diag.table(), "coverage_table": diag.coverage_table()}
    atomic_write_json(path, record)
    plot_coverage_diagnostic(diag, path.with_suffix(".png"), title=f"{benchmark}: coverage diagnostic of {key}")
    return path


def diagnose_benchmark(config: Mapping[str, Any], data: Any, results_dir: "str | Path", *, force: bool = False,
                       variants: Optional[Sequence[str]] = None) -> List[str]:
    """Diagnose a loaded benchmark config's feature sets; returns the verdict lines."""
    from ..config import expand_jobs

    if config.get("task") != "noisy_single_annotator":
        raise ValueError(f"{config.get('name')}: the coverage diagnostic applies to noisy_single_annotator benchmarks "
                         f"(task {config.get('task')!r}); give --features FILE.npy for any feature matrix")
    jobs = expand_jobs(config, variants=variants, seeds=[config.get("seeds", [0])[0]])
    paths = write_benchmark_diagnostics(jobs, data, results_dir, config["name"], force=force)
    diags = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            diags.append(json.load(handle))
    return verdict_lines(diags) + [f"written: {p} (+ .png)" for p in paths]
