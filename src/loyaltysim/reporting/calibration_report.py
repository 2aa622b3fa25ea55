"""The report of a calibration: method, best parameters, fit table and figures, as report blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyaltysim.analysis.calibration import CalibrationResult
from loyaltysim.reporting.figures.calibration import fit_figure, loss_history_figure, marginals_figure, parameter_loss_figure
from loyaltysim.reporting.posterior_report import posterior_blocks
from loyaltysim.reporting.render import Block, Figure, Heading, Paragraph, Table

__all__ = ["build_report"]


def _number(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.4g}"


def _at_edge(value: float, low: float, high: float, *, log: bool) -> bool:
    """Within 5% of the range (on the search scale) from a bound."""
    if log:
        value, low, high = np.log10(value), np.log10(low), np.log10(high)
    return min(value - low, high - value) <= 0.05 * (high - low)


def _how(result: CalibrationResult) -> str:
    spec, d = result.calibration.spec, result.details
    if spec.method == "differential_evolution":
        return (
            f"scipy differential evolution, {d['generations']} generations, {d['points']} points "
            f"× {spec.replicates} replicates (same seeds for every point); converged: {d['converged']} ({d['message']})"
        )
    if spec.method == "abc":
        return (
            f"rejection ABC over a {spec.abc.sampler} sample of {d['samples']} points × {spec.replicates} replicates; "
            f"accepted {d['accepted']} points with loss ≤ {d['epsilon']:.4g}"
        )
    if spec.method == "abc-smc":
        return (
            f"ABC-SMC, {d['generations']} generations of {spec.abc_smc.population} particles, {d['simulated_points']} "
            f"points × {spec.replicates} replicates (fresh seeds for every point), adaptive distance: "
            f"{spec.abc_smc.adaptive_distance}, final acceptance {d['final_acceptance']:.3g}; best = posterior median"
        )
    if spec.method == "npe":
        return (
            f"neural posterior estimation (sbi, {d['training_estimator']}) from {d['simulated_points']} simulated points × "
            f"{spec.replicates} replicates (fresh seeds for every point); best = posterior median"
        )
    return (
        f"history matching, {d['waves']} waves of {spec.history_matching.points} points × {spec.replicates} replicates; "
        f"{d['nroy_share']:.1%} of the prior box not ruled out; best = evaluated point with the lowest loss"
    )


def _loss(result: CalibrationResult) -> str:
    spec = result.calibration.spec
    loss = "Loss: Σ weight · ((simulated − target) / tolerance)², simulated = mean over replicates. "
    if spec.method in ("abc-smc", "npe"):
        return loss + f"Loss of the posterior median on {spec.check_replicates} fresh seeds: {result.check_loss:.4g}."
    return (
        loss + f"Best loss during the search {result.best_loss:.4g}; re-run with {spec.check_replicates} fresh seeds: "
        f"{result.check_loss:.4g}."
    )


def _parameters(result: CalibrationResult) -> list[Block]:
    spec = result.calibration.spec
    rows = [
        {"parameter": f"`{name}`", "low": f"{p.low:g}", "high": f"{p.high:g}", "best": _number(result.best[name])}
        for name, p in spec.parameters.items()
    ]
    table = pd.DataFrame(rows)
    if result.intervals is not None:
        intervals = result.intervals.set_index("parameter").loc[list(spec.parameters)]
        table["posterior median"] = intervals["median"].map(_number).to_numpy()
        level = f"{intervals['level'].iloc[0]:.0%} credible interval"
        table[level] = [
            f"[{_number(low)}, {_number(high)}]" for low, high in zip(intervals["low"], intervals["high"], strict=True)
        ]
    blocks: list[Block] = [Heading("Best parameters"), Table(table, align="lrrrrl")]
    edge = [f"`{n}`" for n, p in spec.parameters.items() if _at_edge(result.best[n], p.low, p.high, log=p.log)]
    if edge:
        blocks.append(
            Paragraph(f"Near the edge of the bounds (within 5% of the range): {', '.join(edge)}; consider wider bounds.")
        )
    return blocks


def _fit(result: CalibrationResult) -> list[Block]:
    spec, fit, period = result.calibration.spec, result.fit, result.calibration.base.run.period
    table = pd.DataFrame(
        {
            "target": fit["metric"],
            "window": fit["window"],
            "per": fit["per"].map(lambda per: {"period": period, "year": "year"}.get(per, "")),
            "target value": fit["target"].map(_number),
            "tolerance": fit["tolerance"].map(_number),
            "fitted": fit["fitted"].map(_number),
            "sd": fit["fitted_sd"].map(_number),
            "deviation": fit["deviation"].map(_number),
            "within tolerance": fit["within_tolerance"].map(lambda ok: "yes" if ok else "no"),
            "loss": fit["loss"].map(_number),
        }
    )
    blocks: list[Block] = [
        Heading("Fitted vs target"),
        Paragraph(
            f"Fitted: mean (sd) over {spec.check_replicates} fresh-seed runs of the best point; one period is one {period}."
        ),
        Table(table, align="lllrrrrrlr"),
    ]
    misses = fit[~fit["within_tolerance"] & fit["tolerance"].notna()]
    if len(misses):
        blocks.append(Paragraph(f"Targets outside their tolerance: {', '.join(misses['metric'])}."))
    failed = int(result.evaluations["failed_runs"].sum())
    if failed:
        blocks.append(Paragraph(f"{failed} runs failed (their metrics count as missing; see runs.parquet)."))
    return blocks


def _figures(result: CalibrationResult) -> list[Block]:
    cal, names, spec = result.calibration, result.calibration.names, result.calibration.spec
    log_scale = {name for name, p in cal.spec.parameters.items() if p.log}
    blocks: list[Block] = [Heading("Figures")]
    if len(result.evaluations):  # none when npe reuses a trained posterior
        blocks += [
            Figure(
                "loss_history.png",
                "Loss history: every evaluated point and the best so far",
                loss_history_figure(result.evaluations),
            ),
            Figure(
                "parameter_loss.png",
                "Loss by parameter over all evaluations (a flat valley means weakly identified)",
                parameter_loss_figure(result.evaluations, names, result.best, log_scale=log_scale),
            ),
        ]
    blocks.append(Figure("fit.png", "Fitted vs target", fit_figure(result.fit)))
    if spec.method == "abc":
        figure = marginals_figure(result.evaluations, result.posterior, result.intervals, names, log_scale=log_scale)
        blocks.append(Figure("posterior.png", "Marginal posterior (rejection ABC) against the prior sample", figure))
    return blocks


def build_report(result: CalibrationResult) -> list[Block]:
    """The report's blocks: method, best parameters, fit table and figures."""
    cal, spec = result.calibration, result.calibration.spec
    blocks: list[Block] = [Heading(f"Calibration: {spec.name}", 1)]
    if spec.description:
        blocks.append(Paragraph(spec.description.strip()))
    blocks += [
        Paragraph(
            f"Base scenario: {cal.base.customers.n} customers, {cal.base.run.steps} periods of one {cal.base.run.period}, "
            f"burn-in {cal.base.run.burn_in}; calibration file `{cal.source}`."
        ),
        Paragraph(f"Method: {_how(result)}."),
        Paragraph(_loss(result)),
        *_parameters(result),
        *_fit(result),
        *_figures(result),
        *posterior_blocks(result),
        Paragraph("Run the calibrated scenario: `loyaltysim run calibrated.yaml`."),
    ]
    return blocks
