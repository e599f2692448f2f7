"""Results users can trust on their own data: the Python API takes what the command line takes.

Class names as labels, models as one name, string annotator ids, example ids mapped to feature rows, declared
class sets, the annotator table of `suggest`, and one-line errors (naming the bad label and the class count) where
CROWDLAB gets labels its probabilities have no column for. Each test fails on the code before issue 19 part C.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from active_learning.cli import main
from active_learning.multiannotator import crowdlab, suggest_next_batch
from active_learning.multiannotator.consensus import crowdlab_fit, majority_vote_labels
from active_learning.multiannotator.data import ClassesInferredWarning, class_map, rows_of_ids
from active_learning.pools import build_pool

NAMES = np.array(["cat", "dog", "eel"])


def labels_and_features(n: int = 150, n_labeled: int = 60, seed: int = 0):
    """Three separable classes, 6 annotators of rising accuracy, 1-3 labels per labeled example."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % 3
    features = rng.normal(size=(n, 5)) + 2.5 * np.eye(3)[truth] @ rng.normal(size=(3, 5))
    accuracy = np.linspace(0.5, 0.95, 6)
    rows = []
    for example in range(n_labeled):
        for annotator in rng.choice(6, size=1 + example % 3, replace=False):
            good = rng.random() < accuracy[annotator]
            rows.append((example, int(annotator), int(truth[example] if good else rng.integers(0, 3))))
    return pd.DataFrame(rows, columns=["example", "annotator", "label"]), features, truth


def quiet_suggest(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClassesInferredWarning)
        return suggest_next_batch(*args, **kwargs)


# ------------------------------------------------------------------------------------- case 1: class names


def test_class_names_as_labels_give_the_same_suggestion_in_the_users_names():
    labels, features, _ = labels_and_features()
    plain = suggest_next_batch(labels, features, batch_size=12, n_classes=3, seed=0)
    named = quiet_suggest(labels.assign(label=NAMES[labels["label"]]), features, batch_size=12, seed=0)
    pd.testing.assert_frame_equal(plain.batch, named.batch)
    assert named.info["classes"] == ["cat", "dog", "eel"] and plain.info["classes"] == [0, 1, 2]
    assert list(named.consensus["consensus_label"]) == list(NAMES[plain.consensus["consensus_label"]])
    assert named.annotators.equals(plain.annotators)


def test_declared_classes_fix_the_order_and_refuse_unknown_names():
    labels, features, _ = labels_and_features()
    order = ["eel", "cat", "dog"]  # a user order, not sorted
    named = labels.assign(label=NAMES[labels["label"]])
    out = suggest_next_batch(named, features, batch_size=8, classes=order, seed=0)
    assert out.info["classes"] == order and not out.info["classes_inferred"]
    assert set(out.consensus["consensus_label"]) <= set(order)
    typo = named.copy()
    typo.loc[4, "label"] = "dgo"
    with pytest.raises(ValueError, match=r"'dgo'") as error:
        suggest_next_batch(typo, features, batch_size=8, classes=order)
    assert "\n" not in str(error.value) and "classes" in str(error.value)
    # a class that no one has used yet still counts when declared
    more = suggest_next_batch(named, features, batch_size=8, classes=["cat", "dog", "eel", "fox"], seed=0)
    assert more.info["classes"][-1] == "fox"


def test_inferred_classes_warn_and_name_them():
    labels, features, _ = labels_and_features()
    with pytest.warns(ClassesInferredWarning, match=r"\['cat', 'dog', 'eel'\]"):
        suggest_next_batch(labels.assign(label=NAMES[labels["label"]]), features, batch_size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClassesInferredWarning)  # declared: no warning
        suggest_next_batch(labels, features, batch_size=5, n_classes=3)


# ------------------------------------------------------------------------------- case 2: models as a string


def test_models_as_one_name_or_a_list():
    labels, features, _ = labels_and_features()
    one = suggest_next_batch(labels, features, batch_size=6, n_classes=3, models="logistic_regression", seed=2)
    listed = suggest_next_batch(labels, features, batch_size=6, n_classes=3, models=["logistic_regression"], seed=2)
    pd.testing.assert_frame_equal(one.batch, listed.batch)
    assert one.info["models"] == ["logistic_regression"]
    for bad in ([], 3, ["logistic_regression", ""]):
        with pytest.raises(ValueError, match="models must be"):
            suggest_next_batch(labels, features, batch_size=6, n_classes=3, models=bad)


# ------------------------------------------------------------------ case 3: CROWDLAB labels beyond n_classes


@pytest.mark.parametrize("bad_label", [5.0, 3.0, -1.0, 1.5])
def test_crowdlab_label_outside_the_classes_is_one_line_naming_it(bad_label):
    rng = np.random.default_rng(0)
    wide = np.array([[0, 1, np.nan], [2, 2, 1], [0, 0, 0], [1, bad_label, 1]], float)
    probs = np.full((4, 3), 1 / 3)
    for call in (lambda: crowdlab(wide, probs, rng), lambda: crowdlab_fit(wide, probs, rng),
                 lambda: crowdlab_fit(wide, np.stack([probs, probs]), rng),
                 lambda: majority_vote_labels(wide, probs, rng)):
        with pytest.raises(ValueError) as error:
            call()
        message = str(error.value)
        assert "\n" not in message and f"{bad_label:g}" in message and "n_classes=3" in message, message


def test_crowdlab_rows_must_match_the_probabilities():
    wide = np.array([[0, 1], [1, 1], [0, 0]], float)
    with pytest.raises(ValueError, match="3 rows of labels"):
        crowdlab_fit(wide, np.full((4, 2), 0.5), np.random.default_rng(0))


# -------------------------------------------------------------------- case 4: any hashable annotator ids


@pytest.mark.parametrize("as_id", [lambda a: f"worker-{a}", lambda a: ("team", int(a)), lambda a: int(a) - 10])
def test_annotator_ids_of_any_hashable_kind(as_id):
    labels, features, _ = labels_and_features()
    plain = suggest_next_batch(labels, features, batch_size=10, n_classes=3, seed=1)
    renamed = labels.assign(annotator=[as_id(a) for a in labels["annotator"]])
    out = suggest_next_batch(renamed, features, batch_size=10, n_classes=3, seed=1)
    pd.testing.assert_frame_equal(plain.batch, out.batch)
    assert list(out.annotators["annotator"]) == [as_id(a) for a in plain.annotators["annotator"]]
    assert np.allclose(out.annotators["weight"], plain.annotators["weight"])


def test_missing_annotator_id_is_one_line():
    labels, features, _ = labels_and_features()
    spoiled = labels.assign(annotator=labels["annotator"].astype(object))
    spoiled.loc[3, "annotator"] = None
    with pytest.raises(ValueError, match="missing id"):
        suggest_next_batch(spoiled, features, batch_size=5, n_classes=3)


# ------------------------------------------------------------------------------ case 6: example ids -> rows


def test_example_ids_map_to_feature_rows_and_come_back():
    labels, features, _ = labels_and_features()
    ids = np.array([f"img-{r:04d}" for r in range(features.shape[0])])[::-1].copy()  # row r has id ids[r]
    position = {v: r for r, v in enumerate(ids)}
    plain = suggest_next_batch(labels, features, batch_size=10, n_classes=3, seed=0)
    by_id = labels.assign(example=ids[labels["example"]])
    out = suggest_next_batch(by_id, features, batch_size=10, n_classes=3, ids=list(ids), seed=0)
    assert [position[v] for v in out.batch["example"]] == list(plain.batch["example"])
    assert [position[v] for v in out.consensus["example"]] == list(plain.consensus["example"])
    with pytest.raises(ValueError, match=r"not in ids, e.g. 'img-9999'"):
        suggest_next_batch(by_id.assign(example=by_id["example"].where(by_id.index != 0, "img-9999")), features,
                           batch_size=10, n_classes=3, ids=list(ids))
    twice = ids.copy()
    twice[5] = twice[6]
    with pytest.raises(ValueError, match="more than one row"):
        suggest_next_batch(by_id, features, batch_size=10, n_classes=3, ids=list(twice))
    with pytest.raises(ValueError, match="one id per row"):
        suggest_next_batch(by_id, features, batch_size=10, n_classes=3, ids=list(ids[:-1]))


def test_rows_of_ids_match_text_typed_ids():
    assert list(rows_of_ids(["7", 3], [3, 7, 9], "labels")) == [1, 0]


# --------------------------------------------------------- cases 1, 5, 6 through the command line (suggest)


def run_cli(argv, folder: Path):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_suggest_command_writes_the_annotator_table_with_names_and_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    labels, features, _ = labels_and_features()
    ids = np.array([f"img-{r}" for r in range(features.shape[0])])
    labels.assign(example=ids[labels["example"]], annotator=[f"w{a}" for a in labels["annotator"]],
                  label=NAMES[labels["label"]]).to_csv("labels.csv", index=False)
    pd.DataFrame({"id": ids}).to_csv("ids.csv", index=False)
    np.save("features.npy", features)
    base = ["suggest", "--labels", "labels.csv", "--features", "features.npy", "--batch-size", "9", "--ids", "ids.csv"]
    code, out, err = run_cli(base + ["--classes", "cat", "dog", "eel", "--consensus-out", "consensus.csv",
                                     "--annotators-out", "annotators.csv"], tmp_path)
    assert code == 0, err
    assert err == "" and "annotators.csv" in out
    table = pd.read_csv("annotators.csv")
    assert list(table.columns) == ["annotator", "n_labels", "agreement", "weight"]
    assert sorted(table["annotator"]) == [f"w{a}" for a in range(6)] and table["n_labels"].sum() == len(labels)
    consensus = pd.read_csv("consensus.csv")
    assert set(consensus["consensus_label"]) <= set(NAMES) and consensus["example"].str.startswith("img-").all()
    assert pd.read_csv("next_batch.csv")["example"].str.startswith("img-").all()
    # without --classes: one warning line naming the classes, then the results
    code, out, err = run_cli(base, tmp_path)
    assert code == 0 and err.count("\n") == 1 and err.startswith("warning: ") and "'cat', 'dog', 'eel'" in err
    assert "--n-classes or --classes" in err
    # a typo among declared classes and an unknown id: one error line each, nothing written
    Path("next_batch.csv").unlink()
    code, _, err = run_cli(base + ["--classes", "cat", "dog"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "'eel'" in err and not Path("next_batch.csv").exists()
    pd.DataFrame({"id": ids[:-1].tolist() + ["img-0"]}).to_csv("dup.csv", index=False)
    code, _, err = run_cli(base[:-1] + ["dup.csv"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "'img-0'" in err and "more than one row" in err


def test_suggest_command_reads_integer_classes_typed_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    labels, features, _ = labels_and_features()
    labels.to_csv("labels.csv", index=False)
    np.save("features.npy", features)
    code, _, err = run_cli(["suggest", "--labels", "labels.csv", "--features", "features.npy", "--batch-size", "4",
                            "--classes", "0", "1", "2", "--consensus-out", "c.csv"], tmp_path)
    assert code == 0 and err == "", err
    assert set(pd.read_csv("c.csv")["consensus_label"]) <= {0, 1, 2}
    code, _, err = run_cli(["suggest", "--labels", "labels.csv", "--features", "features.npy", "--batch-size", "4",
                            "--n-classes", "2"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "n_classes=2" in err and "outside 0..1" in err


def test_readme_names_the_annotator_table_option():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "--annotators-out" in readme
    from active_learning.cli import build_parser

    assert "--annotators-out" in build_parser()._subparsers._group_actions[0].choices["suggest"].format_help()


# ------------------------------------------------------------ cases 6, 7: label_file pools (ids, classes)


def byo_files(folder: Path, n: int = 90, n_classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % n_classes
    rows = []
    for example in range(n):
        for name in rng.choice([f"w{c}" for c in "abcdefg"], size=1 + example % 3, replace=False):
            label = truth[example] if rng.random() < 0.8 else rng.integers(n_classes)
            rows.append({"example": example, "annotator": name, "label": int(label)})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "labels.csv", index=False)
    np.save(folder / "features.npy", rng.normal(size=(n, 4)) + 3.0 * np.eye(n_classes, 4)[truth])
    np.save(folder / "truth.npy", truth)
    return table, truth


def data_section(**more):
    return {"pool": "label_file", "labels": "labels.csv", "features": "features.npy", "true_labels": "truth.npy",
            "n_initial": 20, "test_fraction": 0.3, **more}


def same_pool(a, b):
    assert a.n_classes == b.n_classes
    pd.testing.assert_frame_equal(a.initial, b.initial)
    assert np.array_equal(a.y_pool, b.y_pool) and np.array_equal(a.X_pool, b.X_pool)
    pd.testing.assert_frame_equal(a.source.table, b.source.table)


def test_label_file_with_ids_equals_the_row_numbered_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table, _ = byo_files(tmp_path)
    reference = build_pool({}, data_section(n_classes=3))
    ids = np.array([f"item{r * 7 % 90:02d}x{r}" for r in range(90)])
    table.assign(example=ids[table["example"]]).to_csv("labels_ids.csv", index=False)
    pd.DataFrame({"id": ids}).to_csv("ids.csv", index=False)
    np.save("ids.npy", ids)
    for ids_file in ("ids.csv", "ids.npy"):
        same_pool(reference, build_pool({}, data_section(labels="labels_ids.csv", ids=ids_file, n_classes=3)))
    table.assign(example=ids[table["example"]]).assign(
        example=lambda t: t["example"].where(t.index != 2, "nope")).to_csv("bad.csv", index=False)
    with pytest.raises(ValueError, match=r"not in ids file ids.csv, e.g. 'nope'"):
        build_pool({}, data_section(labels="bad.csv", ids="ids.csv", n_classes=3))
    pd.DataFrame({"id": list(ids[:-1]) + [ids[0]]}).to_csv("dup.csv", index=False)
    with pytest.raises(ValueError, match="more than one row"):
        build_pool({}, data_section(labels="labels_ids.csv", ids="dup.csv", n_classes=3))


def test_label_file_names_and_declared_classes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table, truth = byo_files(tmp_path)
    reference = build_pool({}, data_section(n_classes=3))
    table.assign(label=NAMES[table["label"]]).to_csv("named.csv", index=False)
    np.save("truth_named.npy", NAMES[truth])
    # names with string truth, names with integer (code) truth, explicit classes: the same pool
    with pytest.warns(ClassesInferredWarning, match="'cat', 'dog', 'eel'"):
        same_pool(reference, build_pool({}, data_section(labels="named.csv", true_labels="truth_named.npy")))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClassesInferredWarning)
        same_pool(reference, build_pool({}, data_section(labels="named.csv", classes=["cat", "dog", "eel"])))
        pool = build_pool({}, data_section(labels="named.csv", true_labels="truth_named.npy",
                                           classes=["cat", "dog", "eel"]))
    assert pool.info["classes"] == ["cat", "dog", "eel"] and not pool.info["classes_inferred"]
    table.assign(label=NAMES[table["label"]]).assign(label=lambda t: t["label"].where(t.index != 3, "cta")).to_csv(
        "typo.csv", index=False)
    with pytest.raises(ValueError, match=r"'cta'.*declare it in classes"):
        build_pool({}, data_section(labels="typo.csv", classes=["cat", "dog", "eel"]))


def test_label_file_typo_adds_no_class_silently(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table, _ = byo_files(tmp_path)
    table.assign(label=table["label"].where(table.index != 4, 7)).to_csv("typo.csv", index=False)
    with pytest.raises(ValueError, match=r"label outside 0..2 \(e.g. 7\) with n_classes=3"):
        build_pool({}, data_section(labels="typo.csv", n_classes=3))
    with pytest.raises(ValueError, match=r"not one of the 3 classes.*e.g. 7"):
        build_pool({}, data_section(labels="typo.csv", classes=[0, 1, 2]))
    # undeclared: it still runs (backwards compatible) but says which classes it found
    with pytest.warns(ClassesInferredWarning, match=r"n_classes=8 from the labels found \[0, 1, 2, 7\]"):
        pool = build_pool({}, data_section(labels="typo.csv"))
    assert pool.n_classes == 8 and pool.info["classes_inferred"]


def test_label_file_benchmark_with_names_through_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table, truth = byo_files(tmp_path)
    table.assign(label=NAMES[table["label"]]).to_csv("named.csv", index=False)
    config = {"name": "named", "task": "multiannotator",
              "data": data_section(labels="named.csv", classes=["cat", "dog", "eel"]),
              "loop": {"rounds": 2, "batch_size": 10, "n_folds": 2, "annotator_columns": "true_identity"},
              "seeds": [0], "models": {"logistic_regression": {"methods": ["random"]}}}
    Path("named.yaml").write_text(yaml.safe_dump(config))
    code, out, err = run_cli(["run", "named.yaml", "--results-dir", "res", "--no-progress", "--no-figures"], tmp_path)
    assert code == 0, err
    assert np.load("res/named/logistic_regression/random/n_annotations_seed0.npy").tolist() == [20, 30]
    Path("named.yaml").write_text(yaml.safe_dump({**config, "data": data_section(labels="named.csv", classes="cat")}))
    code, _, err = run_cli(["run", "named.yaml", "--results-dir", "res2", "--no-progress"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "classes" in err


def test_class_map_rules():
    assert class_map([2, 0, 1]).classes == (0, 1, 2) and class_map([2, 0, 1]).inferred
    assert class_map([0, 1], n_classes=4).classes == (0, 1, 2, 3)
    assert class_map(["b", "a"]).classes == ("a", "b")
    with pytest.raises(ValueError, match="n_classes=3 but the labels hold 2 distinct names"):
        class_map(["b", "a"], n_classes=3)
    with pytest.raises(ValueError, match="twice"):
        class_map(classes=["a", "a"])
    with pytest.raises(ValueError, match="n_classes=2 but classes lists 3"):
        class_map(classes=["a", "b", "c"], n_classes=2)
    with pytest.raises(ValueError, match="missing"):
        class_map(["a", None])
