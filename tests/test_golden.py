"""Golden tests: rerun a few jobs of the committed benchmark configs and compare their arrays, bit for bit, with the
committed result files under ``results/`` (issue 20, item 0).

Each job runs through the library's own entry point (:func:`active_learning.runner.run_grid`, restricted to one
model, method, seed and variant) into a temporary results folder; every ``.npy`` array of the job must then have
the committed file's dtype, shape and bytes, and the sidecar the committed ``config_hash``.

Fast set: one job (``nas_sphere_clusters``, ``one_nn/random``, seed 0). Slow (``-m slow``): the other synthetic NAS
methods, Wall Robot (ExtraTrees, ``random`` and ``activelab``; needs the raw-data mirror, ``$AL_DATA_MIRROR`` or
``$DATA_MIRROR``), one CIFAR-10H job and one CIFAR-10 / CIFAR-10N cell (both need the cached EfficientNet-Lite0
features of the CIFAR-10 images at 112 px under the data root, ``datasets/features`` or ``$AL_DATA_ROOT/features``;
without them the test is skipped with the command that builds them; it never extracts features itself).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pytest

from active_learning.config import expand_jobs, load_config
from active_learning.pools import DataAccess
from active_learning.results import job_dir
from active_learning.runner import run_grid

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "results"
BENCHMARKS = REPO / "benchmarks"
SEED = 0
ENCODER = "efficientnet_lite0"


# --------------------------------------------------------------------------------------------- the comparison


def _describe_change(name: str, new: np.ndarray, old: np.ndarray) -> str:
    """One line saying how two arrays of equal dtype and shape but other bytes differ (where, how many, how much)."""
    flat_new, flat_old = np.ascontiguousarray(new).reshape(-1), np.ascontiguousarray(old).reshape(-1)
    width = flat_new.dtype.itemsize
    bits_new = flat_new.view(np.uint8).reshape(flat_new.size, width)
    bits_old = flat_old.view(np.uint8).reshape(flat_old.size, width)
    bad = np.flatnonzero((bits_new != bits_old).any(axis=1))
    first = int(bad[0])
    text = (f"{name}: {bad.size} of {flat_new.size} values differ (first at flat index {first}: rerun "
            f"{flat_new[first]!r}, committed {flat_old[first]!r})")
    if flat_new.dtype.kind in "biufc":
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(flat_new[bad].astype(np.complex128) - flat_old[bad].astype(np.complex128))
        equal = diff == 0
        if flat_new.dtype.kind in "fc":
            equal |= np.isnan(flat_new[bad]) & np.isnan(flat_old[bad])
        if equal.all():  # -0.0 vs 0.0, or NaNs with other payloads
            return f"{name}: the values are equal but the bytes of {bad.size} of them differ (signed zeros or NaN payloads)"
        finite = diff[np.isfinite(diff)]
        if finite.size:
            text += f"; max |difference| {float(finite.max()):.6g}"
    return text


def array_difference(name: str, new: np.ndarray, old: np.ndarray) -> Optional[str]:
    """``None`` when ``new`` is bit for bit ``old`` (dtype, shape and bytes), else a one-line description."""
    if new.dtype != old.dtype:
        return f"{name}: dtype {new.dtype} in the rerun, {old.dtype} committed"
    if new.shape != old.shape:
        return f"{name}: shape {new.shape} in the rerun, {old.shape} committed"
    if np.ascontiguousarray(new).tobytes() == np.ascontiguousarray(old).tobytes():
        return None
    return _describe_change(name, new, old)


def _array_files(folder: Path, seed: int) -> Dict[str, Path]:
    suffix = f"_seed{seed}.npy"
    return {path.name[: -len(suffix)]: path for path in sorted(folder.glob(f"*{suffix}"))}


#: Per-round metrics added after the committed results were made (NAS: classes with a correct label and their entropy).
#: A rerun may write them beside the committed ones; every array both hold must still agree bit for bit.
ADDED_METRICS = frozenset({"n_clean_classes", "clean_class_entropy"})


def job_differences(rerun: Path, committed: Path, seed: int) -> List[str]:
    """Every way the files of job ``seed`` in folder ``rerun`` differ from those in ``committed``.

    Compared: the sidecars' ``config_hash`` and metric lists, the set of ``<name>_seed<seed>.npy`` files, and every
    array's dtype, shape and bytes (:func:`array_difference`). An empty list means the rerun reproduced the committed
    job bit for bit.
    """
    problems: List[str] = []
    metas = {}
    for label, folder in (("rerun", rerun), ("committed", committed)):
        path = folder / f"run_seed{seed}.json"
        if not path.is_file():
            problems.append(f"{label}: no sidecar {path}")
            continue
        metas[label] = json.loads(path.read_text())
    if len(metas) == 2:
        new_meta, old_meta = metas["rerun"], metas["committed"]
        if new_meta.get("config_hash") != old_meta.get("config_hash"):
            problems.append(f"config_hash: {new_meta.get('config_hash')} in the rerun, {old_meta.get('config_hash')} "
                            "committed (the benchmark config no longer resolves to the committed job)")
        if sorted(set(new_meta.get("metrics", [])) - ADDED_METRICS) != sorted(old_meta.get("metrics", [])):
            problems.append(f"metrics: {sorted(new_meta.get('metrics', []))} in the rerun, "
                            f"{sorted(old_meta.get('metrics', []))} committed")
    new_files, old_files = _array_files(rerun, seed), _array_files(committed, seed)
    for name in sorted(set(old_files) - set(new_files)):
        problems.append(f"{name}: committed ({old_files[name]}) but not written by the rerun")
    for name in sorted(set(new_files) - set(old_files) - ADDED_METRICS):
        problems.append(f"{name}: written by the rerun but not committed")
    for name in sorted(set(new_files) & set(old_files)):
        new = np.load(new_files[name], allow_pickle=False)
        old = np.load(old_files[name], allow_pickle=False)
        problem = array_difference(name, new, old)
        if problem is not None:
            problems.append(problem)
    return problems


# ------------------------------------------------------------------------------------------------- the runs


def _mirror() -> Optional[Path]:
    """The raw-data mirror: ``$AL_DATA_MIRROR`` (what ``make ... DATA_MIRROR=DIR`` exports), else ``$DATA_MIRROR``."""
    value = os.environ.get("AL_DATA_MIRROR") or os.environ.get("DATA_MIRROR")
    return Path(value).resolve() if value else None


def _need_mirror(*files: str) -> Path:
    mirror = _mirror()
    if mirror is None:
        pytest.skip("no raw-data mirror: set AL_DATA_MIRROR (or DATA_MIRROR) to the mirror folder, e.g. "
                    "`AL_DATA_MIRROR=../shared/data pytest tests/test_golden.py -m slow` or "
                    "`make test-all DATA_MIRROR=../shared/data`")
    missing = [name for name in files if not (mirror / name).is_file()]
    if missing:
        pytest.skip(f"the raw-data mirror {mirror} (AL_DATA_MIRROR / DATA_MIRROR) lacks {missing}")
    return mirror


def _feature_root() -> Path:
    """The feature cache the benchmarks read: ``$AL_DATA_ROOT/features``, else the repository's ``datasets/features``."""
    return Path(os.environ.get("AL_DATA_ROOT") or REPO / "datasets") / "features"


def _need_features(dataset: Mapping[str, Any], splits: Sequence[str], mirror: Path, build: str) -> Path:
    """The feature root when the 112-px EfficientNet-Lite0 features of ``dataset``'s ``splits`` are cached, else skip.

    ``build`` is the command that extracts them and how long it takes (named in the skip reason). Never extracts
    anything.
    """
    from active_learning.encoders import get_encoder
    from active_learning.features import cached_path
    from active_learning.pools import load_dataset

    root = _feature_root()
    options = {key: value for key, value in dataset.items() if key not in ("encoder", "encoder_params", "inputs")}
    encoder = get_encoder(dataset.get("encoder") or ENCODER, **(dataset.get("encoder_params") or {}))
    access = DataAccess(root=str(root.parent), mirror=str(mirror), download=False)
    for split in splits:
        folder = root / "cifar10" / split / encoder.name
        if not any(folder.glob("*.json")):  # cheap first check: nothing of this split cached at all
            pytest.skip(f"no cached {encoder.name} features ({encoder.input_size} px) of the CIFAR-10 {split} images "
                        f"under {folder}; build them with {build}, then rerun")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the JPEG mirror, simulated CIFAR-10H annotators
            images = load_dataset(options, access, **({} if options["name"] == "cifar10h" else {"split": split}))
        path = cached_path(images, encoder, root)
        if not (path.is_file() and path.with_suffix(".json").is_file()):
            pytest.skip(f"the cached {encoder.name} features of the CIFAR-10 {split} images at "
                        f"{encoder.input_size} px ({path}) are missing; build them with {build}, then rerun")
    return root


def _run_and_compare(tmp_path: Path, config_path: Path, model: str, method: str, *, variant: Optional[str] = None,
                     mirror: Optional[Path] = None, feature_root: Optional[Path] = None) -> None:
    """Rerun one committed job into ``tmp_path`` with :func:`run_grid`; assert it matches the committed one bit for
    bit."""
    config = load_config(str(config_path))
    jobs = expand_jobs(config, models=[model], methods=[method], seeds=[SEED],
                       variants=[variant] if variant else None)
    assert len(jobs) == 1, [job.key for job in jobs]
    committed = job_dir(jobs[0], COMMITTED)
    assert (committed / f"run_seed{SEED}.json").is_file(), f"no committed results of {jobs[0].key} in {committed}"
    data_root = tmp_path / "data"  # a fresh data root: the strategies' disk caches go here, never into datasets/
    data_root.mkdir()
    if feature_root is not None:
        (data_root / "features").symlink_to(feature_root, target_is_directory=True)  # read the real feature cache
    results = tmp_path / "results"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run_grid(config, results_dir=results, models=[model], methods=[method], seeds=[SEED],
                          variants=[variant] if variant else None, n_jobs=1, backend="sequential", progress=False,
                          data=DataAccess(root=str(data_root), mirror=str(mirror) if mirror else None, download=False))
    assert report.ran == [jobs[0].key]
    problems = job_differences(job_dir(jobs[0], results), committed, SEED)
    assert not problems, f"{jobs[0].key} does not reproduce {committed}:\n  " + "\n  ".join(problems)


NAS = BENCHMARKS / "synthetic" / "nas_sphere_clusters.yaml"


def test_golden_nas_sphere_clusters_random(tmp_path):
    """The fast representative: the synthetic NAS benchmark, 1-NN, random, seed 0."""
    _run_and_compare(tmp_path, NAS, "one_nn", "random")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["probcover", "npc", "maxherding", "maxherding_nas"])
def test_golden_nas_sphere_clusters(tmp_path, method):
    _run_and_compare(tmp_path, NAS, "one_nn", method)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["random", "activelab"])
def test_golden_wall_robot(tmp_path, method):
    mirror = _need_mirror("wall_robot/sensor_readings_4.data")
    _run_and_compare(tmp_path, BENCHMARKS / "wall_robot" / "wall_robot.yaml", "extra_trees", method, mirror=mirror)


@pytest.mark.slow
def test_golden_cifar10h(tmp_path):
    """CIFAR-10H, linear probe, active_label_cleaning (the cheapest method of the grid), seed 0."""
    path = BENCHMARKS / "cifar10h" / "cifar10h.yaml"
    mirror = _need_mirror("cifar10h/cifar10h-counts.npy", "cifar10/test.zip", "cifar10/test_labels.npy")
    features = _need_features(
        load_config(str(path))["dataset"], ["test"], mirror,
        f"`.venv/bin/python -m active_learning features --dataset cifar10 --split test --encoder {ENCODER} "
        f"--no-linear-probe --data-mirror {mirror}` (about 3-5 minutes on a 2-core CPU)")
    _run_and_compare(tmp_path, path, "linear_probe", "active_label_cleaning", mirror=mirror, feature_root=features)


@pytest.mark.slow
def test_golden_cifar10n(tmp_path):
    """CIFAR-10 with 20 % symmetric noise, ideal filter, clean training set, linear probe, ProbCover, seed 0."""
    path = BENCHMARKS / "cifar10n" / "cifar10n.yaml"
    mirror = _need_mirror("cifar10/train.zip", "cifar10/test.zip", "cifar10/train_labels.npy", "cifar10/test_labels.npy")
    features = _need_features(
        load_config(str(path))["dataset"], ["train", "test"], mirror,
        f"`make features DATASET=cifar10 ENCODER={ENCODER} DATA_MIRROR={mirror}` (train and test; about 20 "
        "minutes on a 2-core CPU)")
    _run_and_compare(tmp_path, path, "linear_probe", "probcover", variant="sym0.2_ideal_clean", mirror=mirror,
                     feature_root=features)


# ------------------------------------------------------------------------------------ the comparison's own tests


def _write_job(folder: Path, seed: int, arrays: Mapping[str, np.ndarray], config_hash: str = "abc") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in arrays.items():
        np.save(folder / f"{name}_seed{seed}.npy", values)
    (folder / f"run_seed{seed}.json").write_text(json.dumps({"config_hash": config_hash, "metrics": sorted(arrays)}))


def test_job_differences_finds_every_kind_of_change(tmp_path):
    base = {"accuracy": np.array([0.5, 0.25, np.nan]), "n_labeled": np.array([10, 20, 30], dtype=np.int64)}
    _write_job(tmp_path / "old", 0, base)
    _write_job(tmp_path / "same", 0, {k: v.copy() for k, v in base.items()})
    assert job_differences(tmp_path / "same", tmp_path / "old", 0) == []  # NaN at the same place counts as equal

    def changed(label: str, seed: int = 0, config_hash: str = "abc", **arrays: np.ndarray) -> List[str]:
        _write_job(tmp_path / label, seed, {**base, **arrays}, config_hash)
        return job_differences(tmp_path / label, tmp_path / "old", 0)

    one_ulp = base["accuracy"].copy()
    one_ulp[1] = np.nextafter(one_ulp[1], 1.0)
    (problem,) = changed("ulp", accuracy=one_ulp)
    assert problem.startswith("accuracy: 1 of 3 values differ (first at flat index 1") and "max |difference|" in problem
    (problem,) = changed("dtype", accuracy=base["accuracy"].astype(np.float32))
    assert problem == "accuracy: dtype float32 in the rerun, float64 committed"
    (problem,) = changed("shape", n_labeled=np.array([10, 20], dtype=np.int64))
    assert problem == "n_labeled: shape (2,) in the rerun, (3,) committed"
    (problem,) = changed("int", n_labeled=np.array([10, 21, 30], dtype=np.int64))
    assert problem.startswith("n_labeled: 1 of 3 values differ") and "max |difference| 1" in problem
    _write_job(tmp_path / "zero_old", 0, {"x": np.array([0.0, 1.0])})
    _write_job(tmp_path / "zero_new", 0, {"x": np.array([-0.0, 1.0])})  # -0.0 == 0.0, but other bytes
    assert job_differences(tmp_path / "zero_new", tmp_path / "zero_old", 0) == [
        "x: the values are equal but the bytes of 1 of them differ (signed zeros or NaN payloads)"]
    assert changed("hash", config_hash="def") == [
        "config_hash: def in the rerun, abc committed (the benchmark config no longer resolves to the committed job)"]
    _write_job(tmp_path / "missing", 0, {"accuracy": base["accuracy"]})
    assert job_differences(tmp_path / "missing", tmp_path / "old", 0) == [
        "metrics: ['accuracy'] in the rerun, ['accuracy', 'n_labeled'] committed",
        f"n_labeled: committed ({tmp_path / 'old' / 'n_labeled_seed0.npy'}) but not written by the rerun",
    ]
    _write_job(tmp_path / "extra", 0, {**base, "more": np.zeros(3)})
    assert job_differences(tmp_path / "extra", tmp_path / "old", 0)[-1] == "more: written by the rerun but not committed"
    assert job_differences(tmp_path / "nothing", tmp_path / "old", 0)[0].startswith("rerun: no sidecar")


def test_job_differences_catches_a_perturbed_copy_of_committed_results(tmp_path):
    """A copy of a committed job (never the committed files) with one array changed by one ulp is caught."""
    committed = COMMITTED / "nas_sphere_clusters" / "one_nn" / "random"
    copy = tmp_path / "random"
    copy.mkdir()
    for path in committed.glob(f"*_seed{SEED}.*"):
        shutil.copyfile(path, copy / path.name)
    assert job_differences(copy, committed, SEED) == []
    accuracy = np.load(copy / f"accuracy_seed{SEED}.npy")
    perturbed = accuracy.copy()
    perturbed[-1] = np.nextafter(perturbed[-1], np.inf)
    np.save(copy / f"accuracy_seed{SEED}.npy", perturbed)
    problems = job_differences(copy, committed, SEED)
    assert len(problems) == 1 and problems[0].startswith(f"accuracy: 1 of {accuracy.size} values differ")
    assert np.array_equal(np.load(committed / f"accuracy_seed{SEED}.npy"), accuracy)  # the committed file untouched
