"""Multi-annotator active-learning methods (a registry; one module per method).

``get_method(name, **params)`` builds one; ``METHODS.names()`` lists them. Register your own by subclassing
:class:`MultiAnnotatorMethod` and decorating it with ``@register_method("name")``.
"""

from ._base import METHODS, MultiAnnotatorMethod, ScoringInputs, get_method, normalized_entropy, register_method
from . import (  # noqa: F401  (registration on import)
    active_label_cleaning,
    activelab,
    disagreement,
    entropy,
    good_random,
    noise_aware_relabel,
    random_sampling,
    uncertainty,
)

__all__ = ["METHODS", "MultiAnnotatorMethod", "ScoringInputs", "get_method", "normalized_entropy", "register_method"]
