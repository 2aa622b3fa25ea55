"""Figures of a sweep (data in, matplotlib Figure out), fed by :mod:`loyaltysim.analysis.summaries`.

Colour-blind safe and readable in black and white: the heatmap uses *cividis* (lightness rises
monotonically) and prints each cell's value; series differ by Okabe–Ito colour and by line
style, marker or hatch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.reporting.figures.style import HATCHES, PALETTE, band_labels, style

__all__ = ["band_churn_figure", "defector_heatmap", "retention_curves_figure", "share_trajectories_figure"]


def defector_heatmap(
    table: pd.DataFrame,
    *,
    title: str = "Share of defectors who were satisfied",
    xlabel: str | None = None,
    ylabel: str | None = None,
    tick: Callable[[str, object], str] | None = None,
) -> Figure:
    """Heatmap of a ``y`` × ``x`` table (e.g. from :func:`analysis.cell_means`), each cell labelled.

    ``xlabel``, ``ylabel`` default to the factors' names; ``tick(factor, value)`` writes a tick label.
    """
    fig, ax = plt.subplots(figsize=(7, 4.8))
    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="cividis", vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            light = value < 0.55  # cividis is dark at the bottom of the scale
            ax.text(j, i, f"{value:.0%}", ha="center", va="center", color="white" if light else "black", fontsize=10)
    tick = tick or (lambda factor, value: _tick(value))
    ax.set_xticks(range(table.shape[1]), [tick(str(table.columns.name), v) for v in table.columns])
    ax.set_yticks(range(table.shape[0]), [tick(str(table.index.name), v) for v in table.index])
    ax.set(xlabel=xlabel or str(table.columns.name), ylabel=ylabel or str(table.index.name), title=title)
    fig.colorbar(image, ax=ax, format=matplotlib.ticker.PercentFormatter(1.0))
    fig.tight_layout()
    return fig


def _conditions(frame: pd.DataFrame) -> list:
    """The conditions present, in their categorical order (else in order of appearance)."""
    column = frame["condition"]
    present = set(column.unique())
    order = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else column.unique()
    return [c for c in order if c in present]


def _tick(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def retention_curves_figure(fitted: pd.DataFrame, *, period: str = "period") -> Figure:
    """Fitted satisfaction → retention curves per condition with their bands, and the pooled observations
    (``period``: the calendar length of a step, for the axis label)."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, condition in enumerate(_conditions(fitted)):
        group = fitted[fitted["condition"] == condition]
        curve = group.dropna(subset=["retention"])
        look = style(i)
        ax.plot(curve["satisfaction"], curve["retention"], color=look["color"], linestyle=look["linestyle"], label=condition)
        ax.fill_between(curve["satisfaction"], curve["low"], curve["high"], color=look["color"], alpha=0.2, hatch=HATCHES[i % 5])
        seen = group.dropna(subset=["observed"])
        seen = seen[seen["customer_periods"] >= 30]
        ax.plot(seen["satisfaction"], seen["observed"], "none", marker=look["marker"], color=look["color"], markersize=4)
    ax.set(xlim=(0, 1), xlabel="cumulative satisfaction before the decision", ylabel=f"share staying the next {period}")
    ax.set_title("Satisfaction → retention: spline logit fit (95% band), markers = pooled data")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="lower right")
    fig.tight_layout()
    return fig


def band_churn_figure(churn: pd.DataFrame, *, period: str = "period") -> Figure:
    """Churn per ``period`` by Kotler band, one hatched bar group per condition, with 95% intervals over replicates."""
    conditions = _conditions(churn)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    width = 0.8 / len(conditions)
    for i, condition in enumerate(conditions):
        group = churn[churn["condition"] == condition].sort_values("band_index")
        x = group["band_index"].to_numpy() + (i - (len(conditions) - 1) / 2) * width
        errors = np.vstack([group["churn"] - group["low"], group["high"] - group["churn"]]).clip(min=0)
        ax.bar(
            x,
            group["churn"],
            width,
            yerr=np.nan_to_num(errors),
            capsize=2,
            label=condition,
            color=PALETTE[i % len(PALETTE)],
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="black",
            linewidth=0.5,
        )
    ax.set_xticks(range(5), band_labels(), fontsize=8)
    ax.set(ylabel=f"customers lost per {period}", title="Churn by satisfaction band")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def share_trajectories_figure(shares: pd.DataFrame, *, max_panels: int = 6, period: str = "period") -> Figure:
    """Market share per firm over time, one panel per condition (so markets of different sizes are never pooled):
    mean over replicates and 95% range; time in ``period`` steps."""
    conditions = _conditions(shares)[:max_panels]
    columns = min(3, len(conditions))
    rows = math.ceil(len(conditions) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.3 * rows), squeeze=False, sharey=True)
    firms = sorted(shares["firm"].unique())
    for ax, condition in zip(axes.flat, conditions, strict=False):
        for i, firm in enumerate(firms):
            group = shares[(shares["condition"] == condition) & (shares["firm"] == firm)]
            if group.empty:  # a firm this market size does not have
                continue
            look = style(i)
            every = max(1, len(group) // 8)
            ax.plot(group["step"], group["share"], label=firm, markevery=every, markersize=3, **look)
            ax.fill_between(group["step"], group["low"], group["high"], color=look["color"], alpha=0.18)
        ax.set_title(condition, fontsize=8)
        ax.set(xlabel=f"{period}s since the start", ylim=(0, None))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("market share")
    for ax in list(axes.flat)[len(conditions) :]:
        ax.set_visible(False)
    fullest = max(list(axes.flat)[: len(conditions)], key=lambda ax: len(ax.get_lines()))
    fullest.legend(title="firm", fontsize="x-small")  # the panel with the most firms names them all
    fig.suptitle("Market share over time (mean of replicates, 95% range)")
    fig.tight_layout()
    return fig
