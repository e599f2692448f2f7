"""The multi-annotator active-learning loop of the ActiveLab benchmarks (one loop for every method).

Per round ``r``:

1. consensus labels of the labeled examples (majority vote at round 0; afterwards the method's consensus
   method, CROWDLAB for ActiveLab and majority vote for the baselines, using the previous round's predictions);
2. stratified K-fold cross-validation on the consensus labels: out-of-fold probabilities for labeled examples,
   fold-averaged probabilities for unlabeled and test examples, per ensemble member; plus a model refit on all
   labeled data;
3. metrics of the round;
4. the method scores labeled and unlabeled examples on one scale and the ``B`` lowest are annotated, each with
   one new label from the pool's annotator source (:mod:`active_learning.annotators.sources`: a uniform draw from
   the example's complete row of simulated annotators in the Wall Robot protocol, its human label multiset for
   CIFAR-10H, one of its not-yet-revealed real annotators for CIFAR-10N or a user's label file).

The round's building blocks (:func:`fit_round`, :func:`score_round`, :func:`select_batch`) are public; the
"what next?" API (:func:`active_learning.multiannotator.suggest_next_batch`) uses the same ones on real labels.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..annotators import AnnotationStore
from ..learners import make_estimator
from ..models import cross_val_predict_proba, fit_predict_proba
from ..multiannotator.consensus import CONSENSUS, TIE_BREAKS
from ..multiannotator.data import MultiAnnotatorPool
from ..multiannotator.methods import ScoringInputs, get_method
from ..utils.random import random_tiebreak_argsort

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
    """

    rounds: int = 20
    batch_size: int = 100
    n_folds: int = 5
    allow_relabel: bool = True
    initial_labels: str = "annotations"
    annotator_columns: str = "per_round"
    consensus: Optional[str] = None
    tie_break: str = "least_frequent"

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


@dataclass
class RoundModels:
    """Member-stacked predictions of one round (``m`` = ensemble members)."""

    labeled: np.ndarray  # (m, n_labeled, K) out-of-fold
    unlabeled: np.ndarray  # (m, n_unlabeled, K)
    test_per_fold: Optional[np.ndarray] = None  # (m, n_folds, n_test, K)
    test_refit: Optional[np.ndarray] = None  # (m, n_test, K)


def fit_round(
    X_pool: np.ndarray,
    members: Sequence[str],
    model_params: Dict[str, Dict[str, Any]],
    labeled: np.ndarray,
    unlabeled: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    n_folds: int,
    rng: np.random.Generator,
    X_test: Optional[np.ndarray] = None,
) -> RoundModels:
    """Cross-validated predictions of every ensemble member trained on ``targets`` (the consensus labels of
    ``labeled``): out-of-fold on the labeled examples, fold-averaged on the unlabeled ones; on ``X_test`` (when
    given) every fold model's predictions and a model refit on all labeled data. Models are built by
    :func:`active_learning.learners.make_estimator`, so any registered learner can be a member."""
    outs, unl, test_folds, test_refit = [], [], [], []
    for member in members:
        seed = int(rng.integers(2**31 - 1))
        params = model_params.get(member, {})

        def make(member: str = member, seed: int = seed, params: Dict[str, Any] = params) -> Any:
            return make_estimator(member, random_state=seed, **params)

        others = {"unlabeled": X_pool[unlabeled]}
        if X_test is not None:
            others["test"] = X_test
        cv = cross_val_predict_proba(make, X_pool[labeled], targets, others, n_classes, n_folds, rng)
        outs.append(cv.out_of_fold)
        unl.append(cv.averaged("unlabeled"))
        if X_test is not None:
            refit = fit_predict_proba(make, X_pool[labeled], targets, {"test": X_test}, n_classes)
            test_folds.append(cv.others["test"])
            test_refit.append(refit["test"])
    return RoundModels(
        np.stack(outs), np.stack(unl),
        np.stack(test_folds) if test_folds else None, np.stack(test_refit) if test_refit else None,
    )


def select_batch(
    scores_labeled: np.ndarray,
    scores_unlabeled: np.ndarray,
    labeled: np.ndarray,
    unlabeled: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    *,
    allow_relabel: bool = True,
    relabelable: Optional[np.ndarray] = None,
    labelable: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``batch_size`` lowest scores over labeled and unlabeled examples (random tie-break); labeled examples
    are candidates only when ``allow_relabel`` and (where given) ``relabelable``, unlabeled ones only where
    ``labelable`` (an example nobody can label). Returns ``(chosen examples, their scores)``."""
    candidates = np.concatenate([labeled, unlabeled])
    scores = np.concatenate([np.asarray(scores_labeled, dtype=float), np.asarray(scores_unlabeled, dtype=float)])
    selectable = np.ones(candidates.size, dtype=bool)
    if not allow_relabel:
        scores[: labeled.size] = np.inf
        selectable[: labeled.size] = False
    elif relabelable is not None:
        selectable[: labeled.size] = np.asarray(relabelable, dtype=bool)
    if labelable is not None:
        selectable[labeled.size:] = np.asarray(labelable, dtype=bool)
    order = random_tiebreak_argsort(scores, rng)
    order = order[selectable[order]][:batch_size]
    return candidates[order], scores[order]


def score_round(scorer: Any, inputs: ScoringInputs, rng: np.random.Generator, method: str = "") -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """A method's scores for one round, checked (shapes, no NaN)."""
    scores_labeled, scores_unlabeled, details = scorer.score_with_details(inputs, rng)
    scores_labeled = np.asarray(scores_labeled, dtype=float)
    scores_unlabeled = np.asarray(scores_unlabeled, dtype=float)
    n_labeled, n_unlabeled = inputs.labels_multiannotator.shape[0], inputs.pred_probs_unlabeled.shape[1]
    if scores_labeled.shape != (n_labeled,) or scores_unlabeled.shape != (n_unlabeled,):
        raise RuntimeError(
            f"method {method!r} returned scores of shapes {scores_labeled.shape} and {scores_unlabeled.shape}, "
            f"expected ({n_labeled},) and ({n_unlabeled},)"
        )
    if np.isnan(scores_labeled).any() or np.isnan(scores_unlabeled).any():
        raise RuntimeError(f"method {method!r} returned NaN scores")
    return scores_labeled, scores_unlabeled, details


class LoopResult(dict):
    """What :func:`run_multiannotator_loop` returns: ``metric -> array of shape (rounds,)`` (a dict, as the
    runner stores it), plus

    Attributes
    ----------
    chosen : list of ndarray
        ``chosen[r]``: the pool examples that got a new label after round ``r`` (in order of their score; empty
        when nothing was selectable), for ``r = 0 .. rounds - 2``.
    annotations : pandas.DataFrame
        The final annotation table: ``example, annotator, column, label, round`` (round 0 = initial labels;
        ``annotator`` is ``-1`` for anonymous sources).
    consensus : ndarray
        The last round's consensus label of each labeled example, aligned with ``labeled``.
    labeled : ndarray
        The examples labeled at the last round.
    """

    chosen: List[np.ndarray]
    annotations: pd.DataFrame
    consensus: np.ndarray
    labeled: np.ndarray


def _column_offset(pool: MultiAnnotatorPool) -> int:
    width = getattr(pool.source, "n_annotators", None)
    initial = int(pool.initial["annotator"].max()) + 1 if len(pool.initial) else 0
    return max(int(width or 0), initial)


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
) -> LoopResult:
    """Run one multi-annotator active-learning experiment.

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
    LoopResult
        One array per name in :data:`METRICS` (and :data:`DIAGNOSTICS` where the method has them), with the
        chosen examples of every round and the final annotation table.

    Notes
    -----
    Examples whose annotator source is exhausted (real annotators all revealed) are never chosen again; a round
    with fewer selectable examples than ``batch_size`` collects fewer labels (``n_new + n_relabeled`` says how many).
    """
    scorer = get_method(method, **(method_params or {}))
    members = list(members)
    if scorer.requires_ensemble and len(members) < 2:
        raise ValueError(f"method {method!r} needs an ensemble of at least 2 models, got {members}")
    consensus_fn = CONSENSUS.get(config.consensus or scorer.consensus)
    consensus_kwargs = {"tie_break": config.tie_break, **scorer.consensus_params}
    majority = CONSENSUS.get("majority_vote")
    streams = np.random.default_rng(seed).spawn(5)
    fit_rng, method_rng, label_rng, consensus_rng, tie_rng = streams
    source = pool.source.for_identity_columns() if config.annotator_columns == "true_identity" else pool.source
    column_offset = _column_offset(pool)

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
        table = store.wide(initial_labeled)
        votes = majority(table, None, consensus_rng, tie_break=config.tie_break)
        store = AnnotationStore(n_pool)
        store.add(initial_labeled, np.zeros(initial_labeled.size), votes, 0)

    history: Dict[str, List[float]] = {name: [] for name in METRICS}
    chosen_per_round: List[np.ndarray] = []
    previous_probs: Optional[np.ndarray] = None  # (m, n_pool, K), latest prediction for every pool example
    consensus = np.zeros(0, dtype=np.int64)
    labeled = initial_labeled
    for round_index in range(config.rounds):
        labeled = store.labeled_examples()
        unlabeled = np.setdiff1d(np.arange(n_pool), labeled)
        table = store.wide(labeled)
        counts = store.counts[labeled]
        prev = None if previous_probs is None else previous_probs[:, labeled]
        if prev is not None and prev.shape[0] == 1:
            prev = prev[0]
        consensus = (majority if round_index == 0 else consensus_fn)(table, prev, consensus_rng, **consensus_kwargs)

        models = fit_round(pool.X_pool, members, model_params or {}, labeled, unlabeled, consensus, pool.n_classes,
                           config.n_folds, fit_rng, X_test=pool.X_test)
        remaining = source.remaining(revealed)
        relabelable = remaining[labeled] >= 1
        inputs = ScoringInputs(
            labels_multiannotator=table,
            consensus_labels=consensus,
            pred_probs=models.labeled,
            pred_probs_unlabeled=models.unlabeled,
            annotation_counts=counts,
            n_classes=pool.n_classes,
            relabelable=relabelable,
        )
        try:
            scores_labeled, scores_unlabeled, details = score_round(scorer, inputs, method_rng, method)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} in round {round_index}") from None

        assert models.test_per_fold is not None and models.test_refit is not None
        initial_positions = np.flatnonzero(np.isin(labeled, initial_labeled))
        per_fold = float(np.mean(models.test_per_fold.mean(axis=0).argmax(axis=2) == pool.y_test[None, :]))
        history["consensus_accuracy"].append(float(np.mean(consensus == pool.y_pool[labeled])))
        history["consensus_accuracy_initial"].append(
            float(np.mean(consensus[initial_positions] == pool.y_pool[labeled[initial_positions]]))
        )
        history["model_accuracy_per_fold"].append(per_fold)
        history["model_accuracy"].append(
            _ensemble_accuracy(models, pool.y_test, details.get("model_weights")) if len(members) > 1 else per_fold
        )
        history["model_accuracy_refit"].append(float(np.mean(models.test_refit.mean(axis=0).argmax(axis=1) == pool.y_test)))
        history["n_annotations"].append(float(store.n_annotations))
        history["n_labeled"].append(float(labeled.size))
        history["annotations_per_example"].append(float(counts.mean()))
        for name in DIAGNOSTICS:
            if name in details:
                history.setdefault(name, []).append(float(details[name]))

        chosen, _ = select_batch(scores_labeled, scores_unlabeled, labeled, unlabeled, config.batch_size, tie_rng,
                                 allow_relabel=config.allow_relabel, relabelable=relabelable,
                                 labelable=remaining[unlabeled] >= 1)
        n_new = int(np.isin(chosen, unlabeled).sum())
        history["n_new"].append(float(n_new))
        history["n_relabeled"].append(float(chosen.size - n_new))

        latest = np.zeros((models.labeled.shape[0], n_pool, pool.n_classes))
        latest[:, labeled] = models.labeled
        latest[:, unlabeled] = models.unlabeled
        previous_probs = latest
        if round_index + 1 < config.rounds:
            chosen_per_round.append(chosen)  # one entry per round that collects labels (empty when none selectable)
            if chosen.size:
                new_labels, annotators = source.draw(chosen, revealed, label_rng)
                if config.annotator_columns == "per_round":
                    columns = np.full(chosen.size, column_offset + round_index, dtype=np.int64)
                else:
                    columns = annotators
                store.add(chosen, columns, new_labels, round_index + 1, annotators=annotators)
                if revealed is not store:
                    revealed.add(chosen, columns, new_labels, round_index + 1, annotators=annotators)
        if on_round is not None:
            on_round(round_index)
    result = LoopResult({name: np.asarray(values, dtype=float) for name, values in history.items()})
    result.chosen = chosen_per_round
    result.annotations = store.to_frame()
    result.consensus = np.asarray(consensus, dtype=np.int64)
    result.labeled = labeled
    return result


def _ensemble_accuracy(models: RoundModels, y_test: np.ndarray, weights: Optional[np.ndarray]) -> float:
    """Test accuracy of an ensemble as the ActiveLab paper measured it: argmax of the (``w_M``-weighted, for
    ActiveLab-ensemble; unweighted otherwise) mean of the members' fold-averaged test probabilities."""
    assert models.test_per_fold is not None
    member_probs = models.test_per_fold.mean(axis=1)  # (m, n_test, K)
    weights = np.ones(member_probs.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mean = np.tensordot(weights / weights.sum(), member_probs, axes=1)
    return float(np.mean(mean.argmax(axis=1) == y_test))
