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
