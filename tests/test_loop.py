import numpy as np
import pytest

from active_learning.loops.multiannotator import (
    DIAGNOSTICS,
    METRICS,
    MultiAnnotatorLoopConfig,
    run_multiannotator_loop,
)
from active_learning.multiannotator.round import RoundModels
from active_learning.multiannotator.round import ensemble_accuracy as _ensemble_accuracy
from active_learning.loops.metrics import FILTER_METRICS
from active_learning.multiannotator import build_tabular_pool
from active_learning.multiannotator.methods import METHODS

FAST = {"extra_trees": {"n_estimators": 10}, "mlp": {"max_iter": 30, "hidden_layer_sizes": (16,)}}


@pytest.fixture
def pool(toy_dataset):
    return build_tabular_pool(toy_dataset, seed=5, test_fraction=0.3, unlabeled_fraction=0.6, n_annotators=8, trace_fraction=0.75, drop_prob=0.9)


def run(pool, method, seed=0, **loop):
    members = ["extra_trees", "knn"] if METHODS.get(method).requires_ensemble else ["extra_trees"]
    if getattr(METHODS.get(method), "requires_flags", False):  # acts on a noise filter's flags
        loop.setdefault("filter", "knn")
    config = MultiAnnotatorLoopConfig(**{"rounds": 3, "batch_size": 20, "n_folds": 3, **loop})
    return run_multiannotator_loop(pool, method, members, config, seed, model_params=FAST)


def test_pool_protocol_sizes(pool, toy_dataset):
    n = len(toy_dataset)
    assert pool.X_pool.shape[0] + pool.X_test.shape[0] == n
    n_pool = pool.X_pool.shape[0]
    assert pool.labeled_at_start.size == n_pool - int(np.ceil(0.6 * n_pool))  # sklearn rounds the test share up
    assert (pool.initial_mask[pool.labeled_at_start].sum(axis=1) >= 1).all()
    assert pool.initial_mask.sum(axis=1)[np.setdiff1d(np.arange(pool.X_pool.shape[0]), pool.labeled_at_start)].sum() == 0


@pytest.mark.parametrize("method", METHODS.names())
def test_every_method_runs_and_keeps_the_budget(pool, method):
    result = run(pool, method)
    fits_crowdlab = method.startswith("activelab")
    filtered = getattr(METHODS.get(method), "requires_flags", False)  # a noise filter runs: its shared metrics too
    assert set(result) == (set(METRICS) | (set(DIAGNOSTICS) if fits_crowdlab else set())
                           | ({*FILTER_METRICS, "n_train"} if filtered else set()))
    if fits_crowdlab:
        assert np.isfinite(result["temperature"]).all() and (result["model_weight"] > 0).all()
    assert all(values.shape == (3,) for values in result.values())
    n0 = pool.initial_mask.sum()
    assert result["n_annotations"].tolist() == [n0, n0 + 20, n0 + 40]
    assert np.all(result["n_new"] + result["n_relabeled"] == 20)
    assert np.all(np.diff(result["n_labeled"]) == result["n_new"][:-1])
    assert ((0 <= result["model_accuracy"]) & (result["model_accuracy"] <= 1)).all()


def test_same_seed_same_numbers_and_different_seed_differs(pool):
    a, b = run(pool, "activelab", seed=3), run(pool, "activelab", seed=3)
    for name in METRICS:
        assert np.array_equal(a[name], b[name]), name
    c = run(pool, "random", seed=4)
    d = run(pool, "random", seed=5)
    assert any(not np.array_equal(c[name], d[name]) for name in ("n_new", "model_accuracy", "consensus_accuracy"))


def test_no_relabel_only_adds_new_examples(pool):
    result = run(pool, "entropy", allow_relabel=False)
    assert np.all(result["n_relabeled"] == 0) and np.all(result["n_new"] == 20)


def test_active_label_cleaning_only_relabels(pool):
    assert np.all(run(pool, "active_label_cleaning")["n_new"] == 0)


def test_good_random_labels_all_unlabeled_first(pool):
    assert np.all(run(pool, "good_random")["n_new"] == 20)


def test_majority_vote_initial_labels_give_one_label_per_example(pool):
    result = run(pool, "entropy", allow_relabel=False, initial_labels="majority_vote")
    assert result["annotations_per_example"][0] == 1.0
    assert result["n_annotations"][0] == pool.labeled_at_start.size


def test_true_identity_columns(pool):
    result = run(pool, "activelab", annotator_columns="true_identity")
    assert np.all(result["n_new"] + result["n_relabeled"] == 20)


def test_ensemble_method_needs_an_ensemble(pool):
    with pytest.raises(ValueError, match="needs an ensemble"):
        run_multiannotator_loop(pool, "disagreement", ["extra_trees"], MultiAnnotatorLoopConfig(rounds=1), 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rounds": 0}, "rounds"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_folds": 1}, "n_folds"),
        ({"initial_labels": "x"}, "initial_labels"),
        ({"annotator_columns": "x"}, "annotator_columns"),
        ({"consensus": "median"}, "unknown consensus method"),
    ],
)
def test_loop_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiAnnotatorLoopConfig(**kwargs)


def test_pool_rejects_bad_data(pool):
    from dataclasses import replace

    with pytest.raises(ValueError, match="NaN"):
        replace(pool, X_pool=np.where(np.arange(pool.X_pool.size).reshape(pool.X_pool.shape) == 0, np.nan, pool.X_pool))
    with pytest.raises(ValueError, match="outside"):
        replace(pool, y_test=pool.y_test + 10)


def test_ensemble_model_accuracy_is_the_argmax_of_the_weighted_member_mean():
    # two members, two folds, three test points; member 1 is right on every point, member 0 on none
    truth = np.array([0, 1, 2])
    right = np.eye(3)[truth] * 0.9 + 0.1 / 3
    wrong = np.eye(3)[(truth + 1) % 3] * 0.6 + 0.4 / 3
    per_fold = np.stack([np.stack([wrong, wrong]), np.stack([right, right])])  # (m, folds, n_test, K)
    models = RoundModels(np.zeros((2, 0, 3)), np.zeros((2, 0, 3)), per_fold, per_fold.mean(axis=1))
    assert _ensemble_accuracy(models, truth, None) == 1.0  # unweighted mean: 0.9 beats 0.6
    assert _ensemble_accuracy(models, truth, np.array([10.0, 1.0])) == 0.0  # w_M-weighted: member 0 dominates


def test_ensemble_methods_record_both_accuracy_definitions(pool):
    result = run(pool, "disagreement")
    assert result["model_accuracy"].shape == result["model_accuracy_per_fold"].shape == (3,)
    single = run(pool, "entropy")
    assert np.array_equal(single["model_accuracy"], single["model_accuracy_per_fold"])


def test_tie_break_and_integer_settings_are_validated():
    with pytest.raises(ValueError, match="tie_break"):
        MultiAnnotatorLoopConfig(tie_break="majority")
    with pytest.raises(ValueError, match="rounds must be an integer"):
        MultiAnnotatorLoopConfig(rounds=2.5)


@pytest.mark.parametrize("calibration", ["benchmark", "cleanlab", "rowwise", "none", 1.5])
def test_activelab_runs_with_every_calibration(pool, calibration):
    config = MultiAnnotatorLoopConfig(rounds=3, batch_size=20, n_folds=3, tie_break="most_frequent")
    result = run_multiannotator_loop(pool, "activelab", ["extra_trees"], config, 0, method_params={"calibration": calibration}, model_params=FAST)
    if not isinstance(calibration, str) or calibration == "none":
        expected = 1.0 if calibration == "none" else calibration
        # round 0 may have no multiply-labeled example only if the pool has none; this toy pool has some
        assert np.allclose(result["temperature"], expected)
