"""A small name -> object registry shared by every family of plug-ins.

Each family of plug-ins owns one :class:`Registry`: multi-annotator methods, consensus methods, learners (YAML
``models:``), datasets, encoders, pools, noise models, budget schedules, query strategies, noise filters and
benchmark tasks (``python -m active_learning list`` shows them all). Plug-ins register themselves with a
decorator::

    METHODS = Registry("multi-annotator method")

    @METHODS.register("entropy")
    class EntropySampling(MultiAnnotatorMethod):
        ...

and are looked up by name with :meth:`Registry.get`, which raises :class:`UnknownNameError` listing the
registered names (and the closest match) for a typo. Configs name plug-ins by their registered names; nothing is
built from strings with ``eval``. Each family keeps its registry in a module its plug-ins import (usually the
family's ``_base.py``), never in the package ``__init__`` that imports the plug-ins, so registering on import makes
no import cycle.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any, Callable, Dict, Generic, Iterator, List, TypeVar

T = TypeVar("T")


def _plural(kind: str) -> str:
    """``"query strategy"`` -> ``"query strategies"``, ``"model"`` -> ``"models"``."""
    return kind[:-1] + "ies" if kind.endswith("y") and kind[-2:-1] not in "aeiou" else kind + "s"


class UnknownNameError(KeyError, ValueError):
    """Raised for a name that is not registered. Subclasses both ``KeyError`` and ``ValueError``."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Map names to plug-in objects (classes or factory functions).

    Parameters
    ----------
    kind : str
        Human-readable name of the family, used in error messages (e.g. ``"model"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: Dict[str, T] = {}
        self._metadata: Dict[str, Dict[str, Any]] = {}

    def register(self, name: str, *, overwrite: bool = False, **metadata: Any) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``.

        Parameters
        ----------
        name : str
            Lower-case identifier used in configs and on the command line.
        overwrite : bool, default=False
            Replace an existing entry silently; otherwise a duplicate name warns and replaces.
        """

        def decorator(obj: T) -> T:
            if name in self._entries and not overwrite and self._entries[name] is not obj:
                warnings.warn(f"{self.kind} {name!r} was already registered; replacing it", stacklevel=2)
            self._entries[name] = obj
            self._metadata[name] = dict(metadata)
            try:
                setattr(obj, "registry_name", name)
            except (AttributeError, TypeError):  # pragma: no cover - builtins cannot take attributes
                pass
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the object registered under ``name``.

        Raises
        ------
        UnknownNameError
            If ``name`` is not registered; the message lists every registered name.
        """
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Registered {_plural(self.kind)}: {', '.join(self.names())}. "
                f"Run `python -m active_learning list` to see every registered name."
            ) from None

    def metadata(self, name: str) -> Dict[str, Any]:
        """What ``name`` was registered with besides the object (e.g. ``color`` and ``base`` for figures); an empty
        dict for a name registered without metadata or not registered at all."""
        return dict(self._metadata.get(name, {}))

    def names(self) -> List[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
