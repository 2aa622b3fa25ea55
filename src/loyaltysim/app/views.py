"""The app's views: live matplotlib figures of one teaching run, encoded as PNG for the page.

Each view draws its static parts once (axes, titles, the network's edges, the link
curve, markers at quality shocks and market entries) and keeps that picture; an update
moves only the animated artists (lines, points, bars) over it and encodes the result
(matplotlib's blitting technique). When the data leave the current axis range the view
widens it (never narrows it, so the picture stays still) and redraws the background.
Views read a :class:`~loyaltysim.app.snapshot.Snapshot`, never the model while it steps.

Text is at least :data:`FONT_PX` pixels high at the figure's own size, which is the size
the page shows it at on a 1280×720 projector. Colours follow the Okabe–Ito
:data:`~loyaltysim.reporting.figures.style.PALETTE`, and series also differ by marker
or line style, so the views read without colour.
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

from loyaltysim.app.snapshot import SMOOTHING, Snapshot
from loyaltysim.config.schema import Config
from loyaltysim.i18n import _
from loyaltysim.model.loyalty_model import LoyaltyModel
from loyaltysim.model.network import Network
from loyaltysim.model.scales import SATISFIED, annualise, satisfaction_band
from loyaltysim.model.state import link_of
from loyaltysim.reporting.figures.style import LINESTYLES, MARKERS, PALETTE, band_labels

__all__ = [
    "DPI",
    "FIGSIZE",
    "FONT_PX",
    "NETWORK_SAMPLE",
    "VIEW_CLASSES",
    "NetworkSample",
    "View",
    "band_churn",
    "network_sample",
    "nice_range",
    "view_png",
]

NETWORK_SAMPLE = 250  # most nodes drawn in the network view
SCATTER_POINTS = 2000  # most customers drawn in the scatter
DPI = 100
FIGSIZE = (3.4, 2.8)  # inches: 340 × 280 pixels, the size a chart is shown at on a 1280×720 projector
FONT_PX = 15.5
"""Height of the smallest text in the views, in pixels of the PNG."""
FONT = FONT_PX * 72 / DPI  # in points
PNG_COLOURS = 64
MARKER_SYMBOLS = ("●", "■", "▲", "◆", "▼", "✚", "✖", "★")
"""The page's key for the firms' markers (same order as :data:`~loyaltysim.reporting.figures.style.MARKERS`)."""


def firm_style(i: int) -> dict:
    """Colour, line style and marker of firm ``i``."""
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)]}


def nice_range(low: float, high: float, *, floor: float = 0.0, ceiling: float = 1.0, step: float = 0.05) -> tuple[float, float]:
    """An axis range holding [low, high] with a margin, on multiples of ``step``, inside [floor, ceiling]."""
    margin = max(0.1 * (high - low), step / 2)
    bottom = max(floor, np.floor((low - margin) / step) * step)
    top = min(ceiling, np.ceil((high + margin) / step) * step)
    return float(bottom), float(max(top, bottom + step))


class View:
    """A figure of one run: static background drawn once, animated artists redrawn by :meth:`png`."""

    def __init__(self, config: Config, network: Network, first: Snapshot) -> None:
        self.config = config
        self.figure = Figure(figsize=FIGSIZE, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.2, right=0.96, top=0.88, bottom=0.19)
        self.ax = self.figure.add_subplot()
        self.ax.tick_params(labelsize=FONT)
        self.artists: list[Artist] = self.build(network, first)
        for artist in self.artists:
            artist.set_animated(True)
        self.lock = threading.Lock()
        self._draw_background()

    def title(self, text: str) -> None:
        """Write the view's title at its top left (at the readable size)."""
        self.figure.text(0.02, 0.98, text, fontsize=FONT, va="top", ha="left")

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        """Draw the static parts; return the artists that :meth:`update` changes."""
        raise NotImplementedError

    def update(self, snapshot: Snapshot) -> bool:
        """Move the animated artists to ``snapshot``; return whether the axes changed (then the background is redrawn)."""
        raise NotImplementedError

    def _draw_background(self) -> None:
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)

    def png(self, snapshot: Snapshot) -> bytes:
        """The view of ``snapshot``, as PNG bytes."""
        with self.lock:
            if self.update(snapshot):
                self._draw_background()
            self.canvas.restore_region(self.background)
            renderer = self.canvas.get_renderer()
            for artist in self.artists:
                artist.draw(renderer)
            width, height = self.canvas.get_width_height()
            image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
            out = io.BytesIO()
            # a 64-colour palette: a third of the bytes and of the encoding time of full colour (charts have few colours)
            image.convert("RGB").quantize(PNG_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, format="png", compress_level=1)
            return out.getvalue()


class TimeView(View):
    """A view over the periods of the run, with markers at quality shocks and market entries."""

    def time_axis(self, ylabel: str, first: Snapshot) -> None:
        ax = self.ax
        ax.set_xlim(0, first.steps)
        ax.set_ylim(0, 1)
        ax.set_xlabel(_("period"), fontsize=FONT)
        ax.set_ylabel(ylabel, fontsize=FONT)
        ax.grid(alpha=0.3)
        for event in first.events:
            ax.axvline(event.step, color="black", linestyle=":", linewidth=1.2)
            text = (
                _("{firm} enters").format(firm=event.firm)
                if event.kind == "entry"
                else _("{firm}: quality {change:+.2f}").format(firm=event.firm, change=event.change)
            )
            ax.text(event.step, 0.02, " " + text, transform=ax.get_xaxis_transform(), fontsize=FONT, va="bottom")

    def fit(self, values: NDArray[np.float64], *, step: float = 0.05) -> bool:
        """Widen the y axis to hold ``values`` (finite ones); whether it changed."""
        values = values[np.isfinite(values)]
        if not len(values):
            return False
        low, high = self.ax.get_ylim()
        if getattr(self, "fitted", False) and values.min() >= low and values.max() <= high:
            return False
        new_low, new_high = nice_range(float(values.min()), float(values.max()), step=step)
        if getattr(self, "fitted", False):
            new_low, new_high = min(new_low, low), max(new_high, high)
        self.fitted = True
        self.ax.set_ylim(new_low, new_high)
        return (new_low, new_high) != (low, high)


class MarketShareView(TimeView):
    """Market share of each firm, period by period (axis fitted to the shares)."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        self.title(_("Market share"))
        self.time_axis(_("share"), first)
        self.lines = [self.ax.plot([], [], markevery=12, markersize=5, **firm_style(i))[0] for i in range(len(first.names))]
        return list(self.lines)

    def update(self, snapshot: Snapshot) -> bool:
        for i, line in enumerate(self.lines):
            line.set_data(snapshot.periods, snapshot.share[:, i])
        return self.fit(snapshot.share)


class FirmSatisfactionView(TimeView):
    """Mean satisfaction of each firm's customers, and of all customers (black)."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        self.title(_("Satisfaction by firm (black: all)"))
        self.time_axis(_("satisfaction"), first)
        self.lines = [self.ax.plot([], [], markevery=12, markersize=5, **firm_style(i))[0] for i in range(len(first.names))]
        self.market = self.ax.plot([], [], color="black", linewidth=2.5)[0]
        return [*self.lines, self.market]

    def update(self, snapshot: Snapshot) -> bool:
        for i, line in enumerate(self.lines):
            line.set_data(snapshot.periods, snapshot.firm_satisfaction[:, i])
        self.market.set_data(snapshot.periods, snapshot.mean_satisfaction)
        return self.fit(snapshot.firm_satisfaction)


def rolling_sum(values: NDArray, periods: int) -> NDArray[np.float64]:
    """The sum of each value and the ``periods - 1`` before it (fewer at the start)."""
    total = np.cumsum(values, dtype=np.float64)
    total[periods:] -= total[:-periods].copy()
    return total


def smoothed_rates(snapshot: Snapshot, periods: int = SMOOTHING) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Churn per period and the satisfied share of switchers, each pooled over the last ``periods`` periods."""
    customers, switchers, satisfied = (
        rolling_sum(values, periods) for values in (snapshot.customers, snapshot.switchers, snapshot.satisfied_switchers)
    )
    churn = np.divide(switchers, customers, out=np.full(len(customers), np.nan), where=customers > 0)
    share = np.divide(satisfied, switchers, out=np.full(len(switchers), np.nan), where=switchers > 0)
    return churn, share


class ChurnView(TimeView):
    """Churn a year and the satisfied share of defectors, each averaged over the last year."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        self.title(_("Churn and satisfied defectors"))
        self.time_axis(_("share"), first)
        self.churn = self.ax.plot([], [], color=PALETTE[3], linewidth=2.5, label=_("churn a year"))[0]
        self.defectors = self.ax.plot(
            [], [], color=PALETTE[0], linestyle="--", linewidth=2, label=_("satisfied share of leavers")
        )[0]
        self.ax.legend(handles=[self.churn, self.defectors], fontsize=FONT, loc="upper right", framealpha=0.8)
        return [self.churn, self.defectors]

    def update(self, snapshot: Snapshot) -> bool:
        churn, share = smoothed_rates(snapshot)
        yearly = annualise(churn, self.config.periods_per_year)
        self.churn.set_data(snapshot.periods, yearly)
        self.defectors.set_data(snapshot.periods, share)
        return self.fit(np.concatenate([yearly, share, [0.0]]), step=0.1)


def band_churn(snapshot: Snapshot) -> NDArray[np.float64]:
    """Churn per period in each satisfaction band, pooled over the periods so far (NaN where a band was empty)."""
    customers, switchers = snapshot.band_customers, snapshot.band_switchers
    return np.divide(switchers, customers, out=np.full(len(customers), np.nan), where=customers > 0)


class ChurnByBandView(View):
    """Share of each satisfaction band lost per year, pooled over the run so far (horizontal bars)."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        self.figure.subplots_adjust(left=0.33, right=0.97, bottom=0.19)
        ax = self.ax
        self.title(_("Lost a year, by satisfaction"))
        y = np.arange(5)
        colours = [PALETTE[3]] * 3 + [PALETTE[2]] * 2
        self.bars = list(ax.barh(y, np.zeros(5), color=colours, edgecolor="black"))
        self.labels = [ax.text(0.02, yi, "", va="center", fontsize=FONT) for yi in y]
        ax.set_yticks(y, band_labels(), fontsize=FONT)
        ax.set_xlim(0, 1.15)
        ax.set_xticks([0, 0.5, 1.0], ["0%", "50%", "100%"])
        ax.set_xlabel(_("customers lost a year"), fontsize=FONT)
        ax.grid(axis="x", alpha=0.3)
        return [*self.bars, *self.labels]

    def update(self, snapshot: Snapshot) -> bool:
        yearly = annualise(band_churn(snapshot), self.config.periods_per_year)
        for bar, label, value in zip(self.bars, self.labels, yearly, strict=True):
            width = 0.0 if np.isnan(value) else float(value)
            bar.set_width(width)
            label.set_position((width + 0.02, bar.get_y() + bar.get_height() / 2))
            label.set_text("–" if np.isnan(value) else f"{value:.0%}")
        return False


class SatisfactionLoyaltyView(View):
    """Last period's customers: satisfaction vs loyalty, the link function, and satisfied defectors."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        ax = self.ax
        self.title(_("Satisfaction → loyalty"))
        grid = np.linspace(0, 1, 101)
        ax.axvspan(SATISFIED, 1.0, color=PALETTE[2], alpha=0.08)
        ax.plot(grid, link_of(self.config)(grid), color="black", linewidth=2)
        self.stayed = ax.scatter([], [], s=5, alpha=0.3, color=PALETTE[0])
        self.defected = ax.scatter([], [], s=40, marker="+", color=PALETTE[1], label=_("left"))
        self.trapped = ax.scatter([], [], s=45, marker="x", color=PALETTE[3], linewidths=2, label=_("left, satisfied"))
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.set_xlabel(_("satisfaction"), fontsize=FONT)
        ax.set_ylabel(_("loyalty"), fontsize=FONT)
        ax.legend(handles=[self.defected, self.trapped], fontsize=FONT, loc="upper left", framealpha=0.7, handletextpad=0.1)
        return [self.stayed, self.defected, self.trapped]

    def update(self, snapshot: Snapshot) -> bool:
        if snapshot.satisfaction is None:
            return False
        every = max(1, len(snapshot.satisfaction) // SCATTER_POINTS)
        s, loyalty, moved = snapshot.satisfaction[::every], snapshot.loyalty[::every], snapshot.switched[::every]
        trap = moved & (satisfaction_band(s) >= 3)
        for points, mask in ((self.stayed, ~moved), (self.defected, moved & ~trap), (self.trapped, trap)):
            points.set_offsets(np.column_stack([s[mask], loyalty[mask]]))
        return False


# --- network ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSample:
    """A connected sample of customers with fixed drawing positions."""

    nodes: NDArray[np.int64]
    positions: NDArray[np.float64]
    edges: NDArray[np.int64]
    """(edges, 2) positions in ``nodes`` of each drawn edge's ends."""

    @property
    def segments(self) -> NDArray[np.float64]:
        """(edges, 2, 2) the drawn edges' end points."""
        return self.positions[self.edges]


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
    return NetworkSample(nodes=nodes, positions=positions, edges=edges)


class NetworkView(View):
    """A sample of the network: colour and marker = firm; this period's switchers (red ✕) and talkers (ring, their links)."""

    def build(self, network: Network, first: Snapshot) -> list[Artist]:
        self.sample = network_sample(network)
        self.figure.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.1)
        ax = self.ax
        self.title(_("Who switched (✕) and who talked (○)"))
        ax.add_collection(LineCollection(self.sample.segments, colors="#bbbbbb", linewidths=0.5))
        self.talk_links = LineCollection([], colors=PALETTE[4], linewidths=1.6)
        ax.add_collection(self.talk_links)
        low, high = self.sample.positions.min(axis=0) - 0.05, self.sample.positions.max(axis=0) + 0.05
        ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]))
        ax.set_axis_off()
        self.points = [
            ax.scatter([], [], s=22, color=PALETTE[i % len(PALETTE)], marker=MARKERS[i % len(MARKERS)], linewidths=0)
            for i in range(len(first.names))
        ]
        self.talkers = ax.scatter([], [], s=90, facecolors="none", edgecolors=PALETTE[4], linewidths=1.6)
        self.switchers = ax.scatter([], [], s=90, marker="x", color=PALETTE[3], linewidths=2.5)
        self.caption = ax.text(0.0, -0.02, "", transform=ax.transAxes, fontsize=FONT, va="top")
        return [self.talk_links, *self.points, self.talkers, self.switchers, self.caption]

    def update(self, snapshot: Snapshot) -> bool:
        sample = self.sample
        firm = snapshot.firm[sample.nodes]
        for i, points in enumerate(self.points):
            points.set_offsets(sample.positions[firm == i])
        if snapshot.switched is None:
            self.caption.set_text(_("{n} of {total} customers").format(n=len(sample.nodes), total=len(snapshot.firm)))
            return False
        talked, switched = snapshot.talked[sample.nodes], snapshot.switched[sample.nodes]
        self.talkers.set_offsets(sample.positions[talked])
        self.switchers.set_offsets(sample.positions[switched])
        links = talked[sample.edges].any(axis=1)
        self.talk_links.set_segments(sample.segments[links])
        self.caption.set_text(
            _("{switched} switched, {talked} talked").format(switched=int(switched.sum()), talked=int(talked.sum()))
        )
        return False


VIEW_CLASSES: dict[str, type[View]] = {
    "market-share": MarketShareView,
    "firm-satisfaction": FirmSatisfactionView,
    "satisfaction-churn": ChurnView,
    "network": NetworkView,
    "satisfaction-loyalty": SatisfactionLoyaltyView,
    "churn-by-band": ChurnByBandView,
}
"""The views, in the order the page shows them (the lesson's time charts first)."""

_VIEWS: weakref.WeakKeyDictionary[LoyaltyModel, dict[str, View]] = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


def view_png(model: LoyaltyModel, name: str) -> bytes:
    """PNG of view ``name`` for ``model``'s current snapshot; the view is built on first use and kept while the model lives."""
    snapshot = model.snapshot
    with _VIEWS_LOCK:
        views = _VIEWS.setdefault(model, {})
        if name not in views:
            views[name] = VIEW_CLASSES[name](model.config, model.network, snapshot)
        view = views[name]
    return view.png(snapshot)
