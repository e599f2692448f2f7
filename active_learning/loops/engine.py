"""The round engine: one loop under both protocols (ActiveLab's multi-annotator rounds and NAS's noisy single
annotator).

A run is a :class:`Plan` of four parts and a recorder, built from one resolved job by
:func:`active_learning.loops.multiannotator.activelab_plan` or
:func:`active_learning.loops.noisy_single_annotator.nas_plan`:

* an :class:`Annotator`: who gives a label (simulated annotator matrix, label multisets, sparse real annotators or
  the single noisy oracle, all behind :class:`~active_learning.annotators.sources.AnnotatorSource`); it alone
  writes to the label table (:class:`~active_learning.annotators.AnnotationStore`);
* a :class:`Cleaner`: the label table → training targets and a keep mask (majority vote or CROWDLAB consensus,
  a noise filter, or consensus then a noise filter);
* a :class:`Trainer`: targets → predictions (cross-validated ensemble members, or one learner fit);
* an :class:`Acquirer`: the round's state → the examples to label next (an ActiveLab method and its baselines,
  or a query strategy; a NAS strategy reveals labels share by share through :class:`Reveal`, never through the
  oracle itself, so each label is revealed once).

Each round ``r`` (the state after ``r`` batches): clean → fit → choose → record → reveal. Round ``r`` records only
from ``plan.first_recorded_round`` on (ActiveLab records round 0, before any new label; NAS records after its first
batch). A round whose batch size is 0 chooses nothing; the choice of the last round is scored but not revealed
(ActiveLab records what it would have chosen, and its ensemble weights come from that scoring).

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence

import numpy as np
import pandas as pd

from ..annotators import AnnotationStore
from ..annotators.sources import AnnotatorSource


@dataclass(frozen=True)
class Targets:
    """What a :class:`Cleaner` makes of the label table in one round.

    Attributes
    ----------
    examples : ndarray of int
        The labeled examples, in the order the store first labeled them.
    labels : ndarray of int
        One training label per example (consensus, or the single revealed label).
    keep : ndarray of bool or None
        Predicted clean (trained on); ``None`` when the round has no cleaning result (NAS before any label).
    train : ndarray of int
        Positions (into ``examples``) the trainer fits on.
    details : dict
        Cleaner diagnostics (e.g. the noise filter's raw mask).
    """

    examples: np.ndarray
    labels: np.ndarray
    keep: Optional[np.ndarray]
    train: np.ndarray
    details: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """An :class:`Acquirer`'s pick: the examples (in choice order) and what to record about them."""

    examples: np.ndarray
    record: Dict[str, float] = field(default_factory=dict)
    details: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RoundState:
    """Everything known after cleaning and fitting in round ``index`` (and, once chosen, the round's choice)."""

    index: int
    store: AnnotationStore
    targets: Targets
    predictions: Any
    previous: Optional["RoundState"] = None
    choice: Optional[Choice] = None


class Cleaner(Protocol):
    """Label table → training targets."""

    def clean(self, store: AnnotationStore, round_index: int, previous: Optional[RoundState]) -> Targets: ...


class Trainer(Protocol):
    """Training targets → the round's predictions (whatever its acquirer and recorder read)."""

    def fit(self, targets: Targets, round_index: int) -> Any: ...


class Acquirer(Protocol):
    """The round's state → the next examples to label (at most ``batch_size``)."""

    def choose(self, state: RoundState, batch_size: int, reveal: "Reveal") -> Choice: ...


class Annotator:
    """The one writer of the label table: draws labels from an annotator source and adds them to the store.

    Parameters
    ----------
    source : AnnotatorSource
        Who can give which label.
    store : AnnotationStore
        The label table the cleaner reads (updated in place).
    rng : numpy.random.Generator
        The label-draw stream.
    revealed : AnnotationStore, optional
        What the source has revealed, when it differs from ``store`` (the majority-vote start of ActiveLab's
        single-annotator arm: one vote per example in ``store``, the annotators behind it used up in ``revealed``).
    column_offset : int or None
        ``None``: a new label goes to the column of the annotator who gave it; an int ``c``: the labels revealed for
        round ``r`` form one new column ``c + r - 1`` (ActiveLab's per-round columns).
    """

    def __init__(self, source: AnnotatorSource, store: AnnotationStore, rng: np.random.Generator, *,
                 revealed: Optional[AnnotationStore] = None, column_offset: Optional[int] = None) -> None:
        self.source = source
        self.store = store
        self.rng = rng
        self.revealed = store if revealed is None else revealed
        self.column_offset = column_offset

    def remaining(self) -> np.ndarray:
        """Labels each pool example can still get."""
        return self.source.remaining(self.revealed)

    def reveal(self, examples: np.ndarray, round_index: int) -> np.ndarray:
        """Draw one label for each of ``examples`` (labeled as collected in round ``round_index``); returns them."""
        examples = np.asarray(examples, dtype=np.int64)
        labels, annotators = self.source.draw(examples, self.revealed, self.rng)
        if self.column_offset is None:
            columns = np.asarray(annotators, dtype=np.int64)
        else:
            columns = np.full(examples.size, self.column_offset + round_index - 1, dtype=np.int64)
        self.store.add(examples, columns, labels, round_index, annotators=annotators)
        if self.revealed is not self.store:
            self.revealed.add(examples, columns, labels, round_index, annotators=annotators)
        return np.asarray(labels, dtype=np.int64)


class Reveal:
    """The reveal capability an acquirer gets for one choice: ``reveal(examples) -> labels``.

    An acquirer that needs labels while it chooses (NAS, share by share) calls it; whatever it chose and did not
    reveal is revealed by the engine afterwards. Revealing is disabled on the last round (nothing is collected).
    """

    def __init__(self, annotator: Annotator, round_index: int, enabled: bool) -> None:
        self.annotator = annotator
        self.round_index = round_index
        self.enabled = enabled
        self._done: List[np.ndarray] = []

    def __call__(self, examples: Any) -> np.ndarray:
        if not self.enabled:
            raise RuntimeError("labels cannot be revealed after the last round")
        examples = np.asarray(examples, dtype=np.int64)
        if examples.size == 0:
            return np.zeros(0, dtype=np.int64)
        self._done.append(examples)
        return self.annotator.reveal(examples, self.round_index)

    def finish(self, chosen: np.ndarray) -> None:
        """Reveal the chosen examples the acquirer did not reveal itself (in choice order)."""
        done = np.concatenate(self._done) if self._done else np.zeros(0, dtype=np.int64)
        rest = chosen[~np.isin(chosen, done)] if done.size else chosen
        if rest.size:
            self.annotator.reveal(rest, self.round_index)


Recorder = Callable[[RoundState], Mapping[str, float]]


@dataclass
class Plan:
    """One run: its parts, its round sizes and what it records.

    Attributes
    ----------
    annotator, cleaner, trainer, acquirer
        The parts (see the module docstring).
    recorder : callable
        ``recorder(state) -> {metric: value}`` after each recorded round (the state holds the round's choice, if any).
    batch_sizes : sequence of int
        Examples chosen after each round; its length is the number of rounds (0: choose nothing).
    metrics : sequence of str
        Names every run records (further names a recorder or acquirer adds follow in first-seen order).
    first_recorded_round : int
        Rounds before it run but are not recorded.
    """

    annotator: Annotator
    cleaner: Cleaner
    trainer: Trainer
    acquirer: Acquirer
    recorder: Recorder
    batch_sizes: Sequence[int]
    metrics: Sequence[str]
    first_recorded_round: int = 0


class RunResult(dict):
    """What :func:`run_rounds` returns: ``metric -> array`` with one value per recorded round (a dict, as the
    runner stores it), plus

    Attributes
    ----------
    chosen : list of ndarray
        ``chosen[r]``: the examples that got a new label after round ``r`` (in choice order).
    annotations : pandas.DataFrame
        The final label table: ``example, annotator, column, label, round``.
    targets : Targets
        The last round's cleaning result (``targets.examples``, ``targets.labels``, ``targets.keep``).
    """

    chosen: List[np.ndarray]
    annotations: pd.DataFrame
    targets: Targets

    @property
    def labeled(self) -> np.ndarray:
        """The examples labeled at the last round."""
        return self.targets.examples

    @property
    def consensus(self) -> np.ndarray:
        """The last round's training label of each labeled example."""
        return np.asarray(self.targets.labels, dtype=np.int64)


def run_rounds(plan: Plan, on_round: Optional[Callable[[int], None]] = None) -> RunResult:
    """Run a :class:`Plan`: for each round, clean → fit → choose → record → reveal.

    Parameters
    ----------
    plan : Plan
    on_round : callable, optional
        Called with the recorded-round index after each recorded round (progress reporting).

    Returns
    -------
    RunResult
    """
    history: Dict[str, List[float]] = {name: [] for name in plan.metrics}
    chosen: List[np.ndarray] = []
    n_rounds = len(plan.batch_sizes)
    state: Optional[RoundState] = None
    for index, batch_size in enumerate(plan.batch_sizes):
        previous = state
        if previous is not None:
            previous.previous = None  # keep one round of history alive
        targets = plan.cleaner.clean(plan.annotator.store, index, previous)
        predictions = plan.trainer.fit(targets, index)
        state = RoundState(index, plan.annotator.store, targets, predictions, previous)
        reveal = Reveal(plan.annotator, index + 1, enabled=index + 1 < n_rounds)
        if batch_size:
            state.choice = plan.acquirer.choose(state, int(batch_size), reveal)
        if index >= plan.first_recorded_round:
            _append(history, plan.recorder(state))
            if state.choice is not None:
                _append(history, state.choice.record)
        if state.choice is not None and reveal.enabled:
            picks = np.asarray(state.choice.examples, dtype=np.int64)
            chosen.append(picks)
            reveal.finish(picks)
        if on_round is not None and index >= plan.first_recorded_round:
            on_round(index - plan.first_recorded_round)
    if state is None:
        raise ValueError("a plan needs at least one round")
    result = RunResult({name: np.asarray(values, dtype=float) for name, values in history.items()})
    result.chosen = chosen
    result.annotations = plan.annotator.store.to_frame()
    result.targets = state.targets
    return result


def _append(history: Dict[str, List[float]], values: Mapping[str, float]) -> None:
    for name, value in values.items():
        history.setdefault(name, []).append(float(value))


def train_positions(keep: Optional[np.ndarray], n_labeled: int, train_on_all: bool) -> np.ndarray:
    """Positions to train on: the kept ones, or all when ``train_on_all``, when nothing was cleaned, or when the
    cleaner kept nothing (a model on no data helps nobody)."""
    if train_on_all or keep is None or not keep.any():
        return np.arange(n_labeled)
    return np.flatnonzero(keep)


__all__ = [
    "Acquirer", "Annotator", "Choice", "Cleaner", "Plan", "Recorder", "Reveal", "RoundState", "RunResult",
    "Targets", "Trainer", "run_rounds", "train_positions",
]

