"""The report of a scenario discovery: the box as factor ranges with coverage and density, its tables and
the peeling figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from loyaltysim.analysis.discovery import DiscoveryResult
from loyaltysim.experiments.storage import write_json, write_parquet
from loyaltysim.reporting.figures.sensitivity import peeling_figure
from loyaltysim.reporting.render import Block, Figure, Heading, Paragraph, Table, write_report

__all__ = ["build_report", "write_discovery"]


def _box_table(result: DiscoveryResult) -> Table:
    rows = []
    for r in result.box.itertuples():
        rows.append(
            {
                "factor": f"`{r.factor}`",
                "box": f"{{{r.values}}}" if r.values else f"[{r.low:.4g}, {r.high:.4g}]",
                "full range": "" if r.values else f"[{r.full_low:.4g}, {r.full_high:.4g}]",
                "quasi-p (low, high)": ", ".join("–" if np.isnan(p) else f"{p:.2g}" for p in (r.qp_low, r.qp_high)),
            }
        )
    return Table(pd.DataFrame(rows))


def build_report(result: DiscoveryResult, *, figure: bool = True) -> list[Block]:
    """The report's blocks: the condition, the box as factor ranges, coverage, density and the peeling figure."""
    blocks: list[Block] = [
        Heading("Scenario discovery (PRIM)", 1),
        Paragraph(f"Condition `{result.where}`: {result.cases} of {result.runs} runs ({result.cases / result.runs:.1%})."),
        Paragraph(
            f"Box {result.chosen} of the peeling trajectory: **coverage {result.coverage:.1%}** (of the runs meeting the "
            f"condition, the share inside the box), **density {result.density:.1%}** (of the runs inside the box, the share "
            f"meeting it), mass {result.mass:.1%} of all runs."
        ),
    ]
    if not result.meets_min_density:
        blocks.append(Paragraph("No box reached the requested density; this is the densest one."))
    dropped = result.dropped if result.dropped is not None else pd.DataFrame(columns=["factor", "qp"])
    if len(dropped):
        listed = ", ".join(f"`{r.factor}` (quasi-p {r.qp:.2g})" for r in dropped.itertuples())
        blocks.append(
            Paragraph(
                f"Dropped as insignificant (quasi-p above {result.max_qp:g}, least significant first): {listed}; "
                "coverage and density are those of the box without them."
            )
        )
    if result.box.empty:
        blocks.append(Paragraph("The box restricts no factor."))
    else:
        blocks += [
            _box_table(result),
            Paragraph(
                "Quasi-p: how likely a restriction this good arises by chance (small = the limit matters; "
                "a restriction with quasi-p above 0.05 is not to be trusted)."
            ),
        ]
    if figure:
        caption = "Peeling trajectory: density against coverage of each box (labels: restricted factors; star: the reported box)"
        blocks.append(Figure("peeling.png", caption, peeling_figure(result.trajectory, result.chosen)))
    return blocks


def write_discovery(result: DiscoveryResult, out: str | Path) -> Path:
    """Write box.parquet, trajectory.parquet, discovery.json, figures/peeling.png, discovery.md and discovery.html
    into ``out``; returns the Markdown report's path."""
    out = Path(out)
    write_parquet(result.box, out / "box.parquet")
    write_parquet(result.trajectory, out / "trajectory.parquet")
    summary = {k: getattr(result, k) for k in ("where", "coverage", "density", "mass", "runs", "cases", "chosen")}
    write_json(summary, out / "discovery.json")
    return write_report(build_report(result), out, name="discovery")["markdown"]
