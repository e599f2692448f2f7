import json

import numpy as np
import pytest
import yaml

from active_learning.cli import main

from conftest import toy_config


def test_list_prints_every_family(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("benchmarks: ", "wall_robot", "methods: ", "activelab", "models: ", "extra_trees", "datasets: "):
        assert word in out


def test_run_yaml_with_overrides_writes_results_and_figures(tmp_path, capsys):
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(toy_config(seeds=[0])))
    code = main(["run", str(path), "--results-dir", str(tmp_path / "res"), "--set", "loop.rounds=2", "--no-progress", "--methods", "random"])
    assert code == 0
    out = capsys.readouterr().out
    assert "ran 1 job(s)" in out and "toy_rounds.png" in out and "| extra_trees | random |" in out
    assert np.load(tmp_path / "res" / "toy" / "extra_trees" / "random" / "model_accuracy_seed0.npy").shape == (2,)
    meta = json.loads((tmp_path / "res" / "toy" / "extra_trees" / "random" / "run_seed0.json").read_text())
    assert meta["config"]["loop"]["rounds"] == 2
    assert (tmp_path / "res" / "toy" / "figures" / "toy_annotations.png").is_file()
    assert main(["summary", "toy", "--results-dir", str(tmp_path / "res")]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no_such_benchmark"], "no benchmark named 'no_such_benchmark'"),
        (["run", "wall_robot", "--methods", "bald"], "not in this benchmark"),
        (["list", "colours"], "unknown family"),
        (["summary", "wall_robot", "--results-dir", "/nonexistent"], "no finished runs"),
    ],
)
def test_errors_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_wall_robot_file_message(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AL_DATA_MIRROR", raising=False)
    argv = ["run", "wall_robot", "--results-dir", str(tmp_path / "r"), "--data-root", str(tmp_path), "--no-download"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "sensor_readings_4.data" in err and "archive.ics.uci.edu" in err and "--data-mirror" in err
    assert not (tmp_path / "r").exists()


def test_features_command_extracts_and_reports(tmp_path, monkeypatch, capsys):
    import warnings

    import image_helpers as H

    from active_learning.encoders import ENCODERS

    monkeypatch.setitem(ENCODERS._entries, "tiny", H.TinyEncoder)
    for split, n in (("train", 10), ("test", 6)):
        H.make_jpeg_mirror(tmp_path / "mirror" / "cifar10", split, H.random_images(n, seed=n), np.arange(n) % 3)
    argv = ["features", "--dataset", "cifar10", "--encoder", "tiny", "--data-root", str(tmp_path / "root"),
            "--data-mirror", str(tmp_path / "mirror"), "--no-download", "--batch-size", "4", "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
    assert "k-NN" in capsys.readouterr().out
    assert list((tmp_path / "root" / "features" / "cifar10" / "train" / "tiny").glob("*.report.json"))


def _toy_yaml(tmp_path, **changes):
    config = toy_config(rounds=2, seeds=[0])
    config["models"]["extra_trees"] = {"methods": ["random"], "params": {"n_estimators": 10}}
    config.update(changes)
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_ad_hoc_runs_go_to_scratch_and_full_runs_to_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    toy = _toy_yaml(tmp_path)
    assert main(["run", toy, "--seeds", "0", "--no-progress", "--no-figures"]) == 0
    assert "results: results_scratch/toy (ad-hoc run (--seeds)" in capsys.readouterr().out
    assert (tmp_path / "results_scratch" / "toy" / "extra_trees" / "random" / "run_seed0.json").is_file()
    assert not (tmp_path / "results").exists()
    assert main(["run", toy, "--no-progress", "--no-figures"]) == 0
    assert "results: results/toy (full run)" in capsys.readouterr().out
    assert (tmp_path / "results" / "toy" / "extra_trees" / "random" / "run_seed0.json").is_file()
    assert main(["run", toy, "--set", "loop.rounds=3", "--results-dir", "mine", "--no-progress", "--no-figures"]) == 0
    assert "results: mine/toy (--results-dir)" in capsys.readouterr().out
    assert (tmp_path / "mine" / "toy").is_dir()


def test_figures_from_results_are_drawn_into_scratch_unless_told(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    toy = _toy_yaml(tmp_path)
    assert main(["run", toy, "--no-progress", "--no-figures"]) == 0
    assert main(["figures", "toy"]) == 0
    assert "results_scratch/toy/figures/toy_rounds.png" in capsys.readouterr().out
    assert not (tmp_path / "results" / "toy" / "figures").exists()
    assert main(["figures", "toy", "--results-dir", "results"]) == 0
    assert (tmp_path / "results" / "toy" / "figures" / "toy_rounds.png").is_file()


def test_default_data_folder_is_the_working_directory(tmp_path, monkeypatch):
    from active_learning.datasets import default_root

    monkeypatch.delenv("AL_DATA_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_root() == tmp_path / "datasets"
    monkeypatch.setenv("AL_DATA_ROOT", str(tmp_path / "elsewhere"))
    assert default_root() == tmp_path / "elsewhere"


@pytest.mark.parametrize("argv", [["--debug", "run", "no_such"], ["run", "no_such", "--debug"]])
def test_debug_shows_the_traceback(argv):
    from active_learning.config import ConfigError

    with pytest.raises(ConfigError, match="no benchmark named"):
        main(argv)


def _failing_list(monkeypatch, exc):
    import active_learning.cli as cli

    def boom(args):
        raise exc

    monkeypatch.setattr(cli, "_cmd_list", boom)


def test_ctrl_c_says_interrupted_and_exits_130(monkeypatch, capsys):
    _failing_list(monkeypatch, KeyboardInterrupt())
    assert main(["list"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def _library_errors():
    import active_learning.runner as runner

    locked = getattr(runner, "ResultsLockedError", RuntimeError)
    return [
        (runner.ResultsConflictError("results in r/toy conflict:\n  toy/a: other config\nUse --overwrite"), "toy/a"),
        (locked("another run is writing into r/toy"), "another run"),
        (PermissionError(13, "Permission denied", "/r/toy"), "Permission denied: /r/toy"),
        (FileNotFoundError("cannot find a valid copy of 'x.data'"), "x.data"),
        (yaml.YAMLError("bad YAML"), "bad YAML"),
        (TypeError("unsupported operand"), "unsupported operand"),
        (KeyError("unknown thing 'z'"), "unknown thing 'z'"),
        (OSError(28, "No space left on device"), "No space left"),
    ]


@pytest.mark.parametrize("exc, message", _library_errors(), ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "")
def test_library_errors_become_one_line(monkeypatch, capsys, exc, message):
    _failing_list(monkeypatch, exc)
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_a_bug_keeps_its_traceback(monkeypatch):
    _failing_list(monkeypatch, ZeroDivisionError("bug"))
    with pytest.raises(ZeroDivisionError):
        main(["list"])


def test_usage_errors_are_one_line_with_exit_2(capsys):
    assert main(["run", "wall_robot", "--seeds", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds" in err and err.startswith("error: ")
    assert main(["--help"]) == 0
