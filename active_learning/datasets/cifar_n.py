"""CIFAR-10N and CIFAR-100N (Wei et al. 2022): real human noisy labels for the CIFAR train images.

CIFAR-10N (``CIFAR-10_human.pt``) holds, for the 50,000 CIFAR-10 train images: ``clean_label``, three labels
from three identified Amazon Mechanical Turk annotators (``random_label1/2/3``, 17.2 / 18.1 / 17.6 % noise),
their majority vote ``aggre_label`` (9.0 %) and ``worse_label`` (a wrong one of the three when any, 40.2 %).
CIFAR-100N (``CIFAR-100_human.pt``) holds one human label per image: ``noisy_label`` (40.2 % noise) and
``noisy_coarse_label``, with ``clean_label`` / ``clean_coarse_label``.

Files live in ``<root or mirror>/cifar_n/`` or are downloaded from https://github.com/UCSC-REAL/cifar-10-100n
(``data/``). The images come from the CIFAR loaders (:mod:`active_learning.datasets.cifar`); the loader checks that
``clean_label`` equals the CIFAR train labels, which also catches a wrong image order.

Licence: CC BY-NC 4.0 (CIFAR-N labels).

References
----------
.. [1] Wei, J., Zhu, Z., Cheng, H., Liu, T., Niu, G., Liu, Y. (2022). "Learning with Noisy Labels Revisited:
   A Study Using Real-World Human Annotations." ICLR 2022.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from ._base import register_dataset
from ._files import DatasetFileNotFoundError, RemoteFile, resolve_file
from ._images import ImageDataset
from .cifar import load_cifar10, load_cifar100
from ..utils.io import md5_of_file

DATASET_DIR = "cifar_n"
REPO = "https://github.com/UCSC-REAL/cifar-10-100n"
LICENCE = "CC BY-NC 4.0"
N_TRAIN = 50_000

# The repository publishes no checksums; these are the md5s of the files we checked. A mismatch only warns.
KNOWN_MD5 = {
    "CIFAR-10_human.pt": "96644db5574813cae939af5f7f2a0aec",
    "CIFAR-100_human.pt": "a67b45c1d7992051865b5c755bd68bb1",
}

FILES = {
    name: RemoteFile(name, None, f"{REPO}/raw/main/data/{name}", instructions=f"CIFAR-N repository: {REPO}.")
    for name in KNOWN_MD5
}
#: Worker ids (and work times) of the three CIFAR-10N annotators of every batch of 10 images. Optional.
SIDE_INFO_10N = RemoteFile("side_info_cifar10N.csv", None, f"{REPO}/raw/main/data/side_info_cifar10N.csv",
                           instructions=f"CIFAR-N repository: {REPO}.")
SIDE_INFO_COLUMNS = ("Image-batch", "Worker1-id", "Worker2-id", "Worker3-id")


def read_side_info(path: "str | Path", n_images: int = N_TRAIN) -> np.ndarray:
    """Read ``side_info_cifar10N.csv`` into the worker id of each of the three labels of every image.

    Each row covers a batch of images (``Image-batch`` = ``"first--last"``, inclusive) and names the workers who
    gave ``random_label1``, ``random_label2`` and ``random_label3`` (``Worker1-id`` .. ``Worker3-id``; the
    CIFAR-N release pairs them in this order).

    Returns
    -------
    ndarray of shape (n_images, 3), int64
    """
    import pandas as pd

    frame = pd.read_csv(path)
    missing = [c for c in SIDE_INFO_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    bounds = frame["Image-batch"].astype(str).str.split("--", expand=True)
    if bounds.shape[1] != 2:
        raise ValueError(f"{path}: Image-batch must read 'first--last', e.g. '0--9'")
    first = pd.to_numeric(bounds[0], errors="coerce")
    last = pd.to_numeric(bounds[1], errors="coerce")
    if first.isna().any() or last.isna().any() or (last < first).any():
        raise ValueError(f"{path}: Image-batch must read 'first--last' with integers first <= last")
    workers = np.full((n_images, 3), -1, dtype=np.int64)
    ids = frame[list(SIDE_INFO_COLUMNS[1:])].to_numpy(dtype=np.int64)
    for (lo, hi), row in zip(zip(first.astype(int), last.astype(int)), ids):
        if lo < 0 or hi >= n_images:
            raise ValueError(f"{path}: image batch {lo}--{hi} outside 0..{n_images - 1}")
        workers[lo : hi + 1] = row
    if np.any(workers < 0):
        raise ValueError(f"{path}: {int(np.sum(workers[:, 0] < 0))} image(s) belong to no batch")
    return workers

#: CIFAR-10N ``noise_type`` -> key in ``CIFAR-10_human.pt``.
CIFAR10N_NOISE_TYPES = {
    "aggre": "aggre_label",
    "worse": "worse_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
    "clean": "clean_label",
}
#: The three identified annotators of CIFAR-10N, as columns of ``annotator_labels``.
CIFAR10N_ANNOTATOR_KEYS = ("random_label1", "random_label2", "random_label3")

#: CIFAR-100N ``noise_type`` -> (noisy key, clean key).
CIFAR100N_NOISE_TYPES = {
    "noisy": ("noisy_label", "clean_label"),
    "noisy_coarse": ("noisy_coarse_label", "clean_coarse_label"),
    "clean": ("clean_label", "clean_label"),
}

CIFAR100_COARSE_CLASSES = [
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
]


def read_human_file(path: "str | Path") -> Dict[str, np.ndarray]:
    """Read a CIFAR-N ``*_human.pt`` dict into int64 arrays.

    The files are ``torch.save`` dicts of numpy arrays (and lists). They are read with ``weights_only=True`` and an
    allow-list of the numpy classes needed to rebuild arrays, so no arbitrary code can run.
    """
    import torch

    core = np._core if hasattr(np, "_core") else np.core  # numpy 2 / numpy 1
    reconstruct = core.multiarray._reconstruct
    allowed: List[Any] = [
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
    ]
    allowed += [getattr(np.dtypes, n) for n in ("Int64DType", "Int32DType", "UInt8DType", "Int16DType",
                                                  "Int8DType", "UInt16DType", "UInt32DType", "UInt64DType")]
    with torch.serialization.safe_globals(allowed):
        raw = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a dict of label arrays, got {type(raw).__name__}")
    out: Dict[str, np.ndarray] = {}
    for key, value in raw.items():
        if isinstance(value, torch.Tensor):
            value = value.numpy()
        array = np.asarray(value)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{path}: key {key!r} is not a 1-d integer array (shape {array.shape}, "
                             f"dtype {array.dtype})")
        out[str(key)] = array.astype(np.int64)
    return out


def _resolve(filename: str, root: Any, mirror: Any, download: bool) -> "tuple[Path, Dict[str, np.ndarray], str]":
    path = resolve_file(DATASET_DIR, FILES[filename], root=root, mirror=mirror, download=download)
    md5 = md5_of_file(path)
    if md5 != KNOWN_MD5[filename]:
        warnings.warn(f"{path}: md5 {md5} differs from the checked release ({KNOWN_MD5[filename]}); "
                      f"a different version of the CIFAR-N labels?", stacklevel=3)
    return path, read_human_file(path), md5


def _require(labels: Dict[str, np.ndarray], path: Path, keys: Any) -> None:
    missing = [k for k in keys if k not in labels]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(labels)}")
    for key in keys:
        if labels[key].shape[0] != labels["clean_label"].shape[0]:
            raise ValueError(f"{path}: {key} has {labels[key].shape[0]} entries, clean_label "
                             f"{labels['clean_label'].shape[0]}")


def _check_clean(clean: np.ndarray, images: ImageDataset, path: Path, what: str = "clean_label") -> None:
    if clean.shape[0] != len(images) or not np.array_equal(clean, images.labels):
        n_diff = int(np.sum(clean != images.labels)) if clean.shape[0] == len(images) else None
        raise ValueError(
            f"{path}: {what} does not match the {images.name} train labels "
            f"({clean.shape[0]} vs {len(images)} entries"
            + (f", {n_diff} differ" if n_diff is not None else "")
            + "). The label file and the images are from different releases or in a different order."
        )


def _source(images: ImageDataset, path: Path, md5: str, noise_type: str, key: str) -> Dict[str, Any]:
    source = dict(images.source)
    source.update({
        "labels_path": str(path),
        "labels_md5": md5,
        "labels_url": FILES[path.name].url,
        "labels_licence": LICENCE,
        "images_licence": images.source.get("licence"),
        "licence": f"{LICENCE} (labels); images: {images.source.get('licence')}",
        "noise_type": noise_type,
        "noisy_key": key,
    })
    return source


@register_dataset("cifar10n")
def load_cifar10n(root: Any = None, mirror: Any = None, download: bool = True, split: str = "train",
                  noise_type: str = "aggre", **cifar_options: Any) -> ImageDataset:
    """Load CIFAR-10N: CIFAR-10 train images with real human noisy labels.

    Parameters
    ----------
    root, mirror, download
        See :func:`active_learning.datasets.load`.
    split : {"train", "test"}, default="train"
        CIFAR-N labels exist for the train images only; ``"test"`` returns the clean CIFAR-10 test set (the
        standard evaluation set), with ``noisy_labels = None``.
    noise_type : {"aggre", "worse", "random1", "random2", "random3", "clean"}, default="aggre"
        Which label set becomes ``noisy_labels``.
    **cifar_options
        Passed to :func:`~active_learning.datasets.cifar.load_cifar10` (e.g. ``format``).

    Returns
    -------
    ImageDataset
        ``labels`` = clean CIFAR-10 labels, ``noisy_labels`` = the chosen set, ``annotator_labels`` (50000, 3) =
        the three identified annotators (``random_label1..3``), ``annotations`` = the same labels in long format
        (``image, annotator, label``) with the real worker ids from ``side_info_cifar10N.csv`` when that file is
        found (``source["worker_ids"] = True``; 747 workers), else annotators 0/1/2 = label slots;
        ``image_set = "cifar10"``.
    """
    if noise_type not in CIFAR10N_NOISE_TYPES:
        raise ValueError(f"cifar10n: noise_type must be one of {sorted(CIFAR10N_NOISE_TYPES)}, got {noise_type!r}")
    images = load_cifar10(root=root, mirror=mirror, download=download, split=split, **cifar_options)
    images.image_set = "cifar10"
    if split == "test":
        images.name = "cifar10n"
        return images
    path, labels, md5 = _resolve("CIFAR-10_human.pt", root, mirror, download)
    key = CIFAR10N_NOISE_TYPES[noise_type]
    _require(labels, path, ("clean_label", key) + CIFAR10N_ANNOTATOR_KEYS)
    _check_clean(labels["clean_label"], images, path)
    annotator_labels = np.stack([labels[k] for k in CIFAR10N_ANNOTATOR_KEYS], axis=1)
    source = _source(images, path, md5, noise_type, key)
    try:
        side_path = resolve_file(DATASET_DIR, SIDE_INFO_10N, root=root, mirror=mirror, download=download)
        workers = read_side_info(side_path, len(images))
        source.update({"worker_ids": True, "side_info_path": str(side_path), "side_info_md5": md5_of_file(side_path)})
    except (DatasetFileNotFoundError, ValueError) as exc:
        if isinstance(exc, ValueError):  # e.g. the mirror's full side info beside a smaller label file
            warnings.warn(f"cifar10n: worker ids not used ({exc}); annotators are the three label slots", stacklevel=2)
        workers = np.broadcast_to(np.arange(3), annotator_labels.shape).copy()
        source["worker_ids"] = False
    import pandas as pd

    annotations = pd.DataFrame({
        "image": np.repeat(np.arange(len(images)), 3),
        "annotator": workers.reshape(-1),
        "label": annotator_labels.reshape(-1),
    })
    return ImageDataset(
        name="cifar10n",
        labels=images.labels,
        images=images.images,
        class_names=images.class_names,
        split=split,
        source=source,
        noisy_labels=labels[key],
        annotator_labels=annotator_labels,
        annotations=annotations,
        image_set="cifar10",
    )


@register_dataset("cifar100n")
def load_cifar100n(root: Any = None, mirror: Any = None, download: bool = True, split: str = "train",
                   noise_type: str = "noisy", **cifar_options: Any) -> ImageDataset:
    """Load CIFAR-100N: CIFAR-100 train images with one real human noisy label each.

    Parameters
    ----------
    root, mirror, download
        See :func:`active_learning.datasets.load`.
    split : {"train", "test"}, default="train"
        ``"test"`` returns the clean CIFAR-100 test set with ``noisy_labels = None``.
    noise_type : {"noisy", "noisy_coarse", "clean"}, default="noisy"
        ``"noisy"``: the 100-class human labels; ``"noisy_coarse"``: the 20-superclass human labels (then
        ``labels`` and ``class_names`` are the coarse ones).

    Returns
    -------
    ImageDataset
        ``labels`` = clean labels, ``noisy_labels`` = the chosen set, ``image_set = "cifar100"``.
    """
    if noise_type not in CIFAR100N_NOISE_TYPES:
        raise ValueError(f"cifar100n: noise_type must be one of {sorted(CIFAR100N_NOISE_TYPES)}, got {noise_type!r}")
    images = load_cifar100(root=root, mirror=mirror, download=download, split=split, **cifar_options)
    images.image_set = "cifar100"
    if split == "test":
        images.name = "cifar100n"
        return images
    path, labels, md5 = _resolve("CIFAR-100_human.pt", root, mirror, download)
    key, clean_key = CIFAR100N_NOISE_TYPES[noise_type]
    _require(labels, path, ("clean_label", key, clean_key))
    _check_clean(labels["clean_label"], images, path)
    class_names = images.class_names
    clean = images.labels
    if clean_key == "clean_coarse_label":
        coarse = images.extra.get("coarse_labels")
        if coarse is not None:
            _check_clean(labels[clean_key], ImageDataset("cifar100", coarse, images.images, [], split), path,
                         clean_key)
        clean = labels[clean_key]
        class_names = list(CIFAR100_COARSE_CLASSES)
    return ImageDataset(
        name="cifar100n",
        labels=clean,
        images=images.images,
        class_names=class_names,
        split=split,
        source=_source(images, path, md5, noise_type, key),
        noisy_labels=labels[key],
        extra=dict(images.extra),
        image_set="cifar100",
    )
