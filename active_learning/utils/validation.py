"""Input checks shared by the library's components (one message style everywhere)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def as_class_ids(labels: Any, name: str = "labels", n_classes: Optional[int] = None) -> np.ndarray:
    """Return ``labels`` as a 1-D int64 array of class ids ``0..n_classes-1``.

    Float arrays holding whole numbers are accepted; NaN, fractional values, negative ids and ids
    ``>= n_classes`` raise ``ValueError`` with a message that says how to fix the input.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class ids, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class ids 0..C-1 (no NaN), got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or (n_classes is not None and arr.max() >= n_classes):
        classes = f"0..{n_classes - 1}" if n_classes is not None else "0..C-1"
        raise ValueError(
            f"{name} out of range: found [{arr.min()}, {arr.max()}] but classes are {classes}; "
            "encode labels as consecutive integers starting at 0"
        )
    return arr
