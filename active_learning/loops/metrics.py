"""Per-round metrics shared by both protocols: how well a noise filter's predicted-clean mask matches the truth,
and how the truly clean labels spread over the classes.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

#: Names :func:`filter_metrics` returns (recorded by every run with a noise filter, both protocols).
FILTER_METRICS = ("filter_precision", "filter_recall", "filter_f1", "predicted_noise_ratio", "true_noise_ratio")
#: What a run with a noise filter records each round: :data:`FILTER_METRICS` and the size of its training set.
FILTERED_RUN_METRICS = (*FILTER_METRICS, "n_train")


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
