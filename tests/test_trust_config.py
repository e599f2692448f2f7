"""Configs users can trust (issue 19, cases 2-6): every ``--set`` is applied, on top of every variant, and checked;
every method and variant is validated before any data is loaded; outputs never overwrite each other; a YAML key
given twice is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pandas as pd
import pytest
import yaml

import active_learning.datasets as datasets_module
import active_learning.pools as pools_module
from active_learning.cli import _flattened, build_parser, main
from active_learning.config import (
    ConfigError,
    UniqueKeyLoader,
    expand_jobs,
    list_benchmarks,
    load_config,
    load_yaml,
    parse_overrides,
)
from active_learning.runner import run_grid
from active_learning.tasks import MultiAnnotatorTask

from conftest import nas_toy_config, toy_config


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def write_yaml(folder: Path, config: Dict[str, Any], name: str = "toy.yaml") -> str:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def no_data(monkeypatch):
    """Any attempt to load a dataset, build features or a multi-annotator pool fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("data was loaded before the config was fully validated")

    monkeypatch.setattr(datasets_module, "load", refuse)
    monkeypatch.setattr(pools_module, "feature_arrays", refuse)
    monkeypatch.setattr(MultiAnnotatorTask, "_validated_pool", refuse)


# ------------------------------------------------------------------------------------- case 2: --set A --set B


def test_repeated_set_flags_all_apply(tmp_path, capsys):
    toy = write_yaml(tmp_path, toy_config(seeds=[0]))
    argv = ["run", toy, "--results-dir", str(tmp_path / "res"), "--no-progress", "--no-figures", "--methods", "random",
            "--set", "loop.rounds=2", "--set", "loop.batch_size=10", "data.seed=7"]
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "res" / "toy" / "extra_trees" / "random" / "run_seed0.json").read_text())
    assert meta["rounds"] == 2 and meta["config"]["loop"]["rounds"] == 2
    assert meta["config"]["loop"]["batch_size"] == 10 and meta["config"]["data"]["seed"] == 7


@pytest.mark.parametrize("flags", [
    ["--set", "a=1", "b=2", "c=3"],
    ["--set", "a=1", "--set", "b=2", "--set", "c=3"],
    ["--set", "a=1", "b=2", "--set", "c=3"],
])
def test_both_set_forms_give_every_pair_in_order(flags):
    args = build_parser().parse_args(["run", "toy", *flags])
    assert _flattened(args.set) == ["a=1", "b=2", "c=3"]


def test_repeated_encoder_param_flags_all_apply():
    args = build_parser().parse_args(["features", "--dataset", "cifar10", "--encoder-param", "a=1",
                                      "--encoder-param", "b=2"])
    assert parse_overrides(_flattened(args.encoder_param)) == {"a": 1, "b": 2}


def test_a_key_set_twice_is_refused(tmp_path, capsys):
    toy = write_yaml(tmp_path, toy_config(seeds=[0]))
    assert main(["run", toy, "--results-dir", str(tmp_path / "res"), "--set", "loop.rounds=2",
                 "--set", "loop.rounds=3"]) == 2
    assert "loop.rounds is given twice" in one_line_error(capsys)
    assert not (tmp_path / "res").exists()


# ---------------------------------------------------------------------------- case 3: overrides beat variants


def variant_config() -> Dict[str, Any]:
    config = toy_config(rounds=2, seeds=[0])
    config["variants"] = [{"name": "a", "loop": {"batch_size": 10}}, {"name": "b", "loop": {"batch_size": 15}}]
    config["models"]["extra_trees"]["methods"] = ["random", {"name": "single", "method": "entropy",
                                                             "loop": {"batch_size": 5}}]
    return config


def test_an_override_applies_on_top_of_every_variant_and_method_entry():
    overrides = {"loop": {"batch_size": 7}, "data": {"seed": 9}}
    jobs = expand_jobs(variant_config(), overrides=overrides)
    assert len(jobs) == 4
    assert {job.resolved["loop"]["batch_size"] for job in jobs} == {7}
    assert {job.resolved["data"]["seed"] for job in jobs} == {9}
    # without overrides the variants and the entry keep their own settings (identities unchanged)
    assert sorted(job.resolved["loop"]["batch_size"] for job in expand_jobs(variant_config())) == [5, 5, 10, 15]


def test_run_grid_applies_overrides_to_the_jobs_it_writes(tmp_path):
    report = run_grid(variant_config(), results_dir=tmp_path, backend="sequential", progress=False,
                      methods=["random"], variants=["b"], overrides={"loop": {"batch_size": 7}})
    assert report.ran == ["toy/b/extra_trees/random#seed0"]
    meta = json.loads((tmp_path / "toy" / "b" / "extra_trees" / "random" / "run_seed0.json").read_text())
    assert meta["config"]["loop"]["batch_size"] == 7
    assert np.load(tmp_path / "toy" / "b" / "extra_trees" / "random" / "n_annotations_seed0.npy")[-1] > 0


def test_a_bad_override_shadowed_by_every_variant_is_still_checked(tmp_path, capsys, no_data):
    """cifar10n: every variant sets its own loop, so `--set loop.filter=...` used to be dropped unchecked."""
    argv = ["run", "cifar10n", "--set", "loop.filter=tyop", "--results-dir", str(tmp_path / "res"), "--no-progress",
            "--no-figures", "--data-root", str(tmp_path / "empty"), "--no-download"]
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert "loop" in err and ".filter" in err and "'tyop'" in err, err
    assert not (tmp_path / "res" / "cifar10n").exists()


def test_a_valid_override_reaches_every_cifar10n_job():
    overrides = parse_overrides(["loop.filter=knn", "loop.train_on_all=true"])
    jobs = expand_jobs(load_config("cifar10n", overrides), overrides=overrides)
    assert len(jobs) == 1800
    assert {(job.resolved["loop"]["filter"], job.resolved["loop"]["train_on_all"]) for job in jobs} == {("knn", True)}


# ------------------------------------------------------------------ case 4: every config checked before any data


def nas_config(**changes: Any) -> Dict[str, Any]:
    return nas_toy_config(**changes)


def test_a_bad_parameter_in_a_later_method_is_found_before_any_data(tmp_path, no_data):
    config = nas_config()
    config["models"]["one_nn"]["methods"][1]["params"]["delta"] = -3
    with pytest.raises(ConfigError, match=r"methods\[npc\]\.params.*delta"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_a_bad_setting_in_a_later_variant_is_found_before_any_data(tmp_path, no_data):
    config = nas_config(variants=[{"name": "ok"}, {"name": "bad", "loop": {"filter": "knn", "filter_params": {"k": -1}}}])
    with pytest.raises(ConfigError, match=r"variant bad"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_a_budget_larger_than_a_known_train_split_is_found_before_any_image(tmp_path, no_data):
    config = nas_config(dataset={"name": "cifar10", "encoder": "efficientnet_lite0"})
    config["data"] = {"noise": {"type": "symmetric", "rate": 0.2}, "budget": {"samples_per_class": [1, 6000]}}
    with pytest.raises(ConfigError, match=r"needs 75000 labels .* cifar10 train split, has 50000"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_real_noise_budgets_are_checked_at_their_lowest_rate(tmp_path, no_data):
    config = nas_config(dataset={"name": "cifar10n", "noise_type": "worse", "encoder": "efficientnet_lite0"})
    config["data"] = {"noise": {"type": "real"}, "budget": {"samples_per_class": [1, 5001]}}  # >= 50,010 labels
    with pytest.raises(ConfigError, match=r"at least 0\)"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_a_bad_method_after_the_first_is_found_before_the_multiannotator_pool(tmp_path, no_data):
    config = toy_config(rounds=2, seeds=[0])
    config["models"]["extra_trees"]["methods"] = ["random", {"method": "activelab", "params": {"calibrate": "x"}}]
    with pytest.raises(ConfigError, match="calibrate"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_more_labels_than_cifar10n_workers_can_give_are_found_before_the_pool(tmp_path, no_data):
    config = toy_config(rounds=40, seeds=[0], dataset={"name": "cifar10n", "encoder": "efficientnet_lite0"})
    config["data"] = {"pool": "cifar10n_annotators", "pool_size": 100, "n_initial": 10}
    config["loop"] = {"rounds": 40, "batch_size": 10, "n_folds": 2, "annotator_columns": "true_identity"}
    config["models"] = {"linear_probe": {"methods": ["random"]}}
    with pytest.raises(ConfigError, match=r"ask for 390 new labels.*only 290 more"):
        run_grid(config, results_dir=tmp_path, backend="sequential", progress=False)


def test_a_label_file_asked_for_more_labels_than_it_holds_is_refused_before_any_job(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    truth = np.arange(40) % 2
    rows = [{"example": e, "annotator": a, "label": int(truth[e])} for e in range(40) for a in rng.choice(4, 2, replace=False)]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "features.npy", truth[:, None] + rng.normal(size=(40, 3)))
    np.save(tmp_path / "truth.npy", truth)
    config = {
        "name": "byo", "task": "multiannotator",
        "data": {"pool": "label_file", "labels": "labels.csv", "features": "features.npy", "true_labels": "truth.npy",
                 "n_initial": 10, "test_fraction": 0.25, "n_classes": 2},
        "loop": {"rounds": 30, "batch_size": 10, "n_folds": 2, "annotator_columns": "true_identity"},
        "seeds": [0], "models": {"logistic_regression": {"methods": ["random"]}},
    }
    write_yaml(tmp_path, config, "byo.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "byo.yaml", "--results-dir", "res", "--no-progress", "--no-figures"]) == 2
    err = one_line_error(capsys)
    assert "ask for 290 new labels" in err and "label file holds 60 labels" in err and "loop.rounds" in err, err
    assert not list((tmp_path / "res").rglob("*.npy"))


@pytest.mark.parametrize("name", ["cifar10n", "cifar100", "clothing1m", "cifar10h", "cifar10n_annotators"])
def test_every_shipped_config_passes_the_settings_checks_without_data(name, no_data):
    from active_learning.tasks import get_task

    config = load_config(name)
    get_task(config["task"]).check_settings(expand_jobs(config))


# ------------------------------------------------------------------------------ case 5: colliding output files


@pytest.fixture
def suggest_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    truth = np.arange(30) % 2
    rows = [{"example": e, "annotator": a, "label": int(truth[e])} for e in range(20) for a in range(2)]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "features.npy", truth[:, None] + rng.normal(size=(30, 3)))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def suggest(*extra: str) -> List[str]:
    return ["suggest", "--labels", "labels.csv", "--features", "features.npy", "--batch-size", "3",
            "--n-folds", "2", *extra]


@pytest.mark.parametrize("out, other", [("F.csv", "F.csv"), ("F.csv", "./sub/../F.csv")])
def test_batch_and_consensus_written_to_one_file_are_refused(suggest_files, capsys, out, other):
    (suggest_files / "sub").mkdir()
    assert main(suggest("--out", out, "--consensus-out", other)) == 2
    err = one_line_error(capsys)
    assert "--out" in err and "--consensus-out" in err and "same file" in err, err
    assert not (suggest_files / "F.csv").exists()


def test_an_output_over_an_input_file_is_refused(suggest_files, capsys):
    before = (suggest_files / "labels.csv").read_bytes()
    assert main(suggest("--out", "labels.csv")) == 2
    assert "--labels" in one_line_error(capsys)
    assert (suggest_files / "labels.csv").read_bytes() == before


def test_an_output_through_a_symlink_is_the_same_file(suggest_files, capsys):
    (suggest_files / "F.csv").write_text("old")
    (suggest_files / "link.csv").symlink_to(suggest_files / "F.csv")
    assert main(suggest("--out", "F.csv", "--consensus-out", "link.csv")) == 2
    assert "same file" in one_line_error(capsys)


def test_distinct_outputs_are_both_written(suggest_files, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(suggest("--out", "batch.csv", "--consensus-out", "consensus.csv")) == 0
    assert (suggest_files / "batch.csv").is_file() and (suggest_files / "consensus.csv").is_file()


# ------------------------------------------------------------------------------ case 6: duplicate YAML keys


@pytest.mark.parametrize("text, key, line", [
    ("name: toy\nloop: {rounds: 2}\nseeds: [0]\nloop: {rounds: 3}\n", "'loop'", 4),
    ("name: toy\nloop:\n  rounds: 2\n  batch_size: 5\n  rounds: 20\n", "'rounds'", 5),
    ("name: toy\nmodels: {extra_trees: {methods: [random], params: {n_estimators: 5, n_estimators: 9}}}\n",
     "'n_estimators'", 2),
])
def test_a_duplicate_yaml_key_is_refused_with_its_line(tmp_path, capsys, text, key, line):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    assert main(["run", str(path), "--results-dir", str(tmp_path / "res")]) == 2
    err = one_line_error(capsys)
    assert f"duplicate key {key} at line {line}" in err and "dup.yaml" in err, err


def test_a_duplicate_key_in_a_set_value_is_refused():
    with pytest.raises(ConfigError, match="'rounds' twice"):
        parse_overrides(["loop={rounds: 2, rounds: 3}"])


def test_merge_keys_may_still_be_overridden():
    text = "base: &b {rounds: 2, batch_size: 5}\nloop:\n  <<: *b\n  rounds: 3\n"
    assert load_yaml(text)["loop"] == {"rounds": 3, "batch_size": 5}
    assert yaml.load("a: 1", Loader=UniqueKeyLoader) == {"a": 1}


def test_every_shipped_benchmark_yaml_has_unique_keys():
    for name in list_benchmarks():
        load_config(name)


def test_repeated_subset_flags_add_up():
    """`--methods a --methods b` (and --seeds, --models, --variants) keep every value, as `--set` does."""
    from active_learning.cli import build_parser

    args = build_parser().parse_args(["run", "toy", "--methods", "a", "--methods", "b", "c", "--seeds", "0", "--seeds", "2",
                                      "--models", "m", "--models", "n", "--variants", "v", "--variants", "w"])
    assert args.methods == ["a", "b", "c"] and args.seeds == [0, 2]
    assert args.models == ["m", "n"] and args.variants == ["v", "w"]
