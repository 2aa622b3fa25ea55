"""The report of a sweep: what was run, each hypothesis's verdict with its numbers, and the figures.

:func:`build_report` turns the tables into a list of blocks; :func:`render_markdown` and
:func:`render_html` write them (the HTML embeds the figures as base64 PNG, so it is one
self-contained file); :func:`write_report` does both into a results folder.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from loyaltysim.analysis import summaries
from loyaltysim.analysis.hypotheses import evaluate, factor_columns
from loyaltysim.config.errors import ConfigError
from loyaltysim.experiments.storage import now_iso, write_bytes, write_parquet, write_text
from loyaltysim.reporting.figures import sweep as sweep_figures

__all__ = ["Block", "build_report", "render_html", "render_markdown", "report_sweep", "write_report"]

MAX_CONDITIONS = 8  # more conditions than this make the curve and band figures unreadable
MAX_LEVELS = 12  # a factor with more distinct values is left out of the default heatmap


@dataclass(frozen=True)
class Block:
    """One piece of the report: a heading, a paragraph, a table or a figure."""

    kind: str  # "h1" | "h2" | "h3" | "p" | "table" | "figure"
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    name: str = ""


def _design_blocks(manifest: dict[str, Any], runs: pd.DataFrame) -> list[Block]:
    experiment = manifest.get("experiment", {})
    counts = manifest.get("counts", {})
    factors = experiment.get("factors", {})
    rows = [
        {"factor": path, "values": ", ".join(map(str, spec["values"])) if spec.get("values") else f"{spec['low']}–{spec['high']}"}
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
    blocks = [Block("h2", "What was run"), *(Block("p", line) for line in lines)]
    if rows:
        blocks.append(Block("table", table=pd.DataFrame(rows)))
    return blocks


def _number(value: float, digits: int = 3) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}g}"


def _hypothesis_blocks(hypotheses: pd.DataFrame, specs: Sequence[dict[str, Any]]) -> list[Block]:
    blocks = [Block("h2", "Hypotheses")]
    if hypotheses.empty:
        return [*blocks, Block("p", "The experiment declares no hypotheses.")]
    for index, group in hypotheses.groupby("hypothesis", sort=True):
        first = group.iloc[0]
        spec = specs[int(index)] if int(index) < len(specs) else {}
        options = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("test", "label"))
        title = first["test"] if first["label"] == first["test"] else f"{first['label']} ({first['test']})"
        blocks.append(Block("h3", title))
        if options:
            blocks.append(Block("p", f"Options: {options}."))
        counts = group["verdict"].value_counts()
        blocks.append(Block("p", "Verdicts: " + ", ".join(f"{v} in {n} cell(s)" for v, n in counts.items()) + "."))
        table = pd.DataFrame(
            {
                "cell": group["cell"],
                "verdict": group["verdict"],
                "effect [95% CI]": [
                    f"{_number(e)} [{_number(lo)}, {_number(hi)}]"
                    for e, lo, hi in zip(group["effect"], group["ci_low"], group["ci_high"], strict=True)
                ],
                "statistic": group["statistic"].map(_number),
                "p": group["p_value"].map(lambda p: _number(p, 2)),
                "n": group["n"],
                "note": group["note"],
            }
        )
        blocks.append(Block("table", table=table))
    return blocks


def _figure_blocks(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    timeseries: pd.DataFrame,
    *,
    heatmap: Sequence[str] | None,
    by: Sequence[str] | None,
) -> list[Block]:
    blocks = [Block("h2", "Figures")]
    factors = factor_columns(runs)
    if heatmap is None:  # the first two factors with a few levels each (not the ranges of a sampled design)
        varied = [f for f in factors if 1 < runs[f].nunique() <= MAX_LEVELS]
        heatmap = varied[:2] if len(varied) >= 2 else None
    if heatmap and "satisfied_defector_share" in runs.columns:
        x, y = heatmap
        table = summaries.cell_means(runs, x, y, "satisfied_defector_share")
        blocks.append(
            Block(
                "figure",
                "Share of defectors who were satisfied, mean over replicates, per design cell.",
                figure=sweep_figures.defector_heatmap(table),
                name="satisfied_defector_heatmap.png",
            )
        )
    conditions = summaries.condition_labels(runs, by).nunique()
    if conditions > MAX_CONDITIONS:
        blocks.append(Block("p", f"{conditions} conditions: the curve figures are left out (set report.by to fewer factors)."))
        return blocks
    if not curves.empty:
        fitted = summaries.fitted_retention(runs, curves, by=by)
        blocks.append(
            Block(
                "figure",
                "Satisfaction → retention per condition: natural-spline logit fit with its 95% band "
                "(standard errors clustered by run); markers are the pooled observations.",
                figure=sweep_figures.retention_curves_figure(fitted),
                name="retention_curves.png",
            )
        )
        churn = summaries.band_churn(runs, curves, by=by)
        blocks.append(
            Block(
                "figure",
                "Churn per period by satisfaction band (Kotler), pooled over replicates; "
                "whiskers are 95% t-intervals over replicate runs.",
                figure=sweep_figures.band_churn_figure(churn),
                name="churn_by_band.png",
            )
        )
    shares = summaries.share_trajectories(runs, timeseries, by=by) if not timeseries.empty else pd.DataFrame()
    if not shares.empty:
        blocks.append(
            Block(
                "figure",
                "Market share over time: mean over replicates (lines) and 2.5–97.5% range (bands).",
                figure=sweep_figures.share_trajectories_figure(shares),
                name="market_share.png",
            )
        )
    return blocks


def build_report(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    timeseries: pd.DataFrame,
    manifest: dict[str, Any],
    hypotheses: pd.DataFrame,
    *,
    heatmap: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
) -> list[Block]:
    """The report's blocks: title, design, hypotheses and figures."""
    experiment = manifest.get("experiment", {})
    title = manifest.get("name") or experiment.get("name") or "sweep"
    blocks = [Block("h1", f"Report: {title}")]
    description = manifest.get("description") or experiment.get("description")
    if description:
        blocks.append(Block("p", description.strip()))
    blocks.append(Block("p", f"Written {now_iso()}."))
    blocks += _design_blocks(manifest, runs)
    blocks += _hypothesis_blocks(hypotheses, experiment.get("hypotheses") or [])
    blocks += _figure_blocks(runs, curves, timeseries, heatmap=heatmap, by=by)
    return blocks


def _markdown_table(table: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(map(cell, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def render_markdown(blocks: Sequence[Block], figure_dir: str = "figures") -> str:
    """Markdown text; figures are referenced as ``figure_dir/<name>``."""
    parts = []
    for block in blocks:
        if block.kind == "h1":
            parts.append(f"# {block.text}")
        elif block.kind in ("h2", "h3"):
            parts.append(f"{'#' * int(block.kind[1])} {block.text}")
        elif block.kind == "p":
            parts.append(block.text)
        elif block.kind == "table":
            parts.append(_markdown_table(block.table))
        else:
            parts.append(f"![{block.text}]({figure_dir}/{block.name})\n\n*{block.text}*")
    return "\n\n".join(parts) + "\n"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def render_html(blocks: Sequence[Block]) -> str:
    """One self-contained HTML page (figures embedded as base64 PNG)."""
    body = []
    for block in blocks:
        text = html.escape(block.text).replace("**", "")
        if block.kind in ("h1", "h2", "h3"):
            body.append(f"<{block.kind}>{text}</{block.kind}>")
        elif block.kind == "p":
            body.append(f"<p>{text.replace('`', '')}</p>")
        elif block.kind == "table":
            body.append(block.table.to_html(index=False, border=0, classes="results", escape=True))
        else:
            data = base64.b64encode(_png(block.figure)).decode("ascii")
            body.append(f'<figure><img alt="{text}" src="data:image/png;base64,{data}"><figcaption>{text}</figcaption></figure>')
    title = html.escape(blocks[0].text if blocks else "report")
    style = (
        "body{font-family:sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
        "table.results{border-collapse:collapse;font-size:.85rem}table.results td,table.results th"
        "{border-bottom:1px solid #999;padding:.2rem .5rem;text-align:left;vertical-align:top}"
        "img{max-width:100%}figcaption{font-style:italic;font-size:.9rem}"
    )
    head = f'<head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>'
    return f'<!DOCTYPE html>\n<html lang="en">{head}\n<body>\n' + "\n".join(body) + "\n</body></html>\n"


def write_report(folder: str | Path, blocks: Sequence[Block]) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` into ``folder``; close the figures."""
    folder = Path(folder)
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    written = {}
    for block in blocks:
        if block.kind == "figure":
            path = figures / block.name
            write_bytes(_png(block.figure), path)
            written[block.name] = path
    write_text(render_html(blocks), folder / "report.html")
    write_text(render_markdown(blocks), folder / "report.md")
    for block in blocks:
        if block.figure is not None:
            plt.close(block.figure)
    return {"markdown": folder / "report.md", "html": folder / "report.html", **written}


def report_sweep(folder: str | Path) -> dict[str, Path]:
    """Evaluate a finished sweep's hypotheses (``hypotheses.parquet``) and write its report.

    The hypotheses and report options come from the experiment recorded in ``manifest.json``.
    """
    from loyaltysim.experiments.results import load_results

    results = load_results(folder)
    folder = Path(folder)
    experiment = results.manifest.get("experiment", {})
    specs = experiment.get("hypotheses") or []
    finished = results.runs[results.runs["status"] == "ok"] if len(results.runs) else results.runs
    if finished.empty:
        raise ConfigError("no finished runs to report on", source=folder)
    hypotheses = evaluate(specs, results.runs, results.curves)
    write_parquet(hypotheses, folder / "hypotheses.parquet")
    options = experiment.get("report") or {}
    blocks = build_report(
        results.runs,
        results.curves,
        results.timeseries,
        results.manifest,
        hypotheses,
        heatmap=options.get("heatmap"),
        by=options.get("by"),
    )
    return {"hypotheses": folder / "hypotheses.parquet", **write_report(folder, blocks)}
