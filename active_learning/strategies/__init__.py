"""Single-annotator query strategies (a registry; one module per algorithm) and the generic NAS wrapper.

``get_strategy(name, **params)`` builds one; ``list_strategies()`` lists the names. Every strategy offers
``select(features, labeled_idx, budget, rng, **context) -> indices``. Register your own by subclassing
:class:`QueryStrategy` (or :class:`GreedyCoverageStrategy`, which NAS can wrap) and decorating it with
``@register_strategy("name")``.
"""

from ._base import (
    STRATEGIES,
    CoverageModel,
    CoverageState,
    GreedyCoverageStrategy,
    QueryStrategy,
    get_strategy,
    greedy_picks,
    list_strategies,
    normalize_features,
    register_strategy,
    tiebreak_priority,
    unlabeled_mask,
)
from ._graph import PURE_SHARE, SparseGraph, build_delta_graph, build_ivf_graph, default_block_size, graph_ball_statistics
from . import random_sampling, uncertainty  # noqa: F401  (registration on import)
from .coreset import Coreset
from .maxherding import MaxHerding
from .probcover import ProbCover, WeightedProbCover, choose_delta_by_purity
from .nas import NAS, NPC, CoresetNAS, MaxHerdingNAS, WeightedNPC, split_budget
from . import typiclust, dcom  # noqa: F401,E402

__all__ = [
    "PURE_SHARE",
    "STRATEGIES",
    "NAS",
    "NPC",
    "Coreset",
    "CoresetNAS",
    "CoverageModel",
    "CoverageState",
    "GreedyCoverageStrategy",
    "MaxHerding",
    "MaxHerdingNAS",
    "ProbCover",
    "QueryStrategy",
    "SparseGraph",
    "WeightedNPC",
    "WeightedProbCover",
    "build_delta_graph",
    "build_ivf_graph",
    "choose_delta_by_purity",
    "default_block_size",
    "get_strategy",
    "graph_ball_statistics",
    "greedy_picks",
    "list_strategies",
    "normalize_features",
    "register_strategy",
    "split_budget",
    "tiebreak_priority",
    "unlabeled_mask",
]
