"""The coverage diagnostic on data whose answer is known, its verdicts, the CLI and the benchmark record."""

from __future__ import annotations

import json
import numpy as np
import pytest

from active_learning.cli import main
from active_learning.diagnostics import ball_statistics, diagnose_coverage, probcover_coverage
from active_learning.diagnostics.benchmark import dataset_key, radii_by_dataset, verdict_lines


def _clusters(n_per: int = 150, C: int = 4, dim: int = 16, spread: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:C]  # pairwise distance sqrt(2) on the unit sphere
    y = np.repeat(np.arange(C), n_per)
    X = centres[y] + spread * rng.normal(size=(y.size, dim))
    return X.astype(np.float32), y


def _uniform(n: int = 600, dim: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32), rng.integers(0, 4, n)


def test_separated_clusters_give_large_pure_balls_and_the_premise_holds():
    X, y = _clusters()
    diag = diagnose_coverage(X, y, deltas=[0.5, 0.75], deltas_of_interest=[0.75], n_centres=300, samples_per_class=(1, 2))
    row = diag.ball_row(0.75)
    assert row.mean_ball == pytest.approx(150, abs=1)  # each ball = its whole cluster
    assert row.singleton_fraction == 0.0
    assert row.pure_fraction == 1.0 and row.own_class_share == 1.0
    assert diag.knn_accuracy == 1.0
    cov = [r for r in diag.coverage if r.delta == 0.75]
    assert [r.budget for r in cov] == [4, 8]
    assert cov[0].probcover_coverage == 1.0 and cov[0].probcover_classes == 4  # one pick per cluster covers all
    assert cov[0].random_coverage < 1.0
    assert diag.verdict(0.75).startswith("PREMISE HOLDS")
    assert diag.purity_delta is not None and diag.purity_delta >= 0.75  # clusters are sqrt(2) apart


def test_uniform_noise_gives_singletons_and_the_verdict_says_random():
    X, y = _uniform()
    diag = diagnose_coverage(X, y, deltas=[0.5, 0.75, 1.0], deltas_of_interest=[0.75])
    row = diag.ball_row(0.75)
    assert row.singleton_fraction == 1.0 and row.mean_ball == 1.0
    verdict = diag.verdict(0.75)
    assert verdict.startswith("PREMISE FAILS") and "behave like random" in verdict
    assert diag.knn_accuracy < 0.5  # labels are random
    cov = [r for r in diag.coverage if r.delta == 0.75]
    assert all(r.probcover_coverage == pytest.approx(r.random_coverage, abs=1e-9) for r in cov)


def test_mixed_balls_are_called_class_mixed():
    X, _ = _clusters(C=2)
    y = np.random.default_rng(1).integers(0, 4, X.shape[0])  # labels unrelated to the clusters
    diag = diagnose_coverage(X, y, deltas=[0.75], deltas_of_interest=[0.75], purity_rule=False)
    assert diag.ball_row(0.75).pure_fraction_nonsingleton == 0.0
    assert "class-mixed" in diag.verdict(0.75)


def test_ball_sizes_are_counted_against_the_whole_pool_and_match_brute_force():
    X, y = _clusters(n_per=60, spread=0.3, seed=3)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    D = np.sqrt(np.clip(2 - 2 * U @ U.T, 0, None))
    rows, knn, m = ball_statistics(U, [0.4, 0.6], y, n_centres=50, rng=np.random.default_rng(0))
    centres = np.sort(np.random.default_rng(0).choice(U.shape[0], 50, replace=False))
    for row, d in zip(rows, [0.4, 0.6]):
        sizes = (D[centres] < d).sum(1)
        assert row.mean_ball == pytest.approx(sizes.mean())
        assert row.singleton_fraction == pytest.approx((sizes == 1).mean())
    assert m == 50 and 0.0 <= knn <= 1.0


def test_probcover_coverage_is_monotone_and_needs_a_fitting_budget():
    X, y = _clusters(n_per=40, spread=0.3)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    rows = probcover_coverage(U, 0.5, 4, (1, 2, 3), y, cache_dir=False)
    cov = [r.probcover_coverage for r in rows]
    assert cov == sorted(cov) and cov[-1] <= 1.0
    with pytest.raises(ValueError, match="exceeds the pool"):
        probcover_coverage(U[:10], 0.5, 4, (3,), cache_dir=False)


def test_bad_inputs_are_refused_in_one_line():
    X, y = _clusters(n_per=10)
    with pytest.raises(ValueError, match="one entry per feature row"):
        diagnose_coverage(X, y[:-1])
    with pytest.raises(ValueError, match=r"\(0, 2\]"):
        diagnose_coverage(X, y, deltas=[3.0])
    with pytest.raises(ValueError, match="number of classes"):
        diagnose_coverage(X, None)
    with pytest.raises(ValueError, match="integer class ids"):
        diagnose_coverage(X, y + 0.5)


def test_dict_and_tables_are_complete():
    X, y = _clusters(n_per=30)
    diag = diagnose_coverage(X, y, deltas=[0.5, 0.75], deltas_of_interest=[0.75], n_centres=50)
    record = json.loads(json.dumps(diag.to_dict()))
    assert set(record["verdicts"]) == {f"{d:g}" for d in diag.deltas_of_interest}
    assert "| 0.75 * |" in diag.table() and "ProbCover coverage" in diag.coverage_table()
    again = type(diag).from_dict(record)
    assert again.verdict(0.75) == diag.verdict(0.75) and again.table() == diag.table()


def test_cli_diagnose_on_a_users_npy(tmp_path, capsys):
    X, y = _clusters(n_per=50)
    np.save(tmp_path / "f.npy", X)
    np.save(tmp_path / "y.npy", y)
    code = main(["diagnose", "--features", str(tmp_path / "f.npy"), "--labels", str(tmp_path / "y.npy"), "--delta", "0.75",
                 "--deltas", "0.5,0.75,1.0", "--out-dir", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    assert "PREMISE HOLDS" in out and "purity-rule δ" in out
    assert (tmp_path / "o" / "f.json").is_file() and (tmp_path / "o" / "f.png").stat().st_size > 1000
    assert main(["diagnose", "--features", str(tmp_path / "f.npy"), "--labels", str(tmp_path / "missing.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err
    np.save(tmp_path / "short.npy", y[:-1])
    assert main(["diagnose", "--features", str(tmp_path / "f.npy"), "--labels", str(tmp_path / "short.npy")]) == 2
    assert "one label per feature row" in capsys.readouterr().err
    assert main(["diagnose", "--features", str(tmp_path / "f.npy"), "--delta", "0.7,x", "--n-classes", "4"]) == 2
    assert "comma-separated numbers" in capsys.readouterr().err


class _Job:
    def __init__(self, dataset, params):
        self.resolved = {"dataset": dataset, "method_params": params}


def test_benchmark_radii_group_cifar10_and_cifar10n_pools():
    enc = {"encoder": "efficientnet_lite0", "encoder_params": {"input_size": 224}}
    jobs = [_Job({"name": "cifar10", **enc}, {"delta": 0.75}), _Job({"name": "cifar10n", "noise_type": "worse", **enc},
            {"sigma": 0.6}), _Job({"name": "cifar10", **enc}, {}), _Job({"name": "cifar10"}, {"delta": 0.74})]
    for job in jobs:
        job.resolved["data"] = {"noise": {"type": "real"}}
    groups = radii_by_dataset(jobs)
    assert sorted(len(g["deltas"]) for g in groups.values()) == [1, 2]
    assert [0.6, 0.75] in [g["deltas"] for g in groups.values()]
    assert dataset_key({"name": "cifar10", **enc}) == "cifar10__efficientnet_lite0-224"
    lines = verdict_lines([{"key": "k", "n_samples": 5, "knn_accuracy": 0.5, "knn_k": 10, "purity_delta": 0.4,
                            "verdicts": {"0.75": "PREMISE FAILS: x"}}])
    assert "purity-rule δ on the whole pool 0.4" in lines[0] and "PREMISE FAILS" in lines[1]


def test_graph_ball_statistics_match_brute_force():
    from active_learning.diagnostics import graph_ball_statistics
    from active_learning.strategies import get_strategy

    X, y = _clusters(n_per=40, spread=0.3, seed=2)
    strategy = get_strategy("probcover", delta=0.5, cache_dir=False)
    strategy.select(X, np.zeros(0, np.int64), 3, np.random.default_rng(0))
    stats = graph_ball_statistics(strategy.last_graph_, y)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    A = np.sqrt(np.clip(2 - 2 * U @ U.T, 0, None)) < 0.5
    sizes = A.sum(1)
    own = np.array([(y[A[i]] == y[i]).mean() for i in range(len(y))])
    assert stats["mean_ball"] == pytest.approx(sizes.mean())
    assert stats["singleton_fraction"] == pytest.approx((sizes == 1).mean())
    assert stats["own_class_share"] == pytest.approx(own.mean())


def test_a_nas_job_records_the_ball_statistics_of_its_graph_in_its_sidecar(tmp_path, capsys):
    """The sidecar of a ProbCover / NPC job holds the δ and the whole-pool ball statistics it ran at."""
    import yaml

    config = {
        "name": "tiny_nas", "task": "noisy_single_annotator",
        "dataset": {"name": "sphere_clusters", "n_classes": 3, "clusters_per_class": 2, "n_per_cluster": 40,
                    "n_features": 8, "spread": 0.1, "seed": 0},
        "data": {"seed": 0, "test_fraction": 0.25, "noise": {"type": "symmetric", "rate": 0.2},
                 "budget": {"samples_per_class": [1, 2]}},
        "loop": {"filter": "ideal"}, "seeds": [0],
        "models": {"one_nn": {"methods": ["random", {"name": "npc", "method": "npc", "params": {"delta": 0.6}}]}},
    }
    path = tmp_path / "tiny_nas.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path), "--results-dir", str(tmp_path / "res"), "--no-progress", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "coverage diagnostic sphere_clusters" in out and "δ = 0.6: PREMISE" in out
    stored = list((tmp_path / "res" / "tiny_nas" / "coverage").glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text())["requested_deltas"] == [0.6]
    assert json.loads(stored[0].read_text())["n_samples"] == 180  # the benchmark's own pool: 240 points, 25 % test
    # a rerun with nothing to do prints the stored verdict without recomputing it
    before = stored[0].stat().st_mtime_ns
    assert main(["run", str(path), "--results-dir", str(tmp_path / "res"), "--no-progress", "--no-figures"]) == 0
    assert "δ = 0.6: PREMISE" in capsys.readouterr().out and stored[0].stat().st_mtime_ns == before
    meta = json.loads((tmp_path / "res" / "tiny_nas" / "one_nn" / "npc" / "run_seed0.json").read_text())
    cov = meta["info"]["coverage"]
    assert cov["delta"] == 0.6 and cov["n_samples"] > 0 and 0 <= cov["singleton_fraction"] <= 1
    assert 0 < cov["own_class_share"] <= 1
    random_meta = json.loads((tmp_path / "res" / "tiny_nas" / "one_nn" / "random" / "run_seed0.json").read_text())
    assert "info" not in random_meta
    assert (tmp_path / "res" / "tiny_nas" / "one_nn" / "npc" / "n_clean_classes_seed0.npy").is_file()
