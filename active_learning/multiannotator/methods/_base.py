"""The interface of multi-annotator active-learning methods and their registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple, Type

import numpy as np

from ..._registry import Registry


@dataclass(frozen=True)
class ScoringInputs:
    """What a method sees when it scores the pool in one round.

    Attributes
    ----------
    labels_multiannotator : ndarray of shape (n_labeled, n_columns), float
        Wide label table of the labeled examples (NaN = missing), as cleanlab expects.
    consensus_labels : ndarray of shape (n_labeled,), int
        The consensus labels the model was trained on this round.
    pred_probs : ndarray of shape (n_models, n_labeled, n_classes)
        Out-of-fold predicted probabilities of every ensemble member (``n_models == 1`` for a single model).
    pred_probs_unlabeled : ndarray of shape (n_models, n_unlabeled, n_classes)
        Fold-averaged predicted probabilities on the unlabeled examples.
    annotation_counts : ndarray of shape (n_labeled,), int
        Annotations per labeled example.
    n_classes : int
    relabelable : ndarray of shape (n_labeled,), bool, optional
        Whether each labeled example can still get a label (``False`` once its real annotators are all used).
        The loop never chooses a non-relabelable example, whatever its score; a method may use it to rank the rest.
    flagged : ndarray of shape (n_labeled,), bool, optional
        Examples whose consensus label the loop's noise filter predicts wrong (``loop.filter``); ``None`` without
        a filter.
    """

    labels_multiannotator: np.ndarray
    consensus_labels: np.ndarray
    pred_probs: np.ndarray
    pred_probs_unlabeled: np.ndarray
    annotation_counts: np.ndarray
    n_classes: int
    relabelable: Optional[np.ndarray] = None
    flagged: Optional[np.ndarray] = None

    @property
    def mean_pred_probs(self) -> np.ndarray:
        """Member-averaged out-of-fold probabilities, shape (n_labeled, n_classes)."""
        return self.pred_probs.mean(axis=0)

    @property
    def mean_pred_probs_unlabeled(self) -> np.ndarray:
        """Member-averaged unlabeled probabilities, shape (n_unlabeled, n_classes)."""
        return self.pred_probs_unlabeled.mean(axis=0)


class MultiAnnotatorMethod(ABC):
    """Scores labeled and unlabeled examples on one scale; the loop annotates the ``B`` lowest scores.

    A labeled example chosen this way gets one more annotation (re-labeling), an unlabeled one its first.

    Class attributes
    ----------------
    consensus : str
        Name of the consensus method (see :data:`active_learning.multiannotator.consensus.CONSENSUS`) that the loop
        uses to make this method's training labels. The ActiveLab paper used CROWDLAB for ActiveLab and majority
        vote for every baseline.
    requires_ensemble : bool
        Whether the method needs several models (``n_models >= 2``).
    """

    consensus: ClassVar[str] = "majority_vote"
    requires_ensemble: ClassVar[bool] = False

    @abstractmethod
    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Return ``(scores_labeled, scores_unlabeled)``; lower = annotate first."""

    def score_with_details(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
        """:meth:`score` plus a dict of per-round diagnostics the loop records (e.g. ActiveLab's temperature and
        CROWDLAB weights); methods without any return an empty dict."""
        labeled, unlabeled = self.score(inputs, rng)
        return labeled, unlabeled, {}

    @property
    def consensus_params(self) -> Dict[str, Any]:
        """Keyword arguments this method passes to its consensus function (ActiveLab: its calibration)."""
        return {}


METHODS: Registry[Type[MultiAnnotatorMethod]] = Registry("multi-annotator method")


def register_method(name: str, **metadata: Any) -> Callable[[Type[MultiAnnotatorMethod]], Type[MultiAnnotatorMethod]]:
    """Decorator registering a :class:`MultiAnnotatorMethod` subclass under ``name``.

    ``metadata`` describes it for figures: ``color`` (one colour per method in every figure) and ``emphasis``
    (drawn thicker: the paper's method).
    """
    return METHODS.register(name, **metadata)


def get_method(name: str, **params: Any) -> MultiAnnotatorMethod:
    """Instantiate the registered method ``name`` with ``params``."""
    return METHODS.get(name)(**params)


def normalized_entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row divided by ``log K`` (in [0, 1])."""
    from scipy.special import entr

    n_classes = probs.shape[-1]
    return entr(probs).sum(axis=-1) / np.log(n_classes)
