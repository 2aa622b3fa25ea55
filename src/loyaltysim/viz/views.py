"""The app's views as pure figure functions: a model in, a matplotlib Figure out.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state, safe in
the server's threads), small and without ``tight_layout`` so each update stays fast.
Colours follow :data:`loyaltysim.plots.PALETTE` (Okabe–Ito); firms also differ by
marker or line style so the views read without colour.
"""

from __future__ import annotations

import weakref
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ..behavior import annualise, satisfaction_band
from ..metrics import BANDS
from ..model import LoyaltyModel
from ..network import Network
from ..plots import BAND_LABELS, LINESTYLES, MARKERS, PALETTE
from ..population import link_of

__all__ = [
    "NETWORK_SAMPLE",
    "SATISFIED",
    "NetworkSample",
    "band_churn",
    "churn_by_band_view",
    "market_share_view",
    "network_sample",
    "network_view",
    "satisfaction_churn_view",
    "satisfaction_loyalty_view",
]

NETWORK_SAMPLE = 250  # most nodes drawn in the network view
SCATTER_POINTS = 2000  # most customers drawn in the scatter
SATISFIED = 0.6  # lower edge of Kotler's "satisfied" bands
FIGSIZE = (5.2, 3.6)
DPI = 80


def _figure() -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.15)
    return fig


def _firm_colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@dataclass(frozen=True)
class NetworkSample:
    """A connected sample of customers with fixed drawing positions."""

    nodes: NDArray[np.int64]
    positions: NDArray[np.float64]
    segments: NDArray[np.float64]


def _breadth_first(network: Network, limit: int) -> NDArray[np.int64]:
    """Up to ``limit`` customers reached breadth-first from customer 0 (then 1, 2, … if it runs dry)."""
    seen: dict[int, None] = {}
    for start in range(network.n):
        if len(seen) >= limit:
            break
        if start in seen:
            continue
        seen[start] = None
        queue = deque([start])
        while queue and len(seen) < limit:
            for neighbour in network.neighbours(queue.popleft()).tolist():
                if neighbour not in seen and len(seen) < limit:
                    seen[neighbour] = None
                    queue.append(neighbour)
    return np.fromiter(seen, dtype=np.int64)


_SAMPLES: weakref.WeakKeyDictionary[LoyaltyModel, NetworkSample] = weakref.WeakKeyDictionary()


def network_sample(model: LoyaltyModel, limit: int = NETWORK_SAMPLE) -> NetworkSample:
    """The customers drawn in the network view, laid out once per model (the layout uses a fixed seed, not the model's)."""
    if model in _SAMPLES:
        return _SAMPLES[model]
    nodes = _breadth_first(model.network, limit)
    local = {int(node): i for i, node in enumerate(nodes)}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(nodes)))
    for node in nodes.tolist():
        graph.add_edges_from((local[node], local[j]) for j in model.network.neighbours(node).tolist() if j in local)
    layout = nx.spring_layout(graph, seed=0, iterations=40)
    positions = np.array([layout[i] for i in range(len(nodes))])
    edges = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    sample = NetworkSample(nodes=nodes, positions=positions, segments=positions[edges])
    _SAMPLES[model] = sample
    return sample


def network_view(model: LoyaltyModel) -> Figure:
    """A sample of the network: colour and marker = current firm, size = satisfaction."""
    sample = network_sample(model)
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=0.01, right=0.78, top=0.9, bottom=0.01)
    ax = fig.add_subplot()
    ax.add_collection(LineCollection(sample.segments, colors="#999999", linewidths=0.4, zorder=1))
    firm = model.state.firm[sample.nodes]
    satisfaction = model.state.satisfaction[sample.nodes]
    for i, name in enumerate(model.market.names):
        mine = firm == i
        if mine.any():
            xy = sample.positions[mine]
            ax.scatter(
                xy[:, 0],
                xy[:, 1],
                s=6 + 60 * satisfaction[mine],
                color=_firm_colour(i),
                marker=MARKERS[i % len(MARKERS)],
                edgecolors="black",
                linewidths=0.3,
                label=str(name),
                zorder=2,
            )
    ax.set_axis_off()
    ax.set_title(f"Network: {len(sample.nodes)} of {model.state.n} customers (size = satisfaction)", fontsize=9)
    ax.legend(title="firm", fontsize=7, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=0.8)
    return fig


def market_share_view(model: LoyaltyModel) -> Figure:
    """Market share of each firm, period by period."""
    fig = _figure()
    ax = fig.add_subplot()
    firms = model.firm_timeseries()
    if not firms.empty:
        shares = firms.pivot(index="step", columns="firm", values="share")[list(model.market.names)]
        for i, name in enumerate(shares.columns):
            ax.plot(shares.index, shares[name], color=_firm_colour(i), linestyle=LINESTYLES[i % len(LINESTYLES)], label=str(name))
        ax.legend(fontsize=7, ncol=min(4, len(shares.columns)), loc="upper left")
    ax.set(xlabel="period", ylabel="market share", ylim=(0, 1), xlim=(0, max(model.steps, 1)))
    ax.set_title("Market share over time", fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def satisfaction_churn_view(model: LoyaltyModel) -> Figure:
    """Mean satisfaction (left axis) and churn per period (right axis)."""
    fig = _figure()
    fig.subplots_adjust(right=0.86)
    ax = fig.add_subplot()
    right = ax.twinx()
    ts = model.timeseries()
    if not ts.empty:
        ax.plot(ts["step"], ts["mean_satisfaction"], color=PALETTE[0], label="mean satisfaction")
        right.plot(ts["step"], ts["churn_rate"], color=PALETTE[3], linestyle="--", label="churn per period")
    ax.set(xlabel="period", ylabel="mean satisfaction", ylim=(0, 1), xlim=(0, max(model.steps, 1)))
    right.set_ylabel("churn per period")
    right.set_ylim(0, max(0.05, float(ts["churn_rate"].max()) * 1.2) if not ts.empty else 0.05)
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower left")
    ax.set_title("Satisfaction and churn", fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def band_churn(model: LoyaltyModel) -> NDArray[np.float64]:
    """Churn per period in each satisfaction band, pooled over the periods so far (NaN where a band was empty)."""
    ts = model.timeseries()
    if ts.empty:
        return np.full(len(BANDS), np.nan)
    customers = np.column_stack([ts[f"share_{band}"] * ts["customers"] for band in BANDS])
    switchers = np.column_stack([ts[f"churn_{band}"].fillna(0.0) for band in BANDS]) * customers
    total = customers.sum(axis=0)
    return np.divide(switchers.sum(axis=0), total, out=np.full(len(BANDS), np.nan), where=total > 0)


def churn_by_band_view(model: LoyaltyModel) -> Figure:
    """Share of each satisfaction band lost per year, pooled over the run so far."""
    fig = _figure()
    fig.subplots_adjust(bottom=0.22)
    ax = fig.add_subplot()
    yearly = annualise(band_churn(model), model.config.periods_per_year)
    x = np.arange(len(BANDS))
    ax.bar(x, np.nan_to_num(yearly), color=[PALETTE[3]] * 3 + [PALETTE[2]] * 2, edgecolor="black", hatch="//")
    for xi, value in zip(x, yearly, strict=True):
        ax.text(xi, np.nan_to_num(value) + 0.02, "–" if np.isnan(value) else f"{value:.0%}", ha="center", fontsize=7)
    ax.set_xticks(x, BAND_LABELS, fontsize=7)
    ax.set(ylabel="customers lost per year", ylim=(0, 1.1))
    ax.set_title("Churn by satisfaction band (so far)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return fig


def satisfaction_loyalty_view(model: LoyaltyModel) -> Figure:
    """Last period's customers: satisfaction vs loyalty, the link function, and satisfied defectors."""
    fig = _figure()
    ax = fig.add_subplot()
    grid = np.linspace(0, 1, 101)
    outcome = model.last_outcome
    if outcome is not None:
        every = max(1, len(outcome.satisfaction) // SCATTER_POINTS)
        s, loyalty, moved = outcome.satisfaction[::every], outcome.loyalty[::every], outcome.switched[::every]
        ax.scatter(s[~moved], loyalty[~moved], s=4, alpha=0.3, color=PALETTE[0], label="stayed", rasterized=True)
        trap = moved & (satisfaction_band(s) >= 3)
        ax.scatter(s[moved & ~trap], loyalty[moved & ~trap], s=18, marker="+", color=PALETTE[1], label="defected")
        ax.scatter(s[trap], loyalty[trap], s=22, marker="x", color=PALETTE[3], label="satisfied defector")
    ax.plot(grid, link_of(model.config)(grid), color="black", linewidth=1.8, label=f"link: {model.config.loyalty.link}")
    ax.axvspan(SATISFIED, 1.0, color=PALETTE[2], alpha=0.08)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="cumulative satisfaction", ylabel="attitudinal loyalty")
    ax.set_title("Satisfaction → loyalty (last period)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return fig
