import dataclasses

import numpy as np
import pytest
from cleanlab.multiannotator import get_active_learning_scores, get_active_learning_scores_ensemble

from active_learning.multiannotator.methods import METHODS, ScoringInputs, get_method
from active_learning.multiannotator.methods.disagreement import committee_disagreement


def make_inputs(n_labeled=12, n_unlabeled=7, n_classes=3, n_models=1, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.full((n_labeled, 4), np.nan)
    for i in range(n_labeled):
        cols = rng.choice(4, size=1 + i % 3, replace=False)
        labels[i, cols] = rng.integers(0, n_classes, size=cols.size)
    probs = rng.dirichlet(np.ones(n_classes), size=(n_models, n_labeled))
    unl = rng.dirichlet(np.ones(n_classes), size=(n_models, n_unlabeled))
    counts = (~np.isnan(labels)).sum(axis=1)
    consensus = np.nan_to_num(labels, nan=-1).max(axis=1).astype(int)
    return ScoringInputs(labels, consensus, probs, unl, counts, n_classes)


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_returns_finite_scores_of_the_right_shape(name):
    method = get_method(name)
    inputs = make_inputs(n_models=3 if method.requires_ensemble else 1)
    if getattr(method, "requires_flags", False):  # acts on a noise filter's flags (loop.filter)
        inputs = dataclasses.replace(inputs, flagged=np.arange(12) % 3 == 0)
    labeled, unlabeled = method.score(inputs, np.random.default_rng(0))
    assert labeled.shape == (12,) and unlabeled.shape == (7,)
    assert np.isfinite(labeled).all() and np.isfinite(unlabeled).all()
    again = method.score(inputs, np.random.default_rng(0))
    assert np.array_equal(again[0], labeled) and np.array_equal(again[1], unlabeled)


def test_entropy_and_uncertainty_formulas():
    inputs = make_inputs()
    p = inputs.pred_probs[0]
    ent_l, _ = get_method("entropy").score(inputs, np.random.default_rng(0))
    expected = (p * np.log(p)).sum(axis=1) / np.log(3)
    assert np.allclose(ent_l, expected)
    unc_l, unc_u = get_method("uncertainty").score(inputs, np.random.default_rng(0))
    assert np.allclose(unc_l, p.max(axis=1) - 1) and np.allclose(unc_u, inputs.pred_probs_unlabeled[0].max(axis=1) - 1)


def test_good_random_puts_unlabeled_and_least_annotated_first():
    inputs = make_inputs()
    labeled, unlabeled = get_method("good_random").score(inputs, np.random.default_rng(0))
    assert unlabeled.max() < labeled.min()
    order = np.argsort(labeled)
    assert np.all(np.diff(inputs.annotation_counts[order]) >= 0)


def test_disagreement_is_entropy_when_members_agree():
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=5)
    same = np.stack([probs, probs, probs])
    entropy = -(probs * np.log(probs)).sum(axis=1) / np.log(4)
    assert np.allclose(committee_disagreement(same), entropy, atol=1e-5)
    split = np.stack([np.eye(4)[[0] * 5], np.eye(4)[[1] * 5]])
    assert (committee_disagreement(split) > committee_disagreement(same)).all()


def test_active_label_cleaning_ranks_confident_disagreement_first():
    labels = np.array([[0.0, np.nan], [0.0, np.nan], [1.0, 1.0]])
    probs = np.array([[[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.34, 0.33, 0.33]]])
    inputs = ScoringInputs(labels, np.array([0, 0, 1]), probs, np.zeros((1, 2, 3)) + 1 / 3, np.array([1, 1, 2]), 3)
    labeled, unlabeled = get_method("active_label_cleaning").score(inputs, np.random.default_rng(0))
    assert np.argmin(labeled) == 1  # model is sure of class 1, the annotation says 0
    assert (unlabeled == 1.0).all() and labeled.max() <= 1.0


def test_activelab_equals_cleanlab_official_scores():
    inputs = make_inputs()
    labeled, unlabeled = get_method("activelab", calibration="cleanlab").score(inputs, np.random.default_rng(0))
    ref_l, ref_u = get_active_learning_scores(inputs.labels_multiannotator, inputs.pred_probs[0].copy(), inputs.pred_probs_unlabeled[0].copy())
    assert np.allclose(labeled, ref_l) and np.allclose(unlabeled, ref_u)
    ens = make_inputs(n_models=3)
    before = ens.pred_probs.copy()
    labeled, unlabeled = get_method("activelab_ensemble", calibration="cleanlab").score(ens, np.random.default_rng(0))
    ref_l, ref_u = get_active_learning_scores_ensemble(ens.labels_multiannotator, ens.pred_probs.copy(), ens.pred_probs_unlabeled.copy())
    assert np.allclose(labeled, ref_l) and np.allclose(unlabeled, ref_u)
    assert np.array_equal(ens.pred_probs, before), "inputs must not be modified in place"


def test_activelab_single_annotator_special_case():
    # every example has exactly one label: s_u = (max U + 1/K) / 2 and s_i = (2 P(y_i) + 1/K) / 3
    labels = np.array([[0.0], [1.0], [2.0], [1.0]])
    probs = np.random.default_rng(1).dirichlet(np.ones(3), size=(1, 4))
    unl = np.random.default_rng(2).dirichlet(np.ones(3), size=(1, 5))
    inputs = ScoringInputs(labels, np.array([0, 1, 2, 1]), probs, unl, np.ones(4, dtype=int), 3)
    labeled, unlabeled = get_method("activelab").score(inputs, np.random.default_rng(0))
    assert np.allclose(unlabeled, (unl[0].max(axis=1) + 1 / 3) / 2)
    assert np.allclose(labeled, (2 * probs[0][np.arange(4), [0, 1, 2, 1]] + 1 / 3) / 3)


def test_activelab_without_unlabeled_pool():
    inputs = make_inputs(n_unlabeled=0)
    labeled, unlabeled = get_method("activelab").score(inputs, np.random.default_rng(0))
    assert labeled.shape == (12,) and unlabeled.shape == (0,)


def test_crowdlab_consensus_with_cleanlab_calibration_or_none_equals_cleanlab():
    from cleanlab.multiannotator import get_label_quality_multiannotator

    from active_learning.multiannotator.consensus import crowdlab

    rng = np.random.default_rng(9)
    n_examples, n_classes = 80, 3
    truth = rng.integers(n_classes, size=n_examples)
    noisy = rng.integers(n_classes, size=(n_examples, 3))
    labels = np.where(rng.random((n_examples, 3)) < 0.65, truth[:, None], noisy).astype(float)
    labels[rng.random((n_examples, 3)) < 0.4] = np.nan
    empty = np.isnan(labels).all(axis=1)
    labels[empty, 0] = truth[empty]
    probs = rng.dirichlet(np.full(n_classes, 0.3), size=n_examples)
    consensus = {}
    for calibrate, calibration in ((True, "cleanlab"), (False, "none")):
        consensus[calibrate] = crowdlab(labels, probs, np.random.default_rng(0), calibration=calibration)
        expected = get_label_quality_multiannotator(labels, probs.copy(), calibrate_probs=calibrate, verbose=False)
        assert np.array_equal(consensus[calibrate], expected["label_quality"]["consensus_label"].to_numpy())
    assert not np.array_equal(consensus[True], consensus[False])  # the switch matters on this data
