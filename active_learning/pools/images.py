"""Image pools with real human annotators: CIFAR-10H (``data.pool: cifar10h``) and CIFAR-10N's identified workers
(``data.pool: cifar10n_annotators``).

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Peterson, Battleday, Griffiths, Russakovsky (2019). "Human uncertainty makes classification more robust."
   ICCV 2019 (CIFAR-10H; CC BY-NC-SA 4.0).
.. [3] Wei, Zhu, Cheng, Liu, Niu, Liu (2022). "Learning with Noisy Labels Revisited: A Study Using Real-World Human
   Annotations." ICLR 2022 (CIFAR-10N; CC BY-NC 4.0).
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, Mapping, Optional

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..annotators.sources import restrict_to_rows
from ._base import DataAccess, image_inputs, load_dataset, register_pool, split_dataset_config
from .label_file import sparse_pool
from .tabular import at_least, fraction

#: How the CIFAR-10H start set is built.
CIFAR10H_INITIAL = ("auto", "hardest_annotators", "tilted_multiset")


@register_pool(
    "cifar10h",
    ranges={"test_fraction": fraction(0.0, 1.0, True, True), "unlabeled_fraction": fraction(0.0, 1.0, False, True),
            "target_majority_accuracy": fraction(0.0, 1.0, True, False), "n_initial_annotators": at_least(1),
            "drop_prob": fraction(0.0, 1.0, False, False), "n_worst": at_least(1)},
    description="CIFAR-10H (ActiveLab): 1,000 labeled / 4,000 unlabeled / 5,000 test, new labels from each image's ~51 human labels",
)
def cifar10h_pool(
    dataset: Mapping[str, Any],
    access: DataAccess,
    *,
    split_seed: int = 123,
    labeled_seed: int = 456,
    test_fraction: float = 0.5,
    unlabeled_fraction: float = 0.8,
    initial: str = "auto",
    initial_seed: int = 0,
    target_majority_accuracy: float = 0.822,
    labels_per_image: Optional[Mapping[int, int]] = None,
    n_initial_annotators: int = 334,
    n_worst: int = 50,
    drop_prob: float = 0.95,
) -> Any:
    """The ActiveLab CIFAR-10H starting point (spec §3.2).

    Splits as the benchmark notebook: ``train_test_split(test_size=0.5, random_state=123)`` of the 10,000 CIFAR-10
    test images into 5,000 pool / 5,000 test, then ``train_test_split(test_size=0.8, random_state=456)`` of the pool
    into 1,000 initially labeled / 4,000 unlabeled. Pool order: labeled block first.

    Parameters
    ----------
    initial : {"auto", "hardest_annotators", "tilted_multiset"}
        ``hardest_annotators``: the paper's procedure on the raw per-annotator file ``cifar10h-raw.csv``
        (:func:`~active_learning.multiannotator.initial_sets.hardest_annotators_start`; 1,447 annotations by the
        worst annotators). ``tilted_multiset``: the stand-in from the counts alone
        (:func:`~active_learning.multiannotator.initial_sets.tilted_multiset_start`: the paper's labels-per-image
        histogram, labels drawn from each image's own human labels with the wrong ones up-weighted until the
        majority vote is ``target_majority_accuracy`` accurate, spread over ``n_initial_annotators`` columns).
        ``auto``: the first when the raw file is found, else the second.
    initial_seed : int
        Generator of the start-set procedure (the paper's was unseeded).
    labels_per_image : mapping, optional
        ``{labels: images}``; default the paper's ``{1: 738, 2: 85, 3: 174, 5: 1, 6: 2}``.
    n_worst, drop_prob
        Settings of the hardest-annotators procedure.

    New labels come from each image's complete CIFAR-10H label multiset, with replacement
    (:class:`~active_learning.annotators.sources.LabelMultisets`), as in the paper.
    """
    from ..annotators.sources import LabelMultisets
    from ..multiannotator.pool import MultiAnnotatorPool
    from ..multiannotator.initial_sets import CIFAR10H_LABELS_PER_IMAGE, hardest_annotators_start, tilted_multiset_start

    if initial not in CIFAR10H_INITIAL:
        raise ValueError(f"initial must be one of {list(CIFAR10H_INITIAL)}, got {initial!r}")
    name, _, input_options = split_dataset_config(dataset)
    if name != "cifar10h":
        raise ValueError(f"data.pool=cifar10h needs dataset.name: cifar10h, got {name!r}")
    mode = {"hardest_annotators": "raw", "tilted_multiset": "simulate", "auto": "auto"}[initial]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*SIMULATED.*")
        images = load_dataset(dataset, access, annotations=mode)
    procedure = "hardest_annotators" if not images.source.get("annotators_simulated", True) else "tilted_multiset"
    counts = np.asarray(images.counts, dtype=np.int64)
    truth = images.labels
    rows = np.arange(len(images))
    pool_rows, test_rows = train_test_split(rows, test_size=test_fraction, random_state=split_seed)
    labeled_rows, unlabeled_rows = train_test_split(pool_rows, test_size=unlabeled_fraction, random_state=labeled_seed)
    ordered = np.concatenate([labeled_rows, unlabeled_rows])
    rng = np.random.default_rng(initial_seed)
    start_info: Dict[str, Any]
    if procedure == "hardest_annotators":
        raw = restrict_to_rows(images.annotations, labeled_rows, len(images), column="image")[["image", "annotator", "label"]]
        start = hardest_annotators_start(raw, truth[labeled_rows], rng, n_worst=n_worst, drop_prob=drop_prob)
        start_info = {"procedure": procedure, "n_annotations": int(len(start))}
    else:
        histogram = dict(labels_per_image or CIFAR10H_LABELS_PER_IMAGE)
        start, start_info = tilted_multiset_start(
            counts[labeled_rows], truth[labeled_rows], rng, labels_per_image=histogram,
            target_majority_accuracy=target_majority_accuracy, n_annotators=n_initial_annotators,
        )
    X = image_inputs(images, input_options, access)
    initial_table = pd.DataFrame({
        "example": start["image"].to_numpy(), "annotator": start["annotator"].to_numpy(), "label": start["label"].to_numpy(),
    })
    return MultiAnnotatorPool(
        X_pool=X[ordered], y_pool=truth[ordered], X_test=X[test_rows], y_test=truth[test_rows],
        source=LabelMultisets(counts[ordered]), initial=initial_table, n_classes=images.n_classes,
        info={
            "pool": "cifar10h", "dataset_source": images.source, "initial": start_info,
            "pool_rows": ordered, "test_rows": test_rows, "n_labeled": int(labeled_rows.size),
            "annotators_simulated": bool(images.source.get("annotators_simulated", True)),
        },
    )


@register_pool(
    "cifar10n_annotators",
    ranges={"pool_size": at_least(10), "pool_seed": at_least(0), "n_initial": at_least(1),
            "initial_labels_per_example": at_least(1)},
    description="CIFAR-10 train images with their three real CIFAR-10N workers; clean CIFAR-10 test set",
)
def cifar10n_annotators_pool(
    dataset: Mapping[str, Any],
    access: DataAccess,
    *,
    pool_size: int = 10_000,
    pool_seed: int = 0,
    n_initial: int = 1_000,
    initial_labels_per_example: int = 1,
) -> Any:
    """CIFAR-10N with its real, identified annotators.

    A random ``pool_size`` subset (``pool_seed``) of the 50,000 CIFAR-10 train images, each with the three labels
    of its three CIFAR-10N workers (worker ids from ``side_info_cifar10N.csv``; 747 workers, 0.55–1.0 accuracy);
    ``n_initial`` random pool images start with ``initial_labels_per_example`` of their labels; every new label is
    one of the image's not-yet-revealed worker labels, so an image is exhausted after its three. Test set: the
    10,000 CIFAR-10 test images with their true labels. Subset indices are recorded in ``info["pool_rows"]``.
    """
    name, _, input_options = split_dataset_config(dataset)
    if name != "cifar10n":
        raise ValueError(f"data.pool=cifar10n_annotators needs dataset.name: cifar10n, got {name!r}")
    train = load_dataset(dataset, access, split="train")
    test = load_dataset(dataset, access, split="test")
    if pool_size > len(train):
        raise ValueError(f"pool_size={pool_size} is larger than the {len(train)} train images; lower data.pool_size")
    rng = np.random.default_rng(pool_seed)
    pool_rows = np.sort(rng.choice(len(train), size=pool_size, replace=False))
    table = restrict_to_rows(train.annotations, pool_rows, len(train), column="image")
    table = table.rename(columns={"image": "example"})[["example", "annotator", "label"]]
    X_train = image_inputs(train, input_options, access)
    X_test = image_inputs(test, input_options, access)
    return sparse_pool(
        X_train[pool_rows], train.labels[pool_rows], X_test, test.labels, table, train.n_classes,
        n_initial=n_initial, initial_labels_per_example=initial_labels_per_example, rng=rng,
        info={"pool": "cifar10n_annotators", "dataset_source": train.source, "pool_rows": pool_rows,
              "worker_ids": bool(train.source.get("worker_ids", False))},
    )
