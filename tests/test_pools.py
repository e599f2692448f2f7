"""The data layer end to end on miniature files in the official formats: the CIFAR-10H and CIFAR-10N-annotators
benchmark configs through the CLI, and the bring-your-own label-file pool (good and bad files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from active_learning.cli import main
from active_learning.loops.multiannotator import MultiAnnotatorLoopConfig, run_multiannotator_loop
from active_learning.pools import DataAccess, build_pool

import image_helpers as H

REPO = Path(__file__).resolve().parents[1]
N_CLASSES_USED = 4  # the miniatures use 4 of CIFAR-10's 10 classes, so 2-fold CV always has 2 per class


def _cli(args, cwd, timeout=240):
    """``python -m active_learning ARGS`` in ``cwd`` (no data folders from the environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AL_DATA")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"  # tiny torch fits: extra threads only fight over the cores
    return subprocess.run([sys.executable, "-m", "active_learning", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny torch fits (the linear probe) in this process: one thread, as in the subprocesses."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run_main(args, cwd, monkeypatch, capsys):
    """What :func:`_cli` does, in this process (no interpreter start and imports: seconds faster); the real
    subprocess path keeps its fast test in test_bad_label_files_through_the_real_cli."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JPEG mirror, md5 of a miniature, simulated identities
        returncode = main(list(map(str, args)))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, returncode, out.out, out.err)


def _features(labels, seed, dim=8):
    """Features that separate the classes (what a good encoder would give)."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).normal(scale=2.0, size=(10, dim))
    return (centers[labels] + rng.normal(size=(labels.size, dim))).astype(np.float32)


# ------------------------------------------------------------------------------------------------- CIFAR-10H


N_H = 200
#: Labels per image of the start set (the miniature's 200 images give 100 pool / 40 labeled with unlabeled 0.6).
HISTOGRAM = {1: 28, 2: 6, 3: 6}
DATA_H = {"pool": "cifar10h", "unlabeled_fraction": 0.6, "labels_per_image": HISTOGRAM}


@pytest.fixture(scope="module")
def cifar10h_root(tmp_path_factory):
    """A data root with a 200-image CIFAR-10 test split (JPEG mirror), ``cifar10h/cifar10h-counts.npy`` (~50
    human labels per image, plurality the true label for all but a few) and a precomputed feature file."""
    root = tmp_path_factory.mktemp("cifar10h") / "root"
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.arange(N_H) % N_CLASSES_USED)
    H.make_jpeg_mirror(root / "cifar10", "test", H.random_images(N_H, seed=1), labels)
    counts = np.zeros((N_H, 10), dtype=np.int64)
    for i, label in enumerate(labels):
        p = np.full(N_CLASSES_USED, 0.04)
        p[label] = 0.88  # about CIFAR-10H's 95 % annotator accuracy, so the target is above the untilted start
        if i % 25 == 0:  # a few hard images: most annotators choose another class
            p[:] = 0.1
            p[label], p[(label + 1) % N_CLASSES_USED] = 0.2, 0.6
        counts[i, :N_CLASSES_USED] = rng.multinomial(45 + i % 11, p / p.sum())
    (root / "cifar10h").mkdir()
    np.save(root / "cifar10h" / "cifar10h-counts.npy", counts)
    np.save(root.parent / "features.npy", _features(labels, seed=2))
    return root, labels, counts


def _dataset_h(root):
    return {"name": "cifar10h", "encoder": "precomputed", "encoder_params": {"path": str(root.parent / "features.npy")}}


def _build(dataset, data, root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JPEG mirror, md5 of a miniature, simulated identities
        return build_pool(dataset, data, DataAccess(root=str(root), download=False))


def test_cifar10h_miniature_files_are_consistent(cifar10h_root):
    root, labels, counts = cifar10h_root
    assert counts.sum(axis=1).min() >= 45 and (counts[:, N_CLASSES_USED:] == 0).all()
    plurality = counts.argmax(axis=1) == labels
    assert 0.9 <= plurality.mean() < 1.0


def test_cifar10h_benchmark_config_through_the_cli(cifar10h_root, tmp_path, monkeypatch, capsys):
    root, _, _ = cifar10h_root
    features = root.parent / "features.npy"
    overrides = [
        "dataset.encoder=precomputed", f"dataset.encoder_params={{path: {features}}}",
        "data.unlabeled_fraction=0.6", "data.labels_per_image={1: 28, 2: 6, 3: 6}",
        "loop.rounds=3", "loop.batch_size=10", "loop.n_folds=2",
        "models.linear_probe.params={epochs: 20, batch_size: 16, lr: 0.1}",
    ]
    args = ["run", REPO / "benchmarks" / "cifar10h" / "cifar10h.yaml", "--set", *overrides,
            "--methods", "random", "activelab", "activelab_ensemble", "--seeds", "0", "--results-dir", "tmp",
            "--data-root", root, "--no-download", "--no-progress", "--no-figures"]
    done = _run_main(args, tmp_path, monkeypatch, capsys)
    assert done.returncode == 0, done.stderr
    assert "ran 3 job(s)" in done.stdout
    n_start = sum(k * v for k, v in HISTOGRAM.items())
    for method in ("random", "activelab", "activelab_ensemble"):
        folder = tmp_path / "tmp" / "cifar10h" / "linear_probe" / method
        assert (folder / "run_seed0.json").is_file()
        n_annotations = np.load(folder / "n_annotations_seed0.npy")
        assert n_annotations.tolist() == [n_start, n_start + 10, n_start + 20]
        assert np.load(folder / "n_labeled_seed0.npy")[0] == 40
        accuracy = np.load(folder / "model_accuracy_seed0.npy")
        assert accuracy.shape == (3,) and (accuracy > 0.5).all()  # the features separate the classes
    meta = json.loads((tmp_path / "tmp" / "cifar10h" / "linear_probe" / "activelab" / "run_seed0.json").read_text())
    assert meta["config"]["data"]["labels_per_image"] in (HISTOGRAM, {str(k): v for k, v in HISTOGRAM.items()})


def test_cifar10h_tilted_start_reaches_its_target(cifar10h_root):
    root, labels, counts = cifar10h_root
    for target in (0.822, 0.7):
        pool = _build(_dataset_h(root), {**DATA_H, "target_majority_accuracy": target}, root)
        start = pool.info["initial"]
        assert start["procedure"] == "tilted_multiset" and pool.info["annotators_simulated"]
        assert start["target_reachable"]
        assert abs(start["majority_accuracy"] - target) <= 1 / 40 + 1e-9, start
        assert {int(k): v for k, v in start["labels_per_image"].items()} == HISTOGRAM
        assert len(pool.initial) == sum(k * v for k, v in HISTOGRAM.items())
        assert pool.X_pool.shape == (100, 8) and pool.X_test.shape == (100, 8)
        assert pool.labeled_at_start.tolist() == list(range(40))  # labeled block first
        # every start label is one of the image's human labels; new labels come from its whole multiset
        rows = pool.info["pool_rows"][pool.initial["example"].to_numpy()]
        assert (counts[rows, pool.initial["label"].to_numpy()] > 0).all()
        np.testing.assert_array_equal(pool.source.counts, counts[pool.info["pool_rows"]])
        np.testing.assert_array_equal(pool.y_pool, labels[pool.info["pool_rows"]])
    # the tilt only up-weights wrong labels: a target above the untilted start's accuracy is flagged, not reached
    above = _build(_dataset_h(root), {**DATA_H, "target_majority_accuracy": 0.99}, root).info["initial"]
    assert not above["target_reachable"] and above["wrong_label_weight"] == 1.0 and above["majority_accuracy"] < 0.99


def _make_raw_csv(path, counts, n_annotators=600, seed=0):
    """A ``cifar10h-raw.csv`` consistent with ``counts`` in which, as in the real file, no annotator labels an image
    twice, with a fixed annotator pool of ``n_annotators`` (many labels each); plus an attention-check row."""
    rng = np.random.default_rng(seed)
    rows = []
    for image in range(counts.shape[0]):
        labels = np.repeat(np.arange(counts.shape[1]), counts[image])
        for annotator, label in zip(rng.choice(n_annotators, size=labels.size, replace=False), labels):
            rows.append((100 + int(annotator), len(rows), int(label), int(label), image, 0, 1000.0))
    rows.append((100, -1, 1, 1, -99999, 1, 500.0))
    columns = ["annotator_id", "trial_index", "chosen_label", "true_label", "cifar10_test_test_idx", "is_attn_check",
               "reaction_time"]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)


def test_cifar10h_raw_file_gives_the_hardest_annotators_start(cifar10h_root, tmp_path):
    import shutil

    source, labels, counts = cifar10h_root
    root = tmp_path / "root"
    shutil.copytree(source, root)
    shutil.copy(source.parent / "features.npy", tmp_path / "features.npy")
    _make_raw_csv(root / "cifar10h" / "cifar10h-raw.csv", counts)
    pool = _build(_dataset_h(root), {"pool": "cifar10h", "unlabeled_fraction": 0.6, "n_worst": 20}, root)
    assert pool.info["initial"]["procedure"] == "hardest_annotators"
    assert not pool.info["annotators_simulated"]
    assert pool.labeled_at_start.tolist() == list(range(40))
    assert pool.info["initial"]["n_annotations"] == len(pool.initial)
    # the start labels are real raw annotations of those images (annotators coded 0..m-1 as the loader reads them)
    from active_learning.datasets.cifar10h import read_raw_annotations

    raw = read_raw_annotations(root / "cifar10h" / "cifar10h-raw.csv")
    start = pool.initial.assign(image=pool.info["pool_rows"][pool.initial["example"].to_numpy()])
    merged = start.merge(raw, on=["image", "annotator"], suffixes=("", "_raw"))
    assert len(merged) == len(start) and (merged.label == merged.label_raw).all()
    # the worst annotators contribute: the start is much less accurate than the images' plurality labels
    assert (start.label == labels[start.image]).mean() < 0.9


# ------------------------------------------------------------------------------------------------- CIFAR-10N


N_TRAIN, N_TEST, BATCH = 100, 40, 10
WORKERS = np.array([3, 17, 42, 56, 101, 230, 311, 404, 512, 640, 777, 901])


@pytest.fixture(scope="module")
def cifar10n_root(tmp_path_factory):
    """A data root with a 100/40-image CIFAR-10 train/test JPEG mirror, ``cifar_n/CIFAR-10_human.pt`` and
    ``cifar_n/side_info_cifar10N.csv`` (batches of 10 images, three workers each)."""
    root = tmp_path_factory.mktemp("cifar10n") / "root"
    rng = np.random.default_rng(3)
    train_labels = rng.permutation(np.arange(N_TRAIN) % N_CLASSES_USED)
    test_labels = np.arange(N_TEST) % N_CLASSES_USED
    H.make_jpeg_mirror(root / "cifar10", "train", H.random_images(N_TRAIN, seed=4), train_labels)
    H.make_jpeg_mirror(root / "cifar10", "test", H.random_images(N_TEST, seed=5), test_labels)
    accuracy = dict(zip(WORKERS, np.linspace(0.6, 1.0, WORKERS.size)))
    batch_workers = np.stack([rng.choice(WORKERS, size=3, replace=False) for _ in range(N_TRAIN // BATCH)])
    workers = np.repeat(batch_workers, BATCH, axis=0)  # (N_TRAIN, 3)
    noisy = np.empty((N_TRAIN, 3), dtype=np.int64)
    for i in range(N_TRAIN):
        for slot in range(3):
            wrong = (train_labels[i] + rng.integers(1, N_CLASSES_USED)) % N_CLASSES_USED
            noisy[i, slot] = train_labels[i] if rng.random() < accuracy[workers[i, slot]] else wrong
    aggre = np.array([np.bincount(row, minlength=10).argmax() for row in noisy])
    worse = np.array([next((v for v in row if v != t), t) for row, t in zip(noisy, train_labels)])
    H.make_human_pt(root / "cifar_n" / "CIFAR-10_human.pt", {
        "clean_label": train_labels, "random_label1": noisy[:, 0], "random_label2": noisy[:, 1],
        "random_label3": noisy[:, 2], "aggre_label": aggre, "worse_label": worse,
    })
    side = pd.DataFrame({
        "Image-batch": [f"{b * BATCH}--{b * BATCH + BATCH - 1}" for b in range(N_TRAIN // BATCH)],
        "Worker1-id": batch_workers[:, 0], "Work-time-in-seconds-1": 30.5,
        "Worker2-id": batch_workers[:, 1], "Work-time-in-seconds-2": 41.0,
        "Worker3-id": batch_workers[:, 2], "Work-time-in-seconds-3": 12.25,
    })
    side.to_csv(root / "cifar_n" / "side_info_cifar10N.csv", index=False)
    return root, train_labels, workers, noisy


DATA_N = {"pool": "cifar10n_annotators", "pool_size": 60, "pool_seed": 0, "n_initial": 20}


@pytest.fixture
def tiny_encoder(monkeypatch):
    from active_learning.encoders import ENCODERS

    monkeypatch.setitem(ENCODERS._entries, "tiny", H.TinyEncoder)  # jobs run in this process (n_jobs=1)
    return {"name": "cifar10n", "encoder": "tiny"}


def test_cifar10n_pool_uses_the_side_info_workers(cifar10n_root, tiny_encoder):
    root, train_labels, workers, noisy = cifar10n_root
    pool = _build(tiny_encoder, DATA_N, root)
    rows = pool.info["pool_rows"]
    assert pool.info["worker_ids"] is True and rows.size == 60 and pool.X_test.shape == (N_TEST, 8)
    np.testing.assert_array_equal(pool.y_pool, train_labels[rows])
    assert pool.source.available.tolist() == [3] * 60
    config = MultiAnnotatorLoopConfig(rounds=6, batch_size=40, n_folds=2, annotator_columns="true_identity")
    result = run_multiannotator_loop(pool, "random", ["logistic_regression"], config, 0)
    frame = result.annotations
    assert len(frame) == 60 * 3  # 20 + 5 x 40 asked for, 180 exist: every label revealed, none twice
    assert frame.groupby("example").size().max() <= 3
    assert not frame.duplicated(["example", "annotator"]).any()
    assert set(frame.annotator) <= set(WORKERS.tolist())
    for example, annotator, label in frame[["example", "annotator", "label"]].itertuples(index=False):
        image = rows[example]
        slot = list(workers[image]).index(annotator)  # the worker is one of the image's three
        assert noisy[image, slot] == label
    assert result["n_new"][-2] + result["n_relabeled"][-2] < 40  # the last draws ran out of labels


def test_cifar10n_annotators_config_through_the_cli(cifar10n_root, tiny_encoder, tmp_path, capsys):
    root, _, _, _ = cifar10n_root
    overrides = ["dataset.encoder=tiny", "data.pool_size=60", "data.n_initial=20", "loop.rounds=3",
                 "loop.batch_size=10", "loop.n_folds=2", "models.linear_probe.params={epochs: 5, batch_size: 50}"]
    argv = ["run", "cifar10n_annotators", "--set", *overrides, "--methods", "random", "activelab",
            "activelab_per_round", "--seeds", "0", "--results-dir", str(tmp_path / "res"),
            "--data-root", str(root), "--no-download", "--no-progress", "--no-figures"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0, capsys.readouterr().err
    assert "ran 3 job(s)" in capsys.readouterr().out
    for method in ("random", "activelab", "activelab_per_round"):
        folder = tmp_path / "res" / "cifar10n_annotators" / "linear_probe" / method
        assert np.load(folder / "n_annotations_seed0.npy").tolist() == [20, 30, 40]
        per_example = np.load(folder / "annotations_per_example_seed0.npy")
        assert (per_example >= 1).all() and (per_example <= 3).all()
    meta = json.loads((tmp_path / "res" / "cifar10n_annotators" / "linear_probe" / "activelab_per_round"
                       / "run_seed0.json").read_text())
    assert meta["config"]["loop"]["annotator_columns"] == "per_round"


# ------------------------------------------------------------------------------------------ bring your own


def _byo_files(folder: Path, n=90, n_classes=3, seed=0):
    """``labels.csv`` (string annotator ids, 1-3 labels per example), ``features.npy``, ``truth.npy``."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % n_classes
    names = [f"worker-{c}" for c in "abcdefg"]
    rows = []
    for example in range(n):
        for name in rng.choice(names, size=1 + example % 3, replace=False):
            label = truth[example] if rng.random() < 0.8 else rng.integers(n_classes)
            rows.append({"example": example, "annotator": name, "label": int(label)})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "labels.csv", index=False)
    np.save(folder / "features.npy", _features(truth, seed + 1, dim=5))
    np.save(folder / "truth.npy", truth)
    return table


def _byo_yaml(folder: Path, labels="labels.csv", **data):
    config = {
        "name": "byo",
        "task": "multiannotator",
        "data": {"pool": "label_file", "labels": labels, "features": "features.npy", "true_labels": "truth.npy",
                 "n_initial": 20, "test_fraction": 0.3, **data},
        "loop": {"rounds": 3, "batch_size": 10, "n_folds": 2, "annotator_columns": "true_identity"},
        "seeds": [0],
        "models": {"logistic_regression": {"methods": ["random", "activelab"]}},
    }
    path = folder / "byo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_label_file_benchmark_through_the_cli(tmp_path, monkeypatch, capsys):
    table = _byo_files(tmp_path)
    _byo_yaml(tmp_path)
    done = _run_main(["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures"], tmp_path,
                     monkeypatch, capsys)
    assert done.returncode == 0, done.stderr
    assert "ran 2 job(s)" in done.stdout
    for method in ("random", "activelab"):
        folder = tmp_path / "res" / "byo" / "logistic_regression" / method
        assert np.load(folder / "n_annotations_seed0.npy").tolist() == [20, 30, 40]
        assert (np.load(folder / "model_accuracy_seed0.npy") > 0.6).all()
    # the same pool in process: string ids encoded in sorted order, held-out examples' labels dropped
    monkeypatch.chdir(tmp_path)  # data paths are relative to the working directory
    pool = build_pool({}, yaml.safe_load((tmp_path / "byo.yaml").read_text())["data"])
    assert pool.info["pool"] == "label_file" and pool.source.n_annotators <= 7
    pool_rows = pool.info["pool_rows"]
    assert pool_rows.size == 63 and pool.X_test.shape == (27, 5)
    assert pool.info["n_annotations_available"] == int(table.example.isin(pool_rows).sum())
    codes = {name: code for code, name in enumerate(sorted(table.annotator.unique()))}
    merged = pool.initial.assign(example=pool_rows[pool.initial.example]).merge(
        table.assign(annotator=table.annotator.map(codes)), on=["example", "annotator"], suffixes=("", "_file"))
    assert len(merged) == 20 and (merged.label == merged.label_file).all()


def test_label_file_in_parquet(tmp_path, monkeypatch, capsys):
    if not _has_parquet_engine():
        pytest.skip("no Parquet engine installed (pyarrow or fastparquet)")
    table = _byo_files(tmp_path)
    table.to_parquet(tmp_path / "labels.parquet")
    _byo_yaml(tmp_path, labels="labels.parquet")
    done = _run_main(["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures"], tmp_path,
                     monkeypatch, capsys)
    assert done.returncode == 0, done.stderr


def _has_parquet_engine():
    for name in ("pyarrow", "fastparquet"):
        try:
            __import__(name)
            return True
        except ImportError:
            pass
    return False


def _drop_column(folder):
    pd.read_csv(folder / "labels.csv").drop(columns="label").to_csv(folder / "labels.csv", index=False)


def _edit_labels(folder, change):
    table = pd.read_csv(folder / "labels.csv")
    change(table).to_csv(folder / "labels.csv", index=False)


BAD_FILES = {
    "unknown-example": (lambda f: _edit_labels(f, lambda t: t.assign(example=t.example.where(t.index != 5, 500))),
                        {}, "example outside 0..89"),
    "label-out-of-range": (lambda f: _edit_labels(f, lambda t: t.assign(label=t.label.where(t.index != 5, -1))),
                           {}, "label outside 0..2"),
    "label-above-n_classes": (lambda f: _edit_labels(f, lambda t: t.assign(label=t.label.where(t.index != 5, 4))),
                              {"n_classes": 3}, "label outside 0..2"),
    "duplicate-rows": (lambda f: _edit_labels(f, lambda t: pd.concat([t, t.iloc[[7]]])), {}, "duplicate (example, annotator)"),
    "missing-column": (_drop_column, {}, "missing column(s) ['label']"),
    "missing-file": (lambda f: (f / "features.npy").unlink(), {}, "features.npy not found"),
    "nan-features": (lambda f: np.save(f / "features.npy", np.where(np.eye(90, 5, dtype=bool), np.nan, 1.0)), {},
                     "NaN or inf"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_label_files_exit_2_with_one_line_before_any_job(case, tmp_path, monkeypatch, capsys):
    spoil, data, message = BAD_FILES[case]
    _byo_files(tmp_path)
    spoil(tmp_path)
    _byo_yaml(tmp_path, **data)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "res" / "byo").exists()


@pytest.mark.parametrize("case", [pytest.param("duplicate-rows", marks=pytest.mark.slow), "missing-file"])
def test_bad_label_files_through_the_real_cli(case, tmp_path):
    """``python -m active_learning`` in a subprocess: the fast representative of the real CLI process (every case also
    runs through ``main`` in test_bad_label_files_exit_2_with_one_line_before_any_job)."""
    spoil, data, message = BAD_FILES[case]
    _byo_files(tmp_path)
    spoil(tmp_path)
    _byo_yaml(tmp_path, **data)
    done = _cli(["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not (tmp_path / "res" / "byo").exists()


# ----------------------------------------------------------------------------------------------------- list


def test_list_names_pools_and_models_with_their_family(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    pools = next(line for line in out.splitlines() if line.startswith("pools: "))
    for name in ("tabular", "cifar10h", "cifar10n_annotators", "label_file"):
        assert f"{name} (" in pools
    models = next(line for line in out.splitlines() if line.startswith("models: "))
    for entry in ("extra_trees (scikit-learn", "logistic_regression (scikit-learn", "linear_probe (torch",
                  "resnet18_cifar (torch"):
        assert entry in models
    assert main(["list", "pools"]) == 0
    assert "label_file (bring your own" in capsys.readouterr().out
