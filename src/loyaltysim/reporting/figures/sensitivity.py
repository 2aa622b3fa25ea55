"""Figures of a sensitivity analysis and of scenario discovery: tidy tables in, matplotlib Figure out.

Same conventions as :mod:`loyaltysim.reporting.figures.scenario`: Okabe–Ito colours, and every series also
differs by hatch, marker or line style so the figures read in black and white.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.reporting.figures.style import HATCHES, LINESTYLES, MARKERS, PALETTE, style

__all__ = ["convergence_figure", "indices_figure", "morris_figure", "peeling_figure"]

_MAIN = {"sobol": ("S1", "ST"), "fast": ("S1", "ST"), "morris": ("mu_star",)}
_INDEX_LABELS = {
    "S1": "first order S1",
    "ST": "total order ST",
    "mu_star": "μ* (mean |elementary effect|)",
    "sigma": "σ (spread of elementary effects)",
}


def _main_index(method: str) -> str:
    return "mu_star" if method == "morris" else "ST"


def indices_figure(indices: pd.DataFrame, output: str) -> Figure:
    """Horizontal bars of one output's indices with confidence intervals, most influential factor on top.

    ``indices``: the tidy table of :func:`loyaltysim.analysis.sensitivity.analyse` (one method).
    """
    table = indices[indices["output"] == output]
    method = str(table["method"].iloc[0])
    shown = _MAIN[method]
    order = table[table["index"] == _main_index(method)].sort_values("value")["factor"].tolist()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(order) * len(shown)))
    y = np.arange(len(order))
    height = 0.8 / len(shown)
    for i, name in enumerate(shown):
        part = table[table["index"] == name].set_index("factor").reindex(order)
        ax.barh(
            y + (i - (len(shown) - 1) / 2) * height,
            part["value"],
            height,
            xerr=part["conf"].fillna(0),
            color=PALETTE[i],
            hatch=HATCHES[i + 1],
            edgecolor="black",
            linewidth=0.5,
            error_kw={"elinewidth": 1, "capsize": 3},
            label=_INDEX_LABELS[name],
        )
    ax.set_yticks(y, order, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    label = "sensitivity index (share of output variance)" if method != "morris" else "elementary effect (output units)"
    ax.set(
        xlabel=label, title=f"{output}: {method} indices with {'bootstrap ' if method != 'morris' else ''}confidence intervals"
    )
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _grid(panels: int, *, width: float = 5.0, height: float = 4.0) -> tuple[Figure, np.ndarray]:
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return fig, axes.flat


def morris_figure(indices: pd.DataFrame) -> Figure:
    """Morris screening: μ* against σ for each output (one panel each), μ* with its confidence interval.

    Factors near the origin are negligible; far right are influential; high σ/μ* means the
    effect depends on the other factors or is non-linear (dashed line: σ = μ*).
    """
    outputs = list(dict.fromkeys(indices["output"]))
    factors = list(dict.fromkeys(indices["factor"]))
    fig, axes = _grid(len(outputs))
    for ax, output in zip(axes, outputs, strict=False):
        wide = indices[indices["output"] == output].pivot(index="factor", columns="index")
        for i, factor in enumerate(factors):
            if factor not in wide.index:
                continue
            mu, sigma = wide.loc[factor, ("value", "mu_star")], wide.loc[factor, ("value", "sigma")]
            ax.errorbar(
                mu,
                sigma,
                xerr=wide.loc[factor, ("conf", "mu_star")],
                yerr=np.nan_to_num(wide.loc[factor, ("conf", "sigma")]),
                fmt=MARKERS[i % len(MARKERS)],
                color=PALETTE[i % len(PALETTE)],
                markeredgecolor="black",
                capsize=2,
                label=factor,
            )
        top = float(np.nanmax(wide[("value", "mu_star")].to_numpy() + wide[("conf", "mu_star")].fillna(0).to_numpy()))
        ax.plot([0, top], [0, top], color="black", linestyle="--", linewidth=0.8)
        ax.set(xlabel="μ*", ylabel="σ", title=output, xlim=(0, None), ylim=(0, None))
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(3, len(names)), fontsize="small", frameon=False)
    fig.suptitle("Morris screening (dashed: σ = μ*)")
    fig.tight_layout(rect=(0, 0.04 + 0.03 * math.ceil(len(names) / 3), 1, 1))
    return fig


def convergence_figure(convergence: pd.DataFrame, output: str) -> Figure:
    """One output's indices against the number of samples used, with confidence bands.

    ``convergence``: the table of :func:`loyaltysim.analysis.sensitivity.convergence_table`. Estimates
    that still move when the sample doubles are not to be trusted yet.
    """
    table = convergence[convergence["output"] == output]
    method = str(table["method"].iloc[0])
    shown = _MAIN[method] if method != "morris" else ("mu_star", "sigma")
    factors = list(dict.fromkeys(table["factor"]))
    fig, axes = plt.subplots(1, len(shown), figsize=(5.5 * len(shown), 4), squeeze=False)
    for ax, name in zip(axes.flat, shown, strict=True):
        for i, factor in enumerate(factors):
            line = table[(table["index"] == name) & (table["factor"] == factor)].sort_values("samples")
            colour = PALETTE[i % len(PALETTE)]
            ax.plot(
                line["samples"],
                line["value"],
                color=colour,
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                marker=MARKERS[i % len(MARKERS)],
                label=factor,
            )
            conf = line["conf"].fillna(0)
            ax.fill_between(line["samples"], line["value"] - conf, line["value"] + conf, color=colour, alpha=0.12)
        ax.set_xscale("log", base=2)
        unit = "base samples N" if method == "sobol" else "trajectories"
        ax.set(xlabel=unit, ylabel=_INDEX_LABELS[name], title=f"{output}: {name}")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def peeling_figure(trajectory: pd.DataFrame, chosen: int) -> Figure:
    """PRIM's peeling trajectory: density against coverage of each box, labelled with its restricted dimensions.

    ``trajectory`` has coverage, density and res_dim per box (ema_workbench's
    ``peeling_trajectory``); ``chosen`` is the row of the reported box.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(trajectory["coverage"], trajectory["density"], **style(0), markersize=4, label="boxes, peeled in order")
    box = trajectory.iloc[chosen]
    ax.scatter(
        [box["coverage"]],
        [box["density"]],
        s=160,
        marker="*",
        color=PALETTE[3],
        edgecolor="black",
        zorder=3,
        label=f"reported box (coverage {box['coverage']:.0%}, density {box['density']:.0%})",
    )
    for i in range(0, len(trajectory), max(1, len(trajectory) // 12)):
        row = trajectory.iloc[i]
        ax.annotate(
            str(int(row["res_dim"])), (row["coverage"], row["density"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.set(
        xlabel="coverage (share of cases of interest inside the box)",
        ylabel="density (share of the box that is of interest)",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title="PRIM peeling trajectory (labels: restricted factors)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    fig.tight_layout()
    return fig
