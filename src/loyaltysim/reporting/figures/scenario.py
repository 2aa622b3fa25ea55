"""Figures of one scenario run: data in, matplotlib Figure out (nothing here touches a model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.i18n import _
from loyaltysim.reporting.figures.style import HATCHES, PALETTE, band_labels, style

__all__ = ["churn_by_band_figure", "market_share_figure", "satisfaction_distribution_figure", "satisfaction_loyalty_figure"]


def market_share_figure(firms: pd.DataFrame) -> Figure:
    """Market share of each firm over time (``firms``: step, firm, share)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, group) in enumerate(firms.groupby("firm", sort=False)):
        every = max(1, len(group) // 10)
        ax.plot(group["step"], group["share"], label=str(name), markevery=every, markersize=4, **style(i))
    ax.set(xlabel=_("period"), ylabel=_("market share"), title=_("Market share over time"), ylim=(0, None))
    ax.legend(title=_("firm"), ncol=min(5, firms["firm"].nunique()), fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def satisfaction_distribution_figure(satisfaction: Sequence[float] | np.ndarray) -> Figure:
    """Histogram of cumulative satisfaction with Kotler's five bands marked."""
    values = np.asarray(satisfaction)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(values, bins=np.linspace(0, 1, 41), color=PALETTE[0], edgecolor="black", linewidth=0.4)
    for edge in (0.2, 0.4, 0.6, 0.8):
        ax.axvline(edge, color="black", linestyle=":", linewidth=1)
    top = ax.get_ylim()[1]
    for i, label in enumerate(band_labels()):
        share = np.mean((values >= i / 5) & ((values < (i + 1) / 5) | (i == 4)))
        ax.text(i / 5 + 0.1, top * 0.92, f"{label}\n{share:.0%}", ha="center", va="top", fontsize=8)
    ax.set(xlim=(0, 1), xlabel=_("cumulative satisfaction (0 = very dissatisfied, 1 = delighted)"), ylabel=_("customers"))
    ax.set_title(_("Satisfaction at the end of the run"))
    fig.tight_layout()
    return fig


def churn_by_band_figure(churn: pd.DataFrame) -> Figure:
    """Annualised churn by satisfaction band (columns: band index 0–4, latent, rated)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(5)
    width = 0.38
    series = (("latent", _("latent satisfaction band")), ("rated", _("survey rating 1–5")))
    for i, (column, label) in enumerate(series):
        ax.bar(
            x + (i - 0.5) * width,
            churn[column],
            width,
            label=label,
            color=PALETTE[i],
            hatch=HATCHES[i + 1],
            edgecolor="black",
        )
    ax.set_xticks(x, band_labels(), fontsize=8)
    ax.set(ylabel=_("customers lost per year"), title=_("Churn by satisfaction band"), ylim=(0, 1))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def satisfaction_loyalty_figure(
    customers: pd.DataFrame,
    link: Callable[[np.ndarray], np.ndarray],
    retention: pd.DataFrame,
    *,
    satisfied_defectors: np.ndarray | None = None,
    max_points: int = 3000,
    min_count: int = 30,
) -> Figure:
    """Customers' satisfaction vs loyalty, the link function, and pooled retention per satisfaction bin.

    ``customers`` has satisfaction and loyalty; ``retention`` has satisfaction_low/high and
    retention_rate; ``satisfied_defectors`` optionally (satisfaction, loyalty) rows to highlight.
    Bins with fewer than ``min_count`` customer-periods are left out of the retention curve.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    sample = customers.iloc[:: max(1, len(customers) // max_points)]
    left.scatter(sample["satisfaction"], sample["loyalty"], s=6, alpha=0.35, color=PALETTE[0], label=_("customers"))
    grid = np.linspace(0, 1, 201)
    left.plot(grid, link(grid), color="black", linewidth=2, label=_("link function"))
    if satisfied_defectors is not None and len(satisfied_defectors):
        left.scatter(
            satisfied_defectors[:, 0],
            satisfied_defectors[:, 1],
            s=22,
            marker="x",
            color=PALETTE[3],
            label=_("satisfied defectors (last period)"),
        )
    left.set(xlim=(0, 1), ylim=(0, 1), xlabel=_("cumulative satisfaction"), ylabel=_("attitudinal loyalty"))
    left.set_title(_("Satisfaction → loyalty"))
    left.legend(fontsize="small", loc="upper left")
    used = retention[retention["customer_periods"] >= min_count]
    mid = 0.5 * (used["satisfaction_low"] + used["satisfaction_high"])
    right.plot(mid, used["retention_rate"], **style(2), label=_("share staying next period"))
    right.set(xlim=(0, 1), xlabel=_("cumulative satisfaction"), ylabel=_("retention per period"))
    right.set_title(_("Satisfaction → retention (pooled over the run)"))
    right.grid(alpha=0.3)
    right.legend(fontsize="small")
    fig.tight_layout()
    return fig
