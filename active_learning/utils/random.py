"""Seeding helpers: every random choice in the package flows from one explicit ``numpy.random.Generator``."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator, Optional, Union

import numpy as np

SeedLike = Union[int, np.random.Generator, np.random.SeedSequence, None]


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (an int, a SeedSequence or an existing Generator).

    ``None`` is rejected on purpose: unseeded randomness is never allowed in this package.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("a seed is required (int, numpy.random.SeedSequence or numpy.random.Generator)")
    return np.random.default_rng(seed)


def random_tiebreak_argsort(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices that sort ``scores`` ascending, breaking ties uniformly at random (and reproducibly).

    A random permutation followed by a stable sort keeps the order of equal scores random, so a method that
    scores many examples identically (e.g. every unlabeled example at the start) does not favour low indices.
    """
    scores = np.asarray(scores)
    perm = rng.permutation(scores.shape[0])
    return perm[np.argsort(scores[perm], kind="stable")]


_GLOBAL_NUMPY_LOCK = threading.RLock()


@contextlib.contextmanager
def global_numpy_seeded(seed: Optional[int]) -> Iterator[None]:
    """Run a block that uses NumPy's legacy global generator (``np.random.*``) reproducibly and thread-safely.

    Some library code draws from the global generator (cleanlab breaks majority-vote ties with
    ``np.random.choice`` and seeds it in its noise generation). The block runs under a process-wide lock, with
    the global generator seeded with ``seed`` (left as it is when ``None``), and its previous state is restored
    afterwards, so jobs running in threads of one process (the ``threading`` backend, Dask with
    ``processes=False``) neither see each other's draws nor leak state into the rest of the process.
    """
    with _GLOBAL_NUMPY_LOCK:
        state = np.random.get_state()
        if seed is not None:
            np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)
