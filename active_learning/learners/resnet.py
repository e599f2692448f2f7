"""CIFAR ResNet-18 trained from scratch (the NAS protocol's default classifier).

Architecture: 3×3 stride-1 stem conv + BN + ReLU, the 3×3/2 max-pool kept (as in the NAS code), four stages of
two BasicBlocks (64-128-256-512), global average pooling, dropout 0.5, linear head; Kaiming init. The same
initial weights are used every round (``init_seed``). Recipe (NAS spec §4.5): SGD momentum 0.9 Nesterov, base
LR 0.025 with per-epoch cosine decay, weight decay 3e-4, batch 100 with index repetition and ``drop_last``,
200 epochs, RandomCrop(32, padding 4) + horizontal flip, CIFAR mean/std normalisation.

References
----------
.. [1] He, Zhang, Ren, Sun (2016). "Deep Residual Learning for Image Recognition." CVPR.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..utils.devices import learner_device
from ._base import Learner, register_learner
from ._training import train_sgd

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class CifarResNet18(nn.Module):
    """ResNet-18 with a CIFAR stem (3×3 conv, stride 1, max-pool kept) and dropout before the head."""

    def __init__(self, n_classes: int, dropout: float = 0.5, width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers, cin = [], width
        for i, mult in enumerate((1, 2, 4, 8)):
            cout = width * mult
            stride = 1 if i == 0 else 2
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.layers(self.stem(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))


def kaiming_init(model: nn.Module, gen: torch.Generator) -> None:
    """Kaiming-normal conv weights, BN to (1, 0), default-uniform linear layers, all from ``gen``."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.normal_(0.0, float(np.sqrt(2.0 / fan_out)), generator=gen)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
            elif isinstance(m, nn.Linear):
                bound = 1.0 / np.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=gen)
                m.bias.uniform_(-bound, bound, generator=gen)


def random_crop_flip(x: torch.Tensor, gen: torch.Generator, padding: int = 4) -> torch.Tensor:
    """RandomCrop(H, padding, zero fill) + random horizontal flip, per image, from ``gen``."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


def to_image_tensor(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (N, H, W, 3) or float (N, 3, H, W) in [0, 1] -> normalised float tensor (N, 3, H, W)."""
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"images must be 4-D (N, H, W, 3) uint8 or (N, 3, H, W) float, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
        if arr.shape[-1] == 3:
            arr = arr.transpose(0, 3, 1, 2)
    if arr.shape[1] != 3:
        raise ValueError(f"images must have 3 channels, got shape {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (t - m) / s


def softmax_in_batches(model: nn.Module, images: torch.Tensor, batch_size: int, device: torch.device) -> np.ndarray:
    """Class probabilities of a trained network on ``images``, ``batch_size`` at a time on ``device`` (float64)."""
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            out.append(torch.softmax(model(images[start:start + batch_size].to(device)), 1).cpu())
    return torch.cat(out).numpy().astype(np.float64)


@register_learner("resnet18_cifar", family="torch", inputs="images", label="ResNet-18 (CIFAR)")
class ResNet18Cifar(Learner):
    """CIFAR ResNet-18 from scratch on images (GPU when available).

    Parameters
    ----------
    epochs : int, default=200
    lr : float, default=0.025
    weight_decay : float, default=3e-4
    batch_size : int, default=100
    momentum : float, default=0.9
    dropout : float, default=0.5
    init_seed : int, default=0
        Same initial weights every round.
    augment : bool, default=True
    mean, std : sequence of float
        Normalisation (CIFAR-10 statistics by default).
    device : str, default="auto"
        ``"auto"``: the device the runner assigned to the job (``run --devices``), else CUDA when available, else
        the CPU; or a torch device name (``"cpu"``, ``"cuda:1"``), used as given. Prediction runs where the
        trained model is.
    eval_batch_size : int, default=500
    """

    def __init__(self, *, epochs: int = 200, lr: float = 0.025, weight_decay: float = 3e-4, batch_size: int = 100,
                 momentum: float = 0.9, dropout: float = 0.5, init_seed: int = 0, augment: bool = True,
                 mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD,
                 device: str = "auto", eval_batch_size: int = 500) -> None:
        self.epochs, self.lr, self.weight_decay = int(epochs), float(lr), float(weight_decay)
        self.batch_size, self.momentum, self.dropout = int(batch_size), float(momentum), float(dropout)
        self.init_seed, self.augment, self.mean, self.std = int(init_seed), bool(augment), tuple(mean), tuple(std)
        self.device = device
        self.eval_batch_size = int(eval_batch_size)
        self._model: Optional[CifarResNet18] = None

    def _device(self) -> torch.device:
        """Where ``fit`` trains (see ``device``)."""
        return learner_device(self.device)

    def _model_device(self) -> torch.device:
        """Where the trained model is (prediction runs there, also outside the job that trained it)."""
        assert self._model is not None
        return next(self._model.parameters()).device

    def fit(self, inputs, labels, rng, n_classes=None) -> "ResNet18Cifar":
        _, y, C = self._check_fit(inputs, labels, n_classes)
        images = to_image_tensor(inputs, self.mean, self.std)
        dev = self._device()
        model = CifarResNet18(C, self.dropout)
        kaiming_init(model, torch.Generator().manual_seed(self.init_seed))
        model = model.to(dev)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        train_sgd(model, images, torch.from_numpy(y), epochs=self.epochs, lr=self.lr,
                  weight_decay=self.weight_decay, batch_size=self.batch_size, momentum=self.momentum, gen=gen,
                  transform=random_crop_flip if self.augment else None, device=dev)
        self._model = model.eval()
        return self

    def predict_proba(self, inputs) -> np.ndarray:
        if self._model is None:
            raise ValueError("call fit() before predict_proba()")
        images = to_image_tensor(inputs, self.mean, self.std)
        return softmax_in_batches(self._model, images, self.eval_batch_size, self._model_device())

    def predict_mc_proba(self, inputs, n_samples: int = 25, seed: int = 0) -> np.ndarray:
        """MC-dropout probabilities, shape (n_samples, n, C) (dropout active, BN in eval mode; for BALD)."""
        if self._model is None:
            raise ValueError("call fit() before predict_mc_proba()")
        images = to_image_tensor(inputs, self.mean, self.std)
        dev = self._model_device()
        gen = torch.Generator().manual_seed(int(seed))
        keep = 1.0 - self.dropout
        with torch.no_grad():
            feats = torch.cat([self._model.features(images[r0 : r0 + self.eval_batch_size].to(dev)).cpu()
                               for r0 in range(0, images.shape[0], self.eval_batch_size)])
            samples = []
            for _ in range(n_samples):
                mask = (torch.rand(feats.shape, generator=gen) < keep).float() / max(keep, 1e-12)
                samples.append(torch.softmax(self._model.fc((feats * mask).to(dev)), 1).cpu())
        return torch.stack(samples).numpy().astype(np.float64)
