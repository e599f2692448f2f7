"""``data.pool: label_file`` — bring your own labels: a long label file and a features ``.npy``, no Python.

A benchmark YAML such as::

    name: my_labels
    task: multiannotator
    data:
      pool: label_file
      labels: data/labels.csv          # columns example, annotator, label (CSV or Parquet)
      features: data/features.npy      # float (n_examples, d); row i = example i
      true_labels: data/truth.npy      # int (n_examples,): for evaluation only, never shown to a method
      test_fraction: 0.3               # or test_features / test_labels
      n_initial: 200                   # examples with labels at round 0
      classes: [cat, dog, bird]        # or n_classes: 3; labels may be class names or 0..K-1
      # ids: data/ids.csv              # optional: the id of each features row, when example is not a row number
    loop: {rounds: 10, batch_size: 50, annotator_columns: true_identity}
    models: {logistic_regression: {methods: [random, entropy, activelab]}}

simulates active learning on real labels: the loop starts from ``initial_labels_per_example`` of each of
``n_initial`` random examples' labels, and every new label is one of the example's labels not yet revealed (so an
example whose annotators are used up cannot be chosen again). Paths are relative to the working directory.
Declare the classes (``classes`` or ``n_classes``): inferred from the labels found, they come with a warning that
names them, because a mistyped label would add a class.
For real use, where the next labels do not exist yet, see
:func:`active_learning.multiannotator.suggest_next_batch`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from ._base import DataAccess, register_pool
from .tabular import at_least, fraction


def read_label_file(path: "str | Path") -> pd.DataFrame:
    """Read a long label file (``.csv``, ``.parquet``/``.pq``) with columns ``example, annotator, label``.

    Annotator ids may be strings; they are encoded as integers in sorted order (the original ids are kept in
    ``annotator_id``). Validation against the features (ids in range, labels in range, duplicates) happens in
    :func:`~active_learning.annotators.sources.check_annotation_table`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label file {path} not found (paths are relative to {Path.cwd()}); check the path (data.labels)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path)
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        raise ValueError(f"label file {path}: unknown format {suffix!r}; use .csv or .parquet")
    missing = [c for c in ("example", "annotator", "label") if c not in frame.columns]
    if missing:
        raise ValueError(f"label file {path}: missing column(s) {missing}; found {list(frame.columns)}; "
                         "a label file needs columns example, annotator, label")
    if len(frame) == 0:
        raise ValueError(f"label file {path} has no rows")
    if frame["annotator"].isna().any():
        raise ValueError(f"label file {path}: {int(frame['annotator'].isna().sum())} row(s) without an annotator; "
                         "drop them or give them an id")
    if not pd.api.types.is_integer_dtype(frame["annotator"]):
        codes, uniques = pd.factorize(frame["annotator"].astype(str), sort=True)
        frame = frame.assign(annotator_id=frame["annotator"], annotator=codes)
    return frame


def read_npy(path: Any, what: str, where: str) -> np.ndarray:
    """A plain ``.npy`` array (no pickles) named by the setting ``where``, with one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found (paths are relative to {Path.cwd()}); check {where}")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{what} file {path} is not a plain .npy array: {exc}") from None


def sparse_pool(
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    table: pd.DataFrame,
    n_classes: int,
    *,
    n_initial: int,
    initial_labels_per_example: int,
    rng: np.random.Generator,
    info: Optional[Dict[str, Any]] = None,
) -> Any:
    """A pool whose labels are a sparse table of real annotations (:class:`SparseAnnotations`).

    ``n_initial`` random examples (among those with at least ``initial_labels_per_example`` labels) start with
    that many of their labels, drawn at random; everything else is revealed one label at a time by the loop.
    """
    from ..annotators.sources import SparseAnnotations, check_annotation_table
    from ..multiannotator.pool import MultiAnnotatorPool

    n_pool = X_pool.shape[0]
    table = check_annotation_table(table, n_pool, n_classes, "labels")
    source = SparseAnnotations(table, n_pool, n_classes)
    eligible = np.flatnonzero(source.available >= initial_labels_per_example)
    if n_initial > eligible.size:
        raise ValueError(
            f"n_initial={n_initial} examples with {initial_labels_per_example} label(s) each are asked for, but only "
            f"{eligible.size} examples have that many labels; lower data.n_initial"
        )
    starters = np.sort(rng.choice(eligible, size=n_initial, replace=False))
    keys = rng.random(len(source.table))
    frame = source.table.assign(key=keys)
    frame = frame[frame["example"].isin(starters)].sort_values(["example", "key"])
    initial = frame.groupby("example", sort=True).head(initial_labels_per_example)[["example", "annotator", "label"]]
    details = dict(info or {})
    details.update({
        "n_pool": int(n_pool), "n_test": int(X_test.shape[0]), "n_initial_examples": int(n_initial),
        "n_initial_annotations": int(len(initial)), "n_annotations_available": int(len(table)),
        "n_annotators": int(source.n_annotators),
    })
    return MultiAnnotatorPool(X_pool=X_pool, y_pool=y_pool, X_test=X_test, y_test=y_test, source=source,
                              initial=initial.reset_index(drop=True), n_classes=n_classes, info=details)


def read_ids(path: Any, n_rows: int, where: str) -> np.ndarray:
    """The id of each feature row from ``path``: a 1-D ``.npy`` array, or a ``.csv`` with a header whose column
    ``id`` (or only column) lists the ids in row order. One-line errors: wrong length, missing or duplicate ids."""
    from ..multiannotator.data import encode_ids

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        ids = read_npy(path, "ids", where)
        if ids.ndim != 1:
            raise ValueError(f"ids file {path}: expected a 1-D array (one id per features row), got shape {ids.shape}")
    elif suffix == ".csv":
        if not path.is_file():
            raise FileNotFoundError(f"ids file {path} not found (paths are relative to {Path.cwd()}); check {where}")
        frame = pd.read_csv(path)
        if "id" not in frame.columns and len(frame.columns) != 1:
            raise ValueError(f"ids file {path}: {len(frame.columns)} columns {list(frame.columns)}; name the id column "
                             "'id' or keep one column")
        ids = frame["id" if "id" in frame.columns else frame.columns[0]].to_numpy()
    else:
        raise ValueError(f"ids file {path}: unknown format {suffix!r}; use .npy or .csv")
    if ids.size != n_rows:
        raise ValueError(f"ids file {path}: {ids.size} ids for {n_rows} features rows; give one id per row, in row order")
    encode_ids(ids, f"ids file {path}")  # missing or unhashable ids
    return ids


def _true_labels(values: np.ndarray, classes: Any, what: str) -> np.ndarray:
    """Ground-truth labels as class codes: names (and integer names) through ``classes``; integer labels of named,
    non-integer classes are the class codes themselves (positions in ``classes``)."""
    names_are_ints = all(isinstance(c, (int, np.integer)) for c in classes.classes)
    if classes.named and not names_are_ints and np.issubdtype(values.dtype, np.integer):
        codes = np.asarray(values, dtype=np.int64)
        bad = (codes < 0) | (codes >= classes.n_classes)
        if bad.any():
            raise ValueError(f"{what}: labels outside 0..{classes.n_classes - 1} (e.g. {int(codes[bad][0])}) with "
                             f"n_classes={classes.n_classes}; integer true labels are class codes, fix them or give names")
        return codes
    return classes.encode(values, what)


@register_pool(
    "label_file", uses_dataset=False,
    ranges={"test_fraction": fraction(0.0, 1.0, True, True), "n_initial": at_least(1),
            "initial_labels_per_example": at_least(1), "split_seed": at_least(0), "initial_seed": at_least(0),
            "n_classes": at_least(2)},
    description="bring your own: a long label file (example, annotator, label; CSV or Parquet) + features .npy",
)
def label_file_pool(
    dataset: Mapping[str, Any],
    access: DataAccess,
    *,
    labels: str,
    features: str,
    true_labels: str,
    n_initial: int,
    test_features: Optional[str] = None,
    test_labels: Optional[str] = None,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    initial_labels_per_example: int = 1,
    initial_seed: int = 0,
    n_classes: Optional[int] = None,
    classes: Optional[Sequence[Union[str, int]]] = None,
    ids: Optional[str] = None,
) -> Any:
    """A pool from your own files (see the module docstring).

    Parameters
    ----------
    labels : path
        Long label file, one row per (example, annotator) label. Labels are integer classes ``0..K-1`` or class
        names (``cat``).
    features : path
        ``.npy`` of shape (n_examples, d); example ``i`` of the label file is row ``i`` (or see ``ids``).
    true_labels : path
        ``.npy`` of shape (n_examples,), the ground truth used to score the run: integer classes, or class names
        (a string array). With named classes, integer true labels are class codes (positions in ``classes``).
    n_initial : int
        Examples labeled at round 0.
    test_features, test_labels : path, optional
        A separate test set; otherwise ``test_fraction`` of the examples (stratified, ``split_seed``) are held out
        and their labels are never used.
    initial_labels_per_example : int, default=1
    initial_seed : int, default=0
        Which examples and labels start revealed.
    n_classes : int, optional
        The number of classes (integer labels ``0..n_classes-1``).
    classes : list, optional
        The class names in order (class ``k`` is ``classes[k]``); a label that is not one of them is an error.
        With neither ``n_classes`` nor ``classes`` the classes are inferred from the labels found (integers:
        ``0..max`` of the label file and the true labels; names: sorted), with a warning naming them.
    ids : path, optional
        The id of each features row (``.npy``, or ``.csv`` with a column ``id``), in row order; the ``example``
        column of the label file then holds these ids instead of row numbers.
    """
    from sklearn.model_selection import train_test_split

    from ..multiannotator.data import ClassesInferredWarning, class_map, integer_valued, rows_of_ids

    frame = read_label_file(labels)
    X = read_npy(features, "features", "data.features")
    y = read_npy(true_labels, "true labels", "data.true_labels")
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"features {features}: expected a numeric (n_examples, d) array, got shape {X.shape}, dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"features {features}: {int((~np.isfinite(X)).any(axis=1).sum())} row(s) hold NaN or inf; fix or drop them")
    if y.shape != (X.shape[0],) or not (np.issubdtype(y.dtype, np.integer) or y.dtype.kind == "U"):
        raise ValueError(f"true labels {true_labels}: expected {X.shape[0]} integer labels or class names (one per "
                         f"features row), got shape {y.shape}, dtype {y.dtype}")
    if ids is not None:
        row_ids = read_ids(ids, X.shape[0], "data.ids")
        frame = frame.assign(example=rows_of_ids(frame["example"], row_ids, f"label file {labels}", f"ids file {ids}"))
    where = f"label file {labels}"
    if frame["label"].isna().any():
        raise ValueError(f"{where}: {int(frame['label'].isna().sum())} label(s) are missing; drop those rows or fill them in")
    integer_labels = integer_valued(frame["label"].to_numpy())
    if classes is None and integer_labels and y.dtype.kind == "U":
        raise ValueError(f"true labels {true_labels}: class names, but the label file holds integer labels; declare "
                         "the classes with data.classes or use integer true labels")
    if classes is not None:
        cmap = class_map(classes=classes, n_classes=n_classes, what=where)
    elif integer_labels or y.dtype.kind == "U":
        cmap = class_map(frame["label"], y, n_classes=n_classes, what=where)
    else:
        cmap = class_map(frame["label"], n_classes=n_classes, what=where)
    K = cmap.n_classes
    y = _true_labels(y, cmap, f"true labels {true_labels}")
    frame = frame.assign(label=cmap.encode(frame["label"], where))
    if test_features is not None or test_labels is not None:
        if test_features is None or test_labels is None:
            raise ValueError("data.test_features and data.test_labels go together; give both or neither")
        X_test = read_npy(test_features, "test features", "data.test_features")
        y_test = read_npy(test_labels, "test labels", "data.test_labels")
        if X_test.ndim != 2 or X_test.shape[1] != X.shape[1] or y_test.shape != (X_test.shape[0],):
            raise ValueError(f"test set: features {X_test.shape} and labels {y_test.shape} do not match the pool's "
                             f"{X.shape[1]} feature columns")
        y_test = _true_labels(y_test, cmap, f"test labels {test_labels}")
        pool_rows = np.arange(X.shape[0])
        test_rows = np.zeros(0, dtype=np.int64)
    else:
        pool_rows, test_rows = train_test_split(np.arange(X.shape[0]), test_size=test_fraction,
                                                random_state=split_seed, stratify=y)
        pool_rows, test_rows = np.sort(pool_rows), np.sort(test_rows)
        X_test, y_test = X[test_rows], y[test_rows]
    from ..annotators.sources import check_annotation_table, restrict_to_rows

    table = check_annotation_table(frame, X.shape[0], K, where)
    table = restrict_to_rows(table, pool_rows, X.shape[0])
    pool = sparse_pool(
        X[pool_rows], y[pool_rows], X_test, np.asarray(y_test, dtype=np.int64), table, K,
        n_initial=n_initial, initial_labels_per_example=initial_labels_per_example,
        rng=np.random.default_rng(initial_seed),
        info={"pool": "label_file", "labels_path": str(labels), "features_path": str(features),
              "pool_rows": pool_rows, "test_rows": test_rows, "classes": list(cmap.classes),
              "classes_inferred": cmap.inferred, **({"ids_path": str(ids)} if ids is not None else {})},
    )
    if cmap.inferred:  # after every check: a bad file gives its one-line error alone
        warnings.warn(cmap.inferred_message(where, "data.n_classes or data.classes"), ClassesInferredWarning, stacklevel=2)
    return pool
