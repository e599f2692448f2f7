"""The single-annotator noisy active-learning loop of the NAS protocol.

Per round ``t``:

1. the strategy selects ``B_t`` unlabeled points (NAS variants get the previous round's clean mask, the filter
   and the oracle in their context, and reveal labels share by share);
2. the oracle reveals their (possibly wrong) labels;
3. the noise filter runs on *all* labeled points (fresh run);
4. a learner is trained from the same initial weights on the predicted-clean labeled points (or on all of them
   with ``train_on_all=True``; if the filter keeps no point, on all of them);
5. test accuracy and filter metrics are recorded.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from ..budgets import BudgetSchedule
from ..strategies._base import QueryStrategy, check_features, check_labeled_idx

#: Per-round metrics returned by :func:`run_noisy_loop` (1-D arrays of length ``n_rounds``).
METRICS = (
    "accuracy",
    "filter_precision",
    "filter_recall",
    "filter_f1",
    "predicted_noise_ratio",
    "true_noise_ratio",
    "n_labeled",
    "n_train",
    "n_clean_classes",
    "clean_class_entropy",
)


def filter_metrics(pred_clean: np.ndarray, true_clean: np.ndarray) -> Dict[str, float]:
    """Precision, recall and F1 of the *clean* class, plus predicted and true noise ratios."""
    tp = float(np.sum(pred_clean & true_clean))
    fp = float(np.sum(pred_clean & ~true_clean))
    fn = float(np.sum(~pred_clean & true_clean))
    precision = tp / (tp + fp) if tp + fp > 0 else float("nan")
    recall = tp / (tp + fn) if tp + fn > 0 else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else float("nan")
    n = max(pred_clean.size, 1)
    return {
        "filter_precision": precision,
        "filter_recall": recall,
        "filter_f1": f1,
        "predicted_noise_ratio": float(np.sum(~pred_clean)) / n,
        "true_noise_ratio": float(np.sum(~true_clean)) / n,
    }


def clean_class_stats(labels: np.ndarray, true_labels: np.ndarray, n_classes: int) -> Dict[str, float]:
    """How the truly clean labels of the labeled set spread over the classes.

    ``n_clean_classes``: classes holding at least one correctly labeled example; ``clean_class_entropy``: Shannon
    entropy (bits) of the class distribution of the correctly labeled examples (``log2(n_classes)`` when balanced,
    0 when one class holds them all, NaN when there is none). A coverage strategy whose picks concentrate on a few
    dense classes shows here before it shows in accuracy (Shafir, Hacohen, Weinshall 2025, Section 4).
    """
    clean = true_labels[labels == true_labels]
    counts = np.bincount(clean, minlength=n_classes).astype(np.float64)
    total = counts.sum()
    if total == 0:
        return {"n_clean_classes": 0.0, "clean_class_entropy": float("nan")}
    p = counts[counts > 0] / total
    return {"n_clean_classes": float((counts > 0).sum()), "clean_class_entropy": float(-(p * np.log2(p)).sum() + 0.0)}


def run_noisy_loop(
    features: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    oracle: Any,
    strategy: QueryStrategy,
    noise_filter: Any,
    learner: Any,
    budgets: BudgetSchedule,
    seed: int,
    train_on_all: bool = False,
    *,
    train_inputs: Optional[np.ndarray] = None,
    test_inputs: Optional[np.ndarray] = None,
    n_classes: Optional[int] = None,
    initial_labeled: Optional[np.ndarray] = None,
    mc_samples: int = 25,
    on_round: Optional[Callable[[int], None]] = None,
) -> Dict[str, np.ndarray]:
    """Run one noisy single-annotator AL experiment.

    Parameters
    ----------
    features : ndarray of shape (n_samples, d)
        Pool features (strategies and filters; coverage strategies normalise them themselves).
    test_features : ndarray of shape (n_test, d)
        Test inputs of the learner when ``test_inputs`` is not given.
    test_labels : ndarray of int, shape (n_test,)
    oracle : NoisyOracle
        Reset at the start; reveals labels on query. Its ground truth is used only for metrics and, when the
        filter is ``ideal``, passed to the filter as ``true_labels``.
    strategy : QueryStrategy
    noise_filter : NoiseFilter
    learner : Learner
    budgets : BudgetSchedule
        Round sizes (and an optional random initial set).
    seed : int
        Master seed: independent generator streams for selection, filtering and training.
    train_on_all : bool, default=False
        Train on every labeled point instead of the predicted-clean ones.
    train_inputs, test_inputs : ndarray, optional
        Learner inputs when they differ from ``features`` (e.g. images for ``resnet18_cifar``).
    n_classes : int, optional
        Default ``oracle.n_classes``.
    initial_labeled : ndarray of int, optional
        An explicit initial labeled set (overrides ``budgets.initial_size``).
    mc_samples : int, default=25
        MC-dropout samples for strategies that need ``mc_probs`` (learners with ``predict_mc_proba``).
    on_round : callable, optional
        Called with the round index after each round (progress reporting).

    Returns
    -------
    dict
        ``METRICS`` -> 1-D float array per round; ``"selected"``: 1-D int array of every pick in order (initial
        set first); ``"round_sizes"``: points added per round (the initial set counted in round 0);
        ``"clean_mask"``: the last round's filter output over ``labeled_idx`` (= ``selected``).
    """
    X = check_features(features)
    n = X.shape[0]
    test_y = np.asarray(test_labels)
    if test_inputs is None:
        test_inputs = check_features(test_features, "test_features")
    if np.asarray(test_inputs).shape[0] != test_y.shape[0]:
        raise ValueError("test inputs and test_labels must have the same number of rows")
    if train_inputs is None:
        train_inputs = X
    elif np.asarray(train_inputs).shape[0] != n:
        raise ValueError(f"train_inputs must have one row per pool point ({n})")
    if getattr(oracle, "n_samples", n) != n:
        raise ValueError(f"the oracle holds {oracle.n_samples} labels but the pool has {n} points")
    C = int(n_classes if n_classes is not None else oracle.n_classes)
    budgets.check_pool(n)

    sel_rng, filt_rng, learn_rng, init_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    oracle.reset()
    for obj in (noise_filter, strategy):
        if hasattr(obj, "reset"):
            obj.reset()
    truth = oracle.ground_truth()
    fctx: Dict[str, Any] = {"n_classes": C}
    if getattr(noise_filter, "requires_ground_truth", False):
        fctx["true_labels"] = truth

    if initial_labeled is not None:
        L = check_labeled_idx(initial_labeled, n)
    elif budgets.initial_size:
        L = init_rng.choice(n, budgets.initial_size, replace=False).astype(np.int64)
    else:
        L = np.zeros(0, dtype=np.int64)
    labels = np.asarray(oracle.query(L), dtype=np.int64) if L.size else np.zeros(0, np.int64)
    clean: Optional[np.ndarray] = None
    if L.size:
        clean = noise_filter.clean_mask(X, L, labels, filt_rng, **fctx)
        if getattr(strategy, "requires_model", False):  # model-based strategies need a model for round 0
            init_train = np.arange(L.size) if (train_on_all or not clean.any()) else np.flatnonzero(clean)
            learner.fit(np.asarray(train_inputs)[L[init_train]], labels[init_train], learn_rng, n_classes=C)
    n_initial = L.size

    results: Dict[str, list] = {m: [] for m in METRICS}
    round_sizes = []
    for t, b in enumerate(budgets.round_sizes):
        ctx: Dict[str, Any] = dict(labels=labels, clean_mask=clean, noise_filter=noise_filter, oracle=oracle,
                                   n_classes=C)
        if "true_labels" in fctx:
            ctx["true_labels"] = truth
        if getattr(strategy, "requires_model", False) and L.size and getattr(learner, "n_classes_", None):
            ctx["pred_probs"] = learner.predict_proba(train_inputs)
            if hasattr(learner, "predict_mc_proba"):
                ctx["mc_probs"] = learner.predict_mc_proba(train_inputs, mc_samples, seed)
        new = strategy.select(X, L, int(b), sel_rng, **ctx)
        new_labels = np.asarray(oracle.query(new), dtype=np.int64)
        L = np.concatenate([L, new])
        labels = np.concatenate([labels, new_labels])
        clean = noise_filter.clean_mask(X, L, labels, filt_rng, **fctx)
        train = np.arange(L.size) if (train_on_all or not clean.any()) else np.flatnonzero(clean)
        learner.fit(np.asarray(train_inputs)[L[train]], labels[train], learn_rng, n_classes=C)
        acc = float(np.mean(learner.predict(test_inputs) == test_y))
        m = filter_metrics(clean, labels == truth[L])
        m.update(clean_class_stats(labels, truth[L], C))
        for k, v in m.items():
            results[k].append(v)
        results["accuracy"].append(acc)
        results["n_labeled"].append(L.size)
        results["n_train"].append(train.size)
        round_sizes.append(int(b) + (n_initial if t == 0 else 0))
        if on_round is not None:
            on_round(t)
    out = {k: np.asarray(v, dtype=np.float64) for k, v in results.items()}
    out["selected"] = L.astype(np.int64)
    out["round_sizes"] = np.asarray(round_sizes, dtype=np.int64)
    out["clean_mask"] = np.asarray(clean, dtype=bool)
    return out
