"""Learners: the one model family of both loops (a registry).

``get_learner(name, **params)`` builds one; ``list_learners()`` lists the names: the scikit-learn models
(``extra_trees``, ``mlp``, ``knn``, ``logistic_regression``), ``linear_probe`` and ``one_nn`` on frozen features,
``resnet18_cifar`` (from scratch) and ``efficientnet_lite0_finetune`` (ImageNet-pretrained, fine-tuned) on images. ``make_estimator(name, random_state, **params)`` builds any of them as a
scikit-learn classifier (what the multi-annotator loop's cross-validation trains).
"""

from ._base import LEARNERS, Learner, get_learner, list_learners, register_learner
from .feature_learners import LinearProbe, OneNN
from .finetune import EfficientNetLite0FineTune
from .resnet import CifarResNet18, ResNet18Cifar
from .sklearn_learners import LearnerClassifier, SklearnLearner, make_estimator

__all__ = [
    "LEARNERS",
    "CifarResNet18",
    "EfficientNetLite0FineTune",
    "Learner",
    "LearnerClassifier",
    "SklearnLearner",
    "LinearProbe",
    "OneNN",
    "ResNet18Cifar",
    "get_learner",
    "list_learners",
    "make_estimator",
    "register_learner",
]
