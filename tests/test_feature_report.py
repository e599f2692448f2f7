"""Feature-quality report (k-NN, linear probe) and the features_main entry point."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import sklearn.linear_model  # noqa: F401 - imported at collection so no single test pays for it

from active_learning.encoders import ENCODERS
from active_learning.features import feature_report, features_main
from active_learning.features.report import knn_accuracy

import image_helpers as H


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = np.array([[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0]], dtype=np.float32)
    return centres[labels] + rng.normal(scale=0.5, size=(n, 4)).astype(np.float32), labels


def test_knn_and_probe_on_separable_features(tmp_path):
    xtr, ytr = _blobs(60, 0)
    xte, yte = _blobs(30, 1)
    assert knn_accuracy(xtr, ytr, xte, yte, k=20) == 1.0
    rng = np.random.default_rng(2)
    assert knn_accuracy(xtr, rng.permutation(ytr), xte, yte, k=5) < 0.8
    report = feature_report(xtr, ytr, xte, yte, k=20, out_path=tmp_path / "r.json", meta={"encoder": "x"})
    assert report["knn_accuracy"] == 1.0 and report["linear_probe_accuracy"] == 1.0
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["k"] == 20 and saved["metric"] == "cosine" and saved["meta"] == {"encoder": "x"}
    ytr_unknown = ytr.copy()
    ytr_unknown[:10] = -1
    assert feature_report(xtr, ytr_unknown, xte, yte, linear_probe=False)["n_train"] == 50


@pytest.fixture
def tiny_encoder(monkeypatch):
    monkeypatch.setitem(ENCODERS._entries, "tiny", H.TinyEncoder)
    return "tiny"


def test_features_main_train_test(tmp_path, tiny_encoder, capsys):
    for split, n in (("train", 12), ("test", 6)):
        H.make_jpeg_mirror(tmp_path / "mirror" / "cifar10", split, H.random_images(n, seed=n), np.arange(n) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = features_main("cifar10", tiny_encoder, root=tmp_path / "root", mirror=tmp_path / "mirror",
                               download=False, batch_size=4, chunk_size=4, k=3, progress=False)
    out = capsys.readouterr().out
    assert "k-NN (k=3, cosine)" in out and "JPEG-compressed" in out
    assert report["n_train"] == 12 and report["n_test"] == 6 and 0 <= report["knn_accuracy"] <= 1
    assert report["meta"]["jpeg_compressed"] is True and report["meta"]["self_supervised"] is True
    folder = tmp_path / "root" / "features" / "cifar10"
    assert len(list((folder / "train" / "tiny").glob("*.npy"))) == 1
    assert len(list((folder / "test" / "tiny").glob("*.npy"))) == 1
    report_files = list((folder / "train" / "tiny").glob("*.report.json"))
    assert len(report_files) == 1 and json.loads(report_files[0].read_text())["n_test"] == 6


def test_features_main_single_split_dataset(tmp_path, tiny_encoder, capsys):
    H.make_jpeg_mirror(tmp_path / "cifar10", "test", H.random_images(8), np.arange(8) % 2)
    counts = np.zeros((8, 10), dtype=np.int64)
    counts[np.arange(8), np.arange(8) % 2] = 3
    (tmp_path / "cifar10h").mkdir()
    np.save(tmp_path / "cifar10h" / "cifar10h-counts.npy", counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = features_main("cifar10h", tiny_encoder, root=tmp_path, download=False, k=2, progress=False,
                               linear_probe=False)
    assert "50/50" in report["meta"]["protocol"] and report["n_train"] == 4 and report["n_test"] == 4
    # cifar10h shares the CIFAR-10 test images: its features live under cifar10/test
    assert list((tmp_path / "features" / "cifar10" / "test" / "tiny").glob("*.npy"))
