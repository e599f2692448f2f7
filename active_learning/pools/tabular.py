"""``data.pool: tabular`` — a tabular dataset with simulated annotators (the ActiveLab Wall Robot protocol)."""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Dict, Mapping, Tuple

from ..utils.validation import is_number
from ._base import DataAccess, load_dataset, register_pool


def fraction(low: float, high: float, low_open: bool, high_open: bool) -> Tuple[Callable[[Any], bool], str]:
    """A range check ``low < value < high`` (``<=`` where a bound is closed) with its description."""

    def ok(value: Any) -> bool:
        if not is_number(value):
            return False
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        return bool(above and below)

    return ok, f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def at_least(minimum: int) -> Tuple[Callable[[Any], bool], str]:
    """A range check ``value is None or value >= minimum`` with its description."""
    return (lambda value: value is None or value >= minimum), f"an integer >= {minimum}"




#: Ranges of the numeric settings (the signature gives names and types).
TABULAR_RANGES: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    "seed": at_least(0),
    "subset_seed": at_least(0),
    "n_annotators": at_least(1),
    "max_initial_per_example": at_least(1),
    "test_fraction": fraction(0.0, 1.0, True, True),
    "unlabeled_fraction": fraction(0.0, 1.0, False, True),
    "trace_fraction": fraction(0.0, 1.0, True, False),
    "drop_prob": fraction(0.0, 1.0, False, False),
    "subset_per_class": ((lambda value: value is None or all(v >= 0 for v in value)), "a list of integers >= 0"),
}


def _check_trace(dataset: Any, settings: Mapping[str, Any]) -> None:
    n_classes = getattr(dataset, "n_classes", None)
    trace = settings.get("trace_fraction", 0.85)
    if isinstance(n_classes, int) and n_classes > 1 and trace * n_classes <= 1:
        raise ValueError(
            f"trace_fraction={trace} is too low for the {n_classes} classes of {dataset.name!r}: the noise matrix "
            f"needs a trace above 1, so use a value above {1 / n_classes:.3g}"
        )


def tabular_pool(dataset: Mapping[str, Any], access: DataAccess, **settings: Any) -> Any:
    """The ActiveLab tabular starting point: every ``data:`` setting is a keyword argument of
    :func:`~active_learning.multiannotator.data.build_tabular_pool` (its signature is this builder's)."""
    from ..multiannotator.data import build_tabular_pool

    loaded = load_dataset(dataset, access)
    _check_trace(loaded, settings)
    return build_tabular_pool(loaded, **settings)


def _adopt_signature(builder: Any) -> None:
    """Give the pool builder the settings (names, defaults, types) of ``build_tabular_pool``, which config
    validation reads, without writing them out twice."""
    from ..multiannotator.data import build_tabular_pool

    own = list(inspect.signature(builder).parameters.values())[:2]
    settings = [p for p in inspect.signature(build_tabular_pool).parameters.values() if p.kind == p.KEYWORD_ONLY]
    builder.__signature__ = inspect.Signature(own + settings)
    builder.__annotations__ = {k: v for k, v in typing.get_type_hints(build_tabular_pool).items() if k != "dataset"}


_adopt_signature(tabular_pool)
register_pool("tabular", ranges=TABULAR_RANGES,
              description="a tabular dataset with simulated annotators sharing one noise matrix (Wall Robot)")(tabular_pool)
