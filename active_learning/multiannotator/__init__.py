"""Multi-annotator active learning: consensus labels, the ActiveLab method and its baselines, benchmark data, and
the "what next?" API (:func:`suggest_next_batch`)."""

from .consensus import CONSENSUS, crowdlab, majority_vote
from .data import build_tabular_pool
from .pool import MultiAnnotatorPool
from .methods import METHODS, MultiAnnotatorMethod, ScoringInputs, get_method, register_method
from .suggest import Suggestion, suggest_next_batch

__all__ = [
    "CONSENSUS",
    "METHODS",
    "MultiAnnotatorMethod",
    "MultiAnnotatorPool",
    "ScoringInputs",
    "Suggestion",
    "build_tabular_pool",
    "crowdlab",
    "get_method",
    "majority_vote",
    "register_method",
    "suggest_next_batch",
]
