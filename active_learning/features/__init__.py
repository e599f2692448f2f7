"""Image features: a resumable on-disk cache, SimCLR pretraining, and a feature-quality report.

Public API
----------
``extract_features(dataset, encoder, root=None, ...)``
    float32 ``(N, d)`` features of an :class:`~active_learning.datasets._images.ImageDataset`, computed once per
    (images, encoder fingerprint) and memory-mapped from ``datasets/features/...``.
``feature_report(train_features, train_labels, test_features, test_labels, ...)``
    k-NN (k=20, cosine) and linear-probe test accuracy.
``features_main(dataset, encoder, ...)``
    Extract train and test features, then print and save the report (the ``features`` command).
``pretrain_simclr(...)`` (in :mod:`active_learning.features.simclr`)
    Train a SimCLR CIFAR ResNet-18 whose checkpoint the ``simclr_resnet18`` encoder loads.
"""

from __future__ import annotations

from .cache import cached_path, extract_features, feature_spec, read_sidecar, spec_digest
from .report import feature_report, features_main

__all__ = [
    "cached_path",
    "extract_features",
    "feature_report",
    "feature_spec",
    "features_main",
    "read_sidecar",
    "spec_digest",
]
