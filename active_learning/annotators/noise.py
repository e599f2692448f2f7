"""Synthetic noisy annotators from a noise matrix (the simulation of the ActiveLab benchmarks).

A noise matrix ``T`` is column-stochastic: ``T[i, j] = P(given label = i | true label = j)``. Its trace sets the
average annotator accuracy (``trace / K`` per class on average).

References
----------
.. [1] Northcutt, Jiang, Chuang (2021). "Confident Learning: Estimating Uncertainty in Dataset Labels." JAIR.
   (cleanlab's ``benchmarking.noise_generation``, the reference for this simulation.)
.. [2] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
"""

from __future__ import annotations

import numpy as np

from ..utils.random import as_generator, global_numpy_seeded


def noise_matrix_from_trace(n_classes: int, trace: float, py: np.ndarray, seed: int) -> np.ndarray:
    """A random valid noise matrix with the given trace, from cleanlab's generator.

    Parameters
    ----------
    n_classes : int
        Number of classes ``K``.
    trace : float
        Sum of the diagonal, in ``(1, K]`` (e.g. ``0.85 * K`` for 85 % mean per-class accuracy).
    py : ndarray of shape (K,)
        Class prior of the true labels (needed for the validity condition).
    seed : int
        Seed of the generator. cleanlab seeds NumPy's global generator; its state is restored afterwards so
        nothing else in the process is affected.

    Returns
    -------
    ndarray of shape (K, K)
        Column-stochastic noise matrix, ``P(label=i | true=j)`` at ``[i, j]``.
    """
    from cleanlab.benchmarking.noise_generation import generate_noise_matrix_from_trace

    py = np.asarray(py, dtype=float)
    if py.shape != (n_classes,) or not np.isclose(py.sum(), 1.0) or (py < 0).any():
        raise ValueError(f"py must be a probability vector of length {n_classes}, got {py}")
    if not 1.0 < trace <= n_classes:
        raise ValueError(f"trace must lie in (1, {n_classes}], got {trace}")
    if np.isclose(trace, n_classes):
        return np.eye(n_classes)
    with global_numpy_seeded(None):  # cleanlab reseeds the global generator; keep that local and thread-safe
        matrix = generate_noise_matrix_from_trace(
            n_classes, trace=float(trace), py=py, valid_noise_matrix=True, seed=int(seed)
        )
    if matrix is None:  # pragma: no cover - cleanlab returns None when it cannot satisfy the constraints
        raise RuntimeError(f"cleanlab could not generate a valid noise matrix with trace {trace} for py={py}")
    return np.asarray(matrix, dtype=float)


def generate_noisy_labels(true_labels: np.ndarray, noise_matrix: np.ndarray, rng: "int | np.random.Generator") -> np.ndarray:
    """One annotator's labels: exactly ``floor(T[i, j] * n_j)`` examples of true class ``j`` get label ``i != j``.

    The flipped examples of each class are chosen uniformly without replacement, as in cleanlab's
    ``generate_noisy_labels``, but from an explicit ``numpy.random.Generator`` instead of the global state.

    Parameters
    ----------
    true_labels : ndarray of shape (n,), int
    noise_matrix : ndarray of shape (K, K)
        Column-stochastic noise matrix.
    rng : int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (n,), int64
    """
    rng = as_generator(rng)
    true_labels = np.asarray(true_labels, dtype=np.int64)
    n_classes = noise_matrix.shape[0]
    if noise_matrix.shape != (n_classes, n_classes):
        raise ValueError(f"noise_matrix must be square, got shape {noise_matrix.shape}")
    if not np.allclose(noise_matrix.sum(axis=0), 1.0):
        raise ValueError("noise_matrix columns must sum to 1 (T[i, j] = P(label=i | true=j))")
    if true_labels.size and (true_labels.min() < 0 or true_labels.max() >= n_classes):
        raise ValueError(f"true labels must lie in 0..{n_classes - 1}")
    noisy = true_labels.copy()
    for j in range(n_classes):
        members = np.flatnonzero(true_labels == j)
        counts = np.floor(noise_matrix[:, j] * members.size).astype(int)
        counts[j] = 0
        order = rng.permutation(members)
        start = 0
        for i in range(n_classes):
            if counts[i]:
                noisy[order[start:start + counts[i]]] = i
                start += counts[i]
    return noisy


def simulate_annotators(
    true_labels: np.ndarray, noise_matrix: np.ndarray, n_annotators: int, rng: "int | np.random.Generator"
) -> np.ndarray:
    """Labels of ``n_annotators`` independent annotators sharing one noise matrix.

    Returns
    -------
    ndarray of shape (n, n_annotators), int64
        Column ``a`` holds annotator ``a``'s label for every example (a complete label table from which the
        benchmarks draw the labels they reveal).
    """
    rng = as_generator(rng)
    if n_annotators < 1:
        raise ValueError(f"n_annotators must be >= 1, got {n_annotators}")
    return np.stack([generate_noisy_labels(true_labels, noise_matrix, rng) for _ in range(n_annotators)], axis=1)
