"""The report of a scenario discovery: the box as a Markdown section, its tables and the peeling figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loyaltysim.analysis.discovery import DiscoveryResult
from loyaltysim.experiments.storage import write_json, write_parquet
from loyaltysim.reporting.figures.sensitivity import peeling_figure
from loyaltysim.reporting.figures.style import save_figure

__all__ = ["report_markdown", "write_discovery"]


def report_markdown(result: DiscoveryResult, *, figure: str | None = "figures/peeling.png") -> str:
    """A Markdown section: the condition, the box as factor ranges, coverage and density."""
    lines = [
        "## Scenario discovery (PRIM)",
        "",
        f"Condition `{result.where}`: {result.cases} of {result.runs} runs ({result.cases / result.runs:.1%}).",
        "",
        f"Box {result.chosen} of the peeling trajectory: **coverage {result.coverage:.1%}** (of the runs meeting the "
        f"condition, the share inside the box), **density {result.density:.1%}** (of the runs inside the box, the share "
        f"meeting it), mass {result.mass:.1%} of all runs.",
        "",
    ]
    if not result.meets_min_density:
        lines += ["No box reached the requested density; this is the densest one.", ""]
    if result.box.empty:
        lines += ["The box restricts no factor.", ""]
    else:
        lines += ["| factor | box | full range | quasi-p (low, high) |", "|---|---|---|---|"]
        for r in result.box.itertuples():
            box = f"{{{r.values}}}" if r.values else f"[{r.low:.4g}, {r.high:.4g}]"
            full = "" if r.values else f"[{r.full_low:.4g}, {r.full_high:.4g}]"
            qp = ", ".join("–" if np.isnan(p) else f"{p:.2g}" for p in (r.qp_low, r.qp_high))
            lines.append(f"| `{r.factor}` | {box} | {full} | {qp} |")
        lines += ["", "Quasi-p: how likely a restriction this good arises by chance (small = the limit matters).", ""]
    if figure:
        lines += [f"![peeling trajectory]({figure})", ""]
    return "\n".join(lines)


def write_discovery(result: DiscoveryResult, out: str | Path) -> Path:
    """Write box.csv, trajectory.parquet, figures/peeling.png and discovery.md into ``out``; returns the report."""
    out = Path(out)
    write_parquet(result.box, out / "box.parquet")
    write_parquet(result.trajectory, out / "trajectory.parquet")
    summary = {k: getattr(result, k) for k in ("where", "coverage", "density", "mass", "runs", "cases", "chosen")}
    write_json(summary, out / "discovery.json")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    save_figure(peeling_figure(result.trajectory, result.chosen), out / "figures" / "peeling.png")
    report = out / "discovery.md"
    report.write_text(report_markdown(result), encoding="utf-8")
    return report
