"""One learner family: scikit-learn classifiers as :class:`Learner` s, and any learner as a scikit-learn estimator.

Both loops use the one registry :data:`~active_learning.learners.LEARNERS`:

* :func:`register_model` registers a scikit-learn classifier factory ``factory(random_state, **params)`` as a
  learner of the family ``"scikit-learn"`` (a :class:`SklearnLearner`), so the NAS loop can train it; the shipped
  ones (``extra_trees``, ``mlp``, ``knn``, ``logistic_regression``) are in :mod:`.sklearn_models`;
* :func:`make_estimator` builds any learner as an unfitted scikit-learn classifier (``fit(X, y)``,
  ``predict_proba``, ``classes_``): the factory's own estimator for the scikit-learn models, a
  :class:`LearnerClassifier` for the torch learners (``linear_probe``, ``one_nn`` on features, ``resnet18_cifar`` on
  images), so the multi-annotator loop's cross-validation can train every learner.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, ClassVar, Dict, Optional, Type

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

from ._base import LEARNERS, Learner, get_learner

#: A scikit-learn model factory: ``factory(random_state: int, **params) -> unfitted classifier``.
ModelFactory = Callable[..., Any]


class SklearnLearner(Learner):
    """A registered scikit-learn model factory trained as a :class:`Learner` (a fresh estimator per ``fit``,
    seeded from the ``rng`` it is given). :func:`register_model` makes one subclass per model."""

    #: The learner's registered name.
    model: str = ""
    #: The model's factory (a ``staticmethod`` set by :func:`register_model`).
    factory: ClassVar[ModelFactory]

    def __init__(self, **params: Any) -> None:
        if "random_state" in params:
            raise ValueError("random_state cannot be set: every fit seeds the model from the run's generator")
        self.factory(random_state=0, **params)  # unknown or invalid hyper-parameters fail here
        self.params: Dict[str, Any] = dict(params)
        self._estimator: Any = None

    def fit(self, inputs: Any, labels: Any, rng: np.random.Generator, n_classes: Optional[int] = None) -> "SklearnLearner":
        X, y, _ = self._check_fit(inputs, labels, n_classes)
        estimator = self.factory(random_state=int(rng.integers(2**31 - 1)), **self.params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._estimator = estimator.fit(X.reshape(X.shape[0], -1), y)
        return self

    def predict_proba(self, inputs: Any) -> np.ndarray:
        if self._estimator is None:
            raise ValueError("call fit() before predict_proba()")
        X = np.asarray(inputs)
        out = np.zeros((X.shape[0], int(self.n_classes_ or 0)))
        if X.shape[0]:
            out[:, np.asarray(self._estimator.classes_, dtype=np.int64)] = self._estimator.predict_proba(X.reshape(X.shape[0], -1))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in sorted(self.params.items()))})"


def register_model(name: str, **metadata: Any) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator registering a scikit-learn classifier factory ``factory(random_state: int, **params) -> estimator``
    as the learner ``name`` (family ``"scikit-learn"``, ``inputs="features"``; ``metadata`` adds to or overrides
    that), usable by both loops. Returns the factory unchanged."""

    def decorator(factory: ModelFactory) -> ModelFactory:
        cls: Type[SklearnLearner] = type(f"SklearnLearner_{name}", (SklearnLearner,), {
            "model": name, "factory": staticmethod(factory),
            "__doc__": f"scikit-learn model {name!r}: {(factory.__doc__ or '').strip()}",
        })
        LEARNERS.register(name, **{"family": "scikit-learn", "inputs": "features", **metadata})(cls)
        return factory

    return decorator


def sklearn_factory(name: str) -> Optional[ModelFactory]:
    """The factory of the registered scikit-learn learner ``name``; ``None`` for any other name."""
    cls = LEARNERS.get(name) if name in LEARNERS else None
    if isinstance(cls, type) and issubclass(cls, SklearnLearner) and hasattr(cls, "factory"):
        return cls.factory
    return None


class LearnerClassifier(ClassifierMixin, BaseEstimator):
    """Any registered learner as an unfitted scikit-learn classifier.

    Parameters
    ----------
    learner : str
        Registered learner name.
    params : dict, optional
        Its keyword arguments.
    random_state : int, default=0
        Seeds the generator given to :meth:`Learner.fit`.
    """

    def __init__(self, learner: str = "linear_probe", params: Optional[Dict[str, Any]] = None, random_state: int = 0) -> None:
        self.learner = learner
        self.params = params
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> "LearnerClassifier":
        y = np.asarray(y, dtype=np.int64)
        self.learner_ = get_learner(self.learner, **(self.params or {}))
        self.learner_.fit(X, y, np.random.default_rng(self.random_state), n_classes=int(y.max()) + 1)
        self.classes_ = np.arange(int(self.learner_.n_classes_ or 0))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.learner_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)


def make_estimator(name: str, random_state: int, **params: Any) -> Any:
    """An unfitted scikit-learn classifier for the registered learner ``name``: the model factory's own estimator
    for the scikit-learn models (:func:`register_model`), a :class:`LearnerClassifier` for every other learner."""
    factory = sklearn_factory(name)
    if factory is not None:
        return factory(random_state=random_state, **params)
    LEARNERS.get(name)  # an unknown name fails here with the list of learners
    return LearnerClassifier(name, dict(params), random_state)

