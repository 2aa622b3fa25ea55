"""The report of a calibration: figures (data in, Figure out) and the Markdown section."""

from __future__ import annotations

import textwrap
from collections.abc import Collection

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.analysis.calibration import CalibrationResult
from loyaltysim.reporting.figures import style

__all__ = ["fit_figure", "loss_history_figure", "marginals_figure", "parameter_loss_figure", "report_section"]


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


def _number(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.4g}"


def _at_edge(value: float, low: float, high: float, *, log: bool) -> bool:
    """Within 5% of the range (on the search scale) from a bound."""
    if log:
        value, low, high = np.log10(value), np.log10(low), np.log10(high)
    return min(value - low, high - value) <= 0.05 * (high - low)


def report_section(result: CalibrationResult, figures: dict[str, str]) -> str:
    """The Markdown section of a calibration: method, best parameters, fit table, figures."""
    cal, spec, d = result.calibration, result.calibration.spec, result.details
    lines = [f"## Calibration: {spec.name}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    period = cal.base.run.period
    if spec.method == "differential_evolution":
        how = (
            f"scipy differential evolution, {d['generations']} generations, {d['points']} points "
            f"× {spec.replicates} replicates (same seeds for every point); converged: {d['converged']} ({d['message']})"
        )
    else:
        how = (
            f"rejection ABC over a {spec.abc.sampler} sample of {d['samples']} points × {spec.replicates} replicates; "
            f"accepted {d['accepted']} points with loss ≤ {d['epsilon']:.4g}"
        )
    lines += [
        f"- Base scenario: {cal.base.customers.n} customers, {cal.base.run.steps} periods of one {period}, "
        f"burn-in {cal.base.run.burn_in}; calibration file `{cal.source}`.",
        f"- Method: {how}.",
        f"- Loss: Σ weight · ((simulated − target) / tolerance)², simulated = mean over replicates. "
        f"Best loss during the search {result.best_loss:.4g}; re-run with {spec.check_replicates} fresh seeds: "
        f"{result.check_loss:.4g}.",
        "",
        "### Best parameters",
        "",
    ]
    intervals = result.intervals.set_index("parameter") if result.intervals is not None else None
    header = "| parameter | low | high | best |"
    if intervals is not None:
        level = intervals["level"].iloc[0]
        header += f" posterior median | {level:.0%} credible interval |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for name, p in spec.parameters.items():
        row = f"| `{name}` | {p.low:g} | {p.high:g} | {_number(result.best[name])} |"
        if intervals is not None:
            i = intervals.loc[name]
            row += f" {_number(i['median'])} | [{_number(i['low'])}, {_number(i['high'])}] |"
        lines.append(row)
    edge = [f"`{n}`" for n, p in spec.parameters.items() if _at_edge(result.best[n], p.low, p.high, log=p.log)]
    if edge:
        lines += ["", f"Near the edge of the bounds (within 5% of the range): {', '.join(edge)}; consider wider bounds."]
    lines += [
        "",
        "### Fitted vs target",
        "",
        f"Fitted: mean (sd) over {spec.check_replicates} fresh-seed runs of the best point; one period is one {period}.",
        "",
        "| target | window | per | target value | tolerance | fitted | sd | deviation | within tolerance | loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in result.fit.iterrows():
        per = {"period": period, "year": "year"}.get(row["per"], "")
        lines.append(
            f"| {row['metric']} | {row['window']} | {per} | {_number(row['target'])} | {_number(row['tolerance'])} | "
            f"{_number(row['fitted'])} | {_number(row['fitted_sd'])} | {_number(row['deviation'])} | "
            f"{'yes' if row['within_tolerance'] else 'no'} | {_number(row['loss'])} |"
        )
    misses = result.fit[~result.fit["within_tolerance"] & result.fit["tolerance"].notna()]
    if len(misses):
        lines += ["", f"Targets outside their tolerance: {', '.join(misses['metric'])}."]
    failed = int(result.evaluations["failed_runs"].sum())
    if failed:
        lines += ["", f"{failed} runs failed (their metrics count as missing; see runs.parquet)."]
    lines += ["", "### Figures", ""]
    lines += [f"![{title}]({path})" for title, path in figures.items()]
    lines += ["", "Run the calibrated scenario: `loyaltysim run calibrated.yaml`.", ""]
    return "\n".join(lines)
