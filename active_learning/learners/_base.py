"""The learner interface (classifiers trained on the labeled set each round) and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, List, Optional, TypeVar

import numpy as np

from .._registry import Registry

T = TypeVar("T")

LEARNERS: Registry[Any] = Registry("model")  # YAMLs call learners "models"


def register_learner(name: str, **metadata: Any) -> Callable[[T], T]:
    """Decorator registering a :class:`Learner` subclass under ``name`` (metadata, e.g. ``family="torch"``,
    ``inputs="features"`` or ``"images"``, is shown by ``python -m active_learning list models``)."""
    return LEARNERS.register(name, **metadata)


def get_learner(name: str, **params: Any) -> "Learner":
    """Build the registered learner ``name`` with ``params``."""
    return LEARNERS.get(name)(**params)


def list_learners() -> List[str]:
    """Names of every registered learner, sorted."""
    return LEARNERS.names()


class Learner(ABC):
    """A classifier retrained from scratch every AL round.

    ``fit(inputs, labels, rng, n_classes=None)`` then ``predict_proba(inputs)`` / ``predict(inputs)``.
    Learners that start from fixed initial weights take an ``init_seed`` so every round starts from the same
    weights (the NAS protocol).
    """

    n_classes_: Optional[int] = None

    @abstractmethod
    def fit(self, inputs: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            n_classes: Optional[int] = None) -> "Learner":
        """Train on ``inputs`` with integer ``labels``."""

    @abstractmethod
    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, n_classes)."""

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return self.predict_proba(inputs).argmax(1)

    def _check_fit(self, inputs: Any, labels: Any, n_classes: Optional[int]) -> tuple:
        X = np.asarray(inputs)
        y = np.asarray(labels)
        if X.shape[0] != y.shape[0] or y.ndim != 1:
            raise ValueError(f"inputs ({X.shape[0]} rows) and labels (shape {y.shape}) must align")
        if y.size == 0:
            raise ValueError("cannot fit a learner on an empty training set")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be integer class ids, got dtype {y.dtype}")
        if np.issubdtype(X.dtype, np.floating) and not np.isfinite(X).all():
            raise ValueError("inputs contain NaN or inf")
        C = int(n_classes) if n_classes is not None else int(y.max()) + 1
        if y.min() < 0 or y.max() >= C:
            raise ValueError(f"labels out of range [0, {C}); pass n_classes or encode labels 0..C-1")
        self.n_classes_ = C
        return X, y.astype(np.int64), C

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_")
                           and not k.endswith("_"))
        return f"{type(self).__name__}({params})"
