"""Fine-tuning an ImageNet-pretrained CNN end to end on the labeled images (the ActiveLab CIFAR-10H model, on a GPU).

The ActiveLab paper fine-tuned an ImageNet-pretrained ResNet-18 for 100 epochs per cross-validation fold (AutoGluon's
``ImagePredictor``, spec §3.2). Offline, the pretrained backbone available here is EfficientNet-Lite0 (ImageNet-1k
supervised; the encoder ``efficientnet_lite0``), so :class:`EfficientNetLite0FineTune` fine-tunes that network with
a new linear head: SGD (Nesterov momentum 0.9) with a per-epoch cosine learning rate, random crop (padding 4) and
horizontal flip on the 32×32 images, which are then resized to ``input_size``. It trains on the GPU when one is
visible (``device="auto"``); on CPU it runs, slowly (use it with ``dataset.inputs: pixels``).

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Tan, Le (2019). "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks." ICML.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from ..utils.devices import learner_device
from ._base import Learner, register_learner
from ._training import train_sgd
from .resnet import random_crop_flip, softmax_in_batches, to_image_tensor


class _FineTuneNet(nn.Module):
    """Pretrained backbone + linear head; resizes the (normalised) input to the backbone's resolution."""

    def __init__(self, encoder: Any, n_classes: int, input_size: int, init_seed: int) -> None:
        super().__init__()
        self.backbone = encoder.build_model()
        self._features = encoder.forward_features
        self.input_size = int(input_size)
        self.head = nn.Linear(int(encoder.dim), n_classes)
        gen = torch.Generator().manual_seed(int(init_seed))
        bound = 1.0 / np.sqrt(encoder.dim)
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=gen)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.head(self._features(self.backbone, x))


@register_learner("efficientnet_lite0_finetune", family="torch", inputs="images", label="EfficientNet-Lite0 fine-tuned")
class EfficientNetLite0FineTune(Learner):
    """EfficientNet-Lite0 (ImageNet-pretrained) fine-tuned end to end with a new linear head.

    Parameters
    ----------
    epochs : int, default=100
        The paper's ResNet-18 budget per fold.
    lr : float, default=0.01
    weight_decay : float, default=5e-4
    batch_size : int, default=64
    momentum : float, default=0.9
    input_size : int, default=112
        Backbone resolution (images are upsampled from 32×32).
    augment : bool, default=True
        Random crop (padding 4) and horizontal flip at 32×32.
    init_seed : int, default=0
        Seed of the head's initial weights (the same every fit).
    device : str, default="auto"
        ``"auto"``: the device the runner assigned to the job (``run --devices``), else CUDA when visible, else CPU.
    eval_batch_size : int, default=256
    """

    def __init__(self, *, epochs: int = 100, lr: float = 0.01, weight_decay: float = 5e-4, batch_size: int = 64,
                 momentum: float = 0.9, input_size: int = 112, augment: bool = True, init_seed: int = 0,
                 device: str = "auto", eval_batch_size: int = 256) -> None:
        if int(epochs) < 1 or int(batch_size) < 1 or int(input_size) < 16:
            raise ValueError("epochs and batch_size must be positive and input_size at least 16")
        self.epochs, self.lr, self.weight_decay = int(epochs), float(lr), float(weight_decay)
        self.batch_size, self.momentum, self.input_size = int(batch_size), float(momentum), int(input_size)
        self.augment, self.init_seed, self.device = bool(augment), int(init_seed), device
        self.eval_batch_size = int(eval_batch_size)
        self._model: Optional[_FineTuneNet] = None
        self._encoder: Any = None

    def _device(self) -> torch.device:
        return learner_device(self.device)

    def _get_encoder(self) -> Any:
        if self._encoder is None:
            from ..encoders import get_encoder

            self._encoder = get_encoder("efficientnet_lite0", input_size=self.input_size, device="cpu")
        return self._encoder

    def fit(self, inputs: Any, labels: Any, rng: np.random.Generator, n_classes: Optional[int] = None) -> "EfficientNetLite0FineTune":
        _, y, C = self._check_fit(inputs, labels, n_classes)
        encoder = self._get_encoder()
        images = to_image_tensor(inputs, encoder.mean, encoder.std)
        device = self._device()
        model = _FineTuneNet(encoder, C, self.input_size, self.init_seed).to(device)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        train_sgd(model, images, torch.from_numpy(y), epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
                  batch_size=min(self.batch_size, max(1, y.size)), momentum=self.momentum, gen=gen,
                  transform=random_crop_flip if self.augment else None, device=device)
        self._model = model.eval()
        return self

    def predict_proba(self, inputs: Any) -> np.ndarray:
        if self._model is None:
            raise ValueError("call fit() before predict_proba()")
        encoder = self._get_encoder()
        images = to_image_tensor(inputs, encoder.mean, encoder.std)
        return softmax_in_batches(self._model, images, self.eval_batch_size, self._device())
