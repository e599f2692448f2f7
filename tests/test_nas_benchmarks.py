"""The NAS image benchmarks (benchmarks/cifar10n, cifar100, clothing1m) end to end on miniature files in the official
formats, their missing-data errors through the CLI, and the pieces they rely on: variant-level dataset overrides,
the CIFAR-100 asymmetric (confusion-matrix) noise model, real noise with unknown true labels, the documented budgets."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401 - imported once here so no single test pays for it

from active_learning.budgets import samples_per_class_budgets
from active_learning.config import BENCHMARKS_DIR, ConfigError, expand_jobs, load_config
from active_learning.datasets import cifar
from active_learning.oracle import NoisyOracle, load_confusion_matrix
from active_learning.pools import NOISE_MODELS, DataAccess, FeaturePool
from active_learning.pools.features import make_oracle
from active_learning.runner import run_grid
from active_learning.utils.io import md5_of_file

import image_helpers as H

REPO = Path(__file__).resolve().parents[1]
ALL_STRATEGIES = ["random", "probcover", "npc", "weighted_npc", "maxherding", "maxherding_nas", "typiclust", "coreset",
                  "coreset_nas", "margin"]
#: Shrinks every benchmark for the miniatures: a tiny encoder (8-d), two rounds (spc 1, 2), a short linear probe.
SMALL = {"dataset": {"encoder": "tiny", "encoder_params": None}, "data": {"budget": {"samples_per_class": [1, 2]}},
         "models": {"linear_probe": {"params": {"epochs": 5}}}}


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    for name in ("AL_DATA_MIRROR", "AL_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tiny_encoder(monkeypatch):
    from active_learning.encoders import ENCODERS

    monkeypatch.setitem(ENCODERS._entries, "tiny", H.TinyEncoder)  # jobs run in this process (n_jobs=1)


def _run(name, root, results, *, variants, methods, extra=None):
    overrides = dict(SMALL)
    if extra:
        overrides = {**overrides, **extra}
    config = load_config(name, overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JPEG mirror, miniature md5s, tiny pools
        report = run_grid(config, results_dir=results, variants=variants, methods=methods, seeds=[0], n_jobs=1,
                          backend="sequential", progress=False, data=DataAccess(root=str(root), download=False))
    assert len(report.ran) == len(variants) * len(methods)
    return config


def _arrays(results, name, variant, method):
    folder = results / name / variant / "linear_probe" / method
    meta = json.loads((folder / "run_seed0.json").read_text())
    out = {key: np.load(folder / f"{key}_seed0.npy") for key in meta["metrics"]}
    return out, meta


def _cumulative(spc, n_classes, rate):
    return samples_per_class_budgets(spc, n_classes, rate).cumulative.tolist()


# ------------------------------------------------------------------------------------------------ the configs


def test_configs_expand_to_the_documented_grids():
    for name, n_jobs, n_variants in (("cifar10n", 1800, 36), ("cifar100", 1200, 24), ("clothing1m", 100, 2)):
        config = load_config(name)
        assert load_config(name) is not None and Path(BENCHMARKS_DIR / name / f"{name}.yaml").is_file()
        assert len(config["variants"]) == n_variants and len(expand_jobs(config)) == n_jobs
        assert [m if isinstance(m, str) else m["name"] for m in config["models"]["linear_probe"]["methods"]] == ALL_STRATEGIES
        assert config["seeds"] == [0, 1, 2, 3, 4]
    jobs = {job.variant: job.resolved for job in expand_jobs(load_config("cifar10n"), methods=["npc"], seeds=[0])}
    assert jobs["worse_aum_all"]["dataset"] == {"name": "cifar10n", "encoder": "efficientnet_lite0", "noise_type": "worse"}
    assert jobs["worse_aum_all"]["loop"] == {"filter": "aum", "train_on_all": True}
    assert jobs["sym0.5_cv_clean"]["dataset"] == {"name": "cifar10", "encoder": "efficientnet_lite0"}
    assert jobs["sym0.5_cv_clean"]["method_params"] == {"delta": 0.74}
    # the budgets the comments document (spec 4.2)
    budget = {v: r["data"]["budget"] for v, r in jobs.items()}
    assert _cumulative(budget["aggre_cv_clean"]["samples_per_class"], 10, budget["aggre_cv_clean"]["noise_rate"]) == [11, 22, 33, 44, 55]
    assert _cumulative(budget["random1_cv_clean"]["samples_per_class"], 10, budget["random1_cv_clean"]["noise_rate"]) == [13, 25, 37, 49, 61]
    assert _cumulative(budget["worse_cv_clean"]["samples_per_class"], 10, budget["worse_cv_clean"]["noise_rate"]) == [17, 34, 50, 67, 84]
    c100 = {job.variant: job.resolved for job in expand_jobs(load_config("cifar100"), methods=["npc"], seeds=[0])}
    assert c100["cifar100n_cv_all"]["dataset"]["name"] == "cifar100n"
    assert c100["cifar100n_cv_all"]["dataset"]["encoder_params"]["checkpoint"] == "datasets/checkpoints/simclr_cifar100_seed0.pth"
    assert _cumulative([1, 2, 3, 4, 5], 100, c100["cifar100n_cv_all"]["data"]["budget"]["noise_rate"]) == [168, 335, 502, 669, 837]
    assert c100["asym0.4_cv_all"]["data"]["noise"]["type"] == "asymmetric_cifar100"
    clothing = expand_jobs(load_config("clothing1m"), methods=["maxherding_nas"], seeds=[0])
    assert {j.variant: j.resolved["loop"]["filter"] for j in clothing} == {"cv_all": "cross_validation", "aum_all": "aum"}
    assert all(j.resolved["loop"]["train_on_all"] for j in clothing)
    assert clothing[0].resolved["dataset"]["subset_size"] == 100_000
    assert _cumulative([1, 2, 3, 4, 5], 14, clothing[0].resolved["data"]["budget"]["noise_rate"]) == [23, 46, 68, 91, 113]


def test_the_simclr_checkpoint_default_is_where_make_simclr_writes():
    """``make simclr DATASET=cifar100`` (pretrain_simclr's default out_path) writes the config's default checkpoint."""
    source = (REPO / "active_learning" / "features" / "simclr.py").read_text()
    assert 'base / "checkpoints" / f"simclr_{name}_seed{seed}.pth"' in source
    checkpoint = load_config("cifar100")["dataset"]["encoder_params"]["checkpoint"]
    assert checkpoint == str(Path("datasets") / "checkpoints" / "simclr_cifar100_seed0.pth")


# --------------------------------------------------------------------------------------------- CIFAR-10(N)

N10, N10_TEST = 100, 30


@pytest.fixture
def cifar10n_root(tmp_path):
    """CIFAR-10 train/test as the JPEG mirror in the data root, and ``cifar_n/CIFAR-10_human.pt``."""
    root = tmp_path / "root"
    train_labels = np.random.default_rng(0).permutation(np.arange(N10) % 10)
    H.make_jpeg_mirror(root / "cifar10", "train", H.random_images(N10, seed=0), train_labels)
    H.make_jpeg_mirror(root / "cifar10", "test", H.random_images(N10_TEST, seed=1), np.arange(N10_TEST) % 10)
    rng = np.random.default_rng(1)
    noisy = np.stack([np.where(rng.random(N10) < p, (train_labels + rng.integers(1, 10, N10)) % 10, train_labels)
                      for p in (0.2, 0.2, 0.2)], axis=1)
    aggre = np.array([np.bincount(row, minlength=10).argmax() for row in noisy])
    worse = np.array([next((v for v in row if v != t), t) for row, t in zip(noisy, train_labels)])
    labels = {"clean_label": train_labels, "random_label1": noisy[:, 0], "random_label2": noisy[:, 1],
              "random_label3": noisy[:, 2], "aggre_label": aggre, "worse_label": worse}
    H.make_human_pt(root / "cifar_n" / "CIFAR-10_human.pt", labels)
    return root, labels


def test_cifar10n_benchmark_runs_every_strategy(cifar10n_root, tiny_encoder, tmp_path):
    root, _ = cifar10n_root
    res = tmp_path / "res"
    _run("cifar10n", root, res, variants=["sym0.2_cv_clean"], methods=ALL_STRATEGIES)
    for method in ALL_STRATEGIES:
        out, meta = _arrays(res, "cifar10n", "sym0.2_cv_clean", method)
        assert out["n_labeled"].tolist() == [13, 25]  # ceil(10 / 0.8), ceil(20 / 0.8)
        assert np.isfinite(out["accuracy"]).all() and out["accuracy"].shape == (2,)
        assert meta["config"]["data"]["noise"] == {"type": "symmetric", "rate": 0.2}
        assert len(set(out["selected"].tolist())) == 25  # no point queried twice


@pytest.mark.slow  # the fast end-to-end run of this task is test_cifar10n_benchmark_runs_every_strategy
def test_cifar10n_real_and_asymmetric_noise_variants(cifar10n_root, tiny_encoder, tmp_path):
    root, labels = cifar10n_root
    res = tmp_path / "res"
    variants = {"aggre_ideal_clean": ("aggre_label", [11, 22]), "random1_cv_all": ("random_label1", [13, 25]),
                "worse_aum_clean": ("worse_label", [17, 34]), "asym0.4_aum_all": (None, [17, 34])}
    methods = ["random", "npc", "maxherding_nas", "coreset_nas"]
    _run("cifar10n", root, res, variants=list(variants), methods=methods)
    clean = labels["clean_label"]
    for variant, (key, cumulative) in variants.items():
        for method in methods:
            out, meta = _arrays(res, "cifar10n", variant, method)
            assert out["n_labeled"].tolist() == cumulative, (variant, method)
            if key is None:
                continue
            assert meta["config"]["dataset"]["name"] == "cifar10n"
            noisy = labels[key]
            for n, ratio in zip(cumulative, out["true_noise_ratio"]):  # the oracle answers with the chosen label set
                picked = out["selected"][:n]
                assert ratio == pytest.approx(np.mean(noisy[picked] != clean[picked]))
            if variant == "aggre_ideal_clean":  # the ground-truth filter keeps exactly the correct labels
                assert out["filter_precision"].tolist() == [1.0, 1.0] and out["filter_recall"].tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------------------------ CIFAR-100(N)

N100, N100_TEST = 400, 100


@pytest.fixture
def cifar100_root(tmp_path, monkeypatch):
    """A working directory whose ``datasets/`` holds the CIFAR-100 tarball, ``cifar_n/CIFAR-100_human.pt`` and the
    asymmetric-noise confusion matrix at the config's default path."""
    root = tmp_path / "datasets"
    path, arrays = H.make_cifar100_tarball(root / "cifar100", n_train=N100, n_test=N100_TEST)
    monkeypatch.setattr(cifar.CIFAR100, "tarball", dataclasses.replace(cifar.CIFAR100.tarball, md5=md5_of_file(path)))
    fine = arrays["train"][1]
    rng = np.random.default_rng(3)
    noisy = np.where(rng.random(N100) < 0.4, (fine + rng.integers(1, 100, N100)) % 100, fine)
    H.make_human_pt(root / "cifar_n" / "CIFAR-100_human.pt", {"clean_label": fine, "noisy_label": noisy})
    confusion = np.diag(np.full(100, 60.0)) + rng.integers(0, 3, (100, 100))
    np.save(root / "cifar100" / "confusion_matrix_cifar100_epochs_10.npy", confusion)
    monkeypatch.chdir(tmp_path)  # the config's relative paths (confusion matrix, checkpoint) start here
    return root, fine, noisy


@pytest.mark.slow  # the fast end-to-end run of this task is test_cifar10n_benchmark_runs_every_strategy
def test_cifar100_benchmark_runs(cifar100_root, tiny_encoder, tmp_path):
    root, fine, noisy = cifar100_root
    res = tmp_path / "res"
    variants = {"sym0.2_aum_clean": [125, 250], "asym0.4_cv_all": [167, 334], "cifar100n_ideal_clean": [168, 335]}
    methods = ["random", "npc", "weighted_npc", "maxherding_nas", "margin"]
    _run("cifar100", root, res, variants=list(variants), methods=methods)
    for variant, cumulative in variants.items():
        for method in methods:
            out, meta = _arrays(res, "cifar100", variant, method)
            assert out["n_labeled"].tolist() == cumulative, (variant, method)
            assert np.isfinite(out["accuracy"]).all()
    out, meta = _arrays(res, "cifar100", "cifar100n_ideal_clean", "npc")
    picked = out["selected"][:168]
    assert out["true_noise_ratio"][0] == pytest.approx(np.mean(noisy[picked] != fine[picked]))
    out, _ = _arrays(res, "cifar100", "asym0.4_cv_all", "random")
    assert 0.0 < out["true_noise_ratio"][-1] < 1.0


# --------------------------------------------------------------------------------------------------- Clothing1M


@pytest.mark.slow  # the fast end-to-end run of this task is test_cifar10n_benchmark_runs_every_strategy
def test_clothing1m_benchmark_runs_on_a_recorded_subset(tmp_path, tiny_encoder):
    from active_learning import datasets

    root = tmp_path / "root"
    H.make_clothing1m(root / "clothing1m", n_noisy=150, n_clean_test=30)  # 2 train images with clean labels, -1 else
    res = tmp_path / "res"
    methods = ["random", "npc", "maxherding_nas", "coreset_nas"]
    config = _run("clothing1m", root, res, variants=["cv_all", "aum_all"], methods=methods,
                  extra={"dataset": {**SMALL["dataset"], "subset_size": 100}})
    assert config["dataset"]["subset_size"] == 100
    subset = datasets.load("clothing1m", root=root, download=False, subset_size=100, seed=0)
    assert subset.subset_indices.shape == (100,) and subset.source["subset_indices_sha256"]
    for variant in ("cv_all", "aum_all"):
        for method in methods:
            out, meta = _arrays(res, "clothing1m", variant, method)
            assert out["n_labeled"].tolist() == [23, 46]
            assert out["n_train"].tolist() == [23, 46]  # the linear probe trains on every labeled point
            assert out["selected"].max() < 100  # positions in the subset
            assert meta["config"]["dataset"]["subset_size"] == 100 and meta["config"]["dataset"]["seed"] == 0
    features = sorted((root / "features").rglob("*.json"))
    assert any(json.loads(p.read_text())["spec"]["dataset"]["subset_indices_sha256"] == subset.source["subset_indices_sha256"]
               for p in features)


# ------------------------------------------------------------------------------------------- no data: one line


def _cli(args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AL_DATA")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONWARNINGS"] = "ignore"
    return subprocess.run([sys.executable, "-m", "active_learning", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _cli_in_process(args, cwd, monkeypatch, capsys):
    """What :func:`_cli` does, in this process (no interpreter start and imports: seconds faster)."""
    from active_learning.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as PYTHONWARNINGS=ignore in the subprocess
        returncode = main(list(map(str, args)))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, returncode, out.out, out.err)


MISSING_DATA = [
    ("cifar10n", ["cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]),
    ("cifar100", ["cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"]),
    ("clothing1m", ["noisy_train_key_list.txt", "https://github.com/Cysu/noisy_label", "request access"]),
]


@pytest.mark.parametrize("how", ["in_process", pytest.param("subprocess", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name, needles", MISSING_DATA)
def test_missing_data_stops_before_any_job_with_one_line(name, needles, how, tmp_path, monkeypatch, capsys):
    """Through ``main`` in this process (fast), and through ``python -m active_learning`` (slow: the fast
    representative of a real CLI subprocess is test_pools.py::test_bad_label_files_through_the_real_cli)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["run", name, "--data-root", empty, "--no-download", "--no-progress", "--results-dir", "res"]
    proc = _cli(args, tmp_path) if how == "subprocess" else _cli_in_process(args, tmp_path, monkeypatch, capsys)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0]
    assert str(empty) in lines[0]  # where it looked
    assert "ran " not in proc.stdout
    assert not list((tmp_path / "res").rglob("*.npy")) and not (tmp_path / "res" / name).exists()
    assert not list(empty.rglob("*"))  # nothing downloaded or extracted


# ---------------------------------------------------------------------- CIFAR-100 asymmetric noise (spec 4.3)


def _pool(y, n_classes, noisy_labels=None):
    X = np.zeros((y.size, 2), np.float32)
    return FeaturePool(X=X, y=y, X_test=X[:2], y_test=y[:2], n_classes=n_classes, noisy_labels=noisy_labels)


def test_asymmetric_cifar100_follows_the_confusion_procedure(tmp_path):
    assert "asymmetric_cifar100" in NOISE_MODELS.names()
    C, per_class = 100, 200  # large enough that the last class can absorb the rounding (no class-size cap)
    y = np.repeat(np.arange(C), per_class)
    T = np.zeros((C, C))
    T[np.arange(C), np.arange(C)] = 100 - (np.arange(C) % 5 + 1) * 4  # accuracy 96 %, 92 %, ... 80 % (rows of 100)
    T[np.arange(C), (np.arange(C) + 1) % C] = 100 - T[np.arange(C), np.arange(C)]  # confused with the next class only
    path = tmp_path / "confusion.npy"
    np.save(path, T)
    rate = 0.3
    oracle = make_oracle(_pool(y, C), {"type": "asymmetric_cifar100", "rate": rate, "confusion": str(path)}, 7)
    noisy = oracle.query(np.arange(y.size))
    flipped = noisy != y
    n = int(np.floor(rate * y.size))
    assert flipped.sum() == n  # exactly floor(r N) flips
    assert np.array_equal(noisy[flipped], (y[flipped] + 1) % C)  # new label from the row without its diagonal
    w = 1 - np.diag(T) / C  # share of class c proportional to 1 - T_cc / C (rows of C = 100 test images)
    expected = np.floor(n * w / w.sum()).astype(int)
    expected[-1] = n - expected[:-1].sum()  # the last class absorbs the rounding
    assert np.array_equal(np.bincount(y[flipped], minlength=C), expected)
    again = make_oracle(_pool(y, C), {"type": "asymmetric_cifar100", "rate": rate, "confusion": str(path)}, 7)
    assert np.array_equal(again.query(np.arange(y.size)), noisy)  # deterministic per seed
    other = make_oracle(_pool(y, C), {"type": "asymmetric_cifar100", "rate": rate, "confusion": str(path)}, 8)
    assert not np.array_equal(other.query(np.arange(y.size)), noisy)
    direct = NoisyOracle.asymmetric_cifar100(y, rate, T, np.random.default_rng(7))
    assert np.array_equal(direct.query(np.arange(y.size)), noisy)


def test_asymmetric_cifar100_errors(tmp_path):
    y = np.repeat(np.arange(100), 2)
    with pytest.raises(ValueError, match="data.noise.confusion"):
        make_oracle(_pool(y, 100), {"type": "asymmetric_cifar100", "rate": 0.2}, 0)
    missing = tmp_path / "nope.npy"
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        make_oracle(_pool(y, 100), {"type": "asymmetric_cifar100", "rate": 0.2, "confusion": str(missing)}, 0)
    np.save(tmp_path / "small.npy", np.eye(10))
    with pytest.raises(ValueError, match="10-class confusion matrix for a 100-class"):
        load_confusion_matrix(tmp_path / "small.npy", 100)
    with pytest.raises(ValueError, match="100 x 100"):
        NoisyOracle.asymmetric_cifar100(np.arange(10), 0.2, np.eye(10), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown data.noise key"):
        make_oracle(_pool(y, 100), {"type": "symmetric", "rate": 0.2, "confusion": "x.npy"}, 0)


def test_asymmetric_cifar100_needs_the_confusion_file_before_any_job(tmp_path, tiny_encoder, monkeypatch):
    """The asymmetric variant without its confusion matrix stops in validation with the file's name."""
    root = tmp_path / "datasets"
    path, _ = H.make_cifar100_tarball(root / "cifar100", n_train=N100, n_test=N100_TEST)
    monkeypatch.setattr(cifar.CIFAR100, "tarball", dataclasses.replace(cifar.CIFAR100.tarball, md5=md5_of_file(path)))
    monkeypatch.chdir(tmp_path)
    config = load_config("cifar100", SMALL)
    with pytest.raises(FileNotFoundError, match="confusion_matrix_cifar100_epochs_10.npy"):
        run_grid(config, results_dir=tmp_path / "res", variants=["asym0.4_cv_clean"], methods=["random"], seeds=[0],
                 backend="sequential", progress=False, data=DataAccess(root=str(root), download=False))
    assert not (tmp_path / "res" / "cifar100").exists()


def test_cifar100_without_its_checkpoint_stops_before_any_job(tmp_path, monkeypatch):
    """The config's own encoder (no override): the SimCLR checkpoint `make simclr` writes is missing."""
    root = tmp_path / "datasets"
    path, _ = H.make_cifar100_tarball(root / "cifar100", n_train=N100, n_test=N100_TEST)
    monkeypatch.setattr(cifar.CIFAR100, "tarball", dataclasses.replace(cifar.CIFAR100.tarball, md5=md5_of_file(path)))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="simclr_cifar100_seed0.pth"):
        run_grid(load_config("cifar100"), results_dir=tmp_path / "res", variants=["sym0.2_cv_clean"], methods=["npc"],
                 seeds=[0], backend="sequential", progress=False, data=DataAccess(root=str(root), download=False))
    assert not (tmp_path / "res" / "cifar100").exists()


def test_real_noise_with_unknown_true_labels_counts_the_given_label_as_correct():
    """Clothing1M: clean labels exist for a few train images only (-1 elsewhere)."""
    y = np.array([0, -1, 2, -1, 1])
    given = np.array([1, 3, 2, 0, 1])
    oracle = make_oracle(_pool(y, 4, given), {"type": "real"}, 0)
    assert oracle.query(np.arange(5)).tolist() == given.tolist()
    assert oracle.ground_truth().tolist() == [0, 3, 2, 0, 1]
    assert oracle.noise_rate() == pytest.approx(0.2)


def test_variant_dataset_must_be_a_mapping():
    config = load_config("clothing1m")
    config["variants"] = [{"name": "x", "dataset": "clothing1m"}]
    from active_learning.config import validate_structure

    with pytest.raises(ConfigError, match=r"variants\[0\]\.dataset"):
        validate_structure(config)


def _script(name):
    import importlib.util

    path = REPO / "benchmarks" / "cifar10n" / name
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # the fast end-to-end run of this task is test_cifar10n_benchmark_runs_every_strategy
def test_the_224_px_arms_and_the_evidence_script_run_end_to_end(cifar10n_root, tiny_encoder, tmp_path):
    """Both NAS-evidence arms on miniature CIFAR-10 / CIFAR-10N, then their figures and the cross-arm evidence tables
    (which recompute the class counts from the picks and the runs' own oracles, and stop if the recorded ones differ)."""
    root, _ = cifar10n_root
    res = tmp_path / "res"
    d075 = _run("cifar10n_224_d075", root, res, variants=["sym0.5_ideal_clean", "worse_cv_clean"],
                methods=["random", "probcover", "npc", "maxherding", "maxherding_nas", "coreset", "coreset_nas"])
    assert d075["dataset"]["encoder"] == "tiny"
    _run("cifar10n_224_purity", root, res, variants=["sym0.5_ideal_clean"], methods=["random", "npc"])
    assert load_config("cifar10n_224_d075")["dataset"]["encoder_params"] == {"input_size": 224}
    assert len(expand_jobs(load_config("cifar10n_224_d075"))) == 280 and len(expand_jobs(load_config("cifar10n_224_purity"))) == 200
    assert {j.resolved["method_params"].get("delta") for j in expand_jobs(load_config("cifar10n_224_purity"),
                                                                        methods=["npc"])} == {0.6}
    out, meta = _arrays(res, "cifar10n_224_d075", "sym0.5_ideal_clean", "npc")
    assert meta["info"]["coverage"]["delta"] == 0.75 and out["n_clean_classes"].shape == (2,)
    figures = _script("figures_224.py").write_figures(res)
    assert sorted(p.name for p in figures) == ["cifar10n_224_d075_accuracy_cv.png", "cifar10n_224_d075_accuracy_ideal.png",
                                               "cifar10n_224_purity_accuracy_ideal.png"]
    evidence = _script("nas_evidence.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = evidence.write(res, tmp_path / "evidence", str(root), None)
    text = (tmp_path / "evidence" / "nas_evidence.md").read_text()
    assert "| 224 px, δ = 0.75 (original code) | sym0.5 | 1 |" in text and "NPC − ProbCover" in text
    assert all(p.stat().st_size > 0 for p in paths)
