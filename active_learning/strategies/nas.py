"""NAS (Noise-Aware active Sampling): one generic wrapper over greedy coverage strategies.

NAS splits the round's budget into shares of ``b`` points (``b = n_classes`` by default). Within a share the
base strategy greedily picks points with only the **predicted-clean** labeled points as representatives; the
picks are then annotated (labels revealed by the oracle), and the noise filter is re-run on *all* labeled
points. Points predicted noisy stay labeled (never selected again) but do not cover anything, so the regions
they were supposed to represent stay uncovered and can be sampled again.

Policies of this implementation (documented choices):

* **Shares**: ``floor(B / b)`` shares of ``b`` points, the remainder ``B mod b`` added to the first share (as the
  original ``_divide_budget``). ``B < b`` gives a single share of ``B`` points (the original crashed). With an
  oracle filter (``ideal``) ``b = 1``.
* **First share**: uses ``clean_mask`` from the context (the previous round's filter output, over
  ``labeled_idx``) when given; otherwise the filter is run on the labeled set first (all clean if it is empty).
* **Filtering**: after every share except the last (the AL loop filters the final labeled set itself). While
  fewer than ``n_classes`` points are labeled, a non-oracle filter is not run and new picks count as clean.
* **Randomness**: tie-break priorities come from ``rng`` exactly as in the base strategy; the filter and noise
  dropout use a child generator drawn afterwards, so with the ``none`` filter NAS selects exactly what the base
  strategy selects.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union, cast

import numpy as np

from ._base import (
    STRATEGIES,
    GreedyCoverageStrategy,
    QueryStrategy,
    check_labels,
    greedy_picks,
    register_strategy,
    unlabeled_mask,
)
from .coreset import Coreset
from .maxherding import MaxHerding
from .probcover import ProbCover, WeightedProbCover

if TYPE_CHECKING:  # imported lazily at run time (noise_filters imports the strategies' validators)
    from ..noise_filters._base import MomentumFilter, NoiseFilter


def _get_filter(name: str) -> "NoiseFilter":
    from ..noise_filters import get_filter

    return get_filter(name)


FILTER_CONTEXT_KEYS = ("n_classes", "true_labels")


def split_budget(budget: int, share_size: int) -> List[int]:
    """Shares of ``share_size`` with the remainder added to the first share; ``[budget]`` if smaller.

    >>> split_budget(25, 10)
    [15, 10]
    >>> split_budget(3, 10)
    [3]
    """
    if budget <= 0:
        return []
    if share_size < 1:
        raise ValueError(f"share size must be >= 1, got {share_size}")
    k = budget // share_size
    if k == 0:
        return [budget]
    shares = [share_size] * k
    shares[0] += budget - k * share_size
    return shares


def noise_dropout(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip a fraction ``η = max(min(p̂, 1 - p̂), 0.1)`` of predicted-noisy points back to clean (selection only).

    ``p̂`` is the predicted clean rate; ``round(η · n_noisy)`` noisy points are chosen uniformly at random.
    """
    clean = clean.copy()
    noisy = np.flatnonzero(~clean)
    if noisy.size == 0:
        return clean
    p_hat = clean.mean()
    eta = max(min(p_hat, 1.0 - p_hat), 0.1)
    k = int(round(eta * noisy.size))
    if k:
        clean[rng.choice(noisy, k, replace=False)] = True
    return clean


class NAS(QueryStrategy):
    """Generic NAS wrapper around a :class:`GreedyCoverageStrategy`.

    Parameters
    ----------
    base : GreedyCoverageStrategy or str
        The greedy coverage strategy, or its registered name (then built with ``base_params``).
    base_params : dict, optional
        Hyper-parameters of ``base`` when given by name.
    noise_filter : NoiseFilter or str, optional
        Filter used inside NAS; default: ``context["noise_filter"]`` (the same filter as the AL loop's).
    n_classes : int, optional
        Number of classes (share size ``b``); default ``context["n_classes"]``, then ``oracle.n_classes``.
    share_size : int, optional
        Override of ``b`` (otherwise ``n_classes``, or 1 with an oracle filter).
    noise_dropout : bool, default=False
        After each filter call, treat a random fraction of the predicted-noisy points as clean for selection.
    noise_momentum : float, default=0.0
        λ of the noise momentum (:class:`~active_learning.noise_filters.MomentumFilter`) applied to the filter's
        calls inside this strategy (scores persist across rounds; call :meth:`reset` between runs).

    Context
    -------
    reveal : callable ``reveal(indices) -> labels``
        Reveals the labels of each share's picks (required unless the filter ignores labels). The round engine
        passes its own, so the loop owns annotation and each label is revealed once.
    oracle : object with ``query(indices) -> labels``
        For direct use without the engine: reveals the share labels when ``reveal`` is absent.
    labels : array of int, shape (n_labeled,)
        Revealed labels of ``labeled_idx`` (otherwise queried from the oracle).
    clean_mask : array of bool, shape (n_labeled,), optional
        Previous round's filter output.
    noise_filter, n_classes, true_labels (``ideal`` only).
    """

    def __init__(
        self,
        base: Union[GreedyCoverageStrategy, str],
        *,
        base_params: Optional[Dict[str, Any]] = None,
        noise_filter: Union["NoiseFilter", str, None] = None,
        n_classes: Optional[int] = None,
        share_size: Optional[int] = None,
        noise_dropout: bool = False,
        noise_momentum: float = 0.0,
    ) -> None:
        if isinstance(base, str):
            base = STRATEGIES.get(base)(**(base_params or {}))
        if not isinstance(base, GreedyCoverageStrategy):
            raise ValueError(
                f"NAS wraps greedy coverage strategies (probcover, weighted_probcover, maxherding, coreset); "
                f"got {type(base).__name__}"
            )
        self.base = base
        self.noise_filter = _get_filter(noise_filter) if isinstance(noise_filter, str) else noise_filter
        if n_classes is not None and int(n_classes) < 1:
            raise ValueError(f"n_classes must be a positive integer, got {n_classes}")
        self.n_classes = n_classes
        if share_size is not None and int(share_size) < 1:
            raise ValueError(f"share_size must be a positive integer, got {share_size}")
        self.share_size = share_size
        self.noise_dropout = bool(noise_dropout)
        if not 0.0 <= float(noise_momentum) < 1.0:
            raise ValueError(f"noise_momentum must lie in [0, 1), got {noise_momentum}")
        self.noise_momentum = float(noise_momentum)
        self._momentum_wrappers: Dict[int, "MomentumFilter"] = {}
        self.last_clean_mask_: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Forget the noise-momentum scores (call at the start of each AL run)."""
        self._momentum_wrappers = {}

    def check_resources(self, n_samples: int) -> None:
        """The base strategy's check of what a pool of ``n_samples`` points needs (disk, memory), if it has one."""
        check = getattr(self.base, "check_resources", None)
        if check is not None:
            check(n_samples)

    def _resolve_filter(self, context: Dict[str, Any]) -> "NoiseFilter":
        filt = self.noise_filter if self.noise_filter is not None else context.get("noise_filter")
        if filt is None:
            raise ValueError(
                "NAS needs a noise filter: pass noise_filter=get_filter('aum') to the strategy or "
                "noise_filter=... in the select() context"
            )
        if isinstance(filt, str):
            filt = _get_filter(filt)
        if self.noise_momentum > 0:
            from ..noise_filters import MomentumFilter

            key = id(filt)
            if key not in self._momentum_wrappers:
                self._momentum_wrappers[key] = MomentumFilter(filt, self.noise_momentum)
            filt = self._momentum_wrappers[key]
        return filt

    def _resolve_n_classes(self, context: Dict[str, Any]) -> int:
        n = self.n_classes or context.get("n_classes")
        if n is None and context.get("oracle") is not None:
            n = getattr(context["oracle"], "n_classes", None)
        if n is None:
            raise ValueError("NAS needs the number of classes: pass n_classes=... to the strategy or the context")
        return int(n)

    def _select(
        self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator, **context: Any
    ) -> np.ndarray:
        filt = self._resolve_filter(context)
        n_classes = self._resolve_n_classes(context)
        oracle = context.get("oracle")
        reveal = context.get("reveal") or (oracle.query if oracle is not None else None)
        needs_labels = filt.requires_labels
        if needs_labels and reveal is None:
            raise ValueError("NAS needs reveal=... (the loop's label capability) or oracle=... in the context to "
                             "reveal the labels of each share's picks")
        reveal = cast(Any, reveal)  # not None whenever needs_labels (checked above)
        b = int(self.share_size) if self.share_size else (1 if filt.is_oracle else n_classes)
        shares = split_budget(budget, b)

        model = self.base.prepare(features, rng, **context)  # same rng use as the base strategy
        child = np.random.default_rng(int(rng.integers(0, 2**63 - 1)))
        fctx = {k: context[k] for k in FILTER_CONTEXT_KEYS if context.get(k) is not None}
        fctx.setdefault("n_classes", n_classes)

        L = np.asarray(labeled_idx, dtype=np.int64)
        labels: Optional[np.ndarray] = None
        if needs_labels:
            if context.get("labels") is not None:
                labels = check_labels(context["labels"], L.size, n_classes)
            elif L.size and oracle is None:
                raise ValueError("NAS needs labels=... (the labeled points' labels) or oracle=... in the context")
            else:
                labels = np.asarray(oracle.query(L), dtype=np.int64) if L.size else np.zeros(0, np.int64)

        def run_filter() -> np.ndarray:
            return filt.clean_mask(features, L, labels, child, **fctx)

        if context.get("clean_mask") is not None:
            clean = np.asarray(context["clean_mask"], dtype=bool)
            if clean.shape != (L.size,):
                raise ValueError(f"clean_mask must be a boolean array over labeled_idx, shape ({L.size},)")
        elif L.size and (filt.is_oracle or L.size >= n_classes):
            clean = run_filter()
        else:
            clean = np.ones(L.size, dtype=bool)
        sel_clean = noise_dropout(clean, child) if self.noise_dropout else clean

        selectable = unlabeled_mask(features.shape[0], L)
        picks = []
        for s, size in enumerate(shares):
            state = model.init_state(L[sel_clean], L[~sel_clean])
            new = greedy_picks(state, selectable, size)
            picks.append(new)
            L = np.concatenate([L, new])
            if needs_labels:
                labels = np.concatenate([labels, np.asarray(reveal(new), dtype=np.int64)])
            if s == len(shares) - 1:
                clean = np.concatenate([clean, np.ones(new.size, dtype=bool)])
                break
            if not filt.is_oracle and L.size < n_classes:
                clean = np.concatenate([clean, np.ones(new.size, dtype=bool)])
            else:
                clean = run_filter()
            sel_clean = noise_dropout(clean, child) if self.noise_dropout else clean
        self.last_clean_mask_ = clean
        return np.concatenate(picks)


def _nas_params(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("noise_filter", "n_classes", "share_size", "noise_dropout", "noise_momentum")
    return {k: kwargs.pop(k) for k in keys if k in kwargs}


@register_strategy("nas", color="#e377c2")
def make_nas(base: str, base_params: Optional[Dict[str, Any]] = None, **nas_params: Any) -> NAS:
    """``get_strategy("nas", base="probcover", base_params={"delta": 0.65}, noise_dropout=True)``."""
    return NAS(base, base_params=base_params, **nas_params)


@register_strategy("npc", base="probcover", emphasis=True)
class NPC(NAS):
    """NPC = ProbCover + NAS.

    Parameters
    ----------
    delta : float
        ProbCover ball radius (required).
    noise_filter, n_classes, share_size, noise_dropout, noise_momentum
        See :class:`NAS`.
    **base_params
        Further :class:`~active_learning.strategies.probcover.ProbCover` options (``normalize``, ``graph``...).
    """

    base_class = ProbCover

    def __init__(self, delta: float, **params: Any) -> None:
        nas = _nas_params(params)
        super().__init__(self.base_class(delta, **params), **nas)


@register_strategy("weighted_npc", base="weighted_probcover", emphasis=True)
class WeightedNPC(NPC):
    """Weighted NPC: NAS over :class:`~active_learning.strategies.probcover.WeightedProbCover`.

    Nodes covered only by predicted-noisy points count with weight ``p̂`` (the predicted clean rate).
    """

    base_class = WeightedProbCover


@register_strategy("maxherding_nas", base="maxherding", emphasis=True)
class MaxHerdingNAS(NAS):
    """MaxHerding + NAS.

    Parameters
    ----------
    sigma : float
        Kernel bandwidth (required).
    **params
        NAS options (see :class:`NAS`) and :class:`~active_learning.strategies.maxherding.MaxHerding` options.
    """

    base_class = MaxHerding

    def __init__(self, sigma: float, **params: Any) -> None:
        nas = _nas_params(params)
        super().__init__(self.base_class(sigma, **params), **nas)


@register_strategy("coreset_nas", base="coreset", emphasis=True)
class CoresetNAS(NAS):
    """Coreset (greedy k-center) + NAS; centers are the predicted-clean labeled points.

    Parameters
    ----------
    **params
        NAS options (see :class:`NAS`) and :class:`~active_learning.strategies.coreset.Coreset` options.
    """

    def __init__(self, **params: Any) -> None:
        nas = _nas_params(params)
        super().__init__(Coreset(**params), **nas)
