"""Base class of the image encoders: preprocessing written in torch (no torchvision) and the fingerprint.

Preprocessing of a batch (``uint8`` NHWC array, or a list of ``H x W x 3`` arrays of different sizes):

1. scale to ``[0, 1]`` floats, NCHW;
2. resize to ``input_size x input_size``: ``"stretch"`` (bilinear resize of the whole image; CIFAR) or
   ``"center_crop"`` (resize the shorter side to ``input_size / crop_fraction``, then take the central square; the
   usual ImageNet evaluation transform, for photos of any aspect ratio such as Clothing1M);
3. normalise per channel: ``(x - mean) / std``.

Everything that changes the output is in :meth:`ImageEncoder.fingerprint`, so a change gives a new cache key.

The encoder registry (:data:`ENCODERS`, :func:`register_encoder`, :func:`get_encoder`) lives here too; the encoders
register themselves from their own modules.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from .._registry import Registry
from ..utils.devices import check_torch_device

Batch = Union[np.ndarray, Sequence[np.ndarray]]

RESIZE_MODES = ("stretch", "center_crop")


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _checked_device(device: Optional[str], name: str) -> Optional[str]:
    """An encoder's device setting checked against this machine (``"auto"`` = ``None``: the GPU when present)."""
    return None if device in (None, "auto") else check_torch_device(device, f"{name}: device")


class ImageEncoder:
    """An image -> feature-vector map with a stable fingerprint.

    Parameters
    ----------
    input_size : int
        Side of the square network input in pixels.
    mean, std : sequence of 3 floats
        Per-channel normalisation applied to ``[0, 1]`` pixels.
    resize : {"stretch", "center_crop"}, default="stretch"
    crop_fraction : float, default=0.875
        ``"center_crop"`` only: the crop covers this fraction of the resized shorter side.
    device : str, optional
        Torch device; default GPU when available, else CPU.

    Attributes
    ----------
    name : str
        Registry name.
    self_supervised : bool
        Whether the weights were trained without labels (report it with every result).
    pretraining : str
        Human-readable description of the weights (data set and objective).
    """

    name = "encoder"
    self_supervised = False
    pretraining = ""

    def __init__(self, input_size: int, mean: Sequence[float], std: Sequence[float], resize: str = "stretch",
                 crop_fraction: float = 0.875, device: Optional[str] = None) -> None:
        if int(input_size) <= 0:
            raise ValueError(f"{self.name}: input_size must be positive, got {input_size}")
        if resize not in RESIZE_MODES:
            raise ValueError(f"{self.name}: resize must be one of {RESIZE_MODES}, got {resize!r}")
        if not 0 < crop_fraction <= 1:
            raise ValueError(f"{self.name}: crop_fraction must be in (0, 1], got {crop_fraction}")
        self.input_size = int(input_size)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.resize = resize
        self.crop_fraction = float(crop_fraction)
        self.device = _checked_device(device, self.name)
        self._model: Any = None

    # -- to implement -------------------------------------------------------------------------------------------
    def build_model(self) -> Any:
        """Return the ``torch.nn.Module`` (called once, lazily)."""
        raise NotImplementedError

    def forward_features(self, model: Any, x: Any) -> Any:
        """Map a preprocessed ``(n, 3, S, S)`` tensor to ``(n, d)`` features."""
        return model(x)

    def weights_info(self) -> Dict[str, Any]:
        """``{"weights": <id>, "weights_md5": <md5 or None>}`` identifying the parameters."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        if self._model is None:
            model = self.build_model()
            model.eval()
            self._model = model.to(self.resolved_device)
        return self._model

    @property
    def resolved_device(self) -> str:
        if self.device is None:
            self.device = default_device()
        return self.device

    def to(self, device: str) -> "ImageEncoder":
        """Move the encoder to ``device`` (returns ``self``); a device this machine lacks (``cuda`` without a GPU) is
        a one-line :class:`~active_learning.utils.devices.DeviceError` here, before any work."""
        self.device = _checked_device(device, self.name)
        if self._model is not None:
            self._model = self._model.to(device)
        return self

    def preprocessing(self) -> Dict[str, Any]:
        """The preprocessing parameters (part of the fingerprint)."""
        return {
            "scale": "uint8/255",
            "resize": self.resize,
            "interpolation": "bilinear",
            "antialias": True,
            "crop_fraction": self.crop_fraction if self.resize == "center_crop" else None,
            "mean": self.mean,
            "std": self.std,
        }

    def fingerprint(self) -> Dict[str, Any]:
        """Everything that determines the features: name, weights id/md5, input size, preprocessing."""
        info = {
            "encoder": self.name,
            "input_size": self.input_size,
            "preprocessing": self.preprocessing(),
            "self_supervised": self.self_supervised,
            "pretraining": self.pretraining,
        }
        info.update(self.weights_info())
        return info

    def _resize_one(self, x: Any) -> Any:
        import torch.nn.functional as F

        size = self.input_size
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if self.resize == "stretch":
            if (h, w) == (size, size):
                return x
            return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        short = int(math.floor(size / self.crop_fraction + 0.5))
        scale = short / min(h, w)
        new_h, new_w = max(size, int(round(h * scale))), max(size, int(round(w * scale)))
        if (new_h, new_w) != (h, w):
            x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
        top, left = (new_h - size) // 2, (new_w - size) // 2
        return x[..., top:top + size, left:left + size]

    def preprocess(self, batch: Batch) -> Any:
        """``uint8`` NHWC batch (or list of HWC images) -> normalised float32 NCHW tensor on the device."""
        import torch

        device = self.resolved_device
        if isinstance(batch, np.ndarray) and batch.ndim == 4:
            groups: List[np.ndarray] = [batch]
        else:
            groups = [np.asarray(im)[None] for im in batch]
        out = []
        for group in groups:
            if group.ndim != 4 or group.shape[-1] != 3:
                raise ValueError(f"{self.name}: expected images of shape (H, W, 3), got {group.shape[1:]}")
            if group.dtype != np.uint8:
                raise ValueError(f"{self.name}: expected uint8 pixels, got {group.dtype}")
            x = torch.from_numpy(np.ascontiguousarray(group)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
            out.append(self._resize_one(x))
        x = torch.cat(out) if len(out) > 1 else out[0]
        mean = torch.tensor(self.mean, device=device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=device, dtype=x.dtype).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()

    def encode(self, batch: Batch) -> np.ndarray:
        """Features of a batch: float32 array of shape ``(n, d)``."""
        import torch

        if len(batch) == 0:
            raise ValueError(f"{self.name}: empty batch")
        model = self.model
        with torch.inference_mode():
            features = self.forward_features(model, self.preprocess(batch))
        features = features.float().reshape(features.shape[0], -1)
        return features.cpu().numpy().astype(np.float32, copy=False)

    def features_for(self, dataset: Any) -> Optional[np.ndarray]:
        """Features of a whole dataset without encoding images (``None``: encode them). See ``precomputed``."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, input_size={self.input_size}, device={self.device!r})"


ENCODERS: Registry[Callable[..., ImageEncoder]] = Registry("encoder")


def register_encoder(name: str) -> Callable[[Callable[..., ImageEncoder]], Callable[..., ImageEncoder]]:
    """Decorator registering an encoder class (or factory) under ``name``."""
    return ENCODERS.register(name)


def get_encoder(name: str, **params: Any) -> ImageEncoder:
    """Build the encoder registered as ``name`` with ``params`` (e.g. ``input_size=112``, ``checkpoint=...``)."""
    return ENCODERS.get(name)(**params)


def list_encoders() -> List[str]:
    """Names of every registered encoder."""
    return ENCODERS.names()
