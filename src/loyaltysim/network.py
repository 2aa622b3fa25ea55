"""Word-of-mouth networks as compressed sparse rows (CSR) of customer indices.

Any networkx graph can be used (:func:`from_networkx`); the standard topologies
are built from the config with the model's random generator, so the same seed
gives the same network.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from .config import NetworkConfig
from .errors import ConfigError

__all__ = ["Network", "build_network", "from_edges", "from_networkx", "read_network_file"]


@dataclass(frozen=True)
class Network:
    """Undirected network stored as CSR: neighbours of ``i`` are ``indices[indptr[i]:indptr[i+1]]``."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]

    @property
    def n(self) -> int:
        """Number of customers (nodes)."""
        return len(self.indptr) - 1

    @property
    def degree(self) -> NDArray[np.int64]:
        """Number of neighbours of each customer."""
        return np.diff(self.indptr)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return len(self.indices) // 2

    def neighbours(self, i: int) -> NDArray[np.int32]:
        """The neighbours of customer ``i``, in stored order."""
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    def to_networkx(self) -> nx.Graph:
        """The network as a networkx graph (nodes 0 … n−1)."""
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n))
        sources = np.repeat(np.arange(self.n), self.degree)
        graph.add_edges_from(zip(sources.tolist(), self.indices.tolist(), strict=True))
        return graph


def from_edges(n: int, sources: NDArray, targets: NDArray) -> Network:
    """Build a CSR network from undirected edge endpoints (self-loops and duplicates dropped)."""
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    keep = sources != targets
    both_from = np.concatenate([sources[keep], targets[keep]])
    both_to = np.concatenate([targets[keep], sources[keep]])
    keys = np.unique(both_from * n + both_to)
    row, col = np.divmod(keys, n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return Network(indptr=indptr, indices=col.astype(np.int32))


def from_networkx(graph: nx.Graph) -> Network:
    """Convert any networkx graph; nodes are numbered in sorted order (or insertion order if unsortable)."""
    nodes = list(graph.nodes)
    with contextlib.suppress(TypeError):
        nodes = sorted(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    edges = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64).reshape(-1, 2)
    return from_edges(len(nodes), edges[:, 0], edges[:, 1])


def read_network_file(path: str | Path) -> nx.Graph:
    """Read an edge list (whitespace or comma separated) or a GraphML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"network.path: file not found: {path}")
    try:
        if path.suffix.lower() == ".graphml":
            return nx.read_graphml(path)
        delimiter = "," if path.suffix.lower() == ".csv" else None
        return nx.read_edgelist(path, delimiter=delimiter, nodetype=str, data=False, comments="#")
    except Exception as exc:  # networkx raises many kinds on bad files
        raise ConfigError(f"network.path: cannot read {path} as a network: {exc}") from None


def build_network(config: NetworkConfig, n: int, rng: np.random.Generator) -> Network:
    """Build the configured topology for ``n`` customers using ``rng`` for every random choice."""
    kind = config.type
    if kind == "none" or n == 1:
        return from_edges(n, np.empty(0), np.empty(0))
    if kind == "complete":
        return from_networkx(nx.complete_graph(n))
    if kind == "watts_strogatz":
        return from_networkx(nx.watts_strogatz_graph(n, config.degree, config.rewiring, seed=rng))
    if kind == "barabasi_albert":
        return from_networkx(nx.barabasi_albert_graph(n, max(1, config.degree // 2), seed=rng))
    if kind == "erdos_renyi":
        return from_networkx(nx.fast_gnp_random_graph(n, config.degree / (n - 1), seed=rng))
    if kind == "file":
        path = Path(config.path or "")
        graph = read_network_file(path)
        if graph.number_of_nodes() != n:
            raise ConfigError(f"network.path: {path} has {graph.number_of_nodes()} nodes but customers.n is {n}")
        return from_networkx(graph)
    raise ConfigError(f"network.type: unknown type {kind!r}")
