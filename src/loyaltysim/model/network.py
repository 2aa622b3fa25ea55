"""Word-of-mouth networks as compressed sparse rows (CSR) of customer indices.

Any networkx graph can be used (:func:`from_networkx`); the standard topologies
are built from the config with the model's random generator, so the same seed
gives the same network. Other topologies are builders, ``builder(config, n, rng)``
returning a :class:`Network` or a networkx graph of ``n`` nodes: register one with
:func:`register_network`, or name it in the config as ``network: {type: mypkg.nets:ring}``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from loyaltysim.config.errors import ConfigError
from loyaltysim.config.references import Registry
from loyaltysim.config.schema import NETWORK_TYPES, NetworkConfig

__all__ = [
    "NETWORKS",
    "Network",
    "NetworkBuilder",
    "barabasi_albert",
    "build_network",
    "complete",
    "erdos_renyi",
    "from_edges",
    "from_networkx",
    "network_builder",
    "read_network_file",
    "register_network",
    "watts_strogatz",
]


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
    """Build a CSR network from undirected edge endpoints (self-loops and duplicates dropped).

    Neighbours are stored in increasing order, so the network does not depend on the order of the edges.
    """
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    keep = sources != targets
    sources, targets = sources[keep], targets[keep]
    keys = np.concatenate([sources * n + targets, targets * n + sources])
    del sources, targets
    keys.sort()
    if len(keys):
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    row, col = np.divmod(keys, n)
    del keys
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
    """Build the configured topology for ``n`` customers using ``rng`` for every random choice.

    The standard topologies are built directly as arrays at every size (:func:`watts_strogatz`,
    :func:`barabasi_albert`, :func:`erdos_renyi`, :func:`complete`); they follow the networkx
    generators' rules, but not their random streams.
    """
    kind = config.type
    if kind == "none" or n == 1:
        return from_edges(n, np.empty(0), np.empty(0))
    if kind == "complete":
        return complete(n)
    if kind == "watts_strogatz":
        return watts_strogatz(n, config.degree, config.rewiring, rng)
    if kind == "barabasi_albert":
        return barabasi_albert(n, max(1, config.degree // 2), rng)
    if kind == "erdos_renyi":
        return erdos_renyi(n, config.degree / (n - 1), rng)
    if kind == "file":
        path = Path(config.path or "")
        graph = read_network_file(path)
        if graph.number_of_nodes() != n:
            raise ConfigError(f"network.path: {path} has {graph.number_of_nodes()} nodes but customers.n is {n}")
        return from_networkx(graph)
    built = network_builder(kind)(config, n, rng)
    if isinstance(built, nx.Graph):
        built = from_networkx(built)
    if not isinstance(built, Network) or built.n != n:
        got = f"{built.n} nodes" if isinstance(built, Network) else type(built).__name__
        raise ConfigError(f"network.type: {kind} built {got}; expected a Network or networkx graph of {n} nodes (customers.n)")
    return built


NetworkBuilder = Callable[[NetworkConfig, int, np.random.Generator], "Network | nx.Graph"]
"""``builder(config, n, rng)``: the network of ``n`` customers, every random choice drawn from ``rng``."""

NETWORKS: Registry[NetworkBuilder] = Registry("network type", reserved=NETWORK_TYPES)
"""Network builders registered in this process (:func:`register_network`) and ``module:function`` references."""


def register_network(name: str, builder: NetworkBuilder) -> None:
    """Make ``builder`` available as ``network: {type: <name>}`` in this process.

    Worker processes of a sweep build their own networks: a process pool's workers register it again
    when the registering module (e.g. your script) is imported at their start; on Dask name the
    builder as ``module:function`` instead.

    Raises
    ------
    ValueError
        ``name`` is a built-in type or not a plain name.
    """
    NETWORKS.register(name, builder)


def network_builder(kind: str) -> NetworkBuilder:
    """The builder of a registered or ``module:function`` network type.

    Raises
    ------
    ConfigError
        Naming ``network.type``: an unknown name (with a close match) or a reference that cannot be imported.
    """
    try:
        return NETWORKS.get(kind)
    except ValueError as exc:
        raise ConfigError(f"network.type: {exc}") from None


def complete(n: int) -> Network:
    """Everyone knows everyone (``n·(n−1)`` stored neighbours: for small markets only)."""
    columns = np.broadcast_to(np.arange(n, dtype=np.int32), (n, n))
    indices = columns[~np.eye(n, dtype=bool)]
    return Network(indptr=np.arange(n + 1, dtype=np.int64) * (n - 1), indices=np.ascontiguousarray(indices))


def watts_strogatz(n: int, degree: int, rewiring: float, rng: np.random.Generator) -> Network:
    """Small world (Watts & Strogatz 1998) with the rules of ``networkx.watts_strogatz_graph``.

    A ring where each customer knows ``degree // 2`` neighbours on each side; each ring edge
    ``(u, u + j)`` is rewired with chance ``rewiring`` to ``(u, w)``, ``w`` uniform among customers
    that are neither ``u`` nor already linked to ``u``. Rewirings that would create a self-loop or a
    duplicate edge are redrawn (networkx redraws them one at a time; here all at once per round).
    """
    half = degree // 2
    source = np.tile(np.arange(n, dtype=np.int64), half)
    target = (source + np.repeat(np.arange(1, half + 1, dtype=np.int64), n)) % n
    rewire = rng.random(len(source)) < rewiring
    kept = np.sort(_edge_key(n, source[~rewire], target[~rewire]))
    source, ring_target = source[rewire], target[rewire]
    del target
    new_target = np.empty_like(ring_target)
    pending = np.arange(len(source))
    for _ in range(_MAX_REDRAW_ROUNDS):
        if not len(pending):
            break
        new_target[pending] = rng.integers(0, n, size=len(pending))
        pending = _invalid_rewirings(_edge_key(n, source, new_target), source == new_target, kept)
    new_target[pending] = ring_target[pending]  # give up on those: keep their ring edges
    return from_edges(n, np.concatenate([kept // n, source]), np.concatenate([kept % n, new_target]))


_MAX_REDRAW_ROUNDS = 100


def _edge_key(n: int, u: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.int64]:
    """One integer per undirected edge."""
    return np.minimum(u, v) * n + np.maximum(u, v)


def _invalid_rewirings(key: NDArray[np.int64], self_loop: NDArray[np.bool_], kept: NDArray[np.int64]) -> NDArray[np.int64]:
    """Rewired edges that are self-loops, repeat a kept ring edge, or repeat an earlier rewired edge."""
    where = np.minimum(np.searchsorted(kept, key), max(len(kept) - 1, 0))
    bad = self_loop | ((kept[where] == key) if len(kept) else False)
    first = np.zeros(len(key), dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True
    return np.flatnonzero(bad | ~first)


def barabasi_albert(n: int, m: int, rng: np.random.Generator) -> Network:
    """Preferential attachment (Barabási & Albert 1999) with the rules of ``networkx.barabasi_albert_graph``.

    Starts from a star of ``m + 1`` customers; each later customer (a newcomer) links to ``m`` distinct
    earlier ones chosen with chance proportional to their degree. Built as arrays: each chosen target
    is a uniformly picked entry of the list of all earlier edge ends (Batagelj & Brandes 2005), and a
    pick that repeats a target the newcomer already has is redrawn, as networkx does. Newcomers are
    handled in chunks of growing size, in order, so every pick reads final earlier targets.
    """
    first = m + 1  # customers 0 … m form the star
    newcomers = n - first
    star = np.arange(1, min(first, n), dtype=np.int64)
    if newcomers <= 0:
        return from_edges(n, np.zeros(len(star), dtype=np.int64), star)
    target = np.empty(newcomers * m, dtype=np.int64)
    done = 0
    while done < newcomers:
        stop = min(newcomers, max(2 * done, done + 256))
        _attach_newcomers(target, done, stop, m, rng)
        done = stop
    source = first + np.repeat(np.arange(newcomers, dtype=np.int64), m)
    return from_edges(n, np.concatenate([np.zeros(m, dtype=np.int64), source]), np.concatenate([star, target]))


def _attach_newcomers(target: NDArray[np.int64], start: int, stop: int, m: int, rng: np.random.Generator) -> None:
    """Choose the targets of newcomers ``start … stop − 1`` (0-based among newcomers), in place.

    The list of edge ends is: the star's ``[0]·m + [1 … m]``, then per newcomer its ``m`` targets and
    ``m`` copies of itself. A pick landing on a newcomer's target takes that target's value; within the
    chunk such chains are followed by pointer doubling. Repeated targets are redrawn round by round, but
    only in rows (newcomers) whose picks do not lean on a target still to be redrawn, so every redraw
    is decided against final values, as in the sequential algorithm.
    """
    block, first = 2 * m, m + 1
    offset = start * m
    newcomer = np.repeat(np.arange(start, stop, dtype=np.int64), m)
    available = block * (1 + newcomer)  # list entries before this newcomer's own block
    pick = (rng.random(len(newcomer)) * available).astype(np.int64)
    own = np.arange(len(newcomer))
    while True:
        owner, within = np.divmod(pick - block, block)
        in_star = pick < block
        lands_on_target = ~in_star & (within < m)
        landed = owner * m + within  # slot of the target picked
        value = np.where(in_star, np.where(pick < m, 0, pick - m + 1), first + owner)
        earlier = lands_on_target & (landed < offset)
        value[earlier] = target[landed[earlier]]
        parent = np.where(lands_on_target & ~earlier, landed - offset, own)
        root = parent
        while not np.array_equal(root[root], root):
            root = root[root]
        value = value[root]
        repeated = _repeated_targets(value, m)
        if not repeated.any():
            target[offset : offset + len(value)] = value
            return
        leans = np.where(parent != own, repeated[parent], False)  # a strict ancestor is repeated
        jump = parent
        while True:
            leans |= leans[jump]
            jumped = jump[jump]
            if np.array_equal(jumped, jump):
                break
            jump = jumped
        settled = ~leans.reshape(-1, m).any(axis=1)
        redraw = np.flatnonzero(repeated & np.repeat(settled, m))
        pick[redraw] = (rng.random(len(redraw)) * available[redraw]).astype(np.int64)


def _repeated_targets(target: NDArray[np.int64], m: int) -> NDArray[np.bool_]:
    """Whether each target repeats an earlier one (in position order) of the same newcomer."""
    per_newcomer = target.reshape(-1, m)
    repeated = np.zeros(per_newcomer.shape, dtype=bool)
    for later in range(1, m):
        repeated[:, later] = (per_newcomer[:, :later] == per_newcomer[:, later : later + 1]).any(axis=1)
    return repeated.ravel()


def erdos_renyi(n: int, p: float, rng: np.random.Generator) -> Network:
    """Random graph G(n, p) (Erdős & Rényi 1959): each pair linked independently with chance ``p``.

    Exact, in O(edges): the gaps between linked pairs (in row-major order of the upper triangle) are
    geometric, as in ``networkx.fast_gnp_random_graph`` (Batagelj & Brandes 2005).
    """
    pairs = n * (n - 1) // 2
    if p <= 0 or pairs == 0:
        return from_edges(n, np.empty(0), np.empty(0))
    if p >= 1:
        return complete(n)
    expected = pairs * p
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(p, size=chunk)) - 1
    while positions[-1] < pairs:
        more = np.cumsum(rng.geometric(p, size=max(chunk // 10, 16))) + positions[-1]
        positions = np.concatenate([positions, more])
    positions = positions[positions < pairs]
    row = _upper_triangle_row(positions, n)
    column = positions - _row_start(row, n) + row + 1
    return from_edges(n, row, column)


def _row_start(row: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Linear index of pair ``(row, row + 1)`` in the row-major upper triangle."""
    return row * (2 * n - row - 1) // 2


def _upper_triangle_row(position: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Row of each linear upper-triangle index (float estimate, then exact integer correction)."""
    b = 2.0 * n - 1.0
    row = np.floor((b - np.sqrt(np.maximum(b * b - 8.0 * position, 0.0))) / 2.0).astype(np.int64)
    row = np.clip(row, 0, n - 2)
    for _ in range(2):
        row -= _row_start(row, n) > position
        row += (row < n - 2) & (_row_start(row + 1, n) <= position)
    return row
