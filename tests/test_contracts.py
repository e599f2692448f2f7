"""Contract (template) tests: every registered component of every family, taken from its registry.

A new registration is tested here automatically: a query strategy, noise filter, learner, multi-annotator method or
consensus function only has to be registered (and, for a hyper-parameter without a default, get a test value in the
table of its family), and every benchmark YAML under ``benchmarks/`` only has to exist. The tests check the interface
each family promises to the loops, on small data the tests make themselves:

* query strategies: ``select`` returns the requested number of distinct, previously unlabeled indices; the same seed
  gives the same picks (NAS variants get a noise filter, the revealed labels and an oracle, as the loop gives them);
* noise filters: ``clean_mask`` is a boolean mask over the labeled points, the same under the same seed;
* learners: ``fit`` then ``predict_proba`` gives one row per input and one column per class (also a class absent from
  the training labels), rows summing to 1, the same under the same seed;
* multi-annotator methods: finite scores of the right shapes, the same under the same seed;
* consensus functions: one class id per labeled example, in range, the same under the same seed;
* benchmark YAMLs: load, and pass the settings checks ``run`` makes before it reads any data.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

from active_learning.config import check_task_config, expand_jobs, load_config
from active_learning.learners import LEARNERS, get_learner, list_learners
from active_learning.multiannotator import CONSENSUS, METHODS, ScoringInputs, get_method
from active_learning.noise_filters import get_filter, list_filters
from active_learning.oracle import NoisyOracle
from active_learning.strategies import STRATEGIES, get_strategy, list_strategies
from active_learning.tasks import TASKS, get_task

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
C = 4  # classes of the small data below


def required_params(kind: str, factory: Callable[..., Any], values: Dict[str, Any]) -> Dict[str, Any]:
    """Test values for the parameters of ``factory`` that have no default, looked up by parameter name in ``values``."""
    out = {}
    for name, param in inspect.signature(factory).parameters.items():
        if param.default is inspect.Parameter.empty and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            if name not in values:
                pytest.fail(f"{kind} parameter {name!r} has no default: add a test value for it to this family's table "
                            f"in tests/test_contracts.py")
            out[name] = values[name]
    return out


# ---------------------------------------------------------------------------------------------- query strategies

#: Test values of strategy parameters without a default, by parameter name.
STRATEGY_REQUIRED = {"delta": 0.5, "sigma": 0.3, "initial_delta": 0.5, "base": "coreset"}
N_POOL, N_LABELED = 80, 12


def _strategy(name: str) -> Any:
    return get_strategy(name, **required_params(f"query strategy {name!r}:", STRATEGIES.get(name), STRATEGY_REQUIRED))


def _strategy_context(labeled: np.ndarray) -> Dict[str, Any]:
    """What the noisy single-annotator loop passes: labels, filter, classes, a way to reveal labels, model outputs."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, C, N_POOL)
    oracle = NoisyOracle.symmetric(truth, 0.3, np.random.default_rng(2), n_classes=C)
    return dict(
        labels=oracle.query(labeled) if labeled.size else np.zeros(0, np.int64),
        oracle=oracle,
        reveal=oracle.query,
        n_classes=C,
        noise_filter=get_filter("knn", min_k=1),
        true_labels=truth,
        pred_probs=rng.dirichlet(np.ones(C), size=N_POOL),
        mc_probs=rng.dirichlet(np.ones(C), size=(3, N_POOL)),
    )


@pytest.mark.parametrize("n_labeled, budget", [(N_LABELED, 13), (0, 5)], ids=["labeled", "cold_start"])
@pytest.mark.parametrize("name", list_strategies())
def test_strategy_picks_distinct_unlabeled_points_reproducibly(name, n_labeled, budget):
    features = np.random.default_rng(0).normal(size=(N_POOL, 6)).astype(np.float32)
    labeled = np.random.default_rng(3).permutation(N_POOL)[:n_labeled]
    picks = [_strategy(name).select(features, labeled, budget, np.random.default_rng(7), **_strategy_context(labeled))
             for _ in range(2)]
    first = picks[0]
    assert first.shape == (budget,) and np.issubdtype(first.dtype, np.integer)
    assert np.unique(first).size == budget, f"{name} picked a point twice: {first}"
    assert first.min() >= 0 and first.max() < N_POOL
    assert not np.isin(first, labeled).any(), f"{name} picked an already labeled point"
    np.testing.assert_array_equal(first, picks[1], err_msg=f"{name}: the same seed gave other picks")


@pytest.mark.parametrize("name", list_strategies())
def test_strategy_budget_zero_picks_nothing(name):
    features = np.random.default_rng(0).normal(size=(N_POOL, 6)).astype(np.float32)
    labeled = np.arange(N_LABELED)
    out = _strategy(name).select(features, labeled, 0, np.random.default_rng(0), **_strategy_context(labeled))
    assert out.shape == (0,)


# -------------------------------------------------------------------------------------------------- noise filters

#: Short training for the filters that train a model (the contract does not need good filters).
FILTER_PARAMS = {"aum": {"epochs": 2}, "cross_validation": {"max_iter": 30}, "confident_learning": {"max_iter": 30}}


def _filter(name: str) -> Any:
    return get_filter(name, **FILTER_PARAMS.get(name, {}))


def _noisy_labeled(n: int = 120, n_labeled: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, C, n)
    features = (rng.normal(size=(C, 6))[truth] * 3 + rng.normal(size=(n, 6))).astype(np.float32)
    labeled = rng.choice(n, n_labeled, replace=False)
    labels = np.where(rng.random(n_labeled) < 0.3, rng.integers(0, C, n_labeled), truth[labeled])
    return features, truth, labeled, labels


@pytest.mark.parametrize("name", list_filters())
def test_noise_filter_returns_a_reproducible_mask_over_the_labeled_points(name):
    features, truth, labeled, labels = _noisy_labeled()
    masks = [_filter(name).clean_mask(features, labeled, labels, np.random.default_rng(5), n_classes=C, true_labels=truth)
             for _ in range(2)]
    mask = np.asarray(masks[0])
    assert mask.dtype == bool and mask.shape == (labeled.size,), (mask.dtype, mask.shape)
    np.testing.assert_array_equal(mask, masks[1], err_msg=f"{name}: the same seed gave another mask")
    empty = _filter(name).clean_mask(features, np.zeros(0, np.int64), np.zeros(0, np.int64), np.random.default_rng(0),
                                     n_classes=C, true_labels=truth)
    assert np.asarray(empty).shape == (0,)


# ------------------------------------------------------------------------------------------------------- learners

#: Few epochs, small batches and the CPU for the learners that train a network.
LEARNER_PARAMS: Dict[str, Dict[str, Any]] = {
    "linear_probe": {"epochs": 5, "device": "cpu"},
    "resnet18_cifar": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16, "augment": False, "device": "cpu"},
    "efficientnet_lite0_finetune": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16, "input_size": 32,
                                    "augment": False, "device": "cpu"},
}


def _learner_inputs(name: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if LEARNERS.metadata(name).get("inputs") == "images":
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)  # tiny CIFAR-like images
    return rng.normal(size=(n, 6)).astype(np.float32)


def _fit_predict(name: str, global_seed: int) -> Any:
    """Fit on 12 inputs of 3 classes (of C) with ``default_rng(0)``, predict 5; torch's and NumPy's global generators
    are set to ``global_seed`` first (and restored after), so a learner that draws from them instead of from the
    ``rng`` it is given gives other outputs for another ``global_seed``."""
    train, test = _learner_inputs(name, 12, seed=0), _learner_inputs(name, 5, seed=1)
    labels = np.arange(12) % (C - 1)  # class C - 1 is never seen: it still gets its column
    learner = get_learner(name, **LEARNER_PARAMS.get(name, {}))
    import torch

    numpy_state = np.random.get_state()
    try:
        np.random.seed(global_seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(global_seed)
            fitted = learner.fit(train, labels, np.random.default_rng(0), n_classes=C)
    except ImportError as exc:  # e.g. the pretrained weights of an image learner come with the images extra
        pytest.skip(f"{name} needs an optional package: {exc}")
    finally:
        np.random.set_state(numpy_state)
    assert fitted is learner, f"{name}.fit must return the learner"
    return learner, test, np.asarray(learner.predict_proba(test))


@pytest.mark.parametrize("name", list_learners())
def test_learner_predicts_one_probability_row_per_input_and_one_column_per_class(name):
    learner, test, p = _fit_predict(name, global_seed=1)
    assert p.shape == (5, C), f"{name}: predict_proba shape {p.shape}, expected (5, {C})"
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(learner.predict(test), p.argmax(axis=1))


#: Learners known to break the contract below (a bug to fix in the learner, not here): the test must fail for them
#: (strict), so that the fix shows up as an unexpected pass and the entry is removed.
#: Learners whose fit still depends on process-wide random state (none: train_sgd forks and seeds torch's global
#: generators from the fit's own rng, so dropout and drop-connect masks follow the rng too).
NOT_REPRODUCIBLE: dict = {}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_REPRODUCIBLE[name]))
    if name in NOT_REPRODUCIBLE else name
    for name in list_learners()
])
def test_learner_outputs_depend_only_on_the_rng_it_is_given(name):
    """The same ``rng`` gives the same model, whatever state the process-wide generators are in (jobs that share a
    process, loky workers or threads, must not change each other's results)."""
    _, _, first = _fit_predict(name, global_seed=1)
    _, _, again = _fit_predict(name, global_seed=2)
    np.testing.assert_allclose(first, again, rtol=1e-6, atol=1e-7,
                               err_msg=f"{name}: the same rng gave other outputs after the global generators changed")


# --------------------------------------------------------------------------------------- multi-annotator methods


def _scoring_inputs(n_models: int, n_labeled: int = 12, n_unlabeled: int = 7, seed: int = 0, **more: Any) -> ScoringInputs:
    rng = np.random.default_rng(seed)
    table = np.full((n_labeled, 4), np.nan)
    for i in range(n_labeled):
        columns = rng.choice(4, size=1 + i % 3, replace=False)
        table[i, columns] = rng.integers(0, C, size=columns.size)
    counts = (~np.isnan(table)).sum(axis=1)
    consensus = np.nan_to_num(table, nan=-1).max(axis=1).astype(np.int64)
    return ScoringInputs(table, consensus, rng.dirichlet(np.ones(C), size=(n_models, n_labeled)),
                         rng.dirichlet(np.ones(C), size=(n_models, n_unlabeled)), counts, C, **more)


@pytest.mark.parametrize("extra", ["plain", "relabelable_and_flagged"])
@pytest.mark.parametrize("name", METHODS.names())
def test_multiannotator_method_scores_every_example_finitely_and_reproducibly(name, extra):
    method = get_method(name)
    more = {} if extra == "plain" else {"relabelable": np.arange(12) % 3 != 0, "flagged": np.arange(12) % 4 == 0}
    inputs = _scoring_inputs(n_models=3 if method.requires_ensemble else 1, **more)
    if extra == "plain" and getattr(method, "requires_flags", False):  # needs the noise filter's flags: says so
        with pytest.raises(ValueError, match="filter"):
            method.score(inputs, np.random.default_rng(0))
        return
    scored = [method.score(inputs, np.random.default_rng(0)) for _ in range(2)]
    labeled, unlabeled = (np.asarray(s, dtype=float) for s in scored[0])
    assert labeled.shape == (12,) and unlabeled.shape == (7,), (labeled.shape, unlabeled.shape)
    assert not np.isnan(labeled).any() and not np.isnan(unlabeled).any()
    for first, again in zip(scored[0], scored[1]):
        np.testing.assert_array_equal(first, again, err_msg=f"{name}: the same seed gave other scores")


# ------------------------------------------------------------------------------------------- consensus functions


@pytest.mark.parametrize("probs", ["none", "one_model", "ensemble"])
@pytest.mark.parametrize("name", CONSENSUS.names())
def test_consensus_gives_one_class_per_example_reproducibly(name, probs):
    inputs = _scoring_inputs(n_models=3)
    pred_probs = {"none": None, "one_model": inputs.pred_probs[0], "ensemble": inputs.pred_probs}[probs]
    consensus = CONSENSUS.get(name)
    out = [np.asarray(consensus(inputs.labels_multiannotator, pred_probs, np.random.default_rng(0))) for _ in range(2)]
    labels = out[0]
    assert labels.shape == (12,) and np.issubdtype(labels.dtype, np.integer)
    assert labels.min() >= 0 and labels.max() < C
    np.testing.assert_array_equal(labels, out[1], err_msg=f"{name}: the same seed gave another consensus")
    table = inputs.labels_multiannotator
    unanimous = np.array([np.unique(row[~np.isnan(row)]).size == 1 and (~np.isnan(row)).sum() >= 2 for row in table])
    if name == "majority_vote":  # a unanimous vote is the majority vote, whatever the model says
        assert np.array_equal(labels[unanimous], np.nanmax(table[unanimous], axis=1).astype(np.int64))


# ----------------------------------------------------------------------------------------------- benchmark YAMLs

YAMLS = sorted(BENCHMARKS.glob("*/*.yaml"))


@pytest.fixture
def no_data(monkeypatch):
    """Any attempt to load a dataset or build a pool fails the test (the settings checks must not need data)."""
    import active_learning.datasets as datasets_module
    import active_learning.pools as pools_module

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("data was loaded by the settings checks")

    monkeypatch.setattr(datasets_module, "load", refuse)
    for name in ("feature_arrays", "build_pool", "build_feature_pool"):
        monkeypatch.setattr(pools_module, name, refuse, raising=False)


def test_there_are_benchmark_yamls():
    assert len(YAMLS) >= 10 and {p.parent.name for p in YAMLS} >= {"wall_robot", "cifar10n", "cifar10h"}


@pytest.mark.parametrize("path", YAMLS, ids=[f"{p.parent.name}/{p.name}" for p in YAMLS])
def test_benchmark_yaml_passes_the_settings_checks_of_run(path, no_data):
    """What ``python -m active_learning run`` checks before it reads any data: the structure (load_config), the task
    and figure metrics, the grid (no job twice) and every job's settings (Task.check_settings)."""
    config = load_config(str(path))
    check_task_config(config, TASKS)
    jobs = expand_jobs(config)
    assert jobs, f"{path.name} expands to no job"
    keys = [job.key for job in jobs]
    assert len(set(keys)) == len(keys), f"{path.name}: a job appears twice"
    get_task(config["task"]).check_settings(jobs)
