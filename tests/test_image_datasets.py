"""Image dataset loaders on miniature files in the official formats."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch  # noqa: F401 - imported once here so no single test pays for it
import pytest

from active_learning import datasets
from active_learning.datasets import DatasetFileNotFoundError, cifar, cifar10h, cifar_n
from active_learning.datasets._images import ImageDataset
from active_learning.utils.io import md5_of_file

import image_helpers as H


def _trust(monkeypatch, flavour, path):
    """Make the loader accept a tiny tarball: its md5 replaces the official one."""
    monkeypatch.setattr(flavour, "tarball", dataclasses.replace(flavour.tarball, md5=md5_of_file(path)))


@pytest.fixture
def cifar10_root(tmp_path, monkeypatch):
    path, arrays = H.make_cifar10_tarball(tmp_path / "root" / "cifar10")
    _trust(monkeypatch, cifar.CIFAR10, path)
    return tmp_path / "root", arrays


def test_registry_lists_image_datasets():
    for name in ("cifar10", "cifar100", "cifar10n", "cifar100n", "cifar10h", "clothing1m", "wall_robot"):
        assert name in datasets.list_datasets()


def test_cifar10_tarball_is_extracted_and_lossless(cifar10_root):
    root, arrays = cifar10_root
    for split in ("train", "test"):
        ds = datasets.load("cifar10", root=root, download=False, split=split)
        images, labels = arrays[split]
        assert isinstance(ds, ImageDataset) and ds.split == split
        assert len(ds) == len(images) and ds.labels.dtype == np.int64
        np.testing.assert_array_equal(ds.labels, labels)
        np.testing.assert_array_equal(ds.images[1], images[1])
        assert ds.images[0].dtype == np.uint8 and ds.images[0].shape == (32, 32, 3)
        assert ds.class_names[0] == "airplane"
        assert ds.source["jpeg_compressed"] is False and ds.source["md5"]
    assert (root / "cifar10" / "cifar-10-batches-py" / "data_batch_5").is_file()


def test_cifar10_uses_extracted_folder_without_tarball(cifar10_root):
    root, arrays = cifar10_root
    datasets.load("cifar10", root=root, download=False)
    (root / "cifar10" / "cifar-10-python.tar.gz").unlink()
    ds = datasets.load("cifar10", root=root, download=False, split="test")
    np.testing.assert_array_equal(ds.images.batch([0, 2]), arrays["test"][0][[0, 2]])


def test_cifar10_rejects_wrong_md5(tmp_path):
    H.make_cifar10_tarball(tmp_path / "cifar10")
    with pytest.raises(DatasetFileNotFoundError, match="md5"):
        datasets.load("cifar10", root=tmp_path, mirror=tmp_path / "none", download=False, format="python")


def test_cifar10_jpeg_mirror_is_flagged(tmp_path):
    images = H.random_images(5)
    labels = np.array([1, 2, 3, 4, 5])
    H.make_jpeg_mirror(tmp_path / "mirror" / "cifar10", "test", images, labels)
    with pytest.warns(UserWarning, match="JPEG-compressed"):
        ds = datasets.load("cifar10", root=tmp_path / "root", mirror=tmp_path / "mirror", download=False,
                           split="test")
    assert ds.source["jpeg_compressed"] is True and ds.jpeg_compressed
    assert ds.cache_identity()["jpeg_compressed"] is True
    np.testing.assert_array_equal(ds.labels, labels)
    decoded = ds.images[4]
    assert decoded.shape == (32, 32, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - images[4]).mean() < 20  # lossy but close
    with pytest.raises(IndexError):
        ds.images[5]


def test_cifar10_jpeg_mirror_checks_member_names(tmp_path):
    H.make_jpeg_mirror(tmp_path / "cifar10", "test", H.random_images(3), np.array([0, 1, 2]))
    np.save(tmp_path / "cifar10" / "test_labels.npy", np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="00000.jpg"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            datasets.load("cifar10", root=tmp_path, download=False, split="test", format="jpeg")


def test_cifar10_missing_everywhere_names_file_places_and_url(tmp_path):
    with pytest.raises(DatasetFileNotFoundError) as info:
        datasets.load("cifar10", root=tmp_path / "root", mirror=tmp_path / "mirror", download=False)
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and "https://www.cs.toronto.edu/~kriz/" in message
    assert str(tmp_path / "root" / "cifar10") in message and str(tmp_path / "mirror" / "cifar10") in message
    assert "train.zip" in message


def test_cifar100_tarball_with_coarse_labels(tmp_path, monkeypatch):
    path, arrays = H.make_cifar100_tarball(tmp_path / "cifar100")
    _trust(monkeypatch, cifar.CIFAR100, path)
    ds = datasets.load("cifar100", root=tmp_path, download=False, split="train")
    images, fine, coarse = arrays["train"]
    np.testing.assert_array_equal(ds.labels, fine)
    np.testing.assert_array_equal(ds.extra["coarse_labels"], coarse)
    np.testing.assert_array_equal(ds.images[3], images[3])
    assert len(ds.class_names) == 100 and ds.n_classes == 100
    with pytest.raises(ValueError, match="format"):
        datasets.load("cifar100", root=tmp_path, download=False, format="jpeg")


def test_cifar10n_noise_types_and_annotators(cifar10_root):
    root, arrays = cifar10_root
    clean = arrays["train"][1]
    rng = np.random.default_rng(1)
    labels = {"clean_label": clean}
    for key in ("aggre_label", "worse_label", "random_label1", "random_label2", "random_label3"):
        labels[key] = rng.integers(0, 10, clean.shape[0])
    H.make_human_pt(root / "cifar_n" / "CIFAR-10_human.pt", labels)
    with pytest.warns(UserWarning, match="md5"):
        ds = datasets.load("cifar10n", root=root, download=False, noise_type="worse")
    np.testing.assert_array_equal(ds.noisy_labels, labels["worse_label"])
    np.testing.assert_array_equal(ds.labels, clean)
    assert ds.annotator_labels.shape == (clean.shape[0], 3)
    np.testing.assert_array_equal(ds.annotator_labels[:, 2], labels["random_label3"])
    assert ds.image_set == "cifar10" and ds.source["noise_type"] == "worse"
    with pytest.warns(UserWarning):
        ds = datasets.load("cifar10n", root=root, download=False, noise_type="random2")
    np.testing.assert_array_equal(ds.noisy_labels, labels["random_label2"])
    with pytest.raises(ValueError, match="noise_type"):
        datasets.load("cifar10n", root=root, download=False, noise_type="bad")
    test = datasets.load("cifar10n", root=root, download=False, split="test")
    assert test.noisy_labels is None and len(test) == 4 and test.image_set == "cifar10"


def test_cifar10n_clean_labels_must_match(cifar10_root):
    root, arrays = cifar10_root
    clean = arrays["train"][1].copy()
    clean[0] = (clean[0] + 1) % 10
    H.make_human_pt(root / "cifar_n" / "CIFAR-10_human.pt",
                    {k: clean for k in ("clean_label", "aggre_label", "worse_label", "random_label1",
                                        "random_label2", "random_label3")})
    with pytest.raises(ValueError, match="does not match"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datasets.load("cifar10n", root=root, download=False)


def test_cifar10n_missing_label_file(cifar10_root):
    root, _ = cifar10_root
    with pytest.raises(DatasetFileNotFoundError) as info:
        datasets.load("cifar10n", root=root, mirror=root / "m", download=False)
    message = str(info.value)
    assert "CIFAR-10_human.pt" in message and "UCSC-REAL/cifar-10-100n" in message
    assert str(root / "cifar_n") in message


def test_cifar100n_fine_and_coarse(tmp_path, monkeypatch):
    path, arrays = H.make_cifar100_tarball(tmp_path / "cifar100")
    _trust(monkeypatch, cifar.CIFAR100, path)
    _, fine, coarse = arrays["train"]
    noisy = (fine + 1) % 100
    H.make_human_pt(tmp_path / "cifar_n" / "CIFAR-100_human.pt",
                    {"clean_label": fine, "noisy_label": noisy, "clean_coarse_label": coarse,
                     "noisy_coarse_label": coarse[::-1]})
    with pytest.warns(UserWarning, match="md5"):
        ds = datasets.load("cifar100n", root=tmp_path, download=False)
    np.testing.assert_array_equal(ds.noisy_labels, noisy)
    assert ds.image_set == "cifar100"
    with pytest.warns(UserWarning):
        ds = datasets.load("cifar100n", root=tmp_path, download=False, noise_type="noisy_coarse")
    np.testing.assert_array_equal(ds.labels, coarse)
    np.testing.assert_array_equal(ds.noisy_labels, coarse[::-1])
    assert len(ds.class_names) == 20


def test_read_human_file_real_format_with_lists(tmp_path):
    path = tmp_path / "h.pt"

    torch.save({"clean_label": np.arange(4, dtype=np.int64), "clean_coarse_label": [1, 2, 3, 4]}, path)
    out = cifar_n.read_human_file(path)
    np.testing.assert_array_equal(out["clean_coarse_label"], [1, 2, 3, 4])


@pytest.fixture
def cifar10h_root(tmp_path):
    """Tiny CIFAR-10 test JPEG mirror (6 images) and CIFAR-10H counts."""
    labels = np.array([0, 1, 2, 3, 4, 5])
    H.make_jpeg_mirror(tmp_path / "cifar10", "test", H.random_images(6), labels)
    counts = np.zeros((6, 10), dtype=np.int64)
    for i, label in enumerate(labels):
        counts[i, label] = 4
        counts[i, (label + 1) % 10] = 1 + i % 2
    (tmp_path / "cifar10h").mkdir()
    np.save(tmp_path / "cifar10h" / "cifar10h-counts.npy", counts)
    return tmp_path, counts


def test_cifar10h_raw_csv(cifar10h_root):
    root, counts = cifar10h_root
    H.make_cifar10h_raw(root / "cifar10h" / "cifar10h-raw.csv", counts)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*JPEG.*")
        warnings.filterwarnings("ignore", message=".*md5.*")
        ds = datasets.load("cifar10h", root=root, download=False, annotations="raw")
    assert ds.source["annotators_simulated"] is False
    table = ds.annotations
    assert set(table.columns) >= {"image", "annotator", "label"}
    assert len(table) == counts.sum()  # the attention check row is dropped
    np.testing.assert_array_equal(cifar10h.counts_from_annotations(table, 6), counts)
    np.testing.assert_array_equal(ds.counts, counts)
    assert ds.image_set == "cifar10" and len(ds) == 6


def test_cifar10h_raw_zip(cifar10h_root, tmp_path):
    import zipfile

    root, counts = cifar10h_root
    csv = tmp_path / "raw.csv"
    H.make_cifar10h_raw(csv, counts)
    with zipfile.ZipFile(root / "cifar10h" / "cifar10h-raw.zip", "w") as archive:
        archive.write(csv, "cifar10h-raw.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = datasets.load("cifar10h", root=root, download=False)
    assert ds.source["annotators_simulated"] is False and len(ds.annotations) == counts.sum()


def test_cifar10h_simulated_fallback_warns_and_flags(cifar10h_root):
    root, counts = cifar10h_root
    with pytest.warns(UserWarning, match="SIMULATED"):
        ds = datasets.load("cifar10h", root=root, download=False, seed=3, images_per_annotator=2)
    assert ds.source["annotators_simulated"] is True and ds.source["simulation_seed"] == 3
    table = ds.annotations
    np.testing.assert_array_equal(cifar10h.counts_from_annotations(table, 6), counts)
    assert not table.duplicated(["annotator", "image"]).any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = datasets.load("cifar10h", root=root, download=False, seed=3, images_per_annotator=2)
    assert again.annotations.equals(table)
    with pytest.raises(DatasetFileNotFoundError, match="cifar10h-raw"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datasets.load("cifar10h", root=root, download=False, annotations="raw")


def test_cifar10h_missing_counts(tmp_path):
    with pytest.raises(DatasetFileNotFoundError) as info:
        datasets.load("cifar10h", root=tmp_path, mirror=tmp_path / "m", download=False)
    message = str(info.value)
    assert "cifar10h-counts.npy" in message and "jcpeterson/cifar-10h" in message
    assert str(tmp_path / "m" / "cifar10h") in message


def test_clothing1m_tree_subset_and_index_map(tmp_path):
    info = H.make_clothing1m(tmp_path / "clothing1m")
    full = datasets.load("clothing1m", root=tmp_path, download=False)
    assert len(full) == 12 and full.subset_indices is None
    np.testing.assert_array_equal(full.noisy_labels, [info["noisy"][k] for k in info["noisy_keys"]])
    assert (full.labels >= 0).sum() == 2  # two noisy images have clean labels
    image = full.images[3]
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    sub = datasets.load("clothing1m", root=tmp_path, download=False, subset_size=5, seed=7)
    idx = sub.subset_indices
    assert idx.shape == (5,) and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(sub.source["subset_indices"], idx)
    np.testing.assert_array_equal(sub.noisy_labels, full.noisy_labels[idx])
    np.testing.assert_array_equal(sub.labels, full.labels[idx])
    for j, i in enumerate(idx):
        np.testing.assert_array_equal(sub.images[j], full.images[int(i)])
    same = datasets.load("clothing1m", root=tmp_path, download=False, subset_size=5, seed=7)
    np.testing.assert_array_equal(same.subset_indices, idx)
    assert sub.cache_identity() != full.cache_identity()
    test = datasets.load("clothing1m", root=tmp_path, download=False, split="test")
    np.testing.assert_array_equal(test.labels, [info["clean"][k] for k in info["test_keys"]])
    assert test.class_names == info["names"]


def test_clothing1m_missing_file_explains_access(tmp_path):
    info = H.make_clothing1m(tmp_path / "clothing1m")
    (tmp_path / "clothing1m" / "annotations" / "noisy_label_kv.txt").unlink()
    with pytest.raises(DatasetFileNotFoundError) as err:
        datasets.load("clothing1m", root=tmp_path, download=False)
    message = str(err.value)
    assert "noisy_label_kv.txt" in message and "github.com/Cysu/noisy_label" in message
    assert str(tmp_path / "clothing1m") in message
    assert info


def test_clothing1m_missing_images(tmp_path):
    H.make_clothing1m(tmp_path / "clothing1m")
    import shutil

    shutil.rmtree(tmp_path / "clothing1m" / "images")
    with pytest.raises(DatasetFileNotFoundError, match="request access"):
        datasets.load("clothing1m", root=tmp_path, download=False, split="test")


def test_cifar10_official_download_is_checked_and_extracted(tmp_path, monkeypatch):
    """The download step, pointed at a local file:// URL standing in for the official server."""
    path, arrays = H.make_cifar10_tarball(tmp_path / "server")
    monkeypatch.setattr(cifar.CIFAR10, "tarball", dataclasses.replace(
        cifar.CIFAR10.tarball, md5=md5_of_file(path), url=path.as_uri()))
    ds = datasets.load("cifar10", root=tmp_path / "root", mirror=tmp_path / "none", download=True, split="test",
                       format="python")
    assert (tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz").is_file()
    np.testing.assert_array_equal(ds.images.batch([0, 1, 2, 3]), arrays["test"][0])
    assert ds.source["jpeg_compressed"] is False
