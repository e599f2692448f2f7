"""Initial annotation sets of the ActiveLab CIFAR-10H benchmark, on miniature data in the official formats."""

import numpy as np
import pandas as pd
import pytest

from active_learning.multiannotator.initial_sets import (
    _hardest_selection,
    hardest_annotators_start,
    majority_accuracy,
    tilted_multiset_start,
)

K = 10
SMALL_HISTOGRAM = {1: 148, 2: 17, 3: 35}  # the CIFAR-10H start set's histogram, scaled to 200 images


def mini_counts(seed=0, n=200):
    """A ``cifar10h-counts.npy``-like matrix: ~50 human labels per image, plurality mostly correct."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(K, size=n)
    counts = np.zeros((n, K), dtype=np.int64)
    for i in range(n):
        p_correct = np.clip(rng.beta(9.0, 1.0), 0.3, 1.0)
        probs = np.zeros(K)
        confusers = rng.choice(np.delete(np.arange(K), truth[i]), size=3, replace=False)
        probs[confusers] = (1.0 - p_correct) * rng.dirichlet(np.ones(3))
        probs[truth[i]] = p_correct
        counts[i] = rng.multinomial(int(rng.integers(48, 54)), probs)
    return counts, truth


def mini_raw(seed=0, n_images=40, n_annotators=60, per_annotator=12):
    """A raw CIFAR-10H-like long table: annotators with accuracies 0.3..0.95, sparse, non-contiguous ids."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(K, size=n_images)
    accuracies = rng.permutation(np.linspace(0.3, 0.95, n_annotators))
    frames = []
    for j, accuracy in enumerate(accuracies):
        images = rng.choice(n_images, size=per_annotator, replace=False)
        noise = (truth[images] + rng.integers(1, K, size=per_annotator)) % K
        labels = np.where(rng.random(per_annotator) < accuracy, truth[images], noise)
        frames.append(pd.DataFrame({"image": images, "annotator": 1000 + 7 * j, "label": labels}))
    table = pd.concat(frames, ignore_index=True).astype(np.int64)
    return table.sample(frac=1.0, random_state=1).reset_index(drop=True), truth


def worst_ids(table, truth, n_worst):
    correct = table["label"].to_numpy() == truth[table["image"].to_numpy()]
    accuracy = pd.Series(correct, index=table["annotator"]).groupby(level=0).mean()
    ranked = accuracy.reset_index().sort_values([0, "annotator"], kind="stable")
    return ranked["annotator"].to_numpy()[:n_worst]


def pairs(table):
    return set(zip(table["image"], table["annotator"], table["label"]))


# ---------------------------------------------------------------------------------------------- hardest start


@pytest.fixture(scope="module")
def raw():
    return mini_raw()


def test_hardest_covers_every_image_with_input_rows(raw):
    table, truth = raw
    start = hardest_annotators_start(table, truth, np.random.default_rng(0), n_worst=10)
    assert list(start.columns) == ["image", "annotator", "label"]
    assert all(start[c].dtype == np.int64 for c in start.columns)
    assert set(start["image"]) == set(range(truth.size))
    assert not start.duplicated(["image", "annotator"]).any()
    assert pairs(start) <= pairs(table)
    assert start.equals(start.sort_values(["image", "annotator"]).reset_index(drop=True))
    assert set(start["annotator"]) <= set(table["annotator"])  # original ids kept
    assert len(start) < len(table)


def test_hardest_no_drop_keeps_worst_and_selection(raw):
    table, truth = raw
    kept = hardest_annotators_start(table, truth, np.random.default_rng(0), n_worst=10, drop_prob=0.0)
    worst = worst_ids(table, truth, 10)
    assert pairs(table[table["annotator"].isin(worst)]) <= pairs(kept)
    # drop_prob=0 returns exactly the walk's selection
    _, index = np.unique(table["annotator"].to_numpy(), return_inverse=True)
    selected, ranking = _hardest_selection(table["image"].to_numpy(), index, table["label"].to_numpy(), truth, 10, 3)
    assert pairs(table[selected]) == pairs(kept)
    assert set(np.unique(table["annotator"])[ranking[:10]]) == set(worst)
    # dropping only removes labels, and never the last of an image
    dropped = hardest_annotators_start(table, truth, np.random.default_rng(0), n_worst=10)
    assert pairs(dropped) <= pairs(kept)
    assert set(dropped["image"]) == set(range(truth.size))


def test_hardest_walk_caps_added_labels(raw):
    table, truth = raw
    kept = hardest_annotators_start(table, truth, np.random.default_rng(0), n_worst=10, drop_prob=0.0)
    worst = worst_ids(table, truth, 10)
    from_worst = kept[kept["annotator"].isin(worst)].groupby("image").size().reindex(range(truth.size), fill_value=0)
    total = kept.groupby("image").size()
    # a walk annotator adds a label only where fewer than max_labels were counted
    added = total - from_worst
    assert (added[from_worst >= 3] == 0).all()


def test_hardest_is_deterministic_and_worse_than_full(raw):
    table, truth = raw
    a = hardest_annotators_start(table, truth, np.random.default_rng(3), n_worst=10)
    b = hardest_annotators_start(table, truth, np.random.default_rng(3), n_worst=10)
    pd.testing.assert_frame_equal(a, b)
    rng = np.random.default_rng(0)
    assert majority_accuracy(a, truth, rng) < majority_accuracy(table, truth, rng)


def test_hardest_all_worst_and_extra_columns(raw):
    table, truth = raw
    extra = table.assign(note="x")
    start = hardest_annotators_start(extra, truth, np.random.default_rng(0), n_worst=100, drop_prob=0.0)
    assert len(start) == len(table) and (start["note"] == "x").all()


def test_hardest_uncoverable_raises():
    table = pd.DataFrame({"image": [0, 1], "annotator": [5, 6], "label": [0, 1]})
    truth = np.array([1, 1])  # annotator 5 is the worst
    with pytest.raises(ValueError, match="without a label"):
        hardest_annotators_start(table, truth, np.random.default_rng(0), n_worst=1)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.drop(columns="label"), "lacks column"),
        (lambda t: t.iloc[:0], "empty"),
        (lambda t: t.assign(label=t["label"] + K), "labels must lie"),
        (lambda t: t.assign(image=t["image"] + 1), "image ids must lie"),
        (lambda t: t.assign(image=-t["image"]), "image ids must lie"),
        (lambda t: pd.concat([t, t.iloc[:1]]), "duplicate"),
        (lambda t: t[t["image"] != 0], "no annotation"),
        (lambda t: t.assign(label=t["label"] + 0.5), "integers"),
    ],
)
def test_hardest_bad_input(raw, mutate, message):
    table, truth = raw
    with pytest.raises(ValueError, match=message):
        hardest_annotators_start(mutate(table), truth, np.random.default_rng(0), n_worst=10)


def test_hardest_bad_parameters(raw):
    table, truth = raw
    for kwargs, message in (({"n_worst": -1}, "n_worst"), ({"max_labels": 0}, "max_labels"),
                            ({"drop_prob": 1.5}, "drop_prob")):
        with pytest.raises(ValueError, match=message):
            hardest_annotators_start(table, truth, np.random.default_rng(0), **kwargs)
    with pytest.raises(ValueError, match="DataFrame"):
        hardest_annotators_start(table.to_numpy(), truth, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------- tilted multiset


@pytest.fixture(scope="module")
def counts_data():
    return mini_counts()


def run_tilted(counts, truth, seed=0, **kwargs):
    kwargs.setdefault("labels_per_image", SMALL_HISTOGRAM)
    kwargs.setdefault("n_annotators", 67)
    return tilted_multiset_start(counts, truth, np.random.default_rng(seed), **kwargs)


def test_tilted_histogram_membership_and_columns(counts_data):
    counts, truth = counts_data
    table, info = run_tilted(counts, truth)
    assert info["procedure"] == "tilted_multiset"
    assert info["labels_per_image"] == SMALL_HISTOGRAM
    realised = table.groupby("image").size().value_counts().to_dict()
    assert realised == SMALL_HISTOGRAM
    assert info["n_annotations"] == len(table) == 148 + 2 * 17 + 3 * 35
    assert all(table[c].dtype == np.int64 for c in table.columns)
    assert table.equals(table.sort_values(["image", "annotator"]).reset_index(drop=True))
    # labels come from the image's own multiset, never more copies of a class than it has
    drawn = table.groupby(["image", "label"]).size()
    index = drawn.index.to_frame().to_numpy()
    assert (drawn.to_numpy() <= counts[index[:, 0], index[:, 1]]).all()
    # distinct pseudo-annotators per image, balanced columns
    assert not table.duplicated(["image", "annotator"]).any()
    assert table["annotator"].between(0, 66).all()
    usage = np.bincount(table["annotator"], minlength=67)
    assert usage.max() - usage.min() <= 1
    assert info["annotator_accuracy"] == pytest.approx(np.mean(table["label"] == truth[table["image"]]))


@pytest.mark.parametrize("target", [0.822, 0.7])
def test_tilted_hits_reachable_target(counts_data, target):
    counts, truth = counts_data
    _, plain = run_tilted(counts, truth, target_majority_accuracy=1.0)
    assert plain["wrong_label_weight"] == 1.0 and plain["majority_accuracy"] > target + 0.03
    table, info = run_tilted(counts, truth, target_majority_accuracy=target)
    assert info["target_reachable"]
    assert abs(info["majority_accuracy"] - target) <= 0.02
    assert info["wrong_label_weight"] > 1.0
    assert info["annotator_accuracy"] < plain["annotator_accuracy"]
    assert abs(majority_accuracy(table, truth, np.random.default_rng(0)) - info["majority_accuracy"]) <= 0.02


def test_tilted_unreachable_keeps_unit_weight(counts_data):
    counts, truth = counts_data
    _, info = run_tilted(counts, truth, target_majority_accuracy=0.999)
    assert info["wrong_label_weight"] == 1.0
    assert not info["target_reachable"]
    assert info["majority_accuracy"] < 0.999


def test_tilted_is_deterministic(counts_data):
    counts, truth = counts_data
    a, info_a = run_tilted(counts, truth, seed=4)
    b, info_b = run_tilted(counts, truth, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert info_a == info_b
    c, _ = run_tilted(counts, truth, seed=5)
    assert not a.equals(c)


def test_tilted_small_multiset_takes_everything():
    counts = np.array([[1, 1, 0], [5, 0, 0], [0, 3, 2]])
    truth = np.array([0, 0, 1])
    table, info = tilted_multiset_start(counts, truth, np.random.default_rng(0), labels_per_image={3: 3},
                                        target_majority_accuracy=1.0, n_annotators=3)
    assert info["labels_per_image"] == {2: 1, 3: 2}
    first = table[table["image"] == 0]
    assert sorted(first["label"]) == [0, 1]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels_per_image": {1: 100, 2: 17}}, "covers 117 images but counts has 200 rows"),
        ({"labels_per_image": {0: 200}}, "label counts >= 1"),
        ({"labels_per_image": {1.5: 200}}, "int -> int"),
        ({"target_majority_accuracy": 0.0}, "target_majority_accuracy"),
        ({"target_majority_accuracy": 1.2}, "target_majority_accuracy"),
        ({"n_annotators": 2}, "n_annotators"),
        ({"tie_break": "coin"}, "tie_break"),
    ],
)
def test_tilted_bad_parameters(counts_data, change, message):
    counts, truth = counts_data
    with pytest.raises(ValueError, match=message):
        run_tilted(counts, truth, **change)


def test_tilted_bad_arrays(counts_data):
    counts, truth = counts_data
    cases = [
        (counts[:-1], truth, "shape"),
        (counts[:, :, None], truth, "shape"),
        (-counts, truth, "non-negative"),
        (counts + 0.5, truth, "integers"),
        (counts, np.full_like(truth, K), "true_labels must lie"),
        (np.vstack([counts[:-1], np.zeros((1, K), dtype=int)]), truth, "no human label"),
    ]
    for bad_counts, bad_truth, message in cases:
        with pytest.raises(ValueError, match=message):
            run_tilted(bad_counts, bad_truth)
