"""Learners on frozen features: a linear probe and 1-NN on unit-sphere features.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506
   (``--use_linear_model`` and ``--use_1nn_model``).
"""

from __future__ import annotations

from typing import Optional, cast

import numpy as np
import torch

from ..utils.devices import learner_device
from ._base import Learner, register_learner
from ._training import train_sgd


@register_learner("linear_probe", family="torch", inputs="features", label="Linear probe")
class LinearProbe(Learner):
    """A linear layer ``d -> C`` on raw frozen features, trained with the NAS recipe.

    Parameters
    ----------
    epochs : int, default=200
    lr : float, default=0.025
        Base learning rate of the per-epoch cosine schedule.
    weight_decay : float, default=3e-4
    batch_size : int, default=100
        Indices are repeated up to the batch size; ``drop_last``.
    momentum : float, default=0.9
        Nesterov momentum.
    init_seed : int, default=0
        Seed of the initial weights (identical every round) .
    device : str, default="auto"
        ``"auto"``: the device the runner assigned to the job (``run --devices``), else the CPU (as before there
        was a device assignment); or a torch device name (``"cpu"``, ``"cuda:1"``), used as given. Prediction runs
        where the trained layer is.
    """

    def __init__(self, *, epochs: int = 200, lr: float = 0.025, weight_decay: float = 3e-4, batch_size: int = 100,
                 momentum: float = 0.9, init_seed: int = 0, device: str = "auto") -> None:
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ValueError("epochs and batch_size must be positive integers")
        self.epochs, self.lr, self.weight_decay = int(epochs), float(lr), float(weight_decay)
        self.batch_size, self.momentum, self.init_seed, self.device = int(batch_size), float(momentum), int(init_seed), device
        self._model: Optional[torch.nn.Linear] = None

    def fit(self, inputs, labels, rng, n_classes=None) -> "LinearProbe":
        X, y, C = self._check_fit(inputs, labels, n_classes)
        dev = learner_device(self.device, unassigned="cpu")
        init_gen = torch.Generator().manual_seed(self.init_seed)
        layer = torch.nn.Linear(X.shape[1], C)
        bound = 1.0 / np.sqrt(X.shape[1])
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound, generator=init_gen)
            layer.bias.uniform_(-bound, bound, generator=init_gen)
        layer = layer.to(dev)
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(dev)
        yt = torch.from_numpy(y).to(dev)
        train_sgd(layer, Xt, yt, epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
                  batch_size=self.batch_size, momentum=self.momentum, gen=gen)
        self._model = layer.eval()
        return self

    def predict_proba(self, inputs) -> np.ndarray:
        if self._model is None:
            raise ValueError("call fit() before predict_proba()")
        X = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)).to(self._model.weight.device)
        with torch.no_grad():
            return torch.softmax(self._model(X), 1).cpu().numpy().astype(np.float64)


@register_learner("one_nn", family="torch", inputs="features", label="1-NN")
class OneNN(Learner):
    """1-nearest-neighbour classifier on unit-sphere-projected features (cosine similarity).

    ``predict_proba`` is one-hot.
    """

    def __init__(self, *, block_size: int = 4096) -> None:
        self.block_size = int(block_size)
        self._X: Optional[torch.Tensor] = None

    @staticmethod
    def _unit(X: np.ndarray) -> torch.Tensor:
        X = np.asarray(X, dtype=np.float32)
        n = np.linalg.norm(X, axis=1, keepdims=True)
        return torch.from_numpy(X / np.where(n == 0, 1.0, n))

    def fit(self, inputs, labels, rng, n_classes=None) -> "OneNN":
        X, y, C = self._check_fit(inputs, labels, n_classes)
        self._X, self._y = self._unit(X), y
        return self

    def predict_proba(self, inputs) -> np.ndarray:
        if self._X is None:
            raise ValueError("call fit() before predict_proba()")
        Q = self._unit(inputs)
        out = np.zeros((Q.shape[0], cast(int, self.n_classes_)))
        for r0 in range(0, Q.shape[0], self.block_size):
            nn = (Q[r0 : r0 + self.block_size] @ self._X.T).argmax(1).numpy()
            out[np.arange(r0, r0 + nn.size), self._y[nn]] = 1.0
        return out
