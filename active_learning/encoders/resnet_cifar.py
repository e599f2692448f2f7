"""ResNet-18 for 32x32 images (He et al. 2016, with the CIFAR stem: a 3x3 stride-1 first convolution, no max-pool).

Module names follow the SCAN / TypiClust SimCLR release (``conv1``, ``bn1``, ``layer1..4`` of ``BasicBlock`` with
``conv1/bn1/conv2/bn2`` and a ``shortcut`` of 1x1 convolution + batch norm where the shape changes), so their
checkpoints (``backbone.*`` keys) load directly. The backbone outputs 512-d pooled features.

References
----------
.. [1] He, K., Zhang, X., Ren, S., Sun, J. (2016). "Deep Residual Learning for Image Recognition." CVPR.
.. [2] Van Gansbeke, W. et al. (2020). "SCAN: Learning to Classify Images without Labels." ECCV.
"""

from __future__ import annotations

from typing import List

import torch
from torch import nn
from torch.nn import functional as F


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity or 1x1-projection shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        if stride != 1 or in_channels != channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm2d(channels)
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + self.shortcut(x))


class CifarResNet18(nn.Module):
    """ResNet-18 backbone with the CIFAR stem; ``forward`` returns ``(n, 512)`` pooled features.

    Parameters
    ----------
    blocks : sequence of 4 ints, default=(2, 2, 2, 2)
    init_weights : bool, default=True
        Kaiming-normal convolutions and unit batch norms; skip when a checkpoint will overwrite every weight.
    """

    feature_dim = 512

    def __init__(self, blocks: List[int] = (2, 2, 2, 2), init_weights: bool = True) -> None:  # type: ignore[assignment]
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, in_channels = [], 64
        for i, (channels, n) in enumerate(zip((64, 128, 256, 512), blocks)):
            stride = 1 if i == 0 else 2
            stage = []
            for j in range(n):
                stage.append(BasicBlock(in_channels, channels, stride if j == 0 else 1))
                in_channels = channels
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        for module in self.modules() if init_weights else ():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


class ContrastiveModel(nn.Module):
    """Backbone plus a 2-layer MLP projection head (512 -> 512 -> ``projection_dim``), SCAN key layout."""

    def __init__(self, projection_dim: int = 128) -> None:
        super().__init__()
        self.backbone = CifarResNet18()
        dim = self.backbone.feature_dim
        self.contrastive_head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, projection_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.contrastive_head(self.backbone(x)), dim=1)
