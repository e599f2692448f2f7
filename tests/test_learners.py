"""Learners (linear probe, 1-NN, CIFAR ResNet-18 smoke test) and the noisy single-annotator loop."""

from __future__ import annotations

import numpy as np
import pytest

from active_learning.budgets import constant_budgets, samples_per_class_budgets
from active_learning.learners import CifarResNet18, get_learner, list_learners
from active_learning.loops.noisy_single_annotator import METRICS, run_noisy_loop
from active_learning.noise_filters import get_filter
from active_learning.oracle import NoisyOracle
from active_learning.strategies import get_strategy

C = 4


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(C, 8)) * 3
    y = rng.integers(0, C, n)
    return (centers[y] + rng.normal(size=(n, 8))).astype(np.float32), y


def test_registry():
    assert {"linear_probe", "one_nn", "resnet18_cifar"} <= set(list_learners())


@pytest.mark.parametrize("name, params", [("linear_probe", {"epochs": 30}), ("one_nn", {})])
def test_feature_learners_fit_and_same_init(name, params):
    X, y = _blobs()
    a = get_learner(name, **params).fit(X[:100], y[:100], np.random.default_rng(0), n_classes=C)
    b = get_learner(name, **params).fit(X[:100], y[:100], np.random.default_rng(0), n_classes=C)
    pa = a.predict_proba(X[100:])
    np.testing.assert_allclose(pa, b.predict_proba(X[100:]))
    assert pa.shape == (200, C) and np.allclose(pa.sum(1), 1)
    assert (a.predict(X[100:]) == y[100:]).mean() > 0.9


def test_learner_errors():
    lp = get_learner("linear_probe", epochs=1)
    with pytest.raises(ValueError, match="fit"):
        lp.predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="out of range"):
        lp.fit(np.zeros((2, 3)), np.array([0, 5]), np.random.default_rng(0), n_classes=3)
    with pytest.raises(ValueError, match="empty"):
        lp.fit(np.zeros((0, 3)), np.zeros(0, int), np.random.default_rng(0))


@pytest.mark.slow
def test_resnet18_cifar_smoke():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    learner = get_learner("resnet18_cifar", epochs=1, batch_size=2, device="cpu")
    learner.fit(images, np.array([0, 1]), rng, n_classes=3)
    p = learner.predict_proba(images)
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1)
    assert learner.predict_mc_proba(images, n_samples=2).shape == (2, 2, 3)
    net = CifarResNet18(10)
    assert sum(p.numel() for p in net.parameters()) > 11_000_000  # ResNet-18 size


def _loop(strategy, filt, train_on_all=False, seed=0, budgets=None):
    X, y = _blobs(300, seed=1)
    Xt, yt = _blobs(100, seed=2)
    oracle = NoisyOracle.symmetric(y, 0.3, np.random.default_rng(0), n_classes=C)
    return run_noisy_loop(
        X, Xt, yt, oracle, strategy, filt, get_learner("linear_probe", epochs=5),
        budgets or constant_budgets(12, 3), seed, train_on_all=train_on_all,
    ), oracle


def test_noisy_loop_outputs_and_reproducibility():
    out, oracle = _loop(get_strategy("npc", delta=0.6), get_filter("knn", min_k=1))
    for m in METRICS:
        assert out[m].shape == (3,)
    assert out["n_labeled"].tolist() == [12, 24, 36]
    assert out["selected"].shape == (36,) and np.unique(out["selected"]).size == 36
    assert out["round_sizes"].tolist() == [12, 12, 12]
    truth = oracle.ground_truth()
    assert np.isclose(out["true_noise_ratio"][-1], np.mean(oracle.query(out["selected"]) != truth[out["selected"]]))
    again, _ = _loop(get_strategy("npc", delta=0.6), get_filter("knn", min_k=1))
    np.testing.assert_array_equal(out["selected"], again["selected"])
    np.testing.assert_array_equal(out["accuracy"], again["accuracy"])


@pytest.mark.parametrize("name, params", [("random", {}), ("margin", {}), ("maxherding_nas", {"sigma": 0.4})])
def test_noisy_loop_strategies_and_train_on_all(name, params):
    out, _ = _loop(get_strategy(name, **params), get_filter("ideal"), train_on_all=(name == "random"),
                   budgets=samples_per_class_budgets([2, 4], C, 0.3, initial_size=4))
    assert out["round_sizes"].tolist() == [12, 11]  # ceil(8/0.7)=12, ceil(16/0.7)=23
    if name == "random":
        assert out["n_train"].tolist() == out["n_labeled"].tolist()
    else:  # the ideal filter keeps exactly the clean labels
        assert np.allclose(out["filter_precision"], 1.0) and np.allclose(out["filter_recall"], 1.0)


def test_noisy_loop_reports_each_round():
    from active_learning.budgets import constant_budgets
    from active_learning.loops.noisy_single_annotator import run_noisy_loop
    from active_learning.oracle import NoisyOracle
    from active_learning.strategies import get_strategy

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 4)), rng.integers(0, 3, size=80)
    oracle = NoisyOracle.symmetric(y, 0.2, np.random.default_rng(1), n_classes=3)
    seen = []
    run_noisy_loop(X, X[:20], y[:20], oracle, get_strategy("random"), get_filter("none"), get_learner("linear_probe", epochs=2),
                   constant_budgets(6, 3), 0, on_round=seen.append)
    assert seen == [0, 1, 2]
