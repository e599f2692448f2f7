"""Learners: the one model family of both loops (a registry).

``get_learner(name, **params)`` builds one; ``list_learners()`` lists the names: the scikit-learn models
(``extra_trees``, ``mlp``, ``knn``, ``logistic_regression``), ``linear_probe`` and ``one_nn`` on frozen features,
``resnet18_cifar`` (from scratch) and ``efficientnet_lite0_finetune`` (ImageNet-pretrained, fine-tuned) on images. ``make_estimator(name, random_state, **params)`` builds any of them as a
scikit-learn classifier, which the multi-annotator loop's cross-validation (:func:`cross_val_predict_proba`) trains.
Register a learner class with ``@register_learner(name, family=..., inputs=...)``, or a scikit-learn classifier
factory ``make(random_state, **params)`` with ``@register_model(name)`` (family ``"scikit-learn"``).
"""

from ._base import LEARNERS, Learner, get_learner, list_learners, register_learner
from .cross_validation import CrossValPredictions, cross_val_predict_proba, fit_predict_proba
from .feature_learners import LinearProbe, OneNN
from .finetune import EfficientNetLite0FineTune
from .resnet import CifarResNet18, ResNet18Cifar
from .sklearn_learners import LearnerClassifier, SklearnLearner, make_estimator, register_model, sklearn_factory
from . import sklearn_models  # noqa: F401,E402  (registers the scikit-learn models)

__all__ = [
    "LEARNERS",
    "CifarResNet18",
    "CrossValPredictions",
    "EfficientNetLite0FineTune",
    "Learner",
    "LearnerClassifier",
    "SklearnLearner",
    "LinearProbe",
    "OneNN",
    "ResNet18Cifar",
    "cross_val_predict_proba",
    "fit_predict_proba",
    "get_learner",
    "list_learners",
    "make_estimator",
    "register_learner",
    "register_model",
    "sklearn_factory",
]
