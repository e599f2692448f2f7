"""FINE: per-class principal-eigenvector alignment scores split by a two-component Gaussian mixture.

Features are standardised with statistics of the whole pool. For class ``c``, ``u_c`` is the principal
eigenvector of ``sum x x^T`` over labeled points of that label; the score of a point is ``(u_y^T x)^2``. Per
class, a 2-component GMM is fitted to the scores and a point is clean iff the posterior of the higher-mean
component exceeds 0.5. Classes with fewer than ``min_per_class`` points are kept clean.

References
----------
.. [1] Kim, Yun, Lee, Kim, Ko (2021). "FINE Samples for Learning with Noisy Labels." NeurIPS.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

from ._base import NoiseFilter, register_filter


@register_filter("fine")
class FINEFilter(NoiseFilter):
    """FINE filter.

    Parameters
    ----------
    min_per_class : int, default=2
    """

    def __init__(self, *, min_per_class: int = 2) -> None:
        self.min_per_class = max(2, int(min_per_class))

    def _clean_mask(self, features, labeled_idx, labels, rng, **context) -> np.ndarray:
        mu = features.mean(0, dtype=np.float64)
        sd = features.std(0, dtype=np.float64)
        sd[sd == 0] = 1.0
        X = (features[labeled_idx] - mu) / sd
        clean = np.ones(labeled_idx.size, dtype=bool)
        for c in np.unique(labels):
            rows = np.flatnonzero(labels == c)
            if rows.size < self.min_per_class:
                continue
            Xc = X[rows]
            _, _, vt = np.linalg.svd(Xc, full_matrices=False)
            score = (Xc @ vt[0]) ** 2
            if np.ptp(score) <= 1e-12:
                continue
            gmm = GaussianMixture(2, random_state=int(rng.integers(0, 2**31 - 1)), reg_covar=1e-6)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gmm.fit(score[:, None])
            hi = int(np.argmax(gmm.means_[:, 0]))
            clean[rows] = gmm.predict_proba(score[:, None])[:, hi] > 0.5
        return clean
