"""Multi-annotator active learning: consensus labels, the ActiveLab method and its baselines, and benchmark data."""

from .consensus import CONSENSUS, crowdlab, majority_vote
from .data import MultiAnnotatorPool, build_tabular_pool
from .methods import METHODS, MultiAnnotatorMethod, ScoringInputs, get_method, register_method

__all__ = [
    "CONSENSUS",
    "METHODS",
    "MultiAnnotatorMethod",
    "MultiAnnotatorPool",
    "ScoringInputs",
    "build_tabular_pool",
    "crowdlab",
    "get_method",
    "majority_vote",
    "register_method",
]
