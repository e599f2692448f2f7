"""The round engine under both protocols: one owner of annotation, NAS `loop.rounds`, ActiveLab with a noise filter
as its cleaner, noise-aware re-labeling, and the NAS paper's image learner from a YAML."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from active_learning.budgets import BudgetSchedule
from active_learning.config import ConfigError, load_config
from active_learning.learners import get_learner
from active_learning.loops.engine import run_rounds
from active_learning.loops.metrics import FILTER_METRICS
from active_learning.loops.multiannotator import METRICS, MultiAnnotatorLoopConfig, run_multiannotator_loop
from active_learning.loops.noisy_single_annotator import NoisyLoopConfig, nas_plan, run_noisy_loop
from active_learning.multiannotator import build_tabular_pool
from active_learning.multiannotator.methods import ScoringInputs, get_method
from active_learning.noise_filters import get_filter
from active_learning.oracle import NoisyOracle
from active_learning.pools import DataAccess
from active_learning.runner import run_grid
from active_learning.strategies import get_strategy

from conftest import nas_toy_config, toy_config

import image_helpers as H

FAST = {"extra_trees": {"n_estimators": 10}}


@pytest.fixture
def pool(toy_dataset):
    return build_tabular_pool(toy_dataset, seed=5, test_fraction=0.3, unlabeled_fraction=0.6, n_annotators=8,
                              trace_fraction=0.6, drop_prob=0.9)


def _clusters(n_classes=4, per_class=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, d)) * 4
    y = np.repeat(np.arange(n_classes), per_class)
    X = centres[y] + rng.normal(size=(y.size, d))
    return X, y


class CountingOracle(NoisyOracle):
    """A noisy oracle that counts how often each point's label is asked for."""

    def reset(self):
        super().reset()
        self.asked = np.zeros(self.n_samples, dtype=np.int64)

    def query(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        np.add.at(self.asked, idx, 1)
        return super().query(idx)


# ------------------------------------------------------------------------------------------- one owner of labels


@pytest.mark.parametrize("method, params", [("npc", {"delta": 1.5}), ("maxherding_nas", {"sigma": 1.0}),
                                            ("random", {})])
def test_nas_reveals_each_label_once(method, params):
    """The engine owns annotation: a NAS strategy reveals its share labels through the engine, and the engine does
    not ask the oracle again for them (before the engine, the loop queried every pick a second time)."""
    X, y = _clusters()
    oracle = CountingOracle.symmetric(y, 0.3, np.random.default_rng(0))
    out = run_noisy_loop(X, X[:20], y[:20], oracle, get_strategy(method, **params), get_filter("knn"),
                         get_learner("one_nn"), BudgetSchedule((8, 8, 8)), seed=0)
    assert out["selected"].size == 24 == np.unique(out["selected"]).size
    assert oracle.asked[out["selected"]].tolist() == [1] * 24
    assert oracle.asked.sum() == 24
    # the annotation table holds each pick once, in selection order
    assert out.annotations["example"].tolist() == out["selected"].tolist()


def test_nas_run_through_the_plan_equals_run_noisy_loop():
    X, y = _clusters(seed=2)
    args = lambda: (X, X[:30], y[:30], NoisyOracle.symmetric(y, 0.4, np.random.default_rng(1)),  # noqa: E731
                    get_strategy("npc", delta=1.5), get_filter("knn"), get_learner("one_nn"), BudgetSchedule((6, 6)))
    direct = run_noisy_loop(*args(), seed=3)
    planned = run_rounds(nas_plan(*args(), seed=3))
    assert np.array_equal(direct["accuracy"], planned["accuracy"])
    assert np.array_equal(direct["selected"], planned.targets.examples)


# ------------------------------------------------------------------------------------------- NAS loop settings


def test_nas_loop_rounds_cuts_the_schedule():
    schedule = BudgetSchedule((5, 6, 7), initial_size=2)
    assert NoisyLoopConfig(rounds=2).schedule(schedule) == BudgetSchedule((5, 6), initial_size=2)
    assert NoisyLoopConfig().schedule(schedule) is schedule
    with pytest.raises(ValueError, match="more than the 3 budgets"):
        NoisyLoopConfig(rounds=4).schedule(schedule)
    with pytest.raises(ValueError, match="positive integer"):
        NoisyLoopConfig(rounds=0)


def _quiet_grid(config, tmp_path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_grid(config, results_dir=tmp_path, n_jobs=1, backend="sequential", progress=False, **kwargs)


def test_set_loop_rounds_runs_on_a_nas_benchmark(tmp_path):
    config = nas_toy_config(loop={"filter": "knn", "rounds": 2})
    report = _quiet_grid(config, tmp_path)
    assert len(report.ran) == 2
    accuracy = np.load(tmp_path / "nas_toy" / "one_nn" / "npc" / "accuracy_seed0.npy")
    assert accuracy.shape == (2,)


def test_nas_loop_rounds_beyond_the_schedule_is_one_line_before_any_job(tmp_path):
    with pytest.raises(ConfigError, match=r"loop.rounds=7 is more than the 3 budgets"):
        _quiet_grid(nas_toy_config(loop={"filter": "knn", "rounds": 7}), tmp_path)
    assert not (tmp_path / "nas_toy").exists()


# ------------------------------------------------------------------------------------------- ActiveLab + filters


def test_activelab_with_a_noise_filter_as_its_cleaner(pool):
    config = MultiAnnotatorLoopConfig(rounds=3, batch_size=20, n_folds=3, filter="ideal")
    result = run_multiannotator_loop(pool, "activelab", ["extra_trees"], config, 0, model_params=FAST)
    for name in (*METRICS, *FILTER_METRICS, "n_train"):
        assert result[name].shape == (3,), name
    # the ideal filter flags exactly the wrong consensus labels, and only the kept ones are trained on
    assert np.allclose(result["filter_precision"], 1.0)
    assert np.allclose(result["n_train"], result["n_labeled"] * (1 - result["true_noise_ratio"]))
    assert (result["n_train"] < result["n_labeled"]).any()
    # train_on_all keeps every labeled example in training
    config_all = MultiAnnotatorLoopConfig(rounds=2, batch_size=20, n_folds=3, filter="ideal", train_on_all=True)
    result_all = run_multiannotator_loop(pool, "activelab", ["extra_trees"], config_all, 0, model_params=FAST)
    assert np.array_equal(result_all["n_train"], result_all["n_labeled"])


def test_without_a_filter_the_records_are_unchanged(pool):
    config = MultiAnnotatorLoopConfig(rounds=2, batch_size=20, n_folds=3)
    result = run_multiannotator_loop(pool, "entropy", ["extra_trees"], config, 0, model_params=FAST)
    assert list(result) == list(METRICS)


def test_noise_aware_relabel_scores():
    probs = np.array([[[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]])
    inputs = ScoringInputs(labels_multiannotator=np.zeros((3, 1)), consensus_labels=np.array([0, 0, 1]),
                           pred_probs=probs, pred_probs_unlabeled=np.array([[[0.55, 0.45], [0.95, 0.05]]]),
                           annotation_counts=np.ones(3, dtype=int), n_classes=2,
                           flagged=np.array([False, True, True]))
    labeled, unlabeled = get_method("noise_aware_relabel").score(inputs, np.random.default_rng(0))
    assert labeled[0] == np.inf  # not flagged: never re-asked while anything else can be labeled
    assert labeled[1:] == pytest.approx([0.3 - 1, 0.4 - 1])  # the model's belief in the current label, minus 1
    assert unlabeled == pytest.approx([0.55 - 1, 0.95 - 1])  # least confidence
    with pytest.raises(ValueError, match="loop.filter"):
        get_method("noise_aware_relabel").score(ScoringInputs(**{**inputs.__dict__, "flagged": None}),
                                                np.random.default_rng(0))


def test_noise_aware_relabel_asks_again_only_about_flagged_labels(pool):
    """One label per example at the start; with the ideal filter the flagged labels are exactly the wrong ones, so
    every example re-asked after round 0 started with a wrong label."""
    config = MultiAnnotatorLoopConfig(rounds=2, batch_size=40, n_folds=3, initial_labels="majority_vote",
                                      filter="ideal", train_on_all=True)
    result = run_multiannotator_loop(pool, "noise_aware_relabel", ["extra_trees"], config, 0, model_params=FAST)
    table = result.annotations
    start = table[table["round"] == 0].set_index("example")["label"]
    asked_again = table[(table["round"] == 1) & table["example"].isin(start.index)]["example"].to_numpy()
    assert asked_again.size > 0 and result["n_relabeled"][0] == asked_again.size
    assert (start.loc[asked_again].to_numpy() != pool.y_pool[asked_again]).all()


def test_noise_aware_relabel_without_a_filter_stops_before_any_job(tmp_path):
    config = toy_config()
    config["models"] = {"extra_trees": {"params": {"n_estimators": 5}, "methods": ["noise_aware_relabel"]}}
    with pytest.raises(ConfigError, match="noise_aware_relabel.*set loop.filter"):
        _quiet_grid(config, tmp_path)
    with pytest.raises(ValueError, match="set loop.filter"):
        run_multiannotator_loop(build_tabular_pool(__import__("conftest").make_blobs(), seed=5, n_annotators=4),
                                "noise_aware_relabel", ["extra_trees"], MultiAnnotatorLoopConfig(rounds=2), 0)


def test_an_unknown_loop_filter_is_one_line(tmp_path):
    config = toy_config()
    config["loop"]["filter"] = "cross_valdation"
    with pytest.raises(ConfigError, match="cross_valdation"):
        _quiet_grid(config, tmp_path)


# ------------------------------------------------------------------------------------------- NAS image learner


def test_nas_trains_an_image_learner_on_pixels():
    """Features for the strategy and filter, 32x32 images for the learner (the NAS paper's ResNet-18 set-up)."""
    images = H.random_images(60, seed=0)
    y = np.arange(60) % 3
    X = images.reshape(60, -1)[:, ::97].astype(float)
    oracle = NoisyOracle.symmetric(y, 0.2, np.random.default_rng(0))
    learner = get_learner("resnet18_cifar", epochs=1, batch_size=8, device="cpu", eval_batch_size=32)
    out = run_noisy_loop(X, X[:12], y[:12], oracle, get_strategy("npc", delta=0.9), get_filter("knn"), learner,
                         BudgetSchedule((6, 6)), seed=0, train_inputs=images, test_inputs=images[:12])
    assert out["accuracy"].shape == (2,) and np.isfinite(out["accuracy"]).all()


def test_the_nas_resnet18_config_runs_on_a_miniature(tmp_path, monkeypatch):
    from active_learning.encoders import ENCODERS

    monkeypatch.setitem(ENCODERS._entries, "tiny", H.TinyEncoder)
    for name in ("AL_DATA_MIRROR", "AL_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "root"
    H.make_jpeg_mirror(root / "cifar10", "train", H.random_images(60, seed=0), np.arange(60) % 10)
    H.make_jpeg_mirror(root / "cifar10", "test", H.random_images(20, seed=1), np.arange(20) % 10)
    config = load_config("cifar10n_resnet18", {
        "dataset": {"encoder": "tiny", "encoder_params": None},
        "data": {"budget": {"samples_per_class": [1, 2]}},
        "models": {"resnet18_cifar": {"params": {"epochs": 1, "batch_size": 10, "device": "cpu"}}},
    })
    assert config["dataset"]["inputs"] == "pixels"
    report = _quiet_grid(config, tmp_path / "res", variants=["sym0.2_cv_clean"], methods=["random", "npc"], seeds=[0],
                         data=DataAccess(root=str(root), download=False))
    assert len(report.ran) == 2
    accuracy = np.load(tmp_path / "res" / "cifar10n_resnet18" / "sym0.2_cv_clean" / "resnet18_cifar" / "npc" /
                       "accuracy_seed0.npy")
    assert accuracy.shape == (2,)


def test_an_image_learner_without_pixel_inputs_is_one_line(tmp_path):
    config = nas_toy_config(models={"resnet18_cifar": {"methods": ["random"]}})
    with pytest.raises(ConfigError, match="inputs: pixels"):
        _quiet_grid(config, tmp_path)
