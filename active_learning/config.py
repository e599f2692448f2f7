"""Benchmark configurations: YAML files resolved into a grid of self-contained jobs.

A benchmark YAML (see ``benchmarks/*/*.yaml``) has the keys::

    name: wall_robot                 # results go to <results_dir>/<name>/...
    task: multiannotator             # registered task (see active_learning.tasks)
    description: free text
    dataset: {name: wall_robot, sensors: 4}
    data: {...}                      # task-specific data protocol (e.g. build_tabular_pool arguments)
    loop: {...}                      # task-specific loop settings
    seeds: [0, 1, 2, 3, 4]
    models:                          # model name -> methods run with it
      extra_trees:
        methods: [random, entropy, activelab]
      mlp:
        methods: [random, {name: single, method: entropy, loop: {allow_relabel: false}}]
        ensemble: [mlp, extra_trees, knn]   # members used by methods that need an ensemble
        params: {max_iter: 500}              # model hyper-parameters
    variants:                        # optional: the grid repeated with data/loop overrides
      - {name: trace0.6, data: {trace_fraction: 0.6}}
    figure: {metrics: [consensus_accuracy, model_accuracy], columns: model}

Each (variant, model, method, seed) becomes a :class:`Job` whose ``resolved`` dict holds everything needed to
run it; that dict is hashed and written next to the job's results.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from .utils.io import config_hash

TOP_LEVEL_KEYS = {"name", "task", "description", "dataset", "data", "loop", "seeds", "models", "variants", "figure"}
MODEL_KEYS = {"methods", "ensemble", "params"}
METHOD_KEYS = {"name", "method", "params", "loop"}
VARIANT_KEYS = {"name", "data", "loop"}

#: Folder holding the benchmark YAML files shipped with the repository.
BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


class ConfigError(ValueError):
    """A benchmark configuration is invalid; the message says which key and what is allowed."""


@dataclass(frozen=True)
class Job:
    """One cell of a benchmark grid: a (variant, model, method, seed) with its fully resolved config."""

    benchmark: str
    variant: Optional[str]
    model: str
    method: str
    seed: int
    resolved: Dict[str, Any]

    @property
    def key(self) -> str:
        parts = [self.benchmark] + ([self.variant] if self.variant else []) + [self.model, self.method]
        return "/".join(parts) + f"#seed{self.seed}"

    @property
    def config_hash(self) -> str:
        return config_hash(self.resolved)

    def result_dir(self, results_dir: "str | Path") -> Path:
        path = Path(results_dir) / self.benchmark
        if self.variant:
            path = path / self.variant
        return path / self.model / self.method


def deep_update(base: Dict[str, Any], override: Mapping[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(where: str, mapping: Mapping[str, Any], allowed: set) -> None:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed keys are {sorted(allowed)}")


def find_benchmark(name_or_path: str) -> Path:
    """Resolve a benchmark name (``wall_robot``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"benchmark config {path} does not exist")
        return path
    matches = sorted(BENCHMARKS_DIR.glob(f"*/{name_or_path}.yaml"))
    if not matches:
        raise ConfigError(
            f"no benchmark named {name_or_path!r}; available: {', '.join(list_benchmarks())} "
            f"(or pass the path of a YAML file)"
        )
    return matches[0]


def list_benchmarks() -> List[str]:
    """Names of the benchmark YAML files shipped in ``benchmarks/``."""
    return sorted(p.stem for p in BENCHMARKS_DIR.glob("*/*.yaml"))


def load_config(name_or_path: "str | Path", overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Read a benchmark YAML, apply ``overrides`` (a nested mapping) and validate its structure."""
    path = find_benchmark(str(name_or_path))
    with open(path, "r", encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    if overrides:
        config = deep_update(config, overrides)
    validate_structure(config, where=str(path))
    return config


def validate_structure(config: Mapping[str, Any], where: str = "config") -> None:
    """Check keys and types of a benchmark config (names are checked against the registries by the task)."""
    _check_keys(where, config, TOP_LEVEL_KEYS)
    for key in ("name", "task", "models", "seeds"):
        if key not in config:
            raise ConfigError(f"{where}: missing required key {key!r}")
    seeds = config["seeds"]
    if not isinstance(seeds, Sequence) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ConfigError(f"{where}: seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    if not isinstance(config["models"], Mapping) or not config["models"]:
        raise ConfigError(f"{where}: models must map model names to {{methods: [...]}}")
    for model, spec in config["models"].items():
        _check_keys(f"{where}: models.{model}", spec, MODEL_KEYS)
        if not spec.get("methods"):
            raise ConfigError(f"{where}: models.{model}.methods must list at least one method")
        for entry in spec["methods"]:
            if isinstance(entry, Mapping):
                _check_keys(f"{where}: models.{model}.methods entry", entry, METHOD_KEYS)
                if "method" not in entry and "name" not in entry:
                    raise ConfigError(f"{where}: models.{model}.methods entry {dict(entry)} needs 'method'")
            elif not isinstance(entry, str):
                raise ConfigError(f"{where}: models.{model}.methods entries must be names or mappings, got {entry!r}")
    for variant in config.get("variants") or []:
        _check_keys(f"{where}: variants entry", variant, VARIANT_KEYS)
        if "name" not in variant:
            raise ConfigError(f"{where}: every variant needs a name")


def expand_jobs(
    config: Mapping[str, Any],
    *,
    models: Optional[Sequence[str]] = None,
    methods: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
    variants: Optional[Sequence[str]] = None,
) -> List[Job]:
    """The grid of jobs of ``config``, optionally restricted to some models, methods, seeds or variants."""
    variant_list = config.get("variants") or [{"name": None}]
    known_variants = [v["name"] for v in variant_list]
    for label, wanted, known in (
        ("model", models, list(config["models"])),
        ("variant", variants, [v for v in known_variants if v]),
    ):
        for name in wanted or []:
            if name not in known:
                raise ConfigError(f"{config['name']}: no {label} {name!r} in this benchmark; it has {known}")
    jobs: List[Job] = []
    for variant in variant_list:
        if variants and variant["name"] not in variants:
            continue
        for model, spec in config["models"].items():
            if models and model not in models:
                continue
            for entry in spec["methods"]:
                entry = {"method": entry} if isinstance(entry, str) else dict(entry)
                method_name = entry.get("name", entry.get("method"))
                if methods and method_name not in methods:
                    continue
                for seed in seeds if seeds is not None else config["seeds"]:
                    loop = deep_update(config.get("loop") or {}, variant.get("loop") or {})
                    loop = deep_update(loop, entry.get("loop") or {})
                    resolved = {
                        "benchmark": config["name"],
                        "task": config["task"],
                        "variant": variant["name"],
                        "dataset": copy.deepcopy(config.get("dataset") or {}),
                        "data": deep_update(config.get("data") or {}, variant.get("data") or {}),
                        "loop": loop,
                        "model": model,
                        "model_params": copy.deepcopy(spec.get("params") or {}),
                        "ensemble": list(spec.get("ensemble") or []),
                        "method_name": method_name,
                        "method": entry.get("method", method_name),
                        "method_params": copy.deepcopy(entry.get("params") or {}),
                        "seed": int(seed),
                    }
                    jobs.append(Job(config["name"], variant["name"], model, method_name, int(seed), resolved))
    if methods:
        found = {job.method for job in jobs}
        missing = sorted(set(methods) - found)
        if missing:
            raise ConfigError(f"{config['name']}: method(s) {missing} are not in this benchmark's grid")
    return jobs


def parse_overrides(pairs: Sequence[str]) -> Dict[str, Any]:
    """Turn ``["loop.rounds=3", "data.seed=7"]`` into a nested mapping (values parsed as YAML scalars)."""
    out: Dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. loop.rounds=3), got {pair!r}")
        key, raw = pair.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return out
