"""The on-disk cache of δ-graphs and MaxHerding near kernels (``active_learning.strategies._disk_cache``)."""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from active_learning.oracle import NoisyOracle
from active_learning.strategies import MaxHerding, ProbCover, WeightedProbCover, get_strategy
from active_learning.strategies import _disk_cache as dc
from active_learning.strategies import maxherding as mh_mod
from active_learning.strategies import probcover as pc_mod
from active_learning.strategies._graph import build_delta_graph

try:
    from ._helpers import clustered
except ImportError:  # tests/ is not a package
    from _helpers import clustered

DELTA = 0.3


@pytest.fixture(scope="module")
def data():
    X, ids = clustered(20, 25, dim=16, spread=0.05, seed=0)  # 500 x 16
    return X, ids


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of the graph builder used by ProbCover and MaxHerding."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("return_values", False))
        return build_delta_graph(*args, **kwargs)

    monkeypatch.setattr(pc_mod, "build_delta_graph", counting)
    monkeypatch.setattr(mh_mod, "build_delta_graph", counting)
    return calls


def entries(root: Path):
    return sorted(p.name for p in root.glob("*.npz"))


def probcover(root, cls=ProbCover, **kw):
    return cls(DELTA, cache_dir=root, disk_cache_min_points=0, **kw)


def test_second_build_loads_from_disk(tmp_path, data, counted):
    X, _ = data
    first = probcover(tmp_path)
    g1 = first.build_graph(X, np.random.default_rng(0))
    assert first.graph_source_ == "built" and len(counted) == 1
    assert len(entries(tmp_path)) == 1
    first.build_graph(X, np.random.default_rng(1))  # in-memory first level
    assert first.graph_source_ == "memory" and len(counted) == 1
    second = probcover(tmp_path)  # a fresh strategy (another seed, round or process)
    g2 = second.build_graph(X, np.random.default_rng(2))
    assert second.graph_source_ == "disk" and len(counted) == 1
    for name in ("indptr", "indices", "rev_indptr", "rev_indices"):
        np.testing.assert_array_equal(getattr(g1, name), getattr(g2, name))
        assert getattr(g1, name).dtype == getattr(g2, name).dtype
    assert g2.symmetric and g2.values is None


def test_sidecar_records_parameters_and_digest(tmp_path, data):
    X, _ = data
    probcover(tmp_path).build_graph(X, np.random.default_rng(0))
    (npz,) = tmp_path.glob("*.npz")
    side = json.loads(npz.with_suffix(".json").read_text())
    assert side["kind"] == "delta_graph" and side["params"] == {"delta": DELTA, "unit": True}
    assert side["format_version"] == dc.FORMAT_VERSION and side["key"].startswith(npz.stem)
    assert side["file"]["sha256"] == dc.file_digest(npz, "sha256")
    assert side["arrays"]["indptr"] == {"shape": [X.shape[0] + 1], "dtype": "int64"}
    assert side["package_version"] and "created" in side and "seconds" in side["build"]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("cls", [ProbCover, WeightedProbCover])
@pytest.mark.parametrize("labeled", [np.zeros(0, np.int64), np.arange(0, 500, 37)])
def test_probcover_selections_identical_with_and_without_disk_cache(tmp_path, data, cls, labeled):
    X, _ = data
    want = cls(DELTA, cache_dir=False).select(X, labeled, 25, np.random.default_rng(5))
    built = probcover(tmp_path, cls).select(X, labeled, 25, np.random.default_rng(5))
    loaded = probcover(tmp_path, cls)
    got = loaded.select(X, labeled, 25, np.random.default_rng(5))
    assert loaded.graph_source_ == "disk"
    np.testing.assert_array_equal(built, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["npc", "weighted_npc"])
def test_npc_selections_identical_with_and_without_disk_cache(tmp_path, data, name):
    X, ids = data
    y = ids % 5
    outs = []
    for cache_dir in (False, tmp_path, tmp_path):
        oracle = NoisyOracle.symmetric(y, 0.4, np.random.default_rng(0), n_classes=5)
        s = get_strategy(name, delta=DELTA, noise_filter="knn", n_classes=5, cache_dir=cache_dir,
                         disk_cache_min_points=0)
        labeled = np.arange(15)
        outs.append(s.select(X, labeled, 20, np.random.default_rng(3), oracle=oracle, labels=oracle.query(labeled)))
    assert s.base.graph_source_ == "disk"
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


@pytest.mark.parametrize("params", [
    {"kernel_backend": "dense"},
    {"kernel_backend": "sparse"},
    {"kernel_backend": "dense", "kernel": "laplace"},
])
def test_maxherding_selections_identical_with_and_without_disk_cache(tmp_path, data, counted, params):
    X, _ = data
    labeled = np.array([1, 2, 3])
    want = MaxHerding(0.2, cache_dir=False, **params).select(X, labeled, 15, np.random.default_rng(4))
    n_builds = len(counted)
    first = MaxHerding(0.2, cache_dir=tmp_path, disk_cache_min_points=0, **params)
    built = first.select(X, labeled, 15, np.random.default_rng(4))
    assert first.graph_source_ == "built" and len(counted) == n_builds + 1
    second = MaxHerding(0.2, cache_dir=tmp_path, disk_cache_min_points=0, **params)
    got = second.select(X, labeled, 15, np.random.default_rng(4))
    assert second.graph_source_ == "disk" and len(counted) == n_builds + 1
    np.testing.assert_array_equal(built, want)
    np.testing.assert_array_equal(got, want)
    side = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert side["kind"] == "maxherding_near" and ("row_sums" in side["arrays"]) == (params["kernel_backend"] == "dense")


def test_maxherding_nas_reuses_the_near_kernel(tmp_path, data):
    X, ids = data
    y = ids % 5
    outs = []
    for cache_dir in (False, tmp_path, tmp_path):
        oracle = NoisyOracle.symmetric(y, 0.4, np.random.default_rng(0), n_classes=5)
        s = get_strategy("maxherding_nas", sigma=0.2, noise_filter="knn", n_classes=5, cache_dir=cache_dir,
                         disk_cache_min_points=0)
        labeled = np.arange(15)
        outs.append(s.select(X, labeled, 12, np.random.default_rng(3), oracle=oracle, labels=oracle.query(labeled)))
    assert s.base.graph_source_ == "disk"
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_maxherding_rng_dependent_structures_are_not_stored(tmp_path, data):
    X, _ = data
    # a wide kernel whose near radius is shrunk from rows sampled with rng
    capped = MaxHerding(1.5, max_near_degree=10, cache_dir=tmp_path, disk_cache_min_points=0)
    capped.select(X, [0], 5, np.random.default_rng(0))
    assert capped.graph_source_ == "uncached"
    sub = MaxHerding(0.2, pool_subsample=100, cache_dir=tmp_path, disk_cache_min_points=0)
    sub.select(X, [0], 5, np.random.default_rng(0))
    assert sub.graph_source_ == "uncached"
    ivf = MaxHerding(0.2, kernel_backend="sparse", sparse_graph="ivf", cache_dir=tmp_path, disk_cache_min_points=0)
    ivf.select(X, [0], 5, np.random.default_rng(0))
    assert ivf.graph_source_ == "uncached"
    pc_ivf = ProbCover(DELTA, graph="ivf", cache_dir=tmp_path, disk_cache_min_points=0)
    pc_ivf.select(X, [0], 5, np.random.default_rng(0))
    assert pc_ivf.graph_source_ == "uncached"
    assert not any(tmp_path.iterdir())


def _corrupt_bytes(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid : mid + 8] = bytes(b ^ 0xFF for b in raw[mid : mid + 8])
    path.write_bytes(bytes(raw))


def _edit_shape(path: Path) -> None:
    side = json.loads(path.read_text())
    side["arrays"]["indices"]["shape"] = [side["arrays"]["indices"]["shape"][0] + 1]
    path.write_text(json.dumps(side))


def _garbage_with_matching_sidecar(npz: Path) -> None:
    npz.write_bytes(b"not a zip file at all")
    side_path = npz.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["file"].update(bytes=npz.stat().st_size, sha256=dc.file_digest(npz, "sha256"))
    side_path.write_text(json.dumps(side))


def _bad_indices_with_matching_sidecar(npz: Path) -> None:
    with np.load(npz) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["indices"] = arrays["indices"].copy()
    arrays["indices"][0] = 10**6  # out of range: only the structural check can see it
    np.savez(npz, **arrays)
    side_path = npz.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side["file"].update(bytes=npz.stat().st_size, sha256=dc.file_digest(npz, "sha256"))
    side_path.write_text(json.dumps(side))


@pytest.mark.parametrize("damage, match", [
    (lambda npz: _corrupt_bytes(npz), "sha256"),
    (lambda npz: npz.write_bytes(npz.read_bytes()[:-100]), "bytes"),
    (lambda npz: _edit_shape(npz.with_suffix(".json")), "shapes/dtypes"),
    (lambda npz: npz.with_suffix(".json").write_text("{not json"), "unreadable sidecar"),
    (lambda npz: npz.with_suffix(".json").unlink(), "sidecar"),
    (lambda npz: _garbage_with_matching_sidecar(npz), "cannot load"),
    (lambda npz: _bad_indices_with_matching_sidecar(npz), "inconsistent arrays"),
])
def test_damaged_entry_is_detected_and_recomputed(tmp_path, data, counted, damage, match):
    X, _ = data
    want = probcover(tmp_path).build_graph(X, np.random.default_rng(0))
    (npz,) = tmp_path.glob("*.npz")
    damage(npz)
    s = probcover(tmp_path)
    with pytest.warns(dc.GraphCacheWarning, match=match):
        g = s.build_graph(X, np.random.default_rng(0))
    assert s.graph_source_ == "built" and len(counted) == 2
    np.testing.assert_array_equal(g.indices, want.indices)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten entry is intact again
        again = probcover(tmp_path)
        again.build_graph(X, np.random.default_rng(0))
    assert again.graph_source_ == "disk" and len(counted) == 2


def test_keys_differ_by_delta_features_and_kind(tmp_path, data):
    X, _ = data
    probcover(tmp_path).build_graph(X, np.random.default_rng(0))
    ProbCover(DELTA + 0.05, cache_dir=tmp_path, disk_cache_min_points=0).build_graph(X, np.random.default_rng(0))
    assert len(entries(tmp_path)) == 2
    Y = X.copy()
    Y[0, 0] += 1e-3
    probcover(tmp_path).build_graph(Y, np.random.default_rng(0))
    assert len(entries(tmp_path)) == 3
    ProbCover(DELTA, normalize="none", cache_dir=tmp_path, disk_cache_min_points=0).build_graph(X, np.random.default_rng(0))
    assert len(entries(tmp_path)) == 4  # another normalisation: other feature bytes and distance formula
    d = dc.features_digest(X)
    assert dc.features_digest(Y) != d and dc.features_digest(X.astype(np.float64)) != d
    keys = {dc.entry_key("delta_graph", d, {"delta": 0.3, "unit": True}),
            dc.entry_key("delta_graph", d, {"delta": 0.35, "unit": True}),
            dc.entry_key("maxherding_near", d, {"delta": 0.3, "unit": True}),
            dc.entry_key("delta_graph", dc.features_digest(Y), {"delta": 0.3, "unit": True})}
    assert len(keys) == 4
    assert dc.entry_key("delta_graph", d, {"unit": True, "delta": 0.3}) == dc.entry_key(
        "delta_graph", d, {"delta": 0.3, "unit": True})


def test_two_threads_building_one_entry_yield_one_consistent_file(tmp_path, data):
    X, _ = data
    n = X.shape[0]
    calls = []
    barrier = threading.Barrier(2)

    def build():
        calls.append(threading.get_ident())
        time.sleep(0.3)  # the other thread is waiting on the lock meanwhile
        return build_delta_graph(X, DELTA, device="cpu")

    results = {}

    def worker(i):
        barrier.wait()
        results[i] = dc.load_or_build(tmp_path, "delta_graph", dc.features_digest(X), {"delta": DELTA, "unit": True},
                                      build, dc.graph_to_arrays, lambda a: dc.graph_from_arrays(a, n, values=False))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(calls) == 1
    assert sorted(r.source for r in results.values()) == ["built", "disk"]
    np.testing.assert_array_equal(results[0].value.indices, results[1].value.indices)
    (npz,) = tmp_path.glob("*.npz")
    side = json.loads(npz.with_suffix(".json").read_text())
    assert side["file"]["sha256"] == dc.file_digest(npz, "sha256")
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix != ".lock") == [".json", ".npz"]


def test_disabled_or_small_pool_writes_nothing(tmp_path, data, monkeypatch):
    X, _ = data
    monkeypatch.setenv("AL_DATA_ROOT", str(tmp_path))
    s = ProbCover(DELTA, cache_dir=False, disk_cache_min_points=0)
    s.select(X, [], 5, np.random.default_rng(0))
    MaxHerding(0.2, cache_dir=False, disk_cache_min_points=0).select(X, [], 5, np.random.default_rng(0))
    ProbCover(DELTA).select(X, [], 5, np.random.default_rng(0))  # 500 < DEFAULT_MIN_POINTS
    assert s.graph_source_ == "uncached" and not any(tmp_path.iterdir())
    ProbCover(DELTA, disk_cache_min_points=0).select(X, [], 5, np.random.default_rng(0))  # default root
    assert len(entries(tmp_path / "graphs")) == 1
    assert dc.resolve_cache_dir(None) == tmp_path / "graphs" and dc.resolve_cache_dir(False) is None


def test_unwritable_cache_warns_and_still_selects(tmp_path, data, monkeypatch):
    X, _ = data

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dc, "_write_entry", fail)
    want = ProbCover(DELTA, cache_dir=False).select(X, [], 10, np.random.default_rng(0))
    s = probcover(tmp_path)
    with pytest.warns(dc.GraphCacheWarning, match="cannot be written"):
        got = s.select(X, [], 10, np.random.default_rng(0))
    assert s.graph_source_ == "uncached" and not entries(tmp_path)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bad", [3, 1.5, "", ["a"]])
def test_invalid_cache_dir(bad):
    with pytest.raises(ValueError, match="cache_dir"):
        ProbCover(DELTA, cache_dir=bad)
    with pytest.raises(ValueError, match="cache_dir"):
        MaxHerding(0.2, cache_dir=bad)


def test_maxherding_stored_kernel_matrix_on_disk(tmp_path, data):
    X, _ = data
    labeled = np.array([1, 2, 3])
    want = MaxHerding(0.4, kernel_backend="stored", cache_dir=False).select(X, labeled, 12, np.random.default_rng(4))
    mh_mod._STORED_MODELS.clear()
    first = MaxHerding(0.4, kernel_backend="stored", cache_dir=tmp_path, disk_cache_min_points=0)
    assert_picks = first.select(X, labeled, 12, np.random.default_rng(4))
    assert first.graph_source_ == "built"
    again = first.select(X, labeled, 12, np.random.default_rng(4))
    assert first.graph_source_ == "memory"  # same process: the model and its bounds are reused
    mh_mod._STORED_MODELS.clear()
    dc._VERIFIED_MATRICES.clear()
    second = MaxHerding(0.4, kernel_backend="stored", cache_dir=tmp_path, disk_cache_min_points=0)
    got = second.select(X, labeled, 12, np.random.default_rng(4))
    assert second.graph_source_ == "disk"
    for picks in (assert_picks, again, got):
        np.testing.assert_array_equal(picks, want)
    matrix = next(tmp_path.glob("*.matrix.npy"))
    assert np.load(matrix, mmap_mode="r").shape == (len(X), len(X))
    # a corrupted matrix is detected (sha256) and rebuilt with a warning
    mh_mod._STORED_MODELS.clear()
    dc._VERIFIED_MATRICES.clear()
    with open(matrix, "r+b") as handle:
        handle.seek(-8, 2)
        handle.write(b"\x00" * 8)
    third = MaxHerding(0.4, kernel_backend="stored", cache_dir=tmp_path, disk_cache_min_points=0)
    with pytest.warns(dc.GraphCacheWarning, match="sha256"):
        rebuilt = third.select(X, labeled, 12, np.random.default_rng(4))
    assert third.graph_source_ == "built"
    np.testing.assert_array_equal(rebuilt, want)
