"""``data.pool: tabular`` — a tabular dataset with simulated annotators (the ActiveLab Wall Robot protocol)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from . import DataAccess, load_dataset, register_pool


def _fraction(low: float, high: float, low_open: bool, high_open: bool) -> Tuple[Callable[[Any], bool], str]:
    from ..config import is_number

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


fraction = _fraction

#: Ranges of the numeric settings (the signature gives names and types).
TABULAR_RANGES: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    "seed": at_least(0),
    "subset_seed": at_least(0),
    "n_annotators": at_least(1),
    "max_initial_per_example": at_least(1),
    "test_fraction": _fraction(0.0, 1.0, True, True),
    "unlabeled_fraction": _fraction(0.0, 1.0, False, True),
    "trace_fraction": _fraction(0.0, 1.0, True, False),
    "drop_prob": _fraction(0.0, 1.0, False, False),
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


@register_pool("tabular", ranges=TABULAR_RANGES,
               description="a tabular dataset with simulated annotators sharing one noise matrix (Wall Robot)")
def tabular_pool(
    dataset: Mapping[str, Any],
    access: DataAccess,
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
) -> Any:
    """The ActiveLab tabular starting point: see
    :func:`~active_learning.multiannotator.data.build_tabular_pool` for every setting."""
    from ..multiannotator.data import build_tabular_pool

    settings: Dict[str, Any] = dict(
        seed=seed, draw=draw, subset_seed=subset_seed, single_arm_labels=single_arm_labels,
        subset_per_class=subset_per_class, test_fraction=test_fraction, unlabeled_fraction=unlabeled_fraction,
        n_annotators=n_annotators, trace_fraction=trace_fraction, max_initial_per_example=max_initial_per_example,
        drop_prob=drop_prob,
    )
    loaded = load_dataset(dataset, access)
    _check_trace(loaded, settings)
    return build_tabular_pool(loaded, **settings)
