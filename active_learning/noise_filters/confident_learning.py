"""Confident learning: cleanlab's ``find_label_issues`` on out-of-fold logistic-regression probabilities.

References
----------
.. [1] Northcutt, Jiang, Chuang (2021). "Confident Learning: Estimating Uncertainty in Dataset Labels." JAIR.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from ._base import NoiseFilter, register_filter


@register_filter("confident_learning")
class ConfidentLearningFilter(NoiseFilter):
    """Clean iff cleanlab does not flag the label (out-of-fold probabilities, ``n_folds`` folds).

    Parameters
    ----------
    n_folds : int, default=3
    filter_by : str, default="prune_by_noise_rate"
        cleanlab's ``filter_by`` option.
    max_iter : int, default=200
    """

    def __init__(self, *, n_folds: int = 3, filter_by: str = "prune_by_noise_rate", max_iter: int = 200) -> None:
        if int(n_folds) < 2:
            raise ValueError(f"n_folds must be >= 2, got {n_folds}")
        self.n_folds = int(n_folds)
        self.filter_by = filter_by
        self.max_iter = int(max_iter)

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        from cleanlab.filter import find_label_issues

        classes, y = np.unique(labels, return_inverse=True)
        n, K = labeled_idx.size, classes.size
        if K < 2 or n < max(self.n_folds, 2 * K):
            return np.ones(n, dtype=bool)
        X = features[labeled_idx]
        seed = int(rng.integers(0, 2**31 - 1))
        probs = np.zeros((n, K))
        for train, test in KFold(self.n_folds, shuffle=True, random_state=seed).split(X):
            present = np.unique(y[train])
            if present.size == 1:
                probs[np.ix_(test, present)] = 1.0
                continue
            clf = LogisticRegression(max_iter=self.max_iter, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
                clf.fit(X[train], y[train])
            probs[np.ix_(test, clf.classes_)] = clf.predict_proba(X[test])
        probs = (probs + 1e-6) / (probs + 1e-6).sum(1, keepdims=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            issues = find_label_issues(y, probs, filter_by=self.filter_by)
        return ~np.asarray(issues, dtype=bool)
