"""A calibration's outputs: tables, figures, ``calibrated.yaml`` and a Markdown report section.

Folder layout (``results/<name>/`` by default)::

    calibration.json      the calibration file as validated (defaults filled in) + base config hash
    batches/*.parquet     finished batches of runs (reused by --resume)
    evaluations.parquet   one row per evaluated point: parameters, mean target metrics, loss
    runs.parquet          one row per run (batches and the fresh-seed check of the best point)
    fit.csv               fitted vs target at the best point
    posterior.parquet     accepted sample (abc) · intervals.csv: credible intervals (abc)
    calibrated.yaml       the base scenario with the best parameters: loyaltysim run calibrated.yaml
    figures/*.png         loss history, parameter–loss profiles, fit, marginal posteriors (abc)
    report.md, manifest.json
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Collection
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .calibration import Calibration, CalibrationResult, Evaluator, calibrate
from .errors import ConfigError
from .execution import resolve_executor
from .loading import config_hash
from .storage import now_iso, versions, write_json, write_parquet, write_yaml

__all__ = [
    "fit_figure",
    "loss_history_figure",
    "marginals_figure",
    "parameter_loss_figure",
    "prepare_folder",
    "report_section",
    "run_calibration",
    "write_outputs",
]


# --- figures (data in, Figure out) -------------------------------------------------------------


def loss_history_figure(evaluations: pd.DataFrame) -> Figure:
    """Loss of every evaluated point in order, and the best loss so far (log scale)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    loss = evaluations["loss"].to_numpy()
    x = evaluations["evaluation"].to_numpy()
    ax.scatter(x, loss, s=10, marker="o", facecolor="none", edgecolor=plots.PALETTE[0], linewidth=0.8, label="evaluated point")
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
        ax.scatter(evaluations[name], evaluations["loss"], s=10, marker="o", facecolor="none", edgecolor=plots.PALETTE[i % 8])
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
        ax.hist(posterior[name], bins=bins, density=True, color=plots.PALETTE[0], edgecolor="black", alpha=0.8, label="accepted")
        row = intervals.set_index("parameter").loc[name]
        for value, style in ((row["low"], ":"), (row["median"], "-"), (row["high"], ":")):
            ax.axvline(value, color="black", linestyle=style, linewidth=1.2)
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
        x + 0.12, fit["fitted"], yerr=fit["fitted_sd"].fillna(0), fmt="o", color=plots.PALETTE[0], capsize=4, label="fitted ± sd"
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


# --- report ------------------------------------------------------------------------------------


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


# --- files -------------------------------------------------------------------------------------


def prepare_folder(calibration: Calibration, out: Path, *, resume: bool) -> Path:
    """Create (or, with ``resume``, check) the output folder; returns its ``batches`` folder.

    Raises
    ------
    ConfigError
        If ``out`` holds something else, or a different calibration when resuming.
    """
    stamp = {"calibration": calibration.spec.model_dump(mode="json"), "base_config_hash": config_hash(calibration.base)}
    marker = out / "calibration.json"
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise ConfigError(
                f"output folder {out} already exists and is not empty; use --resume to continue it or choose another --out",
                source="--out",
            )
        if not marker.is_file() or json.loads(marker.read_text(encoding="utf-8")) != json.loads(json.dumps(stamp)):
            raise ConfigError(f"cannot resume {out}: it holds a different calibration (or none)", source="--out")
    try:
        (out / "batches").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output folder {out}: {exc.strerror}", source="--out") from None
    write_json(stamp, marker)
    return out / "batches"


def write_outputs(result: CalibrationResult, out: Path, *, started: str, wall_time: float) -> None:
    """Write the tables, figures, ``calibrated.yaml``, ``report.md`` and ``manifest.json`` into ``out``."""
    cal, names = result.calibration, result.calibration.names
    write_parquet(result.evaluations, out / "evaluations.parquet")
    write_parquet(result.runs, out / "runs.parquet")
    result.fit.to_csv(out / "fit.csv", index=False)
    figures = {
        "loss history": "figures/loss_history.png",
        "loss by parameter": "figures/parameter_loss.png",
        "fitted vs target": "figures/fit.png",
    }
    (out / "figures").mkdir(exist_ok=True)
    plots.save_figure(loss_history_figure(result.evaluations), out / figures["loss history"])
    log_scale = {name for name, p in cal.spec.parameters.items() if p.log}
    plots.save_figure(
        parameter_loss_figure(result.evaluations, names, result.best, log_scale=log_scale), out / figures["loss by parameter"]
    )
    plots.save_figure(fit_figure(result.fit), out / figures["fitted vs target"])
    if result.posterior is not None and result.intervals is not None:
        write_parquet(result.posterior, out / "posterior.parquet")
        result.intervals.to_csv(out / "intervals.csv", index=False)
        figures["marginal posterior"] = "figures/posterior.png"
        plots.save_figure(
            marginals_figure(result.evaluations, result.posterior, result.intervals, names, log_scale=log_scale),
            out / figures["marginal posterior"],
        )
    calibrated = result.calibrated_config()
    best = ", ".join(f"{k} = {v:.6g}" for k, v in result.best.items())
    header = (
        f"# Calibrated by `loyaltysim calibrate {cal.source}` on {now_iso()} ({cal.spec.method}).\n"
        f"# Best parameters: {best}\n# Loss {result.best_loss:.4g} (fresh-seed check: {result.check_loss:.4g}).\n"
        "# Run it: loyaltysim run calibrated.yaml\n"
    )
    write_yaml(calibrated.to_dict(), out / "calibrated.yaml", header=header)
    (out / "report.md").write_text(report_section(result, figures), encoding="utf-8")
    write_json(
        {
            "name": cal.spec.name,
            "source": cal.source,
            "calibration": cal.spec.model_dump(mode="json"),
            "base_config_hash": config_hash(cal.base),
            "calibrated_config_hash": config_hash(calibrated),
            "best": result.best,
            "best_loss": result.best_loss,
            "check_loss": result.check_loss,
            "details": result.details,
            "started": started,
            "finished": now_iso(),
            "wall_time": wall_time,
            "versions": versions(),
        },
        out / "manifest.json",
    )


def run_calibration(
    calibration: Calibration,
    out: Path,
    *,
    resume: bool = False,
    executor: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    evaluator: Evaluator | None = None,
) -> CalibrationResult:
    """Calibrate through the sweep engine and write every output into ``out``.

    Finished runs and batches are kept in ``out/batches`` (``resume`` continues from them);
    ``executor``, ``workers`` and ``scheduler`` are as for :func:`loyaltysim.sweep`.
    """
    resolve_executor(executor, workers, scheduler)  # bad options fail before any folder is made
    batches = prepare_folder(calibration, out, resume=resume)
    started, clock = now_iso(), time.perf_counter()
    result = calibrate(calibration, batches=batches, executor=executor, workers=workers, scheduler=scheduler, evaluator=evaluator)
    write_outputs(result, out, started=started, wall_time=time.perf_counter() - clock)
    return result
