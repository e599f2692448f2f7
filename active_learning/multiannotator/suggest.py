""""What should I label next?" — ActiveLab (or any method) on the labels you have collected so far.

The benchmarks simulate annotators; in real use the next labels do not exist yet. :func:`suggest_next_batch` takes
the annotations collected so far (a long ``example, annotator, label`` table) and the features of every example,
trains the models with cross-validation exactly as one round of the benchmark loop does (the same
:func:`~active_learning.multiannotator.round.fit_round`, :func:`~active_learning.multiannotator.round.score_round`
and :func:`~active_learning.multiannotator.round.select_batch`), and returns

* the next batch: which examples to send to an annotator, whether each is a new example or a re-label, its score;
* the current consensus label of every labeled example, with its CROWDLAB quality score;
* each annotator's estimated quality (CROWDLAB weight and agreement with the consensus).

Example::

    import numpy as np, pandas as pd
    from active_learning.multiannotator import suggest_next_batch

    labels = pd.read_csv("labels.csv")                 # example, annotator, label ("cat", or 0..K-1)
    features = np.load("features.npy")                 # (n_examples, d)
    out = suggest_next_batch(labels, features, batch_size=100, classes=["cat", "dog", "bird"])
    out.batch.to_csv("next_batch.csv", index=False)    # example, action, score, rank
    out.consensus.to_csv("consensus.csv", index=False)
    out.annotators.to_csv("annotators.csv", index=False)

Annotator ids may be any strings or numbers; labels class names (``classes=`` fixes their order; without it or
``n_classes=`` the classes are inferred and a warning names them); ``ids=`` (the id of each feature row) lets the
``example`` column hold your own ids. The results use your names and ids.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
.. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB: Supervised learning to infer consensus labels and quality scores
   for data with multiple annotators." arXiv 2210.06812.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from ..annotators import AnnotationStore
from ..annotators.sources import ANNOTATION_COLUMNS, check_annotation_table
from .consensus import crowdlab_fit, majority_vote_labels
from .data import ClassesInferredWarning, class_map, encode_ids, rows_of_ids
from .methods import ScoringInputs, get_method
from .round import fit_round, score_round, select_batch


@dataclass
class Suggestion:
    """What :func:`suggest_next_batch` returns.

    Attributes
    ----------
    batch : pandas.DataFrame
        ``example, action ("new" | "relabel"), score, rank`` — annotate in rank order (lower score first).
        ``example`` is the feature row, or the example's id when ``ids`` was given.
    consensus : pandas.DataFrame
        ``example, consensus_label, quality, n_annotations`` for every labeled example (CROWDLAB consensus on the
        models' out-of-fold probabilities; the majority vote where every example has one label).
        ``consensus_label`` is a class name when the labels are names (or ``classes`` was given).
    annotators : pandas.DataFrame
        ``annotator, n_labels, agreement, weight`` — agreement with the consensus and CROWDLAB's annotator weight,
        one row per annotator id as given.
    info : dict
        ``model_weight`` (CROWDLAB's trust in the model), ``temperature``, method, models, sizes, ``classes`` (the
        class names in code order: class ``k`` of the computations is ``classes[k]``).
    """

    batch: pd.DataFrame
    consensus: pd.DataFrame
    annotators: pd.DataFrame
    info: Dict[str, Any] = field(default_factory=dict)


def _model_names(models: Union[str, Sequence[str]]) -> List[str]:
    """``models`` as a list of names: one name (a string) or a sequence of names."""
    names = [models] if isinstance(models, str) else list(models) if isinstance(models, (list, tuple)) else None
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"models must be a model name or a list of model names (`python -m active_learning list "
                         f"models`), got {models!r}")
    return names


def suggest_next_batch(
    annotations: Any,
    features: np.ndarray,
    *,
    batch_size: int,
    method: str = "activelab",
    models: Union[str, Sequence[str]] = ("logistic_regression",),
    method_params: Optional[Dict[str, Any]] = None,
    model_params: Optional[Dict[str, Dict[str, Any]]] = None,
    n_classes: Optional[int] = None,
    classes: Optional[Union[Sequence[Hashable], np.ndarray]] = None,
    ids: Optional[Union[Sequence[Hashable], np.ndarray]] = None,
    n_folds: int = 5,
    max_labels_per_example: Optional[int] = None,
    allow_relabel: bool = True,
    seed: int = 0,
) -> Suggestion:
    """The next batch to annotate, the current consensus labels and the annotators' quality.

    Parameters
    ----------
    annotations : pandas.DataFrame or mapping
        Labels collected so far: columns ``example`` (row of ``features``, or the example's id when ``ids`` is
        given), ``annotator`` (any hashable id: ``3``, ``"worker-7"``), ``label`` (an integer class ``0..K-1`` or a
        class name such as ``"cat"``).
    features : ndarray of shape (n_examples, d)
        Inputs of every example, labeled or not (e.g. cached image features).
    batch_size : int
        How many labels to ask for next.
    method : str, default="activelab"
        A registered method (``python -m active_learning list methods``); ensemble methods need several ``models``.
    models : str or sequence of str, default=("logistic_regression",)
        A registered model (``list models``), or several = an ensemble.
    method_params, model_params : dict, optional
        Method keyword arguments; per model name, its hyper-parameters.
    n_classes : int, optional
        The number of classes (integer labels are ``0..n_classes-1``).
    classes : sequence, optional
        The class names in order (class ``k`` is ``classes[k]``); every label must be one of them. Results report
        these names. With neither ``n_classes`` nor ``classes`` the classes are inferred from the labels found
        (integers: ``0..max``; names: sorted) with a :class:`~active_learning.multiannotator.data.ClassesInferredWarning`
        that names them.
    ids : sequence, optional
        The id of each row of ``features`` (``ids[r]`` is row ``r``, all distinct); the ``example`` column of
        ``annotations`` then holds these ids, and the results report them.
    n_folds : int, default=5
    max_labels_per_example : int, optional
        Examples that already have this many labels are not suggested again (e.g. 3 when each item can be shown to
        at most three annotators).
    allow_relabel : bool, default=True
        False: suggest unlabeled examples only.
    seed : int, default=0

    Returns
    -------
    Suggestion
    """

    X = np.asarray(features)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"features must be an (n_examples, d) array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("features contain NaN or inf; fix or drop those rows")
    members = _model_names(models)
    frame = pd.DataFrame(annotations)
    missing = [c for c in ANNOTATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"annotations: missing column(s) {missing}; a label table needs columns {list(ANNOTATION_COLUMNS)}")
    if ids is not None:
        row_ids = np.asarray(ids, dtype=object).reshape(-1)
        if row_ids.size != X.shape[0]:
            raise ValueError(f"ids: {row_ids.size} ids for {X.shape[0]} feature rows; give one id per row of features")
        frame = frame.assign(example=rows_of_ids(frame["example"], row_ids, "annotations", "ids"))
    annotator_codes, annotator_ids = encode_ids(frame["annotator"], "annotations: column 'annotator'")
    classes_of = class_map(frame["label"], classes=classes, n_classes=n_classes, what="annotations")
    K = classes_of.n_classes
    frame = frame.assign(annotator=annotator_codes, label=classes_of.encode(frame["label"], "annotations"))
    table_long = check_annotation_table(frame, X.shape[0], K, "annotations")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    scorer = get_method(method, **(method_params or {}))
    if scorer.requires_ensemble and len(members) < 2:
        raise ValueError(f"method {method!r} needs an ensemble: pass models=[...] with at least 2 names")

    rng_fit, rng_method, rng_tie, rng_consensus = np.random.default_rng(seed).spawn(4)
    n = X.shape[0]
    store = AnnotationStore.from_table(table_long, n)
    labeled = np.sort(store.labeled_examples())
    unlabeled = np.setdiff1d(np.arange(n), labeled)
    if labeled.size < n_folds:
        raise ValueError(f"only {labeled.size} labeled examples, fewer than n_folds={n_folds}; label more or lower n_folds")
    wide = store.wide(labeled)
    columns = np.unique(table_long["annotator"].to_numpy())  # the wide table's column order
    counts = store.counts[labeled]
    majority = majority_vote_labels(wide, None, rng_consensus, n_classes=K)
    present = np.bincount(majority, minlength=K)
    if present[present > 0].min() < n_folds:
        raise ValueError(
            f"the smallest class of the majority-vote labels has {int(present[present > 0].min())} examples, fewer "
            f"than n_folds={n_folds}; lower n_folds"
        )
    if classes_of.inferred:
        warnings.warn(classes_of.inferred_message("suggest_next_batch", "n_classes= or classes="),
                      ClassesInferredWarning, stacklevel=2)
    fitted = fit_round(X, members, model_params or {}, labeled, unlabeled, majority, K, n_folds, rng_fit)
    relabelable = None if max_labels_per_example is None else counts < max_labels_per_example
    inputs = ScoringInputs(
        labels_multiannotator=wide, consensus_labels=majority, pred_probs=fitted.labeled,
        pred_probs_unlabeled=fitted.unlabeled, annotation_counts=counts, n_classes=K, relabelable=relabelable,
    )
    scores_labeled, scores_unlabeled, details = score_round(scorer, inputs, rng_method, method)
    chosen, scores = select_batch(scores_labeled, scores_unlabeled, labeled, unlabeled, batch_size, rng_tie,
                                  allow_relabel=allow_relabel, relabelable=relabelable)

    def example_ids(rows: np.ndarray) -> Any:
        return rows if ids is None else pd.Series(list(row_ids)).to_numpy()[rows]

    batch = pd.DataFrame({
        "example": example_ids(chosen), "action": np.where(np.isin(chosen, labeled), "relabel", "new"),
        "score": scores, "rank": np.arange(chosen.size),
    })

    calibration = (method_params or {}).get("calibration", "rowwise")
    crowd = crowdlab_fit(wide, fitted.labeled if len(members) > 1 else fitted.labeled[0], rng_consensus,
                         calibration=calibration)
    consensus = pd.DataFrame({
        "example": example_ids(labeled), "consensus_label": classes_of.decode(crowd.consensus),
        "quality": crowd.quality, "n_annotations": counts,
    })
    agree = table_long.assign(
        agrees=table_long["label"].to_numpy() == pd.Series(crowd.consensus, index=labeled).reindex(
            table_long["example"].to_numpy()).to_numpy()
    )
    per_annotator = agree.groupby("annotator").agg(n_labels=("label", "size"), agreement=("agrees", "mean")).reset_index()
    weights = pd.Series(np.resize(crowd.annotator_weights, columns.size), index=columns)
    per_annotator["weight"] = weights.reindex(per_annotator["annotator"].to_numpy()).to_numpy()
    per_annotator["annotator"] = pd.Series(annotator_ids).to_numpy()[per_annotator["annotator"].to_numpy()]
    return Suggestion(
        batch=batch, consensus=consensus, annotators=per_annotator,
        info={
            **{f"method_{k}": v for k, v in details.items() if np.isscalar(v)},
            "method": method, "models": members, "n_labeled": int(labeled.size), "n_unlabeled": int(unlabeled.size),
            "n_annotations": int(len(table_long)), "model_weight": crowd.model_weights.tolist(),
            "temperature": crowd.temperatures.tolist(), "single_label": crowd.single_label,
            "n_new": int((batch["action"] == "new").sum()), "n_relabel": int((batch["action"] == "relabel").sum()),
            "classes": list(classes_of.classes), "classes_inferred": classes_of.inferred,
        },
    )
