"""Query strategies: registry, invariants, reproducibility, graph exactness, lazy == naive greedy."""

from __future__ import annotations

import numpy as np
import pytest

from active_learning.oracle import NoisyOracle
from active_learning.noise_filters import get_filter
from active_learning.strategies import (
    Coreset,
    MaxHerding,
    ProbCover,
    WeightedProbCover,
    build_delta_graph,
    build_ivf_graph,
    choose_delta_by_purity,
    get_strategy,
    list_strategies,
)
from active_learning.strategies._base import greedy_picks, naive_greedy, normalize_features, unlabeled_mask
from active_learning.strategies._graph import dense_delta_graph
from active_learning._registry import UnknownNameError

try:
    from ._helpers import clustered
except ImportError:  # tests/ is not a package
    from _helpers import clustered

C = 5
PARAMS = {
    "probcover": {"delta": 0.5},
    "weighted_probcover": {"delta": 0.5},
    "npc": {"delta": 0.5},
    "weighted_npc": {"delta": 0.5, "noise_dropout": True},
    "maxherding": {"sigma": 0.3},
    "maxherding_nas": {"sigma": 0.3, "noise_momentum": 0.5},
    "dcom": {"initial_delta": 0.5},
    "typiclust": {},
    "nas": {"base": "coreset"},
}


def _setup(n_clusters=10, per=20, seed=0):
    X, ids = clustered(n_clusters, per, dim=8, spread=0.1, seed=seed)
    y = ids % C
    oracle = NoisyOracle.symmetric(y, 0.3, np.random.default_rng(seed), n_classes=C)
    labeled = np.arange(0, 12)
    labels = oracle.query(labeled)
    probs = np.random.default_rng(1).dirichlet(np.ones(C), size=len(X))
    mc = np.random.default_rng(2).dirichlet(np.ones(C), size=(4, len(X)))
    ctx = dict(
        labels=labels,
        oracle=oracle,
        n_classes=C,
        pred_probs=probs,
        mc_probs=mc,
        noise_filter=get_filter("knn", min_k=1),
    )
    return X, labeled, ctx


@pytest.mark.parametrize("name", list_strategies())
def test_same_seed_same_selection_and_invariants(name):
    X, labeled, ctx = _setup()
    picks = []
    for _ in range(2):
        strat = get_strategy(name, **PARAMS.get(name, {}))
        ctx["oracle"].reset()
        ctx["oracle"].query(labeled)
        picks.append(strat.select(X, labeled, 13, np.random.default_rng(42), **ctx))
    a, b = picks
    np.testing.assert_array_equal(a, b)
    assert a.shape == (13,) and np.unique(a).size == 13
    assert not np.isin(a, labeled).any()
    assert a.min() >= 0 and a.max() < len(X)


@pytest.mark.parametrize("name", list_strategies())
def test_budget_zero_and_full_pool(name):
    X, labeled, ctx = _setup(4, 10)
    strat = get_strategy(name, **PARAMS.get(name, {}))
    assert strat.select(X, labeled, 0, np.random.default_rng(0), **ctx).size == 0
    n_unl = len(X) - labeled.size
    out = strat.select(X, labeled, n_unl, np.random.default_rng(0), **ctx)
    assert np.array_equal(np.sort(out), np.setdiff1d(np.arange(len(X)), labeled))


def test_unknown_name_and_missing_required_params():
    with pytest.raises(UnknownNameError, match="probcover"):
        get_strategy("probcovr")
    with pytest.raises(TypeError):
        get_strategy("probcover")  # delta has no default
    with pytest.raises(ValueError, match="delta"):
        ProbCover(None)
    with pytest.raises(ValueError, match="sigma"):
        MaxHerding(sigma=None)
    with pytest.raises(ValueError, match="kernel"):
        MaxHerding(0.3, kernel="gauss")


@pytest.mark.parametrize(
    "features, labeled, budget, match",
    [
        (np.ones(5), [], 1, "2-D"),
        (np.full((5, 2), np.nan), [], 1, "NaN"),
        (np.ones((5, 2)), [7], 1, "outside"),
        (np.ones((5, 2)), [1, 1], 1, "duplicate"),
        (np.ones((5, 2)), [0], 5, "larger than the unlabeled pool"),
        (np.ones((5, 2)), [], -1, "non-negative"),
        (np.ones((5, 2)), [], 1.5, "integer"),
    ],
)
def test_bad_inputs_raise_clear_errors(features, labeled, budget, match):
    with pytest.raises(ValueError, match=match):
        get_strategy("random").select(features, labeled, budget, np.random.default_rng(0))


def test_rng_must_be_generator():
    with pytest.raises(ValueError, match="Generator"):
        get_strategy("random").select(np.ones((5, 2)), [], 1, 0)


def test_uncertainty_needs_pred_probs_and_falls_back_when_unlabeled():
    X = np.random.default_rng(0).normal(size=(30, 3))
    s = get_strategy("margin")
    assert s.select(X, [], 5, np.random.default_rng(0)).size == 5  # random fallback
    with pytest.raises(ValueError, match="pred_probs"):
        s.select(X, [0, 1], 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        s.select(X, [0, 1], 5, np.random.default_rng(0), pred_probs=np.ones((29, 2)) / 2)


def test_uncertainty_ranks():
    X = np.zeros((4, 2))
    probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3], [0.6, 0.4]])
    for name in ("uncertainty", "entropy", "margin"):
        out = get_strategy(name).select(X, [0], 2, np.random.default_rng(0), pred_probs=probs)
        assert list(out) == [1, 3]


@pytest.mark.parametrize("n", [257, 300, 1])
def test_graph_equals_dense_reference_incl_last_partial_block(n):
    X = normalize_features(np.random.default_rng(n).normal(size=(n, 6)).astype(np.float32), "unit")
    g = build_delta_graph(X, 0.9, block_size=64)
    dense = dense_delta_graph(X, 0.9)
    assert g.n_nodes == n and g.indices.dtype == np.int32
    np.testing.assert_array_equal(g.to_scipy().toarray().astype(bool), dense)
    assert (np.diff(g.indptr) >= 1).all()  # every row has out-edges (at least its self-loop)
    rev = np.zeros((n, n), bool)
    for i in range(n):
        rev[i, g.rev_indices[g.rev_indptr[i] : g.rev_indptr[i + 1]]] = True
    np.testing.assert_array_equal(rev, dense.T)


def test_graph_non_unit_and_values():
    X = np.random.default_rng(0).normal(size=(150, 4)).astype(np.float32)
    g = build_delta_graph(X, 2.0, unit=False, block_size=40, return_values=True)
    dense = dense_delta_graph(X, 2.0, unit=False)
    A = np.zeros_like(dense)
    for i in range(150):
        A[i, g.indices[g.indptr[i] : g.indptr[i + 1]]] = True
    np.testing.assert_array_equal(A, dense)
    i, j = 3, g.indices[g.indptr[3] + 1]
    k = g.indptr[3] + 1
    assert np.isclose(g.values[k], ((X[i] - X[j]) ** 2).sum(), atol=1e-4)


def test_ivf_graph_is_subset_with_high_recall():
    X, _ = clustered(10, 40, dim=8, spread=0.1, seed=3)
    exact = dense_delta_graph(X, 0.5)
    g = build_ivf_graph(X, 0.5, np.random.default_rng(0), n_lists=10, n_probe=3)
    A = g.to_scipy().toarray().astype(bool)
    assert not (A & ~exact).any()  # never a wrong edge
    assert A.sum() / exact.sum() > 0.95
    assert A.diagonal().all()


@pytest.mark.parametrize(
    "strategy",
    [
        ProbCover(0.5),
        WeightedProbCover(0.5),
        MaxHerding(0.3),
        MaxHerding(0.3, kernel="laplace"),
        MaxHerding(0.3, kernel="student_t", kernel_backend="sparse"),
        MaxHerding(0.5, kernel="tophat"),
        MaxHerding(0.3, kernel="cauchy", kernel_backend="sparse", truncation_tol=1e-2),
        MaxHerding(1.5, max_near_degree=10),  # wide kernel: near radius capped, still exact
        MaxHerding(0.3, kernel_backend="stored"),
        MaxHerding(1.5, kernel="cauchy", kernel_backend="stored"),
        Coreset(),
    ],
)
def test_lazy_greedy_equals_naive_greedy(strategy):
    X, _ = clustered(8, 15, dim=6, spread=0.2, seed=1)
    labeled = np.array([0, 5, 9])
    noisy = np.array([11, 12])
    picks = []
    for runner in ("lazy", "naive"):
        model = strategy.prepare(X, np.random.default_rng(7))
        state = model.init_state(labeled, noisy)
        sel = unlabeled_mask(len(X), np.concatenate([labeled, noisy]))
        if runner == "lazy":
            picks.append(greedy_picks(state, sel, 15))
        else:
            picks.append(naive_greedy(state, sel, 15, model.priority))
    np.testing.assert_array_equal(*picks)


def test_probcover_greedy_is_max_coverage():
    X, ids = clustered(6, 20, dim=8, spread=0.02, seed=2)
    out = ProbCover(0.3).select(X, [], 6, np.random.default_rng(0))
    assert np.unique(ids[out]).size == 6  # one pick per cluster


def test_maxherding_sparse_matches_dense_when_truncation_is_loose():
    X, _ = clustered(6, 25, dim=6, spread=0.2, seed=4)
    dense = MaxHerding(0.2, kernel_backend="dense").select(X, [1, 2], 10, np.random.default_rng(0))
    sparse = MaxHerding(0.2, kernel_backend="sparse", truncation_tol=1e-8).select(X, [1, 2], 10, np.random.default_rng(0))
    np.testing.assert_array_equal(dense, sparse)


def test_maxherding_pool_subsample():
    X, _ = clustered(6, 25, dim=6, seed=4)
    out = MaxHerding(0.3, pool_subsample=40).select(X, [0, 1], 10, np.random.default_rng(0))
    assert out.size == 10 and not np.isin(out, [0, 1]).any()


def test_choose_delta_by_purity():
    X, _ = clustered(5, 40, dim=8, spread=0.03, seed=5)
    d, (grid, purity) = choose_delta_by_purity(X, 5, np.random.default_rng(0), return_purity=True)
    assert 0.02 <= d <= 0.6
    assert np.all(np.diff(purity[::-1]) <= 1e-12)  # purity decreases as δ grows
    assert purity[list(grid).index(d)] >= 0.95


def test_coreset_first_pick_random_when_no_centers():
    X, _ = clustered(4, 10, dim=4, seed=0)
    a = Coreset().select(X, [], 3, np.random.default_rng(0))
    b = Coreset().select(X, [], 3, np.random.default_rng(1))
    assert a.size == 3 and not np.array_equal(a, b)


def test_typiclust_spreads_over_clusters_and_picks_typical_points():
    X, ids = clustered(5, 30, dim=6, spread=0.05, seed=6)
    out = get_strategy("typiclust").select(X, [], 5, np.random.default_rng(0))
    assert np.unique(ids[out]).size == 5


def test_dcom_uses_revealed_labels_and_sets_radii():
    X, ids = clustered(6, 20, dim=6, spread=0.05, seed=7)
    labeled = np.arange(6)
    probs = np.eye(6)[ids] * 0.9 + 0.1 / 6
    s = get_strategy("dcom", initial_delta=0.3)
    out = s.select(X, labeled, 6, np.random.default_rng(0), labels=ids[labeled], pred_probs=probs)
    assert out.size == 6 and not np.isin(out, labeled).any()
    assert set(s._deltas) == set(labeled.tolist())
    # a wrong revealed label gives an impure ball, hence the smallest radius
    s2 = get_strategy("dcom", initial_delta=0.3)
    s2.select(X, labeled, 1, np.random.default_rng(0), labels=(ids[labeled] + 1) % 6, pred_probs=probs)
    assert all(d <= 0.02 + 1e-9 for d in s2._deltas.values())
    with pytest.raises(ValueError, match="initial_delta"):
        get_strategy("dcom", initial_delta=None)


@pytest.mark.parametrize("sigma", [0.2, 1.5])
@pytest.mark.parametrize("labeled", [[], [1, 2, 3]])
def test_maxherding_stored_kernel_matches_dense(sigma, labeled):
    X, _ = clustered(8, 15, dim=6, spread=0.2, seed=1)
    dense = MaxHerding(sigma, kernel_backend="dense", cache_dir=False).select(X, labeled, 20, np.random.default_rng(0))
    stored = MaxHerding(sigma, kernel_backend="stored", cache_dir=False).select(X, labeled, 20, np.random.default_rng(0))
    np.testing.assert_array_equal(dense, stored)


def test_maxherding_bounds_inherited_after_a_filter_drops_representatives():
    """A new state whose representatives lost some points still picks exactly what a fresh model picks."""
    X, _ = clustered(8, 15, dim=6, spread=0.2, seed=2)
    for backend in ("dense", "stored", "sparse"):
        strategy = MaxHerding(0.5, kernel_backend=backend, cache_dir=False)
        model = strategy.prepare(X, np.random.default_rng(3))
        first = model.init_state(np.array([0, 10, 20, 30]))
        greedy_picks(first, unlabeled_mask(len(X), [0, 10, 20, 30]), 10)
        reps = np.array([0, 30, 40])  # 10 and 20 dropped (flagged noisy), 40 added
        inherited = greedy_picks(model.init_state(reps), unlabeled_mask(len(X), reps), 12)
        fresh_model = strategy.prepare(X, np.random.default_rng(3))
        fresh = greedy_picks(fresh_model.init_state(reps), unlabeled_mask(len(X), reps), 12)
        np.testing.assert_array_equal(inherited, fresh)


def test_maxherding_stored_kernel_refuses_a_pool_above_its_limit():
    X, _ = clustered(4, 10, dim=4, spread=0.2, seed=0)
    with pytest.raises(ValueError, match="max_stored_points"):
        MaxHerding(0.3, kernel_backend="stored", max_stored_points=20, cache_dir=False).select(
            X, [], 3, np.random.default_rng(0))
