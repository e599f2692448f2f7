"""Noise filters: registry, output contract, AUM threshold set, CV variants, ideal, momentum, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from active_learning._registry import UnknownNameError
from active_learning.noise_filters import MomentumFilter, NoiseFilter, get_filter, list_filters

C = 4


def _data(n=400, n_lab=80, rate=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(C, 10)) * 4
    y = rng.integers(0, C, n)
    X = (centers[y] + rng.normal(size=(n, 10))).astype(np.float32)
    L = rng.choice(n, n_lab, replace=False)
    labels = y[L].copy()
    flip = rng.random(n_lab) < rate
    labels[flip] = (labels[flip] + rng.integers(1, C, flip.sum())) % C
    return X, y, L, labels, flip


FAST = {"aum": {"epochs": 5}, "cross_validation": {"max_iter": 30}, "confident_learning": {"max_iter": 30}}


@pytest.mark.parametrize("name", list_filters())
def test_contract_and_reproducibility(name):
    X, y, L, labels, flip = _data()
    outs = [
        get_filter(name, **FAST.get(name, {})).clean_mask(
            X, L, labels, np.random.default_rng(5), n_classes=C, true_labels=y
        )
        for _ in range(2)
    ]
    assert outs[0].dtype == bool and outs[0].shape == (L.size,)
    np.testing.assert_array_equal(*outs)
    assert get_filter(name, **FAST.get(name, {})).clean_mask(X, [], [], np.random.default_rng(0), n_classes=C).size == 0


@pytest.mark.parametrize("name", ["knn", "fine", "centroids", "ideal", "aum"])
def test_filters_beat_chance_on_separable_data(name):
    X, y, L, labels, flip = _data()
    m = get_filter(name).clean_mask(X, L, labels, np.random.default_rng(0), n_classes=C, true_labels=y)
    precision = (m & ~flip).sum() / max(m.sum(), 1)
    assert precision > 0.85 and m.sum() > 0.5 * (~flip).sum()


def test_aum_threshold_set_size_and_source():
    X, y, L, labels, _ = _data(n_lab=83)
    f = get_filter("aum", epochs=2)
    f.clean_mask(X, L, labels, np.random.default_rng(0), n_classes=C)
    assert f.threshold_idx_.size == math.ceil(83 / C)
    assert not np.isin(f.threshold_idx_, L).any()  # drawn from the unlabeled pool
    assert np.isfinite(f.aum_).all()


def test_cross_validation_variants_and_vote():
    X, y, L, labels, flip = _data(rate=0.3)
    paper = get_filter("cross_validation", max_iter=30).clean_mask(X, L, labels, np.random.default_rng(0))
    orig = get_filter("cross_validation", train_on_one_fold=True, max_iter=30).clean_mask(X, L, labels, np.random.default_rng(0))
    assert paper.shape == orig.shape == (L.size,)
    # trained on one fold, each model cannot memorise two thirds of the points: it flags more noise
    assert (~orig).sum() >= (~paper).sum()
    assert ((~orig) & flip).sum() > 0.7 * flip.sum()


def test_ideal_needs_ground_truth():
    X, y, L, labels, flip = _data()
    with pytest.raises(ValueError, match="true_labels"):
        get_filter("ideal").clean_mask(X, L, labels, np.random.default_rng(0))
    m = get_filter("ideal").clean_mask(X, L, labels, np.random.default_rng(0), true_labels=y)
    np.testing.assert_array_equal(m, ~flip)
    m2 = get_filter("ideal").clean_mask(X, L, labels, np.random.default_rng(0), true_labels=y[L])
    np.testing.assert_array_equal(m2, ~flip)


class _Seq(NoiseFilter):
    def __init__(self, seq):
        self.seq = list(seq)

    def _clean_mask(self, features, labeled_idx, labels, rng, **context):
        return np.array(self.seq.pop(0), dtype=bool)


def test_noise_momentum():
    X = np.zeros((5, 2))
    f = MomentumFilter(_Seq([[True], [False], [False]]), 0.9)
    rng = np.random.default_rng(0)
    assert f.clean_mask(X, [0], [0], rng).tolist() == [True]  # r = +1
    # n=2: mu = 0.45 -> r = 0.55 * -1 + 0.45 * 1 = -0.1 -> noisy
    assert f.clean_mask(X, [0], [0], rng).tolist() == [False]
    f2 = MomentumFilter(_Seq([[True], [False]]), 0.0)
    f2.clean_mask(X, [0], [0], rng)
    assert f2.clean_mask(X, [0], [0], rng).tolist() == [False]
    assert isinstance(get_filter("knn", momentum=0.5), MomentumFilter)
    with pytest.raises(ValueError, match="momentum"):
        MomentumFilter(_Seq([]), 1.5)


def test_bad_inputs():
    X, y, L, labels, _ = _data()
    f = get_filter("knn")
    with pytest.raises(ValueError, match="one label per labeled"):
        f.clean_mask(X, L, labels[:-1], np.random.default_rng(0))
    with pytest.raises(ValueError, match="out of range"):
        f.clean_mask(X, L, labels + 10, np.random.default_rng(0), n_classes=C)
    with pytest.raises(ValueError, match="NaN"):
        f.clean_mask(np.full_like(X, np.nan), L, labels, np.random.default_rng(0))
    with pytest.raises(ValueError, match="required"):
        f.clean_mask(X, L, None, np.random.default_rng(0))
    with pytest.raises(UnknownNameError):
        get_filter("aumm")
