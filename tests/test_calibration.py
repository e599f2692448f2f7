"""Temperature calibration choices, the library's majority vote, and ActiveLab scores computed from them."""

import numpy as np
import pytest
from cleanlab.internal.multiannotator_utils import find_best_temp_scaler, temp_scale_pred_probs
from cleanlab.multiannotator import get_active_learning_scores, get_majority_vote_label

from active_learning.multiannotator.calibration import (
    COARSE_GRID,
    check_calibration,
    empirical_label_distribution,
    fine_grid,
    fit_temperature,
    scale_probabilities,
)
from active_learning.multiannotator.consensus import crowdlab_fit, majority_vote_labels
from active_learning.multiannotator.methods.activelab import activelab_scores


def noisy_table(seed=0, n=120, n_annotators=5, n_classes=4, p_missing=0.6, accuracy=0.75):
    rng = np.random.default_rng(seed)
    truth = rng.integers(n_classes, size=n)
    noise = rng.integers(n_classes, size=(n, n_annotators))
    labels = np.where(rng.random((n, n_annotators)) < accuracy, truth[:, None], noise).astype(float)
    labels[rng.random((n, n_annotators)) < p_missing] = np.nan
    empty = np.isnan(labels).all(axis=1)
    labels[empty, 0] = truth[empty]
    logits = 3.0 * np.eye(n_classes)[truth] + rng.normal(size=(n, n_classes))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs, truth


def test_empirical_distribution_is_aligned_with_the_classes():
    labels = np.array([[3.0, np.nan], [1.0, 1.0], [2.0, 0.0]])
    expected = np.array([[0, 0, 0, 1], [0, 1, 0, 0], [0.5, 0, 0.5, 0]])
    assert np.allclose(empirical_label_distribution(labels, 4), expected)


def test_fine_grid_matches_cleanlab():
    from cleanlab.internal.multiannotator_utils import _set_fine_search_range

    for best in range(len(COARSE_GRID)):
        assert np.allclose(fine_grid(COARSE_GRID, best), _set_fine_search_range(list(COARSE_GRID), 4, best))


def test_cleanlab_choice_is_cleanlabs_own_search():
    labels, probs, _ = noisy_table(1)
    assert fit_temperature(labels, probs, "cleanlab") == pytest.approx(find_best_temp_scaler(labels, probs))


def test_rowwise_equals_cleanlab_where_its_class_counts_are_aligned():
    # cleanlab's value_counts places a row's counts in the first positions for float labels; it is right when every
    # row's labels are exactly {0, ..., u-1}: then the row-wise search and cleanlab's must agree.
    rng = np.random.default_rng(3)
    labels = np.where(rng.random((200, 3)) < 0.5, 0.0, 1.0)
    labels[:, 2] = np.nan
    probs = rng.dirichlet(np.ones(4) * 0.7, size=200)
    assert fit_temperature(labels, probs, "rowwise") == pytest.approx(find_best_temp_scaler(labels, probs))


def test_cleanlab_search_misreads_labels_of_a_float_table():
    # the defect the "rowwise" choice fixes: a single label of class 3 counts as class 0 in cleanlab's search
    from cleanlab.internal.util import value_counts

    assert list(value_counts(np.array([3.0]), num_classes=4)) == [1, 0, 0, 0]


def test_calibrations_choose_different_temperatures_on_overconfident_zeros():
    labels, probs, _ = noisy_table(2, accuracy=0.6)
    probs = np.where(probs < 0.05, 0.0, probs)  # tree-like exact zeros
    probs /= probs.sum(axis=1, keepdims=True)
    temps = {c: fit_temperature(labels, probs, c) for c in ("benchmark", "cleanlab", "rowwise", "none", 2.5)}
    assert temps["none"] == 1.0 and temps[2.5] == 2.5
    for choice in ("benchmark", "cleanlab", "rowwise"):
        assert min(COARSE_GRID) <= temps[choice] <= max(COARSE_GRID)


def test_temperature_is_one_without_multiply_labeled_examples():
    labels = np.array([[0.0], [1.0], [2.0]])
    probs = np.full((3, 3), 1 / 3)
    for choice in ("benchmark", "cleanlab", "rowwise"):
        assert fit_temperature(labels, probs, choice) == 1.0


@pytest.mark.parametrize("bad", ["Cleanlab", "", -1.0, 0, float("nan"), True, None])
def test_bad_calibration_is_rejected(bad):
    with pytest.raises(ValueError, match="calibration"):
        check_calibration(bad)


def test_scaling_matches_cleanlab_and_keeps_the_argmax():
    _, probs, _ = noisy_table(4)
    probs[:5, 1] = 0.0
    for temperature in (0.3, 1.0, 6.5):
        ours = scale_probabilities(probs, temperature)
        assert np.allclose(ours, temp_scale_pred_probs(probs.copy(), temperature))
        assert np.array_equal(ours.argmax(axis=1), np.clip(probs, 1e-30, None).argmax(axis=1))
    stacked = scale_probabilities(np.stack([probs, probs]), 2.0)
    assert np.allclose(stacked[1], scale_probabilities(probs, 2.0))


@pytest.mark.parametrize("seed", range(6))
def test_majority_vote_least_frequent_equals_cleanlab(seed):
    labels, probs, _ = noisy_table(seed, n=300, p_missing=0.5)
    rng = np.random.default_rng(0)
    assert np.array_equal(majority_vote_labels(labels, probs, rng), get_majority_vote_label(labels, probs, verbose=False))
    # without probabilities the class-frequency and agreement tie-breaks decide; compare where no random draw is left
    ours = majority_vote_labels(labels, None, rng)
    theirs = get_majority_vote_label(labels, verbose=False)
    assert np.mean(ours == theirs) > 0.99


def test_most_frequent_tie_break_picks_the_majority_class():
    # class 0 is the most frequent overall; the last row ties between 0 and 1
    labels = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, np.nan], [0.0, 1.0]])
    rng = np.random.default_rng(0)
    assert majority_vote_labels(labels, None, rng, tie_break="most_frequent")[3] == 0
    assert majority_vote_labels(labels, None, rng, tie_break="least_frequent")[3] == 1
    with pytest.raises(ValueError, match="tie_break"):
        majority_vote_labels(labels, None, rng, tie_break="majority")


@pytest.mark.parametrize("calibration", ["benchmark", "rowwise", "none", 0.7])
def test_activelab_scores_equal_cleanlab_given_the_same_temperature(calibration):
    labels, probs, _ = noisy_table(5)
    unlabeled = np.random.default_rng(6).dirichlet(np.ones(4), size=30)
    rng = np.random.default_rng(0)
    ours_l, ours_u, details = activelab_scores(labels, probs[None], unlabeled[None], rng, calibration=calibration)
    temperature = fit_temperature(labels, probs, calibration)
    assert details["temperature"] == pytest.approx(temperature)
    # cleanlab with T fixed to ours: monkeypatch its search to return our temperature
    import cleanlab.multiannotator as cm

    original = cm.find_best_temp_scaler
    cm.find_best_temp_scaler = lambda *args, **kwargs: temperature
    try:
        ref_l, ref_u = get_active_learning_scores(labels, probs.copy(), unlabeled.copy())
    finally:
        cm.find_best_temp_scaler = original
    assert np.allclose(ours_l, ref_l) and np.allclose(ours_u, ref_u)


def test_crowdlab_fit_records_weights_and_temperatures():
    labels, probs, truth = noisy_table(7)
    fit = crowdlab_fit(labels, np.stack([probs, probs ** 2 / (probs ** 2).sum(1, keepdims=True)]), np.random.default_rng(0), calibration="rowwise")
    assert fit.model_weights.shape == (2,) and fit.temperatures.shape == (2,)
    assert fit.annotator_weights.shape == (labels.shape[1],)
    assert np.mean(fit.consensus == truth) > 0.8
