"""The "what next?" API (suggest_next_batch and the `suggest` command) and feature subsets (--indices)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from active_learning.multiannotator import suggest_next_batch


def labels_and_features(n: int = 240, n_labeled: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    features = rng.normal(size=(n, 6)) + 2.0 * np.eye(3)[truth] @ rng.normal(size=(3, 6))
    accuracy = np.linspace(0.4, 0.95, 8)
    rows = []
    for example in range(n_labeled):
        for annotator in rng.choice(8, size=rng.integers(1, 4), replace=False):
            good = rng.random() < accuracy[annotator]
            rows.append((example, int(annotator), int(truth[example] if good else rng.integers(0, 3))))
    return pd.DataFrame(rows, columns=["example", "annotator", "label"]), features, truth


def test_suggestion_lists_new_and_relabel_candidates_and_consensus():
    labels, features, truth = labels_and_features()
    out = suggest_next_batch(labels, features, batch_size=30, seed=0)
    assert len(out.batch) == 30 and out.batch["example"].is_unique
    labeled = set(labels["example"])
    assert set(out.batch["action"]) <= {"new", "relabel"}
    assert all((e in labeled) == (a == "relabel") for e, a in zip(out.batch["example"], out.batch["action"]))
    assert np.all(np.diff(out.batch["score"].to_numpy()) >= 0)  # rank order = score order
    assert list(out.consensus["example"]) == sorted(labeled)
    assert out.consensus["quality"].between(0, 1).all()
    assert (out.consensus["n_annotations"].to_numpy() == labels.groupby("example").size().to_numpy()).all()
    # the best annotators (higher ids simulated as more accurate) agree more with the consensus than the worst
    per = out.annotators.set_index("annotator")
    assert per.loc[[6, 7], "agreement"].mean() > per.loc[[0, 1], "agreement"].mean()
    again = suggest_next_batch(labels, features, batch_size=30, seed=0)
    pd.testing.assert_frame_equal(out.batch, again.batch)


def test_suggestion_respects_label_limits_and_new_only():
    labels, features, _ = labels_and_features()
    out = suggest_next_batch(labels, features, batch_size=40, max_labels_per_example=2, seed=1)
    counts = labels.groupby("example").size()
    relabels = out.batch.loc[out.batch["action"] == "relabel", "example"]
    assert (counts.reindex(relabels).to_numpy() < 2).all()
    only_new = suggest_next_batch(labels, features, batch_size=40, allow_relabel=False)
    assert set(only_new.batch["action"]) == {"new"}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda labels, f: (labels.assign(label=labels["label"] + 5), f), "outside"),
        (lambda labels, f: (labels.assign(example=labels["example"] + 1000), f), "example outside"),
        (lambda labels, f: (pd.concat([labels, labels.iloc[:1]]), f), "duplicate"),
        (lambda labels, f: (labels.drop(columns=["annotator"]), f), "missing column"),
        (lambda labels, f: (labels, np.where(np.arange(f.size).reshape(f.shape) == 3, np.nan, f)), "NaN"),
    ],
)
def test_bad_inputs_fail_with_one_clear_message(change, message):
    labels, features, _ = labels_and_features()
    bad_labels, bad_features = change(labels, features)
    with pytest.raises(ValueError, match=message):
        suggest_next_batch(bad_labels, bad_features, batch_size=10, n_classes=3)


def _suggest_main(args, cwd: Path, monkeypatch, capsys) -> "subprocess.CompletedProcess[str]":
    """``python -m active_learning ARGS`` run through ``main`` in this process (no interpreter start and imports: seconds
    faster; the real subprocess path keeps its fast test in test_pools.py::test_bad_label_files_through_the_real_cli)."""
    from active_learning.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    returncode = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, returncode, out.out, out.err)


def test_suggest_command_writes_the_batch(tmp_path: Path, monkeypatch, capsys):
    labels, features, _ = labels_and_features()
    labels = labels.assign(annotator=[f"worker-{a}" for a in labels["annotator"]])  # string ids are fine
    labels.to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "features.npy", features)
    command = ["suggest", "--labels", "labels.csv", "--features", "features.npy",
               "--batch-size", "12", "--consensus-out", "consensus.csv"]
    done = _suggest_main(command, tmp_path, monkeypatch, capsys)
    assert done.returncode == 0, done.stderr
    assert "12 suggestions" in done.stdout
    batch = pd.read_csv(tmp_path / "next_batch.csv")
    assert list(batch.columns) == ["example", "action", "score", "rank"] and len(batch) == 12
    assert len(pd.read_csv(tmp_path / "consensus.csv")) == labels["example"].nunique()
    missing = _suggest_main(command[:3] + ["--features", "nope.npy", "--batch-size", "3"], tmp_path, monkeypatch, capsys)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1 and "nope.npy" in missing.stderr


def test_image_dataset_subset_follows_one_index_map():
    from image_helpers import random_images

    from active_learning.datasets._images import ArrayImages, ImageDataset

    images = random_images(12)
    counts = np.eye(10, dtype=np.int64)[np.arange(12) % 10] * 3
    annotations = pd.DataFrame({"image": np.arange(12), "annotator": np.zeros(12, dtype=int), "label": np.arange(12) % 10})
    full = ImageDataset(name="toy", labels=np.arange(12) % 10, images=ArrayImages(images), class_names=[str(i) for i in range(10)],
                        split="train", counts=counts, annotations=annotations)
    part = full.subset(np.array([7, 2, 9]))
    assert len(part) == 3 and list(part.subset_indices) == [7, 2, 9]
    assert np.array_equal(part.images[0], images[7]) and list(part.labels) == [7, 2, 9]
    assert np.array_equal(part.counts, counts[[7, 2, 9]])
    assert sorted(part.annotations["image"]) == [0, 1, 2]
    assert part.cache_identity()["subset_indices_sha256"] != full.cache_identity()["subset_indices_sha256"]
    nested = part.subset(np.array([1]))
    assert list(nested.subset_indices) == [2]
    for bad in (np.array([12]), np.array([1, 1]), np.array([], dtype=int)):
        with pytest.raises(ValueError):
            full.subset(bad)


def test_parse_indices_specs(tmp_path: Path):
    from active_learning.cli import parse_indices
    from active_learning.config import ConfigError

    assert list(parse_indices("2:5")) == [2, 3, 4]
    assert list(parse_indices("1,4,9")) == [1, 4, 9]
    np.save(tmp_path / "idx.npy", np.array([3, 1]))
    assert list(parse_indices(str(tmp_path / "idx.npy"))) == [3, 1]
    with pytest.raises(ConfigError):
        parse_indices("a:b")
    with pytest.raises(ConfigError):
        parse_indices(str(tmp_path / "missing.npy"))


def test_an_image_model_runs_under_the_multiannotator_loop():
    """One learner family: a CNN on pixels (``dataset.inputs: pixels``) trains in ActiveLab's cross-validation."""
    import torch

    from image_helpers import random_images

    from active_learning.loops.multiannotator import MultiAnnotatorLoopConfig, run_multiannotator_loop
    from active_learning.pools.label_file import sparse_pool

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n, n_test = 40, 12
    truth = np.arange(n) % 2
    images = random_images(n + n_test, seed=3)
    table = pd.DataFrame([(i, a, int(truth[i] if rng.random() < 0.8 else 1 - truth[i])) for i in range(n) for a in range(3)],
                         columns=["example", "annotator", "label"])
    pool = sparse_pool(images[:n], truth, images[n:], np.arange(n_test) % 2, table, 2, n_initial=16,
                       initial_labels_per_example=1, rng=rng)
    config = MultiAnnotatorLoopConfig(rounds=2, batch_size=4, n_folds=2, annotator_columns="true_identity")
    params = {"resnet18_cifar": {"epochs": 1, "batch_size": 8, "device": "cpu", "eval_batch_size": 64}}
    result = run_multiannotator_loop(pool, "activelab", ["resnet18_cifar"], config, seed=0, model_params=params)
    assert result["n_annotations"].tolist() == [16.0, 20.0]
    assert len(result.chosen) == 1 and result.chosen[0].size == 4
    assert 0.0 <= result["model_accuracy"][-1] <= 1.0
