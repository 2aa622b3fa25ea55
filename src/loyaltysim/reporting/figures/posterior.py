"""Figures of a Bayesian calibration: pair (corner) plot, SBC rank histograms, expected coverage, predictive check."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from scipy import stats

from loyaltysim.reporting.figures import style

__all__ = ["coverage_figure", "pairs_figure", "predictive_figure", "rank_histogram_figure"]


def pairs_figure(
    sample: pd.DataFrame,
    names: list[str],
    *,
    weights: np.ndarray | None = None,
    log_scale: Collection[str] = (),
    bounds: Mapping[str, tuple[float, float]] | None = None,
    truth: Mapping[str, float] | None = None,
    title: str = "Posterior",
) -> Figure:
    """Corner plot: weighted marginal histograms on the diagonal, pairwise scatter below it.

    Parameters named in ``log_scale`` get logarithmic axes; ``bounds`` (the prior box) fix the axis
    ranges, so a posterior that fills its range is visibly not identified; ``truth`` marks known values.
    """
    d = len(names)
    fig, axes = plt.subplots(d, d, figsize=(2.4 * d + 0.6, 2.4 * d + 0.4), squeeze=False)
    w = np.full(len(sample), 1.0 / len(sample)) if weights is None else np.asarray(weights)
    size = 4 + 30 * w / w.max()
    for i, row in enumerate(names):
        for j, col in enumerate(names):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            x = sample[col].to_numpy()
            if col in log_scale:
                ax.set_xscale("log")
            if i == j:
                edges = np.histogram_bin_edges(np.log10(x) if col in log_scale else x, bins=20)
                ax.hist(x, bins=10.0**edges if col in log_scale else edges, weights=w, color=style.PALETTE[0], edgecolor="black")
                ax.set_yticks([])
            else:
                ax.scatter(x, sample[row], s=size, color=style.PALETTE[0], alpha=0.4, linewidth=0)
                if row in log_scale:
                    ax.set_yscale("log")
                if bounds is not None:
                    ax.set_ylim(bounds[row])
                if truth is not None:
                    ax.axhline(truth[row], color="black", linestyle="--", linewidth=1)
            if bounds is not None:
                ax.set_xlim(bounds[col])
            if truth is not None:
                ax.axvline(truth[col], color="black", linestyle="--", linewidth=1)
            ax.set_xlabel(col if i == d - 1 else "", fontsize=7)
            ax.set_ylabel(row if j == 0 and i > 0 else "", fontsize=7)
            ax.tick_params(which="both", labelsize=6)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def rank_histogram_figure(ranks: pd.DataFrame, samples: int, *, bins: int = 10) -> Figure:
    """Simulation-based calibration: histogram of each parameter's ranks, with the 99% band of a uniform histogram."""
    names = list(ranks.columns)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), squeeze=False)
    m = len(ranks)
    low, high = stats.binom.ppf([0.005, 0.995], m, 1.0 / bins)
    for ax, name in zip(axes[0], names, strict=True):
        ax.axhspan(low, high, color="grey", alpha=0.3, label="99% band if uniform")
        ax.hist(ranks[name], bins=np.linspace(0, samples + 1, bins + 1), color=style.PALETTE[0], edgecolor="black")
        ax.set(xlabel=f"rank of the truth (of {samples})", title=name, yticks=[])
        ax.title.set_fontsize(8)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(f"Simulation-based calibration ({m} held-out simulations)")
    fig.tight_layout()
    return fig


def coverage_figure(coverage: pd.DataFrame) -> Figure:
    """Expected coverage: share of true values inside the central credible interval against its level."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="black", linewidth=1, label="calibrated")
    for i, (name, part) in enumerate(coverage.groupby("parameter", sort=False)):
        ax.errorbar(part["level"], part["coverage"], yerr=2 * part["se"], capsize=2, label=name, **style.style(i))
    ax.set(xlabel="credible level", ylabel="share of truths inside", xlim=(0, 1), ylim=(0, 1), title="Expected coverage")
    ax.legend(fontsize="x-small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def predictive_figure(predictive: pd.DataFrame) -> Figure:
    """Posterior predictive intervals of each target next to its observed value."""
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(predictive)), 4))
    x = np.arange(len(predictive))
    median = predictive["predictive_median"].to_numpy()
    yerr = np.vstack([median - predictive["predictive_low"], predictive["predictive_high"] - median])
    ax.errorbar(x + 0.1, median, yerr=yerr, fmt="o", color=style.PALETTE[0], capsize=4, label="posterior predictive")
    ax.scatter(x - 0.1, predictive["observed"], marker="s", color="black", zorder=3, label="target")
    ax.set_xticks(x, [t.replace(" (", "\n(") for t in predictive["target"]], fontsize=7)
    ax.set(ylabel="value", title="Posterior predictive check")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
