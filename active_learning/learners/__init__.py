"""Learners trained on the (predicted-clean) labeled set each round (a registry).

``get_learner(name, **params)`` builds one; ``list_learners()`` lists the names: ``linear_probe`` and
``one_nn`` on frozen features, ``resnet18_cifar`` on images.
"""

from ._base import LEARNERS, Learner, get_learner, list_learners, register_learner
from .feature_learners import LinearProbe, OneNN
from .resnet import CifarResNet18, ResNet18Cifar

__all__ = [
    "LEARNERS",
    "CifarResNet18",
    "Learner",
    "LinearProbe",
    "OneNN",
    "ResNet18Cifar",
    "get_learner",
    "list_learners",
    "register_learner",
]
