"""Array network builders: valid CSR, deterministic, and statistically the networkx generators."""

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from loyaltysim.config.schema import NetworkConfig
from loyaltysim.model.network import (
    Network,
    barabasi_albert,
    build_network,
    complete,
    erdos_renyi,
    from_edges,
    from_networkx,
    watts_strogatz,
)

N = 200
SEEDS = range(6)
BUILDERS = {
    "watts_strogatz": (lambda rng: watts_strogatz(N, 10, 0.1, rng), lambda rng: nx.watts_strogatz_graph(N, 10, 0.1, seed=rng)),
    "barabasi_albert": (lambda rng: barabasi_albert(N, 5, rng), lambda rng: nx.barabasi_albert_graph(N, 5, seed=rng)),
    "erdos_renyi": (
        lambda rng: erdos_renyi(N, 10 / (N - 1), rng),
        lambda rng: nx.fast_gnp_random_graph(N, 10 / (N - 1), seed=rng),
    ),
}


def check_valid(net: Network) -> None:
    """Undirected simple graph in CSR: symmetric, no self-loops, no duplicates, rows sorted."""
    source = np.repeat(np.arange(net.n), net.degree)
    assert net.indices.dtype == np.int32 and net.indptr.dtype == np.int64
    assert not np.any(source == net.indices)
    forward = set(zip(source.tolist(), net.indices.tolist(), strict=True))
    assert len(forward) == len(net.indices)
    assert forward == {(v, u) for u, v in forward}
    for i in range(net.n):
        assert np.all(np.diff(net.neighbours(i)) > 0)


def summary(graph: nx.Graph) -> dict[str, float]:
    degree = np.array([d for _, d in graph.degree()])
    largest = graph.subgraph(max(nx.connected_components(graph), key=len))
    return {
        "mean_degree": degree.mean(),
        "sd_degree": degree.std(),
        "clustering": nx.average_clustering(graph),
        "path_length": nx.average_shortest_path_length(largest),
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", BUILDERS)
def test_builders_match_networkx_statistically(kind):
    ours_builder, theirs_builder = BUILDERS[kind]
    ours = [ours_builder(np.random.default_rng(seed)) for seed in SEEDS]
    theirs = [theirs_builder(np.random.default_rng(1000 + seed)) for seed in SEEDS]
    for net in ours:
        check_valid(net)
    ours_stats = [summary(net.to_networkx()) for net in ours]
    theirs_stats = [summary(graph) for graph in theirs]
    mean = {key: (np.mean([s[key] for s in ours_stats]), np.mean([s[key] for s in theirs_stats])) for key in ours_stats[0]}
    assert mean["mean_degree"][0] == pytest.approx(mean["mean_degree"][1], rel=0.02)
    assert mean["sd_degree"][0] == pytest.approx(mean["sd_degree"][1], rel=0.08)
    assert mean["clustering"][0] == pytest.approx(mean["clustering"][1], rel=0.12, abs=0.004)
    assert mean["path_length"][0] == pytest.approx(mean["path_length"][1], rel=0.03)
    pooled_ours = np.concatenate([net.degree for net in ours])
    pooled_theirs = np.concatenate([[d for _, d in g.degree()] for g in theirs])
    assert stats.ks_2samp(pooled_ours, pooled_theirs).pvalue > 0.001


@pytest.mark.slow
def test_the_comparison_can_tell_topologies_apart():
    """A small world is not a random graph: the same checks fail between them."""
    ws = [summary(watts_strogatz(N, 10, 0.1, np.random.default_rng(s)).to_networkx()) for s in range(3)]
    er = [summary(erdos_renyi(N, 10 / (N - 1), np.random.default_rng(s)).to_networkx()) for s in range(3)]
    assert np.mean([s["clustering"] for s in ws]) > 5 * np.mean([s["clustering"] for s in er])


def test_watts_strogatz_exact_properties():
    ring = watts_strogatz(50, 4, 0.0, np.random.default_rng(0))
    assert ring.neighbours(0).tolist() == [1, 2, 48, 49] and set(ring.degree.tolist()) == {4}
    for rewiring in (0.3, 1.0):
        net = watts_strogatz(200, 6, rewiring, np.random.default_rng(1))
        check_valid(net)
        assert net.n_edges == 200 * 3  # rewiring keeps the number of edges
    dense = watts_strogatz(12, 10, 0.5, np.random.default_rng(2))  # hardly any room to rewire
    check_valid(dense)
    assert dense.n_edges == 60


def test_barabasi_albert_exact_properties():
    n, m = 500, 3
    net = barabasi_albert(n, m, np.random.default_rng(3))
    check_valid(net)
    assert net.n_edges == m + m * (n - m - 1)  # the star, then m distinct targets per newcomer
    assert net.degree.min() == m
    source = np.repeat(np.arange(n), net.degree)
    newcomer_links = net.indices[(source > m) & (net.indices < source)]
    assert len(newcomer_links) == m * (n - m - 1)  # every newcomer linked to m earlier customers
    assert barabasi_albert(4, 3, np.random.default_rng(0)).n_edges == 3  # only the star


def test_erdos_renyi_edge_count_and_limits():
    n, p = 2000, 0.004
    counts = [erdos_renyi(n, p, np.random.default_rng(s)).n_edges for s in range(5)]
    expected = p * n * (n - 1) / 2
    assert abs(np.mean(counts) - expected) < 4 * np.sqrt(expected / 5)
    assert erdos_renyi(30, 1.0, np.random.default_rng(0)).n_edges == 30 * 29 // 2
    assert erdos_renyi(30, 0.0, np.random.default_rng(0)).n_edges == 0
    check_valid(erdos_renyi(300, 0.05, np.random.default_rng(4)))


def test_complete_matches_networkx():
    ours = complete(7)
    theirs = from_networkx(nx.complete_graph(7))
    assert np.array_equal(ours.indptr, theirs.indptr) and np.array_equal(ours.indices, theirs.indices)


@pytest.mark.parametrize("kind", ["watts_strogatz", "barabasi_albert", "erdos_renyi"])
def test_same_seed_same_network_other_seed_differs(kind):
    config = NetworkConfig(type=kind, degree=6)
    a, b = (build_network(config, 400, np.random.default_rng(9)) for _ in range(2))
    c = build_network(config, 400, np.random.default_rng(10))
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indptr, b.indptr)
    assert not np.array_equal(a.indices, c.indices)


def test_large_networks_build_as_arrays():
    n = 200_000
    rng = np.random.default_rng(5)
    ws = watts_strogatz(n, 10, 0.1, rng)
    assert ws.n_edges == n * 5 and ws.indices.dtype == np.int32
    ba = barabasi_albert(n, 5, rng)
    assert ba.n_edges == 5 + 5 * (n - 6)
    er = erdos_renyi(n, 10 / (n - 1), rng)
    assert abs(er.n_edges - 5 * n) < 5 * np.sqrt(5 * n)


def test_from_edges_drops_loops_and_duplicates_in_any_order():
    a = from_edges(4, np.array([0, 1, 2, 2, 3]), np.array([1, 0, 2, 3, 0]))
    b = from_edges(4, np.array([3, 2, 0]), np.array([0, 3, 1]))
    assert np.array_equal(a.indices, b.indices) and a.n_edges == 3
