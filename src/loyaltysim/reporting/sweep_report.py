"""The report of a sweep: what was run, each hypothesis's verdict with its numbers, and the figures.

:func:`build_report` turns a sweep's tables into the blocks of :mod:`loyaltysim.reporting.render`,
which writes them as ``report.md`` and a self-contained ``report.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from loyaltysim.analysis import summaries
from loyaltysim.analysis.hypotheses import factor_columns
from loyaltysim.experiments.factors import Factor
from loyaltysim.experiments.storage import now_iso
from loyaltysim.reporting.figures import sweep as sweep_figures
from loyaltysim.reporting.labels import Labels
from loyaltysim.reporting.render import Block, Figure, Heading, Paragraph, Table

__all__ = ["build_report"]

MAX_CONDITIONS = 8  # more conditions than this make the curve and band figures unreadable
MAX_LEVELS = 12  # a factor with more distinct values is left out of the default heatmap
STRUCTURAL = ("n_firms",)
"""Factors that change the market's structure: their levels always get panels of their own."""


def _design_blocks(manifest: dict[str, Any], runs: pd.DataFrame) -> list[Block]:
    experiment = manifest.get("experiment", {})
    counts = manifest.get("counts", {})
    factors = experiment.get("factors", {})
    names = Labels.from_experiment(experiment)
    rows = [
        {
            "factor": f"{names.factor(path)} (`{path}`)" if names.factor(path) != path else f"`{path}`",
            "values": _values(spec, names, path),
        }
        for path, spec in factors.items()
    ]
    ok = int((runs["status"] == "ok").sum()) if "status" in runs.columns else len(runs)
    lines = [
        f"Design **{experiment.get('design', '?')}** with {counts.get('points', '?')} point(s) × "
        f"{counts.get('replicates', '?')} replicate(s) = {counts.get('runs', len(runs))} runs ({ok} finished, "
        f"{len(runs) - ok} failed).",
        f"Root seed {manifest.get('seed', '?')}; {manifest.get('seed_derivation', 'each run has its own derived seed')}.",
        f"Experiment hash `{manifest.get('experiment_hash', '?')}`.",
    ]
    overrides = experiment.get("overrides") or {}
    if overrides:
        lines.append("Set in every run: " + ", ".join(f"`{k}` = {v}" for k, v in overrides.items()) + ".")
    versions = manifest.get("versions", {})
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    blocks: list[Block] = [Heading("What was run"), *(Paragraph(line) for line in lines)]
    if rows:
        blocks.append(Table(pd.DataFrame(rows)))
    return blocks


def _values(spec: dict[str, Any], names: Labels, path: str) -> str:
    """A factor's values as the report shows them: its listed values by their labels, or its range."""
    factor = Factor.model_validate(spec)
    text = ", ".join(names.level(path, v) for v in factor.values) if factor.values is not None else factor.describe()
    return f"{text} (linked: {', '.join(f'`{p}`' for p in factor.paths)})" if factor.paths else text


def _number(value: float, digits: int = 3) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}g}"


def _hypothesis_blocks(hypotheses: pd.DataFrame, specs: Sequence[dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [Heading("Hypotheses")]
    if hypotheses.empty:
        return [*blocks, Paragraph("The experiment declares no hypotheses.")]
    blocks.append(Paragraph(_multiplicity_line(hypotheses)))
    for index, group in hypotheses.groupby("hypothesis", sort=True):
        first = group.iloc[0]
        spec = specs[int(index)] if int(index) < len(specs) else {}
        options = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("test", "label"))
        title = first["test"] if first["label"] == first["test"] else f"{first['label']} ({first['test']})"
        blocks.append(Heading(title, 3))
        if options:
            blocks.append(Paragraph(f"Options: {options}."))
        counts = group["verdict"].value_counts()
        blocks.append(Paragraph("Verdicts: " + ", ".join(f"{v} in {n} cell(s)" for v, n in counts.items()) + "."))
        table = pd.DataFrame(
            {
                "cell": group["cell"],
                "verdict": group["verdict"],
                _interval_header(group): [
                    _interval(e, lo, hi, side, verdict)
                    for e, lo, hi, side, verdict in zip(
                        group["effect"], group["ci_low"], group["ci_high"], _sides(group), group["verdict"], strict=True
                    )
                ],
                "statistic": group["statistic"].map(_number),
                "p": group["p_value"].map(lambda p: _number(p, 2)),
                "p adjusted": group["p_adjusted"].map(lambda p: _number(p, 2)) if "p_adjusted" in group else "–",
                "n": group["n"],
                "note": group["note"],
            }
        )
        blocks.append(Table(table, align="lllrrrrl"))
    return blocks


def _sides(group: pd.DataFrame) -> list[str]:
    return list(group["alternative"]) if "alternative" in group else ["two-sided"] * len(group)


def _interval_header(group: pd.DataFrame) -> str:
    """The column title: the level of the bounds, one-sided for directional hypotheses."""
    alpha = float(group["alpha"].iloc[0]) if "alpha" in group else 0.05
    level = f"{100 * (1 - alpha):.3g}%"
    sides = set(_sides(group))
    if sides == {"two-sided"}:
        return f"effect [{level} CI]"
    return f"effect [{level} one-sided bound]"


def _interval(effect: float, low: float, high: float, side: str, verdict: str = "") -> str:
    """The effect with the bound that decides: ``[low, ∞)`` for greater, ``(−∞, high]`` for less; for "not
    supported" the other bound (it excludes the hypothesised effect)."""
    if verdict == "not supported" and side in ("greater", "less"):
        side = "less" if side == "greater" else "greater"
    if side == "greater":
        return f"{_number(effect)} [{_number(low)}, ∞)"
    if side == "less":
        return f"{_number(effect)} (−∞, {_number(high)}]"
    return f"{_number(effect)} [{_number(low)}, {_number(high)}]"


def _multiplicity_line(hypotheses: pd.DataFrame) -> str:
    method = str(hypotheses["multiplicity"].iloc[0]) if "multiplicity" in hypotheses and len(hypotheses) else "none"
    family = int(hypotheses["p_value"].notna().sum())
    names = {"holm": "Holm's method (family-wise error)", "bh": "Benjamini–Hochberg (false discovery rate)"}
    if method in names:
        adjusted = (
            f"p-values are adjusted over the experiment's {family} tests by {names[method]}; verdicts use the adjusted ones"
        )
    else:
        adjusted = "p-values are not adjusted for multiplicity (multiplicity: none)"
    return (
        "A directional hypothesis has a one-sided p-value and one-sided confidence bounds. The table shows the "
        "bound that decides the verdict: for 'greater' the lower bound [low, ∞), or the upper bound (−∞, high] "
        "when the verdict is 'not supported'; the mirror for 'less' (`hypotheses.parquet` keeps both); " + adjusted + "."
    )


def _figure_blocks(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    timeseries: pd.DataFrame,
    *,
    heatmap: Sequence[str] | None,
    by: Sequence[str] | None,
    names: Labels,
    period: str,
) -> list[Block]:
    blocks: list[Block] = [Heading("Figures")]
    factors = factor_columns(runs)
    if by is not None:  # structural levels are never pooled: each market size gets its own panel and curve
        by = [*by, *(f for f in STRUCTURAL if f in factors and f not in by)]
    if heatmap is None:  # the first two factors with a few levels each (not the ranges of a sampled design)
        varied = [f for f in factors if 1 < runs[f].nunique() <= MAX_LEVELS]
        heatmap = varied[:2] if len(varied) >= 2 else None
    if heatmap and "satisfied_defector_share" in runs.columns:
        x, y = heatmap
        table = summaries.cell_means(runs, x, y, "satisfied_defector_share")
        title = f"{names.metric('satisfied_defector_share').replace('_', ' ')}, mean over replicates"
        blocks.append(
            Figure(
                "satisfied_defector_heatmap.png",
                "Share of defectors who were satisfied, mean over replicates, per design cell.",
                sweep_figures.defector_heatmap(
                    table, title=title, xlabel=names.factor(x), ylabel=names.factor(y), tick=names.level
                ),
            )
        )
    conditions = summaries.condition_labels(runs, by).nunique()
    if conditions > MAX_CONDITIONS:
        blocks.append(Paragraph(f"{conditions} conditions: the curve figures are left out (set report.by to fewer factors)."))
        return blocks
    if not curves.empty:
        fitted = summaries.fitted_retention(runs, curves, by=by, name=names.condition)
        blocks.append(
            Figure(
                "retention_curves.png",
                "Satisfaction → retention per condition: natural-spline logit fit with its 95% band "
                "(standard errors clustered by run); markers are the pooled observations.",
                sweep_figures.retention_curves_figure(fitted, period=period),
            )
        )
        churn = summaries.band_churn(runs, curves, by=by, name=names.condition)
        blocks.append(
            Figure(
                "churn_by_band.png",
                f"Churn per {period} by satisfaction band (Kotler), pooled over replicates; "
                "whiskers are 95% t-intervals over replicate runs.",
                sweep_figures.band_churn_figure(churn, period=period),
            )
        )
    shares = (
        summaries.share_trajectories(runs, timeseries, by=by, name=names.condition) if not timeseries.empty else pd.DataFrame()
    )
    if not shares.empty:
        blocks.append(
            Figure(
                "market_share.png",
                f"Market share over time ({period}s): mean over replicates (lines) and 2.5–97.5% range (bands), "
                "one panel per condition.",
                sweep_figures.share_trajectories_figure(shares, period=period),
            )
        )
    return blocks


def _stationarity_blocks(warnings: Sequence[str] | None) -> list[Block]:
    """Whether run-level results come from a steady state (MSER-5 on each design point's mean series)."""
    if warnings is None:
        text = (
            "Not checked whether the measurement window is stationary: keep at least 20 rows of each run's "
            "time series (e.g. `timeseries: {every: 1}`) and run from a results folder whose base scenario exists."
        )
        return [Heading("Steady state", 2), Paragraph(text)]
    if not warnings:
        text = (
            "Every design point's churn, mean satisfaction and NPS settle within the burn-in (MSER-5 on the mean "
            "over replicates): run-level results do not depend on where the run started."
        )
        return [Heading("Steady state", 2), Paragraph(text)]
    listed = "\n".join(f"- {w}" for w in warnings)
    text = (
        "**Warning: measurement windows that are not stationary** (MSER-5 on the mean over replicates); run-level "
        f"results of these points still depend on the run's start and length:\n\n{listed}"
    )
    return [Heading("Steady state", 2), Paragraph(text)]


def build_report(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    timeseries: pd.DataFrame,
    manifest: dict[str, Any],
    hypotheses: pd.DataFrame,
    *,
    heatmap: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    stationarity: Sequence[str] | None = None,
) -> list[Block]:
    """The report's blocks: title, design, steady state, hypotheses and figures.

    ``stationarity`` lists warnings about the measurement windows (empty: all stationary; None: not checked).
    """
    experiment = manifest.get("experiment", {})
    title = manifest.get("name") or experiment.get("name") or "sweep"
    blocks: list[Block] = [Heading(f"Report: {title}", 1)]
    description = manifest.get("description") or experiment.get("description")
    if description:
        blocks.append(Paragraph(description.strip()))
    blocks.append(Paragraph(f"Written {now_iso()}."))
    blocks += _design_blocks(manifest, runs)
    blocks += _stationarity_blocks(stationarity)
    blocks += _hypothesis_blocks(hypotheses, experiment.get("hypotheses") or [])
    names = Labels.from_experiment(experiment)
    period = manifest.get("period", "period")
    blocks += _figure_blocks(runs, curves, timeseries, heatmap=heatmap, by=by, names=names, period=period)
    return blocks
