"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009): 32x32 colour images, 50,000 train and 10,000 test.

Sources, in the order tried by :func:`load_cifar10` / :func:`load_cifar100`:

1. the official python pickle batches already extracted under ``<root>/<cifar10|cifar100>/`` (the folders
   ``cifar-10-batches-py`` / ``cifar-100-python``, the torchvision layout);
2. the official tarball ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` in ``<root>/<dataset>/`` or in the
   mirror ``<mirror>/<dataset>/``; its md5 is checked and it is extracted into ``<root>/<dataset>/``;
3. CIFAR-10 only: a JPEG mirror ``<mirror or root>/cifar10/{train,test}.zip`` (members ``00000.jpg`` ... in canonical
   batch order) with ``{train,test}_labels.npy``. JPEG is lossy: every dataset built from it has
   ``source["jpeg_compressed"] = True`` and a warning says so;
4. the official download (``download=True``), md5-checked, then extracted.

``format="python"`` skips the JPEG mirror (lossless pixels or an error); ``format="jpeg"`` uses only the mirror.

Licence: CIFAR-10/100 are distributed without a formal licence by the authors; cite [1]_.
Official page: https://www.cs.toronto.edu/~kriz/cifar.html

References
----------
.. [1] Krizhevsky, A. (2009). "Learning Multiple Layers of Features from Tiny Images." Technical report,
   University of Toronto.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._base import register_dataset
from ._files import DatasetFileNotFoundError, RemoteFile, default_root, resolve_file
from ._images import ArrayImages, ImageDataset, ZipJpegImages
from ..utils.io import md5_of_file

PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
LICENCE = "no formal licence (cite Krizhevsky 2009)"
SPLITS = ("train", "test")

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _Flavour:
    """Everything that differs between CIFAR-10 and CIFAR-100."""

    def __init__(self, name: str, tarball: RemoteFile, folder: str, train_files: List[str], test_files: List[str],
                 meta_file: str, label_key: bytes, names_key: bytes) -> None:
        self.name = name
        self.tarball = tarball
        self.folder = folder
        self.train_files = train_files
        self.test_files = test_files
        self.meta_file = meta_file
        self.label_key = label_key
        self.names_key = names_key

    def split_files(self, split: str) -> List[str]:
        return self.train_files if split == "train" else self.test_files


CIFAR10 = _Flavour(
    "cifar10",
    RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
               "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", instructions=f"Dataset page: {PAGE}."),
    "cifar-10-batches-py",
    [f"data_batch_{i}" for i in range(1, 6)],
    ["test_batch"],
    "batches.meta",
    b"labels",
    b"label_names",
)
CIFAR100 = _Flavour(
    "cifar100",
    RemoteFile("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
               "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", instructions=f"Dataset page: {PAGE}."),
    "cifar-100-python",
    ["train"],
    ["test"],
    "meta",
    b"fine_labels",
    b"fine_label_names",
)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler for the CIFAR batches that only rebuilds numpy arrays (no arbitrary code)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"CIFAR batch file refers to {module}.{name}, which is not allowed")


def _read_batch(path: Path) -> Dict[bytes, Any]:
    with open(path, "rb") as handle:
        batch = _BatchUnpickler(handle, encoding="bytes").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR python batch (expected a dict, got {type(batch).__name__})")
    return batch


def _extract(tarball: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        try:
            archive.extractall(destination, filter="data")
        except TypeError:  # pragma: no cover - Python without extraction filters
            for member in archive.getmembers():
                target = (destination / member.name).resolve()
                if not str(target).startswith(str(destination.resolve())):
                    raise ValueError(f"{tarball}: unsafe member path {member.name!r}")
            archive.extractall(destination)


def _extracted_folder(flavour: _Flavour, root: Path, split: str) -> Optional[Path]:
    folder = root / flavour.name / flavour.folder
    needed = flavour.split_files(split) + [flavour.meta_file]
    if all((folder / name).is_file() for name in needed):
        return folder
    return None


def read_python_batches(
    folder: Path, flavour: _Flavour, split: str
) -> Tuple[np.ndarray, np.ndarray, List[str], str, Dict[str, np.ndarray]]:
    """Read the pickle batches of ``split`` from an extracted folder.

    Returns
    -------
    images : ndarray (n, 32, 32, 3) uint8
    labels : ndarray (n,) int64
    class_names : list of str
    pixels_md5 : str
        md5 of the batch files' md5s, identifying the pixels.
    extra : dict
        CIFAR-100: ``coarse_labels`` (n,) int64.
    """
    data, labels, coarse = [], [], []
    digest = hashlib.md5()
    for name in flavour.split_files(split):
        path = folder / name
        batch = _read_batch(path)
        try:
            raw = np.asarray(batch[b"data"], dtype=np.uint8)
            batch_labels = np.asarray(batch[flavour.label_key], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"{path}: CIFAR batch without key {exc.args[0]!r}") from None
        if raw.ndim != 2 or raw.shape[1] != 3072 or raw.shape[0] != batch_labels.shape[0]:
            raise ValueError(f"{path}: expected data (n, 3072) and n labels, got {raw.shape} and "
                             f"{batch_labels.shape}")
        data.append(raw)
        labels.append(batch_labels)
        if b"coarse_labels" in batch:
            coarse.append(np.asarray(batch[b"coarse_labels"], dtype=np.int64))
        digest.update(md5_of_file(path).encode())
    meta = _read_batch(folder / flavour.meta_file)
    class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[flavour.names_key]]
    images = np.concatenate(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    extra = {"coarse_labels": np.concatenate(coarse)} if len(coarse) == len(data) and coarse else {}
    return np.ascontiguousarray(images), np.concatenate(labels), class_names, digest.hexdigest(), extra


def _jpeg_files(split: str, root: Any, mirror: Any) -> Tuple[Path, Path]:
    zip_spec = RemoteFile(f"{split}.zip", None, None)
    label_spec = RemoteFile(f"{split}_labels.npy", None, None)
    return (resolve_file("cifar10", zip_spec, root=root, mirror=mirror, download=False),
            resolve_file("cifar10", label_spec, root=root, mirror=mirror, download=False))


def read_jpeg_mirror(zip_path: Path, labels_path: Path, split: str) -> ImageDataset:
    """Build CIFAR-10 ``split`` from a JPEG zip (``00000.jpg`` ...) and its label file; pixels are JPEG-compressed."""
    labels = np.load(labels_path, allow_pickle=False)
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected a 1-d label array, got shape {labels.shape}")
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        members = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg"))
    expected = [f"{i:05d}.jpg" for i in range(labels.shape[0])]
    base = [m.rsplit("/", 1)[-1] for m in members]
    if base != expected:
        raise ValueError(
            f"{zip_path}: expected {labels.shape[0]} members named 00000.jpg ... {labels.shape[0] - 1:05d}.jpg "
            f"(one per label in {labels_path.name}), found {len(members)} .jpg members"
        )
    if labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES):
        raise ValueError(f"{labels_path}: labels outside 0..9")
    warnings.warn(
        f"cifar10/{split}: using the JPEG mirror {zip_path}; its pixels are JPEG-compressed (lossy), not the "
        f"original CIFAR-10 pixels (source['jpeg_compressed'] = True). For lossless pixels put "
        f"{CIFAR10.tarball.filename} in the data folder or mirror ({CIFAR10.tarball.url}).",
        stacklevel=3,
    )
    return ImageDataset(
        name="cifar10",
        labels=labels.astype(np.int64),
        images=ZipJpegImages(zip_path, members),
        class_names=list(CIFAR10_CLASSES),
        split=split,
        source={
            "path": str(zip_path),
            "cifar_labels_path": str(labels_path),
            "cifar_labels_md5": md5_of_file(labels_path),
            "md5": None,  # the JPEG mirror is not an official file: no published checksum
            "pixels_md5": md5_of_file(zip_path),
            "url": CIFAR10.tarball.url,
            "licence": LICENCE,
            "format": "jpeg",
            "jpeg_compressed": True,
        },
    )


def _load(flavour: _Flavour, root: Any, mirror: Any, download: bool, split: str, format: str) -> ImageDataset:
    if split not in SPLITS:
        raise ValueError(f"{flavour.name}: split must be one of {SPLITS}, got {split!r}")
    formats = ("auto", "python", "jpeg") if flavour is CIFAR10 else ("auto", "python")
    if format not in formats:
        raise ValueError(f"{flavour.name}: format must be one of {formats}, got {format!r}")
    root_path = Path(root) if root is not None else default_root()

    tarball: Optional[Path] = None
    folder = None if format == "jpeg" else _extracted_folder(flavour, root_path, split)
    errors: List[str] = []
    if folder is None and format != "jpeg":
        try:
            tarball = resolve_file(flavour.name, flavour.tarball, root=root_path, mirror=mirror, download=False)
        except DatasetFileNotFoundError as exc:
            errors.append(str(exc))
    if folder is None and tarball is None and flavour is CIFAR10 and format in ("auto", "jpeg"):
        try:
            zip_path, labels_path = _jpeg_files(split, root_path, mirror)
        except DatasetFileNotFoundError as exc:
            errors.append("Optional lossy fallback, a JPEG mirror (never downloaded): " + str(exc))
        else:
            return read_jpeg_mirror(zip_path, labels_path, split)
    if folder is None and tarball is None and format != "jpeg":
        if not download:
            raise DatasetFileNotFoundError(" ".join(errors))
        try:
            tarball = resolve_file(flavour.name, flavour.tarball, root=root_path, mirror=mirror, download=True)
        except DatasetFileNotFoundError as exc:
            raise DatasetFileNotFoundError(" ".join([str(exc)] + errors[1:])) from None
    if folder is None:
        if tarball is None:
            raise DatasetFileNotFoundError(" ".join(errors))
        _extract(tarball, root_path / flavour.name)
        folder = _extracted_folder(flavour, root_path, split)
        if folder is None:
            raise DatasetFileNotFoundError(
                f"{flavour.name}: {tarball} was extracted into {root_path / flavour.name} but "
                f"{flavour.folder}/{flavour.split_files(split)} is missing; the tarball is not the official one."
            )
    images, labels, class_names, pixels_md5, extra = read_python_batches(folder, flavour, split)
    return ImageDataset(
        name=flavour.name,
        labels=labels,
        images=ArrayImages(images),
        class_names=class_names,
        split=split,
        extra=extra,
        source={
            "path": str(folder),
            "tarball": str(tarball) if tarball is not None else None,
            "md5": flavour.tarball.md5,
            "pixels_md5": pixels_md5,
            "url": flavour.tarball.url,
            "licence": LICENCE,
            "format": "python",
            "jpeg_compressed": False,
        },
    )


@register_dataset("cifar10")
def load_cifar10(root: Any = None, mirror: Any = None, download: bool = True, split: str = "train",
                 format: str = "auto") -> ImageDataset:
    """Load CIFAR-10 (10 classes; 50,000 train / 10,000 test 32x32 images).

    Parameters
    ----------
    root, mirror, download
        See :func:`active_learning.datasets.load`.
    split : {"train", "test"}, default="train"
    format : {"auto", "python", "jpeg"}, default="auto"
        ``"auto"``: lossless python batches when present locally or in the mirror, else the JPEG mirror, else the
        official download. ``"python"``: lossless only (downloads if allowed). ``"jpeg"``: the JPEG mirror only.

    Returns
    -------
    ImageDataset
        ``images`` in canonical batch order; ``source["jpeg_compressed"]`` tells whether pixels are lossy.
    """
    return _load(CIFAR10, root, mirror, download, split, format)


@register_dataset("cifar100")
def load_cifar100(root: Any = None, mirror: Any = None, download: bool = True, split: str = "train",
                  format: str = "auto") -> ImageDataset:
    """Load CIFAR-100 (100 fine classes; 50,000 train / 10,000 test 32x32 images).

    The 20 coarse (superclass) labels are in ``extra["coarse_labels"]``. Parameters as :func:`load_cifar10`, but
    only ``format in {"auto", "python"}`` (there is no JPEG mirror of CIFAR-100).
    """
    return _load(CIFAR100, root, mirror, download, split, format)
