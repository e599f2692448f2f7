"""DINOv2 ViT-S/14 (Oquab et al. 2024), self-supervised, through ``torch.hub`` (for users with internet access).

``dinov2_vits14`` and ``dinov2_vits14_reg`` (with registers, Darcet et al. 2024; the encoder the NAS paper uses for
Clothing1M) give 384-d class-token features. The first use downloads the code and weights from
``facebookresearch/dinov2`` into the torch hub cache (``torch.hub.get_dir()``). Inputs: ImageNet mean/std, side a
multiple of the patch size 14 (default 224 with a 256-pixel resize and central crop).

Licence of the weights: Apache-2.0 (https://github.com/facebookresearch/dinov2).

References
----------
.. [1] Oquab, M. et al. (2024). "DINOv2: Learning Robust Visual Features without Supervision." TMLR.
.. [2] Darcet, T., Oquab, M., Mairal, J., Bojanowski, P. (2024). "Vision Transformers Need Registers." ICLR.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ._base import ImageEncoder, register_encoder

HUB_REPO = "facebookresearch/dinov2"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PATCH = 14


class DinoV2Encoder(ImageEncoder):
    """DINOv2 ViT-S/14 from ``torch.hub`` (384-d class token).

    Parameters
    ----------
    input_size : int, default=224
        Multiple of 14.
    resize : {"center_crop", "stretch"}, default="center_crop"
    device : str, optional
    """

    name = "dinov2"
    hub_model = ""
    self_supervised = True
    pretraining = "DINOv2 self-supervised on LVD-142M"
    dim = 384

    def __init__(self, input_size: int = 224, resize: str = "center_crop", device: Optional[str] = None) -> None:
        if int(input_size) % PATCH:
            raise ValueError(f"{self.name}: input_size must be a multiple of the patch size {PATCH}, got {input_size}")
        super().__init__(input_size, IMAGENET_MEAN, IMAGENET_STD, resize=resize, device=device)

    def weights_info(self) -> Dict[str, Any]:
        return {"weights": f"torch.hub:{HUB_REPO}:{self.hub_model}", "weights_md5": None,
                "feature": "class token after the final norm (384-d)"}

    def build_model(self) -> Any:
        import torch

        try:
            return torch.hub.load(HUB_REPO, self.hub_model, trust_repo=True)
        except Exception as exc:  # network, missing cache, ...
            raise RuntimeError(
                f"{self.name}: torch.hub.load({HUB_REPO!r}, {self.hub_model!r}) failed ({exc}). DINOv2 needs internet "
                f"access once (then the torch hub cache {torch.hub.get_dir()} is used). Offline, use the "
                "'efficientnet_lite0' encoder or a 'precomputed' feature file."
            ) from exc


@register_encoder("dinov2_vits14")
class DinoV2ViTS14(DinoV2Encoder):
    """DINOv2 ViT-S/14 without registers."""

    name = "dinov2_vits14"
    hub_model = "dinov2_vits14"


@register_encoder("dinov2_vits14_reg")
class DinoV2ViTS14Reg(DinoV2Encoder):
    """DINOv2 ViT-S/14 with registers (the NAS paper's Clothing1M features)."""

    name = "dinov2_vits14_reg"
    hub_model = "dinov2_vits14_reg"
