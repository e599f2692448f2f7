"""A single noisy annotator: true labels stay hidden, noisy labels are revealed only when queried.

Strategies and filters see only revealed labels (``query``, ``revealed_labels``); the true labels are reachable
only through the explicit :meth:`NoisyOracle.ground_truth`, meant for metrics and the ``ideal`` upper-bound
filter. This closes the leaks of the original code (DCoM and DisagreeNet read clean or unlabeled labels).

Noise models (all drawn from an explicit ``numpy.random.Generator``):

* :meth:`NoisyOracle.symmetric`: exactly ``floor(r N)`` labels flipped, each to a uniformly random *other* class;
* :meth:`NoisyOracle.asymmetric_cifar10`: ``floor(r N)`` random points mapped truck→automobile,
  bird→airplane, deer→horse, cat↔dog (points of other classes keep their label, so the effective rate is lower);
* :meth:`NoisyOracle.from_confusion`: class-dependent flips from a confusion matrix (the NAS code's CIFAR-100 /
  ImageNet-50 asymmetric noise; :meth:`NoisyOracle.asymmetric_cifar100` with a matrix read by
  :func:`load_confusion_matrix`);
* :meth:`NoisyOracle.from_noisy_labels`: real noisy labels (e.g. CIFAR-N).

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
.. [2] Wei et al. (2022). "Learning with Noisy Labels Revisited: A Study Using Real-World Human Annotations."
   ICLR (CIFAR-10N / CIFAR-100N).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .utils.validation import as_class_ids, check_rng

#: CIFAR-10 asymmetric map: truck(9)→automobile(1), bird(2)→airplane(0), deer(4)→horse(7), cat(3)↔dog(5).
CIFAR10_ASYM_MAP: Dict[int, int] = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def _check_label_array(labels: Any, name: str, n_classes: Optional[int] = None) -> np.ndarray:
    arr = as_class_ids(labels, name, n_classes)
    if arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of class ids")
    return arr


def _check_rate(rate: float) -> float:
    r = float(rate)
    if not 0.0 <= r < 1.0:
        raise ValueError(f"noise rate must lie in [0, 1), got {rate}")
    return r


class NoisyOracle:
    """One annotator with fixed (possibly wrong) answers, revealed on demand.

    Parameters
    ----------
    true_labels : array-like of int, shape (n_samples,)
    noisy_labels : array-like of int, shape (n_samples,)
        The label the annotator gives for each point.
    n_classes : int, optional
        Default ``max(labels) + 1``.

    Attributes
    ----------
    n_samples, n_classes : int
    n_queries : int
        Number of distinct points revealed so far (a repeated query costs nothing and returns the same label).
    query_log : list of ndarray
        The index arrays of every ``query`` call, in order.
    """

    def __init__(self, true_labels: Any, noisy_labels: Any, n_classes: Optional[int] = None) -> None:
        t = _check_label_array(true_labels, "true_labels", n_classes)
        y = _check_label_array(noisy_labels, "noisy_labels", n_classes)
        if t.shape != y.shape:
            raise ValueError(f"true_labels and noisy_labels must have the same length, got {t.size} and {y.size}")
        self.n_samples = int(t.size)
        self.n_classes = int(n_classes) if n_classes is not None else int(max(t.max(), y.max()) + 1)
        self._true = t
        self._noisy = y
        self.reset()

    # ---- constructors -----------------------------------------------------------------------------------------
    @classmethod
    def symmetric(
        cls, true_labels: Any, noise_rate: float, rng: np.random.Generator, n_classes: Optional[int] = None
    ) -> "NoisyOracle":
        """Exactly ``floor(noise_rate * N)`` labels flipped, each to a uniformly random different class."""
        t = _check_label_array(true_labels, "true_labels", n_classes)
        r, rng = _check_rate(noise_rate), check_rng(rng)
        C = int(n_classes) if n_classes is not None else int(t.max() + 1)
        if C < 2 and r > 0:
            raise ValueError("symmetric noise needs at least 2 classes")
        k = int(np.floor(r * t.size))
        noisy = t.copy()
        idx = rng.choice(t.size, k, replace=False)
        noisy[idx] = (t[idx] + rng.integers(1, C, size=k)) % C
        return cls(t, noisy, C)

    @classmethod
    def asymmetric_cifar10(cls, true_labels: Any, noise_rate: float, rng: np.random.Generator) -> "NoisyOracle":
        """CIFAR-10 class-pair noise on ``floor(noise_rate * N)`` random points (others unchanged)."""
        t = _check_label_array(true_labels, "true_labels", 10)
        r, rng = _check_rate(noise_rate), check_rng(rng)
        k = int(np.floor(r * t.size))
        idx = rng.choice(t.size, k, replace=False)
        noisy = t.copy()
        for src, dst in CIFAR10_ASYM_MAP.items():
            sel = idx[t[idx] == src]
            noisy[sel] = dst
        return cls(t, noisy, 10)

    @classmethod
    def from_confusion(
        cls, true_labels: Any, noise_rate: float, confusion: Any, rng: np.random.Generator
    ) -> "NoisyOracle":
        """Class-dependent noise from a confusion matrix ``T`` (rows = true class; counts or probabilities).

        ``n = floor(noise_rate * N)`` flips are shared among classes in proportion to ``1 - acc_c`` with
        ``acc_c = T_cc / sum_j T_cj`` (for the original's count matrices with ``C`` test images per class this
        is ``1 - T_cc / C``); rounding down per class, the last class absorbs the remainder (capped at class
        sizes). Flipped points of class ``c`` draw their new label from row ``T_c`` with the diagonal zeroed and
        renormalised (uniform over the other classes if that row is empty).
        """
        t = _check_label_array(true_labels, "true_labels")
        r, rng = _check_rate(noise_rate), check_rng(rng)
        T = np.asarray(confusion, dtype=np.float64)
        if T.ndim != 2 or T.shape[0] != T.shape[1] or not np.isfinite(T).all() or (T < 0).any():
            raise ValueError(f"confusion must be a square non-negative matrix, got shape {T.shape}")
        C = T.shape[0]
        if t.max() >= C:
            raise ValueError(f"true_labels hold class {t.max()} but the confusion matrix has {C} classes")
        row = T.sum(1)
        acc = np.divide(np.diag(T), row, out=np.ones(C), where=row > 0)
        w = np.clip(1.0 - acc, 0.0, None)
        if w.sum() == 0:
            w = np.ones(C)
        w = w / w.sum()
        n = int(np.floor(r * t.size))
        sizes = np.bincount(t, minlength=C)
        per = np.minimum(np.floor(n * w).astype(int), sizes)
        per[-1] = min(sizes[-1], max(0, n - per[:-1].sum()))
        noisy = t.copy()
        for c in range(C):
            if per[c] == 0:
                continue
            members = np.flatnonzero(t == c)
            chosen = rng.choice(members, per[c], replace=False)
            p = T[c].copy()
            p[c] = 0.0
            p = p / p.sum() if p.sum() > 0 else np.where(np.arange(C) == c, 0.0, 1.0 / (C - 1))
            noisy[chosen] = rng.choice(C, per[c], p=p)
        return cls(t, noisy, C)

    @classmethod
    def asymmetric_cifar100(
        cls, true_labels: Any, noise_rate: float, confusion: Any, rng: np.random.Generator
    ) -> "NoisyOracle":
        """CIFAR-100 asymmetric noise of the NAS code (spec 4.3): :meth:`from_confusion` with a 100 x 100 matrix.

        The reference code reads ``confusion_matrix_cifar100_epochs_10.npy`` (a classifier's test-set confusion
        counts, not published); pass any such matrix (rows = true class), e.g. from :func:`load_confusion_matrix`.
        """
        T = np.asarray(confusion, dtype=np.float64)
        if T.shape != (100, 100):
            raise ValueError(f"CIFAR-100 asymmetric noise needs a 100 x 100 confusion matrix, got shape {T.shape}")
        return cls.from_confusion(true_labels, noise_rate, T, rng)

    @classmethod
    def from_noisy_labels(
        cls, true_labels: Any, noisy_labels: Any, n_classes: Optional[int] = None
    ) -> "NoisyOracle":
        """Real annotator labels (e.g. CIFAR-100N's ``noisy_label``), aligned with ``true_labels``."""
        return cls(true_labels, noisy_labels, n_classes)

    # ---- querying ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every revealed label (start of a new AL run)."""
        self._revealed = np.zeros(self.n_samples, dtype=bool)
        self._order: List[int] = []
        self.query_log: List[np.ndarray] = []

    def query(self, indices: Any) -> np.ndarray:
        """Reveal and return the annotator's labels of ``indices`` (1-D ints)."""
        idx = np.asarray(indices)
        if idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= self.n_samples:
            raise ValueError(f"indices must lie in [0, {self.n_samples}), got [{idx.min()}, {idx.max()}]")
        idx = idx.astype(np.int64)
        self.query_log.append(idx.copy())
        for i in idx[~self._revealed[idx]].tolist():
            if not self._revealed[i]:
                self._revealed[i] = True
                self._order.append(i)
        return self._noisy[idx].copy()

    @property
    def revealed_idx(self) -> np.ndarray:
        """Indices revealed so far, in reveal order."""
        return np.asarray(self._order, dtype=np.int64)

    @property
    def revealed_labels(self) -> np.ndarray:
        """Labels of :attr:`revealed_idx` (same order)."""
        return self._noisy[self.revealed_idx].copy()

    @property
    def n_queries(self) -> int:
        return len(self._order)

    def ground_truth(self) -> np.ndarray:
        """The true labels of every pool point. For metrics and the ``ideal`` filter only."""
        return self._true.copy()

    def noise_rate(self) -> float:
        """Realised noise rate of the whole pool (uses the ground truth; for reporting)."""
        return float(np.mean(self._true != self._noisy))

    def __repr__(self) -> str:
        return f"NoisyOracle(n_samples={self.n_samples}, n_classes={self.n_classes}, n_queries={self.n_queries})"


def load_confusion_matrix(path: Any, n_classes: Optional[int] = None) -> np.ndarray:
    """Read a ``(C, C)`` confusion matrix (rows = true class; counts or probabilities) from an ``.npy`` file."""
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"confusion matrix {file} does not exist (absolute path {file.absolute()}); save the (C, C) test-set "
            f"confusion counts of a classifier there (np.save), or set data.noise.confusion to your file"
        )
    matrix = np.load(file, allow_pickle=False)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{file}: a confusion matrix must be square (C, C), got shape {matrix.shape}")
    if n_classes is not None and matrix.shape[0] != n_classes:
        raise ValueError(f"{file}: a {matrix.shape[0]}-class confusion matrix for a {n_classes}-class dataset")
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ValueError(f"{file}: a confusion matrix must hold finite non-negative values")
    return matrix.astype(np.float64)
