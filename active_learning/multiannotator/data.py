"""The starting point of a multi-annotator benchmark: pool, test set, simulated annotators and initial labels.

:func:`build_tabular_pool` implements the data protocol of the ActiveLab tabular benchmarks (spec: class-wise
subset, train/test split, labeled/unlabeled split, one noise matrix with a given trace shared by ``M`` synthetic
annotators, and the sparsification of the labeled part into the starting label set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.model_selection import train_test_split

import pandas as pd

from ..annotators import noise_matrix_from_trace, simulate_annotators, sparsify
from ..datasets import TabularDataset
from .pool import MultiAnnotatorPool, check_split_settings


def _class_subset(labels: np.ndarray, per_class: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    chosen: List[np.ndarray] = []
    for cls, size in enumerate(per_class):
        members = np.flatnonzero(labels == cls)
        if size > members.size:
            raise ValueError(f"subset_per_class asks for {size} examples of class {cls}, the dataset has {members.size}")
        chosen.append(rng.choice(members, size=size, replace=False))
    return np.concatenate(chosen)


#: How a tabular pool is drawn: ``generator`` (this module, an explicit ``numpy.random.Generator``) or
#: ``reference`` (the original notebooks' steps on NumPy's global generator, :mod:`.reference_data`).
DRAWS = ("generator", "reference")


def build_tabular_pool(
    dataset: TabularDataset,
    *,
    seed: int,
    draw: str = "generator",
    subset_seed: Optional[int] = None,
    single_arm_labels: bool = False,
    subset_per_class: Optional[Sequence[int]] = None,
    test_fraction: float = 1 / 3,
    unlabeled_fraction: float = 0.75,
    n_annotators: int = 30,
    trace_fraction: float = 0.85,
    max_initial_per_example: Optional[int] = 5,
    drop_prob: float = 0.97,
) -> MultiAnnotatorPool:
    """Build the ActiveLab tabular starting point from a dataset.

    Parameters
    ----------
    dataset : TabularDataset
    seed : int
        Data seed: fixes the subset, the splits, the noise matrix, the annotators and the sparsification (the
        reference protocol keeps the data fixed across repeated runs; run seeds vary only the loop).
    subset_per_class : sequence of int, optional
        Examples drawn per class before splitting (Wall Robot: 1100/900/300/700). ``None`` keeps all rows.
    test_fraction : float, default=1/3
        Share of the subset held out as test set.
    unlabeled_fraction : float, default=0.75
        Share of the pool that starts without annotations (0 = every pool example starts labeled).
    n_annotators : int, default=30
    trace_fraction : float, default=0.85
        Noise-matrix trace divided by the number of classes (mean per-class annotator accuracy).
    max_initial_per_example : int or None, default=5
        First sparsification pass (``None`` skips it).
    drop_prob : float, default=0.97
        Drop probability of the "least annotations" pass.
    draw : {"generator", "reference"}, default="generator"
        ``"generator"``: the protocol drawn from ``numpy.random.default_rng(seed)`` (fresh draws for variance
        studies). ``"reference"``: the exact data of the original benchmark runs, rebuilt by
        :func:`~active_learning.multiannotator.reference_data.build_reference_pool` (the paper-reproduction
        configs use it).
    subset_seed, single_arm_labels
        Options of the ``"reference"`` draw only (see :func:`build_reference_pool`).
    """
    if draw not in DRAWS:
        raise ValueError(f"data.draw must be one of {list(DRAWS)}, got {draw!r}")
    settings: Dict[str, Any] = dict(
        subset_per_class=subset_per_class, test_fraction=test_fraction, unlabeled_fraction=unlabeled_fraction,
        n_annotators=n_annotators, trace_fraction=trace_fraction, max_initial_per_example=max_initial_per_example,
        drop_prob=drop_prob,
    )
    if draw == "reference":
        from .reference_data import build_reference_pool

        return build_reference_pool(
            dataset, seed=seed, subset_seed=subset_seed, single_arm_labels=single_arm_labels, **settings
        )
    if subset_seed is not None or single_arm_labels:
        raise ValueError("data.subset_seed and data.single_arm_labels apply to data.draw=reference only")
    check_split_settings(dataset.n_classes, subset_per_class, test_fraction, unlabeled_fraction)
    rng = np.random.default_rng(seed)
    n_classes = dataset.n_classes
    rows = (
        _class_subset(dataset.labels, subset_per_class, rng)
        if subset_per_class is not None
        else np.arange(len(dataset))
    )
    pool_rows, test_rows = train_test_split(rows, test_size=test_fraction, random_state=int(rng.integers(2**31 - 1)))
    y_pool = dataset.labels[pool_rows]
    py = np.bincount(y_pool, minlength=n_classes) / y_pool.size
    noise_matrix = noise_matrix_from_trace(n_classes, trace_fraction * n_classes, py, seed=seed)
    annotator_labels = simulate_annotators(y_pool, noise_matrix, n_annotators, rng)

    n_pool = pool_rows.size
    if unlabeled_fraction > 0:
        labeled, _ = train_test_split(
            np.arange(n_pool), test_size=unlabeled_fraction, random_state=int(rng.integers(2**31 - 1))
        )
    else:
        labeled = np.arange(n_pool)
    full = np.zeros((n_pool, n_annotators), dtype=bool)
    full[labeled] = True
    initial_mask = np.zeros_like(full)
    initial_mask[labeled] = sparsify(full[labeled], rng, max_per_example=max_initial_per_example, drop_prob=drop_prob)

    return MultiAnnotatorPool.dense(
        X_pool=dataset.features[pool_rows],
        y_pool=y_pool,
        X_test=dataset.features[test_rows],
        y_test=dataset.labels[test_rows],
        annotator_labels=annotator_labels,
        initial_mask=initial_mask,
        n_classes=n_classes,
        info={
            "dataset": dataset.name,
            "dataset_source": dataset.source,
            "draw": "generator",
            "data_seed": seed,
            "noise_matrix": noise_matrix,
            "pool_rows": pool_rows,
            "test_rows": test_rows,
        },
    )


# ----------------------------------------------------------------------------------------------------------------
# Your own labels: class names, annotator ids and example ids, mapped to the integers the library computes with


class ClassesInferredWarning(UserWarning):
    """The class set was inferred from the labels found, not declared (``n_classes`` / ``classes``): a mistyped
    label would have added a class. The message names the classes found."""


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (``np.int64(3)`` -> ``3``, ``np.str_("cat")`` -> ``"cat"``)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_missing(values: Any) -> np.ndarray:
    return np.asarray(pd.isna(np.asarray(values, dtype=object).reshape(-1)), dtype=bool)


def integer_valued(values: Any) -> bool:
    """Whether ``values`` (no missing entries) are integers: an integer dtype, whole floats, or Python ints."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return True
    if array.dtype.kind == "f":
        return bool(np.all(np.isfinite(array)) and np.all(array == np.round(array)))
    if array.dtype.kind == "O":
        return all(_is_int(v) or (isinstance(v, (float, np.floating)) and float(v).is_integer()) for v in array)
    return False


def sorted_unique(values: Any) -> List[Any]:
    """The distinct values of ``values`` in sorted order (values of mixed types: grouped by type name, then sorted
    by their text), as plain Python values."""
    uniques = [_plain(v) for v in pd.unique(pd.Series(np.asarray(values, dtype=object)))]
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=lambda v: (type(v).__name__, str(v)))


def _positions(known: Sequence[Any], values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in ``known`` (distinct), ``-1`` where absent. An exact match first, then the
    text of the value (so ``"3"`` typed on a command line finds the class ``3`` read from a CSV, and ``1.0`` finds
    ``1``)."""
    index = pd.Index(list(known), dtype=object)
    found = index.get_indexer(pd.Index(list(values), dtype=object))
    missing = found < 0
    if missing.any():
        def text(v: Any) -> str:
            v = _plain(v)
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

        by_text = pd.Index([text(k) for k in known], dtype=object)
        if by_text.is_unique:
            found[missing] = by_text.get_indexer(pd.Index([text(v) for v in values[missing]], dtype=object))
    return found


def _show_list(values: Sequence[Any], limit: int = 20) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def _label_array(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if array.ndim != 1:
        array = array.reshape(-1)
    missing = _is_missing(array)
    if missing.any():
        raise ValueError(f"{what}: {int(missing.sum())} label(s) are missing; drop those rows or fill them in")
    return array


@dataclass(frozen=True)
class ClassMap:
    """The classes of a label set: class ``k`` of the computations is ``classes[k]``.

    Attributes
    ----------
    classes : tuple
        The class names in code order (``(0, 1, ..., K-1)`` for plain integer labels).
    named : bool
        True when the labels are names (``classes`` given, or labels that are not integers, such as ``"cat"``):
        they are encoded by their position in :attr:`classes` and results report the names. False: the labels are
        the integer codes ``0..K-1`` themselves.
    inferred : bool
        The class set was inferred from the labels found (neither ``n_classes`` nor ``classes`` given).
    found : tuple
        The distinct labels seen when inferring (sorted), for the warning.
    """

    classes: Tuple[Any, ...]
    named: bool
    inferred: bool
    found: Tuple[Any, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def encode(self, values: Any, what: str) -> np.ndarray:
        """The integer codes of ``values`` (class names, or integer labels), int64; a one-line ``ValueError`` that
        names the first label outside the classes."""
        array = _label_array(values, what)
        K = self.n_classes
        if self.named:
            codes = _positions(self.classes, array)
            bad = codes < 0
            if bad.any():
                raise ValueError(
                    f"{what}: {int(bad.sum())} label(s) are not one of the {K} classes {_show_list(self.classes)}, "
                    f"e.g. {_plain(array[bad][0])!r}; fix the label or declare it in classes"
                )
            return codes.astype(np.int64)
        if not integer_valued(array):
            raise ValueError(f"{what}: labels must be integers 0..{K - 1} or class names, got e.g. "
                             f"{_plain(array[0])!r} (dtype {array.dtype}); declare the class names with classes")
        codes = array.astype(np.int64)
        bad = (codes < 0) | (codes >= K)
        if bad.any():
            raise ValueError(
                f"{what}: {int(bad.sum())} row(s) have label outside 0..{K - 1} (e.g. {int(codes[bad][0])}) with "
                f"n_classes={K}; fix the label or declare the classes (n_classes / classes)"
            )
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The names of integer codes (the codes themselves for plain integer labels)."""
        codes = np.asarray(codes, dtype=np.int64)
        if not self.named:
            return codes
        return np.asarray(pd.Series(list(self.classes)).to_numpy()[codes])

    def inferred_message(self, what: str, declare: str) -> str:
        """The one-line warning for an inferred class set; ``declare`` names the settings that declare it."""
        return (f"{what}: the classes were not declared; inferred n_classes={self.n_classes} from the labels found "
                f"{_show_list(self.found)}; declare them with {declare} (a mistyped label would add a class)")


def class_map(*label_sets: Any, classes: Optional[Any] = None, n_classes: Optional[int] = None,
              what: str = "labels") -> ClassMap:
    """The classes of one or more label sets (e.g. the annotations and the true labels).

    Parameters
    ----------
    *label_sets : array-like
        Labels: integers ``0..K-1`` or class names (strings or any hashable values).
    classes : sequence, optional
        The class names, in code order (class ``k`` is ``classes[k]``); every label must be one of them.
    n_classes : int, optional
        The number of classes. Integer labels: codes ``0..n_classes-1``. Named labels without ``classes``: the
        number of distinct names must equal it.
    what : str
        Names the input in error messages.

    Returns
    -------
    ClassMap
        Without ``classes`` and ``n_classes`` the class set is inferred (``inferred=True``): integer labels give
        ``0..max``, names give their sorted distinct values (the caller warns with
        :meth:`ClassMap.inferred_message`).
    """
    if n_classes is not None and (not _is_int(n_classes) or n_classes < 2):
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if classes is not None:
        if isinstance(classes, (str, bytes)) or not hasattr(classes, "__len__"):
            raise ValueError(f"classes must be a list of class names, got {classes!r}")
        names = [_plain(c) for c in classes]
        if len(names) < 2:
            raise ValueError(f"classes must name at least 2 classes, got {names!r}")
        try:
            distinct = pd.Index(names, dtype=object).is_unique
        except TypeError:
            raise ValueError(f"classes must be hashable names (strings or numbers), got {names!r}") from None
        if not distinct:
            twice = pd.Index(names, dtype=object)
            raise ValueError(f"classes names {twice[twice.duplicated()][0]!r} twice; list each class once")
        if n_classes is not None and n_classes != len(names):
            raise ValueError(f"n_classes={n_classes} but classes lists {len(names)} names; give one of them, or make them agree")
        return ClassMap(tuple(names), named=True, inferred=False)
    arrays = [_label_array(values, what) for values in label_sets]
    pooled = np.concatenate([a.astype(object) for a in arrays]) if arrays else np.zeros(0, dtype=object)
    if pooled.size == 0:
        raise ValueError(f"{what}: no labels")
    if all(integer_valued(a) for a in arrays):
        found = sorted_unique(pooled.astype(np.int64))
        K = int(n_classes) if n_classes is not None else int(max(found)) + 1
        if K < 2:
            raise ValueError(f"{what}: need at least 2 classes, the labels found are {found}; declare n_classes")
        return ClassMap(tuple(range(K)), named=False, inferred=n_classes is None, found=tuple(found))
    try:
        found = sorted_unique(pooled)
    except TypeError:
        raise ValueError(f"{what}: labels must be integers or hashable class names") from None
    if n_classes is not None and n_classes != len(found):
        raise ValueError(f"{what}: n_classes={n_classes} but the labels hold {len(found)} distinct names "
                         f"{_show_list(found)}; list every class, in order, with classes=[...]")
    if len(found) < 2:
        raise ValueError(f"{what}: need at least 2 classes, the labels found are {found}; list them with classes=[...]")
    return ClassMap(tuple(found), named=True, inferred=n_classes is None, found=tuple(found))


def encode_ids(values: Any, what: str) -> Tuple[np.ndarray, List[Any]]:
    """Integer codes (sorted order) of hashable ids such as annotator names, and the ids in code order."""
    array = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=object).reshape(-1)
    missing = _is_missing(array)
    if missing.any():
        raise ValueError(f"{what}: {int(missing.sum())} missing id(s); drop those rows or give them an id")
    try:
        uniques = sorted_unique(array)
        codes = pd.Index(uniques, dtype=object).get_indexer(pd.Index(list(array), dtype=object))
    except TypeError:
        raise ValueError(f"{what}: ids must be hashable (strings or numbers), got e.g. {array[0]!r}") from None
    return codes.astype(np.int64), uniques


def rows_of_ids(example_ids: Any, ids: Any, what: str, ids_what: str = "ids") -> np.ndarray:
    """Row numbers of ``example_ids`` where ``ids`` gives the id of each row (``ids[r]`` is row ``r``).

    Raises
    ------
    ValueError
        One line: an id listed twice in ``ids``, or an example id that is not in ``ids``.
    """
    known = np.asarray(ids.to_numpy() if isinstance(ids, pd.Series) else ids, dtype=object).reshape(-1)
    if _is_missing(known).any():
        raise ValueError(f"{ids_what}: {int(_is_missing(known).sum())} missing id(s); every row needs an id")
    index = pd.Index([_plain(v) for v in known], dtype=object)
    if not index.is_unique:
        twice = index[index.duplicated()]
        raise ValueError(f"{ids_what}: {len(twice)} id(s) given to more than one row, e.g. {twice[0]!r}; ids must be unique")
    queries = np.asarray(example_ids.to_numpy() if isinstance(example_ids, pd.Series) else example_ids, dtype=object)
    if _is_missing(queries).any():
        raise ValueError(f"{what}: {int(_is_missing(queries).sum())} row(s) without an example id; drop them")
    rows = _positions(list(index), queries)
    bad = rows < 0
    if bad.any():
        raise ValueError(f"{what}: {int(bad.sum())} row(s) name an example id that is not in {ids_what}, e.g. "
                         f"{_plain(queries[bad][0])!r}; fix the id or add it to {ids_what}")
    return rows.astype(np.int64)
