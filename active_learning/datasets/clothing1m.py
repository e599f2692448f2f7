"""Clothing1M (Xiao et al. 2015): 1M clothing images from shopping websites with noisy labels, 14 classes.

The dataset is gated: its authors send it on request (https://github.com/Cysu/noisy_label), so it is never
downloaded. Unpack it under ``<root>/clothing1m/`` (or a mirror) in the official layout::

    clothing1m/
      images/0/00/xxx.jpg ...
      annotations/noisy_label_kv.txt        "images/... .jpg <label>" for the ~1M noisy images
      annotations/clean_label_kv.txt        the same for the ~72k human-checked images
      annotations/noisy_train_key_list.txt  keys of the noisy train set
      annotations/clean_train_key_list.txt, clean_val_key_list.txt, clean_test_key_list.txt
      annotations/category_names_eng.txt    14 class names

(The annotation files may also sit directly in ``clothing1m/``.) Keys are image paths relative to ``clothing1m/``.

Splits: ``"train"`` = the noisy train set (``noisy_labels`` = its web labels, ``labels`` = the clean label where the
image is also in ``clean_label_kv.txt``, else -1); ``"clean_train"``, ``"clean_val"``/``"val"`` and ``"test"`` (the
clean test set) have clean ``labels`` and ``noisy_labels`` where known (-1 elsewhere).

``subset_size`` draws a uniform random subset (``numpy.random.default_rng(seed)``, sorted) and keeps its positions
in ``subset_indices``; images, labels and features all follow that one index map (the NAS reference code indexes
the full feature file with subset positions, i.e. the wrong images).

Licence: for non-commercial research use, granted by the authors on request.

References
----------
.. [1] Xiao, T., Xia, T., Yang, Y., Huang, C., Wang, X. (2015). "Learning from Massive Noisy Labeled Data for
   Image Classification." CVPR 2015.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from ._base import register_dataset
from ._files import DatasetFileNotFoundError, RemoteFile, resolve_file
from ._images import FileImages, ImageDataset, indices_digest
from ..utils.io import md5_of_file

DATASET_DIR = "clothing1m"
REPO = "https://github.com/Cysu/noisy_label"
LICENCE = "non-commercial research use, by request to the authors"
N_CLASSES = 14
INSTRUCTIONS = (
    f"Clothing1M is gated and cannot be downloaded automatically: request access from its authors (see {REPO}), "
    f"then unpack it so that <root>/{DATASET_DIR}/annotations/<file> and <root>/{DATASET_DIR}/images/ exist "
    f"(or place it in a mirror as <mirror>/{DATASET_DIR}/...)."
)

SPLIT_LISTS = {
    "train": "noisy_train_key_list.txt",
    "clean_train": "clean_train_key_list.txt",
    "clean_val": "clean_val_key_list.txt",
    "val": "clean_val_key_list.txt",
    "test": "clean_test_key_list.txt",
}


def _resolve_annotation(filename: str, root: Any, mirror: Any) -> Path:
    """Find ``annotations/<filename>`` (or ``<filename>`` at the dataset top level)."""
    try:
        return resolve_file(DATASET_DIR, RemoteFile(f"annotations/{filename}", None, None, instructions=INSTRUCTIONS),
                            root=root, mirror=mirror, download=False)
    except DatasetFileNotFoundError as first:
        try:
            return resolve_file(DATASET_DIR, RemoteFile(filename, None, None), root=root, mirror=mirror,
                                download=False)
        except DatasetFileNotFoundError:
            raise first from None


def read_key_list(path: "str | Path") -> List[str]:
    """Read a ``*_key_list.txt`` file: one image key per line."""
    with open(path, encoding="utf-8") as handle:
        keys = [line.strip() for line in handle if line.strip()]
    if not keys:
        raise ValueError(f"{path}: empty key list")
    return keys


def read_label_kv(path: "str | Path") -> Dict[str, int]:
    """Read a ``*_label_kv.txt`` file (``<key> <label>`` per line) into a dict, checking labels are 0..13."""
    frame = pd.read_csv(path, sep=r"\s+", header=None, names=["key", "label"], dtype={"key": str})
    if frame["label"].isna().any():
        raise ValueError(f"{path}: every line must be '<image key> <label>'")
    labels = frame["label"].to_numpy()
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise ValueError(f"{path}: labels outside 0..{N_CLASSES - 1}")
    return dict(zip(frame["key"].tolist(), labels.astype(np.int64).tolist()))


def read_category_names(path: "str | Path") -> List[str]:
    """Read ``category_names_eng.txt`` (one class name per line, 14 lines)."""
    with open(path, encoding="utf-8") as handle:
        names = [line.strip() for line in handle if line.strip()]
    if len(names) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} class names, found {len(names)}")
    return names


def _lookup(keys: List[str], table: Dict[str, int]) -> np.ndarray:
    return np.fromiter((table.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))


def draw_subset(n: int, subset_size: Optional[int], seed: int) -> Optional[np.ndarray]:
    """Sorted positions of a uniform random subset of ``range(n)`` (``None`` when no subset is asked for)."""
    if subset_size is None or subset_size >= n:
        return None
    if subset_size <= 0:
        raise ValueError(f"subset_size must be positive, got {subset_size}")
    return np.sort(np.random.default_rng(seed).choice(n, size=int(subset_size), replace=False)).astype(np.int64)


@register_dataset("clothing1m")
def load_clothing1m(root: Any = None, mirror: Any = None, download: bool = True, split: str = "train",
                    subset_size: Optional[int] = None, seed: int = 0, check_images: bool = True) -> ImageDataset:
    """Load Clothing1M (lazy image loading with PIL).

    Parameters
    ----------
    root, mirror
        See :func:`active_learning.datasets.load`.
    download : bool
        Ignored: Clothing1M is gated and never downloaded.
    split : {"train", "clean_train", "clean_val", "val", "test"}, default="train"
    subset_size : int, optional
        Draw this many images uniformly at random (without replacement) from the split; the NAS benchmark uses a
        100,000-image subset of the noisy train set for representation-based strategies.
    seed : int, default=0
        Seed of the subset draw.
    check_images : bool, default=True
        Check that the first image of the split exists (the key lists without the images are a common mistake).

    Returns
    -------
    ImageDataset
        Lazily loaded images of varying size; ``subset_indices`` and ``source["subset_indices"]`` hold the
        positions of the subset in the full split list.
    """
    if split not in SPLIT_LISTS:
        raise ValueError(f"clothing1m: split must be one of {sorted(SPLIT_LISTS)}, got {split!r}")
    split_path = _resolve_annotation(SPLIT_LISTS[split], root, mirror)
    noisy_path = _resolve_annotation("noisy_label_kv.txt", root, mirror)
    clean_path = _resolve_annotation("clean_label_kv.txt", root, mirror)
    names_path = _resolve_annotation("category_names_eng.txt", root, mirror)
    base = split_path.parent.parent if split_path.parent.name == "annotations" else split_path.parent

    keys = read_key_list(split_path)
    class_names = read_category_names(names_path)
    noisy = _lookup(keys, read_label_kv(noisy_path))
    clean = _lookup(keys, read_label_kv(clean_path))
    if split == "train" and np.any(noisy < 0):
        missing = keys[int(np.flatnonzero(noisy < 0)[0])]
        raise ValueError(f"{noisy_path}: no noisy label for train key {missing!r}")
    if split != "train" and np.any(clean < 0):
        missing = keys[int(np.flatnonzero(clean < 0)[0])]
        raise ValueError(f"{clean_path}: no clean label for {split} key {missing!r}")

    split_size = len(keys)
    subset = draw_subset(len(keys), subset_size, seed)
    if subset is not None:
        keys = [keys[i] for i in subset]
        noisy, clean = noisy[subset], clean[subset]
    images = FileImages(keys, base=base)
    if check_images and keys and not images.path(0).is_file():
        raise DatasetFileNotFoundError(
            f"clothing1m: image {images.path(0)} (key {keys[0]!r} of {split_path.name}) is missing. {INSTRUCTIONS}"
        )
    source: Dict[str, Any] = {
        "path": str(base),
        "split_list": str(split_path),
        "md5": {p.name: md5_of_file(p) for p in (split_path, noisy_path, clean_path, names_path)},
        "url": REPO,
        "licence": LICENCE,
        "jpeg_compressed": True,  # Clothing1M is distributed as JPEG files; there is no lossless original
        "pixels_md5": None,
        "split_size": split_size,
        "subset_size": None if subset is None else int(subset.shape[0]),
        "subset_seed": None if subset is None else seed,
        "subset_indices": subset,
        "subset_indices_sha256": indices_digest(subset),
    }
    source["pixels_md5"] = source["md5"][split_path.name]
    return ImageDataset(
        name="clothing1m",
        labels=clean,
        images=images,
        class_names=class_names,
        split=split,
        source=source,
        noisy_labels=noisy,
        subset_indices=subset,
    )
