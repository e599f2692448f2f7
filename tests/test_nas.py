"""The generic NAS wrapper: equivalence with its base, coverage semantics, shares, and its benefit."""

from __future__ import annotations

import numpy as np
import pytest

from active_learning.noise_filters import NoiseFilter
from active_learning.oracle import NoisyOracle
from active_learning.strategies import NAS, Coreset, MaxHerding, ProbCover, get_strategy, split_budget

try:
    from ._helpers import clustered
except ImportError:  # tests/ is not a package
    from _helpers import clustered


@pytest.mark.parametrize("base", [ProbCover(0.4), MaxHerding(0.3), Coreset()])
@pytest.mark.parametrize("labeled", [np.zeros(0, np.int64), np.arange(7)])
def test_nas_with_none_filter_equals_base(base, labeled):
    X, _ = clustered(12, 15, dim=8, spread=0.15, seed=0)
    for budget in (3, 27):
        want = base.select(X, labeled, budget, np.random.default_rng(11))
        got = NAS(base, noise_filter="none", n_classes=5).select(X, labeled, budget, np.random.default_rng(11))
        np.testing.assert_array_equal(got, want)


def test_split_budget_policy():
    assert split_budget(25, 10) == [15, 10]
    assert split_budget(20, 10) == [10, 10]
    assert split_budget(3, 10) == [3]  # B < C: one share, no crash
    assert split_budget(0, 10) == []
    assert split_budget(4, 1) == [1, 1, 1, 1]


class _FlagFilter(NoiseFilter):
    """Test filter: points of the given indices are noisy; records each call's labeled set."""

    def __init__(self, noisy):
        self.noisy = set(int(i) for i in noisy)
        self.calls = []

    def _clean_mask(self, features, labeled_idx, labels, rng, **context):
        self.calls.append(labeled_idx.copy())
        return np.array([i not in self.noisy for i in labeled_idx.tolist()])


def _two_clusters():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 0, 0]) + 0.01 * rng.normal(size=(60, 3))
    b = np.array([0, 1.0, 0]) + 0.01 * rng.normal(size=(30, 3))
    X = np.vstack([a, b]).astype(np.float32)
    return X, np.r_[np.zeros(60, int), np.ones(30, int)]


def test_predicted_noisy_points_do_not_cover():
    X, ids = _two_clusters()
    oracle = NoisyOracle(ids, ids, 2)
    labeled = np.array([0])  # one point in the big cluster A
    plain = ProbCover(0.3).select(X, labeled, 1, np.random.default_rng(0))
    assert ids[plain[0]] == 1  # A is covered, so ProbCover goes to B
    npc = get_strategy("npc", delta=0.3, noise_filter=_FlagFilter([0]), n_classes=2)
    out = npc.select(X, labeled, 1, np.random.default_rng(0), oracle=oracle, labels=[0], clean_mask=[False])
    assert ids[out[0]] == 0  # A's only representative is noisy: A is still uncovered and larger
    mh = get_strategy("maxherding_nas", sigma=0.3, noise_filter=_FlagFilter([0]), n_classes=2)
    out = mh.select(X, labeled, 1, np.random.default_rng(0), oracle=oracle, labels=[0], clean_mask=[False])
    assert ids[out[0]] == 0


def test_noisy_points_stay_labeled_and_filter_runs_per_share_on_all_labeled():
    X, ids = clustered(10, 15, dim=6, seed=1)
    y = ids % 5
    oracle = NoisyOracle.symmetric(y, 0.5, np.random.default_rng(0), n_classes=5)
    labeled = np.arange(10)
    labels = oracle.query(labeled)
    filt = _FlagFilter(np.flatnonzero(oracle.ground_truth() != oracle._noisy))
    npc = get_strategy("npc", delta=0.5, noise_filter=filt, n_classes=5)
    out = npc.select(X, labeled, 17, np.random.default_rng(0), oracle=oracle, labels=labels)
    assert out.size == 17 and np.unique(out).size == 17 and not np.isin(out, labeled).any()
    # start (no clean_mask given) + after each share but the last: shares [7, 5, 5]
    sizes = [c.size for c in filt.calls]
    assert sizes == [10, 17, 22]
    assert all(np.isin(labeled, c).all() for c in filt.calls)
    assert set(out.tolist()) <= set(oracle.revealed_idx.tolist())


def test_nas_errors():
    X, ids = clustered(4, 10, dim=4, seed=0)
    with pytest.raises(ValueError, match="noise filter"):
        get_strategy("npc", delta=0.5, n_classes=2).select(X, [], 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="oracle"):
        get_strategy("npc", delta=0.5, n_classes=2, noise_filter="knn").select(X, [], 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="number of classes"):
        get_strategy("npc", delta=0.5, noise_filter="none").select(X, [], 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="greedy coverage"):
        NAS(get_strategy("random"))
    with pytest.raises(ValueError, match="clean_mask"):
        get_strategy("npc", delta=0.5, noise_filter="none", n_classes=2).select(
            X, [0, 1], 3, np.random.default_rng(0), clean_mask=[True]
        )


def _clusters_with_clean_label(picks, ids, noisy_labels, true_labels):
    ok = noisy_labels[picks] == true_labels[picks]
    return np.unique(ids[picks][ok]).size


@pytest.mark.parametrize(
    "plain, nas",
    [
        (("probcover", {"delta": 0.3}), ("npc", {"delta": 0.3})),
        (("maxherding", {"sigma": 0.2, "kernel_backend": "sparse"}), ("maxherding_nas", {"sigma": 0.2, "kernel_backend": "sparse"})),
    ],
)
def test_nas_covers_more_clusters_with_correct_labels(plain, nas):
    X, ids = clustered(20, 25, dim=16, spread=0.03, seed=3)
    n_classes = 10
    y = ids % n_classes
    gains = []
    for seed in range(3):
        oracle = NoisyOracle.symmetric(y, 0.5, np.random.default_rng(seed), n_classes=n_classes)
        noisy, truth = oracle._noisy, oracle.ground_truth()
        base = get_strategy(plain[0], **plain[1]).select(X, [], 40, np.random.default_rng(seed))
        wrapped = get_strategy(nas[0], noise_filter="ideal", **nas[1]).select(
            X, [], 40, np.random.default_rng(seed), oracle=oracle, n_classes=n_classes, true_labels=truth
        )
        gains.append(
            _clusters_with_clean_label(wrapped, ids, noisy, truth) - _clusters_with_clean_label(base, ids, noisy, truth)
        )
    assert np.mean(gains) >= 2 and min(gains) >= 0, gains


def test_weighted_npc_and_dropout_run_and_are_reproducible():
    X, ids = clustered(10, 15, dim=6, seed=2)
    y = ids % 5
    outs = []
    for _ in range(2):
        oracle = NoisyOracle.symmetric(y, 0.4, np.random.default_rng(0), n_classes=5)
        s = get_strategy("weighted_npc", delta=0.5, noise_dropout=True, noise_filter="knn", n_classes=5)
        labeled = np.arange(15)
        outs.append(s.select(X, labeled, 20, np.random.default_rng(3), oracle=oracle, labels=oracle.query(labeled)))
    np.testing.assert_array_equal(*outs)


def test_ideal_filter_uses_shares_of_one():
    X, ids = clustered(6, 10, dim=6, seed=2)
    oracle = NoisyOracle.symmetric(ids % 3, 0.5, np.random.default_rng(0), n_classes=3)
    s = get_strategy("coreset_nas", noise_filter="ideal", n_classes=3)
    s.select(X, [], 5, np.random.default_rng(0), oracle=oracle, true_labels=oracle.ground_truth())
    assert [q.size for q in oracle.query_log] == [1, 1, 1, 1, 1]
