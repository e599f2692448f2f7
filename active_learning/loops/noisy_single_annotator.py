"""The NAS protocol (one noisy annotator) as a plan of the round engine (:mod:`active_learning.loops.engine`).

Round 0 holds the (possibly empty) random initial set; round ``t >= 1`` the state after ``t`` batches:

1. **clean**: the noise filter runs on *all* labeled points (fresh run);
2. **fit**: a learner is trained from the same initial weights on the predicted-clean labeled points (or on all
   of them with ``train_on_all=True``; if the filter keeps no point, on all of them). At round 0 only a
   model-based strategy needs a model;
3. **choose**: the strategy selects ``B_t`` unlabeled points (NAS variants get the clean mask, the filter and a
   ``reveal`` capability in their context, and reveal labels share by share);
4. **record** test accuracy and filter metrics (from round 1), then **reveal** the remaining picks' labels (the
   oracle answers each point once).

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import numpy as np

from ..annotators import AnnotationStore
from ..annotators.sources import OracleAnnotator
from ..budgets import BudgetSchedule
from ..strategies import QueryStrategy
from ..utils.validation import check_features, check_labeled_idx
from .engine import Annotator, Choice, Plan, RoundState, RunResult, Targets, run_rounds, train_positions
from .metrics import clean_class_stats, filter_metrics

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


@dataclass
class NoisyLoopConfig:
    """``loop:`` settings of the NAS protocol.

    Parameters
    ----------
    filter : str
        Noise filter (``list filters``); ``none`` keeps every label.
    filter_params : dict or None
        Its keyword arguments (``momentum`` wraps it in noise momentum).
    train_on_all : bool
        Train on every labeled point instead of the predicted-clean ones.
    rounds : int or None
        Run only the first ``rounds`` budgets of the schedule (``None``: all of them).
    """

    filter: str = "none"
    filter_params: Optional[Dict[str, Any]] = None
    train_on_all: bool = False
    rounds: Optional[int] = None

    def __post_init__(self) -> None:
        if self.rounds is not None and (isinstance(self.rounds, bool) or not isinstance(self.rounds, (int, np.integer))
                                        or self.rounds < 1):
            raise ValueError(f"rounds must be a positive integer, got {self.rounds!r}")

    def schedule(self, budgets: BudgetSchedule) -> BudgetSchedule:
        """``budgets`` cut to the first :attr:`rounds` budgets (an error when the schedule has fewer)."""
        if self.rounds is None:
            return budgets
        if self.rounds > budgets.n_rounds:
            raise ValueError(f"loop.rounds={self.rounds} is more than the {budgets.n_rounds} budgets of data.budget; "
                             f"lower loop.rounds or lengthen the budget schedule")
        return BudgetSchedule(tuple(budgets.round_sizes[: self.rounds]), budgets.initial_size)


def _first_labels(store: AnnotationStore, examples: np.ndarray) -> np.ndarray:
    """The first label each of ``examples`` got (the single annotator's answer), aligned with ``examples``."""
    all_examples, all_labels = store.examples, store.labels
    if all_examples.size == examples.size:  # one label each, in the same order
        return all_labels.astype(np.int64)
    first = np.full(store.n_examples, -1, dtype=np.int64)
    unique, position = np.unique(all_examples, return_index=True)
    first[unique] = all_labels[position]
    return first[examples]


class FilterCleaner:
    """The revealed labels, and a fresh run of the noise filter on all of them."""

    def __init__(self, features: np.ndarray, noise_filter: Any, rng: np.random.Generator, n_classes: int,
                 truth: np.ndarray, train_on_all: bool) -> None:
        self.features, self.noise_filter, self.rng = features, noise_filter, rng
        self.train_on_all = train_on_all
        self.context: Dict[str, Any] = {"n_classes": n_classes}
        if getattr(noise_filter, "requires_ground_truth", False):
            self.context["true_labels"] = truth

    def clean(self, store: AnnotationStore, round_index: int, previous: Optional[RoundState]) -> Targets:
        labeled = store.labeled_examples()
        labels = _first_labels(store, labeled)
        keep = None
        if labeled.size:
            keep = np.asarray(self.noise_filter.clean_mask(self.features, labeled, labels, self.rng, **self.context),
                              dtype=bool)
        return Targets(labeled, labels, keep, train_positions(keep, labeled.size, self.train_on_all))


class FitTrainer:
    """One learner, trained from its initial weights on the kept labeled points each round."""

    def __init__(self, learner: Any, inputs: Any, n_classes: int, rng: np.random.Generator, fit_at_start: bool) -> None:
        self.learner, self.inputs, self.n_classes, self.rng = learner, inputs, n_classes, rng
        self.fit_at_start = fit_at_start

    def fit(self, targets: Targets, round_index: int) -> Any:
        if round_index == 0 and not (self.fit_at_start and targets.examples.size):
            return None
        rows = targets.examples[targets.train]
        self.learner.fit(np.asarray(self.inputs)[rows], targets.labels[targets.train], self.rng, n_classes=self.n_classes)
        return self.learner


class StrategyAcquirer:
    """A query strategy picks the next points; NAS strategies reveal labels share by share through ``reveal``."""

    def __init__(self, strategy: QueryStrategy, features: np.ndarray, rng: np.random.Generator, n_classes: int,
                 noise_filter: Any, inputs: Any, *, truth: Optional[np.ndarray], mc_samples: int, seed: int) -> None:
        self.strategy, self.features, self.rng, self.n_classes = strategy, features, rng, n_classes
        self.noise_filter, self.inputs = noise_filter, inputs
        self.truth, self.mc_samples, self.seed = truth, mc_samples, seed

    def choose(self, state: RoundState, batch_size: int, reveal: Any) -> Choice:
        targets = state.targets
        context: Dict[str, Any] = dict(labels=targets.labels, clean_mask=targets.keep, noise_filter=self.noise_filter,
                                       reveal=reveal, n_classes=self.n_classes)
        if self.truth is not None:
            context["true_labels"] = self.truth
        learner = state.predictions
        if getattr(self.strategy, "requires_model", False) and learner is not None and getattr(learner, "n_classes_", None):
            context["pred_probs"] = learner.predict_proba(self.inputs)
            if hasattr(learner, "predict_mc_proba"):
                context["mc_probs"] = learner.predict_mc_proba(self.inputs, self.mc_samples, self.seed)
        return Choice(np.asarray(self.strategy.select(self.features, targets.examples, batch_size, self.rng, **context),
                                 dtype=np.int64))


def nas_recorder(test_inputs: Any, test_labels: np.ndarray, truth: np.ndarray, n_classes: int) -> Callable[[RoundState], Dict[str, float]]:
    """The per-round metrics of :data:`METRICS`."""

    def record(state: RoundState) -> Dict[str, float]:
        targets = state.targets
        keep = targets.keep if targets.keep is not None else np.ones(targets.examples.size, dtype=bool)
        true_labels = truth[targets.examples]
        values = filter_metrics(keep, targets.labels == true_labels)
        values.update(clean_class_stats(targets.labels, true_labels, n_classes))
        values["accuracy"] = float(np.mean(state.predictions.predict(test_inputs) == test_labels))
        values["n_labeled"] = float(targets.examples.size)
        values["n_train"] = float(targets.train.size)
        return values

    return record


def nas_plan(
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
) -> Plan:
    """The round-engine plan of one NAS run (arguments as :func:`run_noisy_loop`).

    Random streams: ``SeedSequence(seed).spawn(4)`` = selection, filter, training, initial set."""
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
    for part in (noise_filter, strategy):
        if hasattr(part, "reset"):
            part.reset()
    truth = oracle.ground_truth()

    if initial_labeled is not None:
        start = check_labeled_idx(initial_labeled, n)
    elif budgets.initial_size:
        start = init_rng.choice(n, budgets.initial_size, replace=False).astype(np.int64)
    else:
        start = np.zeros(0, dtype=np.int64)
    store = AnnotationStore(n)
    annotator = Annotator(OracleAnnotator(oracle), store, init_rng)
    if start.size:
        annotator.reveal(start, 0)

    needs_truth = getattr(noise_filter, "requires_ground_truth", False)
    cleaner = FilterCleaner(X, noise_filter, filt_rng, C, truth, train_on_all)
    trainer = FitTrainer(learner, train_inputs, C, learn_rng, fit_at_start=bool(getattr(strategy, "requires_model", False)))
    acquirer = StrategyAcquirer(strategy, X, sel_rng, C, noise_filter, train_inputs,
                                truth=truth if needs_truth else None, mc_samples=mc_samples, seed=seed)
    return Plan(annotator, cleaner, trainer, acquirer, nas_recorder(test_inputs, test_y, truth, C),
                batch_sizes=[int(b) for b in budgets.round_sizes] + [0], metrics=METRICS, first_recorded_round=1)


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
) -> RunResult:
    """Run one noisy single-annotator AL experiment on the round engine.

    Parameters
    ----------
    features : ndarray of shape (n_samples, d)
        Pool features (strategies and filters; coverage strategies normalise them themselves).
    test_features : ndarray of shape (n_test, d)
        Test inputs of the learner when ``test_inputs`` is not given.
    test_labels : ndarray of int, shape (n_test,)
    oracle : NoisyOracle
        Reset at the start; reveals each label once, when the engine asks. Its ground truth is used only for
        metrics and, when the filter is ``ideal``, passed to the filter as ``true_labels``.
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
    RunResult
        ``METRICS`` -> 1-D float array per round; ``"selected"``: 1-D int array of every pick in order (initial
        set first); ``"round_sizes"``: points added per round (the initial set counted in round 0);
        ``"clean_mask"``: the last round's filter output over ``labeled_idx`` (= ``selected``).
    """
    plan = nas_plan(features, test_features, test_labels, oracle, strategy, noise_filter, learner, budgets, seed,
                    train_on_all, train_inputs=train_inputs, test_inputs=test_inputs, n_classes=n_classes,
                    initial_labeled=initial_labeled, mc_samples=mc_samples)
    n_initial = plan.annotator.store.n_annotations
    result = run_rounds(plan, on_round)
    result["selected"] = result.targets.examples.astype(np.int64)
    sizes = [int(b) for b in budgets.round_sizes]
    sizes[0] += n_initial
    result["round_sizes"] = np.asarray(sizes, dtype=np.int64)
    keep = result.targets.keep
    result["clean_mask"] = np.asarray(keep if keep is not None else np.ones(0, dtype=bool), dtype=bool)
    return result
