"""Benchmark tasks: how a resolved job config turns into data, a loop run and per-round metrics.

A task is registered under the name used in a benchmark YAML's ``task:`` key. It validates a whole benchmark
before any job starts (:meth:`Task.validate`: names, budgets, data files) and runs one job (:meth:`Task.run`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Type

import numpy as np

from ._registry import Registry
from .config import ConfigError, Job
from .loops.multiannotator import METRICS as MULTIANNOTATOR_METRICS


@dataclass(frozen=True)
class DataAccess:
    """Where raw dataset files are looked for (not part of a job's identity, so not hashed)."""

    root: Optional[str] = None
    mirror: Optional[str] = None
    download: bool = True


class Task(ABC):
    """A kind of benchmark (e.g. multi-annotator active learning on a tabular dataset)."""

    #: Metric names written per job (1-D arrays, one value per round).
    metrics: tuple = ()

    @abstractmethod
    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        """Raise a clear error for anything that would fail later (unknown names, missing files, budgets)."""

    @abstractmethod
    def run(self, resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        """Run one job and return ``metric -> array of shape (rounds,)``."""


TASKS: Registry[Type[Task]] = Registry("task")


def get_task(name: str) -> Task:
    """Instantiate the registered task ``name``."""
    return TASKS.get(name)()


@TASKS.register("multiannotator")
class MultiAnnotatorTask(Task):
    """ActiveLab-style multi-annotator active learning on a tabular dataset (Wall Robot benchmarks)."""

    metrics = MULTIANNOTATOR_METRICS

    @staticmethod
    def _pool(resolved: Mapping[str, Any], data: DataAccess) -> Any:
        from .datasets import load
        from .multiannotator.data import build_tabular_pool

        dataset_options = dict(resolved["dataset"])
        name = dataset_options.pop("name", None)
        if name is None:
            raise ConfigError(f"{resolved['benchmark']}: dataset.name is required")
        dataset = load(name, root=data.root, mirror=data.mirror, download=data.download, **dataset_options)
        try:
            return build_tabular_pool(dataset, **resolved["data"])
        except TypeError as exc:
            raise ConfigError(f"{resolved['benchmark']}: invalid data settings {resolved['data']}: {exc}") from None

    @staticmethod
    def _members(resolved: Mapping[str, Any]) -> List[str]:
        from .multiannotator.methods import METHODS

        if METHODS.get(resolved["method"]).requires_ensemble:
            if len(resolved["ensemble"]) < 2:
                raise ConfigError(
                    f"{resolved['benchmark']}: method {resolved['method']!r} needs an ensemble; add "
                    f"`ensemble: [model, model, ...]` under models.{resolved['model']}"
                )
            return list(resolved["ensemble"])
        return [resolved["model"]]

    @staticmethod
    def _loop_config(resolved: Mapping[str, Any]) -> Any:
        from .loops.multiannotator import MultiAnnotatorLoopConfig

        try:
            return MultiAnnotatorLoopConfig(**resolved["loop"])
        except TypeError as exc:
            raise ConfigError(f"{resolved['benchmark']}: invalid loop settings {resolved['loop']}: {exc}") from None

    @staticmethod
    def _model_params(resolved: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        return {resolved["model"]: dict(resolved["model_params"])}

    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        from .models import MODELS
        from .multiannotator.methods import METHODS

        pools: Dict[str, Any] = {}
        for job in jobs:
            resolved = job.resolved
            METHODS.get(resolved["method"])
            for member in self._members(resolved) + [resolved["model"]]:
                MODELS.get(member)
            loop = self._loop_config(resolved)
            data_key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if data_key not in pools:
                pools[data_key] = self._pool(resolved, data)
            pool = pools[data_key]
            n_pool = pool.X_pool.shape[0]
            n_unlabeled = n_pool - pool.labeled_at_start.size
            if loop.batch_size > n_pool:
                raise ConfigError(
                    f"{job.key}: batch_size={loop.batch_size} is larger than the pool ({n_pool} examples); "
                    f"lower loop.batch_size"
                )
            if not loop.allow_relabel and (loop.rounds - 1) * loop.batch_size > n_unlabeled:
                raise ConfigError(
                    f"{job.key}: {loop.rounds - 1} rounds of {loop.batch_size} new examples need "
                    f"{(loop.rounds - 1) * loop.batch_size} unlabeled examples, the pool has {n_unlabeled}; "
                    f"lower loop.rounds or loop.batch_size"
                )
            if pool.labeled_at_start.size < loop.n_folds:
                raise ConfigError(f"{job.key}: fewer initially labeled examples than loop.n_folds={loop.n_folds}")

    def run(self, resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        from .loops.multiannotator import run_multiannotator_loop

        return run_multiannotator_loop(
            self._pool(resolved, data),
            resolved["method"],
            self._members(resolved),
            self._loop_config(resolved),
            resolved["seed"],
            method_params=resolved["method_params"],
            model_params=self._model_params(resolved),
            on_round=on_round,
        )
