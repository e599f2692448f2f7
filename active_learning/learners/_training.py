"""Shared SGD recipe of the NAS protocol: Nesterov SGD, per-epoch cosine LR, index repetition + drop_last."""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch


def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """``lr_e = base * 0.5 * (1 + cos(pi * e / E))`` (per epoch, no warm-up)."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def repeated_indices(n: int, batch_size: int) -> np.ndarray:
    """``0..n-1`` duplicated until there are at least ``batch_size`` indices."""
    return np.tile(np.arange(n), max(1, math.ceil(batch_size / n)))


def train_sgd(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    momentum: float,
    gen: torch.Generator,
    transform: Optional[Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = None,
    device: Optional[torch.device] = None,
) -> None:
    """Train ``model`` with cross-entropy; one epoch = ``floor(len(repeated) / batch_size)`` steps.

    Randomness inside the model (dropout, drop-connect) draws from torch's global generators; they are forked and
    seeded from ``gen``'s seed for the duration, so a fit depends only on ``gen``, not on what ran before it in the
    process (a reused worker, the threading backend)."""
    cuda = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(gen.initial_seed())
        _train_epochs(model, X, y, epochs=epochs, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                      momentum=momentum, gen=gen, transform=transform, device=device)


def _train_epochs(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
                  weight_decay: float, batch_size: int, momentum: float, gen: torch.Generator,
                  transform: Optional[Callable[[torch.Tensor, torch.Generator], torch.Tensor]],
                  device: Optional[torch.device]) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    order = torch.from_numpy(repeated_indices(X.shape[0], batch_size))
    steps = order.numel() // batch_size
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(lr, epoch, epochs)
        perm = order[torch.randperm(order.numel(), generator=gen)]
        for s in range(steps):
            b = perm[s * batch_size : (s + 1) * batch_size]
            xb = X[b]
            if transform is not None:
                xb = transform(xb, gen)
            if device is not None:
                xb = xb.to(device, non_blocking=True)
            yb = y[b].to(xb.device)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
