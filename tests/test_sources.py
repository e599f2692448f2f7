"""Annotator sources (dense, label multisets, sparse real annotators), the annotation-table check, the
multi-annotator loop on them (exhaustion, no duplicates, the result's annotation table), and the one learner
family in both loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from active_learning.annotators import AnnotationStore
from active_learning.annotators.sources import (
    DenseAnnotators,
    LabelMultisets,
    SparseAnnotations,
    check_annotation_table,
)
from active_learning.loops.multiannotator import MultiAnnotatorLoopConfig, run_multiannotator_loop
from active_learning.multiannotator import build_tabular_pool
from active_learning.multiannotator.pool import MultiAnnotatorPool
from active_learning.pools.label_file import sparse_pool

from conftest import make_blobs


def _reveal(source, store, examples, rng, round_index=1):
    """Draw one label for each of ``examples`` and record it (annotator ids as columns)."""
    labels, annotators = source.draw(np.asarray(examples), store, rng)
    store.add(examples, np.maximum(annotators, 0), labels, round_index, annotators=annotators)
    return labels, annotators


# ---------------------------------------------------------------------------------------------------- sources


def test_dense_with_replacement_never_exhausts():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(5, 3))
    source = DenseAnnotators(labels, 3, replace=True)
    store = AnnotationStore(5)
    for r in range(12):  # 4x more draws per example than annotators
        got, who = _reveal(source, store, np.arange(5), rng, r)
        np.testing.assert_array_equal(got, labels[np.arange(5), who])
    assert np.isinf(source.remaining(store)).all()
    assert store.counts.tolist() == [12] * 5
    # with replacement an annotator can be drawn again for the same example
    frame = store.to_frame()
    assert frame.duplicated(["example", "annotator"]).any()


def test_dense_without_replacement_exhausts_after_n_annotators():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=(6, 4))
    source = DenseAnnotators(labels, 4, replace=False)
    store = AnnotationStore(6)
    for r in range(4):
        assert source.remaining(store).tolist() == [4.0 - r] * 6
        got, who = _reveal(source, store, np.arange(6), rng, r)
        np.testing.assert_array_equal(got, labels[np.arange(6), who])
    assert source.remaining(store).tolist() == [0.0] * 6
    frame = store.to_frame()
    assert not frame.duplicated(["example", "annotator"]).any()
    for example in range(6):  # every annotator exactly once per example
        assert sorted(frame.annotator[frame.example == example]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no label left"):
        source.draw(np.array([2]), store, rng)
    assert DenseAnnotators(labels, 4, replace=True).for_identity_columns().replace is False


def test_dense_rejects_bad_matrices():
    with pytest.raises(ValueError, match="2-D"):
        DenseAnnotators(np.zeros(4, dtype=int), 2)
    with pytest.raises(ValueError, match="integers"):
        DenseAnnotators(np.full((2, 2), np.nan), 2)
    with pytest.raises(ValueError, match="outside 0..1"):
        DenseAnnotators(np.array([[0, 2]]), 2)


def test_label_multisets_follow_counts_and_never_give_a_zero_count_class():
    counts = np.array([[5, 0, 15, 0], [0, 10, 0, 0], [1, 1, 1, 1]])
    source = LabelMultisets(counts)
    store = AnnotationStore(3)
    rng = np.random.default_rng(0)
    n = 20_000
    drawn = {}
    for example in range(3):
        labels, who = source.draw(np.full(n, example), store, rng)
        assert (who == -1).all()
        drawn[example] = np.bincount(labels, minlength=4) / n
    expected = counts / counts.sum(axis=1, keepdims=True)
    for example in range(3):
        assert np.abs(drawn[example] - expected[example]).max() < 0.015, (example, drawn[example])
        assert (drawn[example][counts[example] == 0] == 0).all()  # never a class with count 0
    assert np.isinf(source.remaining(store)).all()
    assert not source.has_identities
    with pytest.raises(ValueError, match="no annotator identities"):
        source.for_identity_columns()
    with pytest.raises(ValueError, match="example 1 has no label"):
        LabelMultisets(np.array([[1, 0], [0, 0]]))


def _sparse_table():
    # example 0: annotators 0, 3, 5; example 1: 2; example 2: 1, 2; example 3: 4, 0, 1, 2; example 4: none
    rows = [(0, 0, 1), (0, 3, 1), (0, 5, 0), (1, 2, 2), (2, 1, 0), (2, 2, 0), (3, 4, 1), (3, 0, 2), (3, 1, 1), (3, 2, 1)]
    return pd.DataFrame(rows, columns=["example", "annotator", "label"])


def test_sparse_draws_only_real_pairs_each_once_until_exhausted():
    table = _sparse_table()
    truth = {(e, a): label for e, a, label in table.itertuples(index=False)}
    source = SparseAnnotations(table, 5, 3)
    assert source.available.tolist() == [3, 1, 2, 4, 0] and source.n_annotators == 6
    store = AnnotationStore(5)
    rng = np.random.default_rng(0)
    previous = source.remaining(store)
    assert previous.tolist() == [3, 1, 2, 4, 0]
    while (left := source.remaining(store)).sum() > 0:
        examples = np.flatnonzero(left >= 1)
        _reveal(source, store, examples, rng)
        now = source.remaining(store)
        assert np.all(now[examples] == previous[examples] - 1)
        previous = now
    assert source.remaining(store).tolist() == [0] * 5
    frame = store.to_frame()
    assert not frame.duplicated(["example", "annotator"]).any()
    assert len(frame) == len(table)
    for e, a, label in frame[["example", "annotator", "label"]].itertuples(index=False):
        assert truth[(e, a)] == label  # only real (example, annotator) pairs, with their real label
    for example in (0, 4):
        with pytest.raises(ValueError, match=f"example {example} has no label left"):
            source.draw(np.array([example]), store, rng)


def test_sparse_respects_initial_annotations():
    table = _sparse_table()
    source = SparseAnnotations(table, 5, 3)
    store = AnnotationStore.from_table(table[table.example == 0].iloc[:2], 5)  # annotators 0 and 3 revealed
    assert source.remaining(store)[0] == 1
    labels, who = source.draw(np.array([0]), store, np.random.default_rng(0))
    assert who.tolist() == [5] and labels.tolist() == [0]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.drop(columns="label"), r"missing column\(s\) \['label'\]"),
        (lambda t: t.assign(label=t.label.where(t.index != 2, 7)), "label outside 0..2"),
        (lambda t: t.assign(example=t.example.where(t.index != 1, 9)), "example outside 0..4"),
        (lambda t: t.assign(example=t.example.where(t.index != 1, -1)), "example outside 0..4"),
        (lambda t: pd.concat([t, t.iloc[[3]]]), r"duplicate \(example, annotator\) pair.*annotator 2 on example 1"),
        (lambda t: t.assign(label=t.label.astype(float).where(t.index != 0, np.nan)), "'label' has 1 missing value"),
        (lambda t: t.assign(example=t.example.astype(float).where(t.index != 0, 0.5)), "'example' must hold integers"),
        (lambda t: t.assign(annotator=t.annotator.astype(str) + "x"), "'annotator' must hold integers"),
        (lambda t: t.assign(annotator=t.annotator - 3), "annotator ids must be >= 0"),
    ],
    ids=["missing-column", "label-range", "example-range", "example-negative", "duplicate", "nan", "non-integer",
         "string-annotator", "negative-annotator"],
)
def test_check_annotation_table_errors_name_the_problem(change, message):
    bad = change(_sparse_table())
    with pytest.raises(ValueError, match=message) as info:
        check_annotation_table(bad, 5, 3, "my labels")
    assert str(info.value).startswith("my labels: ") and "\n" not in str(info.value)


def test_check_annotation_table_accepts_integral_floats_and_returns_int64():
    table = _sparse_table().astype({"label": float}).assign(extra="kept?")
    out = check_annotation_table(table, 5, 3)
    assert list(out.columns) == ["example", "annotator", "label"]
    assert all(dtype == np.int64 for dtype in out.dtypes)


# ------------------------------------------------------------------------------------------ loop on sparse pool


def _random_sparse_pool(seed=0, n_pool=60, n_classes=3, n_annotators=8):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_classes, 4))
    y_pool = np.arange(n_pool) % n_classes
    y_test = np.arange(45) % n_classes
    X_pool = centers[y_pool] + rng.normal(size=(n_pool, 4))
    X_test = centers[y_test] + rng.normal(size=(45, 4))
    rows = []
    for example in range(n_pool):
        k = 1 + example % 3  # 1, 2 or 3 labels: examples with one label exhaust at once
        for annotator in rng.choice(n_annotators, size=k, replace=False):
            label = y_pool[example] if rng.random() < 0.8 else rng.integers(n_classes)
            rows.append((example, int(annotator), int(label)))
    table = pd.DataFrame(rows, columns=["example", "annotator", "label"])
    pool = sparse_pool(X_pool, y_pool, X_test, y_test, table, n_classes, n_initial=24, initial_labels_per_example=1,
                       rng=np.random.default_rng(seed + 1))
    return pool, table


@pytest.fixture(scope="module")
def sparse():
    return _random_sparse_pool()


def test_sparse_pool_start(sparse):
    pool, table = sparse
    assert pool.source.kind == "sparse" and pool.source.has_identities
    assert len(pool.initial) == 24 and pool.labeled_at_start.size == 24
    assert pool.info["n_annotations_available"] == len(table) == 120
    merged = pool.initial.merge(table, on=["example", "annotator"], suffixes=("", "_true"))
    assert len(merged) == 24 and (merged.label == merged.label_true).all()
    with pytest.raises(AttributeError, match="no complete annotator matrix"):
        pool.annotator_labels
    with pytest.raises(ValueError, match="lower data.n_initial"):
        sparse_pool(pool.X_pool, pool.y_pool, pool.X_test, pool.y_test, table, 3, n_initial=30,
                    initial_labels_per_example=3, rng=np.random.default_rng(0))


@pytest.mark.parametrize("method", ["random", "activelab"])
@pytest.mark.parametrize("columns", ["per_round", "true_identity"])
def test_loop_on_sparse_pool_never_duplicates_or_picks_exhausted(sparse, method, columns):
    pool, table = sparse
    rounds, batch = 8, 15  # 7 x 15 = 105 > the 96 labels not revealed at the start: examples run out
    config = MultiAnnotatorLoopConfig(rounds=rounds, batch_size=batch, n_folds=2, annotator_columns=columns)
    result = run_multiannotator_loop(pool, method, ["extra_trees"], config, 0,
                                     model_params={"extra_trees": {"n_estimators": 8}})
    frame = result.annotations
    assert list(frame.columns) == ["example", "annotator", "column", "label", "round"]
    assert len(frame) == int(result["n_annotations"][-1])  # the last round collects nothing
    assert len(frame) <= len(table)
    assert not frame.duplicated(["example", "annotator"]).any()
    real = frame.merge(table, on=["example", "annotator"], how="left", suffixes=("", "_true"))
    assert real.label_true.notna().all() and (real.label == real.label_true).all()
    if columns == "true_identity":
        assert (frame.column == frame.annotator).all()
    else:
        new = frame[frame["round"] > 0]
        assert (new.column == pool.source.n_annotators + new["round"] - 1).all()
    available = pool.source.available
    assert len(result.chosen) == rounds - 1  # no round ran out of selectable examples here
    for index, chosen in enumerate(result.chosen):
        before = np.bincount(frame.example[frame["round"] <= index], minlength=available.size)
        assert (before[chosen] < available[chosen]).all(), f"round {index} chose an exhausted example"
        assert np.unique(chosen).size == chosen.size
        assert (frame.example[frame["round"] == index + 1].sort_values().to_numpy() == np.sort(chosen)).all()
    n_collected = result["n_new"][:-1] + result["n_relabeled"][:-1]
    assert (n_collected <= batch).all() and n_collected.sum() == len(frame) - len(pool.initial)
    assert n_collected[-1] < batch  # the pool ran out of labels before the end
    # the result's consensus is aligned with its labeled examples
    assert result.consensus.shape == result.labeled.shape
    np.testing.assert_array_equal(np.sort(result.labeled), np.unique(frame.example[frame["round"] < rounds - 1]))


def test_majority_vote_start_does_not_reveal_the_initial_annotators_again(sparse):
    """With ``initial_labels: majority_vote`` the label table holds one anonymous vote per example, but the real
    annotators behind it are used up: the source must neither draw them again nor count them as available."""
    pool, table = sparse
    config = MultiAnnotatorLoopConfig(rounds=8, batch_size=15, n_folds=2, initial_labels="majority_vote")
    result = run_multiannotator_loop(pool, "random", ["extra_trees"], config, 0,
                                     model_params={"extra_trees": {"n_estimators": 8}})
    frame = result.annotations
    assert (frame.annotator[frame["round"] == 0] == -1).all()
    new = frame[frame["round"] > 0]
    assert new.merge(pool.initial, on=["example", "annotator"]).empty
    assert not new.duplicated(["example", "annotator"]).any()
    assert len(new) + len(pool.initial) <= len(table)


# --------------------------------------------------------------------------------- the dense (Wall Robot) path


@pytest.fixture(scope="module")
def dense_pool():
    return build_tabular_pool(make_blobs(), seed=5, test_fraction=0.3, unlabeled_fraction=0.6, n_annotators=8,
                              trace_fraction=0.75, drop_prob=0.9)


#: The same runs on the code before annotator sources (commit 3b8d02b, ``_draw_new_labels`` in the loop).
BEFORE = {
    ("random", "per_round"): ([0.8205128205, 0.8527131783, 0.8581560284], [0.8703703704, 0.8888888889, 0.9126984127], [12, 12, 9]),
    ("activelab", "per_round"): ([0.8205128205, 0.9007633588, 0.9014084507], [0.8703703704, 0.9312169312, 0.9338624339], [14, 11, 6]),
    ("activelab", "true_identity"): ([0.8205128205, 0.9160305344, 0.9496402878], [0.8703703704, 0.9153439153, 0.9417989418], [14, 8, 5]),
}


@pytest.mark.parametrize("method, columns", list(BEFORE))
def test_dense_path_is_deterministic_and_unchanged(dense_pool, method, columns):
    assert int(dense_pool.initial_mask.sum()) == 158 and int(dense_pool.annotator_labels.sum()) == 3392
    config = MultiAnnotatorLoopConfig(rounds=3, batch_size=20, n_folds=3, annotator_columns=columns)
    params = {"extra_trees": {"n_estimators": 10}}
    a = run_multiannotator_loop(dense_pool, method, ["extra_trees"], config, 3, model_params=params)
    b = run_multiannotator_loop(dense_pool, method, ["extra_trees"], config, 3, model_params=params)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    pd.testing.assert_frame_equal(a.annotations, b.annotations)
    consensus, model, n_new = BEFORE[(method, columns)]
    np.testing.assert_allclose(a["consensus_accuracy"], consensus, atol=1e-9)
    np.testing.assert_allclose(a["model_accuracy"], model, atol=1e-9)
    assert a["n_new"].tolist() == n_new
    # every new label is the simulated annotator's entry of the complete matrix
    frame = a.annotations
    np.testing.assert_array_equal(frame.label, dense_pool.annotator_labels[frame.example, frame.annotator])


def test_dense_constructor_round_trips(dense_pool):
    again = MultiAnnotatorPool.dense(
        X_pool=dense_pool.X_pool, y_pool=dense_pool.y_pool, X_test=dense_pool.X_test, y_test=dense_pool.y_test,
        annotator_labels=dense_pool.annotator_labels, initial_mask=dense_pool.initial_mask,
        n_classes=dense_pool.n_classes,
    )
    np.testing.assert_array_equal(again.annotator_labels, dense_pool.annotator_labels)
    np.testing.assert_array_equal(again.initial_mask, dense_pool.initial_mask)
    pd.testing.assert_frame_equal(again.initial, dense_pool.initial)
    store = again.initial_store()
    rows, cols = np.nonzero(dense_pool.initial_mask)
    assert store.n_annotations == rows.size
    np.testing.assert_array_equal(np.sort(store.labeled_examples()), np.unique(rows))
    wide = store.wide(np.unique(rows))
    assert np.isfinite(wide).sum() == rows.size
    assert again.source.replace and again.source.n_annotators == 8
    with pytest.raises(ValueError, match="initial_mask must match"):
        MultiAnnotatorPool.dense(
            X_pool=dense_pool.X_pool, y_pool=dense_pool.y_pool, X_test=dense_pool.X_test, y_test=dense_pool.y_test,
            annotator_labels=dense_pool.annotator_labels, initial_mask=dense_pool.initial_mask[:, :3],
            n_classes=dense_pool.n_classes,
        )


# ------------------------------------------------------------------------------------ one learner family, both loops


def test_linear_probe_in_a_multiannotator_ensemble(sparse):
    from active_learning.learners import LearnerClassifier, make_estimator

    estimator = make_estimator("linear_probe", random_state=0, epochs=3)
    assert isinstance(estimator, LearnerClassifier)
    pool, _ = sparse
    config = MultiAnnotatorLoopConfig(rounds=2, batch_size=10, n_folds=2, annotator_columns="true_identity")
    params = {"linear_probe": {"epochs": 5}, "extra_trees": {"n_estimators": 8}, "knn": {"n_neighbors": 3}}
    result = run_multiannotator_loop(pool, "activelab_ensemble", ["linear_probe", "extra_trees", "knn"], config, 0,
                                     model_params=params)
    assert result["model_accuracy"].shape == (2,) and ((result["model_accuracy"] > 0.5)).all()
    assert np.isfinite(result["model_weight"]).all()
    assert len(result.annotations) == 24 + 10


@pytest.mark.parametrize("name, params", [("extra_trees", {"n_estimators": 10}), ("logistic_regression", {})])
def test_sklearn_learners_in_the_nas_loop(name, params):
    from active_learning.budgets import constant_budgets
    from active_learning.learners import get_learner
    from active_learning.loops.noisy_single_annotator import run_noisy_loop
    from active_learning.noise_filters import get_filter
    from active_learning.oracle import NoisyOracle
    from active_learning.strategies import get_strategy

    pool, _ = _random_sparse_pool(seed=3)
    oracle = NoisyOracle.symmetric(pool.y_pool, 0.2, np.random.default_rng(0), n_classes=3)
    learner = get_learner(name, **params)
    with pytest.raises(ValueError, match="random_state cannot be set"):
        get_learner(name, random_state=1)
    out = run_noisy_loop(pool.X_pool, pool.X_test, pool.y_test, oracle, get_strategy("random"), get_filter("none"),
                         learner, constant_budgets(9, 3), 0)
    assert out["n_labeled"].tolist() == [9, 18, 27]
    assert out["accuracy"].shape == (3,) and out["accuracy"][-1] > 0.5
    again = run_noisy_loop(pool.X_pool, pool.X_test, pool.y_test, oracle, get_strategy("random"), get_filter("none"),
                           get_learner(name, **params), constant_budgets(9, 3), 0)
    np.testing.assert_array_equal(out["accuracy"], again["accuracy"])
