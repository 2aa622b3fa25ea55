"""Figures of a calibration: loss history, loss by parameter, fitted vs target, marginal posteriors."""

from __future__ import annotations

import textwrap
from collections.abc import Collection

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.reporting.figures import style

__all__ = ["fit_figure", "loss_history_figure", "marginals_figure", "parameter_loss_figure"]


def loss_history_figure(evaluations: pd.DataFrame) -> Figure:
    """Loss of every evaluated point in order, and the best loss so far (log scale)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    loss = evaluations["loss"].to_numpy()
    x = evaluations["evaluation"].to_numpy()
    ax.scatter(x, loss, s=10, marker="o", facecolor="none", edgecolor=style.PALETTE[0], linewidth=0.8, label="evaluated point")
    ax.step(x, np.minimum.accumulate(loss), where="post", color="black", linewidth=1.8, label="best so far")
    starts = evaluations.groupby("batch", sort=False)["evaluation"].min().to_numpy()[1:]
    for start in starts:
        ax.axvline(start - 0.5, color="grey", linestyle=":", linewidth=0.6)
    ax.set(xlabel="evaluation (dotted lines: batches)", ylabel="loss", title="Calibration loss history")
    if (loss > 0).all():
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def parameter_loss_figure(
    evaluations: pd.DataFrame, names: list[str], best: dict[str, float], *, log_scale: Collection[str] = ()
) -> Figure:
    """Loss against each free parameter over all evaluations (a flat valley means weakly identified).

    Parameters named in ``log_scale`` get a logarithmic axis.
    """
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        ax.scatter(evaluations[name], evaluations["loss"], s=10, marker="o", facecolor="none", edgecolor=style.PALETTE[i % 8])
        ax.axvline(best[name], color="black", linestyle="--", linewidth=1.2, label="best")
        ax.set(xlabel=name, ylabel="loss" if i == 0 else None, xscale="log" if name in log_scale else "linear")
        if (evaluations["loss"] > 0).all():
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle("Loss by parameter (all evaluations)")
    fig.tight_layout()
    return fig


def marginals_figure(
    prior: pd.DataFrame, posterior: pd.DataFrame, intervals: pd.DataFrame, names: list[str], *, log_scale: Collection[str] = ()
) -> Figure:
    """Marginal histograms of the prior sample (hatched outline) and the accepted ABC sample (filled), with intervals.

    Parameters named in ``log_scale`` get logarithmic bins and axis (their prior is log-uniform).
    """
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        log = name in log_scale
        edges = np.histogram_bin_edges(np.log10(prior[name]) if log else prior[name], bins=20)
        bins = 10.0**edges if log else edges
        ax.set_xscale("log" if log else "linear")
        ax.hist(prior[name], bins=bins, density=True, histtype="step", hatch="//", color="grey", label="prior sample")
        ax.hist(posterior[name], bins=bins, density=True, color=style.PALETTE[0], edgecolor="black", alpha=0.8, label="accepted")
        row = intervals.set_index("parameter").loc[name]
        for value, line in ((row["low"], ":"), (row["median"], "-"), (row["high"], ":")):
            ax.axvline(value, color="black", linestyle=line, linewidth=1.2)
        ax.set(xlabel=name, yticks=[])
    axes[0][0].legend(fontsize="small", title=f"lines: median, {intervals['level'].iloc[0]:.0%} interval")
    fig.suptitle("Marginal posterior (rejection ABC)")
    fig.tight_layout()
    return fig


def fit_figure(fit: pd.DataFrame) -> Figure:
    """Target (± tolerance) next to the fitted value (± sd over fresh-seed replicates), per target."""
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(fit)), 4))
    x = np.arange(len(fit))
    tol = fit["tolerance"].fillna(0).to_numpy()
    ax.errorbar(x - 0.12, fit["target"], yerr=tol, fmt="s", color="black", capsize=4, label="target ± tolerance")
    ax.errorbar(
        x + 0.12, fit["fitted"], yerr=fit["fitted_sd"].fillna(0), fmt="o", color=style.PALETTE[0], capsize=4, label="fitted ± sd"
    )
    labels = [
        f"{textwrap.fill(m.replace('_', ' '), 14)}\n{w}{', per ' + p if p else ''}"
        for m, w, p in zip(fit["metric"], fit["window"], fit["per"], strict=True)
    ]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set(ylabel="value", title="Fitted vs target", xlim=(-0.6, len(fit) - 0.4))
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
