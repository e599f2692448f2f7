"""Regression test of ProbCover's and NPC's selection rule against an independent reference of the original rule.

The original code (ProbCover, Yehuda et al. 2022; NPC, Shafir et al. 2025) picks, at every step, a point whose
δ-ball holds the most *uncovered* points ("degree by counting the remaining edges"), where a point is covered when it
lies in the ball of a representative: every labeled point for ProbCover, the predicted-clean labeled points (plus the
picks of the current share) for NPC; labeled points are never picked; ties are broken uniformly at random.

Here the reference is written from that description with brute-force distances (no code shared with the library),
and every pick of a full loop run must lie in the reference's arg-max set given the same history. NPC's history is
what its filter said: the filter is wrapped to record each call, and the representatives of every share must be the
predicted-clean labeled points of the latest call (with the ideal filter: exactly the truly clean ones).
"""

from __future__ import annotations

from typing import Any, List

import numpy as np
import pytest

from active_learning.budgets import samples_per_class_budgets
from active_learning.learners import get_learner
from active_learning.loops.noisy_single_annotator import run_noisy_loop
from active_learning.noise_filters import get_filter
from active_learning.oracle import NoisyOracle
from active_learning.strategies import get_strategy
from active_learning.strategies.probcover import GraphCoverModel

DELTA = 0.6


def _data(seed: int = 0):
    """Six unequal Gaussian clusters on the unit sphere (balls of a few to tens of points), 3 classes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 8))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = [70, 50, 40, 25, 10, 5]
    parts = [c + 0.18 * rng.normal(size=(s, 8)) for c, s in zip(centres, sizes)]
    X = np.vstack(parts).astype(np.float32)
    y = np.repeat(np.arange(6) % 3, sizes)
    test = np.vstack([c + 0.18 * rng.normal(size=(10, 8)) for c in centres]).astype(np.float32)
    return X, y, test, np.repeat(np.arange(6) % 3, 10)


def _reference_balls(X: np.ndarray, delta: float) -> np.ndarray:
    """``A[x, y]`` iff ``||x - y|| < δ`` on unit-normalised rows (the original code's δ-graph)."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    D = np.sqrt(np.clip(2.0 - 2.0 * (U @ U.T), 0.0, None))
    near_edge = np.abs(D - delta) < 1e-5
    assert not near_edge.any(), "a distance lies within rounding of δ; choose another seed"
    return D < delta


def _argmax_set(A: np.ndarray, covering: np.ndarray, labeled: np.ndarray) -> np.ndarray:
    """The original rule: degree = uncovered points in the ball, -1 for labeled points; all maximisers."""
    covered = A[covering].any(axis=0) if covering.size else np.zeros(A.shape[0], bool)
    degree = A[:, ~covered].sum(axis=1).astype(np.int64)
    degree[labeled] = -1
    return np.flatnonzero(degree == degree.max())


class _RecordingFilter:
    """Wraps a noise filter and records (labeled indices, clean mask) of every call, in order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: List[tuple] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def clean_mask(self, features, labeled_idx, labels, rng, **context):
        mask = self.inner.clean_mask(features, labeled_idx, labels, rng, **context)
        self.calls.append((np.array(labeled_idx, copy=True), np.array(mask, copy=True)))
        return mask


def _run(method: str, filter_name: str, seed: int, monkeypatch: pytest.MonkeyPatch):
    X, y, Xt, yt = _data()
    oracle = NoisyOracle.symmetric(y, 0.4, np.random.default_rng(seed), n_classes=3)
    filt = _RecordingFilter(get_filter(filter_name, **({"train_on_one_fold": True} if filter_name == "cross_validation" else {})))
    shares: List[tuple] = []  # (representatives, predicted-noisy labeled) passed to every greedy state
    original = GraphCoverModel.init_state

    def recording_init_state(self, representatives, noisy_representatives=None):
        shares.append((np.array(representatives, copy=True), None if noisy_representatives is None else np.array(noisy_representatives)))
        return original(self, representatives, noisy_representatives)

    monkeypatch.setattr(GraphCoverModel, "init_state", recording_init_state)
    strategy = get_strategy(method, delta=DELTA, cache_dir=False)
    out = run_noisy_loop(X, Xt, yt, oracle, strategy, filt, get_learner("one_nn"),
                         samples_per_class_budgets([1, 3, 5], 3, 0.4), seed)
    return X, y, oracle, filt, shares, out


def _check_picks(A: np.ndarray, shares: List[tuple], selected: np.ndarray, share_sizes: List[int]) -> int:
    """Replay the picks share by share: each must be in the reference arg-max set given the representatives of its
    share plus the picks made earlier in the same share."""
    pos, checked = 0, 0
    for (reps, _), size in zip(shares, share_sizes):
        labeled = list(selected[:pos])
        covering = list(reps)
        for _ in range(size):
            pick = int(selected[pos])
            allowed = _argmax_set(A, np.array(covering, dtype=np.int64), np.array(labeled, dtype=np.int64))
            assert pick in allowed, f"pick {pos} ({pick}) is not an arg-max of the original degree rule {allowed[:10]}"
            labeled.append(pick)
            covering.append(pick)
            pos += 1
            checked += 1
    assert pos == selected.size
    return checked


@pytest.mark.parametrize("seed", [0, 1])
def test_probcover_picks_follow_the_original_degree_rule(seed, monkeypatch):
    X, _, _, _, shares, out = _run("probcover", "ideal", seed, monkeypatch)
    A = _reference_balls(X, DELTA)
    sizes = out["round_sizes"].tolist()
    # plain ProbCover: one greedy state per round, every labeled point covering
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for (reps, _), start in zip(shares, offsets[:-1]):
        assert sorted(reps.tolist()) == sorted(out["selected"][:start].tolist())
    assert _check_picks(A, shares, out["selected"], sizes) == out["selected"].size


@pytest.mark.parametrize("filter_name", ["ideal", "cross_validation"])
@pytest.mark.parametrize("seed", [0, 1])
def test_npc_picks_follow_the_original_rule_with_clean_representatives(filter_name, seed, monkeypatch):
    X, y, oracle, filt, shares, out = _run("npc", filter_name, seed, monkeypatch)
    A = _reference_balls(X, DELTA)
    selected = out["selected"]
    # share sizes: consecutive greedy states partition the picks
    starts = [0]
    for reps, noisy in shares[1:]:
        n_labeled = reps.size + (0 if noisy is None else noisy.size)
        starts.append(n_labeled)
    sizes = np.diff(starts + [selected.size]).tolist()
    assert all(s > 0 for s in sizes)
    truth = oracle.ground_truth()
    for (reps, noisy), start in zip(shares, starts):
        labeled = selected[:start]
        noisy = np.zeros(0, np.int64) if noisy is None else noisy
        assert sorted(np.concatenate([reps, noisy]).tolist()) == sorted(labeled.tolist())
        if start == 0:
            continue
        # the representatives are the predicted-clean points of the latest filter call over exactly these points
        calls = [(idx, mask) for idx, mask in filt.calls if idx.size == start and np.array_equal(idx, labeled)]
        if calls:
            idx, mask = calls[-1]
            assert sorted(idx[mask].tolist()) == sorted(reps.tolist())
        if filter_name == "ideal":  # the ideal filter keeps exactly the truly clean labels
            revealed = oracle.query(labeled)
            assert sorted(labeled[revealed == truth[labeled]].tolist()) == sorted(reps.tolist())
    assert _check_picks(A, shares, selected, sizes) == selected.size
    if filter_name == "ideal":  # shares of one point: NPC really re-filters inside a round
        assert len(shares) == selected.size
    else:  # shares of n_classes points (rounds of 10 become 4 + 3 + 3)
        assert len(shares) > len(out["round_sizes"])


def test_reference_rule_detects_a_wrong_pick():
    """The reference is not vacuous: a pick outside the densest uncovered ball is rejected."""
    X, _, _, _ = _data()
    A = _reference_balls(X, DELTA)
    best = _argmax_set(A, np.zeros(0, np.int64), np.zeros(0, np.int64))
    worst = int(np.argmin(A.sum(1)))
    assert worst not in best
    with pytest.raises(AssertionError, match="not an arg-max"):
        _check_picks(A, [(np.zeros(0, np.int64), None)], np.array([worst]), [1])
