"""The noise-filter interface, its registry, the trivial filters and the noise-momentum wrapper.

A filter answers::

    noise_filter.clean_mask(features, labeled_idx, labels, rng, **context) -> bool ndarray of shape (n_labeled,)

``True`` = predicted clean. ``features`` are the pool's raw features (all points; filters that need unlabeled
points, such as LowBudgetAUM, take them from the complement of ``labeled_idx``), ``labels`` the revealed (noisy)
labels of ``labeled_idx``. ``context`` may carry ``n_classes`` and, only for the ``ideal`` upper bound,
``true_labels``.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Optional, TypeVar

import numpy as np

from .._registry import Registry
from ..utils.validation import check_features, check_labeled_idx, check_labels, check_rng

F = TypeVar("F")

FILTERS: Registry[Any] = Registry("noise filter")


def register_filter(name: str) -> Callable[[F], F]:
    """Decorator registering a :class:`NoiseFilter` subclass under ``name``."""
    return FILTERS.register(name)


def get_filter(name: str, *, momentum: float = 0.0, **params: Any) -> "NoiseFilter":
    """Build the registered filter ``name`` with ``params``.

    Parameters
    ----------
    name : str
    momentum : float, default=0.0
        Noise-momentum coefficient λ; a positive value wraps the filter in :class:`MomentumFilter`.
    **params
        Hyper-parameters of the filter.
    """
    filt = FILTERS.get(name)(**params)
    if momentum:
        return MomentumFilter(filt, momentum)
    return filt


def list_filters() -> List[str]:
    """Names of every registered noise filter, sorted."""
    return FILTERS.names()


def resolve_n_classes(labels: np.ndarray, context: Dict[str, Any], default: Optional[int] = None) -> int:
    """``n_classes`` from the context, else the filter's own setting, else ``max(label) + 1``."""
    n = context.get("n_classes", default)
    if n is None:
        n = int(labels.max()) + 1 if labels.size else 1
    return int(n)


class NoiseFilter(ABC):
    """Base class of noise filters. Subclasses implement :meth:`_clean_mask` on validated inputs."""

    #: Whether the filter reads the revealed labels (False only for ``none``).
    requires_labels: bool = True
    #: Whether it needs ``true_labels`` in the context (the ``ideal`` upper bound).
    requires_ground_truth: bool = False
    #: Whether it is an oracle (NAS then uses shares of size 1).
    is_oracle: bool = False

    def clean_mask(
        self, features: Any, labeled_idx: Any, labels: Any, rng: np.random.Generator, **context: Any
    ) -> np.ndarray:
        """Predict which labeled points carry a correct label.

        Parameters
        ----------
        features : array-like of shape (n_samples, n_features)
            Raw pool features (labeled and unlabeled points).
        labeled_idx : array-like of int, shape (n_labeled,)
        labels : array-like of int, shape (n_labeled,)
            Revealed (possibly wrong) labels of ``labeled_idx``, in the same order.
        rng : numpy.random.Generator
        **context
            ``n_classes`` (recommended); ``true_labels`` for ``ideal`` only.

        Returns
        -------
        ndarray of bool, shape (n_labeled,)
            ``True`` where the label is predicted clean.
        """
        X = check_features(features)
        idx = check_labeled_idx(labeled_idx, X.shape[0])
        n_classes = context.get("n_classes")
        lab = check_labels(labels, idx.size, n_classes) if self.requires_labels or labels is not None else None
        check_rng(rng)
        if idx.size == 0:
            return np.zeros(0, dtype=bool)
        # lab is None only for filters that read no labels (requires_labels=False)
        mask = np.asarray(self._clean_mask(X, idx, lab, rng, **context), dtype=np.bool_)  # type: ignore[arg-type]
        assert mask.shape == (idx.size,)
        return mask

    @abstractmethod
    def _clean_mask(
        self, features: np.ndarray, labeled_idx: np.ndarray, labels: np.ndarray, rng: np.random.Generator, **context
    ) -> np.ndarray:
        """Clean mask on validated inputs (``labeled_idx`` non-empty)."""

    def reset(self) -> None:
        """Forget any state kept across calls (called at the start of every AL run)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


@register_filter("none")
class NoFilter(NoiseFilter):
    """Declare every labeled point clean (no filtering)."""

    requires_labels = False

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        return np.ones(labeled_idx.size, dtype=bool)


@register_filter("ideal")
class IdealFilter(NoiseFilter):
    """Oracle filter: clean iff the revealed label equals the true label. **Upper bound only.**

    It needs the ground truth passed explicitly as ``true_labels`` in the context: an array over the whole
    pool (length ``n_samples``, e.g. ``oracle.ground_truth()``) or over ``labeled_idx`` (length
    ``n_labeled``). Never use it as a default: results with it are not achievable in practice. NAS uses shares
    of size 1 with this filter, as the original code did.
    """

    requires_ground_truth = True
    is_oracle = True

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        truth = context.get("true_labels")
        if truth is None:
            raise ValueError(
                "the 'ideal' filter needs true_labels=oracle.ground_truth() in its context; it is an upper bound "
                "for experiments only"
            )
        truth = np.asarray(truth)
        if truth.shape[0] == features.shape[0]:
            truth = truth[labeled_idx]
        elif truth.shape[0] != labeled_idx.size:
            raise ValueError(
                f"true_labels must have length n_samples ({features.shape[0]}) or n_labeled ({labeled_idx.size}), "
                f"got {truth.shape[0]}"
            )
        return truth == labels


class MomentumFilter(NoiseFilter):
    """Noise momentum: a running vote over successive filter calls.

    Each labeled point keeps a score ``r_i``; after the n-th call with prediction ``p ∈ {+1 clean, -1 noisy}``,
    ``r_i <- (1 - μ) p + μ r_i`` with ``μ = λ (n - 1) / n``. A point is clean iff ``r_i >= 0``; a point seen for
    the first time starts from its prediction. ``λ = 0`` keeps only the latest prediction. Call :meth:`reset` at
    the start of each AL run.

    Parameters
    ----------
    base : NoiseFilter
    coeff : float
        λ in [0, 1).
    """

    def __init__(self, base: NoiseFilter, coeff: float) -> None:
        if not 0.0 <= float(coeff) < 1.0:
            raise ValueError(f"noise momentum coefficient must lie in [0, 1), got {coeff}")
        self.base = base
        self.coeff = float(coeff)
        self.requires_labels = base.requires_labels
        self.requires_ground_truth = base.requires_ground_truth
        self.is_oracle = base.is_oracle
        self._scores: Dict[int, float] = {}
        self._calls = 0

    def reset(self) -> None:
        self._scores = {}
        self._calls = 0
        self.base.reset()

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        pred = self.base.clean_mask(features, labeled_idx, labels, rng, **context)
        self._calls += 1
        mu = self.coeff * (self._calls - 1) / self._calls
        p = np.where(pred, 1.0, -1.0)
        out = np.empty(labeled_idx.size, dtype=bool)
        for k, (i, pi) in enumerate(zip(labeled_idx.tolist(), p.tolist())):
            r = self._scores.get(i)
            r = pi if r is None else (1.0 - mu) * pi + mu * r
            self._scores[i] = r
            out[k] = r >= 0
        return out
