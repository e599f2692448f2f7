"""ActiveLab's multi-annotator protocol as a plan of the round engine (:mod:`active_learning.loops.engine`).

Per round ``r``:

1. **clean**: consensus labels of the labeled examples (majority vote at round 0; afterwards the method's consensus
   method, CROWDLAB for ActiveLab and majority vote for the baselines, using the previous round's predictions);
   with ``filter`` set, a noise filter then flags consensus labels as likely wrong (trained on only with
   ``train_on_all``; methods see the flags, e.g. ``noise_aware_relabel`` asks another annotator about them);
2. **fit**: stratified K-fold cross-validation on the consensus labels: out-of-fold probabilities for labeled
   examples, fold-averaged probabilities for unlabeled and test examples, per ensemble member; plus a model refit
   on all (kept) labeled data;
3. **choose**: the method scores labeled and unlabeled examples on one scale and the ``B`` lowest are chosen;
4. **record** the round's metrics, then **reveal**: each chosen example gets one new label from the pool's
   annotator source (:mod:`active_learning.annotators.sources`: a uniform draw from the example's complete row of
   simulated annotators in the Wall Robot protocol, its human label multiset for CIFAR-10H, one of its
   not-yet-revealed real annotators for CIFAR-10N or a user's label file).

The round's building blocks live in :mod:`active_learning.multiannotator.round`; the "what next?" API
(:func:`active_learning.multiannotator.suggest_next_batch`) uses the same ones on real labels.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506 (the filters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from ..annotators import AnnotationStore
from ..multiannotator.consensus import CONSENSUS, TIE_BREAKS
from ..multiannotator.pool import MultiAnnotatorPool
from ..multiannotator.methods import MultiAnnotatorMethod, ScoringInputs, get_method
from ..multiannotator.round import RoundModels, ensemble_accuracy, fit_round, score_round, select_batch
from ..noise_filters import get_filter
from .engine import Annotator, Choice, Plan, RoundState, RunResult, Targets, run_rounds, train_positions
from .metrics import FILTERED_RUN_METRICS, filter_metrics

#: Metrics recorded per round (one value per round, arrays of length ``rounds``).
METRICS = (
    "consensus_accuracy",
    "consensus_accuracy_initial",
    "model_accuracy",
    "model_accuracy_per_fold",
    "model_accuracy_refit",
    "n_annotations",
    "n_labeled",
    "n_new",
    "n_relabeled",
    "annotations_per_example",
)
#: Per-round diagnostics of methods that fit CROWDLAB (ActiveLab): temperature, model weight ``w_M`` (summed over
#: ensemble members), mean annotator weight; written only for those methods.
DIAGNOSTICS = ("temperature", "model_weight", "mean_annotator_weight")


@dataclass
class MultiAnnotatorLoopConfig:
    """Settings of :func:`run_multiannotator_loop`.

    Parameters
    ----------
    rounds : int
        Number of evaluated rounds (round 0 is before any new label).
    batch_size : int
        Annotations collected per round (``B``).
    n_folds : int
        Cross-validation folds.
    allow_relabel : bool
        If False, only unlabeled examples can be chosen (single-annotator protocols).
    initial_labels : {"annotations", "majority_vote"}
        ``"majority_vote"`` replaces the initial annotations by one annotation per example holding their
        majority vote (the "single" arm of the single-vs-multi-annotator benchmark).
    annotator_columns : {"per_round", "true_identity"}
        ``"per_round"``: each round's new labels form one new annotator column (the ActiveLab protocol, so CROWDLAB
        weighs each collection round). ``"true_identity"``: a new label goes to the column of the annotator who
        gave it, drawn among annotators that have not labeled the example yet (an example whose annotators are
        all used is exhausted); needs a source with identities (dense or sparse, not label multisets).
    consensus : str or None
        Override of the method's own consensus method (e.g. ``"crowdlab"`` for every method).
    tie_break : {"least_frequent", "most_frequent"}
        Majority-vote tie-break on class frequency: cleanlab >= 2.3.1 (``least_frequent``) or cleanlab <= 2.3.0,
        which the ActiveLab benchmark ran with (``most_frequent``).
    filter : str or None
        A noise filter (``list filters``: the NAS paper's ``cross_validation``, ``aum``, ...) run on the consensus
        labels every round; its predicted-noisy examples are *flagged* (methods see them as
        ``ScoringInputs.flagged``) and left out of training unless ``train_on_all``. ``None``: no filter.
    filter_params : dict or None
        Keyword arguments of the filter.
    train_on_all : bool
        With a filter: train on every labeled example anyway (the flags then only guide the method).
    """

    rounds: int = 20
    batch_size: int = 100
    n_folds: int = 5
    allow_relabel: bool = True
    initial_labels: str = "annotations"
    annotator_columns: str = "per_round"
    consensus: Optional[str] = None
    tie_break: str = "least_frequent"
    filter: Optional[str] = None
    filter_params: Optional[Dict[str, Any]] = None
    train_on_all: bool = False

    def __post_init__(self) -> None:
        for name in ("rounds", "batch_size", "n_folds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds}")
        if self.initial_labels not in ("annotations", "majority_vote"):
            raise ValueError(f"initial_labels must be 'annotations' or 'majority_vote', got {self.initial_labels!r}")
        if self.annotator_columns not in ("per_round", "true_identity"):
            raise ValueError(f"annotator_columns must be 'per_round' or 'true_identity', got {self.annotator_columns!r}")
        if self.consensus is not None:
            CONSENSUS.get(self.consensus)
        if self.tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {list(TIE_BREAKS)}, got {self.tie_break!r}")
        if self.filter is not None:
            get_filter(self.filter, **(self.filter_params or {}))
        elif self.filter_params:
            raise ValueError("filter_params needs a filter; set loop.filter (see `list filters`)")




#: The alias this module's result type had before the round engine (same class).
LoopResult = RunResult


@dataclass
class CrossValRound:
    """The trainer's output for one round: member-stacked predictions and the split they were made on."""

    models: RoundModels
    labeled: np.ndarray
    unlabeled: np.ndarray

    def pool_probs(self, n_pool: int) -> np.ndarray:
        """Latest prediction of every pool example, shape (members, n_pool, K): out-of-fold where labeled."""
        members, _, n_classes = self.models.labeled.shape
        probs = np.zeros((members, n_pool, n_classes))
        probs[:, self.labeled] = self.models.labeled
        probs[:, self.unlabeled] = self.models.unlabeled
        return probs


@dataclass
class ConsensusCleaner:
    """Consensus labels (majority vote at round 0, the method's consensus afterwards), then an optional noise filter
    that flags likely-wrong consensus labels."""

    consensus: Callable[..., np.ndarray]
    kwargs: Dict[str, Any]
    rng: np.random.Generator
    n_pool: int
    features: np.ndarray
    n_classes: int
    noise_filter: Any = None
    filter_rng: Optional[np.random.Generator] = None
    train_on_all: bool = False
    true_labels: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.majority = CONSENSUS.get("majority_vote")

    def clean(self, store: AnnotationStore, round_index: int, previous: Optional[RoundState]) -> Targets:
        labeled = store.labeled_examples()
        table = store.wide(labeled)
        prev = None
        if previous is not None:
            prev = previous.predictions.pool_probs(self.n_pool)[:, labeled]
            if prev.shape[0] == 1:
                prev = prev[0]
        consensus = (self.majority if round_index == 0 else self.consensus)(table, prev, self.rng, **self.kwargs)
        consensus = np.asarray(consensus, dtype=np.int64)
        keep = None
        if self.noise_filter is not None:
            context: Dict[str, Any] = {"n_classes": self.n_classes}
            if getattr(self.noise_filter, "requires_ground_truth", False):
                context["true_labels"] = self.true_labels
            keep = np.asarray(self.noise_filter.clean_mask(self.features, labeled, consensus, self.filter_rng, **context),
                              dtype=bool)
        train = train_positions(keep, labeled.size, self.train_on_all)
        return Targets(labeled, consensus, keep, train, {"table": table, "counts": store.counts[labeled]})


class CrossValTrainer:
    """K-fold cross-validated predictions of every ensemble member (:func:`~active_learning.multiannotator.round.fit_round`)."""

    def __init__(self, X_pool: np.ndarray, X_test: np.ndarray, members: Sequence[str],
                 model_params: Dict[str, Dict[str, Any]], n_classes: int, n_folds: int, rng: np.random.Generator) -> None:
        self.X_pool, self.X_test = X_pool, X_test
        self.members, self.model_params = list(members), model_params
        self.n_classes, self.n_folds, self.rng = n_classes, n_folds, rng

    def fit(self, targets: Targets, round_index: int) -> CrossValRound:
        labeled = targets.examples
        unlabeled = np.setdiff1d(np.arange(self.X_pool.shape[0]), labeled)
        keep = None
        if targets.train.size != labeled.size:
            keep = np.zeros(labeled.size, dtype=bool)
            keep[targets.train] = True
        models = fit_round(self.X_pool, self.members, self.model_params, labeled, unlabeled, targets.labels,
                           self.n_classes, self.n_folds, self.rng, X_test=self.X_test, keep=keep)
        return CrossValRound(models, labeled, unlabeled)


class MethodAcquirer:
    """An ActiveLab method (or baseline) scores labeled and unlabeled examples on one scale; the lowest are chosen."""

    def __init__(self, scorer: MultiAnnotatorMethod, name: str, annotator: Annotator, n_classes: int,
                 allow_relabel: bool, score_rng: np.random.Generator, tie_rng: np.random.Generator) -> None:
        self.scorer, self.name, self.annotator = scorer, name, annotator
        self.n_classes, self.allow_relabel = n_classes, allow_relabel
        self.score_rng, self.tie_rng = score_rng, tie_rng

    def choose(self, state: RoundState, batch_size: int, reveal: Any) -> Choice:
        targets, predictions = state.targets, state.predictions
        labeled, unlabeled = predictions.labeled, predictions.unlabeled
        remaining = self.annotator.remaining()
        relabelable = remaining[labeled] >= 1
        inputs = ScoringInputs(
            labels_multiannotator=targets.details["table"],
            consensus_labels=targets.labels,
            pred_probs=predictions.models.labeled,
            pred_probs_unlabeled=predictions.models.unlabeled,
            annotation_counts=targets.details["counts"],
            n_classes=self.n_classes,
            relabelable=relabelable,
            flagged=None if targets.keep is None else ~targets.keep,
        )
        try:
            scores_labeled, scores_unlabeled, details = score_round(self.scorer, inputs, self.score_rng, self.name)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} in round {state.index}") from None
        chosen, _ = select_batch(scores_labeled, scores_unlabeled, labeled, unlabeled, batch_size, self.tie_rng,
                                 allow_relabel=self.allow_relabel, relabelable=relabelable,
                                 labelable=remaining[unlabeled] >= 1)
        n_new = int(np.isin(chosen, unlabeled).sum())
        record = {"n_new": float(n_new), "n_relabeled": float(chosen.size - n_new)}
        record.update({name: float(details[name]) for name in DIAGNOSTICS if name in details})
        return Choice(chosen, record, details)


def activelab_recorder(pool: MultiAnnotatorPool, members: Sequence[str], initial_labeled: np.ndarray,
                       with_filter: bool) -> Callable[[RoundState], Dict[str, float]]:
    """The per-round metrics of :data:`METRICS` (and the shared ``filter_*`` metrics when a filter runs)."""
    ensemble = len(members) > 1

    def record(state: RoundState) -> Dict[str, float]:
        targets, models = state.targets, state.predictions.models
        labeled, consensus = targets.examples, targets.labels
        truth = pool.y_pool[labeled]
        assert models.test_per_fold is not None and models.test_refit is not None
        initial = np.flatnonzero(np.isin(labeled, initial_labeled))
        per_fold = float(np.mean(models.test_per_fold.mean(axis=0).argmax(axis=2) == pool.y_test[None, :]))
        weights = state.choice.details.get("model_weights") if state.choice is not None else None
        counts = targets.details["counts"]
        values = {
            "consensus_accuracy": float(np.mean(consensus == truth)),
            "consensus_accuracy_initial": float(np.mean(consensus[initial] == truth[initial])),
            "model_accuracy": ensemble_accuracy(models, pool.y_test, weights) if ensemble else per_fold,
            "model_accuracy_per_fold": per_fold,
            "model_accuracy_refit": float(np.mean(models.test_refit.mean(axis=0).argmax(axis=1) == pool.y_test)),
            "n_annotations": float(state.store.n_annotations),
            "n_labeled": float(labeled.size),
            "annotations_per_example": float(counts.mean()),
        }
        if with_filter and targets.keep is not None:
            values.update(filter_metrics(targets.keep, consensus == truth))
            values["n_train"] = float(targets.train.size)
        return values

    return record


def _column_offset(pool: MultiAnnotatorPool) -> int:
    width = getattr(pool.source, "n_annotators", None)
    initial = int(pool.initial["annotator"].max()) + 1 if len(pool.initial) else 0
    return max(int(width or 0), initial)


def activelab_plan(
    pool: MultiAnnotatorPool,
    method: str,
    members: Sequence[str],
    config: MultiAnnotatorLoopConfig,
    seed: int,
    *,
    method_params: Optional[Dict[str, Any]] = None,
    model_params: Optional[Dict[str, Dict[str, Any]]] = None,
) -> Plan:
    """The round-engine plan of one multi-annotator run (arguments as :func:`run_multiannotator_loop`).

    Random streams: ``default_rng(seed).spawn(5)`` = model fits, method scores, label draws, consensus, batch
    tie-breaks (one more, spawned after them, for the noise filter)."""
    scorer = get_method(method, **(method_params or {}))
    members = list(members)
    if scorer.requires_ensemble and len(members) < 2:
        raise ValueError(f"method {method!r} needs an ensemble of at least 2 models, got {members}")
    if getattr(scorer, "requires_flags", False) and config.filter is None:
        raise ValueError(f"method {method!r} acts on noise-filter flags; set loop.filter (see `list filters`)")
    consensus_fn = CONSENSUS.get(config.consensus or scorer.consensus)
    consensus_kwargs = {"tie_break": config.tie_break, **scorer.consensus_params}
    root = np.random.default_rng(seed)
    fit_rng, method_rng, label_rng, consensus_rng, tie_rng = root.spawn(5)
    source = pool.source.for_identity_columns() if config.annotator_columns == "true_identity" else pool.source

    initial_labeled = pool.labeled_at_start
    if initial_labeled.size < config.n_folds:
        raise ValueError(f"the initial labeled set has {initial_labeled.size} examples, fewer than n_folds={config.n_folds}")
    n_pool = pool.X_pool.shape[0]
    store = pool.initial_store()
    # What the annotator source has revealed (who labeled which example). It is the label table itself, except
    # with majority-vote initial labels: their store has one anonymous vote per example, but the annotators
    # behind the vote are used up all the same (a sparse source must never reveal them again).
    revealed = store
    if config.initial_labels == "majority_vote":
        votes = CONSENSUS.get("majority_vote")(store.wide(initial_labeled), None, consensus_rng, tie_break=config.tie_break)
        store = AnnotationStore(n_pool)
        store.add(initial_labeled, np.zeros(initial_labeled.size), votes, 0)
    offset = _column_offset(pool) if config.annotator_columns == "per_round" else None
    annotator = Annotator(source, store, label_rng, revealed=revealed, column_offset=offset)

    noise_filter = None
    if config.filter is not None:
        noise_filter = get_filter(config.filter, **(config.filter_params or {}))
        if hasattr(noise_filter, "reset"):
            noise_filter.reset()
    cleaner = ConsensusCleaner(consensus_fn, consensus_kwargs, consensus_rng, n_pool, features=pool.X_pool,
                               n_classes=pool.n_classes, noise_filter=noise_filter,
                               filter_rng=root.spawn(1)[0] if noise_filter is not None else None,
                               train_on_all=config.train_on_all, true_labels=pool.y_pool)
    trainer = CrossValTrainer(pool.X_pool, pool.X_test, members, model_params or {}, pool.n_classes, config.n_folds,
                              fit_rng)
    acquirer = MethodAcquirer(scorer, method, annotator, pool.n_classes, config.allow_relabel, method_rng, tie_rng)
    metrics = METRICS + (FILTERED_RUN_METRICS if noise_filter is not None else ())
    return Plan(annotator, cleaner, trainer, acquirer,
                activelab_recorder(pool, members, initial_labeled, noise_filter is not None),
                batch_sizes=[config.batch_size] * config.rounds, metrics=metrics)


def run_multiannotator_loop(
    pool: MultiAnnotatorPool,
    method: str,
    members: Sequence[str],
    config: MultiAnnotatorLoopConfig,
    seed: int,
    *,
    method_params: Optional[Dict[str, Any]] = None,
    model_params: Optional[Dict[str, Dict[str, Any]]] = None,
    on_round: Optional[Callable[[int], None]] = None,
) -> RunResult:
    """Run one multi-annotator active-learning experiment on the round engine.

    Parameters
    ----------
    pool : MultiAnnotatorPool
        Data, annotator source and initial annotations.
    method : str
        Registered method name (see ``python -m active_learning list methods``).
    members : sequence of str
        Registered learner names (``list models``); one for a single model, several for an ensemble.
    config : MultiAnnotatorLoopConfig
    seed : int
        Run seed: fixes fold shuffles, model seeds, method randomness and label draws.
    method_params, model_params : dict, optional
        Keyword arguments of the method and, per member name, of the models.
    on_round : callable, optional
        Called with the round index after each round (progress reporting).

    Returns
    -------
    RunResult
        One array per name in :data:`METRICS` (and :data:`DIAGNOSTICS` where the method has them; the shared
        ``filter_*`` metrics with a filter), with the chosen examples of every round (``chosen``), the final
        annotation table (``annotations``) and the last round's ``labeled`` examples and their ``consensus``.

    Notes
    -----
    Examples whose annotator source is exhausted (real annotators all revealed) are never chosen again; a round
    with fewer selectable examples than ``batch_size`` collects fewer labels (``n_new + n_relabeled`` says how many).
    """
    plan = activelab_plan(pool, method, members, config, seed, method_params=method_params, model_params=model_params)
    return run_rounds(plan, on_round)
