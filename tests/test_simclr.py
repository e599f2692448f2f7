"""SimCLR pretraining: augmentations, NT-Xent, and a tiny CPU run whose checkpoint the encoder loads."""

from __future__ import annotations

import json
import warnings

import numpy as np
import torch

from active_learning.encoders import get_encoder
from active_learning.features.simclr import SimCLRAugment, nt_xent_loss, pretrain_simclr

import image_helpers as H


def test_augmentations_are_seeded_and_valid():
    x = torch.from_numpy(H.random_images(6)).permute(0, 3, 1, 2).float() / 255
    a = SimCLRAugment((0.5,) * 3, (0.5,) * 3, torch.Generator().manual_seed(1))(x)
    b = SimCLRAugment((0.5,) * 3, (0.5,) * 3, torch.Generator().manual_seed(1))(x)
    c = SimCLRAugment((0.5,) * 3, (0.5,) * 3, torch.Generator().manual_seed(2))(x)
    assert a.shape == (6, 3, 32, 32) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= -1.0 - 1e-5 and float(a.max()) <= 1.0 + 1e-5
    gray = SimCLRAugment((0,) * 3, (1,) * 3, torch.Generator().manual_seed(0), p_gray=1.0, p_jitter=0.0)(x)
    torch.testing.assert_close(gray[:, 0], gray[:, 1])
    identity = SimCLRAugment((0,) * 3, (1,) * 3, torch.Generator().manual_seed(0), scale=(1, 1), ratio=(1, 1),
                             p_jitter=0.0, p_gray=0.0, p_flip=0.0)(x)
    torch.testing.assert_close(identity, x, atol=1e-5, rtol=0)


def test_nt_xent_prefers_matching_views():
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    matched = nt_xent_loss(z, z + 0.01 * torch.randn(8, 16), temperature=0.1)
    shuffled = nt_xent_loss(z, z[torch.randperm(8)], temperature=0.1)
    assert float(matched) < float(shuffled)
    assert float(matched) >= 0


def test_pretrain_tiny_cpu_run_and_load(tmp_path):
    H.make_jpeg_mirror(tmp_path / "cifar10", "train", H.random_images(8), np.arange(8) % 10)
    out = tmp_path / "ckpt" / "simclr.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = pretrain_simclr("cifar10", root=tmp_path, mirror=None, epochs=1, batch_size=4, out_path=out,
                               seed=0, device="cpu", download=False, progress=False, crop_size=8, num_threads=1)
    assert path == out and path.is_file()
    meta = json.loads(out.with_name("simclr.pth.json").read_text())
    assert meta["epochs"] == 1 and len(meta["losses"]) == 1 and np.isfinite(meta["losses"][0])
    assert meta["jpeg_compressed"] is True and meta["mean"] == [0.4914, 0.4822, 0.4465]
    state = torch.load(out, weights_only=True)
    assert "backbone.conv1.weight" in state and "contrastive_head.0.weight" in state
    enc = get_encoder("simclr_resnet18", checkpoint=out, device="cpu")
    assert torch.equal(enc.model.conv1.weight, state["backbone.conv1.weight"])
    assert enc.fingerprint()["preprocessing"]["mean"] == meta["mean"]
