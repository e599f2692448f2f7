"""CIFAR-10H (Peterson et al. 2019): about 51 human labels for each of the 10,000 CIFAR-10 test images.

Files (https://github.com/jcpeterson/cifar-10h, ``data/``), looked for in ``<root or mirror>/cifar10h/``:

- ``cifar10h-counts.npy`` (10000, 10): how many annotators chose each class per image (511,000 labels). Required.
- ``cifar10h-raw.csv`` (inside ``cifar10h-raw.zip``): one row per trial with ``annotator_id``, ``chosen_label``
  and ``cifar10_test_test_idx`` (``-99999`` marks attention-check trials, which are dropped). Optional: when
  present it gives the real annotator identities (about 2,570 annotators, 200 images each).

When the raw file is absent (``annotations="auto"``) or ``annotations="simulate"``, annotator identities are
**simulated** from the counts (:func:`simulate_annotators`): the per-image label multisets are exact, but which
annotator gave which label is random, so annotators are exchangeable (no per-annotator skill). The loader then
warns and sets ``source["annotators_simulated"] = True``; results depending on annotator identities must say so.

Images and ``labels`` are the CIFAR-10 test split (see :mod:`active_learning.datasets.cifar`).

Licence: CC BY-NC-SA 4.0 (CIFAR-10H annotations).

References
----------
.. [1] Peterson, J. C., Battleday, R. M., Griffiths, T. L., Russakovsky, O. (2019). "Human uncertainty makes
   classification more robust." ICCV 2019.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np
import pandas as pd

from ._base import register_dataset
from ._files import DatasetFileNotFoundError, RemoteFile, resolve_file
from ._images import ImageDataset
from .cifar import load_cifar10
from ..utils.io import md5_of_file

DATASET_DIR = "cifar10h"
REPO = "https://github.com/jcpeterson/cifar-10h"
LICENCE = "CC BY-NC-SA 4.0"
ATTENTION_CHECK = -99999
N_IMAGES = 10_000
N_CLASSES = 10

KNOWN_MD5 = {"cifar10h-counts.npy": "f1284b6fba48a67d3db69bbafb5685ad"}

COUNTS = RemoteFile("cifar10h-counts.npy", None, f"{REPO}/raw/master/data/cifar10h-counts.npy",
                    instructions=f"CIFAR-10H repository: {REPO}.")
RAW_CSV = RemoteFile("cifar10h-raw.csv", None, f"{REPO}/raw/master/data/cifar10h-raw.zip",
                     archive_member="cifar10h-raw.csv", instructions=f"CIFAR-10H repository: {REPO}.")
RAW_ZIP = RemoteFile("cifar10h-raw.zip", None, None)

ANNOTATION_MODES = ("auto", "raw", "simulate")


def read_counts(path: "str | Path") -> np.ndarray:
    """Read and validate ``cifar10h-counts.npy``: non-negative integers, shape (n_images, 10), no empty row."""
    counts = np.load(path, allow_pickle=False)
    if counts.ndim != 2 or counts.shape[1] != N_CLASSES:
        raise ValueError(f"{path}: expected counts of shape (n_images, {N_CLASSES}), got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"{path}: counts must be non-negative integers")
    counts = counts.astype(np.int64)
    if np.any(counts.sum(axis=1) == 0):
        raise ValueError(f"{path}: image {int(np.flatnonzero(counts.sum(axis=1) == 0)[0])} has no annotation")
    return counts


def read_raw_annotations(path: "str | Path") -> pd.DataFrame:
    """Read the CIFAR-10H per-trial CSV (or a zip holding ``cifar10h-raw.csv``) into long format.

    Attention-check trials (``cifar10_test_test_idx == -99999``, or ``is_attn_check == 1``) are dropped.

    Returns
    -------
    pandas.DataFrame
        Columns ``image`` (index into the CIFAR-10 test set), ``annotator`` (0..m-1, in order of the sorted
        original ids), ``annotator_id`` (original id) and ``label`` (0..9), plus ``reaction_time`` when present.
    """
    path = Path(path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.endswith("cifar10h-raw.csv")), None)
            if member is None:
                raise ValueError(f"{path}: the archive has no cifar10h-raw.csv")
            with archive.open(member) as handle:
                frame = pd.read_csv(handle)
    else:
        frame = pd.read_csv(path)
    required = ["annotator_id", "cifar10_test_test_idx", "chosen_label"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    keep = frame["cifar10_test_test_idx"] != ATTENTION_CHECK
    if "is_attn_check" in frame.columns:
        keep &= frame["is_attn_check"].fillna(0).astype(int) == 0
    frame = frame.loc[keep]
    image = frame["cifar10_test_test_idx"].to_numpy(dtype=np.int64)
    label = frame["chosen_label"].to_numpy(dtype=np.int64)
    if image.size and (image.min() < 0 or image.max() >= N_IMAGES):
        raise ValueError(f"{path}: cifar10_test_test_idx outside 0..{N_IMAGES - 1}")
    if label.size and (label.min() < 0 or label.max() >= N_CLASSES):
        raise ValueError(f"{path}: chosen_label outside 0..{N_CLASSES - 1}")
    codes, _ = pd.factorize(frame["annotator_id"], sort=True)
    out = pd.DataFrame({
        "image": image,
        "annotator": codes.astype(np.int64),
        "annotator_id": frame["annotator_id"].to_numpy(),
        "label": label,
    })
    if "reaction_time" in frame.columns:
        out["reaction_time"] = frame["reaction_time"].to_numpy()
    return out.reset_index(drop=True)


def counts_from_annotations(annotations: pd.DataFrame, n_images: int = N_IMAGES) -> np.ndarray:
    """(n_images, 10) int64 label counts of a long-format annotation table."""
    counts = np.zeros((n_images, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (annotations["image"].to_numpy(), annotations["label"].to_numpy()), 1)
    return counts


def simulate_annotators(counts: np.ndarray, rng: np.random.Generator,
                        images_per_annotator: int = 200) -> pd.DataFrame:
    """Assign simulated annotator identities to the labels of a counts matrix.

    Keeps every image's label multiset exactly. There are ``round(total / images_per_annotator)`` annotators; each
    image's labels go to distinct annotators drawn with probability proportional to their remaining capacity, so
    every annotator ends with about ``images_per_annotator`` images and never labels an image twice. Which label
    each annotator gives is random: simulated annotators are exchangeable and have no individual skill, unlike the
    real CIFAR-10H workers.

    Parameters
    ----------
    counts : ndarray (n_images, n_classes), int
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducible identities).
    images_per_annotator : int, default=200
        The CIFAR-10H design: each worker labelled 200 images (plus attention checks).

    Returns
    -------
    pandas.DataFrame
        Columns ``image``, ``annotator``, ``label``, sorted by annotator then image.
    """
    counts = np.asarray(counts, dtype=np.int64)
    per_image = counts.sum(axis=1)
    total = int(per_image.sum())
    n_annotators = max(int(round(total / images_per_annotator)), int(per_image.max()), 1)
    capacity = np.full(n_annotators, -(-total // n_annotators), dtype=np.float64)
    images, annotators, labels = [], [], []
    for i in rng.permutation(counts.shape[0]):
        k = int(per_image[i])
        weights = np.clip(capacity, 0.0, None)
        if np.count_nonzero(weights) < k:  # rounding left too few annotators with room: allow overflow
            weights = weights + 1e-3
        chosen = rng.choice(n_annotators, size=k, replace=False, p=weights / weights.sum())
        capacity[chosen] -= 1
        image_labels = np.repeat(np.arange(counts.shape[1]), counts[i])
        images.append(np.full(k, i, dtype=np.int64))
        annotators.append(chosen.astype(np.int64))
        labels.append(rng.permutation(image_labels))
    frame = pd.DataFrame({
        "image": np.concatenate(images),
        "annotator": np.concatenate(annotators),
        "label": np.concatenate(labels),
    })
    return frame.sort_values(["annotator", "image"], kind="stable").reset_index(drop=True)


def _find_raw(root: Any, mirror: Any, download: bool) -> Tuple[Optional[Path], str]:
    errors = []
    for spec, allow_download in ((RAW_CSV, False), (RAW_ZIP, False), (RAW_CSV, download)):
        try:
            return resolve_file(DATASET_DIR, spec, root=root, mirror=mirror, download=allow_download), ""
        except DatasetFileNotFoundError as exc:
            errors.append(str(exc))
    return None, errors[-1]


@register_dataset("cifar10h")
def load_cifar10h(root: Any = None, mirror: Any = None, download: bool = True, split: str = "test",
                  annotations: str = "auto", seed: int = 0, images_per_annotator: int = 200,
                  **cifar_options: Any) -> ImageDataset:
    """Load CIFAR-10H: the CIFAR-10 test images with their crowd labels.

    Parameters
    ----------
    root, mirror, download
        See :func:`active_learning.datasets.load`.
    split : {"test"}, default="test"
        CIFAR-10H annotates the CIFAR-10 test split only.
    annotations : {"auto", "raw", "simulate"}, default="auto"
        ``"raw"``: require the per-annotator CSV; ``"simulate"``: simulate identities from the counts;
        ``"auto"``: the CSV when found (locally, in the mirror, or downloaded), else simulate with a warning.
    seed : int, default=0
        Seed of the simulation (``numpy.random.default_rng(seed)``).
    images_per_annotator : int, default=200
        Simulation only; see :func:`simulate_annotators`.

    Returns
    -------
    ImageDataset
        ``labels`` = CIFAR-10 test labels, ``counts`` (10000, 10), ``annotations`` (long-format DataFrame with
        ``image``, ``annotator``, ``label``), ``source["annotators_simulated"]``; ``image_set = "cifar10"``.
    """
    if split != "test":
        raise ValueError(f"cifar10h: annotates the CIFAR-10 test images only; split must be 'test', got {split!r}")
    if annotations not in ANNOTATION_MODES:
        raise ValueError(f"cifar10h: annotations must be one of {ANNOTATION_MODES}, got {annotations!r}")
    counts_path = resolve_file(DATASET_DIR, COUNTS, root=root, mirror=mirror, download=download)
    counts_md5 = md5_of_file(counts_path)
    if counts_md5 != KNOWN_MD5[COUNTS.filename]:
        warnings.warn(f"{counts_path}: md5 {counts_md5} differs from the checked release", stacklevel=2)
    counts = read_counts(counts_path)
    images = load_cifar10(root=root, mirror=mirror, download=download, split="test", **cifar_options)
    if counts.shape[0] != len(images):
        raise ValueError(f"{counts_path}: {counts.shape[0]} rows but the CIFAR-10 test split has {len(images)} images")

    raw_path: Optional[Path] = None
    if annotations != "simulate":
        raw_path, error = _find_raw(root, mirror, download)
        if raw_path is None and annotations == "raw":
            raise DatasetFileNotFoundError(error)
    source = dict(images.source)
    source.update({
        "counts_path": str(counts_path),
        "counts_md5": counts_md5,
        "labels_url": REPO,
        "labels_licence": LICENCE,
        "images_licence": images.source.get("licence"),
        "licence": f"{LICENCE} (annotations); images: {images.source.get('licence')}",
    })
    if raw_path is not None:
        table = read_raw_annotations(raw_path)
        raw_counts = counts_from_annotations(table, counts.shape[0])
        if not np.array_equal(raw_counts, counts):
            n_diff = int(np.sum(np.any(raw_counts != counts, axis=1)))
            warnings.warn(f"cifar10h: the raw annotations and {counts_path.name} disagree on {n_diff} images",
                          stacklevel=2)
        source.update({"raw_path": str(raw_path), "raw_md5": md5_of_file(raw_path), "annotators_simulated": False})
    else:
        message = (
            f"cifar10h: the per-annotator file {RAW_CSV.filename} ({RAW_CSV.url}) was not found; annotator "
            f"identities are SIMULATED from {COUNTS.filename} (seed={seed}): label multisets per image are real, "
            "but annotators are exchangeable and have no individual skill."
        )
        if annotations == "auto":
            warnings.warn(message, stacklevel=2)
        table = simulate_annotators(counts, np.random.default_rng(seed), images_per_annotator)
        source.update({"annotators_simulated": True, "simulation_seed": seed,
                       "images_per_annotator": images_per_annotator, "simulation_note": message})
    return ImageDataset(
        name="cifar10h",
        labels=images.labels,
        images=images.images,
        class_names=images.class_names,
        split="test",
        source=source,
        annotations=table,
        counts=counts,
        image_set="cifar10",
    )


#: Splits this loader provides (CIFAR-10H covers the CIFAR-10 test images only).
load_cifar10h.splits = ("test",)  # type: ignore[attr-defined]
