"""LowBudgetAUM: Area-Under-the-Margin with threshold samples drawn from the unlabeled pool.

A linear layer ``d -> C + 1`` on frozen (raw) features is trained on the labeled points (noisy labels) plus
``m = ceil(|L| / C)`` *threshold samples* drawn at random from the unlabeled pool and given the fake class ``C``
(so no labeled point is sacrificed). The margin ``z_y - max_{j != y} z_j`` of every sample is recorded at each
of its appearances in a mini-batch (before that step); AUM is the mean margin. The threshold ``τ`` is the
``percentile``-th percentile of the threshold samples' AUM, and a labeled point is clean iff ``AUM >= τ``.

References
----------
.. [1] Pleiss, Zhang, Elenberg, Weinberger (2020). "Identifying Mislabeled Data using the Area Under the Margin
   Ranking." NeurIPS.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506
   (LowBudgetAUM: 40 epochs, 80th percentile, linear model on self-supervised features).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from ._base import NoiseFilter, register_filter, resolve_n_classes


def repeat_to_batch(n: int, batch_size: int) -> np.ndarray:
    """Indices ``0..n-1`` repeated until there are at least ``batch_size`` (the paper's loader)."""
    reps = max(1, math.ceil(batch_size / n))
    return np.tile(np.arange(n), reps)


def init_linear(d: int, c: int, gen: torch.Generator) -> torch.nn.Linear:
    """A ``Linear(d, c)`` with PyTorch's default uniform init drawn from ``gen`` (no global RNG)."""
    layer = torch.nn.Linear(d, c)
    bound = 1.0 / math.sqrt(d)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=gen)
        layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


@register_filter("aum")
class LowBudgetAUM(NoiseFilter):
    """LowBudgetAUM noise filter (the NAS paper's filter).

    Parameters
    ----------
    epochs : int, default=40
    lr : float, default=0.1
    momentum : float, default=0.9
        SGD momentum (Nesterov).
    weight_decay : float, default=1e-4
    batch_size : int, default=64
    percentile : float, default=80.0
        Percentile of the threshold samples' AUM used as ``τ``.
    n_classes : int, optional
        Number of real classes; default ``context["n_classes"]``, else ``max(labels) + 1``.
    device : str, default="cpu"

    Attributes
    ----------
    threshold_idx_ : ndarray of int
        Pool indices of the last call's threshold samples (``ceil(|L| / C)`` of them).
    aum_ : ndarray of float
        AUM of the labeled points in the last call; ``threshold_`` the value of ``τ``.
    """

    def __init__(
        self,
        *,
        epochs: int = 40,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        percentile: float = 80.0,
        n_classes: Optional[int] = None,
        device: str = "cpu",
    ) -> None:
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ValueError("epochs and batch_size must be positive integers")
        if not 0.0 <= float(percentile) <= 100.0:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.percentile = float(percentile)
        self.n_classes = n_classes
        self.device = device

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        C = resolve_n_classes(labels, context, self.n_classes)
        if labels.max() >= C:
            raise ValueError(f"labels out of range for n_classes={C}")
        n = features.shape[0]
        unl = np.setdiff1d(np.arange(n), labeled_idx)
        m = min(math.ceil(labeled_idx.size / C), unl.size)
        if m == 0:
            raise ValueError("LowBudgetAUM needs unlabeled points for its threshold samples; the pool is exhausted")
        thr_idx = rng.choice(unl, m, replace=False)
        self.threshold_idx_ = thr_idx
        idx = np.concatenate([labeled_idx, thr_idx])
        y = np.concatenate([labels, np.full(m, C, dtype=np.int64)])
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        dev = torch.device(self.device)
        X = torch.from_numpy(np.ascontiguousarray(features[idx], dtype=np.float32)).to(dev)
        Y = torch.from_numpy(y).to(dev)
        model = init_linear(X.shape[1], C + 1, gen).to(dev)
        opt = torch.optim.SGD(
            model.parameters(), lr=self.lr, momentum=self.momentum, nesterov=True, weight_decay=self.weight_decay
        )
        order = torch.from_numpy(repeat_to_batch(idx.size, self.batch_size)).to(dev)
        margin_sum = torch.zeros(idx.size, dtype=torch.float64, device=dev)
        margin_cnt = torch.zeros(idx.size, dtype=torch.float64, device=dev)
        n_batches = order.numel() // self.batch_size  # drop_last
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(self.epochs):
            perm = order[torch.randperm(order.numel(), generator=gen).to(dev)]
            for bi in range(n_batches):
                b = perm[bi * self.batch_size : (bi + 1) * self.batch_size]
                logits = model(X[b])
                with torch.no_grad():
                    margin_sum.index_add_(0, b, _margins(logits, Y[b]).double())
                    margin_cnt.index_add_(0, b, torch.ones(b.numel(), dtype=torch.float64, device=dev))
                loss = loss_fn(logits, Y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            final = _margins(model(X), Y).double()
        aum = torch.where(margin_cnt > 0, margin_sum / margin_cnt.clamp(min=1), final).cpu().numpy()
        tau = float(np.percentile(aum[labeled_idx.size :], self.percentile))
        self.aum_ = aum[: labeled_idx.size]
        self.threshold_ = tau
        return self.aum_ >= tau


def _margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Assigned logit minus the largest other logit."""
    assigned = logits.gather(1, y[:, None])[:, 0]
    other = logits.clone()
    other.scatter_(1, y[:, None], float("-inf"))
    return assigned - other.max(1).values
