"""Dataset loaders (a registry) and the raw-file resolution they share.

Public API
----------
``load(name, root=None, mirror=None, download=True, **options)`` returns a dataset object;
``list_datasets()`` lists the registered names. Each loader looks for its raw files in ``datasets/`` (or
``root``), then in a mirror folder, then downloads the official files and checks their md5.
"""

from __future__ import annotations

from typing import Any, Callable, List

from .._registry import Registry
from ._base import TabularDataset
from ._files import DatasetFileNotFoundError, RemoteFile, default_mirror, default_root, resolve_file

DATASETS: Registry[Callable[..., Any]] = Registry("dataset")


def register_dataset(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a loader function ``loader(root=None, mirror=None, download=True, **options)``."""
    return DATASETS.register(name)


def load(name: str, root: Any = None, mirror: Any = None, download: bool = True, **options: Any) -> Any:
    """Load the dataset registered as ``name``.

    Parameters
    ----------
    name : str
        Registered dataset name (see :func:`list_datasets`).
    root : path, optional
        Local data folder (default ``./datasets`` in the working directory, or ``$AL_DATA_ROOT``).
    mirror : path, optional
        Folder mirroring the raw files as ``<mirror>/<dataset>/<file>`` (default ``$AL_DATA_MIRROR``).
    download : bool, default=True
        Allow downloading the official files when they are not found locally.
    **options
        Loader-specific options (e.g. ``sensors=24`` for Wall Robot).
    """
    return DATASETS.get(name)(root=root, mirror=mirror, download=download, **options)


def list_datasets() -> List[str]:
    """Names of every registered dataset."""
    return DATASETS.names()


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
