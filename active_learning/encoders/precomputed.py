"""Features a user computed elsewhere (for example the SCAN / DINOv2 feature files of the NAS paper).

The file is an ``(N, d)`` array: ``.npy`` (memory-mapped) or ``.pt`` / ``.pth`` (a tensor or array, read with
``weights_only=True``). It must have one finite row per image of the dataset, in dataset order; when the dataset is
a random subset (``subset_indices``, e.g. Clothing1M) and the file covers the full split, the subset's rows are taken
through the same index map as the images and labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

from ._base import ImageEncoder, register_encoder
from ..utils.io import md5_of_file


def load_feature_file(path: Union[str, Path]) -> np.ndarray:
    """Read an ``(N, d)`` feature file (``.npy`` memory-mapped, ``.pt``/``.pth`` tensor or array)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"precomputed: feature file {path} does not exist")
    if path.suffix == ".npy":
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    elif path.suffix in (".pt", ".pth"):
        import torch

        obj = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(obj, dict) and len(obj) == 1:
            obj = next(iter(obj.values()))
        if isinstance(obj, torch.Tensor):
            obj = obj.detach().float().numpy()
        array = np.asarray(obj)
    else:
        raise ValueError(f"precomputed: {path} must be .npy, .pt or .pth")
    if array.ndim != 2:
        raise ValueError(f"precomputed: {path} holds an array of shape {array.shape}; expected (N, d)")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"precomputed: {path} has dtype {array.dtype}; expected floating-point features")
    return array


@register_encoder("precomputed")
class PrecomputedEncoder(ImageEncoder):
    """Serve features from a file instead of encoding images.

    Parameters
    ----------
    path : path
        ``(N, d)`` feature file.
    self_supervised : bool, optional
        Whether the features are self-supervised (recorded with them; ``None`` = unknown).
    description : str, default=""
        What produced the features (recorded).
    """

    name = "precomputed"

    def __init__(self, path: Union[str, Path, None] = None, self_supervised: Optional[bool] = None,
                 description: str = "", device: Optional[str] = None) -> None:
        if path is None:
            raise ValueError("precomputed: pass path=FILE, an (N, d) .npy or .pt feature file")
        super().__init__(1, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), device=device)
        self.path = Path(path)
        self.features = load_feature_file(self.path)
        self.self_supervised = self_supervised  # type: ignore[assignment]
        self.pretraining = description
        self.dim = int(self.features.shape[1])
        self._md5: Optional[str] = None

    def weights_info(self) -> Dict[str, Any]:
        if self._md5 is None:
            self._md5 = md5_of_file(self.path)
        return {"weights": f"file:{self.path.name}", "weights_md5": self._md5, "shape": list(self.features.shape)}

    def preprocessing(self) -> Dict[str, Any]:
        return {"precomputed": True}

    def features_for(self, dataset: Any) -> np.ndarray:
        """The file's rows for ``dataset`` (checked for length and finite values).

        The file must have one row per image of the dataset, or, for a subset (``subset_indices``), one row per
        image of the full split it was drawn from (``source["split_size"]``, when the dataset records it): a file
        shorter or longer than that is a ``ValueError`` that gives both sizes, never silently sliced.
        """
        n = len(dataset)
        features = self.features
        subset = getattr(dataset, "subset_indices", None)
        where = f"{getattr(dataset, 'name', '?')}/{getattr(dataset, 'split', '?')}"
        if features.shape[0] != n:
            if subset is None:
                raise ValueError(
                    f"precomputed: {self.path} has {features.shape[0]} rows but dataset {where} has {n} images; "
                    "the file needs exactly one row per image, in dataset order"
                )
            split_size = (getattr(dataset, "source", None) or {}).get("split_size")
            if split_size is not None and features.shape[0] != int(split_size):
                raise ValueError(
                    f"precomputed: {self.path} has {features.shape[0]} rows but dataset {where} is a subset of "
                    f"{n} images of a split of {int(split_size)}; the file needs one row per image of the subset "
                    f"({n}) or of the full split ({int(split_size)}), in split order"
                )
            if split_size is None and features.shape[0] <= int(np.max(subset)):
                raise ValueError(
                    f"precomputed: {self.path} has {features.shape[0]} rows but dataset {where} is a subset of "
                    f"{n} images of a split of at least {int(np.max(subset)) + 1}"
                )
            features = features[np.asarray(subset)]
        features = np.asarray(features, dtype=np.float32)
        if not np.all(np.isfinite(features)):
            bad = int(np.flatnonzero(~np.isfinite(features).all(axis=1))[0])
            raise ValueError(f"precomputed: {self.path} row {bad} has non-finite values")
        return features

    def encode(self, batch: Any) -> np.ndarray:
        raise TypeError("precomputed features cannot encode images; use extract_features(dataset, encoder) "
                        "or encoder.features_for(dataset)")
