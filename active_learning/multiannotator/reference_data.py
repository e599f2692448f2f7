"""The ActiveLab benchmarks' data, rebuilt literally: the original data notebooks' steps, in their order, with the
same pandas / scikit-learn / cleanlab calls and NumPy's legacy global generator.

Why a second builder? :func:`~active_learning.multiannotator.data.build_tabular_pool` draws the same *kind* of
data from an explicit ``numpy.random.Generator`` (useful for fresh-draw variance studies), but not the *same*
data: the stored ActiveLab runs were made on one particular draw (``SEED = 111`` for Wall Robot, spec section 3.8),
whose annotators are 0.8865 accurate, against 0.840 for the generator draw, and whose test set has another class
mix. Every number of the paper depends on that draw, so the reproduction configs use this builder
(``data: {draw: reference}``).

The steps, as the original notebooks run them (spec sections 3.3-3.6 and 3.8):

1. per class ``c``: ``df[df["class"] == c].sample(n_c, random_state=subset_seed)`` on the file order, concatenated,
   index reset;
2. ``train_test_split(X, y, test_size=test_fraction, random_state=seed)`` -> pool / test;
3. ``generate_noise_matrix_from_trace(K, trace_fraction * K, py=<pool class prior>, valid_noise_matrix=True,
   seed=seed)`` (which seeds NumPy's global generator), then ``n_annotators`` calls of cleanlab's
   ``generate_noisy_labels(y_pool, noise_matrix)`` on the global generator it leaves seeded;
4. (single-vs-multi notebook only) the single arm's labels: the noise matrix again (re-seeding) and one more
   ``generate_noisy_labels`` call; this sets the generator state that the sparsification starts from;
5. ``train_test_split(X_pool, y_pool, labels, test_size=unlabeled_fraction, random_state=seed)`` (skipped when
   every pool example starts labeled);
6. the sparsification of the labeled block, on the same global generator: at most ``max_initial_per_example``
   entries per row, drawn without replacement from the *flat list of all column indices* of the full mask (so
   repeated indices leave fewer), then the "least annotations" pass (drop probability ``drop_prob``).

The whole build runs inside :func:`~active_learning.utils.random.global_numpy_seeded`, a process-wide lock that
restores the global state afterwards, so jobs running in parallel threads stay reproducible.

References
----------
.. [1] Goh, Mueller (2023). "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators." arXiv 2301.11856.
   Data notebooks: ``cleanlab/multiannotator-benchmarks``, ``active_learning_benchmarks/*/0_create_data.ipynb``
   (Apache-2.0).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..datasets import TabularDataset
from ..utils.random import global_numpy_seeded
from .pool import MultiAnnotatorPool, check_split_settings


def _class_subset_frame(dataset: TabularDataset, per_class: Optional[Sequence[int]], subset_seed: int) -> pd.DataFrame:
    frame = pd.DataFrame(dataset.features, columns=[f"V{i + 1}" for i in range(dataset.features.shape[1])])
    frame["class"] = dataset.labels
    frame["row"] = np.arange(len(frame))  # provenance only, never a feature
    if per_class is None:
        return frame
    parts = []
    for cls, size in enumerate(per_class):
        members = frame[frame["class"] == cls]
        if size > len(members):
            raise ValueError(f"subset_per_class asks for {size} examples of class {cls}, the dataset has {len(members)}")
        parts.append(members.sample(n=int(size), random_state=subset_seed))
    return pd.concat(parts).reset_index(drop=True)


def _noisy_annotators(y_pool: np.ndarray, n_classes: int, trace_fraction: float, seed: int, n_annotators: int) -> Tuple[np.ndarray, np.ndarray]:
    from cleanlab.benchmarking.noise_generation import generate_noise_matrix_from_trace, generate_noisy_labels

    py = np.bincount(y_pool, minlength=n_classes) / float(len(y_pool))
    noise_matrix = generate_noise_matrix_from_trace(
        n_classes, trace=trace_fraction * n_classes, py=py, valid_noise_matrix=True, seed=seed
    )
    if noise_matrix is None:  # pragma: no cover - cleanlab gives up when the constraints cannot be met
        raise RuntimeError(f"cleanlab could not generate a valid noise matrix with trace {trace_fraction * n_classes}")
    labels = np.vstack([generate_noisy_labels(y_pool, noise_matrix) for _ in range(n_annotators)]).T
    return np.asarray(noise_matrix, dtype=float), np.asarray(labels, dtype=np.int64)


def _keep_from_flat_column_list(n_rows: int, n_columns: int, max_per_example: int) -> np.ndarray:
    """First sparsification pass: per row, ``max_per_example`` draws without replacement from the flat list of
    column indices of the full mask (``n_rows`` copies of each column index)."""
    flat_columns = np.tile(np.arange(n_columns), n_rows)
    keep = np.zeros((n_rows, n_columns), dtype=bool)
    for row in range(n_rows):
        keep[row, np.random.choice(flat_columns, max_per_example, replace=False)] = True
    return keep


def _least_annotations(mask: np.ndarray, drop_prob: float) -> np.ndarray:
    """Second pass: for each row with >= 2 labels, all annotators but one random one are drop candidates; each is
    dropped with probability ``drop_prob`` if it keeps another example with more than two labels."""
    mask = mask.copy()
    per_example = mask.sum(axis=1)
    for row in range(mask.shape[0]):
        if per_example[row] < 2:
            continue
        annotators = np.flatnonzero(mask[row])
        for annotator in np.random.choice(annotators, annotators.size - 1, replace=False):
            if np.random.uniform() > 1.0 - drop_prob:
                others = np.setdiff1d(np.flatnonzero(mask[:, annotator]), np.array([row]))
                if others.size and per_example[others].max() > 2:
                    mask[row, annotator] = False
                    per_example[row] -= 1
    return mask


def build_reference_pool(
    dataset: TabularDataset,
    *,
    seed: int,
    subset_seed: Optional[int] = None,
    subset_per_class: Optional[Sequence[int]] = None,
    test_fraction: float = 1 / 3,
    unlabeled_fraction: float = 0.75,
    n_annotators: int = 30,
    trace_fraction: float = 0.85,
    max_initial_per_example: Optional[int] = 5,
    drop_prob: float = 0.97,
    single_arm_labels: bool = False,
) -> "MultiAnnotatorPool":
    """Rebuild an ActiveLab tabular benchmark's data exactly as its notebook did (see the module docstring).

    Parameters
    ----------
    dataset : TabularDataset
        Rows in the official file order (Wall Robot: UCI ``sensor_readings_4.data`` = OpenML 1526).
    seed : int
        The notebook's ``SEED`` (Wall Robot and Complete: 111; single annotator: 0; single vs multi: 1234).
    subset_seed : int, optional
        Seed of the class-wise ``DataFrame.sample`` (default ``seed``). The extra benchmarks read the subset that the
        Wall Robot notebook wrote, hence 111 there.
    subset_per_class, test_fraction, unlabeled_fraction, n_annotators, trace_fraction, max_initial_per_example, drop_prob
        As in :func:`~active_learning.multiannotator.data.build_tabular_pool`.
    single_arm_labels : bool, default=False
        Replay the single-vs-multi notebook's extra step 4 (single-arm labels drawn before the split).

    Returns
    -------
    MultiAnnotatorPool
        Pool rows ordered labeled block first (in the notebook's labeled-row order), then the unlabeled block, so
        ``initial_mask.sum(axis=1)[:n_labeled]`` is the notebook's per-example annotation count.
    """
    n_classes = dataset.n_classes
    check_split_settings(n_classes, subset_per_class, test_fraction, unlabeled_fraction)
    frame = _class_subset_frame(dataset, subset_per_class, seed if subset_seed is None else subset_seed)
    X = frame.drop(columns=["class", "row"]).to_numpy(dtype=np.float64)
    y = frame["class"].to_numpy(dtype=np.int64)
    rows = frame["row"].to_numpy()
    with global_numpy_seeded(None):
        X_pool, X_test, y_pool, y_test, rows_pool, rows_test = train_test_split(
            X, y, rows, test_size=test_fraction, random_state=seed
        )
        noise_matrix, labels = _noisy_annotators(y_pool, n_classes, trace_fraction, seed, n_annotators)
        if single_arm_labels:
            _noisy_annotators(y_pool, n_classes, trace_fraction, seed, 1)
        if unlabeled_fraction > 0:
            X_lab, X_unl, y_lab, y_unl, L_lab, L_unl, r_lab, r_unl = train_test_split(
                X_pool, y_pool, labels, rows_pool, test_size=unlabeled_fraction, random_state=seed
            )
        else:
            X_lab, y_lab, L_lab, r_lab = X_pool, y_pool, labels, rows_pool
            X_unl, y_unl, L_unl, r_unl = X_pool[:0], y_pool[:0], labels[:0], rows_pool[:0]
        keep = np.ones(L_lab.shape, dtype=bool)
        if max_initial_per_example is not None:
            keep = _keep_from_flat_column_list(L_lab.shape[0], n_annotators, int(max_initial_per_example))
        keep = _least_annotations(keep, drop_prob)

    n_labeled = y_lab.size
    initial_mask = np.zeros((n_labeled + y_unl.size, n_annotators), dtype=bool)
    initial_mask[:n_labeled] = keep
    return MultiAnnotatorPool.dense(
        X_pool=np.concatenate([X_lab, X_unl]),
        y_pool=np.concatenate([y_lab, y_unl]),
        X_test=X_test,
        y_test=y_test,
        annotator_labels=np.concatenate([L_lab, L_unl]),
        initial_mask=initial_mask,
        n_classes=n_classes,
        info={
            "dataset": dataset.name,
            "dataset_source": dataset.source,
            "draw": "reference",
            "data_seed": seed,
            "subset_seed": seed if subset_seed is None else subset_seed,
            "noise_matrix": noise_matrix,
            "pool_rows": np.concatenate([r_lab, r_unl]),
            "test_rows": rows_test,
        },
    )
