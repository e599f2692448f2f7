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
    variants:                        # optional: the grid repeated with dataset/data/loop overrides
      - {name: trace0.6, data: {trace_fraction: 0.6}}
      - {name: worse, dataset: {name: cifar10n, noise_type: worse}}   # merged into the top-level dataset
    figure: {metrics: [consensus_accuracy, model_accuracy], columns: model}
    # optional figure.labels: display names of result names not named after their method, {single: Single annotator}

Each (variant, model, method, seed) becomes a :class:`Job` whose ``resolved`` dict holds everything needed to
run it; that dict is hashed and written next to the job's results. Command-line overrides (``--set``) are applied
last, on top of every variant and method entry (:func:`expand_jobs`). Every YAML is read with
:class:`UniqueKeyLoader`: a key given twice in one mapping is an error, not a silent "last one wins".

Validation happens before any job runs: :func:`validate_structure` checks every key, type and range that does
not depend on the task, :func:`check_task_config` (called by the runner with the task registry) checks the task
name and ``figure.metrics``, and the task's ``validate`` checks the rest (registered names, hyper-parameters against
the constructors' signatures, data and loop settings, budgets against the pool). Every problem raises
:class:`ConfigError` (a ``ValueError``) with a one-line message: what is wrong, where (the config key path) and
what to do. The generic checks (:func:`~active_learning.utils.validation.check_keys`, ``check_mapping``, ...) live
in :mod:`active_learning.utils.validation`.

The shipped benchmark YAMLs are read from ``benchmarks/`` of the repository checkout when the package runs from
one, else from the installed package (``active_learning/_benchmarks``, the same files shipped as package data).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from ._registry import Registry
from .utils.io import config_hash
from .utils.validation import (
    ConfigError,
    check_keys,
    check_mapping,
    check_name_list,
    is_int,
    lookup,
)
from .utils.validation import show_value as _show

TOP_LEVEL_KEYS = {"name", "task", "description", "dataset", "data", "loop", "seeds", "models", "variants", "figure"}
MODEL_KEYS = {"methods", "ensemble", "params"}
METHOD_KEYS = {"name", "method", "params", "loop"}
VARIANT_KEYS = {"name", "dataset", "data", "loop"}
FIGURE_KEYS = {"metrics", "columns", "script", "labels"}
#: What the panel columns of a benchmark figure can split by (``figure.columns``).
FIGURE_COLUMNS = ("model", "variant")
#: Names that become folder names (benchmark, variant, model, method): letters, digits, ``_``, ``-``, ``.``.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _find_benchmarks_dir() -> Path:
    """``benchmarks/`` of the repository checkout this package runs from, else the installed package data."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and any((checkout / "benchmarks").glob("*/*.yaml")):
        return checkout / "benchmarks"
    from importlib.resources import files

    return Path(str(files("active_learning").joinpath("_benchmarks")))


#: Folder holding the benchmark YAML files (the checkout's ``benchmarks/``, or the installed copy).
BENCHMARKS_DIR = _find_benchmarks_dir()


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


def deep_update(base: Dict[str, Any], override: Mapping[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ----------------------------------------------------------------------------------------------------------------
# config-specific checks (the generic ones are in utils.validation; one message style: "<where>: <what>; <what to do>")


def check_seeds(where: str, seeds: Any) -> List[int]:
    """A non-empty list of distinct non-negative integer seeds."""
    if hasattr(seeds, "tolist") and not isinstance(seeds, (str, bytes)):
        seeds = seeds.tolist()
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ConfigError(f"{where} must be a non-empty list of non-negative integers (e.g. [0, 1, 2]), got {_show(seeds)}")
    for seed in seeds:
        if not is_int(seed) or seed < 0:
            raise ConfigError(
                f"{where} must be a non-empty list of non-negative integers (e.g. [0, 1, 2]), got {list(seeds)!r}: "
                f"{_show(seed)} is not one"
            )
    duplicates = sorted({int(s) for s in seeds if list(seeds).count(s) > 1})
    if duplicates:
        raise ConfigError(f"{where} lists seed(s) {duplicates} more than once; give each seed once")
    return [int(s) for s in seeds]


def check_name(where: str, value: Any, what: str = "name") -> str:
    """A non-empty name usable as a folder name."""
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise ConfigError(
            f"{where} must be a {what} made of letters, digits, '_', '-' and '.' (it names a results folder), "
            f"got {_show(value)}"
        )
    return value


# ----------------------------------------------------------------------------------------------------------------
# finding and reading configs


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A YAML mapping gives the same key twice (plain YAML would silently keep the last value)."""

    def __init__(self, key: Any, first: Any, again: Any) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", again)
        self.key, self.first_line, self.line = key, first.line + 1, again.line + 1


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping giving one key twice (:class:`DuplicateKeyError`).

    Merge keys (``<<: *anchor``) may still be overridden by the mapping's own keys, as YAML intends.
    """

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: Dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first is not None:
                    raise DuplicateKeyError(key, first, key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(stream: Any) -> Any:
    """Parse YAML text (a string or an open file) like ``yaml.safe_load``, refusing duplicate keys."""
    return yaml.load(stream, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def find_benchmark(name_or_path: str) -> Path:
    """Resolve a benchmark name (``wall_robot``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"benchmark config {path} does not exist; check the path or give a benchmark name")
        return path
    available = ", ".join(list_benchmarks())
    if not NAME_PATTERN.match(str(name_or_path)):
        raise ConfigError(
            f"no benchmark named {name_or_path!r}; available: {available} (or pass the path of a YAML file)"
        )
    matches = sorted(BENCHMARKS_DIR.glob(f"*/{name_or_path}.yaml"))
    if not matches:
        raise ConfigError(f"no benchmark named {name_or_path!r}; available: {available} (or pass the path of a YAML file)")
    if len(matches) > 1:
        raise ConfigError(f"benchmark name {name_or_path!r} is ambiguous ({[str(m) for m in matches]}); pass its path")
    return matches[0]


def list_benchmarks() -> List[str]:
    """Names of the benchmark YAML files shipped in ``benchmarks/``."""
    return sorted(p.stem for p in BENCHMARKS_DIR.glob("*/*.yaml"))


def load_config(name_or_path: "str | Path", overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Read a benchmark YAML, apply ``overrides`` (a nested mapping) and validate its structure.

    The overrides are merged into the top level here; pass the same ``overrides`` to :func:`expand_jobs` so that
    they also win over the ``dataset``/``data``/``loop`` of every variant and method entry (the command line's
    ``--set`` does both). A key given twice in one mapping of the file is refused (:class:`ConfigError`).
    """
    path = find_benchmark(str(name_or_path))
    try:
        with open(path, "r", encoding="utf-8") as handle:
            config = load_yaml(handle)
    except DuplicateKeyError as exc:
        raise ConfigError(
            f"{path}: duplicate key {exc.key!r} at line {exc.line} (first given at line {exc.first_line}); YAML would "
            f"silently keep only the last one, so remove or merge one of them"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{at}: {problem}; fix the file's syntax") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file ({exc.reason}); save it as UTF-8 YAML") from None
    except OSError as exc:
        raise ConfigError(f"cannot read benchmark config {path}: {exc.strerror or exc}") from None
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{path}: a benchmark config must be a mapping (name: ..., task: ..., ...), got {_show(config)}")
    if overrides:
        check_mapping("overrides", overrides, optional=False)
        config = deep_update(dict(config), overrides)
    validate_structure(config, where=str(path))
    return config


def validate_structure(config: Any, where: str = "config") -> None:
    """Check keys, types and ranges of a benchmark config that do not depend on the task (the task's
    ``validate`` checks the rest: registered names, hyper-parameters, data and loop settings)."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}: a benchmark config must be a mapping (name: ..., task: ..., ...), got {_show(config)}")
    if where == "config" and isinstance(config.get("name"), str):
        where = config["name"]
    check_keys(where, config, TOP_LEVEL_KEYS)
    for key in ("name", "task", "models", "seeds"):
        if key not in config:
            raise ConfigError(f"{where}: missing required key {key!r}; add it (see benchmarks/*/*.yaml for examples)")
    check_name(f"{where}: name", config["name"], "benchmark name")
    if "description" in config and not isinstance(config["description"], (str, type(None))):
        raise ConfigError(f"{where}: description must be text, got {_show(config['description'])}")
    if not isinstance(config["task"], str):
        raise ConfigError(f"{where}: task must be the name of a registered task, got {_show(config['task'])}")
    for key in ("dataset", "data", "loop"):
        check_mapping(f"{where}: {key}", config.get(key))
    check_seeds(f"{where}: seeds", config["seeds"])

    models = config["models"]
    if not isinstance(models, Mapping) or not models:
        raise ConfigError(f"{where}: models must map model names to {{methods: [...]}}, got {_show(models)}")
    for model, spec in models.items():
        at = f"{where}: models.{model}"
        check_name(f"{where}: models key {model!r}", model, "model name")
        check_keys(at, spec, MODEL_KEYS)
        methods = spec.get("methods")
        if isinstance(methods, (str, Mapping)) or not isinstance(methods, Sequence) or not methods:
            raise ConfigError(f"{at}.methods must list at least one method (e.g. [random, activelab]), got {_show(methods)}")
        seen: Dict[str, int] = {}
        for position, entry in enumerate(methods):
            entry_at = f"{at}.methods[{position}]"
            if isinstance(entry, Mapping):
                check_keys(entry_at, entry, METHOD_KEYS)
                if "method" not in entry and "name" not in entry:
                    raise ConfigError(f"{entry_at} {dict(entry)} needs 'method' (a registered method name)")
                for key in ("name", "method"):
                    if key in entry:
                        check_name(f"{entry_at}.{key}", entry[key], "method name")
                check_mapping(f"{entry_at}.params", entry.get("params"))
                check_mapping(f"{entry_at}.loop", entry.get("loop"))
                label = entry.get("name", entry.get("method"))
            elif isinstance(entry, str):
                label = check_name(entry_at, entry, "method name")
            else:
                raise ConfigError(f"{entry_at} must be a method name or a mapping {{name, method, params}}, got {_show(entry)}")
            if label in seen:
                raise ConfigError(
                    f"{at}.methods lists {label!r} twice (entries {seen[label]} and {position}); give the second one "
                    f"its own `name:` (results go to a folder named after it)"
                )
            seen[label] = position
        if spec.get("ensemble") is not None:
            check_name_list(f"{at}.ensemble", spec["ensemble"], "model name")
        check_mapping(f"{at}.params", spec.get("params"))

    variants = config.get("variants")
    if variants is not None:
        if isinstance(variants, (str, Mapping)) or not isinstance(variants, Sequence):
            raise ConfigError(f"{where}: variants must be a list of {{name, dataset, data, loop}} mappings, got {_show(variants)}")
        names: List[str] = []
        for position, variant in enumerate(variants):
            at = f"{where}: variants[{position}]"
            check_keys(at, variant, VARIANT_KEYS)
            if "name" not in variant:
                raise ConfigError(f"{at}: every variant needs a name (it names its results folder)")
            check_name(f"{at}.name", variant["name"], "variant name")
            if variant["name"] in names:
                raise ConfigError(f"{at}: variant name {variant['name']!r} is used twice; give each variant its own name")
            names.append(variant["name"])
            check_mapping(f"{at}.dataset", variant.get("dataset"))
            check_mapping(f"{at}.data", variant.get("data"))
            check_mapping(f"{at}.loop", variant.get("loop"))

    figure = config.get("figure")
    if figure is not None:
        check_keys(f"{where}: figure", figure, FIGURE_KEYS)
        if "metrics" in figure:
            metrics = check_name_list(f"{where}: figure.metrics", figure["metrics"], "metric name")
            if not metrics:
                raise ConfigError(f"{where}: figure.metrics is empty; list at least one metric")
        if "script" in figure:
            script = figure["script"]
            if not isinstance(script, str) or not script.endswith(".py") or "/" in script or "\\" in script:
                raise ConfigError(f"{where}: figure.script must be the file name of a .py script in the benchmark's "
                                  f"folder (with a write_figures(results_dir, out_dir) function), got {_show(script)}")
        if "columns" in figure:
            columns = figure["columns"]
            if columns not in FIGURE_COLUMNS:
                raise ConfigError(f"{where}: figure.columns must be one of {list(FIGURE_COLUMNS)}, got {_show(columns)}")
            if columns == "variant" and not variants:
                raise ConfigError(f"{where}: figure.columns is 'variant' but the benchmark has no variants; use 'model'")
        if "labels" in figure:
            _check_figure_labels(f"{where}: figure.labels", figure["labels"], models)


def _check_figure_labels(where: str, labels: Any, models: Mapping[str, Any]) -> None:
    """``figure.labels``: display names of the benchmark's result names (legends and tables), for results not named
    after the method they ran (``single: Single annotator (entropy, new data only)``); every key must be a method
    entry's name. They live outside the jobs' resolved configs, so they change no result."""
    if not isinstance(labels, Mapping):
        raise ConfigError(f"{where} must map result names to display names, e.g. {{single: Single annotator}}, "
                          f"got {_show(labels)}")
    names = {entry if isinstance(entry, str) else entry.get("name", entry.get("method"))
             for spec in models.values() for entry in spec["methods"]}
    for name, label in labels.items():
        if name not in names:
            raise ConfigError(f"{where}: {_show(name)} is not a method entry of this benchmark; use one of "
                              f"{sorted(map(str, names))}")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{where}.{name} must be a non-empty display name, got {_show(label)}")


def check_task_config(config: Mapping[str, Any], tasks: Registry[Any], where: Optional[str] = None) -> Any:
    """The checks of a benchmark config (already through :func:`validate_structure`) that need its task: ``task``
    names a registered task and ``figure.metrics`` lists metrics that task records.

    ``tasks`` is the task registry (:data:`active_learning.tasks.TASKS`), passed in by the caller (the runner) so that
    this module stays below the tasks. Returns the task class; every problem raises :class:`ConfigError`.
    """
    where = where or str(config.get("name") or "config")
    task = lookup(f"{where}: task", tasks, config["task"])
    metrics = (config.get("figure") or {}).get("metrics")
    if metrics:
        known = list(task.metrics) if isinstance(task.metrics, (tuple, list)) else list(task().metrics)
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ConfigError(
                f"{where}: figure.metrics: unknown metric(s) {unknown} for task {config['task']!r}; "
                f"the task records {known}"
            )
    return task


def expand_jobs(
    config: Mapping[str, Any],
    *,
    models: Optional[Sequence[str]] = None,
    methods: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
    variants: Optional[Sequence[str]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> List[Job]:
    """The grid of jobs of ``config``, optionally restricted to some models, methods, seeds or variants.

    ``overrides`` (the command line's ``--set``, a nested mapping) are applied to every job last: their
    ``dataset``, ``data`` and ``loop`` parts on top of the variant's and the method entry's settings, so that an
    override is never shadowed by a variant (``config`` itself should already hold them, see :func:`load_config`).
    """
    if seeds is not None:
        seeds = check_seeds("seeds to run (--seeds)", seeds)
    if overrides:
        check_mapping("overrides (--set)", overrides, optional=False)
        for section in ("dataset", "data", "loop"):
            check_mapping(f"--set {section}", overrides.get(section))
    for label, wanted in (("models", models), ("methods", methods), ("variants", variants)):
        if wanted is not None:
            check_name_list(f"{label} to run (--{label})", wanted, label[:-1] + " name")
    variant_list = config.get("variants") or [{"name": None}]
    known_variants = [v["name"] for v in variant_list]
    for label, wanted, known in (
        ("model", models, list(config["models"])),
        ("variant", variants, [v for v in known_variants if v]),
    ):
        for name in wanted or []:
            if name not in known:
                has = f"it has {known}" if known else f"it has no {label}s"
                raise ConfigError(f"{config['name']}: no {label} {name!r} in this benchmark; {has}")
    jobs: List[Job] = []
    for variant in variant_list:
        if variants and variant["name"] not in variants:
            continue
        for model, spec in config["models"].items():
            if models and model not in models:
                continue
            for entry in spec["methods"]:
                entry = {"method": entry} if isinstance(entry, str) else dict(entry)
                method_name: str = entry.get("name") or entry["method"]
                if methods and method_name not in methods:
                    continue
                for seed in seeds if seeds is not None else config["seeds"]:
                    loop = deep_update(config.get("loop") or {}, variant.get("loop") or {})
                    loop = deep_update(loop, entry.get("loop") or {})
                    dataset = deep_update(config.get("dataset") or {}, variant.get("dataset") or {})
                    data = deep_update(config.get("data") or {}, variant.get("data") or {})
                    if overrides:
                        dataset = deep_update(dataset, overrides.get("dataset") or {})
                        data = deep_update(data, overrides.get("data") or {})
                        loop = deep_update(loop, overrides.get("loop") or {})
                    resolved = {
                        "benchmark": config["name"],
                        "task": config["task"],
                        "variant": variant["name"],
                        "dataset": dataset,
                        "data": data,
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
        parts = key.strip().split(".")
        if not all(part.strip() for part in parts):
            raise ConfigError(f"--set {pair!r}: the key must be dotted names (e.g. loop.rounds=3), got {key!r}")
        try:
            value = load_yaml(raw)
        except DuplicateKeyError as exc:
            raise ConfigError(f"--set {pair!r}: the value gives the key {exc.key!r} twice; give it once") from None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ConfigError(f"--set {pair!r}: the value is not valid YAML ({problem}); quote it or fix it") from None
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    f"--set {pair!r} conflicts with --set {'.'.join(parts[: depth + 1])}={child!r}; give one of them"
                )
            node = child
        if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
            raise ConfigError(f"--set {pair!r} conflicts with an earlier --set {key}.<...>; give one of them")
        if parts[-1] in node:
            raise ConfigError(f"--set {key.strip()} is given twice ({node[parts[-1]]!r} and {value!r}); give it once")
        node[parts[-1]] = value
    return out
