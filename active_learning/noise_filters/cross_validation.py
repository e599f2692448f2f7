"""CrossValidation filter: a k-fold vote of logistic-regression models on the labeled points.

Each of the ``k`` models predicts every labeled point (including its own training points); a point is noisy iff
at least half of the models disagree with its given label. By default each model is trained on ``k - 1`` folds,
as the paper describes; ``train_on_one_fold=True`` reproduces the original code, whose swapped loop variables
trained each model on a single fold.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from ._base import NoiseFilter, register_filter


def fit_predict_logreg(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, seed: int, max_iter: int = 100,
                       C: float = 1.0) -> np.ndarray:
    """Fit a logistic regression (constant prediction when ``ytr`` has one class) and predict ``Xte``."""
    classes = np.unique(ytr)
    if classes.size == 1:
        return np.full(Xte.shape[0], classes[0])
    clf = LogisticRegression(max_iter=max_iter, C=C, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a low-budget labeled set has more classes than half its size; sklearn warns it "could be regression"
        warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
        clf.fit(Xtr, ytr)
    return clf.predict(Xte)


@register_filter("cross_validation")
class CrossValidationFilter(NoiseFilter):
    """k-fold logistic-regression vote.

    Parameters
    ----------
    n_folds : int, default=3
    train_on_one_fold : bool, default=False
        Train each model on one fold (the original code) instead of ``k - 1`` folds (the paper's description).
    max_iter : int, default=100
    C : float, default=1.0
        Inverse L2 regularisation of the logistic regression (scikit-learn's default).
    """

    def __init__(self, *, n_folds: int = 3, train_on_one_fold: bool = False, max_iter: int = 100, C: float = 1.0):
        if int(n_folds) < 2:
            raise ValueError(f"n_folds must be >= 2, got {n_folds}")
        self.n_folds = int(n_folds)
        self.train_on_one_fold = bool(train_on_one_fold)
        self.max_iter = int(max_iter)
        self.C = float(C)

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        n = labeled_idx.size
        if n < self.n_folds or np.unique(labels).size < 2:
            return np.ones(n, dtype=bool)
        X = features[labeled_idx]
        seed = int(rng.integers(0, 2**31 - 1))
        folds = KFold(self.n_folds, shuffle=True, random_state=seed)
        disagree = np.zeros(n, dtype=np.int64)
        for rest, fold in folds.split(X):
            train = fold if self.train_on_one_fold else rest
            pred = fit_predict_logreg(X[train], labels[train], X, seed, self.max_iter, self.C)
            disagree += pred != labels
        return disagree < self.n_folds / 2.0
