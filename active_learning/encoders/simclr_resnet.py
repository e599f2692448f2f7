"""SimCLR CIFAR ResNet-18 (Chen et al. 2020) loaded from a user's checkpoint: the NAS paper's CIFAR features.

The NAS / TypiClust experiments use the 512-d backbone features of the SimCLR model released with SCAN
(https://github.com/wvangansbeke/Unsupervised-Classification, ``simclr_cifar-10.pth.tar``; licence CC BY-NC 4.0).
That file is not downloadable here, so this encoder reads any checkpoint with SCAN-style keys:
``backbone.conv1.weight``, ``backbone.layer1.0.shortcut.0.weight``, ... (``contrastive_head.*`` is ignored), either
as a bare state dict or under ``"model"`` / ``"state_dict"``; a ``module.`` prefix (DataParallel) is removed. A
bare backbone state dict (no ``backbone.`` prefix) is accepted too. :func:`active_learning.features.simclr.
pretrain_simclr` writes such checkpoints.

Inputs are 32x32 and normalised with the CIFAR statistics the checkpoint was trained with: ``normalization="auto"``
reads them from the checkpoint's JSON sidecar (``<checkpoint>.json``) when present, else uses CIFAR-10's.

References
----------
.. [1] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. (2020). "A Simple Framework for Contrastive Learning of
   Visual Representations." ICML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from ._base import ImageEncoder, register_encoder
from ..utils.io import md5_of_file

NORMALIZATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def backbone_state_dict(checkpoint: Any, path: Any = "checkpoint") -> Dict[str, Any]:
    """Extract the backbone's state dict from a SCAN-style checkpoint object."""
    state = checkpoint
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    state = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    if any(k.startswith("backbone.") for k in state):
        return {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    return {k: v for k, v in state.items() if not k.startswith("contrastive_head.")}


@register_encoder("simclr_resnet18")
class SimCLRResNet18Encoder(ImageEncoder):
    """SimCLR CIFAR ResNet-18 backbone from a checkpoint file (512-d features).

    Parameters
    ----------
    checkpoint : path
        The checkpoint (``.pth``, ``.pth.tar``, ``.pt``).
    normalization : {"auto", "cifar10", "cifar100"} or (mean, std), default="auto"
    input_size : int, default=32
    device : str, optional
    """

    name = "simclr_resnet18"
    self_supervised = True
    pretraining = "SimCLR self-supervised (user checkpoint)"
    dim = 512

    def __init__(self, checkpoint: Union[str, Path, None] = None,
                 normalization: Union[str, Sequence[Sequence[float]]] = "auto", input_size: int = 32,
                 device: Optional[str] = None) -> None:
        if checkpoint is None:
            raise ValueError(
                "simclr_resnet18: pass checkpoint=PATH, a SimCLR CIFAR ResNet-18 checkpoint (e.g. SCAN's "
                "simclr_cifar-10.pth.tar from https://github.com/wvangansbeke/Unsupervised-Classification, or one "
                "made by active_learning.features.simclr.pretrain_simclr)"
            )
        self.checkpoint = Path(checkpoint)
        if not self.checkpoint.is_file():
            raise FileNotFoundError(f"simclr_resnet18: checkpoint {self.checkpoint} does not exist")
        self.meta: Dict[str, Any] = {}
        sidecar = Path(str(self.checkpoint) + ".json")
        if sidecar.is_file():
            self.meta = json.loads(sidecar.read_text())
        if isinstance(normalization, str):
            if normalization == "auto":
                if "mean" in self.meta and "std" in self.meta:
                    mean, std = self.meta["mean"], self.meta["std"]
                else:
                    mean, std = NORMALIZATION["cifar10"]
            elif normalization in NORMALIZATION:
                mean, std = NORMALIZATION[normalization]
            else:
                raise ValueError(f"simclr_resnet18: normalization must be 'auto', {sorted(NORMALIZATION)} or "
                                 f"(mean, std); got {normalization!r}")
        else:
            mean, std = normalization
        super().__init__(input_size, mean, std, resize="stretch", device=device)
        self._md5: Optional[str] = None

    def weights_info(self) -> Dict[str, Any]:
        if self._md5 is None:
            self._md5 = md5_of_file(self.checkpoint)
        return {"weights": f"checkpoint:{self.checkpoint.name}", "weights_md5": self._md5,
                "feature": "backbone global average pool (512-d)"}

    def build_model(self) -> Any:
        import torch

        from .resnet_cifar import CifarResNet18

        checkpoint = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        state = backbone_state_dict(checkpoint, self.checkpoint)
        with torch.device("meta"):  # no random initialisation: every weight comes from the checkpoint
            model = CifarResNet18(init_weights=False)
        result = model.load_state_dict(state, strict=False, assign=True)
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(
                f"{self.checkpoint}: not a SimCLR CIFAR ResNet-18 checkpoint with SCAN-style keys; missing "
                f"{result.missing_keys[:5]}{'...' if len(result.missing_keys) > 5 else ''}, unexpected "
                f"{result.unexpected_keys[:5]}{'...' if len(result.unexpected_keys) > 5 else ''}"
            )
        return model
