"""Benchmark tasks: how a resolved job config turns into data, a loop run and per-round metrics.

A task is registered under the name used in a benchmark YAML's ``task:`` key. It validates a whole benchmark
before any job starts (:meth:`Task.validate`: names, budgets, data files) and runs one job (:meth:`Task.run`).
"""

from __future__ import annotations

import inspect
import typing
from abc import ABC, abstractmethod
from dataclasses import fields
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type

import numpy as np

from ._registry import Registry, UnknownNameError
from .config import Job
from .loops.multiannotator import DIAGNOSTICS as MULTIANNOTATOR_DIAGNOSTICS
from .loops.multiannotator import METRICS as MULTIANNOTATOR_METRICS
from .loops.metrics import FILTERED_RUN_METRICS
from .pools import POOLS, DataAccess, INPUT_KEYS, pool_settings
from .utils.devices import check_device_param
from .utils.validation import (
    ConfigError,
    UnknownConfigNameError,
    accepted_parameters,
    build_checked,
    check_int,
    check_keys,
    check_mapping,
    check_typed_settings,
    is_number,
    lookup,
    reject_unknown_params,
)


#: A task's ``run`` may return, under this key, a JSON-able dict of facts about the run (e.g. the ball statistics of
#: a coverage strategy's δ-graph); the runner writes it to the job's sidecar as ``"info"``.
JOB_INFO_KEY = "__info__"


class Task(ABC):
    """A kind of benchmark (e.g. multi-annotator active learning on a tabular dataset)."""

    #: Metric names written per job (1-D arrays, one value per round).
    metrics: tuple = ()

    def check_settings(self, jobs: List[Job]) -> None:
        """Raise a clear error for anything wrong in the jobs' settings that can be seen without any data (names,
        hyper-parameters, data and loop settings, budgets against pool sizes known without loading a dataset).

        :meth:`validate` calls it on all its jobs before it loads any data: a typo in the last method of the last
        variant is found in seconds, not after the features of the first variant were extracted. The default checks
        nothing.
        """

    @abstractmethod
    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        """Raise a clear error for anything that would fail later (unknown names, missing files, budgets); it
        checks every job's settings (:meth:`check_settings`) before it loads any data."""

    @abstractmethod
    def run(self, resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        """Run one job and return ``metric -> array of shape (rounds,)``."""


TASKS: Registry[Type[Task]] = Registry("task")


# ----------------------------------------------------------------------------------------------------------------
# validation helpers shared by the tasks (they only read a job's settings; running a job does not go through them)

#: Options of ``dataset:`` that the runner passes itself (from ``--data-root``, ``--data-mirror``, ``--no-download``).
DATA_ACCESS_OPTIONS = ("root", "mirror", "download")


def _context(job: Job) -> str:
    """`` (variant X)`` for jobs of a variant (their data and loop settings are merged with the variant's)."""
    return f" (variant {job.variant})" if job.variant else ""


def _type_hints(obj: Any) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:  # annotations that cannot be evaluated: check names only
        return {}


def check_dataset_options(where: str, dataset: Any, extra: Sequence[str] = ()) -> Tuple[str, Dict[str, Any], Any]:
    """``dataset: {name, **options}`` checked against the registered loader's signature; returns
    ``(name, options, loader)``. ``extra`` names options the task consumes itself (e.g. ``encoder``)."""
    from .datasets import DATASETS

    options = dict(check_mapping(where, dataset))
    name = options.pop("name", None)
    if name is None:
        raise ConfigError(f"{where}.name is required; name a registered dataset (`python -m active_learning list datasets`)")
    loader = lookup(f"{where}.name", DATASETS, name)
    reserved = sorted(set(options) & set(DATA_ACCESS_OPTIONS))
    if reserved:
        raise ConfigError(
            f"{where}: {reserved} cannot be set in a config; use --data-root, --data-mirror or --no-download"
        )
    names, open_ended = accepted_parameters(loader)
    valid = [n for n in names if n not in DATA_ACCESS_OPTIONS] + list(extra)
    unknown = sorted(set(options) - set(valid))
    if unknown and not open_ended:
        raise ConfigError(f"{where}: unknown option(s) {unknown} for dataset {name!r}; valid options are {sorted(valid)}")
    check_typed_settings(where, {k: v for k, v in options.items() if k not in extra}, _type_hints(loader), "dataset options")
    return name, options, loader


def load_checked(where: str, name: str, options: Mapping[str, Any], data: "DataAccess", **more: Any) -> Any:
    """Load a dataset for validation; a bad option value becomes a :class:`ConfigError` at ``where`` (a missing
    file stays a :class:`~active_learning.datasets.DatasetFileNotFoundError`, whose message says where to put it)."""
    from .datasets import load

    try:
        return load(name, root=data.root, mirror=data.mirror, download=data.download, **options, **more)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, UnknownNameError):
            raise UnknownConfigNameError(f"{where}: {exc}") from None
        raise ConfigError(f"{where}: invalid options for dataset {name!r}: {exc}") from None


def check_model_params(where: str, factory: Callable[..., Any], model: str, params: Any) -> None:
    """Model hyper-parameters against the estimator the factory builds: names from its ``get_params()`` (or its
    constructor's signature), values through scikit-learn's own parameter validation when it has one."""
    params = dict(check_mapping(where, params))
    if "random_state" in params:
        raise ConfigError(f"{where}: random_state cannot be set (every run seeds its models from the run seed); remove it")
    try:
        default = factory(random_state=0)
    except Exception:  # a factory that needs parameters: rely on the call below
        default = None
    if default is not None:
        if hasattr(default, "get_params"):
            valid, open_ended = sorted(default.get_params(deep=False)), False
        else:
            valid, open_ended = accepted_parameters(type(default))
        valid = [v for v in valid if v != "random_state"]
        reject_unknown_params(
            where, params, valid, open_ended, f"model {model!r} ({type(default).__name__})", noun="hyper-parameter(s)"
        )
    try:
        estimator = factory(random_state=0, **params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid hyper-parameters {params} for model {model!r}: {exc}") from None
    validate = getattr(estimator, "_validate_params", None)  # scikit-learn >= 1.2: checks types and ranges
    if callable(validate):
        try:
            validate()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: invalid hyper-parameter value for model {model!r}: {exc}") from None


def check_learner_params(where: str, model: str, params: Any) -> None:
    """Hyper-parameters of a registered learner: the scikit-learn models through :func:`check_model_params`
    (their estimator's own validation), the others against their constructor's signature."""
    from .learners import LEARNERS, sklearn_factory

    check_device_param(where, params)  # e.g. device: cuda on a machine without a GPU, before any job
    factory = sklearn_factory(model)
    if factory is not None:
        check_model_params(where, factory, model, params)
    else:
        build_checked(where, LEARNERS.get(model), check_mapping(where, params), f"learner {model!r}")


#: Train-split size and number of classes of the registered image datasets whose size is fixed: the pool of a
#: noisy single-annotator job on ``dataset: {name: ..., encoder: ...}`` is the train split, so its budgets are
#: checked against it before any image is read or encoded.
KNOWN_TRAIN_SPLITS: Dict[str, Tuple[int, int]] = {
    "cifar10": (50_000, 10), "cifar10n": (50_000, 10), "cifar100": (50_000, 100), "cifar100n": (50_000, 100),
}

#: Labels per image of the ``cifar10n_annotators`` pool (its three CIFAR-10N workers).
CIFAR10N_WORKERS = 3


def known_pool_capacity(where: str, pool: str, settings: Mapping[str, Any]) -> Optional[Tuple[int, int, float, str]]:
    """``(examples, unlabeled examples, labels obtainable after round 0, what)`` of a multi-annotator pool whose
    size follows from its ``data:`` settings alone (no data read), else ``None`` (the pool is checked once built)."""
    if pool != "cifar10n_annotators":
        return None
    parameters = inspect.signature(POOLS.get(pool)).parameters
    values = {n: p.default for n, p in parameters.items() if p.default is not inspect.Parameter.empty}
    values.update(settings)
    size, n_initial, per_example = values["pool_size"], values["n_initial"], values["initial_labels_per_example"]
    train = KNOWN_TRAIN_SPLITS["cifar10n"][0]
    if size > train:
        raise ConfigError(f"{where}.pool_size={size} is larger than the CIFAR-10 train split ({train} images); lower it")
    if n_initial > size:
        raise ConfigError(f"{where}.n_initial={n_initial} is larger than data.pool_size={size}; lower it")
    if per_example > CIFAR10N_WORKERS:
        raise ConfigError(f"{where}.initial_labels_per_example={per_example}: a CIFAR-10N image has {CIFAR10N_WORKERS} "
                          f"worker labels; use at most {CIFAR10N_WORKERS}")
    left = CIFAR10N_WORKERS * size - n_initial * per_example
    return size, size - n_initial, float(left), f"the pool ({size} images x {CIFAR10N_WORKERS} CIFAR-10N worker labels)"


def _check_pool_budget(job: Job, loop: Any, n_pool: int, new_examples: int, labels_left: float, what: str) -> None:
    """The labels a multi-annotator job asks for (``(rounds - 1) * batch_size`` after round 0) against what its
    pool can give: ``new_examples`` examples that can still get a first label, ``labels_left`` labels in all."""
    need = (loop.rounds - 1) * loop.batch_size
    if loop.batch_size > n_pool:
        raise ConfigError(
            f"{job.key}: batch_size={loop.batch_size} is larger than the pool ({n_pool} examples); lower loop.batch_size"
        )
    if not loop.allow_relabel and need > new_examples:
        raise ConfigError(
            f"{job.key}: {loop.rounds - 1} rounds of {loop.batch_size} new examples need {need} unlabeled examples, "
            f"the pool has {new_examples} (with a label to draw); lower loop.rounds or loop.batch_size"
        )
    if need > labels_left:
        raise ConfigError(
            f"{job.key}: {loop.rounds - 1} rounds of {loop.batch_size} labels ask for {need} new labels, but {what} "
            f"holds only {int(labels_left)} more; lower loop.rounds or loop.batch_size (or bring more labels)"
        )


def get_task(name: str) -> Task:
    """Instantiate the registered task ``name``."""
    return TASKS.get(name)()


@TASKS.register("multiannotator")
class MultiAnnotatorTask(Task):
    """ActiveLab-style multi-annotator active learning on a tabular dataset (Wall Robot benchmarks)."""

    #: Per-round arrays (a run writes those it has: the diagnostics with ActiveLab, the filter's with ``loop.filter``).
    metrics = MULTIANNOTATOR_METRICS + MULTIANNOTATOR_DIAGNOSTICS + FILTERED_RUN_METRICS

    @staticmethod
    def _pool(resolved: Mapping[str, Any], data: DataAccess) -> Any:
        from .pools import build_pool

        return build_pool(resolved["dataset"], resolved["data"], data)

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

    @staticmethod
    def _check_loop(where: str, loop: Any) -> Any:
        """Loop settings against :class:`MultiAnnotatorLoopConfig` (its fields, their types, its own checks)."""
        from .loops.multiannotator import MultiAnnotatorLoopConfig

        loop = check_mapping(where, loop)
        valid = [f.name for f in fields(MultiAnnotatorLoopConfig)]
        unknown = sorted(set(loop) - set(valid))
        if unknown:
            raise ConfigError(f"{where}: invalid loop settings: unknown key(s) {unknown}; valid keys are {valid}")
        check_typed_settings(where, loop, _type_hints(MultiAnnotatorLoopConfig), "loop settings")
        try:
            return MultiAnnotatorLoopConfig(**loop)
        except UnknownNameError as exc:
            raise UnknownConfigNameError(f"{where}: invalid loop settings: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: invalid loop settings: {exc}") from None

    @staticmethod
    def _check_data(where: str, settings: Any) -> Tuple[str, Dict[str, Any]]:
        """``data:`` against the keyword arguments of its pool builder (``data.pool``; names, types, ranges)."""
        settings = dict(check_mapping(where, settings))
        pool = settings.pop("pool", "tabular")
        builder = lookup(f"{where}.pool", POOLS, pool)
        valid, required = pool_settings(pool)
        unknown = sorted(set(settings) - set(valid))
        if unknown:
            raise ConfigError(
                f"{where}: invalid data settings: unknown key(s) {unknown} for data.pool={pool!r}; valid keys are "
                f"{['pool'] + valid}"
            )
        missing = [n for n in required if n not in settings]
        if missing:
            raise ConfigError(f"{where}: invalid data settings: missing required key(s) {missing} for data.pool={pool!r}; add them")
        check_typed_settings(where, settings, _type_hints(builder), "data settings")
        for key, (ok, text) in POOLS.metadata(pool).get("ranges", {}).items():
            if key in settings and settings[key] is not None and not ok(settings[key]):
                raise ConfigError(f"{where}.{key} must be {text}, got {settings[key]!r}; fix the data settings")
        return pool, settings

    def _validated_pool(self, job: Job, data: DataAccess) -> Any:
        """The pool of a job, built as :meth:`_pool` builds it, with every error pointing at its config key."""
        from .datasets import DatasetFileNotFoundError
        from .pools import build_pool

        resolved = job.resolved
        name = resolved["benchmark"]
        pool, _ = self._check_data(f"{name}: data{_context(job)}", resolved["data"])
        if POOLS.metadata(pool).get("uses_dataset", True):
            check_dataset_options(f"{name}: dataset", resolved["dataset"], extra=INPUT_KEYS)
        try:
            return build_pool(resolved["dataset"], resolved["data"], data)
        except (DatasetFileNotFoundError, FileNotFoundError):
            raise
        except UnknownNameError as exc:
            raise UnknownConfigNameError(f"{name}: data{_context(job)}: {exc}") from None
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"{name}: data{_context(job)}: invalid data settings: {exc}") from None

    @staticmethod
    def _initial_class_counts(pool: Any, loop: Any, seed: int) -> np.ndarray:
        """Class counts of the round-0 consensus labels (the loop's majority vote, on its consensus stream)."""
        from .multiannotator.consensus import CONSENSUS

        store = pool.initial_store()
        table = store.wide(store.labeled_examples())
        consensus_rng = np.random.default_rng(seed).spawn(5)[3]
        labels = CONSENSUS.get("majority_vote")(table, None, consensus_rng, tie_break=loop.tie_break)
        return np.bincount(np.asarray(labels, dtype=np.int64), minlength=pool.n_classes)

    def _check_job_settings(self, jobs: List[Job]) -> Dict[str, Any]:
        """:meth:`check_settings`, returning the checked loop config of every (variant, model, method)."""
        from .learners import LEARNERS
        from .multiannotator.methods import METHODS

        checked: Dict[str, Any] = {}
        data_checked: Dict[str, Tuple[str, Dict[str, Any]]] = {}
        for job in jobs:
            resolved = job.resolved
            name = resolved["benchmark"]
            model = resolved["model"]
            data_key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if data_key not in data_checked:
                data_checked[data_key] = self._check_data(f"{name}: data{_context(job)}", resolved["data"])
                if POOLS.metadata(data_checked[data_key][0]).get("uses_dataset", True):
                    check_dataset_options(f"{name}: dataset", resolved["dataset"], extra=INPUT_KEYS)
            settings_key = repr((resolved["variant"], model, resolved["method_name"]))
            if settings_key not in checked:  # the same for every seed
                at = f"{name}: models.{model}.methods[{resolved['method_name']}]"
                method_class = lookup(f"{at}.method", METHODS, resolved["method"])
                build_checked(f"{at}.params", method_class, resolved["method_params"], f"method {resolved['method']!r}")
                lookup(f"{name}: models.{model}", LEARNERS, model)
                for position, member in enumerate(resolved["ensemble"]):
                    lookup(f"{name}: models.{model}.ensemble[{position}]", LEARNERS, member)
                self._members(resolved)
                check_learner_params(f"{name}: models.{model}.params", model, resolved["model_params"])
                checked[settings_key] = self._check_loop(f"{name}: loop{_context(job)}", resolved["loop"])
                if getattr(method_class, "requires_flags", False) and checked[settings_key].filter is None:
                    raise ConfigError(f"{at}: method {resolved['method']!r} acts on a noise filter's flags; set "
                                      f"loop.filter (e.g. cross_validation; see `list filters`)")
                known = known_pool_capacity(f"{name}: data{_context(job)}", *data_checked[data_key])
                if known is not None:
                    _check_pool_budget(job, checked[settings_key], *known)
        return checked

    def check_settings(self, jobs: List[Job]) -> None:
        self._check_job_settings(jobs)

    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        checked = self._check_job_settings(jobs)  # every job's settings first, before any pool is built
        pools: Dict[str, Any] = {}
        counts: Dict[str, np.ndarray] = {}
        for job in jobs:
            resolved = job.resolved
            loop = checked[repr((resolved["variant"], resolved["model"], resolved["method_name"]))]
            data_key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if data_key not in pools:
                pools[data_key] = self._validated_pool(job, data)
            pool = pools[data_key]
            if loop.annotator_columns == "true_identity" and not pool.source.has_identities:
                raise ConfigError(
                    f"{job.key}: loop.annotator_columns=true_identity needs annotator identities, but the pool's "
                    f"{pool.source.kind!r} source has none (anonymous label multisets); use per_round"
                )
            source = pool.source.for_identity_columns() if loop.annotator_columns == "true_identity" else pool.source
            remaining = source.remaining(pool.initial_store())
            n_pool = pool.X_pool.shape[0]
            unlabeled = np.setdiff1d(np.arange(n_pool), pool.labeled_at_start)
            labels_left = float(np.sum(remaining))
            available = pool.info.get("n_annotations_available") if isinstance(pool.info, Mapping) else None
            what = f"the pool's {pool.source.kind} annotator source" + (
                f" (the label file holds {available} labels of pool examples)" if available is not None else "")
            _check_pool_budget(job, loop, n_pool, int(np.sum(remaining[unlabeled] >= 1)), labels_left, what)
            if pool.labeled_at_start.size < loop.n_folds:
                raise ConfigError(
                    f"{job.key}: fewer initially labeled examples ({pool.labeled_at_start.size}) than "
                    f"loop.n_folds={loop.n_folds}; lower loop.n_folds or data.unlabeled_fraction"
                )
            count_key = repr((data_key, resolved["seed"], loop.tie_break))
            if count_key not in counts:
                counts[count_key] = self._initial_class_counts(pool, loop, resolved["seed"])
            present = counts[count_key][counts[count_key] > 0]
            if present.size and loop.n_folds > int(present.min()):
                smallest = int(present.min())
                cls = int(np.flatnonzero(counts[count_key] == smallest)[0])
                raise ConfigError(
                    f"{job.key}: loop.n_folds={loop.n_folds} is larger than the smallest class of the initial "
                    f"consensus labels (class {cls}: {smallest} examples); set loop.n_folds to at most {smallest} or "
                    f"start with more labeled examples (data.unlabeled_fraction, data.drop_prob)"
                )

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
          noise: {type: symmetric, rate: 0.5, seed: null}   # symmetric | asymmetric_cifar10 | real | none |
                                                            # asymmetric_cifar100 (+ confusion: matrix.npy);
                                                            # seed null = the run seed (as the paper)
          budget: {samples_per_class: [1, 2, 3], initial_size: 0}   # or {per_round: 100, rounds: 5}
        loop: {filter: cross_validation, filter_params: {}, train_on_all: false}
        models: {linear_probe: {params: {...}, methods: [random, {name: npc, method: npc, params: {delta: 0.6}}]}}

    Models are learners (``active_learning.learners``), methods are query strategies (``active_learning.strategies``).
    """

    #: The keys this task reads (validated before any job runs).
    DATA_KEYS = ("seed", "test_fraction", "noise", "budget")
    NOISE_KEYS = ("type", "rate", "seed", "confusion")
    BUDGET_KEYS = ("samples_per_class", "per_round", "rounds", "initial_size", "noise_rate")
    LOOP_KEYS = ("filter", "filter_params", "train_on_all", "rounds")

    @staticmethod
    def _check_learner_inputs(job: Job, learner: Any) -> None:
        """An image learner (``resnet18_cifar``) needs ``dataset.inputs: pixels`` on an image dataset (features for
        the strategies, pixels for the learner); a feature learner cannot train on pixels."""
        from .learners import LEARNERS

        resolved = job.resolved
        model = resolved["model"]
        wants_images = LEARNERS.metadata(model).get("inputs") == "images"
        pixels = resolved["dataset"].get("inputs", "features") == "pixels"
        where = f"{resolved['benchmark']}: models.{model}"
        if wants_images and not pixels:
            raise ConfigError(f"{where}: learner {model!r} trains on images; set `inputs: pixels` in dataset: (an image "
                              f"dataset; strategies and filters then use its encoder features)")
        if pixels and not wants_images:
            raise ConfigError(f"{where}: dataset.inputs is pixels but learner {model!r} trains on feature vectors; use "
                              f"an image learner (resnet18_cifar) or drop `inputs: pixels`")

    @property
    def metrics(self) -> tuple:  # type: ignore[override]
        from .loops.noisy_single_annotator import METRICS

        return METRICS

    def _components(self, resolved: Mapping[str, Any]) -> Dict[str, Any]:
        from .learners import get_learner
        from .noise_filters import get_filter
        from .strategies import get_strategy

        loop = self._loop_config(resolved)
        return {
            "strategy": get_strategy(resolved["method"], **resolved["method_params"]),
            "noise_filter": get_filter(loop.filter, **(loop.filter_params or {})),
            "learner": get_learner(resolved["model"], **resolved["model_params"]),
            "train_on_all": loop.train_on_all,
            "loop": loop,
        }

    @staticmethod
    def _loop_config(resolved: Mapping[str, Any]) -> Any:
        from .loops.noisy_single_annotator import NoisyLoopConfig

        try:
            return NoisyLoopConfig(**resolved["loop"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{resolved['benchmark']}: invalid loop settings {resolved['loop']}: {exc}") from None

    def _check_components(self, job: Job) -> None:
        """Strategy, learner and noise filter of a job, built as :meth:`_components` builds them, with every error
        pointing at its config key (hyper-parameters checked against the constructors' signatures)."""
        from .learners import LEARNERS
        from .loops.noisy_single_annotator import NoisyLoopConfig
        from .noise_filters import FILTERS, get_filter
        from .strategies import STRATEGIES

        resolved = job.resolved
        name, model = resolved["benchmark"], resolved["model"]
        at = f"{name}: models.{model}.methods[{resolved['method_name']}]"
        strategy = lookup(f"{at}.method", STRATEGIES, resolved["method"])
        build_checked(f"{at}.params", strategy, resolved["method_params"], f"strategy {resolved['method']!r}")
        learner = lookup(f"{name}: models.{model}", LEARNERS, model)
        build_checked(f"{name}: models.{model}.params", learner, resolved["model_params"], f"learner {model!r}")
        # a device this machine lacks (device: cuda without a GPU) is one line here, not a crash in the first job
        check_device_param(f"{at}.params", resolved["method_params"])
        check_device_param(f"{name}: models.{model}.params", resolved["model_params"])

        where = f"{name}: loop{_context(job)}"
        loop = check_mapping(where, resolved["loop"])
        check_keys(where, loop, self.LOOP_KEYS)
        check_typed_settings(where, loop, _type_hints(NoisyLoopConfig), "loop settings")
        rounds = loop.get("rounds")
        if rounds is not None:
            check_int(f"{where}.rounds", rounds, minimum=1)
            budget = resolved["data"].get("budget") or {}
            spc = budget.get("samples_per_class")
            scheduled = len(spc) if isinstance(spc, Sequence) else int(budget.get("rounds", 1))
            if rounds > scheduled:
                raise ConfigError(f"{where}.rounds={rounds} is more than the {scheduled} budgets of data.budget; lower "
                                  f"loop.rounds or lengthen the budget schedule")
        self._check_learner_inputs(job, learner)
        filter_class = lookup(f"{where}.filter", FILTERS, loop.get("filter", "none"))
        params = dict(check_mapping(f"{where}.filter_params", loop.get("filter_params")))
        momentum = params.pop("momentum", 0.0)
        if not is_number(momentum) or not 0.0 <= momentum < 1.0:
            raise ConfigError(f"{where}.filter_params.momentum must be a number in [0, 1), got {momentum!r}")
        build_checked(f"{where}.filter_params", filter_class, params, f"noise filter {loop.get('filter', 'none')!r}")
        check_device_param(f"{where}.filter_params", params)
        try:
            get_filter(loop.get("filter", "none"), momentum=momentum, **params)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.filter_params: {exc}") from None

    def _check_data(self, job: Job) -> None:
        """Keys, types and ranges of ``data:`` (``seed``, ``test_fraction``, ``noise``, ``budget``)."""
        resolved = job.resolved
        where = f"{resolved['benchmark']}: data{_context(job)}"
        settings = check_mapping(where, resolved["data"])
        check_keys(where, settings, self.DATA_KEYS)
        if "seed" in settings:
            check_int(f"{where}.seed", settings["seed"], minimum=0)
        if "test_fraction" in settings:
            value = settings["test_fraction"]
            if not is_number(value) or not 0.0 < value < 1.0:
                raise ConfigError(f"{where}.test_fraction must be a number in (0, 1), got {value!r}")
        noise = check_mapping(f"{where}.noise", settings.get("noise"))
        check_keys(f"{where}.noise", noise, self.NOISE_KEYS)
        if "type" in noise:
            from .pools import NOISE_MODELS

            lookup(f"{where}.noise.type", NOISE_MODELS, noise["type"])
        if "rate" in noise and (not is_number(noise["rate"]) or not 0.0 <= noise["rate"] < 1.0):
            raise ConfigError(f"{where}.noise.rate must be a number in [0, 1), got {noise['rate']!r}")
        if noise.get("seed") is not None:
            check_int(f"{where}.noise.seed", noise["seed"], minimum=0)
        budget = check_mapping(f"{where}.budget", settings.get("budget"))
        check_keys(f"{where}.budget", budget, self.BUDGET_KEYS)
        spc = budget.get("samples_per_class")
        if spc is not None and (
            isinstance(spc, (str, Mapping)) or not isinstance(spc, Sequence) or not all(is_number(v) and v > 0 for v in spc)
        ):
            raise ConfigError(f"{where}.budget.samples_per_class must be a list of positive numbers, got {spc!r}")
        for key, minimum in (("per_round", 1), ("rounds", 1), ("initial_size", 0)):
            if key in budget:
                check_int(f"{where}.budget.{key}", budget[key], minimum=minimum)
        if "noise_rate" in budget and (not is_number(budget["noise_rate"]) or not 0.0 <= budget["noise_rate"] < 1.0):
            raise ConfigError(f"{where}.budget.noise_rate must be a number in [0, 1), got {budget['noise_rate']!r}")

    def _check_dataset(self, job: Job) -> None:
        """``dataset:`` options and encoder names (no data read), and, for a dataset of known size
        (:data:`KNOWN_TRAIN_SPLITS`), the budget schedule against its train split: the budgets are checked at the
        lowest noise rate the config allows (``budget.noise_rate``, else ``noise.rate``, else 0), since a higher
        rate only makes them larger."""
        from .pools.features import make_budgets

        resolved = job.resolved
        where = f"{resolved['benchmark']}: dataset"
        name, options, _ = check_dataset_options(where, resolved["dataset"], extra=INPUT_KEYS)
        if options.get("encoder") is None:
            return
        from .encoders import ENCODERS

        encoder = lookup(f"{where}.encoder", ENCODERS, options["encoder"])
        params = check_mapping(f"{where}.encoder_params", options.get("encoder_params"))
        names, open_ended = accepted_parameters(encoder)
        reject_unknown_params(f"{where}.encoder_params", params, names, open_ended, f"encoder {options['encoder']!r}")
        if name not in KNOWN_TRAIN_SPLITS:
            return
        n_train, n_classes = KNOWN_TRAIN_SPLITS[name]
        at = f"{resolved['benchmark']}: data{_context(job)}.budget"
        settings = resolved["data"]
        budget = settings.get("budget") or {}
        rate = float(budget.get("noise_rate", (settings.get("noise") or {}).get("rate", 0.0)))
        try:
            schedule = make_budgets(budget, n_classes, rate)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{at}: {exc}") from None
        if schedule.total > n_train:
            raise ConfigError(
                f"{at}: the budget schedule needs {schedule.total} labels (at a noise rate of at least {rate:g}) but "
                f"the pool, the {name} train split, has {n_train} images; lower data.budget"
            )

    def check_settings(self, jobs: List[Job]) -> None:
        checked = set()
        datasets = set()
        for job in jobs:
            resolved = job.resolved
            settings_key = repr((resolved["variant"], resolved["model"], resolved["method_name"]))
            if settings_key not in checked:  # the same for every seed
                self._check_components(job)
                self._check_data(job)
                checked.add(settings_key)
            key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if key not in datasets:
                self._check_dataset(job)
                datasets.add(key)

    def _validated_features(self, job: Job, data: DataAccess) -> Any:
        from .pools import feature_arrays

        resolved = job.resolved
        where = f"{resolved['benchmark']}: dataset"
        self._check_dataset(job)
        try:
            return feature_arrays(resolved["dataset"], resolved["data"], data)
        except UnknownNameError as exc:
            raise UnknownConfigNameError(f"{where}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: cannot build the features with {dict(resolved['dataset'])}: {exc}") from None

    def validate(self, jobs: List[Job], data: DataAccess) -> None:
        from .pools.features import oracle_and_budgets

        self.check_settings(jobs)  # every job's settings first, before any data is loaded or image encoded
        cache: Dict[str, Any] = {}
        resources: set = set()
        for job in jobs:
            resolved = job.resolved
            key = repr((sorted(resolved["dataset"].items()), sorted(resolved["data"].items())))
            if key not in cache:
                cache[key] = self._validated_features(job, data)
            pool = cache[key]
            where = f"{resolved['benchmark']}: data{_context(job)}"
            try:
                settings = resolved["data"]
                _, budgets = oracle_and_budgets(pool, settings, resolved["seed"])
                budgets = self._loop_config(resolved).schedule(budgets)
                budgets.check_pool(pool.X.shape[0])
            except ConfigError:
                raise
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: {exc}") from None
            resource_key = repr((resolved["method"], resolved["method_params"], pool.X.shape[0]))
            if resource_key not in resources:
                resources.add(resource_key)
                self._check_resources(job, int(pool.X.shape[0]), data)

    def _check_resources(self, job: Job, n_samples: int, data: DataAccess) -> None:
        """What the job's strategy needs for this pool (e.g. the disk of MaxHerding's stored kernel matrix), checked
        before any job runs, under the run's ``--data-root`` (the strategies' ``check_resources``, where defined)."""
        from .strategies import get_strategy
        from .strategies._disk_cache import use_data_root

        resolved = job.resolved
        check = getattr(get_strategy(resolved["method"], **resolved["method_params"]), "check_resources", None)
        if check is None:
            return
        try:
            with use_data_root(data.root):
                check(n_samples)
        except ValueError as exc:
            at = f"{resolved['benchmark']}: models.{resolved['model']}.methods[{resolved['method_name']}]"
            raise ConfigError(f"{at}.params: {exc}") from None

    def run(self, resolved: Mapping[str, Any], data: DataAccess, on_round: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        from .loops.noisy_single_annotator import run_noisy_loop
        from .pools import build_feature_pool

        built = build_feature_pool(resolved["dataset"], resolved["data"], data, resolved["seed"])
        pool = built["pool"]
        parts = self._components(resolved)
        out = run_noisy_loop(
            pool.X,
            pool.X_test,
            pool.y_test,
            built["oracle"],
            parts["strategy"],
            parts["noise_filter"],
            parts["learner"],
            parts["loop"].schedule(built["budgets"]),
            resolved["seed"],
            train_on_all=parts["train_on_all"],
            train_inputs=pool.inputs,
            test_inputs=pool.test_inputs,
            n_classes=pool.n_classes,
            on_round=on_round,
        )
        result: Dict[str, Any] = {name: np.asarray(values) for name, values in out.items()}
        coverage = _coverage_info(parts["strategy"], pool.y)
        if coverage:
            result[JOB_INFO_KEY] = {"coverage": coverage}
        return result


def _coverage_info(strategy: Any, labels: np.ndarray) -> Optional[Dict[str, Any]]:
    """Ball statistics of the δ-graph a graph-based coverage strategy (ProbCover, NPC, ...) ran on: every pool point
    a centre, at the δ it used (Shafir, Hacohen, Weinshall 2025 assume balls that hold several points of one class)."""
    base = getattr(strategy, "base", strategy)
    graph = getattr(base, "last_graph_", None)
    if graph is None:
        return None
    from .strategies import graph_ball_statistics

    stats = graph_ball_statistics(graph, labels)
    return {"delta": float(base.delta), "source": "the strategy's delta-graph over the whole pool", **stats}
