"""Figures of the 224-px NAS arms (``cifar10n_224_d075``, ``cifar10n_224_purity``): test accuracy against the budget
per noise setting, one colour per strategy (the project's method style), the NAS strategy dashed beside its base (Shafir, Hacohen,
Weinshall 2025, arXiv:2504.04506).

The runner calls :func:`write_figures` after ``run cifar10n_224_d075`` / ``run cifar10n_224_purity``; it draws
``<arm>_accuracy_ideal.png`` and ``<arm>_accuracy_cv.png`` into ``<results>/<arm>/figures`` for every 224-px arm
with results. The comparison with the 112-px arm, with class counts and ball statistics, is
``benchmarks/cifar10n/nas_evidence.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import List, Optional

ARMS_224 = ("cifar10n_224_d075", "cifar10n_224_purity")


def _evidence():
    path = Path(__file__).with_name("nas_evidence.py")
    spec = importlib.util.spec_from_file_location("_al_nas_evidence", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_figures(results_dir: Path, out_dir: Optional[Path] = None) -> List[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from active_learning.plotting import save_figure

    evidence = _evidence()
    paths: List[Path] = []
    for arm in ARMS_224:
        if not (Path(results_dir) / arm).is_dir():
            continue
        df = evidence.load_table(Path(results_dir), None, None, arms=(arm,), with_classes=False)
        if df.empty:
            continue
        folder = out_dir if out_dir is not None else Path(results_dir) / arm / "figures"
        folder.mkdir(parents=True, exist_ok=True)
        for filt in ("ideal", "cv"):
            if not df.variant.str.contains(f"_{filt}_").any():
                continue
            path = folder / f"{arm}_accuracy_{filt}.png"
            save_figure(evidence.accuracy_figure(df, filt), path, dpi=100)
            paths.append(path)
    return paths
