"""Dataset loaders (a registry) and the raw-file resolution they share.

Public API
----------
``load(name, root=None, mirror=None, download=True, **options)`` returns a dataset object;
``list_datasets()`` lists the registered names. Each loader looks for its raw files in ``datasets/`` (or
``root``), then in a mirror folder, then downloads the official files and checks their md5.
"""

from __future__ import annotations

from ._base import DATASETS, TabularDataset, list_datasets, load, register_dataset
from ._files import DatasetFileNotFoundError, RemoteFile, default_mirror, default_root, resolve_file

# Loaders register themselves on import.
from . import cifar, cifar10h, cifar_n, clothing1m, synthetic, wall_robot  # noqa: E402,F401

__all__ = [
    "DATASETS",
    "DatasetFileNotFoundError",
    "RemoteFile",
    "TabularDataset",
    "default_mirror",
    "default_root",
    "list_datasets",
    "load",
    "register_dataset",
    "resolve_file",
]
