"""Input checks shared by the library's components (one message style everywhere).

Two kinds live here, both generic (they know nothing about a particular strategy, task or benchmark):

* **array and argument checks** of the Python API (``ValueError``): :func:`as_class_ids`, :func:`check_features`,
  :func:`check_labeled_idx`, :func:`check_budget`, :func:`check_rng`, :func:`check_labels`,
  :func:`check_choice`, :func:`check_positive`;
* **config checks** (:class:`ConfigError`, a ``ValueError`` whose message starts with the config key path ``where``):
  :func:`check_mapping`, :func:`check_keys`, :func:`check_int`, :func:`check_name_list`, :func:`lookup`,
  :func:`matches_type`, :func:`check_typed_settings`, :func:`accepted_parameters`, :func:`reject_unknown_params`,
  :func:`build_checked`. The benchmark-config schema itself lives in :mod:`active_learning.config`.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import typing
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .._registry import Registry, UnknownNameError

# --------------------------------------------------------------------------------------------------------------
# arrays and arguments of the Python API (ValueError)
# --------------------------------------------------------------------------------------------------------------


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


def check_features(features: Any, name: str = "features") -> np.ndarray:
    """Return ``features`` as a finite float32 array of shape (n_samples, n_features), or raise ValueError."""
    arr = np.asarray(features)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got shape {arr.shape}; "
            "reshape a single feature vector with features.reshape(1, -1)"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one sample with one feature")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or inf in {bad} rows; impute or drop those rows first")
    return arr


def check_labeled_idx(labeled_idx: Any, n_samples: int) -> np.ndarray:
    """Return ``labeled_idx`` as a 1-D int64 array of distinct indices in ``[0, n_samples)``, or raise."""
    idx = np.asarray([] if labeled_idx is None else labeled_idx)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.ndim != 1:
        raise ValueError(f"labeled_idx must be a 1-D array of indices, got shape {idx.shape}")
    if idx.dtype == bool:
        raise ValueError("labeled_idx must hold integer indices, not a boolean mask; use np.flatnonzero(mask)")
    if not np.issubdtype(idx.dtype, np.integer):
        if np.issubdtype(idx.dtype, np.floating) and np.all(np.isfinite(idx)) and np.all(idx == np.round(idx)):
            idx = idx.astype(np.int64)
        else:
            raise ValueError(f"labeled_idx must hold integer indices, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    if idx.min() < 0 or idx.max() >= n_samples:
        raise ValueError(
            f"labeled_idx holds indices outside [0, {n_samples}) (min {idx.min()}, max {idx.max()}); "
            "indices must refer to rows of features"
        )
    if np.unique(idx).size != idx.size:
        raise ValueError("labeled_idx holds duplicate indices; each labeled point must appear once")
    return idx


def check_budget(budget: Any, n_unlabeled: int) -> int:
    """Return ``budget`` as an int in ``[0, n_unlabeled]``, or raise ValueError."""
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, np.integer)):
        raise ValueError(f"budget must be a non-negative integer, got {budget!r}")
    budget = int(budget)
    if budget < 0:
        raise ValueError(f"budget must be non-negative, got {budget}")
    if budget > n_unlabeled:
        raise ValueError(
            f"budget {budget} is larger than the unlabeled pool ({n_unlabeled} points); lower the budget"
        )
    return budget


def check_rng(rng: Any) -> np.random.Generator:
    """Require an explicit ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def check_labels(labels: Any, n: int, n_classes: Optional[int] = None, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as int64 of length ``n`` (labels of ``labeled_idx``), checking the class range."""
    if labels is None:
        raise ValueError(f"{name} is required: pass the revealed labels of labeled_idx (same order)")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with one label per labeled index ({n}), got shape {lab.shape}")
    return as_class_ids(lab, name, n_classes)


def check_choice(value: Any, choices: Tuple[str, ...], name: str) -> str:
    """Return ``value`` when it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    """Require an explicit positive finite number (used for δ, σ, ...)."""
    if value is None:
        raise ValueError(f"{name} must be given explicitly (there is no default); see the strategy docstring")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


# --------------------------------------------------------------------------------------------------------------
# config values (ConfigError; one message style: "<where>: <what>; <what to do>")
# --------------------------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A benchmark configuration is invalid; the message says which key and what is allowed."""


class UnknownConfigNameError(ConfigError, UnknownNameError):
    """A config names an unregistered method, model, dataset, ... (also a ``KeyError``, like the registries')."""


def show_value(value: Any) -> str:
    """``repr(value)`` (cut to 80 characters) and its type, for error messages."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def is_int(value: Any) -> bool:
    """A whole number that is not a bool (Python or NumPy integer)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def check_mapping(where: str, value: Any, *, optional: bool = True) -> Mapping[str, Any]:
    """``value`` as a mapping (``None`` -> ``{}`` when ``optional``), else :class:`ConfigError`."""
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where} must be a mapping of keys to values, got {show_value(value)}; write it as {{key: value}}"
        )
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise ConfigError(f"{where}: keys must be names (strings), got {bad!r}; quote or rename them")
    return value


def check_keys(where: str, mapping: Any, allowed: "set | Sequence[str]", what: str = "key") -> None:
    """Raise :class:`ConfigError` for keys of ``mapping`` not in ``allowed`` (the message lists the valid ones)."""
    check_mapping(where, mapping, optional=False)
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            if close:
                hints.append(f"{key!r} -> {close[0]!r}?")
        hint = f" (did you mean {', '.join(hints)})" if hints else ""
        raise ConfigError(
            f"{where}: unknown {what}(s) {unknown}{hint}; allowed {what}s are {sorted(allowed)}"
        )


def check_int(where: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``value`` as an int within ``[minimum, maximum]``, else :class:`ConfigError`."""
    if not is_int(value):
        raise ConfigError(f"{where} must be an integer, got {show_value(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ConfigError(f"{where} must be an integer {bounds}, got {value}")
    return int(value)


def check_name_list(where: str, value: Any, what: str = "name") -> List[str]:
    """A list of names (strings), e.g. ``ensemble: [mlp, extra_trees]`` or ``--models mlp``."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ConfigError(f"{where} must be a list of {what}s, e.g. [a, b], got {show_value(value)}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise ConfigError(
            f"{where} must be a list of {what}s, got {list(value)!r}; {show_value(bad[0])} is not a name"
        )
    return list(value)


def lookup(where: str, registry: Registry[Any], name: Any) -> Any:
    """``registry.get(name)``, with the config key path in the error (:class:`UnknownConfigNameError`)."""
    if not isinstance(name, str):
        raise ConfigError(f"{where} must be the name of a registered {registry.kind}, got {show_value(name)}")
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise UnknownConfigNameError(f"{where}: {exc}") from None


def type_name(hint: Any) -> str:
    """A type annotation in words, for messages (``Optional[int]`` -> ``"an integer or null"``)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return "anything"
    if origin is typing.Union:
        names = [type_name(a) for a in args if a is not type(None)]
        return (" or ".join(names) + (" or null" if type(None) in args else "")) if names else "null"
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (list, tuple, Sequence, typing.Sequence) or hint in (list, tuple):
        return f"a list of {type_name(args[0])}s" if args else "a list"
    if origin in (dict, Mapping, typing.Mapping) or hint is dict:
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def matches_type(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a type annotation (``int``, ``float``, ``bool``, ``str``, ``Optional``, ``Union``,
    ``Sequence[...]``, ``Mapping``, ``Literal``); unknown annotations accept anything."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if hint is type(None) or hint is None:
        return value is None
    if origin is typing.Union:
        return any(matches_type(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return is_int(value)
    if hint is float:
        return is_number(value)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, Sequence, typing.Sequence) or hint in (list, tuple):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            return False
        return not args or all(matches_type(v, args[0]) for v in value)
    if origin in (dict, Mapping, typing.Mapping) or hint is dict:
        return isinstance(value, Mapping)
    return True


def check_typed_settings(where: str, settings: Mapping[str, Any], hints: Mapping[str, Any], what: str) -> None:
    """Check every value of ``settings`` against the annotation of the same name in ``hints``."""
    for key, value in settings.items():
        hint = hints.get(key, Any)
        if not matches_type(value, hint):
            raise ConfigError(f"{where}.{key} must be {type_name(hint)}, got {show_value(value)}; fix the {what}")


def accepted_parameters(factory: Any) -> Tuple[List[str], bool]:
    """Keyword names ``factory`` (a class or function) accepts, and whether it also takes arbitrary ``**kwargs``
    (names forwarded through ``**params`` to a base class's ``__init__`` are followed along the MRO)."""
    own, own_open = _signature_chain_parameters(factory)
    wrapped = getattr(factory, "base_class", None) if inspect.isclass(factory) else None
    if not inspect.isclass(wrapped):
        return own, own_open
    # a wrapper forwarding **params to the class it wraps (the NAS strategies' ``base_class``): both sets of names
    base, base_open = accepted_parameters(wrapped)
    return own + [n for n in base if n not in own], own_open and base_open


def _signature_chain_parameters(factory: Any) -> Tuple[List[str], bool]:
    """:func:`accepted_parameters` of ``factory`` itself: its signature, then its bases' ``__init__`` while each
    forwards ``**kwargs``."""
    targets: List[Any] = [factory]
    if inspect.isclass(factory):
        targets = [klass.__dict__["__init__"] for klass in factory.__mro__ if "__init__" in klass.__dict__]
        targets = [t for t in targets if t is not object.__init__] or [factory]
    names: List[str] = []
    for target in targets:
        try:
            parameters = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature
            return names, True
        var_keyword = False
        for parameter in parameters:
            if parameter.name in ("self", "cls") or parameter.kind in (parameter.VAR_POSITIONAL,):
                continue
            if parameter.kind == parameter.VAR_KEYWORD:
                var_keyword = True
            elif parameter.name not in names:
                names.append(parameter.name)
        if not var_keyword:
            return names, False
        if not inspect.isclass(factory):
            return names, True
    return names, True


def reject_unknown_params(
    where: str,
    params: Mapping[str, Any],
    names: Sequence[str],
    open_ended: bool,
    what: str,
    *,
    noun: str = "parameter(s)",
    shown: Optional[Sequence[str]] = None,
) -> None:
    """Raise a :class:`ConfigError` listing the valid names when ``params`` holds a name outside ``names`` (unless the
    target takes arbitrary keywords, ``open_ended``); ``shown`` is the list the message offers (default ``names``)."""
    unknown = sorted(set(params) - set(names))
    if unknown and not open_ended:
        raise ConfigError(f"{where}: unknown {noun} {unknown} for {what}; valid names are {list(names) if shown is None else list(shown)}")


def build_checked(where: str, factory: Callable[..., Any], params: Any, what: str, *, reserved: Sequence[str] = ()) -> Any:
    """Call ``factory(**params)`` with every failure turned into a :class:`ConfigError` at ``where``.

    Unknown parameter names are reported with the list of valid ones (from the constructor's signature) before the
    call; ``reserved`` names are set by the library and cannot be given in a config.
    """
    params = dict(check_mapping(where, params))
    names, open_ended = accepted_parameters(factory)
    valid = [n for n in names if n not in reserved]
    taken = sorted(set(params) & set(reserved))
    if taken:
        raise ConfigError(f"{where}: {taken} cannot be set here (the library sets it per run); remove it")
    reject_unknown_params(where, params, names, open_ended, what, shown=valid)
    try:
        return factory(**params)
    except TypeError as exc:
        raise ConfigError(f"{where}: invalid parameters {params} for {what}: {exc}; valid names are {valid}") from None
    except UnknownNameError as exc:
        raise UnknownConfigNameError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid value for {what}: {exc}") from None
