"""The registered names ``python -m active_learning list`` prints, without importing the registries.

The registries fill themselves when their modules are imported, and those modules import torch, scikit-learn,
pandas and cleanlab (several seconds). ``list`` prints :data:`CATALOG` instead, a snapshot of
:func:`live_catalog`; ``tests/test_newcomer.py`` checks that the two agree, and ``python -m
active_learning._catalog`` rewrites the snapshot after a plug-in is added or renamed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Dict, List

# BEGIN CATALOG (written by `python -m active_learning._catalog`; do not edit by hand)
CATALOG: Dict[str, List[str]] = {
    'methods': [
        'active_label_cleaning',
        'activelab',
        'activelab_ensemble',
        'disagreement',
        'entropy',
        'good_random',
        'noise_aware_relabel',
        'random',
        'uncertainty',
    ],
    'models': [
        'efficientnet_lite0_finetune (torch, images)',
        'extra_trees (scikit-learn, features)',
        'knn (scikit-learn, features)',
        'linear_probe (torch, features)',
        'logistic_regression (scikit-learn, features)',
        'mlp (scikit-learn, features)',
        'one_nn (torch, features)',
        'resnet18_cifar (torch, images)',
    ],
    'consensus': [
        'crowdlab',
        'majority_vote',
    ],
    'datasets': [
        'blobs',
        'cifar10',
        'cifar100',
        'cifar100n',
        'cifar10h',
        'cifar10n',
        'clothing1m',
        'sphere_clusters',
        'wall_robot',
    ],
    'pools': [
        "cifar10h (CIFAR-10H (ActiveLab): 1,000 labeled / 4,000 unlabeled / 5,000 test, new labels from each image's ~51 human labels)",
        'cifar10n_annotators (CIFAR-10 train images with their three real CIFAR-10N workers; clean CIFAR-10 test set)',
        'label_file (bring your own: a long label file (example, annotator, label; CSV or Parquet) + features .npy)',
        'tabular (a tabular dataset with simulated annotators sharing one noise matrix (Wall Robot))',
    ],
    'noise_models': [
        'asymmetric_cifar10',
        'asymmetric_cifar100',
        'none',
        'real',
        'symmetric',
    ],
    'budgets': [
        'per_round',
        'samples_per_class',
    ],
    'tasks': [
        'multiannotator',
        'noisy_single_annotator',
    ],
    'strategies': [
        'bald',
        'coreset',
        'coreset_nas',
        'dcom',
        'entropy',
        'least_confidence',
        'margin',
        'maxherding',
        'maxherding_nas',
        'nas',
        'npc',
        'probcover',
        'random',
        'typiclust',
        'uncertainty',
        'weighted_npc',
        'weighted_probcover',
    ],
    'noise_filters': [
        'aum',
        'centroids',
        'confident_learning',
        'cross_validation',
        'fine',
        'ideal',
        'knn',
        'none',
    ],
    'encoders': [
        'dinov2_vits14',
        'dinov2_vits14_reg',
        'efficientnet_lite0',
        'precomputed',
        'simclr_resnet18',
    ],
}
# END CATALOG


def _described(registry: Any, *keys: str) -> List[str]:
    out = []
    for name in registry.names():
        meta = registry.metadata(name)
        details = ", ".join(str(meta[k]) for k in keys if meta.get(k))
        out.append(f"{name} ({details})" if details else name)
    return out


def live_catalog() -> Dict[str, List[str]]:
    """Every registry's names (with the details ``list`` shows), read from the registries themselves (slow)."""
    from .datasets import DATASETS
    from .learners import LEARNERS
    from .multiannotator.consensus import CONSENSUS
    from .multiannotator.methods import METHODS
    from .pools import BUDGETS, NOISE_MODELS, POOLS
    from .tasks import TASKS

    families = {
        "methods": METHODS.names(),
        "models": _described(LEARNERS, "family", "inputs"),
        "consensus": CONSENSUS.names(),
        "datasets": DATASETS.names(),
        "pools": _described(POOLS, "description"),
        "noise_models": NOISE_MODELS.names(),
        "budgets": BUDGETS.names(),
        "tasks": TASKS.names(),
    }
    for family, module, attr in (
        ("strategies", "active_learning.strategies", "list_strategies"),
        ("noise_filters", "active_learning.noise_filters", "list_filters"),
        ("encoders", "active_learning.encoders", "list_encoders"),
    ):
        families[family] = list(getattr(importlib.import_module(module), attr)())
    return families


def render(catalog: Dict[str, List[str]]) -> str:
    """``catalog`` as the Python source between the markers of this file."""
    lines = ["CATALOG: Dict[str, List[str]] = {"]
    for family, names in catalog.items():
        lines.append(f"    {family!r}: [")
        lines.extend(f"        {name!r}," for name in names)
        lines.append("    ],")
    lines.append("}")
    return "\n".join(lines)


def write_catalog(path: "str | Path" = __file__) -> bool:
    """Rewrite the snapshot in ``path`` from the live registries; ``True`` when it changed."""
    from .utils.io import atomic_write_text

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    begin = text.index("\n", text.index("# BEGIN CATALOG")) + 1
    end = text.index("# END CATALOG")
    new = text[:begin] + render(live_catalog()) + "\n" + text[end:]
    if new == text:
        return False
    atomic_write_text(path, new)
    return True


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    changed = write_catalog()
    print(f"{__file__}: {'updated' if changed else 'already up to date'}")
    sys.exit(0)
