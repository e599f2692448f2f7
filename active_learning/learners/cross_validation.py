"""Out-of-fold predicted probabilities for labeled examples and fold-averaged ones for everything else.

The multi-annotator loop trains its classifiers here: ``make()`` returns a fresh unfitted scikit-learn classifier,
usually :func:`~active_learning.learners.make_estimator` of a registered learner.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Dict

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

from ..utils.random import as_generator


def _full_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``predict_proba`` spread into ``n_classes`` columns (classes the model never saw get probability 0)."""
    proba = np.zeros((X.shape[0], n_classes))
    if X.shape[0]:
        proba[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(X)
    return proba


def _fit(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def fit_predict_proba(
    make: Any, X: np.ndarray, y: np.ndarray, others: Dict[str, np.ndarray], n_classes: int
) -> Dict[str, np.ndarray]:
    """Fit ``make()`` on all of ``(X, y)`` and return its probabilities on each array of ``others``."""
    model = _fit(make(), X, y)
    return {key: _full_proba(model, value, n_classes) for key, value in others.items()}


@dataclass
class CrossValPredictions:
    """Predictions of a K-fold cross-validation.

    Attributes
    ----------
    out_of_fold : ndarray of shape (n_labeled, n_classes)
        Each labeled example predicted by the fold model that did not train on it.
    others : dict of str -> ndarray of shape (n_folds, n_other, n_classes)
        Every fold model's predictions on the other arrays (unlabeled pool, test set, ...).
    """

    out_of_fold: np.ndarray
    others: Dict[str, np.ndarray]

    def averaged(self, key: str) -> np.ndarray:
        """Fold-averaged probabilities on ``others[key]``."""
        return self.others[key].mean(axis=0)


def cross_val_predict_proba(
    make: Any,
    X: np.ndarray,
    y: np.ndarray,
    others: Dict[str, np.ndarray],
    n_classes: int,
    n_folds: int,
    rng: "int | np.random.Generator",
) -> CrossValPredictions:
    """Stratified K-fold predicted probabilities.

    If a training fold lacks a class that exists in ``y``, one held-out example of that class is copied into the
    training fold and its out-of-fold prediction is set to the one-hot vector of its label (cleanlab's
    convention), so every fold model knows every class.

    Parameters
    ----------
    make : callable
        ``make()`` returns a fresh unfitted classifier (already seeded).
    X : ndarray of shape (n_labeled, n_features)
    y : ndarray of shape (n_labeled,), int
        Training labels (here the consensus labels), in ``0 .. n_classes - 1``.
    others : dict of str -> ndarray
        Arrays to predict with every fold model.
    n_classes : int
    n_folds : int
    rng : int or numpy.random.Generator
        Seeds the fold shuffling.
    """
    rng = as_generator(rng)
    y = np.asarray(y, dtype=np.int64)
    n = y.shape[0]
    n_folds = int(min(n_folds, n))
    if n_folds < 2:
        raise ValueError(f"cross-validation needs at least 2 labeled examples, got {n}")
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
    out_of_fold = np.zeros((n, n_classes))
    fold_preds: Dict[str, list] = {key: [] for key in others}
    present = np.unique(y)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(X, y))
    for train_idx, held_idx in splits:
        missing = np.setdiff1d(present, y[train_idx])
        forced = [held_idx[np.flatnonzero(y[held_idx] == cls)[0]] for cls in missing]
        train_idx = np.concatenate([train_idx, np.asarray(forced, dtype=np.int64)])
        model = _fit(make(), X[train_idx], y[train_idx])
        out_of_fold[held_idx] = _full_proba(model, X[held_idx], n_classes)
        if forced:
            out_of_fold[forced] = np.eye(n_classes)[y[forced]]
        for key, value in others.items():
            fold_preds[key].append(_full_proba(model, value, n_classes))
    return CrossValPredictions(out_of_fold, {key: np.stack(value) for key, value in fold_preds.items()})

