"""Seeding helpers: every random choice in the package flows from one explicit ``numpy.random.Generator``."""

from __future__ import annotations

from typing import List, Union

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


def spawn_seeds(rng: np.random.Generator, n: int) -> List[int]:
    """Draw ``n`` independent 32-bit integer seeds (for libraries that take ``random_state=int``)."""
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]


def random_tiebreak_argsort(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices that sort ``scores`` ascending, breaking ties uniformly at random (and reproducibly).

    A random permutation followed by a stable sort keeps the order of equal scores random, so a method that
    scores many examples identically (e.g. every unlabeled example at the start) does not favour low indices.
    """
    scores = np.asarray(scores)
    perm = rng.permutation(scores.shape[0])
    return perm[np.argsort(scores[perm], kind="stable")]
