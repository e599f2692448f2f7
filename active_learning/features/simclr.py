"""SimCLR pretraining of a CIFAR ResNet-18 (Chen et al. 2020), for self-supervised CIFAR features offline.

The NAS paper's CIFAR features come from the SimCLR model of the SCAN release, which cannot be downloaded here.
:func:`pretrain_simclr` trains the same architecture (CIFAR ResNet-18 backbone + 2-layer MLP projection head to 128
dimensions, NT-Xent loss) and saves a checkpoint with SCAN's key layout (``backbone.*``, ``contrastive_head.*``),
which the ``simclr_resnet18`` encoder loads. A JSON sidecar ``<checkpoint>.json`` records the normalisation and
training settings.

Augmentations (written in torch, applied per sample on the device; no torchvision):

- random resized crop to 32x32, area scale in [0.2, 1], aspect ratio in [3/4, 4/3] (bilinear ``grid_sample``),
- horizontal flip with probability 0.5,
- colour jitter with probability 0.8: brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1, applied in this
  fixed order (torchvision shuffles the order); the hue shift rotates the chroma plane in YIQ space, a close
  approximation of the HSV hue shift,
- grayscale with probability 0.2,
- normalisation with the CIFAR mean/std.

Defaults follow SCAN's CIFAR SimCLR configuration (500 epochs, batch 512, SGD lr 0.4, momentum 0.9, weight decay
1e-4, cosine schedule, temperature 0.1). Training that long needs a GPU.

References
----------
.. [1] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. (2020). "A Simple Framework for Contrastive Learning of
   Visual Representations." ICML.
.. [2] Van Gansbeke, W. et al. (2020). "SCAN: Learning to Classify Images without Labels." ECCV.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch.nn import functional as F

from ..encoders._base import default_device
from ..encoders.resnet_cifar import ContrastiveModel
from ..encoders.simclr_resnet import NORMALIZATION
from ..utils.io import atomic_path, atomic_write_json, git_commit, package_versions

# ITU-R BT.601 luma and the YIQ transform used for the grayscale and hue operations.
_LUMA = (0.299, 0.587, 0.114)
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


class SimCLRAugment:
    """Batched SimCLR CIFAR augmentations on ``[0, 1]`` NCHW tensors.

    Parameters
    ----------
    mean, std : sequence of 3 floats
        Normalisation applied last.
    generator : torch.Generator
        Source of randomness (on the CPU; samples are moved to the data's device).
    size : int, default=32
    scale : (float, float), default=(0.2, 1.0)
    jitter : (brightness, contrast, saturation, hue), default=(0.4, 0.4, 0.4, 0.1)
    p_jitter, p_gray, p_flip : float
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], generator: torch.Generator, size: int = 32,
                 scale: Sequence[float] = (0.2, 1.0), ratio: Sequence[float] = (3 / 4, 4 / 3),
                 jitter: Sequence[float] = (0.4, 0.4, 0.4, 0.1), p_jitter: float = 0.8, p_gray: float = 0.2,
                 p_flip: float = 0.5) -> None:
        self.mean, self.std = list(mean), list(std)
        self.generator = generator
        self.size = size
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.jitter = tuple(jitter)
        self.p_jitter, self.p_gray, self.p_flip = p_jitter, p_gray, p_flip

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=self.generator)

    def crop_flip(self, x: torch.Tensor) -> torch.Tensor:
        """Random resized crop + horizontal flip through one affine ``grid_sample`` per batch."""
        n = x.shape[0]
        area = self._uniform(n, *self.scale)
        log_ratio = self._uniform(n, math.log(self.ratio[0]), math.log(self.ratio[1]))
        ratio = torch.exp(log_ratio)
        w = torch.sqrt(area * ratio).clamp(max=1.0)  # fraction of the width
        h = torch.sqrt(area / ratio).clamp(max=1.0)
        cx = (torch.rand(n, generator=self.generator) * 2 - 1) * (1 - w)  # centre, normalised coordinates
        cy = (torch.rand(n, generator=self.generator) * 2 - 1) * (1 - h)
        flip = torch.where(torch.rand(n, generator=self.generator) < self.p_flip, -1.0, 1.0)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = w * flip
        theta[:, 0, 2] = cx
        theta[:, 1, 1] = h
        theta[:, 1, 2] = cy
        grid = F.affine_grid(theta.to(x.device), [n, 3, self.size, self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    @staticmethod
    def _gray(x: torch.Tensor) -> torch.Tensor:
        luma = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * luma).sum(dim=1, keepdim=True)

    def color(self, x: torch.Tensor) -> torch.Tensor:
        """Colour jitter (probability ``p_jitter``), then grayscale (probability ``p_gray``)."""
        n, device = x.shape[0], x.device
        b, c, s, hue = self.jitter
        apply = (torch.rand(n, generator=self.generator) < self.p_jitter).to(device).view(n, 1, 1, 1)
        def factor(amount: float) -> torch.Tensor:
            return self._uniform(n, max(0.0, 1 - amount), 1 + amount).to(device).view(n, 1, 1, 1)

        y = (x * factor(b)).clamp(0, 1)
        mean = self._gray(y).mean(dim=(2, 3), keepdim=True)
        y = ((y - mean) * factor(c) + mean).clamp(0, 1)
        gray = self._gray(y)
        y = ((y - gray) * factor(s) + gray).clamp(0, 1)
        angle = (self._uniform(n, -hue, hue) * 2 * math.pi).to(device)
        yiq = torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(device, x.dtype), y)
        cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
        i, q = yiq[:, 1], yiq[:, 2]
        yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
        y = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YIQ).to(device, x.dtype), yiq).clamp(0, 1)
        x = torch.where(apply, y, x)
        to_gray = (torch.rand(n, generator=self.generator) < self.p_gray).to(device).view(n, 1, 1, 1)
        return torch.where(to_gray, self._gray(x).expand_as(x), x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.color(self.crop_flip(x))
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - mean) / std


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent (normalised temperature-scaled cross-entropy) of two views' projections, shape ``(n, d)`` each.

    Each of the ``2n`` embeddings must pick its partner view among the other ``2n - 1`` by cosine similarity.
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


def _normalization_for(name: str) -> Any:
    return NORMALIZATION["cifar100"] if name.startswith("cifar100") else NORMALIZATION["cifar10"]


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:  # a full disk: one line naming the checkpoint
        torch.save(obj, tmp)


def pretrain_simclr(dataset_name: Union[str, Any] = "cifar10", root: Any = None, mirror: Any = None,
                    epochs: int = 500, batch_size: int = 512, out_path: Union[str, Path, None] = None,
                    seed: int = 0, device: Optional[str] = None, lr: float = 0.4, momentum: float = 0.9,
                    weight_decay: float = 1e-4, temperature: float = 0.1, split: str = "train",
                    download: bool = True, max_images: Optional[int] = None, progress: bool = True,
                    num_threads: Optional[int] = None, crop_size: int = 32,
                    dataset_options: Optional[Dict[str, Any]] = None) -> Path:
    """Train SimCLR on a CIFAR-like image dataset and save a ``simclr_resnet18`` checkpoint.

    Parameters
    ----------
    dataset_name : str or ImageDataset
        Registered dataset name (loaded with ``root``/``mirror``/``split``/``download``) or a dataset object.
    root, mirror, download, split, dataset_options
        Passed to :func:`active_learning.datasets.load`.
    epochs, batch_size, lr, momentum, weight_decay, temperature
        Optimisation (SGD with a cosine learning-rate schedule; the last incomplete batch is dropped when it has
        fewer than 2 images).
    out_path : path, optional
        Checkpoint file; default ``<root>/checkpoints/simclr_<dataset>_seed<seed>.pth``.
    seed : int, default=0
        Seeds the initialisation (``torch.manual_seed``), augmentations (a ``torch.Generator``) and the order of
        images (``numpy.random.default_rng``).
    device : str, optional
        Default GPU when available, else CPU.
    max_images : int, optional
        Train on the first ``max_images`` images only (smoke tests).
    crop_size : int, default=32
        Side of the augmented crops (32 for CIFAR; smaller only for quick smoke tests).

    Returns
    -------
    pathlib.Path
        The checkpoint (a SCAN-style state dict); its sidecar ``<path>.json`` holds the settings and losses.
    """
    from ..datasets import load
    from ..datasets._files import default_root
    from ..utils.devices import check_torch_device

    check_torch_device(device, "device")  # a GPU this machine lacks: one line before any data is read
    if isinstance(dataset_name, str):
        data = load(dataset_name, root=root, mirror=mirror, download=download, split=split,
                    **(dataset_options or {}))
    else:
        data = dataset_name
    name = getattr(data, "image_set", None) or getattr(data, "name", "dataset")
    n = len(data) if max_images is None else min(len(data), int(max_images))
    if n < 2:
        raise ValueError("pretrain_simclr: need at least 2 images")
    if out_path is None:
        base = Path(root) if root is not None else default_root()
        out_path = base / "checkpoints" / f"simclr_{name}_seed{seed}.pth"
    out_path = Path(out_path)
    device = device or default_device()
    mean, std = _normalization_for(str(name))

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    augment = SimCLRAugment(mean, std, generator, size=crop_size)
    model = ContrastiveModel().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    steps_per_epoch = max(1, n // batch_size + (1 if n % batch_size >= 2 else 0))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch))
    previous_threads = torch.get_num_threads()
    if device.startswith("cpu"):
        torch.set_num_threads(num_threads or os.cpu_count() or 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * n, unit="img", desc=f"SimCLR {name}")
    losses = []
    start = time.perf_counter()
    try:
        model.train()
        for _ in range(epochs):
            order = rng.permutation(n)
            total, count = 0.0, 0
            for s in range(0, n, batch_size):
                idx = np.sort(order[s:s + batch_size])
                if idx.shape[0] < 2:
                    continue
                images = data.images.batch(idx)
                if not isinstance(images, np.ndarray):
                    raise ValueError("pretrain_simclr: images must all have the same size (CIFAR-like data)")
                x = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255
                z1, z2 = model(augment(x)), model(augment(x))
                loss = nt_xent_loss(z1, z2, temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * idx.shape[0]
                count += idx.shape[0]
                if bar is not None:
                    bar.update(idx.shape[0])
            losses.append(total / max(count, 1))
    finally:
        torch.set_num_threads(previous_threads)
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _atomic_torch_save(state, out_path)
    atomic_write_json(Path(str(out_path) + ".json"), {
        "format": "SCAN-style state dict (backbone.*, contrastive_head.*)",
        "architecture": "CIFAR ResNet-18 + MLP head 512-512-128",
        "dataset": name,
        "split": getattr(data, "split", None),
        "n_images": n,
        "jpeg_compressed": bool(getattr(data, "jpeg_compressed", False)),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "temperature": temperature,
        "seed": seed,
        "device": device,
        "crop_size": crop_size,
        "mean": list(mean),
        "std": list(std),
        "losses": losses,
        "seconds": round(seconds, 3),
        "versions": package_versions(),
        "git": git_commit(),
    })
    return out_path
