"""Noise filters for labels from a single noisy annotator (a registry; one module per filter).

``get_filter(name, **params)`` builds one; ``list_filters()`` lists the names. Every filter offers
``clean_mask(features, labeled_idx, labels, rng, **context) -> bool mask over labeled_idx``.
"""

from ._base import FILTERS, IdealFilter, MomentumFilter, NoFilter, NoiseFilter, get_filter, list_filters, register_filter

from . import aum, centroids, confident_learning, cross_validation, fine, knn  # noqa: E402,F401
from .aum import LowBudgetAUM  # noqa: E402
from .cross_validation import CrossValidationFilter  # noqa: E402

__all__ = [
    "FILTERS",
    "CrossValidationFilter",
    "IdealFilter",
    "LowBudgetAUM",
    "MomentumFilter",
    "NoFilter",
    "NoiseFilter",
    "get_filter",
    "list_filters",
    "register_filter",
]
