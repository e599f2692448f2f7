"""Classifier factories (a registry) and cross-validated predicted probabilities.

Every factory takes ``random_state`` (an int drawn from the run's generator) and keyword hyper-parameters, and
returns an unfitted scikit-learn classifier. Register your own with::

    from active_learning.models import register_model

    @register_model("logreg")
    def logistic_regression(random_state: int, **params):
        return LogisticRegression(random_state=random_state, **params)
"""

from __future__ import annotations

from typing import Any, Callable, List

from .._registry import Registry

ModelFactory = Callable[..., Any]
MODELS: Registry[ModelFactory] = Registry("model")


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator registering a classifier factory ``factory(random_state: int, **params) -> estimator``; the model
    also becomes a learner (:data:`active_learning.learners.LEARNERS`) usable by both loops."""
    register = MODELS.register(name)

    def decorator(factory: ModelFactory) -> ModelFactory:
        register(factory)
        import sys

        bridge = sys.modules.get("active_learning.learners.sklearn_learners")
        if hasattr(bridge, "_register_sklearn_learners"):  # the learners are loaded: add this model to them now
            bridge._register_sklearn_learners()  # type: ignore[union-attr]
        return factory

    return decorator


def make_model(name: str, random_state: int, **params: Any) -> Any:
    """Build the registered model ``name`` with ``random_state`` and hyper-parameters ``params``."""
    return MODELS.get(name)(random_state=random_state, **params)


def list_models() -> List[str]:
    """Names of every registered model."""
    return MODELS.names()


from . import tabular  # noqa: E402,F401  (registers the scikit-learn models)
from .cross_validation import CrossValPredictions, cross_val_predict_proba, fit_predict_proba  # noqa: E402

__all__ = [
    "MODELS",
    "CrossValPredictions",
    "cross_val_predict_proba",
    "fit_predict_proba",
    "list_models",
    "make_model",
    "register_model",
]
