"""Layering (issue 20, item 3): the generic checks live in utils.validation, config stays below the tasks, the
scikit-learn models are learners, and the lower layers import nothing from above (`make lint` runs the full
import-linter contracts; these tests pin the cases that were broken)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from active_learning.config import check_task_config, validate_structure
from active_learning.utils.validation import ConfigError, UnknownConfigNameError

from conftest import toy_config


def _modules_loaded_by(code: str) -> set:
    """The ``active_learning`` modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport sys\nprint(' '.join(m for m in sys.modules if m.startswith('active_learning')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_config_validation_does_not_import_the_tasks() -> None:
    loaded = _modules_loaded_by(
        "import sys; sys.path.insert(0, 'tests')\n"
        "from conftest import toy_config\n"
        "from active_learning.config import validate_structure\n"
        "validate_structure(toy_config())"
    )
    assert "active_learning.config" in loaded and "active_learning.tasks" not in loaded


def test_noise_filters_do_not_import_the_strategies() -> None:
    loaded = _modules_loaded_by("import active_learning.noise_filters")
    assert "active_learning.noise_filters._base" in loaded
    assert not {m for m in loaded if m.startswith("active_learning.strategies")}


def test_check_task_config_checks_the_task_name_and_figure_metrics() -> None:
    from active_learning.tasks import TASKS, MultiAnnotatorTask

    config = toy_config(figure={"metrics": ["model_accuracy"]})
    validate_structure(config)
    assert check_task_config(config, TASKS) is MultiAnnotatorTask

    wrong_task = toy_config(task="nope")
    validate_structure(wrong_task)  # the task name is checked where the task registry is known
    with pytest.raises(UnknownConfigNameError, match=r"toy: task: unknown task 'nope'"):
        check_task_config(wrong_task, TASKS)

    wrong_metric = toy_config(figure={"metrics": ["accuracy_of_doom"]})
    validate_structure(wrong_metric)
    with pytest.raises(ConfigError, match=r"figure.metrics: unknown metric\(s\) \['accuracy_of_doom'\]"):
        check_task_config(wrong_metric, TASKS)


def test_validate_structure_still_refuses_a_task_that_is_not_a_name() -> None:
    with pytest.raises(ConfigError, match="task must be the name of a registered task"):
        validate_structure(toy_config(task=3))


def test_register_model_makes_a_scikit_learn_learner() -> None:
    from sklearn.tree import DecisionTreeClassifier

    from active_learning.learners import LEARNERS, get_learner, make_estimator, register_model, sklearn_factory

    name = "test_layering_tree"

    def tree(random_state: int, **params: Any) -> DecisionTreeClassifier:
        """A depth-limited tree."""
        params.setdefault("max_depth", 2)
        return DecisionTreeClassifier(random_state=random_state, **params)

    try:
        assert register_model(name)(tree) is tree
        assert LEARNERS.metadata(name) == {"family": "scikit-learn", "inputs": "features"}
        assert sklearn_factory(name) is tree and sklearn_factory("linear_probe") is None
        estimator = make_estimator(name, 7, max_depth=3)
        assert isinstance(estimator, DecisionTreeClassifier) and estimator.random_state == 7 and estimator.max_depth == 3
        X = np.random.default_rng(0).normal(size=(30, 2))
        y = (X[:, 0] > 0).astype(np.int64)
        learner = get_learner(name).fit(X, y, np.random.default_rng(1))
        assert learner.predict_proba(X).shape == (30, 2)
        with pytest.raises(TypeError, match="max_dept"):
            get_learner(name, max_dept=3)  # a typo fails when the learner is built, not at fit
    finally:
        LEARNERS._entries.pop(name, None)  # keep the registry (and the `list` snapshot) as shipped
        LEARNERS._metadata.pop(name, None)


def test_the_models_package_is_gone() -> None:
    """``models/`` was folded into ``learners/`` (one registry of classifiers)."""
    import importlib.util

    assert importlib.util.find_spec("active_learning.models") is None


def test_oracle_refuses_a_missing_generator_with_the_shared_message() -> None:
    from active_learning.oracle import NoisyOracle

    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator .*got NoneType"):
        NoisyOracle.symmetric([0, 1, 0, 1], 0.5, None, n_classes=2)  # type: ignore[arg-type]
