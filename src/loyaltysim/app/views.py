"""The app's views: live matplotlib figures of one model, encoded as PNG for the page.

Each view draws its static parts once per model (axes, ticks, titles, legends, the
network's edges, the link curve) and keeps that picture; an update only moves the
animated artists (lines, points, bars) over it and encodes the result (matplotlib's
blitting technique). Axes are fixed in advance (time runs to ``run.steps``, rates and
satisfaction on [0, 1]), which is what makes the background reusable. Colours follow
:data:`loyaltysim.reporting.figures.scenario.PALETTE` (Okabe–Ito) and series also differ by marker or line
style, so the views read without colour.
"""

from __future__ import annotations

import io
import threading
import weakref
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from numpy.typing import NDArray
from PIL import Image

from loyaltysim.model.loyalty_model import LoyaltyModel
from loyaltysim.model.metrics import BANDS
from loyaltysim.model.network import Network
from loyaltysim.model.rules import annualise, satisfaction_band
from loyaltysim.model.state import link_of
from loyaltysim.reporting.figures.style import BAND_LABELS, LINESTYLES, MARKERS, PALETTE

__all__ = [
    "NETWORK_SAMPLE",
    "SATISFIED",
    "VIEW_CLASSES",
    "ChurnByBandView",
    "MarketShareView",
    "NetworkSample",
    "NetworkView",
    "SatisfactionChurnView",
    "SatisfactionLoyaltyView",
    "View",
    "band_churn",
    "network_sample",
    "view_png",
]

NETWORK_SAMPLE = 250  # most nodes drawn in the network view
SCATTER_POINTS = 2000  # most customers drawn in the scatter
SATISFIED = 0.6  # lower edge of Kotler's "satisfied" bands
FIGSIZE = (5.2, 3.6)
DPI = 80


class View:
    """A figure of one model: static background drawn once, animated artists redrawn by :meth:`png`."""

    title = ""

    def __init__(self, model: LoyaltyModel) -> None:
        self.figure = Figure(figsize=FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.15)
        self.ax = self.figure.add_subplot()
        self.ax.set_title(self.title, fontsize=9)
        self.artists: list[Artist] = self.build(model)
        for artist in self.artists:
            artist.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.lock = threading.Lock()

    def build(self, model: LoyaltyModel) -> list[Artist]:
        """Draw the static parts; return the artists that :meth:`update` changes."""
        raise NotImplementedError

    def update(self, model: LoyaltyModel) -> None:
        """Move the animated artists to the model's current state."""
        raise NotImplementedError

    def png(self, model: LoyaltyModel) -> bytes:
        """The view of the model now, as PNG bytes."""
        with self.lock:
            self.update(model)
            self.canvas.restore_region(self.background)
            renderer = self.canvas.get_renderer()
            for artist in self.artists:
                artist.draw(renderer)
            width, height = self.canvas.get_width_height()
            image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
            out = io.BytesIO()
            image.save(out, format="png", compress_level=1)
            return out.getvalue()


def _firm_style(i: int) -> dict:
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)]}


def _time_axis(ax, model: LoyaltyModel, ylabel: str) -> None:
    ax.set(xlim=(0, model.config.run.steps), ylim=(0, 1), xlabel="period", ylabel=ylabel)
    ax.grid(alpha=0.3)


# --- network ---------------------------------------------------------------------------


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


def network_sample(network: Network, limit: int = NETWORK_SAMPLE) -> NetworkSample:
    """Customers drawn in the network view and their positions (the layout uses a fixed seed, never the model's generator)."""
    nodes = _breadth_first(network, limit)
    local = {int(node): i for i, node in enumerate(nodes)}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(nodes)))
    for node in nodes.tolist():
        graph.add_edges_from((local[node], local[j]) for j in network.neighbours(node).tolist() if j in local)
    layout = nx.spring_layout(graph, seed=0, iterations=40)
    positions = np.array([layout[i] for i in range(len(nodes))]).reshape(-1, 2)
    edges = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    return NetworkSample(nodes=nodes, positions=positions, segments=positions[edges])


class NetworkView(View):
    """A sample of the network: colour and marker = current firm, size = satisfaction."""

    title = "Network"

    def build(self, model: LoyaltyModel) -> list[Artist]:
        self.sample = network_sample(model.network)
        self.figure.subplots_adjust(left=0.01, right=0.8, top=0.9, bottom=0.01)
        ax = self.ax
        ax.set_title(f"Network: {len(self.sample.nodes)} of {model.state.n} customers (size = satisfaction)", fontsize=9)
        ax.add_collection(LineCollection(self.sample.segments, colors="#999999", linewidths=0.4))
        low, high = self.sample.positions.min(axis=0) - 0.05, self.sample.positions.max(axis=0) + 0.05
        ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]))
        ax.set_axis_off()
        self.points = [
            ax.scatter(
                [],
                [],
                color=PALETTE[i % len(PALETTE)],
                marker=MARKERS[i % len(MARKERS)],
                edgecolors="black",
                linewidths=0.3,
                label=str(name),
            )
            for i, name in enumerate(model.market.names)
        ]
        ax.legend(title="firm", fontsize=7, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return list(self.points)

    def update(self, model: LoyaltyModel) -> None:
        firm = model.state.firm[self.sample.nodes]
        size = 6 + 60 * model.state.satisfaction[self.sample.nodes]
        for i, points in enumerate(self.points):
            mine = firm == i
            points.set_offsets(self.sample.positions[mine])
            points.set_sizes(size[mine])


# --- time series -----------------------------------------------------------------------


class MarketShareView(View):
    """Market share of each firm, period by period."""

    title = "Market share over time"

    def build(self, model: LoyaltyModel) -> list[Artist]:
        _time_axis(self.ax, model, "market share")
        self.names = list(model.market.names)
        self.lines = [
            self.ax.plot([], [], markevery=12, markersize=3, label=str(name), **_firm_style(i))[0]
            for i, name in enumerate(self.names)
        ]
        self.ax.legend(fontsize=7, ncol=min(4, len(self.names)), loc="upper left")
        return list(self.lines)

    def update(self, model: LoyaltyModel) -> None:
        firms = model.firm_timeseries()
        if firms.empty:
            return
        shares = firms.pivot(index="step", columns="firm", values="share")
        for name, line in zip(self.names, self.lines, strict=True):
            line.set_data(shares.index.to_numpy(), shares[name].to_numpy())


class SatisfactionChurnView(View):
    """Mean satisfaction, churn (a year) and the satisfied share of defectors, period by period."""

    title = "Satisfaction and churn"
    SERIES = (
        ("mean_satisfaction", "mean satisfaction"),
        ("annualised_churn", "churn (share lost a year)"),
        ("satisfied_defector_share", "satisfied share of defectors"),
    )

    def build(self, model: LoyaltyModel) -> list[Artist]:
        _time_axis(self.ax, model, "share / satisfaction")
        self.lines = [
            self.ax.plot(
                [],
                [],
                marker=MARKERS[i],
                markevery=12,
                markersize=3,
                label=label,
                color=PALETTE[(0, 3, 1)[i]],
                linestyle=LINESTYLES[i],
            )[0]
            for i, (_, label) in enumerate(self.SERIES)
        ]
        self.ax.legend(fontsize=7, loc="upper right")
        return list(self.lines)

    def update(self, model: LoyaltyModel) -> None:
        ts = model.timeseries()
        if ts.empty:
            return
        for (column, _), line in zip(self.SERIES, self.lines, strict=True):
            line.set_data(ts["step"].to_numpy(), ts[column].to_numpy())


def band_churn(model: LoyaltyModel) -> NDArray[np.float64]:
    """Churn per period in each satisfaction band, pooled over the periods so far (NaN where a band was empty)."""
    ts = model.timeseries()
    if ts.empty:
        return np.full(len(BANDS), np.nan)
    customers = np.column_stack([ts[f"share_{band}"] * ts["customers"] for band in BANDS])
    switchers = np.column_stack([ts[f"churn_{band}"].fillna(0.0) for band in BANDS]) * customers
    total = customers.sum(axis=0)
    return np.divide(switchers.sum(axis=0), total, out=np.full(len(BANDS), np.nan), where=total > 0)


class ChurnByBandView(View):
    """Share of each satisfaction band lost per year, pooled over the run so far."""

    title = "Churn by satisfaction band (so far)"

    def build(self, model: LoyaltyModel) -> list[Artist]:
        self.figure.subplots_adjust(bottom=0.22)
        ax = self.ax
        x = np.arange(len(BANDS))
        colours = [PALETTE[3]] * 3 + [PALETTE[2]] * 2
        self.bars = list(ax.bar(x, np.zeros(len(BANDS)), color=colours, edgecolor="black", hatch=["", "", "", "//", "//"]))
        self.labels = [ax.text(xi, 0.02, "", ha="center", fontsize=7) for xi in x]
        ax.set_xticks(x, BAND_LABELS, fontsize=7)
        ax.set(ylabel="customers lost per year", ylim=(0, 1.1))
        ax.grid(axis="y", alpha=0.3)
        return [*self.bars, *self.labels]

    def update(self, model: LoyaltyModel) -> None:
        yearly = annualise(band_churn(model), model.config.periods_per_year)
        for bar, label, value in zip(self.bars, self.labels, yearly, strict=True):
            height = 0.0 if np.isnan(value) else float(value)
            bar.set_height(height)
            label.set_position((bar.get_x() + bar.get_width() / 2, height + 0.02))
            label.set_text("–" if np.isnan(value) else f"{value:.0%}")


class SatisfactionLoyaltyView(View):
    """Last period's customers: satisfaction vs loyalty, the link function, and satisfied defectors."""

    title = "Satisfaction → loyalty (last period)"

    def build(self, model: LoyaltyModel) -> list[Artist]:
        ax = self.ax
        grid = np.linspace(0, 1, 101)
        ax.axvspan(SATISFIED, 1.0, color=PALETTE[2], alpha=0.08)
        ax.plot(grid, link_of(model.config)(grid), color="black", linewidth=1.8, label=f"link: {model.config.loyalty.link}")
        self.stayed = ax.scatter([], [], s=4, alpha=0.3, color=PALETTE[0], label="stayed")
        self.defected = ax.scatter([], [], s=18, marker="+", color=PALETTE[1], label="defected")
        self.trapped = ax.scatter([], [], s=22, marker="x", color=PALETTE[3], label="satisfied defector")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="cumulative satisfaction", ylabel="attitudinal loyalty")
        ax.legend(fontsize=7, loc="upper left")
        return [self.stayed, self.defected, self.trapped]

    def update(self, model: LoyaltyModel) -> None:
        outcome = model.last_outcome
        if outcome is None:
            return
        every = max(1, len(outcome.satisfaction) // SCATTER_POINTS)
        s, loyalty, moved = outcome.satisfaction[::every], outcome.loyalty[::every], outcome.switched[::every]
        trap = moved & (satisfaction_band(s) >= 3)
        for points, mask in ((self.stayed, ~moved), (self.defected, moved & ~trap), (self.trapped, trap)):
            points.set_offsets(np.column_stack([s[mask], loyalty[mask]]))


VIEW_CLASSES: dict[str, type[View]] = {
    "network": NetworkView,
    "market-share": MarketShareView,
    "satisfaction-churn": SatisfactionChurnView,
    "churn-by-band": ChurnByBandView,
    "satisfaction-loyalty": SatisfactionLoyaltyView,
}

_VIEWS: weakref.WeakKeyDictionary[LoyaltyModel, dict[str, View]] = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


def view_png(model: LoyaltyModel, name: str) -> bytes:
    """PNG of view ``name`` for ``model`` now; the view's figure is built on first use and kept while the model lives."""
    with _VIEWS_LOCK:
        views = _VIEWS.setdefault(model, {})
        if name not in views:
            views[name] = VIEW_CLASSES[name](model)
        view = views[name]
    return view.png(model)
