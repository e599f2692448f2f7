"""The query-strategy interface, its registry, input validation and the incremental greedy-coverage protocol.

Every strategy answers one call::

    strategy.select(features, labeled_idx, budget, rng, **context) -> ndarray of int, shape (budget,)

returning ``budget`` distinct indices of ``features`` that are not in ``labeled_idx``. ``context`` carries the
optional side information some strategies need (``labels``, ``clean_mask``, ``pred_probs``, ``mc_probs``,
``noise_filter``, ``oracle``, ``n_classes``, ...); strategies ignore what they do not use.

Greedy coverage strategies (ProbCover, MaxHerding, Coreset) additionally expose an *incremental state* so that
the generic NAS wrapper (:mod:`active_learning.strategies.nas`) can re-initialise the objective with only the
predicted-clean labeled points as representatives:

* :meth:`GreedyCoverageStrategy.prepare` builds the expensive, label-independent model once per call (δ-graph,
  kernel bounds, tie-break priorities drawn from ``rng``);
* :meth:`CoverageModel.init_state` starts the objective from a set of representatives;
* :meth:`CoverageState.best` returns the greedy argmax among selectable points and :meth:`CoverageState.commit`
  adds a point as a representative; :meth:`CoverageState.gains` gives exact marginal gains (for tests and
  naive greedy).

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, List, Optional, Tuple, TypeVar

import numpy as np

from .._registry import Registry
from ..utils.validation import check_budget, check_features, check_labeled_idx, check_rng

S = TypeVar("S")

STRATEGIES: Registry[Any] = Registry("query strategy")

NORMALIZATIONS = ("unit", "maxnorm", "none")


def register_strategy(name: str, **metadata: Any) -> Callable[[S], S]:
    """Decorator registering a :class:`QueryStrategy` subclass (or factory) under ``name``.

    ``metadata`` describes it for figures and tables: ``label`` (its display name), ``color`` (one colour per
    strategy in every figure), ``emphasis`` (drawn thicker) and, for a noise-aware variant, ``base`` (the strategy
    it wraps: drawn in the base's colour, dashed) and ``compared_with`` (the strategy the NAS figures and tables
    compare it with, when not its base; :func:`active_learning.plotting.nas_pairs`).
    """
    return STRATEGIES.register(name, **metadata)


def get_strategy(name: str, **params: Any) -> "QueryStrategy":
    """Build the registered strategy ``name`` with hyper-parameters ``params``.

    Raises
    ------
    UnknownNameError
        For an unregistered name (the message lists the registered ones).
    """
    return STRATEGIES.get(name)(**params)


def list_strategies() -> List[str]:
    """Names of every registered query strategy, sorted."""
    return STRATEGIES.names()


# --------------------------------------------------------------------------------------------------------------
# validation of select's arguments and feature normalisation (the generic checks are in utils.validation)
# --------------------------------------------------------------------------------------------------------------


def check_inputs(
    features: Any, labeled_idx: Any, budget: Any, rng: Any
) -> Tuple[np.ndarray, np.ndarray, int, np.random.Generator]:
    """Validate the four common arguments of :meth:`QueryStrategy.select`."""
    X = check_features(features)
    labeled = check_labeled_idx(labeled_idx, X.shape[0])
    b = check_budget(budget, X.shape[0] - labeled.size)
    return X, labeled, b, check_rng(rng)


def normalize_features(X: np.ndarray, normalize: str) -> np.ndarray:
    """Apply the feature normalisation of a coverage strategy.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    normalize : {"unit", "maxnorm", "none"}
        ``"unit"``: project every row to the unit sphere (the NAS code's ``unit_norm``; dividing by the maximum
        norm first does not change the projection). ``"maxnorm"``: divide by the largest row norm (TypiClust).
        ``"none"``: raw features.
    """
    if normalize == "none":
        return X
    norms = np.linalg.norm(X, axis=1)
    if normalize == "unit":
        if np.any(norms == 0):
            raise ValueError(
                f"{int((norms == 0).sum())} feature rows are all zero and cannot be projected to the unit sphere; "
                "drop them or use normalize='none'"
            )
        return (X / norms[:, None]).astype(np.float32)
    if normalize == "maxnorm":
        m = norms.max()
        return (X / m).astype(np.float32) if m > 0 else X
    raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")


def unlabeled_mask(n: int, labeled: np.ndarray) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[labeled] = False
    return mask


# --------------------------------------------------------------------------------------------------------------
# interface
# --------------------------------------------------------------------------------------------------------------


class QueryStrategy(ABC):
    """Base class of single-annotator query strategies.

    Subclasses implement :meth:`_select`; :meth:`select` validates the inputs first.
    """

    #: Whether ``select`` needs model outputs (``pred_probs`` or ``mc_probs``) in its context.
    requires_model: bool = False

    def select(
        self, features: Any, labeled_idx: Any, budget: int, rng: np.random.Generator, **context: Any
    ) -> np.ndarray:
        """Choose ``budget`` unlabeled points to annotate.

        Parameters
        ----------
        features : array-like of shape (n_samples, n_features)
            Pool features (raw; coverage strategies normalise them themselves, see ``normalize``).
        labeled_idx : array-like of int, shape (n_labeled,)
            Indices of already labeled points; never selected again.
        budget : int
            Number of points to return, at most the number of unlabeled points.
        rng : numpy.random.Generator
            Source of every random choice.
        **context
            Optional side information (``labels``, ``clean_mask``, ``pred_probs``, ``mc_probs``, ``noise_filter``,
            ``oracle``, ``n_classes``); see each strategy.

        Returns
        -------
        ndarray of int64, shape (budget,)
            Distinct indices not in ``labeled_idx``, in selection order.
        """
        X, labeled, b, rng = check_inputs(features, labeled_idx, budget, rng)
        if b == 0:
            return np.zeros(0, dtype=np.int64)
        out = np.asarray(self._select(X, labeled, b, rng, **context), dtype=np.int64)
        assert out.shape == (b,), (out.shape, b)
        return out

    @abstractmethod
    def _select(
        self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator, **context: Any
    ) -> np.ndarray:
        """Select on validated inputs (``budget >= 1``)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class CoverageState(ABC):
    """Incremental greedy state of a coverage objective (see module docstring)."""

    @abstractmethod
    def gains(self, candidates: np.ndarray) -> np.ndarray:
        """Exact current marginal gains of ``candidates`` (1-D int array)."""

    @abstractmethod
    def best(self, selectable: np.ndarray) -> int:
        """Greedy argmax of the marginal gain over ``selectable`` (bool mask over the pool).

        Ties are broken by the model's random priority (drawn once from ``rng`` in ``prepare``), so equal gains
        give a reproducible, uniformly random order.
        """

    @abstractmethod
    def commit(self, idx: int) -> None:
        """Add ``idx`` as a representative (it now covers its region)."""


class CoverageModel(ABC):
    """Label-independent precomputation of a greedy coverage strategy (graph, kernel bounds, priorities)."""

    n_samples: int
    priority: np.ndarray  # rank of each point for tie-breaking (lower = preferred)

    @abstractmethod
    def init_state(
        self, representatives: np.ndarray, noisy_representatives: Optional[np.ndarray] = None
    ) -> CoverageState:
        """Start the objective with ``representatives`` covering.

        ``noisy_representatives`` (labeled points predicted noisy) cover nothing; only variants such as weighted
        NPC use them.
        """


def tiebreak_priority(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random rank per point (a permutation of 0..n-1); lower rank wins a tie."""
    prio = np.empty(n, dtype=np.int64)
    prio[rng.permutation(n)] = np.arange(n)
    return prio


def argmax_with_priority(values: np.ndarray, priority: np.ndarray, candidates: np.ndarray) -> int:
    """Index among ``candidates`` with the largest ``values`` (ties: smallest ``priority``)."""
    v = values[candidates]
    top = candidates[v == v.max()]
    return int(top[np.argmin(priority[top])])


class GreedyCoverageStrategy(QueryStrategy):
    """A strategy that maximises a coverage objective greedily, one point at a time.

    Subclasses implement :meth:`prepare`. :meth:`_select` then treats every labeled point as a representative
    and makes ``budget`` greedy picks; the NAS wrapper re-uses :meth:`prepare` and drives the state itself.
    """

    normalize: str = "unit"

    @abstractmethod
    def prepare(self, features: np.ndarray, rng: np.random.Generator, **context: Any) -> CoverageModel:
        """Build the label-independent model on validated raw ``features`` (normalisation happens here)."""

    def _select(
        self, features: np.ndarray, labeled_idx: np.ndarray, budget: int, rng: np.random.Generator, **context: Any
    ) -> np.ndarray:
        model = self.prepare(features, rng, **context)
        state = model.init_state(labeled_idx)
        selectable = unlabeled_mask(features.shape[0], labeled_idx)
        return greedy_picks(state, selectable, budget)


def greedy_picks(state: CoverageState, selectable: np.ndarray, budget: int) -> np.ndarray:
    """Make ``budget`` greedy picks from ``selectable`` (modified in place: picks become unselectable)."""
    picks = np.empty(budget, dtype=np.int64)
    for i in range(budget):
        x = state.best(selectable)
        picks[i] = x
        selectable[x] = False
        state.commit(x)
    return picks


def naive_greedy(state: CoverageState, selectable: np.ndarray, budget: int, priority: np.ndarray) -> np.ndarray:
    """Reference greedy that re-evaluates every gain each pick (O(N) gains per pick; for tests)."""
    picks = np.empty(budget, dtype=np.int64)
    for i in range(budget):
        cand = np.flatnonzero(selectable)
        g = np.full(selectable.shape[0], -np.inf)
        g[cand] = state.gains(cand)
        x = argmax_with_priority(g, priority, cand)
        picks[i] = x
        selectable[x] = False
        state.commit(x)
    return picks

