"""How good are cached features? k-NN and linear-probe test accuracy, saved as JSON next to the features.

- k-NN: cosine similarity, ``k = 20`` nearest training points, majority vote (ties broken by the summed
  similarity of each class's neighbours).
- Linear probe: scikit-learn ``LogisticRegression`` (L-BFGS, multinomial) on standardised features
  (``StandardScaler`` fitted on the training features).

These are the usual sanity checks of a representation (e.g. the k-NN monitor of self-supervised learning papers);
they are not part of the active-learning benchmarks themselves.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

from ..utils.io import atomic_write_json, to_jsonable


def knn_accuracy(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                 test_labels: np.ndarray, k: int = 20, block_size: int = 1024) -> float:
    """Test accuracy of a cosine k-NN majority vote (ties broken by summed similarity)."""
    train = np.asarray(train_features, dtype=np.float32)
    train = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-12)
    train_labels = np.asarray(train_labels, dtype=np.int64)
    n_classes = int(max(train_labels.max(), np.max(test_labels))) + 1
    k = min(int(k), train.shape[0])
    correct = 0
    for start in range(0, test_features.shape[0], block_size):
        test = np.asarray(test_features[start:start + block_size], dtype=np.float32)
        test = test / np.maximum(np.linalg.norm(test, axis=1, keepdims=True), 1e-12)
        sims = test @ train.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        votes = np.zeros((test.shape[0], n_classes), dtype=np.float64)
        rows = np.repeat(np.arange(test.shape[0]), k)
        np.add.at(votes, (rows, train_labels[top].ravel()), 1.0)
        tie_break = np.zeros_like(votes)
        np.add.at(tie_break, (rows, train_labels[top].ravel()), top_sims.ravel().astype(np.float64))
        predictions = np.argmax(votes + 1e-3 * tie_break / (k + 1), axis=1)
        correct += int(np.sum(predictions == np.asarray(test_labels[start:start + block_size])))
    return correct / test_features.shape[0]


def linear_probe_accuracy(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                          test_labels: np.ndarray, C: float = 1.0, max_iter: int = 1000) -> float:
    """Test accuracy of a logistic-regression probe on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_features)
    probe = LogisticRegression(C=C, max_iter=max_iter)
    probe.fit(scaler.transform(train_features), train_labels)
    return float(np.mean(probe.predict(scaler.transform(test_features)) == np.asarray(test_labels)))


def feature_report(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                   test_labels: np.ndarray, k: int = 20, linear_probe: bool = True,
                   out_path: "str | Path | None" = None, meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """k-NN and linear-probe test accuracy of a train/test feature pair.

    Parameters
    ----------
    train_features, test_features : ndarray (n, d)
    train_labels, test_labels : ndarray (n,), int
        Rows with a negative label (unknown) are left out.
    k : int, default=20
    linear_probe : bool, default=True
    out_path : path, optional
        Write the report there as JSON (atomically).
    meta : dict, optional
        Added to the report (encoder, self-supervised flag, JPEG flag, cache files).

    Returns
    -------
    dict
        ``knn_accuracy``, ``linear_probe_accuracy``, sizes, ``k`` and ``meta``.
    """
    train_labels = np.asarray(train_labels, dtype=np.int64)
    test_labels = np.asarray(test_labels, dtype=np.int64)
    keep_train, keep_test = train_labels >= 0, test_labels >= 0
    xtr, ytr = np.asarray(train_features)[keep_train], train_labels[keep_train]
    xte, yte = np.asarray(test_features)[keep_test], test_labels[keep_test]
    if xtr.shape[0] == 0 or xte.shape[0] == 0:
        raise ValueError("feature_report: no labelled training or test rows")
    timings: Dict[str, float] = {}
    start = time.perf_counter()
    report: Dict[str, Any] = {"k": int(k), "metric": "cosine", "n_train": int(xtr.shape[0]),
                              "n_test": int(xte.shape[0]), "dim": int(xtr.shape[1])}
    report["knn_accuracy"] = knn_accuracy(xtr, ytr, xte, yte, k=k)
    timings["knn_s"] = round(time.perf_counter() - start, 3)
    if linear_probe:
        start = time.perf_counter()
        report["linear_probe_accuracy"] = linear_probe_accuracy(xtr, ytr, xte, yte)
        report["linear_probe"] = "sklearn LogisticRegression(C=1, lbfgs) on StandardScaler features"
        timings["linear_probe_s"] = round(time.perf_counter() - start, 3)
    report["timing"] = timings
    report["meta"] = dict(meta or {})
    if out_path is not None:
        atomic_write_json(out_path, report)
        report["path"] = str(out_path)
    return report


def _report_labels(dataset: Any) -> np.ndarray:
    """Labels to train the probe with: clean labels, or the noisy ones where no clean label exists (Clothing1M)."""
    labels = np.asarray(dataset.labels)
    if np.any(labels < 0) and getattr(dataset, "noisy_labels", None) is not None:
        return np.asarray(dataset.noisy_labels)
    return labels


def features_main(dataset: str, encoder: str, root: Any = None, mirror: Any = None, feature_root: Any = None,
                  download: bool = True, batch_size: int = 128, chunk_size: int = 2048, device: Optional[str] = None,
                  encoder_params: Optional[Dict[str, Any]] = None, dataset_options: Optional[Dict[str, Any]] = None,
                  splits: Optional[Sequence[str]] = None, k: int = 20, linear_probe: bool = True,
                  progress: bool = True, seed: int = 0, print_report: bool = True,
                  indices: Optional[Any] = None) -> Dict[str, Any]:
    """Extract (or load cached) train and test features, then compute, save and print the quality report.

    Parameters
    ----------
    dataset : str
        Registered dataset name (``cifar10``, ``cifar10n``, ``cifar10h``, ``clothing1m``, ...).
    encoder : str
        Registered encoder name (``efficientnet_lite0``, ``dinov2_vits14``, ``simclr_resnet18``, ...).
    root, mirror, download
        Passed to :func:`active_learning.datasets.load`.
    feature_root : path, optional
        Feature cache folder; default ``<root>/features``.
    batch_size, chunk_size, device, progress
        Passed to :func:`~active_learning.features.cache.extract_features`.
    encoder_params, dataset_options : dict, optional
        Extra arguments of :func:`~active_learning.encoders.get_encoder` / the dataset loader.
    splits : (train_split, test_split), optional
        Default ``("train", "test")``; datasets with a single split (``cifar10h``, test only) are split 50/50 at
        random (``seed``) for the report only.
    k, linear_probe
        See :func:`feature_report`.
    indices : array of int, optional
        Extract features for these images of the first split in ``splits`` only (positions in the split; cached
        under the subset's own key); the report then uses a random 50/50 split of them.

    Returns
    -------
    dict
        The report (also written as ``<train features>.report.json`` next to the cached train features).
    """
    from ..datasets import DATASETS, load
    from ..encoders import get_encoder
    from .cache import cached_path, extract_features

    from ..utils.devices import check_torch_device

    check_torch_device(device, "device")  # a GPU this machine lacks: one line before any data is read
    loader = DATASETS.get(dataset)
    if feature_root is None and root is not None:
        feature_root = Path(root) / "features"
    enc = get_encoder(encoder, **(encoder_params or {}))
    options = dict(dataset_options or {})
    available = tuple(getattr(loader, "splits", ("train", "test")))
    wanted = tuple(splits) if splits is not None else ("train", "test")
    if indices is not None:
        wanted = wanted[:1]
    loaded = {}
    for split in dict.fromkeys(s for s in wanted if s in available):
        data = load(dataset, root=root, mirror=mirror, download=download, split=split, **options)
        if indices is not None:
            top = int(np.max(indices)) if np.size(indices) else -1
            if top >= len(data):
                raise ValueError(f"indices: {top} is past the end of {dataset}/{split}, which has {len(data)} images "
                                 f"(0..{len(data) - 1})")
            data = data.subset(np.asarray(indices))
        feats = extract_features(data, enc, root=feature_root, batch_size=batch_size, chunk_size=chunk_size,
                                 device=device, progress=progress)
        loaded[split] = (data, feats, cached_path(data, enc, feature_root))
    if not loaded:
        raise ValueError(f"{dataset}: none of the splits {wanted} is available (it has {available})")

    if len(loaded) >= 2:
        (train, xtr, train_path), (test, xte, test_path) = loaded[wanted[0]], loaded[wanted[1]]
        ytr, yte = _report_labels(train), np.asarray(test.labels)
        protocol = f"{wanted[0]} -> {wanted[1]}"
    else:
        (only, x, train_path), = loaded.values()
        test_path = train_path
        permutation = np.random.default_rng(seed).permutation(len(only))
        half = len(only) // 2
        tr, te = np.sort(permutation[:half]), np.sort(permutation[half:])
        labels = _report_labels(only)
        xtr, ytr, xte, yte = np.asarray(x)[tr], labels[tr], np.asarray(x)[te], labels[te]
        train = test = only
        protocol = f"random 50/50 split of {only.split} (seed {seed})"
    meta = {
        "dataset": dataset,
        "image_set": train.image_set,
        "protocol": protocol,
        "encoder": enc.fingerprint(),
        "self_supervised": enc.self_supervised,
        "jpeg_compressed": bool(train.jpeg_compressed or test.jpeg_compressed),
        "train_features": str(train_path),
        "test_features": str(test_path),
    }
    out_path = Path(str(train_path)[: -len(".npy")] + ".report.json")
    report = feature_report(xtr, ytr, xte, yte, k=k, linear_probe=linear_probe, out_path=out_path, meta=meta)
    if print_report:
        kind = "self-supervised" if enc.self_supervised else (enc.pretraining or "supervised")
        lines = [
            f"features {dataset} / {enc.name} ({kind}; input {enc.input_size}px"
            + ("; pixels JPEG-compressed" if meta["jpeg_compressed"] else "") + ")",
            f"  {protocol}: n_train={report['n_train']} n_test={report['n_test']} dim={report['dim']}",
            f"  k-NN (k={k}, cosine) accuracy: {report['knn_accuracy']:.4f}",
        ]
        if linear_probe:
            lines.append(f"  linear probe accuracy:         {report['linear_probe_accuracy']:.4f}")
        lines.append(f"  report: {out_path}")
        print("\n".join(lines))
    return json.loads(json.dumps(to_jsonable(report)))
