"""Round 0 of the shipped Wall Robot benchmarks against the ActiveLab protocol's own data (spec sections 3.3-3.8).

The paper-reproduction configs replay the original data notebooks literally (``data.draw: reference``), so the
starting sets must match the stored runs exactly: the per-example annotation counts in labeled-row order (the
reference vectors in the data mirror), the noise matrix, the annotators' accuracy and the test-set classes.
"""

import numpy as np
import pytest

from active_learning.config import load_config
from active_learning.datasets import load
from active_learning.multiannotator import build_tabular_pool
from active_learning.multiannotator.consensus import majority_vote_labels


def reference_pool(name, mirror, tmp_path, **data_overrides):
    config = load_config(name)
    dataset_options = dict(config["dataset"])
    dataset = load(dataset_options.pop("name"), root=tmp_path, mirror=mirror, download=False, **dataset_options)
    return build_tabular_pool(dataset, **{**config["data"], **data_overrides})


def round0_table(pool):
    labeled = pool.labeled_at_start
    return labeled, np.where(pool.initial_mask[labeled], pool.annotator_labels[labeled], np.nan)


def majority_accuracy(pool, tie_break):
    labeled, table = round0_table(pool)
    votes = majority_vote_labels(table, None, np.random.default_rng(0), tie_break=tie_break)
    return float(np.mean(votes == pool.y_pool[labeled]))


@pytest.mark.parametrize(
    "name, counts_file, n_labeled, n_annotations, histogram, diagonal, annotator_accuracy, mv_old, mv_new",
    [
        ("wall_robot", "wall_robot_round0_counts.npy", 500, 575, [0, 435, 58, 5, 1, 1],
         [0.945, 0.838, 0.685, 0.932], 0.8865, 0.882, 0.892),
        ("wall_robot_complete", "wall_robot_complete_round0_counts.npy", 2000, 2214, [0, 1797, 193, 9, 1],
         None, 0.8497, 0.852, 0.8435),
    ],
)
def test_round0_is_the_papers_data_entry_for_entry(
    name, counts_file, n_labeled, n_annotations, histogram, diagonal, annotator_accuracy, mv_old, mv_new, mirror, tmp_path
):
    pool = reference_pool(name, mirror, tmp_path)
    reference = np.load(mirror / "wall_robot" / "reference" / counts_file)
    labeled, table = round0_table(pool)
    counts = pool.initial_mask[labeled].sum(axis=1)
    assert labeled.size == n_labeled and np.array_equal(labeled, np.arange(n_labeled))
    assert np.array_equal(counts, reference)
    assert counts.sum() == n_annotations and list(np.bincount(counts)) == histogram
    assert pool.X_pool.shape == (2000, 4) and pool.X_test.shape == (1000, 4)
    assert list(np.bincount(pool.y_test)) == [378, 302, 93, 227]
    if diagonal is not None:
        assert np.allclose(np.diag(pool.info["noise_matrix"]), diagonal, atol=5e-4)
        assert np.mean(pool.annotator_labels == pool.y_pool[:, None]) == pytest.approx(annotator_accuracy, abs=5e-5)
    else:
        per_annotator = [np.mean(table[~np.isnan(table[:, j]), j] == pool.y_pool[labeled][~np.isnan(table[:, j])])
                         for j in range(table.shape[1])]
        assert np.mean(per_annotator) == pytest.approx(annotator_accuracy, abs=5e-5)
        assert min(per_annotator) == pytest.approx(0.7121, abs=5e-5) and max(per_annotator) == pytest.approx(0.9595, abs=5e-5)
    assert majority_accuracy(pool, "most_frequent") == pytest.approx(mv_old, abs=1e-9)
    assert majority_accuracy(pool, "least_frequent") == pytest.approx(mv_new, abs=1e-9)


def test_reference_draw_is_reproducible_and_leaves_the_global_generator_alone(mirror, tmp_path):
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    first = reference_pool("wall_robot", mirror, tmp_path)
    assert np.array_equal(np.random.get_state()[1], before)
    second = reference_pool("wall_robot", mirror, tmp_path)
    assert np.array_equal(first.initial_mask, second.initial_mask)
    assert np.array_equal(first.annotator_labels, second.annotator_labels)


def test_generator_draw_is_another_draw_of_the_same_protocol(mirror, tmp_path):
    pool = reference_pool("wall_robot", mirror, tmp_path, draw="generator", seed=123)
    labeled, _ = round0_table(pool)
    assert labeled.size == 500 and abs(int(pool.initial_mask.sum()) - 575) <= 0.05 * 575
    reference = reference_pool("wall_robot", mirror, tmp_path)
    assert not np.array_equal(pool.annotator_labels, reference.annotator_labels)


def test_single_annotator_benchmark_starting_set(mirror, tmp_path):
    pool = reference_pool("wall_robot_single_annotator", mirror, tmp_path)
    labeled, _ = round0_table(pool)
    assert labeled.size == int(pool.initial_mask.sum()) == 500
    unlabeled = np.setdiff1d(np.arange(2000), labeled)
    correct = pool.annotator_labels[:, 0] == pool.y_pool
    assert np.mean(correct[labeled]) == pytest.approx(0.614, abs=1e-9)  # spec 3.5: 0.614 labeled / 0.606 unlabeled
    assert np.mean(correct[unlabeled]) == pytest.approx(0.606, abs=1e-9)


@pytest.mark.parametrize(
    "trace, annotator_mean, majority",
    [(0.6, 0.674, 0.710), (0.7, 0.765, 0.818), (0.8, 0.867, 0.896), (0.9, 0.937, 0.950), (1.0, 1.0, 1.0)],
)
def test_single_vs_multi_starting_sets(trace, annotator_mean, majority, mirror, tmp_path):
    pool = reference_pool("wall_robot_single_vs_multi", mirror, tmp_path, trace_fraction=trace)
    labeled, table = round0_table(pool)
    truth = pool.y_pool[labeled]
    per_annotator = [np.mean(table[~np.isnan(table[:, j]), j] == truth[~np.isnan(table[:, j])]) for j in range(30)]
    assert np.mean(per_annotator) == pytest.approx(annotator_mean, abs=5e-4)  # spec 3.6, printed to 3 decimals
    assert majority_accuracy(pool, "most_frequent") == pytest.approx(majority, abs=5e-4)


def test_reference_draw_on_a_small_dataset_orders_the_labeled_block_first(toy_dataset):
    sizes = [int(np.sum(toy_dataset.labels == k)) // 2 for k in range(toy_dataset.n_classes)]
    pool = build_tabular_pool(toy_dataset, seed=3, draw="reference", subset_per_class=sizes, n_annotators=6, trace_fraction=0.8)
    labeled = pool.labeled_at_start
    assert np.array_equal(labeled, np.arange(labeled.size))
    assert pool.info["draw"] == "reference" and pool.X_pool.shape[0] + pool.X_test.shape[0] == sum(sizes)
    again = build_tabular_pool(toy_dataset, seed=3, draw="reference", subset_per_class=sizes, n_annotators=6, trace_fraction=0.8)
    assert np.array_equal(pool.initial_mask, again.initial_mask)


@pytest.mark.parametrize("settings", [{"draw": "notebook"}, {"subset_seed": 1}, {"single_arm_labels": True}])
def test_reference_only_settings_and_unknown_draws_are_refused(toy_dataset, settings):
    with pytest.raises(ValueError, match="draw"):
        build_tabular_pool(toy_dataset, seed=3, **settings)


def test_cifar10h_round0_matches_the_protocol_start_set(mirror):
    """CIFAR-10H (spec §3.2) from the mirror: the paper's splits (5,000 pool / 5,000 test; 1,000 labeled / 4,000
    unlabeled) and, from the counts alone, a start set of the paper's size and quality (1,447 annotations ± 1 %,
    majority-vote accuracy 0.822 ± 0.01; labels per image 738 / 85 / 174 / 1 / 2)."""
    from active_learning.multiannotator.consensus import majority_vote_labels
    from active_learning.pools import DataAccess, build_pool

    if not (mirror / "cifar10h" / "cifar10h-counts.npy").is_file():
        pytest.skip("the data mirror has no CIFAR-10H counts")
    pool = build_pool({"name": "cifar10h", "inputs": "pixels"}, {"pool": "cifar10h"}, DataAccess(mirror=str(mirror), download=False))
    assert pool.X_pool.shape == (5000, 32, 32, 3) and pool.X_test.shape[0] == 5000
    store = pool.initial_store()
    labeled = store.labeled_examples()
    assert labeled.size == 1000 and set(labeled) == set(range(1000))  # labeled block first
    assert abs(store.n_annotations - 1447) <= 0.01 * 1447
    assert dict(zip(*np.unique(store.counts[labeled], return_counts=True))) == {1: 738, 2: 85, 3: 174, 5: 1, 6: 2}
    for tie_break in ("least_frequent", "most_frequent"):
        votes = majority_vote_labels(store.wide(labeled), None, np.random.default_rng(0), tie_break=tie_break, n_classes=10)
        assert abs(np.mean(votes == pool.y_pool[labeled]) - 0.822) <= 0.01
    # the splits are the notebook's: train_test_split(test_size=0.5, random_state=123), then (0.8, 456)
    from sklearn.model_selection import train_test_split

    pool_rows, test_rows = train_test_split(np.arange(10000), test_size=0.5, random_state=123)
    labeled_rows, _ = train_test_split(pool_rows, test_size=0.8, random_state=456)
    assert np.array_equal(pool.info["test_rows"], test_rows) and np.array_equal(pool.info["pool_rows"][:1000], labeled_rows)
    assert pool.info["initial"]["procedure"] == "tilted_multiset" and pool.info["annotators_simulated"]
