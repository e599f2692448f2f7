"""Model-based uncertainty strategies: least confidence, entropy, margin and BALD (MC dropout).

They score the unlabeled pool with the previous round's classifier, passed in the context as ``pred_probs``
(shape (n_samples, n_classes), probabilities on every pool point) or ``mc_probs`` (shape (T, n_samples,
n_classes), MC-dropout samples, for BALD), and take the ``budget`` highest scores (ties broken at random from
``rng``). With an empty labeled set (no trained model yet) they fall back to random sampling, as the original
code did.

References
----------
.. [1] Settles (2009). "Active Learning Literature Survey." (least confidence, margin, entropy)
.. [2] Gal, Islam, Ghahramani (2017). "Deep Bayesian Active Learning with Image Data." ICML. (BALD)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import entr

from ..utils.random import random_tiebreak_argsort
from ._base import QueryStrategy, register_strategy, unlabeled_mask


def _check_probs(probs: Any, n: int, name: str, ndim: int) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != ndim or p.shape[-2] != n:
        want = "(n_samples, n_classes)" if ndim == 2 else "(T, n_samples, n_classes)"
        raise ValueError(f"{name} must have shape {want} with n_samples={n}, got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    if not np.allclose(p.sum(-1), 1.0, atol=1e-3):
        raise ValueError(f"{name} rows must sum to 1 (apply softmax to logits first)")
    return p


class _ScoreStrategy(QueryStrategy):
    requires_model = True
    context_key = "pred_probs"
    ndim = 2

    def score(self, probs: np.ndarray) -> np.ndarray:  # higher = more informative
        raise NotImplementedError

    def _select(self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator,
                **context: Any) -> np.ndarray:
        pool = np.flatnonzero(unlabeled_mask(features.shape[0], labeled_idx))
        if labeled_idx.size == 0:
            return rng.choice(pool, budget, replace=False)
        if context.get(self.context_key) is None:
            raise ValueError(
                f"{type(self).__name__} needs {self.context_key}=... in the context (the previous round's model "
                f"outputs on every pool point)"
            )
        probs = _check_probs(context[self.context_key], features.shape[0], self.context_key, self.ndim)
        scores = self.score(probs[..., pool, :])
        order = random_tiebreak_argsort(-scores, rng)
        return pool[order[:budget]]


@register_strategy("uncertainty", label="Uncertainty", color="#17becf")
class LeastConfidence(_ScoreStrategy):
    """Least confidence: score ``1 - max_c p(c|x)``."""

    def score(self, probs: np.ndarray) -> np.ndarray:
        return 1.0 - probs.max(-1)


@register_strategy("least_confidence", label="Least confidence", color="#17becf")
class LeastConfidenceAlias(LeastConfidence):
    """Alias of ``uncertainty`` (least confidence)."""


@register_strategy("entropy", label="Entropy", color="#1f77b4")
class Entropy(_ScoreStrategy):
    """Entropy of the predicted class distribution."""

    def score(self, probs: np.ndarray) -> np.ndarray:
        return entr(probs).sum(-1)


@register_strategy("margin", label="Margin", color="#ff7f0e")
class Margin(_ScoreStrategy):
    """Smallest margin: score ``-(p_1 - p_2)`` for the two largest probabilities."""

    def score(self, probs: np.ndarray) -> np.ndarray:
        top2 = np.partition(probs, -2, axis=-1)[..., -2:]
        return -(top2[..., 1] - top2[..., 0])


@register_strategy("bald", label="BALD", color="#aec7e8")
class BALD(_ScoreStrategy):
    """BALD: mutual information ``H[mean_t p_t] - mean_t H[p_t]`` over MC-dropout samples ``mc_probs``."""

    context_key = "mc_probs"
    ndim = 3

    def score(self, probs: np.ndarray) -> np.ndarray:
        return entr(probs.mean(0)).sum(-1) - entr(probs).sum(-1).mean(0)
