"""The data layer: from a benchmark config to the starting point of a run, for both protocols.

One call turns the ``dataset:`` and ``data:`` sections of a benchmark YAML into what a loop runs on:

* :func:`build_pool` (multi-annotator protocol) returns a
  :class:`~active_learning.multiannotator.data.MultiAnnotatorPool`: inputs, true labels, test set, an annotator
  source and the initial annotations. ``data.pool`` picks the builder (:data:`POOLS`; ``python -m active_learning
  list pools``):

  ===========================  ==================================================================================
  ``tabular`` (default)        a tabular dataset with simulated annotators (the Wall Robot protocol)
  ``cifar10h``                 CIFAR-10H: the ActiveLab splits, the "hardest annotators" start set (raw CSV) or
                               its stand-in from the counts, new labels from each image's human label multiset
  ``cifar10n_annotators``      CIFAR-10 train images with their three real, identified CIFAR-10N workers
  ``label_file``               bring your own: a long label file (CSV / Parquet) and a features ``.npy``
  ===========================  ==================================================================================

* :func:`build_feature_pool` (noisy single-annotator protocol) returns a :class:`FeaturePool` (features, labels,
  test set, noisy oracle, budget schedule); noise models and budget schedules are the registries
  :data:`NOISE_MODELS` and :data:`BUDGETS`.

Image datasets become model inputs through :func:`image_inputs`: features from the feature cache (extracted once
per image set and encoder, then memory-mapped) or the pixels themselves (``dataset.inputs: pixels``, for image
models such as ``resnet18_cifar``).
"""

from ._base import (
    INPUT_KEYS,
    POOLS,
    DataAccess,
    build_pool,
    image_inputs,
    load_dataset,
    pool_settings,
    register_pool,
    split_dataset_config,
)

# Builders register themselves on import.
from . import images as _images, label_file as _label_file, tabular as _tabular  # noqa: E402,F401
from .features import BUDGETS, NOISE_MODELS, FeaturePool, build_feature_pool, feature_arrays  # noqa: E402

__all__ = [
    "BUDGETS",
    "DataAccess",
    "FeaturePool",
    "INPUT_KEYS",
    "NOISE_MODELS",
    "POOLS",
    "build_feature_pool",
    "build_pool",
    "feature_arrays",
    "image_inputs",
    "load_dataset",
    "pool_settings",
    "register_pool",
    "split_dataset_config",
]
