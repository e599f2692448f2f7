"""NoisyOracle noise models and reveal semantics; budget schedules (NAS spec §4.2 table)."""

from __future__ import annotations

import numpy as np
import pytest

from active_learning.budgets import constant_budgets, cumulative_budget, samples_per_class_budgets
from active_learning.oracle import CIFAR10_ASYM_MAP, NoisyOracle


@pytest.mark.parametrize("n, rate", [(1000, 0.2), (999, 0.5), (50000, 0.6), (37, 0.0)])
def test_symmetric_noise_rate_exact(n, rate):
    y = np.random.default_rng(0).integers(0, 10, n)
    o = NoisyOracle.symmetric(y, rate, np.random.default_rng(1), n_classes=10)
    noisy = o.query(np.arange(n))
    assert (noisy != y).sum() == int(np.floor(rate * n))
    assert noisy.min() >= 0 and noisy.max() < 10


def test_symmetric_flips_are_uniform_over_other_classes():
    y = np.zeros(30000, dtype=int)
    o = NoisyOracle.symmetric(y, 0.9, np.random.default_rng(0), n_classes=4)
    counts = np.bincount(o.query(np.arange(y.size)), minlength=4)
    assert counts[0] == 3000 and np.all(np.abs(counts[1:] / 27000 - 1 / 3) < 0.02)


def test_asymmetric_cifar10_map():
    y = np.repeat(np.arange(10), 100)
    o = NoisyOracle.asymmetric_cifar10(y, 0.4, np.random.default_rng(0))
    noisy = o.query(np.arange(y.size))
    changed = noisy != y
    for src in np.unique(y[changed]):
        assert src in CIFAR10_ASYM_MAP and np.all(noisy[changed & (y == src)] == CIFAR10_ASYM_MAP[src])
    assert 0 < changed.mean() <= 0.4


def test_confusion_variant():
    C = 4
    T = np.array([[90, 10, 0, 0], [0, 50, 50, 0], [0, 0, 100, 0], [5, 5, 10, 80]], dtype=float)
    y = np.repeat(np.arange(C), 250)
    o = NoisyOracle.from_confusion(y, 0.2, T, np.random.default_rng(0))
    noisy = o.query(np.arange(y.size))
    flips = noisy != y
    assert flips.sum() == 200
    assert not flips[y == 2].any()  # perfect class gets no flips (share ∝ 1 - acc = 0)
    assert np.all(noisy[flips & (y == 0)] == 1)  # row 0 off-diagonal mass only on class 1
    assert flips[y == 1].sum() > flips[y == 0].sum()


def test_reveal_semantics_and_ground_truth():
    y = np.arange(10) % 3
    noisy = (y + 1) % 3
    o = NoisyOracle.from_noisy_labels(y, noisy)
    assert o.n_queries == 0 and o.revealed_idx.size == 0
    np.testing.assert_array_equal(o.query([4, 2]), noisy[[4, 2]])
    o.query([2, 7])
    np.testing.assert_array_equal(o.revealed_idx, [4, 2, 7])
    np.testing.assert_array_equal(o.revealed_labels, noisy[[4, 2, 7]])
    assert o.n_queries == 3 and len(o.query_log) == 2
    np.testing.assert_array_equal(o.ground_truth(), y)
    o.reset()
    assert o.n_queries == 0


def test_oracle_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        NoisyOracle([0, 1], [0])
    with pytest.raises(ValueError, match="NaN"):
        NoisyOracle([0, np.nan], [0, 1])
    with pytest.raises(ValueError, match="noise rate"):
        NoisyOracle.symmetric([0, 1], 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="out of range"):
        NoisyOracle([0, 5], [0, 1], n_classes=3)
    o = NoisyOracle([0, 1], [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        o.query([2])
    with pytest.raises(ValueError, match="Generator"):
        NoisyOracle.symmetric([0, 1], 0.5, 0)


# NAS spec §4.2: cumulative budgets for spc = 1..5
SPEC_TABLE = [
    (100, 0.2, [125, 250, 375, 500, 625]),
    (100, 0.4, [167, 334, 500, 667, 834]),
    (100, 0.5, [200, 400, 600, 800, 1000]),
    (100, 0.6, [250, 500, 750, 1000, 1250]),
    (100, 0.402, [168, 335, 502, 669, 837]),
    (50, 0.5, [100, 200, 300, 400, 500]),
    (50, 0.2, [63, 125, 188, 250, 313]),
    (14, 0.38, [23, 46, 68, 91, 113]),
    (10, 0.5, [20, 40, 60, 80, 100]),
]


@pytest.mark.parametrize("C, r, expected", SPEC_TABLE)
def test_spc_budgets_reproduce_spec_table(C, r, expected):
    sched = samples_per_class_budgets([1, 2, 3, 4, 5], C, r)
    assert sched.cumulative.tolist() == expected
    assert list(sched.round_sizes) == np.diff([0] + expected).tolist()
    assert [cumulative_budget(s, C, r) for s in range(1, 6)] == expected


def test_budget_options_and_errors():
    assert constant_budgets(100, 5).cumulative.tolist() == [100, 200, 300, 400, 500]
    s = samples_per_class_budgets([1, 2], 100, 0.5, initial_size=50)
    assert s.round_sizes == (150, 200) and s.cumulative.tolist() == [200, 400]
    with pytest.raises(ValueError, match="increasing"):
        samples_per_class_budgets([2, 1], 10, 0.1)
    with pytest.raises(ValueError, match="noise_rate"):
        cumulative_budget(1, 10, 1.0)
    with pytest.raises(ValueError, match="pool has"):
        constant_budgets(100, 5).check_pool(300)
