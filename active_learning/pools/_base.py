"""The data layer's registry of multi-annotator pool builders and what every builder shares: where raw files are
looked for (:class:`DataAccess`), the ``dataset:`` section split into loader and input options, and image inputs
(features from the feature cache, or pixels). The builders themselves register from their own modules.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .._registry import Registry

PoolBuilder = Callable[..., Any]
#: Multi-annotator pool builders: ``builder(dataset: Mapping, access: DataAccess, **settings) -> MultiAnnotatorPool``.
POOLS: Registry[PoolBuilder] = Registry("pool")

#: ``dataset:`` keys read by the data layer itself (the rest are options of the dataset loader).
INPUT_KEYS = ("encoder", "encoder_params", "inputs")
INPUT_KINDS = ("features", "pixels")


@dataclass(frozen=True)
class DataAccess:
    """Where raw dataset files are looked for (not part of a job's identity, so not hashed)."""

    root: Optional[str] = None
    mirror: Optional[str] = None
    download: bool = True

    @property
    def feature_root(self) -> Optional[str]:
        """The feature cache folder (``<root>/features``; default: the data root's)."""
        return None if self.root is None else str(Path(self.root) / "features")


def register_pool(name: str, **metadata: Any) -> Callable[[PoolBuilder], PoolBuilder]:
    """Decorator registering a multi-annotator pool builder under ``name`` (``data.pool: name``).

    The builder's keyword-only arguments are the ``data:`` settings it accepts (checked by name and type before
    any job runs); ``metadata`` may give ``ranges`` (``{setting: (ok(value) -> bool, "a number in (0, 1)")}``),
    ``uses_dataset`` (False when the builder ignores ``dataset:``) and a one-line ``description``.
    """
    return POOLS.register(name, **metadata)


def pool_settings(name: str) -> Tuple[List[str], List[str]]:
    """``(accepted settings, required settings)`` of the pool builder ``name`` (from its signature)."""
    parameters = inspect.signature(POOLS.get(name)).parameters
    accepted = [n for n, p in parameters.items() if p.kind == p.KEYWORD_ONLY]
    required = [n for n in accepted if parameters[n].default is inspect.Parameter.empty]
    return accepted, required


def split_dataset_config(dataset: Mapping[str, Any]) -> Tuple[str, Dict[str, Any], Dict[str, Any]]:
    """``dataset:`` → ``(name, loader options, input options)`` (the input options are :data:`INPUT_KEYS`)."""
    options = dict(dataset or {})
    name = options.pop("name", None)
    if name is None:
        raise ValueError("dataset.name is required; name a registered dataset (`python -m active_learning list datasets`)")
    inputs = {key: options.pop(key) for key in INPUT_KEYS if key in options}
    return str(name), options, inputs


def load_dataset(dataset: Mapping[str, Any], access: DataAccess, **more: Any) -> Any:
    """Load the dataset a ``dataset:`` section names (input options removed), with ``more`` loader options."""
    from ..datasets import load

    name, options, _ = split_dataset_config(dataset)
    return load(name, root=access.root, mirror=access.mirror, download=access.download, **options, **more)


def image_inputs(images: Any, input_options: Mapping[str, Any], access: DataAccess) -> np.ndarray:
    """Model inputs of an :class:`~active_learning.datasets.ImageDataset`.

    ``input_options``: ``inputs`` (``"features"``, the default, or ``"pixels"``), ``encoder`` (default
    ``efficientnet_lite0``) and ``encoder_params``. Features come from the feature cache: extracted on first use
    (resumably, with a progress bar), then loaded from disk and verified against their sidecar.

    Returns
    -------
    ndarray
        float32 features (n, d), or uint8 images (n, H, W, 3) for ``inputs: pixels``.
    """
    kind = input_options.get("inputs", "features")
    if kind not in INPUT_KINDS:
        raise ValueError(f"dataset.inputs must be one of {list(INPUT_KINDS)}, got {kind!r}")
    if kind == "pixels":
        return np.asarray(images.images.batch(np.arange(len(images))), dtype=np.uint8)
    from ..encoders import get_encoder
    from ..features import extract_features

    encoder = get_encoder(input_options.get("encoder") or "efficientnet_lite0", **(input_options.get("encoder_params") or {}))
    features = extract_features(images, encoder, root=access.feature_root, progress=False)
    return np.array(features, dtype=np.float32)  # a writable in-memory copy of the memory-mapped cache file


def build_pool(dataset: Mapping[str, Any], data: Mapping[str, Any], access: Optional[DataAccess] = None) -> Any:
    """The :class:`~active_learning.multiannotator.data.MultiAnnotatorPool` of a benchmark's ``dataset:`` and
    ``data:`` sections (``data.pool`` names the builder; default ``tabular``)."""
    settings = dict(data or {})
    name = settings.pop("pool", "tabular")
    return POOLS.get(name)(dict(dataset or {}), access or DataAccess(), **settings)
