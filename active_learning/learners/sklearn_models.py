"""The scikit-learn models (learners of the family ``"scikit-learn"``): the ActiveLab Wall Robot benchmarks' models
(scikit-learn defaults as in the paper's code) and the linear classifier of the image benchmarks.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from .sklearn_learners import register_model


@register_model("extra_trees", label="ExtraTrees")
def extra_trees(random_state: int, **params: Any) -> ExtraTreesClassifier:
    """ExtraTrees: 100 trees, Gini, sqrt features, no bootstrap (scikit-learn defaults)."""
    params.setdefault("n_estimators", 100)
    return ExtraTreesClassifier(random_state=random_state, **params)


@register_model("mlp", label="MLP")
def mlp(random_state: int, **params: Any) -> MLPClassifier:
    """MLP: one hidden layer of 100 ReLU units, Adam (lr 1e-3), alpha 1e-4, batch 200, ``max_iter=500``."""
    params.setdefault("max_iter", 500)
    return MLPClassifier(random_state=random_state, **params)


@register_model("knn", label="k-NN")
def knn(random_state: int, **params: Any) -> KNeighborsClassifier:
    """k-NN with ``k=5`` and distance weights (deterministic; ``random_state`` is unused)."""
    params.setdefault("n_neighbors", 5)
    params.setdefault("weights", "distance")
    return KNeighborsClassifier(**params)


@register_model("logistic_regression", label="Logistic regression")
def logistic_regression(random_state: int, **params: Any) -> LogisticRegression:
    """Multinomial logistic regression (L2, ``C=1``, lbfgs, ``max_iter=1000``): the linear classifier on frozen
    image features of the CIFAR-10H / CIFAR-10N benchmarks."""
    params.setdefault("max_iter", 1000)
    return LogisticRegression(random_state=random_state, **params)
