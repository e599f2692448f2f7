"""Builders of miniature image-dataset files in the official formats, for the loader and feature tests."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from active_learning.encoders._base import ImageEncoder

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def random_images(n: int, seed: int = 0, size: int = 32) -> np.ndarray:
    """(n, size, size, 3) uint8 images with some structure (a bright square whose position depends on i)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 64, size=(n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        x = (i * 5) % (size - 8)
        images[i, x:x + 8, x:x + 8, i % 3] = 255
    return images


def _add_pickle(archive: tarfile.TarFile, name: str, obj: object) -> None:
    payload = pickle.dumps(obj, protocol=2)
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def _flat(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(images.shape[0], -1))


def make_cifar10_tarball(folder: Path, per_batch: int = 2, n_test: int = 4, seed: int = 0
                         ) -> Tuple[Path, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    """A tiny ``cifar-10-python.tar.gz`` (5 train batches of ``per_batch`` images, a test batch)."""
    folder.mkdir(parents=True, exist_ok=True)
    n_train = 5 * per_batch
    train = random_images(n_train, seed)
    test = random_images(n_test, seed + 1)
    train_labels = np.arange(n_train) % 10
    test_labels = (np.arange(n_test) + 3) % 10
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for b in range(5):
            sl = slice(b * per_batch, (b + 1) * per_batch)
            _add_pickle(archive, f"cifar-10-batches-py/data_batch_{b + 1}",
                        {b"data": _flat(train[sl]), b"labels": train_labels[sl].tolist(),
                         b"batch_label": f"training batch {b + 1} of 5".encode()})
        _add_pickle(archive, "cifar-10-batches-py/test_batch",
                    {b"data": _flat(test), b"labels": test_labels.tolist()})
        _add_pickle(archive, "cifar-10-batches-py/batches.meta",
                    {b"label_names": [n.encode() for n in CIFAR10_NAMES], b"num_vis": 3072})
    return path, {"train": (train, train_labels), "test": (test, test_labels)}


def make_cifar100_tarball(folder: Path, n_train: int = 6, n_test: int = 3, seed: int = 0
                          ) -> Tuple[Path, Dict[str, Tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """A tiny ``cifar-100-python.tar.gz`` (train, test, meta)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    path = folder / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
            images = random_images(n, s)
            fine = (np.arange(n) * 7) % 100
            coarse = fine // 5
            out[split] = (images, fine, coarse)
            _add_pickle(archive, f"cifar-100-python/{split}",
                        {b"data": _flat(images), b"fine_labels": fine.tolist(), b"coarse_labels": coarse.tolist()})
        _add_pickle(archive, "cifar-100-python/meta",
                    {b"fine_label_names": [f"class{i}".encode() for i in range(100)],
                     b"coarse_label_names": [f"super{i}".encode() for i in range(20)]})
    return path, out


def make_jpeg_mirror(folder: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """``<folder>/{split}.zip`` with 00000.jpg ... and ``{split}_labels.npy``."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / f"{split}.zip", "w") as archive:
        for i, image in enumerate(images):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=75)
            archive.writestr(f"{i:05d}.jpg", buffer.getvalue())
    np.save(folder / f"{split}_labels.npy", np.asarray(labels, dtype=np.int64))


def make_human_pt(path: Path, labels: Dict[str, np.ndarray]) -> None:
    """A CIFAR-N style ``torch.save`` dict of numpy int64 arrays."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: np.asarray(v, dtype=np.int64) for k, v in labels.items()}, path)


def make_cifar10h_raw(path: Path, counts: np.ndarray, seed: int = 0, per_annotator: int = 3) -> None:
    """A CIFAR-10H style raw CSV consistent with ``counts`` plus attention-check rows; no annotator labels an image
    twice (about ``per_annotator`` labels per annotator)."""
    rng = np.random.default_rng(seed)
    rows: List[dict] = []
    total = int(counts.sum())
    n_annotators = max(int(np.ceil(total / per_annotator)), int(counts.sum(axis=1).max()))
    pos = 0
    for image in range(counts.shape[0]):
        labels = np.repeat(np.arange(counts.shape[1]), counts[image])
        annotators = rng.choice(n_annotators, size=labels.size, replace=False)
        for label, annotator in zip(rng.permutation(labels), annotators):
            rows.append({"annotator_id": 100 + int(annotator), "trial_index": pos, "chosen_label": int(label),
                         "true_label": int(label), "cifar10_test_test_idx": image, "is_attn_check": 0,
                         "reaction_time": 1000.0})
            pos += 1
    rows.append({"annotator_id": 100, "trial_index": -1, "chosen_label": 1, "true_label": 1,
                 "cifar10_test_test_idx": -99999, "is_attn_check": 1, "reaction_time": 500.0})
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def make_clothing1m(folder: Path, n_noisy: int = 12, n_clean_test: int = 3, seed: int = 0) -> Dict[str, object]:
    """A tiny Clothing1M tree: images of varying sizes and the official annotation files."""
    rng = np.random.default_rng(seed)
    ann = folder / "annotations"
    ann.mkdir(parents=True, exist_ok=True)
    keys = []
    for i in range(n_noisy + n_clean_test + 2):
        key = f"images/{i % 3}/{i:02d}/{1000 + i}.jpg"
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / key)
        keys.append(key)
    noisy_keys = keys[:n_noisy]
    test_keys = keys[n_noisy:n_noisy + n_clean_test]
    train_clean_keys = keys[n_noisy + n_clean_test:] + noisy_keys[:2]  # two noisy images also have clean labels
    noisy = {k: int(rng.integers(0, 14)) for k in noisy_keys}
    clean = {k: int(rng.integers(0, 14)) for k in test_keys + train_clean_keys}
    (ann / "noisy_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in noisy.items()))
    (ann / "clean_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in clean.items()))
    (ann / "noisy_train_key_list.txt").write_text("\n".join(noisy_keys) + "\n")
    (ann / "clean_test_key_list.txt").write_text("\n".join(test_keys) + "\n")
    (ann / "clean_train_key_list.txt").write_text("\n".join(train_clean_keys) + "\n")
    (ann / "clean_val_key_list.txt").write_text("\n".join(test_keys[:1]) + "\n")
    names = ["T-Shirt", "Shirt", "Knitwear", "Chiffon", "Sweater", "Hoodie", "Windbreaker", "Jacket", "Downcoat",
             "Suit", "Shawl", "Dress", "Vest", "Underwear"]
    (ann / "category_names_eng.txt").write_text("\n".join(names) + "\n")
    return {"noisy_keys": noisy_keys, "test_keys": test_keys, "noisy": noisy, "clean": clean, "names": names}


class TinyEncoder(ImageEncoder):
    """Deterministic 8-d encoder (a fixed random convolution + pooling) that counts its calls."""

    name = "tiny"
    self_supervised = True

    def __init__(self, input_size=16, mean=(0.5, 0.5, 0.5), fail_after=None):
        super().__init__(input_size, mean, (0.25, 0.25, 0.25), device="cpu")
        self.calls = 0
        self.fail_after = fail_after

    def weights_info(self):
        return {"weights": "tiny-seed0", "weights_md5": None}

    def build_model(self):
        import torch

        gen = torch.Generator().manual_seed(0)
        conv = torch.nn.Conv2d(3, 8, 3)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
            conv.bias.zero_()
        return torch.nn.Sequential(conv, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())

    def encode(self, batch):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        return super().encode(batch)
