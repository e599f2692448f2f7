"""Benchmark tasks: how a resolved job config turns into data, a loop run and per-round metrics.

A task is registered under the name used in a benchmark YAML's ``task:`` key. It validates a whole benchmark
before any job starts (:meth:`Task.validate`: names, budgets, data files) and runs one job (:meth:`Task.run`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Type

import numpy as np

from ._registry import Registry
from .config import ConfigError, Job
from .loops.multiannotator import DIAGNOSTICS as MULTIANNOTATOR_DIAGNOSTICS
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

    metrics = MULTIANNOTATOR_METRICS + MULTIANNOTATOR_DIAGNOSTICS

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


@TASKS.register("noisy_single_annotator")
class NoisySingleAnnotatorTask(Task):
    """NAS-style active learning with one noisy annotator on a feature matrix (Shafir, Hacohen, Weinshall 2025).

    Config keys::

        dataset: {name: blobs_sphere, ...}                 # a tabular/feature dataset, split by data.test_fraction
        dataset: {name: cifar10, encoder: efficientnet_lite0, encoder_params: {...}}   # cached image features
        data:
          test_fraction: 0.2            # tabular datasets only
          seed: 0                       # data seed (split)
          noise: {type: symmetric, rate: 0.5, seed: null}   # symmetric | asymmetric_cifar10 | real | none;
                                                            # seed null = the run seed (as the paper)
          budget: {samples_per_class: [1, 2, 3], initial_size: 0}   # or {per_round: 100, rounds: 5}
        loop: {filter: cross_validation, filter_params: {}, train_on_all: false}
        models: {linear_probe: {params: {...}, methods: [random, {name: npc, method: npc, params: {delta: 0.6}}]}}

    Models are learners (``active_learning.learners``), methods are query strategies (``active_learning.strategies``).
    """

    @property
    def metrics(self) -> tuple:  # type: ignore[override]
        from .loops.noisy_single_annotator import METRICS

        return METRICS

    @staticmethod
    def _features(resolved: Mapping[str, Any], data: DataAccess) -> Dict[str, Any]:
        from .datasets import load

        options = dict(resolved["dataset"])
        name = options.pop("name", None)
        if name is None:
            raise ConfigError(f"{resolved['benchmark']}: dataset.name is required")
        encoder_name = options.pop("encoder", None)
        encoder_params = options.pop("encoder_params", {}) or {}
        settings = resolved["data"]
        if encoder_name is not None:
            from .encoders import get_encoder
            from .features import extract_features

            encoder = get_encoder(encoder_name, **encoder_params)
            feature_root = None if data.root is None else Path(data.root) / "features"
            splits = {}
            for split in ("train", "test"):
                dataset = load(name, root=data.root, mirror=data.mirror, download=data.download, split=split, **options)
                features = extract_features(dataset, encoder, root=feature_root, progress=False)
                splits[split] = (np.asarray(features, dtype=np.float32), np.asarray(dataset.labels, dtype=np.int64), dataset)
            train_dataset = splits["train"][2]
            return {
                "X": splits["train"][0],
                "y": splits["train"][1],
                "X_test": splits["test"][0],
                "y_test": splits["test"][1],
                "n_classes": len(train_dataset.class_names),
                "noisy_labels": getattr(train_dataset, "noisy_labels", None),
            }
        from sklearn.model_selection import train_test_split

        dataset = load(name, root=data.root, mirror=data.mirror, download=data.download, **options)
        rows = np.arange(len(dataset))
        train_rows, test_rows = train_test_split(
            rows,
            test_size=settings.get("test_fraction", 0.2),
            random_state=int(settings.get("seed", 0)),
            stratify=dataset.labels,
        )
        return {
            "X": dataset.features[train_rows],
            "y": dataset.labels[train_rows],
            "X_test": dataset.features[test_rows],
            "y_test": dataset.labels[test_rows],
            "n_classes": dataset.n_classes,
            "noisy_labels": None,
        }

    @staticmethod
    def _oracle(resolved: Mapping[str, Any], arrays: Mapping[str, Any]) -> Any:
        from .oracle import NoisyOracle

        noise = dict(resolved["data"].get("noise") or {"type": "none"})
        kind = noise.pop("type", "none")
        rate = float(noise.pop("rate", 0.0))
        seed = noise.pop("seed", None)
        if noise:
            raise ConfigError(f"{resolved['benchmark']}: unknown data.noise key(s) {sorted(noise)}")
        rng = np.random.default_rng(resolved["seed"] if seed is None else seed)
        y, n_classes = arrays["y"], arrays["n_classes"]
        if kind == "symmetric":
            return NoisyOracle.symmetric(y, rate, rng, n_classes=n_classes)
        if kind == "asymmetric_cifar10":
            return NoisyOracle.asymmetric_cifar10(y, rate, rng)
        if kind == "real":
            if arrays["noisy_labels"] is None:
                raise ConfigError(f"{resolved['benchmark']}: data.noise.type=real needs a dataset with noisy labels")
            return NoisyOracle.from_noisy_labels(y, arrays["noisy_labels"], n_classes=n_classes)
        if kind == "none":
            return NoisyOracle.from_noisy_labels(y, y, n_classes=n_classes)
        raise ConfigError(
            f"{resolved['benchmark']}: unknown data.noise.type {kind!r}; use symmetric, asymmetric_cifar10, real or none"
        )

    @staticmethod
    def _budgets(resolved: Mapping[str, Any], oracle: Any, n_classes: int) -> Any:
        from .budgets import constant_budgets, samples_per_class_budgets

        budget = dict(resolved["data"].get("budget") or {})
        initial = int(budget.pop("initial_size", 0))
        if "samples_per_class" in budget:
            rate = float(budget.pop("noise_rate", (resolved["data"].get("noise") or {}).get("rate", oracle.noise_rate)))
            schedule = samples_per_class_budgets(budget.pop("samples_per_class"), n_classes, rate, initial_size=initial)
        elif "per_round" in budget:
            schedule = constant_budgets(budget.pop("per_round"), budget.pop("rounds", 1), initial_size=initial)
        else:
            raise ConfigError(f"{resolved['benchmark']}: data.budget needs samples_per_class or per_round")
        if budget:
            raise ConfigError(f"{resolved['benchmark']}: unknown data.budget key(s) {sorted(budget)}")
        return schedule

    def _components(self, resolved: Mapping[str, Any]) -> Dict[str, Any]:
        from .learners import get_learner
        from .noise_filters import get_filter
        from .strategies import get_strategy

        loop = dict(resolved["loop"])
        unknown = sorted(set(loop) - {"filter", "filter_params", "train_on_all"})
        if unknown:
            raise ConfigError(f"{resolved['benchmark']}: unknown loop key(s) {unknown}; use filter, filter_params, train_on_all")
        return {
            "strategy": get_strategy(resolved["method"], **resolved["method_params"]),
            "noise_filter": get_filter(loop.get("filter", "none"), **(loop.get("filter_params") or {})),
            "learner": get_learner(resolved["model"], **resolved["model_params"]),
            "train_on_all": bool(loop.get("train_on_all", False)),
        }

    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        cache: Dict[str, Any] = {}
        for job in jobs:
            resolved = job.resolved
            self._components(resolved)
            key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if key not in cache:
                cache[key] = self._features(resolved, data)
            arrays = cache[key]
            oracle = self._oracle(resolved, arrays)
            self._budgets(resolved, oracle, arrays["n_classes"]).check_pool(arrays["X"].shape[0])

    def run(self, resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        from .loops.noisy_single_annotator import run_noisy_loop

        arrays = self._features(resolved, data)
        oracle = self._oracle(resolved, arrays)
        parts = self._components(resolved)
        out = run_noisy_loop(
            arrays["X"],
            arrays["X_test"],
            arrays["y_test"],
            oracle,
            parts["strategy"],
            parts["noise_filter"],
            parts["learner"],
            self._budgets(resolved, oracle, arrays["n_classes"]),
            resolved["seed"],
            train_on_all=parts["train_on_all"],
            n_classes=arrays["n_classes"],
        )
        return {name: np.asarray(values) for name, values in out.items()}
