"""Feature cache: hit, miss, corruption, changed preprocessing, resume after a kill; precomputed files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from active_learning.datasets._images import ArrayImages, ImageDataset
from active_learning.encoders import get_encoder
from active_learning.features import cache as C
from active_learning.features import extract_features, read_sidecar

import image_helpers as H


TinyEncoder = H.TinyEncoder


def _dataset(n=20, name="toy"):
    return ImageDataset(name, np.arange(n) % 3, ArrayImages(H.random_images(n)), ["a", "b", "c"], "train",
                        source={"jpeg_compressed": False, "pixels_md5": "x"})


def test_miss_then_hit(tmp_path):
    ds, enc = _dataset(), TinyEncoder()
    feats = extract_features(ds, enc, root=tmp_path, batch_size=8, chunk_size=8, progress=False)
    assert feats.shape == (20, 8) and feats.dtype == np.float32 and enc.calls == 3
    path = C.cached_path(ds, enc, tmp_path)
    assert path.parent == tmp_path / "toy" / "train" / "tiny" and path.is_file()
    sidecar = read_sidecar(path)
    assert sidecar["shape"] == [20, 8] and sidecar["dtype"] == "float32" and sidecar["self_supervised"] is True
    assert sidecar["jpeg_compressed"] is False and sidecar["timing"]["images_per_s"] > 0
    assert sidecar["key"] == C.spec_digest(sidecar["spec"])
    assert not path.with_suffix(".chunks").exists()
    direct = enc.encode(ds.images.batch(range(20)))
    np.testing.assert_allclose(feats, direct, rtol=1e-5, atol=1e-6)
    again = extract_features(ds, enc, root=tmp_path, batch_size=8, chunk_size=8, progress=False)
    assert enc.calls == 4  # only the direct call above: the second extraction was a cache hit
    np.testing.assert_array_equal(again, feats)


def test_corruption_is_recomputed(tmp_path):
    ds, enc = _dataset(), TinyEncoder()
    feats = np.array(extract_features(ds, enc, root=tmp_path, batch_size=10, chunk_size=10, progress=False))
    path = C.cached_path(ds, enc, tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="sha256"):
        fixed = extract_features(ds, enc, root=tmp_path, batch_size=10, chunk_size=10, progress=False)
    np.testing.assert_array_equal(fixed, feats)
    path.write_bytes(path.read_bytes()[:-40])  # truncated
    with pytest.warns(UserWarning, match="bytes"):
        extract_features(ds, enc, root=tmp_path, batch_size=10, chunk_size=10, progress=False)
    sidecar = path.with_suffix(".json")
    data = json.loads(sidecar.read_text())
    data["shape"] = [19, 8]
    sidecar.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="shape"):
        extract_features(ds, enc, root=tmp_path, batch_size=10, chunk_size=10, progress=False)
    sidecar.write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        out = extract_features(ds, enc, root=tmp_path, batch_size=10, chunk_size=10, progress=False)
    np.testing.assert_array_equal(out, feats)


def test_changed_preprocessing_or_subset_gives_new_key(tmp_path):
    ds = _dataset()
    paths = {
        C.cached_path(ds, TinyEncoder(), tmp_path),
        C.cached_path(ds, TinyEncoder(input_size=20), tmp_path),
        C.cached_path(ds, TinyEncoder(mean=(0.4, 0.5, 0.5)), tmp_path),
    }
    sub = _dataset()
    sub.subset_indices = np.arange(20)
    paths.add(C.cached_path(sub, TinyEncoder(), tmp_path))
    jpeg = _dataset()
    jpeg.source["jpeg_compressed"] = True
    paths.add(C.cached_path(jpeg, TinyEncoder(), tmp_path))
    assert len(paths) == 5
    a = extract_features(ds, TinyEncoder(), root=tmp_path, batch_size=10, chunk_size=10, progress=False)
    b = extract_features(ds, TinyEncoder(input_size=20), root=tmp_path, batch_size=10, chunk_size=10,
                         progress=False)
    assert not np.allclose(a, b)
    assert len(list((tmp_path / "toy" / "train" / "tiny").glob("*.npy"))) == 2


def test_resume_after_kill(tmp_path):
    ds = _dataset(n=25)
    killed = TinyEncoder(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        extract_features(ds, killed, root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    path = C.cached_path(ds, killed, tmp_path)
    chunks = sorted(path.with_suffix(".chunks").glob("chunk_*.npy"))
    assert [c.name for c in chunks] == ["chunk_000000.npy", "chunk_000001.npy"]
    assert not path.exists()
    resumed = TinyEncoder()
    feats = extract_features(ds, resumed, root=tmp_path, batch_size=5, chunk_size=5, progress=False)
    assert resumed.calls == 3  # chunks 2, 3 and 4 only
    assert read_sidecar(path)["timing"]["resumed_chunks"] == 2
    fresh = extract_features(ds, TinyEncoder(), root=tmp_path / "fresh", batch_size=5, chunk_size=5,
                             progress=False)
    np.testing.assert_allclose(feats, fresh, rtol=1e-6)


def test_variable_size_images_and_progress_bar(tmp_path, capsys):
    from active_learning.datasets._images import FileImages
    from PIL import Image

    paths = []
    for i, (h, w) in enumerate([(20, 30), (40, 25), (16, 16)]):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((h, w, 3), 40 * i, dtype=np.uint8)).save(p)
        paths.append(p)
    ds = ImageDataset("files", np.zeros(3), FileImages(paths), ["x"], "test", source={"jpeg_compressed": False})
    enc = TinyEncoder()
    enc.resize = "center_crop"
    feats = extract_features(ds, enc, root=tmp_path / "cache", batch_size=2, chunk_size=2, progress=True)
    assert feats.shape == (3, 8)
    assert "img/s" in capsys.readouterr().err


def test_precomputed_encoder_validation_and_subset(tmp_path):
    full = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.save(tmp_path / "f.npy", full)
    enc = get_encoder("precomputed", path=tmp_path / "f.npy", self_supervised=True, description="test")
    ds = _dataset()
    np.testing.assert_array_equal(extract_features(ds, enc, root=tmp_path / "c", progress=False), full)
    sub = ImageDataset("toy", np.zeros(3), ArrayImages(H.random_images(3)), ["a"], "train",
                       subset_indices=np.array([2, 5, 7]))
    np.testing.assert_array_equal(enc.features_for(sub), full[[2, 5, 7]])
    with pytest.raises(ValueError, match="rows"):
        enc.features_for(_dataset(n=7))
    torch.save(torch.from_numpy(full[:, :2]), tmp_path / "g.pt")
    assert get_encoder("precomputed", path=tmp_path / "g.pt").features_for(ds).shape == (20, 2)
    bad = full.copy()
    bad[3, 1] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="non-finite"):
        get_encoder("precomputed", path=tmp_path / "bad.npy").features_for(ds)
    np.save(tmp_path / "flat.npy", full[:, 0])
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        get_encoder("precomputed", path=tmp_path / "flat.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError):
            enc.encode(H.random_images(2))
