"""The blocks of one ActiveLab round: cross-validated predictions of every ensemble member, a method's checked
scores, the batch of lowest scores, and the ensemble's test accuracy.

The round engine (:mod:`active_learning.loops.engine`, through :mod:`active_learning.loops.multiannotator`) and the
"what next?" API (:func:`active_learning.multiannotator.suggest_next_batch`) both build on them.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..learners import make_estimator
from ..models import cross_val_predict_proba, fit_predict_proba
from ..utils.random import random_tiebreak_argsort
from .methods import ScoringInputs


@dataclass
class RoundModels:
    """Member-stacked predictions of one round (``m`` = ensemble members)."""

    labeled: np.ndarray  # (m, n_labeled, K) out-of-fold
    unlabeled: np.ndarray  # (m, n_unlabeled, K)
    test_per_fold: Optional[np.ndarray] = None  # (m, n_folds, n_test, K)
    test_refit: Optional[np.ndarray] = None  # (m, n_test, K)


def fit_round(
    X_pool: np.ndarray,
    members: Sequence[str],
    model_params: Dict[str, Dict[str, Any]],
    labeled: np.ndarray,
    unlabeled: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    n_folds: int,
    rng: np.random.Generator,
    X_test: Optional[np.ndarray] = None,
    keep: Optional[np.ndarray] = None,
) -> RoundModels:
    """Cross-validated predictions of every ensemble member trained on ``targets`` (the consensus labels of
    ``labeled``): out-of-fold on the labeled examples, fold-averaged on the unlabeled ones; on ``X_test`` (when
    given) every fold model's predictions and a model refit on all labeled data. Models are built by
    :func:`active_learning.learners.make_estimator`, so any registered learner can be a member.

    ``keep`` (boolean over ``labeled``, e.g. a noise filter's predicted-clean mask) trains on the kept examples
    only: they get out-of-fold predictions, the others fold-averaged ones, as unlabeled examples do. ``None`` or
    all true: every labeled example is trained on."""
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (labeled.size,):
            raise ValueError(f"keep must be a boolean mask over the {labeled.size} labeled examples, got shape {keep.shape}")
        if keep.all():
            keep = None
    trained = labeled if keep is None else labeled[keep]
    trained_targets = targets if keep is None else np.asarray(targets)[keep]
    outs, unl, test_folds, test_refit = [], [], [], []
    for member in members:
        seed = int(rng.integers(2**31 - 1))
        params = model_params.get(member, {})

        def make(member: str = member, seed: int = seed, params: Dict[str, Any] = params) -> Any:
            return make_estimator(member, random_state=seed, **params)

        others = {"unlabeled": X_pool[unlabeled]}
        if keep is not None:
            others["held_out"] = X_pool[labeled[~keep]]
        if X_test is not None:
            others["test"] = X_test
        cv = cross_val_predict_proba(make, X_pool[trained], trained_targets, others, n_classes, n_folds, rng)
        if keep is None:
            outs.append(cv.out_of_fold)
        else:
            merged = np.empty((labeled.size, n_classes))
            merged[keep] = cv.out_of_fold
            merged[~keep] = cv.averaged("held_out")
            outs.append(merged)
        unl.append(cv.averaged("unlabeled"))
        if X_test is not None:
            refit = fit_predict_proba(make, X_pool[trained], trained_targets, {"test": X_test}, n_classes)
            test_folds.append(cv.others["test"])
            test_refit.append(refit["test"])
    return RoundModels(
        np.stack(outs), np.stack(unl),
        np.stack(test_folds) if test_folds else None, np.stack(test_refit) if test_refit else None,
    )


def select_batch(
    scores_labeled: np.ndarray,
    scores_unlabeled: np.ndarray,
    labeled: np.ndarray,
    unlabeled: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    *,
    allow_relabel: bool = True,
    relabelable: Optional[np.ndarray] = None,
    labelable: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``batch_size`` lowest scores over labeled and unlabeled examples (random tie-break); labeled examples
    are candidates only when ``allow_relabel`` and (where given) ``relabelable``, unlabeled ones only where
    ``labelable`` (an example nobody can label). Returns ``(chosen examples, their scores)``."""
    candidates = np.concatenate([labeled, unlabeled])
    scores = np.concatenate([np.asarray(scores_labeled, dtype=float), np.asarray(scores_unlabeled, dtype=float)])
    selectable = np.ones(candidates.size, dtype=bool)
    if not allow_relabel:
        scores[: labeled.size] = np.inf
        selectable[: labeled.size] = False
    elif relabelable is not None:
        selectable[: labeled.size] = np.asarray(relabelable, dtype=bool)
    if labelable is not None:
        selectable[labeled.size:] = np.asarray(labelable, dtype=bool)
    order = random_tiebreak_argsort(scores, rng)
    order = order[selectable[order]][:batch_size]
    return candidates[order], scores[order]


def score_round(scorer: Any, inputs: ScoringInputs, rng: np.random.Generator, method: str = "") -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """A method's scores for one round, checked (shapes, no NaN)."""
    scores_labeled, scores_unlabeled, details = scorer.score_with_details(inputs, rng)
    scores_labeled = np.asarray(scores_labeled, dtype=float)
    scores_unlabeled = np.asarray(scores_unlabeled, dtype=float)
    n_labeled, n_unlabeled = inputs.labels_multiannotator.shape[0], inputs.pred_probs_unlabeled.shape[1]
    if scores_labeled.shape != (n_labeled,) or scores_unlabeled.shape != (n_unlabeled,):
        raise RuntimeError(
            f"method {method!r} returned scores of shapes {scores_labeled.shape} and {scores_unlabeled.shape}, "
            f"expected ({n_labeled},) and ({n_unlabeled},)"
        )
    if np.isnan(scores_labeled).any() or np.isnan(scores_unlabeled).any():
        raise RuntimeError(f"method {method!r} returned NaN scores")
    return scores_labeled, scores_unlabeled, details



def ensemble_accuracy(models: RoundModels, y_test: np.ndarray, weights: Optional[np.ndarray]) -> float:
    """Test accuracy of an ensemble as the ActiveLab paper measured it: argmax of the (``w_M``-weighted, for
    ActiveLab-ensemble; unweighted otherwise) mean of the members' fold-averaged test probabilities."""
    assert models.test_per_fold is not None
    member_probs = models.test_per_fold.mean(axis=1)  # (m, n_test, K)
    weights = np.ones(member_probs.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mean = np.tensordot(weights / weights.sum(), member_probs, axes=1)
    return float(np.mean(mean.argmax(axis=1) == y_test))
