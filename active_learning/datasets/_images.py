"""Image dataset container and lazy image collections returned by the image loaders.

An :class:`ImageDataset` holds labels and an ``images`` collection. Every collection supports ``len()`` and
integer indexing to an ``H x W x 3`` ``uint8`` array, and :meth:`ImageCollection.batch` for a list of indices.
Small sets live in memory (:class:`ArrayImages`); large ones decode lazily from a zip of JPEGs
(:class:`ZipJpegImages`) or from image files (:class:`FileImages`). :class:`SubsetImages` applies one index map,
so that images, labels and features of a subset always refer to the same rows.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union, cast

import numpy as np


class ImageCollection:
    """Base class: ``len()``, ``collection[i]`` -> ``(H, W, 3)`` uint8 and ``batch(indices)``."""

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _get(self, index: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index: Any) -> np.ndarray:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"{type(self).__name__} takes an integer index (use .batch(indices) for several), got {type(index)}"
            )
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"image index {index} out of range for {n} images")
        return self._get(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self._get(i)

    def batch(self, indices: Sequence[int]) -> Union[np.ndarray, List[np.ndarray]]:
        """Images at ``indices``: an ``(n, H, W, 3)`` uint8 array when all have one size, else a list."""
        images = [self[int(i)] for i in indices]
        if images and all(im.shape == images[0].shape for im in images):
            return np.stack(images)
        return images


class ArrayImages(ImageCollection):
    """Images held in memory as one ``(N, H, W, 3)`` uint8 array."""

    def __init__(self, array: np.ndarray) -> None:
        array = np.asarray(array)
        if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(f"expected an (N, H, W, 3) uint8 array, got shape {array.shape} dtype {array.dtype}")
        self.array = array

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def _get(self, index: int) -> np.ndarray:
        return self.array[index]

    def batch(self, indices: Sequence[int]) -> np.ndarray:
        return self.array[np.asarray(indices, dtype=np.int64)]


def _decode_image(data: "bytes | str | os.PathLike[str]") -> np.ndarray:
    from PIL import Image

    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    with Image.open(source) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


class ZipJpegImages(ImageCollection):
    """Lazily decoded images stored as members of a zip archive (e.g. the CIFAR-10 JPEG mirror).

    The archive is opened once per process and thread (safe with fork-based workers and thread pools).

    Parameters
    ----------
    path : path
        The zip file.
    members : sequence of str
        Member names in dataset order.
    """

    def __init__(self, path: "str | os.PathLike[str]", members: Sequence[str]) -> None:
        self.path = Path(path)
        self.members = list(members)
        self._local = threading.local()

    def _archive(self) -> zipfile.ZipFile:
        pid = os.getpid()
        if getattr(self._local, "pid", None) != pid:
            self._local.archive = zipfile.ZipFile(self.path)
            self._local.pid = pid
        return self._local.archive

    def __len__(self) -> int:
        return len(self.members)

    def _get(self, index: int) -> np.ndarray:
        return _decode_image(self._archive().read(self.members[index]))

    def __getstate__(self) -> Dict[str, Any]:
        return {"path": self.path, "members": self.members}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.path = state["path"]
        self.members = state["members"]
        self._local = threading.local()


class FileImages(ImageCollection):
    """Lazily decoded image files (any format PIL reads), converted to RGB.

    Parameters
    ----------
    paths : sequence of str or path
        File paths, relative to ``base`` when it is given (kept as strings: cheap for a million files).
    base : path, optional
        Folder the relative paths start from.
    """

    def __init__(self, paths: Sequence["str | os.PathLike[str]"], base: "str | os.PathLike[str] | None" = None) -> None:
        self.paths = [os.fspath(p) for p in paths]
        self.base = Path(base) if base is not None else None

    def __len__(self) -> int:
        return len(self.paths)

    def path(self, index: int) -> Path:
        """Full path of image ``index``."""
        relative = self.paths[index]
        return self.base / relative if self.base is not None else Path(relative)

    def _get(self, index: int) -> np.ndarray:
        path = self.path(index)
        if not path.is_file():
            raise FileNotFoundError(f"image file {path} is missing (index {index})")
        return _decode_image(path)


class SubsetImages(ImageCollection):
    """The images ``base[indices[0]], base[indices[1]], ...`` of another collection."""

    def __init__(self, base: ImageCollection, indices: np.ndarray) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def _get(self, index: int) -> np.ndarray:
        return self.base[int(self.indices[index])]

    def batch(self, indices: Sequence[int]) -> Union[np.ndarray, List[np.ndarray]]:
        return self.base.batch(cast(Sequence[int], self.indices[np.asarray(indices, dtype=np.int64)]))


def indices_digest(indices: Optional[np.ndarray]) -> Optional[str]:
    """sha256 hex digest of an int64 index array (``None`` for ``None``): identifies a subset in cache keys."""
    if indices is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()


@dataclass
class ImageDataset:
    """Images with integer class labels (and, where the dataset has them, noisy or crowd labels).

    Attributes
    ----------
    name : str
        Registry name of the dataset (``"cifar10"``, ``"cifar10n"``, ...).
    labels : ndarray of shape (n,), int64
        True (clean) class indices; ``-1`` where the dataset has no clean label (Clothing1M noisy train set).
    images : ImageCollection
        ``len(images) == n``; ``images[i]`` is an ``(H, W, 3)`` uint8 array, decoded lazily for large sets.
    class_names : list of str
        ``class_names[k]`` is the name of class ``k``.
    split : str
        ``"train"``, ``"test"``, ...
    source : dict
        Provenance: paths, md5s, official URL, licence and ``jpeg_compressed`` (True when the pixels were
        decoded from lossy JPEG files rather than the lossless originals).
    noisy_labels : ndarray of shape (n,), int64, optional
        The noisy label set chosen (CIFAR-N ``noise_type``, Clothing1M noisy labels; ``-1`` where absent).
    annotator_labels : ndarray of shape (n, m), int64, optional
        One column per identified annotator (CIFAR-10N ``random_label1..3``).
    annotations : pandas.DataFrame, optional
        Long-format crowd labels with columns ``image``, ``annotator``, ``label`` (CIFAR-10H).
    counts : ndarray of shape (n, n_classes), int64, optional
        Number of annotators choosing each class per image (CIFAR-10H).
    subset_indices : ndarray of shape (n,), int64, optional
        Positions of these images in the full split when a random subset was drawn (Clothing1M); the one index
        map used for images, labels and features.
    extra : dict of str to ndarray
        Further per-image arrays (e.g. CIFAR-100 ``coarse_labels``), each with ``n`` rows.
    image_set : str
        Which pixels these are, shared by datasets over the same images (CIFAR-10N reuses ``"cifar10"``); the
        feature cache is keyed by it, so features are extracted once per image set.
    """

    name: str
    labels: np.ndarray
    images: ImageCollection
    class_names: List[str]
    split: str
    source: Dict[str, Any] = field(default_factory=dict)
    noisy_labels: Optional[np.ndarray] = None
    annotator_labels: Optional[np.ndarray] = None
    annotations: Any = None
    counts: Optional[np.ndarray] = None
    subset_indices: Optional[np.ndarray] = None
    extra: Dict[str, np.ndarray] = field(default_factory=dict)
    image_set: str = ""

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if not self.image_set:
            self.image_set = self.name
        if len(self.images) != self.labels.shape[0]:
            raise ValueError(
                f"{self.name}/{self.split}: {len(self.images)} images but {self.labels.shape[0]} labels"
            )
        arrays = {a: getattr(self, a) for a in ("noisy_labels", "annotator_labels", "counts", "subset_indices")}
        arrays.update(self.extra)
        for attr, value in arrays.items():
            if value is not None and np.asarray(value).shape[0] != self.labels.shape[0]:
                raise ValueError(f"{self.name}/{self.split}: {attr} has {np.asarray(value).shape[0]} rows, "
                                 f"expected {self.labels.shape[0]}")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def jpeg_compressed(self) -> bool:
        """True when the pixels come from lossy JPEG files instead of the lossless originals."""
        return bool(self.source.get("jpeg_compressed", False))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: Any) -> "ImageDataset":
        """The images ``indices`` (positions in this dataset) as a dataset of their own, with every per-image array
        and ``subset_indices`` (positions in the full split) following the one index map; its features are cached
        under their own key (``features --indices``)."""
        positions = np.asarray(indices)
        if positions.ndim != 1 or positions.size == 0 or not np.issubdtype(positions.dtype, np.integer):
            raise ValueError(f"{self.name}/{self.split}: indices must be a non-empty 1-D integer array")
        if positions.min() < 0 or positions.max() >= len(self):
            raise ValueError(f"{self.name}/{self.split}: indices outside 0..{len(self) - 1}")
        if np.unique(positions).size != positions.size:
            raise ValueError(f"{self.name}/{self.split}: indices must not repeat")
        positions = positions.astype(np.int64)

        def take(value: Any) -> Any:
            return None if value is None else np.asarray(value)[positions]

        base = self.subset_indices if self.subset_indices is not None else np.arange(len(self))
        annotations = self.annotations
        if annotations is not None and "image" in getattr(annotations, "columns", ()):
            from ..annotators.sources import restrict_to_rows

            annotations = restrict_to_rows(annotations, positions, len(self), column="image")
        return ImageDataset(
            name=self.name, labels=self.labels[positions], images=SubsetImages(self.images, positions),
            class_names=list(self.class_names), split=self.split, source={"split_size": len(self), **self.source},
            noisy_labels=take(self.noisy_labels), annotator_labels=take(self.annotator_labels), annotations=annotations,
            counts=take(self.counts), subset_indices=base[positions],
            extra={k: np.asarray(v)[positions] for k, v in self.extra.items()}, image_set=self.image_set,
        )

    def cache_identity(self) -> Dict[str, Any]:
        """What identifies these pixels for the feature cache: image set, split, size, JPEG flag, subset digest."""
        return {
            "image_set": self.image_set,
            "split": self.split,
            "n_images": len(self),
            "jpeg_compressed": self.jpeg_compressed,
            "pixels_md5": self.source.get("pixels_md5"),
            "subset_indices_sha256": indices_digest(self.subset_indices),
        }
