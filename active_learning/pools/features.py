"""The noisy single-annotator protocol's data: features, a noisy oracle and a budget schedule.

``dataset:`` names a tabular/feature dataset (split by ``data.test_fraction``) or an image dataset with an
``encoder`` (features from the cache, the dataset's own train/test splits). ``data.noise.type`` picks a noise
model of :data:`NOISE_MODELS`; ``data.budget`` a schedule of :data:`BUDGETS`.

References
----------
.. [1] Shafir, Hacohen, Weinshall (2025). "Active Learning with a Noisy Annotator." arXiv 2504.04506.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from .._registry import Registry
from . import DataAccess, image_inputs, load_dataset, split_dataset_config

NoiseModel = Callable[..., Any]
#: ``noise(y, n_classes, rate, rng, noisy_labels, **options) -> NoisyOracle``, by ``data.noise.type``; ``options``
#: are the further ``data.noise`` keys the model's registration lists in ``options=(...)``.
NOISE_MODELS: Registry[NoiseModel] = Registry("noise model")
#: ``schedule(settings, n_classes, noise_rate) -> BudgetSchedule``, by the key that selects it in ``data.budget``.
BUDGETS: Registry[Callable[..., Any]] = Registry("budget schedule")


@dataclass
class FeaturePool:
    """What a noisy single-annotator run starts from.

    Attributes
    ----------
    X, y : pool features and true labels.
    X_test, y_test : test features and true labels.
    n_classes : int
    noisy_labels : ndarray, optional
        The dataset's own noisy labels (CIFAR-N), for ``noise.type: real``.
    info : dict
        Provenance (dataset source, encoder, split).
    inputs, test_inputs : ndarray, optional
        What the learner trains and predicts on when it is not ``X`` / ``X_test``: the uint8 images (n, H, W, 3)
        of ``dataset.inputs: pixels`` (strategies and filters still see the encoder's features).
    """

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    noisy_labels: Optional[np.ndarray] = None
    info: Optional[Dict[str, Any]] = None
    inputs: Optional[np.ndarray] = None
    test_inputs: Optional[np.ndarray] = None


@NOISE_MODELS.register("symmetric", description="each label flipped with probability rate to a uniform other class")
def _symmetric(y: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator, noisy_labels: Any) -> Any:
    from ..oracle import NoisyOracle

    return NoisyOracle.symmetric(y, rate, rng, n_classes=n_classes)


@NOISE_MODELS.register("asymmetric_cifar10", description="the CIFAR-10 class map (truck->automobile, bird->airplane, ...)")
def _asymmetric_cifar10(y: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator, noisy_labels: Any) -> Any:
    from ..oracle import NoisyOracle

    return NoisyOracle.asymmetric_cifar10(y, rate, rng)


@NOISE_MODELS.register("asymmetric_cifar100", options=("confusion",),
                       description="class-dependent flips from a confusion matrix file (data.noise.confusion; NAS spec 4.3)")
def _asymmetric_cifar100(y: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator, noisy_labels: Any,
                         confusion: Optional[str] = None) -> Any:
    from ..oracle import NoisyOracle, load_confusion_matrix

    if confusion is None:
        raise ValueError("data.noise.type=asymmetric_cifar100 needs data.noise.confusion: the path of a (100, 100) "
                         "confusion matrix .npy (rows = true class)")
    return NoisyOracle.asymmetric_cifar100(y, rate, load_confusion_matrix(confusion, n_classes), rng)


@NOISE_MODELS.register("real", description="the dataset's own noisy labels (CIFAR-10N / CIFAR-100N noise_type, Clothing1M)")
def _real(y: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator, noisy_labels: Any) -> Any:
    from ..oracle import NoisyOracle

    if noisy_labels is None:
        raise ValueError("data.noise.type=real needs a dataset with noisy labels (e.g. cifar10n, cifar100n, clothing1m)")
    y = np.asarray(y)
    if y.size and y.min() < 0:  # unknown true label (Clothing1M: -1 outside the human-checked images): count the
        y = np.where(y < 0, np.asarray(noisy_labels), y)  # given label as correct, as the reference code does for all
    return NoisyOracle.from_noisy_labels(y, noisy_labels, n_classes=n_classes)


@NOISE_MODELS.register("none", description="a perfect annotator")
def _none(y: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator, noisy_labels: Any) -> Any:
    from ..oracle import NoisyOracle

    return NoisyOracle.from_noisy_labels(y, y, n_classes=n_classes)


@BUDGETS.register("samples_per_class", keys=("samples_per_class", "initial_size", "noise_rate"),
                  description="cumulative ceil(spc * C / (1 - r)) per round (NAS spec 4.2)")
def _samples_per_class(settings: Mapping[str, Any], n_classes: int, noise_rate: float) -> Any:
    from ..budgets import samples_per_class_budgets

    rate = float(settings.get("noise_rate", noise_rate))
    return samples_per_class_budgets(settings["samples_per_class"], n_classes, rate,
                                     initial_size=int(settings.get("initial_size", 0)))


@BUDGETS.register("per_round", keys=("per_round", "rounds", "initial_size"), description="a constant budget per round")
def _per_round(settings: Mapping[str, Any], n_classes: int, noise_rate: float) -> Any:
    from ..budgets import constant_budgets

    return constant_budgets(settings["per_round"], settings.get("rounds", 1), initial_size=int(settings.get("initial_size", 0)))


def feature_arrays(dataset: Mapping[str, Any], data: Mapping[str, Any], access: DataAccess) -> FeaturePool:
    """Pool and test features of a noisy single-annotator benchmark (no oracle yet).

    An image dataset with ``inputs: pixels`` gives the encoder's features to strategies and filters and the images
    to the learner (``FeaturePool.inputs``), as the NAS paper trains its ResNet-18 on the selected images."""
    name, _, input_options = split_dataset_config(dataset)
    pixels = input_options.get("inputs", "features") == "pixels"
    if input_options.get("encoder") is not None or pixels:
        feature_options = {**input_options, "inputs": "features"}
        splits = {}
        for split in ("train", "test"):
            images = load_dataset(dataset, access, split=split)
            learner_inputs = image_inputs(images, input_options, access) if pixels else None
            splits[split] = (image_inputs(images, feature_options, access), images, learner_inputs)
        (X, train, inputs), (X_test, test, test_inputs) = splits["train"], splits["test"]
        return FeaturePool(
            X=X, y=np.asarray(train.labels, dtype=np.int64), X_test=X_test, y_test=np.asarray(test.labels, dtype=np.int64),
            n_classes=len(train.class_names), noisy_labels=getattr(train, "noisy_labels", None),
            info={"dataset": name, "encoder": input_options.get("encoder"), "source": train.source,
                  **({"learner_inputs": "pixels"} if pixels else {})},
            inputs=inputs, test_inputs=test_inputs,
        )
    from sklearn.model_selection import train_test_split

    loaded = load_dataset(dataset, access)
    train_rows, test_rows = train_test_split(
        np.arange(len(loaded)), test_size=data.get("test_fraction", 0.2), random_state=int(data.get("seed", 0)),
        stratify=loaded.labels,
    )
    return FeaturePool(
        X=loaded.features[train_rows], y=loaded.labels[train_rows], X_test=loaded.features[test_rows],
        y_test=loaded.labels[test_rows], n_classes=loaded.n_classes, info={"dataset": name, "source": loaded.source},
    )


def make_oracle(pool: FeaturePool, noise: Optional[Mapping[str, Any]], run_seed: int) -> Any:
    """The noisy oracle of ``data.noise`` (``{type, rate, seed}``; seed ``None`` = the run seed, as the paper)."""
    settings = dict(noise or {"type": "none"})
    kind = settings.pop("type", "none")
    rate = float(settings.pop("rate", 0.0))
    seed = settings.pop("seed", None)
    model = NOISE_MODELS.get(kind)
    options = {key: settings.pop(key) for key in NOISE_MODELS.metadata(kind).get("options", ()) if key in settings}
    if settings:
        raise ValueError(f"unknown data.noise key(s) {sorted(settings)} for noise type {kind!r}")
    rng = np.random.default_rng(run_seed if seed is None else seed)
    return model(pool.y, pool.n_classes, rate, rng, pool.noisy_labels, **options)


def make_budgets(budget: Optional[Mapping[str, Any]], n_classes: int, noise_rate: float) -> Any:
    """The budget schedule of ``data.budget`` (the schedule whose selecting key is present)."""
    settings = dict(budget or {})
    kind = next((name for name in BUDGETS.names() if name in settings), None)
    if kind is None:
        raise ValueError(f"data.budget needs {' or '.join(sorted(BUDGETS.names(), reverse=True))}")
    unknown = sorted(set(settings) - set(BUDGETS.metadata(kind)["keys"]) - ({"rounds"} if kind == "per_round" else set()))
    if unknown:
        raise ValueError(f"unknown data.budget key(s) {unknown} for a {kind} budget")
    return BUDGETS.get(kind)(settings, n_classes, noise_rate)


def oracle_and_budgets(pool: FeaturePool, data: Mapping[str, Any], run_seed: int) -> Tuple[Any, Any]:
    """The noisy oracle of ``data.noise`` and the budget schedule of ``data.budget`` for ``pool`` (the budget
    formula's noise rate: ``noise.rate``, else the oracle's own rate)."""
    oracle = make_oracle(pool, data.get("noise"), run_seed)
    noise_rate = float((data.get("noise") or {}).get("rate", oracle.noise_rate()))
    return oracle, make_budgets(data.get("budget"), pool.n_classes, noise_rate)


def build_feature_pool(dataset: Mapping[str, Any], data: Mapping[str, Any], access: DataAccess, run_seed: int) -> Dict[str, Any]:
    """Everything :func:`~active_learning.loops.noisy_single_annotator.run_noisy_loop` needs from the data:
    ``{"pool": FeaturePool, "oracle": NoisyOracle, "budgets": BudgetSchedule}``."""
    pool = feature_arrays(dataset, data, access)
    oracle, budgets = oracle_and_budgets(pool, data, run_seed)
    return {"pool": pool, "oracle": oracle, "budgets": budgets}
