import numpy as np
import pytest

from active_learning.annotators import (
    AnnotationStore,
    drop_to_least_annotations,
    generate_noisy_labels,
    keep_random_annotators,
    noise_matrix_from_trace,
    simulate_annotators,
    sparsify,
)


def test_noise_matrix_has_trace_and_is_column_stochastic():
    py = np.array([0.4, 0.3, 0.2, 0.1])
    before = np.random.get_state()[1].copy()
    matrix = noise_matrix_from_trace(4, 3.4, py, seed=123)
    assert np.allclose(matrix.sum(axis=0), 1.0)
    assert np.isclose(np.trace(matrix), 3.4)
    assert (np.random.get_state()[1] == before).all(), "the global NumPy state must be restored"
    assert np.array_equal(matrix, noise_matrix_from_trace(4, 3.4, py, seed=123))
    assert np.array_equal(noise_matrix_from_trace(4, 4.0, py, seed=1), np.eye(4))


@pytest.mark.parametrize("trace, py", [(0.5, [0.5, 0.5]), (2.0, [0.7, 0.7]), (2.5, [0.5, 0.5])])
def test_noise_matrix_rejects_bad_input(trace, py):
    with pytest.raises(ValueError):
        noise_matrix_from_trace(2, trace, np.array(py), seed=0)


def test_noisy_labels_flip_exact_counts():
    true = np.repeat(np.arange(3), [100, 50, 30])
    matrix = np.array([[0.8, 0.1, 0.2], [0.15, 0.7, 0.1], [0.05, 0.2, 0.7]])
    noisy = generate_noisy_labels(true, matrix, np.random.default_rng(0))
    for j, n in enumerate([100, 50, 30]):
        got = np.bincount(noisy[true == j], minlength=3)
        expected = np.floor(matrix[:, j] * n).astype(int)
        expected[j] = n - (expected.sum() - expected[j])
        assert got.tolist() == expected.tolist()


def test_noisy_labels_validate_inputs():
    with pytest.raises(ValueError, match="columns must sum to 1"):
        generate_noisy_labels(np.zeros(3, dtype=int), np.array([[0.5, 0.5], [0.6, 0.5]]), 0)
    with pytest.raises(ValueError, match="true labels"):
        generate_noisy_labels(np.array([0, 5]), np.eye(2), 0)


def test_simulated_annotators_are_seeded_and_independent():
    true = np.repeat(np.arange(4), 50)
    matrix = noise_matrix_from_trace(4, 3.0, np.full(4, 0.25), seed=1)
    a = simulate_annotators(true, matrix, 6, np.random.default_rng(3))
    b = simulate_annotators(true, matrix, 6, np.random.default_rng(3))
    assert a.shape == (200, 6) and np.array_equal(a, b)
    assert not np.array_equal(a[:, 0], a[:, 1])
    accuracy = (a == true[:, None]).mean(axis=0)
    assert np.allclose(accuracy, accuracy[0])  # exact counts: every annotator has the same accuracy per class


def test_sparsify_keeps_at_least_one_label_and_at_most_five():
    rng = np.random.default_rng(0)
    full = np.ones((300, 30), dtype=bool)
    kept = keep_random_annotators(full, 5, rng)
    assert (kept.sum(axis=1) >= 1).all() and (kept.sum(axis=1) <= 5).all()
    final = drop_to_least_annotations(kept, rng, 0.97)
    assert (final <= kept).all() and (final.sum(axis=1) >= 1).all()
    assert final.sum() < kept.sum()
    # every annotator that was dropped somewhere still has an example holding > 2 labels or was kept
    again = sparsify(full, np.random.default_rng(0), 5, 0.97)
    assert np.array_equal(again, final)


def test_drop_pass_never_drops_single_labels():
    mask = np.zeros((5, 4), dtype=bool)
    mask[np.arange(5), np.arange(5) % 4] = True
    assert np.array_equal(drop_to_least_annotations(mask, np.random.default_rng(0), 1.0), mask)


def test_annotation_store_wide_and_counts():
    store = AnnotationStore(6)
    store.add(np.array([4, 1, 4]), np.array([0, 0, 2]), np.array([1, 0, 2]), 0)
    store.add(np.array([1, 5]), np.array([7, 7]), np.array([1, 1]), 1)
    assert store.labeled_examples().tolist() == [4, 1, 5]
    assert store.counts.tolist() == [0, 2, 0, 0, 2, 1] and store.n_annotations == 5
    table = store.wide()
    assert table.shape == (3, 3)  # columns 0, 2, 7 (empty columns dropped)
    expected = np.array([[1, 2, np.nan], [0, np.nan, 1], [np.nan, np.nan, 1]])
    assert np.array_equal(np.isnan(table), np.isnan(expected)) and np.allclose(np.nan_to_num(table), np.nan_to_num(expected))
    assert store.annotated_columns(4).tolist() == [0, 2]
    with pytest.raises(IndexError):
        store.add(np.array([6]), np.array([0]), np.array([0]), 2)
