"""ActiveLab (Goh & Mueller 2023): decide between labeling a new example and re-labeling an old one.

The scores are the official ones (``cleanlab.multiannotator.get_active_learning_scores`` and its ensemble version,
spec sections 1.4-1.5): the CROWDLAB posterior of the consensus class with one extra, uninformative, average-quality
annotator mixed in, for labeled examples, and the model's confidence mixed the same way for unlabeled ones. Lower =
less confidence in the true label = annotate next. They are computed here from cleanlab's CROWDLAB weights, with
the temperature chosen by this library (``calibration``, see :mod:`~active_learning.multiannotator.calibration`) and
cleanlab's own calibration off; ``calibration="cleanlab"`` gives cleanlab's scores exactly (tested).
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from ..calibration import DEFAULT_CALIBRATION, Calibration, check_calibration, scale_probabilities
from ..consensus import crowdlab_fit, majority_vote_labels
from ._base import MultiAnnotatorMethod, ScoringInputs, register_method


def activelab_scores(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    pred_probs_unlabeled: np.ndarray,
    rng: np.random.Generator,
    *,
    calibration: Calibration = DEFAULT_CALIBRATION,
) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    """ActiveLab scores of the labeled and unlabeled examples.

    Parameters
    ----------
    labels : ndarray of shape (n, n_annotators), float
        Wide label table of the labeled examples (NaN = missing).
    pred_probs : ndarray of shape (m, n, K)
        Out-of-fold probabilities, one slice per model (``m = 1``: ActiveLab, ``m >= 2``: ActiveLab-ensemble).
    pred_probs_unlabeled : ndarray of shape (m, n_unlabeled, K)
    rng : numpy.random.Generator
        Seeds the random majority-vote ties.
    calibration : str or float
        How the temperature of each model is chosen.

    Returns
    -------
    scores_labeled : ndarray (n,)
    scores_unlabeled : ndarray (n_unlabeled,)
    details : dict
        ``temperature`` (mean over models), ``model_weight`` (sum over models, the weight the scores use),
        ``mean_annotator_weight`` and ``model_weights`` (per model), recorded per round by the loop.

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856.
    """
    n_classes = pred_probs.shape[-1]
    fit = crowdlab_fit(labels, pred_probs, rng, calibration=calibration)
    w_model = float(fit.model_weights.sum())
    w_bar = float(fit.annotator_weights.mean())
    observed = ~np.isnan(labels)
    w_labeled = observed @ fit.annotator_weights + w_model
    scores_labeled = (w_labeled * fit.quality + w_bar / n_classes) / (w_labeled + w_bar)

    if pred_probs_unlabeled.shape[1]:
        scaled = np.stack([scale_probabilities(u, t) for u, t in zip(pred_probs_unlabeled, fit.temperatures)])
        if scaled.shape[0] == 1:
            confidence = scaled[0].max(axis=1)
            scores_unlabeled = (w_model * confidence + w_bar / n_classes) / (w_model + w_bar)
        else:
            votes = scaled.argmax(axis=2).T.astype(float)
            predicted = majority_vote_labels(votes, scaled.mean(axis=0), rng, n_classes=n_classes)
            weights = np.concatenate([fit.model_weights, [w_bar]])
            mixed = np.tensordot(weights, np.concatenate([scaled, np.full((1,) + scaled.shape[1:], 1 / n_classes)]), axes=1)
            mixed /= weights.sum()
            scores_unlabeled = mixed[np.arange(predicted.size), predicted]
    else:
        scores_unlabeled = np.zeros(0)
    details = {
        "temperature": float(fit.temperatures.mean()),
        "model_weight": w_model,
        "mean_annotator_weight": w_bar,
        "model_weights": fit.model_weights,
    }
    return np.asarray(scores_labeled, dtype=float), np.asarray(scores_unlabeled, dtype=float), details


@register_method("activelab", label="ActiveLab", color="#d62728", emphasis=True)
class ActiveLab(MultiAnnotatorMethod):
    """ActiveLab with a single model; consensus labels by CROWDLAB.

    Parameters
    ----------
    calibration : {"benchmark", "cleanlab", "rowwise", "none"} or float, default="rowwise"
        How the model's temperature is chosen, for the scores and for the CROWDLAB consensus of the next round
        (:mod:`~active_learning.multiannotator.calibration`). ``"benchmark"`` reproduces the paper's runs,
        ``"cleanlab"`` is cleanlab 2.9's behaviour, ``"rowwise"`` is this library's recommendation.

    References
    ----------
    .. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators."
       arXiv 2301.11856.
    .. [2] Goh, Tkachenko, Mueller (2022). "CROWDLAB", arXiv 2210.06812.
    """

    consensus = "crowdlab"

    def __init__(self, calibration: Calibration = DEFAULT_CALIBRATION) -> None:
        self.calibration = check_calibration(calibration)

    @property
    def consensus_params(self) -> Dict[str, Any]:
        return {"calibration": self.calibration}

    def _stack(self, inputs: ScoringInputs) -> Tuple[np.ndarray, np.ndarray]:
        return inputs.mean_pred_probs[None], inputs.mean_pred_probs_unlabeled[None]

    def score_with_details(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
        probs, probs_unlabeled = self._stack(inputs)
        return activelab_scores(inputs.labels_multiannotator, probs, probs_unlabeled, rng, calibration=self.calibration)

    def score(self, inputs: ScoringInputs, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        labeled, unlabeled, _ = self.score_with_details(inputs, rng)
        return labeled, unlabeled


@register_method("activelab_ensemble", label="ActiveLab (ensemble)", color="#9467bd", emphasis=True)
class ActiveLabEnsemble(ActiveLab):
    """ActiveLab with an ensemble (one CROWDLAB weight and one temperature per member).

    The loop's ensemble test prediction is the ``w_M``-weighted mean of the members' fold-averaged probabilities
    (``details["model_weights"]``), as in the paper's runs.

    References
    ----------
    .. [1] Goh, Mueller (2023). arXiv 2301.11856.
    """

    requires_ensemble = True

    def _stack(self, inputs: ScoringInputs) -> Tuple[np.ndarray, np.ndarray]:
        return inputs.pred_probs, inputs.pred_probs_unlabeled
